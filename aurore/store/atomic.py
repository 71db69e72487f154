"""Write files and folders so that a crash never leaves a half-written one.

Everything is first written next to its destination under a temporary name,
then moved into place with an atomic rename: a reader sees the old version or
the new one, never a mixture. A folder is swapped with two renames (the old
one aside, the new one in); a crash between them leaves only the old one,
aside, which `recover_dir` puts back.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


#: A `.part` file older than this is a leftover of a writer killed mid-way (a write takes milliseconds).
STALE_PART_SECONDS = 600


def _written_beside(path: Path, data: bytes, mode: int | None) -> str:
    """`data` in a hidden `.NAME.XXXX.part` file beside `path`, on disk (mode 0600 unless `mode`); its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return tmp


def write_bytes(path: str | os.PathLike, data: bytes, mode: int | None = None) -> None:
    """Replace `path` with `data` at once. The file is 0600 (private) unless `mode` is given."""
    path = Path(path)
    tmp = _written_beside(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike, text: str, mode: int | None = None) -> None:
    write_bytes(path, text.encode("utf-8"), mode)


def create_bytes(path: str | os.PathLike, data: bytes, mode: int | None = None) -> bool:
    """Write a new file `path` whole, never replacing one: False (nothing written) when `path` exists.

    Written beside it, then linked in place (a link, unlike a rename, fails
    when the name is taken): a reader, or a crash, never sees it half-written.
    """
    path = Path(path)
    tmp = _written_beside(path, data, mode)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return True


def remove_stale_parts(folder: str | os.PathLike, older_than: float = STALE_PART_SECONDS) -> list[Path]:
    """Remove the hidden `.part` files a killed writer left in `folder` (older than `older_than` seconds)."""
    import time

    removed = []
    limit = time.time() - older_than
    for part in Path(folder).glob(".*.part"):
        with contextlib.suppress(OSError):
            if part.is_file() and not part.is_symlink() and part.stat().st_mtime < limit:
                part.unlink()
                removed.append(part)
    return removed


@contextlib.contextmanager
def replace_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary folder; on success it replaces `path` whole.

    On an exception the temporary folder is removed and `path` is untouched,
    so an interrupted run never leaves a half folder that looks complete.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    recover_dir(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    old = None
    try:
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not path.exists():
            os.replace(old, path)     # the new folder failed to move in: the old one goes back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:          # someone else's process: alive
        return True
    return True


def recover_dir(path: str | os.PathLike) -> bool:
    """Finish a folder swap cut short (kill -9 between `replace_dir`'s two renames).

    `path` missing and `.name.old-PID` beside it: that is the last complete
    version, put back in place (returns True). Leftover `.old-PID` folders of
    processes that are gone are removed once `path` exists. A swap in
    progress (its process alive) is left alone.
    """
    path = Path(path)
    olds = []
    for old in path.parent.glob(f".{glob.escape(path.name)}.old-*"):
        pid = old.name.rsplit("-", 1)[-1]
        if old.is_dir() and pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            olds.append(old)
    olds.sort(key=lambda old: old.stat().st_mtime, reverse=True)
    restored = False
    if olds and not path.exists():
        os.replace(olds.pop(0), path)
        restored = True
    for old in olds:
        shutil.rmtree(old, ignore_errors=True)
    return restored
