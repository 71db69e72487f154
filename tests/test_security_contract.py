"""docs/security.md as a contract: what it promises is read from it at test time and checked on the app.

Why: a header, a cookie flag or a limit changed in the code (or in the doc)
without the other fails here, so the two cannot drift. The doc is parsed
tolerantly: a header is any backquoted `Name: value` naming a response
header; a cookie's flags are read from the sentence or table row that names
it; a limit from the sentence that states it. A row or sentence added to the
doc is checked too when it has one of those forms.
"""

from __future__ import annotations

import json
import re
import sys

import pytest

from aurore import paths
from aurore.web import server
from aurore.web.workshop import jobs
from tests.test_api import make_app  # noqa: F401  (fixture)
from tests.test_security import command_line, fetch, serve  # noqa: F401  (fixture)
from tests.test_web_workshop import csrf, wait_finished, workshop_env  # noqa: F401  (fixture)

DOC = (paths.ROOT / "docs" / "security.md").read_text(encoding="utf-8")
#: Response headers the doc may promise (a backquoted `Name: value` with one of these names is a promise).
HEADER_NAMES = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy",
                "Strict-Transport-Security", "Permissions-Policy", "Cross-Origin-Opener-Policy",
                "Cross-Origin-Resource-Policy", "Cross-Origin-Embedder-Policy", "Cache-Control")


def documented_headers(doc: str = DOC) -> dict[str, str]:
    """Every `Header: value` the doc promises, in prose or in a table (| `Header` | `value` |)."""
    found = {}
    for span in re.findall(r"`([^`\n]+)`", doc.replace("`\n", "` ").replace("\n'", " '")):
        name, colon, value = span.partition(":")
        if colon and name.strip() in HEADER_NAMES:
            found[name.strip()] = " ".join(value.split())
    for row in re.findall(r"^\|(.+)\|\s*$", doc, flags=re.M):
        cells = [cell.strip().strip("`").strip() for cell in row.split("|")]
        if len(cells) >= 2 and cells[0] in HEADER_NAMES and cells[1]:
            found[cells[0]] = " ".join(cells[1].split())
    return found


def _prose_value(doc: str, name: str) -> str | None:
    """A value split over two lines inside backquotes (`Content-Security-Policy: default-src\\n'self'; …`)."""
    match = re.search(r"`" + re.escape(name) + r":\s*([^`]+)`", doc)
    return " ".join(match.group(1).split()) if match else None


def documented_cookies(doc: str = DOC) -> dict[str, set[str]]:
    """Each cookie the doc names (`base_<port>` or `base_5000`), with the flags said in its sentence or row.

    Flags: "HttpOnly" (written HTTP-only or HttpOnly), "SameSite=X", "Secure".
    """
    cookies: dict[str, set[str]] = {}
    pieces = re.split(r"(?<=[.!?])\s+(?=[A-Z*])|\n(?=\|)|\n\s*\n", doc)   # sentences, table rows, paragraphs
    for piece in pieces:
        for base in re.findall(r"`([a-z_]+?)_(?:<port>|\d{4,5})`", piece):
            flags = cookies.setdefault(base, set())
            text = " ".join(piece.split())
            if re.search(r"HTTP-only|HttpOnly", text, flags=re.I):
                flags.add("HttpOnly")
            same_site = re.search(r"SameSite=(Strict|Lax|None)", text)
            if same_site:
                flags.add(f"SameSite={same_site.group(1)}")
            if re.search(r"\bSecure\b", text):
                flags.add("Secure")
    return cookies


def documented_number(pattern: str) -> int:
    match = re.search(pattern, " ".join(DOC.split()))
    assert match, f"docs/security.md no longer says {pattern!r}: update this contract with the doc"
    return int(match.group(1))


# --- the parser reads the doc's current forms (and forms it may take) ---

def test_the_parser_reads_prose_and_table_forms():
    doc = ("**Headers.** Every answer carries `Content-Security-Policy: default-src\n'self'` and "
           "`X-Frame-Options: DENY`.\n\n| header | value |\n|---|---|\n| `Referrer-Policy` | `no-referrer` |\n"
           "The app sets an HTTP-only, `SameSite=Strict` cookie (`aurore_token_<port>`). Other text.\n"
           "| `session_5000` | HttpOnly, SameSite=Lax |\n")
    assert documented_headers(doc) == {"Content-Security-Policy": "default-src 'self'", "X-Frame-Options": "DENY",
                                       "Referrer-Policy": "no-referrer"}
    assert documented_cookies(doc) == {"aurore_token": {"HttpOnly", "SameSite=Strict"},
                                       "session": {"HttpOnly", "SameSite=Lax"}}


