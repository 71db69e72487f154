"""The generation API's contract: validation, streaming, OpenAI shape, queueing, public mode.

Most tests drive the app with a fake generator (tests/fake_generator.py) so
they are fast and exact; the last ones run the real tiny model end to end.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import pytest
import waitress

from aurore.web import create_app
from aurore.web.server import waitress_options
from aurore.web.writers.rate_limit import RateLimiter
from tests.fake_generator import FakeGenerator, fake_factory, fake_params, make_fake_model_dirs, wait_until
from tests.tiny_model import tiny_model_dir  # noqa: F401  (fixture)


@pytest.fixture
def make_app(tmp_path):
    """create_app with a fake generator for every model directory; closes the services after."""
    apps = []

    def make(generator=None, models=("cpu",), **config):
        generator = generator or FakeGenerator()
        if models:
            make_fake_model_dirs(tmp_path / "models", models)
        app = create_app({"DATA_DIR": str(tmp_path), "TESTING": True, "GENERATION_FACTORY": fake_factory(generator),
                          **config})
        app.fake = generator
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["aurore_generation"].close()


@pytest.fixture
def client(make_app):
    return make_app().test_client()


class FakeLive:
    """What server.main gets from waitress.create_server in tests: it records the options and serves nothing."""

    effective_port = 8123

    def __init__(self, calls: dict, **options):
        calls.update(options)
        self.effective_port = options.get("port") or FakeLive.effective_port

    def run(self):
        pass

    def close(self):
        pass


def error_of(response, status, field=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json, response.content_type
    error = response.get_json()["error"]
    assert error["message"]
    if field is not None:
        assert error["field"] == field and error["param"] == field
        assert error.get("allowed"), "a field error says what is allowed"
    return error


def events_of(text: str) -> list[tuple[str, object]]:
    """Parse a server-sent-events body into (event, data) pairs (comments skipped)."""
    events = []
    for block in text.split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        if not lines:
            continue
        event, data = "message", []
        for line in lines:
            name, _, value = line.partition(": ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
        payload = "\n".join(data)
        events.append((event, payload if payload == "[DONE]" else json.loads(payload)))
    return events


# --- validation: every bad input gets a JSON error naming the field -----------------------

BAD_FIELDS = [
    ({"prompt": ""}, "prompt", "blank"),
    ({"prompt": "   \n\t "}, "prompt", "blank"),
    ({}, "prompt", "missing"),
    ({"prompt": 42}, "prompt", "wrong_type"),
    ({"prompt": None}, "prompt", "wrong_type"),
    ({"prompt": ["Il était"]}, "prompt", "wrong_type"),
    ({"prompt": "é" * 5000}, "prompt", "too_long"),                 # 10 000 bytes
    ({"prompt": "a", "max_new_tokens": 0}, "max_new_tokens", "out_of_range"),
    ({"prompt": "a", "max_new_tokens": 100_000}, "max_new_tokens", "out_of_range"),
    ({"prompt": "a", "max_new_tokens": "10"}, "max_new_tokens", "wrong_type"),
    ({"prompt": "a", "max_new_tokens": 10.5}, "max_new_tokens", "wrong_type"),
    ({"prompt": "a", "max_new_tokens": True}, "max_new_tokens", "wrong_type"),
    ({"prompt": "a", "max_new_tokens": None}, "max_new_tokens", "wrong_type"),
    ({"prompt": "a", "temperature": 0}, "temperature", "out_of_range"),
    ({"prompt": "a", "temperature": -0.5}, "temperature", "out_of_range"),
    ({"prompt": "a", "temperature": 9}, "temperature", "out_of_range"),
    ({"prompt": "a", "temperature": "chaud"}, "temperature", "wrong_type"),
    ({"prompt": "a", "temperature": False}, "temperature", "wrong_type"),
    ({"prompt": "a", "top_p": 0}, "top_p", "out_of_range"),
    ({"prompt": "a", "top_p": 1.01}, "top_p", "out_of_range"),
    ({"prompt": "a", "top_k": 0}, "top_k", "out_of_range"),
    ({"prompt": "a", "top_k": 2.5}, "top_k", "wrong_type"),
    ({"prompt": "a", "top_k": True}, "top_k", "wrong_type"),
    ({"prompt": "a", "seed": -1}, "seed", "out_of_range"),
    ({"prompt": "a", "seed": 2**64}, "seed", "out_of_range"),
    ({"prompt": "a", "seed": "42"}, "seed", "wrong_type"),
    ({"prompt": "a", "strategy": "beam"}, "strategy", "invalid_value"),
    ({"prompt": "a", "stop_at_sentence_end": "yes"}, "stop_at_sentence_end", "wrong_type"),
    ({"prompt": "a", "stop": [""]}, "stop", "out_of_range"),
    ({"prompt": "a", "stop": ["."] * 5}, "stop", "out_of_range"),
    ({"prompt": "a", "stop": 5}, "stop", "wrong_type"),
    ({"prompt": "a", "model": 3}, "model", "wrong_type"),
    ({"prompt": "a", "temprature": 0.5}, "temprature", "unknown_field"),
]


@pytest.mark.parametrize("path", ["/api/generate", "/api/generate/stream"])
@pytest.mark.parametrize("body,field,code", BAD_FIELDS, ids=[f"{f}-{c}-{i}" for i, (_, f, c) in enumerate(BAD_FIELDS)])
def test_bad_fields_get_422_naming_the_field_and_the_allowed_range(client, path, body, field, code):
    error = error_of(client.post(path, json=body), 422, field)
    assert error["code"] == code


@pytest.mark.parametrize("raw", [
    b'{"prompt": "a", "temperature": 1e999}',          # Infinity by overflow
])
def test_infinite_numbers_are_out_of_range(client, raw):
    error_of(client.post("/api/generate", data=raw, content_type="application/json"), 422, "temperature")


def test_an_unpaired_surrogate_is_refused_not_crashed_on(client):
    error = error_of(client.post("/api/generate", data=b'{"prompt": "a\\ud800b"}', content_type="application/json"),
                     422, "prompt")
    assert error["code"] == "invalid_unicode"


def test_a_prompt_longer_than_the_model_context_is_refused_in_tokens(client):
    # the fake model reads 64 tokens (one per word); the prompt needs room for one new token
    error = error_of(client.post("/api/generate", json={"prompt": "mot " * 64}), 422, "prompt")
    assert error["code"] == "too_many_tokens"
    assert "63" in error["allowed"]
    assert client.post("/api/generate", json={"prompt": "mot " * 63, "max_new_tokens": 1}).status_code == 200


@pytest.mark.parametrize("raw", [b"{", b"", b"   ", b"[1, 2]", b'"prompt"', b"\xff\xfe{}", b'{"prompt": NaN}',
                                 b'{"prompt": "a", "temperature": NaN}', b"[" * 100_00])
def test_malformed_json_is_a_400_in_json(client, raw):
    error_of(client.post("/api/generate", data=raw, content_type="application/json"), 400)


def test_a_body_too_large_is_a_413_in_json(client):
    body = json.dumps({"prompt": "a" * (70 * 1024)}).encode()
    error = error_of(client.post("/api/generate", data=body, content_type="application/json"), 413)
    assert "65536" in error["message"]


@pytest.mark.parametrize("method,path,status", [
    ("get", "/api/nowhere", 404), ("post", "/v1/chat/nothing", 404), ("get", "/api/generate", 405),
    ("get", "/v1/completions", 405), ("delete", "/api/generate/stream", 405),
])
def test_unknown_endpoints_and_methods_answer_json(client, method, path, status):
    response = getattr(client, method)(path)
    error_of(response, status)
    if status == 405:
        assert "POST" in response.headers["Allow"]


def test_an_unexpected_server_failure_is_a_500_in_json(make_app):
    def broken_factory(model_dir):
        raise RuntimeError("disk on fire")

    app = make_app()
    app.extensions["aurore_generation"].factory = broken_factory
    error = error_of(app.test_client().post("/api/generate", json={"prompt": "a"}), 500)
    assert "disk on fire" not in error["message"]        # details stay in the log


def test_a_generator_failure_is_json_for_whole_texts_and_an_event_for_streams(make_app):
    client = make_app(FakeGenerator(fail=True)).test_client()
    error_of(client.post("/api/generate", json={"prompt": "a"}), 500)
    events = events_of(client.post("/api/generate/stream", json={"prompt": "a"}).get_data(as_text=True))
    assert events[-1][0] == "error" and events[-1][1]["error"]["code"] == "generation_failed"


def test_no_trained_model_is_a_clear_503(make_app):
    client = make_app(models=()).test_client()
    error = error_of(client.post("/api/generate", json={"prompt": "a"}), 503)
    assert "python -m aurore train" in error["message"]
    assert client.get("/info").get_json()["model"] is None


def test_an_unknown_model_is_refused_with_the_available_ones(make_app):
    client = make_app(models=("cpu", "gpu")).test_client()
    error = error_of(client.post("/api/generate", json={"prompt": "a", "model": "../../etc"}), 422, "model")
    assert "cpu" in error["allowed"] and "gpu" in error["allowed"]
    assert client.post("/api/generate", json={"prompt": "a", "model": "gpu"}).get_json()["model"] == "gpu"


@pytest.mark.parametrize("prompt", ["🌙🌹 la lune", "שלום עולם", "\x00\x01\x1b[31m", "\u202e\u200b\ufeff", "é\r\n\t",
                                    "𝔄𝔲𝔯𝔬𝔯𝔢", "مرحبا"])
def test_any_unicode_prompt_is_handled(client, prompt):
    response = client.post("/api/generate", json={"prompt": prompt, "max_new_tokens": 7})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["text"] == "Il était une fois 🌙 עברית « nuit » "
    stream = client.post("/api/generate/stream", json={"prompt": prompt, "max_new_tokens": 7})
    assert "".join(d["text"] for e, d in events_of(stream.get_data(as_text=True)) if e == "message") \
        == "Il était une fois 🌙 עברית « nuit » "


# --- what a good request gets ----------------------------------------------------------------

def test_generate_returns_text_token_counts_model_and_timing(make_app):
    client = make_app(FakeGenerator(step_delay=0.02)).test_client()
    body = client.post("/api/generate", json={"prompt": "La nuit était", "max_new_tokens": 3}).get_json()
    assert body["text"] == "Il était une "
    assert body["new_tokens"] == 3 and body["prompt_tokens"] == 3
    assert body["model"] == "cpu" and body["finish_reason"] == "length"
    # Three steps of at least 0.02 s each; the time queued is part of the whole.
    assert body["seconds"] >= 0.06 - 1e-3 and 0 <= body["queued_seconds"] <= body["seconds"]


def test_the_settings_reach_the_generator(client, make_app):
    app = make_app()
    app.test_client().post("/api/generate", json={"prompt": "a", "max_new_tokens": 2, "strategy": "top_k",
                                                  "temperature": 1.2, "top_k": 7, "top_p": 0.5, "seed": 9,
                                                  "stop_at_sentence_end": True, "stop": "\n"})
    params = app.fake.params_seen[-1]
    assert (params.max_new_tokens, params.strategy, params.temperature, params.top_k, params.top_p, params.seed,
            params.stop_at_sentence_end, params.stop) == (2, "top_k", 1.2, 7, 0.5, 9, True, ("\n",))


def test_the_stream_sends_start_then_pieces_in_order_then_done(client):
    response = client.post("/api/generate/stream", json={"prompt": "La nuit", "max_new_tokens": 5})
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    events = events_of(response.get_data(as_text=True))
    assert events[0][0] == "start" and events[0][1]["model"] == "cpu"
    pieces = [d["text"] for e, d in events[1:-1]]
    assert "".join(pieces) == "Il était une fois 🌙 " and all(pieces)   # tokens that came together: one event
    assert {e for e, _ in events[1:-1]} == {"message"}
    last_event, done = events[-1]
    assert last_event == "done"
    assert done["finish_reason"] == "length" and done["new_tokens"] == 5
    whole = client.post("/api/generate", json={"prompt": "La nuit", "max_new_tokens": 5}).get_json()["text"]
    assert "".join(d["text"] for e, d in events[1:-1]) == whole


def test_a_stop_string_ends_with_reason_stop(client):
    event, done = events_of(client.post("/api/generate/stream", json={"prompt": "a", "stop": ["fois"]})
                            .get_data(as_text=True))[-1]
    assert event == "done" and done["finish_reason"] == "stop"


# --- OpenAI-compatible completions ---------------------------------------------------------------

def test_completions_have_openai_s_shape(client):
    body = client.post("/v1/completions", json={"model": "cpu", "prompt": "La nuit", "max_tokens": 4,
                                                "temperature": 0.7, "top_p": 0.9, "seed": 3, "stop": None,
                                                "n": 1, "stream": False, "logprobs": None, "echo": False,
                                                "presence_penalty": 0, "frequency_penalty": 0, "user": "moi"}).get_json()
    assert set(body) == {"id", "object", "created", "model", "choices", "usage"}
    assert body["id"].startswith("cmpl-") and body["object"] == "text_completion"
    assert isinstance(body["created"], int) and body["model"] == "cpu"
    assert body["choices"] == [{"text": "Il était une fois ", "index": 0, "logprobs": None, "finish_reason": "length"}]
    assert body["usage"] == {"prompt_tokens": 2, "completion_tokens": 4, "total_tokens": 6}


def test_completions_use_openai_defaults_and_temperature_zero_is_greedy(make_app):
    app = make_app()
    client = app.test_client()
    body = client.post("/v1/completions", json={"prompt": ["La nuit"]}).get_json()   # a list of one prompt
    assert body["usage"]["completion_tokens"] == 16                                   # OpenAI's default
    params = app.fake.params_seen[-1]
    assert (params.strategy, params.temperature, params.top_p) == ("top_p", 1.0, 1.0)
    client.post("/v1/completions", json={"prompt": "a", "temperature": 0})
    assert app.fake.params_seen[-1].strategy == "greedy"
    client.post("/v1/completions", json={"prompt": "a", "top_k": 5, "temperature": 0.5})
    assert (app.fake.params_seen[-1].strategy, app.fake.params_seen[-1].top_k) == ("top_k", 5)


def test_completions_stream_chunks_then_done(client):
    response = client.post("/v1/completions", json={"prompt": "a", "max_tokens": 3, "stream": True,
                                                    "stream_options": {"include_usage": True}})
    events = events_of(response.get_data(as_text=True))
    assert events[-1] == ("message", "[DONE]")
    chunks = [data for _, data in events[:-1]]
    assert all(c["object"] == "text_completion" and c["id"] == chunks[0]["id"] for c in chunks)
    texts = [c["choices"][0] for c in chunks if c["choices"]]
    assert "".join(t["text"] for t in texts) == "Il était une " and all(t["text"] for t in texts[:-1])
    assert [t["finish_reason"] for t in texts] == [None] * (len(texts) - 1) + ["length"] and texts[-1]["text"] == ""
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 3


@pytest.mark.parametrize("body,field", [
    ({"prompt": "a", "n": 2}, "n"), ({"prompt": "a", "echo": True}, "echo"), ({"prompt": "a", "logprobs": 5}, "logprobs"),
    ({"prompt": "a", "best_of": 3}, "best_of"), ({"prompt": [1, 2, 3]}, "prompt"), ({"prompt": ["a", "b"]}, "prompt"),
    ({"prompt": "a", "temperature": -1}, "temperature"), ({"prompt": "a", "max_tokens": 0}, "max_tokens"),
    ({"prompt": "a", "stream": "yes"}, "stream"), ({"prompt": "a", "presence_penalty": 1.5}, "presence_penalty"),
    ({"prompt": "a", "functions": []}, "functions"), ({"prompt": "a", "logit_bias": {"1": 5}}, "logit_bias"),
])
def test_completions_refuse_what_they_cannot_do(client, body, field):
    error_of(client.post("/v1/completions", json=body), 422, field)


def test_models_health_and_info(make_app):
    client = make_app(models=("cpu", "gpu")).test_client()
    assert [m["id"] for m in client.get("/v1/models").get_json()["data"]] == ["cpu", "gpu"]
    assert client.get("/health").get_json()["status"] == "ok"
    info = client.get("/info").get_json()
    assert info["model"] == "cpu" and info["models"] == ["cpu", "gpu"]
    assert info["max_context"] == 64 and info["limits"]["prompt_tokens"] == 63
    assert info["limits"]["max_new_tokens"]["max"] >= 100 and info["limits"]["queue"] == 64
    assert client.get("/health").get_json()["models_loaded"] == ["cpu"]
    assert info["serving"]["scheduler"] == "continuous" and info["serving"]["sampler"] == "compiled"


@pytest.mark.parametrize("config, serving", [
    ({"GENERATION_SAMPLER": "exercise"}, ("continuous", "exercise 6")),
    ({"GENERATION_BATCHING": "static"}, ("static", "exercise 6")),
    ({"GENERATION_BATCHING": False}, ("one at a time", "exercise 6"))])
def test_info_says_who_chooses_the_tokens(make_app, config, serving):
    app = make_app(**config)
    info = app.test_client().get("/info").get_json()["serving"]
    assert (info["scheduler"], info["sampler"]) == serving
    service = app.extensions["aurore_generation"].get()
    assert service.scheduler == serving[0]
    assert service.submit("a", fake_params(max_new_tokens=2)).result().text == "Il était "
    if serving[0] == "continuous":                      # the batch was made with the sampler /info names
        assert app.fake.sampler == ("exercise" if serving[1] == "exercise 6" else "compiled")


def metric(text: str, name: str, model: str = "cpu") -> float:
    """One sample of the Prometheus text, e.g. metric(text, "aurore_generated_tokens_total")."""
    for line in text.splitlines():
        if line.startswith(name + "{") and f'model="{model}"' in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def test_metrics_count_tokens_and_time_the_first_one(make_app):
    client = make_app().test_client()
    empty = client.get("/metrics")
    assert empty.status_code == 200 and empty.content_type.startswith("text/plain")
    assert "# TYPE aurore_generated_tokens_total counter" in empty.get_data(as_text=True)
    for tokens in (3, 4):
        assert client.post("/api/generate", json={"prompt": "a", "max_new_tokens": tokens}).status_code == 200
    text = client.get("/metrics").get_data(as_text=True)
    assert metric(text, "aurore_generated_tokens_total") == 7
    assert metric(text, "aurore_time_to_first_token_seconds_count") == 2
    assert metric(text, "aurore_time_per_token_seconds_count") == 5          # the tokens after each first
    assert metric(text, "aurore_queue_waiting") == 0 and metric(text, "aurore_running_rows") == 0
    assert metric(text, "aurore_queue_capacity") == 64


def test_metrics_show_the_queue_while_requests_wait(make_app):
    ticks = threading.Semaphore(0)
    app = make_app(FakeGenerator(ticks=ticks), GENERATION_MAX_BATCH=1)
    client = app.test_client()
    running = client.post("/api/generate/stream", json={"prompt": "a", "max_new_tokens": 50}, buffered=False)
    waiting = client.post("/api/generate/stream", json={"prompt": "b", "max_new_tokens": 2}, buffered=False)
    ticks.release()
    assert wait_until(lambda: metric(client.get("/metrics").get_data(as_text=True), "aurore_running_rows") == 1)
    text = client.get("/metrics").get_data(as_text=True)
    assert metric(text, "aurore_queue_waiting") == 1 and metric(text, "aurore_admitted_requests") == 2
    running.close(), waiting.close()
    for _ in range(100):
        ticks.release()


# --- concurrency: queue full, disconnects --------------------------------------------------------

def test_a_full_queue_answers_429_with_retry_after_and_closing_frees_the_places(make_app):
    gate = threading.Event()
    app = make_app(FakeGenerator(gate=gate), GENERATION_QUEUE=2)
    client = app.test_client()
    held = [client.post("/api/generate/stream", json={"prompt": "a", "max_new_tokens": 500}, buffered=False)
            for _ in range(2)]
    assert all(r.status_code == 200 for r in held)
    refused = client.post("/api/generate/stream", json={"prompt": "a"})
    error = error_of(refused, 429)
    assert error["code"] == "queue_full"
    assert int(refused.headers["Retry-After"]) >= 1
    error_of(client.post("/v1/completions", json={"prompt": "a"}), 429)
    for response in held:                 # the clients hang up
        response.close()
    service = app.extensions["aurore_generation"].get()
    assert service.load()["admitted"] == 0
    gate.set()
    assert client.post("/api/generate", json={"prompt": "a", "max_new_tokens": 1}).status_code == 200


@pytest.fixture
def live(make_app):
    """A real waitress server on a free 127.0.0.1 port (sockets: real disconnects)."""
    servers = []

    def start(app):
        server = waitress.create_server(app, host="127.0.0.1", port=0, **waitress_options(8))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append(server)
        return server.effective_port

    yield start
    for server in servers:
        server.close()


def raw_post(port, path, body) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    data = json.dumps(body).encode()
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    return sock


@pytest.mark.parametrize("path", ["/api/generate/stream", "/v1/completions", "/api/generate"])
def test_a_client_that_disconnects_frees_its_place_and_its_row_stops(make_app, live, path):
    generator = FakeGenerator(step_delay=0.01)
    app = make_app(generator, GENERATION_HEARTBEAT=0.05)
    port = live(app)
    body = {"prompt": "a", "max_new_tokens": 1000} if "api" in path else {"prompt": "a", "max_tokens": 1000,
                                                                         "stream": True}
    sock = raw_post(port, path, body)
    service = app.extensions["aurore_generation"].get()
    assert wait_until(lambda: generator.steps_done >= 5)
    sock.close()
    assert wait_until(lambda: service.load()["admitted"] == 0), "the place was not freed"
    assert wait_until(lambda: generator.removed == [0])     # its slot freed, at the next step
    steps = generator.steps_done
    assert steps < 500                           # stopped long before its 1000 tokens
    assert app.test_client().post("/api/generate", json={"prompt": "b", "max_new_tokens": 3}).status_code == 200
    assert generator.steps_done == steps + 2     # the next request ran alone: the row left no step behind


def test_streaming_through_waitress_arrives_piece_by_piece(make_app, live):
    generator = FakeGenerator(step_delay=0.05)
    port = live(make_app(generator))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", "/api/generate/stream", body=json.dumps({"prompt": "a", "max_new_tokens": 20}),
                       headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 200
    started = time.monotonic()
    first = response.readline()                 # the start event arrives before the text is finished
    assert first.startswith(b"event: start") and time.monotonic() - started < 0.5
    rest = response.read().decode()
    pieces = [json.loads(line[len("data: "):])["text"] for line in rest.splitlines()
              if line.startswith("data: {\"text\"")]
    # One event a token, unless the client's thread lagged and sent the pieces that came meanwhile as one
    # (QueuedRequest.pieces): many events either way, and every token's text, in order.
    assert len(pieces) >= 10 and "event: done" in rest, rest
    assert "".join(pieces) == "".join(generator.word(step) for step in range(20))
    connection.close()


# --- public mode and the rate limit ---------------------------------------------------------------

def sample_url(app, rule) -> str:
    """A URL of `rule` with 1 for every variable part (fits int and string converters alike)."""
    return app.url_map.bind("localhost").build(rule.endpoint, {name: 1 for name in rule.arguments})


def test_public_mode_exposes_no_workshop_endpoint(make_app):
    workshop_app = make_app(PUBLIC=False)
    rules = [rule for rule in workshop_app.url_map.iter_rules() if rule.endpoint.startswith("workshop.")]
    assert rules, "the workshop registers endpoints"
    public = make_app(PUBLIC=True, RATE_LIMIT_PER_MINUTE=None).test_client()
    for rule in rules:
        url = sample_url(workshop_app, rule)
        for method in ("get", "post"):
            status = getattr(public, method)(url).status_code
            if url == "/":
                assert status in (302, 405)        # home leads to the writers' page
            else:
                assert status == 404, f"{method.upper()} {url} answered {status} in public mode"
    assert public.get("/").headers["Location"].endswith("/generate")
    assert public.get("/generate").status_code == 200
    assert public.get("/static/js/writers.js").status_code == 200
    assert public.post("/api/generate", json={"prompt": "a", "max_new_tokens": 2}).get_json()["text"] == "Il était "
    assert public.get("/info").get_json()["public"] is True


def test_public_mode_limits_each_client_address(make_app):
    client = make_app(PUBLIC=True, RATE_LIMIT_PER_MINUTE=60, RATE_LIMIT_BURST=2).test_client()
    here = {"REMOTE_ADDR": "203.0.113.5"}
    for _ in range(2):
        assert client.post("/api/generate", json={"prompt": "a", "max_new_tokens": 1},
                           environ_base=here).status_code == 200
    refused = client.post("/api/generate", json={"prompt": "a", "max_new_tokens": 1}, environ_base=here)
    assert error_of(refused, 429)["code"] == "rate_limited"
    assert refused.headers["Retry-After"] == "1"
    error_of(client.post("/v1/completions", json={"prompt": "a"}, environ_base=here), 429)
    other = {"REMOTE_ADDR": "198.51.100.7"}
    assert client.post("/api/generate", json={"prompt": "a", "max_new_tokens": 1},
                       environ_base=other).status_code == 200
    assert client.get("/generate", environ_base=here).status_code == 200     # pages are not limited


def test_public_mode_rate_limit_is_on_by_default(make_app):
    assert make_app(PUBLIC=True).test_client().get("/info").get_json()["limits"]["rate_limit"]["per_minute"] == 30
    assert make_app(PUBLIC=False).test_client().get("/info").get_json()["limits"]["rate_limit"] is None


def test_the_token_bucket_refills_at_its_rate():
    now = [100.0]
    limiter = RateLimiter(rate=0.5, burst=3, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [0, 0, 0]
    assert limiter.take("a") == pytest.approx(2.0)        # one token in 2 s at 0.5/s
    assert limiter.retry_after("a") == 2
    now[0] += 2.0
    assert limiter.take("a") == 0
    assert limiter.take("b") == 0                         # another client has its own bucket
    now[0] += 3600
    limiter.take("c")
    assert set(limiter._buckets) == {"c"}                 # idle full buckets are forgotten


def test_the_public_server_listens_everywhere_with_waitress(monkeypatch):
    from aurore.web import server

    calls = {}
    monkeypatch.setattr(waitress, "create_server", lambda app, **options: FakeLive(calls, app=app, **options))
    monkeypatch.setattr(server, "preload", lambda app: None)
    server.main(["--public", "--port", "8123", "--no-batching"])
    assert calls["host"] == "0.0.0.0" and calls["port"] == 8123
    assert calls["app"].config["PUBLIC"] and not calls["app"].config["GENERATION_BATCHING"]
    assert calls["channel_request_lookahead"] >= 1
    assert not any(rule.endpoint.startswith("workshop.") for rule in calls["app"].url_map.iter_rules())


def test_the_server_sets_tensorflows_threads_only_when_asked(monkeypatch, capsys):
    from aurore.generation import cached_model
    from aurore.web import server

    asked = []
    monkeypatch.setattr(waitress, "create_server", lambda app, **options: FakeLive({}, app=app, **options))
    monkeypatch.setattr(server, "preload", lambda app: None)
    monkeypatch.setattr(cached_model, "limit_threads", asked.append)
    server.main(["--public", "--port", "8123"])
    server.main(["--public", "--port", "8123", "--tf-threads", "1"])
    assert asked == [1]
    with pytest.raises(SystemExit):
        server.main(["--public", "--tf-threads", "-1"])
    assert "--tf-threads is a number of threads" in capsys.readouterr().err


# --- end to end with the real tiny model -----------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_client(tiny_model_dir, tmp_path_factory):  # noqa: F811
    from aurore.store import modeldir

    data = tmp_path_factory.mktemp("data")
    modeldir.copy(tiny_model_dir, data / "models" / "tiny")
    app = create_app({"DATA_DIR": str(data), "TESTING": True})
    yield app.test_client()
    app.extensions["aurore_generation"].close()


def test_the_tiny_model_writes_reproducibly_through_every_endpoint(tiny_client):
    ask = {"prompt": "La nuit était douce", "max_new_tokens": 12, "seed": 7, "strategy": "top_k"}
    first = tiny_client.post("/api/generate", json=ask).get_json()
    assert first["text"] and first["model"] == "tiny" and 1 <= first["new_tokens"] <= 12
    assert tiny_client.post("/api/generate", json=ask).get_json()["text"] == first["text"]
    events = events_of(tiny_client.post("/api/generate/stream", json=ask).get_data(as_text=True))
    assert "".join(d["text"] for e, d in events if e == "message") == first["text"]
    assert events[-1][0] == "done"
    completion = tiny_client.post("/v1/completions", json={"prompt": "La nuit", "max_tokens": 5, "temperature": 0})
    assert completion.get_json()["choices"][0]["finish_reason"] in ("length", "stop")


def test_the_tiny_model_refuses_a_prompt_beyond_its_context(tiny_client):
    error = error_of(tiny_client.post("/api/generate", json={"prompt": "la nuit " * 400}), 422, "prompt")
    assert error["code"] == "too_many_tokens"


def test_the_tiny_model_takes_any_unicode(tiny_client):
    for prompt in ["\x00", "🌙\u202eשלום\x07", "\ufeff\r\n"]:
        ask = {"prompt": prompt, "max_new_tokens": 4, "seed": 3, "strategy": "top_k", "top_k": 5}
        response = tiny_client.post("/api/generate", json=ask)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert body["prompt_tokens"] >= 1 and 1 <= body["new_tokens"] <= 4 and body["text"], body
        assert body["finish_reason"] == ("length" if body["new_tokens"] == 4 else "stop"), body
        assert "\ufffd" not in body["text"]                      # whole characters only
        assert tiny_client.post("/api/generate", json=ask).get_json()["text"] == body["text"]    # the seed holds


def test_the_tiny_model_batches_concurrent_requests_statically(tiny_client):
    # a wide gathering window: the six requests below certainly arrive within it, even on a busy machine
    data = tiny_client.application.config["DATA_DIR"]
    app = create_app({"DATA_DIR": data, "TESTING": True, "GENERATION_BATCH_WINDOW": 1.0, "GENERATION_BATCHING": "static"})
    results = []

    def ask(seed):
        results.append(app.test_client().post("/api/generate", json={"prompt": "Elle", "max_new_tokens": 8,
                                                                    "seed": seed}).get_json())

    try:
        threads = [threading.Thread(target=ask, args=(seed,)) for seed in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(isinstance(r.get("text"), str) and r["model"] == "tiny" for r in results), results
        assert len(results) == 6
        assert app.extensions["aurore_generation"].get().batch_sizes == [6]
    finally:
        app.extensions["aurore_generation"].close()


# --- the writers' page (HTML; the browser tests drive it for real) -----------------------------------

def test_the_writers_page_offers_the_models_in_french_then_english(make_app):
    client = make_app(models=("cpu", "gpu")).test_client()
    page = client.get("/generate").get_data(as_text=True)
    assert "Écrire avec Aurore" in page and '<option value="cpu">' in page and '<option value="gpu">' in page
    assert 'src="/static/js/writers.js"' in page and "http://" not in page and "https://" not in page
    english = client.get("/generate?lang=en").get_data(as_text=True)
    assert "Write with Aurore" in english
    assert '"Copied!": "Copié !"' in page and 'id="aurore-messages">{}<' in english   # writers.js's texts (gettext)


def test_without_a_model_the_page_explains_and_hides_server_paths_in_public(make_app, tmp_path):
    workshop = make_app(models=()).test_client().get("/generate")
    assert workshop.status_code == 200
    assert "python -m aurore train" in workshop.get_data(as_text=True)
    assert str(tmp_path) in workshop.get_data(as_text=True)
    public = make_app(models=(), PUBLIC=True).test_client().get("/generate")
    assert public.status_code == 200
    assert "python -m aurore train" in public.get_data(as_text=True)
    assert str(tmp_path) not in public.get_data(as_text=True)
