"""Continuous batching: rows join and leave a running batch between steps, each in its own cache slot.

Interface (the generation service's worker drives it; one thread only)::

    batch = generator.continuous(slots=16)            # sampler="compiled" (default) or "exercise"
    event = batch.add(prompt, params)                 # prefill into a free slot: its first token, now
    events = batch.step()                             # one token for every busy row (RowEvent each)
    batch.remove(event.slot)                          # a client left: the slot is free for the next add
    batch.free, batch.busy                            # free slots; busy slot numbers

A `RowEvent` is (slot, piece, finish_reason, new_tokens): the text piece the
token added (often "" while a character or a possible stop string is held
back), and the finish reason once the row ended — its slot is then free.

What a step does: the last token of each busy row goes through the model
(`aurore/generation/slot_model.py`: one compiled call for the first
`row_bucket` slots, the cache updated in place), the same call chooses every
row's next token (`compiled_sampling.choose`, exercise 6's rules), and
Python turns each token into text (`decoding.TextAssembler`: incremental
UTF-8, stop strings, sentence ends). A newcomer does not wait for the batch
to end: `add` reads its prompt between two steps and it writes from then on;
a row that ends (length, stop, end of text) frees its slot that step.

Where the time goes (bench/batch_ratio.py, the trained `cpu` model, 16
rows, docs/benchmarks.md "Load"): with static batching a step was about 5 ms
of forward pass and 7-10 ms of exercise 6's NumPy sampling row by row; here
one compiled call takes 4.8-5.1 ms for both (2.4-2.6 ms forward, 2.4-2.5 ms
sampling) and Python 0.2 ms: 16 rows write 1,800-2,550 tokens/s in-process,
3.2-4.5x one row at a time. Through the HTTP server the same steps give
1,470-2,000 tokens/s (3.9-4.2x the one-at-a-time server, quiet): the
per-token hand-off to the clients' threads is the next cost, not the step. `timing` (seconds in the compiled calls and in
Python, steps, rows) lets a benchmark split it.

Seeds: a row draws with a stateless RNG keyed on (seed, token index), and a
row's numbers never depend on the other rows, so a seed gives the same text
alone or among 16 (the step's row count changes the matrix shapes, so a
float rounding could in principle differ; the tests compare the texts).
`sampler="exercise"` chooses with exercise 6's own code instead, row by row
in NumPy (the seed then gives exercise 6's text, as `Generator.generate`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from aurore.errors import AuroreError
from aurore.generation import compiled_sampling
from aurore.generation.slot_model import SlotModel, row_bucket

SAMPLERS = ("compiled", "exercise")


@dataclass
class RowEvent:
    slot: int
    piece: str
    finish_reason: str | None
    new_tokens: int


class ContinuousBatch:
    """`slots` rows of one loaded model, filled and freed one by one."""

    def __init__(self, generator, slots: int, sampler: str = "compiled"):
        if sampler not in SAMPLERS:
            raise AuroreError(f"sampler is {sampler!r}; it must be one of {', '.join(SAMPLERS)}.")
        self.generator = generator
        self.sampler = sampler
        self.model = SlotModel(generator.model.backbone, slots, generator.engine.xla)
        self.slots = self.model.slots
        self._rows: list = [None] * self.slots
        self._started = [0.0] * self.slots
        self._tokens = np.zeros(self.slots, dtype="int32")       # the last token, fed at the next step
        self._positions = np.zeros(self.slots, dtype="int32")    # where it is written in the cache
        self._settings = compiled_sampling.row_settings([], [])
        for name, values in self._settings.items():
            self._settings[name] = np.zeros(self.slots, dtype=values.dtype)
        self._settings["temperature"][:] = 1.0
        self._settings["top_p"][:] = 1.0
        self._settings["top_k"][:] = 1
        self._settings["index"] = np.zeros(self.slots, dtype="int32")
        #: seconds spent in the compiled calls and in Python, and steps run: where the time goes
        self.timing = {"steps": 0, "rows": 0, "prefills": 0, "model_seconds": 0.0, "python_seconds": 0.0}

    @property
    def busy(self) -> list[int]:
        return [slot for slot, row in enumerate(self._rows) if row is not None]

    @property
    def free(self) -> int:
        return sum(row is None for row in self._rows)

    def warm_up(self) -> int:
        """Compile every shape (see slot_model); returns how many."""
        return self.model.warm_up(sample=self.sampler == "compiled")

    def add(self, prompt: str, params) -> RowEvent:
        """Prefill a prompt into the lowest free slot; its first token's event (AuroreError on bad input)."""
        row = self.generator._row(prompt, params)      # checks, tokenizes, cuts a long prompt, picks the seed
        slot = self._rows.index(None) if None in self._rows else None
        if slot is None:
            raise AuroreError(f"every one of the {self.slots} slots is busy: wait for a row to end.")
        started = time.perf_counter()
        self._rows[slot], self._started[slot] = row, started
        one = compiled_sampling.row_settings([row.params], [row.seed])
        for name, values in one.items():
            self._settings[name][slot] = values[0]
        self._settings["index"][slot] = 0
        try:
            if self.sampler == "compiled":
                settings = {name: values[slot:slot + 1] for name, values in self._settings.items()}
                token = self.model.prefill(slot, row.prompt_ids, settings)
            else:
                logits = self.model.prefill(slot, row.prompt_ids)
                token = self.generator.rules.choose_next_token(logits, row.params, row.rng)
        except BaseException:
            self._rows[slot] = None
            raise
        middle = time.perf_counter()
        event = self._take(slot, int(token))
        self.timing["prefills"] += 1
        self.timing["model_seconds"] += middle - started
        self.timing["python_seconds"] += time.perf_counter() - middle
        return event

    def step(self) -> list[RowEvent]:
        """One token for every busy row; their events, in slot order."""
        busy = self.busy
        if not busy:
            return []
        started = time.perf_counter()
        rows = row_bucket(busy[-1] + 1, self.slots)
        for slot in busy:
            self._settings["index"][slot] = self._rows[slot].new_tokens
        if self.sampler == "compiled":
            settings = {name: values[:rows] for name, values in self._settings.items()}
            tokens = self.model.step(self._tokens[:rows], self._positions[:rows], settings)
        else:
            logits = self.model.step(self._tokens[:rows], self._positions[:rows])
            tokens = [self.generator.rules.choose_next_token(logits[slot], self._rows[slot].params,
                                                             self._rows[slot].rng) if slot in busy else 0
                      for slot in range(rows)]
        middle = time.perf_counter()
        events = [self._take(slot, int(tokens[slot])) for slot in busy]
        self.timing["steps"] += 1
        self.timing["rows"] += len(busy)
        self.timing["model_seconds"] += middle - started
        self.timing["python_seconds"] += time.perf_counter() - middle
        return events

    def remove(self, slot: int) -> None:
        """Free a slot (its client left); the next step no longer writes for it."""
        self._rows[slot] = None

    def _take(self, slot: int, token: int) -> RowEvent:
        """A row's new token: its text, its finish reason, and what the next step feeds."""
        row = self._rows[slot]
        if token == self.generator.end_of_text_id:
            row.finish_reason = "end_of_text"
            piece = row.assembler.finish()
        else:
            piece = self.generator._accept(row, token, self._started[slot])
        self._tokens[slot] = token
        self._positions[slot] = len(row.prompt_ids) + row.new_tokens - 1
        if row.finish_reason is not None:
            self._rows[slot] = None
        return RowEvent(slot, piece, row.finish_reason, row.new_tokens)
