"""`python -m aurore char-lstm`: train the character-level LSTM baseline (bonus exercise 8), then measure it."""

from __future__ import annotations

import json

from aurore import paths, progress
from aurore.bonus import char_lstm
from aurore.commands import (add_training_limits, add_training_options, add_variant_option, evaluate_after_training,
                             test_book_figures)
from aurore.course import exercises
from aurore.errors import AuroreError
from aurore.messages import N_, gettext

EXERCISE_STEP = "char-lstm"


def register(subparsers) -> None:
    parser = subparsers.add_parser("char-lstm", help="train the character-level LSTM baseline (bonus exercise 8)")
    add_training_options(parser, char_lstm.PRESETS, "cpu", folder=char_lstm.MODEL_NAME, preset_note="; tiny for a test")
    add_training_limits(parser, minutes_note="this run; the cpu preset's default is 15", set_example="units=256")
    parser.add_argument("--no-evaluate", dest="evaluate", action="store_false",
                        help="skip the bits per character on the test book and the validation split at the end")
    add_variant_option(parser)
    parser.set_defaults(handler=run)


def model_dir(variant: str = "solution"):
    """The char-LSTM's folder: models/char-lstm, or models/char-lstm-mine for the learner's code."""
    return paths.model_dir(char_lstm.MODEL_NAME, variant)


def run(args) -> int:
    if args.max_minutes is not None and not args.max_minutes > 0:
        raise AuroreError(f"--max-minutes {args.max_minutes:g}: give a number of minutes above 0.")
    module = exercises.rules(EXERCISE_STEP, args.use)
    settings = char_lstm.preset(args.preset, args.set, max_steps=args.max_steps)
    folder = args.model or model_dir(args.use)
    data = args.data or paths.dataset_dir()
    summary = char_lstm.train(module, data, folder, settings, restart=args.restart, max_minutes=args.max_minutes)
    progress.event("result", step=EXERCISE_STEP, report=summary)
    if progress.mode() != "json":
        print(json.dumps(summary, indent=1))
    if args.evaluate:
        evaluate_after_training(char_lstm, folder, data, N_("The char-LSTM"), _evaluation_message,
                                exercises.rules("evaluate"))
    return 0


def _evaluation_message(report: dict) -> str:
    """Bits per character on the test book and the validation split, for the run page."""
    return gettext("Char-LSTM evaluation: %(figures)s. `python -m aurore evaluate` sets it beside GPT-2's.",
                   figures=test_book_figures(report))
