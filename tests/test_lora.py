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
from tests import fixture_books, tiny_sand
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


def test_the_run_page_step_runs_the_lora_command(tmp_path):
    from aurore.web.workshop.jobs import default_steps, JobError, JobRunner, LORA_METHODS

    runner = JobRunner(tmp_path / "never-used-lora", default_steps())
    assert runner.argv("lora", "exercise", {"preset": "tiny", "max_minutes": 1})[1:] == [
        "-m", "aurore", "lora", "--use", "exercise", "--preset", "tiny", "--max-minutes", "1", "--method", "both"]
    assert runner.argv("lora", "solution", {"method": "full", "restart": True})[-3:] == ["--method", "full",
                                                                                          "--restart"]
    assert runner.argv("lora", "solution")[0] == sys.executable
    with pytest.raises(JobError, match="Unknown fine-tuning method: 'adam'"):
        runner.argv("lora", "solution", {"method": "adam"})
    assert set(LORA_METHODS) == set(lora.CHOICES) and LORA_METHODS[0] == "both"      # the page's default: both


# -- LoRA against full fine-tuning, side by side ---------------------------------------------------------------
TEST_BOOK = {"id": fixture_books.TEST_ID, "title": "La Mare (fixture)", "texts": tiny_sand.TEST}


def compared(base, solution, **kwargs) -> tuple[list[dict], dict]:
    asked = lora.asked_for(base, 90001, TEST_BOOK["id"], max_steps=2, max_minutes=None, held_out_share=0.1,
                           batch_size=4)
    reports = lora.compare(kwargs.pop("choice", "both"), solution, base, book(), asked=asked, rank=4,
                           max_steps=2, max_minutes=None, batch_size=4, train_rules=exercises.rules("train"),
                           figures=exercises.rules("evaluate"), test_book=TEST_BOOK,
                           sampler=exercises.rules("generate"), **kwargs)
    return reports, asked


@pytest.fixture(scope="module")
def both_runs(tiny_model_dir, solution, tmp_path_factory):  # noqa: F811
    base = tmp_path_factory.mktemp("lora-both") / "tiny"
    modeldir.copy(tiny_model_dir, base)
    reports, asked = compared(base, solution)
    return base, reports, asked


def test_both_methods_run_on_the_same_budget_and_save_their_results(both_runs):
    base, reports, asked = both_runs
    assert [report["method"] for report in reports] == ["lora", "full"]
    for report in reports:
        assert report["steps"] == 2 and report["batch_size"] == 4 and report["asked"] == asked
        assert lora.read_report(report["model"]) == report                # saved beside the model
        assert report["seconds_per_step"] == pytest.approx(report["seconds"] / 2, abs=0.05)   # seconds: to 0.1
    assert reports[0]["model"] == str(lora.output_dir(base, 90001)) and reports[1]["model"] == str(
        lora.output_dir(base, 90001, full=True))
    assert reports[1]["parameters"]["trainable"] == reports[1]["parameters"]["total"]
    assert reports[0]["parameters"]["trainable"] < reports[1]["parameters"]["total"] / 5
    assert lora.comparable(base, asked) == reports                        # the table reads them back


def test_full_fine_tuning_changes_every_weight_lora_only_the_adapted_layers(both_runs):
    base, reports, _ = both_runs
    before = weights_by_path(modeldir.load(base).backbone)
    full = weights_by_path(modeldir.load(reports[1]["model"]).backbone)
    unchanged = [path for path in before if np.array_equal(before[path], full[path])]
    assert not unchanged, unchanged
    tuned = weights_by_path(modeldir.load(reports[0]["model"]).backbone)
    changed = {path for path in before if not np.array_equal(before[path], tuned[path])}
    assert any(path.endswith("value/kernel") for path in changed)         # A·B, merged into W when saved
    assert all(any(part in path for part in ADAPTED) for path in changed), sorted(changed)
    import h5py
    with h5py.File(Path(reports[0]["model"]) / lora.ADAPTER_FILE) as adapter:
        names = []
        adapter.visit(names.append)
    assert any("lora_kernel_a" in name for name in names) and any("lora_kernel_b" in name for name in names)


def test_forgetting_figures_come_from_real_evaluations(both_runs):
    from aurore.evaluation import scoring

    base, reports, _ = both_runs
    rules = exercises.rules("evaluate")

    def bits(model) -> float:
        return scoring.evaluate_texts(modeldir.load(model), TEST_BOOK["texts"], rules)["bits_per_character"]

    base_bits = bits(base)
    for report in reports:
        test = report["test_book"]
        assert test["id"] == fixture_books.TEST_ID and test["sentences"] == len(TEST_BOOK["texts"])
        assert test["bits_per_character"]["before"] == pytest.approx(base_bits, rel=1e-5)
        assert test["bits_per_character"]["after"] == pytest.approx(bits(report["model"]), rel=1e-5)
        assert test["bits_per_character"]["after"] != pytest.approx(base_bits, rel=1e-6)
        samples = report["samples"]
        assert samples["base"] == lora.write_sample(modeldir.load(base), exercises.rules("generate"))
        assert samples["tuned"] == lora.write_sample(modeldir.load(report["model"]), exercises.rules("generate"))


