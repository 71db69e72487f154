"""Hyper-parameter search for a training preset, built on Optuna.

Why Optuna (rather than KerasTuner): trials report their validation figure
at intermediate points and a pruner stops the hopeless ones early, the
sampler is TPE (tree-structured Parzen estimators, hyperopt's algorithm),
the search space is written as plain Python (so the heads can follow the
width, the vocabulary pick a tokenizer), it is pure Python with no server,
and its SQLite storage makes a search resumable: an interrupted search
(Ctrl+C, a crash) keeps its finished trials and goes on when run again.

Every trial trains from scratch for the same short time (`trial_minutes`),
with the learning-rate schedule fitted to that time as in a real run
(aurore.training.callbacks.TimeBudgetSchedule), so what is compared is quality per
unit of wall time on this machine. The figure is bits per character, the
validation loss per token times the validation split's tokens per
character: fair across vocabulary sizes. Trial 0 is the preset itself, the
baseline every other trial is read against.
"""

from __future__ import annotations

import json
import math
import shutil
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import optuna

from aurore import machine, progress
from aurore.corpus import tokenization
from aurore.errors import AuroreError
from aurore.messages import N_, gettext, number
from aurore.store import atomic, modeldir, saved_dataset
from aurore.training import loop, packing, presets

#: Heads tried; every width tried is a multiple of all of them.
HEADS = (2, 4, 8)
#: Evaluations aimed at per trial: the points where a trial may be pruned.
EVALUATIONS_PER_TRIAL = 6
#: Intermediate results are reported at tenths of the trial's time, so trials of different speeds compare.
REPORT_POINTS = 10
#: How a trial's line names its state (msgids: said in the run's language).
TRIAL_STATES = {"complete": N_("complete"), "pruned": N_("pruned"), "fail": N_("failed"),
                "running": N_("running"), "waiting": N_("waiting")}


@dataclass
class SearchOptions:
    preset: str = presets.DEFAULT
    minutes: float = 20.0
    trial_minutes: float = 3.0
    max_trials: int | None = None
    vocab_sizes: tuple[int, ...] = ()
    study: str | None = None
    seed: int = 0
    extra: dict = field(default_factory=dict)  # fixed overrides for every trial (e.g. max_steps)

    def study_name(self) -> str:
        return self.study or f"{self.preset}-{self.trial_minutes:g}min"

    def identity(self) -> dict:
        """What a resumed study must share with the one it resumes."""
        return {"preset": self.preset, "trial_minutes": self.trial_minutes,
                "vocab_sizes": sorted(self.vocab_sizes), "extra": self.extra}


def _round_to(value: float, multiple: int) -> int:
    return max(multiple, int(round(value / multiple)) * multiple)


