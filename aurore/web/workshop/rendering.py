"""Markdown to HTML for the learners' reading: lessons, hints and course pages, one configuration, so they look alike."""

from __future__ import annotations

import markdown
from markupsafe import Markup

from aurore.course import figures


def markdown_html(text: str, lang: str = "fr") -> Markup:
    """Tables, fenced code highlighted by Pygments (`static/pygments.css`), nothing guessed.

    Measured figures named `{{key}}` come from course/figures.json, written as `lang` writes numbers.
    """
    return Markup(markdown.markdown(figures.render(text, lang), extensions=["fenced_code", "tables", "codehilite"],
                                    extension_configs={"codehilite": {"css_class": "highlight",
                                                                      "guess_lang": False}}))
