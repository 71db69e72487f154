"""The figures the course teaches, against closed forms: loss, perplexity, bits per character, baselines.

The evaluation exercise's solution computes the figures; `aurore.evaluation.scoring`
lays the text out, cuts it into windows, keeps the masked log-likelihoods in
order and stamps the report. Each is checked against what the definition
gives by hand (a uniform model over V tokens has loss ln V and perplexity V;
every token after the first is predicted exactly once), on random inputs
where a property holds for all. No TensorFlow: the model is a function
given in. bench/mutation.py runs this file against mutants of both.
"""

from __future__ import annotations

import json
import lzma
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from aurore.course import exercises
from aurore.errors import AuroreError
from aurore.evaluation import scoring

RULES = exercises.load_module(exercises.for_step("evaluate").number, "solution")
FEW = settings(max_examples=50, deadline=None)

log_likelihoods = st.lists(st.floats(-20, -1e-6), min_size=1, max_size=50).map(np.array)


# --- exercise 7's formulas ---

@FEW
@given(st.integers(2, 60_000), st.integers(1, 40), st.integers(1, 500))
def test_a_uniform_model_over_v_tokens_scores_ln_v_and_v(vocabulary, tokens, characters):
    uniform = np.full(tokens, -math.log(vocabulary))
    assert math.isclose(RULES.loss_per_token(uniform), math.log(vocabulary), rel_tol=1e-12)
    assert math.isclose(RULES.perplexity(uniform), vocabulary, rel_tol=1e-9)
    assert math.isclose(RULES.bits_per_character(uniform, characters), tokens * math.log2(vocabulary) / characters,
                        rel_tol=1e-12)


@FEW
@given(log_likelihoods, st.integers(1, 1000))
def test_the_figures_follow_their_definitions(values, characters):
    loss = -math.fsum(values) / len(values)
    assert math.isclose(RULES.loss_per_token(values), loss, rel_tol=1e-9)
    assert math.isclose(RULES.perplexity(values), math.exp(loss), rel_tol=1e-9)
    assert math.isclose(RULES.bits_per_character(values, characters),
                        -math.fsum(values) / math.log(2) / characters, rel_tol=1e-9)
    assert isinstance(RULES.loss_per_token(values), float)


def test_bits_per_character_halve_when_the_characters_double():
    values = np.log([0.5, 0.25, 0.125])              # 1 + 2 + 3 bits
    assert RULES.bits_per_character(values, 3) == pytest.approx(2.0)
    assert RULES.bits_per_character(values, 6) == pytest.approx(1.0)


@FEW
@given(st.lists(st.integers(0, 9), min_size=1, max_size=60), st.lists(st.integers(0, 9), min_size=1, max_size=20))
def test_the_unigram_model_is_add_one_counts(train, test):
    vocabulary = 10
    got = RULES.unigram_log_likelihoods(np.array(train), np.array(test), vocabulary)
    expected = [math.log((train.count(t) + 1) / (len(train) + vocabulary)) for t in test]
    assert np.allclose(got, expected, rtol=1e-12) and np.shape(got) == (len(test),)


def test_an_unseen_token_keeps_a_small_chance():
    got = RULES.unigram_log_likelihoods(np.array([0, 0, 0]), np.array([1, 0]), 4)
    assert np.allclose(np.exp(got), [1 / 7, 4 / 7])


def test_xz_needs_fewer_bits_for_text_it_has_read_and_nothing_for_its_frame():
    text = "La mare au diable était noire sous la lune; Germain veillait près du feu. " * 3
    alone = RULES.xz_bits_per_character(text)
    assert alone == pytest.approx((len(lzma.compress(text.encode())) - len(lzma.compress(b""))) * 8 / len(text))
    assert RULES.xz_bits_per_character(text, given=text * 4) < alone / 2
    accented = "é" * 200                              # bytes, not characters, are compressed: counted per character
    assert RULES.xz_bits_per_character(accented) == pytest.approx(
        (len(lzma.compress(accented.encode("utf-8"))) - len(lzma.compress(b""))) * 8 / 200)


# --- the layout and the windows (scoring) ---

@FEW
@given(st.lists(st.integers(0, 500), min_size=0, max_size=80), st.integers(1, 16))
def test_every_token_after_the_first_is_predicted_once_in_order(stream, length):
    stream = np.array(stream, dtype=np.int32)
    inputs, targets, mask = scoring.windows(stream, length)
    predicted = max(len(stream) - 1, 0)
    assert inputs.shape == targets.shape == mask.shape == (math.ceil(predicted / length), length)
    assert inputs.dtype == targets.dtype == np.int32 and mask.dtype == np.float32
    kept = mask > 0
    assert list(targets[kept]) == list(stream[1:]) and list(inputs[kept]) == list(stream[:-1])
    assert int(kept.sum()) == predicted
    assert not targets[~kept].any() and not inputs[~kept].any()      # padding is zeros
    if predicted:
        assert kept[:-1].all()                                      # only the last window is padded


class Tokenizer:
    """Characters as tokens; eos is 0."""
    eos_token_id = 0

    def __call__(self, texts):
        return {"input_ids": [[ord(c) for c in text] for text in texts]}

    def __len__(self):
        return 300


