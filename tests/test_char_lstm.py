"""The char-LSTM baseline (bonus exercise 8): data pieces, training (time limit, resuming, atomic saves),
bits per character, the `char-lstm` command, the evaluate table and the run page's step."""

import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest

import aurore  # noqa: F401
from aurore.bonus import char_lstm
from aurore.commands import evaluate as evaluate_command
from aurore.course import exercises
from aurore.errors import AuroreError
from aurore.evaluation import scoring
from aurore.store import checkpoint
from aurore.training import resumable
from fixture_books import make_tiny_dataset
from tiny_model import tiny_model_dir  # noqa: F401  (a session fixture)

SOLUTION = exercises.rules("char-lstm")
#: Exercise 7's reference, which turns log-likelihoods into figures.
FIGURES = exercises.rules("evaluate")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("char-lstm") / "dataset")


@pytest.fixture(scope="module")
def splits(dataset):
    from aurore.store import saved_dataset

    return saved_dataset.load(dataset)


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory):
    """A tiny char-LSTM trained for 8 steps on the fixture books (then resumed in a test below)."""
    folder = tmp_path_factory.mktemp("lstm") / "char-lstm"
    summary = char_lstm.train(SOLUTION, dataset, folder, char_lstm.preset("tiny", max_steps=8))
    return folder, summary


# -- data pieces -------------------------------------------------------------------------------
def test_the_vocabulary_is_every_training_character_once_after_the_reserved_two(splits):
    texts = splits["train"]["text"]
    vocab = char_lstm.vocabulary(SOLUTION, texts)
    assert vocab[:2] == [SOLUTION.UNKNOWN, SOLUTION.SEPARATOR]
    assert vocab[2:] == sorted(set("".join(texts)))
    assert {"é", "«", "—"} <= set(vocab)           # the fixture books' accents and dialogue marks
    assert char_lstm.vocabulary(SOLUTION, list(reversed(texts))) == vocab     # same books, same ids


def test_the_stream_lays_the_sentences_out_as_evaluation_counts_them(splits):
    train, test = splits["train"]["text"], splits["test"]["text"]
    vocab = char_lstm.vocabulary(SOLUTION, train)
    stream = char_lstm.encode(SOLUTION, test, vocab)
    # One id per character and per separator, plus the first separator: every character is predicted once.
    assert len(stream) - 1 == sum(len(text) + 1 for text in test if text)
    decoded = "".join(vocab[i] for i in stream)
    unknown = set("".join(test)) - set(vocab)
    expected = "\n" + "".join(text + "\n" for text in test if text)
    assert decoded == "".join(SOLUTION.UNKNOWN if c in unknown else c for c in expected)


def test_blocks_are_full_and_their_targets_are_the_next_characters():
    inputs, targets = char_lstm.blocks(np.arange(11, dtype=np.int32), 3, "training")
    assert inputs.tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert targets.tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    with pytest.raises(AuroreError, match="too short to fill one block of 16"):
        char_lstm.blocks(np.arange(10, dtype=np.int32), 16, "validation")


def test_settings_are_checked_with_clear_messages():
    settings = char_lstm.preset("cpu", ["units=256", "dropout=0.2"], max_minutes=3)
    assert (settings["units"], settings["dropout"], settings["max_minutes"], settings["preset"]) == (256, 0.2, 3, "cpu")
    for pairs, message in ((["num_heads=4"], "Unknown char-LSTM setting 'num_heads'"),
                           (["units"], "write it as key=value"),
                           (["units=big"], "whole number"),
                           (["dropout=1.5"], "dropout must be")):
        with pytest.raises(AuroreError, match=message):
            char_lstm.preset("tiny", pairs)
    with pytest.raises(AuroreError, match="Unknown char-LSTM preset"):
        char_lstm.preset("gpu")


def test_learners_pieces_that_return_the_wrong_thing_get_a_clear_message(splits):
    from types import SimpleNamespace

    texts = splits["train"]["text"][:5]
    wrong = SimpleNamespace(build_vocabulary=lambda texts: "abc", encode=lambda texts, vocab: [[1, 2]])
    with pytest.raises(AuroreError, match="Exercise 8: `build_vocabulary`"):
        char_lstm.vocabulary(wrong, texts)
    with pytest.raises(AuroreError, match="Exercise 8: `encode`"):
        char_lstm.encode(wrong, texts, ["?", "\n", "a"])


# -- training, saving, resuming -----------------------------------------------------------------
def test_training_leaves_a_complete_folder_with_its_curve_and_checkpoint(trained):
    folder, summary = trained
    assert summary["step"] == 8 and summary["stopped"] == "reached 8 steps"
    assert char_lstm.is_model_dir(folder) and checkpoint.exists(folder)
    history = [json.loads(line) for line in (folder / resumable.METRICS_FILE).read_text().splitlines()]
    assert [record["step"] for record in history] == [4, 8]
    assert all(record["val_loss"] > 0 for record in history)
    config = char_lstm.read_config(folder)
    assert config["kind"] == "char-lstm" and config["settings"]["step"] == summary["best_step"]
    assert not (folder / "tokenizer").exists()        # never listed among the GPT-2 models


