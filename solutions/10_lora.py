"""[fr] Exercice 10 (bonus) : apprendre un nouveau livre à un GPT-2 entraîné, avec LoRA.

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
[en] Exercise 10 (bonus): teach a trained GPT-2 one new book with LoRA.

Fine-tuning continues the training of a model that already writes French on
new text: here one single book (by default Molière's L'Avare, a play the
model never read). Two ways:

- full fine-tuning: every weight moves, as in exercise 5;
- LoRA (Low-Rank Adaptation): the weights stay frozen, and beside some of
  the big matrices W (the attention's query and value projections) the model
  learns a small correction A·B, with A of shape (d, r) and B of shape (r, d')
  for a small rank r. Far fewer numbers to learn, to keep in memory for
  the optimizer, and to save: the correction is the "adapter".

To measure honestly, the end of the book is held out: the model learns on
its beginning and is scored (bits per character, exercise 7) on the last
pages, which it never saw.

The rest (reading the book with the code of exercises 1 and 2, the
training loop, saving, evaluating) is in `aurore/bonus/lora.py`.
Run it: `python -m aurore lora` (or `--use exercise` for your code).
"""

from __future__ import annotations

import math

import numpy as np


def split_by_position(sentences: list[str], held_out_share: float = 0.1) -> tuple[list[str], list[str]]:
    """[fr] (phrases d'entraînement, phrases mises de côté) : la dernière part `held_out_share` du livre est mise de côté.

    Pas de tirage au hasard : deux phrases voisines partagent des noms et des tournures,
    une phrase tirée au milieu du livre serait donc à moitié connue d'avance. La part
    mise de côté prend au moins une phrase, et en laisse au moins une pour apprendre.
    [en] (training sentences, held-out sentences): the last `held_out_share` of the book is held out.

    Not a random draw: neighbouring sentences share names and turns of
    phrase, so a sentence drawn at random from the middle of the book would
    be half known already. The held-out part takes at least one sentence,
    and leaves at least one to learn from.
    """
    # BEGIN SOLUTION
    # [fr] TODO: le nombre de phrases mises de côté est held_out_share du livre, arrondi au-dessus (math.ceil),
    # [fr] au moins 1 et au plus len(sentences) - 1 ; la partie d'entraînement est tout ce qui les précède.
    # [en] TODO: the number of held-out sentences is held_out_share of the book, rounded up (math.ceil),
    # [en] at least 1 and at most len(sentences) - 1; the training part is everything before them.
    held_out = min(max(math.ceil(len(sentences) * held_out_share), 1), len(sentences) - 1)
    cut = len(sentences) - held_out
    return list(sentences[:cut]), list(sentences[cut:])
    # END SOLUTION


def count_parameters(model) -> dict[str, int]:
    """[fr] Combien de nombres contient le modèle : entraînables (l'optimiseur les change), gelés, et en tout.
    [en] How many numbers the model holds: trainable (the optimizer moves them), frozen, and in all."""
    # BEGIN SOLUTION
    # [fr] TODO: additionnez les tailles (np.prod de la forme, .shape) des poids de model.trainable_weights
    # [fr] (trainable), puis de model.non_trainable_weights (frozen). Des int Python, pas des nombres NumPy.
    # [en] TODO: add up the sizes (np.prod of the shape, .shape) of model.trainable_weights (trainable),
    # [en] then of model.non_trainable_weights (frozen). Plain Python ints, not NumPy numbers.
    trainable = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
    frozen = sum(int(np.prod(weight.shape)) for weight in model.non_trainable_weights)
    # END SOLUTION
    return {"trainable": trainable, "frozen": frozen, "total": trainable + frozen}


def choose_trainable(backbone, rank: int | None) -> None:
    """[fr] Décide ce que l'affinage peut changer : tout (rank à None), ou des adaptateurs LoRA de ce rang.
    [en] Decide what fine-tuning may change: everything (rank None), or LoRA adapters of that rank."""
    # BEGIN SOLUTION
    # [fr] TODO: pour l'affinage complet (rank vaut None), rendez tout le backbone entraînable (backbone.trainable).
    # [fr] Sinon demandez LoRA à KerasHub : backbone.enable_lora(rank=rank) gèle chaque poids et ajoute
    # [fr] les deux petites matrices entraînables à côté des projections query et value de chaque couche.
    # [en] TODO: for full fine-tuning (rank is None), make the whole backbone trainable (backbone.trainable).
    # [en] Otherwise ask KerasHub for LoRA: backbone.enable_lora(rank=rank) freezes every weight and adds
    # [en] the two small trainable matrices beside the query and value projections of each layer.
    if rank is None:
        backbone.trainable = True
    else:
        backbone.enable_lora(rank=rank)
    # END SOLUTION
