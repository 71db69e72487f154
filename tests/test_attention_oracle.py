"""The cached model against an independent NumPy GPT-2: attention, its causal mask, padding, the cache.

Why: the generator's tests compare the cached model with the backbone's own
forward pass, or batched with one-by-one, or XLA with plain: a bug both
sides share (a mask gone in both, positions off by one in both) passes
them. Here a plain NumPy forward pass, written from GPT-2's definition
(pre-norm blocks, scaled dot-product attention under a causal mask, tanh
GELU, tied output embedding), reads the backbone's weights and gives the
expected logits. It is checked first against the backbone's own forward
pass, then the cached model's prefill and steps against it, row by row,
with rows of different lengths in one batch. bench/mutation.py runs this
file against mutants of cached_model.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import aurore  # noqa: F401  (the Keras backend before keras is imported)

VOCABULARY, CONTEXT, HIDDEN, HEADS, LAYERS = 61, 40, 16, 4, 2


@pytest.fixture(scope="module")
def backbone():
    import keras
    import keras_hub

    keras.utils.set_random_seed(11)
    model = keras_hub.models.GPT2Backbone(vocabulary_size=VOCABULARY, num_layers=LAYERS, num_heads=HEADS,
                                          hidden_dim=HIDDEN, intermediate_dim=4 * HIDDEN,
                                          max_sequence_length=CONTEXT, dropout=0.0)
    # Random init leaves biases and layer norms at 0 and 1: give every weight a value, so each one matters.
    rng = np.random.default_rng(5)
    for weight in model.weights:
        weight.assign(rng.normal(0, 0.4, weight.shape).astype("float32"))
    return model


@pytest.fixture(scope="module")
def cached(backbone):
    from aurore.generation.cached_model import CachedModel

    return CachedModel(backbone, xla=False)


def weights(backbone) -> dict:
    """The backbone's weights as NumPy arrays, by what they are in GPT-2."""
    def array(variable):
        return np.asarray(variable.numpy(), dtype=np.float64)

    layers = []
    for layer in backbone.transformer_layers:
        attention = layer._self_attention_layer
        layers.append({
            "ln1": (array(layer._self_attention_layer_norm.gamma), array(layer._self_attention_layer_norm.beta)),
            "q": (array(attention._query_dense.kernel), array(attention._query_dense.bias)),
            "k": (array(attention._key_dense.kernel), array(attention._key_dense.bias)),
            "v": (array(attention._value_dense.kernel), array(attention._value_dense.bias)),
            "o": (array(attention._output_dense.kernel), array(attention._output_dense.bias)),
            "ln2": (array(layer._feedforward_layer_norm.gamma), array(layer._feedforward_layer_norm.beta)),
            "up": (array(layer._feedforward_intermediate_dense.kernel),
                   array(layer._feedforward_intermediate_dense.bias)),
            "down": (array(layer._feedforward_output_dense.kernel), array(layer._feedforward_output_dense.bias)),
        })
    return {"tokens": array(backbone.token_embedding.embeddings),
            "positions": array(backbone.position_embedding.position_embeddings),
            "layers": layers, "ln_f": (array(backbone.layer_norm.gamma), array(backbone.layer_norm.beta))}


def layer_norm(x, gamma_beta, epsilon=1e-5):
    gamma, beta = gamma_beta
    mean = x.mean(-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + epsilon) * gamma + beta


