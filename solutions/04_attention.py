"""[fr] Exercice 4 : l'attention, à la main, le cœur de GPT-2.

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
[en] Exercise 4: attention, by hand, the heart of GPT-2.

Before training GPT-2, we open the piece that holds it together: causal
multi-head attention. Each token asks a *query*; it compares it with the
*keys* of the tokens before it (never those after it: the causal mask); the
scores, divided by √d, become weights through a softmax; the output is the
average of the *values*, weighted by those weights. Several heads do this
side by side, each on its own slice of the vectors.

Everything is written with `keras.ops` (imported as `ops`): the same code
works on NumPy arrays and on TensorFlow tensors.
Check it: `python -m aurore check 4` (it is compared with the
`keras.layers.MultiHeadAttention` layer); `python -m aurore attention --use exercise` shows it.
"""

from __future__ import annotations

import math

from keras import ops

#: [fr] Le score donné aux clés masquées : après le softmax, leur poids est 0.
#: [en] The score given to masked keys: after the softmax, their weight is 0.
MASKED = -1e9


def causal_mask(length: int):
    """[fr] Le masque causal : un tableau de booléens [length, length].

    La case (i, j) vaut True quand la requête i peut regarder la clé j, c'est-à-dire
    quand j ≤ i : un jeton voit les jetons d'avant et lui-même, jamais ceux d'après.
    [en] The causal mask: a boolean array [length, length].

    Cell (i, j) is True when query i may look at key j, that is when j ≤ i: a
    token sees the tokens before it and itself, never those after it.
    """
    # BEGIN SOLUTION
    # [fr] TODO: comparez les numéros de colonne (ops.arange(length), en ligne) aux numéros de ligne
    # [fr] (en colonne, ops.expand_dims) : colonne <= ligne.
    # [en] TODO: compare the column numbers (ops.arange(length), as a row) with the row numbers
    # [en] (as a column, ops.expand_dims): column <= row.
    positions = ops.arange(length)
    return ops.expand_dims(positions, 0) <= ops.expand_dims(positions, 1)
    # END SOLUTION


def attention_weights(q, k):
    """[fr] Les poids de l'attention causale [..., T, T] des requêtes `q` sur les clés `k`.

    `q` et `k` : [..., T, d]. Les scores sont q·kᵀ / √d ; le masque causal est appliqué
    AVANT le softmax (un score masqué devient MASKED) ; le softmax se prend sur les clés
    (le dernier axe) : chaque ligne somme à 1.
    [en] The causal attention weights [..., T, T] of the queries `q` on the keys `k`.

    `q` and `k`: [..., T, d]. The scores are q·kᵀ / √d; the causal mask is applied
    BEFORE the softmax (a masked score becomes MASKED); the softmax runs over the
    keys (the last axis): each row sums to 1.
    """
    # BEGIN SOLUTION
    # [fr] TODO: scores = q·kᵀ divisé par √d (ops.matmul, ops.swapaxes(k, -1, -2), d = dernière dimension) ;
    # [fr] puis ops.where(causal_mask(T), scores, MASKED), puis ops.softmax(…, axis=-1).
    # [en] TODO: scores = q·kᵀ divided by √d (ops.matmul, ops.swapaxes(k, -1, -2), d = the last dimension);
    # [en] then ops.where(causal_mask(T), scores, MASKED), then ops.softmax(…, axis=-1).
    depth = ops.shape(q)[-1]
    scores = ops.matmul(q, ops.swapaxes(k, -1, -2)) / math.sqrt(depth)
    scores = ops.where(causal_mask(ops.shape(q)[-2]), scores, MASKED)
    return ops.softmax(scores, axis=-1)
    # END SOLUTION


def single_head_attention(q, k, v):
    """[fr] Une tête d'attention : renvoie `(sortie [..., T, d], poids [..., T, T])`.

    La sortie de chaque jeton est la somme des valeurs `v`, pondérée par ses poids.
    [en] One attention head: returns `(output [..., T, d], weights [..., T, T])`.

    Each token's output is the sum of the values `v`, weighted by its weights.
    """
    # BEGIN SOLUTION
    # [fr] TODO: les poids (attention_weights), puis la somme pondérée des valeurs (ops.matmul(poids, v)).
    # [en] TODO: the weights (attention_weights), then the weighted sum of the values (ops.matmul(weights, v)).
    weights = attention_weights(q, k)
    return ops.matmul(weights, v), weights
    # END SOLUTION


