"""Run an exercise's checks in a separate, limited process.

The learner's code may crash, hang, eat memory or print megabytes: it runs in
a pytest process of its own with a wall-time limit, a CPU-time limit and a
memory limit (`aurore.course.checks.child`), only the tail of its output kept (in
memory, never on disk), and the result comes back as a JSON report (see
`aurore.course.checks.plugin`). Nothing the learner writes can take the caller down.

That process is either started cold (`python -m aurore.course.checks.child`, what the
CLI does) or forked by a warm worker that has TensorFlow and pytest imported
already (`aurore.course.checks.warm_worker`, what the web server does): the same limits,
arguments and report either way, seconds apart in how long the learner waits.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from aurore import paths
from aurore.course import exercises
from aurore.course.checks import warm_worker

WALL_SECONDS = 300
CPU_SECONDS = 600
MEMORY_BYTES = 8 * 1024**3
OUTPUT_BYTES = 200_000
#: Longest check message kept in a report (a learner's code can raise huge ones).
MESSAGE_CHARS = 4000


class _Tail:
    """Drain a pipe in a thread, keeping only its last `limit` bytes."""

    def __init__(self, stream, limit: int):
        self.stream, self.limit, self.total = stream, limit, 0
        self.chunks: collections.deque[bytes] = collections.deque()
        self.kept = 0
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while True:
            chunk = self.stream.read1(65536) if hasattr(self.stream, "read1") else self.stream.read(65536)
            if not chunk:
                break
            self.total += len(chunk)
            self.chunks.append(chunk)
            self.kept += len(chunk)
            while self.kept - len(self.chunks[0]) >= self.limit:
                self.kept -= len(self.chunks.popleft())

    def text(self) -> str:
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.stream.close()
        data = b"".join(self.chunks)[-self.limit:]
        text = data.decode("utf-8", "replace")
        if self.total > len(data):
            text = f"[… {self.total - len(data)} bytes of output left out …]\n" + text
        return text


def _read_report(path: Path, variant: str) -> dict | None:
    """The plugin's JSON report, or None when missing or unreadable."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(report, dict) or not isinstance(report.get("checks"), list):
        return None
    for entry in report["checks"]:
        for key in ("message", "where"):
            if isinstance(entry.get(key), str) and len(entry[key]) > MESSAGE_CHARS:
                entry[key] = entry[key][:MESSAGE_CHARS] + " […]"
    report.setdefault("variant", variant)
    return report


def _detail(status: str, returncode: int | None, output: str, wall_seconds: int, cpu_seconds: int,
            memory_bytes: int) -> dict[str, str] | None:
    """Why the checks did not finish normally, for a beginner, in both languages."""
    if status == "timeout":
        return {"fr": f"Les vérifications ont duré plus de {wall_seconds} s et ont été arrêtées : "
                      "cherchez une boucle sans fin dans votre code.",
                "en": f"The checks took longer than {wall_seconds} s and were stopped: "
                      "look for an endless loop in your code."}
    if returncode == -signal.SIGXCPU and status == "crashed":
        return {"fr": f"Votre code a utilisé plus de {cpu_seconds} s de calcul et a été arrêté : "
                      "cherchez une boucle sans fin ou un calcul trop gros.",
                "en": f"Your code used more than {cpu_seconds} s of CPU time and was stopped: "
                      "look for an endless loop or a computation that is too big."}
    if status == "crashed" and "MemoryError" in output:
        gib = memory_bytes / 1024**3
        return {"fr": f"Votre code a demandé plus de mémoire que permis ({gib:.3g} Gio) : "
                      "évitez de tout charger ou de tout copier d'un coup.",
                "en": f"Your code asked for more memory than allowed ({gib:.3g} GiB): "
                      "avoid loading or copying everything at once."}
    if status == "crashed":
        return {"fr": "Les vérifications n'ont pas pu aller au bout (le processus s'est arrêté) : "
                      "lisez la sortie ci-dessous, l'erreur est souvent à la fin.",
                "en": "The checks could not finish (the process stopped): read the output below; "
                      "the error is usually at the end."}
    return None


