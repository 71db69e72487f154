"""[fr] Exercice 8 (bonus A) : un LSTM caractère par caractère, le point de comparaison que GPT-2 doit battre.

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
[en] Exercise 8 (bonus A): a character-level LSTM, the baseline GPT-2 must beat.

Before transformers, language models read text one character at a time with
a recurrent network: an LSTM keeps a memory (its state) that it updates at
every character, and predicts the next one from it. No tokenizer: the
vocabulary is the set of characters of the training books. Four pieces:
1. the vocabulary: every character of the training split, in a fixed order;
2. encode: sentences → one stream of character ids, a newline between them;
3. the model: an embedding, LSTM layers, a dense layer giving one logit per character;
4. compile: Adam and the next-character loss.

The rest (blocks, tf.data, the time limit, checkpoints, saving, bits per
character on the test book) is in `aurore/bonus/char_lstm.py`.
Run it: `python -m aurore char-lstm` (or `--use exercise` for your code).
"""

from __future__ import annotations

import numpy as np

#: [fr] Le numéro 0 tient lieu de tout caractère que les livres d'entraînement n'emploient pas ; le 1 est le retour à la ligne entre deux phrases.
#: [en] Id 0 stands for any character the training books never use; id 1 is the newline between sentences.
UNKNOWN = "\ufffd"
SEPARATOR = "\n"


def build_vocabulary(texts) -> list[str]:
    """[fr] Les caractères que connaît le modèle : UNKNOWN, SEPARATOR, puis chaque caractère de `texts`, triés.

    Triés, pour que les mêmes livres donnent toujours les mêmes numéros.
    [en] The characters the model knows: UNKNOWN, SEPARATOR, then every character of `texts`, sorted.

    Sorted, so that the same books always give the same ids.
    """
    # BEGIN SOLUTION
    # [fr] TODO: rassemblez les caractères de tous les textes dans un ensemble (set, sans UNKNOWN ni SEPARATOR),
    # [fr] puis renvoyez [UNKNOWN, SEPARATOR] suivis de ces caractères, triés (sorted).
    # [en] TODO: gather the characters of all the texts in a set (leave UNKNOWN and SEPARATOR out of it),
    # [en] then return [UNKNOWN, SEPARATOR] followed by those characters, sorted.
    characters = set()
    for text in texts:
        characters.update(text)
    characters -= {UNKNOWN, SEPARATOR}
    return [UNKNOWN, SEPARATOR, *sorted(characters)]
    # END SOLUTION


def encode(texts, vocabulary: list[str]) -> np.ndarray:
    """[fr] Un flux int32 `SEP p1 SEP p2 SEP … pN SEP` de numéros de caractères (comme `pack` de l'exercice 5 pour les jetons).

    Un caractère absent du vocabulaire devient le numéro 0 (UNKNOWN).
    [en] One int32 stream `SEP s1 SEP s2 SEP … sN SEP` of character ids (as exercise 5's `pack` lays out tokens).

    A character missing from the vocabulary becomes id 0 (UNKNOWN).
    """
    # BEGIN SOLUTION
    # [fr] TODO: un dict caractère → numéro (son indice dans vocabulary) ; le flux commence par le numéro de
    # [fr] SEPARATOR, puis pour chaque texte les numéros de ses caractères (dict.get(c, 0)) et un SEPARATOR ;
    # [fr] renvoyez-le en np.asarray(…, dtype=np.int32).
    # [en] TODO: a dict character → id (its index in the vocabulary); the stream starts with the id of
    # [en] SEPARATOR, then for each text the ids of its characters (dict.get(c, 0)) and one SEPARATOR;
    # [en] return it as np.asarray(…, dtype=np.int32).
    ids = {character: index for index, character in enumerate(vocabulary)}
    separator = ids[SEPARATOR]
    stream = [separator]
    for text in texts:
        stream.extend(ids.get(character, 0) for character in text)
        stream.append(separator)
    return np.asarray(stream, dtype=np.int32)
    # END SOLUTION


def build_model(settings: dict, vocab_size: int):
    """[fr] Plongement → `num_layers` couches LSTM → dropout → un logit par caractère, à chaque position.
    [en] Embedding → `num_layers` LSTM layers → dropout → one logit per character, at every position."""
    import keras

    # BEGIN SOLUTION
    # [fr] TODO: un keras.Sequential qui commence par keras.Input(shape=(None,), dtype="int32") (toute longueur),
    # [fr] puis keras.layers.Embedding(vocab_size, settings["embedding_dim"]), settings["num_layers"] fois
    # [fr] keras.layers.LSTM(settings["units"], return_sequences=True) (une prédiction à chaque caractère),
    # [fr] keras.layers.Dropout(settings["dropout"]) et keras.layers.Dense(vocab_size) (des logits, pas de softmax).
    # [en] TODO: a keras.Sequential starting with keras.Input(shape=(None,), dtype="int32") (any length),
    # [en] then keras.layers.Embedding(vocab_size, settings["embedding_dim"]), settings["num_layers"] times
    # [en] keras.layers.LSTM(settings["units"], return_sequences=True) (a prediction at every character),
    # [en] keras.layers.Dropout(settings["dropout"]) and keras.layers.Dense(vocab_size) (logits, no softmax).
    layers = [keras.Input(shape=(None,), dtype="int32"),
              keras.layers.Embedding(vocab_size, settings["embedding_dim"])]
    layers += [keras.layers.LSTM(settings["units"], return_sequences=True) for _ in range(settings["num_layers"])]
    layers += [keras.layers.Dropout(settings["dropout"]), keras.layers.Dense(vocab_size)]
    return keras.Sequential(layers, name="char_lstm")
    # END SOLUTION


def compile_model(model, learning_rate: float) -> None:
    """[fr] Adam (avec écrêtage des gradients : ceux d'un LSTM peuvent exploser) et la perte du caractère suivant.
    [en] Adam (with gradient clipping: an LSTM's gradients can explode) and the next-character loss."""
    import keras

    # BEGIN SOLUTION
    # [fr] TODO: model.compile avec keras.optimizers.Adam(learning_rate, clipnorm=1.0) et une
    # [fr] keras.losses.SparseCategoricalCrossentropy sur des logits (from_logits=True).
    # [en] TODO: model.compile with keras.optimizers.Adam(learning_rate, clipnorm=1.0) and a
    # [en] keras.losses.SparseCategoricalCrossentropy on logits (from_logits=True).
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    # END SOLUTION
