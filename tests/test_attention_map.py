"""What the model looks at: the attention map of the tiny model, its reproduction check, and the CLI."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from keras import ops

from aurore.cli import main
from aurore.course.checks import learner_attention
from aurore.errors import AuroreError
from aurore.generation import attention_map as amod
from aurore.generation.attention_map import AttentionMismatch, attention_map
from aurore.store import modeldir
from tests.tiny_model import tiny_model_dir  # noqa: F401  (fixture)

TEXT = "Elle ouvrit la fenêtre et regarda longtemps la campagne."


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):  # noqa: F811
    return modeldir.load(tiny_model_dir)


@pytest.fixture(scope="module")
def reference():
    return learner_attention.attention_function("solution")


def reference_module():
    return learner_attention.attention_module("solution")


def unscaled(x, params, num_heads):
    """The classic mistake: no division by √(head size)."""
    module = reference_module()

    def dense(name):
        return ops.matmul(x, params[f"{name}_kernel"]) + params[f"{name}_bias"]

    q, k, v = (module.split_heads(dense(name), num_heads) for name in ("query", "key", "value"))
    scores = ops.matmul(q, ops.swapaxes(k, -1, -2))
    scores = ops.where(module.causal_mask(scores.shape[-1]), scores, ops.full_like(scores, -1e9))
    weights = ops.softmax(scores, axis=-1)
    output = ops.matmul(module.merge_heads(ops.matmul(weights, v)), params["output_kernel"]) + params["output_bias"]
    return output, weights


def test_the_weights_are_a_causal_distribution_and_reproduce_the_layer(loaded, reference):
    for layer in (1, 2):
        for head in (1, 2):
            amap = attention_map(loaded, TEXT, layer, head, reference)
            weights = np.asarray(amap.weights)
            length = len(amap.pieces)
            assert weights.shape == (length, length) and length == len(amap.token_ids) > 5
            assert np.allclose(weights.sum(axis=1), 1.0, atol=1e-4)                 # each row sums to 1
            assert np.all(weights[np.triu_indices(length, k=1)] == 0)               # nothing after the token
            assert np.all(weights >= 0)
            assert 0 <= amap.difference <= amod.TOLERANCE == amap.tolerance == 1e-4
            assert (amap.layer, amap.head, amap.layers, amap.heads, amap.function) == (layer, head, 2, 2, "reference")
    # Heads differ: the map is of the head asked for.
    assert attention_map(loaded, TEXT, 2, 1, reference).weights != attention_map(loaded, TEXT, 2, 2, reference).weights


def test_pieces_are_the_tokens_text(loaded, reference):
    amap = attention_map(loaded, "La nuit était douce.", 1, 1, reference)
    assert "".join(amap.pieces) == "La nuit était douce."
    assert amap.pieces[0] == "La"


def test_top_sources_are_the_heaviest_earlier_tokens(loaded, reference):
    amap = attention_map(loaded, TEXT, 1, 1, reference)
    row = 6
    top = amap.top_sources(row)
    assert len(top) == 3 and all(column <= row for column, _ in top)
    assert [weight for _, weight in top] == sorted((w for w in amap.weights[row][:row + 1]), reverse=True)[:3]
    assert amap.top_sources(0) == [(0, 1.0)]                  # the first token can only look at itself


def test_a_function_without_scaling_is_refused_with_the_measured_difference(loaded):
    with pytest.raises(AttentionMismatch, match=r"does not reproduce layer 1 of this model: its output differs "
                                                r"from the layer's own by up to [0-9.e+-]+ \(allowed: 0.0001\)"
                                                r"\. Check the scaling"):
        attention_map(loaded, TEXT, 1, 1, unscaled)


def test_a_function_that_is_not_causal_or_of_the_wrong_shape_is_refused(loaded, reference):
    module = reference_module()

    def peeking(x, params, num_heads):          # a softmax over every token, the later ones too
        def dense(name):
            return ops.matmul(x, params[f"{name}_kernel"]) + params[f"{name}_bias"]
        q, k, v = (module.split_heads(dense(name), num_heads) for name in ("query", "key", "value"))
        weights = ops.softmax(ops.matmul(q, ops.swapaxes(k, -1, -2)) / np.sqrt(q.shape[-1]), axis=-1)
        return ops.matmul(module.merge_heads(ops.matmul(weights, v)), params["output_kernel"]) + params["output_bias"], weights

    with pytest.raises(AttentionMismatch, match="does not reproduce layer 2"):
        attention_map(loaded, TEXT, 2, 1, peeking)

    def flat_weights(x, params, num_heads):
        output, weights = reference(x, params, num_heads)
        return output, weights[0]

    with pytest.raises(AttentionMismatch, match=r"returned weights of shape \[2, \d+, \d+\]; expected \[1, 2, "):
        attention_map(loaded, TEXT, 1, 1, flat_weights)

    def future_weights(x, params, num_heads):     # the right output, but weights that look ahead
        output, weights = reference(x, params, num_heads)
        return output, ops.swapaxes(weights, -1, -2)

    with pytest.raises(AttentionMismatch, match=r"weights look at later tokens \(above the diagonal\)"):
        attention_map(loaded, TEXT, 1, 1, future_weights)

    def halved_weights(x, params, num_heads):
        output, weights = reference(x, params, num_heads)
        return output, weights * 0.5

    with pytest.raises(AttentionMismatch, match="weights do not sum to 1 on each row"):
        attention_map(loaded, TEXT, 1, 1, halved_weights)

    def broken(x, params, num_heads):
        raise ValueError("shapes do not match")

    with pytest.raises(AttentionMismatch, match="multi_head_attention raised ValueError: shapes do not match"):
        attention_map(loaded, TEXT, 1, 1, broken)


@pytest.mark.parametrize("layer, head, message", [
    (3, 1, "There is no layer 3: this model has 2 layers, numbered 1 to 2."),
    (0, 1, "There is no layer 0: this model has 2 layers, numbered 1 to 2."),
    (1, 5, "There is no head 5: this model has 2 heads, numbered 1 to 2."),
    ("1", 1, "The layer must be a whole number from 1 to 2, not '1'."),
])
def test_a_bad_layer_or_head_is_explained(loaded, reference, layer, head, message):
    with pytest.raises(AuroreError) as raised:
        attention_map(loaded, TEXT, layer, head, reference)
    assert str(raised.value) == message


def test_an_empty_text_is_explained(loaded, reference):
    with pytest.raises(AuroreError, match="There is no text to look at"):
        attention_map(loaded, "   ", 1, 1, reference)


def test_a_text_longer_than_the_context_keeps_its_last_tokens(loaded, reference):
    amap = attention_map(loaded, TEXT * 20, 1, 1, reference)
    assert len(amap.pieces) == loaded.max_length and amap.truncated > 0
    assert f"the first {amap.truncated} tokens were left out: the map shows the last 128" in amap.as_text()
    short = attention_map(loaded, TEXT * 20, 1, 1, reference, max_tokens=10)
    assert len(short.pieces) == 10 and short.pieces == amap.pieces[-10:] and short.truncated == amap.truncated + 118


def test_the_cli_shows_the_map_after_the_text(tiny_model_dir, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "map.json"
    code = main(["generate", "--model", str(tiny_model_dir), "--prompt", "La nuit était", "--max-new-tokens", "8",
                 "--seed", "3", "--attention", "--layer", "2", "--head", "2", "--attention-file", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Attention of layer 2/2, head 2/2, computed by the reference multi_head_attention" in printed
    assert "max abs difference" in printed and "<= 0.0001" in printed
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["layer"] == 2 and saved["head"] == 2 and saved["function"] == "reference"
    assert "".join(saved["pieces"]).startswith("La nuit était")
    rows = [line for line in printed.splitlines() if " <- " in line]
    assert len(rows) == len(saved["pieces"])                        # one line per token
    assert rows[0].split(" <- ")[1].strip() == "█ «La» 1.00"          # the first token looks at itself only


def test_the_cli_explains_a_bad_layer_before_writing(tiny_model_dir, capsys):  # noqa: F811
    code = main(["generate", "--model", str(tiny_model_dir), "--prompt", "La nuit", "--attention", "--layer", "7"])
    captured = capsys.readouterr()
    assert code != 0 and captured.out == ""
    assert "There is no layer 7: this model has 2 layers, numbered 1 to 2." in captured.err


def test_the_learners_function_runs_in_a_limited_process(tiny_model_dir, tmp_path, monkeypatch):  # noqa: F811
    """Through the child as the web app runs it: the learner's copy of the solution gives the same map."""
    learner = tmp_path / "exercises"
    learner.mkdir()
    monkeypatch.setenv("AURORE_EXERCISES", str(learner))
    item = learner_attention.exercise()
    shutil.copy2(item.solution_path, learner / item.filename)
    amap = learner_attention.compute(tiny_model_dir, TEXT, 2, 1)
    assert amap["function"] == "exercise" and amap["layer"] == 2
    assert amap["difference"] <= amod.TOLERANCE