def test_a_finished_run_says_so_and_another_preset_is_refused(trained, dataset, capsys):
    folder, _ = trained
    capsys.readouterr()
    again = char_lstm.train(SOLUTION, dataset, folder, char_lstm.preset("tiny", max_steps=8))
    assert again["stopped"] == "already finished" and again["step"] == 8
    assert f"The char-LSTM training in {folder} already finished (step 8)" in capsys.readouterr().out
    state = checkpoint.read_state(folder)
    (checkpoint.directory(folder) / checkpoint.STATE_FILE).write_text(json.dumps({**state, "finished": False}))
    try:
        with pytest.raises(AuroreError, match="unfinished char-LSTM training with the preset 'tiny', not 'cpu'"
                                              r".*--restart\.$"):
            char_lstm.train(SOLUTION, dataset, folder, char_lstm.preset("cpu"))
    finally:
        (checkpoint.directory(folder) / checkpoint.STATE_FILE).write_text(json.dumps(state))


def test_the_time_limit_stops_the_training_and_the_next_run_resumes(dataset, tmp_path):
    folder = tmp_path / "timed"
    first = char_lstm.train(SOLUTION, dataset, folder, char_lstm.preset("tiny", max_steps=100_000),
                            max_minutes=0.05)
    assert first["stopped"] == "reached the time limit (--max-minutes)" and first["step"] < 100_000
    assert char_lstm.is_model_dir(folder) and not checkpoint.read_state(folder).get("finished")
    resumed = char_lstm.train(SOLUTION, dataset, folder, char_lstm.preset("tiny", max_steps=first["step"] + 4))
    assert resumed["step"] == first["step"] + 4 and resumed["stopped"] == f"reached {first['step'] + 4} steps"
    steps = [json.loads(line)["step"] for line in (folder / resumable.METRICS_FILE).read_text().splitlines()]
    assert steps == sorted(steps) and steps[-1] == first["step"] + 4
    assert checkpoint.read_state(folder)["vocabulary"] == char_lstm.read_config(folder)["vocabulary"]


def test_a_save_cut_short_leaves_the_previous_model(trained, tmp_path):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(trained[0], folder)
    before = {name: (folder / name).read_bytes() for name in (char_lstm.MODEL_FILE, char_lstm.CONFIG_FILE)}

    class Crashing:
        def save(self, path):
            with open(path, "wb") as handle:
                handle.write(b"half a model")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        char_lstm.save(folder, Crashing(), ["?", "\n"], {})
    assert {name: (folder / name).read_bytes() for name in before} == before
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []


# -- bits per character -------------------------------------------------------------------------
def test_a_uniform_lstm_scores_log2_of_its_vocabulary(dataset, splits, tmp_path):
    vocab = char_lstm.vocabulary(SOLUTION, splits["train"]["text"])
    model = SOLUTION.build_model(char_lstm.preset("tiny"), len(vocab))
    dense = model.layers[-1]
    dense.set_weights([np.zeros_like(w) for w in dense.get_weights()])      # every logit 0: even odds
    char_lstm.save(tmp_path / "uniform", model, vocab, {"eval_length": 50, "step": 0})
    report = char_lstm.evaluate(tmp_path / "uniform", dataset, rules=FIGURES)
    for split in ("test", "validation"):
        characters = sum(len(text) + 1 for text in splits[split]["text"] if text)
        assert report[split]["tokens"] == report[split]["characters"] == characters
        assert report[split]["bits_per_character"] == pytest.approx(math.log2(len(vocab)), rel=1e-5)
    assert report["fresh_loss"] == pytest.approx(math.log(len(vocab)))
    assert 0 < report["baseline"]["xz_bits_per_character"] < 8


def test_the_trained_lstm_beats_even_odds_and_its_report_is_kept(trained, dataset):
    folder, _ = trained
    report = char_lstm.evaluate(folder, dataset, rules=FIGURES)
    assert report["test"]["bits_per_character"] < math.log2(report["vocab_size"])
    char_lstm.save_report(folder, report)
    assert char_lstm.read_report(folder)["test"] == report["test"]
    assert char_lstm.test_report(folder, dataset, FIGURES)["test"] == report["test"]


def test_a_missing_model_is_a_clear_error(tmp_path, dataset):
    with pytest.raises(AuroreError, match="python -m aurore char-lstm"):
        char_lstm.evaluate(tmp_path / "nothing", dataset, rules=FIGURES)


# -- the command line ---------------------------------------------------------------------------
def run_aurore(*args, env=None):
    import os

    return subprocess.run([sys.executable, "-m", "aurore", *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})


