"""Exercise 4: train GPT-2 from scratch with TensorFlow and KerasHub.

Four pieces, the heart of training a language model:
1. pack the tokenized sentences into fixed-length blocks (no padding wasted);
2. build GPT-2 from a configuration (KerasHub's GPT2Backbone + GPT2CausalLM);
3. an AdamW optimizer whose learning rate warms up, then decays;
4. compile: the loss compares the predicted next token with the real one.

The rest (tf.data pipeline, callbacks, checkpoints, resuming) is in `aurore/`.
Run it: `python -m aurore train` (or `--use exercise` for your code).
"""

from __future__ import annotations

import numpy as np


def pack(token_lists, eos_id: int, length: int):
    """Pack sentences into blocks of `length` tokens for next-token prediction.

    The stream is `eos s1 eos s2 eos … sN eos`: every sentence is preceded and
    followed by the end-of-text token. It is cut into as many full blocks of
    `length` tokens as fit, each with its targets: the same stream shifted by
    one token (the target of a position is the token that follows it).
    Returns `(inputs, targets)`, two int32 arrays of shape (blocks, length).
    """
    # BEGIN SOLUTION
    # TODO: build the stream (eos before every sentence and one at the end),
    # then cut inputs = stream[:-1] and targets = stream[1:] into full blocks.
    stream = [eos_id]
    for ids in token_lists:
        stream.extend(ids)
        stream.append(eos_id)
    stream = np.asarray(stream, dtype=np.int32)
    blocks = (len(stream) - 1) // length
    inputs = stream[:blocks * length].reshape(blocks, length)
    targets = stream[1:blocks * length + 1].reshape(blocks, length)
    # END SOLUTION
    return inputs, targets


def build_model(settings: dict, vocab_size: int):
    """A fresh GPT-2 (random weights) shaped by the preset's settings."""
    import keras_hub

    # BEGIN SOLUTION
    # TODO: a keras_hub.models.GPT2Backbone with vocabulary_size=vocab_size and the preset's
    # settings: num_layers, num_heads, hidden_dim, intermediate_dim and dropout (same names
    # as the settings' keys), and max_sequence_length=settings["sequence_length"];
    # then a keras_hub.models.GPT2CausalLM(backbone=…, preprocessor=None) (we feed token ids ourselves).
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=vocab_size,
        num_layers=settings["num_layers"],
        num_heads=settings["num_heads"],
        hidden_dim=settings["hidden_dim"],
        intermediate_dim=settings["intermediate_dim"],
        dropout=settings["dropout"],
        max_sequence_length=settings["sequence_length"],
    )
    return keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)
    # END SOLUTION


def make_optimizer(settings: dict, total_steps: int):
    """AdamW with a linear warm-up to the peak learning rate, then a cosine decay."""
    import keras

    # BEGIN SOLUTION
    # TODO: warmup = min(settings["warmup_steps"], total_steps - 1) steps (a short run warms up less);
    # a keras.optimizers.schedules.CosineDecay starting at 0, warming up to settings["learning_rate"]
    # in warmup steps, then decaying over the other total_steps - warmup steps to a tenth of it
    # (alpha=0.1); then keras.optimizers.AdamW with that schedule, settings["weight_decay"],
    # beta_2=0.95 and gradient clipping (clipnorm=1.0).
    warmup = min(settings["warmup_steps"], max(total_steps - 1, 0))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        decay_steps=max(total_steps - warmup, 1),
        alpha=0.1,
        warmup_target=settings["learning_rate"],
        warmup_steps=warmup,
    )
    optimizer = keras.optimizers.AdamW(learning_rate=schedule, weight_decay=settings["weight_decay"],
                                       beta_2=0.95, clipnorm=1.0)
    # END SOLUTION
    # Biases, layer norms and embeddings are not decayed (as in GPT-2's recipe).
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta", "embeddings"])
    return optimizer


def compile_model(model, optimizer, jit_compile: bool = False) -> None:
    """Attach the optimizer and the next-token loss to the model."""
    import keras

    # BEGIN SOLUTION
    # TODO: model.compile with the optimizer, a SparseCategoricalCrossentropy
    # loss on logits (from_logits=True), and jit_compile.
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  weighted_metrics=[], jit_compile=jit_compile)
    # END SOLUTION
