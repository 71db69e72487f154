"""One loaded model shared by every request: a bounded queue and a worker that batches them.

(Which models there are, and loading them: `aurore/web/writers/model_pool.py`.)

Why: a model answers several requests faster together (one forward pass per
step for all rows) than one after the other, and a server must say "come
back later" (429) rather than pile up work it cannot finish.

- `submit()` admits a request if fewer than `max_queue` are admitted (waiting
  or running); otherwise it raises `QueueFull` with a Retry-After estimate.
- **Continuous batching** (the default, `batching=True`): the worker runs one
  step at a time for every running row (`generator.continuous(max_batch)`,
  aurore/generation/continuous.py). Between two steps it drops the rows whose
  client left, prefills the waiting requests into the free slots (each gets
  its first token at once), then runs the step; a row that ends is answered
  and its slot is free for the next step. A request never waits for a batch
  to end, and no row idles until the longest one is done. What a step costs,
  measured (docs/benchmarks.md, Load; `load()["steps"]` has the running
  totals): in the server, 7.2-7.9 ms in the compiled call for 16 rows
  (forward pass and sampling; 4.5 ms in-process: the clients' threads share
  the cores), 0.4 ms of Python, 0.4-0.5 ms between steps. A client's thread
  sends at once every piece that came while it was writing the last one.
- `batching="static"`: the former scheduler, kept to measure against: the
  requests that arrive within `batch_window` seconds (up to `max_batch`, up to
  `batch_wait` while the clients of the last batch are expected back) run
  together with `generator.stream_batch` until the last of them ends.
- `batching=False`: one request at a time (`generator.stream`, exercise 6's
  writing loop), the load benchmark's baseline.
- A `QueuedRequest` is an iterator of text pieces. Cancelling it (a client
  that hung up) frees its place in the queue at once, and its row's slot at
  the next step.
- `metrics` (optional, aurore/web/writers/metrics.py) records tokens, time to
  first token and time per token for `GET /metrics`.

The generator is injected (the `BatchGenerator` interface, which
`aurore.generation.generator.Generator` has), so tests drive the queue with a fake one.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Protocol, Sequence

#: The queue's defaults (the app's config and `python app.py`'s options start from these).
MAX_QUEUE = 64            # requests admitted at once (more: 429)
#: Requests generated together. More slots than a room's usual clients: at 0.8 × the throughput of
#: 16 busy clients, 16 slots are nearly always full and a newcomer waits for a row to end (first
#: piece p99 0.4-2.6 s), 32 nearly never (45-51 ms); docs/benchmarks.md, Load.
MAX_BATCH = 32
BATCH_WINDOW = 0.01       # seconds to gather a batch
BATCH_WAIT = 0.25         # at most, for the clients of the last batch, expected back
#: Finish reason of a job cancelled by its client.
CANCELLED = "cancelled"
#: The schedulers: `batching=True` is "continuous".
CONTINUOUS, STATIC, ONE_AT_A_TIME = "continuous", "static", "one at a time"


class RowStream(Protocol):
    """What `stream`/`stream_batch` return: pieces as they come, and live per-row facts."""

    finish_reasons: list[str | None]    # None while a row is still writing
    new_tokens: list[int]

    def __iter__(self) -> Iterator: ...

    def close(self) -> None: ...


class BatchGenerator(Protocol):
    """The generator a service drives: `aurore.generation.generator.Generator`, or a test's fake."""

    max_context: int

    def count_tokens(self, text: str) -> int: ...

    def stream(self, prompt: str, params: Any) -> RowStream: ...

    def stream_batch(self, prompts: Sequence[str], params: Sequence[Any]) -> RowStream: ...

    def continuous(self, slots: int, sampler: str = "compiled") -> Any: ...   # aurore/generation/continuous.py


class QueueFull(Exception):
    """Every place is taken: the client should retry after `retry_after` seconds."""

    def __init__(self, retry_after: int, capacity: int):
        super().__init__(f"The generation queue is full ({capacity} requests); retry in {retry_after} s.")
        self.retry_after = retry_after
        self.capacity = capacity


