"""A resumable training run: go on from the checkpoint or start afresh, fit under the monitor, sum it up.

GPT-2's loop (`aurore.training.loop`) and the char-LSTM (`aurore.bonus.char_lstm`)
train alike: the same `model_dir/checkpoint/` (resumed with that run's settings;
only this call's step and time limits apply), the same monitor
(`aurore.training.callbacks.TrainingMonitor`: metrics events, the best model
kept, early stopping, the limits) and the same `metrics.jsonl` (one line per
evaluation). Each brings its model, its data and how it saves its best
weights; this file does the rest, once for both.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from aurore import progress
from aurore.errors import AuroreError
from aurore.messages import N_, gettext, number
from aurore.store import atomic, checkpoint

METRICS_FILE = "metrics.jsonl"


@dataclass(frozen=True)
class Words:
    """How the logs and errors name a run (GPT-2's by default), so each model keeps its own messages."""

    subject: str = N_("Training")   # "<subject> in <folder> already finished" (a msgid: said in the run's language)
    noun: str = "training"      # "holds an unfinished <noun>"
    start_over: str = " (on the run page: tick Start over)"   # after "start afresh with --restart"


class Run:
    """One training of a model folder, resumed from its checkpoint or started afresh.

    In order: `open` (which run, with which settings), then, unless
    `already_finished`, `restore_or_start` once the model and its optimizer
    are built, and `fit`, which returns the summary.
    """

    def __init__(self, model_dir, words: Words = Words()):
        self.model_dir, self.words = Path(model_dir), words
        self.started = time.monotonic()   # the summary's seconds count from here
        self.resuming = self.already_finished = False
        self.settings: dict = {}
        self.state: dict = {}
        self.minutes: float | None = None

    def open(self, settings: dict, *, restart: bool = False, max_minutes: float | None = None) -> dict:
        """The settings to train with: when a checkpoint is resumed, its run's (with this call's max_steps).

        `restart` discards the checkpoint first. `minutes` becomes the time
        limit: `max_minutes`, else the settings'.
        """
        if restart:
            shutil.rmtree(checkpoint.directory(self.model_dir), ignore_errors=True)
        self.resuming = checkpoint.exists(self.model_dir)
        self.settings = self._resumed_settings(settings) if self.resuming else settings
        self.minutes = max_minutes if max_minutes is not None else self.settings.get("max_minutes")
        return self.settings

    def _resumed_settings(self, settings: dict) -> dict:
        """The checkpoint's settings; a finished run is said so, an unfinished one of another preset refused."""
        self.state = checkpoint.read_state(self.model_dir)
        if self.state.get("finished"):
            self.already_finished = True
            progress.log(gettext("%(subject)s in %(path)s already finished (step %(step)s). Use --restart to train "
                                 "again from scratch (on the run page: tick Start over).",
                                 subject=gettext(self.words.subject), path=self.model_dir, step=self.state["step"]))
            return settings
        if self.state["settings"].get("preset") != settings.get("preset"):
            raise AuroreError(f"{self.model_dir} holds an unfinished {self.words.noun} with the preset "
                              f"{self.state['settings'].get('preset')!r}, not {settings.get('preset')!r}. "
                              "Resume it with that preset, pick another --model, or start afresh with "
                              f"--restart{self.words.start_over}.")
        return dict(self.state["settings"], **{k: settings[k] for k in ("max_steps",) if k in settings})

    def restore_or_start(self, model, optimizer, **fresh) -> dict:
        """The state training goes on from: the checkpoint's, restored into the built model and optimizer,
        or a new one (with `fresh`'s entries, as the char-LSTM's vocabulary) and an empty metrics file."""
        if self.resuming:
            self.state = checkpoint.restore(self.model_dir, model, optimizer)
            progress.log(gettext("Resuming from the checkpoint at step %(step)s (with that run's settings; only "
                                 "--max-steps and --max-minutes apply).", step=self.state["step"]))
        else:
            self.state = {"step": 0, "epoch": 0, "history": [], "best_val_loss": None, "wait": 0,
                          "settings": self.settings, **fresh, "seconds": 0.0}
            self.model_dir.mkdir(parents=True, exist_ok=True)
            _write_metrics(self.model_dir, [])
        return self.state

    def fit(self, model, train_data, val_data, *, save_best: Callable[[dict], None],
            save_checkpoint: Callable[[dict], None], is_model_dir: Callable[[Path], bool], horizon=None,
            callbacks=()) -> dict:
        """Train until a limit under the monitor (then `callbacks`); returns the summary.

        `save_best(record)` keeps the weights of a better validation loss;
        `save_checkpoint(state)` writes the checkpoint (the metrics file is
        rewritten with it). A run that ends before its first evaluation saves
        its weights all the same, unless a resumed run's folder already holds
        a model (`is_model_dir`). `horizon` is TimeBudgetSchedule's, set back
        to the checkpoint's.
        """
        from aurore.training.callbacks import TrainingMonitor

        settings, state = self.settings, self.state
        if horizon is not None and state.get("horizon"):
            horizon.assign(float(state["horizon"]))
        tokens_per_step = settings["batch_size"] * settings["sequence_length"]
        saved_steps: list[int] = []

        def save_best_counted(record: dict) -> None:
            save_best(record)
            saved_steps.append(record["step"])

        def save_checkpoint_and_metrics(current: dict) -> None:
            save_checkpoint(current)
            _write_metrics(self.model_dir, current["history"])

        monitor = TrainingMonitor(state, settings["max_steps"], tokens_per_step, settings.get("patience", 0),
                                  save_best_counted, save_checkpoint_and_metrics,
                                  deadline=time.monotonic() + 60 * self.minutes if self.minutes else None,
                                  checkpoint_seconds=settings.get("checkpoint_seconds", 120), horizon=horizon)
        interval = settings["eval_interval"]
        epochs = state["epoch"] + math.ceil(max(settings["max_steps"] - state["step"], 1) / interval) + 1
        model.fit(train_data, steps_per_epoch=interval, epochs=epochs, initial_epoch=state["epoch"],
                  validation_data=val_data, callbacks=[monitor, *callbacks], verbose=0, shuffle=False)
        if not saved_steps and not (self.resuming and is_model_dir(self.model_dir)):  # no evaluation finished
            save_best({"step": monitor.step(), "val_loss": None, "tokens": monitor.step() * tokens_per_step})
        reason = monitor.stop_reason or "done"
        best = state.get("best_val_loss")
        progress.log(gettext("%(subject)s stopped (%(reason)s) at step %(step)s; best validation loss %(loss)s at step "
                             "%(best_step)s. Model in %(path)s.", subject=gettext(self.words.subject),
                             reason=monitor.stop_said or gettext("done"), step=number(monitor.step(), 0),
                             loss=gettext("none") if best is None else number(best, 4),
                             best_step=state.get("best_step"), path=self.model_dir))
        return self.summary(reason)

    def summary(self, reason: str) -> dict:
        """What the command prints and sends as its result: where the run stopped, and why."""
        state = self.state
        return {"model_dir": str(self.model_dir), "step": state.get("step"),
                "best_val_loss": state.get("best_val_loss"), "best_step": state.get("best_step"),
                "stopped": reason, "seconds": round(time.monotonic() - self.started, 1)}


def _write_metrics(model_dir: Path, history: list[dict]) -> None:
    atomic.write_text(model_dir / METRICS_FILE,
                      "".join(json.dumps(progress.json_safe(record)) + "\n" for record in history))


def trained(model_dir) -> dict | None:
    """How long a model trained and how far (GPT-2's or the char-LSTM's): `minutes` and `steps` of its last
    evaluation in `metrics.jsonl`, else of its checkpoint's state (the monitor adds up each run's seconds).

    The comparison and the home page put two models' budgets side by side from it (a kit carries the
    metrics file). None when neither says (a model copied without them, or files that do not read).
    """
    try:
        lines = (Path(model_dir) / METRICS_FILE).read_text(encoding="utf-8").split("\n")
        last = json.loads(next(line for line in reversed(lines) if line.strip()))
        return {"minutes": round(float(last["seconds"]) / 60, 2), "steps": int(last["step"])}
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        pass
    try:   # no evaluation line: the checkpoint's state, when the folder has one
        state = checkpoint.read_state(Path(model_dir))
        return {"minutes": round(float(state["seconds"]) / 60, 2), "steps": int(state["step"])}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
