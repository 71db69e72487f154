"""The workshop's web side: pages, checks through the browser endpoints,
progress on disk, solution diff, reset, background jobs with their event
stream, the environment page, access control and CSRF.

A fake one-exercise workshop (its own solution, stub and check file in a temp
folder) keeps these tests independent of the real exercises; checks and jobs
run in real subprocesses.
"""

import dataclasses
import json
import sys
import time
from pathlib import Path

import pytest
from markupsafe import escape

from aurore import paths
from aurore.course import exercises
from aurore.course.checks import runner
from aurore.course.exercises import Exercise
from aurore.web import create_app, security
from aurore.web.workshop import environment, pages

SOLUTION = '''\
"""A tiny exercise: add two numbers."""


def add(a, b):
    """Their sum."""
    # BEGIN SOLUTION
    # TODO: return the sum of a and b.
    return a + b
    # END SOLUTION
'''

CHECKS = '''\
import importlib.util
import os

import pytest

from aurore.course.checks.plugin import say


def load():
    path = os.path.join(os.environ["AURORE_EXERCISES"], "01_fake.py")
    spec = importlib.util.spec_from_file_location("fake_exercise", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.check(fr="add additionne", en="add adds")
def test_add():
    got = load().add(2, 3)
    assert got == 5, say(fr=f"add(2, 3) devait donner 5, pas {got}.", en=f"add(2, 3) should give 5, not {got}.")
'''

FAKE_STEP = '''\
import json, sys, time
variant = sys.argv[1]
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
pause = float(sys.argv[3]) if len(sys.argv) > 3 else 0.05
def emit(**event):
    print(json.dumps(event), flush=True)
emit(event="log", message=f"fake step with the {variant}")
print("a line that is not JSON", flush=True)
for step in range(1, steps + 1):
    time.sleep(pause)
    emit(event="progress", task="training", done=step, total=steps, unit="step", metrics={"loss": 5.0 / step})
    emit(event="metrics", step=step, loss=5.0 / step, val_loss=5.5 / step)
emit(event="log", message="done")
sys.exit(3 if variant == "exercise" else 0)
'''


@pytest.fixture
def workshop_env(tmp_path, monkeypatch):
    """A one-exercise workshop in temp folders; returns a factory of apps sharing its data folder."""
    solutions = tmp_path / "solutions"
    learner = tmp_path / "exercises"
    data = tmp_path / "data"
    solutions.mkdir()
    learner.mkdir()
    (solutions / "01_fake.py").write_text(SOLUTION, encoding="utf-8")
    (learner / "01_fake.py").write_text(exercises.derive_stub(SOLUTION), encoding="utf-8")
    check_file = tmp_path / "test_01_fake.py"
    check_file.write_text(CHECKS, encoding="utf-8")
    step_script = tmp_path / "fake_step.py"
    step_script.write_text(FAKE_STEP, encoding="utf-8")
    fake = Exercise(number=1, slug="01_fake", step="prepare",
                    title={"fr": "Additionner", "en": "Adding up"},
                    lesson={"fr": "# Leçon\n\nUne **addition** :\n\n```python\nadd(1, 2)\n```\n",
                            "en": "# Lesson\n\nAn **addition**.\n"},
                    hints=({"function": "add", "idea": {"fr": "Premier indice", "en": "First hint"},
                            "pointer": {"fr": "Second indice", "en": "Second hint"}},),
                    checks=str(check_file))
    monkeypatch.setattr(exercises, "_load_info", lambda: (fake,))
    monkeypatch.setattr(paths, "solutions_dir", lambda: solutions)
    monkeypatch.setenv("AURORE_EXERCISES", str(learner))
    monkeypatch.setenv("AURORE_DATA", str(data))
    pages._lesson_html.cache_clear()

    def run_fake_checks(number, variant="exercise", lang="fr", **limits):
        exercises.get(number)
        return {**runner.run_check_file(check_file, variant, lang, **limits), "exercise": 1}

    monkeypatch.setattr(pages.runner, "run_checks", run_fake_checks)

    def make_app(**config):
        steps = {"fake": {"title": {"fr": "Étape factice", "en": "Fake step"},
                          "argv": ["{python}", str(step_script), "{variant}"]},
                 "slow": {"title": {"fr": "Lente", "en": "Slow"},
                          "argv": ["{python}", str(step_script), "{variant}", "1000", "0.1"]}}
        app = create_app({"DATA_DIR": str(data), "WORKSHOP_STEPS": steps, "SSE_HEARTBEAT_SECONDS": 1,
                          "CHECK_WALL_SECONDS": 60, "TESTING": True, **config})
        return app

    yield {"make_app": make_app, "learner": learner / "01_fake.py", "data": data, "tmp": tmp_path}
    pages._lesson_html.cache_clear()


