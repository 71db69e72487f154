"""Security and reliability of the server (issue 10), mostly against a real waitress server on 127.0.0.1.

DNS rebinding (foreign Host), the access token on loopback and on the API,
Content-Type, waitress limits (body size, slow clients, requests in flight),
bounded job output and its pages, non-finite numbers, model loading beside
/health, learners' backups, the headers of every answer, and the client's
address behind a reverse proxy (`--proxy N`) and without one.
"""

from __future__ import annotations

import http.client
import io
import json
import re
import socket
import sys
import threading
import time

import pytest
import waitress

from aurore.course import exercises
from aurore.errors import AuroreError
from aurore.web import create_app, security, server
from aurore.web.server import waitress_options
from aurore.web.workshop import jobs
from tests.fake_generator import FakeGenerator, fake_factory, make_fake_model_dirs
from tests.test_api import FakeLive, error_of, make_app  # noqa: F401  (fixture)
from tests.test_web_workshop import SOLUTION, csrf, wait_finished, workshop_env  # noqa: F401  (fixture)

FOREIGN = "rebound.attacker.example"


@pytest.fixture
def serve():
    """Serve an app with waitress on a free 127.0.0.1 port, as `python app.py` does; returns the port."""
    servers = []

    def start(app, **options):
        live = waitress.create_server(app, host="127.0.0.1", port=0, **waitress_options(8, **options))
        threading.Thread(target=live.run, daemon=True).start()
        servers.append(live)
        return live.effective_port

    yield start
    for live in servers:
        live.close()


def fetch(port, method, path, body=None, headers=None, host=None, timeout=10):
    """One request with an explicit Host header; returns (status, headers, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Host": host or f"127.0.0.1:{port}", **(headers or {})}
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, response.headers, data


def strict_json(data):
    """JSON as a browser reads it: NaN and Infinity are errors."""
    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(data, parse_constant=refuse)


GENERATE = {"prompt": "Il était", "max_new_tokens": 2}


def fake_model(workshop_env) -> dict:
    """Config giving a workshop app one fake model."""
    make_fake_model_dirs(workshop_env["data"] / "models", ("cpu",))
    return {"GENERATION_FACTORY": fake_factory(FakeGenerator())}


# --- 1. DNS rebinding and the token on loopback ------------------------------------------------

def test_a_rebound_name_reaches_nothing(workshop_env, serve):
    """A page whose name was rebound to 127.0.0.1 sends its own name as Host: everything is refused."""
    port = serve(workshop_env["make_app"](**fake_model(workshop_env)))
    before = workshop_env["learner"].read_text()
    for host in (f"{FOREIGN}:{port}", FOREIGN, f"localhost.{FOREIGN}:{port}", f"127.0.0.1.{FOREIGN}"):
        for method, path in (("GET", "/"), ("GET", "/exercises/1/source"), ("GET", "/jobs/current"),
                             ("POST", "/exercises/1/reset"), ("GET", "/generate")):
            status, _, body = fetch(port, method, path, host=host)
            assert status == 403, (host, path, body)
        status, headers, body = fetch(port, "POST", "/api/generate", GENERATE, host=host)
        assert status == 403 and headers["Content-Type"] == "application/json"
        assert "--allowed-host" in strict_json(body)["error"]["message"]
    assert workshop_env["learner"].read_text() == before
    # The loopback names are the workshop's own.
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "localhost"):
        status, _, body = fetch(port, "GET", "/exercises/1/source", host=host)
        assert status == 200 and "add" in strict_json(body)["html"], host


def test_an_allowed_public_name_is_answered_with_the_token(workshop_env, serve):
    app = workshop_env["make_app"](ACCESS_TOKEN="s3cret", ALLOWED_HOSTS=("aurore.example",))
    port = serve(app)
    assert fetch(port, "GET", "/exercises/1/source", host="aurore.example")[0] == 403        # no token
    token = {"X-Aurore-Token": "s3cret"}
    assert fetch(port, "GET", "/exercises/1/source", headers=token, host="aurore.example")[0] == 200
    assert fetch(port, "GET", "/exercises/1/source", headers=token, host=FOREIGN)[0] == 403


@pytest.mark.parametrize("bind, foreign_answered", [("127.0.0.1", False), ("localhost", False), ("::1", False),
                                                     ("0.0.0.0", True), ("192.168.1.10", True)])
def test_the_host_check_follows_the_interface(make_app, bind, foreign_answered):
    """Beyond loopback every client needs the token, so any name is answered unless --allowed-host narrows it."""
    token = {"X-Aurore-Token": "t"}
    client = make_app(BIND_HOST=bind, ACCESS_TOKEN="t").test_client()
    assert (client.get("/info", headers={"Host": FOREIGN, **token}).status_code == 200) is foreign_answered
    assert client.get("/info", headers={"Host": "127.0.0.1:5000", **token}).status_code == 200
    narrowed = make_app(BIND_HOST=bind, ACCESS_TOKEN="t", ALLOWED_HOSTS=("aurore.example",)).test_client()
    assert narrowed.get("/info", headers={"Host": FOREIGN, **token}).status_code == 403
    assert narrowed.get("/info", headers={"Host": "aurore.example:8443", **token}).status_code == 200


def test_with_a_token_loopback_clients_present_it_too(workshop_env, serve):
    port = serve(workshop_env["make_app"](ACCESS_TOKEN="s3cret", **fake_model(workshop_env)))
    status, _, body = fetch(port, "GET", "/exercises/1/source")
    assert status == 403 and b"token" in body
    status, headers, body = fetch(port, "POST", "/api/generate", GENERATE)
    assert status == 403 and "X-Aurore-Token" in strict_json(body)["error"]["message"]
    assert fetch(port, "GET", "/generate")[0] == 403
    assert fetch(port, "GET", "/health")[0] == 200                      # Docker's HEALTHCHECK
    assert fetch(port, "GET", "/static/js/writers.js")[0] == 200
    # The token: in the URL once (kept by the page for its origin), in a header, or as a bearer (OpenAI clients).
    status, headers, body = fetch(port, "GET", "/exercises/1?token=s3cret")
    assert status == 200 and b'data-token="s3cret"' in body and b'data-next="/exercises/1"' in body
    assert headers["Cache-Control"] == "no-store"
    assert headers["Set-Cookie"].startswith(f"aurore_token_{port}={security.page_pass('s3cret')};")
    assert "s3cret" not in headers["Set-Cookie"]
    assert fetch(port, "GET", "/exercises/1/source", headers={"X-Aurore-Token": "s3cret"})[0] == 200
    assert fetch(port, "POST", "/api/generate", GENERATE, headers={"Authorization": "Bearer s3cret"})[0] == 200
    assert fetch(port, "POST", "/api/generate", GENERATE, headers={"Authorization": "Bearer wrong"})[0] == 403


# --- 2. the API outside --public ------------------------------------------------------------------

@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", None])
def test_the_api_takes_only_json_bodies(make_app, serve, content_type):
    """A cross-site page can POST text/plain without asking (no CORS preflight): such bodies are refused."""
    port = serve(make_app())
    headers = {"Content-Type": content_type} if content_type else {}
    status, answer, body = fetch(port, "POST", "/api/generate", json.dumps(GENERATE), headers=headers)
    assert status == 415 and answer["Content-Type"] == "application/json"
    assert "Content-Type: application/json" in strict_json(body)["error"]["message"]
    assert fetch(port, "POST", "/v1/completions", json.dumps({"prompt": "a"}), headers=headers)[0] == 415
    ok = fetch(port, "POST", "/api/generate", json.dumps(GENERATE),
               headers={"Content-Type": "application/json; charset=utf-8"})
    assert ok[0] == 200


def command_line(monkeypatch, *argv):
    """server.main without serving: the app it makes and waitress's options."""
    calls = {}
    monkeypatch.setattr(waitress, "create_server", lambda app, **options: FakeLive(calls, app=app, **options))
    monkeypatch.setattr(server, "preload", lambda app: None)
    server.main(list(argv))
    return calls


