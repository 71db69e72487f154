"""The char-LSTM writes (bonus A): the generation exercise's sampler rules on its characters, the state kept
from one character to the next, a long prompt cut to the window, and `python -m aurore char-lstm generate`."""

import os
import subprocess
import sys
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

import aurore  # noqa: F401
from aurore.bonus import char_lstm, char_lstm_writing
from aurore.course import exercises
from aurore.errors import AuroreError
from aurore.generation.sampling import SamplingParams
from fixture_books import make_tiny_dataset

RULES = exercises.rules("generate")        # the generation exercise's reference: choose_next_token
PROMPT = "La nuit était douce"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny char-LSTM (window of 16 characters) trained for 8 steps on the fixture books."""
    root = tmp_path_factory.mktemp("lstm-writes")
    dataset = make_tiny_dataset(root / "dataset")
    folder = root / "char-lstm"
    char_lstm.train(exercises.rules("char-lstm"), dataset, folder, char_lstm.preset("tiny", max_steps=8))
    return folder


@pytest.fixture(scope="module")
def writer(trained):
    return char_lstm_writing.Writer.load(trained)


def recording(rules):
    """The rules, with every (logits, chosen) pair they saw kept."""
    seen = []

    def choose_next_token(logits, params, rng):
        chosen = rules.choose_next_token(logits, params, rng)
        seen.append((np.array(logits), chosen))
        return chosen

    return SimpleNamespace(choose_next_token=choose_next_token), seen


def test_greedy_writes_the_same_text_whatever_the_seed(writer):
    first = writer.write(PROMPT, SamplingParams(strategy="greedy", max_new_tokens=60, seed=1), RULES)
    again = writer.write(PROMPT, SamplingParams(strategy="greedy", max_new_tokens=60, seed=99), RULES)
    assert first.text and first.text == again.text and first.stateful
    assert first.new_characters == len(first.text) <= 60
    rules, seen = recording(RULES)
    writer.write(PROMPT, SamplingParams(strategy="greedy", max_new_tokens=20), rules)
    assert all(chosen == int(np.argmax(logits)) for logits, chosen in seen)      # greedy: the likeliest character


def test_the_same_seed_gives_the_same_text_and_another_seed_another(writer):
    params = SamplingParams(strategy="top_p", top_p=1.0, temperature=2.0, max_new_tokens=80, seed=5)
    texts = [writer.write(PROMPT, params, RULES).text for _ in range(2)]
    other = writer.write(PROMPT, replace(params, seed=6), RULES).text
    assert texts[0] == texts[1] and texts[0] != other


def test_top_k_draws_only_among_the_k_likeliest_characters(writer):
    rules, seen = recording(RULES)
    for seed in range(4):
        writer.write(PROMPT, SamplingParams(strategy="top_k", top_k=3, temperature=2.0, max_new_tokens=40, seed=seed),
                     rules)
    assert len(seen) > 40
    for logits, chosen in seen:
        assert chosen in np.argsort(-logits)[:3]
    assert len({chosen for _, chosen in seen}) > 1            # not always the likeliest: it did draw
    assert logits[0] == -np.inf                               # UNKNOWN (id 0) is never offered


def test_a_prompt_longer_than_the_window_is_cut_to_its_end(writer):
    assert writer.window == 16
    long_prompt = "Il était une fois, dans un village du Berry, " + PROMPT
    used, ids = writer.prompt_ids(long_prompt)
    assert used == long_prompt[-16:] and len(ids) == 16
    assert ids == [writer.ids.get(c, 0) for c in used]
    short_used, short_ids = writer.prompt_ids("Oui")
    assert short_used == "Oui" and short_ids[0] == writer.ids["\n"] and len(short_ids) == 4   # a sentence's start
    params = SamplingParams(strategy="greedy", max_new_tokens=30)
    cut = writer.write(long_prompt, params, RULES)
    assert cut.prompt_used == used and cut.text == writer.write(used, params, RULES).text


def test_the_stateful_run_reads_as_the_model_does_and_is_the_faster(writer):
    ids = writer.prompt_ids(PROMPT)[1]
    stateful = next(writer._stateful_reader(ids))
    window = next(writer._window_reader(ids))
    np.testing.assert_allclose(stateful, window, rtol=1e-4, atol=1e-4)   # same characters read: same logits
    params = SamplingParams(strategy="greedy", max_new_tokens=40)
    seconds = {}
    for way in (True, False):
        written = writer.write(PROMPT, params, RULES, stateful=way)
        assert written.stateful is way and written.text
        seconds[way] = written.seconds
    print(f"40 characters: stateful {seconds[True]:.3f} s, window read again {seconds[False]:.3f} s")


def test_stop_strings_and_the_end_of_a_sentence(writer):
    params = SamplingParams(strategy="greedy", max_new_tokens=60)
    full = writer.write(PROMPT, params, RULES).text
    stop = full[5:7]
    cut = writer.write(PROMPT, replace(params, stop=(stop,)), RULES)
    assert cut.finish_reason == "stop" and cut.text == full[:full.index(stop)]

    fake = SimpleNamespace(choose_next_token=lambda logits, params, rng: writer.ids["."])
    ended = writer.write(PROMPT, replace(params, stop_at_sentence_end=True), fake)
    assert (ended.text, ended.finish_reason) == (".", "end_of_sentence")
    separator = SimpleNamespace(choose_next_token=lambda logits, params, rng: writer.ids["\n"])
    assert writer.write(PROMPT, params, separator).finish_reason == "end_of_sentence"


def test_rules_that_return_no_character_get_a_clear_message(writer):
    bad = SimpleNamespace(choose_next_token=lambda logits, params, rng: len(logits))
    with pytest.raises(AuroreError, match="choose_next_token.*python -m aurore check 5"):
        writer.write(PROMPT, SamplingParams(max_new_tokens=5), bad)


def test_a_model_of_another_shape_is_read_on_its_window(writer):
    import keras

    model = keras.Sequential([keras.Input(shape=(None,), dtype="int32"),
                              keras.layers.Embedding(len(writer.vocabulary), 4),
                              keras.layers.GRU(8, return_sequences=True),
                              keras.layers.Dense(len(writer.vocabulary))])
    other = char_lstm_writing.Writer(model, writer.vocabulary, writer.settings)
    written = other.write(PROMPT, SamplingParams(strategy="greedy", max_new_tokens=5), RULES)
    assert not other.stateful and not written.stateful and len(written.text) <= 5


def test_the_folder_status_says_missing_or_broken(trained, tmp_path):
    assert char_lstm_writing.status(trained) is None
    assert char_lstm_writing.status(tmp_path / "none") == "missing"
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / char_lstm.CONFIG_FILE).write_text("{not json", encoding="utf-8")
    (broken / char_lstm.MODEL_FILE).write_text("", encoding="utf-8")
    assert char_lstm_writing.status(broken) == "broken"


def run_aurore(*args):
    return subprocess.run([sys.executable, "-m", "aurore", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "AURORE_LANG": "en"})


def test_the_command_writes_the_same_text_for_the_same_seed(trained, tmp_path):
    args = ("char-lstm", "generate", "--model", str(trained), "--prompt", PROMPT, "--strategy", "top_k",
            "--top-k", "5", "--seed", "11", "--max-new-tokens", "30")
    first, again = run_aurore(*args), run_aurore(*args)
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout.startswith(PROMPT) and first.stdout == again.stdout
    assert "characters" in first.stderr and "seed 11" in first.stderr

    refused = run_aurore("char-lstm", "generate", "--model", str(tmp_path / "none"), "--prompt", "x")
    assert refused.returncode == 2 and "No char-LSTM model" in refused.stderr and "Traceback" not in refused.stderr
    bad = run_aurore("char-lstm", "generate", "--model", str(trained), "--top-k", "0")
    assert bad.returncode == 2 and "top_k" in bad.stderr and "Traceback" not in bad.stderr
    assert "generate" in run_aurore("char-lstm", "--help").stdout          # training is still the bare command
