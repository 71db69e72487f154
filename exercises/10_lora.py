"""Exercice 10 (bonus) : apprendre un nouveau livre à un GPT-2 entraîné, avec LoRA.

Affiner, c'est continuer l'entraînement d'un modèle qui écrit déjà le français sur un
nouveau texte : ici un seul livre (par défaut L'Avare de Molière, une pièce que le
modèle n'a jamais lue). Deux façons :

- l'affinage complet : tous les poids bougent, comme à l'exercice 5 ;
- LoRA (Low-Rank Adaptation, adaptation de rang faible) : les poids restent gelés, et à
  côté de certaines grandes matrices W (les projections query et value de l'attention),
  le modèle apprend une petite correction A·B, avec A de forme (d, r) et B de forme
  (r, d') pour un petit rang r. Bien moins de nombres à apprendre, à garder en mémoire
  pour l'optimiseur et à enregistrer : la correction est l'« adaptateur ».

Pour mesurer honnêtement, la fin du livre est mise de côté : le modèle apprend sur son
début et il est noté (bits par caractère, exercice 7) sur les dernières pages, qu'il n'a
jamais vues.

Le reste (lire le livre avec le code des exercices 1 et 2, la boucle d'entraînement,
l'enregistrement, l'évaluation) est dans `aurore/bonus/lora.py`.
Lancez-le : `python -m aurore lora` (ou `--use exercise` pour votre code).
"""

from __future__ import annotations

import math

import numpy as np


def split_by_position(sentences: list[str], held_out_share: float = 0.1) -> tuple[list[str], list[str]]:
    """(phrases d'entraînement, phrases mises de côté) : la dernière part `held_out_share` du livre est mise de côté.

    Pas de tirage au hasard : deux phrases voisines partagent des noms et des tournures,
    une phrase tirée au milieu du livre serait donc à moitié connue d'avance. La part
    mise de côté prend au moins une phrase, et en laisse au moins une pour apprendre.
    """
    # TODO: le nombre de phrases mises de côté est held_out_share du livre, arrondi au-dessus (math.ceil),
    # au moins 1 et au plus len(sentences) - 1 ; la partie d'entraînement est tout ce qui les précède.
    raise NotImplementedError("TODO")


def count_parameters(model) -> dict[str, int]:
    """Combien de nombres contient le modèle : entraînables (l'optimiseur les change), gelés, et en tout."""
    # TODO: additionnez les tailles (np.prod de la forme, .shape) des poids de model.trainable_weights
    # (trainable), puis de model.non_trainable_weights (frozen). Des int Python, pas des nombres NumPy.
    raise NotImplementedError("TODO")
    return {"trainable": trainable, "frozen": frozen, "total": trainable + frozen}


def choose_trainable(backbone, rank: int | None) -> None:
    """Décide ce que l'affinage peut changer : tout (rank à None), ou des adaptateurs LoRA de ce rang."""
    # TODO: pour l'affinage complet (rank vaut None), rendez tout le backbone entraînable (backbone.trainable).
    # Sinon demandez LoRA à KerasHub : backbone.enable_lora(rank=rank) gèle chaque poids et ajoute
    # les deux petites matrices entraînables à côté des projections query et value de chaque couche.
    raise NotImplementedError("TODO")
