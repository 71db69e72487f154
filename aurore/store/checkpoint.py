"""Resumable training state in `model_dir/checkpoint/`, saved atomically.

A checkpoint holds what training needs to go on exactly where it stopped:
the model's weights, its tokenizer, the optimizer's variables (moments, step counter, hence
the learning-rate schedule's position) and a small JSON state (epoch, best
validation loss, metrics history, settings). The folder is replaced whole, so
a run killed with SIGKILL mid-save leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from aurore.errors import AuroreError
from aurore.store import atomic

DIRNAME = "checkpoint"
STATE_FILE = "state.json"
WEIGHTS_FILE = "model.weights.h5"
OPTIMIZER_FILE = "optimizer.npz"
TOKENIZER_DIR = "tokenizer"


def directory(model_dir) -> Path:
    return Path(model_dir) / DIRNAME


def exists(model_dir) -> bool:
    folder = directory(model_dir)
    return all((folder / name).is_file() for name in (STATE_FILE, WEIGHTS_FILE, OPTIMIZER_FILE))


def save(model_dir, model, optimizer, state: dict, tokenizer=None) -> None:
    """Write the whole checkpoint (and the tokenizer training uses) as one atomic folder swap."""
    with atomic.replace_dir(directory(model_dir)) as tmp:
        model.save_weights(str(tmp / WEIGHTS_FILE))
        if tokenizer is not None:
            tokenizer.save_pretrained(str(tmp / TOKENIZER_DIR))
        arrays = {f"v{i}": np.asarray(variable.numpy()) for i, variable in enumerate(optimizer.variables)}
        np.savez(tmp / OPTIMIZER_FILE, **arrays)
        (tmp / STATE_FILE).write_text(json.dumps(state, indent=1, default=str), encoding="utf-8")


def read_state(model_dir) -> dict:
    return json.loads((directory(model_dir) / STATE_FILE).read_text(encoding="utf-8"))


def restore(model_dir, model, optimizer) -> dict:
    """Load weights and optimizer variables into a built model; returns the state."""
    folder = directory(model_dir)
    try:
        model.load_weights(str(folder / WEIGHTS_FILE))
        optimizer.build(model.trainable_variables)
        with np.load(folder / OPTIMIZER_FILE) as arrays:
            values = [arrays[f"v{i}"] for i in range(len(arrays.files))]
        if len(values) != len(optimizer.variables):
            raise ValueError(f"{len(values)} optimizer arrays for {len(optimizer.variables)} variables")
        for variable, value in zip(optimizer.variables, values):
            variable.assign(value)
    except Exception as error:  # h5py/keras/numpy raise many kinds here
        raise AuroreError(f"The training checkpoint in {folder} cannot be restored ({error}). "
                          "Start afresh with `--restart`.") from error
    return read_state(model_dir)