def test_the_stream_is_laid_out_as_in_training():
    stream = scoring._stream(Tokenizer(), ["ab", "c"])
    assert list(stream) == [0, 97, 98, 0, 99, 0] and stream.dtype == np.int32
    assert scoring._characters(["ab", "c"]) == 5                   # each sentence and its newline


class Tensor:
    def __init__(self, value):
        self.value = value

    def numpy(self):
        return self.value


@FEW
@given(st.integers(0, 9), st.integers(1, 4), st.integers(1, 5), st.data())
def test_masked_log_likelihoods_keep_the_order_and_only_the_mask(count, length, batch, data):
    inputs = np.arange(count * length, dtype=np.int32).reshape(count, length)
    mask = np.array(data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=count * length,
                                       max_size=count * length)), np.float32).reshape(count, length)
    calls = []

    def batch_log_likelihoods(x, y):
        calls.append(len(x))
        assert len(x) <= batch and np.array_equal(x, y)
        return Tensor(-x.astype(np.float32) / 1000)

    got = scoring.masked_log_likelihoods(batch_log_likelihoods, inputs, inputs, mask, batch)
    assert got.dtype == np.float64
    assert np.allclose(got, -inputs[mask > 0] / 1000)
    assert sum(calls) == count and len(calls) == math.ceil(count / batch)


def test_summarise_gives_the_three_figures_and_refuses_an_empty_text():
    report = scoring.summarise(np.log([0.5, 0.25]), 3, RULES)
    assert report == {"loss_per_token": pytest.approx(1.5 * math.log(2)), "perplexity": pytest.approx(2 ** 1.5),
                      "bits_per_character": pytest.approx(1.0), "tokens": 2, "characters": 3}
    for values, characters in (([], 3), ([-1.0], 0), ([-1.0], -2)):
        with pytest.raises(AuroreError, match=r"^Nothing to evaluate: the text is empty\.$"):
            scoring.summarise(values, characters, RULES)


class Broken:
    @staticmethod
    def loss_per_token(values):
        return "beaucoup"

    perplexity = bits_per_character = loss_per_token


def test_a_figure_that_is_not_a_number_is_explained():
    with pytest.raises(AuroreError, match=r"^Exercise \d+: `loss_per_token` returned 'beaucoup' instead of a number\. "
                                          r"Check your code with `python -m aurore check \d+`\.$"):
        scoring.summarise([-1.0], 3, Broken)


def test_an_unfinished_exercise_stops_before_any_computation():
    class Unfinished:
        @staticmethod
        def loss_per_token(values):
            raise NotImplementedError("TODO")

    with pytest.raises(NotImplementedError):
        scoring.try_rules(Unfinished)


def test_the_baselines_score_the_test_text_with_the_training_counts():
    found = scoring.baselines(Tokenizer(), ["aab", ""], ["ab"], RULES)
    # Training stream after the first eos: a a b eos; test: a b eos. Vocabulary 300, add-one counts.
    total = 4 + 300
    expected = [math.log(3 / total), math.log(2 / total), math.log(2 / total)]
    assert found["unigram"]["loss_per_token"] == pytest.approx(-sum(expected) / 3)
    assert found["unigram"]["characters"] == 3 == found["xz"]["characters"]
    assert found["xz"]["bits_per_character"] == pytest.approx(RULES.xz_bits_per_character("ab\n", "aab\n"))
    with pytest.raises(AuroreError, match=r"^Nothing to compare with: the training or the test text is empty\.$"):
        scoring.baselines(Tokenizer(), [""], ["ab"], RULES)


def test_a_unigram_answer_of_the_wrong_shape_is_explained():
    class Short:
        @staticmethod
        def unigram_log_likelihoods(train, test, vocabulary):
            return np.zeros(1)

    with pytest.raises(AuroreError, match=r"^Exercise \d+: `unigram_log_likelihoods` returned array\(\[0\.\]\), not one "
                                          r"value per test token\. Check your code with `python -m aurore check \d+`\.$"):
        scoring._unigram(Short, np.array([0, 1]), np.array([1, 1]), 2)


def test_a_report_is_read_back_only_while_it_describes_the_weights(tmp_path):
    stamp = {"step": 40, "val_loss": 3.2, "tokens": 1000}
    stamps = {tmp_path: {**stamp, "folder": "this one"}}
    scoring.save_report(tmp_path, {"test": {"perplexity": 12.0}}, stamp=lambda folder: stamps[folder])
    assert json.loads((tmp_path / scoring.REPORT_FILE).read_text())["trained"]["folder"] == "this one"
    assert scoring.read_report(tmp_path, stamp=lambda folder: stamps[folder])["test"] == {"perplexity": 12.0}
    scoring.save_report(tmp_path, {"test": {"perplexity": 12.0}}, stamp=lambda folder: stamp)
    saved = json.loads((tmp_path / scoring.REPORT_FILE).read_text())
    assert saved["trained"] == stamp
    assert scoring.read_report(tmp_path, stamp=lambda folder: stamp)["test"] == {"perplexity": 12.0}
    assert scoring.read_report(tmp_path, stamp=lambda folder: {**stamp, "step": 41}) is None
    (tmp_path / scoring.REPORT_FILE).write_text("{not json")
    assert scoring.read_report(tmp_path, stamp=lambda folder: stamp) is None
    assert scoring.read_report(tmp_path / "missing", stamp=lambda folder: stamp) is None
    (tmp_path / scoring.REPORT_FILE).write_text("[1, 2]")
    assert scoring.read_report(tmp_path, stamp=lambda folder: stamp) is None


