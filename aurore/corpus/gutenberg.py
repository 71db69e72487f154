"""What Project Gutenberg's plain-text files look like, as patterns.

The *procedure* of cleaning a book (cut, drop credits, join lines) is taught
in exercise 1 (`solutions/01_clean_gutenberg.py`); this module holds the
*knowledge* it relies on: every form the licence markers, the production
credits and the closing line take in real files, gathered in one place so
the patterns can be tested against all of them.
"""

from __future__ import annotations

import re
import unicodedata

# "*** START OF THIS PROJECT GUTENBERG EBOOK LÉLIA ***", "*** START OF THE …",
# "***START OF THE … DIABLE***", a title wrapped onto a second line, a marker
# without the closing stars, and the 1990s "*END*THE SMALL PRINT!" line.
START_MARKER = re.compile(
    r"^[ \t]*\*{3}[ \t]*START OF (?:THIS |THE )?PROJECT GUTENBERG E-?BOOK"
    r"(?:[^*\n]*\n?[^*\n]*\*{3}|[^\n]*)[^\n]*$"
    r"|^[ \t]*\*END\*[ \t]*THE SMALL PRINT![^\n]*$",
    re.IGNORECASE | re.MULTILINE,
)

# "*** END OF THIS|THE PROJECT GUTENBERG EBOOK … ***" (with or without spaces),
# and the closing line that comes just before it (or alone, in old files):
# "End of the Project Gutenberg EBook of …", "End of Project Gutenberg's …".
END_MARKER = re.compile(
    r"^[ \t]*\*{3}[ \t]*END OF (?:THIS |THE )?PROJECT GUTENBERG E-?BOOK"
    r"|^[ \t]*End of (?:the |this )?Project Gutenberg",
    re.IGNORECASE | re.MULTILINE,
)

# A paragraph that is production credits or an edition note, not the story:
# it starts like one ("Produced by", a transcriber's note, an errata row),
# names the people and places that digitise books, or is a publisher's line.
CREDITS = re.compile(
    r"^\s*(?:Produced by|Produit par|This (?:file|e-?book|e-?text) was produced|E-?text prepared by"
    r"|Transcribed by|Transcriber'?s? note|Notes? (?:de|sur la) transcription|Au lecteur\b"
    r"|Source\s*:|\[Illustration|Errata\b|page \d+\s*:|(?:»\s*){2,})"
    r"|gutenberg|gallica|pgdp|rastko|distributed proofread|internet archive|hathi ?trust"
    r"|https?://|www\.|version électronique|\bCie\b|édition de \d{4}\s*$",
    re.IGNORECASE,
)

# A chapter heading on its own: "II", "XIV.", "CHAPITRE III", "Livre premier".
HEADING = re.compile(
    r"(?:(?:chapitre|livre|tome|partie|acte|sc[eè]ne|notice|préface)\b[^.!?]{0,40}\.?"
    r"|[IVXLCDM]+\.?)",
    re.IGNORECASE,
)

# A numbered chapter title, as in a table of contents: "IV Germain le fin
# laboureur", "X. Malgré le froid" (no sentence-ending punctuation).
NUMBERED_TITLE = re.compile(r"[IVXLCDM]+\.?\s+[^.!?…]{1,60}")

# The header's "Language: French" line (before the START marker).
LANGUAGE = re.compile(r"^[ \t]*Language:[ \t]*(?P<language>[^\r\n]+?)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)

_NEWLINES = re.compile(r"\r\n?")


def declared_language(text: str) -> str | None:
    """The language the book's header declares ("French", "English"…), if any.

    The workshop's corpus is French: a translation slipped into a catalogue
    (Gutenberg has George Sand in English too) would teach the model English.
    """
    start = START_MARKER.search(text)
    found = LANGUAGE.search(text, 0, start.start() if start else min(len(text), 5000))
    return found.group("language") if found else None


def normalise(text: str) -> str:
    """Unix newlines, no byte-order marks (even mid-file), composed accents (NFC)."""
    text = _NEWLINES.sub("\n", text).replace("\ufeff", "")
    return unicodedata.normalize("NFC", text)


def best_effort_bounds(text: str) -> tuple[int, int]:
    """Where the story probably starts and ends in a file without START/END markers.

    The header is taken to end after the last line naming Project Gutenberg in
    the first fifth of the file; the footer to begin at the first such line in
    the last half. Without any such line the whole text is kept.
    """
    start, end = 0, len(text)
    for match in re.finditer(r"^.*gutenberg.*$", text, re.IGNORECASE | re.MULTILINE):
        if match.start() < len(text) // 5:
            start = match.end()
        elif match.start() > len(text) // 2:
            end = match.start()
            break
    return start, end
