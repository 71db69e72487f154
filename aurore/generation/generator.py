"""Text generation: load a model directory, stream text as tokens come.

Interface (used by the CLI, the writers' page and the JSON API)::

    from aurore.generation.generator import Generator, SamplingParams   # SamplingParams: aurore/generation/sampling.py

    generator = Generator.load(model_dir, exercises.rules("generate"))   # AuroreError if missing/broken
    params = SamplingParams(max_new_tokens=100, strategy="top_p", temperature=0.8,
                            top_k=40, top_p=0.95, seed=1, stop_at_sentence_end=False,
                            stop=("\\n\\n",))          # AuroreError naming a bad field
    generator.max_context                            # tokens the model can see
    generator.count_tokens("Il était une fois")
    result = generator.generate(prompt, params)      # GenerationResult
    stream = generator.stream(prompt, params)        # iterator of text pieces
    for piece in stream: ...
    stream.result                                    # GenerationResult once exhausted
    batch = generator.stream_batch(prompts, params_list)
    for pieces in batch: ...                         # one str per row per step ("" if none)
    batch.results                                    # list[GenerationResult] once exhausted
    batch.finish_reasons, batch.new_tokens           # live, one entry per row (None: still writing);
                                                     # `stream` has them too (lists of one)
    stream.close(), batch.close()                    # stop early (client gone)
    rows = generator.continuous(slots=16)            # continuous batching, the server's:
                                                     # aurore/generation/continuous.py

`GenerationResult`: text (the new text only), prompt_tokens (tokens the model
read), new_tokens, finish_reason ("length" | "stop" | "sentence_end" |
"end_of_text"), seconds, first_token_seconds, seed (the seed used: pass it
back to get the same text), truncated_prompt_tokens (prompt tokens dropped
from the left because the context was full).

Guarantees: the concatenation of the streamed pieces equals
`generate(prompt, params).text` for the same seed; pieces never split a
character (byte-level tokens may end mid-UTF-8 character; those bytes are
held back until the character is complete); a stop string never appears in
the text (OpenAI-style: the text stops just before it, so text that might be
the start of a stop string is held back too). A row of `stream_batch` gives
the same tokens as `stream` with the same params and seed, up to float
rounding differences between batch shapes (none seen with the tiny test
model; a near-tie between two tokens could in principle differ).

Sentences: Aurore's models are trained on `<|endoftext|> sentence
<|endoftext|> sentence …` (exercise 5), so that token separates sentences:
prompts are fed the same way (split into sentences by the corpus's own Punkt
model when the model folder carries it, `sentence_splitter.json`, else by
rule), and when the model
writes it, the text gets a space and goes on ("end_of_text" is then never a
finish reason; `stop_at_sentence_end` stops there). `Generator.load(…,
sentences_separated=False)` treats it as the end of the text instead.

Context: the model sees at most `max_context` tokens (prompt + new). A long
prompt keeps its last `max(max_context - max_new_tokens, max_context // 2)`
tokens; generation ends with "length" when the context is full.

Where things live (one source of truth each):
- the sampling settings, their defaults and limits: `aurore/generation/sampling.py`;
- the sampling rules (greedy, temperature, top-k, top-p) and the writing loop
  are exercise 6 (`solutions/06_generate.py`, or the learner's file with
  variant="exercise"): plain NumPy on one logits vector;
- `aurore/generation/cached_model.py` runs the model fast: a key/value cache, prompts
  padded to a few fixed lengths ("buckets", so that tf.function/XLA compile
  each shape once), several rows in one forward pass;
- `aurore/generation/decoding.py` turns token ids into safe text pieces and applies the
  stop rules (stop strings, sentence end);
- this module puts them together: `stream` drives the exercise's `decode`
  loop; `stream_batch` runs the same loop for several rows at once, calling
  the exercise's `choose_next_token` (a test checks that both agree).
"""

from __future__ import annotations

import copy
import random
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator, Sequence

import aurore  # noqa: F401  (Keras backend before keras is imported)
from aurore.errors import AuroreError
from aurore.generation.cached_model import CachedModel, default_xla, limit_threads  # noqa: F401  (re-exported)
from aurore.corpus.sentence_ends import split_prompt
from aurore.generation.decoding import clean_text, TextAssembler
from aurore.generation.sampling import SamplingParams  # also re-exported: part of the generator's interface

