"""`python -m aurore exercises list|sync|reset` and `python -m aurore check N`."""

from __future__ import annotations

import json

import sys

from aurore import paths
from aurore.course import exercises
from aurore.course.checks import runner, running_app
from aurore.errors import AuroreError


def register(subparsers) -> None:
    parser = subparsers.add_parser("exercises", help="list the exercises, derive stubs, reset a file")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("list", help="the exercises and their files").set_defaults(handler=_list)
    sync = sub.add_parser("sync", help="(maintainers) rewrite every exercise stub from its solution; "
                                       "files that differ from their stub are left alone unless --force")
    sync.add_argument("--force", action="store_true",
                      help="also overwrite files that differ from their stub (each is kept as a backup first)")
    sync.set_defaults(handler=_sync)
    reset = sub.add_parser("reset", help="put the stub back; your version is kept as a backup")
    reset.add_argument("number")
    reset.set_defaults(handler=_reset)

    check = subparsers.add_parser("check", help="run an exercise's checks on your code")
    check.add_argument("number", help="exercise number, e.g. 1")
    check.add_argument("--solution", action="store_true", help="check the reference solution instead")
    check.add_argument("--lang", choices=exercises.LANGS, default="fr")
    check.add_argument("--json", action="store_true", help="print the full report as JSON")
    check.set_defaults(handler=_check)


def _list(args) -> int:
    for exercise in exercises.all_exercises():
        print(f"{exercise.number:2d}  {exercise.title['fr']}  ({exercise.exercise_path.name})")
    return 0


def _sync(args) -> int:
    kept = []
    for exercise, action, backup in exercises.sync(force=args.force):
        if action == "kept":
            kept.append(exercise)
            print(f"kept {exercise.exercise_path} (it differs from its stub)")
        elif action == "replaced":
            print(f"wrote {exercise.exercise_path} (the previous version is kept as {backup})")
        elif action == "written":
            print(f"wrote {exercise.exercise_path}")
    if kept:
        numbers = ", ".join(str(exercise.number) for exercise in kept)
        raise AuroreError(f"{len(kept)} exercise file(s) differ from the stub derived from their solution and "
                          f"were left as they are, as they may hold someone's work (exercise {numbers}). Reset one "
                          "with `python -m aurore exercises reset N`, or overwrite them all with "
                          "`python -m aurore exercises sync --force` (each is kept as a backup first).")
    return 0


def _reset(args) -> int:
    backup = exercises.reset_to_stub(args.number)
    if backup:
        print(f"Your version was saved as exercises/{backup}.")
    print(f"exercises/{exercises.get(args.number).filename} is the stub again.")
    return 0


def _check(args) -> int:
    variant = "solution" if args.solution else "exercise"
    exercise = exercises.get(args.number)
    report = None
    if variant == "exercise":      # through the running app's warm worker: seconds sooner
        report = running_app.check_through_app(paths.data_dir(), exercise.number, args.lang)
        if report is not None and "refused" in report:
            raise AuroreError(f"The running app refused the check: {report['refused']}")
    if report is None:
        report = runner.run_checks(exercise.number, variant, args.lang)
        if variant == "exercise":
            print("(Checked without the app: with `python app.py` running, `python -m aurore check N` uses its "
                  "warm worker and answers in a second or two.)", file=sys.stderr)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
        return 0 if report["all_passed"] else 1
    for entry in report["checks"]:
        mark = "✔" if entry["outcome"] == "passed" else "✘"
        print(f"{mark} {entry['title'][args.lang]}")
        if entry["message"]:
            print(f"    {entry['message']}")
        if entry["where"]:
            print(f"    → {entry['where']}")
    if report.get("detail"):
        print(report["detail"][args.lang])
    if report["status"] == "timeout":
        raise AuroreError(f"The checks took longer than {runner.WALL_SECONDS} s and were stopped: "
                          "look for an endless loop in your code.")
    if report["status"] == "crashed" and not report["checks"]:
        print(report["output"][-3000:])
        raise AuroreError("The checks could not run (see the output above).")
    print(f"{report['passed']} passed, {report['failed']} failed ({report['seconds']} s)")
    return 0 if report["all_passed"] else 1
