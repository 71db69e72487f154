"""`python -m aurore prepare`: end to end on fixture books, and every bad input."""

from __future__ import annotations

import functools
import http.server
import json
import threading

import pytest

import fixture_books
from aurore import cli
from aurore.course import exercises
from aurore.store import saved_dataset

BOOKS = ",".join(map(str, fixture_books.TRAIN_IDS))
TEST = str(fixture_books.TEST_ID)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("AURORE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("AURORE_CACHE", str(tmp_path / "cache"))
    for name in ("AURORE_SOURCE", "AURORE_MIRROR", "AURORE_PROGRESS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def books(tmp_path):
    fixture_books.write_fixture_books(tmp_path / "books")
    return tmp_path / "books"


def _error(capsys, argv) -> str:
    assert cli.main(argv) == 2
    return capsys.readouterr().err


def test_prepare_from_source_folder(books, tmp_path, capsys):
    out = tmp_path / "ds"
    assert cli.main(["prepare", "--source", str(books), "--books", BOOKS, "--test-book", TEST,
                     "--out", str(out), "--min-words", "3"]) == 0
    printed = capsys.readouterr().out
    assert "validation" in printed and f"Dataset saved in {out}" in printed
    loaded = saved_dataset.load(out)
    assert set(loaded["test"]["book"]) == {fixture_books.TEST_ID}
    assert list((tmp_path / "data" / "nltk_data").glob("punkt-french-*.json"))  # the Punkt cache


def test_prepare_from_environment_source_in_json_mode(books, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("AURORE_SOURCE", str(books))
    monkeypatch.setenv("AURORE_PROGRESS", "json")
    assert cli.main(["prepare", "--books", BOOKS, "--test-book", TEST]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert any(e["event"] == "progress" and e["task"] == "Books" for e in events)
    (done,) = [e for e in events if e["event"] == "dataset"]
    assert done["stats"]["splits"]["test"]["sentences"] > 0
    assert saved_dataset.load(tmp_path / "data" / "dataset")  # the default output folder


def _serve_gutenberg_layout(root, books):
    """A stand-in for gutenberg.org: /cache/epub/<id>/pg<id>.txt for each book."""
    for book in fixture_books.ALL_IDS:
        target = root / "cache" / "epub" / str(book)
        target.mkdir(parents=True)
        (target / f"pg{book}.txt").write_bytes((books / f"{book}.txt").read_bytes())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_prepare_through_a_mirror_then_from_the_cache(books, tmp_path, capsys):
    server = _serve_gutenberg_layout(tmp_path / "site", books)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        assert cli.main(["prepare", "--mirror", url, "--books", BOOKS, "--test-book", TEST,
                         "--out", str(tmp_path / "first")]) == 0
    finally:
        server.shutdown()
        server.server_close()
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [f"{b}.txt" for b in sorted(fixture_books.ALL_IDS)]
    # The server is gone: the second run is served from the cache alone.
    assert cli.main(["prepare", "--mirror", url, "--books", BOOKS, "--test-book", TEST,
                     "--out", str(tmp_path / "second")]) == 0
    first, second = saved_dataset.load(tmp_path / "first"), saved_dataset.load(tmp_path / "second")
    assert list(first["train"]["text"]) == list(second["train"]["text"])
    capsys.readouterr()


@pytest.mark.parametrize("argv, expected", [
    (["--books", "abc"], "not a Project Gutenberg ebook id"),
    (["--books", ","], "--books is empty"),
    (["--books", "1,1"], "lists a book twice"),
    (["--books", "1,2", "--test-book", "2"], "held out"),
    (["--test-book", "x"], "not a Project Gutenberg ebook id"),
    (["--min-words", "0"], "--min-words"),
    (["--min-words", "trois"], "--min-words"),
    (["--mirror", "gutenberg.org"], "not a web address"),
])
def test_bad_inputs_give_clear_errors(books, capsys, argv, expected):
    message = _error(capsys, ["prepare", "--source", str(books), *argv] if "--mirror" not in argv
                     else ["prepare", *argv])
    assert expected in message and "Traceback" not in message


def test_missing_source_folder_and_book(books, tmp_path, capsys):
    assert "does not exist" in _error(capsys, ["prepare", "--source", str(tmp_path / "none")])
    message = _error(capsys, ["prepare", "--source", str(books), "--books", "123456", "--test-book", TEST,
                              "--out", str(tmp_path / "ds")])
    assert "123456" in message and "missing" in message
    assert not (tmp_path / "ds").exists()


def test_out_must_not_be_a_file(books, tmp_path, capsys):
    (tmp_path / "file").write_text("x", encoding="utf-8")
    assert "is a file" in _error(capsys, ["prepare", "--source", str(books), "--out", str(tmp_path / "file")])


def test_source_and_mirror_are_exclusive(books, capsys):
    with pytest.raises(SystemExit):
        cli.main(["prepare", "--source", str(books), "--mirror", "http://127.0.0.1:9/"])
    assert "not allowed with" in capsys.readouterr().err


def test_unfinished_exercise_gives_a_clear_error(books, tmp_path, capsys, monkeypatch):
    stubs = tmp_path / "exercises"
    stubs.mkdir()
    for exercise in (exercises.get(1), exercises.get(2)):      # the step runs the code of both
        (stubs / exercise.filename).write_text(exercises.stub_for(exercise), encoding="utf-8")
    monkeypatch.setenv("AURORE_EXERCISES", str(stubs))
    message = _error(capsys, ["prepare", "--use", "exercise", "--source", str(books), "--books", BOOKS,
                              "--test-book", TEST, "--out", str(tmp_path / "ds")])
    assert "Exercise 1 is not finished" in message
