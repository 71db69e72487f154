"""pytest plugin behind the exercise checks (`tests/checks/`).

Adds `--aurore-variant solution|exercise` (which code the checks import) and
`--aurore-report FILE` (a JSON report the app and the CLI read: one entry per
check with a beginner-friendly message). Checks get the module under test from
the `exercise_module` fixture, and phrase messages with `say(fr=…, en=…)`.

Loaded with `-p aurore.course.checks.plugin` (tests/conftest.py does it for the suite).
"""

from __future__ import annotations

import json
import os
import traceback
from pathlib import Path

import pytest

from aurore.course import exercises


def say(fr: str, en: str) -> str:
    """A check message in the learner's language (AURORE_LANG, French by default)."""
    return en if os.environ.get("AURORE_LANG", "fr") == "en" else fr


def pytest_addoption(parser):
    group = parser.getgroup("aurore")
    group.addoption("--aurore-variant", default=os.environ.get("AURORE_VARIANT", "solution"),
                    choices=exercises.VARIANTS, help="check the solutions or the learner's exercises")
    group.addoption("--aurore-report", default=None, help="write a JSON check report here")


def pytest_configure(config):
    config.addinivalue_line("markers", "check(fr, en): the check's title in French and English")
    config._aurore_results = []
    config._aurore_syntax_error = None


@pytest.fixture(scope="module")
def exercise_module(request):
    """The module under check: `EXERCISE = N` in the check file says which."""
    number = request.module.EXERCISE
    return exercises.load_module(number, request.config.getoption("--aurore-variant"))


def _title(item) -> dict[str, str]:
    marker = item.get_closest_marker("check")
    if marker:
        return {"fr": marker.kwargs.get("fr", item.name), "en": marker.kwargs.get("en", item.name)}
    doc = (getattr(item.function, "__doc__", None) or item.name).strip().splitlines()[0]
    return {"fr": doc, "en": doc}


def _where(excinfo) -> str | None:
    """The deepest traceback line inside the learner's (or the solution's) file."""
    roots = (str(Path(exercises.paths.exercises_dir()).resolve()),
             str(Path(exercises.paths.solutions_dir()).resolve()))
    where = None
    for frame in traceback.extract_tb(excinfo.tb):
        if str(Path(frame.filename).resolve()).startswith(roots):
            where = f"{Path(frame.filename).name}, ligne/line {frame.lineno}: {(frame.line or '').strip()}"
    return where


def _syntax_error(excinfo) -> dict | None:
    """A SyntaxError (IndentationError…) in the learner's or the solution's file: where, once, for the report."""
    error = excinfo.value
    if not isinstance(error, SyntaxError) or not error.filename:
        return None
    roots = (str(Path(exercises.paths.exercises_dir()).resolve()),
             str(Path(exercises.paths.solutions_dir()).resolve()))
    if not str(Path(error.filename).resolve()).startswith(roots):
        return None
    return {"file": Path(error.filename).name, "line": error.lineno, "text": (error.text or "").rstrip("\n"),
            "message": error.msg}


def _message(excinfo) -> str:
    error = excinfo.value
    if isinstance(error, NotImplementedError):
        return say("Cette partie n'est pas encore écrite (TODO) : complétez-la dans votre fichier.",
                   "This part is not written yet (TODO): fill it in in your file.")
    if isinstance(error, AssertionError):
        text = str(error).split("\nassert ")[0].strip()
        return text or say("Le résultat n'est pas celui attendu.", "The result is not the expected one.")
    text = f"{type(error).__name__}: {error}"
    return (say("Votre code a levé une exception : ", "Your code raised an exception: ") + text)[:2000]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        entry = {"id": item.name, "title": _title(item), "outcome": report.outcome,
                 "message": None, "where": None, "seconds": round(call.duration, 3)}
        if call.excinfo is not None and report.outcome == "failed":
            entry["message"] = _message(call.excinfo)
            entry["where"] = _where(call.excinfo)
            syntax = _syntax_error(call.excinfo)
            if syntax:
                if item.config._aurore_syntax_error:
                    return                    # the same unreadable file: said once, not once per check
                item.config._aurore_syntax_error = syntax
                entry.update(title={"fr": "Python sait lire votre fichier", "en": "Python can read your file"},
                             message=say(f"Erreur de syntaxe : {syntax['message']}.",
                                         f"Syntax error: {syntax['message']}."),
                             where=f"{syntax['file']}, ligne/line {syntax['line']}: {syntax['text'].strip()}")
        item.config._aurore_results.append(entry)


def pytest_sessionfinish(session, exitstatus):
    path = session.config.getoption("--aurore-report")
    if path:
        results = session.config._aurore_results
        Path(path).write_text(json.dumps({
            "variant": session.config.getoption("--aurore-variant"),
            "passed": sum(r["outcome"] == "passed" for r in results),
            "failed": sum(r["outcome"] != "passed" for r in results),
            "checks": results,
            "syntax_error": session.config._aurore_syntax_error,
        }, ensure_ascii=False, indent=1), encoding="utf-8")
