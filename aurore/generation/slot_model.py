"""A GPT-2 with a key/value cache of fixed slots, one per row: rows come and go between steps.

Why not `cached_model.CachedModel`: there every row of a batch writes at the
same cache position, so a batch starts together and ends together. For
continuous batching (aurore/generation/continuous.py) each slot is a row
with its own length: a newcomer's prompt is prefilled into a free slot while
the others are half-way, and a row that ends frees its slot at once.

Shapes (each one compiled once, by XLA, then reused):
- the cache: `slots` rows × `max_context` positions per layer, allocated once
  (at most `CACHE_BUDGET_BYTES`: a big model gets fewer slots than asked);
  attention reads a row's positions up to its own length (a mask), so the
  junk a previous row left in a slot is never seen;
- `step`: one new token for the first `rows` slots, `rows` one of 1, 2, 4,
  8, 16… up to `slots` (the fewest that cover the highest busy slot: one
  lone request runs a one-row step), attention reading a window of the cache
  (64, 128, …, context positions: the fewest that cover the furthest busy
  row — a cache swept whole at every step cost twice the cached model's
  forward pass) — 6 × 2 shapes for 32 slots and a context of 128;
- `prefill`: one prompt into one slot, its length padded to a bucket (16, 32,
  64, …, context) — 4 shapes for a context of 128.
So 16 compilations for the `cpu` model (23 at a context of 256), done by
`warm_up` when the server starts (`ModelPool.preload`), never while requests
come and go.

Each compiled call also chooses the next token of every row
(`aurore/generation/compiled_sampling.py`: exercise 6's rules for all rows at
once) and returns token ids, not logits: no [rows, vocabulary] array crosses
back to Python. `step(..., logits=True)` returns the logits instead, for a
server that samples with exercise 6's own NumPy code.
"""

from __future__ import annotations

import threading

import numpy as np

import aurore  # noqa: F401  (Keras backend before keras is imported)
from aurore.generation import compiled_sampling
from aurore.generation.cached_model import _bucket, _buckets, default_xla

ROW_BUCKETS = (1, 2, 4, 8, 16, 32, 64)
WINDOW_SMALLEST = 64
#: The most memory the slots' keys and values may take: a 12-layer model of context 1,024 needs
#: 75 MB a slot, so 32 slots would hold 2.4 GB of a laptop's memory; such a model gets fewer slots.
CACHE_BUDGET_BYTES = 1 << 30


