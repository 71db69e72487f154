"""The message catalogues (translations/<lang>/LC_MESSAGES/messages.po), compiled when the app starts.

The msgids are English; French, the default language, is a catalogue like
any other (`aurore.web.language` chooses the page's). Why compile at start,
in memory, and keep no `.mo` in git: the `.po` files stay the only source (a
committed `.mo` goes stale at the first merge, and binary files do not
merge), the README's two setup commands stay enough, and nothing is written
where the app runs (the Docker image's /app is read-only to its user).
Compiling takes milliseconds. Fuzzy and empty translations are left out, so
they fall back to the English msgid, as `pybabel compile` would do.

The scripts' messages (`_("…")` and `pgettext("…", "…")` in static/js) are
found with pybabel's own JavaScript extractor; each page embeds the current
language's translations of them (`script_catalogue`, in base.html), which
workshop-common.js's `_()` reads.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from babel.messages.extract import extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import current_app
from flask_babel import Babel, Domain, get_locale
from werkzeug.utils import cached_property

from aurore import paths
from aurore.web import language

DOMAIN = "messages"
SCRIPTS_DIR = paths.ROOT / "static" / "js"
#: gettext's separator between a message's context and its msgid (as in .mo files).
CONTEXT_SEPARATOR = "\x04"


def po_path(directory: str | Path, lang: str) -> Path:
    return Path(directory) / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def compiled(po_file: Path, lang: str) -> Translations:
    """One .po file as gettext reads it: compiled to .mo in memory (fuzzy entries left out)."""
    with po_file.open("rb") as source:
        catalog = read_po(source, locale=lang, domain=DOMAIN)
    mo = io.BytesIO()
    write_mo(mo, catalog, use_fuzzy=False)
    mo.seek(0)
    return Translations(mo, domain=DOMAIN)


def catalogues(directories: list[str], languages: tuple[str, ...]) -> dict[str, Translations]:
    """Each language's translations: its .po of every directory, a later directory's messages winning."""
    found = {}
    for lang in languages:
        merged = Translations(domain=DOMAIN)
        for directory in directories:
            po_file = po_path(directory, lang)
            if po_file.is_file():
                one = compiled(po_file, lang)
                merged.merge(one)
                merged.plural = one.plural   # merge() keeps the messages only
        found[lang] = merged
    return found


class CompiledDomain(Domain):
    """Flask-Babel's message domain, reading the catalogues compiled at start instead of .mo files."""

    def __init__(self, compiled_catalogues: dict[str, Translations]):
        super().__init__(domain=DOMAIN)
        self.catalogues = compiled_catalogues
        self.scripts: dict[str, dict[str, str]] = {}

    def get_translations(self):
        return self.catalogues.get(str(get_locale())) or NullTranslations()


class CompiledBabel(Babel):
    """Flask-Babel, with the catalogues of `translation_directories()` compiled when the app starts."""

    def __init__(self, app, compiled_catalogues: dict[str, Translations]):
        self.compiled_catalogues = compiled_catalogues
        super().__init__(app, locale_selector=language.select_language, default_locale=language.DEFAULT)

    @cached_property
    def domain_instance(self) -> CompiledDomain:
        return CompiledDomain(self.compiled_catalogues)


def translation_directories(app) -> list[str]:
    """Flask-Babel's setting: folders of catalogues, `;`-separated; translations/ by default."""
    return [folder for folder in app.config["BABEL_TRANSLATION_DIRECTORIES"].split(";") if folder]


@lru_cache(maxsize=1)
def script_messages() -> tuple[tuple[str | None, str], ...]:
    """(context, msgid) of every message of static/js, as `pybabel extract` finds them."""
    found = set()
    for script in sorted(SCRIPTS_DIR.glob("**/*.js")):
        with script.open("rb") as source:
            for _line, message, _comments, context in extract("javascript", source):
                if isinstance(message, str):
                    found.add((context, message))
    return tuple(sorted(found, key=lambda pair: (pair[0] or "", pair[1])))


def script_catalogue() -> dict[str, str]:
    """The page language's translations of the scripts' messages (`context\\x04msgid` with a context)."""
    domain = current_app.extensions["babel"].instance.domain_instance
    lang = str(get_locale())
    if lang not in domain.scripts:
        translations = domain.get_translations()
        texts = {}
        for context, msgid in script_messages():
            text = translations.upgettext(context, msgid) if context else translations.ugettext(msgid)
            if text != msgid:
                texts[f"{context}{CONTEXT_SEPARATOR}{msgid}" if context else msgid] = text
        domain.scripts[lang] = texts
    return domain.scripts[lang]


def init_app(app) -> None:
    app.config.setdefault("LANGUAGES", language.LANGUAGES)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(paths.ROOT / "translations"))
    CompiledBabel(app, catalogues(translation_directories(app), tuple(app.config["LANGUAGES"])))
    app.jinja_env.policies["ext.i18n.trimmed"] = True    # `{% trans %}` texts as one line, as babel.cfg extracts them
    app.jinja_env.filters["localized"] = language.localized
    app.context_processor(lambda: {"lang": language.page_lang(), "script_catalogue": script_catalogue})
