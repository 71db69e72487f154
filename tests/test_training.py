"""Training: packing, one step learning, resuming after SIGKILL, fine-tuning, errors."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import aurore  # noqa: F401
from aurore import paths
from aurore.corpus import tokenization
from aurore.course import exercises
from aurore.errors import AuroreError
from aurore.evaluation import scoring
from aurore.store import checkpoint, modeldir, saved_dataset
from aurore.training import loop, presets
from tests.test_atomic import _killed
from tiny_sand import TRAIN, make_dataset


@pytest.fixture(scope="module")
def solution():
    return exercises.rules("train")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    dataset = make_dataset(root / "dataset", repeat=3)
    tokenizer = tokenization.byte_level_bpe(TRAIN, 400)
    modeldir.save_tokenizer(tokenizer, root / "tokenizer")
    return root


def test_packing_loses_and_duplicates_nothing_and_places_separators(solution):
    sentences = [[5, 6, 7], [8], [9, 10, 11, 12, 13], [14, 15]]
    eos, length = 0, 4
    inputs, targets = solution.pack(sentences, eos, length)
    stream = [0, 5, 6, 7, 0, 8, 0, 9, 10, 11, 12, 13, 0, 14, 15, 0]
    blocks = (len(stream) - 1) // length
    assert inputs.shape == targets.shape == (blocks, length)
    assert inputs.ravel().tolist() == stream[:blocks * length]
    assert targets.ravel().tolist() == stream[1:blocks * length + 1]
    assert (inputs[:, 1:] == targets[:, :-1]).all()


def test_one_training_step_lowers_the_loss_on_a_fixed_batch(solution):
    import keras

    settings = presets.preset("tiny", warmup_steps=0, learning_rate=1e-2)
    keras.utils.set_random_seed(0)
    lm = solution.build_model(settings, vocab_size=50)
    solution.compile_model(lm, solution.make_optimizer(settings, total_steps=10))
    x = np.random.default_rng(0).integers(0, 50, size=(4, settings["sequence_length"])).astype("int32")
    features = {"token_ids": x[:, :-1], "padding_mask": np.ones_like(x[:, :-1])}
    before = lm.evaluate(features, x[:, 1:], verbose=0)
    lm.train_on_batch(features, x[:, 1:])
    after = lm.evaluate(features, x[:, 1:], verbose=0)
    assert after < before
    assert before == pytest.approx(np.log(50), abs=0.2)  # a fresh model guesses uniformly


def _train(data, model_dir, *extra, **popen):
    command = [sys.executable, "-m", "aurore", "train", "--preset", "tiny", "--data", str(data / "dataset"),
               "--tokenizer", str(data / "tokenizer"), "--model", str(model_dir), *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "AURORE_PROGRESS": "json"}, **popen)


def test_a_run_killed_with_sigkill_resumes_from_its_checkpoint(data, tmp_path):
    model_dir = tmp_path / "model"
    first = _train(data, model_dir, "--max-steps", "100000", "--set", "eval_interval=3")
    deadline = time.monotonic() + 120
    state_file = model_dir / "checkpoint" / "state.json"
    while time.monotonic() < deadline:
        if state_file.exists() and json.loads(state_file.read_text())["step"] >= 9:
            break
        assert first.poll() is None, first.stdout.read()
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = checkpoint.read_state(model_dir)["step"]
    assert killed_at >= 9
    assert modeldir.load_tokenizer(model_dir / "checkpoint" / "tokenizer")  # resumes with its own tokenizer

    second = _train(data, model_dir, "--max-steps", str(killed_at + 6), "--set", "eval_interval=3")
    output, _ = second.communicate(timeout=180)
    assert second.returncode == 0, output
    events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any(f"Resuming from the checkpoint at step {killed_at}" in e.get("message", "") for e in events)
    steps = [e["step"] for e in events if e["event"] == "metrics"]
    assert steps and steps[0] > killed_at and steps[-1] == killed_at + 6
    history = [json.loads(line) for line in (model_dir / "metrics.jsonl").read_text().splitlines()]
    recorded = [h["step"] for h in history]
    assert recorded == sorted(set(recorded)) and recorded[-1] == killed_at + 6
    assert min(recorded) == 3  # the history from before the kill is kept
    loaded = modeldir.load(model_dir)
    assert loaded.settings["preset"] == "tiny" and loaded.settings["sequence_length"] == 32


def test_fine_tuning_starts_from_the_given_model(data, tmp_path, solution):
    base = tmp_path / "base"
    settings = presets.preset("tiny", max_steps=8)
    loop.train(solution, data / "dataset", data / "tokenizer", base, settings)
    base_loss = json.loads((base / modeldir.CONFIG_FILE).read_text())["settings"]["val_loss"]

    tuned = tmp_path / "tuned"
    frozen = presets.preset("tiny", max_steps=4, learning_rate=0.0)
    loop.train(solution, data / "dataset", tmp_path / "no-tokenizer-needed", tuned, frozen, init=str(base))
    first = json.loads((tuned / "metrics.jsonl").read_text().splitlines()[0])
    assert first["val_loss"] == pytest.approx(base_loss, abs=1e-4)  # same weights, no learning
    assert modeldir.load(tuned).settings["init"] == str(base)


def test_the_corpus_sentence_splitter_goes_into_the_model_folder(data, tmp_path, solution):
    dataset = tmp_path / "dataset"
    shutil.copytree(data / "dataset", dataset)
    parameters = {"format": 1, "abbrev_types": ["mme", "vte"], "collocations": [], "sent_starters": [],
                  "ortho_context": {}}
    (dataset / saved_dataset.SPLITTER_FILE).write_text(json.dumps(parameters), encoding="utf-8")
    loop.train(solution, dataset, data / "tokenizer", tmp_path / "m", presets.preset("tiny", max_steps=2))
    assert modeldir.load(tmp_path / "m").splitter == parameters
    modeldir.copy(tmp_path / "m", tmp_path / "copied")
    assert modeldir.read_splitter(tmp_path / "copied") == parameters
    loop.train(solution, data / "dataset", data / "tokenizer", tmp_path / "old", presets.preset("tiny", max_steps=2))
    assert modeldir.load(tmp_path / "old").splitter is None  # a dataset from before: prompts cut by rule


def test_missing_inputs_and_bad_settings_are_clear_errors(data, tmp_path, solution):
    settings = presets.preset("tiny")
    with pytest.raises(AuroreError, match="python -m aurore prepare"):
        loop.train(solution, tmp_path / "none", data / "tokenizer", tmp_path / "m", settings)
    with pytest.raises(AuroreError, match="python -m aurore tokenizer"):
        loop.train(solution, data / "dataset", tmp_path / "none", tmp_path / "m", settings)
    with pytest.raises(AuroreError, match="no such model directory"):
        loop.train(solution, data / "dataset", data / "tokenizer", tmp_path / "m", settings,
                   init=str(tmp_path / "missing" / "model"))
    with pytest.raises(AuroreError, match="Unknown training setting"):
        presets.settings_from_args("tiny", ["colour=blue"])
    with pytest.raises(AuroreError, match="key=value"):
        presets.settings_from_args("tiny", ["batch_size"])
    with pytest.raises(AuroreError, match="Unknown preset"):
        presets.preset("huge")


def test_an_unfinished_run_of_another_preset_is_not_mixed_up(data, tmp_path, solution):
    folder = checkpoint.directory(tmp_path / "m")
    folder.mkdir(parents=True)
    for name in (checkpoint.WEIGHTS_FILE, checkpoint.OPTIMIZER_FILE):
        (folder / name).write_bytes(b"")
    (folder / checkpoint.STATE_FILE).write_text(json.dumps({"step": 5, "settings": {"preset": "cpu"}}))
    with pytest.raises(AuroreError, match="--restart"):
        loop.train(solution, data / "dataset", data / "tokenizer", tmp_path / "m", presets.preset("tiny"))


def test_pipeline_runs_tokenizer_train_generate_and_evaluate_after_prepare(data, tmp_path, monkeypatch, capsys):
    from aurore import cli

    make_dataset(tmp_path / "dataset", repeat=3)
    monkeypatch.setenv("AURORE_DATA", str(tmp_path))
    measured = []
    real_evaluate = scoring.evaluate
    monkeypatch.setattr(scoring, "evaluate", lambda *a, **k: measured.append(a) or real_evaluate(*a, **k))
    assert cli.main(["pipeline", "--preset", "tiny"]) == 0
    assert len(measured) == 1, "the model is measured once: by the evaluate step, not again at the end of train"
    output = capsys.readouterr()
    assert "Step prepare: already done" in output.out + output.err
    assert modeldir.load_tokenizer(tmp_path / "tokenizer")
    loaded = modeldir.load(tmp_path / "models" / "tiny")
    assert loaded.settings["step"] == presets.PRESETS["tiny"]["max_steps"]
    report = json.loads(output.out[output.out.rindex('{\n "model"'):])   # evaluate's report, printed last
    assert report["model"] == str(tmp_path / "models" / "tiny")
    assert report["test"]["bits_per_character"] > 0 and report["baselines"]["xz"]["bits_per_character"] > 0


def test_an_unfinished_exercise_gives_a_clear_message(data, tmp_path, monkeypatch):
    from aurore import cli

    exercise = exercises.get(5)
    (tmp_path / exercise.filename).write_text(exercises.stub_for(exercise), encoding="utf-8")
    monkeypatch.setenv("AURORE_EXERCISES", str(tmp_path))
    args = cli.build_parser().parse_args(["train", "--preset", "tiny", "--use", "exercise",
                                          "--data", str(data / "dataset"), "--tokenizer", str(data / "tokenizer"),
                                          "--model", str(tmp_path / "m")])
    with pytest.raises(AuroreError, match="Exercise 5 is not finished: `pack`"):
        args.handler(args)


def test_the_schedule_is_fitted_to_the_time_budget(solution):
    import keras

    from aurore.training.callbacks import estimate_horizon, TimeBudgetSchedule

    settings = presets.preset("tiny", learning_rate=1e-3, warmup_steps=10)
    base = solution.make_optimizer(settings, 100)._learning_rate
    horizon = keras.Variable(100.0, trainable=False)
    fitted = TimeBudgetSchedule(base, 100, horizon)
    assert [float(fitted(s)) for s in (0, 5, 50, 99)] == pytest.approx([float(base(s)) for s in (0, 5, 50, 99)])
    horizon.assign(50.0)  # only half the steps fit: the same curve, twice as fast
    assert float(fitted(25)) == pytest.approx(float(base(50)))
    assert float(fitted(50)) == pytest.approx(float(base(100)))
    # 10 steps done at 2 steps/s with 30 s left: 10 + 0.97·60 = 68 steps in all, capped by max_steps.
    assert estimate_horizon(10, 2.0, 30.0, max_steps=1000) == 68
    assert estimate_horizon(10, 2.0, 30.0, max_steps=40) == 40
    assert estimate_horizon(10, 2.0, -5.0, max_steps=1000) == 11


def test_training_resumes_after_a_crash_mid_swap(data, tmp_path, solution, capsys):
    model_dir = tmp_path / "m"
    settings = presets.preset("tiny", max_steps=4, eval_interval=2)
    loop.train(solution, data / "dataset", data / "tokenizer", model_dir, settings)
    # A save of the checkpoint killed (SIGKILL) between its two renames: the real swap, cut short.
    _killed("dir", checkpoint.directory(model_dir), call=1, when="after")
    assert not checkpoint.directory(model_dir).exists()
    capsys.readouterr()
    again = loop.train(solution, data / "dataset", data / "tokenizer", model_dir, presets.preset("tiny", max_steps=4,
                                                                                                      eval_interval=2))
    assert again["stopped"] == "already finished" and again["step"] == 4    # not a new run from step 0
    assert f"Training in {model_dir} already finished (step 4)" in capsys.readouterr().out
    assert checkpoint.exists(model_dir)


def test_two_trainings_of_one_model_are_refused(data, tmp_path, solution):
    model_dir = tmp_path / "m"
    with modeldir.training_lock(model_dir):
        with pytest.raises(AuroreError, match="Another training is already writing"):
            loop.train(solution, data / "dataset", data / "tokenizer", model_dir, presets.preset("tiny"))
        # Another process is refused too (the lock is the kernel's).
        other = _train(data, model_dir, "--max-steps", "2")
        output, _ = other.communicate(timeout=120)
        assert other.returncode == 2 and "Another training is already writing" in output
    assert not checkpoint.exists(model_dir)


def test_the_learners_training_gets_its_own_folder_samples_and_an_evaluation(data, tmp_path):
    import shutil

    assert paths.model_dir("tiny", "exercise") == paths.models_dir() / "tiny-mine"
    assert paths.model_dir("cpu", "solution") == paths.models_dir() / "cpu"
    learner = tmp_path / "exercises"
    learner.mkdir()
    shutil.copy2(exercises.get(5).solution_path, learner / exercises.get(5).filename)   # a finished exercise 5
    home = tmp_path / "home"
    shutil.copytree(data, home)
    result = subprocess.run([sys.executable, "-m", "aurore", "train", "--preset", "tiny", "--use", "exercise"],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "AURORE_PROGRESS": "json", "AURORE_DATA": str(home),
                                 "AURORE_EXERCISES": str(learner)})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    mine = home / "models" / "tiny-mine"
    assert modeldir.is_model_dir(mine) and not (home / "models" / "tiny").exists()

    # At every evaluation, the same prompt and seed, written by the weights of that moment.
    evaluations = [e["step"] for e in events if e["event"] == "metrics"]
    samples = [e for e in events if e["event"] == "sample"]
    assert [s["step"] for s in samples] == evaluations == [4, 8, 12]
    assert {(s["prompt"], s["seed"]) for s in samples} == {("La nuit était", 1)}
    assert all(isinstance(s["text"], str) and s["text"] for s in samples)

    # At the end: the evaluation, as an event and beside the weights.
    [report] = [e["report"] for e in events if e["event"] == "evaluation"]
    assert set(report) >= {"test", "validation", "vocab_size", "fresh_loss", "baseline"}
    assert report["test"]["loss_per_token"] < report["fresh_loss"]         # it learnt something
    assert scoring.read_report(mine)["test"] == report["test"]


def test_under_a_time_limit_the_progress_total_is_the_steps_the_time_allows(data, tmp_path, solution,
                                                                            monkeypatch, capsys):
    monkeypatch.setenv("AURORE_PROGRESS", "json")
    settings = presets.preset("tiny", max_steps=100_000, eval_interval=50)
    summary = loop.train(solution, data / "dataset", data / "tokenizer", tmp_path / "m", settings,
                         max_minutes=0.4)
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    bars = [e for e in events if e["event"] == "progress" and e["task"] == "Training"]
    assert bars[0]["total"] is None  # not max_steps: the speed is not known yet
    totals = [e["total"] for e in bars if e["total"] is not None]
    assert totals and max(totals) < 100_000
    assert not [e for e in events if e["event"] == "sample"]   # no sampler given: no samples
    # The run ends with the time budget, near where the bar said it would (the last estimate is up to
    # 100 steps old: a CPU that frees up meanwhile runs a few percent more steps).
    assert 0.5 * totals[-1] <= summary["step"] <= 1.1 * totals[-1] + 1


def test_muon_replaces_adamw_on_request_and_learns(solution):
    import keras

    from aurore.training import optimizers

    settings = presets.preset("tiny", warmup_steps=0, learning_rate=1e-2, optimizer="muon")
    adamw = solution.make_optimizer(settings, total_steps=10)
    assert optimizers.chosen(adamw, presets.preset("tiny")) is adamw  # AdamW unless asked
    muon = optimizers.chosen(adamw, settings)
    assert isinstance(muon, keras.optimizers.Muon) and muon.clipnorm == adamw.clipnorm
    keras.utils.set_random_seed(0)
    lm = solution.build_model(settings, vocab_size=50)
    solution.compile_model(lm, muon)
    x = np.random.default_rng(0).integers(0, 50, size=(4, settings["sequence_length"])).astype("int32")
    features = {"token_ids": x[:, :-1], "padding_mask": np.ones_like(x[:, :-1])}
    before = lm.evaluate(features, x[:, 1:], verbose=0)
    lm.train_on_batch(features, x[:, 1:])
    assert lm.evaluate(features, x[:, 1:], verbose=0) < before
    with pytest.raises(AuroreError, match="optimizer=muon"):
        presets.preset("tiny", optimizer="sgd")


def test_training_imports_no_later_stage():
    """Stages import only earlier ones: training/ knows nothing of generation, evaluation, the bonuses…"""
    import ast

    later = ("aurore.generation", "aurore.evaluation", "aurore.bonus", "aurore.course", "aurore.commands",
             "aurore.web")
    found = []
    for source in sorted(Path(loop.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{source.name}: {name}" for name in names if name.startswith(later)]
    assert found == []


def test_the_evaluation_after_training_keeps_a_report_and_survives_a_failure(monkeypatch):
    from types import SimpleNamespace

    from aurore import progress
    from aurore.commands import evaluate_after_training

    events, logs = [], []
    monkeypatch.setattr(progress, "event", lambda kind, **fields: events.append((kind, fields)))
    monkeypatch.setattr(progress, "log", logs.append)
    measured = {"test": 1.0, "validation": 2.0}
    saved = {}
    reports = SimpleNamespace(read_report=lambda folder: saved.get(folder),
                              evaluate=lambda folder, data, rules: dict(measured, rules=rules),
                              save_report=lambda folder, report: saved.update({folder: report}))
    message = lambda report: f"test {report['test']}"   # noqa: E731

    evaluate_after_training(reports, "m", "d", "The model", message, "exercise 7")
    measured_with = dict(measured, rules="exercise 7")     # measured with the rules it was given
    assert saved == {"m": measured_with} and events == [("evaluation", {"report": measured_with,
                                                                         "message": "test 1.0"})]
    reports.evaluate = lambda folder, data, rules: pytest.fail("a saved report of these weights is not measured again")
    evaluate_after_training(reports, "m", "d", "The model", message, "exercise 7")
    assert len(events) == 2

    saved["m"] = {"test": 3.0}    # the test book only (as `evaluate` compares): measured again
    reports.evaluate = lambda folder, data, rules: dict(measured)
    evaluate_after_training(reports, "m", "d", "The model", message, "exercise 7")
    assert saved["m"] == measured and events[-1][1]["message"] == "test 1.0"

    def failing(folder, data, rules):
        raise AuroreError("no dataset")

    reports.read_report, reports.evaluate = (lambda folder: None), failing
    evaluate_after_training(reports, "m", "d", "The model", message, "exercise 7")
    assert logs == ["The model could not be evaluated: no dataset"] and len(events) == 3