class GenerationFailed(Exception):
    """The generator raised while producing this job's text."""


@dataclass
class Outcome:
    """What a finished request reports (the API's final event / response fields).

    The generator's `GenerationResult` fields that the API shows, as the
    queue saw them (a cancelled row has no GenerationResult), plus its timing.
    """
    text: str
    finish_reason: str
    prompt_tokens: int
    new_tokens: int
    seconds: float          # from admission to the last piece, queueing included
    queued_seconds: float   # waiting for a place in a batch


class QueuedRequest:
    """A request admitted to the service: iterate it for text pieces, then read `outcome`."""

    def __init__(self, service: "GenerationService", prompt: str, params: Any, prompt_tokens: int):
        self.prompt = prompt
        self.params = params
        self.prompt_tokens = prompt_tokens
        self._service = service
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        self._cancelled = threading.Event()
        self._finished = False
        self._pieces: list[str] = []
        self.admitted_at = time.monotonic()
        self.started_at: float | None = None
        self.first_token_at: float | None = None
        self.slot: int | None = None        # its cache slot while it runs (continuous batching)
        self.outcome: Outcome | None = None
        self.error: BaseException | None = None

    # --- consumer side (a request thread) ---------------------------------

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def pieces(self, heartbeat: float | None = None) -> Iterator[str | None]:
        """Text pieces as they come; `None` every `heartbeat` seconds of silence.

        The pieces that came while the client was away (writing the last one
        to its socket) go out together, as one: a client that lags behind
        catches up in one write instead of one a token.
        The heartbeat lets a streaming response write something while the job
        waits, so that a client who left is noticed (the write fails). Raises
        `GenerationFailed` if the generator failed.
        """
        held = None
        while True:
            try:
                kind, value = held or self._events.get(timeout=heartbeat)
            except queue.Empty:
                yield None
                continue
            held = None
            if kind == "piece":
                pieces = [value]
                while held is None:        # what came meanwhile goes out with it: one write, not one a token
                    try:
                        held = self._events.get_nowait()
                    except queue.Empty:
                        break
                    if held[0] == "piece":
                        pieces.append(held[1])
                        held = None
                yield "".join(pieces)
            elif kind == "done":
                return
            else:
                raise GenerationFailed(str(value)) from value

    def __iter__(self) -> Iterator[str]:
        return (piece for piece in self.pieces() if piece is not None)

    def result(self) -> Outcome:
        """Wait for the whole text (non-streaming requests)."""
        for _ in self:
            pass
        assert self.outcome is not None
        return self.outcome

    def cancel(self) -> None:
        """The client is gone: free the place now; the worker drops the row."""
        if self._finished:
            return
        self._cancelled.set()
        self._service._release(self)

    # --- producer side (the worker thread) --------------------------------

    def _put(self, piece: str) -> None:
        if piece and self.first_token_at is None:      # static batching: the first piece (continuous: token)
            self.first_token_at = time.monotonic()
            self._service._observe_first_token(self)
        if piece and not self.cancelled:
            self._pieces.append(piece)
            self._events.put(("piece", piece))

    def _finish(self, reason: str, new_tokens: int) -> None:
        if self._finished:
            return
        self._finished = True
        text = "".join(self._pieces)
        now = time.monotonic()
        started = self.started_at or now
        self.outcome = Outcome(text=text, finish_reason=reason if not self.cancelled else CANCELLED,
                               prompt_tokens=self.prompt_tokens, new_tokens=new_tokens,
                               seconds=now - self.admitted_at, queued_seconds=started - self.admitted_at)
        self._service._release(self)
        self._events.put(("done", None))

    def _fail(self, error: BaseException) -> None:
        if self._finished:
            return
        self._finished = True
        self.error = error
        self._service._release(self)
        self._events.put(("error", error))