@pytest.mark.timeout(1200)              # a training of up to 600 s, then two refusals
def test_the_command_trains_and_measures_and_refuses_a_stub(dataset, tmp_path):
    folder = tmp_path / "cli"
    result = run_aurore("char-lstm", "--preset", "tiny", "--model", str(folder), "--data", str(dataset),
                        "--max-steps", "4")
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout[result.stdout.index("\n{\n") + 1:result.stdout.rindex("}") + 1])["step"] == 4
    assert "bits per character on the test book" in result.stdout
    assert char_lstm.read_report(folder)["test"]["bits_per_character"] > 0

    exercise = exercises.for_step("char-lstm")
    (tmp_path / exercise.filename).write_text(exercises.stub_for(exercise), encoding="utf-8")
    result = run_aurore("char-lstm", "--preset", "tiny", "--model", str(tmp_path / "mine"), "--data",
                        str(dataset), "--use", "exercise", env={"AURORE_EXERCISES": str(tmp_path)})
    assert result.returncode == 2 and "Exercise 8 is not finished" in result.stderr
    assert "build_vocabulary" in result.stderr and "Traceback" not in result.stderr

    result = run_aurore("char-lstm", "--data", str(tmp_path / "none"), "--model", str(tmp_path / "x"))
    assert result.returncode == 2 and "python -m aurore prepare" in result.stderr
    assert "Traceback" not in result.stderr


def test_evaluate_sets_gpt2_the_lstm_and_xz_side_by_side(tiny_model_dir, trained, dataset, tmp_path):  # noqa: F811
    folder, _ = trained
    result = run_aurore("evaluate", "--model", str(tiny_model_dir), "--data", str(dataset),
                        "--char-lstm", str(folder))
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    rows = {row["model"].split(" (")[0]: row for row in report["comparison"]}
    assert list(rows) == ["GPT-2", "char-LSTM", "xz", "unigram"]
    assert rows["GPT-2"]["bits_per_character"] == pytest.approx(report["test"]["bits_per_character"])
    lstm = char_lstm.evaluate(folder, dataset, splits=("test",), rules=FIGURES)
    assert rows["char-LSTM"]["bits_per_character"] == pytest.approx(lstm["test"]["bits_per_character"], rel=1e-5)
    assert rows["xz"]["bits_per_character"] == report["baseline"]["xz_bits_per_character"]
    table = result.stderr[result.stderr.index("test book (La Mare au Diable)"):]
    for name, row in rows.items():
        assert name in table and f"{row['bits_per_character']:.3f}" in table


def test_the_table_says_how_to_train_a_missing_lstm(tiny_model_dir, dataset, tmp_path):  # noqa: F811
    report = scoring.evaluate(tiny_model_dir, dataset, splits=("test",), rules=FIGURES)
    rows = evaluate_command.comparison(report, tiny_model_dir, tmp_path / "char-lstm-mine", dataset, FIGURES,
                                       variant="exercise")
    assert rows[1]["bits_per_character"] is None
    assert rows[1]["note"] == "not trained: python -m aurore char-lstm --use exercise"
    table = evaluate_command.format_table(rows)
    assert re.search(r"^char-LSTM \(char-lstm-mine\) +— +not trained: python -m aurore char-lstm --use exercise$",
                     table, re.MULTILINE), table
    assert any("char-LSTM (char-lstm-mine) (not trained" in line for line in evaluate_command.summary_lines(
        {**report, "comparison": rows}))


# -- the run page -------------------------------------------------------------------------------
def test_the_run_page_offers_the_step_with_a_time_limit_and_start_over(tmp_path):
    from aurore.web import create_app
    from aurore.web.workshop import pages
    from aurore.web.workshop.jobs import JobError

    steps = pages.default_steps(train_minutes=3)
    assert steps["char-lstm"]["argv"][3:] == ["char-lstm", "--use", "{variant}"]
    app = create_app({"DATA_DIR": str(tmp_path), "TESTING": True})
    with app.app_context():
        runner = pages.job_runner()
        assert runner.argv("char-lstm", "exercise")[3:] == ["char-lstm", "--use", "exercise", "--max-minutes", "5"]
        argv = runner.argv("char-lstm", "exercise", {"max_minutes": 2, "restart": True})
        assert argv[3:] == ["char-lstm", "--use", "exercise", "--max-minutes", "2", "--restart"]
        with pytest.raises(JobError, match="Unknown option"):
            runner.argv("char-lstm", "solution", {"preset": "tiny"})
    page = app.test_client().get("/run?step=char-lstm").get_data(as_text=True)
    assert '<option value="char-lstm" selected>Bonus A' in page
    timed = [exercise.step for exercise in exercises.all_exercises() if "max_minutes" in exercise.job_options]
    assert "char-lstm" in timed and f'data-steps="{" ".join(timed)}"' in page   # the steps with a time limit
    home = app.test_client().get("/").get_data(as_text=True)
    assert "Bonus A" in home and 'href="/exercises/8"' in home
