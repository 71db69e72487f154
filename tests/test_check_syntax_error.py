"""A learner's file that Python cannot read: the checks say so once, with its line, and the exercise's
earlier progress stays (a typo being fixed is not a failing check). The check runs in the real limited
process (cold: no TensorFlow is needed by this check file)."""

import textwrap

from aurore.course.checks import runner
from aurore.web.workshop import learner_progress

BROKEN = 'def add(a, b):\n    """Their sum."""\n    return a +\n'

CHECKS = textwrap.dedent('''\
    import importlib.util
    import os

    import pytest


    @pytest.fixture(scope="module")
    def module():
        path = os.path.join(os.environ["AURORE_EXERCISES"], "01_fake.py")
        spec = importlib.util.spec_from_file_location("fake_exercise", path)
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        return loaded

    ''') + "".join(f'''
@pytest.mark.check(fr="Vérification {n}", en="Check {n}")
def test_{n}(module):
    assert module.add(2, {n}) == 2 + {n}
''' for n in range(7))


def test_a_syntax_error_is_reported_once_with_its_line(tmp_path, monkeypatch):
    learner = tmp_path / "exercises"
    learner.mkdir()
    (learner / "01_fake.py").write_text(BROKEN, encoding="utf-8")
    checks = tmp_path / "test_01_fake.py"
    checks.write_text(CHECKS, encoding="utf-8")
    monkeypatch.setenv("AURORE_EXERCISES", str(learner))

    report = runner.run_check_file(checks, "exercise", "fr", wall_seconds=120)

    assert report["status"] == "ok", report["output"]
    assert len(report["checks"]) == 1, report["checks"]          # not once per check (7)
    (entry,) = report["checks"]
    assert entry["outcome"] == "failed"
    assert entry["title"]["fr"] == "Python sait lire votre fichier"
    assert entry["message"].startswith("Erreur de syntaxe")
    assert entry["where"] == "01_fake.py, ligne/line 3: return a +"
    assert report["syntax_error"]["line"] == 3 and report["syntax_error"]["file"] == "01_fake.py"
    assert (report["passed"], report["failed"], report["all_passed"]) == (0, 1, False)


def test_a_syntax_error_keeps_the_earlier_progress(tmp_path):
    done = {"status": "ok", "all_passed": True, "passed": 7, "failed": 0, "syntax_error": None}
    unreadable = {"status": "ok", "all_passed": False, "passed": 0, "failed": 1,
                  "syntax_error": {"file": "01_fake.py", "line": 3, "text": "return a +", "message": "invalid syntax"}}
    failing = {"status": "ok", "all_passed": False, "passed": 5, "failed": 2, "syntax_error": None}

    learner_progress.record_check(tmp_path, 1, done)
    record = learner_progress.record_check(tmp_path, 1, unreadable)
    assert record["done"] is True and record["passed"] == 7 and record["runs"] == 2
    assert learner_progress.summary(tmp_path)["done_numbers"] == [1]

    record = learner_progress.record_check(tmp_path, 1, failing)     # a real failure does un-mark it
    assert record["done"] is False
    assert learner_progress.summary(tmp_path)["done_numbers"] == []
