"""aurore/web/security.py's functions, one promise at a time, on a small Flask app (fast: mutation testing runs them).

Why: the end-to-end security tests (test_security.py) hold the whole app; these
hold each rule of docs/security.md on its own, so that a one-line change of
security.py (a branch, a status, a flag) fails a test in milliseconds: the CSRF
rule (token, Origin, Sec-Fetch-Site), the refusal's answer (status, plain text
or JSON, the reason), and the `?token=` landing (the page or, on API paths,
the redirect; the query kept; the page pass's cookie).
"""

from __future__ import annotations

import html
import re

import pytest
from flask import Flask

from aurore.web import errors, security
from tests.test_api import make_app  # noqa: F401  (fixture)

HOST = "localhost:5000"


@pytest.fixture
def app():
    """The guard, the headers and the refusals of security.init_app, with the CSRF rule on every request."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k" * 64, PUBLIC=False, BIND_HOST="127.0.0.1", TESTING=True)
    security.init_app(app)
    app.before_request(security.check_csrf)

    @app.route("/form")
    def form():
        return security.csrf_token()

    @app.route("/act", methods=["GET", "HEAD", "OPTIONS", "POST"])
    def act():
        return "done"

    return app


@pytest.fixture
def client(app):
    return app.test_client()


def token_of(client) -> str:
    """The session's CSRF token, as a page gets it (the session cookie follows in the client)."""
    response = client.get("/form", headers={"Host": HOST})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def post(client, headers=None, **options):
    return client.post("/act", headers={"Host": HOST, **(headers or {})}, **options)


def refusal_text(response) -> str:
    return response.get_data(as_text=True).strip()


# --- CSRF: a POST needs the session's token, and a same-site origin ------------------------------

def test_a_post_with_the_session_s_token_is_let_through_in_the_header_or_the_form(client):
    token = token_of(client)
    assert post(client, {security.CSRF_HEADER: token}).status_code == 200
    assert post(client, data={security.CSRF_FIELD: token}).status_code == 200          # a plain HTML form
    assert post(client, {security.CSRF_HEADER: token, "Origin": f"http://{HOST}"}).status_code == 200


def test_a_post_without_the_session_s_token_is_refused_and_told_why(client):
    token = token_of(client)
    for headers in ({}, {security.CSRF_HEADER: token + "x"}, {security.CSRF_HEADER: "forged"}):
        response = post(client, headers)
        assert response.status_code == 403, headers
        assert refusal_text(response) == errors.refusal("csrf"), headers
    assert post(client, data={security.CSRF_FIELD: "forged"}).status_code == 403


def test_a_post_before_any_session_is_refused_even_with_a_token(app):
    """No session yet: no expected token, whatever is sent (an empty one included)."""
    client = app.test_client()
    for given in ("", "anything"):
        response = post(client, {security.CSRF_HEADER: given})
        assert response.status_code == 403 and refusal_text(response) == errors.refusal("csrf")


def test_reading_needs_no_csrf_token(client):
    """GET, HEAD and OPTIONS change nothing: they carry no token (links, the browser's preflight)."""
    for method in ("GET", "HEAD", "OPTIONS"):
        response = client.open("/act", method=method, headers={"Host": HOST})
        assert response.status_code == 200, method


@pytest.mark.parametrize("origin", ["http://rebound.attacker.example:5000", "http://localhost:5001",
                                    "http://127.0.0.1:5000", "http://[::1"])
def test_a_post_from_another_origin_is_refused_even_with_the_token(client, origin):
    token = token_of(client)
    response = post(client, {security.CSRF_HEADER: token, "Origin": origin})
    assert response.status_code == 403
    assert refusal_text(response) == errors.refusal("origin")


def test_an_origin_that_is_no_url_is_refused_whatever_the_host(app):
    """Even with the access token, an empty Host (answered beyond loopback) and the CSRF token."""
    app.config.update(BIND_HOST="0.0.0.0", ACCESS_TOKEN="t")
    client = app.test_client()
    headers = {"Host": "", security.TOKEN_HEADER: "t"}
    token = client.get("/form", headers=headers).get_data(as_text=True)
    assert client.post("/act", headers={**headers, security.CSRF_HEADER: token}).status_code == 200
    response = client.post("/act", headers={**headers, security.CSRF_HEADER: token, "Origin": "http://[::1"})
    assert response.status_code == 403 and refusal_text(response) == errors.refusal("origin")


