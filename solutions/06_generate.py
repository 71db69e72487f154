"""[fr] Exercice 6 : faire écrire le modèle.

Le modèle lit un texte et donne, pour le jeton suivant, un score (un « logit ») par
jeton du vocabulaire : plus il est grand, plus le jeton est probable. Écrire est une
boucle : choisir un jeton d'après ces scores, l'ajouter, redemander. La façon de
choisir change tout :

- greedy (glouton) : toujours le jeton le plus probable (déterministe, souvent répétitif) ;
- température : diviser les logits par T avant d'en faire des probabilités ;
  T < 1 creuse les écarts, T > 1 les aplatit ;
- top-k : ne tirer que parmi les k jetons les plus probables ;
- top-p (noyau) : ne tirer que dans le plus petit groupe des jetons les plus probables
  dont les probabilités font au moins p.

Tout ici travaille sur un simple vecteur NumPy de logits pour UN jeton suivant.
La bibliothèque d'Aurore (`aurore/generation/generator.py`) fait tourner le modèle vite
(étapes compilées, cache de clés et de valeurs, plusieurs demandes à la fois, texte
envoyé au fil de l'eau) et appelle ces fonctions pour choisir chaque jeton : c'est
le seul endroit où vivent les règles.
[en] Exercise 6: make the model write.

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
    """[fr] Des probabilités à partir des logits ; un logit de -inf reçoit la probabilité 0.
    [en] Probabilities from logits; a logit of -inf gets probability 0."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = np.exp(logits - np.max(logits))
    return shifted / shifted.sum()


