"""The preparation step: books → cleaned paragraphs → sentences → dataset on disk.

The teaching parts (cleaning a book, cutting sentences, which ones to keep,
the splits) come from exercise 1's module; this file is the plumbing around
them: fetching each book, warning about a book not in French, learning
where sentences end (NLTK Punkt), progress, and the atomic save.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from aurore import paths, progress
from aurore.corpus import catalogue, download, gutenberg, sentences
from aurore.errors import AuroreError
from aurore.store import saved_dataset

FRENCH = ("french", "français", "francais")


def check_held_out(book_ids: list[int], test_book: int) -> None:
    """The test book measures what the model never read: it must not be a training book."""
    if test_book in book_ids:
        raise AuroreError(f"Book {test_book} is both a training book (--books) and the test book (--test-book): "
                          "the test book must be held out. Choose another --test-book, or leave it out of --books.")


def prepare(module: ModuleType, book_ids: list[int] | None = None, test_book: int | None = None,
            source: str | None = None, mirror: str | None = None, min_words: int | None = None,
            out: str | Path | None = None, cache_splitter: bool = True) -> tuple[Path, dict]:
    """The whole step, with the exercise's functions: books in, dataset on disk out.

    Returns the dataset's folder and its statistics. `cache_splitter=False`
    learns Punkt again instead of keeping it in the data folder (tests).
    """
    book_ids = list(book_ids or catalogue.training_ids())
    test_book = test_book or catalogue.test_id()
    check_held_out(book_ids, test_book)

    paragraphs: dict[int, list[str]] = {}
    with progress.task("Books", total=len(book_ids) + 1, unit="book") as task:
        for book_id in [*book_ids, test_book]:
            fetched = download.fetch(book_id, source=source, mirror=mirror)
            language = gutenberg.declared_language(fetched.text)
            if language and language.lower() not in FRENCH:
                progress.log(f"warning: book {book_id} ({catalogue.title(book_id)}) declares "
                             f"Language: {language}; the corpus is meant to be French (leave it out with --books).")
            paragraphs[book_id] = module.clean_book(fetched.text)
            task.update(1, book=str(book_id), origin=fetched.origin)
    empty = [book for book, found in paragraphs.items() if not found]
    if empty:
        raise AuroreError(f"No text left in book(s) {empty} after cleaning: is it really a Gutenberg book?")

    progress.log("Learning where French sentences end (NLTK Punkt, trained on the training books)…")
    training_text = "\n\n".join(p for book in book_ids for p in paragraphs[book])
    splitter = sentences.french_splitter(training_text, paths.nltk_dir() if cache_splitter else None)

    kept: dict[int, list[str]] = {}
    with progress.task("Sentences", total=len(paragraphs), unit="book") as task:
        for book_id, book_paragraphs in paragraphs.items():
            kept[book_id] = [s for s in module.split_sentences(book_paragraphs, splitter)
                             if module.keep_sentence(s, min_words)]
            task.update(1, book=str(book_id), sentences=len(kept[book_id]))

    try:
        dataset = module.build_dataset({b: kept[b] for b in book_ids}, {test_book: kept[test_book]})
    except ValueError as error:  # e.g. too few sentences for a validation split
        raise AuroreError(f"Cannot build the dataset: {error}. Use more books or a smaller --min-words.") from None
    return saved_dataset.save(dataset, out, title=catalogue.title,
                              splitter=sentences.parameters_to_json(splitter.params))
