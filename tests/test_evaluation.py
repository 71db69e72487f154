"""Evaluation: the arithmetic on hand-computed cases, a uniform model, clear errors."""

import math
import subprocess
import sys

import numpy as np
import pytest

import aurore  # noqa: F401
from aurore import evaluation, modeldir, tokenization
from aurore.errors import AuroreError
from tiny_sand import TEST, TRAIN, VALIDATION, make_dataset


def test_summary_on_a_case_computed_by_hand():
    # 4 tokens each guessed among 8 equally likely ones: NLL = 4·ln 8 nats = 12 bits,
    # spread over 6 characters → 2 bits per character; perplexity 8.
    summary = evaluation.summarise(4 * math.log(8), tokens=4, characters=6)
    assert summary["loss_per_token"] == pytest.approx(math.log(8))
    assert summary["perplexity"] == pytest.approx(8.0)
    assert summary["bits_per_character"] == pytest.approx(2.0)
    with pytest.raises(AuroreError):
        evaluation.summarise(1.0, tokens=0, characters=0)


def test_windows_predict_every_token_but_the_first_exactly_once():
    stream = np.arange(10, dtype=np.int32)
    inputs, targets, mask = evaluation.windows(stream, 4)
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
    report = evaluation.evaluate(root / "model", root / "dataset")
    vocab = len(tokenizer)
    for split, texts in (("test", TEST), ("validation", VALIDATION)):
        result = report[split]
        tokens = sum(len(tokenizer(t)["input_ids"]) + 1 for t in texts)  # each sentence and its separator
        characters = sum(len(t) + 1 for t in texts)
        assert result["tokens"] == tokens and result["characters"] == characters
        assert result["perplexity"] == pytest.approx(vocab, rel=1e-4)
        assert result["bits_per_character"] == pytest.approx(tokens * math.log2(vocab) / characters, rel=1e-4)


def test_missing_model_or_data_are_clear_errors(tmp_path, uniform_model):
    root, _ = uniform_model
    with pytest.raises(AuroreError, match="python -m aurore train"):
        evaluation.evaluate(tmp_path / "nothing", root / "dataset")
    with pytest.raises(AuroreError, match="python -m aurore prepare"):
        evaluation.evaluate(root / "model", tmp_path / "nothing")
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
    report = evaluation.evaluate(root / "model", root / "dataset")
    assert report["vocab_size"] == len(tokenizer)
    assert report["fresh_loss"] == pytest.approx(math.log(len(tokenizer)))
    assert report["test"]["loss_per_token"] == pytest.approx(report["fresh_loss"], rel=1e-4)   # uniform = fresh
    assert 0 < report["baseline"]["xz_bits_per_character"] < 8 and "xz" in report["baseline"]["source"]

    assert evaluation.read_report(root / "model") is None
    evaluation.save_report(root / "model", report)
    assert evaluation.read_report(root / "model")["test"] == report["test"]
    copied = root / "copy"
    shutil.copytree(root / "model", copied)                 # a copy (or a bundle) keeps its report…
    assert evaluation.read_report(copied)["test"] == report["test"]
    config = json.loads((copied / modeldir.CONFIG_FILE).read_text())
    config["settings"].update(step=40, val_loss=3.2)        # …until a newer training saves better weights
    (copied / modeldir.CONFIG_FILE).write_text(json.dumps(config))
    assert evaluation.read_report(copied) is None
