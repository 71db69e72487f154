"""Exercise 5: make the model write.

The model reads a text and gives, for the next token, one score (a "logit")
per token of the vocabulary: the larger, the likelier. Writing is a loop:
choose one token from those scores, append it, ask again. How we choose
changes everything:

- greedy: always the most likely token (deterministic, often repetitive);
- temperature: divide the logits by T before turning them into
  probabilities; T < 1 sharpens the distribution, T > 1 flattens it;
- top-k: draw only among the k likeliest tokens;
- top-p (nucleus): draw only among the smallest set of likeliest tokens whose
  probabilities add up to at least p.

Everything here works on a plain NumPy vector of logits for ONE next token.
Aurore's library (`aurore/generation/generator.py`) runs the model fast (compiled
steps, a key/value cache, batching, streaming text) and calls these functions
to choose every token: they are the one place where the rules live.
"""

from __future__ import annotations

import numpy as np


def softmax(logits) -> np.ndarray:
    """Probabilities from logits; a logit of -inf gets probability 0."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = np.exp(logits - np.max(logits))
    return shifted / shifted.sum()


def sort_descending(logits) -> np.ndarray:
    """Token indices from the largest logit to the smallest; equal logits keep their index order.

    The same order as np.argsort(-logits, kind="stable"), about four times
    faster on a whole vocabulary: a quick sort, which puts equal logits in
    any order, then each (rare) group of equal logits put back in index order.
    """
    logits = np.asarray(logits, dtype=np.float64)
    order = np.argsort(-logits)
    ordered = logits[order]
    ties = np.flatnonzero(ordered[1:] == ordered[:-1])
    if ties.size > 32 or (ordered.size and np.isnan(ordered[-1])):
        return np.argsort(-logits, kind="stable")
    for value in np.unique(ordered[ties]):
        group = np.flatnonzero(ordered == value)  # side by side once sorted
        order[group] = np.sort(order[group])
    return order


def greedy(logits) -> int:
    """The index of the most likely token."""
    # TODO: return the index (an int) of the largest logit (np.argmax).
    raise NotImplementedError("TODO")


def apply_temperature(logits, temperature: float) -> np.ndarray:
    """Logits divided by the temperature (a new float array)."""
    # TODO: divide the logits by the temperature (convert them to a float array first).
    raise NotImplementedError("TODO")


def top_k_filter(logits, k: int) -> np.ndarray:
    """Keep the k largest logits; every other one becomes -inf (probability 0).

    Exactly k are kept, even when several logits are equal: the first ones
    win, as with np.argmax, so that top-k with k = 1 is greedy.
    """
    logits = np.asarray(logits, dtype=np.float64)
    # TODO: find the indices of the k largest logits (sort_descending(logits)[:k]),
    # TODO: and return a copy where every other logit is -np.inf.
    raise NotImplementedError("TODO")


def top_p_filter(logits, p: float) -> np.ndarray:
    """Keep the smallest set of likeliest tokens whose probabilities reach p.

    The likeliest token is always kept; the others become -inf.
    """
    logits = np.asarray(logits, dtype=np.float64)
    # TODO: sort the tokens from likeliest to least likely (sort_descending), add up their
    # TODO: probabilities (np.cumsum), keep a token while the probability BEFORE it is still below p.
    raise NotImplementedError("TODO")


def choose_next_token(logits, params, rng: np.random.Generator) -> int:
    """One token id chosen from the logits following the sampling params.

    `params` has `strategy` ("greedy", "top_k" or "top_p"), `temperature`,
    `top_k` and `top_p`. Draw with `rng` only (never np.random directly): the
    same seed must give the same text.
    """
    # TODO: greedy: no randomness at all.
    # TODO: otherwise: temperature first, then the top-k or top-p filter,
    # TODO: then probabilities (softmax) and one draw: rng.choice(len(probabilities), p=probabilities).
    raise NotImplementedError("TODO")


def decode(model, prompt_ids: list[int], params, rng: np.random.Generator, end_of_text_id: int):
    """Yield new token ids one at a time: the writing loop.

    `model.start(prompt_ids)` reads the prompt and returns the logits of the
    next token; `model.next(token_id)` appends one token and returns the
    logits of the one after (the model keeps what it has read in a cache).
    Stop after `params.max_new_tokens` tokens, or as soon as the model
    chooses `end_of_text_id` (that token is not yielded).
    """
    # TODO: logits for the first new token: model.start(prompt_ids).
    # TODO: then, at most params.max_new_tokens times: choose a token, stop on end_of_text_id,
    # TODO: yield it, and (if another token is wanted) get the next logits with model.next(token).
    raise NotImplementedError("TODO")