def test_a_long_wrong_answer_is_cut_in_the_message():
    class Wordy:
        @staticmethod
        def loss_per_token(values):
            return "x" * 200

    with pytest.raises(AuroreError) as refused:
        scoring.summarise([-1.0], 3, Wordy)
    assert "returned '" + "x" * 79 + " instead of a number" in str(refused.value)


def test_trying_the_rules_with_baselines_tries_them_too():
    class NoBaselines:
        loss_per_token, perplexity, bits_per_character = (RULES.loss_per_token, RULES.perplexity,
                                                          RULES.bits_per_character)
        unigram_log_likelihoods = staticmethod(RULES.unigram_log_likelihoods)

        @staticmethod
        def xz_bits_per_character(text, given=""):
            raise NotImplementedError("TODO")

    scoring.try_rules(NoBaselines)                           # the figures alone: fine
    with pytest.raises(NotImplementedError):
        scoring.try_rules(NoBaselines, with_baselines=True)
    scoring.try_rules(RULES, with_baselines=True)            # finished rules pass the trial

    class WordyXz(NoBaselines):
        @staticmethod
        def xz_bits_per_character(text, given=""):
            return "beaucoup"

    with pytest.raises(AuroreError, match=r"`xz_bits_per_character` returned 'beaucoup' instead of a number"):
        scoring.try_rules(WordyXz, with_baselines=True)


def _progress(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def test_the_run_page_sees_the_evaluation_s_progress(monkeypatch, capsys):
    """In json mode (the web app's steps) each batch and each baseline is a progress event the run page shows."""
    monkeypatch.setenv("AURORE_PROGRESS", "json")
    inputs = np.zeros((5, 2), np.int32)
    scoring.masked_log_likelihoods(lambda x, y: Tensor(np.zeros(x.shape)), inputs, inputs, np.ones((5, 2)), 2)
    events = [e for e in _progress(capsys) if e["event"] == "progress"]
    assert [(e["task"], e["done"], e["total"], e["unit"]) for e in events][-1] == ("Evaluating", 5, 5, "block")
    scoring.baselines(Tokenizer(), ["aab"], ["ab"], RULES)
    events = [e for e in _progress(capsys) if e["event"] == "progress" and e["task"].startswith("Baselines")]
    assert (events[-1]["task"], events[-1]["done"], events[-1]["total"], events[-1]["unit"]) == \
        ("Baselines (unigram, xz)", 2, 2, "baseline")


@pytest.mark.parametrize("function", ["loss_per_token", "perplexity", "bits_per_character"])
def test_each_figure_that_is_not_a_number_is_named(function):
    class OneWrong:
        loss_per_token, perplexity = RULES.loss_per_token, RULES.perplexity
        bits_per_character = staticmethod(RULES.bits_per_character)

    setattr(OneWrong, function, staticmethod(lambda *args: "beaucoup"))
    with pytest.raises(AuroreError, match=rf"`{function}` returned 'beaucoup' instead of a number"):
        scoring.summarise([-1.0], 1, OneWrong)


def test_one_character_is_enough_to_measure():
    assert scoring.summarise([-math.log(2)], 1, RULES)["bits_per_character"] == pytest.approx(1.0)


def test_the_mask_marks_with_ones_and_no_window_gives_an_empty_float_array():
    _, _, mask = scoring.windows(np.arange(7, dtype=np.int32), 4)
    assert set(np.unique(mask)) == {0.0, 1.0}
    empty = np.zeros((0, 4), np.int32)
    got = scoring.masked_log_likelihoods(lambda x, y: Tensor(x), empty, empty, np.zeros((0, 4)), 2)
    assert got.shape == (0,) and got.dtype == np.float64


def test_the_baselines_read_the_texts_one_sentence_a_line():
    found = scoring.baselines(Tokenizer(), ["aab", "ba"], ["ab", "b"], RULES)
    assert found["xz"]["bits_per_character"] == pytest.approx(RULES.xz_bits_per_character("ab\nb\n", "aab\nba\n"))
    assert found["xz"]["characters"] == 5

    class WordyXz:
        loss_per_token, perplexity = RULES.loss_per_token, RULES.perplexity
        bits_per_character = staticmethod(RULES.bits_per_character)
        unigram_log_likelihoods = staticmethod(RULES.unigram_log_likelihoods)
        xz_bits_per_character = staticmethod(lambda text, given="": "beaucoup")

    with pytest.raises(AuroreError, match=r"`xz_bits_per_character` returned 'beaucoup' instead of a number"):
        scoring.baselines(Tokenizer(), ["aab"], ["ab"], WordyXz)
