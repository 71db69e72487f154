"""How well a model predicts held-out text: loss per token, perplexity, bits per character.

The text is laid out as in training (`eos s1 eos s2 … eos`) and cut into
windows of the model's context; every token after the first is predicted
once, and its log-likelihood (ln p of the real token) kept. Bits per
character divide the total negative log-likelihood, in bits, by the number of
characters (each sentence plus one for its separator, as a newline in a text
file), so tokenizers of any vocabulary compare fairly, and with a compressor
such as xz.

The figures themselves, and the two baselines (a unigram model and xz given
the training books), are computed by exercise 7's functions, passed in as `rules` by the caller
(`aurore.course.exercises.rules("evaluate", variant)`): the reference solution
or the learner's code. This stage never loads the course's code itself.

The report (`evaluate`) also says what a fresh model would score (ln V per
token: even odds over the V tokens of the vocabulary) and what xz scores on
the test book (`aurore.evaluation.baselines`, computed once per dataset). `save_report`
keeps it in the model folder (`evaluation.json`), where the run page and the
writers' page read it; `read_report` returns it only while it still describes
the weights there.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import ModuleType
from typing import Callable

import numpy as np

from aurore import progress
from aurore.errors import AuroreError
from aurore.evaluation.baselines import xz_baseline
from aurore.store import atomic, modeldir, saved_dataset
from aurore.training import packing

REPORT_FILE = "evaluation.json"


def _number(value, function: str) -> float:
    """A figure from exercise 7's code, or a clear message when it is not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise AuroreError(f"Exercise 7: `{function}` returned {value!r:.80} instead of a number. "
                          "Check your code with `python -m aurore check 7`.") from None


def summarise(log_likelihoods, characters: int, rules: ModuleType) -> dict:
    """The three figures from the per-token log-likelihoods (natural log)."""
    log_likelihoods = np.asarray(log_likelihoods, dtype=np.float64)
    if log_likelihoods.size == 0 or characters <= 0:
        raise AuroreError("Nothing to evaluate: the text is empty.")
    return {"loss_per_token": _number(rules.loss_per_token(log_likelihoods), "loss_per_token"),
            "perplexity": _number(rules.perplexity(log_likelihoods), "perplexity"),
            "bits_per_character": _number(rules.bits_per_character(log_likelihoods, characters),
                                          "bits_per_character"),
            "tokens": int(log_likelihoods.size), "characters": int(characters)}


def windows(stream: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inputs, targets, mask): the stream cut into `length`-token windows, the last one padded."""
    predicted = len(stream) - 1
    count = max(math.ceil(predicted / length), 0)
    inputs = np.zeros((count, length), np.int32)
    targets = np.zeros((count, length), np.int32)
    mask = np.zeros((count, length), np.float32)
    for i in range(count):
        piece = stream[i * length:(i + 1) * length + 1]
        n = len(piece) - 1
        inputs[i, :n], targets[i, :n], mask[i, :n] = piece[:-1], piece[1:], 1.0
    return inputs, targets, mask


def token_log_likelihoods(backbone, inputs: np.ndarray, targets: np.ndarray, mask: np.ndarray,
                          batch_size: int = 16) -> np.ndarray:
    """ln p(target) at every masked position, in the stream's order (float64)."""
    import keras_hub
    import tensorflow as tf

    lm = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)

    @tf.function
    def batch_log_likelihoods(x, y):
        logits = lm({"token_ids": x, "padding_mask": tf.ones_like(x)}, training=False)
        return -tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=tf.cast(logits, tf.float32))

    return masked_log_likelihoods(batch_log_likelihoods, inputs, targets, mask, batch_size)


def masked_log_likelihoods(batch_log_likelihoods, inputs: np.ndarray, targets: np.ndarray, mask: np.ndarray,
                           batch_size: int, description: str = "Evaluating", unit: str = "block") -> np.ndarray:
    """`batch_log_likelihoods(x, y)` over the windows, batch by batch, kept where `mask` is set (float64).

    Any model that gives ln p(target) per position is measured the same way (GPT-2, the char-LSTM).
    """
    found = []
    with progress.task(description, total=len(inputs), unit=unit) as task:
        for start in range(0, len(inputs), batch_size):
            end = start + batch_size
            values = batch_log_likelihoods(inputs[start:end], targets[start:end]).numpy()
            found.append(values[mask[start:end] > 0].astype(np.float64))
            task.update(len(inputs[start:end]))
    return np.concatenate(found) if found else np.zeros(0, np.float64)


def _stream(tokenizer, texts) -> np.ndarray:
    """`eos s1 eos s2 … eos`: the layout the model was trained on."""
    eos = tokenizer.eos_token_id
    stream = [eos]
    for ids in packing.tokenize(tokenizer, texts):
        stream.extend(ids)
        stream.append(eos)
    return np.asarray(stream, np.int32)


def _characters(texts) -> int:
    return sum(len(text) + 1 for text in texts)


def try_rules(rules: ModuleType, with_baselines: bool = False) -> None:
    """Run exercise 7's functions once on a tiny case: an unfinished exercise stops at once, not after
    minutes of computation (its NotImplementedError propagates)."""
    summarise(np.log([0.5, 0.25]), 3, rules)
    if with_baselines:
        _unigram(rules, np.array([0, 1]), np.array([1]), 2)
        _number(rules.xz_bits_per_character("ab", "a"), "xz_bits_per_character")


