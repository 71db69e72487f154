"""The learners' pages: home, exercises, checks, runs, environment.

Every route here runs code or shows the learner's files, so the app
answers only to loopback clients or to holders of the access token, and
these POSTs need the CSRF token (see `security`). The heavy lifting lives in
small modules: `aurore.course.checks.runner` (limited check subprocess), `jobs` (background
step runs), `learner_progress` (progress on disk), `environment` (the setup
page). The language is `aurore.web.language`'s, the texts gettext's
(`aurore.web.translations`); an error is a page, or JSON in the web layer's
one shape (`aurore.web.errors`) for the pages' scripts.
"""

from __future__ import annotations

import difflib
import json
import re
import threading
from functools import lru_cache

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request
from flask_babel import gettext
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer
from werkzeug.exceptions import HTTPException

from aurore.course import exercises
from aurore.course.checks import runner, warm_worker
from aurore.course.steps import STEPS
from aurore.errors import AuroreError
from aurore.web import errors, security
from aurore.web.language import content_lang, localized, page_lang
from aurore.web.workshop import course, editor, environment, learner_progress, reference
from aurore.web.workshop.jobs import (GPT2_STEP, LSTM_STEP, default_steps, minutes_default, JobError, JobRunner,
                                     MAX_PAGE_EVENTS, PAGE_EVENTS)
from aurore.web.workshop.rendering import markdown_html
from aurore.web.writers import api_params

bp = Blueprint("workshop", __name__)

#: The workshop's agenda: the presentation, a section per step (exercises/info.toml), the conclusion, the bonus steps.
#: Sections with an exercise link to it, the others to their course page. A title or an `about` is a
#: course text (`{"fr", "en"}`, from info.toml) or a msgid (marked N_): the template shows either (`localized`).
AGENDA = (
    {"title": errors.N_("Presentation"), "step": None, "page": "presentation",
     "about": errors.N_("What a language model is, and what we are going to build.")},
    *({"title": step.section, "step": step.name, "about": step.about}
      for step in STEPS if step.section and not step.bonus),
    {"title": errors.N_("Conclusion"), "step": None, "page": "conclusion",
     "about": errors.N_("What the model knows, what it does not, and what comes next.")},
    *({"title": step.section, "step": step.name, "about": step.about} for step in STEPS if step.section and step.bonus),
)

_check_lock = threading.Lock()
#: How long a check waits for a worker that is still importing before running cold.
WORKER_WAIT_SECONDS = 60
_MARKER = re.compile(r"^\s*# (BEGIN SOLUTION|END SOLUTION|STUB: )")


# -- request set-up ------------------------------------------------------------
@bp.before_request
def guard():
    # Access (Host, token or loopback) is checked for the whole app by security.guard.
    security.check_csrf()
    page_lang()          # a `?lang=` on any workshop address is remembered
    return None


def _wants_json() -> bool:
    return request.method != "GET" or request.accept_mimetypes.best == "application/json" \
        or request.path.startswith("/jobs") or request.headers.get("X-Requested-With") == "fetch"


def _error(status: int, message: str):
    """A refusal in the page's language (`message` is translated already): JSON for the scripts, else a page."""
    if _wants_json():
        return errors.json_error(status, message)
    return render_template("workshop/error.html", status=status, message=message), status


@bp.errorhandler(AuroreError)
def _aurore_error(error):
    if isinstance(error, JobError):
        return _error(error.status, error.message)
    return _error(404, str(error))


@bp.errorhandler(HTTPException)
def _http_error(error):
    if error.code == 403:
        return _error(403, errors.page_refusal(error.description))
    if error.code == 413:
        return _error(413, errors.too_large())
    return _error(error.code or 500, gettext("Error %(code)s: %(name)s.", code=error.code, name=error.name))


# -- helpers -------------------------------------------------------------------
def _data_dir() -> str:
    return current_app.config["DATA_DIR"]


def job_runner() -> JobRunner:
    """The app's one job runner (made in `init_app`, so there is never a second)."""
    return current_app.extensions["aurore_jobs"]


def _make_runner(app) -> JobRunner:
    steps = default_steps(app.config.get("TRAIN_MAX_MINUTES", 5),
                          app.config.get("GENERATE_PROMPT", "Il était une fois"))
    steps.update(app.config.get("WORKSHOP_STEPS") or {})
    data_dir = app.config["DATA_DIR"]
    return JobRunner(data_dir, steps, env={"AURORE_DATA": data_dir})


