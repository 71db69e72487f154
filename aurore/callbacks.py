"""The Keras callback that watches a training run.

Each Keras "epoch" is one evaluation interval (`steps_per_epoch =
eval_interval`), so `on_epoch_end` is an evaluation: it records the metrics,
keeps the model of best validation loss, saves the resumable checkpoint and
applies early stopping. Between evaluations it reports progress (bars, or
JSON events for the web page's live loss curve), stops at the step limit or
the wall-time limit, and saves a checkpoint every few minutes.
"""

from __future__ import annotations

import math
import time
from typing import Callable

import keras

from aurore import progress


class TrainingMonitor(keras.callbacks.Callback):
    def __init__(self, state: dict, max_steps: int, tokens_per_step: int, patience: int,
                 save_best: Callable[[dict], None], save_checkpoint: Callable[[dict], None],
                 deadline: float | None = None, checkpoint_seconds: float = 120.0):
        super().__init__()
        self.state, self.max_steps, self.tokens_per_step = state, max_steps, tokens_per_step
        self.patience, self.deadline, self.checkpoint_seconds = patience, deadline, checkpoint_seconds
        self.save_best, self.save_checkpoint = save_best, save_checkpoint
        self.task = None
        self.stop_reason: str | None = None
        self._last_report = self._last_checkpoint = self._started = 0.0
        self._reported_step = 0

    def step(self) -> int:
        return int(self.model.optimizer.iterations.numpy())

    def on_train_begin(self, logs=None):
        self._started = self._last_report = self._last_checkpoint = time.monotonic()
        self._reported_step = self.state["step"]
        self.task = progress.task("Training", total=self.max_steps, unit="step")
        self.task.done = self._reported_step
        if self.task._bar is not None:
            self.task._bar.update(self._reported_step)

    def on_train_batch_end(self, batch, logs=None):
        now = time.monotonic()
        step = self.step()
        if now - self._last_report >= 1.0 or step >= self.max_steps:
            loss = float((logs or {}).get("loss", math.nan))
            self.task.update(step - self._reported_step, loss=loss)
            self._reported_step, self._last_report = step, now
        if step >= self.max_steps:
            self._stop(f"reached {self.max_steps} steps")
        elif self.deadline is not None and now >= self.deadline:
            self._stop("reached the time limit (--max-minutes)")
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
                self._stop(f"early stopping: no better validation loss in {self.patience} evaluations")
                self.state["finished"] = True
        if step >= self.max_steps:
            self.state["finished"] = True
        self._checkpoint()

    def on_train_end(self, logs=None):
        if self.task is not None:
            self.task.close()

    def _stop(self, reason: str) -> None:
        if not self.model.stop_training:
            self.stop_reason = reason
            self.model.stop_training = True

    def _checkpoint(self) -> None:
        self.state["step"] = self.step()
        self.state["seconds"] = round(self.state.get("seconds", 0.0) + time.monotonic() - self._started, 1)
        self._started = time.monotonic()
        self.save_checkpoint(self.state)
        self._last_checkpoint = time.monotonic()