#: Prompts longer than this many characters per context token are cut from
#: the left before tokenizing (only the last tokens are kept anyway).
_CHARS_PER_TOKEN_KEPT = 64


@dataclass
class GenerationResult:
    text: str
    prompt_tokens: int
    new_tokens: int
    finish_reason: str
    seconds: float
    seed: int
    first_token_seconds: float | None = None
    truncated_prompt_tokens: int = 0


class _RowModel:
    """The `model` object the exercise's `decode` loop talks to: one row."""

    def __init__(self, engine: CachedModel, new_tokens: int | None = None):
        self.engine, self.new_tokens, self.state = engine, new_tokens, None

    def start(self, prompt_ids):
        logits, self.state = self.engine.prefill([list(prompt_ids)], self.new_tokens)
        return logits[0]

    def next(self, token_id):
        if self.state["slot"] >= self.state["length"]:  # the cache holds the prompt + max_new_tokens
            raise AuroreError("Exercise 6: the writing loop asked the model for more tokens than "
                              "params.max_new_tokens (model.next is called once per new token, but the last). "
                              "Check it with `python -m aurore check 6`.")
        return self.engine.step(self.state, [int(token_id)])[0]


# --------------------------------------------------------------------------
# Streams


class _RowsInfo:
    """Live per-row facts while a stream runs: `finish_reasons` (None while a
    row is still writing) and `new_tokens` (tokens so far), one entry per row."""

    _rows: list

    @property
    def finish_reasons(self) -> list[str | None]:
        return [row.finish_reason for row in self._rows]

    @property
    def new_tokens(self) -> list[int]:
        return [row.new_tokens for row in self._rows]


class GenerationStream(_RowsInfo):
    """Iterator of text pieces; `.result` (GenerationResult) once exhausted.

    Also `finish_reasons` / `new_tokens` (lists of one entry), live.
    """

    def __init__(self, pieces: Iterator[str], rows: list | None = None):
        self._pieces = pieces
        self._rows = rows or []
        self.result: GenerationResult | None = None

    def __iter__(self):
        return self

    def __next__(self) -> str:
        return next(self._pieces)

    def close(self) -> None:
        self._pieces.close()


class BatchStream(_RowsInfo):
    """Iterator of lists of pieces (one per row); `.results` once exhausted.

    Also `finish_reasons` / `new_tokens` (one entry per row), live: a row
    whose reason is set has ended and only gets "" from then on.
    """

    def __init__(self, pieces: Iterator[list[str]], rows: list | None = None):
        self._pieces = pieces
        self._rows = rows or []
        self.results: list[GenerationResult] | None = None

    def __iter__(self):
        return self

    def __next__(self) -> list[str]:
        return next(self._pieces)

    def close(self) -> None:
        self._pieces.close()


@dataclass
class _Row:
    """One request being generated: its prompt, params, RNG and text."""

    prompt_ids: list[int]
    params: SamplingParams
    seed: int
    truncated: int
    assembler: TextAssembler
    rng: object
    new_tokens: int = 0
    finish_reason: str | None = None
    first_token_seconds: float | None = None


def _corpus_splitter(parameters: dict | None):
    """The Punkt splitter the training corpus was cut with, from its saved parameters (None if none or unreadable)."""
    if not parameters:
        return None
    from aurore.corpus import sentences  # imports NLTK (about a second): only for models that carry it

    try:
        return sentences.SentenceSplitter(sentences.parameters_from_json(parameters))
    except (ValueError, KeyError, TypeError):
        return None


