"""Who may use the app, CSRF protection, and the headers every answer carries.

The workshop runs the learner's code, so the model is (see docs/security.md):

- Host check (against DNS rebinding): when the server listens on loopback,
  a request whose Host header is not localhost / 127.0.0.1 / [::1] (or a name
  given with `--allowed-host`) is refused, as Jupyter does: a web page whose
  name was rebound to 127.0.0.1 cannot read or change anything.
- Without an access token, the app (workshop, writers' page, API) answers
  only to loopback clients that address it by a loopback name.
- With an access token (`ACCESS_TOKEN`, `python app.py --token …`), every
  client presents it, loopback included: in the `X-Aurore-Token` header, or
  as `Authorization: Bearer …` (OpenAI clients), or once as `?token=…` (as
  with Jupyter). That address answers a landing page which keeps the token in
  the browser's storage for this origin (port included: `static/js/token.js`
  then adds the header to every fetch of the pages) and sets a cookie holding
  a *page pass* derived from the token. Browsers send a host's cookies to every
  port, so a server on another port may see that cookie: it only opens pages
  (GET), never an action (POST: a check, a run), which needs the token itself.
- `--public` serves only the writers' page, the API and static files, to
  anyone, with per-client limits; `/health` is always open (Docker's check).
- Behind N reverse proxies (`--proxy N`), the client's address, scheme and
  Host are the ones the proxies forwarded (werkzeug's ProxyFix, last N hops);
  without `--proxy` forwarded headers are ignored.

State-changing requests of the workshop (POST) must carry the session's CSRF
token (header `X-CSRF-Token` or form field `csrf_token`) and, when the browser
sends an Origin, come from this very site.

This module owns who may come in; how a refusal reads (its text in both
languages, JSON on API paths) is `aurore.web.errors`'.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from flask import Response, abort, current_app, redirect, render_template, request, session
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_list_header
from werkzeug.middleware.proxy_fix import ProxyFix

from aurore.course.checks.running_app import KEY_HEADER as LOCAL_KEY_HEADER
from aurore.store import atomic
from aurore.web import errors

TOKEN_COOKIE = "aurore_token"
TOKEN_HEADER = "X-Aurore-Token"
#: Requests a page pass (the cookie) may make: reading, never acting.
READ_METHODS = ("GET", "HEAD", "OPTIONS")
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")

#: Endpoints open to everyone in every mode: static files, and /health for Docker's HEALTHCHECK.
OPEN_ENDPOINTS = ("static", "api.health")

#: What the browser may do with our pages: nothing from elsewhere, no framing, no inline script.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                               "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}

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


def is_loopback(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def host_name(host: str | None) -> str:
    """The name of a Host header, without its port and brackets, lower case ('' if malformed)."""
    try:
        return (urlsplit("//" + (host or "")).hostname or "").rstrip(".")
    except ValueError:
        return ""


def host_port(host: str | None) -> int | None:
    try:
        return urlsplit("//" + (host or "")).port
    except ValueError:
        return None


def is_loopback_name(name: str) -> bool:
    return name in LOOPBACK_NAMES or is_loopback(name)


def host_allowed(host: str | None) -> bool:
    """A loopback name or one of ALLOWED_HOSTS; any name when listening beyond loopback with none given."""
    name = host_name(host)
    allowed = [n.lower() for n in current_app.config.get("ALLOWED_HOSTS") or ()]
    if is_loopback_name(name) or name in allowed:
        return True
    return not allowed and not is_loopback_name(str(current_app.config.get("BIND_HOST", "127.0.0.1")).lower())


def _same(a: str | None, b: str) -> bool:
    return bool(a) and hmac.compare_digest(a.encode(), b.encode())


def cookie_name(base: str) -> str:
    """Cookies are shared by every port of a host: the name carries the port the browser used."""
    port = host_port(request.host)
    return f"{base}_{port}" if port else base


def _given_token() -> str | None:
    """The token sent by a program or by the pages' script: the bearer or the X-Aurore-Token header."""
    bearer = request.headers.get("Authorization", "")
    if bearer[:7].lower() == "bearer ":
        return bearer[7:].strip()
    return request.headers.get(TOKEN_HEADER)


def page_pass(token: str) -> str:
    """What the cookie holds: derived from the token, it cannot be turned back into it."""
    return hmac.new(token.encode(), b"aurore page pass", hashlib.sha256).hexdigest()


def _landing(token: str):
    """The answer to `?token=…`: store the token for this origin, then open the address without it."""
    args = {k: v for k, v in request.args.items() if k != "token"}
    target = request.path + ("?" + urlencode(args) if args else "")
    if errors.is_api_path(request.path):
        response = redirect(target)
    else:
        response = Response(render_template("token_landing.html", token=token, target=target), 200)
        response.headers["Cache-Control"] = "no-store"
    response.set_cookie(cookie_name(TOKEN_COOKIE), page_pass(token), httponly=True, samesite="Strict")
    return response


