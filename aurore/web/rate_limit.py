"""A per-client rate limit for public mode: one token bucket per remote address.

Why: a public server shares one model among everyone; a single client must
not take every place in the queue. In-process and dependency-free: the app
runs as one process (waitress threads), so a dict of buckets is enough.
"""

from __future__ import annotations

import math
import threading
import time


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