#: What the checks do without, each costing up to seconds once TensorFlow is imported: autoloaded
#: third-party plugins (whatever the machine has installed; see PYTEST_DISABLE_PLUGIN_AUTOLOAD),
#: the unraisable/thread exception hooks (forced garbage collections) and long tracebacks (the
#: report already says what failed and where, in the learner's words).
PYTEST_OPTIONS = ("-q", "--capture=no", "--tb=line", "-p", "no:cacheprovider", "-p", "no:unraisableexception",
                  "-p", "no:threadexception", "-p", "aurore.course.checks.plugin")


def pytest_args(check_file: str | os.PathLike, variant: str, report_path: os.PathLike) -> list[str]:
    return [*PYTEST_OPTIONS, "--rootdir", str(paths.ROOT), "-c", str(paths.ROOT / "pytest.ini"),
            str(check_file), "--aurore-variant", variant, "--aurore-report", str(report_path)]


def _child_env(lang: str, env: dict[str, str] | None) -> dict[str, str]:
    child_env = {**os.environ, **(env or {}), "AURORE_LANG": lang, "PYTHONDONTWRITEBYTECODE": "1",
                 "PYTHONUNBUFFERED": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    child_env.pop("PYTEST_ADDOPTS", None)
    return child_env


def _run_cold(args: list[str], child_env: dict[str, str], cpu_seconds: int, memory_bytes: int,
              wall_seconds: int, output_bytes: int, entry: str | None = None) -> tuple[int | None, bool, _Tail]:
    """A fresh `python -m aurore.course.checks.child`: (exit code, timed out, output tail)."""
    command = [sys.executable, "-m", "aurore.course.checks.child", "--cpu-seconds", str(cpu_seconds),
               "--memory-bytes", str(memory_bytes), *(["--entry", entry] if entry else []), "--", *args]
    # A session of its own: the whole process group is killed at the end, grandchildren included.
    process = subprocess.Popen(command, cwd=paths.ROOT, env=child_env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    tail = _Tail(process.stdout, output_bytes)
    timed_out = False
    try:
        process.wait(timeout=wall_seconds)
    except subprocess.TimeoutExpired:
        timed_out = True
    except BaseException:
        warm_worker.kill_group(process.pid)
        process.wait(timeout=10)
        raise
    warm_worker.kill_group(process.pid)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        # Not reaped yet (a process stuck in the kernel): never block later checks on it.
        threading.Thread(target=process.wait, daemon=True).start()
    return process.returncode, timed_out, tail


def _run_warm(worker: warm_worker.CheckWorker, args: list[str], child_env: dict[str, str], cpu_seconds: int,
              memory_bytes: int, wall_seconds: int, output_bytes: int,
              entry: str | None = None) -> tuple[int | None, bool, _Tail]:
    """The same check, forked by the warm worker; raises WorkerUnavailable when it cannot."""
    read_fd, write_fd = os.pipe()
    tail = _Tail(os.fdopen(read_fd, "rb", buffering=0), output_bytes)
    try:
        outcome = worker.run(args, child_env, str(paths.ROOT), cpu_seconds, memory_bytes, wall_seconds, write_fd,
                             entry)
    finally:
        os.close(write_fd)
    return outcome.returncode, outcome.timed_out, tail


def call_limited(entry: str, request: dict, env: dict | None, wall_seconds: int, cpu_seconds: int,
                 memory_bytes: int, worker: warm_worker.CheckWorker | None = None) -> tuple[dict, int | None, bool, str]:
    """`entry`'s main(REQUEST.json RESULT.json) in a limited process: (its result, exit code, timed out, output).

    Why: the server hands the learner's code a request and reads its answer back without running
    that code itself (the comparison's sampler, the attention map); a missing or unreadable result is {}.
    """
    with tempfile.TemporaryDirectory(prefix="aurore-limited-") as tmp:
        request_path, result_path = Path(tmp) / "request.json", Path(tmp) / "result.json"
        request_path.write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
        child_env = {**os.environ, **(env or {}), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
        returncode, timed_out, output, _warm = run_limited(
            entry, [str(request_path), str(result_path)], child_env, wall_seconds, cpu_seconds, memory_bytes,
            worker=worker)
        try:
            result = json.loads(result_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            result = {}
    return result, returncode, timed_out, output


def run_limited(entry: str | None, args: list[str], child_env: dict[str, str], wall_seconds: int, cpu_seconds: int,
                memory_bytes: int, output_bytes: int = OUTPUT_BYTES,
                worker: warm_worker.CheckWorker | None = None) -> tuple[int | None, bool, str, bool]:
    """Run pytest on `args` (or `entry`'s main) in a limited process, forked by a ready `worker` or cold.

    Returns (exit code, timed out, the tail of its output, whether it was warm).
    """
    warm = worker is not None and worker.ready
    try:
        if not warm:
            raise warm_worker.WorkerUnavailable("no warm worker")
        returncode, timed_out, tail = _run_warm(worker, args, child_env, cpu_seconds, memory_bytes,
                                                wall_seconds, output_bytes, entry)
    except warm_worker.WorkerUnavailable:
        warm = False
        returncode, timed_out, tail = _run_cold(args, child_env, cpu_seconds, memory_bytes,
                                                wall_seconds, output_bytes, entry)
    return returncode, timed_out, tail.text(), warm


def run_check_file(check_file: str | os.PathLike, variant: str = "exercise", lang: str = "fr",
                   wall_seconds: int = WALL_SECONDS, cpu_seconds: int = CPU_SECONDS,
                   memory_bytes: int = MEMORY_BYTES, output_bytes: int = OUTPUT_BYTES,
                   env: dict[str, str] | None = None,
                   worker: warm_worker.CheckWorker | None = None) -> dict:
    """Run one pytest check file in a limited process; returns the report.

    With a ready `worker`, the process is forked from it (TensorFlow already
    imported); otherwise it starts cold. The report has `passed`, `failed`,
    `checks` (one entry per check), plus `status` (`ok`, `timeout`,
    `crashed`), `detail` (why it did not finish, in fr and en, or None),
    `seconds`, `returncode`, `warm` and the tail of `output`.
    """
    if variant not in exercises.VARIANTS:
        raise ValueError(variant)
    with tempfile.TemporaryDirectory(prefix="aurore-check-") as tmp:
        report_path = Path(tmp) / "report.json"
        args = pytest_args(check_file, variant, report_path)
        child_env = _child_env(lang, env)
        started = time.monotonic()
        returncode, timed_out, output, warm = run_limited(None, args, child_env, wall_seconds, cpu_seconds,
                                                          memory_bytes, output_bytes, worker)
        seconds = round(time.monotonic() - started, 2)
        status = "timeout" if timed_out else "ok"
        report = _read_report(report_path, variant) if status == "ok" else None
        if report is None:
            report = {"variant": variant, "passed": 0, "failed": 0, "checks": []}
            if status == "ok":
                status = "crashed"
        if status == "ok" and returncode not in (0, 1):
            status = "crashed"
    report.update(status=status, seconds=seconds, returncode=returncode, output=output, warm=warm,
                  detail=_detail(status, returncode, output, wall_seconds, cpu_seconds, memory_bytes),
                  all_passed=status == "ok" and report["failed"] == 0 and report["passed"] > 0)
    return report


def run_checks(number: int | str, variant: str = "exercise", lang: str = "fr",
               wall_seconds: int = WALL_SECONDS, cpu_seconds: int = CPU_SECONDS,
               memory_bytes: int = MEMORY_BYTES, env: dict[str, str] | None = None,
               worker: warm_worker.CheckWorker | None = None) -> dict:
    """Run the checks of one exercise; returns the report as a dict (see `run_check_file`)."""
    exercise = exercises.get(number)
    report = run_check_file(exercise.checks_path, variant, lang, wall_seconds=wall_seconds,
                            cpu_seconds=cpu_seconds, memory_bytes=memory_bytes, env=env, worker=worker)
    report["exercise"] = exercise.number
    return report
