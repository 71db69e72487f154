"""Adding an exercise touches only its own files: the README's "Adding an exercise" list is enough.

A copy of the repository's code (no data, no models) gets a throwaway
exercise 11 through exactly those files: its solution, its info.toml entry,
its check file and its command. After `python -m aurore exercises sync`,
the CLI lists and checks it, its step runs, and the app shows it on the
agenda and the run page: nothing else had to be told about it.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aurore import paths

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]   # a module fixture and a test of up to 300 s each

#: What the copy needs to run the CLI, the checks and the app (the learner's stubs come from `sync`).
COPIED = ("aurore", "solutions", "exercises/info.toml", "tests/checks", "tests/conftest.py", "pytest.ini",
          "templates", "static", "course")

SOLUTION = '''\
"""Exercise 11 (a throwaway): count the words of a sentence."""


def count_words(sentence: str) -> int:
    # BEGIN SOLUTION
    # TODO: count the pieces between spaces.
    return len(sentence.split())
    # END SOLUTION
'''

INFO = '''
[[exercise]]
number = 11
slug = "11_word_count"
step = "word-count"
checks = "tests/checks/test_11_word_count.py"
title.fr = "Bonus D : compter les mots"
title.en = "Bonus D: count the words"
run_title.fr = "Bonus D : compter les mots d'une phrase"
run_title.en = "Bonus D: count the words of a sentence"
section.fr = "Bonus D : des mots"
section.en = "Bonus D: words"
about.fr = "Compter les mots, pour voir."
about.en = "Counting words, to see."
bonus = true
in_pipeline = false
lesson.fr = "Un mot est un morceau entre deux espaces."
lesson.en = "A word is a piece between two spaces."
'''

CHECKS = '''\
"""Checks for exercise 11: count the words."""

import pytest

from aurore.course.checks.plugin import say

EXERCISE = 11


@pytest.mark.check(fr="count_words compte les mots", en="count_words counts the words")
def test_count_words(exercise_module):
    assert exercise_module.count_words("Il était une fois") == 4, say(fr="Quatre mots attendus.",
                                                                      en="Four words expected.")
'''

COMMAND = '''\
"""`python -m aurore word-count`: count the words of a sentence with exercise 11's code."""

from __future__ import annotations

from aurore.commands import add_variant_option
from aurore.course import exercises


def register(subparsers) -> None:
    parser = subparsers.add_parser("word-count", help="count the words of a sentence")
    parser.add_argument("--sentence", default="Il était une fois", help="the sentence")
    add_variant_option(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    module = exercises.rules("word-count", args.use)
    print(f"{module.count_words(args.sentence)} words")
    return 0
'''

APP = '''\
import json, sys
from aurore.web import create_app

client = create_app({"DATA_DIR": sys.argv[1], "TESTING": True, "CHECK_WORKER": False}).test_client()
pages = {page: client.get(page).get_data(as_text=True) for page in ("/", "/exercises/11", "/run?step=word-count")}
print(json.dumps(pages))
'''


def copy_of_the_code(root: Path) -> Path:
    """The repository's code, without data, models or the learner's files."""
    for name in COPIED:
        source, target = paths.ROOT / name, root / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return root


def add_exercise_11(root: Path) -> None:
    """Exactly the files the README's "Adding an exercise" names."""
    (root / "solutions" / "11_word_count.py").write_text(SOLUTION, encoding="utf-8")
    with (root / "exercises" / "info.toml").open("a", encoding="utf-8") as info:
        info.write(INFO)
    (root / "tests" / "checks" / "test_11_word_count.py").write_text(CHECKS, encoding="utf-8")
    (root / "aurore" / "commands" / "word_count.py").write_text(COMMAND, encoding="utf-8")


@pytest.fixture(scope="module")
def repository(tmp_path_factory):
    """A copy with exercise 11 added and its stub derived; run(...) runs a command inside it."""
    base = tmp_path_factory.mktemp("adding")
    root = copy_of_the_code(base / "repository")
    data = base / "data"
    add_exercise_11(root)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("AURORE_", "PYTEST_")) and key != "PYTHONPATH"}
    env.update(PYTHONPATH=str(root), AURORE_DATA=str(data), PYTHONDONTWRITEBYTECODE="1")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *args], cwd=root, env=env, capture_output=True, text=True,
                              timeout=300)

    synced = run("-m", "aurore", "exercises", "sync")
    assert synced.returncode == 0, synced.stderr
    return {"root": root, "data": data, "run": run, "synced": synced}


def test_sync_derives_its_stub(repository):
    stub = repository["root"] / "exercises" / "11_word_count.py"
    assert "11_word_count.py" in repository["synced"].stdout
    assert "# TODO: count the pieces between spaces." in stub.read_text(encoding="utf-8")
    assert 'raise NotImplementedError("TODO")' in stub.read_text(encoding="utf-8")


def test_the_cli_lists_it_and_checks_the_solution_and_the_stub(repository):
    listed = repository["run"]("-m", "aurore", "exercises", "list")
    assert "11  Bonus D : compter les mots  (11_word_count.py)" in listed.stdout
    solution = repository["run"]("-m", "aurore", "check", "11", "--solution")
    assert solution.returncode == 0 and "1 passed, 0 failed" in solution.stdout, solution.stdout + solution.stderr
    stub = repository["run"]("-m", "aurore", "check", "11")
    assert stub.returncode == 1 and "0 passed, 1 failed" in stub.stdout, stub.stdout + stub.stderr


def test_its_step_runs_with_either_code(repository):
    solution = repository["run"]("-m", "aurore", "word-count", "--use", "solution")
    assert solution.returncode == 0 and solution.stdout.strip() == "4 words", solution.stderr
    unfinished = repository["run"]("-m", "aurore", "word-count", "--use", "exercise")
    assert unfinished.returncode == 2 and "Exercise 11 is not finished: `count_words`" in unfinished.stderr


def test_the_app_shows_it_on_the_agenda_and_the_run_page(repository):
    shown = repository["run"]("-c", APP, str(repository["data"]))
    assert shown.returncode == 0, shown.stderr
    pages = json.loads(shown.stdout.strip().splitlines()[-1])
    home = pages["/"]
    assert home.index("Bonus D : des mots") > home.index("Conclusion")
    assert "Compter les mots, pour voir." in home and 'href="/exercises/11"' in home
    assert 'href="/run?step=word-count"' in pages["/exercises/11"]
    assert '<option value="word-count" selected>Bonus D : compter les mots d&#39;une phrase' in pages[
        "/run?step=word-count"]


def test_a_mistake_in_info_toml_is_a_message_not_a_traceback(tmp_path):
    root = copy_of_the_code(tmp_path / "repository")
    info = root / "exercises" / "info.toml"
    info.write_text(info.read_text(encoding="utf-8").replace('run_title.fr = "Préparer le corpus"\n', "", 1),
                    encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith("AURORE_") and key != "PYTHONPATH"}
    env.update(PYTHONPATH=str(root), AURORE_DATA=str(tmp_path / "data"))
    done = subprocess.run([sys.executable, "-m", "aurore", "exercises", "list"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "exercise 2" in done.stderr and "run_title" in done.stderr, done.stderr
