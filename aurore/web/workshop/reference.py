"""The reference model, trained in the background from the home page with the solution's code.

A learner alone has no reference to compare their model with unless an
instructor's kit brought one: the home page offers to build it while they do
the first exercises. It is one job of the app's runner (`jobs.JobRunner`: a
child process, its record and events on disk, so a reload finds it running):
`python -m aurore pipeline --use solution` with the run page's preset and
training time (`REFERENCE_STEP` in `jobs.default_steps`, from the same
`train_minutes`: one number for both trainings, so the comparison is fair).
The pipeline skips what is done already (the dataset, the tokenizer).

`training_facts` reads what a model folder says of its training (minutes and
steps from `metrics.jsonl`, bits per character from `evaluation.json`): the
home page and the comparison (`aurore.web.writers.comparison`) show it.
"""

from __future__ import annotations

from pathlib import Path

from aurore import paths
from aurore.evaluation import scoring
from aurore.store import modeldir
from aurore.training import resumable
from aurore.web.workshop import jobs

#: The job's step name in the runner's registry (the run page does not list it).
STEP = jobs.REFERENCE_STEP


def training_facts(model_dir: str | Path) -> dict:
    """A model's training minutes and steps (None when unknown) and its test-book bits per character."""
    test = (scoring.read_report(model_dir) or {}).get("test") or {}
    facts = resumable.trained(model_dir) or {"minutes": None, "steps": None}
    return {**facts, "test_bits_per_character": test.get("bits_per_character")}


def same_budget(a: float | None, b: float | None) -> bool:
    """Two trainings had the same budget when their minutes differ by at most half a minute or a tenth."""
    if a is None or b is None:
        return True          # unknown: nothing to say
    return abs(a - b) <= max(0.5, 0.1 * max(a, b))


def state(runner, data_dir: str | Path) -> dict:
    """Where the background reference stands, for the home page.

    `state` is one of: `present` (a reference model was there before any job of ours: the instructor's
    kit, or a training from the run page), `running` (with the job's record and progress), `done`
    (our job made it), `failed` (our last job did not end well: offered again), `offer` (nothing yet).
    """
    spec = runner.steps.get(STEP)
    if spec is None:
        return {"state": "off"}
    preset = spec["preset"]
    model = paths.models_dir(data_dir) / preset
    ours = [record for record in runner.history(50) if record.get("step") == STEP]
    latest = ours[0] if ours else None
    found = {"preset": preset, "minutes": spec["minutes"], "model": f"models/{preset}", "job": latest}
    if latest and latest.get("status") in ("running", "cancelling"):
        return {**found, "state": "running"}
    if modeldir.is_model_dir(model):
        succeeded = latest is not None and latest.get("status") == "succeeded"
        return {**found, "state": "done" if succeeded else "present", "facts": training_facts(model)}
    if latest:
        return {**found, "state": "failed"}
    return {**found, "state": "offer"}


def learner_minutes(runner, data_dir: str | Path) -> dict:
    """The run page's training time for the learner's model, and how it stands against the reference's.

    `minutes` is always the page's default, the number the background reference trains for too (one place:
    `jobs.default_steps`). A reference already here that trained for another time (an instructor's kit,
    trained 15 minutes by the command line) does not change it: the workshop's timetable (docs/instructor.md)
    has a short first training, then a longer one at the break. The page then says so (`source`
    "reference", with its `reference_minutes`): train as long for an even match; the comparison says
    which budget each model had.
    """
    spec = runner.steps.get(STEP) or {}
    rule = ((runner.steps.get("train") or {}).get("options") or {}).get("max_minutes")
    if not rule:
        return {"minutes": None, "source": "none"}
    preset = spec.get("preset")
    facts = resumable.trained(paths.models_dir(data_dir) / preset) if preset else None
    found = {"minutes": rule["default"], "source": "default", "model": f"models/{preset}" if preset else None}
    if facts and not same_budget(facts["minutes"], rule["default"]):
        return {**found, "source": "reference", "reference_minutes": facts["minutes"]}
    return found