def test_the_learners_table_has_the_cost_the_learning_and_the_forgetting(both_runs):
    _, reports, _ = both_runs
    table = lora.learner_table(reports)
    head = next(line for line in table.splitlines() if line.startswith("| method"))
    assert [cell.strip() for cell in head.strip("|").split("|")] == [
        "method", "trainable weights", "share", "seconds per step", "held-out end, before", "held-out end, after",
        "test book, before", "test book, after"]
    lora_row = next(line for line in table.splitlines() if line.startswith("| LoRA rank 4 |"))
    full_row = next(line for line in table.splitlines() if line.startswith("| full fine-tuning |"))
    full = reports[1]
    assert f"| {full['parameters']['trainable']:,} | 100.00 % |" in full_row
    assert full_row.endswith(f"| {full['test_book']['bits_per_character']['before']:.3f} | "
                             f"{full['test_book']['bits_per_character']['after']:.3f} |")
    assert lora_row.split("|")[5].strip() == f"{reports[0]['bits_per_character']['base']:.3f}"
    assert 'Samples ("La nuit était", seed 1):' in table
    assert f"- base model: La nuit était{' '.join(full['samples']['base'].split())}" in table
    data = lora.comparison_data(reports)
    assert [row["method"] for row in data["rows"]] == ["lora", "full"]
    assert data["rows"][1]["test"] == full["test_book"]["bits_per_character"]


def test_an_up_to_date_run_is_reused_and_restart_runs_it_again(both_runs, solution, monkeypatch):
    base, reports, asked = both_runs
    ran = []
    monkeypatch.setattr(lora, "fine_tune", lambda *args, **kwargs: ran.append(kwargs) or reports[0])
    again, _ = compared(base, solution)
    assert again == reports and ran == []
    compared(base, solution, choice="full", restart=True)
    assert [kwargs["rank"] for kwargs in ran] == [None] and ran[0]["base_figures"] is None
    ran.clear()
    compared(base, solution, choice="both", restart=True)
    assert [kwargs["rank"] for kwargs in ran] == [4, None]
    # The base model, measured for LoRA's run, is not measured again for the full one: the same figures.
    assert ran[0]["base_figures"] is None and ran[1]["base_figures"] == {
        "held_out": reports[0]["bits_per_character"]["base"],
        "test": reports[0]["test_book"]["bits_per_character"]["before"], "sample": reports[0]["samples"]["base"]}
    assert not lora.up_to_date(reports[0], asked, 8, None)               # another rank: not this run
    assert not lora.up_to_date(reports[0], {**asked, "max_steps": 3}, 4, None)
    newer = {**asked, "stamp": {**asked["stamp"], "mtime_ns": asked["stamp"]["mtime_ns"] + 1}}
    assert lora.comparable(base, newer) == []                             # a retrained base: nothing compares


def test_cli_runs_both_and_prints_the_table(data_dir, tiny_model_dir, tmp_path, capsys):  # noqa: F811
    source = tmp_path / "books"
    fixture_books.write_fixture_books(source)
    modeldir.copy(tiny_model_dir, paths.model_dir("tiny"))
    args = ["--preset", "tiny", "--book", "90002", "--source", str(source), "--max-steps", "2", "--batch-size", "4"]
    code, err = run_cli(capsys, *args, "--method", "both")
    assert code == 2 and "python -m aurore prepare" in err                # no dataset: no test book to measure
    tiny_sand.make_dataset(paths.dataset_dir())
    code = cli.main(["lora", *args, "--method", "lora"])
    out = capsys.readouterr()
    assert code == 0 and "| LoRA rank 8 |" in out.out and "| full fine-tuning |" not in out.out
    code = cli.main(["lora", *args, "--method", "both"])
    out = capsys.readouterr()
    assert code == 0 and "| LoRA rank 8 |" in out.out and "| full fine-tuning |" in out.out
    assert "test book, after" in out.out and "is up to date" in out.out                                    # LoRA's run was reused
    code, err = run_cli(capsys, *args, "--method", "both", "--out", str(tmp_path / "x"))
    assert code == 2 and "--out names one folder" in err
    code, err = run_cli(capsys, *args, "--method", "lora", "--full")
    assert code == 2 and "--full is --method full" in err


def test_the_run_page_offers_the_method_with_both_by_default(tmp_path):
    from aurore.web import create_app

    client = create_app({"DATA_DIR": str(tmp_path), "TESTING": True, "CHECK_WORKER": False}).test_client()
    page = client.get("/run?step=lora").get_data(as_text=True)
    assert '<label class="run-option" data-option="method" data-steps="lora">' in page    # shown for LoRA alone
    select = page.split('data-option="method"')[1].split("</label>")[0]
    assert '<option value="both" selected>' in select and '<option value="full" >' in select
    assert "LoRA" in select and "les deux" in select                      # French first
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    refused = client.post("/jobs", json={"step": "lora", "variant": "solution", "options": {"method": "adam"}},
                          headers={"X-CSRF-Token": token})
    assert refused.status_code == 400 and "adam" in refused.get_json()["error"]["message"]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_lesson_shows_where_a_and_b_go_before_the_code_that_adds_them(tmp_path, lang):
    import re

    from aurore.web import create_app

    number = next(exercise.number for exercise in exercises.all_exercises() if exercise.step == "lora")
    client = create_app({"DATA_DIR": str(tmp_path), "TESTING": True, "CHECK_WORKER": False}).test_client()
    page = client.get(f"/exercises/{number}?lang={lang}").get_data(as_text=True)
    image = re.search(r'<img src="(/static/img/lora-%s\.svg)" alt="([^"]+)"' % lang, page)
    assert image, "the lesson's figure"
    assert "W" in image[2] and "A" in image[2] and "B" in image[2] and len(image[2]) > 100    # a real text alternative
    assert page.index(image[0]) < page.index("enable_lora")                 # the picture, then the code
    svg = client.get(image[1])
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    text = svg.get_data(as_text=True)
    assert f'lang="{lang}"' in text and "<title" in text and "<desc" in text and "A·B" in text
    lesson = exercises.get(number).lesson[lang]
    assert ("avant et après" if lang == "fr" else "before and after") in lesson    # forgetting: the learner's table
