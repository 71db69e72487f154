"""[fr] Exercice 7 : mesurer si le modèle écrit bien le français de George Sand.

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
[en] Exercise 7: measure how well the model writes George Sand's French.

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
    """[fr] La moyenne des log-vraisemblances négatives par jeton, en nats (logarithme népérien).
    [en] The mean negative log-likelihood per token, in nats (natural log)."""
    # BEGIN SOLUTION
    # [fr] TODO: la moyenne de −ln p sur les jetons (np.mean de log_likelihoods, changée de signe), en float Python.
    # [en] TODO: the mean of −ln p over the tokens (np.mean of log_likelihoods, negated), as a Python float.
    return -float(np.mean(log_likelihoods))
    # END SOLUTION


def perplexity(log_likelihoods) -> float:
    """[fr] exp(perte par jeton) : un modèle qui hésite entre V jetons également probables a une perplexité V.
    [en] exp(loss per token): a model that guesses among V equally likely tokens has perplexity V."""
    # BEGIN SOLUTION
    # [fr] TODO: l'exponentielle (math.exp) de la perte par jeton (loss_per_token, juste au-dessus).
    # [en] TODO: the exponential (math.exp) of the loss per token (loss_per_token, just above).
    return math.exp(loss_per_token(log_likelihoods))
    # END SOLUTION


def bits_per_character(log_likelihoods, characters: int) -> float:
    """[fr] La somme des log-vraisemblances négatives en bits, divisée par le nombre de caractères.
    [en] The total negative log-likelihood in bits, divided by the number of characters."""
    # BEGIN SOLUTION
    # [fr] TODO: additionnez −ln p sur tous les jetons (np.sum), passez des nats aux bits (divisez par
    # [fr] math.log(2)), et divisez par le nombre de caractères (characters).
    # [en] TODO: add up −ln p over all the tokens (np.sum), turn nats into bits (divide by math.log(2)),
    # [en] and divide by the number of characters (characters).
    return -float(np.sum(log_likelihoods)) / math.log(2) / characters
    # END SOLUTION


def unigram_log_likelihoods(train_ids, test_ids, vocab_size: int) -> np.ndarray:
    """[fr] Le ln p de chaque jeton de test selon un modèle unigramme appris sur les jetons d'entraînement.

    Un modèle unigramme donne à chaque jeton la même probabilité où qu'il soit : son
    nombre d'apparitions dans les jetons d'entraînement, plus un (pour qu'un jeton
    jamais vu garde une petite chance), divisé par le total de ces comptes.
    [en] ln p of each test token under a unigram model learned on the training tokens.

    A unigram model gives every token the same probability wherever it is:
    its count in the training tokens, plus one (so that a token never seen
    keeps a small chance), divided by the total of those counts.
    """
    # BEGIN SOLUTION
    # [fr] TODO: comptez chaque numéro de train_ids (np.bincount avec minlength=vocab_size) et ajoutez 1,
    # [fr] divisez par la somme pour avoir des probabilités, et renvoyez le log (np.log) de celles de test_ids.
    # [en] TODO: count each token id in train_ids (np.bincount with minlength=vocab_size) and add 1,
    # [en] divide by the sum to get probabilities, and return the log (np.log) of those of test_ids.
    counts = np.bincount(np.asarray(train_ids, dtype=np.int64), minlength=vocab_size) + 1.0
    probabilities = counts / counts.sum()
    return np.log(probabilities[np.asarray(test_ids, dtype=np.int64)])
    # END SOLUTION


def xz_bits_per_character(text: str, given: str = "") -> float:
    """[fr] Les bits par caractère qu'il faut à xz pour `text` une fois qu'il a lu `given` (les livres d'entraînement).

    Un compresseur est aussi un modèle : il écrit en peu de bits le texte probable. Ce
    qu'il lui faut pour le texte seul, c'est la taille de `given + text` compressé, moins
    celle de `given` compressé (sans rien de donné, cela retire les quelques octets de
    l'en-tête et de la fin de xz).
    [en] Bits per character xz needs for `text` once it has read `given` (the training books).

    A compressor is a model too: it writes likely text in few bits. What it
    needs for the text alone is the size of `given + text` compressed, less
    the size of `given` compressed (with nothing given, that takes off the
    few bytes of xz's header and footer).
    """
    # BEGIN SOLUTION
    # [fr] TODO: compressez (lzma.compress, réglages par défaut) given + text et given seul, tous deux encodés
    # [fr] en UTF-8 ; la différence en octets, fois 8, est la part du texte en bits : divisez-la par len(text).
    # [en] TODO: compress (lzma.compress, default settings) given + text and given alone, both encoded
    # [en] in UTF-8; the difference in bytes, times 8, is the text's share in bits: divide it by len(text).
    both = len(lzma.compress((given + text).encode("utf-8")))
    alone = len(lzma.compress(given.encode("utf-8")))
    return (both - alone) * 8 / len(text)
    # END SOLUTION