def split_heads(x, num_heads: int):
    """[fr] Coupe les vecteurs en têtes : [B, T, D] → [B, H, T, D/H].

    La tête h reçoit la tranche h * D/H … (h + 1) * D/H de chaque vecteur.
    [en] Cut the vectors into heads: [B, T, D] → [B, H, T, D/H].

    Head h gets the slice h * D/H … (h + 1) * D/H of every vector.
    """
    # BEGIN SOLUTION
    # [fr] TODO: ops.reshape en [B, T, H, D/H], puis ops.transpose(…, (0, 2, 1, 3)) pour mettre les têtes devant.
    # [en] TODO: ops.reshape into [B, T, H, D/H], then ops.transpose(…, (0, 2, 1, 3)) to put the heads first.
    batch, length, width = ops.shape(x)
    x = ops.reshape(x, (batch, length, num_heads, width // num_heads))
    return ops.transpose(x, (0, 2, 1, 3))
    # END SOLUTION


def merge_heads(x):
    """[fr] Recolle les têtes : [B, H, T, hd] → [B, T, H * hd], l'inverse de split_heads.
    [en] Glue the heads back: [B, H, T, hd] → [B, T, H * hd], the inverse of split_heads."""
    # BEGIN SOLUTION
    # [fr] TODO: remettez les jetons devant les têtes (ops.transpose(…, (0, 2, 1, 3))), puis ops.reshape
    # [fr] en [B, T, H * hd]. Sans la transposition, les têtes se mélangent entre jetons.
    # [en] TODO: put the tokens back before the heads (ops.transpose(…, (0, 2, 1, 3))), then ops.reshape
    # [en] into [B, T, H * hd]. Without the transpose, the heads get mixed up across tokens.
    batch, heads, length, depth = ops.shape(x)
    x = ops.transpose(x, (0, 2, 1, 3))
    return ops.reshape(x, (batch, length, heads * depth))
    # END SOLUTION


def multi_head_attention(x, params: dict, num_heads: int):
    """[fr] L'attention causale à plusieurs têtes : renvoie `(sortie [B, T, D], poids [B, H, T, T])`.

    `params` : des tableaux `query_kernel`, `key_kernel`, `value_kernel`, `output_kernel`
    [D, D] et `query_bias`, `key_bias`, `value_bias`, `output_bias` [D]. Projeter `x` en
    requêtes, clés et valeurs (x · noyau + biais), les couper en têtes, une attention par
    tête (toutes d'un coup), recoller les têtes, puis la projection de sortie.
    [en] Causal multi-head attention: returns `(output [B, T, D], weights [B, H, T, T])`.

    `params`: arrays `query_kernel`, `key_kernel`, `value_kernel`, `output_kernel`
    [D, D] and `query_bias`, `key_bias`, `value_bias`, `output_bias` [D]. Project `x`
    into queries, keys and values (x · kernel + bias), cut them into heads, one
    attention per head (all at once), glue the heads back, then the output projection.
    """
    # BEGIN SOLUTION
    # [fr] TODO: pour name dans query, key, value : ops.matmul(x, params[f"{name}_kernel"]) + params[f"{name}_bias"],
    # [fr] coupé par split_heads ; puis single_head_attention, merge_heads et la projection de sortie.
    # [en] TODO: for name in query, key, value: ops.matmul(x, params[f"{name}_kernel"]) + params[f"{name}_bias"],
    # [en] cut by split_heads; then single_head_attention, merge_heads and the output projection.
    q, k, v = (split_heads(ops.matmul(x, params[f"{name}_kernel"]) + params[f"{name}_bias"], num_heads)
               for name in ("query", "key", "value"))
    heads, weights = single_head_attention(q, k, v)
    output = ops.matmul(merge_heads(heads), params["output_kernel"]) + params["output_bias"]
    return output, weights
    # END SOLUTION
