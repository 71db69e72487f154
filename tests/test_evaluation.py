"""Evaluation: the arithmetic on hand-computed cases, a uniform model, the baselines, the learner's
code (`--use exercise`), clear errors."""

import json
import lzma
import math
import re
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import aurore  # noqa: F401
from aurore.corpus import tokenization
from aurore.course import exercises
from aurore.errors import AuroreError
from aurore.evaluation import scoring
from aurore.store import modeldir
from tiny_sand import TEST, TRAIN, VALIDATION, make_dataset

#: Exercise 7's reference code, passed to the evaluation stage as the commands pass it.
SOLUTION = exercises.rules("evaluate")


def test_summary_on_a_case_computed_by_hand():
    # 4 tokens each guessed among 8 equally likely ones: NLL = 4·ln 8 nats = 12 bits,
    # spread over 6 characters → 2 bits per character; perplexity 8.
    summary = scoring.summarise(np.full(4, -math.log(8)), characters=6, rules=SOLUTION)
    assert summary["loss_per_token"] == pytest.approx(math.log(8))
    assert summary["perplexity"] == pytest.approx(8.0)
    assert summary["bits_per_character"] == pytest.approx(2.0)
    assert (summary["tokens"], summary["characters"]) == (4, 6)
    with pytest.raises(AuroreError):
        scoring.summarise([], characters=0, rules=SOLUTION)


def test_exercise_7_code_that_returns_no_number_gets_a_clear_message_at_once():
    solution = exercises.load_module(7)
    scoring.try_rules(solution, with_baselines=True)
    for name, wrong, message in (("perplexity", lambda ll: None, "`perplexity` returned None"),
                                 ("unigram_log_likelihoods", lambda *args: 0.0, "not one value per test token"),
                                 ("xz_bits_per_character", lambda *args: "2.2 bits", "`xz_bits_per_character`")):
        rules = SimpleNamespace(**{**vars(solution), name: wrong})
        with pytest.raises(AuroreError, match=re.escape(message)):
            scoring.try_rules(rules, with_baselines=True)


def test_windows_predict_every_token_but_the_first_exactly_once():
    stream = np.arange(10, dtype=np.int32)
    inputs, targets, mask = scoring.windows(stream, 4)
    assert inputs.shape == (3, 4) and mask.sum() == 9
    predicted = targets[mask > 0].tolist()
    assert predicted == list(range(1, 10))
    assert inputs[mask > 0].tolist() == list(range(0, 9))


@pytest.fixture(scope="module")
def uniform_model(tmp_path_factory):
    """A GPT-2 whose token embedding is zero: all logits are 0, every token equally likely."""
    import keras_hub

    root = tmp_path_factory.mktemp("eval")
    tokenizer = tokenization.byte_level_bpe(TRAIN, 400)
    backbone = keras_hub.models.GPT2Backbone(vocabulary_size=len(tokenizer), num_layers=1, num_heads=2,
                                             hidden_dim=16, intermediate_dim=32, dropout=0.0,
                                             max_sequence_length=16)
    embedding = backbone.get_layer("token_embedding").embeddings
    embedding.assign(np.zeros(embedding.shape, "float32"))
    modeldir.save(root / "model", backbone, tokenizer, {"sequence_length": 16})
    return root, tokenizer


def test_a_uniform_model_has_the_vocabulary_size_as_perplexity(uniform_model):
    root, tokenizer = uniform_model
    make_dataset(root / "dataset")
    report = scoring.evaluate(root / "model", root / "dataset", rules=SOLUTION)
    vocab = len(tokenizer)
    for split, texts in (("test", TEST), ("validation", VALIDATION)):
        result = report[split]
        tokens = sum(len(tokenizer(t)["input_ids"]) + 1 for t in texts)  # each sentence and its separator
        characters = sum(len(t) + 1 for t in texts)
        assert result["tokens"] == tokens and result["characters"] == characters
        assert result["perplexity"] == pytest.approx(vocab, rel=1e-4)
        assert result["bits_per_character"] == pytest.approx(tokens * math.log2(vocab) / characters, rel=1e-4)


