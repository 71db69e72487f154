"""Exercise 2 — From paragraphs to a dataset of sentences.

Exercise 1 turned each book into clean paragraphs. Here they become the
dataset the model learns from:

1. `split_sentences`: cut the paragraphs into sentences, skipping headings
   (`splitter` is NLTK's Punkt, learned on our books: call `splitter(paragraph)`,
   it returns a list of sentences);
2. `count_words` and `MIN_WORDS`: drop fragments too short to teach anything;
3. `build_dataset`: the train / validation / test splits (`datasets` library).

The plumbing (fetching the books, learning Punkt, the atomic save) lives in
the `aurore` package: `aurore/corpus/preparation.py` calls exercise 1's
`clean_book`, then these functions, in that order.
Run it: `python -m aurore prepare --use exercise`.
"""

from __future__ import annotations

from datasets import Dataset, DatasetDict, Features, Value

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