@lru_cache(maxsize=32)
def _lesson_html(number: int, lang: str) -> Markup:
    """The lesson in a course language (`content_lang`), rendered once."""
    return markdown_html(exercises.get(number).lesson[lang], lang)


def _hint_ladders(exercise) -> list[dict]:
    """Each function's ladder, its rungs rendered: the idea, the pointer, then the solution's code for it alone."""
    lang = content_lang()
    return [{"function": hint["function"],
             "rungs": [markdown_html(hint["idea"][lang]), markdown_html(hint["pointer"][lang]),
                       markdown_html(f"```python\n{exercises.hint_code(exercise, hint['function'], lang)}```")]}
            for hint in exercise.hints]


def _source(exercise) -> dict:
    """The learner's file: its text, its version (for the editor's saves), highlighted, its modification time."""
    path = exercise.exercise_path
    found = editor.read(path)
    html = highlight(found["text"], PythonLexer(), HtmlFormatter(linenos="table", cssclass="highlight")) \
        if found["exists"] else ""
    return {**found, "html": html, "path": str(path)}


def _without_markers(text: str) -> list[str]:
    return [line for line in text.splitlines() if not _MARKER.match(line)]


def _check_worker() -> warm_worker.CheckWorker | None:
    """The warm check worker, started if needed; None when the app runs checks cold."""
    if not current_app.config.get("CHECK_WORKER", True):
        return None
    worker = warm_worker.shared()
    worker.start()
    return worker


def _stubs_in_another_language() -> int:
    """How many of the learner's files are untouched stubs in a language other than the page's."""
    lang = content_lang()
    return sum(1 for exercise in exercises.all_exercises() if exercises.untouched_lang(exercise) not in (None, lang))


def _mtime(exercise) -> float | None:
    try:
        return exercise.exercise_path.stat().st_mtime
    except OSError:
        return None


# -- pages ---------------------------------------------------------------------
@bp.get("/")
def home():
    progress = learner_progress.summary(_data_dir())
    by_step = {e.step: e for e in exercises.all_exercises()}
    return render_template("workshop/home.html", agenda=AGENDA, by_step=by_step,
                           progress=progress, exercises=exercises.all_exercises(),
                           reference=reference.state(job_runner(), _data_dir()))


@bp.get("/exercises")
def exercise_list():
    return render_template("workshop/exercises.html", exercises=exercises.all_exercises(),
                           progress=learner_progress.summary(_data_dir()))


@bp.get("/exercises/<number>")
def exercise_page(number):
    exercise = exercises.get(number)
    _check_worker()  # warms up while the learner reads the lesson
    records = learner_progress.load(_data_dir())
    following = next((other for other in exercises.all_exercises() if other.number > exercise.number), None)
    return render_template("workshop/exercise.html", exercise=exercise, next_exercise=following,
                           lesson=_lesson_html(exercise.number, content_lang()),
                           hints=_hint_ladders(exercise),
                           source=_source(exercise), record=records.get(str(exercise.number)),
                           stubs_to_translate=_stubs_in_another_language(),
                           all_exercises=exercises.all_exercises(),
                           step_title=next((localized(step.title) for step in STEPS if step.name == exercise.step),
                                           exercise.step))


@bp.get("/exercises/<number>/source")
def exercise_source(number):
    return jsonify(_source(exercises.get(number)))


@bp.get("/exercises/<number>/mtime")
def exercise_mtime(number):
    """What the page polls: has the file changed on disk (watch mode, the editor)?"""
    found = editor.read(exercises.get(number).exercise_path)
    return jsonify(mtime=found["mtime"], version=found["version"])


