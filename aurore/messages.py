"""The steps' messages in the learner's language, read from the pages' own catalogues.

A step the web app runs shows its log lines and progress labels on the page:
the app passes the page's language (AURORE_LANG), and `gettext` finds the
French of an English msgid in `translations/<lang>/LC_MESSAGES/messages.po`,
the catalogue the pages use (`pybabel extract` finds these msgids as it finds
the pages'). A terminal without AURORE_LANG keeps the English msgids.
"""

from __future__ import annotations

import os
from functools import lru_cache

from aurore import paths

#: The language of a run's messages when none is asked for: the msgids'.
DEFAULT = "en"


def lang() -> str:
    return os.environ.get("AURORE_LANG", DEFAULT)


@lru_cache(maxsize=4)
def _catalogue(lang: str) -> dict[str, str]:
    """msgid → translation, empty and fuzzy ones left out (they fall back to the msgid, as gettext does)."""
    from babel.messages.pofile import read_po

    path = paths.ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po"
    try:
        with path.open("rb") as handle:
            catalogue = read_po(handle, locale=lang)
    except (OSError, ValueError):
        return {}
    return {message.id: message.string for message in catalogue
            if isinstance(message.id, str) and message.id and isinstance(message.string, str) and message.string
            and not message.fuzzy}


def gettext(msgid: str, **values) -> str:
    """The msgid in the run's language, with its `%(name)s` values filled in."""
    text = _catalogue(lang()).get(msgid, msgid) if lang() != DEFAULT else msgid
    return text % values if values else text


def N_(msgid: str) -> str:
    """A msgid marked for the catalogue, translated later (a progress label)."""
    return msgid


def number(value: float, digits: int) -> str:
    """A number as the run's language writes it: "1,682" in French."""
    from babel.numbers import format_decimal

    return format_decimal(value, format="#,##0." + "0" * digits if digits else "#,##0", locale=lang())
