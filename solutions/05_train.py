"""[fr] Exercice 5 : entraîner GPT-2 de zéro avec TensorFlow et KerasHub.

Quatre pièces, le cœur de l'entraînement d'un modèle de langue :
1. mettre bout à bout les phrases en jetons, en blocs de longueur fixe (sans remplissage perdu) ;
2. construire GPT-2 à partir d'un préréglage (GPT2Backbone + GPT2CausalLM de KerasHub) ;
3. un optimiseur AdamW dont le taux d'apprentissage monte doucement, puis décroît ;
4. compiler : la perte compare le jeton suivant prédit au vrai.

Le reste (pipeline tf.data, rappels, points de sauvegarde, reprise) est dans `aurore/`.
Lancez-le : `python -m aurore train` (ou `--use exercise` pour votre code).
[en] Exercise 5: train GPT-2 from scratch with TensorFlow and KerasHub.

Four pieces, the heart of training a language model:
1. pack the tokenized sentences into fixed-length blocks (no padding wasted);
2. build GPT-2 from a configuration (KerasHub's GPT2Backbone + GPT2CausalLM);
3. an AdamW optimizer whose learning rate warms up, then decays;
4. compile: the loss compares the predicted next token with the real one.

The rest (tf.data pipeline, callbacks, checkpoints, resuming) is in `aurore/`.
Run it: `python -m aurore train` (or `--use exercise` for your code).
"""

from __future__ import annotations

import numpy as np


def pack(token_lists, eos_id: int, length: int):
    """[fr] Met les phrases bout à bout en blocs de `length` jetons, pour prédire le jeton suivant.

    Le flux est `eos p1 eos p2 eos … pN eos` : chaque phrase est précédée et suivie du
    jeton de fin de texte. On le coupe en autant de blocs complets de `length` jetons
    qu'il en tient, chacun avec ses cibles : le même flux décalé d'un jeton (la cible
    d'une position est le jeton qui la suit).
    Renvoie `(inputs, targets)`, deux tableaux int32 de forme (blocs, length).
    [en] Pack sentences into blocks of `length` tokens for next-token prediction.

    The stream is `eos s1 eos s2 eos … sN eos`: every sentence is preceded and
    followed by the end-of-text token. It is cut into as many full blocks of
    `length` tokens as fit, each with its targets: the same stream shifted by
    one token (the target of a position is the token that follows it).
    Returns `(inputs, targets)`, two int32 arrays of shape (blocks, length).
    """
    # BEGIN SOLUTION
    # [fr] TODO: construisez le flux stream (eos_id avant chaque phrase et un à la fin), puis coupez
    # [fr] inputs = stream[:-1] et targets = stream[1:] en blocs complets (np.asarray(…, dtype=np.int32), .reshape).
    # [en] TODO: build the stream (eos_id before every sentence and one at the end),
    # [en] then cut inputs = stream[:-1] and targets = stream[1:] into full blocks (np.asarray(…, dtype=np.int32), .reshape).
    stream = [eos_id]
    for ids in token_lists:
        stream.extend(ids)
        stream.append(eos_id)
    stream = np.asarray(stream, dtype=np.int32)
    blocks = (len(stream) - 1) // length
    inputs = stream[:blocks * length].reshape(blocks, length)
    targets = stream[1:blocks * length + 1].reshape(blocks, length)
    # END SOLUTION
    return inputs, targets


