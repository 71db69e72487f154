"""Where Aurore keeps its data, in one place.

Everything generated (book cache, dataset, tokenizer, models, learner
progress) lives under one data folder, `./data` by default, moved with the
AURORE_DATA environment variable. The book cache can be moved on its own with
AURORE_CACHE (a shared, read-mostly folder in a classroom). The web app
has its own data folder (its DATA_DIR): it passes it, `dataset_dir(data)`,
rather than rebuilding the folders by hand.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The repository root: solutions/, exercises/, tests/ sit here.
ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    return Path(os.environ.get("AURORE_DATA", ROOT / "data"))


def cache_dir() -> Path:
    """Downloaded raw books, one `<id>.txt` per Gutenberg ebook."""
    return Path(os.environ.get("AURORE_CACHE", data_dir() / "cache" / "books"))


def dataset_dir(data: str | Path | None = None) -> Path:
    """The prepared dataset, in `data` (a server's DATA_DIR) or else the data folder."""
    return Path(data or data_dir()) / "dataset"


def tokenizer_dir(data: str | Path | None = None) -> Path:
    return Path(data or data_dir()) / "tokenizer"


def code_dataset_dir() -> Path:
    """The Python code corpus of the bonus exercise 9 (standard library files, split by file)."""
    return data_dir() / "dataset-code"


def code_tokenizer_dir() -> Path:
    return data_dir() / "tokenizer-code"


def models_dir(data: str | Path | None = None) -> Path:
    return Path(data or data_dir()) / "models"


#: A model trained with the learner's own code sits beside the reference: models/cpu-mine next to models/cpu.
MINE_SUFFIX = "-mine"


def model_dir(preset: str, variant: str = "solution") -> Path:
    """The folder of the model a preset trains: the reference's (`--use solution`) or the learner's."""
    return models_dir() / (preset + (MINE_SUFFIX if variant == "exercise" else ""))


def nltk_dir() -> Path:
    """NLTK_DATA folder holding the Punkt parameters Aurore trains itself."""
    return data_dir() / "nltk_data"


def solutions_dir() -> Path:
    return ROOT / "solutions"


def exercises_dir() -> Path:
    return Path(os.environ.get("AURORE_EXERCISES", ROOT / "exercises"))
