"""Per-client limits for public mode: a rate (token bucket) and requests in flight.

Why: a public server shares one model and a few dozen threads among
everyone; a single client must not take every place in the queue, nor every
thread with slow requests. In-process and dependency-free: the app runs as one
process (waitress threads), so a dict per remote address is enough. A
refusal (429) is JSON in the web layer's one shape (`aurore.web.errors`).
"""

from __future__ import annotations

import json
import math
import threading
import time

from aurore.web.errors import error_body


class RateLimiter:
    """`rate` requests per second on average, bursts of up to `burst`.

    `take(key)` returns 0 when the request may go on, else the seconds to
    wait (for Retry-After). Buckets refilled to full are forgotten, so memory
    stays bounded by the clients active in the last `burst / rate` seconds.
    """

    def __init__(self, rate: float, burst: int, clock=time.monotonic, max_clients: int = 100_000):
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}   # key -> (tokens, last update)
        self._lock = threading.Lock()
        self._last_sweep = clock()

    def take(self, key: str) -> float:
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
            self._sweep(now)
        return wait

    def retry_after(self, key: str) -> int:
        """`take` as whole seconds for the Retry-After header (0: go on)."""
        wait = self.take(key)
        return 0 if wait == 0 else max(1, math.ceil(wait))

    def _sweep(self, now: float) -> None:
        full_after = self.burst / self.rate
        if now - self._last_sweep < full_after and len(self._buckets) < self._max_clients:
            return
        self._last_sweep = now
        self._buckets = {key: (tokens, last) for key, (tokens, last) in self._buckets.items()
                         if now - last < full_after}


class InFlightLimit:
    """WSGI middleware: at most `limit` requests of one client address at a time, else 429.

    A request counts until its answer is sent whole (a stream until it ends),
    so one client reading slowly cannot hold every server thread.
    """

    def __init__(self, app, limit: int):
        if limit < 1:
            raise ValueError("limit must be >= 1")
        self.app, self.limit = app, limit
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        key = environ.get("REMOTE_ADDR") or "unknown"
        with self._lock:
            if self._counts.get(key, 0) >= self.limit:
                refused = True
            else:
                self._counts[key] = self._counts.get(key, 0) + 1
                refused = False
        if refused:
            body = json.dumps(error_body(f"Too many requests from your address at once (at most {self.limit}): "
                                         "wait for the others to finish.", "rate_limit_error",
                                         "too_many_in_flight")).encode()
            start_response("429 Too Many Requests", [("Content-Type", "application/json"), ("Retry-After", "1"),
                                                     ("Content-Length", str(len(body)))])
            return [body]
        try:
            answer = self.app(environ, start_response)
        except BaseException:
            self._release(key)
            raise
        return _Releasing(answer, lambda: self._release(key))

    def in_flight(self, key: str) -> int:
        with self._lock:
            return self._counts.get(key, 0)

    def _release(self, key: str) -> None:
        with self._lock:
            left = self._counts.get(key, 0) - 1
            if left > 0:
                self._counts[key] = left
            else:
                self._counts.pop(key, None)


class _Releasing:
    """The app's answer, calling `release` once when the server closes it (sent, or the client left)."""

    def __init__(self, answer, release):
        self._answer, self._release, self._done = answer, release, False

    def __iter__(self):
        return iter(self._answer)

    def close(self):
        try:
            close = getattr(self._answer, "close", None)
            if close is not None:
                close()
        finally:
            if not self._done:
                self._done = True
                self._release()


def limit_in_flight(app) -> None:
    """Public mode: wrap the app so that each client address has at most MAX_IN_FLIGHT_PER_CLIENT requests.

    Set by `python app.py --public` (`--max-in-flight`); off by default in
    create_app, as the in-process test client never closes its answers.
    """
    limit = app.config.get("MAX_IN_FLIGHT_PER_CLIENT")
    if limit:
        app.wsgi_app = InFlightLimit(app.wsgi_app, int(limit))
