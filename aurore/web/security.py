"""Who may use the workshop's code-running endpoints, and CSRF protection.

The workshop runs the learner's code, so its pages answer only to clients on
this machine (loopback), unless the app was started with an access token
(`ACCESS_TOKEN`, `python app.py --token …`): then another client presents it
once as `?token=…` (as with Jupyter) and gets a cookie, or sends it in the
`X-Aurore-Token` header.

State-changing requests (POST) must carry the session's CSRF token (header
`X-CSRF-Token` or form field `csrf_token`) and, when the browser sends an
Origin, come from this very site.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from flask import abort, current_app, redirect, request, session

from aurore import atomic

TOKEN_COOKIE = "aurore_token"
TOKEN_HEADER = "X-Aurore-Token"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


def ensure_secret_key(app, data_dir: str | Path) -> None:
    """Sessions (CSRF tokens, language) need a secret key.

    It is kept in the data folder (readable by its owner only), so that a
    restart of the app does not make the open pages' CSRF tokens stale.
    """
    if not app.config.get("SECRET_KEY"):
        path = Path(data_dir) / "workshop" / "secret_key"
        try:
            key = path.read_text(encoding="ascii").strip()
        except OSError:
            key = ""
        if len(key) < 32:
            key = secrets.token_hex(32)
            atomic.write_text(path, key)
            path.chmod(0o600)
        app.config["SECRET_KEY"] = key
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)


def is_loopback(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _same(a: str | None, b: str) -> bool:
    return bool(a) and hmac.compare_digest(a.encode(), b.encode())


def check_access():
    """before_request of the workshop: loopback, or the access token.

    Returns a redirect (token given in the URL: set the cookie and drop it
    from the address) or None; aborts with 403 otherwise.
    """
    token = current_app.config.get("ACCESS_TOKEN")
    if token:
        given = request.args.get("token")
        if _same(given, token):
            args = {k: v for k, v in request.args.items() if k != "token"}
            target = request.path + ("?" + urlencode(args) if args else "")
            response = redirect(target)
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
            return response
        if _same(request.cookies.get(TOKEN_COOKIE), token) or _same(request.headers.get(TOKEN_HEADER), token):
            return None
    if is_loopback(request.remote_addr):
        return None
    abort(403, description="token" if token else "loopback")


def csrf_token() -> str:
    """This session's CSRF token (created on first use), for forms and fetch headers."""
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return session[CSRF_FIELD]


def check_csrf():
    """before_request of the workshop: POSTs need the CSRF token and a same-site Origin."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        if urlsplit(origin).netloc != request.host:
            abort(403, description="origin")
    elif request.headers.get("Sec-Fetch-Site") == "cross-site":
        abort(403, description="origin")
    given = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
    expected = session.get(CSRF_FIELD)
    if not expected or not _same(given, expected):
        abort(403, description="csrf")
    return None