def test_listening_beyond_loopback_needs_a_token_for_everything(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("AURORE_DATA", str(tmp_path))
    calls = command_line(monkeypatch, "--host", "0.0.0.0", "--port", "8124")
    app = calls["app"]
    token = app.config["ACCESS_TOKEN"]
    assert token and f"?token={token}" in capsys.readouterr().out
    client = app.test_client()
    remote = {"REMOTE_ADDR": "172.17.0.1"}                    # Docker's bridge: the host's browser
    assert client.post("/api/generate", json=GENERATE, environ_base=remote).status_code == 403
    assert client.get("/info", environ_base=remote).status_code == 403
    assert client.get("/info", environ_base=remote, headers={"X-Aurore-Token": token}).status_code == 200
    assert client.get("/health", environ_base=remote).status_code == 200
    # --public serves no workshop: no token, anyone may use the API.
    public = command_line(monkeypatch, "--public")["app"]
    assert public.config["ACCESS_TOKEN"] is None
    assert public.test_client().get("/info", environ_base=remote).status_code == 200
    # On loopback, no token unless asked for.
    assert command_line(monkeypatch)["app"].config["ACCESS_TOKEN"] is None


# --- 3. waitress limits ---------------------------------------------------------------------------

def test_waitress_limits_are_the_app_s(monkeypatch, tmp_path):
    monkeypatch.setenv("AURORE_DATA", str(tmp_path))
    calls = command_line(monkeypatch, "--max-new-tokens", "50")
    app = calls["app"]
    assert calls["max_request_body_size"] <= 2 * app.config["MAX_CONTENT_LENGTH"]
    assert calls["channel_timeout"] <= 60 and calls["cleanup_interval"] <= 10
    assert app.config["GENERATION_MAX_NEW_TOKENS"] == 50
    assert app.test_client().get("/info").get_json()["limits"]["max_new_tokens"]["max"] == 50
    with pytest.raises(SystemExit):
        command_line(monkeypatch, "--max-new-tokens", "0")


def test_a_huge_body_is_refused_before_it_is_sent_and_a_large_one_gets_json(make_app, serve):
    port = serve(make_app())
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(f"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {50 * 2**20}\r\n\r\n".encode())
    answer = sock.recv(4096)                         # without sending a byte of the 50 MiB
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413")
    status, headers, body = fetch(port, "POST", "/api/generate",
                                  json.dumps({"prompt": "a" * (80 * 1024)}), {"Content-Type": "application/json"})
    assert status == 413 and strict_json(body)["error"]["message"]


def test_a_slow_client_is_disconnected_and_others_are_served(make_app, serve):
    port = serve(make_app(), channel_timeout=1, cleanup_interval=1)
    slow = socket.create_connection(("127.0.0.1", port), timeout=10)
    slow.sendall(f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())    # …and never ends
    assert fetch(port, "GET", "/health")[0] == 200
    started = time.monotonic()
    assert slow.recv(1024) == b""                     # closed by the server
    assert time.monotonic() - started < 8
    slow.close()


def test_public_mode_caps_each_client_s_requests_in_flight(make_app, serve):
    generator = FakeGenerator(step_delay=0.05)
    app = make_app(generator, PUBLIC=True, RATE_LIMIT_PER_MINUTE=None, MAX_IN_FLIGHT_PER_CLIENT=2)
    port = serve(app)
    streams = []
    for _ in range(2):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("POST", "/api/generate/stream", body=json.dumps({"prompt": "a", "max_new_tokens": 500}),
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 200 and response.readline().startswith(b"event: start")
        streams.append((connection, response))
    status, headers, body = fetch(port, "POST", "/api/generate", GENERATE)
    assert status == 429 and strict_json(body)["error"]["code"] == "too_many_in_flight" and headers["Retry-After"]
    for connection, response in streams:            # the clients hang up
        response.close()
        connection.close()
    deadline = time.monotonic() + 10
    while fetch(port, "GET", "/health")[0] != 200 or app.wsgi_app.in_flight("127.0.0.1"):
        assert time.monotonic() < deadline, "the places of the clients who left were not freed"
        time.sleep(0.05)
    assert fetch(port, "POST", "/api/generate", GENERATE)[0] == 200


def test_public_mode_from_the_command_line_caps_requests_in_flight(monkeypatch, tmp_path):
    monkeypatch.setenv("AURORE_DATA", str(tmp_path))
    assert command_line(monkeypatch, "--public")["app"].wsgi_app.limit == 8
    assert command_line(monkeypatch, "--public", "--max-in-flight", "3")["app"].wsgi_app.limit == 3


# --- 4. and 5. job output: bounded, paginated, finite ---------------------------------------------

NOISY_STEP = r'''
import sys
out = sys.stdout.buffer
out.write(b"x" * 3_000_000)                      # a line that never ends (3 MB)
out.write(b"\n")
out.write(b'{"event": "metrics", "step": 1, "loss": NaN, "val_loss": Infinity, "lr": -Infinity}\n')
out.write(b'{"event": "progress", "task": "t", "done": 1, "total": 2, "unit": "step", "metrics": {"loss": NaN}}\n')
for i in range(3000):
    out.write(b"line %d of a chatty step\n" % i)
out.flush()
'''


def test_a_job_s_output_is_bounded_finite_and_paginated(workshop_env, monkeypatch):
    monkeypatch.setattr(jobs, "MAX_EVENT_BYTES", 40_000)
    script = workshop_env["tmp"] / "noisy.py"
    script.write_text(NOISY_STEP)
    app = workshop_env["make_app"](WORKSHOP_STEPS={"noisy": {"title": {"fr": "Bavard", "en": "Chatty"},
                                                             "argv": ["{python}", str(script)]}})
    client = app.test_client()
    job = client.post("/jobs", json={"step": "noisy", "variant": "solution"}, headers=csrf(client)).get_json()
    record = wait_finished(client, job["id"])
    assert record["status"] == "succeeded" and record["output_cut"] is True
    stored = workshop_env["data"] / "jobs" / job["id"] / "events.jsonl"
    assert stored.stat().st_size <= 40_000
    events = [strict_json(line) for line in stored.read_text().splitlines()]
    assert events[0]["message"] == "x" * jobs.MAX_LINE                        # the long line, cut
    metrics = events[1]
    assert metrics["loss"] is None and metrics["val_loss"] is None and metrics["lr"] is None
    assert events[2]["metrics"]["loss"] is None
    assert "MiB" in events[-1]["message"] and len(events) < 3000

    # Pages of GET /jobs/<id>, as the browser reads them (NaN would make JSON.parse throw).
    seen, after = [], -1
    while True:
        answer = client.get(f"/jobs/{job['id']}?after={after}&limit=100")
        page = strict_json(answer.get_data())
        assert len(page["events"]) <= 100
        seen += page["events"]
        after = page["next"]
        if not page["more"]:
            break
    assert seen == events and page["job"]["progress"]["metrics"]["loss"] is None
    assert len(client.get(f"/jobs/{job['id']}").get_json()["events"]) == min(len(events), jobs.PAGE_EVENTS)
    stream = client.get(f"/jobs/{job['id']}/events").get_data(as_text=True)
    for line in stream.splitlines():
        if line.startswith("data: "):
            strict_json(line[6:])


def test_bounded_lines_cut_long_lines_without_reading_them_whole():
    class Stream(io.BytesIO):
        biggest = 0

        def readline(self, size=-1):
            assert size > 0, "an unbounded readline"
            line = super().readline(size)
            Stream.biggest = max(Stream.biggest, len(line))
            return line

    stream = Stream(b"short\n" + b"y" * 100_000 + b"\nafter\nno end")
    assert list(jobs.bounded_lines(stream, 1000)) == [b"short\n", b"y" * 1000, b"after\n", b"no end"]
    assert Stream.biggest <= 1000


def test_a_diverging_training_keeps_the_run_page_readable(tmp_path):
    """A learning rate of 1e9 makes the loss NaN: every event and answer stays strict JSON, with null."""
    from aurore.corpus import tokenization
    from aurore.store import modeldir
    from tiny_sand import TRAIN, make_dataset

    make_dataset(tmp_path / "dataset", repeat=3)
    modeldir.save_tokenizer(tokenization.byte_level_bpe(TRAIN, 400), tmp_path / "tokenizer")
    argv = ["{python}", "-m", "aurore", "train", "--preset", "tiny", "--data", str(tmp_path / "dataset"),
            "--tokenizer", str(tmp_path / "tokenizer"), "--model", str(tmp_path / "model"), "--max-steps", "6",
            "--set", "eval_interval=3", "--set", "learning_rate=1e9", "--set", "warmup_steps=0"]
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "TESTING": True,
                      "WORKSHOP_STEPS": {"diverge": {"title": {"fr": "D", "en": "D"}, "argv": argv}}})
    client = app.test_client()
    job = client.post("/jobs", json={"step": "diverge", "variant": "solution"}, headers=csrf(client)).get_json()
    record = wait_finished(client, job["id"], seconds=240)
    page = strict_json(client.get(f"/jobs/{job['id']}").get_data())
    assert record["status"] == "succeeded", page["events"][-5:]
    metrics = [event for event in page["events"] if event["event"] == "metrics"]
    assert metrics and metrics[-1]["loss"] is None and metrics[-1]["val_loss"] is None
    for line in client.get(f"/jobs/{job['id']}/events").get_data(as_text=True).splitlines():
        if line.startswith("data: "):
            strict_json(line[6:])
    for line in (tmp_path / "model" / "metrics.jsonl").read_text().splitlines():
        assert strict_json(line)["val_loss"] is None


