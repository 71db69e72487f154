"""The run page's generate step writes from a prompt the learner sees and may choose (a job option that
fills the step's "{prompt}" argument), and the generate command announces it in its events."""

import json

import pytest

from aurore import cli
from aurore.web.workshop.jobs import JobError, JobRunner, default_steps
from tests.tiny_model import tiny_model_dir  # noqa: F401  (fixture)


@pytest.fixture
def runner(tmp_path):
    return JobRunner(tmp_path, default_steps(5, "Il était une fois"))


def test_the_generate_step_takes_the_app_prompt_by_default_and_the_learners_when_chosen(runner):
    assert runner.steps["generate"]["options"]["prompt"]["default"] == "Il était une fois"
    argv = runner.argv("generate", "exercise", {})
    assert argv[argv.index("--prompt") + 1] == "Il était une fois"
    argv = runner.argv("generate", "exercise", {"prompt": "La nuit était {douce}"})
    assert argv[argv.index("--prompt") + 1] == "La nuit était {douce}"
    assert "prompt" not in (runner.steps["train"].get("options") or {})      # only where the step writes


@pytest.mark.parametrize("bad", ["", "   ", 12, None, "x" * 501, "a\x00b"])
def test_a_bad_prompt_is_refused_with_a_message(runner, bad):
    with pytest.raises(JobError) as refused:
        runner.argv("generate", "exercise", {"prompt": bad})
    assert refused.value.status == 400 and "beginning of the text" in str(refused.value)


def test_the_generate_command_announces_its_prompt_before_the_text(tiny_model_dir, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setenv("AURORE_PROGRESS", "json")
    code = cli.main(["generate", "--model", str(tiny_model_dir), "--prompt", "Au clair de lune",
                     "--max-new-tokens", "4", "--strategy", "greedy"])
    assert code == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert events[0] == {"event": "prompt", "text": "Au clair de lune"}
    assert [e["event"] for e in events[1:]].count("piece") >= 1