def test_the_doc_promises_the_four_headers_and_the_token_cookie_s_flags():
    """A floor, so that a doc emptied by mistake does not make the contract empty."""
    assert {"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options",
            "Referrer-Policy"} <= set(documented_headers())
    assert {"HttpOnly", "SameSite=Strict"} <= documented_cookies()["aurore_token"]
    assert "session" in documented_cookies()


# --- headers and cookies on the app ---

def test_every_answer_carries_exactly_the_documented_headers(workshop_env, serve):
    promised = documented_headers()
    promised["Content-Security-Policy"] = _prose_value(DOC, "Content-Security-Policy") or \
        promised["Content-Security-Policy"]
    port = serve(workshop_env["make_app"]())
    for method, path, host in (("GET", "/", None), ("GET", "/exercises/1", None), ("GET", "/info", None),
                               ("GET", "/static/js/writers.js", None), ("GET", "/nowhere", None),
                               ("POST", "/jobs", None), ("GET", "/", "rebound.attacker.example")):
        status, headers, _ = fetch(port, method, path, host=host, body="{}" if method == "POST" else None)
        for name, value in promised.items():
            assert headers.get(name) == value, (method, path, host, status, name)


def _set_cookies(headers) -> dict[str, str]:
    return {line.split("=", 1)[0]: line for line in headers.get_all("Set-Cookie") or []}


def _flags(set_cookie: str) -> set[str]:
    flags = set()
    for attribute in set_cookie.split(";")[1:]:
        key, _, value = attribute.strip().partition("=")
        if key.lower() == "httponly":
            flags.add("HttpOnly")
        elif key.lower() == "samesite":
            flags.add(f"SameSite={value.capitalize()}")
        elif key.lower() == "secure":
            flags.add("Secure")
    return flags


def test_every_cookie_has_the_documented_name_and_flags(workshop_env, serve):
    promised = documented_cookies()
    port = serve(workshop_env["make_app"](ACCESS_TOKEN="s3cret-token"))
    status, headers, _ = fetch(port, "GET", "/?token=s3cret-token", host=f"localhost:{port}")
    assert status == 200                      # the landing page: it keeps the token for this origin (token.js)
    cookies = _set_cookies(headers)
    status, headers, _ = fetch(port, "GET", "/", host=f"localhost:{port}",
                               headers={"Cookie": cookies[f"aurore_token_{port}"].split(";")[0]})
    assert status == 200
    cookies.update(_set_cookies(headers))
    set_names = {name.rsplit("_", 1)[0] for name in cookies}
    assert set(promised) <= set_names, f"documented cookies never set: {set(promised) - set_names}"
    for name, line in cookies.items():
        base, _, suffix = name.rpartition("_")
        assert suffix == str(port), f"{name}: a cookie's name carries the port"
        assert base in promised, f"the cookie {base}_<port> is not in docs/security.md"
        assert promised[base] <= _flags(line), (name, line)
        assert "HttpOnly" in _flags(line), f"{name} readable by scripts"


# --- origins ---

@pytest.mark.parametrize("origin, allowed", [
    ("http://localhost:{port}", True),
    ("http://localhost:{other}", False),                 # another port of the same host: another site
    ("http://127.0.0.1:{port}", False),                  # the same server under another name
    ("https://localhost:{port}", True),                  # the scheme is not the app's to know behind TLS
    ("http://rebound.attacker.example:{port}", False),
    ("null", True),                                       # no origin to compare: the CSRF token decides
])
def test_a_post_s_origin_must_be_this_very_server(workshop_env, origin, allowed):
    app = workshop_env["make_app"]()
    port = 5123
    client = app.test_client()
    page = client.get("/", base_url=f"http://localhost:{port}").get_data(as_text=True)
    token = page.split('name="csrf-token" content="')[1].split('"')[0]          # a valid token: the Origin decides
    headers = {"X-CSRF-Token": token, "Origin": origin.format(port=port, other=port + 1)}
    answer = client.post("/exercises/1/reset", headers=headers, base_url=f"http://localhost:{port}")
    if allowed:
        assert answer.status_code == 200, answer.get_data(as_text=True)
    else:
        assert answer.status_code == 403, answer.get_data(as_text=True)


