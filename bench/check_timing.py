"""How long a learner waits for "check my code", per exercise, on the stub and on the solution.

Three ways, each what a learner meets:
- `cli`: the whole `python -m aurore check N` process (a cold check: TensorFlow imported anew);
- `warm`: `aurore.course.checks.runner.run_checks` through the warm worker the web server keeps;
- `save`: in the web app (Flask test client), from writing the file to the check's answer, with the
  exercise page's watch mode polling the file's mtime as the page does (every WATCH_POLL_SECONDS).

Usage: `python bench/check_timing.py [--repeat 3] [--modes cli,warm,save]`. Prints the CPU's SIMD
level and load average next to the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aurore  # noqa: E402,F401
from aurore import machine  # noqa: E402
from aurore.course import exercises, figures  # noqa: E402
from aurore.course.checks import runner, warm_worker  # noqa: E402

#: The exercise page polls the file's mtime this often in watch mode (static/js/workshop-exercise.js).
WATCH_POLL_SECONDS = 0.5


def time_cli(exercise, variant: str, env: dict) -> tuple[float, str]:
    command = [sys.executable, "-m", "aurore", "check", str(exercise.number)]
    if variant == "solution":
        command.append("--solution")
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if " passed, " in line]
    return time.monotonic() - started, lines[-1] if lines else f"exit {done.returncode}"


def time_warm(exercise, variant: str, worker) -> tuple[float, str]:
    started = time.monotonic()
    report = runner.run_checks(exercise.number, variant, worker=worker)
    outcome = f"{report['passed']} passed, {report['failed']} failed, {report['status']}, warm={report['warm']}"
    return time.monotonic() - started, outcome


def time_save(exercise, variant: str, client, headers) -> tuple[float, str]:
    """Write the file (stub or solution) and wait, as the page does, for the check's answer."""
    text = exercise.solution_path.read_text(encoding="utf-8") if variant == "solution" \
        else exercises.stub_for(exercise)
    before = client.get(f"/exercises/{exercise.number}/mtime").get_json()["mtime"]
    time.sleep(0.01)
    saved = time.monotonic()
    exercise.exercise_path.write_text(text, encoding="utf-8")
    # The page polls at a fixed rhythm: on average the save lands halfway between two polls.
    time.sleep(WATCH_POLL_SECONDS / 2)
    while client.get(f"/exercises/{exercise.number}/mtime").get_json()["mtime"] == before:
        time.sleep(WATCH_POLL_SECONDS)
    report = client.post(f"/exercises/{exercise.number}/check", headers=headers).get_json()
    return time.monotonic() - saved, f"{report['passed']} passed, {report['failed']} failed, warm={report['warm']}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--modes", default="cli,warm,save")
    figures.add_record_option(parser)
    args = parser.parse_args()
    modes = args.modes.split(",")
    print(f"CPU: {machine.summary(machine.describe())}; load average {os.getloadavg()[0]:.2f} at start")
    print(f"{'mode':<5} {'exercise':<20} {'code':<9} {'median s':>9} {'min s':>7} {'max s':>7}  outcome")
    longest: dict[str, float] = {}        # mode → the longest median: what the course quotes
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="aurore-bench-") as tmp:
        os.environ["AURORE_EXERCISES"] = str(Path(tmp) / "exercises")   # fresh stubs, as a learner starts
        os.environ["AURORE_DATA"] = str(Path(tmp) / "data")
        Path(tmp, "exercises").mkdir()
        for exercise in exercises.all_exercises():
            exercise.exercise_path.write_text(exercises.stub_for(exercise), encoding="utf-8")
        worker = client = headers = None
        if "warm" in modes:
            worker = warm_worker.CheckWorker()
            worker.start()
            worker.wait_ready(300)
        if "save" in modes:
            from aurore.web import create_app

            app = create_app({"DATA_DIR": os.environ["AURORE_DATA"], "TESTING": True})
            client = app.test_client()
            page = client.get("/exercises/1").get_data(as_text=True)       # starts the app's worker
            headers = {"X-CSRF-Token": page.split('name="csrf-token" content="')[1].split('"')[0]}
            warm_worker.shared().wait_ready(300)
        for mode in modes:
            for exercise in exercises.all_exercises():
                if not exercise.checks_path.is_file():
                    continue
                for variant, label in (("exercise", "stub"), ("solution", "solution")):
                    times, outcome = [], ""
                    for _ in range(args.repeat):
                        if mode == "cli":
                            seconds, outcome = time_cli(exercise, variant, dict(os.environ))
                        elif mode == "warm":
                            seconds, outcome = time_warm(exercise, variant, worker)
                        else:
                            seconds, outcome = time_save(exercise, variant, client, headers)
                        times.append(seconds)
                    longest[mode] = max(longest.get(mode, 0.0), statistics.median(times))
                    print(f"{mode:<5} {exercise.slug:<20} {label:<9} {statistics.median(times):>9.2f} "
                          f"{min(times):>7.2f} {max(times):>7.2f}  {outcome}", flush=True)
        if worker is not None:
            worker.stop()
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    if args.record:
        written = figures.record({f"checks.{mode}_seconds": round(seconds, 2) for mode, seconds in longest.items()},
                                 command=f"python bench/check_timing.py --repeat {args.repeat} --modes {args.modes} "
                                         "--record", load_average=f"{load_before:.1f} → {os.getloadavg()[0]:.1f}",
                                 decimals={f"checks.{mode}_seconds": 1 for mode in longest})
        print(f"recorded in {figures.FILE}: {', '.join(written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
