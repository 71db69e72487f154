"""Checks for exercise 8 (bonus A): a character-level LSTM (tiny sizes, a few seconds)."""

import numpy as np
import pytest

import aurore  # noqa: F401
from aurore.bonus import char_lstm
from aurore.course.checks.plugin import say

EXERCISE = 8

TEXTS = ["Le lac.", "La cabane!"]


@pytest.mark.check(fr="build_vocabulary : les deux caractères réservés, puis les caractères des textes, triés",
                   en="build_vocabulary: the two reserved characters, then the texts' characters, sorted")
def test_build_vocabulary(exercise_module):
    got = exercise_module.build_vocabulary(TEXTS)
    expected = [exercise_module.UNKNOWN, exercise_module.SEPARATOR, *sorted(set("".join(TEXTS)))]
    assert isinstance(got, list), say(fr=f"build_vocabulary doit rendre une liste, pas {got!r}.",
                                      en=f"build_vocabulary must return a list, not {got!r}.")
    assert got[:2] == expected[:2], say(
        fr=f"Les deux premiers caractères sont UNKNOWN puis SEPARATOR (numéros 0 et 1) ; on a {got[:2]!r}.",
        en=f"The first two characters are UNKNOWN then SEPARATOR (ids 0 and 1); got {got[:2]!r}.")
    assert got == expected, say(
        fr=f"Pour {TEXTS!r} on attend {expected!r} : chaque caractère une seule fois, triés ; on a {got!r}.",
        en=f"For {TEXTS!r} we expect {expected!r}: each character once, sorted; got {got!r}.")
    again = exercise_module.build_vocabulary(["a\nb"])
    assert again.count("\n") == 1, say(
        fr="SEPARATOR ne doit apparaître qu'une fois, même si un texte contient un retour à la ligne.",
        en="SEPARATOR must appear once only, even when a text holds a newline.")


@pytest.mark.check(fr="encode : un flux SEP s1 SEP s2 SEP, les caractères inconnus valent 0",
                   en="encode: one stream SEP s1 SEP s2 SEP, unknown characters are 0")
def test_encode(exercise_module):
    vocabulary = [exercise_module.UNKNOWN, exercise_module.SEPARATOR, "a", "b", "c"]
    got = exercise_module.encode(["ab", "cz", "a"], vocabulary)
    expected = [1, 2, 3, 1, 4, 0, 1, 2, 1]
    got = np.asarray(got) if got is not None else None
    assert got is not None and got.ndim == 1, say(
        fr=f"encode doit rendre un seul tableau à une dimension, pas {got!r}.",
        en=f"encode must return one one-dimensional array, not {got!r}.")
    assert got.tolist() == expected, say(
        fr=f"Avec le vocabulaire {vocabulary!r}, [\"ab\", \"cz\", \"a\"] donne {expected} (SEP = 1 avant chaque "
           f"phrase et à la fin, « z » inconnu = 0) ; on a {got.tolist()}.",
        en=f"With the vocabulary {vocabulary!r}, [\"ab\", \"cz\", \"a\"] gives {expected} (SEP = 1 before each "
           f"sentence and at the end, unknown “z” = 0); got {got.tolist()}.")
    assert np.issubdtype(got.dtype, np.integer), say(
        fr=f"Les numéros sont des entiers (dtype=np.int32), pas {got.dtype}.",
        en=f"The ids are integers (dtype=np.int32), not {got.dtype}.")


@pytest.mark.check(fr="build_model : embedding, LSTM, dropout et un logit par caractère à chaque position",
                   en="build_model: embedding, LSTM, dropout and one logit per character at every position")
def test_build_model(exercise_module):
    import keras

    settings = char_lstm.preset("tiny", num_layers=2)
    model = exercise_module.build_model(settings, 30)
    assert isinstance(model, keras.Model), say(fr=f"build_model doit rendre un modèle Keras, pas {model!r:.60}.",
                                               en=f"build_model must return a Keras model, not {model!r:.60}.")
    lstms = [layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)]
    assert len(lstms) == 2 and all(layer.units == 16 and layer.return_sequences for layer in lstms), say(
        fr=f"On attend settings[\"num_layers\"] = 2 couches LSTM de 16 unités avec return_sequences=True ; "
           f"on a {[(layer.units, layer.return_sequences) for layer in lstms]}.",
        en=f"Expected settings[\"num_layers\"] = 2 LSTM layers of 16 units with return_sequences=True; "
           f"got {[(layer.units, layer.return_sequences) for layer in lstms]}.")
    out = model(np.zeros((3, 7), "int32"))
    assert tuple(out.shape) == (3, 7, 30), say(
        fr=f"Pour 3 textes de 7 caractères, la sortie doit avoir la forme (3, 7, 30) : un score par caractère "
           f"du vocabulaire à chaque position ; on a {tuple(out.shape)}.",
        en=f"For 3 texts of 7 characters the output must have shape (3, 7, 30): one score per character of the "
           f"vocabulary at every position; got {tuple(out.shape)}.")
    # Embedding 30·8, two LSTMs 4·16·(in + 16 + 1), Dense 16·30 + 30.
    expected = 30 * 8 + 4 * 16 * (8 + 16 + 1) + 4 * 16 * (16 + 16 + 1) + 16 * 30 + 30
    assert model.count_params() == expected, say(
        fr=f"Le modèle devrait avoir {expected} paramètres, il en a {model.count_params()} : une couche en trop "
           "ou en moins ?",
        en=f"The model should have {expected} parameters, it has {model.count_params()}: a layer too many or "
           "missing?")


@pytest.mark.check(fr="compile_model : la perte d'un modèle neuf vaut ln(V) et un pas la fait baisser",
                   en="compile_model: a fresh model's loss is ln(V) and one step lowers it")
def test_compile_and_learn(exercise_module):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(None,), dtype="int32"), keras.layers.Embedding(20, 8),
                              keras.layers.LSTM(16, return_sequences=True), keras.layers.Dense(20)])
    exercise_module.compile_model(model, 1e-2)
    assert model.optimizer is not None, say(fr="compile_model doit appeler model.compile(…).",
                                            en="compile_model must call model.compile(…).")
    model.run_eagerly = True      # the same arithmetic without tracing a graph (seconds saved)
    x = np.random.default_rng(0).integers(0, 20, size=(4, 13)).astype("int32")
    before = model.evaluate(x[:, :-1], x[:, 1:], verbose=0)
    before = before[0] if isinstance(before, list) else before
    assert before == pytest.approx(np.log(20), abs=0.3), say(
        fr=f"La perte d'un modèle neuf sur 20 caractères devrait valoir ln(20) ≈ 3,0 ; on a {before:.3f}. "
           "La perte reçoit-elle bien des logits (from_logits=True) ?",
        en=f"A fresh model's loss over 20 characters should be ln(20) ≈ 3.0; got {before:.3f}. "
           "Does the loss take logits (from_logits=True)?")
    for _ in range(3):
        model.train_on_batch(x[:, :-1], x[:, 1:])
    after = model.evaluate(x[:, :-1], x[:, 1:], verbose=0)
    after = after[0] if isinstance(after, list) else after
    assert after < before, say(fr=f"La perte n'a pas baissé ({before:.4f} → {after:.4f}).",
                               en=f"The loss did not go down ({before:.4f} → {after:.4f}).")
