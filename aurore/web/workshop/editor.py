"""The exercise page's editor: the learner's file on disk stays the one source of truth.

The page edits a copy of the file and remembers the version it started from
(`version`: a hash of the bytes). A save sends that version back; if the file
changed on disk since (an external editor saved it), the save is refused as a
conflict with the file's current text, so that nothing is overwritten
silently. A save is atomic and keeps the file's permissions.
"""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

from aurore.errors import AuroreError
from aurore.store import atomic

#: The most a saved exercise file may hold (an exercise is a few hundred lines, ~5 KiB): under the app's
#: 64 KiB request limit (aurore.web.writers.api_params.MAX_BODY_BYTES), with room for JSON's escapes.
MAX_BYTES = 48 * 1024


class SaveConflict(AuroreError):
    """The file changed on disk since the page loaded it: `current` is what it holds now."""

    def __init__(self, current: dict):
        super().__init__("the file changed on disk since it was loaded")
        self.current = current


def version(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read(path: Path) -> dict:
    """The file's text, version and modification time (exists=False when it is missing)."""
    try:
        data = path.read_bytes()
        mtime = path.stat().st_mtime
    except OSError:
        return {"exists": False, "text": "", "version": None, "mtime": None}
    return {"exists": True, "text": data.decode("utf-8", errors="replace"), "version": version(data), "mtime": mtime}


def save(path: Path, text: str, base_version: str | None) -> dict:
    """Write `text` if the file still holds `base_version` (None: the file was missing); else SaveConflict."""
    current = read(path)
    if current["version"] != base_version:
        raise SaveConflict(current)
    data = text.encode("utf-8")
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mode = 0o644
    atomic.write_bytes(path, data, mode=mode)
    return read(path)
