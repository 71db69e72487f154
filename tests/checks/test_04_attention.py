"""Checks for exercise 4: attention, by hand, against Keras's MultiHeadAttention.

Each classic mistake has its own message: a mask that lets a token see the
future (naming the position that leaked), the mask applied after the
softmax, no division by √d, heads glued back without the transpose.
"""

import math

import numpy as np
import pytest

import aurore  # noqa: F401  (the Keras backend before keras is imported)
from aurore.course.checks.plugin import say

EXERCISE = 4

#: How close the learner's attention must be to Keras's layer (float32 on both sides).
ATOL = 1e-5


def _numpy(value):
    from keras import ops

    return np.asarray(ops.convert_to_numpy(value))


def _softmax(scores):
    scores = scores - scores.max(axis=-1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(axis=-1, keepdims=True)


def _expected_weights(q, k, scale=True):
    """The reference: scaled (or not) scores, causal mask before the softmax."""
    scores = q @ np.swapaxes(k, -1, -2) / (math.sqrt(q.shape[-1]) if scale else 1.0)
    length = q.shape[-2]
    scores = np.where(np.tril(np.ones((length, length), bool)), scores, -1e9)
    return _softmax(scores)


def _first_leak(weights_or_mask, threshold=0.0):
    """(i, j), the first query i that looks at a later key j, or None."""
    future = np.triu(np.ones(weights_or_mask.shape[-2:], bool), k=1)
    seen = np.abs(weights_or_mask) > threshold
    found = np.argwhere(np.any(seen.reshape(-1, *seen.shape[-2:]), axis=0) & future)
    return tuple(int(n) for n in found[0]) if len(found) else None


def _leak_message(leak):
    i, j = leak
    return say(fr=f"Le masque laisse voir l'avenir : le jeton {i} voit le jeton {j}. Un jeton ne regarde que "
                  "lui-même et ceux d'avant (la clé j seulement si j <= i).",
               en=f"The mask lets the future through: token {i} sees token {j}. A token only looks at itself "
                  "and those before it (key j only when j <= i).")


@pytest.fixture(scope="module")
def qk():
    rng = np.random.default_rng(4)
    return rng.normal(size=(2, 5, 8)) * 2.0, rng.normal(size=(2, 5, 8)) * 2.0, rng.normal(size=(2, 5, 8))


@pytest.mark.check(fr="causal_mask : vrai où la requête i peut regarder la clé j (j <= i)",
                   en="causal_mask: true where query i may look at key j (j <= i)")
def test_causal_mask(exercise_module):
    mask = _numpy(exercise_module.causal_mask(5))
    expected = np.tril(np.ones((5, 5), bool))
    assert mask.shape == (5, 5), say(fr=f"causal_mask(5) doit avoir la forme (5, 5), pas {mask.shape}.",
                                     en=f"causal_mask(5) must have the shape (5, 5), not {mask.shape}.")
    leak = _first_leak(mask.astype(bool))
    assert leak is None, _leak_message(leak)
    assert np.array_equal(mask.astype(bool), expected), say(
        fr=f"causal_mask(5) devrait être vrai sur la diagonale et en dessous (j <= i) ; on obtient :\n{mask}",
        en=f"causal_mask(5) should be true on the diagonal and below it (j <= i); we get:\n{mask}")


@pytest.mark.check(fr="attention_weights : scores divisés par √d, masque avant le softmax, softmax sur les clés",
                   en="attention_weights: scores divided by √d, mask before the softmax, softmax over the keys")
def test_attention_weights(exercise_module, qk):
    q, k, _ = qk
    weights = _numpy(exercise_module.attention_weights(q, k))
    assert weights.shape == (2, 5, 5), say(
        fr=f"Pour q et k de forme (2, 5, 8), les poids ont la forme (2, 5, 5), pas {weights.shape}.",
        en=f"For q and k of shape (2, 5, 8), the weights have the shape (2, 5, 5), not {weights.shape}.")
    leak = _first_leak(weights, threshold=1e-6)
    assert leak is None, _leak_message(leak)
    sums = weights.sum(axis=-1)
    assert np.allclose(sums, 1.0, atol=1e-5) and weights.min() >= -1e-6, say(
        fr=f"Chaque ligne de poids doit sommer à 1 ; les sommes de la première sont {np.round(sums[0], 3)}. "
           "Le masque a-t-il été mis après le softmax ? Masquez les scores (MASKED) avant le softmax.",
        en=f"Each row of weights must sum to 1; the first one's sums are {np.round(sums[0], 3)}. "
           "Was the mask applied after the softmax? Mask the scores (MASKED) before the softmax.")
    if np.allclose(weights, _expected_weights(q, k, scale=False), atol=ATOL):
        pytest.fail(say(fr="Les scores ne sont pas divisés par √d (d = la dernière dimension de q, ici 8) : "
                           "sans cela, le softmax devient presque « tout ou rien ».",
                        en="The scores are not divided by √d (d = q's last dimension, here 8): without it, the "
                           "softmax becomes almost all-or-nothing."))
    expected = _expected_weights(q, k)
    gap = float(np.abs(weights - expected).max())
    assert gap <= ATOL, say(
        fr=f"Les poids s'écartent de ceux attendus de {gap:.2g} (tolérance {ATOL:g}) : scores q·kᵀ / √d, "
           "masque, puis softmax sur le dernier axe (les clés).",
        en=f"The weights are off the expected ones by {gap:.2g} (tolerance {ATOL:g}): scores q·kᵀ / √d, "
           "mask, then softmax over the last axis (the keys).")


@pytest.mark.check(fr="single_head_attention : la somme des valeurs pondérée par les poids",
                   en="single_head_attention: the sum of the values weighted by the weights")
def test_single_head_attention(exercise_module, qk):
    q, k, v = qk
    result = exercise_module.single_head_attention(q, k, v)
    assert isinstance(result, tuple) and len(result) == 2, say(
        fr="single_head_attention renvoie deux choses : (sortie, poids).",
        en="single_head_attention returns two things: (output, weights).")
    output, weights = _numpy(result[0]), _numpy(result[1])
    expected = _expected_weights(q, k)
    assert output.shape == v.shape, say(
        fr=f"La sortie a la forme des valeurs, {v.shape} ; on a {output.shape}.",
        en=f"The output has the values' shape, {v.shape}; we have {output.shape}.")
    assert weights.shape == expected.shape and np.allclose(weights, expected, atol=ATOL), say(
        fr="Les poids rendus ne sont pas ceux attendus (√d, masque causal, softmax) : corrigez d'abord "
           "attention_weights, puis renvoyez ses poids tels quels.",
        en="The weights returned are not the expected ones (√d, causal mask, softmax): fix attention_weights "
           "first, then return its weights as they are.")
    gap = float(np.abs(output - expected @ v).max())
    assert gap <= ATOL, say(
        fr=f"La sortie s'écarte de poids × valeurs de {gap:.2g} (tolérance {ATOL:g}) : ops.matmul(poids, v).",
        en=f"The output is off weights × values by {gap:.2g} (tolerance {ATOL:g}): ops.matmul(weights, v).")


@pytest.mark.check(fr="split_heads et merge_heads : couper en têtes, recoller dans le bon ordre",
                   en="split_heads and merge_heads: cut into heads, glue back in the right order")
def test_split_and_merge_heads(exercise_module):
    x = np.arange(2 * 3 * 8, dtype="float64").reshape(2, 3, 8)
    heads = _numpy(exercise_module.split_heads(x, 4))
    expected = x.reshape(2, 3, 4, 2).transpose(0, 2, 1, 3)
    if heads.shape == expected.shape and np.array_equal(heads, x.reshape(2, 4, 3, 2)):
        pytest.fail(say(fr="split_heads fait un simple reshape en [B, H, T, D/H] : les têtes se mélangent entre "
                           "jetons. Reshape en [B, T, H, D/H], puis transposez (0, 2, 1, 3).",
                        en="split_heads does a plain reshape into [B, H, T, D/H]: heads get mixed up across tokens. "
                           "Reshape into [B, T, H, D/H], then transpose (0, 2, 1, 3)."))
    assert heads.shape == expected.shape and np.array_equal(heads, expected), say(
        fr=f"split_heads(x, 4) pour x de forme (2, 3, 8) doit donner (2, 4, 3, 2), la tête h ayant la tranche "
           f"h*2 … h*2+2 de chaque vecteur ; on obtient la forme {heads.shape}.",
        en=f"split_heads(x, 4) for x of shape (2, 3, 8) must give (2, 4, 3, 2), head h holding the slice "
           f"h*2 … h*2+2 of each vector; we get the shape {heads.shape}.")
    merged = _numpy(exercise_module.merge_heads(expected))
    if merged.shape == x.shape and np.array_equal(merged, expected.reshape(2, 3, 8)):
        pytest.fail(say(fr="Les têtes sont recollées dans le mauvais ordre : merge_heads fait un reshape sans "
                           "transposer, et mélange les têtes de jetons différents. Transposez (0, 2, 1, 3) "
                           "d'abord, puis reshape en [B, T, H * hd].",
                        en="The heads are glued back in the wrong order: merge_heads reshapes without "
                           "transposing, and mixes up heads of different tokens. Transpose (0, 2, 1, 3) first, "
                           "then reshape into [B, T, H * hd]."))
    assert merged.shape == x.shape and np.array_equal(merged, x), say(
        fr=f"merge_heads doit défaire split_heads : de (2, 4, 3, 2) à (2, 3, 8), x retrouvé ; on obtient la "
           f"forme {merged.shape}.",
        en=f"merge_heads must undo split_heads: from (2, 4, 3, 2) to (2, 3, 8), x found back; we get the "
           f"shape {merged.shape}.")


@pytest.mark.check(fr="multi_head_attention donne ce que donne keras.layers.MultiHeadAttention (masque causal)",
                   en="multi_head_attention gives what keras.layers.MultiHeadAttention gives (causal mask)")
def test_multi_head_attention_matches_keras(exercise_module):
    import keras

    from aurore.generation.attention_params import params_from_layer

    batch, length, width, heads = 2, 6, 16, 4
    rng = np.random.default_rng(44)
    x = rng.normal(size=(batch, length, width)).astype("float32")
    layer = keras.layers.MultiHeadAttention(num_heads=heads, key_dim=width // heads, seed=4)
    layer(x, x, use_causal_mask=True)
    layer.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in layer.get_weights()])
    expected, expected_weights = layer(x, x, return_attention_scores=True, use_causal_mask=True)
    result = exercise_module.multi_head_attention(x, params_from_layer(layer), heads)
    assert isinstance(result, tuple) and len(result) == 2, say(
        fr="multi_head_attention renvoie deux choses : (sortie [B, T, D], poids [B, H, T, T]).",
        en="multi_head_attention returns two things: (output [B, T, D], weights [B, H, T, T]).")
    output, weights = _numpy(result[0]), _numpy(result[1])
    assert output.shape == (batch, length, width) and weights.shape == (batch, heads, length, length), say(
        fr=f"Formes attendues : sortie {(batch, length, width)}, poids {(batch, heads, length, length)} ; "
           f"on a {output.shape} et {weights.shape}.",
        en=f"Expected shapes: output {(batch, length, width)}, weights {(batch, heads, length, length)}; "
           f"we have {output.shape} and {weights.shape}.")
    gap = float(np.abs(weights - _numpy(expected_weights)).max())
    assert gap <= ATOL, say(
        fr=f"Les poids de chaque tête s'écartent de ceux de Keras de {gap:.2g} (tolérance {ATOL:g}) : "
           "projection x · noyau + biais, split_heads, puis attention_weights.",
        en=f"Each head's weights are off Keras's by {gap:.2g} (tolerance {ATOL:g}): projection "
           "x · kernel + bias, split_heads, then attention_weights.")
    gap = float(np.abs(output - _numpy(expected)).max())
    assert gap <= ATOL, say(
        fr=f"La sortie s'écarte de celle de keras.layers.MultiHeadAttention de {gap:.2g} (tolérance {ATOL:g}) : "
           "merge_heads, puis la projection de sortie (output_kernel, output_bias).",
        en=f"The output is off keras.layers.MultiHeadAttention's by {gap:.2g} (tolerance {ATOL:g}): "
           "merge_heads, then the output projection (output_kernel, output_bias).")
