"""Progress reporting shared by the CLI and the web app.

Two renderings of the same events:
- ``bar`` (default): tqdm progress bars and plain log lines, for a terminal;
- ``json``: one JSON object per line on stdout, for the web app, which runs
  steps as subprocesses (AURORE_PROGRESS=json) and streams the events to the
  browser.

Event shapes (json mode; non-finite numbers are written as null):
    {"event": "log", "message": "…"}
    {"event": "progress", "task": "…", "done": 3, "total": 12, "unit": "…", "metrics": {…}}
    {"event": "metrics", …free fields…}   e.g. a training evaluation
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
from typing import Any

from aurore.messages import N_, gettext

#: The progress labels the steps use, translated on the page (AURORE_LANG): a task's name and unit.
LABELS = (N_("Books"), N_("Sentences"), N_("Tokenizing"), N_("Training"), N_("Evaluating"),
          N_("Baselines (unigram, xz)"), N_("Completing functions"),
          N_("book"), N_("sentence"), N_("step"), N_("block"), N_("baseline"), N_("function"), N_("model"))

_lock = threading.Lock()


def mode() -> str:
    return os.environ.get("AURORE_PROGRESS", "bar")


def json_safe(value: Any) -> Any:
    """`value` with every NaN or infinite number replaced by None.

    Python writes them as bare `NaN`/`Infinity`, which is not JSON: a browser's
    `JSON.parse` throws on it (a diverging training froze the run page).
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


def _emit(obj: dict[str, Any]) -> None:
    with _lock:
        sys.stdout.write(json.dumps(json_safe(obj), ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()


def log(message: str) -> None:
    """A line for the user: printed, or sent as a log event."""
    if mode() == "json":
        _emit({"event": "log", "message": message})
    else:
        from tqdm import tqdm

        tqdm.write(message)


def event(kind: str, **fields: Any) -> None:
    """A structured event (metrics…); in bar mode, printed only if it has a message."""
    if mode() == "json":
        _emit({"event": kind, **fields})
    elif "message" in fields:
        log(str(fields["message"]))


class Task:
    """A unit of work with a known or unknown total; use as a context manager."""

    def __init__(self, name: str, total: int | None = None, unit: str = "it"):
        # The label and unit in the run's language (a name not in LABELS stays as it is).
        self.name, self.total, self.unit, self.done = gettext(name), total, gettext(unit), 0
        self.metrics: dict[str, Any] = {}
        self._bar = None
        if mode() != "json":
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=name, unit=unit, dynamic_ncols=True)

    def update(self, n: int = 1, **metrics: Any) -> None:
        self.done += n
        self.metrics.update(metrics)
        if self._bar is not None:
            if metrics:
                self._bar.set_postfix(
                    {k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in metrics.items()},
                    refresh=False,
                )
            self._bar.update(n)
        else:
            _emit({"event": "progress", "task": self.name, "done": self.done,
                   "total": self.total, "unit": self.unit, "metrics": self.metrics})

    def set_total(self, total: int | None) -> None:
        """A new estimate of the total (a time budget's steps, known once the speed is measured)."""
        self.total = total
        if self._bar is not None:
            self._bar.total = total
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> "Task":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def task(name: str, total: int | None = None, unit: str = "it") -> Task:
    return Task(name, total, unit)
