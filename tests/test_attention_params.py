"""A Keras MultiHeadAttention layer's weights as exercise 4's params: the same attention, head by head."""

import numpy as np
import pytest

import aurore  # noqa: F401  (the Keras backend before keras is imported)
from aurore.generation.attention_params import params_from_layer


def _layer(width=12, heads=3):
    import keras

    layer = keras.layers.MultiHeadAttention(num_heads=heads, key_dim=width // heads, seed=7)
    x = np.zeros((1, 4, width), "float32")
    layer(x, x)
    rng = np.random.default_rng(7)
    layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()])
    return layer


def test_the_params_are_flat_d_by_d_kernels_and_d_biases():
    params = params_from_layer(_layer())
    assert sorted(params) == sorted(f"{name}_{part}" for name in ("query", "key", "value", "output")
                                    for part in ("kernel", "bias"))
    assert all(params[f"{name}_kernel"].shape == (12, 12) for name in ("query", "key", "value", "output"))
    assert all(params[f"{name}_bias"].shape == (12,) for name in ("query", "key", "value", "output"))


def test_head_h_gets_columns_h_hd_to_h_plus_1_hd_of_each_projection():
    layer = _layer()
    params = params_from_layer(layer)
    kernel = layer._query_dense.kernel.numpy()              # [D, H, hd]
    for head in range(3):
        np.testing.assert_array_equal(params["query_kernel"][:, head * 4:(head + 1) * 4], kernel[:, head, :])
    output = layer._output_dense.kernel.numpy()             # [H, hd, D]
    np.testing.assert_array_equal(params["output_kernel"][4:8], output[1])


def test_the_params_reproduce_the_layer_with_plain_numpy():
    layer = _layer()
    params = params_from_layer(layer)
    x = np.random.default_rng(1).normal(size=(2, 5, 12)).astype("float32")
    expected = layer(x, x, use_causal_mask=True).numpy()

    def heads(a):
        return a.reshape(2, 5, 3, 4).transpose(0, 2, 1, 3)
    q, k, v = (heads(x @ params[f"{n}_kernel"] + params[f"{n}_bias"]) for n in ("query", "key", "value"))
    scores = np.where(np.tril(np.ones((5, 5), bool)), q @ k.transpose(0, 1, 3, 2) / 2.0, -1e9)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    merged = (weights @ v).transpose(0, 2, 1, 3).reshape(2, 5, 12)
    np.testing.assert_allclose(merged @ params["output_kernel"] + params["output_bias"], expected, atol=1e-4)


def test_an_unbuilt_layer_gets_a_clear_message():
    import keras

    with pytest.raises(ValueError, match="built keras.layers.MultiHeadAttention"):
        params_from_layer(keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, use_bias=False))
