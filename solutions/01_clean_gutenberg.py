"""Exercise 1 — Clean a Project Gutenberg file.

A raw Gutenberg file holds much more than the novel: an English header, the
licence, production credits, and the story hard-wrapped at about 70
characters. Three functions turn it into the story's paragraphs:

1. `strip_gutenberg`: keep the story, between the licence's START and END markers;
2. `to_paragraphs`: join the hard-wrapped lines into paragraphs;
3. `remove_credits`: drop the production credits and edition notes.

`clean_book` chains them: a raw file in, the story's paragraphs out.
The patterns of Gutenberg's markers, credits and headings are given in
`aurore/corpus/gutenberg.py`: `gutenberg.START_MARKER`, `gutenberg.END_MARKER`,
`gutenberg.CREDITS`, `gutenberg.HEADING` (compiled regular expressions), and
`gutenberg.best_effort_bounds(text)`, which returns `(start, end)`, the
positions where the story probably starts and ends when a marker is missing.
Try it: `python -m aurore clean --use exercise`; exercise 2 cuts these
paragraphs into sentences.
"""

from __future__ import annotations

import re

from aurore import progress
from aurore.corpus import gutenberg


def strip_gutenberg(text: str) -> str:
    """The story alone: what lies between the licence's START and END markers."""
    text = gutenberg.normalise(text)  # Unix newlines, no byte-order marks
    # BEGIN SOLUTION
    # TODO: find the START marker with gutenberg.START_MARKER.search(text),
    # TODO: then the END marker *after* it with gutenberg.END_MARKER.search(text, position),
    # TODO: and return the text between the end of one (match.end()) and the start of the other (match.start()).
    # TODO: If a marker is missing (search returns None), warn with progress.log("…") and use
    # gutenberg.best_effort_bounds(text), which returns (start, end): the positions to cut at.
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
    # TODO: paragraphs are separated by blank lines: re.split(r"\n\s*\n", text) gives the blocks.
    # TODO: In each block, join the lines with spaces, remove the "_" marking italics,
    # TODO: squeeze runs of spaces into one, and skip empty paragraphs.
    # TODO: A word cut after its hyphen at a line end ("vingt-" / "huit") is joined without a space.
    # TODO: A heading line ("II", "CHAPITRE III": gutenberg.HEADING.fullmatch(line) is not None)
    # glued above the text becomes its own paragraph.
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
    # TODO: keep only the paragraphs in which gutenberg.CREDITS.search(paragraph) finds nothing (None).
    return [paragraph for paragraph in paragraphs if not gutenberg.CREDITS.search(paragraph)]
    # END SOLUTION


def clean_book(raw_text: str) -> list[str]:
    """A raw Gutenberg file in, the story's paragraphs out."""
    return remove_credits(to_paragraphs(strip_gutenberg(raw_text)))
