"""The trained models a server offers: each loaded once, on first use, into its own GenerationService.

Why a module of its own: finding, loading and reloading models (a training
that saves new weights is seen without a restart) is one job; queueing and
batching requests for one loaded model is another (`generation_service`).
The app has one pool (made by the API's `init_app`); `pool()` is how every
page and endpoint reaches it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from flask import current_app

from aurore.course import exercises
from aurore.training import presets
from aurore.web.writers.generation_service import GenerationService

#: Where the app keeps its one pool, in `app.extensions`.
EXTENSION = "aurore_generation"


class NoModel(Exception):
    """No trained model directory exists yet."""


class UnknownModel(Exception):
    """The request names a model that is not in the models folder."""

    def __init__(self, name: str, available: list[str]):
        super().__init__(f"No model named {name!r}; available: {', '.join(available) or 'none'}.")
        self.name = name
        self.available = available


def _load_generator(model_dir):
    from aurore.generation.generator import Generator

    return Generator.load(model_dir, exercises.rules("generate"))


def _signature(model_dir) -> tuple | None:
    """When the files a training rewrites last changed: a new signature means new weights to load."""
    from aurore.store import modeldir

    try:
        return tuple((model_dir / name).stat().st_mtime_ns for name in (modeldir.WEIGHTS_FILE, modeldir.CONFIG_FILE))
    except OSError:
        return None


def _retire(service: GenerationService, poll: float = 0.2, patience: float = 600.0) -> None:
    """Close a replaced service once the requests it admitted are answered (or after `patience` s)."""
    deadline = time.monotonic() + patience
    while service.load()["admitted"] and time.monotonic() < deadline:
        time.sleep(poll)
    service.close()


class ModelPool:
    """The trained models found in the models folder, each loaded once, on first use.

    A model whose files changed on disk (a training saved better weights) is
    loaded again on its next request; the old one finishes what it was doing.

    `factory(model_dir) -> generator` is injectable (tests use a fake
    generator); by default it is `aurore.generation.generator.Generator.load`.
    `service_options` are GenerationService's (queue and batching).
    """

    def __init__(self, models_dir, *, factory=None, default: str = presets.DEFAULT, **service_options):
        self.models_dir = Path(models_dir)
        self.factory = factory or _load_generator
        self.default = default
        self.service_options = service_options
        self._services: dict[str, GenerationService] = {}
        self._signatures: dict[str, tuple | None] = {}
        self._lock = threading.Lock()         # guards the dicts only, never held while a model loads
        self._loading: dict[str, threading.Lock] = {}

    def paths(self) -> dict:
        from aurore.store import modeldir

        return {path.name: path for path in modeldir.find_models(self.models_dir)}

    def names(self) -> list[str]:
        """Model names, the default first, then newest first."""
        names = list(self.paths())
        if self.default in names:
            names.remove(self.default)
            names.insert(0, self.default)
        return names

    def get(self, name: str | None = None) -> GenerationService:
        """The service of `name` (default model if None), loading it the first time, and again
        once its files changed on disk (a new training): no restart needed.

        A load takes seconds: it holds only that model's own lock, so requests
        to loaded models and /health go on meanwhile, and a second request for
        the same model waits for the first load instead of loading it twice.
        A replaced copy finishes the requests it accepted, then goes.
        """
        with self._lock:
            if name is not None and self._fresh(name):
                return self._services[name]
        paths = self.paths()
        if name is None:
            if not paths:
                raise NoModel()
            name = self.default if self.default in paths else next(iter(paths))
        elif name not in paths:
            raise UnknownModel(name, self.names())
        with self._lock:
            if self._fresh(name):
                return self._services[name]
            loading = self._loading.setdefault(name, threading.Lock())
        with loading:
            with self._lock:
                if self._fresh(name):
                    return self._services[name]
            signature = _signature(paths[name])
            service = GenerationService(self.factory(paths[name]), name=name, **self.service_options)
            with self._lock:
                old = self._services.get(name)
                self._services[name], self._signatures[name] = service, signature
        if old is not None:
            threading.Thread(target=_retire, args=(old,), daemon=True, name=f"aurore-retire-{name}").start()
        return service

    def _fresh(self, name: str) -> bool:
        """Loaded, and its files unchanged since."""
        return name in self._services and self._signatures.get(name) == _signature(self.models_dir / name)

    def preload(self, warm_up: bool = True) -> GenerationService | None:
        """Load the default model and compile its common shapes, so the first visitor waits less."""
        try:
            service = self.get()
        except NoModel:
            return None
        if warm_up and not service.warm_up():   # continuous batching: its slots' shapes, in its worker
            warm = getattr(service.generator, "warm_up", None)
            if warm is not None:
                sizes = [size for size in (1, 2, 4, 8, 16, 32) if size <= service.max_batch]
                warm(batch_sizes=sizes)
        service.warmed = warm_up
        return service

    def loaded(self) -> dict[str, GenerationService]:
        """The models loaded so far; lock-free (a copy of the dict), so /health answers during a load."""
        return dict(self._services)

    def close(self) -> None:
        with self._lock:
            services, self._services = list(self._services.values()), {}
        for service in services:
            service.close()


def pool(app=None) -> ModelPool:
    """The app's one pool (the current app's by default): pages and endpoints share its loads and queues."""
    return (app or current_app).extensions[EXTENSION]
