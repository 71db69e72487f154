"""The Keras callback that watches a training run.

Each Keras "epoch" is one evaluation interval (`steps_per_epoch =
eval_interval`), so `on_epoch_end` is an evaluation: it records the metrics,
keeps the model of best validation loss, saves the resumable checkpoint and
applies early stopping. Between evaluations it reports progress (bars, or
JSON events for the web page's live loss curve), stops at the step limit or
the wall-time limit, and saves a checkpoint every few minutes. Under a time
limit the bar's total is the steps the time allows (measured, not
`max_steps`), so its ETA is the time budget's.
"""

from __future__ import annotations

import math
import time
from typing import Callable

import keras

from aurore import progress
from aurore.messages import N_, gettext, number

HORIZON_REACHED = N_("the learning-rate schedule fitted to the time limit is complete")


class TimeBudgetSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """The exercise's schedule, stretched or squeezed to end when the time budget does.

    With `--max-minutes`, nobody knows beforehand how many steps fit: it
    depends on the machine and on who else uses it. The base schedule is
    planned over `planned_steps`; this one runs it over `horizon` steps (a
    variable the monitor re-estimates from the measured speed), so warm-up
    and decay are complete when time runs out. Equal to the base schedule
    while horizon == planned_steps.
    """

    def __init__(self, base, planned_steps: int, horizon):
        super().__init__()
        self.base, self.planned_steps, self.horizon = base, planned_steps, horizon

    def __call__(self, step):
        scale = keras.ops.cast(self.planned_steps, "float32") / keras.ops.maximum(self.horizon, 1.0)
        return self.base(keras.ops.cast(step, "float32") * scale)

    def get_config(self):
        return {"planned_steps": self.planned_steps}


def estimate_horizon(step: int, steps_per_second: float, seconds_left: float, max_steps: int,
                     safety: float = 0.97) -> int:
    """How many steps in all the run will reach: those done plus what the time left allows."""
    reachable = step + int(steps_per_second * max(seconds_left, 0.0) * safety)
    return max(step + 1, min(max_steps, reachable))


