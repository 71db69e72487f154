"""Fetch a Project Gutenberg book's raw text: local folder, cache, or the web.

Three places a book can come from, in this order:
1. a local folder (`--source DIR`, env AURORE_SOURCE) holding `<id>.txt`
   files, as in a workshop room without internet;
2. the cache (`paths.cache_dir()`, env AURORE_CACHE): each book downloaded
   once, kept as the exact bytes received;
3. gutenberg.org or a mirror with the same layout (`--mirror URL`, env
   AURORE_MIRROR), with a timeout, retries and back-off.

A download lands in the cache only whole: the body must be as long as the
server announced, and it is written atomically. The bytes are decoded by
`aurore.corpus.text_encoding`, whatever the file's header claims.
"""

from __future__ import annotations

import http.client
import os
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import aurore
from aurore import paths
from aurore.corpus import text_encoding
from aurore.errors import AuroreError
from aurore.store import atomic

DEFAULT_MIRROR = "https://www.gutenberg.org"
TIMEOUT_SECONDS = 30
RETRIES = 3
BACKOFF_SECONDS = 2.0
USER_AGENT = f"aurore/{aurore.__version__} (workshop; one download per book, cached)"

#: Where gutenberg.org keeps a book's plain text, most current first: the
#: generated UTF-8 file every book has, then the files/ tree of older uploads
#: (`-0` UTF-8, `-8` ISO-8859-1, plain ASCII or whatever the producer used).
URL_PATTERNS = (
    "{base}/cache/epub/{id}/pg{id}.txt",
    "{base}/files/{id}/{id}-0.txt",
    "{base}/files/{id}/{id}-8.txt",
    "{base}/files/{id}/{id}.txt",
)


class _Transient(Exception):
    """A failure worth retrying (server error, timeout, cut connection)."""


class _NotThere(Exception):
    """The server answered that this URL does not exist (404/410)."""


@dataclass(frozen=True)
class Fetched:
    book_id: int
    text: str
    origin: str       # "source", "cache" or "download"
    location: str     # the file or URL it came from


def check_book_id(book_id: object) -> int:
    """A Gutenberg ebook id as an int, or a clear error."""
    try:
        number = int(str(book_id).strip())
    except ValueError:
        number = 0
    if number <= 0 or str(book_id).strip().startswith(("+", "-")):
        raise AuroreError(f"{book_id!r} is not a Project Gutenberg ebook id: ids are whole numbers such as 23582.")
    return number


def book_urls(book_id: int, mirror: str = DEFAULT_MIRROR) -> list[str]:
    base = mirror.rstrip("/")
    return [pattern.format(base=base, id=book_id) for pattern in URL_PATTERNS]


def check_mirror(mirror: str) -> str:
    if not mirror.startswith(("http://", "https://")) or len(mirror.rstrip("/")) <= len("https://"):
        raise AuroreError(f"The mirror {mirror!r} is not a web address: give one like "
                          "https://www.gutenberg.org or http://127.0.0.1:8000/.")
    return mirror.rstrip("/")


def check_source(source: str | os.PathLike) -> Path:
    folder = Path(source).expanduser()
    if not folder.is_dir():
        raise AuroreError(f"The source folder {folder} does not exist: give a folder holding "
                          "<id>.txt files (for example 23582.txt).")
    return folder


def _get(url: str, timeout: float) -> bytes:
    """One attempt: the whole body, or `_Transient` / `_NotThere` / `AuroreError`."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            expected = response.headers.get("Content-Length")
            data = response.read()
    except urllib.error.HTTPError as error:
        if error.code in (404, 410):
            raise _NotThere(f"HTTP {error.code}") from None
        if error.code in (408, 425, 429) or error.code >= 500:
            raise _Transient(f"HTTP {error.code} {error.reason}") from None
        raise AuroreError(f"{url} answered HTTP {error.code} {error.reason}.") from None
    except http.client.IncompleteRead as error:
        raise _Transient(f"connection cut after {len(error.partial)} bytes") from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, socket.gaierror):  # no DNS: offline, retrying will not help
            raise AuroreError(f"Cannot reach {url}: the host name does not resolve (offline?). Work offline "
                              "with --source DIR (env AURORE_SOURCE), or give a reachable --mirror URL.") from None
        raise _Transient(f"{type(error.reason).__name__}: {error.reason}") from None
    except (socket.timeout, TimeoutError, ConnectionError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", error)
        raise _Transient(f"{type(reason).__name__}: {reason}") from None
    if expected is not None and expected.isdigit() and len(data) != int(expected):
        raise _Transient(f"got {len(data)} of {expected} bytes")
    if not data.strip():
        raise _Transient("empty answer")
    if data.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
        raise _Transient("a web page came back instead of the book's text")
    return data


def download(book_id: int, mirror: str = DEFAULT_MIRROR, timeout: float = TIMEOUT_SECONDS,
             retries: int = RETRIES, backoff: float = BACKOFF_SECONDS) -> tuple[bytes, str]:
    """The book's bytes and the URL that gave them; tries each known URL in turn."""
    failures: list[str] = []
    for url in book_urls(book_id, mirror):
        for attempt in range(retries + 1):
            try:
                return _get(url, timeout), url
            except AuroreError as error:
                raise AuroreError(f"Could not download book {book_id}: {error}") from None
            except _NotThere as missing:
                failures.append(f"{url}: {missing}")
                break
            except _Transient as error:
                if attempt == retries:
                    raise AuroreError(
                        f"Could not download book {book_id} from {url} ({error}, after {retries + 1} tries). "
                        "Check the connection, or work offline: use --source DIR with <id>.txt files "
                        "(env AURORE_SOURCE), or --mirror URL for a reachable mirror (env AURORE_MIRROR)."
                    ) from None
                time.sleep(backoff * 2**attempt)
    raise AuroreError(
        f"Book {book_id} was not found on {mirror}: tried " + "; ".join(failures)
        + ". Check the ebook id on gutenberg.org, or give --source DIR with the file as <id>.txt."
    )


def fetch(book_id: int | str, source: str | os.PathLike | None = None, mirror: str | None = None,
          cache: str | os.PathLike | None = None, **download_options) -> Fetched:
    """The raw text of one book, from the local folder, the cache, or a download.

    `source` and `mirror` default to AURORE_SOURCE and AURORE_MIRROR (an explicit
    `mirror` ignores AURORE_SOURCE); `cache`
    to `paths.cache_dir()` (AURORE_CACHE). A local folder is read as is, never
    copied into the cache.
    """
    book_id = check_book_id(book_id)
    if not source and not mirror:  # an explicit mirror outranks the environment's folder
        source = os.environ.get("AURORE_SOURCE") or None
    if source:
        path = check_source(source) / f"{book_id}.txt"
        if not path.is_file():
            raise AuroreError(f"Book {book_id} is not in the source folder: {path} is missing. "
                              "Add the file, or leave out --source to download it.")
        return Fetched(book_id, text_encoding.decode(path.read_bytes()), "source", str(path))
    cached = Path(cache or paths.cache_dir()) / f"{book_id}.txt"
    if cached.is_file() and cached.stat().st_size > 0:
        return Fetched(book_id, text_encoding.decode(cached.read_bytes()), "cache", str(cached))
    mirror = check_mirror(mirror or os.environ.get("AURORE_MIRROR") or DEFAULT_MIRROR)
    data, url = download(book_id, mirror, **download_options)
    atomic.write_bytes(cached, data)
    return Fetched(book_id, text_encoding.decode(data), "download", url)
