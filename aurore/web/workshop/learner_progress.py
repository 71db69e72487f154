"""The learner's progress, kept on disk so that a restart keeps it.

One JSON file under the data folder (`workshop/progress.json`), written
atomically: for each exercise, whether its checks all passed on the learner's
code at the last run, when, and the counts. An exercise is *done* when its
last check of the learner's code passed entirely.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from aurore.course import exercises
from aurore.store import atomic

_lock = threading.Lock()


def _file(data_dir: str | Path) -> Path:
    return Path(data_dir) / "workshop" / "progress.json"


def load(data_dir: str | Path) -> dict[str, dict]:
    """Exercise number (as text) → its record; an unreadable file counts as no progress."""
    try:
        data = json.loads(_file(data_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data.get("exercises", {}) if isinstance(data, dict) else {}


def counts(report: dict) -> bool:
    """Whether a check run says something about the code's behaviour: not when Python could not read the file."""
    return not report.get("syntax_error")


def record_check(data_dir: str | Path, number: int, report: dict) -> dict:
    """Remember a check run of the learner's code; returns the exercise's new record.

    A run that did not get to check the code (`counts`) keeps the exercise's earlier state: a typo being
    fixed does not un-mark an exercise done.
    """
    entry = {"done": bool(report.get("all_passed")), "checked_at": time.time(),
             "passed": report.get("passed", 0), "failed": report.get("failed", 0),
             "status": report.get("status")}
    with _lock:
        records = load(data_dir)
        previous = records.get(str(number), {})
        if not counts(report):
            entry.update(done=bool(previous.get("done")), passed=previous.get("passed", 0),
                         failed=previous.get("failed", 0))
        entry["runs"] = int(previous.get("runs", 0)) + 1
        records[str(number)] = entry
        atomic.write_text(_file(data_dir), json.dumps({"exercises": records}, indent=1))
    return entry


def was_checked(data_dir: str | Path, number: int) -> bool:
    return str(number) in load(data_dir)


def summary(data_dir: str | Path) -> dict:
    """Done count, total, and the next exercise to work on (None when all are done)."""
    records = load(data_dir)
    all_ex = exercises.all_exercises()
    done = [e.number for e in all_ex if records.get(str(e.number), {}).get("done")]
    following = next((e for e in all_ex if e.number not in done), None)
    return {"done": len(done), "total": len(all_ex), "done_numbers": done, "next": following,
            "records": records}
