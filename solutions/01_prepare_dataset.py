"""Exercise 1 — Prepare the George Sand corpus.

From raw Project Gutenberg files to a dataset of sentences, step by step:

1. each book's raw text is fetched (downloaded once, then read from the cache);
2. `strip_gutenberg`: keep the story, between the licence's START and END markers;
3. `to_paragraphs`: join the hard-wrapped lines into paragraphs;
4. `remove_credits`: drop the production credits and edition notes;
5. `split_sentences`: cut paragraphs into sentences (NLTK's Punkt), skipping headings;
6. `count_words` and `MIN_WORDS`: drop fragments too short to teach anything;
7. `build_dataset`: train / validation / test splits, saved to disk.

The plumbing (HTTP retries, cache, encoding detection, learning Punkt, atomic
save, the patterns of Gutenberg's markers) lives in the `aurore` package:
`aurore/corpus/preparation.py` calls these functions in that order. This file is
the recipe.
"""

from __future__ import annotations

import re

from datasets import Dataset, DatasetDict, Features, Value

from aurore import progress
from aurore.corpus import gutenberg

# BEGIN SOLUTION
# TODO: how many words must a sentence have to be kept? Give a small whole number.
# STUB: MIN_WORDS = None
MIN_WORDS = 4
# END SOLUTION

#: Share of the training books' sentences kept aside to measure progress.
VALIDATION_SHARE = 0.05
#: The same seed gives the same validation sentences, run after run.
SEED = 1234

FEATURES = Features({"text": Value("string"), "book": Value("int64")})


def strip_gutenberg(text: str) -> str:
    """The story alone: what lies between the licence's START and END markers."""
    text = gutenberg.normalise(text)  # Unix newlines, no byte-order marks
    # BEGIN SOLUTION
    # TODO: find the START marker with gutenberg.START_MARKER.search(text),
    # TODO: then the END marker *after* it with gutenberg.END_MARKER.search(text, position),
    # TODO: and return the text between the end of one and the start of the other.
    # TODO: If a marker is missing, warn (progress.log) and use gutenberg.best_effort_bounds(text).
    start = gutenberg.START_MARKER.search(text)
    end = gutenberg.END_MARKER.search(text, start.end() if start else 0)
    if start is None or end is None:
        progress.log("warning: no Project Gutenberg START/END marker found; "
                     "the licence text was cut on a best-effort guess.")
        first, last = gutenberg.best_effort_bounds(text)
        return text[start.end() if start else first:end.start() if end else last]
    return text[start.end():end.start()]
    # END SOLUTION


def to_paragraphs(text: str) -> list[str]:
    """One string per paragraph: wrapped lines joined, italics underscores dropped."""
    paragraphs = []
    # BEGIN SOLUTION
    # TODO: paragraphs are separated by blank lines: re.split(r"\n\s*\n", text).
    # TODO: In each one, join the lines with spaces, remove the "_" marking italics,
    # TODO: squeeze runs of spaces into one, and skip empty paragraphs.
    # TODO: A word cut after its hyphen at a line end ("vingt-" / "huit") is joined without a space.
    # TODO: A heading line ("II", "CHAPITRE III") glued above the text becomes its own paragraph.
    for block in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        if len(lines) > 1 and gutenberg.HEADING.fullmatch(lines[0]):
            paragraphs.append(lines.pop(0))
        joined = re.sub(r"(?<=[^\W\d_])-\n", "-", "\n".join(lines))
        paragraph = joined.replace("\n", " ").replace("_", "")
        paragraph = re.sub(r"[ \t]+", " ", paragraph).strip()
        if paragraph:
            paragraphs.append(paragraph)
    # END SOLUTION
    return paragraphs


def remove_credits(paragraphs: list[str]) -> list[str]:
    """Drop the paragraphs that are production credits or edition notes."""
    # BEGIN SOLUTION
    # TODO: keep only the paragraphs in which gutenberg.CREDITS finds nothing (.search).
    return [paragraph for paragraph in paragraphs if not gutenberg.CREDITS.search(paragraph)]
    # END SOLUTION


def clean_book(raw_text: str) -> list[str]:
    """A raw Gutenberg file in, the story's paragraphs out."""
    return remove_credits(to_paragraphs(strip_gutenberg(raw_text)))


def is_heading(paragraph: str) -> bool:
    """A chapter heading ("II", "CHAPITRE III", "IV La Guillette") or a title in capitals, not prose."""
    return (bool(gutenberg.HEADING.fullmatch(paragraph) or gutenberg.NUMBERED_TITLE.fullmatch(paragraph))
            or paragraph.upper() == paragraph)


def split_sentences(paragraphs: list[str], splitter) -> list[str]:
    """All the sentences of the paragraphs, in order; headings are left out."""
    found = []
    # BEGIN SOLUTION
    # TODO: for each paragraph that is not a heading (is_heading),
    # TODO: add the sentences splitter(paragraph) returns to the list.
    for paragraph in paragraphs:
        if not is_heading(paragraph):
            found.extend(splitter(paragraph))
    # END SOLUTION
    return found


def count_words(sentence: str) -> int:
    """Words that hold at least one letter ("*", "—" or "1846." do not count)."""
    # BEGIN SOLUTION
    # TODO: split on spaces, count the pieces with a letter in them (str.isalpha on a character).
    return sum(any(char.isalpha() for char in word) for word in sentence.split())
    # END SOLUTION


def keep_sentence(sentence: str, min_words: int | None = None) -> bool:
    """Is this fragment long enough to be worth learning from?"""
    min_words = MIN_WORDS if min_words is None else min_words
    return count_words(sentence) >= min_words


def build_dataset(train_books: dict[int, list[str]], test_books: dict[int, list[str]],
                  validation_share: float = VALIDATION_SHARE, seed: int = SEED) -> DatasetDict:
    """Splits `train`, `validation` (a seeded share of the training sentences), `test`.

    `train_books` and `test_books` map a Gutenberg id to its sentences. The test
    book is never seen in training: it tells how well the model generalises.
    """
    # BEGIN SOLUTION
    # TODO: make a Dataset with columns "text" and "book" from the training books
    # TODO: (Dataset.from_dict({...}, features=FEATURES)), cut it with
    # TODO: .train_test_split(test_size=validation_share, seed=seed): its "test" part is our validation;
    # TODO: make the test Dataset from test_books the same way, and return a DatasetDict of the three.
    def rows(books: dict[int, list[str]]) -> dict[str, list]:
        return {"text": [s for sents in books.values() for s in sents],
                "book": [book for book, sents in books.items() for _ in sents]}

    training = Dataset.from_dict(rows(train_books), features=FEATURES)
    parts = training.train_test_split(test_size=validation_share, seed=seed)
    test = Dataset.from_dict(rows(test_books), features=FEATURES)
    return DatasetDict(train=parts["train"], validation=parts["test"], test=test)
    # END SOLUTION
