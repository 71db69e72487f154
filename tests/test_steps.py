"""The steps, built from exercises/info.toml: they agree with the commands; info.toml's mistakes are named;
an unfinished exercise is explained once."""

import importlib
import re
import tomllib

import pytest

from aurore import cli
from aurore.commands import pipeline
from aurore.course import exercises, steps
from aurore.errors import AuroreError
from aurore.web.workshop import jobs, pages

BY_NAME = {step.name: step for step in steps.STEPS}


def test_each_exercise_is_one_step_in_its_order_and_each_step_names_its_exercise():
    assert [step.name for step in steps.STEPS] == [exercise.step for exercise in exercises.all_exercises()]
    for exercise in exercises.all_exercises():
        step = BY_NAME[exercise.step]
        assert step.exercise == exercise
        assert (step.title, step.section, step.about) == (exercise.run_title, exercise.section, exercise.about)
    assert len(BY_NAME) == len(steps.STEPS)


def test_an_output_is_a_file_of_the_data_folder_in_use(tmp_path, monkeypatch):
    monkeypatch.setenv("AURORE_DATA", str(tmp_path))
    assert BY_NAME["prepare"].output() == tmp_path / "dataset" / "dataset_dict.json"
    assert BY_NAME["tokenizer"].output() == tmp_path / "tokenizer" / "tokenizer.json"
    assert BY_NAME["train"].output is None


def info_item(of: int = 3, **changes) -> dict:
    """Exercise `of`'s entry in info.toml, as tomllib reads it, with `changes` (None: the key removed)."""
    with exercises.INFO_FILE.open("rb") as handle:
        item = next(item for item in tomllib.load(handle)["exercise"] if item["number"] == of)
    item.update(changes)
    return {key: value for key, value in item.items() if value is not None}


@pytest.mark.parametrize("changes, message", [
    ({"run_title": None}, "exercise 3 (03_tokenizer): `run_title` is missing"),
    ({"agenda": "Tokenisation"}, "exercise 3 (03_tokenizer): `agenda` is not a key of an exercise"),
    ({"section": {"fr": "Tokenisation"}}, "exercise 3 (03_tokenizer): `section` needs a text in each of fr, en"),
    ({"bonus": "yes"}, "exercise 3 (03_tokenizer): `bonus` is true or false"),
    ({"job_args": "all"}, "exercise 3 (03_tokenizer): `job_args` is a list of strings"),
    ({"output": "data/tokenizer/tokenizer.json"}, "exercise 3 (03_tokenizer): `output` is a file from a data folder"),
    ({"output": "{home}/tokenizer.json"}, "exercise 3 (03_tokenizer): `output` is a file from a data folder"),
], ids=["missing", "unknown", "one-language", "not-a-bool", "not-a-list", "no-folder", "unknown-folder"])
def test_a_mistake_in_info_toml_names_the_exercise_and_the_key(changes, message):
    with pytest.raises(exercises.InfoError, match=re.escape(message)):
        exercises.exercise_from_info(info_item(**changes))


def test_unknown_run_options_and_a_step_taught_twice_are_refused(monkeypatch):
    lost = exercises.exercise_from_info(info_item(job_options=["preset", "epochs"]))
    with pytest.raises(exercises.InfoError, match="exercise 3 .*`job_options` names epochs, unknown here"):
        steps.step_of(lost)
    lost = exercises.exercise_from_info(info_item(pipeline_options=["--vocab-size"]))
    with pytest.raises(exercises.InfoError, match="`pipeline_options` names --vocab-size, unknown here"):
        steps.step_of(lost)
    twice = exercises.exercise_from_info(info_item(number=10, slug="10_again"))
    taught = (*exercises.all_exercises(), twice)
    monkeypatch.setattr(exercises, "_load_info", lambda: taught)
    with pytest.raises(exercises.InfoError, match="exercise 10 .*`step` 'tokenizer' is already taught by exercise 3"):
        steps.all_steps()


@pytest.mark.parametrize("step", steps.STEPS, ids=lambda step: step.name)
def test_each_step_is_a_command_with_use_and_known_options(step):
    command = importlib.import_module(step.command_module)
    assert callable(command.run)
    parsed = cli.build_parser().parse_args([step.name, "--use", "exercise"])
    assert parsed.use == "exercise" and parsed.handler is command.run
    assert set(step.job_options) <= set(steps.JOB_OPTIONS)
    assert set(step.pipeline_options) <= set(steps.PIPELINE_OPTIONS)
    assert set(step.title) == set(exercises.LANGS)


def test_the_run_page_and_the_agenda_follow_the_table(tmp_path):
    # The run page's steps; the home page's background reference is hidden there.
    assert [name for name, spec in jobs.default_steps().items() if not spec.get("hidden")] == list(BY_NAME)
    sections = [part["step"] for part in pages.AGENDA if part["step"]]
    assert sections == [step.name for step in steps.STEPS if step.section]
    generate = jobs.default_steps(prompt="Il {était}")["generate"]
    assert generate["argv"][3:] == ["generate", "--use", "{variant}", "--prompt", "{prompt}", "--max-new-tokens", "80"]
    assert generate["options"]["prompt"]["default"] == "Il {était}"       # the learner may choose another
    runner = jobs.JobRunner(tmp_path, {"generate": generate})
    argv = runner.argv("generate", "exercise", {})
    assert argv[3:6] == ["generate", "--use", "exercise"] and argv[argv.index("--prompt") + 1] == "Il {était}"


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
