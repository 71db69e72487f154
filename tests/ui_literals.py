"""Finds the user-facing texts of a template or a script that are not in the message catalogue.

Why a checker of our own: `pybabel extract` only sees texts already wrapped
in `_()`; a sentence written straight into a page would show in French on
the English page (or the reverse) and no test would notice. What counts as
user-facing:

- templates (Jinja's own lexer): text between tags, and the `title`,
  `aria-label`, `placeholder`, `alt` attributes (any `data-*` one too, when
  it reads like a sentence), outside `{% trans %}`; string literals in
  `{{ … }}`/`{% … %}` outside `_()`/`gettext()`/`pgettext()` that read like a
  sentence or pick a language (`'…' if en else '…'`);
- scripts: string literals outside `_()`/`pgettext()` that read like a
  sentence, or that go straight to the page (`textContent =`, `el(tag,
  class, text)`, `append(…)`, `confirm(…)`…); and `_()` inside a template
  literal's `${…}`, where `pybabel extract` does not look.

"Reads like a sentence": two words or more with an accented letter, a
capital or a final punctuation mark; lower-case words alone read as code
(CSS classes, `"copy refused"`). Brand and technical names (`TECHNICAL`)
are the same in every language. `<code>`, `<pre>`, `<script>` and `<style>`
hold code, not text.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import jinja2

GETTEXT_CALLS = {"_", "gettext", "pgettext", "ngettext", "npgettext"}
#: Names shown as they are in every language.
TECHNICAL = {"Aurore", "GPU"}
TEXT_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt"}
CODE_ELEMENTS = {"code", "pre", "script", "style"}
#: Stands for a `{{ … }}` in the template's HTML.
PLACEHOLDER = "\x00"
#: Where a script's text goes straight to the page: `x.textContent = "…"`…
TEXT_PROPERTIES = ("textContent", "innerText", "innerHTML", "title", "placeholder", "ariaLabel")
#: … or as an argument of these (el's third: its text).
TEXT_CALLS = {"append": None, "prepend": None, "replaceChildren": None, "confirm": 0, "alert": 0,
              "createTextNode": 0, "appendLog": 0, "showError": 0, "el": 2}

WORD = r"[^\W\d_]{2,}"
CODE_TOKEN = re.compile(r"^[a-z0-9_.#\[\]=\"'/:;,()-]*$")


def _words_only(text: str) -> str:
    """The text without its placeholders (`%(name)s`, `${…}`, a template's `{{ … }}`) and technical names."""
    text = re.sub(r"%\(\w+\)s|\$\{[^}]*\}|" + PLACEHOLDER, " ", text)
    return re.sub(r"\b(?:" + "|".join(TECHNICAL) + r")\b", " ", text)


def reads_like_text(text: str) -> bool:
    """Two words or more that are not all lower-case code tokens, or any word with an accented letter."""
    text = _words_only(text)
    if not re.search(WORD, text):
        return False
    if any(ch.isalpha() and ord(ch) > 127 for ch in text):
        return True
    if not re.search(WORD + r"[\s,;:'’]+" + WORD, text):
        return False
    return not all(CODE_TOKEN.match(token) for token in text.split())


def has_words(text: str) -> bool:
    """Any word of two letters or more once placeholders and technical names are gone."""
    return bool(re.search(WORD, _words_only(text)))


# -- templates ----------------------------------------------------------------------------------
class _PageText(HTMLParser):
    """The text nodes and text attributes of a template's HTML (Jinja constructs replaced)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.in_code = 0

    def handle_starttag(self, tag, attrs):
        if tag in CODE_ELEMENTS:
            self.in_code += 1
        for name, value in attrs:
            if not value:
                continue
            if (name in TEXT_ATTRIBUTES and has_words(value)) or (name.startswith("data-") and reads_like_text(value)):
                self.found.append(f'{name}="{value}"')

    def handle_endtag(self, tag):
        if tag in CODE_ELEMENTS and self.in_code:
            self.in_code -= 1

    def handle_data(self, data):
        if not self.in_code and has_words(data):
            self.found.append(data.strip())


def template_literals(source: str) -> list[str]:
    """The user-facing texts of a template that do not go through the catalogue."""
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"])
    html, found = [], []
    in_trans = False
    expression: list[tuple[str, str]] = []
    for _line, kind, value in env.lex(source):
        if kind in ("variable_begin", "block_begin"):
            expression = []
        elif kind in ("variable_end", "block_end"):
            names = [v for k, v in expression if k == "name"]
            if names[:1] == ["trans"]:
                in_trans = True
            elif names[:1] == ["endtrans"]:
                in_trans = False
            found += _expression_literals(expression)
            if kind == "variable_end" and not in_trans:
                html.append(PLACEHOLDER)
        elif kind == "data":
            if not in_trans:
                html.append(value)
        elif kind not in ("whitespace", "comment_begin", "comment", "comment_end"):
            expression.append((kind, value))
    page = _PageText()
    page.feed("".join(html))
    return page.found + found


def _expression_literals(tokens: list[tuple[str, str]]) -> list[str]:
    """String literals of one `{{ … }}` or `{% … %}` outside gettext calls that read like text or pick a language."""
    found, calls = [], []
    for index, (kind, value) in enumerate(tokens):
        following = [v for _k, v in tokens[index + 1:index + 3]]
        if kind == "operator" and value == "(":
            before = tokens[index - 1] if index else ("", "")
            calls.append(before[1] if before[0] == "name" else None)
        elif kind == "operator" and value == ")" and calls:
            calls.pop()
        elif kind == "string" and not (calls and calls[-1] in GETTEXT_CALLS):
            text = value[1:-1]
            if reads_like_text(text) or (following[:1] == ["if"] and following[1:] in (["en"], ["lang"])):
                found.append(text)
    return found


# -- scripts ------------------------------------------------------------------------------------
_JS_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')
  | (?P<template>`(?:\\.|[^`\\])*`)
  | (?P<name>[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)
  | (?P<number>\d[\w.]*)
  | (?P<operator>=>|===|!==|==|!=|<=|>=|&&|\|\||\?\?|\?\.|\.\.\.|[-+*/%=<>!&|^~?:;,.(){}\[\]])
""", re.S | re.X)
_REGEXP = re.compile(r"/(?:\\.|\[(?:\\.|[^\]\\\n])*\]|[^/\\\n\[])+/[a-z]*")
_REGEXP_AFTER = {"(", ",", "=", ":", "[", "!", "&", "|", "?", "{", "}", ";", "&&", "||", "===", "!==", "==", "!=",
                 "=>", "return", "typeof"}


