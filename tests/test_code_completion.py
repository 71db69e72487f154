"""Bonus B (exercise 9): the code corpus split by file, headers, the validity metric, the CLI and the API.

The corpus is a few dozen real standard-library files copied into a temporary
folder; the end-to-end run trains the tiny preset for a few steps.
"""

from __future__ import annotations

import json
import shutil
import sysconfig
from pathlib import Path

import pytest

from aurore import cli
from aurore.bonus import code_completion, code_corpus, code_syntax
from aurore.course import exercises
from aurore.errors import AuroreError
from tests.tiny_model import tiny_model_dir  # noqa: F401  (fixture)

#: Small, self-contained standard-library modules (all present in CPython 3.11).
STDLIB_MODULES = ("bisect", "colorsys", "keyword", "heapq", "fnmatch", "glob", "shlex", "textwrap", "queue",
                  "sched", "stat", "string", "abc", "copy", "cmd", "code", "codeop", "getopt", "graphlib",
                  "numbers", "opcode", "pprint", "reprlib", "runpy", "secrets", "this", "contextvars")
SHARES = ["--validation-share", "0.3", "--test-share", "0.3"]
SOLUTION = exercises.load_module(9)


def write_sources(folder: Path) -> Path:
    """Real library files, plus what the corpus must leave out: tests, packages, broken and non-UTF-8 files."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for name in STDLIB_MODULES:
        shutil.copy(stdlib / f"{name}.py", folder / f"{name}.py")
    for skipped in ("test", "site-packages", "pkg/tests"):
        (folder / skipped).mkdir(parents=True)
        (folder / skipped / "left_out.py").write_text("def left_out():\n    return 1\n", encoding="utf-8")
    (folder / "pkg" / "inner.py").write_text("def inner(x):\n    return x * 2\n", encoding="utf-8")
    (folder / "broken.py").write_text("def broken(:\n", encoding="utf-8")
    (folder / "latin1.py").write_bytes("# caf\xe9\nx = 1\n".encode("latin-1"))
    return folder


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> Path:
    return write_sources(tmp_path_factory.mktemp("stdlib"))


# -- the corpus ---------------------------------------------------------------------------------

def test_the_corpus_reads_the_library_and_leaves_out_tests_packages_and_unreadable_files(sources):
    found = dict(code_corpus.source_files(sources, normalised=False))
    assert set(found) == {f"{name}.py" for name in STDLIB_MODULES} | {"pkg/inner.py"}
    assert found["bisect.py"] == (sources / "bisect.py").read_text(encoding="utf-8")


def test_the_corpus_is_normalised_by_default_without_docstrings_or_comments(sources):
    found = dict(code_corpus.source_files(sources))
    assert found["bisect.py"] == code_corpus.normalise((sources / "bisect.py").read_text(encoding="utf-8"))
    assert '"""' not in found["bisect.py"] and "#" not in found["bisect.py"]
    assert "def insort_right(a, x, lo=0, hi=None, *, key=None):\n    if key is None:" in found["bisect.py"]
    assert code_corpus.normalise('def f():\n    """Only a docstring."""\n') == "def f():\n    pass\n"


def test_every_file_goes_whole_to_exactly_one_split(sources):
    files = code_corpus.source_files(sources)
    corpus = code_corpus.build(SOLUTION, files, 0.3, 0.3)
    by_split = {split: corpus[split]["path"] for split in ("train", "validation", "test")}
    assert all(by_split.values()), by_split
    placed = [path for paths in by_split.values() for path in paths]
    assert sorted(placed) == sorted(path for path, _ in files)            # each file once, none twice
    texts = dict(files)
    for split in by_split:
        for row in corpus[split]:
            assert row["text"] == texts[row["path"]]                      # whole, unchanged
            assert SOLUTION.split_of(row["path"], 0.3, 0.3) == split      # where its path sends it
    again = code_corpus.build(SOLUTION, list(reversed(files)), 0.3, 0.3)
    assert sorted(again["test"]["path"]) == sorted(by_split["test"])       # order does not matter