def sort_descending(logits) -> np.ndarray:
    """[fr] Les indices des jetons, du plus grand logit au plus petit ; à égalité, dans l'ordre des indices.

    Le même ordre que np.argsort(-logits, kind="stable"), environ quatre fois plus
    vite sur tout un vocabulaire : un tri rapide, qui range les logits égaux dans
    n'importe quel ordre, puis chaque groupe (rare) de logits égaux remis dans l'ordre.
    [en] Token indices from the largest logit to the smallest; equal logits keep their index order.

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
        # [fr] Côte à côte une fois triés.
        # [en] Side by side once sorted.
        group = np.flatnonzero(ordered == value)
        order[group] = np.sort(order[group])
    return order


def greedy(logits) -> int:
    """[fr] L'indice du jeton le plus probable.
    [en] The index of the most likely token."""
    # BEGIN SOLUTION
    # [fr] TODO: renvoyez l'indice (un int) du plus grand logit (np.argmax).
    # [en] TODO: return the index (an int) of the largest logit (np.argmax).
    return int(np.argmax(logits))
    # END SOLUTION


def apply_temperature(logits, temperature: float) -> np.ndarray:
    """[fr] Les logits divisés par la température (un nouveau tableau de flottants).
    [en] Logits divided by the temperature (a new float array)."""
    # BEGIN SOLUTION
    # [fr] TODO: divisez les logits par la température (changez-les d'abord en tableau de flottants,
    # [fr] np.asarray(logits, dtype=np.float64)).
    # [en] TODO: divide the logits by the temperature (convert them to a float array first,
    # [en] np.asarray(logits, dtype=np.float64)).
    return np.asarray(logits, dtype=np.float64) / temperature
    # END SOLUTION


def top_k_filter(logits, k: int) -> np.ndarray:
    """[fr] Garde les k plus grands logits ; tous les autres deviennent -inf (probabilité 0).

    Exactement k sont gardés, même quand plusieurs logits sont égaux : les premiers
    gagnent, comme avec np.argmax, pour que top-k avec k = 1 soit greedy.
    [en] Keep the k largest logits; every other one becomes -inf (probability 0).

    Exactly k are kept, even when several logits are equal: the first ones
    win, as with np.argmax, so that top-k with k = 1 is greedy.
    """
    logits = np.asarray(logits, dtype=np.float64)
    # BEGIN SOLUTION
    # [fr] TODO: trouvez les indices des k plus grands logits (sort_descending(logits)[:k]),
    # [fr] TODO: et renvoyez une copie où chaque autre logit vaut -np.inf (partez de np.full_like(logits, -np.inf)).
    # [en] TODO: find the indices of the k largest logits (sort_descending(logits)[:k]),
    # [en] TODO: and return a copy where every other logit is -np.inf (start from np.full_like(logits, -np.inf)).
    keep = sort_descending(logits)[:k]
    filtered = np.full_like(logits, -np.inf)
    filtered[keep] = logits[keep]
    return filtered
    # END SOLUTION


def top_p_filter(logits, p: float) -> np.ndarray:
    """[fr] Garde le plus petit groupe des jetons les plus probables dont les probabilités atteignent p.

    Le jeton le plus probable est toujours gardé ; les autres deviennent -inf.
    [en] Keep the smallest set of likeliest tokens whose probabilities reach p.

    The likeliest token is always kept; the others become -inf.
    """
    logits = np.asarray(logits, dtype=np.float64)
    # BEGIN SOLUTION
    # [fr] TODO: triez les jetons du plus probable au moins probable (sort_descending), additionnez leurs
    # [fr] TODO: probabilités (softmax, np.cumsum), gardez un jeton tant que la probabilité AVANT lui est sous p.
    # [en] TODO: sort the tokens from likeliest to least likely (sort_descending), add up their
    # [en] TODO: probabilities (softmax, np.cumsum), keep a token while the probability BEFORE it is still below p.
    order = sort_descending(logits)
    probabilities = softmax(logits)[order]
    before = np.cumsum(probabilities) - probabilities
    keep = order[before < p]
    filtered = np.full_like(logits, -np.inf)
    filtered[keep] = logits[keep]
    return filtered
    # END SOLUTION


def choose_next_token(logits, params, rng: np.random.Generator) -> int:
    """[fr] Un numéro de jeton choisi d'après les logits, selon les réglages d'échantillonnage.

    `params` a `strategy` ("greedy", "top_k" ou "top_p"), `temperature`, `top_k` et
    `top_p`. Tirez avec `rng` seulement (jamais np.random directement) : la même graine
    doit donner le même texte.
    [en] One token id chosen from the logits following the sampling params.

    `params` has `strategy` ("greedy", "top_k" or "top_p"), `temperature`,
    `top_k` and `top_p`. Draw with `rng` only (never np.random directly): the
    same seed must give the same text.
    """
    # BEGIN SOLUTION
    # [fr] TODO: greedy : aucun hasard.
    # [fr] TODO: sinon : la température d'abord, puis le filtre top-k ou top-p,
    # [fr] TODO: puis les probabilités (softmax) et un tirage : rng.choice(len(probabilities), p=probabilities).
    # [en] TODO: greedy: no randomness at all.
    # [en] TODO: otherwise: temperature first, then the top-k or top-p filter,
    # [en] TODO: then probabilities (softmax) and one draw: rng.choice(len(probabilities), p=probabilities).
    if params.strategy == "greedy":
        return greedy(logits)
    scaled = apply_temperature(logits, params.temperature)
    if params.strategy == "top_k":
        scaled = top_k_filter(scaled, params.top_k)
    elif params.strategy == "top_p":
        scaled = top_p_filter(scaled, params.top_p)
    probabilities = softmax(scaled)
    return int(rng.choice(len(probabilities), p=probabilities))
    # END SOLUTION


def decode(model, prompt_ids: list[int], params, rng: np.random.Generator, end_of_text_id: int):
    """[fr] Donne (yield) les nouveaux numéros de jetons un par un : la boucle d'écriture.

    `model.start(prompt_ids)` lit le début (le prompt) et renvoie les logits du jeton
    suivant ; `model.next(token_id)` ajoute un jeton et renvoie les logits du suivant
    (le modèle garde ce qu'il a lu dans un cache). Arrêtez-vous après
    `params.max_new_tokens` jetons, ou dès que le modèle choisit `end_of_text_id`
    (ce jeton-là n'est pas donné).
    [en] Yield new token ids one at a time: the writing loop.

    `model.start(prompt_ids)` reads the prompt and returns the logits of the
    next token; `model.next(token_id)` appends one token and returns the
    logits of the one after (the model keeps what it has read in a cache).
    Stop after `params.max_new_tokens` tokens, or as soon as the model
    chooses `end_of_text_id` (that token is not yielded).
    """
    # BEGIN SOLUTION
    # [fr] TODO: les logits du premier nouveau jeton : model.start(prompt_ids).
    # [fr] TODO: puis, au plus params.max_new_tokens fois : choisissez un jeton, arrêtez-vous sur end_of_text_id,
    # [fr] TODO: donnez-le (yield), et (s'il en faut un autre) demandez les logits suivants avec model.next(token).
    # [en] TODO: logits for the first new token: model.start(prompt_ids).
    # [en] TODO: then, at most params.max_new_tokens times: choose a token, stop on end_of_text_id,
    # [en] TODO: yield it, and (if another token is wanted) get the next logits with model.next(token).
    logits = model.start(prompt_ids)
    for step in range(params.max_new_tokens):
        token = choose_next_token(logits, params, rng)
        if token == end_of_text_id:
            return
        yield token
        if step + 1 < params.max_new_tokens:
            logits = model.next(token)
    # END SOLUTION
