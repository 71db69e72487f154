"""The real download code against a local stand-in for gutenberg.org.

A threaded `http.server` on 127.0.0.1 serves fixture books in gutenberg.org's
URL layout and can misbehave on demand (a 500, a truncated body, a web page);
nothing here touches the internet.
"""

from __future__ import annotations

import http.server
import threading

import pytest

from aurore.corpus import download, text_encoding
from aurore.errors import AuroreError

BOOK = "*** START OF THIS PROJECT GUTENBERG EBOOK X ***\n\nLa petite Fadette était là, «bien sûr».\n"


class _Mirror(http.server.ThreadingHTTPServer):
    """Serves `files` (path -> bytes); `faults` (path -> list of misbehaviours, used in turn)."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.faults: dict[str, list[str]] = {}
        self.hits: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        server: _Mirror = self.server
        server.hits.append(self.path)
        faults = server.faults.get(self.path)
        fault = faults.pop(0) if faults else None
        body = server.files.get(self.path)
        if fault == "500":
            self.send_error(500, "Internal Server Error")
        elif body is None:
            self.send_error(404, "Not Found")
        elif fault == "truncate":
            self.send_response(200)
            self.send_header("Content-Length", str(len(body) + 1000))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True
        elif fault == "html":
            page = b"<!DOCTYPE html><html><body>Please wait</body></html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)
        else:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)


@pytest.fixture
def mirror():
    server = _Mirror()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch, tmp_path):
    for name in ("AURORE_SOURCE", "AURORE_MIRROR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AURORE_CACHE", str(tmp_path / "cache"))


FAST = {"backoff": 0.01, "timeout": 5}


def test_urls_follow_gutenberg_layout():
    assert download.book_urls(23582, "https://www.gutenberg.org/") == [
        "https://www.gutenberg.org/cache/epub/23582/pg23582.txt",
        "https://www.gutenberg.org/files/23582/23582-0.txt",
        "https://www.gutenberg.org/files/23582/23582-8.txt",
        "https://www.gutenberg.org/files/23582/23582.txt",
    ]


def test_download_then_cache_hit(mirror, tmp_path):
    mirror.files["/cache/epub/42/pg42.txt"] = BOOK.encode("utf-8")
    first = download.fetch(42, mirror=mirror.url, **FAST)
    assert first.origin == "download" and first.location.endswith("/cache/epub/42/pg42.txt")
    assert "«bien sûr»" in first.text
    assert (tmp_path / "cache" / "42.txt").read_bytes() == BOOK.encode("utf-8")

    mirror.files.clear()  # the server no longer has it: the cache must answer
    second = download.fetch(42, mirror=mirror.url, **FAST)
    assert second.origin == "cache" and second.text == first.text
    assert len(mirror.hits) == 1


def test_falls_back_to_older_file_names(mirror):
    mirror.files["/files/7/7-8.txt"] = BOOK.encode("latin-1", "replace")
    fetched = download.fetch(7, mirror=mirror.url, **FAST)
    assert fetched.location.endswith("/files/7/7-8.txt")
    assert mirror.hits == ["/cache/epub/7/pg7.txt", "/files/7/7-0.txt", "/files/7/7-8.txt"]
    assert "«bien sûr»" in fetched.text  # Latin-1 bytes decoded, not mangled


def test_retries_after_a_transient_500(mirror, tmp_path):
    path = "/cache/epub/5/pg5.txt"
    mirror.files[path] = BOOK.encode("utf-8")
    mirror.faults[path] = ["500", "500"]
    fetched = download.fetch(5, mirror=mirror.url, **FAST)
    assert fetched.origin == "download"
    assert mirror.hits == [path, path, path]
    assert (tmp_path / "cache" / "5.txt").is_file()


def test_persistent_500_gives_a_clear_error_and_caches_nothing(mirror, tmp_path):
    path = "/cache/epub/5/pg5.txt"
    mirror.files[path] = BOOK.encode("utf-8")
    mirror.faults[path] = ["500"] * 10
    with pytest.raises(AuroreError) as error:
        download.fetch(5, mirror=mirror.url, retries=2, **FAST)
    message = str(error.value)
    assert "book 5" in message and path in message and "--source" in message
    assert mirror.hits == [path] * 3
    assert not (tmp_path / "cache" / "5.txt").exists()


def test_404_everywhere_names_the_book_and_the_urls(mirror, tmp_path):
    with pytest.raises(AuroreError) as error:
        download.fetch(999999, mirror=mirror.url, **FAST)
    message = str(error.value)
    assert "999999" in message and "404" in message
    assert f"{mirror.url}/files/999999/999999.txt" in message
    assert not (tmp_path / "cache" / "999999.txt").exists()


def test_truncated_body_is_never_cached(mirror, tmp_path):
    path = "/cache/epub/8/pg8.txt"
    mirror.files[path] = BOOK.encode("utf-8")
    mirror.faults[path] = ["truncate"] * 10
    with pytest.raises(AuroreError):
        download.fetch(8, mirror=mirror.url, retries=1, **FAST)
    cache = tmp_path / "cache"
    assert not cache.exists() or not list(cache.iterdir())  # no file, no leftover .part

    mirror.faults[path] = ["truncate"]  # once cut, then whole: the retry gets it
    fetched = download.fetch(8, mirror=mirror.url, **FAST)
    assert fetched.text.startswith("*** START")
    assert (cache / "8.txt").read_bytes() == BOOK.encode("utf-8")


def test_a_web_page_instead_of_the_book_is_refused(mirror, tmp_path):
    path = "/cache/epub/9/pg9.txt"
    mirror.files[path] = BOOK.encode("utf-8")
    mirror.faults[path] = ["html"] * 5
    with pytest.raises(AuroreError) as error:
        download.fetch(9, mirror=mirror.url, retries=1, **FAST)
    assert "web page" in str(error.value)
    assert not (tmp_path / "cache" / "9.txt").exists()


def test_unreachable_mirror_gives_a_clear_error(tmp_path):
    server = _Mirror()  # bound, then closed: nothing listens on that port any more
    url = server.url
    server.server_close()
    with pytest.raises(AuroreError) as error:
        download.fetch(23582, mirror=url, retries=1, **FAST)
    message = str(error.value)
    assert "23582" in message and url in message and "--source" in message and "--mirror" in message


def test_environment_mirror_is_used(mirror, monkeypatch):
    mirror.files["/cache/epub/3/pg3.txt"] = BOOK.encode("utf-8")
    monkeypatch.setenv("AURORE_MIRROR", mirror.url + "/")
    assert download.fetch(3, **FAST).origin == "download"


def test_explicit_mirror_outranks_environment_source(mirror, monkeypatch, tmp_path):
    mirror.files["/cache/epub/3/pg3.txt"] = BOOK.encode("utf-8")
    monkeypatch.setenv("AURORE_SOURCE", str(tmp_path))  # an empty folder
    assert download.fetch(3, mirror=mirror.url, **FAST).origin == "download"


def test_local_source_folder(tmp_path, monkeypatch):
    source = tmp_path / "books"
    source.mkdir()
    (source / "12.txt").write_bytes(b"\xef\xbb\xbf" + BOOK.encode("utf-8"))
    fetched = download.fetch(12, source=source)
    assert fetched.origin == "source" and fetched.text == BOOK
    assert not (tmp_path / "cache").exists()  # a local folder is never copied

    monkeypatch.setenv("AURORE_SOURCE", str(source))
    assert download.fetch("12").origin == "source"
    with pytest.raises(AuroreError, match="13.txt is missing"):
        download.fetch(13)


def test_missing_source_folder(tmp_path):
    with pytest.raises(AuroreError, match="does not exist"):
        download.fetch(12, source=tmp_path / "nowhere")


@pytest.mark.parametrize("bad", ["abc", "-3", "0", "", "12.5", "1e3", "../1"])
def test_bad_book_ids(bad):
    with pytest.raises(AuroreError, match="not a Project Gutenberg ebook id"):
        download.check_book_id(bad)


@pytest.mark.parametrize("bad", ["ftp://x", "www.gutenberg.org", "http://", "file:///etc"])
def test_bad_mirrors(bad):
    with pytest.raises(AuroreError, match="not a web address"):
        download.check_mirror(bad)


@pytest.mark.parametrize("text, encoding, expected", [
    ("Lélia, œuvre — « fin »", "utf-8", "utf-8"),
    ("\ufeffLélia", "utf-8", "utf-8-sig"),
    ("Lélia, été, à bientôt", "latin-1", "cp1252"),   # same bytes in both single-byte encodings
    ("l’œuvre… «fin»", "cp1252", "cp1252"),
    ("plain ascii", "ascii", "utf-8"),
])
def test_encoding_detection(text, encoding, expected):
    data = text.encode(encoding)
    assert text_encoding.detect(data) == expected
    assert text_encoding.decode(data) == text.lstrip("\ufeff")


def test_bytes_undefined_in_cp1252_fall_back_to_latin1():
    data = "été".encode("latin-1") + b"\x81"
    assert text_encoding.detect(data) == "latin-1"
    assert text_encoding.decode(data) == "été\x81"


def test_offline_without_dns_fails_fast_with_advice(monkeypatch):
    import socket
    import urllib.error

    calls = []

    def offline(request, timeout):
        calls.append(request.full_url)
        raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr(download.urllib.request, "urlopen", offline)
    with pytest.raises(AuroreError) as error:
        download.fetch(23582, **FAST)
    message = str(error.value)
    assert "book 23582" in message and "www.gutenberg.org/cache/epub/23582/pg23582.txt" in message
    assert "--source" in message and "offline" in message
    assert len(calls) == 1  # no point retrying without DNS
