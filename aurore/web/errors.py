"""The one JSON error shape of the web layer, and what its parts share to answer with it.

Every JSON error answer of the app (the API, the writers' page, the
comparison, the workshop's pages, the guard's refusals on API paths, the
rate limits) is OpenAI's error object, which OpenAI clients read, with the
refused setting named twice (`param` for them, `field` for us) and, when it
helps, what is `allowed`:

    {"error": {"message": …, "type": …, "code": …, "param": …, "field": …, "allowed": …}}

`message` is in the page's language where the page has one (the workshop,
the comparison's refusals: gettext, `aurore.web.translations`), English on
the API; `code` is stable, for
scripts. This module owns that shape (`error_body`, `JsonError`), which
paths answer in JSON whatever happens (`is_api_path`, `http_error`), why
the guard refuses (`REFUSALS`), and keeping the server's folders out of
public messages (`hide_paths`). It imports nothing of the web layer, so
`security` and the API use it without importing each other.
"""

from __future__ import annotations

from pathlib import Path

from flask import Response, current_app, jsonify, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from aurore import paths


def N_(text: str) -> str:  # noqa: N802  (gettext's name for it)
    """Marks a text for `pybabel extract`; `gettext` translates it where a page shows it."""
    return text


#: Paths whose errors are answered in JSON, even 404 and 405 raised before any view runs.
API_PREFIXES = ("/api/", "/v1/")
API_PATHS = ("/health", "/info", "/api", "/v1")

#: Why a request was refused (the 403's description): English msgids, in the page's language through gettext.
REFUSALS = {
    "loopback": N_("This page answers only to this computer. To reach it from elsewhere, start the app "
                   "with a token: `python app.py --token auto`."),
    "token": N_("The access token is needed: open the address printed at start-up (…?token=…), or "
                "send it in the X-Aurore-Token header (or as Authorization: Bearer …)."),
    "token_action": N_("This action needs the access token, which this page keeps in the browser for this "
                       "address only: open the address printed at start-up (…?token=…) again in this browser."),
    "host": N_("Request refused: this server does not answer under that name. Open http://localhost:… or "
               "http://127.0.0.1:…, or start the app with `--allowed-host NAME`."),
    "csrf": N_("Request refused (form token missing or stale): reload the page."),
    "origin": N_("Request refused: it comes from another site."),
}


def refusal(reason: str | None) -> str:
    """The explanation of a 403 whose description is one of REFUSALS' reasons (loopback otherwise), in English."""
    return REFUSALS.get(reason or "", REFUSALS["loopback"])


def page_refusal(reason: str | None) -> str:
    """The same explanation in the page's language (the workshop's pages, the comparison)."""
    return gettext(refusal(reason))


def too_large() -> str:
    """Why a body over MAX_CONTENT_LENGTH was refused, in the page's language."""
    return gettext("The request is too large: at most %(kib)s KiB.",
                   kib=int(current_app.config.get("MAX_CONTENT_LENGTH") or 0) // 1024)


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES) or path in API_PATHS


def status_type(status: int) -> str:
    """The error `type` when nothing more precise applies: the client's fault below 500, else the server's."""
    return "invalid_request_error" if status < 500 else "server_error"


def status_code(status: int) -> str:
    """The error `code` when nothing more precise applies: the status's name, `not_found`, `conflict`…"""
    return HTTP_STATUS_CODES.get(status, "error").lower().replace(" ", "_")


def error_body(message: str, type_: str, code: str | None = None, *, field: str | None = None,
               allowed: str | None = None, extra: dict | None = None) -> dict:
    """The shape itself, for answers that are not Flask's (an event of a stream, the WSGI rate limit)."""
    error = {"message": message, "type": type_, "code": code, "param": field, "field": field}
    if allowed is not None:
        error["allowed"] = allowed
    error.update(extra or {})
    return {"error": error}


class JsonError(Exception):
    """Any refusal answered in JSON: a status, the error object, and headers (Retry-After…).

    Raised by the API's views (its blueprint answers it); elsewhere,
    `json_error` makes the answer directly. `type_` and `code` default to
    the status's (`status_type`, `status_code`).
    """

    def __init__(self, status: int, message: str, type_: str | None = None, code: str | None = None, *,
                 field: str | None = None, allowed: str | None = None, headers: dict | None = None,
                 extra: dict | None = None):
        super().__init__(message)
        self.status, self.message = status, message
        self.type, self.code = type_ or status_type(status), code or status_code(status)
        self.field, self.allowed, self.headers, self.extra = field, allowed, headers or {}, extra or {}

    def body(self) -> dict:
        return error_body(self.message, self.type, self.code, field=self.field, allowed=self.allowed,
                          extra=self.extra)

    def response(self) -> Response:
        if current_app.config.get("PUBLIC"):
            self.message = hide_paths(self.message)
        response = jsonify(self.body())
        response.status_code = self.status
        response.headers.update(self.headers)
        return response


def json_error(status: int, message: str, type_: str | None = None, code: str | None = None, **details) -> Response:
    """The answer of a refusal (`details`: field, allowed, headers, extra, as JsonError takes them)."""
    return JsonError(status, message, type_, code, **details).response()


def http_error(error: HTTPException) -> Response:
    """JSON on API paths for 403, 404, 405, 413… instead of Flask's HTML pages (English, as the API)."""
    status = error.code or 500
    messages = {
        403: refusal(error.description),
        404: f"No API endpoint at {request.path}. See GET /info.",
        405: f"{request.method} is not allowed on {request.path}.",
        413: f"The body is too large: at most {current_app.config.get('MAX_CONTENT_LENGTH')} bytes.",
    }
    response = json_error(status, messages.get(status, error.description or error.name), status_type(status),
                          error.name.lower().replace(" ", "_"))
    if status == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def path_hider(config=None):
    """What a public answer's text goes through: `hide_paths` in public mode, else as it is.

    Made while the request is answered, usable after it (a stream's last event).
    """
    config = config if config is not None else current_app.config
    if not config.get("PUBLIC"):
        return lambda text: text
    return lambda text: hide_paths(text, config)


def hide_paths(text: str, config=None) -> str:
    """A message without the server's folders (public mode): `/srv/aurore/data/models/cpu` → `…/cpu`."""
    config = config if config is not None else current_app.config
    folders = {str(Path(p)) for p in (config.get("GENERATION_MODELS_DIR"), config.get("DATA_DIR"), paths.ROOT,
                                      Path.home()) if p}
    folders |= {str(Path(p).resolve()) for p in folders}
    for folder in sorted(folders, key=len, reverse=True):
        if len(folder) > 1:
            text = text.replace(folder, "…")
    return text
