"""A fake generator with the interface of `aurore.generation.generator.Generator`, at a speed tests control.

Why: queueing, batching, 429 and disconnects are about timing, not about a
model; a fake that emits known words at a known pace makes those tests fast
and exact. The end-to-end tests use the real tiny model instead.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace


def fake_params(**fields):
    """Stands for `aurore.generation.sampling.SamplingParams` where only the queue is tested (no validation)."""
    return SimpleNamespace(**fields)


class FakeSteps:
    """The iterator `stream_batch` returns: one list of pieces per step.

    Row i emits `word{n} ` pieces until its `max_new_tokens`; `finish_reasons`
    and `new_tokens` are filled as rows end (like aurore.generation.generator's).
    """

    def __init__(self, generator: "FakeGenerator", prompts, params):
        self.generator = generator
        self.limits = [p.max_new_tokens for p in params]
        self.stops = [tuple(getattr(p, "stop", ()) or ()) for p in params]
        self.finish_reasons: list[str | None] = [None] * len(prompts)
        self.new_tokens = [0] * len(prompts)
        self.step = 0
        self.closed = False

    def __iter__(self):
        return self

    def __next__(self) -> list[str]:
        if self.closed or all(r is not None for r in self.finish_reasons):
            raise StopIteration
        self.generator.wait_a_step()
        pieces = []
        for row, limit in enumerate(self.limits):
            if self.finish_reasons[row] is not None:
                pieces.append("")
                continue
            piece = self.generator.word(self.step)
            if piece.strip() in self.stops[row]:
                self.finish_reasons[row] = "stop"
                pieces.append("")
                continue
            pieces.append(piece)
            self.new_tokens[row] += 1
            if self.new_tokens[row] >= limit:
                self.finish_reasons[row] = "length"
        self.step += 1
        self.generator.steps_done += 1
        return pieces

    def close(self) -> None:
        self.closed = True
        self.generator.closed_batches += 1


class FakeRows:
    """What `continuous(slots)` returns (aurore/generation/continuous.py's interface): rows in slots.

    Row r emits `word(n)` for its n-th token (n from 0), the first at `add`;
    `generator.steps` records the slots of every step, `added` the prompts in
    the order they got a slot, `removed` the slots freed by `remove`.
    """

    def __init__(self, generator: "FakeGenerator", slots: int):
        self.generator = generator
        self.slots = slots
        self.rows: list = [None] * slots

    @property
    def free(self) -> int:
        return self.rows.count(None)

    @property
    def busy(self) -> list[int]:
        return [slot for slot, row in enumerate(self.rows) if row is not None]

    def add(self, prompt, params):
        if self.generator.fail_prompt is not None and prompt == self.generator.fail_prompt:
            raise ValueError(f"the fake model refuses {prompt!r}")
        slot = self.rows.index(None)
        self.rows[slot] = {"params": params, "new_tokens": 0, "stops": tuple(getattr(params, "stop", ()) or ())}
        with self.generator.lock:
            self.generator.added.append(prompt)
            self.generator.params_seen.append(params)
        self.generator.wait_a_step()
        return self._next(slot)

    def step(self):
        busy = self.busy
        self.generator.wait_a_step()
        self.generator.steps.append(busy)
        self.generator.steps_done += 1
        return [self._next(slot) for slot in busy]

    def remove(self, slot: int) -> None:
        self.rows[slot] = None
        self.generator.removed.append(slot)

    def _next(self, slot: int) -> SimpleNamespace:
        row = self.rows[slot]
        piece, reason = self.generator.word(row["new_tokens"]), None
        if piece.strip() in row["stops"]:
            piece, reason = "", "stop"
        else:
            row["new_tokens"] += 1
            if row["new_tokens"] >= row["params"].max_new_tokens:
                reason = "length"
        if reason is not None:
            self.rows[slot] = None
        return SimpleNamespace(slot=slot, piece=piece, finish_reason=reason, new_tokens=row["new_tokens"])

    def warm_up(self) -> int:
        self.generator.warmed_up += 1
        return 0


class FakeGenerator:
    """`step_delay` seconds per step; `gate` (an Event) holds every step until set;
    `ticks` (a Semaphore) lets one step (or one continuous `add`) run per release."""

    max_context = 64

    def __init__(self, step_delay: float = 0.0, gate: threading.Event | None = None, fail: bool = False,
                 words=None, ticks: threading.Semaphore | None = None):
        self.step_delay = step_delay
        self.gate = gate
        self.ticks = ticks
        self.fail = fail
        self.words = words or ["Il ", "était ", "une ", "fois ", "🌙 ", "עברית ", "« nuit » "]
        self.batch_sizes: list[int] = []
        self.params_seen: list = []
        self.steps: list[list[int]] = []       # continuous batching: the busy slots of each step
        self.added: list = []                   # prompts, in the order they got a slot
        self.removed: list[int] = []            # slots freed because their client left
        self.warmed_up = 0
        self.fail_prompt = None                 # continuous batching: `add` refuses this prompt
        self.steps_done = 0
        self.closed_batches = 0
        self.lock = threading.Lock()

    def word(self, step: int) -> str:
        return self.words[step % len(self.words)]

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def wait_a_step(self) -> None:
        if self.fail:
            raise RuntimeError("the fake model broke")
        if self.gate is not None:
            self.gate.wait(timeout=10)
        if self.ticks is not None and not self.ticks.acquire(timeout=10):
            raise RuntimeError("the test released no tick for 10 s")
        if self.step_delay:
            time.sleep(self.step_delay)

    def stream_batch(self, prompts, params) -> FakeSteps:
        with self.lock:
            self.batch_sizes.append(len(prompts))
            self.params_seen.extend(params)
        return FakeSteps(self, prompts, params)

    def continuous(self, slots: int, sampler: str = "compiled") -> FakeRows:
        self.sampler = sampler
        return FakeRows(self, slots)

    def stream(self, prompt, params) -> FakeSteps:
        """One row: the same iterator, yielding plain pieces."""
        steps = self.stream_batch([prompt], [params])
        return _Single(steps)

    def generate(self, prompt, params):
        text = "".join(self.stream(prompt, params))
        return SimpleNamespace(text=text, prompt_tokens=self.count_tokens(prompt),
                               new_tokens=len(text.split()), finish_reason="length", seconds=0.0)


class _Single:
    def __init__(self, steps: FakeSteps):
        self.steps = steps

    @property
    def finish_reasons(self):
        return self.steps.finish_reasons

    @property
    def new_tokens(self):
        return self.steps.new_tokens

    def __iter__(self):
        return self

    def __next__(self) -> str:
        return next(self.steps)[0]

    def close(self) -> None:
        self.steps.close()


def wait_until(condition, timeout=5.0) -> bool:
    """Poll `condition` until it holds (True) or `timeout` seconds pass (False): the worker is a thread."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False


def fake_factory(generator: FakeGenerator):
    """A GENERATION_FACTORY for create_app that hands out `generator` for any model dir."""
    return lambda model_dir: generator


def make_fake_model_dirs(models_dir, names=("cpu",)):
    """Folders that `aurore.store.modeldir.find_models` accepts (files, no real weights)."""
    from pathlib import Path

    from aurore.store import modeldir

    for name in names:
        path = Path(models_dir) / name
        (path / modeldir.TOKENIZER_DIR).mkdir(parents=True, exist_ok=True)
        (path / modeldir.CONFIG_FILE).write_text("{}", encoding="utf-8")
        (path / modeldir.WEIGHTS_FILE).write_bytes(b"")
    return Path(models_dir)
