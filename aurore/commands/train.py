"""`python -m aurore train`: train GPT-2 on the prepared books (resumes if interrupted), then evaluate it."""

from __future__ import annotations

import json

from aurore import paths, progress
from aurore.commands import add_preset_option, add_variant_option
from aurore.course import exercises
from aurore.errors import AuroreError
from aurore.evaluation import scoring
from aurore.training import distribute, loop, presets


def register(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train GPT-2 from scratch (or fine-tune with --init)")
    add_arguments(parser)
    add_variant_option(parser)
    parser.set_defaults(handler=run)


def add_arguments(parser) -> None:
    add_preset_option(parser, "model size and training recipe")
    parser.add_argument("--model", default=None,
                        help="model directory (default: the data folder's models/<preset>, or "
                             "models/<preset>-mine with --use exercise)")
    parser.add_argument("--data", default=None, help="dataset folder (default: the data folder's dataset/)")
    parser.add_argument("--tokenizer", default=None, help="tokenizer folder (default: the data folder's tokenizer/)")
    parser.add_argument("--init", default=None, help="fine-tune from this model directory (or hf://… preset)")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many steps in all")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop after this many minutes (this run)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a preset setting, e.g. --set batch_size=8 (repeatable)")
    parser.add_argument("--restart", action="store_true", help="discard the checkpoint and start from scratch")
    parser.add_argument("--no-evaluate", dest="evaluate", action="store_false",
                        help="skip the evaluation on the validation split and the test book at the end")
    distribute.add_strategy_option(parser)


def run(args) -> int:
    settings = loop.settings_from_args(args.preset, args.set, max_steps=args.max_steps)
    model_dir = args.model or paths.model_dir(args.preset, args.use)
    module = exercises.rules("train", args.use)
    summary = loop.train(module, args.data or paths.dataset_dir(), args.tokenizer or paths.tokenizer_dir(),
                         model_dir, settings, init=args.init, restart=args.restart,
                         max_minutes=args.max_minutes, strategy=args.strategy)
    progress.event("result", step="train", report=summary)
    if progress.mode() != "json":
        print(json.dumps(summary, indent=1))
    if args.evaluate and (args.strategy != "multiworker" or distribute.is_chief()):
        _evaluate(model_dir, args.data or paths.dataset_dir())
    return 0


def _evaluate(model_dir, dataset_dir) -> None:
    """Measure the trained model (an `evaluation` event for the run page, evaluation.json for the writers' page)."""
    report = scoring.read_report(model_dir)
    if report is None:
        try:
            report = scoring.evaluate(model_dir, dataset_dir, rules=exercises.rules("evaluate"))
        except AuroreError as error:   # the model is trained and saved all the same
            progress.log(f"The trained model could not be evaluated: {error}")
            return
        scoring.save_report(model_dir, report)
    test, validation = report["test"], report["validation"]
    progress.event("evaluation", report=report,
                   message=f"Evaluation: {test['bits_per_character']:.3f} bits per character on the test book "
                           f"(validation {validation['bits_per_character']:.3f}; xz "
                           f"{report['baseline']['xz_bits_per_character']:.2f}); loss per token "
                           f"{test['loss_per_token']:.3f} (a fresh model: ln {report['vocab_size']} = "
                           f"{report['fresh_loss']:.3f}).")
