"""The tokenizer step: generic byte-level BPE, specialisation, save/reload, errors."""

import json
import subprocess
import sys

import pytest

from aurore.corpus import tokenization
from aurore.course import exercises
from aurore.errors import AuroreError
from aurore.store import modeldir
from tiny_sand import TEST, make_dataset

ACCENTED = "Où êtes-vous, Mademoiselle ? « Ça m'étonne », dit-elle, le cœur en fête."


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("data") / "dataset")


@pytest.fixture(scope="module")
def built(dataset_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("tok") / "tokenizer"
    report = tokenization.build(exercises.rules("tokenizer"), dataset_dir, out, vocab_size=400)
    return out, report


def test_generic_tokenizer_is_byte_level_and_round_trips():
    generic = tokenization.generic_tokenizer()
    assert generic.eos_token == tokenization.EOS
    ids = generic(ACCENTED)["input_ids"]
    assert ids and generic.decode(ids) == ACCENTED
    # Byte level: a character it never saw is still encoded, never unknown.
    assert generic.decode(generic("漢字 🙂")["input_ids"]) == "漢字 🙂"


def test_specialised_tokenizer_is_saved_reloaded_and_not_empty(built):
    out, report = built
    reloaded = modeldir.load_tokenizer(out)
    assert len(reloaded) == report["size"] <= 400
    assert reloaded.eos_token == tokenization.EOS
    assert reloaded.convert_tokens_to_ids(tokenization.EOS) == reloaded.eos_token_id
    for sentence in TEST + [ACCENTED]:
        ids = reloaded(sentence)["input_ids"]
        assert ids and reloaded.decode(ids) == sentence


def test_report_shows_the_sentence_token_by_token_and_measures_both(built):
    _, report = built
    for key in ("generic_tokens", "specialised_tokens"):
        assert "".join(report[key]) == tokenization.EXAMPLE_SENTENCE
    generic, specialised = report["generic"], report["specialised"]
    assert generic["characters"] == specialised["characters"] == sum(len(t) for t in TEST)
    assert generic["words"] == sum(len(t.split()) for t in TEST)
    assert specialised["characters_per_token"] > generic["characters_per_token"]
    assert specialised["tokens_per_word"] < generic["tokens_per_word"]
    assert specialised["characters_per_token"] == pytest.approx(
        specialised["characters"] / specialised["tokens"], abs=1e-4)


def test_an_empty_tokenizer_is_refused(tmp_path):
    """transformers 5: GPT2Tokenizer(vocab_file=…, merges_file=…) is silently empty."""
    from transformers import GPT2Tokenizer

    (tmp_path / "vocab.json").write_text(json.dumps({"a": 0, "b": 1, tokenization.EOS: 2}))
    (tmp_path / "merges.txt").write_text("#version: 0.2\na b\n")
    empty = GPT2Tokenizer(vocab_file=str(tmp_path / "vocab.json"), merges_file=str(tmp_path / "merges.txt"))
    empty.save_pretrained(str(tmp_path / "tok"))
    with pytest.raises(AuroreError, match="empty"):
        modeldir.load_tokenizer(tmp_path / "tok")
    with pytest.raises(AuroreError, match="empty"):
        tokenization.check(empty)


def test_missing_dataset_and_tiny_vocabulary_are_clear_errors(tmp_path, dataset_dir):
    module = exercises.rules("tokenizer")
    with pytest.raises(AuroreError, match="python -m aurore prepare"):
        tokenization.build(module, tmp_path / "nothing", tmp_path / "tok")
    with pytest.raises(AuroreError, match="at least 300"):
        tokenization.build(module, dataset_dir, tmp_path / "tok", vocab_size=100)


def test_cli_says_what_to_do_without_a_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "aurore", "tokenizer", "--data", str(tmp_path / "none"),
                             "--out", str(tmp_path / "tok")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "python -m aurore prepare" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_keras_hub_tokenizer_converts_to_the_same_transformers_tokenizer(tmp_path):
    """The path hf:// presets take (`train --init hf://…`), tested on a local vocabulary."""
    import keras_hub

    original = tokenization.byte_level_bpe(TEST, 320)
    original.save_pretrained(str(tmp_path))
    model = json.loads((tmp_path / "tokenizer.json").read_text())["model"]
    merges = [" ".join(m) if isinstance(m, list) else m for m in model["merges"]]
    keras_tokenizer = keras_hub.tokenizers.GPT2Tokenizer(vocabulary=model["vocab"], merges=merges)
    converted = tokenization.from_keras_hub(keras_tokenizer)
    for sentence in TEST + [ACCENTED]:
        assert converted(sentence)["input_ids"] == original(sentence)["input_ids"]
        assert converted(sentence)["input_ids"] == [int(i) for i in keras_tokenizer(sentence)]
    assert converted.eos_token_id == original.eos_token_id
