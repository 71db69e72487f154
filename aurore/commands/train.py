"""`python -m aurore train`: train GPT-2 on the prepared books (resumes if interrupted), then evaluate it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aurore import paths, progress
from aurore.commands import (add_training_limits, add_training_options, add_variant_option, evaluate_after_training,
                             test_book_figures)
from aurore.course import exercises
from aurore.evaluation import scoring
from aurore.messages import N_, gettext, number
from aurore.training import distribute, loop, presets

if TYPE_CHECKING:   # annotations only: importing callbacks imports Keras
    from aurore.store.modeldir import LoadedModel
    from aurore.training.callbacks import WriteSample


def register(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train GPT-2 from scratch (or fine-tune with --init)")
    add_arguments(parser)
    add_variant_option(parser)
    parser.set_defaults(handler=run)


def add_arguments(parser) -> None:
    add_training_options(parser, presets.PRESETS, presets.DEFAULT, folder="<preset>")
    parser.add_argument("--tokenizer", default=None, help="tokenizer folder (default: the data folder's tokenizer/)")
    parser.add_argument("--init", default=None, help="fine-tune from this model directory (or hf://… preset)")
    add_training_limits(parser, minutes_note="this run", set_example="batch_size=8")
    parser.add_argument("--fixed-shape", dest="adapt", action="store_false",
                        help="keep the cpu preset's own shape (default: a short probe of this machine chooses the "
                             "shape that learns most in the time given; the choice is saved as recipe.json)")
    parser.add_argument("--no-evaluate", dest="evaluate", action="store_false",
                        help="skip the evaluation on the validation split and the test book at the end")
    distribute.add_strategy_option(parser)


def run(args) -> int:
    settings = presets.settings_from_args(args.preset, args.set, max_steps=args.max_steps)
    model_dir = args.model or paths.model_dir(args.preset, args.use)
    module = exercises.rules("train", args.use)
    tokenizer_dir = args.tokenizer or paths.tokenizer_dir()
    settings, max_minutes = adapted(args, settings, model_dir, tokenizer_dir)
    summary = loop.train(module, args.data or paths.dataset_dir(), tokenizer_dir,
                         model_dir, settings, init=args.init, restart=args.restart,
                         max_minutes=max_minutes, strategy=args.strategy, sampler=sample_writer)
    progress.event("result", step="train", report=summary)
    if progress.mode() != "json":
        print(json.dumps(summary, indent=1))
    if args.evaluate and (args.strategy != "multiworker" or distribute.is_chief()):
        evaluate_after_training(scoring, model_dir, args.data or paths.dataset_dir(), N_("The trained model"),
                                _evaluation_message, exercises.rules("evaluate"))
    return 0


def adapted(args, settings: dict, model_dir, tokenizer_dir) -> tuple[dict, float | None]:
    """The cpu preset's shape chosen for this machine and time (`aurore.training.adaptive`), and the minutes
    left to train; the settings as given when the run is not a fresh, timed cpu-preset run of the preset's shape."""
    from pathlib import Path

    from aurore.store import atomic, checkpoint, modeldir
    from aurore.training import adaptive

    minutes = args.max_minutes if args.max_minutes is not None else settings.get("max_minutes")
    record_file = Path(model_dir) / adaptive.RECIPE_FILE
    given = {key for key in presets.parse_set_pairs(args.set)} & set(presets.ARCHITECTURE_KEYS)
    if (args.preset != presets.DEFAULT or not getattr(args, "adapt", True) or given or args.init or not minutes
            or args.strategy == "multiworker" or not adaptive.FIT_FILE.is_file()
            or (checkpoint.exists(Path(model_dir)) and not args.restart)):
        if not checkpoint.exists(Path(model_dir)) or args.restart:
            record_file.unlink(missing_ok=True)      # a fresh run of a fixed shape: no stale choice
        return settings, args.max_minutes
    vocab_size = len(modeldir.load_tokenizer(tokenizer_dir))
    progress.log(gettext("Measuring this machine's speed for each candidate shape (a few seconds)…"))
    chosen, record = adaptive.adapt(settings, minutes, vocab_size)
    progress.log(adaptive.explain(record))
    Path(model_dir).mkdir(parents=True, exist_ok=True)
    atomic.write_text(record_file, json.dumps(record, indent=1))
    return chosen, record["minutes_left"]


def sample_writer(loaded: LoadedModel) -> WriteSample:
    """The training's samples, written on the weights being trained with the reference's exercise-6 rules
    (no XLA compile: the weights change at every evaluation)."""
    from aurore.generation.generator import Generator
    from aurore.generation.sampling import SamplingParams

    generator = Generator(loaded, exercises.rules("generate"), xla=False)

    def write(prompt: str, seed: int, max_new_tokens: int) -> str:
        return generator.generate(prompt, SamplingParams(max_new_tokens=max_new_tokens, seed=seed)).text

    return write


def _evaluation_message(report: dict) -> str:
    """The trained model's figures, for the run page (evaluation.json keeps them for the writers' page)."""
    return gettext("Evaluation: %(figures)s; loss per token %(loss)s (a fresh model: ln %(vocabulary)s = %(fresh)s).",
                   figures=test_book_figures(report), loss=number(report["test"]["loss_per_token"], 3),
                   vocabulary=report["vocab_size"], fresh=number(report["fresh_loss"], 3))
