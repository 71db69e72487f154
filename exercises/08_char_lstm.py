"""Exercice 8 (bonus A) : un LSTM caractère par caractère, le point de comparaison que GPT-2 doit battre.

Avant les transformers, les modèles de langue lisaient le texte un caractère à la fois
avec un réseau récurrent : un LSTM tient une mémoire (son état) qu'il met à jour à
chaque caractère, et en prédit le suivant. Pas de tokenizer : le vocabulaire est
l'ensemble des caractères des livres d'entraînement. Quatre pièces :
1. le vocabulaire : chaque caractère de la partie train, dans un ordre fixe ;
2. encode : des phrases à un seul flux de numéros de caractères, un retour à la ligne entre elles ;
3. le modèle : un plongement, des couches LSTM, une couche dense qui donne un logit par caractère ;
4. compile : Adam et la perte du caractère suivant.

Le reste (blocs, tf.data, la limite de temps, points de sauvegarde, enregistrement, bits
par caractère sur le livre de test) est dans `aurore/bonus/char_lstm.py`.
Lancez-le : `python -m aurore char-lstm` (ou `--use exercise` pour votre code).
"""

from __future__ import annotations

import numpy as np

#: Le numéro 0 tient lieu de tout caractère que les livres d'entraînement n'emploient pas ; le 1 est le retour à la ligne entre deux phrases.
UNKNOWN = "\ufffd"
SEPARATOR = "\n"


def build_vocabulary(texts) -> list[str]:
    """Les caractères que connaît le modèle : UNKNOWN, SEPARATOR, puis chaque caractère de `texts`, triés.

    Triés, pour que les mêmes livres donnent toujours les mêmes numéros.
    """
    # TODO: rassemblez les caractères de tous les textes dans un ensemble (set, sans UNKNOWN ni SEPARATOR),
    # puis renvoyez [UNKNOWN, SEPARATOR] suivis de ces caractères, triés (sorted).
    raise NotImplementedError("TODO")


def encode(texts, vocabulary: list[str]) -> np.ndarray:
    """Un flux int32 `SEP p1 SEP p2 SEP … pN SEP` de numéros de caractères (comme `pack` de l'exercice 5 pour les jetons).

    Un caractère absent du vocabulaire devient le numéro 0 (UNKNOWN).
    """
    # TODO: un dict caractère → numéro (son indice dans vocabulary) ; le flux commence par le numéro de
    # SEPARATOR, puis pour chaque texte les numéros de ses caractères (dict.get(c, 0)) et un SEPARATOR ;
    # renvoyez-le en np.asarray(…, dtype=np.int32).
    raise NotImplementedError("TODO")


def build_model(settings: dict, vocab_size: int):
    """Plongement → `num_layers` couches LSTM → dropout → un logit par caractère, à chaque position."""
    import keras

    # TODO: un keras.Sequential qui commence par keras.Input(shape=(None,), dtype="int32") (toute longueur),
    # puis keras.layers.Embedding(vocab_size, settings["embedding_dim"]), settings["num_layers"] fois
    # keras.layers.LSTM(settings["units"], return_sequences=True) (une prédiction à chaque caractère),
    # keras.layers.Dropout(settings["dropout"]) et keras.layers.Dense(vocab_size) (des logits, pas de softmax).
    raise NotImplementedError("TODO")


def compile_model(model, learning_rate: float) -> None:
    """Adam (avec écrêtage des gradients : ceux d'un LSTM peuvent exploser) et la perte du caractère suivant."""
    import keras

    # TODO: model.compile avec keras.optimizers.Adam(learning_rate, clipnorm=1.0) et une
    # keras.losses.SparseCategoricalCrossentropy sur des logits (from_logits=True).
    raise NotImplementedError("TODO")
