"""`GET /metrics`: the generation service's load in Prometheus' text format (`prometheus_client`).

Why: an instructor watching a room's load (a Prometheus server, or a plain
`curl`) sees how many requests wait, how many rows run, how fast tokens come
and how long the first one takes, per model. One registry per app (not the
library's global one), so that several apps in one process (tests) never
clash.

- counter `aurore_generated_tokens_total{model}`;
- histograms `aurore_time_to_first_token_seconds{model}` (from admission,
  queueing included) and `aurore_time_per_token_seconds{model}` (one step of
  the running batch, as each row sees it);
- gauges, read when scraped: `aurore_queue_waiting{model}`,
  `aurore_running_rows{model}`, `aurore_admitted_requests{model}`,
  `aurore_queue_capacity{model}`.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import GaugeMetricFamily

FIRST_TOKEN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
TOKEN_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST

#: Gauges read from each loaded service's `load()` when scraped: (name, load() key, help).
GAUGES = (("aurore_queue_waiting", "waiting", "Requests admitted and waiting for a slot."),
          ("aurore_running_rows", "running", "Rows generating now."),
          ("aurore_admitted_requests", "admitted", "Requests admitted (waiting or running)."),
          ("aurore_queue_capacity", "capacity", "Most requests admitted at once (more get 429)."))


class _QueueCollector:
    """The gauges, from the services loaded at the time of the scrape."""

    def __init__(self, services):
        self.services = services

    def collect(self):
        loads = {name: service.load() for name, service in self.services().items()}
        for metric, key, text in GAUGES:
            family = GaugeMetricFamily(metric, text, labels=["model"])
            for name, load in sorted(loads.items()):
                family.add_metric([name], float(load.get(key) or 0))
            yield family


class Metrics:
    """The app's metrics: the service records into it, `/metrics` renders it."""

    def __init__(self):
        self.registry = CollectorRegistry(auto_describe=True)
        self._tokens = Counter("aurore_generated_tokens", "New tokens generated.", ["model"], registry=self.registry)
        self._first = Histogram("aurore_time_to_first_token_seconds",
                                "Seconds from admission to a request's first token (queueing included).",
                                ["model"], buckets=FIRST_TOKEN_BUCKETS, registry=self.registry)
        self._per_token = Histogram("aurore_time_per_token_seconds", "Seconds between two tokens of a row.",
                                    ["model"], buckets=TOKEN_BUCKETS, registry=self.registry)

    def watch(self, services) -> None:
        """`services()` gives the loaded services by model name (the pool's `loaded`)."""
        self.registry.register(_QueueCollector(services))

    def tokens(self, model: str, count: int) -> None:
        self._tokens.labels(model=model).inc(count)

    def first_token(self, model: str, seconds: float) -> None:
        self._first.labels(model=model).observe(seconds)

    def token(self, model: str, seconds: float) -> None:
        self._per_token.labels(model=model).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
