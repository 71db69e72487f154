"""Exercise 4's checks name each classic attention mistake, planted one at a time in a copy of the solution.

Why: "the output is off Keras's by 0.3" tells a learner nothing; each
mistake a room makes (a mask that leaks the future, the mask after the
softmax, no √d, heads glued back without the transpose) must get the message
that names it, and the solution none. The check functions run here on the
planted module directly (fast, in-process); one planted mistake also goes
through the real runner, as a learner's file does.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from aurore import paths
from aurore.course import exercises

SOLUTION = paths.ROOT / "solutions" / "04_attention.py"

#: Each mistake: (the solution's text, what a learner writes instead).
MISTAKES = {
    "leak": ("ops.expand_dims(positions, 0) <= ops.expand_dims(positions, 1)",
             "ops.expand_dims(positions, 0) <= ops.expand_dims(positions, 1) + 1"),
    "no_scaling": ("ops.matmul(q, ops.swapaxes(k, -1, -2)) / math.sqrt(depth)",
                   "ops.matmul(q, ops.swapaxes(k, -1, -2))"),
    "mask_after_softmax": ("    scores = ops.where(causal_mask(ops.shape(q)[-2]), scores, MASKED)\n"
                           "    return ops.softmax(scores, axis=-1)",
                           "    weights = ops.softmax(scores, axis=-1)\n"
                           "    return ops.where(causal_mask(ops.shape(q)[-2]), weights, 0.0)"),
    "merge_without_transpose": ("    x = ops.transpose(x, (0, 2, 1, 3))\n    return ops.reshape(x, (batch, length, heads * depth))",
                                "    return ops.reshape(x, (batch, length, heads * depth))"),
}

#: The check (function of the check file) that names each mistake, and what its French message says.
NAMED_BY = {
    "leak": ("test_causal_mask", "le jeton 0 voit le jeton 1"),
    "no_scaling": ("test_attention_weights", "ne sont pas divisés par √d"),
    "mask_after_softmax": ("test_attention_weights", "mis après le softmax"),
    "merge_without_transpose": ("test_split_and_merge_heads", "recollées dans le mauvais ordre"),
}


def planted(mistake: str) -> str:
    original, mistaken = MISTAKES[mistake]
    source = SOLUTION.read_text(encoding="utf-8")
    assert source.count(original) == 1, f"the solution changed: plant {mistake} again"
    return source.replace(original, mistaken)


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def checks():
    return _load(paths.ROOT / "tests" / "checks" / "test_04_attention.py", "attention_checks_under_test")


def _qk():
    rng = np.random.default_rng(4)
    return rng.normal(size=(2, 5, 8)) * 2.0, rng.normal(size=(2, 5, 8)) * 2.0, rng.normal(size=(2, 5, 8))


def _messages(checks, module) -> dict[str, str]:
    """Each check's message on `module` ("" when it passes)."""
    calls = {
        "test_causal_mask": lambda: checks.test_causal_mask(module),
        "test_attention_weights": lambda: checks.test_attention_weights(module, _qk()),
        "test_single_head_attention": lambda: checks.test_single_head_attention(module, _qk()),
        "test_split_and_merge_heads": lambda: checks.test_split_and_merge_heads(module),
        "test_multi_head_attention_matches_keras": lambda: checks.test_multi_head_attention_matches_keras(module),
    }
    found = {}
    for name, call in calls.items():
        try:
            call()
            found[name] = ""
        except (AssertionError, pytest.fail.Exception) as failure:
            found[name] = str(failure)
    return found


def test_the_solution_passes_every_check(checks, monkeypatch):
    monkeypatch.setenv("AURORE_LANG", "fr")
    assert _messages(checks, _load(SOLUTION, "attention_solution")) == dict.fromkeys(
        ["test_causal_mask", "test_attention_weights", "test_single_head_attention",
         "test_split_and_merge_heads", "test_multi_head_attention_matches_keras"], "")


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_each_planted_mistake_gets_its_own_message(mistake, checks, tmp_path, monkeypatch):
    monkeypatch.setenv("AURORE_LANG", "fr")
    path = tmp_path / "04_attention.py"
    path.write_text(planted(mistake), encoding="utf-8")
    messages = _messages(checks, _load(path, f"attention_{mistake}"))
    check, words = NAMED_BY[mistake]
    assert words in messages[check], (mistake, messages)
    others = {other_words for other, (_, other_words) in NAMED_BY.items() if other != mistake}
    assert not any(other in message for message in messages.values() for other in others), (mistake, messages)
    # The end-to-end comparison with Keras fails too: no mistake slips past it.
    assert messages["test_multi_head_attention_matches_keras"], mistake


def test_the_leak_message_names_the_position_in_english(checks, tmp_path, monkeypatch):
    monkeypatch.setenv("AURORE_LANG", "en")
    original, _ = MISTAKES["leak"]
    path = tmp_path / "04_attention.py"
    # Token 2 alone may see token 3: the message names that very pair.
    path.write_text(SOLUTION.read_text(encoding="utf-8").replace(
        original, f"ops.logical_or({original}, (ops.expand_dims(positions, 0) == 3) & "
                  "(ops.expand_dims(positions, 1) == 2))"), encoding="utf-8")
    messages = _messages(checks, _load(path, "attention_leak_2_3"))
    assert "token 2 sees token 3" in messages["test_causal_mask"], messages
    assert "token 2 sees token 3" in messages["test_attention_weights"], messages


@pytest.mark.slow
def test_a_planted_mistake_reaches_the_learner_through_the_runner(tmp_path):
    from aurore.course.checks import runner

    (tmp_path / "04_attention.py").write_text(planted("merge_without_transpose"), encoding="utf-8")
    report = runner.run_checks(4, "exercise", wall_seconds=300, env={"AURORE_EXERCISES": str(tmp_path)})
    by_title = {check["title"]["fr"]: check for check in report["checks"]}
    merged = by_title["split_heads et merge_heads : couper en têtes, recoller dans le bon ordre"]
    assert merged["outcome"] == "failed" and "recollées dans le mauvais ordre" in merged["message"], report
    assert by_title["causal_mask : vrai où la requête i peut regarder la clé j (j <= i)"]["outcome"] == "passed"


def test_the_exercise_is_the_fourth_and_comes_before_training():
    assert exercises.get(4).slug == "04_attention" and exercises.get(5).slug == "05_train"
