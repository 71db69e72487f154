"""Checks for exercise 5: train GPT-2 (tiny sizes, a few seconds)."""

import numpy as np
import pytest

import aurore  # noqa: F401
from aurore.course.checks.plugin import say
from aurore.training import presets

EXERCISE = 5


@pytest.mark.check(fr="pack range les phrases en blocs séparés par <|endoftext|>",
                   en="pack lays the sentences out in blocks separated by <|endoftext|>")
def test_pack(exercise_module):
    inputs, targets = exercise_module.pack([[5, 6, 7], [8], [9, 10, 11, 12, 13], [14, 15]], 0, 4)
    stream = [0, 5, 6, 7, 0, 8, 0, 9, 10, 11, 12, 13, 0, 14, 15, 0]
    inputs, targets = np.asarray(inputs), np.asarray(targets)
    assert inputs.shape == (3, 4), say(
        fr=f"16 jetons dans le flux → 3 blocs complets de 4 (plus leur cible) ; forme obtenue {inputs.shape}.",
        en=f"16 tokens in the stream → 3 full blocks of 4 (plus their target); got shape {inputs.shape}.")
    assert inputs.ravel().tolist() == stream[:12], say(
        fr=f"Les entrées devraient être {stream[:12]} (eos avant chaque phrase), on a {inputs.ravel().tolist()}.",
        en=f"The inputs should be {stream[:12]} (eos before each sentence), got {inputs.ravel().tolist()}.")
    assert targets.ravel().tolist() == stream[1:13], say(
        fr=f"Les cibles sont les entrées décalées d'un jeton : {stream[1:13]} ; on a {targets.ravel().tolist()}.",
        en=f"The targets are the inputs shifted by one token: {stream[1:13]}; got {targets.ravel().tolist()}.")


@pytest.mark.check(fr="build_model construit un GPT-2 de la bonne forme",
                   en="build_model builds a GPT-2 of the right shape")
def test_build_model(exercise_module):
    settings = presets.preset("tiny")
    lm = exercise_module.build_model(settings, 100)
    backbone = getattr(lm, "backbone", None)
    assert backbone is not None, say(fr="build_model doit renvoyer un GPT2CausalLM (avec son backbone).",
                                     en="build_model must return a GPT2CausalLM (with its backbone).")
    shape = (backbone.vocabulary_size, backbone.num_layers, backbone.hidden_dim, backbone.max_sequence_length)
    assert shape == (100, 2, 32, 32), say(
        fr=f"(vocabulaire, couches, largeur, contexte) attendus (100, 2, 32, 32), obtenus {shape}.",
        en=f"(vocabulary, layers, width, context) expected (100, 2, 32, 32), got {shape}.")
    expected = presets.parameter_count(settings, 100)["total"]
    assert lm.count_params() == expected, say(
        fr=f"Le modèle devrait avoir {expected} paramètres, il en a {lm.count_params()}.",
        en=f"The model should have {expected} parameters, it has {lm.count_params()}.")


@pytest.mark.check(fr="make_optimizer : AdamW, montée progressive puis décroissance",
                   en="make_optimizer: AdamW, warm-up then decay")
def test_make_optimizer(exercise_module):
    import keras

    settings = presets.preset("tiny", learning_rate=1e-3, warmup_steps=10)
    optimizer = exercise_module.make_optimizer(settings, 100)
    assert isinstance(optimizer, keras.optimizers.AdamW), say(
        fr=f"On attend un keras.optimizers.AdamW, pas {type(optimizer).__name__}.",
        en=f"Expected a keras.optimizers.AdamW, not {type(optimizer).__name__}.")
    schedule = optimizer._learning_rate
    assert callable(schedule), say(
        fr="Le taux d'apprentissage doit être un planning (schedule), pas un nombre fixe.",
        en="The learning rate must be a schedule, not a fixed number.")
    rates = [float(schedule(step)) for step in (0, 5, 10, 99)]
    assert rates[0] < rates[1] < rates[2] == pytest.approx(1e-3, rel=1e-3) and rates[3] < 0.5e-3, say(
        fr=f"Aux pas 0, 5, 10, 99 on attend une montée jusqu'à 1e-3 puis une baisse ; on a {rates}.",
        en=f"At steps 0, 5, 10, 99 we expect a rise to 1e-3 then a decrease; got {rates}.")


@pytest.mark.check(fr="compile_model : un pas d'entraînement fait baisser la perte",
                   en="compile_model: one training step lowers the loss")
def test_compile_and_learn(exercise_module):
    import keras
    import keras_hub

    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.GPT2Backbone(vocabulary_size=50, num_layers=1, num_heads=2, hidden_dim=16,
                                             intermediate_dim=32, dropout=0.0, max_sequence_length=16)
    lm = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)
    exercise_module.compile_model(lm, keras.optimizers.Adam(1e-2))
    # Eager steps: the same arithmetic without tracing a graph (seconds saved on a tiny model).
    lm.run_eagerly = True
    x = np.random.default_rng(0).integers(0, 50, size=(4, 17)).astype("int32")
    features = {"token_ids": x[:, :-1], "padding_mask": np.ones((4, 16), "int32")}
    before = lm.evaluate(features, x[:, 1:], verbose=0)
    before = before[0] if isinstance(before, list) else before
    assert before == pytest.approx(np.log(50), abs=0.3), say(
        fr=f"La perte d'un modèle neuf sur 50 jetons devrait valoir ln(50) ≈ 3,9 ; on a {before:.3f}. "
           "La perte reçoit-elle bien des logits (from_logits=True) ?",
        en=f"A fresh model's loss over 50 tokens should be ln(50) ≈ 3.9; got {before:.3f}. "
           "Does the loss take logits (from_logits=True)?")
    lm.train_on_batch(features, x[:, 1:])
    after = lm.evaluate(features, x[:, 1:], verbose=0)
    after = after[0] if isinstance(after, list) else after
    assert after < before, say(fr=f"La perte n'a pas baissé ({before:.4f} → {after:.4f}).",
                               en=f"The loss did not go down ({before:.4f} → {after:.4f}).")
