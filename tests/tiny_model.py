"""A tiny but complete model directory, for every test that needs a model.

`make_tiny_model_dir(path)` builds, in a few seconds and without any download:
- a byte-level BPE tokenizer (the `tokenizers` library, vocabulary of about
  400 tokens, `<|endoftext|>` as its only special token) trained on the
  French sentences below, wrapped as a `transformers.PreTrainedTokenizerFast`;
- a `keras_hub.models.GPT2Backbone` with 2 layers, hidden size 32 and a
  context of 128 tokens, trained for a few dozen steps on the same sentences
  so that it writes French-looking words rather than pure noise;
and saves both with `aurore.store.modeldir.save`, so the result loads like a real
model. Same seed, same directory contents (up to float rounding).

Tests use the session-scoped fixture: `from tests.tiny_model import
tiny_model_dir` (pytest then finds it in the test module's namespace).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

import aurore  # noqa: F401  (sets the Keras backend before keras is imported)

EOS = "<|endoftext|>"
VOCABULARY_SIZE = 400
MAX_SEQUENCE_LENGTH = 128
TRAIN_STEPS = 40

SENTENCES = """\
La nuit était douce et la lune éclairait la vallée.
Elle ouvrit la fenêtre et regarda longtemps la campagne endormie.
« Je ne sais pas ce que vous voulez dire », répondit-elle.
Le vieux meunier chantait en marchant sur le chemin creux.
Il y avait dans ce village une jeune fille nommée Fadette.
Les enfants couraient dans le pré, au bord de la rivière.
Madame, dit-il, je vous aime depuis le premier jour.
Le vent soufflait dans les grands arbres du parc.
Elle pensait à sa mère, à son pays, à sa jeunesse perdue.
Nous partirons demain à l'aube, quand le ciel sera clair.
Le château se dressait au sommet de la colline.
Il prit sa plume et écrivit une longue lettre.
Qu'avez-vous donc ? Vous êtes toute pâle !
La pluie tombait sur les toits de la petite ville.
Le curé passa devant l'église en saluant les paysans.
Elle avait les yeux noirs et le cœur plein de rêves.
Ils marchèrent ensemble jusqu'à la forêt.
Je n'ai jamais vu une si belle journée d'été.
Le berger gardait ses moutons sur la lande.
Mon ami, la vie est courte et l'amour est rare.
Les cloches sonnaient pour la fête du village.
Il resta silencieux, le regard perdu dans le feu.
Où est-il allé ? Personne ne le sait.
La musique emplissait la maison d'une joie tranquille.
Elle se leva, fit quelques pas et s'arrêta devant la porte.
Le soleil se couchait derrière les collines bleues.
Vous reviendrez, n'est-ce pas ? Promettez-le-moi.
Ce fut une longue et terrible nuit d'hiver.
Les oiseaux chantaient dans les haies au printemps.
Il lui prit la main sans rien dire.
"""

_SUBJECTS = ["La jeune femme", "Le vieil homme", "L'enfant", "Mon père", "Sa sœur", "Le voyageur",
             "La comtesse", "Le paysan"]
_VERBS = ["regardait", "aimait", "cherchait", "oubliait", "attendait", "écoutait"]
_OBJECTS = ["la mer", "le jardin", "les étoiles", "la maison", "son enfance", "le chemin du moulin",
            "les champs de blé"]
_ENDINGS = [".", " avec tendresse.", " en silence.", " depuis longtemps.", " !"]


def sentences() -> list[str]:
    """About three hundred short French sentences, always the same ones."""
    written = [line for line in SENTENCES.splitlines() if line.strip()]
    combined = [f"{s} {v} {o}{e}" for (s, v, o), e in
                zip(itertools.product(_SUBJECTS, _VERBS, _OBJECTS), itertools.cycle(_ENDINGS))]
    return written + combined


def make_tokenizer(texts: list[str]):
    """A byte-level BPE tokenizer (as GPT-2's) trained on `texts`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCABULARY_SIZE, special_tokens=[EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    core.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=core, bos_token=EOS, eos_token=EOS, unk_token=EOS,
                                   pad_token=EOS)


def make_backbone(vocabulary_size: int, seed: int = 0):
    import keras
    import keras_hub

    keras.utils.set_random_seed(seed)
    return keras_hub.models.GPT2Backbone(vocabulary_size=vocabulary_size, num_layers=2, num_heads=2,
                                         hidden_dim=32, intermediate_dim=64, dropout=0.0,
                                         max_sequence_length=MAX_SEQUENCE_LENGTH)


def _train(backbone, tokenizer, texts: list[str], steps: int, seed: int) -> float:
    """A few dozen Adam steps on next-token prediction; returns the last loss."""
    import keras
    import numpy as np
    import tensorflow as tf

    eos = tokenizer.eos_token_id
    stream: list[int] = []
    for text in texts:
        stream.extend(tokenizer(text)["input_ids"] + [eos])
    window = 48
    rng = np.random.default_rng(seed)
    data = np.array(stream, dtype="int32")
    optimizer = keras.optimizers.Adam(learning_rate=1e-2)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step(batch):
        with tf.GradientTape() as tape:
            x = backbone({"token_ids": batch[:, :-1], "padding_mask": tf.ones_like(batch[:, :-1])})
            logits = backbone.token_embedding(x, reverse=True)
            loss = loss_fn(batch[:, 1:], logits)
        grads = tape.gradient(loss, backbone.trainable_variables)
        optimizer.apply_gradients(zip(grads, backbone.trainable_variables))
        return loss

    loss = float("nan")
    for _ in range(steps):
        starts = rng.integers(0, len(data) - window - 1, size=16)
        batch = np.stack([data[s:s + window + 1] for s in starts])
        loss = float(step(tf.constant(batch)))
    return loss


def make_tiny_model_dir(path, seed: int = 0, train_steps: int = TRAIN_STEPS) -> Path:
    """Build and save the tiny model under `path`; returns `path`."""
    from aurore.store import modeldir

    texts = sentences()
    tokenizer = make_tokenizer(texts)
    backbone = make_backbone(len(tokenizer), seed)
    loss = _train(backbone, tokenizer, texts, train_steps, seed) if train_steps else None
    settings = {"preset": "tiny-test", "sequence_length": MAX_SEQUENCE_LENGTH, "train_steps": train_steps,
                "final_loss": loss, "seed": seed}
    return modeldir.save(Path(path), backbone, tokenizer, settings)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """One tiny trained model directory shared by the whole test session."""
    return make_tiny_model_dir(tmp_path_factory.mktemp("models") / "tiny")