# --- limits, at their documented values ---

def test_waitress_timeouts_and_sizes_are_the_documented_ones(monkeypatch, tmp_path):
    monkeypatch.setenv("AURORE_DATA", str(tmp_path))
    options = command_line(monkeypatch)
    assert options["channel_timeout"] == documented_number(r"A connection silent for (\d+) s is closed")
    assert options["cleanup_interval"] == documented_number(r"is closed \(checked every (\d+) s\)")
    assert options["max_request_body_size"] == documented_number(r"refused at the door above (\d+) KiB") * 1024
    assert options["app"].config["MAX_CONTENT_LENGTH"] == documented_number(r"the app's (\d+) KiB limit") * 1024
    assert options["max_request_header_size"] == documented_number(r"Headers: at most (\d+) KiB") * 1024
    assert options["threads"] == documented_number(r"\| `threads` \| (\d+) \(`--threads`")
    assert options["connection_limit"] == documented_number(r"\| `connection_limit` \| (\d+) \|")


def test_public_mode_s_limits_are_the_documented_ones(monkeypatch, tmp_path):
    monkeypatch.setenv("AURORE_DATA", str(tmp_path))
    config = command_line(monkeypatch, "--public")["app"].config
    assert config["MAX_IN_FLIGHT_PER_CLIENT"] == documented_number(r"at most (\d+) requests in flight")
    assert config["RATE_LIMIT_PER_MINUTE"] == documented_number(r"limited to (\d+) requests a minute")
    assert config["GENERATION_QUEUE"] == documented_number(r"(\d+) admitted at once")
    assert config["GENERATION_MAX_NEW_TOKENS"] == documented_number(r"tokens per request \((\d+)")


def test_an_idle_client_gets_its_burst_then_429_with_retry_after(make_app):
    """The documented rate on a fake clock: idle an hour, then burst + 1 requests: the last one is refused."""
    per_minute = documented_number(r"limited to (\d+) requests a minute")
    app = make_app(PUBLIC=True, RATE_LIMIT_PER_MINUTE=per_minute)
    limiter = app.extensions["aurore_rate_limit"]
    now = [5000.0]
    limiter._clock = lambda: now[0]
    client = app.test_client()
    body = {"prompt": "Il était", "max_new_tokens": 1}
    assert client.post("/api/generate", json=body).status_code == 200
    now[0] += 3600
    burst = int(limiter.burst)
    statuses = [client.post("/api/generate", json=body).status_code for _ in range(burst + 1)]
    assert statuses == [200] * burst + [429]
    refused = client.post("/api/generate", json=body)
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) == 60 // per_minute          # one request's worth of time
    now[0] += 60 / per_minute
    assert client.post("/api/generate", json=body).status_code == 200


CHATTY_STEP = r'''
import sys
line = b"%s\n" % (b"z" * 8000)
for i in range(1600):            # 12.8 MB of output, well past the 8 MiB kept
    sys.stdout.buffer.write(line)
sys.stdout.flush()
'''


@pytest.mark.timeout(300)
def test_a_job_keeps_up_to_the_documented_8_mib_of_output(workshop_env):
    cap = documented_number(r"kept up to (\d+) MiB of events") * 2**20
    assert jobs.MAX_EVENT_BYTES == cap
    script = workshop_env["tmp"] / "chatty.py"
    script.write_text(CHATTY_STEP)
    app = workshop_env["make_app"](WORKSHOP_STEPS={"chatty": {"title": {"fr": "Bavard", "en": "Chatty"},
                                                              "argv": [sys.executable, str(script)]}})
    client = app.test_client()
    job = client.post("/jobs", json={"step": "chatty", "variant": "solution"}, headers=csrf(client)).get_json()
    record = wait_finished(client, job["id"], seconds=240)
    assert record["status"] == "succeeded" and record["output_cut"] is True
    stored = workshop_env["data"] / "jobs" / job["id"] / "events.jsonl"
    size = stored.stat().st_size
    assert cap - 12_000 < size <= cap, size                  # filled to the cap, not cut early, never past it
    events = [json.loads(line) for line in stored.read_text().splitlines()]
    assert f"{cap // 2**20} MiB" in events[-1]["message"]
    assert all(event["message"] == "z" * 8000 for event in events[:-1])