def _unigram(rules: ModuleType, train_ids: np.ndarray, test_ids: np.ndarray, vocab_size: int) -> np.ndarray:
    found = rules.unigram_log_likelihoods(train_ids, test_ids, vocab_size)
    if np.shape(found) != np.shape(test_ids):
        raise AuroreError(f"Exercise 7: `unigram_log_likelihoods` returned {found!r:.80}, not one value per "
                          "test token. Check your code with `python -m aurore check 7`.")
    return found


def evaluate_texts(loaded: modeldir.LoadedModel, texts, rules: ModuleType, batch_size: int = 16) -> dict:
    texts = [text for text in texts if text]
    length = int(loaded.settings.get("sequence_length") or loaded.max_length)
    inputs, targets, mask = windows(_stream(loaded.tokenizer, texts), min(length, loaded.max_length))
    log_likelihoods = token_log_likelihoods(loaded.backbone, inputs, targets, mask, batch_size)
    return summarise(log_likelihoods, _characters(texts), rules)


def baselines(tokenizer, train_texts, test_texts, rules: ModuleType) -> dict:
    """How a unigram model (with this tokenizer) and xz do on the test text; each has `bits_per_character`.

    Both have seen the training books, as the model has: the unigram model
    counts their tokens, xz reads them before the test text.
    """
    train_texts = [text for text in train_texts if text]
    test_texts = [text for text in test_texts if text]
    characters = _characters(test_texts)
    if not train_texts or not characters:
        raise AuroreError("Nothing to compare with: the training or the test text is empty.")
    with progress.task("Baselines (unigram, xz)", total=2, unit="baseline") as task:
        test_ids = _stream(tokenizer, test_texts)[1:]          # the tokens the model predicts
        unigram = _unigram(rules, _stream(tokenizer, train_texts)[1:], test_ids, len(tokenizer))
        task.update(1)
        as_file = "".join(f"{text}\n" for text in test_texts)   # one sentence a line: `characters` long
        xz = rules.xz_bits_per_character(as_file, "".join(f"{text}\n" for text in train_texts))
        task.update(1)
    return {"unigram": summarise(unigram, characters, rules),
            "xz": {"bits_per_character": _number(xz, "xz_bits_per_character"), "characters": characters}}


def evaluate(model_dir, dataset_dir, splits=("test", "validation"), batch_size: int = 16, *,
             rules: ModuleType, reference: ModuleType | None = None, with_baselines: bool = False) -> dict:
    """The report `python -m aurore evaluate` prints.

    `rules`: exercise 7's module (the solution's or the learner's).
    `reference`: the solution's, for the xz figure kept once per dataset
    (`baselines.xz_baseline`); `rules` when not given. With `with_baselines`,
    the report's `baselines` gives the test book's bits per character for a
    unigram model and for xz, computed with `rules`.
    """
    try_rules(rules, with_baselines)
    loaded = modeldir.load(model_dir)
    data = saved_dataset.load(dataset_dir)
    for split in (*splits, *(("train", "test") if with_baselines else ())):
        if split not in data:
            raise AuroreError(f"The dataset has no {split!r} split. Prepare it again with `python -m aurore prepare`.")
    vocab_size = int(loaded.backbone.vocabulary_size)
    report = {"model": str(Path(model_dir)), "step": loaded.settings.get("step"), "vocab_size": vocab_size,
              "fresh_loss": math.log(vocab_size)}
    for split in splits:
        report[split] = evaluate_texts(loaded, data[split]["text"], rules, batch_size)
    if "test" in splits:
        report["baseline"] = xz_baseline(reference or rules, dataset_dir, "test")
    if with_baselines:
        report["baselines"] = baselines(loaded.tokenizer, data["train"]["text"], data["test"]["text"], rules)
    return report


#: What training writes into a model's settings each time it saves better weights: the report's stamp.
_TRAINED = ("step", "val_loss", "tokens")


def _stamp(model_dir) -> dict:
    settings = modeldir.read_config(model_dir).get("settings", {})
    return {key: settings.get(key) for key in _TRAINED}


def save_report(model_dir, report: dict, stamp: Callable[..., dict] = _stamp) -> None:
    """Keep the report beside the weights it measured, stamped with what training says of them.

    The stamp (step, validation loss, tokens) travels with the folder (a copy,
    a bundle), unlike a file date; a newer training changes it. `stamp` reads
    it from another kind of model folder (the char-LSTM's).
    """
    atomic.write_text(Path(model_dir) / REPORT_FILE, json.dumps({**report, "trained": stamp(model_dir)}, indent=1))


def read_report(model_dir, stamp: Callable[..., dict] = _stamp) -> dict | None:
    """The saved report, or None if there is none or the weights changed since (a newer training)."""
    try:
        report = json.loads((Path(model_dir) / REPORT_FILE).read_text(encoding="utf-8"))
        current = stamp(model_dir)
    except (OSError, ValueError, AuroreError):
        return None
    return report if isinstance(report, dict) and report.get("trained") == current else None