# --- 6. a model loading does not block the server ---------------------------------------------------

def test_health_and_loaded_models_answer_while_a_model_loads(make_app, serve, tmp_path):
    gate = threading.Event()
    generator = FakeGenerator()

    def slow_factory(path):
        if path.name == "gpu":
            assert gate.wait(20), "never released"
        return generator

    app = make_app(models=("cpu", "gpu"), GENERATION_FACTORY=slow_factory)
    port = serve(app)
    assert fetch(port, "POST", "/api/generate", {**GENERATE, "model": "cpu"})[0] == 200
    loading = threading.Thread(target=fetch, args=(port, "POST", "/api/generate", {**GENERATE, "model": "gpu"}),
                               kwargs={"timeout": 30})
    loading.start()
    try:
        time.sleep(0.3)                                     # the gpu model is loading now
        started = time.monotonic()
        status, _, body = fetch(port, "GET", "/health", timeout=5)
        assert status == 200 and strict_json(body)["models_loaded"] == ["cpu"]
        assert fetch(port, "POST", "/api/generate", {**GENERATE, "model": "cpu"}, timeout=5)[0] == 200
        assert time.monotonic() - started < 3
    finally:
        gate.set()
        loading.join(30)
    assert strict_json(fetch(port, "GET", "/health")[2])["models_loaded"] == ["cpu", "gpu"]


