"""`python -m aurore prepare`: books in, sentence dataset out (exercise 2's step, with exercise 1's cleaning)."""

from __future__ import annotations

import argparse
import os
import time

from aurore import progress
from aurore.commands import add_variant_option
from aurore.corpus import catalogue, download, preparation
from aurore.course import exercises
from aurore.errors import AuroreError
from aurore.messages import gettext, number
from aurore.store import saved_dataset


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "prepare", help="download, clean and split the books into a sentence dataset",
        description="Download (or read) the books, strip the Gutenberg licence, split into sentences, "
                    "and save train/validation/test splits.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--source", metavar="DIR", help="read <id>.txt files from this folder (env AURORE_SOURCE)")
    where.add_argument("--mirror", metavar="URL",
                       help=f"download from this mirror (env AURORE_MIRROR; default {download.DEFAULT_MIRROR})")
    parser.add_argument("--books", metavar="ID,ID,…", help="training books (default: the workshop's)")
    parser.add_argument("--test-book", metavar="ID", help=f"held-out test book (default: {catalogue.test_title()})")
    parser.add_argument("--min-words", metavar="N", help="drop fragments shorter than N words")
    parser.add_argument("--out", metavar="DIR", help="dataset folder (default: data/dataset)")
    add_variant_option(parser)
    parser.set_defaults(handler=run)


def parse_books(text: str) -> list[int]:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise AuroreError("--books is empty: give Gutenberg ids separated by commas, e.g. --books 39738,34204.")
    ids = [download.check_book_id(part) for part in parts]
    if len(set(ids)) != len(ids):
        raise AuroreError(f"--books lists a book twice: {text}.")
    return ids


def parse_min_words(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.strip().isdigit() or not 1 <= int(text) <= 100:
        raise AuroreError(f"--min-words must be a whole number from 1 to 100, not {text!r}.")
    return int(text)


def run(args: argparse.Namespace) -> int:
    books = parse_books(args.books) if args.books is not None else catalogue.training_ids()
    test_book = download.check_book_id(args.test_book) if args.test_book is not None else catalogue.test_id()
    preparation.check_held_out(books, test_book)   # before any download: a quick answer
    min_words = parse_min_words(args.min_words)
    source = args.source or (None if args.mirror else os.environ.get("AURORE_SOURCE"))
    if source:
        download.check_source(source)
    mirror = download.check_mirror(args.mirror) if args.mirror else None
    if args.out is not None and os.path.exists(args.out) and not os.path.isdir(args.out):
        raise AuroreError(f"--out {args.out} is a file: give a folder for the dataset.")

    started = time.monotonic()
    cleaning, recipe = exercises.rules("clean", args.use), exercises.rules("prepare", args.use)
    out, stats = preparation.prepare(cleaning, recipe, book_ids=books, test_book=test_book, source=source,
                                     mirror=mirror, min_words=min_words, out=args.out)
    progress.log(saved_dataset.format_stats(stats))
    progress.event("dataset", path=str(out), stats=stats)
    progress.log(gettext("Dataset saved in %(path)s (%(seconds)s s).", path=out,
                         seconds=number(time.monotonic() - started, 1)))
    return 0