def build_model(settings: dict, vocab_size: int):
    """[fr] Un GPT-2 neuf (poids aléatoires), de la forme que dit le préréglage.
    [en] A fresh GPT-2 (random weights) shaped by the preset's settings."""
    import keras_hub

    # BEGIN SOLUTION
    # [fr] TODO: un keras_hub.models.GPT2Backbone avec vocabulary_size=vocab_size et les réglages du
    # [fr] préréglage : num_layers, num_heads, hidden_dim, intermediate_dim et dropout (les mêmes noms
    # [fr] que les clés de settings), et max_sequence_length=settings["sequence_length"] ;
    # [fr] puis un keras_hub.models.GPT2CausalLM(backbone=…, preprocessor=None) (on lui donne les numéros nous-mêmes).
    # [en] TODO: a keras_hub.models.GPT2Backbone with vocabulary_size=vocab_size and the preset's
    # [en] settings: num_layers, num_heads, hidden_dim, intermediate_dim and dropout (same names
    # [en] as the settings' keys), and max_sequence_length=settings["sequence_length"];
    # [en] then a keras_hub.models.GPT2CausalLM(backbone=…, preprocessor=None) (we feed token ids ourselves).
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=vocab_size,
        num_layers=settings["num_layers"],
        num_heads=settings["num_heads"],
        hidden_dim=settings["hidden_dim"],
        intermediate_dim=settings["intermediate_dim"],
        dropout=settings["dropout"],
        max_sequence_length=settings["sequence_length"],
    )
    return keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)
    # END SOLUTION


def make_optimizer(settings: dict, total_steps: int):
    """[fr] AdamW avec une montée linéaire jusqu'au taux d'apprentissage maximal, puis une décroissance en cosinus.
    [en] AdamW with a linear warm-up to the peak learning rate, then a cosine decay."""
    import keras

    # BEGIN SOLUTION
    # [fr] TODO: warmup = min(settings["warmup_steps"], total_steps - 1) pas (un entraînement court monte moins) ;
    # [fr] un keras.optimizers.schedules.CosineDecay qui part de 0, monte jusqu'à settings["learning_rate"]
    # [fr] en warmup pas, puis décroît sur les total_steps - warmup autres pas jusqu'au dixième de ce taux
    # [fr] (alpha=0.1) ; puis keras.optimizers.AdamW avec ce planning, settings["weight_decay"],
    # [fr] beta_2=0.95 et l'écrêtage des gradients (clipnorm=1.0).
    # [en] TODO: warmup = min(settings["warmup_steps"], total_steps - 1) steps (a short run warms up less);
    # [en] a keras.optimizers.schedules.CosineDecay starting at 0, warming up to settings["learning_rate"]
    # [en] in warmup steps, then decaying over the other total_steps - warmup steps to a tenth of it
    # [en] (alpha=0.1); then keras.optimizers.AdamW with that schedule, settings["weight_decay"],
    # [en] beta_2=0.95 and gradient clipping (clipnorm=1.0).
    warmup = min(settings["warmup_steps"], max(total_steps - 1, 0))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        decay_steps=max(total_steps - warmup, 1),
        alpha=0.1,
        warmup_target=settings["learning_rate"],
        warmup_steps=warmup,
    )
    optimizer = keras.optimizers.AdamW(learning_rate=schedule, weight_decay=settings["weight_decay"],
                                       beta_2=0.95, clipnorm=1.0)
    # END SOLUTION
    # [fr] Ni les biais, ni les normalisations, ni les plongements ne sont freinés (comme dans la recette de GPT-2).
    # [en] Biases, layer norms and embeddings are not decayed (as in GPT-2's recipe).
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta", "embeddings"])
    return optimizer


def compile_model(model, optimizer, jit_compile: bool = False) -> None:
    """[fr] Attache au modèle l'optimiseur et la perte du jeton suivant.
    [en] Attach the optimizer and the next-token loss to the model."""
    import keras

    # BEGIN SOLUTION
    # [fr] TODO: model.compile avec l'optimiseur, une perte keras.losses.SparseCategoricalCrossentropy
    # [fr] sur des logits (from_logits=True), et jit_compile=jit_compile.
    # [en] TODO: model.compile with the optimizer, a keras.losses.SparseCategoricalCrossentropy
    # [en] loss on logits (from_logits=True), and jit_compile=jit_compile.
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  weighted_metrics=[], jit_compile=jit_compile)
    # END SOLUTION
