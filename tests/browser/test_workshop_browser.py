"""The workshop in a real browser (Debian's Chromium, headless), against the
real server: a learner's path through exercise 1, and a step run streamed to
the page. Screenshots go to test-output/ and, for the documentation, to
docs/screenshots/."""

import re
import sys
import textwrap

import pytest
from playwright.sync_api import expect

from aurore.course import exercises
from aurore.web.workshop.pages import AGENDA

pytestmark = pytest.mark.browser

CHECK_SECONDS = 240     # exercise checks import TensorFlow: slow on a loaded 2-core machine

FAKE_TRAINING = textwrap.dedent('''\
    """A stand-in for `python -m aurore train`: the same JSON events, quickly."""
    import json, math, sys, time
    steps = int(sys.argv[2])
    def emit(**event):
        print(json.dumps(event), flush=True)
    emit(event="log", message=f"Training with the {sys.argv[1]} (fake step for the browser test).")
    for step in range(1, steps + 1):
        time.sleep(0.25)
        loss = 6.5 * math.exp(-step / 12) + 2.2
        emit(event="progress", task="Training", done=step, total=steps, unit="step", metrics={"loss": loss})
        if step % 4 == 0:
            emit(event="metrics", step=step, loss=round(loss, 4), val_loss=round(loss + 0.15, 4),
                 message=f"step {step}: loss {loss:.4f}, validation loss {loss + 0.15:.4f}")
    emit(event="log", message="Training finished.")
''')


def test_a_learner_goes_from_failing_to_passing_exercise_one(live_server, page, screenshot):
    server = live_server()
    first = exercises.get(1)
    total = len(exercises.all_exercises())

    page.goto(server.url + "/")
    expect(page.get_by_test_id("progress-count")).to_contain_text(f"0 / {total}")
    expect(page.locator(".agenda-item")).to_have_count(len(AGENDA))
    page.locator(".next-step a").click()
    expect(page).to_have_url(server.url + "/exercises/1")
    expect(page.locator("h1")).to_contain_text(first.title["fr"])
    expect(page.locator("#code-editor .cm-content")).to_be_visible()    # the in-page editor (test_editor_browser.py)
    expect(page.locator("#next-exercise")).to_be_hidden()

    # Hints come one rung at a time, one ladder per function: the idea first, the code last.
    ladder = page.locator(".hint-ladder").first
    expect(ladder.locator(".hint").first).to_be_hidden()
    ladder.locator(".hint-button").click()
    expect(ladder.locator(".hint").first).to_be_visible()
    expect(ladder.locator(".hint").nth(2)).to_be_hidden()

    page.click("#check-button")
    expect(page.locator("#exercise")).to_have_attribute("data-state", "failed", timeout=CHECK_SECONDS * 1000)
    failed = page.locator("#check-results .check.failed")
    expect(failed.first).to_be_visible()
    # Readable messages: what is missing, and where in the learner's file.
    expect(failed.first.locator(".message")).to_have_text(re.compile(r"\w+.{10,}"))
    expect(page.locator("#check-results .message").filter(has_text="TODO").first).to_be_visible()
    expect(page.locator("#check-results .where").first).to_contain_text(first.filename)
    expect(page.locator("#check-status")).to_contain_text("vérifications réussies")
    screenshot(page, "exercise-failing", publish=True)
    page.once("dialog", lambda dialog: dialog.dismiss())          # not passed yet: the page asks first
    page.click("#solution-button")
    expect(page.locator("#solution-diff table.diff")).to_have_count(0)

    # Watch mode: the page re-checks by itself when the file changes.
    page.check("#watch-toggle")
    # The finished file, as a learner would have it (the solution in French), saved: a new mtime.
    (server.exercises / first.filename).write_text(exercises.solution_in(first, "fr"), encoding="utf-8")
    # (No wait for the transient "checking" state: a warm check can pass between two looks at the page.)
    expect(page.locator("#exercise")).to_have_attribute("data-state", "passed", timeout=CHECK_SECONDS * 1000)
    expect(page.locator("#check-status")).to_contain_text("Exercice terminé")
    expect(page.locator("#check-results .check.failed")).to_have_count(0)
    expect(page.locator("#next-exercise a")).to_have_attribute("href", "/exercises/2")   # the journey goes on
    screenshot(page, "exercise-passing", publish=True)
    page.click("#solution-button")
    expect(page.locator("#solution-diff table.diff")).to_be_visible()
    expect(page.locator("#solution-diff")).to_contain_text("identique")

    page.goto(server.url + "/")
    expect(page.get_by_test_id("progress-count")).to_contain_text(f"1 / {total}")
    screenshot(page, "home", publish=True)


