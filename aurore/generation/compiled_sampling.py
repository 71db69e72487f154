"""Exercise 6's sampling rules for every row at once, in TensorFlow, inside the compiled step.

Why: the server's rows each chose their token with exercise 6's NumPy code,
one row after the other; with the small `cpu` model that cost more than the
batched forward pass itself (16 rows: 5.3 ms of sampling against 4.1 ms of
model, docs/benchmarks.md, Load). Here the same rules run for all rows in
one call, compiled with the forward pass (`aurore/generation/slot_model.py`).

The rules, per row (`solutions/06_generate.py`): greedy is the first index
of the largest logit; otherwise the logits are divided by the temperature,
then top-k keeps exactly the k largest (equal logits: the lower index first)
and top-p the likeliest tokens while the probability before them is below p
(the same order); one token is drawn from the softmax of what is kept.

The fast path (`choose_among_top`): XLA's TopK call gives each row's 128
likeliest tokens (1-2 ms for 16 × 8,000 logits), and the rules run on those
alone — exact whenever the kept tokens are all among them: greedy, top-k with
k ≤ 128 (and top-p once the 128 hold a mass of p). A step takes it when all
its rows are greedy or top-k ≤ 128; a step with a top-p row takes the whole
vocabulary's path below (see `choose`); both draw by the same rule, so a row's
token does not depend on which path ran.

The whole vocabulary without a sort: a full sort of the vocabulary is slow in XLA on a CPU
(16 × 8,000 logits: 39 ms, against 0.08 ms a row for NumPy's). A token's
fate only depends on a threshold, so the threshold is found by bisection on
the logits' bit patterns (a float's bits, sign-corrected, sort like the
float): 32 passes of "how many / how much probability lies strictly above
t", each one fused sweep over the [rows, vocabulary] array. Tokens tied at
the threshold are kept in index order, as the stable sort does. The draw is
a bisection too (13 passes for 8,000 tokens): XLA's cumulative sum is
quadratic in the vocabulary on a CPU. The result
is exercise 6's distribution up to float32 rounding (exercise 6 adds in
float64): a test draws from both and compares the frequencies.

The draw: inverse transform sampling with one uniform number per row, made
by a counter-based hash of (seed, token index) — a stateless RNG: a row's
draws depend on its seed and how many tokens it wrote, never on which other
rows share the step, so a seed gives the same text alone or in a batch.
These are not NumPy's draws: a seed's text differs from exercise 6's loop
(`Generator.generate`), which the workshop's comparison still uses.
"""

from __future__ import annotations

import numpy as np

from aurore.generation.sampling import STRATEGIES

#: Strategy codes of the `strategy` array (the index in sampling.STRATEGIES).
GREEDY, TOP_K, TOP_P = (STRATEGIES.index(name) for name in ("greedy", "top_k", "top_p"))
_MASK32 = 0xFFFFFFFF
_BISECTION_STEPS = 32          # the bit patterns span 2**32 values
#: The likeliest tokens the fast path looks at (a trained model's top-p 0.95 keeps fewer, most steps).
CANDIDATES = 128


def row_settings(params_list, seeds) -> dict:
    """The per-row arrays the compiled sampler takes, from SamplingParams and seeds (NumPy, fixed dtypes)."""
    return {
        "strategy": np.array([STRATEGIES.index(p.strategy) for p in params_list], dtype="int32"),
        "temperature": np.array([p.temperature for p in params_list], dtype="float32"),
        "top_k": np.array([p.top_k for p in params_list], dtype="int32"),
        "top_p": np.array([p.top_p for p in params_list], dtype="float32"),
        "seed": np.array([int(s) & (2**63 - 1) for s in seeds], dtype="int64"),
    }


def _fmix32(h):
    """MurmurHash3's finaliser on 32-bit values held in int64 (products wrap; the low 32 bits are exact)."""
    import tensorflow as tf

    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 16))
    h = tf.bitwise.bitwise_and(h * 0x85EBCA6B, _MASK32)
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 13))
    h = tf.bitwise.bitwise_and(h * 0xC2B2AE35, _MASK32)
    return tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 16))


