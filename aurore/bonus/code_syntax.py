"""Syntax tools for code completion: where a function ends, whether it parses, why not, and a choice that parses.

The library's own rules (the API, the CLI and the benchmark use them; the
course's exercise has the learner write its own):

- `function_end`: the **dedent stop**. A completion ends before its first
  non-blank line indented no deeper than the header's `def`, as an editor
  inserts a function body; when the model ran out of tokens first, the body
  is kept up to its last complete line.
- `parses`: header + body is valid Python for `ast.parse` (a method's header
  is shifted left first).
- `classify`: why a body does not parse (issue 27's failure table): empty,
  unclosed bracket, unterminated string, bad indentation, other syntax, each
  with whether the function ended or was cut by the token budget.
- `choose`: **parse-guided decoding**, best-of-k: draw completions one after
  the other and keep the first whose body parses and is not trivial.
- `is_trivial`: a body that is `pass`, `...`, a lone `raise`, or a single
  line: a guided method must not win by writing those.
"""

from __future__ import annotations

import ast
import re
import time
from typing import Callable

#: The failure kinds, in the order of the table.
KINDS = ("parses", "empty body", "unclosed bracket", "unterminated string", "bad indentation",
         "block opened, never filled", "other syntax error")
_HEADER_START = re.compile(r"^[ \t]*(async[ \t]+)?def[ \t]")
_TRIVIAL_LINES = frozenset({"pass", "...", "raise NotImplementedError", "raise NotImplementedError()",
                            "return", "return None"})


def indentation(line: str) -> int:
    """How many spaces or tabs a line starts with."""
    return len(line) - len(line.lstrip(" \t"))


def function_end(header: str, completion: str) -> tuple[str, bool]:
    """The completion up to the function's end (the dedent stop), and whether the function ended there."""
    limit = indentation(header)
    kept = []
    for line in completion.splitlines(keepends=True):
        if line.strip() and indentation(line) <= limit:
            return "".join(kept), True
        kept.append(line)
    return completion[:completion.rfind("\n") + 1], False


def _standalone(header: str, body: str) -> str:
    """Header + body shifted left by the header's indentation (a method stands alone as a function)."""
    shift = indentation(header)
    return "".join(line[min(shift, indentation(line)):] for line in (header + body).splitlines(keepends=True))


def syntax_error(header: str, body: str) -> SyntaxError | ValueError | None:
    """Why header + body does not parse, or None when it does."""
    try:
        ast.parse(_standalone(header, body))
    except (SyntaxError, ValueError) as error:
        return error
    return None


def parses(header: str, body: str) -> bool:
    return syntax_error(header, body) is None


def classify(header: str, body: str) -> str:
    """The kind of failure (one of KINDS) of header + body."""
    if not body.strip():
        return "empty body"
    error = syntax_error(header, body)
    if error is None:
        return "parses"
    message = str(getattr(error, "msg", error))
    if "never closed" in message or "unmatched" in message or "does not match" in message:
        return "unclosed bracket"
    if "unterminated" in message or "EOF while scanning" in message:
        return "unterminated string"
    if "expected an indented block" in message:
        return "block opened, never filled"
    if isinstance(error, IndentationError) or "indent" in message:
        return "bad indentation"
    return "other syntax error"


def failure_table(rows: list[tuple[str, str, bool]]) -> dict:
    """{kind: {"ended": n, "cut": n}} over (header, body, ended) rows: ended = the dedent (or the file's end) came."""
    table = {kind: {"ended": 0, "cut": 0} for kind in KINDS}
    for header, body, ended in rows:
        table[classify(header, body)]["ended" if ended else "cut"] += 1
    return table


def is_trivial(body: str) -> bool:
    """A body of at most one line, or only `pass`, `...`, a lone `raise NotImplementedError`, a bare return."""
    lines = [line.strip() for line in body.splitlines() if line.strip() and not line.strip().startswith("#")]
    return len(lines) <= 1 or all(line in _TRIVIAL_LINES for line in lines)


def header_of(prompt: str) -> str | None:
    """The last function header of a prompt (from its last `def` line to the end), or None without one."""
    lines = prompt.splitlines(keepends=True)
    for start in range(len(lines) - 1, -1, -1):
        if _HEADER_START.match(lines[start]):
            return "".join(lines[start:])
    return None


