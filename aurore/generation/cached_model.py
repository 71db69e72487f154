"""A GPT-2 backbone run token by token with a key/value cache, compiled once per shape."""

from __future__ import annotations

import os
import threading
from typing import Sequence

import aurore  # noqa: F401  (Keras backend before keras is imported)


def _buckets(max_context: int, smallest: int = 16) -> list[int]:
    sizes, size = [], smallest
    while size < max_context:
        sizes.append(size)
        size *= 2
    return sizes + [max_context]


def _bucket(value: int, sizes: Sequence[int]) -> int:
    for size in sizes:
        if value <= size:
            return size
    return sizes[-1]


BATCH_BUCKETS = (1, 2, 4, 8, 16, 32)


def default_xla() -> bool:
    """XLA for the compiled forward pass, unless AURORE_XLA=0 (see bench/results/generation.md)."""
    return os.environ.get("AURORE_XLA", "1") not in ("0", "false", "no")


def limit_threads(threads: int | None) -> bool:
    """Run TensorFlow with `threads` threads in this process (None: leave TF's default).

    Decoding one token is a small matrix-vector product bounded by memory
    speed; on a loaded machine, thread hand-offs cost more than they bring
    (see bench/results/generation.md). Process-wide, and only possible before
    TensorFlow runs anything: returns False (and changes nothing) after that.
    """
    if not threads:
        return False
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        tf.config.threading.set_inter_op_parallelism_threads(int(threads))
    except RuntimeError:
        return False
    return True


