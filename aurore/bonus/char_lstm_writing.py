"""The char-LSTM writes (bonus A): one character at a time, with the generation exercise's sampler rules.

Why a module of its own: `char_lstm` trains and measures; this one writes,
for `python -m aurore char-lstm generate` and the writers' comparison. The
rules that choose each character (`choose_next_token(logits, params, rng)`,
exercise 5's) are passed in, never loaded here, and take the same
`SamplingParams` as GPT-2: a character is the LSTM's token.

How it keeps what it has read: a *stateful* run. The trained model's layers
(Embedding, LSTM cells, Dense) are called one character at a time, each LSTM
cell's state carried from one character to the next, so a new character costs
one step whatever the length of the text. A model of another shape (a
learner's `build_model` may stack other layers) is run on the growing window
instead, cut to the training's `sequence_length`: every new character reads
the whole window again. Measured with the `cpu` preset's shape (512 units, a
window of 128), 200 characters after a 120-character prompt, on a shared 2-core
machine (load 7): the state 0.31 s (1.2 s the first time, tracing), the window
12.5 to 17 s; on `tiny` (a window of 16) the two are close
(`tests/test_char_lstm_writing.py` prints them). In both, a prompt
longer than the window is cut to its last `sequence_length` characters: the
model never learnt to read further back.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from aurore.bonus import char_lstm
from aurore.errors import AuroreError
from aurore.generation.sampling import SamplingParams

SEPARATOR = "\n"      # exercise 7's SEPARATOR: between two sentences (the end of one)


@dataclass
class Written:
    """What the char-LSTM wrote: the new text (after the prompt) and how it stopped."""

    text: str
    new_characters: int
    finish_reason: str      # "length", "end_of_sentence" (it chose the separator) or "stop" (a stop string)
    seed: int | None
    seconds: float
    prompt_used: str        # the prompt as the model read it (its end, when cut to the window)
    stateful: bool


class Writer:
    """A loaded char-LSTM that writes; one text at a time (a lock: the web app's threads share it)."""

    def __init__(self, model, vocabulary: list[str], settings: dict):
        self.model, self.vocabulary, self.settings = model, list(vocabulary), dict(settings)
        self.window = int(settings.get("sequence_length") or 128)
        self.ids = {character: index for index, character in enumerate(self.vocabulary)}
        if SEPARATOR not in self.ids:
            raise AuroreError("This char-LSTM's vocabulary has no separator (\\n). Train it again with "
                              "`python -m aurore char-lstm --restart`.")
        self._lock = threading.Lock()
        self._step = _stateful_step(model)

    @classmethod
    def load(cls, model_dir) -> "Writer":
        model, vocabulary, settings = char_lstm.load(model_dir)
        return cls(model, vocabulary, settings)

    @property
    def stateful(self) -> bool:
        return self._step is not None

    def prompt_ids(self, prompt: str) -> tuple[str, list[int]]:
        """(the prompt as read, its ids): the separator that starts every sentence, then the characters,
        cut to the window's last characters; an unknown character is id 0, as in training."""
        ids = [self.ids[SEPARATOR]] + [self.ids.get(character, 0) for character in prompt]
        kept = ids[-self.window:]
        return prompt[len(prompt) - min(len(prompt), len(kept)):], kept

    def write(self, prompt: str, params: SamplingParams, rules: ModuleType, *, stateful: bool | None = None,
              max_characters: int | None = None) -> Written:
        """Write after `prompt` with exercise 5's `choose_next_token` (`rules`), following `params`.

        At most `max_characters` (else `params.max_new_tokens`: a character is
        this model's token); the separator ends the text (a sentence ends there);
        a stop string cuts it before. `stateful` forces one way (for measuring).
        """
        started = time.perf_counter()
        limit = max_characters or params.max_new_tokens
        rng = np.random.default_rng(params.seed)
        prompt_used, ids = self.prompt_ids(prompt)
        use_state = self.stateful if stateful is None else (stateful and self.stateful)
        written: list[str] = []
        reason = "length"
        with self._lock:
            reader = self._stateful_reader(ids) if use_state else self._window_reader(ids)
            logits = next(reader)
            for count in range(limit):
                logits = np.asarray(logits, dtype=np.float64).copy()
                logits[0] = -np.inf                   # UNKNOWN is no character: never write it
                chosen = _checked_choice(rules.choose_next_token(logits, params, rng), len(logits))
                if self.vocabulary[chosen] == SEPARATOR:
                    reason = "end_of_sentence"
                    break
                written.append(self.vocabulary[chosen])
                text = "".join(written)
                stop = next((s for s in params.stop if s in text), None)
                if stop is not None:
                    written, reason = [text[:text.index(stop)]], "stop"
                    break
                if params.stop_at_sentence_end and _ends_a_sentence(text):
                    reason = "end_of_sentence"
                    break
                if count + 1 < limit:
                    logits = reader.send(chosen)
        text = "".join(written)
        return Written(text, len(text), reason, params.seed, time.perf_counter() - started, prompt_used, use_state)

    # -- two ways to read: the carried state, or the window read again ------------------------------
    def _stateful_reader(self, ids: list[int]):
        states = None
        for index in ids[:-1]:
            _, states = self._step(index, states)
        logits, states = self._step(ids[-1], states)
        while True:
            chosen = yield logits
            logits, states = self._step(chosen, states)

    def _window_reader(self, ids: list[int]):
        import tensorflow as tf

        if getattr(self, "_window_call", None) is None:     # compiled once: a growing window is one trace
            self._window_call = tf.function(lambda batch: self.model(batch, training=False)[0, -1],
                                            input_signature=[tf.TensorSpec((1, None), tf.int32)])
        window = list(ids)
        while True:
            batch = tf.constant([window[-self.window:]], dtype=tf.int32)
            logits = self._window_call(batch).numpy()
            chosen = yield logits
            window.append(chosen)


def _checked_choice(chosen, size: int) -> int:
    try:
        index = int(chosen)
    except (TypeError, ValueError):
        index = -1
    if not 0 <= index < size:
        raise AuroreError(f"Exercise 5: `choose_next_token` returned {chosen!r:.40}, not a character id from 0 "
                          f"to {size - 1}. Check it with `python -m aurore check 5`.")
    return index


def _ends_a_sentence(text: str) -> bool:
    """A sentence's end punctuation, as `stop_at_sentence_end` means it for GPT-2's text."""
    return text[-1:] in (".", "!", "?", "…")


def _stateful_step(model):
    """step(id, states) → (logits, states) from the model's own layers, or None if it is not
    Embedding → LSTM… → Dropout… → Dense (then the window is read again)."""
    import keras
    import tensorflow as tf

    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if len(layers) < 3 or not isinstance(layers[0], keras.layers.Embedding) \
            or not isinstance(layers[-1], keras.layers.Dense):
        return None
    middle = layers[1:-1]
    cells = [layer.cell for layer in middle if isinstance(layer, keras.layers.LSTM)]
    if not cells or any(not isinstance(layer, (keras.layers.LSTM, keras.layers.Dropout)) for layer in middle) \
            or any(getattr(layer, "go_backwards", False) for layer in middle):
        return None
    embedding, dense = layers[0], layers[-1]

    @tf.function(reduce_retracing=True)
    def compiled(index, states):
        x = embedding(tf.reshape(index, (1,)))
        new_states = []
        for cell, state in zip(cells, states):
            x, (h, c) = cell(x, state, training=False)
            new_states.append([h, c])
        return dense(x)[0], new_states

    zeros = [[tf.zeros((1, cell.units)), tf.zeros((1, cell.units))] for cell in cells]

    def step(index: int, states):
        logits, states = compiled(tf.constant(index, tf.int32), states if states is not None else zeros)
        return logits.numpy(), states

    return step


# -- which char-LSTM, for the pages ------------------------------------------------------------------
def status(model_dir) -> str | None:
    """None if `model_dir` holds a char-LSTM that loads its config; else why not, in a word:
    "missing" or "broken"."""
    model_dir = Path(model_dir)
    if not model_dir.exists() or not any(model_dir.iterdir()):
        return "missing"
    try:
        config = char_lstm.read_config(model_dir)
    except AuroreError:
        return "broken"
    vocabulary = config.get("vocabulary")
    return None if isinstance(vocabulary, list) and SEPARATOR in vocabulary else "broken"
