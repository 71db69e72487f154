"""What the model looks at: one layer's and one head's attention weights over a text's tokens.

Why here and why checked: the weights are computed by the attention exercise's
`multi_head_attention` (the reference solution's, or the learner's once their
check passed: the caller passes the function in, as the stages never load the
course), fed with the trained model's own hidden states and weights. A map
drawn with a function that does not do what the model does would be a lie, so
each map first checks that the function reproduces the layer's own output
(KerasHub's `_self_attention_layer` on the same layer-normed states) and
carries the measured difference; above `TOLERANCE` it is refused.

    amap = attention_map(modeldir.load(path), "La nuit était douce", layer=1, head=1,
                         attention=module.multi_head_attention, function="reference")
    amap.pieces, amap.weights[i][j], amap.difference, amap.top_sources(i)

Layers and heads are numbered from 1, as people count them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

import aurore  # noqa: F401  (Keras backend before keras is imported)
from aurore.errors import AuroreError
from aurore.generation.attention_params import params_from_layer

#: Largest allowed difference (max abs, float32) between the function's output and the layer's own.
TOLERANCE = 1e-4
#: Most tokens a map shows (the last ones): a heatmap of more is unreadable, and the cost grows with the square
#: (measured, load 10 on 2 cores: the `cpu` preset's 128 tokens 0.16-0.37 s; a GPT-2 small shape, 1,024 tokens, layer 12: 12.6 s).
MAX_TOKENS = 256
#: How far a row of weights may be from summing to 1 (float32 softmax).
ROW_SUM_TOLERANCE = 1e-3


class AttentionMismatch(AuroreError):
    """The attention function does not compute what the model's layer computes."""


@dataclass
class AttentionMap:
    """One head's weights: row i is what token i looked at (columns 0..i, the rest 0)."""

    pieces: list[str]
    token_ids: list[int]
    layer: int
    head: int
    layers: int
    heads: int
    weights: list[list[float]]
    difference: float
    tolerance: float = TOLERANCE
    function: str = "reference"
    truncated: int = 0
    extra: dict = field(default_factory=dict)

    def top_sources(self, row: int, count: int = 3) -> list[tuple[int, float]]:
        """The `count` tokens that token `row` looked at most: (column, weight), heaviest first."""
        weights = self.weights[row][:row + 1]
        order = sorted(range(len(weights)), key=lambda column: (-weights[column], column))
        return [(column, weights[column]) for column in order[:count]]

    def as_dict(self) -> dict:
        return asdict(self)

    def as_text(self, count: int = 3) -> str:
        """The map for a terminal: per token, the `count` tokens it looked at most, each with its weight
        and a shaded cell (░ ▒ ▓ █ for a quarter, a half, three quarters, all of its attention)."""
        lines = [f"Attention of layer {self.layer}/{self.layers}, head {self.head}/{self.heads}, computed by the "
                 f"{self.function} multi_head_attention (reproduces the layer: max abs difference "
                 f"{self.difference:.2g} <= {self.tolerance:g})."]
        if self.truncated:
            lines.append(f"(the first {self.truncated} tokens were left out: the map shows the last {len(self.pieces)})")
        lines.append("token  looked most at")
        width = max(len(str(len(self.pieces) - 1)), 2)
        for row, piece in enumerate(self.pieces):
            sources = "   ".join(f"{shade(weight)} {quoted(self.pieces[column])} {weight:.2f}"
                                 for column, weight in self.top_sources(row, count))
            lines.append(f"{row:>{width}} {quoted(piece):<12} <- {sources}")
        return "\n".join(lines) + "\n"


def shade(weight: float) -> str:
    """A cell shaded by the weight: blank below 1/8, then ░ ▒ ▓ █."""
    return " ░▒▓█"[min(4, int(round(float(weight) * 4)))]


def quoted(piece: str) -> str:
    """A token readable in a line: its spaces and line breaks made visible."""
    return "«" + piece.replace("\n", "⏎").replace(" ", "·") + "»"


def token_pieces(tokenizer, ids: list[int]) -> list[str]:
    """Each token's own text (a character cut between two byte-level tokens shows as « � »)."""
    return [tokenizer.decode([token_id]) for token_id in ids]


