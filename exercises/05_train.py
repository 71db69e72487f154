"""Exercice 5 : entraîner GPT-2 de zéro avec TensorFlow et KerasHub.

Quatre pièces, le cœur de l'entraînement d'un modèle de langue :
1. mettre bout à bout les phrases en jetons, en blocs de longueur fixe (sans remplissage perdu) ;
2. construire GPT-2 à partir d'un préréglage (GPT2Backbone + GPT2CausalLM de KerasHub) ;
3. un optimiseur AdamW dont le taux d'apprentissage monte doucement, puis décroît ;
4. compiler : la perte compare le jeton suivant prédit au vrai.

Le reste (pipeline tf.data, rappels, points de sauvegarde, reprise) est dans `aurore/`.
Lancez-le : `python -m aurore train` (ou `--use exercise` pour votre code).
"""

from __future__ import annotations

import numpy as np


def pack(token_lists, eos_id: int, length: int):
    """Met les phrases bout à bout en blocs de `length` jetons, pour prédire le jeton suivant.

    Le flux est `eos p1 eos p2 eos … pN eos` : chaque phrase est précédée et suivie du
    jeton de fin de texte. On le coupe en autant de blocs complets de `length` jetons
    qu'il en tient, chacun avec ses cibles : le même flux décalé d'un jeton (la cible
    d'une position est le jeton qui la suit).
    Renvoie `(inputs, targets)`, deux tableaux int32 de forme (blocs, length).
    """
    # TODO: construisez le flux stream (eos_id avant chaque phrase et un à la fin), puis coupez
    # inputs = stream[:-1] et targets = stream[1:] en blocs complets (np.asarray(…, dtype=np.int32), .reshape).
    raise NotImplementedError("TODO")
    return inputs, targets


def build_model(settings: dict, vocab_size: int):
    """Un GPT-2 neuf (poids aléatoires), de la forme que dit le préréglage."""
    import keras_hub

    # TODO: un keras_hub.models.GPT2Backbone avec vocabulary_size=vocab_size et les réglages du
    # préréglage : num_layers, num_heads, hidden_dim, intermediate_dim et dropout (les mêmes noms
    # que les clés de settings), et max_sequence_length=settings["sequence_length"] ;
    # puis un keras_hub.models.GPT2CausalLM(backbone=…, preprocessor=None) (on lui donne les numéros nous-mêmes).
    raise NotImplementedError("TODO")


def make_optimizer(settings: dict, total_steps: int):
    """AdamW avec une montée linéaire jusqu'au taux d'apprentissage maximal, puis une décroissance en cosinus."""
    import keras

    # TODO: warmup = min(settings["warmup_steps"], total_steps - 1) pas (un entraînement court monte moins) ;
    # un keras.optimizers.schedules.CosineDecay qui part de 0, monte jusqu'à settings["learning_rate"]
    # en warmup pas, puis décroît sur les total_steps - warmup autres pas jusqu'au dixième de ce taux
    # (alpha=0.1) ; puis keras.optimizers.AdamW avec ce planning, settings["weight_decay"],
    # beta_2=0.95 et l'écrêtage des gradients (clipnorm=1.0).
    raise NotImplementedError("TODO")
    # Ni les biais, ni les normalisations, ni les plongements ne sont freinés (comme dans la recette de GPT-2).
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta", "embeddings"])
    return optimizer


def compile_model(model, optimizer, jit_compile: bool = False) -> None:
    """Attache au modèle l'optimiseur et la perte du jeton suivant."""
    import keras

    # TODO: model.compile avec l'optimiseur, une perte keras.losses.SparseCategoricalCrossentropy
    # sur des logits (from_logits=True), et jit_compile=jit_compile.
    raise NotImplementedError("TODO")
