"""Run an exercise's checks in a separate, limited process.

The learner's code may crash, hang, eat memory or print megabytes: it runs in
a pytest subprocess with a wall-time limit, a CPU-time limit and a memory
limit, its output capped, and the result comes back as a JSON report (see
`aurore.check_plugin`). Nothing the learner writes can take the caller down.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aurore import exercises, paths

WALL_SECONDS = 300
CPU_SECONDS = 600
MEMORY_BYTES = 8 * 1024**3
OUTPUT_BYTES = 200_000


def _limits(cpu_seconds: int, memory_bytes: int):
    def apply() -> None:
        os.setsid()
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
        # RLIMIT_DATA bounds the heap without counting the large virtual
        # reservations TensorFlow makes (RLIMIT_AS would break its import).
        resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))

    return apply


def run_checks(number: int | str, variant: str = "exercise", lang: str = "fr",
               wall_seconds: int = WALL_SECONDS, cpu_seconds: int = CPU_SECONDS,
               memory_bytes: int = MEMORY_BYTES, env: dict[str, str] | None = None) -> dict:
    """Run the checks of one exercise; returns the report as a dict.

    The report has `passed`, `failed`, `checks` (one entry per check), plus
    `status` (`ok`, `timeout`, `crashed`), `seconds` and the tail of `output`.
    """
    exercise = exercises.get(number)
    if variant not in exercises.VARIANTS:
        raise ValueError(variant)
    with tempfile.TemporaryDirectory(prefix="aurore-check-") as tmp:
        report_path = Path(tmp) / "report.json"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "aurore.check_plugin",
                   "--rootdir", str(paths.ROOT), "-c", str(paths.ROOT / "pytest.ini"),
                   str(exercise.checks_path), "--aurore-variant", variant, "--aurore-report", str(report_path)]
        child_env = {**os.environ, **(env or {}), "AURORE_LANG": lang, "PYTHONDONTWRITEBYTECODE": "1"}
        child_env.pop("PYTEST_ADDOPTS", None)
        started = time.monotonic()
        with tempfile.TemporaryFile() as output:
            process = subprocess.Popen(command, cwd=paths.ROOT, env=child_env, stdin=subprocess.DEVNULL,
                                       stdout=output, stderr=subprocess.STDOUT,
                                       preexec_fn=_limits(cpu_seconds, memory_bytes))
            status = "ok"
            try:
                process.wait(timeout=wall_seconds)
            except subprocess.TimeoutExpired:
                status = "timeout"
                os.killpg(process.pid, 9)
                process.wait()
            output.seek(0, os.SEEK_END)
            size = output.tell()
            output.seek(max(0, size - OUTPUT_BYTES))
            tail = output.read().decode("utf-8", "replace")
        seconds = round(time.monotonic() - started, 2)
        if report_path.exists():
            report = json.loads(report_path.read_text(encoding="utf-8"))
        else:
            report = {"variant": variant, "passed": 0, "failed": 0, "checks": []}
            if status == "ok":
                status = "crashed"
        if status == "ok" and process.returncode not in (0, 1):
            status = "crashed"
    report.update(exercise=exercise.number, status=status, seconds=seconds, returncode=process.returncode,
                  output=tail, all_passed=status == "ok" and report["failed"] == 0 and report["passed"] > 0)
    return report