def checked_position(name: str, value, count: int) -> int:
    """A layer or head number, 1..count, or a clear error."""
    plural = {"layer": "layers", "head": "heads"}[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise AuroreError(f"The {name} must be a whole number from 1 to {count}, not {value!r}.")
    if not 1 <= value <= count:
        raise AuroreError(f"There is no {name} {value}: this model has {count} {plural}, numbered 1 to {count}.")
    return value


def attention_map(loaded, text: str, layer: int, head: int, attention, function: str = "reference",
                  tolerance: float = TOLERANCE, max_tokens: int = MAX_TOKENS) -> AttentionMap:
    """The weights of `head` in `layer` over `text`'s tokens, computed by `attention` and checked.

    `loaded`: a `modeldir.LoadedModel` (GPT-2 backbone, pre-norm layers, and its
    tokenizer). `attention(x, params, num_heads) -> (output, weights)`: the
    exercise's `multi_head_attention`. Raises AuroreError for a bad layer, head
    or text, AttentionMismatch when `attention` does not reproduce the layer.
    """
    backbone, tokenizer = loaded.backbone, loaded.tokenizer
    transformer = list(backbone.transformer_layers)
    heads = int(backbone.num_heads)
    layer = checked_position("layer", layer, len(transformer))
    head = checked_position("head", head, heads)
    if not isinstance(text, str) or not text.strip():
        raise AuroreError("There is no text to look at: give a text of at least one word.")
    if not all(getattr(block, "normalize_first", False) for block in transformer):
        raise AuroreError("The attention map expects GPT-2's pre-norm transformer layers.")
    ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    limit = min(int(backbone.max_sequence_length), max_tokens)
    truncated = max(0, len(ids) - limit)
    ids = ids[truncated:]
    if not ids:
        raise AuroreError("There is no text to look at: give a text of at least one word.")

    hidden, own = _layer_input(backbone, transformer, ids, layer - 1)
    params = {name: np.asarray(value, dtype="float32") for name, value in
              params_from_layer(transformer[layer - 1]._self_attention_layer).items()}
    try:
        output, weights = attention(hidden, params, heads)
    except AuroreError:
        raise
    except Exception as error:  # noqa: BLE001 - the exercise's function: say what it raised
        raise AttentionMismatch(f"multi_head_attention raised {type(error).__name__}: {error}") from error
    output, weights = _numpy(output), _numpy(weights)
    length, width = len(ids), hidden.shape[-1]
    _check_shape("output", output, (1, length, width))
    _check_shape("weights", weights, (1, heads, length, length))
    difference = float(np.max(np.abs(output - own)))
    if not difference <= tolerance:        # NaN fails too
        raise AttentionMismatch(
            f"multi_head_attention does not reproduce layer {layer} of this model: its output differs from "
            f"the layer's own by up to {difference:.3g} (allowed: {tolerance:g}). Check the scaling by "
            "√(head size), the causal mask and the order of the heads.")
    _check_distribution(weights)
    return AttentionMap(pieces=token_pieces(tokenizer, ids), token_ids=[int(i) for i in ids], layer=layer,
                        head=head, layers=len(transformer), heads=heads,
                        weights=np.round(weights[0, head - 1].astype("float64"), 6).tolist(),
                        difference=difference, tolerance=tolerance, function=function, truncated=truncated)


def _layer_input(backbone, transformer, ids: list[int], index: int) -> tuple[np.ndarray, np.ndarray]:
    """Layer `index`'s layer-normed input [1, T, D] (float32) and its self-attention's own output on it."""
    from keras import ops

    tokens = ops.convert_to_tensor(np.asarray([ids], dtype="int32"))
    x = backbone.token_embedding(tokens)
    x = backbone.embeddings_add((x, backbone.position_embedding(x)))
    for block in transformer[:index]:
        x = block(x)
    block = transformer[index]
    hidden = block._self_attention_layer_norm(x)
    mask = np.tril(np.ones((len(ids), len(ids)), dtype=bool))[None]
    own = block._self_attention_layer(query=hidden, value=hidden, attention_mask=ops.convert_to_tensor(mask))
    return _numpy(hidden).astype("float32"), _numpy(own).astype("float32")


def _numpy(value) -> np.ndarray:
    from keras import ops

    return np.asarray(ops.convert_to_numpy(value), dtype="float32")


def _check_shape(name: str, value: np.ndarray, expected: tuple) -> None:
    if tuple(value.shape) != expected:
        raise AttentionMismatch(f"multi_head_attention returned {name} of shape {list(value.shape)}; "
                                f"expected {list(expected)} (batch, …).")


def _check_distribution(weights: np.ndarray) -> None:
    """Each row a causal distribution: nothing above the diagonal, summing to 1."""
    length = weights.shape[-1]
    future = np.triu(np.ones((length, length), dtype=bool), k=1)
    if np.any(np.abs(weights[..., future]) > TOLERANCE):
        raise AttentionMismatch("multi_head_attention's weights look at later tokens (above the diagonal): "
                                "the causal mask is missing.")
    if np.any(np.abs(weights.sum(axis=-1) - 1.0) > ROW_SUM_TOLERANCE):
        raise AttentionMismatch("multi_head_attention's weights do not sum to 1 on each row: is the softmax "
                                "taken over the last axis?")
