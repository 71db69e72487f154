"""What a general-purpose compressor achieves on the test book: the bar a language model must clear.

xz (LZMA) is given the training books first, then the test book; the extra
compressed size, in bits, divided by the test book's characters, is its bits
per character "knowing the training books", the same unit as
`aurore.evaluation.scoring` (each sentence plus one separator character, as a newline
in a text file). Compressing millions of characters takes seconds, so the
figure is computed once per dataset and kept in the dataset folder
(`baselines.json`; a re-prepared dataset replaces the folder, and the cache
with it).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

from aurore import paths
from aurore.store import atomic, saved_dataset

CACHE_FILE = "baselines.json"
#: Said wherever the figure is shown, so a reader knows where it comes from.
XZ_SOURCE = "xz (default settings) on the test split, after the training split, on this dataset"


def _text(sentences) -> str:
    return "".join(f"{sentence}\n" for sentence in sentences if sentence)


def xz_bits_per_character(rules: ModuleType, train_sentences, test_sentences) -> float:
    """Bits per character of xz on the test sentences, given the training sentences first.

    One formula for the whole product: exercise 7's `xz_bits_per_character`,
    from `rules` (the caller passes the reference solution's module).
    """
    test = _text(test_sentences)
    if not test:
        raise ValueError("the test text is empty")
    return float(rules.xz_bits_per_character(test, _text(train_sentences)))


def cached(dataset_dir=None, split: str = "test") -> dict | None:
    """The figure if it was computed already (a page must not wait for xz), else None."""
    try:
        return json.loads((Path(dataset_dir or paths.dataset_dir()) / CACHE_FILE).read_text(encoding="utf-8"))[split]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def xz_baseline(rules: ModuleType, dataset_dir=None, split: str = "test") -> dict:
    """{"xz_bits_per_character", "split", "source"}, computed once per dataset (then read back).

    `rules`: exercise 7's reference module (`aurore.course.exercises.rules("evaluate")`):
    the figure is kept for everyone who uses the dataset.
    """
    folder = Path(dataset_dir or paths.dataset_dir())
    cache = folder / CACHE_FILE
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cached = {}
    if split in cached:
        return cached[split]
    data = saved_dataset.load(folder)
    figure = {"xz_bits_per_character": round(xz_bits_per_character(rules, data["train"]["text"], data[split]["text"]), 4),
              "split": split, "source": XZ_SOURCE}
    try:
        atomic.write_text(cache, json.dumps({**cached, split: figure}, indent=1))
    except OSError:  # a read-only dataset folder: the figure is still right, only not kept
        pass
    return figure
