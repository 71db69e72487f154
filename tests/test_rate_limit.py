"""Per-client limits of public mode, on a fake clock: the token bucket and the requests in flight.

No sleeping: the clock is a number the test moves. bench/mutation.py runs this
file against mutants of aurore/web/writers/rate_limit.py.
"""

from __future__ import annotations

import json

import pytest
from flask import Flask

from aurore.web.writers.rate_limit import InFlightLimit, RateLimiter, limit_in_flight


class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def takes(limiter: RateLimiter, key: str, n: int) -> list[float]:
    return [limiter.take(key) for _ in range(n)]


@pytest.mark.parametrize("rate, burst", [(0, 1), (-1, 5), (1, 0), (0.5, -3)])
def test_a_limit_that_would_refuse_everything_or_nothing_is_refused(rate, burst):
    with pytest.raises(ValueError, match=r"^rate must be > 0 and burst >= 1$"):
        RateLimiter(rate, burst)


def test_the_smallest_limits_are_accepted():
    clock = Clock()
    limiter = RateLimiter(1e-9, 1, clock=clock)
    assert limiter.take("a") == 0 and limiter.take("a") > 0


def test_a_new_client_gets_the_burst_then_waits_one_token():
    clock = Clock()
    limiter = RateLimiter(rate=0.5, burst=10, clock=clock)       # 30 a minute, bursts of 10
    assert takes(limiter, "a", 10) == [0.0] * 10
    assert limiter.take("a") == pytest.approx(2.0)               # one token at 0.5 a second
    assert limiter.take("a") == pytest.approx(2.0)               # a refusal spends nothing


def test_an_idle_client_gets_the_burst_and_no_more():
    """Idle an hour, then burst + 1: the last one is refused (the bucket never holds more than the burst)."""
    clock = Clock()
    limiter = RateLimiter(rate=0.5, burst=10, clock=clock)
    limiter.take("a")
    clock.now += 3600
    assert takes(limiter, "a", 10) == [0.0] * 10
    assert limiter.take("a") == pytest.approx(2.0)


def test_tokens_come_back_at_the_rate():
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    takes(limiter, "a", 3)
    clock.now += 0.25                                            # half a token
    assert limiter.take("a") == pytest.approx(0.25)
    clock.now += 0.25                                            # now one whole token
    assert limiter.take("a") == 0.0
    assert limiter.take("a") == pytest.approx(0.5)
    clock.now += 1.0                                             # two tokens
    assert takes(limiter, "a", 3)[:2] == [0.0, 0.0]


def test_exactly_one_token_is_enough():
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=1, clock=clock)
    assert limiter.take("a") == 0.0
    clock.now += 1.0
    assert limiter.take("a") == 0.0


def test_clients_are_counted_apart():
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=2, clock=clock)
    takes(limiter, "a", 2)
    assert limiter.take("a") > 0
    assert takes(limiter, "b", 2) == [0.0, 0.0]


def test_retry_after_is_whole_seconds_at_least_one():
    clock = Clock()
    limiter = RateLimiter(rate=0.5, burst=1, clock=clock)
    assert limiter.retry_after("a") == 0
    assert limiter.retry_after("a") == 2                        # 2.0 s exactly
    clock.now += 1.9
    assert limiter.retry_after("a") == 1                        # 0.1 s left: still 1, never 0
    slow = RateLimiter(rate=1 / 7, burst=1, clock=clock)
    slow.take("b")
    clock.now += 0.5
    assert slow.retry_after("b") == 7                           # 6.5 s rounded up


def test_clients_gone_quiet_are_forgotten_and_memory_is_bounded():
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=5, clock=clock, max_clients=1000)
    for n in range(50):
        limiter.take(f"client-{n}")
    assert len(limiter._buckets) == 50
    clock.now += 4.9                                             # not yet full again: remembered
    limiter.take("late")
    assert "client-0" in limiter._buckets and "late" in limiter._buckets
    clock.now += 0.1                                             # full again: nothing to remember
    limiter.take("late")
    assert set(limiter._buckets) == {"late"}
    # A forgotten client gets a full bucket, as it would have anyway.
    assert takes(limiter, "client-0", 5) == [0.0] * 5 and limiter.take("client-0") > 0


def test_the_sweep_runs_once_per_refill_time_not_at_every_request():
    """Forgetting costs a pass over every client: done when a bucket may have refilled, not more often."""
    clock = Clock(0.0)
    limiter = RateLimiter(rate=2.0, burst=10, clock=clock)       # full again after 5 s
    limiter.take("a")
    clock.now = 4.0
    limiter.take("b")
    clock.now = 8.5                                              # a sweep: "a" (8.5 s) goes, "b" (4.5 s) stays
    limiter.take("c")
    assert set(limiter._buckets) == {"b", "c"}
    clock.now = 9.2                                              # "b" is full again, but the last sweep was 0.7 s ago
    limiter.take("d")
    assert set(limiter._buckets) == {"b", "c", "d"}
    clock.now = 13.6                                             # 5.1 s after the sweep: the next one
    limiter.take("e")
    assert set(limiter._buckets) == {"d", "e"}