def presents_local_key() -> bool:
    """The request carries the key of the running app's discovery file (`python -m aurore check N`).

    Only this user can read that file (0600); a program sends the key in a
    header, which a cross-site page cannot make a browser send: it stands for
    the access token and the CSRF token.
    """
    key = current_app.config.get("LOCAL_KEY")
    return bool(key) and _same(request.headers.get(LOCAL_KEY_HEADER), key)


def check_access():
    """The access token when there is one; otherwise a loopback client using a loopback name.

    Returns the landing page (token given in the URL: keep it, set the page
    pass, open the address without it) or None; aborts with 403 otherwise.
    """
    if presents_local_key():
        return None
    token = current_app.config.get("ACCESS_TOKEN")
    if token:
        if _same(request.args.get("token"), token):
            return _landing(token)
        if _same(_given_token(), token):
            return None
        if _same(request.cookies.get(cookie_name(TOKEN_COOKIE)), page_pass(token)):
            if request.method in READ_METHODS:
                return None
            abort(403, description="token_action")
        abort(403, description="token")
    if is_local_client() and is_loopback_name(host_name(request.host)):
        return None
    abort(403, description="loopback")


def proxy_hops(app=None) -> int:
    """How many reverse proxies stand in front of the app (`--proxy N`; 0: none, forwarded headers ignored)."""
    return int((app or current_app).config.get("PROXY_HOPS") or 0)


def proxies_named_the_client(hops: int) -> bool:
    """Whether X-Forwarded-For holds the `hops` addresses our proxies add (so ProxyFix took the client's)."""
    return len(parse_list_header(request.headers.get("X-Forwarded-For", ""))) >= hops


def is_local_client() -> bool:
    """The client runs on this machine: its address is loopback.

    Behind proxies, only when they named the client. A request without
    X-Forwarded-For came straight to the server, or through a proxy that does
    not set the header: its loopback address is then the proxy's, which every
    client behind it would share.
    """
    hops = proxy_hops()
    if hops and not proxies_named_the_client(hops):
        return False
    return is_loopback(request.remote_addr)


def guard():
    """before_request of the whole app: the Host check, then (outside public mode) the access check."""
    if not host_allowed(request.host):
        abort(403, description="host")
    if current_app.config["PUBLIC"] or request.endpoint in OPEN_ENDPOINTS:
        return None
    return check_access()


def csrf_token() -> str:
    """This session's CSRF token (created on first use), for forms and fetch headers."""
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return session[CSRF_FIELD]


def check_csrf():
    """before_request of the workshop: POSTs need the CSRF token and a same-site Origin."""
    if request.method in ("GET", "HEAD", "OPTIONS") or presents_local_key():
        return None
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        try:
            netloc = urlsplit(origin).netloc
        except ValueError:      # not a URL: no site of ours, whatever the Host (even an empty one)
            abort(403, description="origin")
        if netloc != request.host or not host_allowed(netloc):
            abort(403, description="origin")
    elif request.headers.get("Sec-Fetch-Site") == "cross-site":
        abort(403, description="origin")
    given = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
    expected = session.get(CSRF_FIELD)
    if not expected or not _same(given, expected):
        abort(403, description="csrf")
    return None


class PortSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, under a name that carries the port (two apps, two sessions)."""

    def get_cookie_name(self, app) -> str:
        return cookie_name(app.config["SESSION_COOKIE_NAME"])


def add_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def refused(error):
    """The app's 403, and a JSON body's 413, outside the blueprints that answer their own (the writers' page…)."""
    if error.code == 413 and request.is_json:   # the writers' page's scripts read JSON, never Flask's HTML page
        return errors.json_error(413, errors.too_large())
    if error.code != 403:
        return error
    if errors.is_api_path(request.path):
        return errors.http_error(error)
    return Response(errors.refusal(error.description) + "\n", 403, mimetype="text/plain")


def trust_proxies(app) -> None:
    """Behind N proxies, take the client's address, scheme and Host from the last N forwarded values.

    Only those were written by our proxies: a client can send any
    X-Forwarded-* header, and a proxy appends to it, so values before the last
    N are the client's own and are not believed. Called last by create_app:
    the outermost middleware, so that the limits of rate_limit.py, the access
    check and the logs all see the client, not the proxy.
    """
    hops = proxy_hops(app)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def init_app(app) -> None:
    app.session_interface = PortSessionInterface()
    app.before_request(guard)
    app.after_request(add_headers)
    # For HTTPException, not 403: handlers by code come before the blueprints' own (workshop, API).
    app.register_error_handler(HTTPException, refused)
