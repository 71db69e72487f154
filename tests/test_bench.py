"""The benchmarks stand on the library alone: nothing in bench/ imports the test suite."""

import ast
import re
from pathlib import Path

import pytest

from aurore import paths

BENCH = sorted((paths.ROOT / "bench").glob("*.py"))
TEST_MODULES = {path.stem for path in (paths.ROOT / "tests").glob("*.py")} | {"tests"}


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("script", BENCH, ids=lambda path: path.name)
def test_a_benchmark_imports_nothing_from_tests(script):
    assert not _imported(script) & TEST_MODULES


def test_the_random_model_learns_its_tokenizer_on_synthetic_text_without_the_corpus(tmp_path, monkeypatch):
    from bench import random_model

    monkeypatch.setenv("AURORE_BENCH_TEXT", str(tmp_path / "no-books-here"))
    texts = random_model.tokenizer_texts()
    assert len(texts) == 4000 and len(set(" ".join(texts).split())) > 500
    (tmp_path / "book.txt").write_text("Il était une fois.", encoding="utf-8")
    monkeypatch.setenv("AURORE_BENCH_TEXT", str(tmp_path))
    assert random_model.tokenizer_texts() == ["Il était une fois."]


def test_each_course_figure_is_written_by_the_benchmark_its_entry_names():
    """course/figures.json: a figure measured by bench/X.py is one that `bench/X.py --record` writes back."""
    from aurore.course import figures

    for key, figure in figures.load().items():
        named = re.search(r"bench/(\w+)\.py", figure.get("command", ""))
        if figure.get("derived") or not named:
            continue
        source = (paths.ROOT / "bench" / f"{named.group(1)}.py").read_text(encoding="utf-8")
        assert "--record" in source or "add_record_option" in source, f"{key}: {named.group(0)} cannot --record"
        family = key.split(".")[0]
        assert f'"{family}.' in source or f'f"{family}.' in source, f"{key}: {named.group(0)} never writes {family}.*"