class GenerationService:
    """The shared model, its bounded queue and its worker thread (continuous batching by default)."""

    def __init__(self, generator: BatchGenerator, *, max_queue: int = MAX_QUEUE, max_batch: int = MAX_BATCH,
                 batch_window: float = BATCH_WINDOW, batch_wait: float = BATCH_WAIT, batching: bool | str = True,
                 sampler: str = "compiled", name: str = "model", metrics: Any = None):
        if max_queue < 1 or max_batch < 1:
            raise ValueError("max_queue and max_batch must be at least 1")
        self.scheduler = {True: CONTINUOUS, CONTINUOUS: CONTINUOUS, STATIC: STATIC}.get(batching, ONE_AT_A_TIME)
        self.generator = generator
        self.name = name
        self.max_queue = max_queue
        self.max_batch = max_batch if self.scheduler != ONE_AT_A_TIME else 1
        static = self.scheduler == STATIC
        self.batch_window = batch_window if static else 0.0
        self.batch_wait = max(batch_wait, self.batch_window) if static else 0.0
        self.batching = self.scheduler != ONE_AT_A_TIME
        #: who chooses the tokens: "compiled" (all rows in the compiled step) or "exercise 6" (NumPy, row by row)
        self.sampler = sampler if self.scheduler == CONTINUOUS else "exercise"
        self.metrics = metrics
        self._lock = threading.Condition()
        self._admitted: set[QueuedRequest] = set()
        self._pending: list[QueuedRequest] = []
        self._stopped = False
        self._batch_seconds = 1.0      # running average of one batch's duration (static), or of a row's
        self.batches_run = 0
        self.batch_sizes: list[int] = []   # static: rows per batch; continuous: rows per step (the last 1000)
        self.running = 0                   # rows generating now
        self._rows = None                  # the continuous batch, made in the worker thread
        self._warm_requests: list[threading.Event] = []
        self.warmed = False                # its shapes compiled ahead (ModelPool.preload)
        self._thread = threading.Thread(target=self._run, name=f"aurore-generation-{name}", daemon=True)
        self._thread.start()

    # --- facts the API reports ---------------------------------------------

    @property
    def max_context(self) -> int:
        return int(self.generator.max_context)

    def count_tokens(self, text: str) -> int:
        return int(self.generator.count_tokens(text))

    def load(self) -> dict:
        with self._lock:
            recent = self.batch_sizes[-100:]
            return {"admitted": len(self._admitted), "waiting": len(self._pending), "running": self.running,
                    "capacity": self.max_queue, "max_batch": self.max_batch, "batching": self.batching,
                    "scheduler": self.scheduler, "sampler": self.sampler, "warmed": self.warmed,
                    "batches_run": self.batches_run,
                    "recent_mean_batch": round(sum(recent) / len(recent), 2) if recent else None,
                    "recent_batch_seconds": round(self._batch_seconds, 3) if self.batches_run else None,
                    "steps": self._step_timing()}

    def _step_timing(self) -> dict | None:
        """Continuous batching: the batch's running totals (steps, prefills, rows, seconds in the compiled
        calls and in Python); a benchmark takes two readings and splits a step's time."""
        timing = getattr(self._rows, "timing", None)
        return {name: round(value, 4) for name, value in timing.items()} if timing else None

    # --- admission ----------------------------------------------------------

    def submit(self, prompt: str, params: Any, prompt_tokens: int | None = None) -> QueuedRequest:
        """Admit a request or raise `QueueFull`."""
        if prompt_tokens is None:
            prompt_tokens = self.count_tokens(prompt)
        with self._lock:
            if self._stopped:
                raise RuntimeError("the generation service is stopped")
            if len(self._admitted) >= self.max_queue:
                raise QueueFull(self._retry_after(), self.max_queue)
            job = QueuedRequest(self, prompt, params, prompt_tokens)
            self._admitted.add(job)
            self._pending.append(job)
            self._lock.notify_all()
            return job

    def _retry_after(self) -> int:
        """Seconds until a place is likely free: the batches (or rows, per free slot) ahead, at the recent pace."""
        batches_ahead = max(1, math.ceil(len(self._pending) / self.max_batch))
        return max(1, math.ceil(batches_ahead * self._batch_seconds))

    def warm_up(self, timeout: float = 900) -> bool:
        """Compile the continuous batch's shapes now, in the worker (between steps, as the cache is its own).

        Static batching and one-at-a-time warm up through the generator's own `warm_up`."""
        if self.scheduler != CONTINUOUS:
            return False
        done = threading.Event()
        with self._lock:
            self._warm_requests.append(done)
            self._lock.notify_all()
        return done.wait(timeout)

    def _release(self, job: QueuedRequest) -> None:
        with self._lock:
            self._admitted.discard(job)
            if job in self._pending:
                self._pending.remove(job)
            self._lock.notify_all()

    def close(self) -> None:
        """Stop the worker; jobs still waiting fail."""
        with self._lock:
            self._stopped = True
            waiting, self._pending = self._pending, []
            self._lock.notify_all()
        for job in waiting:
            job._fail(RuntimeError("the server is shutting down"))
        self._thread.join(timeout=10)

    # --- the worker -----------------------------------------------------------

    def _next_batch(self) -> list[QueuedRequest] | None:
        """The next requests to generate together.

        Gathering starts once there is work and the worker is free; it lasts
        `batch_window`, or up to `batch_wait` while fewer requests are here
        than expected: those waiting plus the clients of the batch that just
        ended, who usually come back (without this, two half batches would
        alternate for ever).
        """
        with self._lock:
            free_since = time.monotonic()
            last = self.batch_sizes[-1] if self.batch_sizes else 1
            expected = min(self.max_batch, len(self._pending) + last)
            while not self._pending and not self._stopped:
                self._lock.wait()
            if self._stopped:
                return None
            start = max(free_since, self._pending[0].admitted_at)
            while len(self._pending) < self.max_batch and not self._stopped:
                gathered = time.monotonic() - start
                if gathered >= self.batch_wait or (gathered >= self.batch_window and len(self._pending) >= expected):
                    break
                until = self.batch_window if gathered < self.batch_window else self.batch_wait
                self._lock.wait(until - gathered)
            batch, self._pending = self._pending[:self.max_batch], self._pending[self.max_batch:]
            return [job for job in batch if not job.cancelled]

    def _run(self) -> None:
        if self.scheduler == CONTINUOUS:
            self._run_continuous()
            return
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            batch = [job for job in batch if not job.cancelled]
            if not batch:
                continue
            started = time.monotonic()
            for job in batch:
                job.started_at = started
            # Recorded before running: rows are answered as they end, so a client may look before the batch is over.
            self.batch_sizes.append(len(batch))
            del self.batch_sizes[:-1000]
            try:
                with self._running(len(batch)):
                    if len(batch) == 1 and not self.batching:
                        self._run_single(batch[0])
                    else:
                        self._run_batch(batch)
            except Exception as error:  # the generator failed: tell every row, keep serving
                for job in batch:
                    job._fail(error)
            seconds = time.monotonic() - started
            self._batch_seconds = 0.7 * self._batch_seconds + 0.3 * seconds
            self.batches_run += 1
            for job in batch:
                self._observe_static_row(job)

    # --- continuous batching ----------------------------------------------------------

    def _run_continuous(self) -> None:
        """Step after step: drop the rows whose client left, fill the free slots, one token for every row."""
        running: dict[int, QueuedRequest] = {}
        while True:
            with self._lock:
                while not (self._pending or running or self._warm_requests or self._stopped):
                    self._lock.wait()
                if self._stopped:
                    break
                warm = self._warm_requests if not running else []
                self._warm_requests = [] if warm else self._warm_requests
            try:
                rows = self._continuous_rows()
                for done in warm:
                    warm_up = getattr(rows, "warm_up", None)
                    if warm_up is not None:
                        warm_up()
                    done.set()
                for slot, job in list(running.items()):
                    if job.cancelled:
                        rows.remove(slot)
                        del running[slot]
                        job._finish(CANCELLED, 0)
                with self._lock:
                    newcomers = []
                    while self._pending and len(newcomers) < rows.free:
                        job = self._pending.pop(0)
                        if not job.cancelled:
                            newcomers.append(job)
                for job in newcomers:
                    self._start_row(rows, job, running)
                if running:
                    started = time.monotonic()
                    self.running = len(running)
                    self.batch_sizes.append(len(running))
                    del self.batch_sizes[:-1000]
                    events = rows.step()
                    for event in events:
                        self._deliver(running, event, step_seconds=time.monotonic() - started)
                    self.running = len(running)
                    self.batches_run += 1
                    if events:   # a row's pace: 100 steps' worth, for Retry-After
                        self._batch_seconds = 0.7 * self._batch_seconds + 0.3 * 100 * (time.monotonic() - started)
            except Exception as error:  # the generator failed: tell every running row, keep serving
                for job in running.values():
                    job._fail(error)
                running.clear()
                self.running = 0
                self._rows = None       # a fresh batch (and cache) for the next requests
        for job in running.values():
            job._fail(RuntimeError("the server is shutting down"))

    def _continuous_rows(self):
        if self._rows is None:
            self._rows = self.generator.continuous(self.max_batch, sampler=self.sampler)
        return self._rows

    def _start_row(self, rows, job: QueuedRequest, running: dict) -> None:
        job.started_at = time.monotonic()
        try:
            event = rows.add(job.prompt, job.params)
        except Exception as error:   # this request's input: only this job fails
            job._fail(error)
            return
        running[event.slot] = job
        job.slot = event.slot
        self._deliver(running, event, step_seconds=None)

    def _observe_first_token(self, job: QueuedRequest) -> None:
        if self.metrics is not None:
            self.metrics.first_token(self.name, job.first_token_at - job.admitted_at)

    def _observe_static_row(self, job: QueuedRequest) -> None:
        """Static batching and one at a time: the row's tokens and their mean pace, once it ended."""
        outcome = job.outcome
        if self.metrics is None or outcome is None or not outcome.new_tokens:
            return
        self.metrics.tokens(self.name, outcome.new_tokens)
        if job.first_token_at is not None and outcome.new_tokens > 1:
            pace = (job.admitted_at + outcome.seconds - job.first_token_at) / (outcome.new_tokens - 1)
            for _ in range(outcome.new_tokens - 1):
                self.metrics.token(self.name, pace)

    def _deliver(self, running: dict, event, step_seconds: float | None) -> None:
        """A row's new token: its piece to the client, the metrics, and its answer if it ended."""
        job = running[event.slot]
        if job.first_token_at is None:
            job.first_token_at = time.monotonic()
            self._observe_first_token(job)
        elif self.metrics is not None and step_seconds is not None:
            self.metrics.token(self.name, step_seconds)
        if self.metrics is not None:
            self.metrics.tokens(self.name, 1)
        job._put(event.piece)
        if event.finish_reason is not None:
            del running[event.slot]
            job._finish(event.finish_reason, event.new_tokens)

    @contextmanager
    def _running(self, rows: int):
        self.running = rows
        try:
            yield
        finally:
            self.running = 0

    def _run_single(self, job: QueuedRequest) -> None:
        pieces = self.generator.stream(job.prompt, job.params)
        try:
            for piece in pieces:
                job._put(piece)
                if job.cancelled:
                    break
        finally:
            pieces.close()
        job._finish(pieces.finish_reasons[0] or "length", pieces.new_tokens[0])

    def _run_batch(self, batch: list[QueuedRequest]) -> None:
        steps = self.generator.stream_batch([job.prompt for job in batch], [job.params for job in batch])
        try:
            for step in steps:
                for job, piece in zip(batch, step):
                    job._put(piece)
                for job, reason, count in zip(batch, steps.finish_reasons, steps.new_tokens):
                    if reason is not None:     # this row ended early: answer it now
                        job._finish(reason, count)
                if all(job.cancelled or job._finished for job in batch):
                    break
        finally:
            steps.close()
        for job, reason, count in zip(batch, steps.finish_reasons, steps.new_tokens):
            job._finish(reason or "length", count)

