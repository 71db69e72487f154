"""Checks for exercise 6 (generation): the sampling rules and the writing loop.

Fast: small logits vectors and a fake model, no TensorFlow.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from aurore.course.checks.plugin import say

EXERCISE = 6

LOGITS = np.array([1.0, 3.0, -2.0, 2.5, 0.0])  # likeliest: 1, then 3, 0, 4, 2


def params(**fields):
    base = dict(strategy="top_p", temperature=1.0, top_k=40, top_p=0.95, max_new_tokens=10)
    return SimpleNamespace(**{**base, **fields})


def kept(filtered) -> list[int]:
    return [i for i, value in enumerate(np.asarray(filtered)) if np.isfinite(value)]


@pytest.mark.check(fr="greedy choisit le jeton le plus probable", en="greedy picks the likeliest token")
def test_greedy(exercise_module):
    for logits, expected in ((LOGITS, 1), ([0.1, -5.0, 7.0], 2), ([4.0, 4.0, 1.0], 0)):
        got = exercise_module.greedy(np.array(logits))
        assert isinstance(got, (int, np.integer)), say(
            fr=f"greedy doit renvoyer un entier (un numéro de jeton), pas {type(got).__name__}.",
            en=f"greedy must return an integer (a token id), not {type(got).__name__}.")
        assert got == expected, say(
            fr=f"Pour les logits {list(logits)}, le plus grand est à l'indice {expected}, greedy a renvoyé {got}.",
            en=f"For the logits {list(logits)}, the largest is at index {expected}; greedy returned {got}.")


@pytest.mark.check(fr="la température divise les logits", en="the temperature divides the logits")
def test_temperature(exercise_module):
    original = LOGITS.copy()
    for temperature in (0.5, 1.0, 2.0):
        got = np.asarray(exercise_module.apply_temperature(LOGITS, temperature), dtype=float)
        assert got.shape == LOGITS.shape and np.allclose(got, LOGITS / temperature), say(
            fr=f"Avec T = {temperature}, on attendait {list(LOGITS / temperature)}, on a obtenu {list(got)}.",
            en=f"With T = {temperature}, expected {list(LOGITS / temperature)}, got {list(got)}.")
    assert np.array_equal(LOGITS, original), say(
        fr="apply_temperature a modifié le tableau reçu : renvoyez un nouveau tableau.",
        en="apply_temperature changed the array it was given: return a new array.")
    got = exercise_module.apply_temperature([1, 2], 2)
    assert np.allclose(np.asarray(got, dtype=float), [0.5, 1.0]), say(
        fr=f"Avec des logits entiers [1, 2] et T = 2, on attendait [0.5, 1.0], pas {got} (convertissez en float).",
        en=f"With integer logits [1, 2] and T = 2, expected [0.5, 1.0], not {got} (convert to float).")


@pytest.mark.check(fr="top-k garde exactement les k meilleurs", en="top-k keeps exactly the k best")
def test_top_k(exercise_module):
    for k, expected in ((1, [1]), (2, [1, 3]), (3, [0, 1, 3]), (5, [0, 1, 2, 3, 4]), (50, [0, 1, 2, 3, 4])):
        got = np.asarray(exercise_module.top_k_filter(LOGITS, k), dtype=float)
        assert got.shape == LOGITS.shape, say(
            fr=f"top_k_filter doit renvoyer un tableau de même taille ({LOGITS.size}), pas {got.shape}.",
            en=f"top_k_filter must return an array of the same size ({LOGITS.size}), not {got.shape}.")
        assert kept(got) == expected, say(
            fr=f"Avec k = {k}, il fallait garder les indices {expected} et mettre -inf ailleurs ; gardés : {kept(got)}.",
            en=f"With k = {k}, indices {expected} should be kept and the others set to -inf; kept: {kept(got)}.")
        assert np.allclose(got[expected], LOGITS[expected]), say(
            fr="Les logits gardés doivent rester inchangés.", en="The kept logits must stay unchanged.")
        assert np.all(np.isneginf(np.delete(got, expected))), say(
            fr="Les logits écartés doivent valoir -inf (probabilité 0).",
            en="The discarded logits must be -inf (probability 0).")
    ties = kept(exercise_module.top_k_filter(np.array([2.0, 5.0, 5.0, 5.0]), 2))
    assert ties == [1, 2], say(
        fr=f"Avec des égalités, gardez exactement k jetons, les premiers : attendu [1, 2], obtenu {ties}.",
        en=f"With ties, keep exactly k tokens, the first ones: expected [1, 2], got {ties}.")


@pytest.mark.check(fr="top-p garde le plus petit noyau de probabilité p", en="top-p keeps the smallest nucleus of mass p")
def test_top_p(exercise_module):
    logits = np.log([0.05, 0.5, 0.15, 0.3])  # likeliest: 1 (0.5), 3 (0.3), 2 (0.15), 0 (0.05)
    for p, expected in ((0.01, [1]), (0.45, [1]), (0.6, [1, 3]), (0.75, [1, 3]), (0.81, [1, 2, 3]),
                        (0.96, [0, 1, 2, 3]), (1.0, [0, 1, 2, 3])):
        got = np.asarray(exercise_module.top_p_filter(logits, p), dtype=float)
        assert kept(got) == expected, say(
            fr=f"Probabilités [0.05, 0.5, 0.15, 0.3], p = {p} : il fallait garder {expected}, gardés : {kept(got)}. "
               "On garde un jeton tant que la somme des probabilités des jetons plus probables que lui est < p.",
            en=f"Probabilities [0.05, 0.5, 0.15, 0.3], p = {p}: {expected} should be kept, kept: {kept(got)}. "
               "A token is kept while the total probability of the likelier tokens is still < p.")
        assert np.allclose(got[expected], logits[expected]), say(
            fr="Les logits gardés doivent rester inchangés.", en="The kept logits must stay unchanged.")


@pytest.mark.check(fr="choose_next_token suit la stratégie et la graine",
                   en="choose_next_token follows the strategy and the seed")
def test_choose_next_token(exercise_module):
    choose = exercise_module.choose_next_token
    for seed in range(3):
        got = choose(LOGITS, params(strategy="greedy"), np.random.default_rng(seed))
        assert got == 1, say(fr=f"En greedy, il faut choisir le jeton 1 (le plus probable), pas {got}.",
                             en=f"With greedy, token 1 (the likeliest) must be chosen, not {got}.")
        got = choose(LOGITS, params(strategy="top_k", top_k=1, temperature=2.0), np.random.default_rng(seed))
        assert got == 1, say(fr=f"Avec top-k et k = 1, seul le jeton 1 est possible ; choisi : {got}.",
                             en=f"With top-k and k = 1, only token 1 is possible; chosen: {got}.")
    draws = [choose(LOGITS, params(strategy="top_p", top_p=0.9), np.random.default_rng(42)) for _ in range(3)]
    assert len(set(draws)) == 1, say(
        fr=f"La même graine doit donner le même jeton ; trois tirages avec la graine 42 : {draws}. "
           "Tirez avec rng (rng.choice), jamais avec np.random directement.",
        en=f"The same seed must give the same token; three draws with seed 42: {draws}. "
           "Draw with rng (rng.choice), never with np.random directly.")
    rng = np.random.default_rng(0)
    counts = np.bincount([choose(LOGITS, params(strategy="top_k", top_k=2), rng) for _ in range(400)], minlength=5)
    assert set(np.nonzero(counts)[0]) == {1, 3}, say(
        fr=f"Avec top-k et k = 2, seuls les jetons 1 et 3 peuvent sortir ; sortis : {list(np.nonzero(counts)[0])}.",
        en=f"With top-k and k = 2, only tokens 1 and 3 may come out; came out: {list(np.nonzero(counts)[0])}.")
    share = counts[1] / 400  # softmax([3, 2.5]) gives token 1 a probability of 0.62
    assert 0.52 < share < 0.72, say(
        fr=f"Le jeton 1 devrait sortir environ 62 % du temps (softmax de 3 et 2,5), il sort {share:.0%} du temps.",
        en=f"Token 1 should come out about 62% of the time (softmax of 3 and 2.5); it came out {share:.0%}.")
    rng = np.random.default_rng(0)
    cold = np.bincount([choose(LOGITS, params(strategy="top_k", top_k=2, temperature=0.25), rng)
                        for _ in range(400)], minlength=5)
    assert cold[1] / 400 > 0.8, say(
        fr=f"À basse température (0,25), le jeton 1 devrait sortir presque toujours ; il sort {cold[1] / 400:.0%} "
           "du temps. Appliquez la température avant de filtrer et de tirer.",
        en=f"At a low temperature (0.25), token 1 should almost always come out; it came out {cold[1] / 400:.0%}. "
           "Apply the temperature before filtering and drawing.")


class FakeModel:
    """Next-token logits that favour (last token + 1) modulo 6; records the calls."""

    def __init__(self):
        self.calls = []

    def _logits(self, last):
        logits = np.zeros(6)
        logits[(last + 1) % 6] = 10.0
        return logits

    def start(self, prompt_ids):
        self.calls.append(("start", list(prompt_ids)))
        return self._logits(prompt_ids[-1])

    def next(self, token_id):
        self.calls.append(("next", int(token_id)))
        return self._logits(int(token_id))


@pytest.mark.check(fr="la boucle d'écriture : un jeton à la fois, jusqu'à la limite",
                   en="the writing loop: one token at a time, up to the limit")
def test_decode_loop(exercise_module):
    model = FakeModel()
    tokens = iter(exercise_module.decode(model, [0], params(strategy="greedy", max_new_tokens=4),
                                         np.random.default_rng(0), end_of_text_id=99))
    first = next(tokens)
    assert first == 1, say(fr=f"Après le prompt [0], le modèle factice préfère le jeton 1 ; obtenu {first}.",
                           en=f"After the prompt [0], the fake model prefers token 1; got {first}.")
    assert model.calls == [("start", [0])], say(
        fr="Le premier jeton doit sortir (yield) dès qu'il est choisi, avant de calculer la suite "
           f"(appels au modèle avant le premier jeton : {model.calls}).",
        en="The first token must be yielded as soon as it is chosen, before computing more "
           f"(model calls before the first token: {model.calls}).")
    rest = list(tokens)
    assert [first] + rest == [1, 2, 3, 4], say(
        fr=f"Avec max_new_tokens = 4, on attendait les jetons [1, 2, 3, 4], obtenu {[first] + rest}.",
        en=f"With max_new_tokens = 4, expected the tokens [1, 2, 3, 4], got {[first] + rest}.")
    assert model.calls == [("start", [0]), ("next", 1), ("next", 2), ("next", 3)], say(
        fr="Le modèle doit lire le prompt une fois (start), puis chaque jeton sauf le dernier (next) ; "
           f"appels : {model.calls}.",
        en="The model must read the prompt once (start), then each token but the last (next); "
           f"calls: {model.calls}.")


@pytest.mark.check(fr="la boucle s'arrête à la fin du texte", en="the loop stops at the end of the text")
def test_decode_stops_at_end_of_text(exercise_module):
    got = list(exercise_module.decode(FakeModel(), [1], params(strategy="greedy", max_new_tokens=10),
                                      np.random.default_rng(0), end_of_text_id=4))
    assert got == [2, 3], say(
        fr=f"Le jeton de fin (4) arrête la boucle et n'est pas renvoyé : attendu [2, 3], obtenu {got}.",
        en=f"The end token (4) stops the loop and is not yielded: expected [2, 3], got {got}.")
    got = list(exercise_module.decode(FakeModel(), [1], params(strategy="top_k", top_k=1, max_new_tokens=2),
                                      np.random.default_rng(0), end_of_text_id=99))
    assert got == [2, 3], say(
        fr=f"La boucle doit choisir chaque jeton avec choose_next_token (ici top-k, k = 1) : attendu [2, 3], obtenu {got}.",
        en=f"The loop must choose each token with choose_next_token (here top-k, k = 1): expected [2, 3], got {got}.")
