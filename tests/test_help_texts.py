"""What `--help` tells a newcomer: the app's environment variables (AURORE_SOURCE for an offline room),
and what `pipeline` does, not only its name."""

import pytest

from aurore import cli
from aurore.course import steps
from aurore.web import server


def test_the_app_help_lists_its_environment_variables():
    text = server.build_parser().format_help()
    for name in ("AURORE_DATA", "AURORE_EXERCISES", "AURORE_SOURCE", "AURORE_MIRROR", "AURORE_CACHE"):
        assert name in text, name


def test_the_pipeline_help_says_what_it_does(capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["pipeline", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Build the whole workshop in one command" in text
    assert " → ".join(step.name for step in steps.pipeline()) in text
    assert "skipped" in text and "--redo" in text