@bp.post("/exercises/<number>/save")
def exercise_save(number):
    """The editor's save: `{"text", "version"}` (the version it started from); 409 if the file changed since."""
    exercise = exercises.get(number)
    try:
        data = api_params.request_json()         # the app's one JSON reader: 400 on any malformed body
    except api_params.BadRequest:
        data = None
    text = data.get("text") if isinstance(data, dict) else None
    base = data.get("version") if isinstance(data, dict) else None
    if not isinstance(text, str) or not (base is None or isinstance(base, str)):
        return errors.json_error(400, gettext("A save is JSON with the file's text and the version it started from."),
                                 code="bad_save")
    if len(text.encode("utf-8")) > editor.MAX_BYTES:
        return errors.json_error(413, gettext("The file is too large to save from the page (at most %(size)s KiB): "
                                              "save it from your own editor.", size=editor.MAX_BYTES // 1024),
                                 code="file_too_large")
    try:
        editor.save(exercise.exercise_path, text, base)
    except editor.SaveConflict as conflict:
        return errors.json_error(409, gettext("The file changed on disk since you opened it: choose which "
                                              "version to keep."), code="file_changed",
                                 extra={"current": conflict.current})
    except OSError as error:
        return errors.json_error(500, gettext("Could not save the file: %(error)s", error=error.strerror or error),
                                 code="save_failed")
    return jsonify(_source(exercise))


@bp.post("/exercises/<number>/check")
def exercise_check(number):
    exercise = exercises.get(number)
    lang = content_lang()        # the checks' own messages are course texts
    if not _check_lock.acquire(blocking=False):
        return errors.json_error(409, gettext("A check is already running."), "server_busy", "check_running")
    try:
        mtime = _mtime(exercise)
        config = current_app.config
        worker = _check_worker()
        if worker is not None:
            # Still importing: waiting for it beats a cold start competing with it for the CPU.
            worker.wait_ready(WORKER_WAIT_SECONDS)
        report = runner.run_checks(exercise.number, "exercise", lang,
                                   wall_seconds=config.get("CHECK_WALL_SECONDS", runner.WALL_SECONDS),
                                   cpu_seconds=config.get("CHECK_CPU_SECONDS", runner.CPU_SECONDS),
                                   memory_bytes=config.get("CHECK_MEMORY_BYTES", runner.MEMORY_BYTES),
                                   env={"AURORE_DATA": _data_dir()}, worker=worker)
    finally:
        _check_lock.release()
    record = learner_progress.record_check(_data_dir(), exercise.number, report)
    report.update(mtime=mtime, record=record, lang=lang)
    return jsonify(report)


@bp.get("/exercises/<number>/solution")
def exercise_solution(number):
    exercise = exercises.get(number)
    record = learner_progress.load(_data_dir()).get(str(exercise.number), {})
    if record.get("done"):
        how = learner_progress.SOLUTION_AFTER_PASSING
    elif request.args.get("confirm") == "1":
        how = learner_progress.SOLUTION_ASKED
    else:
        return errors.json_error(403, gettext("The solution opens once your code passes the checks, or when you "
                                              "confirm that you want to see it now."), code="not_passed_yet")
    learner_progress.record_solution(_data_dir(), exercise.number, how)
    # The markers and `# STUB:` lines are for the stub derivation, not for the learner; the solution's
    # comments and docstrings are shown in the language of the learner's file.
    try:
        text = exercise.exercise_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    mine = _without_markers(text)
    solution = _without_markers(exercises.solution_in(exercise, exercises.language_of(exercise, text)))
    table = difflib.HtmlDiff(tabsize=4, wrapcolumn=78).make_table(
        mine, solution, gettext("Your code"), gettext("Solution"), context=True, numlines=3)
    return jsonify(html=table, identical=mine == solution)


@bp.post("/exercises/language")
def exercises_language():
    """Rewrite the untouched stubs in the page's language (the language switch offers it); work is never touched."""
    done = exercises.sync(lang=content_lang())
    return jsonify(rewritten=sum(1 for _, action, _ in done if action == "written"), lang=content_lang())


@bp.post("/exercises/<number>/reset")
def exercise_reset(number):
    exercise = exercises.get(number)
    # aurore.commands.exercises, by its full name: the package also binds `exercises` to aurore.course.exercises.
    backup = exercises.reset_to_stub(exercise.number)
    return jsonify(backup=backup, source=_source(exercise))


@bp.get("/run")
def run_page():
    # The home page's background reference is not a step to pick here.
    steps = {name: spec for name, spec in job_runner().steps.items() if not spec.get("hidden")}
    wanted = request.args.get("step")
    option_steps = {name: [step for step, spec in steps.items() if name in (spec.get("options") or {})]
                    for name in ("preset", "max_minutes", "restart", "prompt", "method")}
    # The char-LSTM trains as long as GPT-2 by default (one default: jobs.default_steps): the page says it.
    lstm_minutes = minutes_default(steps, LSTM_STEP)
    equal_time = ({"step": LSTM_STEP, "minutes": lstm_minutes}
                  if lstm_minutes is not None and lstm_minutes == minutes_default(steps, GPT2_STEP) else None)
    return render_template("workshop/run.html", steps=steps, option_steps=option_steps, equal_time=equal_time,
                           selected=wanted if wanted in steps else next(iter(steps)),
                           variant=request.args.get("variant", "exercise"),
                           history=job_runner().history(10),
                           train_minutes=reference.learner_minutes(job_runner(), _data_dir()))


@bp.get("/environment")
def environment_page():
    data_dir = _data_dir()
    return render_template("workshop/environment.html", versions=environment.versions(),
                           pieces=environment.pieces(data_dir), disk=environment.disk(data_dir),
                           data_dir=data_dir, steps=job_runner().steps)


@bp.get("/course/<slug>")
def course_page(slug):
    if slug not in course.PAGES:
        return _error(404, gettext("There is no course page '%(slug)s': the agenda is on the home page.", slug=slug))
    return render_template("workshop/course.html", page=course.page(slug, content_lang()),
                           first=exercises.all_exercises()[0])


@bp.get("/environment/gpu")
def environment_gpu():
    """`?quick=1`: what the system shows, at once (`known`: no TensorFlow probe needed); else TensorFlow's probe."""
    if not current_app.config.get("ENV_GPU_PROBE", True):
        return jsonify(ok=False, devices=[], error="GPU probe disabled (ENV_GPU_PROBE=False).")
    if request.args.get("quick"):
        return jsonify(ok=True, **environment.gpu_seen_by_the_system())
    return jsonify(environment.gpu())


# -- jobs ------------------------------------------------------------------------
@bp.post("/jobs")
def job_start():
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        data = request.form
    else:
        try:
            data = api_params.request_json()
        except api_params.BadRequest as error:
            return errors.json_error(400, error.message, code="malformed_json")
    options = data.get("options") if isinstance(data, dict) else None
    job = job_runner().start(str(data.get("step", "")), str(data.get("variant", "solution")), options,
                             lang=content_lang())
    return jsonify(job.record()), 201


@bp.get("/jobs/current")
def job_current():
    job = job_runner().current()
    return jsonify(job=job.record() if job else None)


@bp.get("/jobs/<job_id>")
def job_record(job_id):
    """The job's record and a page of its events: `?after=SEQ&limit=N`, then `next` while `more`."""
    after = request.args.get("after", -1, type=int)
    limit = min(max(request.args.get("limit", PAGE_EVENTS, type=int), 1), MAX_PAGE_EVENTS)
    found = job_runner().page(job_id, after, limit)
    if found is None:
        abort(404)
    job, events, more = found
    return jsonify(job=job.record(), events=events, more=more,
                   next=events[-1]["seq"] if events else after)


@bp.post("/jobs/<job_id>/cancel")
def job_cancel(job_id):
    if job_runner().get(job_id) is None:
        abort(404)
    return jsonify(cancelled=job_runner().cancel(job_id))


@bp.get("/jobs/<job_id>/events")
def job_events(job_id):
    """Server-sent events: the job's events from `Last-Event-ID`/`after`, then `end` with its record."""
    jobs = job_runner()
    if jobs.get(job_id) is None:
        abort(404)
    start = request.headers.get("Last-Event-ID") or request.args.get("after") or "-1"
    try:
        after = int(start)
    except ValueError:
        after = -1
    heartbeat = float(current_app.config.get("SSE_HEARTBEAT_SECONDS", 15))

    def stream():
        nonlocal after
        yield "retry: 2000\n\n"
        while True:
            events, over = jobs.wait_events(job_id, after, heartbeat)
            for event in events:
                after = event["seq"]
                yield f"id: {after}\ndata: {json.dumps(event, ensure_ascii=False, default=str)}\n\n"
            if over:
                job = jobs.get(job_id)
                yield f"event: end\ndata: {json.dumps(job.record() if job else {}, default=str)}\n\n"
                return
            if not events:
                yield ": still here\n\n"

    return Response(stream(), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


# -- app set-up --------------------------------------------------------------------
def _template_helpers():
    return {"csrf_token": security.csrf_token}


def init_app(app) -> None:
    security.ensure_secret_key(app, app.config["DATA_DIR"])
    for line in learner_progress.migrate(app.config["DATA_DIR"]):
        app.logger.warning("exercises: %s", line)
    app.extensions["aurore_jobs"] = _make_runner(app)
    app.register_blueprint(bp)
    app.context_processor(_template_helpers)
