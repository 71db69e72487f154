"""Checks for exercise 10 (bonus): LoRA on one book (a one-layer model, a few seconds)."""

import numpy as np
import pytest

import aurore  # noqa: F401
from aurore.course.checks.plugin import say

EXERCISE = 10

BOOK = [f"Phrase {i} du livre." for i in range(30)]


def small_model():
    import keras
    import keras_hub

    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.GPT2Backbone(vocabulary_size=50, num_layers=1, num_heads=2, hidden_dim=16,
                                             intermediate_dim=32, dropout=0.0, max_sequence_length=16)
    return keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)


@pytest.mark.check(fr="split_by_position garde la fin du livre, dans l'ordre",
                   en="split_by_position holds out the end of the book, in order")
def test_split_by_position(exercise_module):
    train, held_out = exercise_module.split_by_position(BOOK, 0.1)
    assert list(held_out) == BOOK[27:], say(
        fr=f"Sur 30 phrases, le dixième gardé de côté est fait des 3 dernières ({BOOK[27:]}), pas {held_out!r:.200}.",
        en=f"Out of 30 sentences, the tenth held out is the last 3 ({BOOK[27:]}), not {held_out!r:.200}.")
    assert list(train) == BOOK[:27], say(
        fr="La partie d'entraînement est tout le début du livre, dans l'ordre : les 27 premières phrases.",
        en="The training part is the whole beginning of the book, in order: the first 27 sentences.")
    train, held_out = exercise_module.split_by_position(BOOK[:25], 0.1)
    assert len(held_out) == 3 and len(train) == 22, say(
        fr=f"Sur 25 phrases, 10 % font 2,5 : on arrondit au-dessus (math.ceil), 3 gardées ; on a "
           f"{len(held_out)} gardées et {len(train)} pour apprendre.",
        en=f"Out of 25 sentences, 10 % is 2.5: round up (math.ceil), 3 held out; got {len(held_out)} held out "
           f"and {len(train)} to learn from.")
    train, held_out = exercise_module.split_by_position(BOOK[:3], 0.01)
    assert (list(train), list(held_out)) == (BOOK[:2], BOOK[2:3]), say(
        fr="Même pour une part minuscule, au moins une phrase est gardée de côté (sinon rien à mesurer).",
        en="Even for a tiny share, at least one sentence is held out (otherwise there is nothing to measure).")
    train, held_out = exercise_module.split_by_position(BOOK[:2], 0.9)
    assert len(train) == 1 and len(held_out) == 1, say(
        fr="Même pour une grande part, au moins une phrase reste pour apprendre.",
        en="Even for a large share, at least one sentence is left to learn from.")


@pytest.mark.check(fr="count_parameters compte les poids entraînables et gelés",
                   en="count_parameters counts the trainable and the frozen weights")
def test_count_parameters(exercise_module):
    lm = small_model()
    total = lm.count_params()
    counts = exercise_module.count_parameters(lm)
    assert isinstance(counts, dict) and counts.get("total") == total, say(
        fr=f"Ce modèle a {total} paramètres en tout (model.count_params()) ; count_parameters dit {counts!r:.200}.",
        en=f"This model has {total} parameters in all (model.count_params()); count_parameters says {counts!r:.200}.")
    assert (counts["trainable"], counts["frozen"]) == (total, 0), say(
        fr=f"Un modèle neuf est entièrement entraînable : on attend {total} entraînables et 0 gelé, pas "
           f"{counts['trainable']} et {counts['frozen']}.",
        en=f"A fresh model is wholly trainable: expected {total} trainable and 0 frozen, not "
           f"{counts['trainable']} and {counts['frozen']}.")
    lm.backbone.token_embedding.trainable = False
    embedding = int(np.prod(lm.backbone.token_embedding.embeddings.shape))
    counts = exercise_module.count_parameters(lm)
    assert (counts["trainable"], counts["frozen"]) == (total - embedding, embedding), say(
        fr=f"Avec le plongement des jetons gelé ({embedding} nombres), on attend {total - embedding} entraînables "
           f"et {embedding} gelés, pas {counts['trainable']} et {counts['frozen']}. Utilisez "
           "model.trainable_weights et model.non_trainable_weights.",
        en=f"With the token embedding frozen ({embedding} numbers), expected {total - embedding} trainable and "
           f"{embedding} frozen, not {counts['trainable']} and {counts['frozen']}. Use model.trainable_weights "
           "and model.non_trainable_weights.")
    assert all(type(value) is int for value in counts.values()), say(
        fr=f"Les comptes doivent être des entiers Python (int(...)), pas {[type(v).__name__ for v in counts.values()]}.",
        en=f"The counts must be plain Python ints (int(...)), not {[type(v).__name__ for v in counts.values()]}.")


@pytest.mark.check(fr="choose_trainable : LoRA ne laisse apprendre que de petites matrices",
                   en="choose_trainable: LoRA lets only small matrices learn")
def test_choose_trainable_lora(exercise_module):
    lm = small_model()
    total = lm.count_params()
    exercise_module.choose_trainable(lm.backbone, 4)
    names = [weight.path for weight in lm.trainable_weights]
    assert any("lora_kernel" in name for name in names), say(
        fr="Avec un rang, le modèle doit avoir des poids LoRA (lora_kernel_a, lora_kernel_b) : appelez "
           "backbone.enable_lora(rank=rank).",
        en="With a rank, the model must have LoRA weights (lora_kernel_a, lora_kernel_b): call "
           "backbone.enable_lora(rank=rank).")
    rank = {tuple(w.shape)[-1] for w in lm.trainable_weights if w.path.endswith("lora_kernel_a")}
    assert rank == {4}, say(fr=f"Le rang demandé est 4 ; les matrices A ont le rang {sorted(rank)}.",
                            en=f"The rank asked for is 4; the A matrices have rank {sorted(rank)}.")
    trainable = sum(int(np.prod(w.shape)) for w in lm.trainable_weights)
    assert trainable < total / 5, say(
        fr=f"{trainable} poids entraînables sur {total} : LoRA devrait geler presque tout le modèle.",
        en=f"{trainable} trainable weights out of {total}: LoRA should freeze almost the whole model.")


@pytest.mark.check(fr="choose_trainable : sans rang, tout le modèle apprend",
                   en="choose_trainable: without a rank, the whole model learns")
def test_choose_trainable_full(exercise_module):
    lm = small_model()
    lm.backbone.trainable = False
    exercise_module.choose_trainable(lm.backbone, None)
    trainable = sum(int(np.prod(w.shape)) for w in lm.trainable_weights)
    assert trainable == lm.count_params(), say(
        fr=f"Pour l'affinage complet (rank None), tous les {lm.count_params()} poids doivent être entraînables "
           f"(backbone.trainable = True) ; {trainable} le sont.",
        en=f"For full fine-tuning (rank None), all {lm.count_params()} weights must be trainable "
           f"(backbone.trainable = True); {trainable} are.")
    assert not any("lora_kernel" in w.path for w in lm.weights), say(
        fr="Sans rang, pas de LoRA : n'appelez enable_lora que si rank n'est pas None.",
        en="Without a rank, no LoRA: call enable_lora only when rank is not None.")