def test_the_corpus_is_saved_and_loaded_with_its_statistics(sources, tmp_path):
    corpus = code_corpus.build(SOLUTION, code_corpus.source_files(sources), 0.3, 0.3)
    out, stats = code_corpus.save(corpus, tmp_path / "dataset-code")
    loaded = code_corpus.load(out)
    assert loaded["test"]["path"] == corpus["test"]["path"]
    assert json.loads((out / code_corpus.STATS_FILE).read_text()) == stats
    assert stats["train"]["files"] == len(corpus["train"])
    assert stats["test"]["characters"] == sum(len(text) for text in corpus["test"]["text"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


@pytest.mark.parametrize("validation, test", [(0, 0.1), (0.5, 0.5), (0.1, 1.2)])
def test_impossible_shares_are_refused_clearly(sources, validation, test):
    with pytest.raises(AuroreError, match="shares"):
        code_corpus.build(SOLUTION, code_corpus.source_files(sources), validation, test)


def test_a_split_left_empty_is_refused_clearly():
    with pytest.raises(AuroreError, match="No file went to the"):
        code_corpus.build(SOLUTION, [("only.py", "x = 1\n")], 0.1, 0.1)


def test_a_folder_without_python_files_is_refused_clearly(tmp_path):
    with pytest.raises(AuroreError, match="No readable Python file"):
        code_corpus.source_files(tmp_path)
    with pytest.raises(AuroreError, match="not a folder"):
        code_corpus.source_files(tmp_path / "missing")


# -- headers and validity -----------------------------------------------------------------------

def test_held_out_headers_are_distinct_bounded_and_reproducible():
    texts = [(Path(sysconfig.get_paths()["stdlib"]) / f"{name}.py").read_text(encoding="utf-8")
             for name in ("textwrap", "pprint")]
    everything = code_completion.held_out_headers(SOLUTION, texts, count=10_000)
    assert len(everything) == len(set(everything)) > 20
    assert "def dedent(text):\n" in everything
    drawn = code_completion.held_out_headers(SOLUTION, texts, count=5, seed=3)
    assert len(drawn) == 5 and set(drawn) <= set(everything)
    assert drawn == code_completion.held_out_headers(SOLUTION, texts, count=5, seed=3)


def test_validity_counts_the_completions_that_parse_up_to_the_function_end():
    headers = ["def f(x):\n", "    def m(self):\n", "def g():\n", "def h(a,\n      b):\n", "def k():\n"]
    completions = [
        ("    return x + 1\n\ndef later(:\n", "length"),        # valid: the broken line is after the end
        ("        return self.x\n", "end_of_text"),             # valid: the file ended, so did the function
        ("    return (1 +\n    2\n", "length"),                  # invalid: the bracket never closes
        ("    return a + b\n    if a", "length"),               # valid: the unfinished last line is dropped
        ("print('no body')\n", "length"),                       # invalid: no body at all
    ]
    report = code_completion.validity(SOLUTION, headers, completions)
    assert (report["functions"], report["valid"]) == (5, 3)
    assert report["validity"] == pytest.approx(0.6)
    assert report["finished"] == pytest.approx(0.6)                  # f, m (end of text) and k ended
    assert report["examples"][0] == {"header": "def f(x):\n", "body": "    return x + 1\n\n", "valid": True,
                                     "finished": True}


def test_the_model_is_prompted_without_the_headers_newline_and_writes_it_itself():
    """The code tokenizer merges a newline with the next indentation: a bare "\\n" prompt starts the wrong line."""
    from types import SimpleNamespace

    class Finished(list):   # a batch whose rows are all done: nothing to stream, only results
        results = []

    class Recorder:
        prompts = []

        def stream_batch(self, prompts, params):
            self.prompts = list(prompts)
            batch = Finished()
            batch.results = [SimpleNamespace(text=text, finish_reason="length")
                             for text in ("\n    return x\n", " pass\n", "\n\n")]
            return batch

    recorder = Recorder()
    found = code_completion.complete(recorder, ["def f(x):\n", "    def g(self):\n", "def h():\n"], max_new_tokens=8)
    assert recorder.prompts == ["def f(x):", "    def g(self):", "def h():"]
    assert found == [("    return x\n", "length"), ("", "length"), ("\n", "length")]


def test_a_learner_header_that_is_not_a_line_is_named():
    class Wrong:
        @staticmethod
        def function_headers(source):
            return ["def f(x):"]

    with pytest.raises(AuroreError, match="function_headers"):
        code_completion.held_out_headers(Wrong, ["def f(x):\n    pass\n"])


# -- the command line, end to end, and the API ---------------------------------------------------

@pytest.fixture(scope="module")
def trained(sources, tmp_path_factory):
    """`python -m aurore code all` with the tiny preset: the data folder it filled, and what it printed."""
    data = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AURORE_DATA", str(data))
        patch.setenv("AURORE_PROGRESS", "json")
        from io import StringIO
        from contextlib import redirect_stdout

        printed = StringIO()
        with redirect_stdout(printed):
            status = cli.main(["code", "all", "--source", str(sources), *SHARES, "--vocab-size", "400",
                               "--preset", "tiny", "--max-steps", "8", "--headers", "4", "--max-new-tokens", "12",
                               "--max-test-files", "2"])
    assert status == 0, printed.getvalue()[-3000:]
    return data, [json.loads(line) for line in printed.getvalue().splitlines() if line.startswith("{")]


@pytest.mark.slow
@pytest.mark.timeout(1200)              # the first one pays for `trained`: `code all` end to end
def test_code_all_prepares_tokenizes_trains_and_reports_bits_and_validity(trained):
    data, events = trained
    assert code_corpus.load(data / "dataset-code")["test"]
    assert (data / "tokenizer-code" / "tokenizer.json").is_file()
    settings = json.loads((data / "models" / "code" / "aurore.json").read_text())["settings"]
    assert settings["preset"] == "tiny" and settings["eos_separates_sentences"] is False
    (result,) = [e["report"] for e in events if e["event"] == "result" and e["step"] == "code-evaluate"]
    assert result["test_files"] == 2 and result["test"]["bits_per_character"] > 0
    assert result["validity"]["functions"] == 4 and 0 <= result["validity"]["validity"] <= 1
    saved = json.loads((data / "models" / "code" / code_completion.REPORT_FILE).read_text())
    assert saved["validity"] == result["validity"]
    samples = [e for e in events if e["event"] == "sample"]
    assert samples and samples[0]["prompt"] == code_completion.SAMPLE_PROMPT


@pytest.mark.slow
@pytest.mark.timeout(1200)              # the first one pays for `trained`: `code all` end to end
def test_code_all_again_skips_what_is_done(trained, capsys, monkeypatch):
    data, _ = trained
    monkeypatch.setenv("AURORE_DATA", str(data))
    monkeypatch.delenv("AURORE_PROGRESS", raising=False)
    assert cli.main(["code", "all", "--preset", "tiny", "--max-steps", "8", "--headers", "2",
                     "--max-new-tokens", "4", "--max-test-files", "1"]) == 0
    printed = capsys.readouterr().out
    assert "Step prepare: already done" in printed and "Step tokenizer: already done" in printed
    assert "already finished" in printed                         # the training is not redone


@pytest.mark.slow
@pytest.mark.timeout(1200)              # the first one pays for `trained`: `code all` end to end
def test_code_complete_draws_at_most_k_and_reports_whether_the_function_parses(trained, capsys, monkeypatch):
    data, _ = trained
    monkeypatch.setenv("AURORE_DATA", str(data))
    monkeypatch.setenv("AURORE_PROGRESS", "json")
    assert cli.main(["code", "complete", "--prompt", "def add(a, b):\n", "--k", "2", "--max-new-tokens", "6"]) == 0
    (found,) = [json.loads(line)["report"] for line in capsys.readouterr().out.splitlines()
                if line.startswith("{") and json.loads(line).get("step") == "code-complete"]
    assert 1 <= found["tries"] <= 2 and isinstance(found["parses"], bool) and isinstance(found["text"], str)
    assert found["tries"] == 2 or (found["parses"] and not found["trivial"])     # stops early only on a choice


@pytest.mark.slow
@pytest.mark.timeout(1200)              # the first one pays for `trained`: `code all` end to end
def test_code_evaluate_guided_reports_parse_guided_validity_beside_the_raw_one(trained, capsys, monkeypatch):
    data, _ = trained
    monkeypatch.setenv("AURORE_DATA", str(data))
    monkeypatch.setenv("AURORE_PROGRESS", "json")
    assert cli.main(["code", "evaluate", "--headers", "3", "--max-new-tokens", "4", "--max-test-files", "1",
                     "--guided", "2"]) == 0
    (report,) = [json.loads(line)["report"] for line in capsys.readouterr().out.splitlines()
                 if line.startswith("{") and json.loads(line).get("step") == "code-evaluate"]
    guided, raw = report["guided"], report["validity"]
    assert guided["k"] == 2 and guided["functions"] == raw["functions"] == 3
    assert 1 <= guided["tries_per_function"] <= 2 and guided["valid"] >= 0
    assert set(raw["failures"]) == set(code_syntax.KINDS)
    assert sum(sum(counts.values()) for counts in raw["failures"].values()) == 3


@pytest.mark.parametrize("argv, message", [
    (["code", "evaluate"], "run `python -m aurore code prepare` first"),
    (["code", "evaluate", "--guided", "-1"], "--guided"),
    (["code", "complete", "--prompt", "  "], "Nothing to complete"),
    (["code", "complete", "--prompt", "def f():\n", "--k", "0"], "at least 1"),
    (["code", "complete", "--prompt", "def f():\n"], "No code model in"),
    (["code", "tokenizer"], "python -m aurore code prepare"),
    (["code", "prepare", "--validation-share", "0.6", "--test-share", "0.6"], "shares"),
    (["code", "evaluate", "--headers", "0"], "at least 1"),
    (["code", "train"], "run `python -m aurore code prepare` first"),
])
def test_bad_inputs_get_one_clear_message(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AURORE_DATA", str(tmp_path))
    assert cli.main(argv) == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error


def test_training_or_evaluating_without_the_earlier_steps_says_which_command_to_run(sources, tmp_path, monkeypatch,
                                                                                     capsys):
    monkeypatch.setenv("AURORE_DATA", str(tmp_path))
    assert cli.main(["code", "prepare", "--source", str(sources), *SHARES]) == 0
    assert cli.main(["code", "train", "--preset", "tiny"]) == 2
    assert "run `python -m aurore code tokenizer` first" in capsys.readouterr().err
    assert cli.main(["code", "evaluate"]) == 2
    assert "No code model in" in capsys.readouterr().err


def test_an_unfinished_exercise_is_named(tmp_path, monkeypatch, capsys, sources):
    monkeypatch.setenv("AURORE_DATA", str(tmp_path))
    monkeypatch.setenv("AURORE_EXERCISES", str(tmp_path / "ex"))
    (tmp_path / "ex").mkdir()
    exercise = exercises.get(9)
    (tmp_path / "ex" / exercise.filename).write_text(exercises.stub_for(exercise), encoding="utf-8")
    assert cli.main(["code", "prepare", "--source", str(sources), "--use", "exercise"]) == 2
    assert "Exercise 9 is not finished: `split_of`" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.timeout(1200)              # the first one pays for `trained`: `code all` end to end
def test_the_api_completes_code_with_the_code_model(trained, tiny_model_dir, tmp_path):  # noqa: F811
    from aurore.web import create_app

    data, _ = trained
    shutil.copytree(data / "models" / "code", tmp_path / "models" / "code")
    shutil.copytree(tiny_model_dir, tmp_path / "models" / "cpu")     # the default model is another one
    app = create_app({"DATA_DIR": str(tmp_path), "TESTING": True})
    try:
        client = app.test_client()
        assert {m["id"] for m in client.get("/v1/models").get_json()["data"]} == {"cpu", "code"}
        response = client.post("/v1/completions", json={"model": "code", "prompt": "def add(a, b):\n",
                                                        "max_tokens": 8, "temperature": 0})
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert body["model"] == "code" and body["choices"][0]["finish_reason"] in ("length", "stop")
        assert body["usage"]["completion_tokens"] <= 8
        assert client.post("/v1/completions", json={"prompt": "La nuit", "max_tokens": 2}).get_json()["model"] == "cpu"
    finally:
        app.extensions["aurore_generation"].close()
