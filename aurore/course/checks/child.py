"""The start of a check process: limits first, then pytest.

A check runs the learner's code, so its process limits itself before pytest
imports anything of theirs. Both ways of starting a check come through here:
a cold start (`python -m aurore.course.checks.child --cpu-seconds … -- PYTEST ARGS`,
see `aurore.course.checks.runner`) and a child forked by the warm worker
(`aurore.course.checks.warm_worker`). Limits are set here rather than in a `preexec_fn`,
which is unsafe in a threaded server.
"""

from __future__ import annotations

import argparse
import importlib
import resource
import sys


def apply_limits(cpu_seconds: int, memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    # RLIMIT_DATA bounds the heap without counting the large virtual
    # reservations TensorFlow makes (RLIMIT_AS would break its import).
    resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run(cpu_seconds: int, memory_bytes: int, pytest_args: list[str], entry: str | None = None) -> int:
    """Limit this process, run pytest on `pytest_args`; pytest's exit code.

    With `entry` (a module of aurore.course.checks), run that module's
    `main(args)` instead: other learner code that the server must not run
    itself (the comparison's sampler, `learner_sampler`), under the same limits.
    """
    apply_limits(cpu_seconds, memory_bytes)
    if entry:
        if not entry.startswith("aurore.course.checks."):
            raise ValueError(f"not a checks module: {entry}")
        return int(importlib.import_module(entry).main(pytest_args) or 0)
    import pytest

    return int(pytest.main(pytest_args))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aurore.course.checks.child")
    parser.add_argument("--cpu-seconds", type=int, required=True)
    parser.add_argument("--memory-bytes", type=int, required=True)
    parser.add_argument("--entry", default=None, help="a module of aurore.course.checks whose main(args) runs")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    pytest_args = args.pytest_args[1:] if args.pytest_args[:1] == ["--"] else args.pytest_args
    return run(args.cpu_seconds, args.memory_bytes, pytest_args, args.entry)


if __name__ == "__main__":
    sys.exit(main())
