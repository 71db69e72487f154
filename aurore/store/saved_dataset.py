"""The prepared dataset on disk: statistics, atomic save, checked load.

The dataset is a `datasets.DatasetDict` with splits `train`, `validation`
and `test`, columns `text` (one sentence) and `book` (Gutenberg id), saved
with `save_to_disk` together with `stats.json` (sentences, words and
characters per split and per book). The tokenizer and training steps load it
back with `load`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

from aurore import paths
from aurore.errors import AuroreError
from aurore.store import atomic

SPLITS = ("train", "validation", "test")
COLUMNS = ("text", "book")
STATS_FILE = "stats.json"
#: How the corpus was cut into sentences (the splitter's own parameters, opaque here):
#: training carries it into the model folder, so prompts are cut the same way.
SPLITTER_FILE = "sentence_splitter.json"


def _count(texts: list[str]) -> dict[str, int]:
    return {"sentences": len(texts), "words": sum(len(t.split()) for t in texts),
            "characters": sum(len(t) for t in texts)}


def untitled(book_id: int) -> str:
    """A neutral label for a book whose title the caller did not give."""
    return f"Gutenberg #{book_id}"


def compute_stats(dataset, title: Callable[[int], str] = untitled) -> dict:
    """Sentences, words and characters per split, and per book inside each split.

    `title` names a book (the corpus passes its catalogue's: the store knows no books).
    """
    stats: dict = {"splits": {}, "books": {}}
    for split in dataset:
        columns = dataset[split].to_dict()  # whole columns at once: row iteration is slow
        texts, books = columns["text"], columns["book"]
        stats["splits"][split] = _count(texts)
        by_book: dict[int, list[str]] = {}
        for text, book in zip(texts, books):
            by_book.setdefault(int(book), []).append(text)
        for book, book_texts in sorted(by_book.items()):
            stats["books"][f"{split}/{book}"] = {"split": split, "book": book,
                                                 "title": title(book), **_count(book_texts)}
    return stats


def format_stats(stats: dict) -> str:
    """The statistics as a plain-text table, one row per split and per book."""
    rows = [("", "sentences", "words", "characters")]
    for split, counts in stats["splits"].items():
        rows.append((split, *(f"{counts[k]:,}" for k in ("sentences", "words", "characters"))))
        for entry in stats["books"].values():
            if entry["split"] == split:
                label = f"  {entry['book']} {entry['title']}"[:44]
                rows.append((label, *(f"{entry[k]:,}" for k in ("sentences", "words", "characters"))))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(
        "  ".join([row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])])
        for row in rows
    )


def save(dataset, out_dir: str | os.PathLike | None = None,
         title: Callable[[int], str] = untitled, splitter: dict | None = None) -> tuple[Path, dict]:
    """Save the DatasetDict and its `stats.json`, replacing any previous one whole.

    `splitter`: the parameters of the sentence splitter that cut the corpus, kept beside it.
    """
    out = Path(out_dir or paths.dataset_dir())
    missing = [split for split in SPLITS if split not in dataset]
    if missing:
        raise ValueError(f"the dataset lacks the split(s) {missing}")
    stats = compute_stats(dataset, title)
    from datasets.utils import logging as datasets_logging

    with atomic.replace_dir(out) as tmp:
        datasets_logging.disable_progress_bar()  # our own progress reporting is enough
        dataset.save_to_disk(str(tmp))
        atomic.write_text(tmp / STATS_FILE, json.dumps(stats, ensure_ascii=False, indent=1))
        if splitter is not None:
            atomic.write_text(tmp / SPLITTER_FILE, json.dumps(splitter, ensure_ascii=False))
    return out, stats


def load(path: str | os.PathLike | None = None, command: str = "python -m aurore prepare"):
    """The saved DatasetDict, or a clear error saying how to make one (`command`)."""
    from datasets import DatasetDict, load_from_disk

    path = Path(path or paths.dataset_dir())
    if not (path / "dataset_dict.json").is_file():
        raise AuroreError(f"No prepared dataset in {path}: run `{command}` first "
                          "(or give the folder it wrote).")
    try:
        dataset = load_from_disk(str(path))
    except Exception as error:  # a damaged folder: say so, do not show a traceback
        raise AuroreError(f"The dataset in {path} cannot be read ({error}): prepare it again "
                          f"with `{command}`.") from None
    if not isinstance(dataset, DatasetDict) or any(s not in dataset for s in SPLITS):
        raise AuroreError(f"{path} is not a prepared Aurore dataset (splits {', '.join(SPLITS)} expected): "
                          f"prepare it again with `{command}`.")
    return dataset


def load_stats(path: str | os.PathLike | None = None) -> dict | None:
    return _read_json(Path(path or paths.dataset_dir()) / STATS_FILE)


def load_splitter(path: str | os.PathLike | None = None) -> dict | None:
    """The sentence splitter's parameters saved with the dataset, or None (an older dataset)."""
    return _read_json(Path(path or paths.dataset_dir()) / SPLITTER_FILE)


def _read_json(path: Path) -> dict | None:
    """A JSON file beside the dataset, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