def test_a_cross_site_post_without_origin_is_refused_by_its_fetch_metadata(client):
    """A browser that sends no Origin still says Sec-Fetch-Site: cross-site for another site's form."""
    token = token_of(client)
    response = post(client, {security.CSRF_HEADER: token, "Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403
    assert refusal_text(response) == errors.refusal("origin")
    for site in ("same-origin", "same-site", "none"):
        assert post(client, {security.CSRF_HEADER: token, "Sec-Fetch-Site": site}).status_code == 200, site


def test_a_null_origin_goes_on_to_the_token_check(client):
    token = token_of(client)
    assert post(client, {security.CSRF_HEADER: token, "Origin": "null"}).status_code == 200
    assert post(client, {"Origin": "null"}).status_code == 403


def test_the_csrf_token_is_made_once_per_session_and_unguessable(app):
    first, second = app.test_client(), app.test_client()
    token = token_of(first)
    assert token_of(first) == token                    # the open pages keep a valid token
    assert token_of(second) != token                   # another session, another token
    assert len(token) >= 32


def test_the_running_app_s_local_key_stands_for_the_token_and_the_csrf_token(app):
    """`python -m aurore check N` posts with the key of the 0600 discovery file, and nothing else."""
    app.config.update(ACCESS_TOKEN="t", LOCAL_KEY="local-key-1")
    client = app.test_client()
    assert post(client, {security.LOCAL_KEY_HEADER: "local-key-1"}).status_code == 200
    for key in ("local-key-2", "", "t"):
        assert post(client, {security.LOCAL_KEY_HEADER: key}).status_code == 403, key
    app.config["LOCAL_KEY"] = None                     # a server that wrote no file takes no key
    assert post(client, {security.LOCAL_KEY_HEADER: ""}).status_code == 403
    assert post(client, {security.LOCAL_KEY_HEADER: "None"}).status_code == 403


def test_the_page_pass_opens_pages_and_no_action(app):
    """The cookie another port's server may capture: GET and HEAD open, a POST is refused and told why."""
    app.config.update(ACCESS_TOKEN="t")
    client = app.test_client()
    assert client.get("/act", headers={"Host": HOST}).status_code == 403                     # no pass yet
    landing = client.get("/api/anything?token=t", headers={"Host": HOST})               # sets the pass
    assert landing.status_code == 302
    for method in ("GET", "HEAD"):
        assert client.open("/act", method=method, headers={"Host": HOST}).status_code == 200, method
    token = token_of(client)
    response = post(client, {security.CSRF_HEADER: token})
    assert response.status_code == 403 and refusal_text(response) == errors.refusal("token_action")
    assert post(client, {security.CSRF_HEADER: token, security.TOKEN_HEADER: "t"}).status_code == 200


# --- the refusal's answer ----------------------------------------------------------------------

def test_a_refusal_outside_the_api_is_plain_utf8_text_saying_why(client):
    """A refused page is one readable sentence (never Flask's HTML page), its encoding said (it has `…`)."""
    response = client.get("/act", headers={"Host": "rebound.attacker.example"})
    assert response.status_code == 403
    assert response.headers["Content-Type"].lower().replace(" ", "") == "text/plain;charset=utf-8"
    assert refusal_text(response) == errors.refusal("host")
    assert "…" in errors.refusal("host")               # why the charset matters
    assert response.headers["X-Frame-Options"] == "DENY"


def test_a_refusal_on_an_api_path_is_the_json_error(client):
    response = client.get("/v1/nothing", headers={"Host": "rebound.attacker.example"})
    assert response.status_code == 403 and response.is_json
    assert response.get_json()["error"]["message"] == errors.refusal("host")


def test_other_errors_keep_their_status(client):
    """Only 403 becomes the refusal's text: a missing page is a 404, a JSON request's refusal is no 413."""
    assert client.get("/nothing", headers={"Host": HOST}).status_code == 404
    response = post(client, json={"a": 1})
    assert response.status_code == 403 and refusal_text(response) == errors.refusal("csrf")
    token = token_of(client)
    assert client.delete("/act", headers={"Host": HOST, security.CSRF_HEADER: token}).status_code == 405


# --- the ?token= landing -------------------------------------------------------------------------

def landing_cookie(response) -> str:
    cookies = response.headers.getlist("Set-Cookie")
    mine = [c for c in cookies if c.startswith("aurore_token")]
    assert len(mine) == 1, cookies
    return mine[0]


def assert_page_pass_cookie(cookie: str, token: str) -> None:
    """HTTP-only, SameSite=Strict, holding the page pass, never the token (docs/security.md, Cookies)."""
    name_value, *attributes = [part.strip() for part in cookie.split(";")]
    assert name_value == f"aurore_token_5000={security.page_pass(token)}"
    flags = {a.split("=")[0].lower(): a.partition("=")[2] for a in attributes}
    assert "httponly" in flags and flags["samesite"] == "Strict" and flags["path"] == "/"
    assert "secure" not in flags and "expires" not in flags and "max-age" not in flags
    assert token not in cookie


def test_the_landing_page_keeps_the_token_and_opens_the_address_without_it(make_app):
    client = make_app(ACCESS_TOKEN="s3cret").test_client()
    response = client.get("/exercises/1?lang=en&token=s3cret&tab=a%26b", headers={"Host": HOST})
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert 'data-token="s3cret"' in page
    target = html.unescape(re.search(r'data-next="([^"]*)"', page).group(1))
    assert target == "/exercises/1?lang=en&tab=a%26b"          # the other arguments kept, the token gone
    assert_page_pass_cookie(landing_cookie(response), "s3cret")


def test_the_landing_without_other_arguments_opens_the_bare_path(make_app):
    client = make_app(ACCESS_TOKEN="s3cret").test_client()
    page = client.get("/exercises/1?token=s3cret", headers={"Host": HOST}).get_data(as_text=True)
    assert 'data-next="/exercises/1"' in page


def test_an_api_address_with_the_token_is_redirected_with_the_pass_only(make_app):
    """A program's GET of the API with ?token=: no page, a redirect to the same address without the token."""
    client = make_app(ACCESS_TOKEN="s3cret").test_client()
    response = client.get("/info?b=2&token=s3cret", headers={"Host": HOST})
    assert response.status_code == 302
    assert response.headers["Location"] == "/info?b=2"
    assert_page_pass_cookie(landing_cookie(response), "s3cret")
    bare = client.get("/info?token=s3cret", headers={"Host": HOST})
    assert bare.status_code == 302 and bare.headers["Location"] == "/info"
    # The pass opens the page the redirect names; the wrong token lands nowhere.
    assert client.get("/info", headers={"Host": HOST}).status_code == 200
    assert make_app(ACCESS_TOKEN="s3cret").test_client().get("/info?token=wrong").status_code == 403


def test_the_page_pass_is_not_the_token_and_differs_per_token():
    assert security.page_pass("s3cret") != "s3cret" and "s3cret" not in security.page_pass("s3cret")
    assert security.page_pass("s3cret") != security.page_pass("s3cret2")
    assert re.fullmatch(r"[0-9a-f]{64}", security.page_pass("s3cret"))      # HMAC-SHA256


def test_the_token_is_taken_from_a_bearer_in_any_case_or_the_header(make_app):
    client = make_app(ACCESS_TOKEN="s3cret").test_client()
    for headers in ({"Authorization": "Bearer s3cret"}, {"Authorization": "bearer  s3cret "},
                    {"Authorization": "BEARER s3cret"}, {"X-Aurore-Token": "s3cret"}):
        assert client.get("/info", headers={"Host": HOST, **headers}).status_code == 200, headers
    for headers in ({"Authorization": "Basic s3cret"}, {"Authorization": "Bearer"}, {"Authorization": "s3cret"},
                    {"Authorization": "Bearers3cret"}, {}):
        assert client.get("/info", headers={"Host": HOST, **headers}).status_code == 403, headers


# --- behind proxies: the last N forwarded values are the client's -------------------------------

@pytest.mark.parametrize("hops", [0, 2])
def test_behind_n_proxies_the_client_s_address_scheme_and_host_are_the_forwarded_ones(hops):
    """`--proxy N`: ProxyFix on the last N values of X-Forwarded-For, -Proto and -Host; 0: all ignored."""
    from flask import jsonify, request

    app = Flask(__name__)
    app.config.update(SECRET_KEY="k" * 64, PUBLIC=False, BIND_HOST="0.0.0.0", ACCESS_TOKEN="t", PROXY_HOPS=hops)
    security.init_app(app)
    security.trust_proxies(app)
    app.add_url_rule("/who", "who", lambda: jsonify(address=request.remote_addr, scheme=request.scheme,
                                                   host=request.host))
    # The client (forging a first value of each), then our two proxies: the first appends, the second connects.
    seen = app.test_client().get("/who", environ_base={"REMOTE_ADDR": "10.0.0.6"}, headers={
        "Host": "internal:8000", security.TOKEN_HEADER: "t",
        "X-Forwarded-For": "198.51.100.1, 203.0.113.7, 10.0.0.5",
        "X-Forwarded-Proto": "http, https, http", "X-Forwarded-Host": "forged.example, aurore.example, internal",
    }).get_json()
    if hops:
        assert seen == {"address": "203.0.113.7", "scheme": "https", "host": "aurore.example"}
    else:
        assert seen == {"address": "10.0.0.6", "scheme": "http", "host": "internal:8000"}


# --- names and addresses: what counts as this machine ----------------------------------------------

@pytest.mark.parametrize("address, loopback", [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("::1%lo", True), ("::ffff:127.0.0.1", True),
    ("10.0.0.1", False), ("::ffff:10.0.0.1", False), ("fe80::1%eth0", False), ("localhost", False), ("", False),
    (None, False), ("rebound.attacker.example", False)])
def test_is_loopback_reads_addresses_only(address, loopback):
    """A name is never an address; an IPv4 mapped in IPv6, or an IPv6 with a zone, is judged by its address."""
    assert security.is_loopback(address) is loopback


@pytest.mark.parametrize("host, name", [
    ("localhost:5000", "localhost"), ("LocalHost.:80", "localhost"), ("[::1]:5000", "::1"), ("127.0.0.1", "127.0.0.1"),
    ("aurore.example.", "aurore.example"), ("", ""), (None, ""), ("[::1", "")])
def test_host_name_is_the_lower_case_name_without_port_brackets_or_final_dot(host, name):
    assert security.host_name(host) == name


@pytest.mark.parametrize("host, port", [("localhost:5000", 5000), ("[::1]:8443", 8443), ("localhost", None),
                                        ("", None), (None, None), ("localhost:99999", None), ("[::1", None)])
def test_host_port_is_the_port_or_none(host, port):
    assert security.host_port(host) == port


def test_a_bare_host_s_cookies_keep_their_plain_names(app):
    with app.test_request_context("/", headers={"Host": "localhost"}):
        assert security.cookie_name("session") == "session"
    with app.test_request_context("/", headers={"Host": "localhost:5000"}):
        assert security.cookie_name("session") == "session_5000"


@pytest.mark.parametrize("bind", ["127.0.0.2", "0:0:0:0:0:0:0:1", "LOCALHOST", None])
def test_listening_on_any_loopback_address_keeps_the_host_check(bind):
    """Any loopback interface, however written (and no interface said: loopback), answers loopback names only."""
    app = Flask(__name__)
    if bind:
        app.config["BIND_HOST"] = bind
    with app.app_context():
        for host in ("localhost:5000", "127.0.0.1:5000", "[::1]:5000", "localhost.:5000", "127.0.0.2:5000",
                     "[0:0:0:0:0:0:0:1]:5000"):
            assert security.host_allowed(host), host
        assert not security.host_allowed("rebound.attacker.example:5000")
        app.config["ALLOWED_HOSTS"] = ("Aurore.Example",)
        assert security.host_allowed("aurore.example:5000") and security.host_allowed("AURORE.example")
        assert not security.host_allowed("rebound.attacker.example:5000")


# --- the secret key of the sessions --------------------------------------------------------------

def test_the_secret_key_is_made_once_kept_private_and_read_back(tmp_path):
    first, second = Flask("first"), Flask("second")
    security.ensure_secret_key(first, tmp_path)
    path = tmp_path / "workshop" / "secret_key"
    key = first.config["SECRET_KEY"]
    assert path.read_text(encoding="ascii").strip() == key and len(key) >= 32
    assert path.stat().st_mode & 0o777 == 0o600                                     # its owner only
    security.ensure_secret_key(second, tmp_path)                                    # a restart: the same key,
    assert second.config["SECRET_KEY"] == key                                       # the open pages' tokens hold
    third = Flask("third")
    security.ensure_secret_key(third, tmp_path / "elsewhere")
    assert third.config["SECRET_KEY"] != key


def test_a_short_secret_key_is_replaced_and_a_given_one_kept(tmp_path):
    path = tmp_path / "workshop" / "secret_key"
    path.parent.mkdir()
    for written, kept in (("a" * 31, False), ("b" * 32, True), ("", False)):
        path.write_text(written + "\n", encoding="ascii")
        app = Flask(__name__)
        security.ensure_secret_key(app, tmp_path)
        assert (app.config["SECRET_KEY"] == written) is kept, written
        assert len(app.config["SECRET_KEY"]) >= 32 and path.read_text().strip() == app.config["SECRET_KEY"]
    path.write_text("c" * 40)
    given = Flask(__name__)
    given.config["SECRET_KEY"] = "set-by-the-caller"
    security.ensure_secret_key(given, tmp_path)
    assert given.config["SECRET_KEY"] == "set-by-the-caller" and path.read_text() == "c" * 40
