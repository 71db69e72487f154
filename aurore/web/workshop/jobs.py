"""Pipeline steps run from the browser, as background jobs.

A job is a subprocess (`python -m aurore <step> --use solution|exercise …`)
started with AURORE_PROGRESS=json: every line it prints is a JSON event
(`log`, `progress`, `metrics`, … see aurore/progress.py); other lines (a
traceback, a warning) become log events. One job runs at a time. Each job's
record and events are kept under the data folder (`jobs/<id>/`), so a page
reload reattaches to the running job and a finished job's outcome and log
stay visible after a restart.

A job's output is bounded: lines are read at most MAX_LINE_BYTES at a time
(the rest of a longer line is skipped), and once its events reach
MAX_EVENT_BYTES of JSON one last event says the output was cut (the job runs
on; its progress and outcome are still recorded). Non-finite numbers (a
diverging loss) become null: the browser's JSON parser refuses NaN.

Which command a step runs comes from a registry (`default_steps()`), which
the app config (`WORKSHOP_STEPS`) extends or overrides: tests add a short
fake step there. A step may take options chosen on the run page (`options`:
the preset, the training time, starting over); each is checked here and
becomes command-line arguments (`option_argv`); a step whose arguments hold
"{prompt}" takes the prompt the learner chose.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from flask_babel import gettext

from aurore import paths
from aurore.course import exercises
from aurore.course.steps import STEPS
from aurore.training import presets
from aurore.errors import AuroreError
from aurore.progress import json_safe
from aurore.store import atomic
from aurore.web.errors import N_

#: Events kept per job; past it, only non-progress events are kept.
MAX_EVENTS = 20_000
#: Characters kept of one output line; bytes read of it (the rest is skipped unread into memory).
MAX_LINE = 10_000
MAX_LINE_BYTES = 4 * MAX_LINE
#: A job's events, in bytes of JSON (memory and events.jsonl); past it, the output is cut.
MAX_EVENT_BYTES = 8 * 1024 * 1024
#: Events per page of GET /jobs/<id> (default and most).
PAGE_EVENTS = 1000
MAX_PAGE_EVENTS = 5000
CANCEL_GRACE_SECONDS = 5
#: Finished jobs kept in memory (their events can be megabytes); older ones are read back from disk.
KEEP_FINISHED = 3
FINISHED = ("succeeded", "failed", "cancelled", "interrupted")
#: The presets a learner may pick on the run page (gpu needs a GPU and hours: the command line).
PAGE_PRESETS = ("tiny", presets.DEFAULT)
MAX_MINUTES = 240
#: The ways of fine-tuning the LoRA step offers (aurore.bonus.lora.CHOICES), the page's default first.
LORA_METHODS = ("both", "lora", "full")
#: GPT-2's training step and the char-LSTM's (bonus A): the run page trains them for the same default minutes.
GPT2_STEP, LSTM_STEP = "train", "char-lstm"
#: The most characters of a prompt chosen on the run page.
MAX_PROMPT = 500
#: The step name of the home page's background reference (aurore/web/workshop/reference.py).
REFERENCE_STEP = "reference"
#: Its niceness: it trains while the learner works, and the pages and checks come first.
REFERENCE_NICE = 10


def bounded_lines(stream, limit: int):
    """The lines of a binary stream, each cut to `limit` bytes: a line without end never fills memory."""
    while True:
        line = stream.readline(limit)
        if not line:
            return
        if not line.endswith(b"\n"):
            while True:          # skip the rest of this line, `limit` bytes at a time
                rest = stream.readline(limit)
                if not rest or rest.endswith(b"\n"):
                    break
        yield line


def default_steps(train_minutes: float = 5, prompt: str = "Il était une fois") -> dict[str, dict]:
    """The workshop's steps (exercises/info.toml): name → title, argv (placeholders `{python}`, `{variant}`), options.

    Every step that takes `max_minutes` (info.toml's `job_options`) gets the one
    default `train_minutes` (the app's TRAIN_MAX_MINUTES), GPT-2's: so the
    char-LSTM (bonus A) trains by default exactly as long as GPT-2, and "who
    wins?" compares equal training times (`minutes_default` reads it back).
    """
    rules = {"preset": {"choices": list(PAGE_PRESETS), "default": presets.DEFAULT},
             "max_minutes": {"default": train_minutes, "min": 0.5, "max": MAX_MINUTES},
             "restart": {"default": False},
             "prompt": {"default": prompt, "max_length": MAX_PROMPT},
             # The LoRA step: LoRA, every weight, or both side by side (the page's default: the comparison).
             "method": {"choices": list(LORA_METHODS), "default": LORA_METHODS[0]}}
    found = {}
    for step in STEPS:
        argv = ["{python}", "-m", "aurore", step.name, "--use", "{variant}", *step.job_args]
        found[step.name] = {"title": step.title, "argv": argv}
        # A step that writes from a prompt lets the learner choose it (the app's GENERATE_PROMPT by default).
        names = [*step.job_options, *(["prompt"] if "{prompt}" in step.job_args else [])]
        if names:
            found[step.name]["options"] = {name: rules[name] for name in names}
    found[REFERENCE_STEP] = reference_step(presets.DEFAULT, train_minutes)
    return found


def minutes_default(steps: dict[str, dict], step: str) -> float | None:
    """The run page's default training minutes of a step (None if it takes no time limit)."""
    rule = ((steps.get(step) or {}).get("options") or {}).get("max_minutes")
    return rule["default"] if rule else None


def reference_step(preset: str, minutes: float) -> dict:
    """The home page's background reference: the whole pipeline with the solution's code.

    Its training time is the run page's default for the learner's own training (`minutes`, the same
    number), so that the comparison of the two models is fair. `hidden`: not offered on the run page;
    `nice`: it runs at a lower priority than the pages and the checks.
    """
    return {"title": {"fr": "Modèle de référence", "en": "Reference model"}, "hidden": True, "nice": REFERENCE_NICE,
            "preset": preset, "minutes": minutes,
            "argv": ["{python}", "-m", "aurore", "pipeline", "--use", "{variant}", "--preset", preset,
                     "--max-minutes", f"{minutes:g}"]}


def option_argv(spec: dict, options: dict | None) -> tuple[dict, list[str]]:
    """The checked options of a step (defaults filled in) and the arguments they add.

    Raises JobError naming the option and what is allowed.
    """
    allowed = spec.get("options") or {}
    options = dict(options or {})
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise JobError(N_("Unknown option for this step: %(options)s."), 400, options=", ".join(unknown))
    chosen, argv = {}, []
    for name, rule in allowed.items():
        value = options.get(name, rule.get("default"))
        if name == "preset":
            if value not in rule["choices"]:
                raise JobError(N_("Unknown preset: %(value)s (choose %(choices)s)."), 400, value=repr(value),
                               choices=", ".join(rule["choices"]))
            argv += ["--preset", value]
        elif name == "max_minutes":
            try:
                value = float(value)
            except (TypeError, ValueError):
                value = float("nan")
            if not rule["min"] <= value <= rule["max"]:     # False for NaN too
                raise JobError(N_("The duration must be between %(low)s and %(high)s minutes."), 400,
                               low=f"{rule['min']:g}", high=f"{rule['max']:g}")
            argv += ["--max-minutes", f"{value:g}"]
        elif name == "method":
            if value not in rule["choices"]:
                raise JobError(N_("Unknown fine-tuning method: %(value)s (choose %(choices)s)."), 400,
                               value=repr(value), choices=", ".join(rule["choices"]))
            argv += ["--method", value]
        elif name == "restart":
            if not isinstance(value, bool):
                raise JobError(N_("'Start over' is true or false."), 400)
            argv += ["--restart"] if value else []
        elif name == "prompt":          # fills the step's "{prompt}" argument (JobRunner.argv)
            if not isinstance(value, str) or not value.strip() or len(value) > rule["max_length"] \
                    or any(ord(c) < 32 and c not in "\n\t" for c in value):
                raise JobError(N_("The beginning of the text is 1 to %(most)s characters of text."), 400,
                               most=rule["max_length"])
        chosen[name] = value
    return chosen, argv


@dataclass
class Job:
    id: str
    step: str
    variant: str
    argv: list[str]
    status: str = "running"
    started: float = field(default_factory=time.time)
    ended: float | None = None
    returncode: int | None = None
    pid: int | None = None
    options: dict = field(default_factory=dict)
    progress: dict | None = None
    output_cut: bool = False
    events: list[dict] = field(default_factory=list, repr=False)
    event_bytes: int = field(default=0, repr=False)

    def record(self) -> dict:
        data = asdict(self)
        data.pop("events")
        data.pop("event_bytes")
        data["event_count"] = len(self.events)
        return data

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


class JobError(AuroreError):
    """A job that cannot start (another runs, unknown step…): `status` is the HTTP status.

    Its text is a msgid with `%(name)s` values: str() is English (logs, tests), `message` is in the page's
    language (read while answering the request).
    """

    def __init__(self, msgid: str, status: int = 400, **values):
        super().__init__(msgid % values)
        self.msgid, self.values, self.status = msgid, values, status

    @property
    def message(self) -> str:
        return gettext(self.msgid, **self.values)


class JobRunner:
    """Starts, follows, cancels and remembers jobs; one at a time."""

    def __init__(self, data_dir: str | Path, steps: dict[str, dict], env: dict[str, str] | None = None):
        self.root = Path(data_dir) / "jobs"
        self.root.mkdir(parents=True, exist_ok=True)
        self.steps, self.env = steps, dict(env or {})
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._jobs: dict[str, Job] = {}
        self._processes: dict[str, subprocess.Popen] = {}
        self._running: str | None = None
        self._recover()

    # -- persistence -------------------------------------------------------
    def _dir(self, job_id: str) -> Path:
        return self.root / job_id

    def _save(self, job: Job) -> None:
        atomic.write_text(self._dir(job.id) / "job.json", json.dumps(job.record(), ensure_ascii=False))

    def _recover(self) -> None:
        """Jobs marked running by a previous app process were cut off: say so."""
        for record_file in self.root.glob("*/job.json"):
            try:
                record = json.loads(record_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if record.get("status") == "running":
                record.update(status="interrupted", ended=record.get("ended") or time.time())
                atomic.write_text(record_file, json.dumps(record, ensure_ascii=False))

    def _load(self, job_id: str) -> Job | None:
        if not job_id or not all(c in "0123456789abcdef-" for c in job_id):
            return None
        try:
            record = json.loads((self._dir(job_id) / "job.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        record.pop("event_count", None)
        job = Job(**{k: v for k, v in json_safe(record).items() if k in Job.__dataclass_fields__})
        job.events = self._stored_events(job_id, -1)
        return job

    def _stored_events(self, job_id: str, after: int) -> list[dict]:
        """Events with seq > after from events.jsonl (line i holds seq i; at most MAX_EVENT_BYTES)."""
        found: list[dict] = []
        try:
            with (self._dir(job_id) / "events.jsonl").open(encoding="utf-8") as handle:
                for seq, line in enumerate(handle):
                    if seq > after and line.strip():
                        found.append(json_safe(json.loads(line)))
        except (OSError, ValueError):
            pass
        return found

    # -- queries -------------------------------------------------------------
    def get(self, job_id: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
        return job or self._load(job_id)

    def history(self, limit: int = 10) -> list[dict]:
        """Records of the latest jobs, newest first."""
        records = []
        for record_file in self.root.glob("*/job.json"):
            try:
                records.append(json.loads(record_file.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue
        records.sort(key=lambda r: r.get("started", 0), reverse=True)
        with self._lock:
            for record in records:
                if record["id"] in self._jobs:
                    record.update(self._jobs[record["id"]].record())
        return records[:limit]

    def page(self, job_id: str, after: int = -1, limit: int = PAGE_EVENTS) -> tuple[Job, list[dict], bool] | None:
        """A job and its events with seq > after, at most `limit`, and whether more follow."""
        job = self.get(job_id)
        if job is None:
            return None
        with self._lock:
            start = max(after + 1, 0)
            events = job.events[start:start + limit]
            return job, events, start + limit < len(job.events)

    def current(self) -> Job | None:
        """The running job, else the latest one."""
        with self._lock:
            if self._running:
                return self._jobs[self._running]
        latest = self.history(1)
        return self.get(latest[0]["id"]) if latest else None

    def wait_events(self, job_id: str, after: int, timeout: float) -> tuple[list[dict], bool]:
        """Events with seq > after (waiting up to `timeout` for some), and whether the job is over."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                job = self._jobs.get(job_id)
                if job is None:
                    break
                new = job.events[after + 1:] if after + 1 < len(job.events) else []
                if new or job.finished:
                    return list(new), job.finished and after + 1 + len(new) >= len(job.events)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return [], False
                self._changed.wait(remaining)
        return self._stored_events(job_id, after), True

    # -- actions --------------------------------------------------------------
    def argv(self, step: str, variant: str, options: dict | None = None) -> list[str]:
        spec = self.steps[step]
        chosen, extra = option_argv(spec, options)
        values = {"python": sys.executable, "variant": variant, "prompt": chosen.get("prompt", "")}
        return [part.format(**values) for part in spec["argv"]] + extra

    def start(self, step: str, variant: str, options: dict | None = None, lang: str | None = None) -> Job:
        """Start a step; `lang`: the page's language, that of the run's log lines and progress labels."""
        if step not in self.steps:
            raise JobError(N_("Unknown step: %(step)s."), 404, step=repr(step))
        if variant not in exercises.VARIANTS:
            raise JobError(N_("Choose 'solution' or 'exercise'."), 400)
        if options is not None and not isinstance(options, dict):
            raise JobError(N_("A step's options are a JSON object."), 400)
        chosen, _ = option_argv(self.steps[step], options)
        with self._lock:
            if self._running:
                running = self._jobs[self._running]
                raise JobError(N_("The step '%(step)s' is already running: wait for it or cancel it."), 409,
                               step=running.step)
            job = Job(id=f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}", step=step,
                      variant=variant, argv=self.argv(step, variant, chosen), options=chosen)
            self._dir(job.id).mkdir(parents=True)
            env = {**os.environ, **self.env, "AURORE_PROGRESS": "json", "PYTHONUNBUFFERED": "1",
                   **({"AURORE_LANG": lang} if lang else {})}
            # A background step (`nice`) yields the CPU to the pages, the checks and the learner's own runs.
            nice = int(self.steps[step].get("nice") or 0)
            try:
                process = subprocess.Popen(job.argv, cwd=paths.ROOT, env=env, stdin=subprocess.DEVNULL,
                                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                           start_new_session=True)
            except OSError as error:
                raise JobError(N_("Could not start the step: %(error)s"), 500, error=str(error)) from error
            if nice > 0:   # set from here: a preexec_fn is unsafe in a threaded server
                try:
                    os.setpriority(os.PRIO_PROCESS, process.pid, nice)
                except OSError:
                    pass    # already ended: nothing left to slow down
            job.pid = process.pid
            self._jobs[job.id] = job
            self._processes[job.id] = process
            self._running = job.id
            self._save(job)
        threading.Thread(target=self._follow, args=(job, process), daemon=True,
                         name=f"aurore-job-{job.id}").start()
        return job

    def cancel(self, job_id: str) -> bool:
        """Stop a running job (SIGTERM, then SIGKILL after a grace period)."""
        with self._lock:
            process = self._processes.get(job_id)
            job = self._jobs.get(job_id)
            if process is None or job is None or job.finished:
                return False
            job.status = "cancelling"
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return True

        def escalate() -> None:
            try:
                process.wait(CANCEL_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

        threading.Thread(target=escalate, daemon=True).start()
        return True

    # -- the follower thread ---------------------------------------------------
    def _add(self, job: Job, handle, event: dict) -> None:
        event = json_safe(event)
        with self._changed:
            if event.get("event") == "progress":
                job.progress = {k: event.get(k) for k in ("task", "done", "total", "unit", "metrics")}
                if len(job.events) >= MAX_EVENTS:
                    return
            if job.output_cut:
                return
            event = {**event, "seq": len(job.events), "t": round(time.time() - job.started, 2)}
            line = json.dumps(event, ensure_ascii=False, default=str)
            size = len(line.encode("utf-8")) + 1
            if job.event_bytes + size > MAX_EVENT_BYTES - 1024:      # room left for the notice
                job.output_cut = True
                event = {"event": "log", "seq": event["seq"], "t": event["t"],
                         "message": f"… the output of this step passed {MAX_EVENT_BYTES / 2**20:.3g} MiB: the "
                                    "rest is not shown (the step goes on; its outcome will be shown)."}
                line = json.dumps(event, ensure_ascii=False)
                size = len(line.encode("utf-8")) + 1
            job.event_bytes += size
            job.events.append(event)
            handle.write(line + "\n")
            handle.flush()
            self._changed.notify_all()

    def _follow(self, job: Job, process: subprocess.Popen) -> None:
        with (self._dir(job.id) / "events.jsonl").open("a", encoding="utf-8") as handle:
            for raw in bounded_lines(process.stdout, MAX_LINE_BYTES):
                line = raw.decode("utf-8", "replace").rstrip("\n")[:MAX_LINE]
                if not line.strip():
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    event = None
                if not isinstance(event, dict) or "event" not in event:
                    event = {"event": "log", "message": line, "raw": True}
                self._add(job, handle, event)
            returncode = process.wait()
            with self._changed:
                cancelled = job.status == "cancelling"
                job.returncode = returncode
                job.ended = time.time()
                job.status = "cancelled" if cancelled else ("succeeded" if returncode == 0 else "failed")
                self._processes.pop(job.id, None)
                if self._running == job.id:
                    self._running = None
                self._save(job)
                self._forget_old_locked()
                self._changed.notify_all()

    def _forget_old_locked(self) -> None:
        """Keep the KEEP_FINISHED latest finished jobs in memory; the others live on in jobs/<id>/ only."""
        finished = sorted((job for job in self._jobs.values() if job.finished), key=lambda job: job.started)
        for job in finished[:max(len(finished) - KEEP_FINISHED, 0)]:
            del self._jobs[job.id]
