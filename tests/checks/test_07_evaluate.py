"""Checks for exercise 7 (evaluation): the three figures and the two baselines.

Fast: small hand-computed cases, no TensorFlow.
"""

from __future__ import annotations

import lzma
import math

import numpy as np
import pytest

from aurore.course.checks.plugin import say

EXERCISE = 7

# 4 tokens, each guessed among 8 equally likely ones: ln p = −ln 8 each.
UNIFORM_8 = np.full(4, -math.log(8))
# Probabilities 1/2 and 1/4: loss (ln 2 + ln 4) / 2 = 1.5 ln 2, perplexity 2^1.5.
HALF_QUARTER = np.log([0.5, 0.25])

TEXT = ("La mare au diable était noire sous la lune. Le petit Pierre dormait, Germain veillait, "
        "et Marie, près du feu, pensait à sa mère restée seule à la métairie. ") * 4


def number(value) -> float:
    return float(np.asarray(value, dtype=float))


@pytest.mark.check(fr="loss_per_token et perplexity sur des cas calculés à la main",
                   en="loss_per_token and perplexity on cases computed by hand")
def test_loss_and_perplexity(exercise_module):
    for likelihoods, loss, perplexity in ((UNIFORM_8, math.log(8), 8.0),
                                          (HALF_QUARTER, 1.5 * math.log(2), 2 ** 1.5)):
        got = exercise_module.loss_per_token(likelihoods)
        assert got is not None and number(got) == pytest.approx(loss), say(
            fr=f"Pour les log-vraisemblances {list(np.round(likelihoods, 4))}, la perte par jeton vaut "
               f"{loss:.4f} (la moyenne de −ln p, un nombre positif), pas {got!r}.",
            en=f"For the log-likelihoods {list(np.round(likelihoods, 4))}, the loss per token is {loss:.4f} "
               f"(the mean of −ln p, a positive number), not {got!r}.")
        got = exercise_module.perplexity(likelihoods)
        assert got is not None and number(got) == pytest.approx(perplexity), say(
            fr=f"Pour les mêmes log-vraisemblances, la perplexité vaut exp(perte) = {perplexity:.4f}, pas {got!r}.",
            en=f"For the same log-likelihoods, the perplexity is exp(loss) = {perplexity:.4f}, not {got!r}.")
    got = exercise_module.perplexity([-math.log(8)] * 3)
    assert number(got) == pytest.approx(8.0), say(
        fr="perplexity doit aussi accepter une simple liste Python.",
        en="perplexity must accept a plain Python list too.")


@pytest.mark.check(fr="bits_per_character compte les bits par caractère",
                   en="bits_per_character counts the bits per character")
def test_bits_per_character(exercise_module):
    # 4 · ln 8 nats = 4 · 3 bits = 12 bits, over 6 characters: 2 bits per character.
    got = exercise_module.bits_per_character(UNIFORM_8, 6)
    assert got is not None and number(got) == pytest.approx(2.0), say(
        fr=f"4 jetons de probabilité 1/8 coûtent 4 × 3 = 12 bits ; sur 6 caractères, cela fait 2 bits par "
           f"caractère, pas {got!r}. Pensez au signe, à la division par math.log(2) et par le nombre de caractères.",
        en=f"4 tokens of probability 1/8 cost 4 × 3 = 12 bits; over 6 characters, that is 2 bits per character, "
           f"not {got!r}. Mind the sign, the division by math.log(2) and by the number of characters.")
    got = exercise_module.bits_per_character(HALF_QUARTER, 3)
    assert number(got) == pytest.approx(1.0), say(
        fr=f"Probabilités 1/2 et 1/4 : 1 + 2 = 3 bits sur 3 caractères, soit 1 bit par caractère, pas {got!r}.",
        en=f"Probabilities 1/2 and 1/4: 1 + 2 = 3 bits over 3 characters, that is 1 bit per character, not {got!r}.")


@pytest.mark.check(fr="le modèle unigramme compte les jetons, avec un lissage de Laplace",
                   en="the unigram model counts the tokens, with Laplace smoothing")
def test_unigram(exercise_module):
    # Counts of [0, 0, 1, 2] in a vocabulary of 4, plus one each: 3, 2, 2, 1 out of 8.
    got = exercise_module.unigram_log_likelihoods([0, 0, 1, 2], [0, 3, 1], 4)
    expected = np.log([3 / 8, 1 / 8, 2 / 8])
    got = np.asarray(got, dtype=float) if got is not None else None
    assert got is not None and got.shape == (3,), say(
        fr=f"unigram_log_likelihoods doit rendre un tableau d'une valeur par jeton de test (3 ici), pas {got!r}.",
        en=f"unigram_log_likelihoods must return an array with one value per test token (3 here), not {got!r}.")
    assert np.all(np.isfinite(got)), say(
        fr="Le jeton 3 n'apparaît pas dans l'entraînement : sans le +1 de chaque compte, sa probabilité "
           "est 0 et ln 0 = −inf.",
        en="Token 3 never appears in training: without the +1 on each count, its probability is 0 and ln 0 = −inf.")
    assert np.allclose(got, expected), say(
        fr=f"Entraînement [0, 0, 1, 2], vocabulaire de 4 : les comptes plus un font 3, 2, 2, 1 sur 8, donc pour "
           f"les jetons de test [0, 3, 1] on attend ln(3/8), ln(1/8), ln(2/8) = {list(np.round(expected, 4))}, "
           f"pas {list(np.round(got, 4))}.",
        en=f"Training [0, 0, 1, 2], vocabulary of 4: the counts plus one are 3, 2, 2, 1 out of 8, so for the "
           f"test tokens [0, 3, 1] we expect ln(3/8), ln(1/8), ln(2/8) = {list(np.round(expected, 4))}, "
           f"not {list(np.round(got, 4))}.")
    everything = np.asarray(exercise_module.unigram_log_likelihoods(np.array([5, 5, 7]), np.arange(10), 10))
    assert np.exp(everything).sum() == pytest.approx(1.0), say(
        fr="Les probabilités de tous les jetons du vocabulaire doivent faire 1 au total.",
        en="The probabilities of all the tokens of the vocabulary must add up to 1.")


@pytest.mark.check(fr="xz_bits_per_character mesure le texte une fois les livres d'entraînement lus",
                   en="xz_bits_per_character measures the text once the training books are read")
def test_xz(exercise_module):
    alone = (len(lzma.compress(TEXT.encode("utf-8"))) - len(lzma.compress(b""))) * 8 / len(TEXT)
    got = exercise_module.xz_bits_per_character(TEXT)
    assert got is not None and number(got) == pytest.approx(alone, rel=0.02), say(
        fr=f"Sans rien avant, le texte compressé prend {alone:.3f} bits par caractère (octets × 8, divisés par "
           f"len(text), le nombre de caractères), pas {got!r}.",
        en=f"With nothing before it, the compressed text takes {alone:.3f} bits per character (bytes × 8, divided "
           f"by len(text), the number of characters), not {got!r}.")
    given = number(exercise_module.xz_bits_per_character(TEXT, given=TEXT))
    assert given < alone / 2, say(
        fr=f"Après avoir lu le même texte, xz devrait le coder pour presque rien ({given:.3f} bits par caractère "
           f"contre {alone:.3f} sans) : retirez-vous bien la taille de `given` compressé seul ?",
        en=f"Having read the same text before, xz should encode it for almost nothing ({given:.3f} bits per "
           f"character against {alone:.3f} without): do you take off the size of `given` compressed alone?")
