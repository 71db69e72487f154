"""The exercise machinery: stub derivation, stubs in step with solutions,
every stub failing its checks and every solution passing them."""

import os

import pytest

from aurore import checks, exercises
from aurore.errors import AuroreError

SOLUTION = '''\
def cut(text):
    """Keep what lies between the markers."""
    # BEGIN SOLUTION
    # TODO: find the markers and keep what lies between them.
    start = text.find("<")
    return text[start + 1:text.find(">")]
    # END SOLUTION


# BEGIN SOLUTION
# TODO: how many words make a sentence worth keeping?
# STUB: MIN_WORDS = None
MIN_WORDS = 3
# END SOLUTION
'''


def test_derive_stub_keeps_todos_and_replaces_bodies():
    stub = exercises.derive_stub(SOLUTION)
    assert stub == '''\
def cut(text):
    """Keep what lies between the markers."""
    # TODO: find the markers and keep what lies between them.
    raise NotImplementedError("TODO")


# TODO: how many words make a sentence worth keeping?
MIN_WORDS = None
'''


@pytest.mark.parametrize("bad", [
    "# BEGIN SOLUTION\nx = 1\n",
    "x = 1\n# END SOLUTION\n",
    "# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n",
])
def test_derive_stub_rejects_unbalanced_markers(bad):
    with pytest.raises(ValueError):
        exercises.derive_stub(bad)


@pytest.mark.parametrize("text", ["../etc/passwd", "1; rm", "", "x", "123"])
def test_exercise_ids_are_validated(text):
    with pytest.raises(AuroreError):
        exercises.get(text)


def test_metadata_is_complete():
    numbers = [exercise.number for exercise in exercises.all_exercises()]
    assert numbers == list(range(1, len(numbers) + 1))
    for exercise in exercises.all_exercises():
        assert exercise.solution_path.is_file(), exercise.solution_path
        assert exercise.checks_path.is_file(), exercise.checks_path
        for lang in exercises.LANGS:
            assert exercise.title[lang].strip()
            assert len(exercise.lesson[lang]) > 200, f"exercise {exercise.number}: lesson ({lang}) too short"
        assert exercise.hints, f"exercise {exercise.number} has no hints"
        for hint in exercise.hints:
            assert set(hint) == set(exercises.LANGS)


@pytest.mark.parametrize("exercise", exercises.all_exercises(), ids=lambda e: e.slug)
def test_stub_is_derived_from_its_solution(exercise):
    """exercises/ must be regenerated (`python -m aurore exercises sync`) when a solution changes."""
    assert exercise.exercise_path.read_text(encoding="utf-8") == exercises.stub_for(exercise)


@pytest.mark.slow
@pytest.mark.parametrize("exercise", exercises.all_exercises(), ids=lambda e: e.slug)
def test_solution_passes_and_stub_fails_every_check(exercise, tmp_path):
    solved = checks.run_checks(exercise.number, "solution", wall_seconds=600)
    assert solved["all_passed"], solved["output"][-3000:]

    (tmp_path / exercise.filename).write_text(exercises.stub_for(exercise), encoding="utf-8")
    stubbed = checks.run_checks(exercise.number, "exercise", wall_seconds=600,
                                env={"AURORE_EXERCISES": str(tmp_path)})
    assert stubbed["status"] == "ok", stubbed["output"][-3000:]
    assert stubbed["checks"], "no check ran on the stub"
    still_passing = [c["id"] for c in stubbed["checks"] if c["outcome"] == "passed"]
    assert not still_passing, f"checks that pass on the bare stub: {still_passing}"
    assert all(c["message"] for c in stubbed["checks"])