def space(base: dict) -> dict:
    """The choices around a preset: each setting scaled around the preset's own value."""
    unit = math.lcm(*HEADS)
    warmup = base["warmup_steps"]
    return {
        "learning_rate": (base["learning_rate"] / 5, base["learning_rate"] * 5),
        "warmup_steps": (0, 3 * warmup, max(1, warmup // 4)),
        "num_layers": (max(1, base["num_layers"] - 2), base["num_layers"] + 2),
        "hidden_dim": sorted({_round_to(base["hidden_dim"] * f, unit) for f in (0.5, 0.75, 1, 1.5)}),
        "num_heads": sorted({*HEADS, base["num_heads"]}),
        "sequence_length": sorted({max(8, base["sequence_length"] * f // 2) for f in (1, 2, 4)}),
        "batch_size": sorted({max(1, base["batch_size"] * f // 2) for f in (1, 2, 4)}),
        "weight_decay": (0.0, 0.3),
        "optimizer": ["adamw", "muon"],
    }


#: The settings a search draws (besides the vocabulary); one fixed with `--set` is left out of it.
SEARCHED = ("learning_rate", "warmup_steps", "num_layers", "hidden_dim", "num_heads", "sequence_length",
            "batch_size", "weight_decay", "optimizer")


def suggest(trial: optuna.Trial, base: dict, vocab_sizes, fixed=()) -> tuple[dict, int | None]:
    """(overrides of the preset, vocabulary size or None) for one trial; `fixed` settings keep base's value."""
    choices = space(base)
    draws = {
        "learning_rate": lambda: trial.suggest_float("learning_rate", *choices["learning_rate"], log=True),
        "warmup_steps": lambda: trial.suggest_int("warmup_steps", *choices["warmup_steps"][:2],
                                                  step=choices["warmup_steps"][2]),
        "num_layers": lambda: trial.suggest_int("num_layers", *choices["num_layers"]),
        "weight_decay": lambda: trial.suggest_float("weight_decay", *choices["weight_decay"]),
    }
    overrides = {}
    for key in SEARCHED:
        if key in fixed:
            overrides[key] = base.get(key, "adamw" if key == "optimizer" else None)
        elif key in draws:
            overrides[key] = draws[key]()
        else:
            overrides[key] = trial.suggest_categorical(key, choices[key])
    if overrides["hidden_dim"] % overrides["num_heads"]:  # only with a preset's own odd head count
        raise optuna.TrialPruned(f"hidden_dim {overrides['hidden_dim']} is not a multiple of "
                                 f"num_heads {overrides['num_heads']}")
    if "intermediate_dim" not in fixed:
        overrides["intermediate_dim"] = overrides["hidden_dim"] * base["intermediate_dim"] // base["hidden_dim"]
    vocab = trial.suggest_categorical("vocab_size", sorted(vocab_sizes)) if len(vocab_sizes) > 1 else None
    return overrides, vocab


def baseline(base: dict, vocab_sizes, fixed=()) -> dict:
    """The preset's own values as trial parameters (enqueued as trial 0); fixed settings are not parameters."""
    params = {key: base.get(key, "adamw" if key == "optimizer" else None) for key in SEARCHED if key not in fixed}
    if len(vocab_sizes) > 1:
        params["vocab_size"] = (tokenization.DEFAULT_VOCAB_SIZE if tokenization.DEFAULT_VOCAB_SIZE in vocab_sizes
                                else sorted(vocab_sizes)[len(vocab_sizes) // 2])
    return params


class Pruning(keras.callbacks.Callback):
    """Reports each evaluation's bits per character to the trial, and stops it when Optuna says so."""

    def __init__(self, trial: optuna.Trial, bits_per_nat: float, seconds: float):
        super().__init__()
        self.trial, self.bits_per_nat, self.seconds = trial, bits_per_nat, seconds
        self.pruned_at: int | None = None
        self.last_value: float | None = None
        self._reported = -1
        self._started = 0.0
        self.steps_per_second: float | None = None
        # Training speed, without the first step (tracing) nor evaluations: what a longer run would see.
        self._timed_from: tuple[float, int] | None = None
        self._evaluating_since = 0.0
        self._evaluation_seconds = 0.0

    def _step(self) -> int:
        return int(self.model.optimizer.iterations.numpy())

    def on_train_begin(self, logs=None):
        self._started = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        if self._timed_from is None:
            self._timed_from = (time.monotonic(), self._step())

    def on_test_begin(self, logs=None):
        self._evaluating_since = time.monotonic()

    def on_test_end(self, logs=None):
        self._evaluation_seconds += time.monotonic() - self._evaluating_since

    def on_epoch_end(self, epoch, logs=None):
        val_loss = float((logs or {}).get("val_loss", math.nan))
        if not math.isfinite(val_loss):
            return
        self.last_value = val_loss * self.bits_per_nat
        point = min(REPORT_POINTS, int(REPORT_POINTS * (time.monotonic() - self._started) / self.seconds))
        if point <= self._reported:  # one report per tenth of the trial's time
            return
        self._reported = point
        self.trial.report(self.last_value, point)
        if self.trial.should_prune():
            self.pruned_at = point
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self._timed_from is not None:
            since, first = self._timed_from
            seconds = time.monotonic() - since - self._evaluation_seconds
            self.steps_per_second = (self._step() - first) / seconds if seconds > 0 else None


class Search:
    """One study: its folder, its tokenizers, its trials and its table."""

    def __init__(self, module, dataset_dir, tokenizer_dir, out_dir, options: SearchOptions,
                 tokenizer_module=None, pruner: optuna.pruners.BasePruner | None = None):
        self.module, self.tokenizer_module = module, tokenizer_module
        self.dataset_dir, self.tokenizer_dir = Path(dataset_dir), Path(tokenizer_dir)
        self.options = options
        self.folder = Path(out_dir) / options.study_name()
        self.base = presets.preset(options.preset, **options.extra)
        if "hidden_dim" in options.extra and "intermediate_dim" not in options.extra:  # the preset's MLP ratio
            preset = presets.PRESETS[options.preset]
            self.base["intermediate_dim"] = self.base["hidden_dim"] * preset["intermediate_dim"] // preset["hidden_dim"]
        self.trial_seconds = 60 * options.trial_minutes
        # Validation tokens each evaluation reads: the preset's own amount.
        self.eval_tokens = self.base["eval_batches"] * self.base["batch_size"] * self.base["sequence_length"]
        self._bits_per_nat: dict[tuple[int, int], float] = {}
        self._default_vocab: int | None = None
        self.machine = machine.describe()
        self.pruner = pruner or optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=3)

    # -- the study ------------------------------------------------------------
    def open_study(self) -> optuna.Study:
        self.folder.mkdir(parents=True, exist_ok=True)
        # Optuna's own lines (with a traceback for a failed trial) would drown the trial lines logged here.
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        saved_dataset.load(self.dataset_dir)  # missing inputs: one clear message before any trial
        modeldir.load_tokenizer(self.tokenizer_dir)
        storage = optuna.storages.RDBStorage(f"sqlite:///{(self.folder / 'study.db').resolve()}")
        # A handful of trials fit in a budget: start modelling after 4 random ones, not TPE's default 10.
        sampler = optuna.samplers.TPESampler(seed=self.options.seed + len(self._existing(storage)),
                                             n_startup_trials=4)
        study = optuna.create_study(study_name="search", storage=storage, sampler=sampler, pruner=self.pruner,
                                    direction="minimize", load_if_exists=True)
        identity = study.user_attrs.get("identity")
        if identity is None:
            study.set_user_attr("identity", self.options.identity())
            study.enqueue_trial(baseline(self.base, self.options.vocab_sizes, self.options.extra))
        elif identity != json.loads(json.dumps(self.options.identity())):
            raise AuroreError(f"The search in {self.folder} was started with other options ({identity}); "
                              "run it again with those to resume it, or name a new one with --study NAME.")
        return study

    @staticmethod
    def _existing(storage) -> list:
        try:
            return storage.get_all_trials(storage.get_study_id_from_name("search"))
        except KeyError:
            return []

    def run(self, study: optuna.Study) -> dict:
        """Trials until the budget or the trial count is spent; the table is rewritten after each."""
        deadline = time.monotonic() + 60 * self.options.minutes
        overheads: list[float] = []
        done = 0
        try:
            while self.options.max_trials is None or done < self.options.max_trials:
                expected = self.trial_seconds + (max(overheads) if overheads else 30.0)
                if done and time.monotonic() + expected > deadline:
                    break
                started = time.monotonic()
                study.optimize(self.objective, n_trials=1, catch=(AuroreError,))
                last = study.trials[-1]
                overheads.append(max(0.0, time.monotonic() - started - last.user_attrs.get("train_seconds", 0.0)))
                progress.log(self._trial_line(last))
                self.write_table(study)
                done += 1
        finally:
            self.write_table(study)  # Ctrl+C keeps the finished trials' table
        return self.table(study)

    # -- one trial ------------------------------------------------------------
    def objective(self, trial: optuna.Trial) -> float:
        try:
            return self._objective(trial)
        except AuroreError as error:  # a failed trial, kept in the table with its reason
            trial.set_user_attr("error", str(error))
            raise
        except KeyboardInterrupt:  # Optuna records the trial as failed, and the search stops
            trial.set_user_attr("error", "interrupted")
            raise

    def _objective(self, trial: optuna.Trial) -> float:
        overrides, vocab = suggest(trial, self.base, self.options.vocab_sizes, self.options.extra)
        tokenizer_dir = self.tokenizer_for(vocab)
        length, batch = overrides["sequence_length"], overrides["batch_size"]
        settings = presets.preset(self.options.preset, **{
            **self.options.extra, **overrides, "patience": 0,
            "eval_interval": self._eval_interval(overrides, tokenizer_dir, trial.study),
            # The same validation text for every trial, whatever its batch and context.
            "eval_batches": max(1, round(self.eval_tokens / (length * batch)))})
        settings["checkpoint_seconds"] = 10 ** 9  # a trial is never resumed: no checkpoints between evaluations
        vocab_size = self._vocab_of(tokenizer_dir)
        trial.set_user_attr("vocab_size", vocab_size)
        trial.set_user_attr("parameters", presets.parameter_count(settings, vocab_size)["total"])
        trial.set_user_attr("eval_interval", settings["eval_interval"])
        pruning = Pruning(trial, self.bits_per_nat(tokenizer_dir, settings["eval_batches"] * batch * length),
                          self.trial_seconds)
        model_dir = self.folder / "trial-model"
        shutil.rmtree(model_dir, ignore_errors=True)
        keras.backend.clear_session()  # the last trial's graphs and weights, before building the next
        started = time.monotonic()
        try:
            # No sampler: a trial is judged by its loss, it writes no samples.
            summary = loop.train(self.module, self.dataset_dir, tokenizer_dir, model_dir, settings,
                                 restart=True, max_minutes=self.options.trial_minutes, callbacks=[pruning])
        finally:
            shutil.rmtree(model_dir, ignore_errors=True)
        trial.set_user_attr("train_seconds", round(time.monotonic() - started, 1))
        trial.set_user_attr("steps", summary["step"])
        trial.set_user_attr("steps_per_second", round(pruning.steps_per_second or 0.0, 3))
        tokens_per_step = settings["batch_size"] * settings["sequence_length"]
        trial.set_user_attr("model_gflops_per_second", round(
            (pruning.steps_per_second or 0.0) * tokens_per_step
            * presets.training_flops_per_token(settings, vocab_size) / 1e9, 2))
        trial.set_user_attr("stopped", summary["stopped"])
        if pruning.pruned_at is not None:
            trial.set_user_attr("last_bits_per_character", pruning.last_value)
            raise optuna.TrialPruned(f"pruned at {10 * pruning.pruned_at}% of its time")
        if summary["best_val_loss"] is None:
            raise AuroreError(f"no evaluation finished in {self.options.trial_minutes:g} minutes "
                              f"(evaluation every {settings['eval_interval']} steps): too slow for the trial time")
        return summary["best_val_loss"] * pruning.bits_per_nat

    def _eval_interval(self, overrides: dict, tokenizer_dir: Path, study: optuna.Study) -> int:
        """Steps between evaluations, so a trial gets about EVALUATIONS_PER_TRIAL of them.

        The speed is predicted from the model FLOP/s the finished trials reached
        (aurore.training.presets.training_flops_per_token); before any, a quarter of the preset's.
        """
        rates = [t.user_attrs["model_gflops_per_second"] for t in study.trials
                 if t.user_attrs.get("model_gflops_per_second")]
        least = max(2, self.base["eval_interval"] // 4)  # fewer steps: evaluations would cost more than training
        if not rates:
            return least
        settings = dict(self.base, **overrides)
        flops_per_step = (presets.training_flops_per_token(settings, self._vocab_of(tokenizer_dir))
                          * settings["batch_size"] * settings["sequence_length"])
        steps = min(self.trial_seconds * statistics.median(rates) * 1e9 / flops_per_step, settings["max_steps"])
        return max(least, int(steps / EVALUATIONS_PER_TRIAL))

    # -- tokenizers and bits per character --------------------------------------
    def _vocab_of(self, tokenizer_dir: Path) -> int:
        return len(modeldir.load_tokenizer(tokenizer_dir))

    def tokenizer_for(self, vocab: int | None) -> Path:
        """The prepared tokenizer, or one of that vocabulary size, built once into tune/tokenizers/<size>."""
        if vocab is None:
            return self.tokenizer_dir
        if self._default_vocab is None:
            self._default_vocab = self._vocab_of(self.tokenizer_dir)
        if vocab == self._default_vocab:
            return self.tokenizer_dir
        folder = self.folder.parent / "tokenizers" / str(vocab)
        if not (folder / "tokenizer.json").exists():
            progress.log(gettext("Building a tokenizer of %(size)s tokens for the search…", size=number(vocab, 0)))
            tokenization.build(self.tokenizer_module, self.dataset_dir, folder, vocab)
        return folder

    def bits_per_nat(self, tokenizer_dir: Path, tokens: int | None = None) -> float:
        """Tokens per character / ln 2 of the validation text an evaluation reads (its first `tokens`).

        Turns a loss per token into bits per character.
        """
        key = (self._vocab_of(tokenizer_dir), tokens or 0)
        if key not in self._bits_per_nat:
            texts = [text for text in saved_dataset.load(self.dataset_dir)["validation"]["text"] if text]
            counted = characters = 0
            for ids, text in zip(packing.tokenize(modeldir.load_tokenizer(tokenizer_dir), texts), texts):
                counted, characters = counted + len(ids) + 1, characters + len(text) + 1
                if tokens and counted >= tokens:
                    break
            self._bits_per_nat[key] = counted / characters / math.log(2)
        return self._bits_per_nat[key]

    # -- the table --------------------------------------------------------------
    def rows(self, study: optuna.Study) -> list[dict]:
        rows = []
        for trial in study.trials:
            if not trial.state.is_finished():
                continue
            value = trial.value if trial.state == optuna.trial.TrialState.COMPLETE else \
                trial.user_attrs.get("last_bits_per_character")
            rows.append({"trial": trial.number, "state": trial.state.name.lower(),
                         "bits_per_character": None if value is None else round(value, 4),
                         "pruned_at_percent": (10 * max(trial.intermediate_values)
                                               if trial.state == optuna.trial.TrialState.PRUNED
                                               and trial.intermediate_values else None),
                         "params": dict(trial.params), **trial.user_attrs})
        order = {"complete": 0, "pruned": 1}
        return sorted(rows, key=lambda r: (order.get(r["state"], 2), r["bits_per_character"] or math.inf))

    def best(self, study: optuna.Study) -> dict | None:
        complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        if not complete:
            return None
        trial = min(complete, key=lambda t: t.value)
        overrides = {**self.options.extra, **{k: v for k, v in trial.params.items() if k != "vocab_size"}}
        hidden_dim = overrides.get("hidden_dim", self.base["hidden_dim"])
        overrides.setdefault("intermediate_dim", hidden_dim * self.base["intermediate_dim"] // self.base["hidden_dim"])
        tokenizer = (str(self.tokenizer_for(trial.params["vocab_size"])) if "vocab_size" in trial.params
                     and trial.params["vocab_size"] != self._vocab_of(self.tokenizer_dir) else None)
        return {"trial": trial.number, "bits_per_character": round(trial.value, 4), "settings": overrides,
                "tokenizer": tokenizer, "command": train_command(self.options.preset, overrides, tokenizer)}

    def table(self, study: optuna.Study) -> dict:
        return {"study": self.options.study_name(), "options": asdict(self.options), "machine": self.machine,
                "figure": "validation bits per character (loss per token × tokens per character / ln 2)",
                "trials": self.rows(study), "best": self.best(study)}

    def write_table(self, study: optuna.Study) -> dict:
        table = self.table(study)
        atomic.write_text(self.folder / "results.json", json.dumps(table, indent=1) + "\n")
        atomic.write_text(self.folder / "results.md", markdown(table))
        return table

    @staticmethod
    def _trial_line(trial) -> str:
        value = trial.value if trial.state == optuna.trial.TrialState.COMPLETE else \
            trial.user_attrs.get("last_bits_per_character")
        if "error" in trial.user_attrs:
            return gettext("Trial %(number)s failed: %(error)s", number=trial.number, error=trial.user_attrs["error"])
        figure = gettext("no figure") if value is None else gettext("%(bits)s bits per character",
                                                                    bits=number(value, 3))
        state = trial.state.name.lower()
        steps = trial.user_attrs.get("steps")
        return gettext("Trial %(number)s %(state)s: %(figure)s, %(steps)s steps", number=trial.number,
                       state=gettext(TRIAL_STATES.get(state, state)), figure=figure,
                       steps="?" if steps is None else number(steps, 0))


def format_value(value) -> str:
    return format(value, ".3g") if isinstance(value, float) else str(value)


def train_command(preset: str, overrides: dict, tokenizer: str | None = None) -> str:
    """The `python -m aurore train` line that trains with these settings."""
    parts = ["python -m aurore train", f"--preset {preset}"]
    if tokenizer:
        parts.append(f"--tokenizer {tokenizer}")
    parts += [f"--set {key}={format_value(value)}" for key, value in sorted(overrides.items())]
    return " ".join(parts)


COLUMNS = (("trial", "#"), ("state", "state"), ("bits_per_character", "bits/char"), ("learning_rate", "lr"),
           ("warmup_steps", "warm-up"), ("num_layers", "layers"), ("hidden_dim", "width"), ("num_heads", "heads"),
           ("sequence_length", "context"), ("batch_size", "batch"), ("vocab_size", "vocab"),
           ("weight_decay", "decay"), ("optimizer", "optimizer"), ("steps", "steps"),
           ("steps_per_second", "steps/s"), ("parameters", "params"))


def markdown(table: dict) -> str:
    """The table as Markdown: one row per trial, best first."""
    facts = table["machine"]
    lines = [f"# Hyper-parameter search `{table['study']}`", "",
             f"Preset `{table['options']['preset']}`, {table['options']['trial_minutes']:g} minutes per trial; "
             f"{machine.summary(facts)}. Figure: {table['figure']}; steps/s: training alone "
             "(no evaluation, no first step).", "",
             "| " + " | ".join(title for _, title in COLUMNS) + " |",
             "|" + "---|" * len(COLUMNS)]
    for row in table["trials"]:
        cells = []
        for key, _ in COLUMNS:
            value = row.get(key, row["params"].get(key, table["options"]["extra"].get(key)))  # fixed: --set
            if key == "state" and row.get("pruned_at_percent") is not None:
                value = f"pruned at {row['pruned_at_percent']}%"
            cells.append("" if value is None else format_value(value))
        lines.append("| " + " | ".join(cells) + " |")
    best = table["best"]
    lines += ["", f"Best: trial {best['trial']}, {best['bits_per_character']:.3f} bits per character:", "",
              f"    {best['command']}"] if best else ["", "No trial finished yet."]
    return "\n".join(lines) + "\n"
