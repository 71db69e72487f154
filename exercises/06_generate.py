"""Exercice 6 : faire écrire le modèle.

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
"""

from __future__ import annotations

import numpy as np


def softmax(logits) -> np.ndarray:
    """Des probabilités à partir des logits ; un logit de -inf reçoit la probabilité 0."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = np.exp(logits - np.max(logits))
    return shifted / shifted.sum()


def sort_descending(logits) -> np.ndarray:
    """Les indices des jetons, du plus grand logit au plus petit ; à égalité, dans l'ordre des indices.

    Le même ordre que np.argsort(-logits, kind="stable"), environ quatre fois plus
    vite sur tout un vocabulaire : un tri rapide, qui range les logits égaux dans
    n'importe quel ordre, puis chaque groupe (rare) de logits égaux remis dans l'ordre.
    """
    logits = np.asarray(logits, dtype=np.float64)
    order = np.argsort(-logits)
    ordered = logits[order]
    ties = np.flatnonzero(ordered[1:] == ordered[:-1])
    if ties.size > 32 or (ordered.size and np.isnan(ordered[-1])):
        return np.argsort(-logits, kind="stable")
    for value in np.unique(ordered[ties]):
        # Côte à côte une fois triés.
        group = np.flatnonzero(ordered == value)
        order[group] = np.sort(order[group])
    return order


def greedy(logits) -> int:
    """L'indice du jeton le plus probable."""
    # TODO: renvoyez l'indice (un int) du plus grand logit (np.argmax).
    raise NotImplementedError("TODO")


def apply_temperature(logits, temperature: float) -> np.ndarray:
    """Les logits divisés par la température (un nouveau tableau de flottants)."""
    # TODO: divisez les logits par la température (changez-les d'abord en tableau de flottants,
    # np.asarray(logits, dtype=np.float64)).
    raise NotImplementedError("TODO")


def top_k_filter(logits, k: int) -> np.ndarray:
    """Garde les k plus grands logits ; tous les autres deviennent -inf (probabilité 0).

    Exactement k sont gardés, même quand plusieurs logits sont égaux : les premiers
    gagnent, comme avec np.argmax, pour que top-k avec k = 1 soit greedy.
    """
    logits = np.asarray(logits, dtype=np.float64)
    # TODO: trouvez les indices des k plus grands logits (sort_descending(logits)[:k]),
    # TODO: et renvoyez une copie où chaque autre logit vaut -np.inf (partez de np.full_like(logits, -np.inf)).
    raise NotImplementedError("TODO")


def top_p_filter(logits, p: float) -> np.ndarray:
    """Garde le plus petit groupe des jetons les plus probables dont les probabilités atteignent p.

    Le jeton le plus probable est toujours gardé ; les autres deviennent -inf.
    """
    logits = np.asarray(logits, dtype=np.float64)
    # TODO: triez les jetons du plus probable au moins probable (sort_descending), additionnez leurs
    # TODO: probabilités (softmax, np.cumsum), gardez un jeton tant que la probabilité AVANT lui est sous p.
    raise NotImplementedError("TODO")


def choose_next_token(logits, params, rng: np.random.Generator) -> int:
    """Un numéro de jeton choisi d'après les logits, selon les réglages d'échantillonnage.

    `params` a `strategy` ("greedy", "top_k" ou "top_p"), `temperature`, `top_k` et
    `top_p`. Tirez avec `rng` seulement (jamais np.random directement) : la même graine
    doit donner le même texte.
    """
    # TODO: greedy : aucun hasard.
    # TODO: sinon : la température d'abord, puis le filtre top-k ou top-p,
    # TODO: puis les probabilités (softmax) et un tirage : rng.choice(len(probabilities), p=probabilities).
    raise NotImplementedError("TODO")


def decode(model, prompt_ids: list[int], params, rng: np.random.Generator, end_of_text_id: int):
    """Donne (yield) les nouveaux numéros de jetons un par un : la boucle d'écriture.

    `model.start(prompt_ids)` lit le début (le prompt) et renvoie les logits du jeton
    suivant ; `model.next(token_id)` ajoute un jeton et renvoie les logits du suivant
    (le modèle garde ce qu'il a lu dans un cache). Arrêtez-vous après
    `params.max_new_tokens` jetons, ou dès que le modèle choisit `end_of_text_id`
    (ce jeton-là n'est pas donné).
    """
    # TODO: les logits du premier nouveau jeton : model.start(prompt_ids).
    # TODO: puis, au plus params.max_new_tokens fois : choisissez un jeton, arrêtez-vous sur end_of_text_id,
    # TODO: donnez-le (yield), et (s'il en faut un autre) demandez les logits suivants avec model.next(token).
    raise NotImplementedError("TODO")
