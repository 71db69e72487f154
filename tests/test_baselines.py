"""The xz baseline: what a compressor that knows the training books makes of the test book."""

import json

import pytest

from aurore.course import exercises
from aurore.evaluation import baselines
from tiny_sand import TEST, TRAIN, make_dataset

SOLUTION = exercises.rules("evaluate")


def test_text_already_seen_costs_few_bits_and_new_text_many():
    seen = baselines.xz_bits_per_character(SOLUTION, TRAIN * 3, TRAIN[:5])
    new = baselines.xz_bits_per_character(SOLUTION, TRAIN * 3, TEST)
    assert seen < 1.0 < new < 8.0


def test_the_figure_is_computed_once_per_dataset_and_read_back(tmp_path, monkeypatch):
    make_dataset(tmp_path / "dataset")
    assert baselines.cached(tmp_path / "dataset") is None
    figure = baselines.xz_baseline(SOLUTION, tmp_path / "dataset")
    assert figure["xz_bits_per_character"] == pytest.approx(baselines.xz_bits_per_character(SOLUTION, TRAIN, TEST), abs=1e-4)
    assert json.loads((tmp_path / "dataset" / baselines.CACHE_FILE).read_text())["test"] == figure

    def no_second_time(*args):
        raise AssertionError("xz ran again")

    monkeypatch.setattr(baselines, "xz_bits_per_character", no_second_time)
    assert baselines.xz_baseline(SOLUTION, tmp_path / "dataset") == figure == baselines.cached(tmp_path / "dataset")
