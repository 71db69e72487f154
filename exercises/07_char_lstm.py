"""Exercise 7 (bonus A): a character-level LSTM, the baseline GPT-2 must beat.

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

#: Id 0 stands for any character the training books never use; id 1 is the newline between sentences.
UNKNOWN = "\ufffd"
SEPARATOR = "\n"


def build_vocabulary(texts) -> list[str]:
    """The characters the model knows: UNKNOWN, SEPARATOR, then every character of `texts`, sorted.

    Sorted, so that the same books always give the same ids.
    """
    # TODO: gather the characters of all the texts in a set (leave UNKNOWN and SEPARATOR out of it),
    # then return [UNKNOWN, SEPARATOR] followed by those characters, sorted.
    raise NotImplementedError("TODO")


def encode(texts, vocabulary: list[str]) -> np.ndarray:
    """One int32 stream `SEP s1 SEP s2 SEP … sN SEP` of character ids (as exercise 4's `pack` lays out tokens).

    A character missing from the vocabulary becomes id 0 (UNKNOWN).
    """
    # TODO: a dict character → id (its index in the vocabulary); the stream starts with the id of
    # SEPARATOR, then for each text the ids of its characters (dict.get(c, 0)) and one SEPARATOR.
    raise NotImplementedError("TODO")


def build_model(settings: dict, vocab_size: int):
    """Embedding → `num_layers` LSTM layers → dropout → one logit per character, at every position."""
    import keras

    # TODO: a keras.Sequential starting with keras.Input(shape=(None,), dtype="int32") (any length),
    # then keras.layers.Embedding(vocab_size, settings["embedding_dim"]), settings["num_layers"] times
    # keras.layers.LSTM(settings["units"], return_sequences=True) (a prediction at every character),
    # keras.layers.Dropout(settings["dropout"]) and keras.layers.Dense(vocab_size) (logits, no softmax).
    raise NotImplementedError("TODO")


def compile_model(model, learning_rate: float) -> None:
    """Adam (with gradient clipping: an LSTM's gradients can explode) and the next-character loss."""
    import keras

    # TODO: model.compile with keras.optimizers.Adam(learning_rate, clipnorm=1.0) and a
    # keras.losses.SparseCategoricalCrossentropy on logits (from_logits=True).
    raise NotImplementedError("TODO")