# --- 7. learners' work is never lost -------------------------------------------------------------

def test_two_resets_in_one_second_keep_both_versions(workshop_env, monkeypatch):
    monkeypatch.setattr(exercises.time, "strftime", lambda *args: "20260101-120000")
    learner = workshop_env["learner"]
    names = []
    for attempt in ("# first attempt\n", "# second attempt\n", "# third attempt\n"):
        learner.write_text(attempt)
        names.append(exercises.reset_to_stub(1))
    assert len(set(names)) == 3
    assert [(learner.parent / name).read_text() for name in names] == [
        "# first attempt\n", "# second attempt\n", "# third attempt\n"]


def test_sync_leaves_a_learner_s_file_alone_unless_forced(workshop_env, capsys):
    from aurore import cli

    learner = workshop_env["learner"]
    learner.write_text("# my work\n")
    assert cli.main(["exercises", "sync"]) == 2
    assert learner.read_text() == "# my work\n"
    assert "--force" in capsys.readouterr().err
    assert cli.main(["exercises", "sync", "--force"]) == 0
    assert learner.read_text() == exercises.derive_stub(SOLUTION)
    backups = list(learner.parent.glob("01_fake.*.bak.py"))
    assert [backup.read_text() for backup in backups] == ["# my work\n"]
    learner.unlink()                                       # a missing file is simply written
    assert cli.main(["exercises", "sync"]) == 0 and learner.read_text() == exercises.derive_stub(SOLUTION)
    assert cli.main(["exercises", "sync"]) == 0 and len(list(learner.parent.glob("*.bak.py"))) == 1


# --- 10. headers, cookies, paths ----------------------------------------------------------------------

def test_every_answer_carries_the_security_headers(workshop_env, serve):
    port = serve(workshop_env["make_app"]())
    for path in ("/", "/exercises/1", "/generate", "/info", "/static/js/writers.js", "/nowhere"):
        _, headers, _ = fetch(port, "GET", path)
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
    _, headers, _ = fetch(port, "GET", "/", host=FOREIGN)
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_pages_need_no_inline_script_or_style(workshop_env):
    """The CSP forbids inline scripts, styles and handlers: the pages must not use any."""
    import re

    client = workshop_env["make_app"]().test_client()
    for path in ("/", "/exercises", "/exercises/1", "/run", "/environment", "/generate"):
        page = client.get(path).get_data(as_text=True)
        for tag in re.findall(r"<script\b[^>]*>", page):
            assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
        assert not re.search(r"<[^>]+\s(style|on[a-z]+)\s*=", page), path
        assert "<style" not in page, path


def test_cookie_names_carry_the_port(workshop_env, serve):
    port = serve(workshop_env["make_app"]())
    _, headers, _ = fetch(port, "GET", "/", host=f"localhost:{port}")
    assert headers["Set-Cookie"].startswith(f"session_{port}=")
    other = serve(workshop_env["make_app"]())
    _, headers, _ = fetch(other, "GET", "/", host=f"localhost:{other}")
    assert headers["Set-Cookie"].startswith(f"session_{other}=")


