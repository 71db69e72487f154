"""Run an exercise's checks in a separate, limited process.

The learner's code may crash, hang, eat memory or print megabytes: it runs in
a pytest subprocess with a wall-time limit, a CPU-time limit and a memory
limit, only the tail of its output kept (in memory, never on disk), and the
result comes back as a JSON report (see `aurore.check_plugin`). Nothing the
learner writes can take the caller down.
"""

from __future__ import annotations

import collections
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from aurore import exercises, paths

WALL_SECONDS = 300
CPU_SECONDS = 600
MEMORY_BYTES = 8 * 1024**3
OUTPUT_BYTES = 200_000
#: Longest check message kept in a report (a learner's code can raise huge ones).
MESSAGE_CHARS = 4000


def _limits(cpu_seconds: int, memory_bytes: int):
    def apply() -> None:
        # A session of its own: the whole process group is killed on timeout,
        # grandchildren included.
        os.setsid()
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
        # RLIMIT_DATA bounds the heap without counting the large virtual
        # reservations TensorFlow makes (RLIMIT_AS would break its import).
        resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


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
        data = b"".join(self.chunks)[-self.limit:]
        text = data.decode("utf-8", "replace")
        if self.total > len(data):
            text = f"[… {self.total - len(data)} bytes of output left out …]\n" + text
        return text


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


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


def run_check_file(check_file: str | os.PathLike, variant: str = "exercise", lang: str = "fr",
                   wall_seconds: int = WALL_SECONDS, cpu_seconds: int = CPU_SECONDS,
                   memory_bytes: int = MEMORY_BYTES, output_bytes: int = OUTPUT_BYTES,
                   env: dict[str, str] | None = None) -> dict:
    """Run one pytest check file in a limited subprocess; returns the report.

    The report has `passed`, `failed`, `checks` (one entry per check), plus
    `status` (`ok`, `timeout`, `crashed`), `detail` (why it did not finish,
    in fr and en, or None), `seconds`, `returncode` and the tail of `output`.
    """
    if variant not in exercises.VARIANTS:
        raise ValueError(variant)
    with tempfile.TemporaryDirectory(prefix="aurore-check-") as tmp:
        report_path = Path(tmp) / "report.json"
        command = [sys.executable, "-m", "pytest", "-q", "--capture=no", "-p", "no:cacheprovider", "-p", "aurore.check_plugin",
                   "--rootdir", str(paths.ROOT), "-c", str(paths.ROOT / "pytest.ini"),
                   str(check_file), "--aurore-variant", variant, "--aurore-report", str(report_path)]
        child_env = {**os.environ, **(env or {}), "AURORE_LANG": lang, "PYTHONDONTWRITEBYTECODE": "1",
                     "PYTHONUNBUFFERED": "1"}
        child_env.pop("PYTEST_ADDOPTS", None)
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=paths.ROOT, env=child_env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   preexec_fn=_limits(cpu_seconds, memory_bytes))
        tail = _Tail(process.stdout, output_bytes)
        status = "ok"
        try:
            process.wait(timeout=wall_seconds)
        except subprocess.TimeoutExpired:
            status = "timeout"
        except BaseException:
            _kill_group(process.pid)
            process.wait()
            raise
        # Whatever the outcome, nothing the checks started outlives them.
        _kill_group(process.pid)
        process.wait()
        output = tail.text()
        if not tail.thread.is_alive():
            process.stdout.close()
        seconds = round(time.monotonic() - started, 2)
        report = _read_report(report_path, variant) if status == "ok" else None
        if report is None:
            report = {"variant": variant, "passed": 0, "failed": 0, "checks": []}
            if status == "ok":
                status = "crashed"
        if status == "ok" and process.returncode not in (0, 1):
            status = "crashed"
    report.update(status=status, seconds=seconds, returncode=process.returncode, output=output,
                  detail=_detail(status, process.returncode, output, wall_seconds, cpu_seconds, memory_bytes),
                  all_passed=status == "ok" and report["failed"] == 0 and report["passed"] > 0)
    return report


def run_checks(number: int | str, variant: str = "exercise", lang: str = "fr",
               wall_seconds: int = WALL_SECONDS, cpu_seconds: int = CPU_SECONDS,
               memory_bytes: int = MEMORY_BYTES, env: dict[str, str] | None = None) -> dict:
    """Run the checks of one exercise; returns the report as a dict (see `run_check_file`)."""
    exercise = exercises.get(number)
    report = run_check_file(exercise.checks_path, variant, lang, wall_seconds=wall_seconds,
                            cpu_seconds=cpu_seconds, memory_bytes=memory_bytes, env=env)
    report["exercise"] = exercise.number
    return report