def gelu(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def reference_logits(w: dict, tokens: list[int]) -> np.ndarray:
    """GPT-2 on one sequence: [T, V] logits, position t seeing tokens 0..t only."""
    T = len(tokens)
    x = w["tokens"][tokens] + w["positions"][:T]
    causal = np.tril(np.ones((T, T), dtype=bool))
    for layer in w["layers"]:
        h = layer_norm(x, layer["ln1"])
        q = np.einsum("td,dnh->nth", h, layer["q"][0]) + layer["q"][1][:, None, :]
        k = np.einsum("td,dnh->nth", h, layer["k"][0]) + layer["k"][1][:, None, :]
        v = np.einsum("td,dnh->nth", h, layer["v"][0]) + layer["v"][1][:, None, :]
        scores = np.einsum("nqh,nkh->nqk", q, k) / math.sqrt(q.shape[-1])
        scores = np.where(causal[None], scores, -np.inf)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        attended = np.einsum("nqk,nkh->nqh", scores / scores.sum(-1, keepdims=True), v)
        x = x + np.einsum("nth,nhd->td", attended, layer["o"][0]) + layer["o"][1]
        h = layer_norm(x, layer["ln2"])
        x = x + gelu(h @ layer["up"][0] + layer["up"][1]) @ layer["down"][0] + layer["down"][1]
    return layer_norm(x, w["ln_f"]) @ w["tokens"].T


ROWS = [[5, 17, 3, 44, 9, 28, 1], [12, 60], [7, 7, 7, 30]]


def test_the_reference_is_causal():
    """The oracle itself: what follows position t never changes its logits."""
    rng = np.random.default_rng(0)
    w = {"tokens": rng.normal(size=(20, 8)), "positions": rng.normal(size=(10, 8)), "ln_f": (np.ones(8), np.zeros(8)),
         "layers": [{"ln1": (np.ones(8), np.zeros(8)), "ln2": (np.ones(8), np.zeros(8)),
                     **{name: (rng.normal(size=(8, 2, 4)), rng.normal(size=(2, 4))) for name in "qkv"},
                     "o": (rng.normal(size=(2, 4, 8)), rng.normal(size=8)),
                     "up": (rng.normal(size=(8, 16)), rng.normal(size=16)),
                     "down": (rng.normal(size=(16, 8)), rng.normal(size=8))}]}
    first, second = reference_logits(w, [1, 2, 3, 4, 5]), reference_logits(w, [1, 2, 3, 9, 0])
    assert np.allclose(first[:3], second[:3]) and not np.allclose(first[3:], second[3:])


def test_the_reference_is_the_backbone_s_own_forward_pass(backbone):
    """The oracle reads the weights as the backbone uses them (else every comparison below means nothing)."""
    tokens = ROWS[0]
    hidden = backbone({"token_ids": np.array([tokens], "int32"),
                       "padding_mask": np.ones((1, len(tokens)), "int32")})
    logits = np.asarray(backbone.token_embedding(hidden, reverse=True))[0]
    assert np.allclose(logits, reference_logits(weights(backbone), tokens), atol=2e-3)


def test_prefill_and_steps_give_each_row_the_reference_logits(backbone, cached):
    w = weights(backbone)
    logits, state = cached.prefill([list(row) for row in ROWS], new_tokens=4)
    rows = [list(row) for row in ROWS]
    for step in range(4):
        for number, row in enumerate(rows):
            expected = reference_logits(w, row)[-1]
            assert np.allclose(logits[number], expected, atol=2e-3), (step, number)
        chosen = [int(np.argmax(logits[number])) for number in range(len(rows))]
        # Not the argmax alone: also a token no row chose (the cache must hold what was given).
        chosen[1] = (chosen[1] + 13) % VOCABULARY
        for row, token in zip(rows, chosen):
            row.append(token)
        logits = cached.step(state, chosen)


def test_one_row_alone_and_the_longest_prompt_of_a_bucket(backbone, cached):
    w = weights(backbone)
    row = list(np.random.default_rng(3).integers(0, VOCABULARY, 16))      # exactly the smallest bucket
    logits, state = cached.prefill([row], new_tokens=2)
    assert np.allclose(logits[0], reference_logits(w, row)[-1], atol=2e-3)
    logits = cached.step(state, [4])
    assert np.allclose(logits[0], reference_logits(w, row + [4])[-1], atol=2e-3)


def test_a_full_cache_is_refused_not_overwritten(cached):
    logits, state = cached.prefill([[1, 2, 3]], new_tokens=1)
    for _ in range(state["length"] - state["slot"]):
        cached.step(state, [1])
    with pytest.raises(ValueError, match="the cache is full"):
        cached.step(state, [1])


def test_buckets_and_cache_lengths():
    from aurore.generation.cached_model import _bucket, _buckets

    assert _buckets(128) == [16, 32, 64, 128] and _buckets(100) == [16, 32, 64, 100] and _buckets(16) == [16]
    assert [_bucket(n, [16, 32, 64]) for n in (1, 16, 17, 64, 65)] == [16, 16, 32, 64, 64]


def test_cache_length_is_a_bucket_within_the_largest(cached):
    assert cached.cache_length(1) == CONTEXT and cached.cache_length(3) == 2 * CONTEXT
    assert cached.cache_length(1, 5) == 16 and cached.cache_length(1, 17) == 32
    assert cached.cache_length(1, 1000) == CONTEXT and cached.cache_length(2, 60) == 2 * CONTEXT


def test_a_backbone_without_gpt2_s_pre_norm_layers_is_refused_by_name():
    from types import SimpleNamespace

    from aurore.generation.cached_model import CachedModel

    for layers in ([SimpleNamespace(normalize_first=False)],                          # post-norm layers
                   [SimpleNamespace(normalize_first=True), SimpleNamespace()]):      # a layer that says nothing
        with pytest.raises(ValueError) as refused:
            CachedModel(SimpleNamespace(max_sequence_length=CONTEXT, transformer_layers=layers), xla=False)
        assert str(refused.value) == "CachedModel expects GPT-2's pre-norm transformer layers"


def test_batches_are_padded_to_a_few_sizes_so_that_few_shapes_are_compiled(backbone):
    from aurore.generation.cached_model import CachedModel

    model = CachedModel(backbone, xla=False)

    def shapes_after(*batch_sizes):
        for size in batch_sizes:
            model.prefill([[3, 4]] * size, new_tokens=1)
        return len(model._concrete)

    assert shapes_after(3, 4) == 1          # both run as 4 rows
    assert shapes_after(17, 32) == 2        # both as 32
    logits, _ = model.prefill([[3, 4]] * 33, new_tokens=1)     # beyond the largest size: the rows as they are
    assert logits.shape[0] == 33 and shapes_after() == 3


def test_the_cache_holds_the_prompt_and_the_tokens_to_come_rounded_up_to_a_bucket(cached):
    def length(rows, new_tokens):
        return cached.prefill(rows, new_tokens=new_tokens)[1]["length"]

    assert length([[1] * 10], 5) == 16                     # 15 slots: the bucket of 16
    assert length([[1] * 10], 10) == 32
    assert length([[1] * 10, [2] * 3], 5) == 16
    assert length([[1] * 30], 20) == CONTEXT                # one row never needs more than its context
    assert length([[1] * 10], None) == CONTEXT              # as many as the context allows


def test_a_prompt_that_fills_the_context_then_steps_to_the_cache_s_last_slot(backbone, cached):
    w = weights(backbone)
    full = [int(t) for t in np.random.default_rng(8).integers(0, VOCABULARY, CONTEXT)]
    logits, _ = cached.prefill([full], new_tokens=0)        # its last token at position CONTEXT - 1
    assert np.allclose(logits[0], reference_logits(w, full)[-1], atol=2e-3)
    logits, state = cached.prefill([full[:-3]], new_tokens=3)
    assert state["length"] == CONTEXT
    for written in range(CONTEXT - 3, CONTEXT):             # the last step writes the cache's last slot
        logits = cached.step(state, [full[written]])
        assert np.allclose(logits[0], reference_logits(w, full[:written + 1])[-1], atol=2e-3), written


def test_a_half_precision_model_keeps_its_cache_in_its_own_precision():
    import keras_hub
    import tensorflow as tf

    from aurore.generation.cached_model import CachedModel

    model = keras_hub.models.GPT2Backbone(vocabulary_size=VOCABULARY, num_layers=1, num_heads=2, hidden_dim=8,
                                          intermediate_dim=16, max_sequence_length=CONTEXT, dropout=0.0,
                                          dtype="mixed_bfloat16")
    half = CachedModel(model, xla=False)
    logits, state = half.prefill([[1, 2, 3]], new_tokens=2)
    assert {variable.dtype for pair in state["caches"] for variable in pair} == {tf.bfloat16}
    assert np.isfinite(half.step(state, [4])).all()
