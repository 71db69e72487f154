"""LoRA fine-tuning on one book (bonus exercise 10): what trains, what is saved, what the command says.

The tiny model (tests/tiny_model.py) stands in for a trained model, a fixture
book (tests/fixture_books.py) for the book.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import aurore  # noqa: F401
from aurore import cli, paths
from aurore.bonus import lora
from aurore.course import exercises
from aurore.errors import AuroreError
from aurore.store import modeldir
from tests import fixture_books
from tests.tiny_model import sentences, tiny_model_dir  # noqa: F401  (session fixture)

#: The weights LoRA may change: its adapters, and the biases of the layers it adapts (KerasHub leaves them trainable).
ADAPTED = ("self_attention/query/", "self_attention/value/")


@pytest.fixture()
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("AURORE_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("AURORE_SOURCE", raising=False)
    return tmp_path / "data"


@pytest.fixture(scope="module")
def solution():
    return exercises.rules("lora")


def book() -> lora.BookSplit:
    texts = sentences()
    return lora.BookSplit(90001, "Le Laboureur", texts[:-30], texts[-30:])


def weights_by_path(backbone) -> dict[str, np.ndarray]:
    return {weight.path: np.array(weight.numpy()) for weight in backbone.weights}


def test_lora_trains_only_small_adapters_beside_frozen_weights(tiny_model_dir, solution):  # noqa: F811
    import keras
    import keras_hub

    loaded = modeldir.load(tiny_model_dir)
    lm = keras_hub.models.GPT2CausalLM(backbone=loaded.backbone, preprocessor=None)
    full = solution.count_parameters(lm)
    solution.choose_trainable(loaded.backbone, 4)
    counts = solution.count_parameters(lm)
    assert full["frozen"] == 0 and counts["trainable"] < full["trainable"] / 5
    biases = sum(int(np.prod(w.shape)) for w in lm.weights if w.path.endswith(("query/bias", "value/bias")))
    assert counts["frozen"] == full["total"] - biases      # the base model is frozen, but for the adapted biases
    before = weights_by_path(loaded.backbone)
    lm.compile(optimizer=keras.optimizers.Adam(1e-2),
               loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(0).integers(0, len(loaded.tokenizer), size=(4, 17)).astype("int32")
    for _ in range(2):
        lm.train_on_batch({"token_ids": x[:, :-1], "padding_mask": np.ones((4, 16), "int32")}, x[:, 1:])
    after = weights_by_path(loaded.backbone)
    changed = {path for path in before if not np.array_equal(before[path], after[path])}
    assert any(path.endswith("lora_kernel_b") for path in changed)      # B starts at zero, and learns
    assert changed and all(any(part in path for part in ADAPTED) and not path.endswith("/kernel")
                           for path in changed), sorted(changed)


def test_fine_tuned_model_saves_merged_loads_and_generates(tiny_model_dir, solution, tmp_path):  # noqa: F811
    from aurore.generation.generator import Generator, SamplingParams
    from aurore.web.writers.model_pool import ModelPool

    out = tmp_path / "tiny-lora-90001"
    report = lora.fine_tune(solution, tiny_model_dir, book(), out, rank=4, max_steps=3, max_minutes=None,
                            batch_size=4, learning_rate=5e-2, train_rules=exercises.rules("train"),
                            figures=exercises.rules("evaluate"))
    assert modeldir.is_model_dir(out) and (out / lora.ADAPTER_FILE).is_file()
    assert report["steps"] == 3 and report["stopped"] == "steps" and report["method"] == "lora"
    assert report["parameters"]["trainable"] < report["parameters"]["total"] / 5
    assert report["saved_bytes"]["adapter"] < report["saved_bytes"]["model"] / 2
    assert lora.read_report(out)["bits_per_character"] == report["bits_per_character"]
    assert all(np.isfinite(list(report["bits_per_character"].values())))
    # The folder holds ordinary weights, LoRA merged into the adapted kernels: the rest is the base's.
    base, tuned = weights_by_path(modeldir.load(tiny_model_dir).backbone), weights_by_path(modeldir.load(out).backbone)
    assert set(base) == set(tuned)
    changed = {path for path in base if not np.allclose(base[path], tuned[path])}
    assert any(path.endswith("query/kernel") for path in changed)
    assert all(any(part in path for part in ADAPTED) for path in changed), sorted(changed)
    result = Generator.load(out, exercises.rules("generate")).generate("La nuit", SamplingParams(max_new_tokens=8,
                                                                                                 strategy="greedy"))
    assert result.new_tokens > 0 and result.text
    assert out.name in ModelPool(tmp_path).names()          # the writers' page and the API offer it
    assert "| LoRA rank 4 | " in lora.table([report]) and "| base (tiny) |" in lora.table([report])


def test_full_fine_tuning_trains_every_weight(tiny_model_dir, solution, tmp_path):  # noqa: F811
    out = tmp_path / "tiny-full-90001"
    report = lora.fine_tune(solution, tiny_model_dir, book(), out, rank=None, max_steps=2, max_minutes=None,
                            batch_size=4, train_rules=exercises.rules("train"), figures=exercises.rules("evaluate"))
    assert report["method"] == "full" and report["parameters"]["trainable"] == report["parameters"]["total"]
    assert modeldir.is_model_dir(out) and not (out / lora.ADAPTER_FILE).exists()
    assert report["saved_bytes"]["adapter"] is None and report["learning_rate"] == lora.LEARNING_RATES["full"]


def test_the_held_out_end_comes_from_the_real_book(data_dir, solution, tmp_path):
    source = tmp_path / "books"
    fixture_books.write_fixture_books(source)
    split = lora.read_book(90002, solution, 0.1, source=str(source), cleaning=exercises.rules("clean"), prepare=exercises.rules("prepare"))
    assert split.held_out and split.train and len(split.held_out) == -(-(len(split.train) + len(split.held_out)) // 10)
    assert not any(marker in text for marker in fixture_books.LEAK_MARKERS for text in split.train + split.held_out)


def test_output_folder_sits_beside_the_base():
    assert lora.output_dir(Path("m/cpu"), 6318) == Path("m/cpu-lora-6318")
    assert lora.output_dir(Path("m/cpu-mine"), 5318, full=True) == Path("m/cpu-mine-full-5318")


def run_cli(capsys, *args: str) -> tuple[int, str]:
    code = cli.main(["lora", *args])
    return code, capsys.readouterr().err


def test_cli_errors_are_clear_messages(data_dir, tiny_model_dir, tmp_path, capsys):  # noqa: F811
    code, err = run_cli(capsys, "--preset", "tiny")
    assert code == 2 and "No trained model at" in err and "python -m aurore train" in err
    assert str(paths.model_dir("tiny")) in err
    code, err = run_cli(capsys, "--use", "exercise", "--preset", "cpu")
    assert code == 2 and "cpu-mine" in err
    modeldir.copy(tiny_model_dir, paths.model_dir("tiny"))
    code, err = run_cli(capsys, "--preset", "tiny", "--book", "l'avare")
    assert code == 2 and "not a Project Gutenberg ebook id" in err
    source = tmp_path / "books"
    fixture_books.write_fixture_books(source)
    code, err = run_cli(capsys, "--preset", "tiny", "--book", "999999", "--source", str(source))
    assert code == 2 and "Book 999999 is not in the source folder" in err
    code, err = run_cli(capsys, "--preset", "tiny", "--full", "--rank", "4")
    assert code == 2 and "one or the other" in err
    code, err = run_cli(capsys, "--preset", "tiny", "--rank", "0")
    assert code == 2 and "--rank must be a whole number from 1 to 256" in err
    code, err = run_cli(capsys, "--preset", "tiny", "--held-out", "0.7", "--source", str(source), "--book", "90002")
    assert code == 2 and "--held-out" in err
    assert "Traceback" not in err


def test_cli_with_an_unfinished_exercise_says_which(data_dir, tiny_model_dir, tmp_path, capsys, monkeypatch):  # noqa: F811
    stubs = tmp_path / "exercises"
    stubs.mkdir()
    exercise = exercises.get(10)
    (stubs / exercise.filename).write_text(exercises.stub_for(exercise), encoding="utf-8")
    monkeypatch.setenv("AURORE_EXERCISES", str(stubs))
    modeldir.copy(tiny_model_dir, paths.model_dir("tiny", "exercise"))
    source = tmp_path / "books"
    fixture_books.write_fixture_books(source)
    code, err = run_cli(capsys, "--preset", "tiny", "--use", "exercise", "--book", "90002", "--source", str(source))
    assert code == 2 and "Exercise 10 is not finished" in err and "split_by_position" in err


def test_the_run_page_step_runs_the_lora_command():
    from aurore.web.workshop.jobs import default_steps, JobRunner

    runner = JobRunner(Path(paths.data_dir()) / "never-used-lora", default_steps())
    try:
        assert runner.argv("lora", "exercise", {"preset": "tiny", "max_minutes": 1})[1:] == [
            "-m", "aurore", "lora", "--use", "exercise", "--preset", "tiny", "--max-minutes", "1"]
        assert runner.argv("lora", "solution")[0] == sys.executable
    finally:
        import shutil
        shutil.rmtree(Path(paths.data_dir()) / "never-used-lora", ignore_errors=True)