def test_a_run_streams_its_progress_reattaches_and_can_be_cancelled(live_server, page, screenshot, tmp_path):
    script = tmp_path / "fake_training.py"
    script.write_text(FAKE_TRAINING, encoding="utf-8")
    steps = {"fake-train": {"title": {"fr": "Entraînement (factice)", "en": "Training (fake)"},
                            "argv": [sys.executable, str(script), "{variant}", "200"]}}
    server = live_server({"WORKSHOP_STEPS": steps})

    page.goto(server.url + "/run?step=fake-train")
    page.check("input[name=variant][value=solution]")
    page.click("#run-button")
    expect(page.locator("#job")).to_have_attribute("data-status", "running")
    expect(page.locator("#job-log")).to_contain_text("Training with the solution")
    expect(page.locator("#loss-figure")).to_be_visible(timeout=20_000)
    expect(page.locator("#job-log")).to_contain_text("step 12: loss", timeout=20_000)
    expect(page.locator("#cancel-button")).to_be_visible()
    assert float(page.locator("#job-bar").get_attribute("value")) >= 12
    screenshot(page, "run-fake-step")     # the published training-run.png is a real run (docs/screenshots/)

    # A reload reattaches to the running job, with its log so far.
    page.reload()
    expect(page.locator("#job")).to_have_attribute("data-status", "running")
    expect(page.locator("#job-log")).to_contain_text("Training with the solution")
    expect(page.locator("#job-log")).to_contain_text("step 16: loss", timeout=20_000)

    page.click("#cancel-button")
    expect(page.locator("#job")).to_have_attribute("data-status", "cancelled", timeout=20_000)
    expect(page.locator("#job-log")).to_contain_text("Annulé")

    # The finished job's outcome stays visible after a reload.
    page.reload()
    expect(page.locator("#job")).to_have_attribute("data-status", "cancelled")
    expect(page.locator("#job-log")).to_contain_text("Training with the solution")
    expect(page.locator("#history")).to_contain_text("annulé")          # the status in the page's language


DIVERGING_TRAINING = textwrap.dedent('''\
    """A training whose loss turns NaN (too high a learning rate): Python writes bare NaN."""
    import json, sys
    def emit(**event):
        print(json.dumps(event), flush=True)
    emit(event="progress", task="Training", done=1, total=4, unit="step", metrics={"loss": 6.1})
    emit(event="metrics", step=2, loss=5.9, val_loss=6.0, message="step 2: loss 5.9000, validation loss 6.0000")
    emit(event="progress", task="Training", done=3, total=4, unit="step", metrics={"loss": float("nan")})
    emit(event="metrics", step=4, loss=float("nan"), val_loss=float("inf"))
    emit(event="log", message="Training finished (diverged).")
''')


def test_a_diverging_run_keeps_the_page_alive(live_server, page, tmp_path):
    """NaN losses reach the page as null: it goes on showing the log and the outcome, without an error."""
    script = tmp_path / "diverging.py"
    script.write_text(DIVERGING_TRAINING, encoding="utf-8")
    server = live_server({"WORKSHOP_STEPS": {"diverge": {"title": {"fr": "Divergence", "en": "Divergence"},
                                                         "argv": [sys.executable, str(script)]}}})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server.url + "/run?step=diverge")
    page.click("#run-button")
    expect(page.locator("#job")).to_have_attribute("data-status", "succeeded", timeout=30_000)
    expect(page.locator("#job-log")).to_contain_text("Training finished (diverged).")
    expect(page.locator("#job-log")).to_contain_text("loss=null")
    expect(page.locator("#loss-figure")).to_be_visible()
    assert not errors, errors


def test_the_environment_page_says_what_is_missing(live_server, page):
    server = live_server({"ENV_GPU_PROBE": False})
    page.goto(server.url + "/environment?lang=en")
    expect(page.locator("#gpu")).to_contain_text("disabled")
    expect(page.locator("#versions")).to_contain_text("TensorFlow")
    expect(page.locator("tr[data-piece=dataset]")).to_contain_text("python -m aurore prepare")
    expect(page.locator("tr[data-piece=dataset] a.button")).to_have_attribute("href", "/run?step=prepare")


def test_the_course_pages_open_from_the_agenda_and_follow_the_language_switch(live_server, page, screenshot):
    server = live_server()
    page.goto(server.url + "/")
    page.get_by_role("link", name="Lire : Présentation").click()
    expect(page).to_have_url(server.url + "/course/presentation")
    expect(page.locator("h1")).to_contain_text("Présentation")
    expect(page.locator("article.lesson h2").first).to_be_visible()
    screenshot(page, "course-presentation", publish=True)
    page.locator(".lang-switch a[lang=en]").click()
    expect(page.locator("h1")).to_contain_text("Presentation")
    page.get_by_role("link", name=re.compile("Exercise 1")).click()
    expect(page).to_have_url(server.url + "/exercises/1")
    page.goto(server.url + "/course/conclusion")
    expect(page.locator("article.lesson")).to_contain_text("8 consecutive words")
    page.get_by_role("link", name="The writers’ page").click()
    expect(page).to_have_url(re.compile(r"/generate$"))