def slots_within_budget(slots: int, backbone, budget: int = CACHE_BUDGET_BYTES) -> int:
    """`slots`, or fewer (at least 1) when their key/value cache would take more than `budget` bytes."""
    import keras

    item = keras.backend.standardize_dtype(backbone.compute_dtype)
    per_slot = (2 * len(backbone.transformer_layers) * int(backbone.max_sequence_length)
                * int(backbone.hidden_dim) * np.dtype(item).itemsize)
    return max(1, min(int(slots), budget // per_slot))


def row_bucket(rows: int, slots: int) -> int:
    """The step's row count for `rows` busy slots (the lowest ones): a power of two, at most `slots`."""
    return min(_bucket(rows, ROW_BUCKETS), slots) if rows <= ROW_BUCKETS[-1] else slots


class SlotModel:
    """A GPT2Backbone with `slots` cache rows, each filled by `prefill` and extended by `step`."""

    def __init__(self, backbone, slots: int, xla: bool | None = None):
        import tensorflow as tf

        if not all(getattr(layer, "normalize_first", False) for layer in backbone.transformer_layers):
            raise ValueError("SlotModel expects GPT-2's pre-norm transformer layers")
        self.backbone = backbone
        self.slots = slots_within_budget(slots, backbone)
        self.max_context = int(backbone.max_sequence_length)
        self.widths = _buckets(self.max_context)
        self.vocabulary_size = int(backbone.vocabulary_size)
        self.xla = default_xla() if xla is None else bool(xla)
        heads = backbone.num_heads
        shape = [self.slots, self.max_context, heads, backbone.hidden_dim // heads]
        self.caches = [(tf.Variable(tf.zeros(shape, backbone.compute_dtype), trainable=False),
                        tf.Variable(tf.zeros(shape, backbone.compute_dtype), trainable=False))
                       for _ in backbone.transformer_layers]
        self._functions = {name: tf.function(getattr(self, name), jit_compile=self.xla)
                           for name in ("_prefill_sample", "_prefill_logits", "_step_sample", "_step_logits")}
        self._concrete: dict[tuple, object] = {}
        #: the step's attention windows: fewer than the prompt widths (a short window saves little)
        self.windows = _buckets(self.max_context, smallest=WINDOW_SMALLEST)
        self._windows = {width: np.zeros(width, dtype="int32") for width in self.windows}
        self._lock = threading.Lock()

    @property
    def compiled_shapes(self) -> int:
        """How many shapes were compiled so far (each costs seconds once)."""
        return len(self._concrete)

    # --- the model, layer by layer (GPT-2's pre-norm block, as cached_model's) ---------------

    def _layers(self, x, positions, mask, write, read):
        """Run the transformer on x [B, T, H]; `write(keys, new)` stores a layer's new keys/values
        in its cache variable, `read(variable)` gives the rows attention reads."""
        backbone = self.backbone
        x = backbone.token_embedding(x)
        x = backbone.embeddings_add((x, backbone.position_embedding(x, positions=positions)))
        for layer, (keys, values) in zip(backbone.transformer_layers, self.caches):
            attention = layer._self_attention_layer
            hidden = layer._self_attention_layer_norm(x)
            write(keys, attention._key_dense(hidden))
            write(values, attention._value_dense(hidden))
            output, _ = attention._compute_attention(attention._query_dense(hidden), read(keys), read(values),
                                                     attention_mask=mask)
            x = x + attention._output_dense(output)
            hidden = layer._feedforward_layer_norm(x)
            x = x + layer._feedforward_output_dense(layer._feedforward_intermediate_dense(hidden))
        return x

    def _logits(self, hidden):
        import tensorflow as tf

        return tf.cast(self.backbone.token_embedding(self.backbone.layer_norm(hidden), reverse=True), "float32")

    def _prefill_logits(self, tokens, slot, last):
        """Read one prompt (tokens [1, W]) into cache row `slot`; logits [1, V] after position `last`."""
        import tensorflow as tf
        from keras import ops

        width = tokens.shape[1]
        positions = tf.minimum(tf.range(width), self.max_context - 1)[None, :]
        mask = (tf.range(self.max_context)[None, :] <= tf.range(width)[:, None])[None, :, :]

        def write(variable, new):
            variable.assign(ops.slice_update(variable.read_value(), [slot, 0, 0, 0], new))

        def read(variable):
            return tf.gather(variable.read_value(), tf.reshape(slot, [1]))

        x = self._layers(tokens, positions, mask, write, read)
        return self._logits(tf.gather(x, tf.reshape(last, [1]), axis=1))[:, 0, :]

    def _step_logits(self, tokens, positions, window):
        """Append one token to each of the first B slots (tokens, positions [B]); logits [B, V].

        `window` (its shape [W] only: a compile-time width) bounds the cache positions attention
        reads: every busy row's position is below W, so the rest of the cache is never swept."""
        import tensorflow as tf

        rows, width = tokens.shape[0], window.shape[0]
        mask = (tf.range(width)[None, :] <= positions[:, None])[:, None, :]
        where = tf.stack([tf.range(rows), positions], axis=1)

        def write(variable, new):
            variable.assign(tf.tensor_scatter_nd_update(variable.read_value(), where, new[:, 0]))

        def read(variable):
            value = variable.read_value()
            return value[:rows, :width]

        x = self._layers(tokens[:, None], positions[:, None], mask, write, read)
        return self._logits(x)[:, 0, :]

    def _prefill_sample(self, tokens, slot, last, strategy, temperature, top_k, top_p, seed, index):
        logits = self._prefill_logits(tokens, slot, last)
        return compiled_sampling.choose(logits, strategy, temperature, top_k, top_p, seed, index)

    def _step_sample(self, tokens, positions, window, strategy, temperature, top_k, top_p, seed, index):
        logits = self._step_logits(tokens, positions, window)
        return compiled_sampling.choose(logits, strategy, temperature, top_k, top_p, seed, index)

    # --- calls -------------------------------------------------------------------------------

    def _call(self, name: str, *args):
        import tensorflow as tf

        args = [tf.constant(a) if isinstance(a, np.ndarray) or np.isscalar(a) else a for a in args]
        key = (name, tuple(args[0].shape), tuple(args[2].shape) if name.startswith("_step") else ())
        with self._lock:
            function = self._concrete.get(key)
            if function is None:
                function = self._concrete[key] = self._functions[name].get_concrete_function(*args)
            return function(*args).numpy()

    def prefill(self, slot: int, prompt_ids, settings: dict | None = None):
        """Read a prompt into `slot`; its first new token (settings: one row of
        compiled_sampling.row_settings, plus "index") or, settings None, its logits [V]."""
        length = len(prompt_ids)
        if not 0 < length <= self.max_context:
            raise ValueError(f"a prompt of {length} tokens does not fit a context of {self.max_context}")
        tokens = np.zeros((1, _bucket(length, self.widths)), dtype="int32")
        tokens[0, :length] = prompt_ids
        head = (tokens, np.int32(slot), np.int32(length - 1))
        if settings is None:
            return self._call("_prefill_logits", *head)[0]
        return int(self._call("_prefill_sample", *head, *_sampling_args(settings))[0])

    def step(self, tokens, positions, settings: dict | None = None):
        """One token for each of the first len(tokens) slots (a row_bucket size): the next
        tokens [B] (settings given), or the logits [B, V]."""
        tokens = np.asarray(tokens, dtype="int32")
        positions = np.minimum(np.asarray(positions, dtype="int32"), self.max_context - 1)
        window = self._windows[_bucket(int(positions.max()) + 1, self.windows)]
        if settings is None:
            return self._call("_step_logits", tokens, positions, window)
        return self._call("_step_sample", tokens, positions, window, *_sampling_args(settings))

    def warm_up(self, sample: bool = True) -> int:
        """Compile every shape now (seconds each), so that no request waits for a compilation."""
        settings = None
        for width in self.widths:
            if sample:
                settings = _one_row_settings(1)
            self.prefill(0, [0] * width, settings)
        rows = 1
        while True:
            rows = row_bucket(rows, self.slots)
            for width in self.windows:
                self.step([0] * rows, [width - 1] * rows, _one_row_settings(rows) if sample else None)
            if rows >= self.slots:
                break
            rows += 1
        return self.compiled_shapes


def _sampling_args(settings: dict) -> tuple:
    return (settings["strategy"], settings["temperature"], settings["top_k"], settings["top_p"],
            settings["seed"], settings["index"])


def _one_row_settings(rows: int) -> dict:
    from aurore.generation.sampling import SamplingParams

    settings = compiled_sampling.row_settings([SamplingParams(max_new_tokens=1)] * rows, [0] * rows)
    settings["index"] = np.zeros(rows, dtype="int32")
    return settings
