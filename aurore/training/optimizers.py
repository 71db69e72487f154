"""The optimizer a run asks for: the exercise's AdamW, or Keras' Muon on the same schedule.

Exercise 5 teaches AdamW; `--set optimizer=muon` (and the hyper-parameter
search) swaps in `keras.optimizers.Muon`, which orthogonalises the update of
each 2-D weight matrix (the MLP kernels of GPT-2) and keeps an AdamW step for
the rest: embeddings, biases, layer norms and the attention projections,
whose KerasHub kernels are 3-D. Its `rms_rate` scaling lets it take AdamW's
learning rate and weight decay, so the schedule, warm-up and clipping of the
exercise carry over unchanged.
"""

from __future__ import annotations

from aurore.errors import AuroreError

OPTIMIZERS = ("adamw", "muon")


def check(name: str) -> None:
    if name not in OPTIMIZERS:
        raise AuroreError(f"Unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZERS)} "
                          "(e.g. --set optimizer=muon).")


def chosen(optimizer, settings: dict):
    """`optimizer` (the exercise's AdamW) as is, or a Muon with its schedule, decay and clipping."""
    name = settings.get("optimizer", "adamw")
    check(name)
    if name == "adamw":
        return optimizer
    import keras

    muon = keras.optimizers.Muon(
        learning_rate=getattr(optimizer, "_learning_rate", optimizer.learning_rate),
        adam_beta_1=getattr(optimizer, "beta_1", 0.9), adam_beta_2=getattr(optimizer, "beta_2", 0.95),
        weight_decay=settings["weight_decay"], adam_weight_decay=settings["weight_decay"],
        clipnorm=optimizer.clipnorm)
    muon.exclude_from_weight_decay(var_names=["bias", "gamma", "beta", "embeddings"])
    return muon
