"""The workshop's book catalogue, read from `books.csv` beside this file.

One row per book: Gutenberg ebook id, title, role (`train`, `test` or
`extra`). Any other Gutenberg id can still be prepared; it simply has no title
here.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from aurore.store import saved_dataset

CATALOGUE_FILE = Path(__file__).with_name("books.csv")


@dataclass(frozen=True)
class Book:
    id: int
    title: str
    role: str


@lru_cache(maxsize=1)
def books() -> tuple[Book, ...]:
    with CATALOGUE_FILE.open(encoding="utf-8", newline="") as handle:
        return tuple(Book(int(row["id"]), row["title"], row["role"]) for row in csv.DictReader(handle))


def training_ids() -> list[int]:
    return [book.id for book in books() if book.role == "train"]


def test_id() -> int:
    return next(book.id for book in books() if book.role == "test")


def test_title() -> str:
    """The held-out test book's title, as messages and tables name it."""
    return title(test_id())


def title(book_id: int) -> str:
    """The catalogue title, or a neutral label for books outside it."""
    for book in books():
        if book.id == book_id:
            return book.title
    return saved_dataset.untitled(book_id)
