"""Exercise 6: measure how well the model writes George Sand's French.

The trained model reads a book it never saw (La Mare au Diable) and gives,
at every position, a probability to the real next token. The library collects
the natural logarithm of each of those probabilities: the per-token
log-likelihoods, all negative (a probability is at most 1). From them:

- the loss per token: the mean of −ln p, the figure training lowers;
- the perplexity: exp(loss), among how many equally likely tokens the model
  hesitates on average;
- the bits per character: the total −ln p in bits (÷ ln 2) per character of
  text. The first two depend on how the tokenizer cuts the text; bits per
  character do not, so they compare any models, and compressors.

A figure means little without something to beat. Two baselines:
- a unigram model, which gives each token its frequency in the training books
  and ignores what comes before it;
- the xz compressor, which has read the training books first.

Run it: `python -m aurore evaluate` (or `--use exercise` for your code).
"""

from __future__ import annotations

import lzma
import math

import numpy as np


def loss_per_token(log_likelihoods) -> float:
    """The mean negative log-likelihood per token, in nats (natural log)."""
    # BEGIN SOLUTION
    # TODO: the mean of −ln p over the tokens (np.mean), as a Python float.
    return -float(np.mean(log_likelihoods))
    # END SOLUTION


def perplexity(log_likelihoods) -> float:
    """exp(loss per token): a model that guesses among V equally likely tokens has perplexity V."""
    # BEGIN SOLUTION
    # TODO: the exponential (math.exp) of the loss per token.
    return math.exp(loss_per_token(log_likelihoods))
    # END SOLUTION


def bits_per_character(log_likelihoods, characters: int) -> float:
    """The total negative log-likelihood in bits, divided by the number of characters."""
    # BEGIN SOLUTION
    # TODO: add up −ln p over all the tokens, turn nats into bits (divide by math.log(2)),
    # and divide by the number of characters.
    return -float(np.sum(log_likelihoods)) / math.log(2) / characters
    # END SOLUTION


def unigram_log_likelihoods(train_ids, test_ids, vocab_size: int) -> np.ndarray:
    """ln p of each test token under a unigram model learned on the training tokens.

    A unigram model gives every token the same probability wherever it is:
    its count in the training tokens, plus one (so that a token never seen
    keeps a small chance), divided by the total of those counts.
    """
    # BEGIN SOLUTION
    # TODO: count each token id in train_ids (np.bincount with minlength=vocab_size) and add 1,
    # divide by the sum to get probabilities, and return the log (np.log) of those of test_ids.
    counts = np.bincount(np.asarray(train_ids, dtype=np.int64), minlength=vocab_size) + 1.0
    probabilities = counts / counts.sum()
    return np.log(probabilities[np.asarray(test_ids, dtype=np.int64)])
    # END SOLUTION


def xz_bits_per_character(text: str, given: str = "") -> float:
    """Bits per character xz needs for `text` once it has read `given` (the training books).

    A compressor is a model too: it writes likely text in few bits. What it
    needs for the text alone is the size of `given + text` compressed, less
    the size of `given` compressed (with nothing given, that takes off the
    few bytes of xz's header and footer).
    """
    # BEGIN SOLUTION
    # TODO: compress (lzma.compress, default settings) given + text and given alone, both encoded
    # in UTF-8; the difference in bytes, times 8, is the text's share in bits: divide it by len(text).
    both = len(lzma.compress((given + text).encode("utf-8")))
    alone = len(lzma.compress(given.encode("utf-8")))
    return (both - alone) * 8 / len(text)
    # END SOLUTION
