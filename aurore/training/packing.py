"""From sentences to training batches: tokenize, pack, feed with tf.data.

Packing itself (sentences → fixed-length blocks separated by the end-of-text
token) is exercise 5's; this module tokenizes a split and builds the
`tf.data` pipelines around the packed blocks.
"""

from __future__ import annotations

import numpy as np

from aurore import progress


def tokenize(tokenizer, texts, batch_size: int = 2000) -> list[list[int]]:
    """Token ids of every text, in batches (the fast tokenizer works in parallel)."""
    texts = list(texts)
    ids: list[list[int]] = []
    with progress.task("Tokenizing", total=len(texts), unit="sentence") as task:
        for start in range(0, len(texts), batch_size):
            chunk = texts[start:start + batch_size]
            ids.extend(tokenizer(chunk)["input_ids"])
            task.update(len(chunk))
    return ids


def features(inputs, targets):
    """The dict GPT2CausalLM takes: packed blocks have no padding at all."""
    import tensorflow as tf

    return {"token_ids": inputs, "padding_mask": tf.ones_like(inputs)}, targets


def training_dataset(inputs: np.ndarray, targets: np.ndarray, batch_size: int, seed: int):
    """Shuffled, endless batches, prepared in the background while the model trains."""
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((inputs, targets))
    data = data.shuffle(len(inputs), seed=seed, reshuffle_each_iteration=True).repeat()
    return data.batch(batch_size, drop_remainder=True).map(features).prefetch(tf.data.AUTOTUNE)


def evaluation_dataset(inputs: np.ndarray, targets: np.ndarray, batch_size: int, max_batches: int | None = None):
    """Fixed batches in order (the same ones at every evaluation, so losses compare)."""
    import tensorflow as tf

    count = len(inputs)
    if max_batches:
        count = min(count, max_batches * batch_size)
    data = tf.data.Dataset.from_tensor_slices((inputs[:count], targets[:count]))
    return data.batch(batch_size).map(features).prefetch(tf.data.AUTOTUNE)
