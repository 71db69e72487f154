"""A model directory: everything evaluation and generation need, in one folder.

Layout (self-contained, movable, bundle-able):
    aurore.json          {"format": 1, "backbone": GPT2Backbone config, "settings": {…}}
                         settings: preset, sequence_length, training settings…
    model.weights.h5     the backbone's weights (Keras `save_weights`)
    tokenizer/           the `transformers` tokenizer (`save_pretrained`)
    sentence_splitter.json  how the training corpus was cut into sentences (prompts are cut
                         the same way); absent in older models, which then cut by rule
    metrics.jsonl        one line per evaluation during training (written by training)
    checkpoint/          training state for resuming (written by training)

Files are replaced atomically, so a crash mid-save leaves the previous model.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from filelock import FileLock, Timeout

from aurore import progress
from aurore.errors import AuroreError
from aurore.store import atomic

CONFIG_FILE = "aurore.json"
WEIGHTS_FILE = "model.weights.h5"
TOKENIZER_DIR = "tokenizer"
SPLITTER_FILE = "sentence_splitter.json"
FORMAT = 1


@dataclass
class LoadedModel:
    path: Path
    backbone: Any            # keras_hub.models.GPT2Backbone
    tokenizer: Any           # transformers.PreTrainedTokenizerFast
    settings: dict = field(default_factory=dict)
    splitter: dict | None = None  # the corpus's sentence splitter parameters, if saved

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def max_length(self) -> int:
        return int(self.backbone.max_sequence_length)


@contextlib.contextmanager
def training_lock(model_dir: str | os.PathLike) -> Iterator[Path]:
    """Held while a training writes into `model_dir` (a lock file beside it).

    Two trainings of the same model would overwrite each other's checkpoints:
    the second one is refused with a clear message. The lock is the kernel's,
    so it is released when the process ends, even with kill -9.
    """
    model_dir = Path(model_dir)
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(model_dir.with_name(f".{model_dir.name}.training.lock")), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise AuroreError(f"Another training is already writing to {model_dir} (in another terminal or from "
                          "the workshop's page). Wait for it to end or stop it, or train another model with "
                          "--model.") from None
    try:
        yield model_dir
    finally:
        lock.release()


def recover(model_dir: str | os.PathLike) -> None:
    """Put back folders of the model whose swap a crash cut short (see `atomic.recover_dir`)."""
    from aurore.store import checkpoint

    model_dir = Path(model_dir)
    for folder in (model_dir, model_dir / TOKENIZER_DIR, checkpoint.directory(model_dir)):
        if atomic.recover_dir(folder):
            progress.log(f"Recovered {folder} (a save had been cut short).")


def is_model_dir(path: str | os.PathLike) -> bool:
    path = Path(path)
    return (path / CONFIG_FILE).is_file() and (path / WEIGHTS_FILE).is_file() and (path / TOKENIZER_DIR).is_dir()


def save_tokenizer(tokenizer, directory: str | os.PathLike) -> None:
    """`save_pretrained` into a temporary folder, then swap it in whole."""
    with atomic.replace_dir(directory) as tmp:
        tokenizer.save_pretrained(str(tmp))


def load_tokenizer(directory: str | os.PathLike):
    """Load with AutoTokenizer and refuse an empty tokenizer (a transformers 5 trap)."""
    from transformers import AutoTokenizer

    directory = Path(directory)
    if not directory.is_dir():
        raise AuroreError(f"No tokenizer in {directory}. Build one with `python -m aurore tokenizer`.")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(directory))
    except Exception as error:  # transformers raises many kinds here
        raise AuroreError(f"The tokenizer in {directory} cannot be loaded ({error}). "
                          "Rebuild it with `python -m aurore tokenizer`.") from error
    if not tokenizer("Bonjour Madame.")["input_ids"]:
        raise AuroreError(f"The tokenizer in {directory} is empty (it encodes text to no token). "
                          "Rebuild it with `python -m aurore tokenizer`.")
    return tokenizer


def save(model_dir: str | os.PathLike, backbone, tokenizer, settings: dict, splitter: dict | None = None) -> Path:
    """Weights, tokenizer and config, each replaced atomically; `splitter`: see SPLITTER_FILE."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    tmp_weights = model_dir / f".tmp-{os.getpid()}.{WEIGHTS_FILE}"
    backbone.save_weights(str(tmp_weights))
    os.replace(tmp_weights, model_dir / WEIGHTS_FILE)
    save_tokenizer(tokenizer, model_dir / TOKENIZER_DIR)
    if splitter is not None:
        atomic.write_text(model_dir / SPLITTER_FILE, json.dumps(splitter, ensure_ascii=False))
    config = {"format": FORMAT, "backbone": backbone.get_config(), "settings": settings}
    atomic.write_text(model_dir / CONFIG_FILE, json.dumps(config, indent=1, ensure_ascii=False, default=str))
    return model_dir


def read_config(model_dir: str | os.PathLike) -> dict:
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise AuroreError(f"No model directory at {model_dir}. Train one with `python -m aurore train`.")
    if not is_model_dir(model_dir):
        raise AuroreError(f"{model_dir} is not a complete model directory (it needs {CONFIG_FILE}, "
                          f"{WEIGHTS_FILE} and {TOKENIZER_DIR}/). Train one with `python -m aurore train`.")
    return json.loads((model_dir / CONFIG_FILE).read_text(encoding="utf-8"))


def load(model_dir: str | os.PathLike) -> LoadedModel:
    import keras_hub

    model_dir = Path(model_dir)
    config = read_config(model_dir)
    backbone_config = dict(config["backbone"])
    # A model trained in mixed precision (the gpu preset) saves that policy in
    # its config; evaluation and generation run in float32 wherever they are.
    backbone_config["dtype"] = "float32"
    backbone = keras_hub.models.GPT2Backbone.from_config(backbone_config)
    backbone.load_weights(str(model_dir / WEIGHTS_FILE))
    tokenizer = load_tokenizer(model_dir / TOKENIZER_DIR)
    return LoadedModel(model_dir, backbone, tokenizer, dict(config.get("settings", {})), read_splitter(model_dir))


def read_splitter(model_dir: str | os.PathLike) -> dict | None:
    """The sentence splitter's parameters saved with the model, or None (older models, unreadable file)."""
    try:
        return json.loads((Path(model_dir) / SPLITTER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def find_models(root: str | os.PathLike) -> list[Path]:
    """Every complete model directory directly under `root`, newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and is_model_dir(p)]
    return sorted(found, key=lambda p: (p / WEIGHTS_FILE).stat().st_mtime, reverse=True)


def copy(source: str | os.PathLike, destination: str | os.PathLike) -> None:
    """Copy a model directory (without training checkpoints) atomically."""
    with atomic.replace_dir(destination) as tmp:
        for name in (CONFIG_FILE, WEIGHTS_FILE):
            shutil.copy2(Path(source) / name, tmp / name)
        if (Path(source) / SPLITTER_FILE).is_file():
            shutil.copy2(Path(source) / SPLITTER_FILE, tmp / SPLITTER_FILE)
        shutil.copytree(Path(source) / TOKENIZER_DIR, tmp / TOKENIZER_DIR)
