"""Exercice 7 : mesurer si le modèle écrit bien le français de George Sand.

Le modèle entraîné lit un livre qu'il n'a jamais vu (La Mare au Diable) et donne, à
chaque position, une probabilité au vrai jeton suivant. La bibliothèque relève le
logarithme népérien de chacune de ces probabilités : les log-vraisemblances par
jeton, toutes négatives (une probabilité vaut au plus 1). On en tire :

- la perte par jeton : la moyenne de −ln p, le chiffre que l'entraînement fait baisser ;
- la perplexité : exp(perte), entre combien de jetons également probables le modèle
  hésite en moyenne ;
- les bits par caractère : la somme des −ln p en bits (÷ ln 2) par caractère de texte.
  Les deux premiers dépendent du découpage du tokenizer ; les bits par caractère, non :
  ils comparent tous les modèles, et les compresseurs.

Un chiffre ne veut pas dire grand-chose sans point de comparaison. En voici deux :
- un modèle unigramme, qui donne à chaque jeton sa fréquence dans les livres
  d'entraînement et ignore ce qui le précède ;
- le compresseur xz, qui a d'abord lu les livres d'entraînement.

Lancez-le : `python -m aurore evaluate` (ou `--use exercise` pour votre code).
"""

from __future__ import annotations

import lzma
import math

import numpy as np


def loss_per_token(log_likelihoods) -> float:
    """La moyenne des log-vraisemblances négatives par jeton, en nats (logarithme népérien)."""
    # TODO: la moyenne de −ln p sur les jetons (np.mean de log_likelihoods, changée de signe), en float Python.
    raise NotImplementedError("TODO")


def perplexity(log_likelihoods) -> float:
    """exp(perte par jeton) : un modèle qui hésite entre V jetons également probables a une perplexité V."""
    # TODO: l'exponentielle (math.exp) de la perte par jeton (loss_per_token, juste au-dessus).
    raise NotImplementedError("TODO")


def bits_per_character(log_likelihoods, characters: int) -> float:
    """La somme des log-vraisemblances négatives en bits, divisée par le nombre de caractères."""
    # TODO: additionnez −ln p sur tous les jetons (np.sum), passez des nats aux bits (divisez par
    # math.log(2)), et divisez par le nombre de caractères (characters).
    raise NotImplementedError("TODO")


def unigram_log_likelihoods(train_ids, test_ids, vocab_size: int) -> np.ndarray:
    """Le ln p de chaque jeton de test selon un modèle unigramme appris sur les jetons d'entraînement.

    Un modèle unigramme donne à chaque jeton la même probabilité où qu'il soit : son
    nombre d'apparitions dans les jetons d'entraînement, plus un (pour qu'un jeton
    jamais vu garde une petite chance), divisé par le total de ces comptes.
    """
    # TODO: comptez chaque numéro de train_ids (np.bincount avec minlength=vocab_size) et ajoutez 1,
    # divisez par la somme pour avoir des probabilités, et renvoyez le log (np.log) de celles de test_ids.
    raise NotImplementedError("TODO")


def xz_bits_per_character(text: str, given: str = "") -> float:
    """Les bits par caractère qu'il faut à xz pour `text` une fois qu'il a lu `given` (les livres d'entraînement).

    Un compresseur est aussi un modèle : il écrit en peu de bits le texte probable. Ce
    qu'il lui faut pour le texte seul, c'est la taille de `given + text` compressé, moins
    celle de `given` compressé (sans rien de donné, cela retire les quelques octets de
    l'en-tête et de la fin de xz).
    """
    # TODO: compressez (lzma.compress, réglages par défaut) given + text et given seul, tous deux encodés
    # en UTF-8 ; la différence en octets, fois 8, est la part du texte en bits : divisez-la par len(text).
    raise NotImplementedError("TODO")
