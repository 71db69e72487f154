"""Exercise 9 (bonus): teach a trained GPT-2 one new book with LoRA.

Fine-tuning continues the training of a model that already writes French on
new text: here one single book (by default Molière's L'Avare, a play the
model never read). Two ways:

- full fine-tuning: every weight moves, as in exercise 4;
- LoRA (Low-Rank Adaptation): the weights stay frozen, and beside some of
  the big matrices W (the attention's query and value projections) the model
  learns a small correction A·B, with A of shape (d, r) and B of shape (r, d')
  for a small rank r. Far fewer numbers to learn, to keep in memory for
  the optimizer, and to save: the correction is the "adapter".

To measure honestly, the end of the book is held out: the model learns on
its beginning and is scored (bits per character, exercise 6) on the last
pages, which it never saw.

The rest (reading the book with the code of exercises 1 and 2, the
training loop, saving, evaluating) is in `aurore/bonus/lora.py`.
Run it: `python -m aurore lora` (or `--use exercise` for your code).
"""

from __future__ import annotations

import math

import numpy as np


def split_by_position(sentences: list[str], held_out_share: float = 0.1) -> tuple[list[str], list[str]]:
    """(training sentences, held-out sentences): the last `held_out_share` of the book is held out.

    Not a random draw: neighbouring sentences share names and turns of
    phrase, so a sentence drawn at random from the middle of the book would
    be half known already. The held-out part takes at least one sentence,
    and leaves at least one to learn from.
    """
    # TODO: the number of held-out sentences is held_out_share of the book, rounded up (math.ceil),
    # at least 1 and at most len(sentences) - 1; the training part is everything before them.
    raise NotImplementedError("TODO")


def count_parameters(model) -> dict[str, int]:
    """How many numbers the model holds: trainable (the optimizer moves them), frozen, and in all."""
    # TODO: add up the sizes (np.prod of the shape) of model.trainable_weights, then of
    # model.non_trainable_weights; the total is their sum. Return plain Python ints.
    raise NotImplementedError("TODO")
    return {"trainable": trainable, "frozen": frozen, "total": trainable + frozen}


def choose_trainable(backbone, rank: int | None) -> None:
    """Decide what fine-tuning may change: everything (rank None), or LoRA adapters of that rank."""
    # TODO: for full fine-tuning (rank is None), make the whole backbone trainable (backbone.trainable).
    # Otherwise ask KerasHub for LoRA: backbone.enable_lora(rank=rank) freezes every weight and adds
    # the two small trainable matrices beside the query and value projections of each layer.
    raise NotImplementedError("TODO")
