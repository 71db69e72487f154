"""How well a model predicts held-out text: loss per token, perplexity, bits per character.

The text is laid out as in training (`eos s1 eos s2 … eos`) and cut into
windows of the model's context; every token after the first is predicted
once. Bits per character divide the total negative log-likelihood, in bits,
by the number of characters (each sentence plus one for its separator, as a
newline in a text file), so tokenizers of any vocabulary compare fairly, and
with a compressor such as xz.

The report (`evaluate`) also says what a fresh model would score (ln V per
token: even odds over the V tokens of the vocabulary) and what xz scores on
the test book (`aurore.baselines`). `save_report` keeps it in the model
folder (`evaluation.json`), where the run page and the writers' page read
it; `read_report` returns it only while it still describes the weights there.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from aurore import atomic, baselines, dataset as saved_dataset, modeldir, packing, progress
from aurore.errors import AuroreError

REPORT_FILE = "evaluation.json"


def summarise(nll_nats: float, tokens: int, characters: int) -> dict:
    """The three figures from a total negative log-likelihood (natural log)."""
    if tokens <= 0 or characters <= 0:
        raise AuroreError("Nothing to evaluate: the text is empty.")
    loss = nll_nats / tokens
    return {"loss_per_token": loss, "perplexity": math.exp(loss),
            "bits_per_character": nll_nats / math.log(2) / characters,
            "tokens": tokens, "characters": characters}


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


def total_nll(backbone, inputs: np.ndarray, targets: np.ndarray, mask: np.ndarray, batch_size: int = 16) -> float:
    """Sum of −log p(target) over the masked positions, in nats."""
    import keras_hub
    import tensorflow as tf

    lm = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)

    @tf.function
    def batch_nll(x, y, m):
        logits = lm({"token_ids": x, "padding_mask": tf.ones_like(x)}, training=False)
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=tf.cast(logits, tf.float32))
        return tf.reduce_sum(nll * m)

    total = 0.0
    with progress.task("Evaluating", total=len(inputs), unit="block") as task:
        for start in range(0, len(inputs), batch_size):
            end = start + batch_size
            total += float(batch_nll(inputs[start:end], targets[start:end], mask[start:end]))
            task.update(len(inputs[start:end]))
    return total


def evaluate_texts(loaded: modeldir.LoadedModel, texts, batch_size: int = 16) -> dict:
    texts = [text for text in texts if text]
    tokenizer = loaded.tokenizer
    eos = tokenizer.eos_token_id
    stream = [eos]
    for ids in packing.tokenize(tokenizer, texts):
        stream.extend(ids)
        stream.append(eos)
    length = int(loaded.settings.get("sequence_length") or loaded.max_length)
    inputs, targets, mask = windows(np.asarray(stream, np.int32), min(length, loaded.max_length))
    nll = total_nll(loaded.backbone, inputs, targets, mask, batch_size)
    characters = sum(len(text) + 1 for text in texts)
    return summarise(nll, int(mask.sum()), characters)


def evaluate(model_dir, dataset_dir, splits=("test", "validation"), batch_size: int = 16) -> dict:
    """The report `python -m aurore evaluate` prints."""
    loaded = modeldir.load(model_dir)
    data = saved_dataset.load(dataset_dir)
    vocab_size = int(loaded.backbone.vocabulary_size)
    report = {"model": str(Path(model_dir)), "step": loaded.settings.get("step"), "vocab_size": vocab_size,
              "fresh_loss": math.log(vocab_size)}
    for split in splits:
        if split not in data:
            raise AuroreError(f"The dataset has no {split!r} split. Prepare it again with `python -m aurore prepare`.")
        report[split] = evaluate_texts(loaded, data[split]["text"], batch_size)
    if "test" in splits:
        report["baseline"] = baselines.xz_baseline(dataset_dir, "test")
    return report


#: What training writes into a model's settings each time it saves better weights: the report's stamp.
_TRAINED = ("step", "val_loss", "tokens")


def _stamp(model_dir) -> dict:
    settings = modeldir.read_config(model_dir).get("settings", {})
    return {key: settings.get(key) for key in _TRAINED}


def save_report(model_dir, report: dict) -> None:
    """Keep the report beside the weights it measured, stamped with what training says of them.

    The stamp (step, validation loss, tokens) travels with the folder (a copy,
    a bundle), unlike a file date; a newer training changes it.
    """
    atomic.write_text(Path(model_dir) / REPORT_FILE, json.dumps({**report, "trained": _stamp(model_dir)}, indent=1))


def read_report(model_dir) -> dict | None:
    """The saved report, or None if there is none or the weights changed since (a newer training)."""
    try:
        report = json.loads((Path(model_dir) / REPORT_FILE).read_text(encoding="utf-8"))
        current = _stamp(model_dir)
    except (OSError, ValueError, AuroreError):
        return None
    return report if isinstance(report, dict) and report.get("trained") == current else None