class TrainingMonitor(keras.callbacks.Callback):
    def __init__(self, state: dict, max_steps: int, tokens_per_step: int, patience: int,
                 save_best: Callable[[dict], None], save_checkpoint: Callable[[dict], None],
                 deadline: float | None = None, checkpoint_seconds: float = 120.0, horizon=None):
        super().__init__()
        self.horizon = horizon  # a variable of TimeBudgetSchedule, re-estimated as speed is known
        self.estimated_steps: int | None = None  # the steps the time limit allows, once measured
        self._first: tuple[float, int] | None = None
        self._planned_at: int | None = None
        self.state, self.max_steps, self.tokens_per_step = state, max_steps, tokens_per_step
        self.patience, self.deadline, self.checkpoint_seconds = patience, deadline, checkpoint_seconds
        self.save_best, self.save_checkpoint = save_best, save_checkpoint
        self.task = None
        self.stop_reason: str | None = None   # in English (the summary's "stopped"); `stop_said`: the run's language
        self.stop_said: str | None = None
        self._last_report = self._last_checkpoint = self._started = 0.0
        self._reported_step = 0

    def step(self) -> int:
        return int(self.model.optimizer.iterations.numpy())

    def on_train_begin(self, logs=None):
        self._started = self._last_report = self._last_checkpoint = time.monotonic()
        self._reported_step = self.state["step"]
        # Under a time limit the total is unknown until the speed is measured (see _plan).
        self.task = progress.task("Training", total=self.max_steps if self.deadline is None else None,
                                  unit="step")
        self.task.done = self._reported_step
        if self.task._bar is not None:
            self.task._bar.update(self._reported_step)

    def on_train_batch_end(self, batch, logs=None):
        now = time.monotonic()
        step = self.step()
        if self.deadline is not None:
            self._plan(step, now)
        if now - self._last_report >= 1.0 or step >= self.max_steps:
            loss = float((logs or {}).get("loss", math.nan))
            self.task.update(step - self._reported_step, loss=loss)
            self._reported_step, self._last_report = step, now
        if step >= self.max_steps:
            self._stop(N_("reached %(steps)s steps"), steps=self.max_steps)
        elif self.horizon is not None and self._planned_at is not None and step >= int(self.horizon.numpy()):
            self._stop(HORIZON_REACHED)
        elif self.deadline is not None and now >= self.deadline:
            self._stop(N_("reached the time limit (--max-minutes)"))
        elif now - self._last_checkpoint >= self.checkpoint_seconds:
            self._checkpoint()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        step = self.step()
        elapsed = self.state.get("seconds", 0.0) + time.monotonic() - self._started
        record = {"step": step, "epoch": epoch + 1, "tokens": step * self.tokens_per_step,
                  "loss": round(float(logs.get("loss", math.nan)), 5),
                  "val_loss": round(float(logs.get("val_loss", math.nan)), 5),
                  "learning_rate": float(keras.ops.convert_to_numpy(
                      self.model.optimizer.learning_rate)),
                  "seconds": round(elapsed, 1)}
        self.state["history"].append(record)
        self.state["epoch"] = epoch + 1
        progress.event("metrics", **record,
                       message=f"step {step}: loss {record['loss']:.4f}, validation loss {record['val_loss']:.4f}")
        best = self.state.get("best_val_loss")
        if best is None or record["val_loss"] < best:
            self.state["best_val_loss"], self.state["best_step"], self.state["wait"] = record["val_loss"], step, 0
            self.save_best(record)
        else:
            self.state["wait"] = self.state.get("wait", 0) + 1
            if self.patience and self.state["wait"] >= self.patience:
                self._stop(N_("early stopping: no better validation loss in %(evaluations)s evaluations"),
                           evaluations=self.patience)
                self.state["finished"] = True
        if step >= self.max_steps or self.stop_reason == HORIZON_REACHED:
            self.state["finished"] = True
        self._checkpoint()

    def _plan(self, step: int, now: float) -> None:
        """Fit the schedule and the progress bar to the time left, from the measured speed.

        Speed is measured from the end of the first batch (which includes
        compiling); a first estimate after 20 steps, then a new one every 100
        steps (by then the measure includes evaluations, which take time too).
        """
        if self._first is None:
            self._first = (now, step)
            return
        start_time, start_step = self._first
        done = step - start_step
        if (self._planned_at is None and done >= 20) or (
                self._planned_at is not None and step - self._planned_at >= 100):
            horizon = estimate_horizon(step, done / max(now - start_time, 1e-6), self.deadline - now,
                                       self.max_steps)
            if self.horizon is not None:
                self.horizon.assign(float(horizon))
                self.state["horizon"] = horizon
            self.estimated_steps = horizon
            self.task.set_total(horizon)
            self._planned_at = step

    def on_train_end(self, logs=None):
        if self.task is not None:
            self.task.close()

    def _stop(self, reason: str, **values: int) -> None:
        """Stop after this batch; `reason` is a msgid, with its `%(name)s` values."""
        if not self.model.stop_training:
            self.stop_reason = reason % values if values else reason
            self.stop_said = gettext(reason, **{name: number(value, 0) for name, value in values.items()})
            self.model.stop_training = True

    def _checkpoint(self) -> None:
        self.state["step"] = self.step()
        self.state["seconds"] = round(self.state.get("seconds", 0.0) + time.monotonic() - self._started, 1)
        self._started = time.monotonic()
        self.save_checkpoint(self.state)
        self._last_checkpoint = time.monotonic()


#: What the model is asked to write at every evaluation: the same beginning and seed each time,
#: so that the timeline shows the model learning, not the luck of the draw.
SAMPLE_PROMPT = "La nuit était"
SAMPLE_SEED = 1
SAMPLE_TOKENS = 40


#: Writes a sample: (prompt, seed, max_new_tokens) → the text after the prompt.
WriteSample = Callable[[str, int, int], str]


class SampleWriter(keras.callbacks.Callback):
    """At every evaluation, the model writes from a fixed prompt and seed (a `sample` event).

    `make_writer`, called at the first evaluation, returns the function that
    writes on the weights being trained (no copy, no saving): the command that
    trains chooses how to sample (generation is a later stage than training).
    A failure to sample is reported once and never stops the training.
    """

    def __init__(self, make_writer: Callable[[], WriteSample], prompt: str = SAMPLE_PROMPT,
                 seed: int = SAMPLE_SEED, max_new_tokens: int = SAMPLE_TOKENS):
        super().__init__()
        self.make_writer, self.prompt, self.seed, self.max_new_tokens = make_writer, prompt, seed, max_new_tokens
        self._write: WriteSample | None = None
        self._broken = False

    def on_epoch_end(self, epoch, logs=None):
        if self._broken:
            return
        try:
            if self._write is None:
                self._write = self.make_writer()
            text = self._write(self.prompt, self.seed, self.max_new_tokens)
        except Exception as error:  # a sample is a bonus: training goes on without it
            self._broken = True
            progress.log(gettext("No samples during this training: %(error)s", error=error))
            return
        step = int(self.model.optimizer.iterations.numpy())
        progress.event("sample", step=step, prompt=self.prompt, seed=self.seed, text=text,
                       message=f"step {step}: « {self.prompt}{text} »")
