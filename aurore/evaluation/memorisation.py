"""Does the model copy its books? The share of generated 8-word spans found verbatim in them.

A language model that writes a span of 8 words exactly as in a training
book has most likely learnt it by heart: ordinary prose rarely repeats 8
words in a row. Words are runs of letters and digits, compared in lower case
(so that punctuation and a capital at the start of a sentence do not hide a
copy). Each span of the training books is hashed to 64 bits (blake2b; a
false match is about one in 10^19 per span) and the sorted hashes are built
once per dataset and kept in the dataset folder (`shingles-8.npy`; a
re-prepared dataset replaces the folder, and the index with it). Checking a
text is then a binary search per span.
"""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path

import numpy as np

from aurore import paths
from aurore.store import atomic, saved_dataset

SPAN_WORDS = 8
INDEX_FILE = f"shingles-{SPAN_WORDS}.npy"
_WORD = re.compile(r"\w+")
_cache: dict[tuple, "MemorisationIndex"] = {}
_cache_lock = threading.Lock()


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _hash(span: list[str]) -> int:
    return int.from_bytes(hashlib.blake2b(" ".join(span).encode("utf-8"), digest_size=8).digest(), "little")


def span_hashes(word_list: list[str], size: int = SPAN_WORDS) -> np.ndarray:
    """The 64-bit hash of every `size`-word span, in order (empty when the text is shorter)."""
    count = max(len(word_list) - size + 1, 0)
    return np.fromiter((_hash(word_list[i:i + size]) for i in range(count)), dtype=np.uint64, count=count)


class MemorisationIndex:
    """The sorted, distinct span hashes of some books; `check(text)` says how much of a text they contain."""

    def __init__(self, hashes: np.ndarray, already_sorted: bool = False):
        hashes = np.asarray(hashes, dtype=np.uint64)
        self.hashes = hashes if already_sorted else np.unique(hashes)

    @classmethod
    def from_texts(cls, books: list[str]) -> "MemorisationIndex":
        parts = [span_hashes(words(book)) for book in books]
        return cls(np.concatenate(parts) if parts else np.zeros(0, np.uint64))

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        if not len(self.hashes):
            return np.zeros(len(hashes), bool)
        where = np.minimum(np.searchsorted(self.hashes, hashes), len(self.hashes) - 1)
        return self.hashes[where] == hashes

    def check(self, text: str, examples: int = 3) -> dict:
        """{"spans", "copied", "share" (None without a whole span), "examples": some copied spans}."""
        word_list = words(text)
        hashes = span_hashes(word_list)
        found = self.contains(hashes)
        copied = np.flatnonzero(found).tolist()
        shown, last = [], -SPAN_WORDS
        for i in copied:                      # non-overlapping examples, in reading order
            if len(shown) >= examples:
                break
            if i >= last + SPAN_WORDS:
                shown.append(" ".join(word_list[i:i + SPAN_WORDS]))
                last = i
        return {"span_words": SPAN_WORDS, "spans": int(len(hashes)), "copied": len(copied),
                "share": (len(copied) / len(hashes)) if len(hashes) else None, "examples": shown}


def _training_books(dataset_dir: Path) -> list[str]:
    """The training split as one text per book, sentences in order (spans may cross sentences)."""
    columns = saved_dataset.load(dataset_dir)["train"].to_dict()
    books: dict[int, list[str]] = {}
    for text, book in zip(columns["text"], columns["book"]):
        books.setdefault(int(book), []).append(text)
    return [" ".join(sentences) for sentences in books.values()]


def index_for(dataset_dir=None) -> MemorisationIndex:
    """The index of a dataset's training books: from memory, else from its file, else built (and saved)."""
    folder = Path(dataset_dir or paths.dataset_dir())
    marker = folder / "dataset_dict.json"
    try:
        key = (str(folder.resolve()), marker.stat().st_mtime_ns)
    except OSError:
        saved_dataset.load(folder)       # raises the clear "no prepared dataset" error
        raise
    with _cache_lock:
        if key in _cache:
            return _cache[key]
        path = folder / INDEX_FILE
        try:
            index = MemorisationIndex(np.load(path, allow_pickle=False), already_sorted=True)
        except (OSError, ValueError):
            index = MemorisationIndex.from_texts(_training_books(folder))
            try:
                atomic.write_bytes(path, _npy_bytes(index.hashes))
            except OSError:   # a read-only dataset folder: the index still works, it is only not kept
                pass
        _cache.clear()                   # one dataset at a time: the index of an old one is dead weight
        _cache[key] = index
        return index


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()