def choose(header: str, draw: Callable[[int], str], k: int) -> dict:
    """Parse-guided decoding: the first of up to `k` drawn bodies that parses and is not trivial.

    `draw(i)` returns the i-th completion (the text after the header, i =
    0…k-1; the caller seeds each draw differently); each is cut at the
    function's end. When none qualifies, the best of them is returned (one
    that parses but is trivial, else the first). Returns {body, ended,
    parses, trivial, tries, seconds}.
    """
    def judged(index: int) -> dict:
        body, ended = function_end(header, draw(index))
        return {"body": body, "ended": ended, "parses": parses(header, body), "trivial": is_trivial(body)}

    return best_of(judged, k)


def rank(found: dict) -> int:
    """2: parses and is not trivial (the choice is made); 1: parses but is trivial; 0: does not parse."""
    return 2 if found["parses"] and not found["trivial"] else int(bool(found["parses"]))


def best_of(judged: Callable[[int], dict], k: int) -> dict:
    """The first of `judged(0)`, `judged(1)`… (up to k) of rank 2, else the first of the best rank seen."""
    if k < 1:
        raise ValueError("k must be at least 1")
    started = time.perf_counter()
    best = None
    for index in range(k):
        found = {**judged(index), "tries": index + 1}
        if best is None or rank(found) > rank(best):
            best = found
        if rank(found) == 2:
            break
    return {**best, "tries": found["tries"], "seconds": time.perf_counter() - started}


#: Decoding modes of `complete_prompt`: as drawn, stopped at the dedent, best-of-k chosen by the parser.
SYNTAX_MODES = ("none", "dedent", "parse")


def model_prompt(prompt: str) -> str:
    """The prompt the model reads: an editor's trailing newline and indentation left for the model to write.

    The code tokenizer merges a newline with the next line's indentation,
    so a prompt ending in "\n" or "\n    " starts the wrong token.
    """
    trimmed = prompt.rstrip(" \t\r\n")
    return trimmed if "\n" in prompt[len(trimmed):] else prompt


def editor_cut(prompt: str, text: str) -> dict:
    """What an editor inserts after `prompt` (the model read `model_prompt(prompt)` and wrote `text`).

    The text is cut at the end of the prompt's last function (the dedent
    stop); `parses` says whether that function, header and body, parses.
    Without a `def` in the prompt, the text is returned whole, unjudged.
    """
    asked = model_prompt(prompt)
    full = asked + text
    header_start = header_of(prompt)
    if header_start is None:
        return {"text": text[len(prompt) - len(asked):] if full.startswith(prompt) else text, "ended": False,
                "parses": False, "trivial": False, "judged": False}
    start = len(prompt) - len(header_start)
    lines = full[start:].splitlines(keepends=True)
    ends = [i for i, line in enumerate(lines) if line.split("#")[0].rstrip().endswith(":") and line.endswith("\n")]
    if not ends:
        return {"text": "", "ended": False, "parses": False, "trivial": True, "judged": True}
    header = "".join(lines[:ends[0] + 1])
    body, ended = function_end(header, "".join(lines[ends[0] + 1:]))
    kept = full[:start] + header + body
    inserted = kept[len(prompt):] if kept.startswith(prompt) else ""
    return {"text": inserted, "ended": ended, "parses": bool(inserted) and parses(header, body),
            "trivial": is_trivial(body), "judged": True}


def complete_prompt(prompt: str, draw: Callable[[str, int], str], syntax: str = "parse", k: int = 4) -> dict:
    """An editor's completion of `prompt`: `draw(model_prompt, i)` gives the model's i-th text.

    syntax "none": the first draw as written (what comes after `prompt`);
    "dedent": the first draw stopped at the function's end; "parse": up to
    `k` draws, the first whose function parses and is not trivial
    (`best_of`). Returns {text, ended, parses, trivial, tries, seconds}.
    """
    if syntax not in SYNTAX_MODES:
        raise ValueError(f"syntax must be one of {', '.join(SYNTAX_MODES)}")
    asked = model_prompt(prompt)

    def judged(index: int) -> dict:
        text = draw(asked, index)
        if syntax == "none":
            full = asked + text
            return {"text": full[len(prompt):] if full.startswith(prompt) else text, "ended": False,
                    "parses": False, "trivial": False}
        return editor_cut(prompt, text)

    return best_of(judged, k if syntax == "parse" else 1)