def uniform(seed, index):
    """One number in (0, 1] per row, a pure function of (seed, token index): int64 [B] each."""
    import tensorflow as tf

    low = tf.bitwise.bitwise_and(seed, _MASK32)
    high = tf.bitwise.bitwise_and(tf.bitwise.right_shift(seed, 32), _MASK32)
    h = _fmix32(tf.bitwise.bitwise_and(low + 0x9E3779B9, _MASK32))
    h = _fmix32(tf.bitwise.bitwise_xor(h, high))
    h = _fmix32(tf.bitwise.bitwise_xor(h, tf.bitwise.bitwise_and(tf.cast(index, tf.int64) * 0x27D4EB2F, _MASK32)))
    h = _fmix32(tf.bitwise.bitwise_xor(h, 0x165667B1))
    return (tf.cast(tf.bitwise.right_shift(h, 8), tf.float32) + 1.0) / float(2**24)


def _sort_keys(values):
    """int32 keys ordered like the float32 values (-inf lowest; int32: int64 sweeps cost twice as much)."""
    import tensorflow as tf

    bits = tf.bitcast(values, tf.int32)
    return tf.where(bits >= 0, bits, tf.bitwise.bitwise_xor(bits, 0x7FFFFFFF))


def _smallest_index(reaches, size: int, rows):
    """Per row, the smallest I in [1, size] where reaches(I) holds (monotone in I, true at `size`).

    `rows`: any int32 [B] tensor (gives the shape). Returns int32 [B]."""
    import tensorflow as tf

    def halve(low, high):
        middle = (low + high) // 2
        ok = reaches(middle)
        return tf.where(ok, low, middle), tf.where(ok, middle, high)

    low = tf.zeros_like(rows)
    high = tf.fill(tf.shape(low), size)
    steps = max(1, int(size - 1).bit_length())
    return tf.while_loop(lambda low, high: True, halve, (low, high), maximum_iterations=steps)[1]


def _first_in_index_order(mask, count):
    """The first `count` (int32 [B]) true entries of each row of `mask` [B, V], in index order.

    No cumulative sum: XLA's is quadratic in the vocabulary on a CPU. Usually
    every tied token is kept (or none is tied), so the bisection on the index
    runs only when a row keeps part of a tie.
    """
    import tensorflow as tf

    index = tf.range(tf.shape(mask)[-1])[None, :]
    total = tf.reduce_sum(tf.cast(mask, tf.int32), axis=-1)
    count = tf.clip_by_value(count, 0, total)

    def cut():
        def reaches(bound):
            return tf.reduce_sum(tf.cast(tf.logical_and(mask, index < bound[:, None]), tf.int32), axis=-1) >= count
        bound = _smallest_index(reaches, mask.shape[-1], count)
        return tf.logical_and(mask, index < tf.where(count > 0, bound, 0)[:, None])

    return tf.cond(tf.reduce_any(count < total), cut, lambda: mask)