def test_public_errors_show_no_server_folder(make_app, tmp_path):
    def broken(path):
        raise AuroreError(f"The model in {path} cannot be loaded (tokenizer.json is damaged).")

    public = make_app(PUBLIC=True, GENERATION_FACTORY=broken).test_client()
    for answer in (public.post("/api/generate", json=GENERATE), public.get("/info")):
        text = answer.get_data(as_text=True)
        assert answer.status_code == 503 and str(tmp_path) not in text and "damaged" in text
    workshop = make_app(GENERATION_FACTORY=broken).test_client()
    assert str(tmp_path) in workshop.post("/api/generate", json=GENERATE).get_data(as_text=True)


# --- 11. behind a reverse proxy (--proxy N) ---------------------------------------------------------

ALICE, BOB = "203.0.113.5", "198.51.100.7"          # two clients on the internet, behind the proxy


def through_proxy(client: str | None, **headers) -> dict:
    """What the test client sends as the proxy on 127.0.0.1: X-Forwarded-For naming `client` (None: no header)."""
    forwarded = {"X-Forwarded-For": client} if client else {}
    return {"environ_base": {"REMOTE_ADDR": "127.0.0.1"}, "headers": {"Host": "127.0.0.1:5000", **forwarded,
                                                                       **headers}}


def test_without_proxy_forged_forwarded_headers_change_nothing(monkeypatch, tmp_path, make_app):
    monkeypatch.setenv("AURORE_DATA", str(tmp_path))
    workshop = command_line(monkeypatch)["app"].test_client()
    assert workshop.get("/info", **through_proxy(ALICE)).status_code == 200          # still this machine
    assert workshop.get("/info", **through_proxy(ALICE, **{"X-Forwarded-Host": FOREIGN})).status_code == 200
    assert workshop.get("/info", environ_base={"REMOTE_ADDR": ALICE},
                        headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 403
    assert workshop.get("/info", headers={"Host": FOREIGN, "X-Forwarded-Host": "localhost"}).status_code == 403
    public = make_app(PUBLIC=True, RATE_LIMIT_PER_MINUTE=60, RATE_LIMIT_BURST=1).test_client()
    assert public.post("/api/generate", json=GENERATE, headers={"X-Forwarded-For": ALICE}).status_code == 200
    refused = public.post("/api/generate", json=GENERATE, headers={"X-Forwarded-For": BOB})
    assert refused.status_code == 429                           # one address, one limit, whatever it claims


def test_behind_one_proxy_each_client_has_its_own_limits(make_app, serve):
    app = make_app(FakeGenerator(step_delay=0.05), PUBLIC=True, PROXY_HOPS=1, RATE_LIMIT_PER_MINUTE=60,
                   RATE_LIMIT_BURST=2, MAX_IN_FLIGHT_PER_CLIENT=1)
    port = serve(app, proxy_hops=1)                     # waitress keeps the X-Forwarded-* headers, as with --proxy
    alice, bob = {"X-Forwarded-For": ALICE}, {"X-Forwarded-For": BOB}

    def refusal(headers):
        status, _, body = fetch(port, "POST", "/api/generate", GENERATE, headers=headers)
        return status == 429 and strict_json(body)["error"]["code"]

    assert [fetch(port, "POST", "/api/generate", GENERATE, headers=bob)[0] for _ in range(2)] == [200, 200]
    assert refusal(bob) == "rate_limited"                                       # Bob's burst of 2 is spent…
    assert fetch(port, "POST", "/api/generate", GENERATE, headers=alice)[0] == 200    # …not Alice's
    stream = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    stream.request("POST", "/api/generate/stream", body=json.dumps({"prompt": "a", "max_new_tokens": 500}),
                   headers={"Content-Type": "application/json", **alice})
    response = stream.getresponse()
    try:
        assert response.status == 200 and response.readline().startswith(b"event: start")
        assert refusal(alice) == "too_many_in_flight"                           # her one place is taken…
        assert refusal(bob) == "rate_limited"                                   # …not Bob's
    finally:
        response.close()
        stream.close()


def test_behind_one_proxy_only_a_client_on_this_machine_is_trusted_as_loopback(monkeypatch, tmp_path):
    """The proxy connects from 127.0.0.1 for everyone: the client is the one it names, or nobody."""
    monkeypatch.setenv("AURORE_DATA", str(tmp_path))
    client = command_line(monkeypatch, "--proxy", "1")["app"].test_client()
    assert client.get("/info", **through_proxy(ALICE)).status_code == 403
    assert client.get("/info", **through_proxy(None)).status_code == 403         # a proxy that names no one
    assert client.get("/info", **through_proxy("127.0.0.1")).status_code == 200  # a browser on the server
    assert client.get("/info", **through_proxy("127.0.0.1", **{"X-Forwarded-Host": FOREIGN})).status_code == 403


def test_behind_one_proxy_a_forged_extra_hop_is_not_believed(monkeypatch, tmp_path, make_app):
    """Alice sends X-Forwarded-For herself; the proxy appends her real address: only that last one counts."""
    monkeypatch.setenv("AURORE_DATA", str(tmp_path))
    workshop = command_line(monkeypatch, "--proxy", "1")["app"].test_client()
    assert workshop.get("/info", **through_proxy(f"127.0.0.1, {ALICE}")).status_code == 403
    rebound = through_proxy("127.0.0.1", **{"X-Forwarded-Host": f"localhost, {FOREIGN}"})   # a rebound page
    assert workshop.get("/info", **rebound).status_code == 403
    public = make_app(PUBLIC=True, PROXY_HOPS=1, RATE_LIMIT_PER_MINUTE=60, RATE_LIMIT_BURST=1).test_client()
    assert public.post("/api/generate", json=GENERATE, **through_proxy(f"10.0.0.1, {ALICE}")).status_code == 200
    assert public.post("/api/generate", json=GENERATE, **through_proxy(f"10.0.0.2, {ALICE}")).status_code == 429


def test_the_proxy_option_counts_proxies(monkeypatch, tmp_path):
    monkeypatch.setenv("AURORE_DATA", str(tmp_path))
    alone = command_line(monkeypatch)
    assert alone["app"].config["PROXY_HOPS"] == 0 and alone["clear_untrusted_proxy_headers"] is True
    behind = command_line(monkeypatch, "--proxy", "2")
    assert behind["app"].config["PROXY_HOPS"] == 2 and behind["clear_untrusted_proxy_headers"] is False
    assert command_line(monkeypatch, "--public")["host"] == "0.0.0.0"
    assert command_line(monkeypatch, "--public", "--proxy", "1")["host"] == "127.0.0.1"     # only the proxy reaches it
    with pytest.raises(SystemExit):
        command_line(monkeypatch, "--proxy", "-1")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))


