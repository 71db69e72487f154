"""The page language, chosen here for every page of the app: the workshop's and the writers'.

French first; `?lang=en` (or `?lang=fr`) switches, and the choice is
remembered in the session when the app has a secret key (the workshop
makes one for its CSRF tokens; a public server has none, so each page
follows its own `?lang=`). The languages are the course's.
"""

from __future__ import annotations

from flask import current_app, request, session

from aurore.course.exercises import LANGS

DEFAULT = "fr"


def page_lang() -> str:
    """`?lang=` if given (remembered when sessions are on), else the session's, else French."""
    wanted = request.args.get("lang")
    if wanted in LANGS:
        if current_app.secret_key:
            session["lang"] = wanted
        return wanted
    remembered = session.get("lang") if current_app.secret_key else None
    return remembered if remembered in LANGS else DEFAULT