def csrf(client) -> dict:
    page = client.get("/").get_data(as_text=True)
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    return {"X-CSRF-Token": token}


def wait_finished(client, job_id, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        record = client.get(f"/jobs/{job_id}").get_json()["job"]
        if record["status"] in ("succeeded", "failed", "cancelled", "interrupted"):
            return record
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {record['status']} after {seconds} s")


# -- pages -------------------------------------------------------------------------
def test_home_shows_agenda_progress_and_next_step(workshop_env):
    client = workshop_env["make_app"]().test_client()
    page = client.get("/").get_data(as_text=True)
    for part in ("Présentation", "Préparer les données", "Tokenisation", "Entraîner de zéro", "Faire écrire",
                 "Conclusion"):
        assert part in page
    assert "0 / 1" in page
    assert 'href="/exercises/1"' in page
    english = client.get("/?lang=en").get_data(as_text=True)
    assert "Preparing the data" in english and "Next step" in english


def test_exercise_page_renders_lesson_code_and_hidden_hints(workshop_env):
    client = workshop_env["make_app"]().test_client()
    page = client.get("/exercises/1").get_data(as_text=True)
    assert "<strong>addition</strong>" in page                      # Markdown → HTML
    assert 'class="highlight"' in page and "NotImplementedError" in page   # the learner's file, highlighted
    assert page.count('class="hint" hidden') == 3                 # one ladder: the idea, the pointer, the code
    assert "Second indice" in page and "<code>add</code>" in page
    assert page.index("Premier indice") < page.index("Second indice") < page.index("a</span> <span class=\"o\">+")
    assert "Lesson" in client.get("/exercises/1?lang=en").get_data(as_text=True)
    assert "/static/pygments.css" in page


def test_hints_are_rendered_by_the_lessons_markdown(workshop_env, monkeypatch):
    """One renderer (rendering.markdown_html) for lessons, hints and course pages: a hint's table and code too."""
    import dataclasses
    import re

    from aurore.web.workshop.rendering import markdown_html

    hint = "| n | n² |\n|---|---|\n| 3 | 9 |\n\n```python\nadd(1, 2)\n```\n"
    rich = dataclasses.replace(exercises.get(1), hints=({"function": "add", "idea": {"fr": hint, "en": hint},
                                                         "pointer": {"fr": "…", "en": "…"}},))
    monkeypatch.setattr(exercises, "_load_info", lambda: (rich,))
    page = workshop_env["make_app"]().test_client().get("/exercises/1").get_data(as_text=True)
    assert f'<li class="hint" hidden><strong class="rung">L’idée</strong> {markdown_html(hint)}</li>' in page
    assert "<table>" in page and '<div class="highlight"><pre>' in markdown_html(hint)
    importers = [path.relative_to(paths.ROOT).as_posix() for path in sorted((paths.ROOT / "aurore").rglob("*.py"))
                 if re.search(r"^\s*(import|from) markdown\b", path.read_text(encoding="utf-8"), re.M)]
    assert importers == ["aurore/web/workshop/rendering.py"]


def test_course_pages_are_reachable_from_the_agenda_in_both_languages(workshop_env):
    client = workshop_env["make_app"]().test_client()
    home = client.get("/").get_data(as_text=True)
    assert 'href="/course/presentation"' in home and 'href="/course/conclusion"' in home
    presentation = client.get("/course/presentation").get_data(as_text=True)
    assert "<h1>Présentation" in presentation and 'class="lesson course-text"' in presentation
    for notion in ("modèle de langue", "<strong>jetons</strong>", "<strong>époque</strong>", "GPT-2",
                   "perceptrons multicouches", "<strong>affiner</strong>", "<strong>partir de zéro</strong>"):
        assert notion in presentation, notion
    assert 'href="/exercises/1"' in presentation            # on to the first exercise
    conclusion = client.get("/course/conclusion").get_data(as_text=True)
    for notion in ("Servir un modèle", "latence ou débit", "<strong>8 mots consécutifs</strong>",
                   "page « Faire écrire »", "domaine public"):
        assert notion in conclusion, notion
    english = client.get("/course/presentation?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english and "<strong>tokens</strong>" in english and "<strong>epoch</strong>" in english
    remembered = client.get("/course/conclusion").get_data(as_text=True)   # the switch is kept, as elsewhere
    assert "<strong>8 consecutive words</strong>" in remembered and "Serving a model" in remembered


@pytest.mark.parametrize("bad", ["nope", "presentation.fr", "..", "%2e%2e%2fetc", "PRESENTATION"])
def test_unknown_course_pages_get_a_readable_404(workshop_env, bad):
    client = workshop_env["make_app"]().test_client()
    response = client.get(f"/course/{bad}")
    assert response.status_code == 404
    if "%2f" not in bad:     # a slash leaves the workshop's routes: Flask's own 404
        assert "page de cours" in response.get_data(as_text=True)


def test_course_texts_have_a_title_and_the_same_sections_in_both_languages():
    from aurore.web.workshop import course

    for slug in course.PAGES:
        sections = {}
        for lang in course.LANGS:
            text = (course.COURSE_DIR / f"{slug}.{lang}.md").read_text(encoding="utf-8")
            assert text.startswith("# "), f"course/{slug}.{lang}.md starts with its title"
            sections[lang] = [line for line in text.splitlines() if line.startswith("## ")]
            assert course.page(slug, lang).title == text.splitlines()[0][2:]
        assert len(sections["fr"]) == len(sections["en"]) >= 4, slug


def test_the_real_workshop_has_five_exercises_and_an_evaluation_step(tmp_path):
    """The agenda, the progress count, the exercise page and the runs page all know exercise 7."""
    client = create_app({"DATA_DIR": str(tmp_path), "TESTING": True}).test_client()
    home = client.get("/").get_data(as_text=True)
    assert f"0 / {len(exercises.all_exercises())}" in home     # the bonus exercises count too
    assert "Évaluation" in home and 'href="/exercises/7"' in home and "Évaluer le modèle" in home
    page = client.get("/exercises/7").get_data(as_text=True)
    assert "Exercice 7 — Évaluer le modèle" in page and "<strong>La perplexité</strong>" in page
    assert 'href="/run?step=evaluate"' in page and "Lancer cette étape : Évaluer le modèle" in page
    assert '<option value="evaluate"' in client.get("/run?step=evaluate").get_data(as_text=True)
    listing = client.get("/exercises").get_data(as_text=True)
    assert 'href="/exercises/7"' in listing


def test_lesson_3_and_the_course_give_the_training_time_the_runs_page_uses(tmp_path):
    """The run page trains for TRAIN_MAX_MINUTES, the `cpu` preset for its max_minutes: the texts say so."""
    from aurore.training import presets
    from aurore.web.workshop import course

    app = create_app({"DATA_DIR": str(tmp_path), "TESTING": True})
    with app.app_context():
        page_minutes = f'{pages.job_runner().steps["train"]["options"]["max_minutes"]["default"]:g}'
    preset_minutes = f"{presets.PRESETS['cpu']['max_minutes']:g}"
    lesson = exercises.for_step("train").lesson
    for lang in course.LANGS:
        for text in (lesson[lang], course.page("presentation", lang).html):
            assert f"{page_minutes} minutes" in text and f"{preset_minutes} minutes" in text, lang


@pytest.mark.parametrize("bad", ["abc", "99", "1.5", "-1", "..", "%2e%2e%2fetc"])
def test_bad_exercise_ids_get_a_readable_404(workshop_env, bad):
    client = workshop_env["make_app"]().test_client()
    response = client.get(f"/exercises/{bad}")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Traceback" not in page, page[:500]
    if "%2f" not in bad:                                   # an id the exercise route reads: it names the exercise
        assert "Exercice" in page, page[:500]
    response = client.post(f"/exercises/{bad}/check", headers=csrf(client))
    assert response.status_code == 404
    if "%2f" not in bad:     # a slash leaves the workshop's routes: Flask's own 404
        assert "error" in response.get_json()


def test_pages_use_only_local_assets(workshop_env):
    client = workshop_env["make_app"]().test_client()
    for url in ("/", "/exercises", "/exercises/1", "/run", "/environment", "/course/presentation",
                "/course/conclusion"):
        page = client.get(url).get_data(as_text=True)
        assert "http://" not in page and "https://" not in page, url
        for asset in ("/static/css/aurore.css", "/static/pygments.css"):
            assert asset in page
            assert client.get(asset).status_code == 200
    # The loss chart's library is vendored (static/vendor/README.md), not fetched from a CDN.
    page = client.get("/run").get_data(as_text=True)
    for asset in ("/static/vendor/uplot/uPlot.iife.min.js", "/static/vendor/uplot/uPlot.min.css"):
        assert asset in page
        assert client.get(asset).status_code == 200


# -- checks, progress, solution, reset ----------------------------------------------
def test_check_cycle_records_progress_that_survives_a_restart(workshop_env):
    client = workshop_env["make_app"]().test_client()
    headers = csrf(client)
    assert client.get("/exercises/1/solution").status_code == 403      # not passed, not asked for

    report = client.post("/exercises/1/check", headers=headers).get_json()
    assert report["all_passed"] is False
    (entry,) = report["checks"]
    assert entry["outcome"] == "failed" and "TODO" in entry["message"]
    assert entry["title"]["fr"] == "add additionne"

    assert client.get("/exercises/1/solution").status_code == 403      # a failed check does not open it
    diff = client.get("/exercises/1/solution?confirm=1").get_json()      # the learner confirmed they want it
    assert "return&nbsp;a&nbsp;+&nbsp;b" in diff["html"] and diff["identical"] is False
    assert "SOLUTION" not in diff["html"]
    saved = json.loads((workshop_env["data"] / "workshop" / "progress.json").read_text())
    assert saved["exercises"]["1"]["solution_seen"]["how"] == "asked_before_passing"

    workshop_env["learner"].write_text(SOLUTION.replace("a + b", "a - b"), encoding="utf-8")
    report = client.post("/exercises/1/check", headers=headers).get_json()
    assert report["checks"][0]["message"] == "add(2, 3) devait donner 5, pas -1."
    assert "0 / 1" in client.get("/").get_data(as_text=True)

    workshop_env["learner"].write_text(SOLUTION, encoding="utf-8")
    report = client.post("/exercises/1/check", headers=headers).get_json()
    assert report["all_passed"] is True and report["record"]["done"] is True
    assert client.get("/exercises/1/solution").get_json()["identical"] is True

    restarted = workshop_env["make_app"]().test_client()
    home = restarted.get("/").get_data(as_text=True)
    assert "1 / 1" in home
    saved = json.loads((workshop_env["data"] / "workshop" / "progress.json").read_text())
    assert saved["exercises"]["1"]["done"] is True and saved["exercises"]["1"]["runs"] == 3
    assert saved["exercises"]["1"]["solution_seen"]["how"] == "asked_before_passing"    # the first way is kept


def test_a_passing_check_shows_the_next_exercise_and_opens_the_solution(workshop_env, monkeypatch):
    second = dataclasses.replace(exercises.get(1), number=2, slug="02_fake", title={"fr": "Suite", "en": "Next"})
    first = exercises.get(1)
    monkeypatch.setattr(exercises, "_load_info", lambda: (first, second))
    client = workshop_env["make_app"]().test_client()
    page = client.get("/exercises/1").get_data(as_text=True)
    assert 'href="/exercises/2"' in page and 'id="next-exercise" hidden' in page   # shown by the passing check
    workshop_env["learner"].write_text(SOLUTION, encoding="utf-8")
    assert client.post("/exercises/1/check", headers=csrf(client)).get_json()["all_passed"] is True
    page = client.get("/exercises/1").get_data(as_text=True)
    assert 'id="next-exercise" >' in page or 'id="next-exercise">' in page
    assert "Suivant : exercice 2 — Suite" in page
    assert client.get("/exercises/1/solution").status_code == 200                 # passed: no question asked
    saved = json.loads((workshop_env["data"] / "workshop" / "progress.json").read_text())
    assert saved["exercises"]["1"]["solution_seen"]["how"] == "after_passing"


def test_check_messages_follow_the_language(workshop_env):
    client = workshop_env["make_app"]().test_client()
    client.get("/?lang=en")
    workshop_env["learner"].write_text(SOLUTION.replace("a + b", "a * b"), encoding="utf-8")
    report = client.post("/exercises/1/check", headers=csrf(client)).get_json()
    assert report["checks"][0]["message"] == "add(2, 3) should give 5, not 6."


def test_mtime_follows_the_learners_saves(workshop_env):
    client = workshop_env["make_app"]().test_client()
    before = client.get("/exercises/1/mtime").get_json()["mtime"]
    time.sleep(0.02)
    workshop_env["learner"].write_text(SOLUTION, encoding="utf-8")
    after = client.get("/exercises/1/mtime").get_json()["mtime"]
    assert after > before
    html = client.get("/exercises/1/source").get_json()["html"]
    assert '<span class="k">return</span> <span class="n">a</span>' in html


def test_reset_restores_the_stub_and_keeps_a_backup(workshop_env):
    client = workshop_env["make_app"]().test_client()
    workshop_env["learner"].write_text("# my own attempt\n", encoding="utf-8")
    answer = client.post("/exercises/1/reset", headers=csrf(client)).get_json()
    assert workshop_env["learner"].read_text() == exercises.derive_stub(SOLUTION)
    backup = workshop_env["learner"].parent / answer["backup"]
    assert backup.read_text() == "# my own attempt\n"


# -- security ----------------------------------------------------------------------
def test_post_without_csrf_token_or_from_another_origin_is_refused(workshop_env):
    client = workshop_env["make_app"]().test_client()
    assert client.post("/exercises/1/reset").status_code == 403
    assert client.post("/jobs", json={"step": "fake"}).status_code == 403
    headers = csrf(client)
    response = client.post("/exercises/1/reset", headers={**headers, "Origin": "http://evil.example"})
    assert response.status_code == 403 and "un autre site" in response.get_json()["error"]["message"]
    assert workshop_env["learner"].read_text() == exercises.derive_stub(SOLUTION)
    ok = client.post("/exercises/1/reset", headers={**headers, "Origin": "http://localhost"})
    assert ok.status_code == 200


def test_the_csrf_token_survives_an_app_restart(workshop_env):
    client = workshop_env["make_app"]().test_client()
    headers = csrf(client)
    cookie = client.get_cookie("session")
    restarted = workshop_env["make_app"]().test_client()
    restarted.set_cookie("session", cookie.value)
    assert restarted.post("/exercises/1/reset", headers=headers).status_code == 200
    key = workshop_env["data"] / "workshop" / "secret_key"
    assert key.stat().st_mode & 0o077 == 0


def test_remote_clients_are_refused_without_a_token(workshop_env):
    client = workshop_env["make_app"]().test_client()
    remote = {"REMOTE_ADDR": "192.168.1.20"}
    response = client.get("/exercises/1", environ_base=remote)
    assert response.status_code == 403 and "--token" in response.get_data(as_text=True)
    assert client.post("/exercises/1/check", environ_base=remote).status_code == 403
    assert client.get("/", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


def test_remote_clients_with_the_token_get_in(workshop_env):
    client = workshop_env["make_app"](ACCESS_TOKEN="s3cret").test_client()
    remote = {"REMOTE_ADDR": "10.0.0.7"}
    assert client.get("/", environ_base=remote).status_code == 403
    assert client.get("/?token=wrong", environ_base=remote).status_code == 403
    response = client.get("/exercises/1?token=s3cret&lang=en", environ_base=remote)
    # The landing page keeps the token for this origin, then opens the address without it.
    assert response.status_code == 200 and b'data-next="/exercises/1?lang=en"' in response.data
    assert response.headers["Set-Cookie"].startswith(f"aurore_token={security.page_pass('s3cret')};")
    assert client.get("/exercises/1", environ_base=remote).status_code == 200     # the page pass opens pages
    other = workshop_env["make_app"](ACCESS_TOKEN="s3cret").test_client()
    assert other.get("/", environ_base=remote, headers={"X-Aurore-Token": "s3cret"}).status_code == 200


def test_public_mode_has_no_workshop(workshop_env):
    client = workshop_env["make_app"](PUBLIC=True).test_client()
    assert client.get("/exercises/1").status_code == 404
    assert client.post("/jobs").status_code in (404, 405)
    page = client.get("/generate").get_data(as_text=True)
    assert 'href="/exercises"' not in page


# -- jobs --------------------------------------------------------------------------
def test_a_job_streams_its_events_and_its_record_is_kept(workshop_env):
    app = workshop_env["make_app"]()
    client = app.test_client()
    started = client.post("/jobs", json={"step": "fake", "variant": "solution"}, headers=csrf(client))
    assert started.status_code == 201
    job = started.get_json()
    stream = client.get(f"/jobs/{job['id']}/events").get_data(as_text=True)
    events = [json.loads(line[6:]) for line in stream.splitlines() if line.startswith("data: {\"event\"")]
    kinds = [event["event"] for event in events]
    assert kinds.count("progress") == 3 and kinds.count("metrics") == 3
    assert {"event": "log", "message": "a line that is not JSON"}.items() <= events[1].items()
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert "event: end" in stream and '"status": "succeeded"' in stream
    record = wait_finished(client, job["id"])
    assert record["returncode"] == 0 and record["progress"]["done"] == 3

    # Resuming a stream from an event id gives only what follows.
    tail = client.get(f"/jobs/{job['id']}/events", headers={"Last-Event-ID": "6"}).get_data(as_text=True)
    assert "id: 6\n" not in tail and "id: 7\n" in tail

    restarted = workshop_env["make_app"]().test_client()
    current = restarted.get("/jobs/current").get_json()["job"]
    assert current["id"] == job["id"] and current["status"] == "succeeded"
    assert len(restarted.get(f"/jobs/{job['id']}").get_json()["events"]) == len(events)
    assert job["id"] in restarted.get("/run").get_data(as_text=True)


def test_a_failing_step_is_reported_as_failed(workshop_env):
    client = workshop_env["make_app"]().test_client()
    job = client.post("/jobs", json={"step": "fake", "variant": "exercise"}, headers=csrf(client)).get_json()
    record = wait_finished(client, job["id"])
    assert record["status"] == "failed" and record["returncode"] == 3


def test_one_job_at_a_time_and_cancel(workshop_env):
    client = workshop_env["make_app"]().test_client()
    headers = csrf(client)
    job = client.post("/jobs", json={"step": "slow", "variant": "solution"}, headers=headers).get_json()
    second = client.post("/jobs", json={"step": "fake", "variant": "solution"}, headers=headers)
    assert second.status_code == 409 and "déjà" in second.get_json()["error"]["message"]
    assert client.get("/jobs/current").get_json()["job"]["id"] == job["id"]
    deadline = time.monotonic() + 60                       # the step is running: it has written something
    while not client.get(f"/jobs/{job['id']}").get_json()["events"]:
        assert time.monotonic() < deadline, "the slow step never started"
        time.sleep(0.05)
    assert client.post(f"/jobs/{job['id']}/cancel", headers=headers).get_json()["cancelled"] is True
    record = wait_finished(client, job["id"], seconds=15)
    assert record["status"] == "cancelled"
    assert client.post("/jobs", json={"step": "fake", "variant": "solution"}, headers=headers).status_code == 201


def test_bad_job_requests_get_readable_errors(workshop_env):
    client = workshop_env["make_app"]().test_client()
    headers = csrf(client)
    assert client.post("/jobs", json={"step": "rm -rf", "variant": "solution"}, headers=headers).status_code == 404
    assert client.post("/jobs", json={"step": "fake", "variant": "mine"}, headers=headers).status_code == 400
    assert client.get("/jobs/../../etc").status_code == 404
    assert client.get("/jobs/nope/events").status_code == 404


def test_step_options_are_checked_and_become_arguments(workshop_env):
    echo = workshop_env["tmp"] / "echo.py"
    echo.write_text("import json, sys\nprint(json.dumps({'event': 'log', 'message': ' '.join(sys.argv[1:])}))\n")
    steps = {"echo": {"title": {"fr": "Écho", "en": "Echo"}, "argv": ["{python}", str(echo), "{variant}"],
                      "options": pages.default_steps(train_minutes=3)["train"]["options"]}}
    client = workshop_env["make_app"](WORKSHOP_STEPS=steps).test_client()
    headers = csrf(client)
    page = client.get("/run?step=echo").get_data(as_text=True)
    assert 'id="run-preset"' in page and 'id="run-minutes"' in page and 'id="run-restart"' in page
    assert 'id="run-minutes" value="5"' in page and "Recommencer à zéro" in page and "surapprend" in page
    assert "Start over" in client.get("/run?step=echo&lang=en").get_data(as_text=True)

    started = client.post("/jobs", json={"step": "echo", "variant": "exercise",
                                         "options": {"preset": "tiny", "max_minutes": 1, "restart": True}},
                          headers=headers)
    assert started.status_code == 201
    job = started.get_json()
    assert job["options"] == {"preset": "tiny", "max_minutes": 1.0, "restart": True}
    wait_finished(client, job["id"])
    events = client.get(f"/jobs/{job['id']}").get_json()["events"]
    assert events[0]["message"] == "exercise --preset tiny --max-minutes 1 --restart"

    for options, message in (({"preset": "gpu"}, "Unknown preset"), ({"max_minutes": "NaN"}, "between 0.5"),
                             ({"max_minutes": 0}, "between 0.5"), ({"restart": "yes"}, "true or false"),
                             ({"colour": "blue"}, "Unknown option"), ("tiny", "JSON object")):
        refused = client.post("/jobs", json={"step": "echo", "variant": "solution", "options": options},
                              headers=headers)
        assert refused.status_code == 400 and message in refused.get_json()["error"]["message"], options
    # A step without options takes none.
    refused = client.post("/jobs", json={"step": "prepare", "variant": "solution", "options": {"preset": "tiny"}},
                          headers=headers)
    assert refused.status_code == 400 and "Unknown option" in refused.get_json()["error"]["message"]


def test_a_job_cut_off_by_a_restart_is_marked_interrupted(workshop_env):
    app = workshop_env["make_app"]()
    client = app.test_client()
    job = client.post("/jobs", json={"step": "slow", "variant": "solution"}, headers=csrf(client)).get_json()
    runner = app.extensions["aurore_jobs"]
    try:
        restarted = workshop_env["make_app"]().test_client()
        record = restarted.get(f"/jobs/{job['id']}").get_json()["job"]
        assert record["status"] == "interrupted"
    finally:
        runner.cancel(job["id"])
        wait_finished(client, job["id"], seconds=15)


def test_default_steps_run_the_aurore_cli_with_the_chosen_code():
    steps = pages.default_steps(train_minutes=2)
    # Every exercise's step, then the home page's background reference (not on the run page).
    assert list(steps) == [*(exercise.step for exercise in exercises.all_exercises()), "reference"]
    from aurore.web.workshop.jobs import JobRunner
    runner = JobRunner(Path(paths.data_dir()) / "never-used", steps)
    try:
        argv = runner.argv("tokenizer", "exercise")
        assert argv == [sys.executable, "-m", "aurore", "tokenizer", "--use", "exercise"]
        # The run page's defaults: the cpu preset for the configured time, resuming.
        assert runner.argv("train", "exercise")[-5:] == ["exercise", "--preset", "cpu", "--max-minutes", "2"]
        assert runner.argv("train", "solution", {"preset": "tiny", "max_minutes": 1.5, "restart": True})[-6:] == [
            "solution", "--preset", "tiny", "--max-minutes", "1.5", "--restart"]
        assert runner.argv("generate", "exercise", {"preset": "tiny"})[-2:] == ["--preset", "tiny"]
        # The reference: the whole pipeline with the solution, for the same time as the learner's training.
        assert runner.argv("reference", "solution")[2:] == [
            "aurore", "pipeline", "--use", "solution", "--preset", "cpu", "--max-minutes", "2"]
        # The code bonus: every step in a row, for the chosen time.
        assert runner.argv("code", "exercise", {"max_minutes": 3})[2:] == [
            "aurore", "code", "--use", "exercise", "all", "--max-minutes", "3"]
    finally:
        import shutil
        shutil.rmtree(Path(paths.data_dir()) / "never-used", ignore_errors=True)


def test_the_bonus_steps_follow_the_conclusion_with_their_exercises_and_runs(tmp_path):
    client = create_app({"DATA_DIR": str(tmp_path), "TESTING": True}).test_client()
    home = client.get("/").get_data(as_text=True)
    conclusion = home.index("Conclusion")
    bonuses = [exercise for exercise in exercises.all_exercises() if exercise.bonus]
    assert bonuses
    for number, section, step in ((bonus.number, str(escape(bonus.section["fr"])), bonus.step) for bonus in bonuses):
        assert home.index(section) > conclusion and f'href="/exercises/{number}"' in home
        page = client.get(f"/exercises/{number}").get_data(as_text=True)
        assert f'href="/run?step={step}"' in page
        assert f'<option value="{step}" selected' in client.get(f"/run?step={step}").get_data(as_text=True)


# -- environment ----------------------------------------------------------------------
def test_environment_page_lists_versions_missing_pieces_and_what_to_do(workshop_env):
    client = workshop_env["make_app"]().test_client()
    page = client.get("/environment").get_data(as_text=True)
    for name in ("Python", "TensorFlow", "Keras", "KerasHub"):
        assert f"<th>{name}</th>" in page
    assert "python -m aurore prepare" in page and "/run?step=prepare" in page
    assert "Disque libre" in page
    dataset = workshop_env["data"] / "dataset"
    dataset.mkdir(parents=True)
    (dataset / "train.txt").write_text("x")
    page = client.get("/environment").get_data(as_text=True)
    assert 'data-piece="dataset"' in page
    row = page.split('data-piece="dataset"')[1].split("</tr>")[0]
    assert "présent" in row


def test_gpu_probe_runs_in_a_subprocess_once(workshop_env, monkeypatch):
    monkeypatch.setattr(environment, "_GPU_PROBE", "print('[\"/physical_device:GPU:0\"]')")
    monkeypatch.setattr(environment, "_gpu_cache", None)
    client = workshop_env["make_app"]().test_client()
    assert client.get("/environment/gpu").get_json() == {"ok": True, "devices": ["/physical_device:GPU:0"],
                                                         "error": None}
    monkeypatch.setattr(environment, "_GPU_PROBE", "raise SystemExit(1)")
    assert client.get("/environment/gpu").get_json()["ok"] is True       # cached


def test_the_language_switch_offers_to_rewrite_untouched_stubs(tmp_path, monkeypatch):
    """An English starting file on a French page: the page offers to rewrite it in French; work is never touched."""
    learner = tmp_path / "exercises"
    learner.mkdir()
    monkeypatch.setenv("AURORE_EXERCISES", str(learner))
    first, second = exercises.get(1), exercises.get(2)
    first.exercise_path.write_text(exercises.stub_for(first, "en"), encoding="utf-8")
    worked = exercises.stub_for(second, "en") + "\n# my work\n"
    second.exercise_path.write_text(worked, encoding="utf-8")
    client = create_app({"DATA_DIR": str(tmp_path / "data"), "TESTING": True, "CHECK_WORKER": False}).test_client()
    page = client.get("/exercises/1?lang=fr").get_data(as_text=True)
    assert 'id="stub-language"' in page and "1 de vos fichiers d'exercice, pas encore modifié" in page
    answer = client.post("/exercises/language", headers=csrf(client)).get_json()
    assert answer["rewritten"] >= 1 and answer["lang"] == "fr"
    assert first.exercise_path.read_text(encoding="utf-8") == exercises.stub_for(first, "fr")
    assert second.exercise_path.read_text(encoding="utf-8") == worked
    assert 'id="stub-language"' not in client.get("/exercises/1").get_data(as_text=True)
    assert 'id="stub-language"' in client.get("/exercises/1?lang=en").get_data(as_text=True)   # French files now
