"""`python -m aurore attention`: exercise 4's attention beside Keras's layer, and who looks at whom.

Nothing is trained or saved: a `keras.layers.MultiHeadAttention` with fixed
random weights reads random vectors for the words of a short sentence; the
exercise's `multi_head_attention` computes the same with those weights
(`aurore.generation.attention_params`). The step prints how far apart the two
are and, for each word, the earlier word each head looks at most: the causal
mask shows (a word never looks ahead).
"""

from __future__ import annotations

import argparse

import numpy as np

from aurore import progress
from aurore.commands import add_variant_option
from aurore.course import exercises
from aurore.errors import AuroreError
from aurore.messages import gettext, number

#: The sentence whose words the step shows (one random vector each: no tokenizer, no model).
WORDS = ("La", "mare", "au", "diable", "était", "noire")
#: The attention's width and heads (small, so it prints whole).
WIDTH, HEADS = 16, 2


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "attention", help="run exercise 4's attention beside Keras's layer and show who looks at whom",
        description="Compare your causal multi-head attention with keras.layers.MultiHeadAttention (same random "
                    "weights, random vectors for the words of a short sentence), then show, for each word and "
                    "head, the word it looks at most.")
    add_variant_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import keras

    from aurore.generation.attention_params import params_from_layer

    attention = exercises.rules("attention", args.use)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(1, len(WORDS), WIDTH)).astype("float32")
    layer = keras.layers.MultiHeadAttention(num_heads=HEADS, key_dim=WIDTH // HEADS, seed=4)
    expected, _ = layer(x, x, use_causal_mask=True, return_attention_scores=True)
    output, weights = attention.multi_head_attention(x, params_from_layer(layer), HEADS)
    output, weights = keras.ops.convert_to_numpy(output), keras.ops.convert_to_numpy(weights)
    if output.shape != tuple(expected.shape) or weights.shape != (1, HEADS, len(WORDS), len(WORDS)):
        raise AuroreError(f"Exercise {attention.exercise.number}: `multi_head_attention` returned shapes "
                          f"{output.shape} and {weights.shape}, not {tuple(expected.shape)} and "
                          f"{(1, HEADS, len(WORDS), len(WORDS))}. Check it with "
                          f"`python -m aurore check {attention.exercise.number}`.")
    gap = float(np.abs(output - keras.ops.convert_to_numpy(expected)).max())
    progress.log(gettext("Largest gap from keras.layers.MultiHeadAttention: %(gap)s.", gap=number(gap, 7)))
    for head in range(HEADS):
        looks = [WORDS[int(np.argmax(row))] for row in weights[0, head]]
        progress.log(gettext("Head %(head)s, the word each word looks at most: %(pairs)s", head=head + 1,
                             pairs=", ".join(f"{word} → {seen}" for word, seen in zip(WORDS, looks))))
    future = float(np.triu(weights[0], k=1).sum())
    progress.log(gettext("Weight on later words (the causal mask): %(future)s.", future=number(future, 7)))
    progress.event("attention", gap=gap, future_weight=future)
    return 0