def test_baselines_count_the_training_tokens_and_let_xz_read_the_training_books(uniform_model):
    root, tokenizer = uniform_model
    report = scoring.baselines(tokenizer, TRAIN, TEST, SOLUTION)
    characters = sum(len(t) + 1 for t in TEST)
    # The unigram model, by hand: counts of the training stream (eos s1 eos … eos, less the first eos) + 1.
    def stream(texts):
        ids = [tokenizer.eos_token_id]
        for text in texts:
            ids += tokenizer(text)["input_ids"] + [tokenizer.eos_token_id]
        return ids[1:]
    counts = np.bincount(stream(TRAIN), minlength=len(tokenizer)) + 1.0
    bits = -np.log2(counts / counts.sum())[stream(TEST)].sum()
    assert report["unigram"]["bits_per_character"] == pytest.approx(bits / characters)
    assert report["unigram"]["characters"] == report["xz"]["characters"] == characters
    train_file = "".join(t + "\n" for t in TRAIN).encode()
    both = len(lzma.compress(train_file + "".join(t + "\n" for t in TEST).encode()))
    assert report["xz"]["bits_per_character"] == pytest.approx((both - len(lzma.compress(train_file))) * 8 / characters)
    with pytest.raises(AuroreError, match="empty"):
        scoring.baselines(tokenizer, [], TEST, SOLUTION)


def test_evaluate_runs_the_learners_exercise_7(uniform_model, tmp_path, monkeypatch):
    """`--use exercise` runs exercises/07_evaluate.py: a stub is refused clearly, a finished one is used."""
    root, _ = uniform_model
    make_dataset(root / "dataset")
    exercise = exercises.for_step("evaluate")
    monkeypatch.setenv("AURORE_EXERCISES", str(tmp_path))
    (tmp_path / exercise.filename).write_text(exercises.stub_for(exercise), encoding="utf-8")
    command = [sys.executable, "-m", "aurore", "evaluate", "--model", str(root / "model"),
               "--data", str(root / "dataset"), "--use", "exercise"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"Exercise {exercise.number} is not finished" in result.stderr and "loss_per_token" in result.stderr
    assert "Traceback" not in result.stderr

    # A finished exercise whose perplexity is off by one: the report must show the learner's figure.
    solution = exercise.solution_path.read_text(encoding="utf-8")
    (tmp_path / exercise.filename).write_text(solution.replace(
        "return math.exp(loss_per_token(log_likelihoods))", "return math.exp(loss_per_token(log_likelihoods)) + 1"),
        encoding="utf-8")
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    reference = scoring.evaluate(root / "model", root / "dataset", with_baselines=True, rules=SOLUTION)
    assert report["test"]["perplexity"] == pytest.approx(reference["test"]["perplexity"] + 1, rel=1e-5)
    assert report["baselines"]["xz"]["bits_per_character"] == pytest.approx(
        reference["baselines"]["xz"]["bits_per_character"])


def test_missing_model_or_data_are_clear_errors(tmp_path, uniform_model):
    root, _ = uniform_model
    with pytest.raises(AuroreError, match="python -m aurore train"):
        scoring.evaluate(tmp_path / "nothing", root / "dataset", rules=SOLUTION)
    with pytest.raises(AuroreError, match="python -m aurore prepare"):
        scoring.evaluate(root / "model", tmp_path / "nothing", rules=SOLUTION)
    result = subprocess.run([sys.executable, "-m", "aurore", "evaluate", "--model", str(tmp_path / "none"),
                             "--data", str(root / "dataset")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "python -m aurore train" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_report_knows_a_fresh_model_and_xz_and_is_kept_until_the_weights_change(uniform_model):
    import json
    import shutil

    root, tokenizer = uniform_model
    if not (root / "dataset").exists():
        make_dataset(root / "dataset")
    report = scoring.evaluate(root / "model", root / "dataset", rules=SOLUTION)
    assert report["vocab_size"] == len(tokenizer)
    assert report["fresh_loss"] == pytest.approx(math.log(len(tokenizer)))
    assert report["test"]["loss_per_token"] == pytest.approx(report["fresh_loss"], rel=1e-4)   # uniform = fresh
    assert 0 < report["baseline"]["xz_bits_per_character"] < 8 and "xz" in report["baseline"]["source"]

    (root / "model" / scoring.REPORT_FILE).unlink(missing_ok=True)    # another test's `evaluate` saved one
    assert scoring.read_report(root / "model") is None
    scoring.save_report(root / "model", report)
    assert scoring.read_report(root / "model")["test"] == report["test"]
    copied = root / "copy"
    shutil.copytree(root / "model", copied)                 # a copy (or a bundle) keeps its report…
    assert scoring.read_report(copied)["test"] == report["test"]
    config = json.loads((copied / modeldir.CONFIG_FILE).read_text())
    config["settings"].update(step=40, val_loss=3.2)        # …until a newer training saves better weights
    (copied / modeldir.CONFIG_FILE).write_text(json.dumps(config))
    assert scoring.read_report(copied) is None
