"""A Keras `MultiHeadAttention` layer's weights as exercise 4's `params` dict.

Why: exercise 4 writes attention with plain [D, D] matrices, one per
projection; Keras keeps each head apart (kernels [D, H, hd], biases [H, hd],
the output kernel [H, hd, D]). Flattening the head axes row-major puts head h
in columns h·hd … (h+1)·hd, the slice `split_heads` gives it, so the learner's
code and the layer compute the same thing (the check compares them; the
attention heatmap reads a trained model's layers through this too).
"""

from __future__ import annotations

import numpy as np

#: The projections of the layer, by their name in `params`: (attribute of the layer).
PROJECTIONS = {"query": "_query_dense", "key": "_key_dense", "value": "_value_dense", "output": "_output_dense"}


def params_from_layer(mha_layer) -> dict[str, np.ndarray]:
    """`query_kernel` … `output_bias` as NumPy arrays ([D, D] kernels, [D] biases) of a built layer."""
    params = {}
    for name, attribute in PROJECTIONS.items():
        dense = getattr(mha_layer, attribute, None)
        if dense is None or getattr(dense, "bias", None) is None:
            raise ValueError("params_from_layer needs a built keras.layers.MultiHeadAttention with biases "
                             "(call it once, use_bias=True).")
        kernel = np.asarray(dense.kernel.numpy() if hasattr(dense.kernel, "numpy") else dense.kernel)
        bias = np.asarray(dense.bias.numpy() if hasattr(dense.bias, "numpy") else dense.bias)
        if name == "output":
            params["output_kernel"] = kernel.reshape(-1, kernel.shape[-1])       # [H, hd, D] -> [H*hd, D]
            params["output_bias"] = bias.reshape(-1)
        else:
            params[f"{name}_kernel"] = kernel.reshape(kernel.shape[0], -1)      # [D, H, hd] -> [D, H*hd]
            params[f"{name}_bias"] = bias.reshape(-1)                           # [H, hd] -> [H*hd]
    return params
