"""Turn a downloaded book's bytes into text without trusting its header.

Project Gutenberg serves UTF-8 (often with a byte-order mark), ISO-8859-1 and
Windows-1252 files, and a header's "Character set encoding" line is not always
true of the bytes a mirror sends. The bytes decide:

1. valid UTF-8 (BOM or not) is UTF-8: stray Latin-1 accents almost never form
   valid UTF-8 sequences, so this test is reliable on French text;
2. otherwise a single-byte encoding. Windows-1252 and ISO-8859-1 agree on
   every byte except 0x80–0x9F, where Windows-1252 has printable characters
   (œ, ’, …, —) and ISO-8859-1 only invisible control codes that no book
   contains; so Windows-1252 wins whenever it can decode the bytes, and
   ISO-8859-1 (which decodes anything) is the last resort.
"""

from __future__ import annotations

UTF8_BOM = b"\xef\xbb\xbf"


def detect(data: bytes) -> str:
    """The name of the encoding the bytes are in: utf-8-sig, utf-8, cp1252 or latin-1."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8-sig" if data.startswith(UTF8_BOM) else "utf-8"
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


def decode(data: bytes) -> str:
    """The text of the bytes, in the encoding `detect` finds (a leading BOM dropped)."""
    return data.decode(detect(data))