def kept(logits, strategy, temperature, top_k, top_p):
    """(scaled logits, mask of the tokens exercise 6 keeps) for rows of logits [B, V]; greedy rows keep all."""
    import tensorflow as tf

    temperature = tf.where(strategy == GREEDY, tf.ones_like(temperature), temperature)
    scaled = logits / temperature[:, None]
    probabilities = tf.nn.softmax(scaled, axis=-1)
    keys = _sort_keys(scaled)
    is_top_k = (strategy == TOP_K)[:, None]
    k = top_k[:, None]
    p = top_p[:, None]

    # One sum per sweep: top-k rows count tokens (weight 1, exact in float32 up to 2**24),
    # top-p rows add their probabilities.
    weights = tf.where(is_top_k, tf.ones_like(probabilities), probabilities)
    limit = tf.where(is_top_k[:, 0], tf.cast(top_k, tf.float32), top_p)

    def enough_above(t):
        """True where what lies strictly above t is already below the row's limit (monotone in t)."""
        return tf.reduce_sum(tf.where(keys > t[:, None], weights, 0.0), axis=-1) < limit

    # The smallest key t where enough_above(t) holds: the key of the last token kept.
    low = tf.reduce_min(keys, axis=-1)              # enough_above false below the lowest key
    low = tf.where(low > -2**31, low - 1, low)      # (unless top-p keeps every token)
    high = tf.reduce_max(keys, axis=-1)             # nothing above: always true

    def halve(low, high):   # the floor of (low + high) / 2 without overflowing int32
        middle = (tf.bitwise.right_shift(low, 1) + tf.bitwise.right_shift(high, 1)
                  + tf.bitwise.bitwise_and(tf.bitwise.bitwise_and(low, high), 1))
        ok = enough_above(middle)
        return tf.where(ok, low, middle), tf.where(ok, middle, high)

    _, threshold = tf.while_loop(lambda low, high: True, halve, (low, high),
                                 maximum_iterations=_BISECTION_STEPS)
    threshold = threshold[:, None]
    above = keys > threshold
    tied = keys == threshold
    count_above = tf.reduce_sum(tf.cast(above, tf.int32), axis=-1, keepdims=True)
    mass_above = tf.reduce_sum(tf.where(above, probabilities, 0.0), axis=-1, keepdims=True)
    tie_probability = tf.reduce_max(tf.where(tied, probabilities, 0.0), axis=-1, keepdims=True)
    # How many of the tied tokens are kept: top-k, until k; top-p, while the mass before them is below p.
    room = (p - mass_above) / tf.maximum(tie_probability, 1e-30)
    wanted = tf.where(is_top_k, k - count_above, tf.cast(tf.math.ceil(room), tf.int32))
    keep = tf.logical_or(above, tf.logical_and(tied, _first_in_index_order(tied, wanted[:, 0])))
    keep = tf.logical_or(keep, (strategy == GREEDY)[:, None])
    return scaled, keep


def _barrier(*tensors):
    """XLA's optimization barrier (TensorFlow's own op, from its tf2xla module: no public name)."""
    from tensorflow.compiler.tf2xla.python import xla

    return xla.optimization_barrier(*tensors)


def _draw_in_index_order(token_ids, weights, target):
    """Per row, the first token, in vocabulary order, whose running weight reaches `target`.

    token_ids, weights: [B, C] candidates (weight 0: not kept); target: [B]. The same rule as the
    full-vocabulary bisection below, on a few candidates: a sort of C ids and a cumulative sum of C."""
    import tensorflow as tf

    order = tf.argsort(token_ids, axis=-1, stable=True)
    ids = tf.gather(token_ids, order, batch_dims=1)
    running = tf.cumsum(tf.gather(weights, order, batch_dims=1), axis=-1)
    reached = tf.logical_and(running >= target[:, None], tf.gather(weights, order, batch_dims=1) > 0)
    first = tf.argmax(tf.cast(reached, tf.int32), axis=-1, output_type=tf.int32)
    return tf.gather(ids, first[:, None], batch_dims=1)[:, 0], tf.reduce_any(reached, axis=-1)


def choose_among_top(logits, strategy, temperature, top_k, top_p, seed, index_of_token, candidates: int):
    """(tokens [B], rows that need the full vocabulary [B]): exercise 6's rules on the `candidates`
    likeliest tokens of each row.

    Exact where a row's kept tokens are all among them: top-k with k ≤ candidates, top-p when the
    candidates' mass reaches p (the next token would otherwise be kept too), greedy always. The
    candidates come from `top_k`, which orders equal logits lower index first, as the stable sort
    of exercise 6 does; the mass is each token's probability over the whole vocabulary."""
    import tensorflow as tf

    temperature = tf.where(strategy == GREEDY, tf.ones_like(temperature), temperature)
    scaled = logits / temperature[:, None]
    values, token_ids = tf.math.top_k(scaled, k=candidates, sorted=True)
    # A barrier, so that XLA keeps its fast TopK call: once the top-k's slice is fused into what
    # reads it, XLA sorts the whole row instead (16 × 8,000 logits: 50-100 ms against 1-2).
    values, token_ids = _barrier(values, token_ids)
    probabilities = tf.exp(values - tf.reduce_logsumexp(scaled, axis=-1, keepdims=True))
    rank = tf.range(candidates)[None, :]
    mass_before = tf.cumsum(probabilities, axis=-1, exclusive=True)
    is_top_k = (strategy == TOP_K)[:, None]
    keep = tf.where(is_top_k, rank < top_k[:, None], mass_before < top_p[:, None])
    beyond = tf.where(strategy == TOP_K, top_k > candidates,
                      tf.reduce_sum(probabilities, axis=-1) < top_p)
    beyond = tf.logical_and(beyond, strategy != GREEDY)
    weights = tf.where(keep, probabilities, 0.0)
    target = uniform(seed, index_of_token) * tf.reduce_sum(weights, axis=-1)
    drawn, found = _draw_in_index_order(token_ids, weights, target)
    drawn = tf.where(found, drawn, token_ids[:, 0])   # float rounding: the likeliest kept token
    greedy = tf.argmax(logits, axis=-1, output_type=tf.int32)
    return tf.where(strategy == GREEDY, greedy, drawn), beyond


