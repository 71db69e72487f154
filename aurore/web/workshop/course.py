"""The course pages around the exercises: the agenda's presentation and conclusion.

Each page is Markdown in `course/<page>.<lang>.md` (French first, English
available), rendered as the lessons are; its first line, `# Title`, is the
page's title. The workshop serves them at `/course/<page>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from markupsafe import Markup

from aurore import paths
from aurore.course.exercises import LANGS
from aurore.errors import AuroreError
from aurore.web.workshop.rendering import markdown_html

COURSE_DIR = paths.ROOT / "course"
PAGES = ("presentation", "conclusion")


@dataclass(frozen=True)
class CoursePage:
    slug: str
    title: str
    html: Markup


@lru_cache(maxsize=8)
def page(slug: str, lang: str) -> CoursePage:
    """The page in that language; an unknown name is refused (no path games)."""
    if slug not in PAGES:
        raise AuroreError(f"No course page {slug!r}: the pages are {', '.join(PAGES)}.")
    lang = lang if lang in LANGS else "fr"
    text = (COURSE_DIR / f"{slug}.{lang}.md").read_text(encoding="utf-8")
    first, _, body = text.partition("\n")
    if not first.startswith("# "):
        raise AuroreError(f"course/{slug}.{lang}.md must start with its title, a `# …` line.")
    return CoursePage(slug=slug, title=first[2:].strip(), html=markdown_html(body, lang))
