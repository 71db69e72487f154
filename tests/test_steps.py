"""The steps table: it agrees with the exercises and the commands; an unfinished exercise is explained once."""

import importlib

import pytest

from aurore import cli
from aurore.commands import pipeline
from aurore.course import exercises, steps
from aurore.errors import AuroreError
from aurore.web.workshop import jobs, pages

BY_NAME = {step.name: step for step in steps.STEPS}


def test_every_exercise_teaches_a_step_of_the_table_and_each_step_names_its_exercise():
    for exercise in exercises.all_exercises():
        assert exercise.step in BY_NAME, f"exercise {exercise.number}: no row for its step {exercise.step!r}"
        assert BY_NAME[exercise.step].exercise == exercise
    assert len(BY_NAME) == len(steps.STEPS)


@pytest.mark.parametrize("step", steps.STEPS, ids=lambda step: step.name)
def test_each_step_is_a_command_with_use_and_known_options(step):
    command = importlib.import_module(step.command_module)
    assert callable(command.run)
    parsed = cli.build_parser().parse_args([step.name, "--use", "exercise"])
    assert parsed.use == "exercise" and parsed.handler is command.run
    assert set(step.job_options) <= set(steps.JOB_OPTIONS)
    assert set(step.pipeline_options) <= set(steps.PIPELINE_OPTIONS)
    assert set(step.title) == set(exercises.LANGS)


def test_the_run_page_and_the_agenda_follow_the_table():
    assert list(jobs.default_steps()) == list(BY_NAME)
    sections = [part["step"] for part in pages.AGENDA if part["step"]]
    assert sections == [step.name for step in steps.STEPS if step.section]
    generate = jobs.default_steps(prompt="Il {était}")["generate"]["argv"]
    assert generate[3:] == ["generate", "--use", "{variant}", "--prompt", "Il {était}", "--max-new-tokens", "80"]


def test_the_pipeline_gives_each_step_options_its_command_takes():
    values = {"--source": "/books", "--preset": "tiny", "--max-minutes": 1.5, "--model": "/models/tiny"}
    parser = cli.build_parser()
    for step in steps.pipeline():
        argv = pipeline.step_argv(step, values, "exercise")
        parsed = parser.parse_args([step.name, *argv])
        assert parsed.use == "exercise"
    train = BY_NAME["train"]
    assert pipeline.step_argv(train, {**values, "--max-minutes": None}, "solution") == [
        "--use", "solution", "--preset", "tiny", "--no-evaluate"]
    assert pipeline.step_argv(BY_NAME["prepare"], values, "solution") == ["--use", "solution", "--source", "/books"]


def test_a_todo_left_in_an_exercise_becomes_the_clear_message(tmp_path, monkeypatch):
    exercise = exercises.for_step("tokenizer")
    (tmp_path / exercise.filename).write_text(exercises.stub_for(exercise), encoding="utf-8")
    monkeypatch.setenv("AURORE_EXERCISES", str(tmp_path))
    with pytest.raises(AuroreError, match=f"Exercise {exercise.number} is not finished: `measure` in") as caught:
        module = exercises.rules("tokenizer", "exercise")
        module.measure(None, ["Il partit."])
    assert isinstance(caught.value.__cause__, NotImplementedError)
    module = exercises.rules("tokenizer", "solution")
    with pytest.raises(TypeError):   # other errors are not the exercise's TODOs: they pass unchanged
        module.measure()