def script_tokens(source: str) -> list[tuple[str, str]]:
    """(kind, text) of a script: names (dotted), strings, templates, operators; comments and regexps left out."""
    tokens, position, previous = [], 0, None
    while position < len(source):
        if source[position] == "/" and (previous is None or previous in _REGEXP_AFTER) \
                and not source.startswith(("//", "/*"), position):
            match = _REGEXP.match(source, position)
            if match:
                position, previous = match.end(), "regexp"
                continue
        match = _JS_TOKEN.match(source, position)
        if not match:
            raise ValueError(f"cannot read the script at {source[position:position + 30]!r}")
        position = match.end()
        kind = match.lastgroup
        if kind in ("space", "comment"):
            continue
        tokens.append((kind, match.group()))
        previous = match.group() if kind in ("operator", "name") else kind
    return tokens


def script_literals(source: str) -> list[str]:
    """The user-facing texts of a script that do not go through the catalogue."""
    found, calls = [], []          # calls: [name, argument index] of each open parenthesis
    tokens = script_tokens(source)
    for index, (kind, value) in enumerate(tokens):
        before = tokens[index - 1] if index else ("", "")
        if kind == "operator" and value == "(":
            calls.append([before[1].rsplit(".", 1)[-1] if before[0] == "name" else None, 0])
        elif kind == "operator" and value == ")" and calls:
            calls.pop()
        elif kind == "operator" and value == "," and calls:
            calls[-1][1] += 1
        elif kind in ("string", "template"):
            call = calls[-1] if calls else [None, 0]
            if call[0] in GETTEXT_CALLS:
                continue
            text = value[1:-1]
            if kind == "template" and re.search(r"\$\{[^}]*\b(?:_|pgettext)\(", text):
                found.append(text)     # pybabel does not look into `${…}`: that msgid would never be translated
                continue
            assigned = before == ("operator", "=") and index > 1 and tokens[index - 2][0] == "name" \
                and tokens[index - 2][1].rsplit(".", 1)[-1] in TEXT_PROPERTIES
            shown = call[0] in TEXT_CALLS and TEXT_CALLS[call[0]] in (None, call[1])
            if reads_like_text(text) or ((assigned or shown) and has_words(text)):
                found.append(text)
    return found