class Generator:
    """A loaded model ready to write; see the module docstring for the interface."""

    def __init__(self, loaded, rules, xla: bool | None = None, sentences_separated: bool | None = None):
        """`rules`: exercise 6's code that chooses the tokens, the solution's or
        the learner's (`aurore.course.exercises.rules("generate", variant)`,
        whose functions explain a TODO left in them).

        `sentences_separated`: the model was trained on `<|endoftext|> sentence
        <|endoftext|> sentence …` (Aurore's packing, exercise 5): that token then
        separates sentences, it does not end the text. Prompts are fed the same
        way and generation goes on past it (it becomes a space). Default: the
        model's settings key `eos_separates_sentences`, else True.
        """
        self.model = loaded
        self.tokenizer = loaded.tokenizer
        self.engine = CachedModel(loaded.backbone, xla)
        self.max_context = self.engine.max_context
        self.rules = rules
        self.variant = rules.variant
        eos = self.tokenizer.eos_token_id
        self.eos_id = int(eos) if eos is not None else None
        if sentences_separated is None:
            sentences_separated = bool(loaded.settings.get("eos_separates_sentences", True))
        self.sentences_separated = sentences_separated and self.eos_id is not None
        #: the token that ends generation (-1: none, the loop runs to its limit or a stop)
        self.end_of_text_id = -1 if self.sentences_separated or self.eos_id is None else self.eos_id
        #: the corpus's own Punkt model when the model folder carries it; None: prompts are cut by rule
        self.prompt_splitter = _corpus_splitter(getattr(loaded, "splitter", None)) if self.sentences_separated else None

    @classmethod
    def load(cls, model_dir, rules, xla: bool | None = None,
             sentences_separated: bool | None = None) -> "Generator":
        from aurore.store import modeldir

        return cls(modeldir.load(Path(model_dir)), rules, xla, sentences_separated)

    @property
    def name(self) -> str:
        return self.model.name

    def with_rules(self, rules) -> "Generator":
        """The same loaded model and compiled engine, choosing tokens with another exercise-6 module."""
        twin = copy.copy(self)
        twin.rules, twin.variant = rules, rules.variant
        return twin

    def continuous(self, slots: int, sampler: str = "compiled"):
        """A continuous batch of `slots` rows on this model (aurore/generation/continuous.py):
        rows join and leave between steps; `sampler` "compiled" (all rows in the compiled
        step) or "exercise" (this generator's exercise-6 rules, row by row)."""
        from aurore.generation.continuous import ContinuousBatch

        return ContinuousBatch(self, slots, sampler)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(clean_text(text), add_special_tokens=False)["input_ids"])

    def warm_up(self, batch_sizes: Sequence[int] = (1,), widths: Sequence[int] | None = None,
                new_tokens: Sequence[int] = (SamplingParams.max_new_tokens,)) -> None:
        """Compile ahead of time (each new shape costs seconds), so the first request is fast.

        Shapes: batch size, prompt width, and cache length (prompt + `new_tokens`, bucketed:
        the shortest and the longest prompt of a width may need different lengths).
        """
        buckets = self.engine.buckets
        for batch in batch_sizes:
            for width in widths or buckets[:2]:
                shortest = max([size for size in buckets if size < width], default=0) + 1
                for count in new_tokens:
                    for length in sorted({shortest, width}):
                        _, state = self.engine.prefill([[0] * length] * batch, count)
                        self.engine.step(state, [0] * batch)

    # -- preparing rows

    def _prompt_ids(self, prompt: str, params: SamplingParams) -> tuple[list[int], int]:
        if not isinstance(prompt, str):
            raise AuroreError(f"The prompt must be a string, not {type(prompt).__name__}.")
        keep = max(self.max_context - params.max_new_tokens, self.max_context // 2)
        prompt = clean_text(prompt[-keep * _CHARS_PER_TOKEN_KEPT:])
        ids = self._encode(prompt)
        if not ids:  # nothing to read: start as after the end of a text
            ids = [self.eos_id if self.eos_id is not None else 0]
        truncated = max(0, len(ids) - keep)
        return list(ids[truncated:]), truncated

    def _encode(self, prompt: str) -> list[int]:
        """Token ids as the model saw text in training (sentences between end-of-text tokens)."""
        def encode(text):
            return list(self.tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []

        if not self.sentences_separated:
            return encode(prompt)
        ids = [self.eos_id]
        for sentence in split_prompt(prompt, self.prompt_splitter):
            if len(ids) > 1:
                ids.append(self.eos_id)
            ids.extend(encode(sentence))
        return ids

    def _row(self, prompt: str, params: SamplingParams) -> _Row:
        import numpy as np

        if not isinstance(params, SamplingParams):
            raise AuroreError(f"params must be SamplingParams, not {type(params).__name__}.")
        ids, truncated = self._prompt_ids(prompt, params)
        room = self.max_context - len(ids)
        params = replace(params, max_new_tokens=min(params.max_new_tokens, room))
        seed = params.seed if params.seed is not None else random.SystemRandom().randrange(2**31)
        assembler = TextAssembler(self.tokenizer, params.stop, params.stop_at_sentence_end,
                                  separator_id=self.eos_id if self.sentences_separated else None)
        return _Row(ids, params, seed, truncated, assembler, np.random.default_rng(seed))

    @staticmethod
    def _result(row: _Row, started: float) -> GenerationResult:
        return GenerationResult(text=row.assembler.emitted, prompt_tokens=len(row.prompt_ids),
                                new_tokens=row.new_tokens, finish_reason=row.finish_reason or "length",
                                seconds=round(time.perf_counter() - started, 4), seed=row.seed,
                                first_token_seconds=row.first_token_seconds,
                                truncated_prompt_tokens=row.truncated)

    def _accept(self, row: _Row, token: int, started: float) -> str:
        """Add one token to a row; returns its text piece, marking the row finished on a stop."""
        row.new_tokens += 1
        if row.first_token_seconds is None:
            row.first_token_seconds = round(time.perf_counter() - started, 4)
        piece, reason = row.assembler.add(token)
        if reason:
            row.finish_reason = reason
        elif row.new_tokens >= row.params.max_new_tokens:
            row.finish_reason = "length"
            piece += row.assembler.finish()
        return piece

    # -- the interface

    def stream(self, prompt: str, params: SamplingParams | None = None) -> GenerationStream:
        """Text pieces as tokens come; the exercise's `decode` loop chooses them."""
        params = params or SamplingParams()
        row = self._row(prompt, params)
        stream = GenerationStream(iter(()), [row])

        def pieces() -> Iterator[str]:
            started = time.perf_counter()
            tokens = iter(())
            try:
                model = _RowModel(self.engine, row.params.max_new_tokens)
                tokens = iter(self.rules.decode(model, row.prompt_ids, row.params, row.rng, self.end_of_text_id))
                while row.finish_reason is None:
                    try:
                        token = next(tokens)
                    except StopIteration:
                        row.finish_reason = ("end_of_text" if row.new_tokens < row.params.max_new_tokens
                                             else "length")
                        piece = row.assembler.finish()
                    else:
                        piece = self._accept(row, token, started)
                    if piece:
                        yield piece
            finally:
                if hasattr(tokens, "close"):
                    tokens.close()
            stream.result = self._result(row, started)

        stream._pieces = pieces()
        return stream

    def generate(self, prompt: str, params: SamplingParams | None = None) -> GenerationResult:
        stream = self.stream(prompt, params)
        for _ in stream:
            pass
        return stream.result

    def stream_batch(self, prompts: Sequence[str], params: Sequence[SamplingParams] | SamplingParams) -> BatchStream:
        """Several rows in one forward pass per step; yields one piece per row per step."""
        prompts = list(prompts)
        if isinstance(params, SamplingParams):
            params = [params] * len(prompts)
        params = list(params)
        if not prompts:
            raise AuroreError("stream_batch needs at least one prompt.")
        if len(params) != len(prompts):
            raise AuroreError(f"stream_batch got {len(prompts)} prompts but {len(params)} SamplingParams.")
        rows = [self._row(prompt, p) for prompt, p in zip(prompts, params)]
        batch = BatchStream(iter(()), rows)

        def pieces() -> Iterator[list[str]]:
            started = time.perf_counter()
            logits, state = self.engine.prefill([row.prompt_ids for row in rows],
                                                max(row.params.max_new_tokens for row in rows))
            while True:
                out, tokens = [], []
                for i, row in enumerate(rows):
                    piece, token = "", 0
                    if row.finish_reason is None:
                        token = self.rules.choose_next_token(logits[i], row.params, row.rng)
                        if token == self.end_of_text_id:
                            row.finish_reason = "end_of_text"
                            piece = row.assembler.finish()
                        else:
                            piece = self._accept(row, token, started)
                    out.append(piece)
                    tokens.append(int(token))
                yield out
                if all(row.finish_reason for row in rows):
                    break
                logits = self.engine.step(state, tokens)
            batch.results = [self._result(row, started) for row in rows]

        batch._pieces = pieces()
        return batch
