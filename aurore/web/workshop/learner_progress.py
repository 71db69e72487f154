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

from aurore.course import exercises, migration
from aurore.store import atomic

_lock = threading.Lock()


def _file(data_dir: str | Path) -> Path:
    return migration.progress_file(data_dir)


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
        if "solution_seen" in previous:
            entry["solution_seen"] = previous["solution_seen"]
        records[str(number)] = entry
        atomic.write_text(_file(data_dir), json.dumps({"numbering": migration.NUMBERING, "exercises": records}, indent=1))
    return entry


#: How the learner came to see an exercise's solution: after passing its checks, or asking before.
SOLUTION_AFTER_PASSING, SOLUTION_ASKED = "after_passing", "asked_before_passing"


def record_solution(data_dir: str | Path, number: int, how: str) -> dict:
    """Remember that the learner opened the solution, and how (the first way is kept, with its time)."""
    with _lock:
        records = load(data_dir)
        entry = dict(records.get(str(number), {}))
        entry.setdefault("solution_seen", {"how": how, "at": time.time()})
        records[str(number)] = entry
        atomic.write_text(_file(data_dir), json.dumps({"numbering": migration.NUMBERING, "exercises": records},
                                                      indent=1))
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


def migrate(data_dir: str | Path) -> list[str]:
    """At app start: the learner's files and progress of a former numbering carried over to today's.

    Never stops the app: a folder it may not write is said, and left as it is.
    """
    try:
        done = exercises.migrate()
        if migration.migrate_progress(data_dir):
            done.append(f"renumbered the progress in {_file(data_dir)}")
    except OSError as error:
        done = [f"could not carry the former exercise files over ({error}); they are left as they are"]
    return done