def choose(logits, strategy, temperature, top_k, top_p, seed, index_of_token, candidates: int | None = CANDIDATES):
    """The next token of each row (int32 [B]): exercise 6's rules, one stateless draw per row.

    When every row is greedy or top-k with k ≤ `candidates` (known from the settings, before any
    work), the fast path (`choose_among_top`); otherwise the whole vocabulary's bisection. Top-p
    rows go to the whole vocabulary: with the room's default top-p 0.95 a trained `cpu` model's
    nucleus holds more than 128 tokens on most steps (median 321 on a 491-step model, 39 % within
    128: docs/benchmarks.md, Load), and a batch takes the fast path only if all its rows fit, so
    trying it would add TopK's cost to most steps for nothing. Both paths draw by the same rule
    (the first token in vocabulary order whose running mass reaches u × the kept mass), so a row
    gets the same token from either."""
    import tensorflow as tf

    logits = tf.cast(logits, tf.float32)
    if candidates is None or candidates >= logits.shape[-1]:
        return choose_everywhere(logits, strategy, temperature, top_k, top_p, seed, index_of_token)
    fits = tf.reduce_all(tf.logical_or(strategy == GREEDY, tf.logical_and(strategy == TOP_K, top_k <= candidates)))
    return tf.cond(fits,
                   lambda: choose_among_top(logits, strategy, temperature, top_k, top_p, seed, index_of_token,
                                            candidates)[0],
                   lambda: choose_everywhere(logits, strategy, temperature, top_k, top_p, seed, index_of_token))


def choose_everywhere(logits, strategy, temperature, top_k, top_p, seed, index_of_token):
    """The next token of each row (int32 [B]): exercise 6's rules on the whole vocabulary, by bisection."""
    import tensorflow as tf

    logits = tf.cast(logits, tf.float32)
    scaled, keep = kept(logits, strategy, temperature, top_k, top_p)
    weights = tf.where(keep, tf.exp(scaled - tf.reduce_max(scaled, axis=-1, keepdims=True)), 0.0)
    index = tf.range(tf.shape(logits)[-1])[None, :]

    def prefix_mass(bound):
        return tf.reduce_sum(tf.where(index < bound[:, None], weights, 0.0), axis=-1)

    target = uniform(seed, index_of_token) * prefix_mass(tf.fill(tf.shape(strategy), logits.shape[-1]))

    def reaches(bound):
        return prefix_mass(bound) >= target

    # Inverse transform sampling (the first token whose running mass reaches u × total), by bisection on the index:
    drawn = _smallest_index(reaches, logits.shape[-1], strategy) - 1
    fallback = tf.argmax(tf.where(keep, scaled, -float("inf")), axis=-1, output_type=tf.int32)
    drawn = tf.where(tf.gather(keep, drawn[:, None], batch_dims=1)[:, 0], drawn, fallback)  # float rounding
    greedy = tf.cast(tf.argmax(logits, axis=-1, output_type=tf.int32), tf.int32)
    return tf.where(strategy == GREEDY, greedy, drawn)
