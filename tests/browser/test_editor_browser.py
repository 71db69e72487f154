"""The exercise page's code editor (CodeMirror 6, vendored) in a real browser.

The learner types in the page, Ctrl+S saves the file (atomically, its mode kept) and
runs the check; a save made by another editor shows in the page; a save from another
editor while the page holds unsaved changes is a conflict the learner settles: nothing
is overwritten silently. The check's report is a known one (a real check imports
TensorFlow: slow, and tested elsewhere): what is tested here is the editor and the file.
"""

import os
import stat

import pytest
from playwright.sync_api import expect

from aurore.course import exercises

pytestmark = pytest.mark.browser

REPORT = {"checks": [{"outcome": "passed", "title": {"fr": "Le fichier se charge", "en": "The file loads"}}],
          "passed": 1, "failed": 0, "all_passed": True, "seconds": 0.4, "status": "ok", "output": "", "detail": None}


def open_first_exercise(live_server, page):
    """The first exercise's page (the exercises are renumbered at times: found by position), checks faked."""
    server = live_server({"CHECK_WORKER": False, "ENV_GPU_PROBE": False})
    first = exercises.all_exercises()[0]
    checks = []

    def fake_check(route):
        checks.append((server.exercises / first.filename).read_text(encoding="utf-8"))
        route.fulfill(json=REPORT)

    page.route(f"**/exercises/{first.number}/check", fake_check)
    page.goto(f"{server.url}/exercises/{first.number}")
    expect(page.locator("#code-editor .cm-content")).to_be_visible()
    return server, server.exercises / first.filename, checks


def editor_text(page) -> str:
    return page.evaluate("() => window.AuroreExercise.editor.getText()")


def test_typing_then_ctrl_s_saves_the_file_and_checks_it(live_server, page, screenshot):
    server, learner, checks = open_first_exercise(live_server, page)
    os.chmod(learner, 0o640)
    before = learner.read_text(encoding="utf-8")
    assert editor_text(page) == before
    expect(page.locator("#source")).to_be_hidden()          # the read-only view gives way to the editor

    page.locator("#code-editor .cm-content").click()
    page.keyboard.press("Control+Home")
    page.keyboard.type("# mon essai\n")
    expect(page.locator("#exercise")).to_have_attribute("data-editor", "changed")
    expect(page.locator("#editor-state")).to_contain_text("Modifications non enregistrées")
    assert learner.read_text(encoding="utf-8") == before     # typing alone writes nothing

    page.keyboard.press("Control+S")
    expect(page.locator("#exercise")).to_have_attribute("data-state", "passed")
    expect(page.locator("#editor-state")).to_have_text("Enregistré.")
    assert learner.read_text(encoding="utf-8") == "# mon essai\n" + before
    assert stat.S_IMODE(learner.stat().st_mode) == 0o640
    assert checks == ["# mon essai\n" + before]               # the check ran on the saved file
    # Python is highlighted (the lezer parser's token classes).
    assert page.locator("#code-editor .cm-line span[class]").count() > 5
    screenshot(page, "exercise-editor", publish=True)


def test_a_save_from_another_editor_shows_in_the_page(live_server, page):
    server, learner, checks = open_first_exercise(live_server, page)
    learner.write_text("# écrit dans un autre éditeur\n", encoding="utf-8")
    expect(page.locator("#editor-state")).to_contain_text("a changé sur le disque", timeout=15_000)
    assert editor_text(page) == "# écrit dans un autre éditeur\n"
    expect(page.locator("#editor-conflict")).to_be_hidden()
    assert checks == []                                       # watch mode is off: nothing checked


def test_both_changed_is_a_conflict_the_learner_settles(live_server, page, screenshot):
    server, learner, checks = open_first_exercise(live_server, page)
    page.locator("#code-editor .cm-content").click()
    page.keyboard.press("Control+Home")
    page.keyboard.type("# dans la page\n")
    learner.write_text("# dans l'autre éditeur\n", encoding="utf-8")
    page.keyboard.press("Control+S")               # whether the page noticed first or the save is refused: a conflict
    expect(page.locator("#editor-conflict")).to_be_visible(timeout=15_000)
    expect(page.locator("#exercise")).to_have_attribute("data-editor", "conflict")
    assert learner.read_text(encoding="utf-8") == "# dans l'autre éditeur\n"    # never overwritten silently
    assert editor_text(page).startswith("# dans la page\n")                     # nor the page's text lost
    assert checks == []
    screenshot(page, "exercise-editor-conflict")

    page.click("#conflict-mine")
    expect(page.locator("#exercise")).to_have_attribute("data-state", "passed")
    assert learner.read_text(encoding="utf-8") == editor_text(page)
    assert learner.read_text(encoding="utf-8").startswith("# dans la page\n")
    expect(page.locator("#editor-conflict")).to_be_hidden()


def test_the_disk_version_can_win_a_conflict(live_server, page):
    server, learner, checks = open_first_exercise(live_server, page)
    page.locator("#code-editor .cm-content").click()
    page.keyboard.type("x = 1\n")
    learner.write_text("# la version du disque\n", encoding="utf-8")
    expect(page.locator("#editor-conflict")).to_be_visible(timeout=15_000)
    page.click("#conflict-disk")
    assert editor_text(page) == "# la version du disque\n"
    assert learner.read_text(encoding="utf-8") == "# la version du disque\n"
    expect(page.locator("#exercise")).to_have_attribute("data-editor", "saved")


def test_a_file_starting_with_a_blank_line_opens_unchanged(live_server, page):
    server = live_server({"CHECK_WORKER": False, "ENV_GPU_PROBE": False})
    first = exercises.all_exercises()[0]
    learner = server.exercises / first.filename
    learner.write_text("\n\nx = 1\n", encoding="utf-8")
    page.goto(f"{server.url}/exercises/{first.number}")
    expect(page.locator("#exercise")).to_have_attribute("data-editor", "saved")
    assert editor_text(page) == "\n\nx = 1\n"


def test_the_editor_follows_the_page_theme(live_server, page):
    open_first_exercise(live_server, page)
    background = "() => getComputedStyle(document.getElementById('code-editor').shadowRoot.querySelector('.cm-editor')).backgroundColor"
    page.select_option("#theme-choice", "light")
    light = page.evaluate(background)
    page.select_option("#theme-choice", "dark")
    page.wait_for_function(f"() => ({background})() !== {light!r}")
