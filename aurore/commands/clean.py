"""`python -m aurore clean`: one raw Gutenberg book in, its clean paragraphs shown (exercise 1's step).

The `prepare` step cleans every book the same way; this one shows a single
book's cleaning, so a learner sees what exercise 1's code kept and cut.
"""

from __future__ import annotations

import argparse
import os

from aurore import progress
from aurore.commands import add_variant_option
from aurore.corpus import catalogue, download
from aurore.course import exercises
from aurore.errors import AuroreError
from aurore.messages import gettext, number

#: How many paragraphs of the story's beginning the step shows.
SHOWN = 3


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "clean", help="clean one Gutenberg book and show what is kept",
        description="Read one book (downloaded once, then cached), strip the Gutenberg licence and credits, "
                    "join its lines into paragraphs, and show the first ones.")
    parser.add_argument("--book", metavar="ID", help=f"the book (default: {catalogue.test_title()})")
    parser.add_argument("--source", metavar="DIR", help="read <id>.txt files from this folder (env AURORE_SOURCE)")
    add_variant_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    book_id = download.check_book_id(args.book) if args.book is not None else catalogue.test_id()
    source = args.source or os.environ.get("AURORE_SOURCE")
    if source:
        download.check_source(source)
    cleaning = exercises.rules("clean", args.use)
    fetched = download.fetch(book_id, source=source)
    paragraphs = cleaning.clean_book(fetched.text)
    if not isinstance(paragraphs, list) or not all(isinstance(p, str) for p in paragraphs):
        raise AuroreError(f"Exercise {cleaning.exercise.number}: `clean_book` must return a list of texts (str), "
                          f"not {type(paragraphs).__name__}. Check it with "
                          f"`python -m aurore check {cleaning.exercise.number}`.")
    kept = sum(len(paragraph) for paragraph in paragraphs)
    progress.log(gettext("%(title)s (%(book)s): %(characters)s characters in the file, %(kept)s kept in "
                         "%(paragraphs)s paragraphs.", title=catalogue.title(book_id), book=book_id,
                         characters=number(len(fetched.text), 0), kept=number(kept, 0),
                         paragraphs=number(len(paragraphs), 0)))
    for paragraph in paragraphs[:SHOWN]:
        progress.log(f"  « {paragraph[:300]}{'…' if len(paragraph) > 300 else ''} »")
    progress.event("cleaned", book=book_id, characters=len(fetched.text), kept=kept, paragraphs=len(paragraphs))
    return 0
