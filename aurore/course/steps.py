"""The workshop's steps, in order: one per exercise, as exercises/info.toml says.

What a step is (its run-page title, agenda section, run settings, the file
that says it is done) is written once, in `exercises/info.toml`; this module
only turns each exercise into a `Step` for its readers: the `pipeline` command
(which steps it runs, with which of its options), the run page's jobs
(`aurore/web/workshop/jobs.py`: the command, the options a learner picks) and
the home page's agenda (`aurore/web/workshop/pages.py`). The code that runs a
step is its command, `aurore/commands/<name>.py` (`-` in the name is `_`
there); a step run with `--use exercise` before its exercise is done fails
with one clear message, from `aurore.course.exercises.rules`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from aurore.course import exercises
from aurore.course.exercises import InfoError

#: The options a job may offer on the run page (their rules are in aurore/web/workshop/jobs.py).
JOB_OPTIONS = ("preset", "max_minutes", "restart", "method")
#: The `pipeline` options a step may be given (each only when the pipeline has a value for it).
PIPELINE_OPTIONS = ("--source", "--preset", "--max-minutes", "--model")


@dataclass(frozen=True)
class Step:
    """One step: `python -m aurore <name> --use solution|exercise` (attributes: see info.toml's keys)."""

    name: str
    #: Its name on the run page (info.toml's `run_title`).
    title: dict[str, str]
    section: dict[str, str] | None = None
    about: dict[str, str] | None = None
    job_args: tuple[str, ...] = ()
    job_options: tuple[str, ...] = ()
    in_pipeline: bool = True
    pipeline_options: tuple[str, ...] = ()
    pipeline_flags: tuple[str, ...] = ()
    bonus: bool = False
    #: The file that says the step is done: the pipeline skips the step unless `--redo <name>`.
    output: Callable[[], Path] | None = None

    @property
    def command_module(self) -> str:
        """Its command's module: `aurore.commands.char_lstm` for `char-lstm`."""
        return f"aurore.commands.{self.name.replace('-', '_')}"

    @property
    def exercise(self) -> exercises.Exercise | None:
        """The exercise that teaches this step (info.toml's `step`), if any."""
        return next((exercise for exercise in exercises.all_exercises() if exercise.step == self.name), None)


def _refuse_unknown(exercise: exercises.Exercise, key: str, names: tuple[str, ...], known: tuple[str, ...]) -> None:
    unknown = [name for name in names if name not in known]
    if unknown:
        raise InfoError(exercise, key, f"names {', '.join(unknown)}, unknown here (known: {', '.join(known)})")


def step_of(exercise: exercises.Exercise) -> Step:
    """The step an exercise teaches, as its info.toml entry describes it."""
    _refuse_unknown(exercise, "job_options", exercise.job_options, JOB_OPTIONS)
    _refuse_unknown(exercise, "pipeline_options", exercise.pipeline_options, PIPELINE_OPTIONS)
    return Step(exercise.step, title=exercise.run_title, section=exercise.section, about=exercise.about,
                job_args=exercise.job_args, job_options=exercise.job_options, in_pipeline=exercise.in_pipeline,
                pipeline_options=exercise.pipeline_options, pipeline_flags=exercise.pipeline_flags,
                bonus=exercise.bonus, output=exercise.output_path if exercise.output else None)


def all_steps() -> tuple[Step, ...]:
    """Every exercise's step, in the exercises' order; a step taught twice is refused."""
    taught: dict[str, exercises.Exercise] = {}
    for exercise in exercises.all_exercises():
        if exercise.step in taught:
            raise InfoError(exercise, "step", f"{exercise.step!r} is already taught by exercise "
                                              f"{taught[exercise.step].number}")
        taught[exercise.step] = exercise
    return tuple(step_of(exercise) for exercise in taught.values())


STEPS: tuple[Step, ...] = all_steps()


def pipeline() -> tuple[Step, ...]:
    return tuple(step for step in STEPS if step.in_pipeline)
