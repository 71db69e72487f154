"""The exercise page's check status: the time the learner waited (not pytest's), and a file Python cannot
read said once, with its line. The reports are known ones (a real check imports TensorFlow: slow; the
report's content is tested in tests/test_check_syntax_error.py)."""

import re
import time

import pytest
from playwright.sync_api import expect

from aurore.course import exercises

pytestmark = pytest.mark.browser

WAIT = 1.6


def open_first_exercise(live_server, page, report):
    server = live_server({"CHECK_WORKER": False, "ENV_GPU_PROBE": False})
    first = exercises.all_exercises()[0]

    def slow_check(route):
        time.sleep(WAIT)                  # a cold start: the worker still importing TensorFlow
        route.fulfill(json=report)

    page.route(f"**/exercises/{first.number}/check", slow_check)
    page.goto(f"{server.url}/exercises/{first.number}")
    page.click("#check-button")
    return server


def test_the_status_shows_the_time_the_learner_waited(live_server, page):
    report = {"checks": [{"outcome": "passed", "title": {"fr": "Ça marche", "en": "It works"}}],
              "passed": 1, "failed": 0, "all_passed": True, "seconds": 0.31, "status": "ok", "output": "",
              "detail": None}
    open_first_exercise(live_server, page, report)
    status = page.locator("#check-status")
    expect(status).to_contain_text("Exercice terminé")
    waited = float(re.search(r"\((\d+,\d) s\)", status.inner_text()).group(1).replace(",", "."))
    assert waited >= WAIT - 0.1, status.inner_text()                      # not pytest's 0,3 s


def test_a_syntax_error_is_said_once_with_its_line(live_server, page):
    entry = {"outcome": "failed", "title": {"fr": "Python sait lire votre fichier", "en": "Python can read your file"},
             "message": "Erreur de syntaxe : invalid syntax.", "where": "01_prepare_dataset.py, ligne/line 12: x = ("}
    report = {"checks": [entry], "passed": 0, "failed": 1, "all_passed": False, "seconds": 0.2, "status": "ok",
              "output": "", "detail": None,
              "syntax_error": {"file": "01_prepare_dataset.py", "line": 12, "text": "x = (", "message": "invalid syntax"}}
    open_first_exercise(live_server, page, report)
    expect(page.locator("#check-status")).to_contain_text("Python ne sait pas lire votre fichier (ligne 12)")
    expect(page.locator("#check-results .check")).to_have_count(1)
    expect(page.locator("#check-results .where")).to_contain_text("ligne/line 12: x = (")
