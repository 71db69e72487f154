"""Markdown to HTML for the learners' reading: lessons, hints and course pages, one configuration, so they look alike."""

from __future__ import annotations

import markdown
from markupsafe import Markup


def markdown_html(text: str) -> Markup:
    """Tables, fenced code highlighted by Pygments (`static/pygments.css`), nothing guessed."""
    return Markup(markdown.markdown(text, extensions=["fenced_code", "tables", "codehilite"],
                                    extension_configs={"codehilite": {"css_class": "highlight",
                                                                      "guess_lang": False}}))
