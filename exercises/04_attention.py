"""Exercice 4 : l'attention, à la main, le cœur de GPT-2.

Avant d'entraîner GPT-2, on ouvre la pièce qui le fait tenir : l'attention
causale à plusieurs têtes. Chaque jeton pose une *requête* ; il la compare aux
*clés* des jetons d'avant (jamais à celles d'après : le masque causal) ; les
scores, divisés par √d, deviennent des poids par un softmax ; la sortie est la
moyenne des *valeurs*, pondérée par ces poids. Plusieurs têtes font ce calcul
côte à côte, chacune sur sa tranche des vecteurs.

Tout s'écrit avec `keras.ops` (déjà importé sous le nom `ops`) : le même code
marche sur des tableaux NumPy et sur des tenseurs TensorFlow.
Vérifiez-le : `python -m aurore check 4` (il est comparé à la couche
`keras.layers.MultiHeadAttention`) ; `python -m aurore attention --use exercise` le montre.
"""

from __future__ import annotations

import math

from keras import ops

#: Le score donné aux clés masquées : après le softmax, leur poids est 0.
MASKED = -1e9


def causal_mask(length: int):
    """Le masque causal : un tableau de booléens [length, length].

    La case (i, j) vaut True quand la requête i peut regarder la clé j, c'est-à-dire
    quand j ≤ i : un jeton voit les jetons d'avant et lui-même, jamais ceux d'après.
    """
    # TODO: comparez les numéros de colonne (ops.arange(length), en ligne) aux numéros de ligne
    # (en colonne, ops.expand_dims) : colonne <= ligne.
    raise NotImplementedError("TODO")


def attention_weights(q, k):
    """Les poids de l'attention causale [..., T, T] des requêtes `q` sur les clés `k`.

    `q` et `k` : [..., T, d]. Les scores sont q·kᵀ / √d ; le masque causal est appliqué
    AVANT le softmax (un score masqué devient MASKED) ; le softmax se prend sur les clés
    (le dernier axe) : chaque ligne somme à 1.
    """
    # TODO: scores = q·kᵀ divisé par √d (ops.matmul, ops.swapaxes(k, -1, -2), d = dernière dimension) ;
    # puis ops.where(causal_mask(T), scores, MASKED), puis ops.softmax(…, axis=-1).
    raise NotImplementedError("TODO")


def single_head_attention(q, k, v):
    """Une tête d'attention : renvoie `(sortie [..., T, d], poids [..., T, T])`.

    La sortie de chaque jeton est la somme des valeurs `v`, pondérée par ses poids.
    """
    # TODO: les poids (attention_weights), puis la somme pondérée des valeurs (ops.matmul(poids, v)).
    raise NotImplementedError("TODO")


def split_heads(x, num_heads: int):
    """Coupe les vecteurs en têtes : [B, T, D] → [B, H, T, D/H].

    La tête h reçoit la tranche h * D/H … (h + 1) * D/H de chaque vecteur.
    """
    # TODO: ops.reshape en [B, T, H, D/H], puis ops.transpose(…, (0, 2, 1, 3)) pour mettre les têtes devant.
    raise NotImplementedError("TODO")


def merge_heads(x):
    """Recolle les têtes : [B, H, T, hd] → [B, T, H * hd], l'inverse de split_heads."""
    # TODO: remettez les jetons devant les têtes (ops.transpose(…, (0, 2, 1, 3))), puis ops.reshape
    # en [B, T, H * hd]. Sans la transposition, les têtes se mélangent entre jetons.
    raise NotImplementedError("TODO")


def multi_head_attention(x, params: dict, num_heads: int):
    """L'attention causale à plusieurs têtes : renvoie `(sortie [B, T, D], poids [B, H, T, T])`.

    `params` : des tableaux `query_kernel`, `key_kernel`, `value_kernel`, `output_kernel`
    [D, D] et `query_bias`, `key_bias`, `value_bias`, `output_bias` [D]. Projeter `x` en
    requêtes, clés et valeurs (x · noyau + biais), les couper en têtes, une attention par
    tête (toutes d'un coup), recoller les têtes, puis la projection de sortie.
    """
    # TODO: pour name dans query, key, value : ops.matmul(x, params[f"{name}_kernel"]) + params[f"{name}_bias"],
    # coupé par split_heads ; puis single_head_attention, merge_heads et la projection de sortie.
    raise NotImplementedError("TODO")
