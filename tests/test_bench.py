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


def test_shape_scaling_keeps_other_vocabularies_and_seeds_out_of_the_fitted_curve(tmp_path, monkeypatch):
    """A run with another tokenizer or seed is its own measurement (skipped only when that exact run is
    there) and never a point of the curve the training reads."""
    import json

    from aurore.training import adaptive
    from bench import shape_scaling

    results, fitted = tmp_path / "shape-scaling.jsonl", tmp_path / "fit.json"
    monkeypatch.setattr(shape_scaling, "RESULTS", results)
    monkeypatch.setattr(adaptive, "FIT_FILE", fitted)
    rows = [{"shape": "2x96", "steps": steps, "recipe": {}, "bpc": bpc, "steps_per_second": 4.0,
             "matmul_steps_per_second": 4.0} for steps, bpc in ((256, 2.3), (512, 2.2), (1024, 2.0))]
    rows += [dict(rows[2], vocab=4096, bpc=0.5), dict(rows[2], seed=2, bpc=0.6), dict(rows[2], vocab=8000, seed=1234)]
    results.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")

    assert shape_scaling.done_already("2x96", 1024, {}, 8000, 1234)
    assert shape_scaling.done_already("2x96", 1024, {}, 4096, 1234)
    assert not shape_scaling.done_already("2x96", 1024, {}, 4096, 2)
    assert not shape_scaling.done_already("2x96", 1024, {}, 2048, 1234)
    assert not shape_scaling.done_already("2x96", 512, {}, 8000, 7)

    shape_scaling.write_fit()
    assert json.loads(fitted.read_text())["shapes"]["2x96"]["curve"]["points"] == [[256, 2.3], [512, 2.2], [1024, 2.0]]