# --- 12. issue 28: what a security review found ----------------------------------------------------

def test_a_busy_port_is_a_clear_error_before_anything_says_running(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("AURORE_DATA", str(tmp_path))
    monkeypatch.setattr(server, "preload", lambda app: pytest.fail("a server that cannot listen loads no model"))
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        assert server.main(["--port", str(port)]) == 1
    finally:
        taken.close()
    out, err = capsys.readouterr()
    assert "running" not in out and "Traceback" not in out + err
    assert f"le port {port} est déjà utilisé" in err and f"port {port} is already in use" in err
    assert f"--port {port + 1}" in err
    assert not (tmp_path / "workshop" / "running-app.json").exists()


def test_every_cookie_is_same_site(workshop_env, serve):
    """Flask's config holds SESSION_COOKIE_SAMESITE (None) from the start: a setdefault left it None."""
    port = serve(workshop_env["make_app"]())
    _, headers, _ = fetch(port, "GET", "/")
    session_cookie = headers["Set-Cookie"]
    assert session_cookie.startswith(f"session_{port}=")
    assert "SameSite=Lax" in session_cookie and "HttpOnly" in session_cookie
    port = serve(workshop_env["make_app"](ACCESS_TOKEN="s3cret"))
    _, headers, _ = fetch(port, "GET", "/?token=s3cret")
    assert all("SameSite=" in cookie for cookie in headers.get_all("Set-Cookie"))


def test_cookies_another_port_captures_open_pages_but_run_no_code(workshop_env, serve):
    """Browsers send a host's cookies to every port: what another port's server gets must not run code.

    The cookie holds a page pass (reading), the token lives in the page's storage for its origin and goes
    in the X-Aurore-Token header, which an action needs.
    """
    port = serve(workshop_env["make_app"](ACCESS_TOKEN="s3cret"))
    _, landing, _ = fetch(port, "GET", "/?token=s3cret")
    page_pass = landing["Set-Cookie"].split(";")[0]
    _, page, body = fetch(port, "GET", "/exercises/1", headers={"Cookie": page_pass})
    session_cookie = page["Set-Cookie"].split(";")[0]
    csrf_value = re.search(rb'name="csrf-token" content="([^"]+)"', body).group(1).decode()
    captured = {"Cookie": f"{page_pass}; {session_cookie}", "X-CSRF-Token": csrf_value}
    assert fetch(port, "GET", "/exercises/1/source", headers=captured)[0] == 200        # reading: yes
    status, _, refusal = fetch(port, "POST", "/exercises/1/check", {}, headers=captured)
    assert status == 403 and b"?token=" in refusal                                      # acting: no
    assert fetch(port, "POST", "/jobs", {"step": "fake", "variant": "solution"}, headers=captured)[0] == 403
    assert fetch(port, "GET", "/", headers={"Cookie": f"aurore_token_{port}=s3cret"})[0] == 403  # not the token
    # The page's own script adds the token: the same request with it gets past the access check.
    status, _, _ = fetch(port, "POST", "/jobs", {"step": "fake", "variant": "solution"},
                         headers={**captured, "X-Aurore-Token": "s3cret"})
    assert status == 201
    # A program's GET of the API with ?token= is redirected (no landing page), with the pass only.
    status, headers, _ = fetch(port, "GET", "/info?token=s3cret")
    assert status == 302 and "s3cret" not in headers["Set-Cookie"]


def test_docs_say_what_a_captured_cookie_gives():
    from aurore import paths

    doc = (paths.ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    other_users = doc.split("**Other users of the same machine.**")[1].split("\n- ")[0]
    assert "every port" in other_users and "never runs code" in other_users
    assert "page pass" in doc and "localStorage" in doc


def test_finished_jobs_leave_memory_and_stay_readable(workshop_env):
    app = workshop_env["make_app"]()
    client = app.test_client()
    headers = csrf(client)
    started = []
    for _ in range(jobs.KEEP_FINISHED + 2):
        answer = client.post("/jobs", json={"step": "fake", "variant": "solution"}, headers=headers)
        assert answer.status_code == 201, answer.get_json()
        started.append(answer.get_json()["id"])
        assert wait_finished(client, started[-1])["status"] == "succeeded"
    runner_ = app.extensions["aurore_jobs"]
    assert set(runner_._jobs) == set(started[-jobs.KEEP_FINISHED:])      # the oldest left memory…
    oldest = client.get(f"/jobs/{started[0]}").get_json()                  # …not the disk
    assert oldest["job"]["status"] == "succeeded" and any(e.get("message") == "done" for e in oldest["events"])
    assert {record["id"] for record in runner_.history(10)} == set(started)


class _BrokenReading(FakeGenerator):
    """A model whose weights fail to read while it writes, naming their file."""

    def __init__(self, folder):
        super().__init__()
        self.folder = folder

    def wait_a_step(self):
        raise RuntimeError(f"cannot read {self.folder}/models/cpu/model.weights.h5")


def test_no_public_answer_shows_a_server_folder_streamed_or_not(make_app, tmp_path):
    public = make_app(_BrokenReading(tmp_path), PUBLIC=True).test_client()
    for path, body in (("/api/generate/stream", {"prompt": "a"}),
                       ("/v1/completions", {"prompt": "a", "stream": True, "model": "cpu"})):
        text = public.post(path, json=body).get_data(as_text=True)
        assert "model.weights.h5" in text and str(tmp_path) not in text, (path, text)
    # No prepared dataset: the memorisation check says so without the folder.
    answer = public.post("/generate/memorisation", json={"text": "Il était une fois"}).get_json()
    assert answer["available"] is False and answer["reason"] and str(tmp_path) not in answer["reason"]
    # The workshop (this machine) keeps the folders: they help the learner.
    workshop = make_app(_BrokenReading(tmp_path)).test_client()
    assert str(tmp_path) in workshop.post("/api/generate/stream", json={"prompt": "a"}).get_data(as_text=True)


NESTED = "[" * 25_000 + "]" * 25_000        # 50 kB: under the 64 KiB body limit


@pytest.mark.parametrize("body", [NESTED, '{"text": ' + NESTED + "}", "{", "\xff", "[1]", ""],
                         ids=["nested", "nested-field", "cut", "latin-1", "array", "empty"])
def test_every_json_body_parse_answers_400_json(workshop_env, body):
    client = workshop_env["make_app"]().test_client()
    headers = {**csrf(client), "Content-Type": "application/json"}
    data = body.encode("latin-1") if body == "\xff" else body
    for path in ("/generate/memorisation", "/jobs", "/generate/compare", "/api/generate"):
        answer = client.post(path, data=data, headers=headers)
        assert answer.status_code == 400 and answer.is_json, (path, answer.status_code, answer.get_data()[:200])
        assert answer.get_json()["error"]["code"] == "malformed_json"


def test_a_json_body_over_the_limit_answers_413_json_everywhere(workshop_env):
    """The pages' scripts read JSON: a body over MAX_CONTENT_LENGTH is a JSON 413 that says the limit, never HTML."""
    client = workshop_env["make_app"]().test_client()
    headers = {**csrf(client), "Content-Type": "application/json", "Accept": "application/json"}
    body = '{"text": "' + "a" * (70 * 1024) + '"}'
    for path in ("/generate/memorisation", "/jobs", "/generate/compare", "/api/generate"):
        answer = client.post(path, data=body, headers=headers)
        assert answer.status_code == 413 and answer.is_json, (path, answer.get_data()[:200])
        message = answer.get_json()["error"]["message"]
        assert "64 Kio" in message or "65536 bytes" in message, (path, message)   # the pages in French, the API


def test_a_backup_is_never_left_truncated(tmp_path):
    """A writer that cannot finish (here: the file-size limit, as a kill would) leaves no half backup."""
    import subprocess

    from aurore import paths

    learner = tmp_path / "exercises"
    learner.mkdir()
    first = exercises.all_exercises()[0]
    (learner / first.filename).write_text("# my work\n" * 30_000)            # 300 kB
    script = ("import resource, signal\n"
              "from aurore.course import exercises\n"
              "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
              "resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))\n"
              "try:\n    exercises.backup(exercises.all_exercises()[0])\n"
              "except OSError as error:\n    print('cut', error.errno)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=paths.ROOT, capture_output=True, text=True,
                          env={**__import__("os").environ, "AURORE_EXERCISES": str(learner)}, timeout=120)
    assert "cut" in done.stdout, done.stderr
    assert sorted(path.name for path in learner.iterdir()) == [first.filename]   # no .bak.py, no .part


@pytest.mark.parametrize("mode", [0o644, 0o664, 0o600])
def test_a_reset_keeps_the_file_s_mode_and_its_backup_is_whole(workshop_env, mode):
    learner = workshop_env["learner"]
    learner.write_text("# my work\n")
    learner.chmod(mode)
    saved = exercises.reset_to_stub(1)
    assert learner.stat().st_mode & 0o777 == mode
    assert learner.read_text() == exercises.derive_stub(SOLUTION)
    assert (learner.parent / saved).read_text() == "# my work\n"
    assert (learner.parent / saved).stat().st_mode & 0o777 == mode
    assert not list(learner.parent.glob(".*.part"))


def test_stale_part_files_are_cleaned_at_start(workshop_env, monkeypatch):
    import os

    folder = workshop_env["learner"].parent
    stale, fresh = folder / ".01_fake.py.abc123.part", folder / ".01_fake.py.def456.part"
    for part in (stale, fresh):
        part.write_text("half a file")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    command_line(monkeypatch)
    assert not stale.exists() and fresh.exists()                # a write in progress is left alone
    assert workshop_env["learner"].exists()


def test_the_token_comes_from_a_file_or_the_environment_not_the_command_line(monkeypatch, tmp_path):
    import os

    monkeypatch.setenv("AURORE_DATA", str(tmp_path))
    monkeypatch.setenv("AURORE_TOKEN", "from-the-environment")
    app = command_line(monkeypatch)["app"]
    assert app.config["ACCESS_TOKEN"] == "from-the-environment"
    assert "AURORE_TOKEN" not in os.environ            # the steps and checks it starts do not inherit it
    token_file = tmp_path / "token"
    token_file.write_text("from-a-file\n")
    token_file.chmod(0o600)
    assert command_line(monkeypatch, "--token-file", str(token_file))["app"].config["ACCESS_TOKEN"] == "from-a-file"
    monkeypatch.setenv("AURORE_TOKEN", "auto")
    made = command_line(monkeypatch)["app"].config["ACCESS_TOKEN"]
    assert made and made != "auto"
    for missing in (tmp_path / "nowhere", tmp_path):
        with pytest.raises(SystemExit):
            command_line(monkeypatch, "--token-file", str(missing))


def _slow_client(port: int, source: str = "127.0.0.1") -> socket.socket:
    """A connection that sends half a request and no more (slowloris)."""
    sock = socket.socket()
    sock.settimeout(10)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow: 1\r\n".encode())
    return sock


def test_one_address_holding_many_connections_does_not_hold_the_server(make_app):
    """150 half-sent requests from one address: waitress alone stops accepting at 100 connections."""
    live = server.create_server(make_app(PUBLIC=True), "127.0.0.1", 0, server.CONNECTIONS_PER_ADDRESS,
                                **waitress_options(8))
    threading.Thread(target=live.run, daemon=True).start()
    port = int(live.effective_port)
    slow = []
    try:
        for _ in range(150):
            try:
                slow.append(_slow_client(port))
            except OSError:
                break
        closed, deadline = set(), time.monotonic() + 30
        while len(closed) < len(slow) - server.CONNECTIONS_PER_ADDRESS and time.monotonic() < deadline:
            for sock in slow:
                if sock in closed:
                    continue
                sock.settimeout(0.02)
                try:
                    if sock.recv(1) == b"":
                        closed.add(sock)
                except ConnectionResetError:        # closed with our unread request in its buffer
                    closed.add(sock)
                except (TimeoutError, OSError):
                    pass
        assert len(slow) - len(closed) == server.CONNECTIONS_PER_ADDRESS   # the first 20 are kept
        other = _slow_client(port, source="127.0.0.2")                # another client is served
        other.sendall(b"\r\n")
        assert other.recv(4096).startswith(b"HTTP/1.1 200")
        other.close()
    finally:
        for sock in slow:
            sock.close()
        live.close()


def test_the_command_line_limits_connections_per_address_in_public_mode_only(monkeypatch, tmp_path):
    monkeypatch.setenv("AURORE_DATA", str(tmp_path))
    seen = {}
    monkeypatch.setattr(server, "create_server",
                        lambda app, host, port, per_address=0, **options: (seen.update(per_address=per_address,
                                                                                        **options), FakeLive({}))[1])
    monkeypatch.setattr(server, "preload", lambda app: None)
    for argv, expected in ((["--public"], server.CONNECTIONS_PER_ADDRESS), (["--public", "--max-connections", "5"], 5),
                           (["--public", "--proxy", "1"], 0), ([], 0)):
        server.main(argv)
        assert seen["per_address"] == expected, argv
        assert seen["connection_limit"] >= 1000 and seen["asyncore_use_poll"]


def test_the_check_command_uses_the_running_app_s_worker(workshop_env, serve, capsys):
    """`python -m aurore check N` posts to the app named by its 0600 discovery file, with the file's key."""
    from aurore import cli
    from aurore.course.checks import running_app
    from aurore.web.workshop import learner_progress

    data = workshop_env["data"]
    workshop_env["learner"].write_text(SOLUTION)
    port = serve(workshop_env["make_app"](LOCAL_KEY="k" * 43, ACCESS_TOKEN="s3cret"))
    path = running_app.announce(data, f"http://127.0.0.1:{port}/", "k" * 43)
    assert path.stat().st_mode & 0o777 == 0o600
    assert cli.main(["check", "1"]) == 0
    out, err = capsys.readouterr()
    assert "1 passed" in out and "without the app" not in err
    assert learner_progress.was_checked(str(data), 1)           # the app ran it: its record says so
    # Without the key (a page of another site, another user): no check.
    assert fetch(port, "POST", "/exercises/1/check", headers={running_app.KEY_HEADER: "wrong"})[0] == 403
    # An app that is gone: the check runs here, and says how to get the fast path.
    running_app.withdraw(data)
    assert running_app.read(data) is None
    path.write_text('{"url": "http://127.0.0.1:9/", "pid": 999999999, "key": "x"}')
    assert running_app.read(data) is None
    assert cli.main(["check", "1"]) == 0
    assert "python app.py" in capsys.readouterr().err


def test_the_server_announces_itself_while_it_runs_and_not_after(monkeypatch, tmp_path):
    from aurore.course.checks import running_app

    monkeypatch.setenv("AURORE_DATA", str(tmp_path))
    seen = {}

    class Live(FakeLive):
        def run(self):
            seen.update(running_app.read(tmp_path) or {})

    monkeypatch.setattr(waitress, "create_server", lambda app, **options: Live({}, **options))
    monkeypatch.setattr(server, "preload", lambda app: None)
    server.main(["--port", "8125"])
    assert seen["url"] == "http://127.0.0.1:8125/" and seen["key"]
    assert not running_app.file_path(tmp_path).exists()
    server.main(["--public", "--port", "8125"])             # no workshop: nothing to announce
    assert not running_app.file_path(tmp_path).exists()


def test_the_check_command_imports_neither_tensorflow_nor_nltk():
    """Through the running app a check answers in a second or two: the command must not spend them importing."""
    import subprocess

    from aurore import paths

    script = ("import sys\nfrom aurore import cli\ncli.build_parser(['check', '1'])\n"
              "print(sorted(name for name in ('tensorflow', 'nltk', 'keras') if name in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=paths.ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
