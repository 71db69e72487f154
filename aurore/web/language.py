"""The page language, chosen here for every page of the app: the workshop's and the writers'.

One choice, in this order: `?lang=` (remembered in the session when the
app has a secret key: the workshop makes one for its CSRF tokens; a public
server has none, so each page follows its own `?lang=`), then the session's,
then the browser's `Accept-Language`, else French. `select_language` is
Flask-Babel's locale selector, so gettext, the templates' `{% trans %}` and
the number formats all follow it; `page_lang()` reads it back.

The offered languages are the app's `LANGUAGES` (a third one: its `.po` in
translations/ and one more entry there, README "Translations"). The course's
own texts (exercises/info.toml, course/*.md) exist in French and English:
`localized` picks the page's, and English for a language they lack (as
gettext falls back to its English msgids).
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import current_app, has_request_context, request, session
from flask_babel import get_locale, gettext

from aurore.course.exercises import LANGS as CONTENT_LANGS

DEFAULT = "fr"
#: The languages a page may be in: the first is the default. One line per language (and its .po).
LANGUAGES = ("fr", "en")
#: The course texts' language for a page language they lack: the msgids'.
CONTENT_FALLBACK = "en"


def offered() -> tuple[str, ...]:
    return tuple(current_app.config["LANGUAGES"])


def select_language() -> str:
    """`?lang=` if offered (remembered when sessions are on), else the session's, else Accept-Language's, else French."""
    if not has_request_context():    # app set-up, a command: no page, the default
        return DEFAULT
    languages = offered()
    wanted = request.args.get("lang")
    if wanted in languages:
        if current_app.secret_key:
            session["lang"] = wanted
        return wanted
    remembered = session.get("lang") if current_app.secret_key else None
    if remembered in languages:
        return remembered
    return request.accept_languages.best_match(languages) or DEFAULT


def page_lang() -> str:
    """The request's language (chosen once per request by `select_language`, through Flask-Babel)."""
    return str(get_locale())


def content_lang() -> str:
    """The language of the course's texts on this page: the page's, or English where they lack it."""
    lang = page_lang()
    return lang if lang in CONTENT_LANGS else CONTENT_FALLBACK


def localized(text: Mapping[str, str] | str) -> str:
    """A text for this page: a course text (`{"fr": …, "en": …}`) in its language, or a msgid translated."""
    if isinstance(text, Mapping):
        return text[content_lang()]
    return gettext(text)