def test_reaching_the_client_limit_sweeps_at_once():
    clock = Clock(0.0)
    limiter = RateLimiter(rate=1.0, burst=5, clock=clock, max_clients=3)
    limiter.take("a")
    clock.now = 4.9
    limiter.take("b")
    clock.now = 5.0                                              # a timed sweep: "a" goes
    limiter.take("c")
    assert set(limiter._buckets) == {"b", "c"}
    clock.now = 9.95                                             # 3 clients: the limit, so a sweep before its time
    limiter.take("d")
    assert set(limiter._buckets) == {"c", "d"}                   # "b" (5.05 s) goes


def test_too_many_clients_at_once_trigger_a_sweep_early():
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=5, clock=clock, max_clients=10)
    for n in range(10):
        limiter.take(f"client-{n}")
        clock.now += 0.6
    # At the 10th client the sweep comes early: client-0, last seen 5.4 s ago (full again), is dropped;
    # client-1, seen 4.8 s ago, is not.
    assert "client-0" not in limiter._buckets and "client-1" in limiter._buckets
    assert len(limiter._buckets) == 9
    # A client seen recently is not forgotten by that sweep: its spent tokens still count.
    takes(limiter, "client-9", 4)
    assert limiter.take("client-9") > 0


# --- requests in flight (WSGI middleware) ---

class Answer:
    """A WSGI answer that counts its closes."""

    def __init__(self):
        self.closed = 0

    def __iter__(self):
        return iter([b"ok"])

    def close(self):
        self.closed += 1


def wsgi(limit, fail=False):
    answers = []

    def app(environ, start_response):
        assert environ["REMOTE_ADDR"] is not None           # the request itself reaches the app
        if fail:
            raise RuntimeError("the app failed")
        start_response("200 OK", [])
        answers.append(Answer())
        return answers[-1]

    return InFlightLimit(app, limit), answers


def call(middleware, address="10.0.0.1"):
    seen = {}

    def start_response(status, headers):
        seen["status"], seen["headers"] = status, dict(headers)

    body = middleware({"REMOTE_ADDR": address}, start_response)
    return seen, body


@pytest.mark.parametrize("limit", [0, -1])
def test_an_in_flight_limit_below_one_is_refused(limit):
    with pytest.raises(ValueError, match=r"^limit must be >= 1$"):
        InFlightLimit(lambda environ, start_response: [], limit)


def test_a_client_at_its_limit_gets_429_json_until_an_answer_is_closed():
    middleware, answers = wsgi(limit=2)
    first, second = call(middleware)[1], call(middleware)[1]
    assert middleware.in_flight("10.0.0.1") == 2
    seen, body = call(middleware)
    assert seen["status"] == "429 Too Many Requests" and seen["headers"]["Retry-After"] == "1"
    payload = b"".join(body)
    assert seen["headers"]["Content-Type"] == "application/json"
    assert seen["headers"]["Content-Length"] == str(len(payload))
    error = json.loads(payload)["error"]
    assert error["type"] == "rate_limit_error" and error["code"] == "too_many_in_flight"
    assert error["message"] == ("Too many requests from your address at once (at most 2): "
                                "wait for the others to finish.")
    assert len(answers) == 2                                   # the app never saw the refused one
    assert middleware.in_flight("10.0.0.1") == 2               # a refusal holds no place
    assert b"".join(first) == b"ok"
    first.close()
    assert answers[0].closed == 1 and middleware.in_flight("10.0.0.1") == 1
    first.close()                                              # a second close releases nothing more
    assert middleware.in_flight("10.0.0.1") == 1
    assert call(middleware)[0]["status"] == "200 OK"
    second.close()
    assert middleware.in_flight("10.0.0.1") == 1


def test_a_client_whose_requests_all_ended_is_forgotten():
    middleware, _ = wsgi(limit=3)
    bodies = [call(middleware, f"10.0.0.{n}")[1] for n in range(5)]
    for body in bodies:
        body.close()
    assert middleware._counts == {}                            # memory: only clients with requests running


def test_other_clients_are_not_held_by_one():
    middleware, _ = wsgi(limit=1)
    call(middleware, "10.0.0.1")
    assert call(middleware, "10.0.0.1")[0]["status"].startswith("429")
    assert call(middleware, "10.0.0.2")[0]["status"] == "200 OK"
    seen, _ = call(middleware, "")                             # no address: one shared "unknown" client
    assert seen["status"] == "200 OK" and middleware.in_flight("unknown") == 1


def test_an_app_that_fails_releases_its_place():
    middleware, _ = wsgi(limit=1, fail=True)
    with pytest.raises(RuntimeError):
        call(middleware)
    assert middleware.in_flight("10.0.0.1") == 0


def test_an_answer_without_close_is_released_too():
    middleware = InFlightLimit(lambda environ, start_response: [b"plain"], 1)
    seen, body = call(middleware)
    assert list(body) == [b"plain"]
    body.close()
    assert middleware.in_flight("10.0.0.1") == 0


def test_the_in_flight_limit_is_on_only_when_configured():
    app = Flask(__name__)
    limit_in_flight(app)
    assert not isinstance(app.wsgi_app, InFlightLimit)
    app.route("/")(lambda: "the app itself")
    app.config["MAX_IN_FLIGHT_PER_CLIENT"] = "3"
    limit_in_flight(app)
    assert isinstance(app.wsgi_app, InFlightLimit) and app.wsgi_app.limit == 3
    assert app.test_client().get("/").get_data(as_text=True) == "the app itself"