class CachedModel:
    """A GPT2Backbone run incrementally with a key/value cache, shapes fixed.

    Every row writes its next token at the same cache slot, so rows are
    aligned on the longest prompt (length L): a shorter row is left-padded,
    with its own positions (its first real token is position 0) and a key
    mask hiding its padding, so it computes what it would alone. The input is
    then right-padded up to a bucket length (a few fixed shapes: each new
    shape costs a compilation); the slots after L hold junk that the causal
    mask hides until generated tokens overwrite them. The cache holds the
    padded prompt plus the tokens still to come (`new_tokens`), rounded up
    to a bucket: attention reads every slot at every step, so a cache sized
    for the worst case (`2 * max_context` for a batch: padding plus a full
    context) made a 16-row step of 100 tokens about 3 times slower.

    The cache lives in tf.Variables updated in place, one slot per step: the
    transformer layers' own cached call (KerasHub's `call_with_cache` path)
    returns a whole new cache every step, and copying it was most of a
    batched step (8 rows: 14 ms of CPU, 5.5 ms in place; bench/results/generation.md). So the step calls
    the layers' sublayers itself — GPT-2's pre-norm block: layer norm,
    attention, residual, layer norm, feed-forward, residual — and a test
    checks it against the backbone's own forward pass.

    Compiled functions are looked up once per shape (concrete functions):
    the tf.function dispatch costs about a millisecond per call otherwise.
    """

    def __init__(self, backbone, xla: bool | None = None):
        import tensorflow as tf

        self.backbone = backbone
        self.max_context = int(backbone.max_sequence_length)
        self.buckets = _buckets(self.max_context)
        self.xla = default_xla() if xla is None else bool(xla)
        self._run = tf.function(self._forward, jit_compile=self.xla)
        self._concrete: dict[tuple, object] = {}
        self._lock = threading.Lock()
        if not all(getattr(layer, "normalize_first", False) for layer in backbone.transformer_layers):
            raise ValueError("CachedModel expects GPT-2's pre-norm transformer layers")

    def cache_length(self, batch: int, slots: int | None = None) -> int:
        """Cache slots for `batch` rows that need `slots` of them (None: the most they can need)."""
        largest = self.max_context if batch == 1 else 2 * self.max_context
        if slots is None:
            return largest
        return _bucket(min(slots, largest), self.buckets + [largest])

    def _forward(self, token_ids, positions, index, key_mask, last, caches):
        """Logits after position `last` of `token_ids`, written at cache slots index, index + 1, …"""
        import tensorflow as tf
        from keras import ops

        backbone = self.backbone
        x = backbone.token_embedding(token_ids)
        x = backbone.embeddings_add((x, backbone.position_embedding(x, positions=positions)))
        queries = index + tf.range(tf.shape(token_ids)[1])
        causal = tf.range(tf.shape(key_mask)[1])[None, :] <= queries[:, None]
        mask = tf.logical_and(causal[None, :, :], tf.cast(key_mask, tf.bool)[:, None, :])
        for layer, (keys, values) in zip(backbone.transformer_layers, caches):
            attention = layer._self_attention_layer
            hidden = layer._self_attention_layer_norm(x)
            # A dynamic-update-slice assigned back to the variable: XLA does it in place, for any index
            # (a strided-slice assign would need the index known at compile time: one compile per step).
            start = [0, index, 0, 0]
            keys.assign(ops.slice_update(keys.read_value(), start, attention._key_dense(hidden)))
            values.assign(ops.slice_update(values.read_value(), start, attention._value_dense(hidden)))
            output, _ = attention._compute_attention(attention._query_dense(hidden), keys.read_value(),
                                                     values.read_value(), attention_mask=mask)
            x = x + attention._output_dense(output)
            hidden = layer._feedforward_layer_norm(x)
            x = x + layer._feedforward_output_dense(layer._feedforward_intermediate_dense(hidden))
        x = backbone.layer_norm(tf.gather(x, tf.reshape(last, [1]), axis=1))  # a dynamic index XLA compiles once
        return tf.cast(backbone.token_embedding(x, reverse=True)[:, 0, :], "float32")

    def _call(self, *args):
        """Run the compiled forward; the concrete function for these shapes is traced once."""
        key = (tuple(args[0].shape), tuple(args[3].shape))
        function = self._concrete.get(key)
        if function is None:
            function = self._run.get_concrete_function(*args)
            self._concrete[key] = function
        return function(*args)

    def _new_cache(self, batch: int, length: int):
        import tensorflow as tf

        backbone = self.backbone
        shape = [batch, length, backbone.num_heads, backbone.hidden_dim // backbone.num_heads]
        return [(tf.Variable(tf.zeros(shape, backbone.compute_dtype), trainable=False),
                 tf.Variable(tf.zeros(shape, backbone.compute_dtype), trainable=False))
                for _ in backbone.transformer_layers]

    def prefill(self, rows: list[list[int]], new_tokens: int | None = None):
        """Read the prompts (token ids); returns (logits [B, V] numpy, state).

        `new_tokens`: how many tokens any row may still write (sizes the cache;
        None: as many as the context allows).
        """
        import numpy as np
        import tensorflow as tf

        longest = max(len(r) for r in rows)
        width = _bucket(longest, self.buckets)
        batch = _bucket(len(rows), BATCH_BUCKETS) if len(rows) <= BATCH_BUCKETS[-1] else len(rows)
        rows = rows + [rows[0]] * (batch - len(rows))
        pads = np.array([longest - len(r) for r in rows], dtype="int32")
        tokens = np.zeros((batch, width), dtype="int32")
        for i, row in enumerate(rows):
            tokens[i, pads[i]:longest] = row
        length = self.cache_length(batch, None if new_tokens is None else max(width, longest + int(new_tokens)))
        slots = np.arange(length, dtype="int32")
        key_mask = tf.constant((slots[None, :] >= pads[:, None]).astype("int32"))
        positions = np.clip(slots[None, :width] - pads[:, None], 0, self.max_context - 1).astype("int32")
        caches = self._new_cache(batch, length)
        with self._lock:
            logits = self._call(tf.constant(tokens), tf.constant(positions), tf.constant(0, "int32"), key_mask,
                                tf.constant(longest - 1, "int32"), caches).numpy()
        return logits, {"caches": caches, "pads": pads, "slot": longest, "key_mask": key_mask, "length": length}

    def step(self, state, tokens: Sequence[int]):
        """Append one token per row; returns logits [B, V] (numpy) for the next one."""
        import numpy as np
        import tensorflow as tf

        pads = state["pads"]
        if state["slot"] >= state["length"]:  # XLA would clamp the index and overwrite the last slot
            raise ValueError(f"the cache is full ({state['length']} slots): prefill with a larger new_tokens")
        column = np.zeros((len(pads), 1), dtype="int32")
        column[:len(tokens), 0] = tokens
        positions = np.minimum(state["slot"] - pads, self.max_context - 1)[:, None].astype("int32")
        with self._lock:
            logits = self._call(tf.constant(column), tf.constant(positions), tf.constant(state["slot"], "int32"),
                                state["key_mask"], tf.constant(0, "int32"), state["caches"]).numpy()
        state["slot"] += 1
        return logits
