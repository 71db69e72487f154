"""`python -m aurore char-lstm`: train the character-level LSTM baseline (bonus exercise 6), then measure it."""

from __future__ import annotations

import json

from aurore import paths, progress
from aurore.bonus import char_lstm
from aurore.commands import add_variant_option
from aurore.course import exercises
from aurore.errors import AuroreError

EXERCISE_STEP = "char-lstm"


def register(subparsers) -> None:
    parser = subparsers.add_parser("char-lstm", help="train the character-level LSTM baseline (bonus exercise 6)")
    parser.add_argument("--preset", choices=sorted(char_lstm.PRESETS), default="cpu",
                        help="model size and training recipe (default: cpu; tiny for a test)")
    parser.add_argument("--model", default=None,
                        help="model directory (default: the data folder's models/char-lstm, or "
                             "models/char-lstm-mine with --use exercise)")
    parser.add_argument("--data", default=None, help="dataset folder (default: the data folder's dataset/)")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many steps in all")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="stop after this many minutes (this run; the cpu preset's default is 15)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a preset setting, e.g. --set units=256 (repeatable)")
    parser.add_argument("--restart", action="store_true", help="discard the checkpoint and start from scratch")
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
        _evaluate(folder, data)
    return 0


def _evaluate(folder, data) -> None:
    """Bits per character on the test book and the validation split (an `evaluation` event for the run page)."""
    report = char_lstm.read_report(folder)
    if report is None or "validation" not in report:
        try:
            report = char_lstm.evaluate(folder, data, rules=exercises.rules("evaluate"))
        except AuroreError as error:   # the model is trained and saved all the same
            progress.log(f"The char-LSTM could not be evaluated: {error}")
            return
        char_lstm.save_report(folder, report)
    test, validation = report["test"], report["validation"]
    progress.event("evaluation", report=report,
                   message=f"Char-LSTM evaluation: {test['bits_per_character']:.3f} bits per character on the "
                           f"test book (validation {validation['bits_per_character']:.3f}; xz "
                           f"{report['baseline']['xz_bits_per_character']:.2f}). `python -m aurore evaluate` "
                           "sets it beside GPT-2's.")
