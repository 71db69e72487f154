"""How long one "check my code" takes, per exercise: on the stub and on the solution.

The web page runs exactly this (`aurore.checks.run_checks`, a limited pytest
subprocess), so these are the seconds a learner waits after pressing the
button. Usage: `python bench/check_timing.py [--repeat 3]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aurore  # noqa: E402,F401
from aurore import checks, exercises  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'exercise':<24} {'code':<9} {'median s':>9} {'min s':>7} {'max s':>7}  outcome")
    with tempfile.TemporaryDirectory(prefix="aurore-bench-") as tmp:
        os.environ["AURORE_EXERCISES"] = tmp       # the stubs, fresh, as a learner starts
        for exercise in exercises.all_exercises():
            if not exercise.checks_path.is_file():
                print(f"{exercise.slug:<24} (no checks yet)")
                continue
            (Path(tmp) / exercise.filename).write_text(exercises.stub_for(exercise), encoding="utf-8")
            for variant, label in (("exercise", "stub"), ("solution", "solution")):
                times, report = [], None
                for _ in range(args.repeat):
                    report = checks.run_checks(exercise.number, variant)
                    times.append(report["seconds"])
                outcome = f"{report['passed']} passed, {report['failed']} failed, {report['status']}"
                print(f"{exercise.slug:<24} {label:<9} {statistics.median(times):>9.2f} {min(times):>7.2f} "
                      f"{max(times):>7.2f}  {outcome}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
