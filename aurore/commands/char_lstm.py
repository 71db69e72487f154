"""`python -m aurore char-lstm`: train the character-level LSTM baseline (bonus A, exercise 8), then measure it;
`python -m aurore char-lstm generate`: make it write, with the generation exercise's sampler."""

from __future__ import annotations

import json
import sys

from aurore import paths, progress
from aurore.bonus import char_lstm, char_lstm_writing
from aurore.commands import (add_sampling_options, add_training_limits, add_training_options, add_variant_option,
                             evaluate_after_training, test_book_figures)
from aurore.course import exercises
from aurore.errors import AuroreError
from aurore.generation import sampling
from aurore.messages import N_, gettext

EXERCISE_STEP = "char-lstm"
#: The step whose rules choose each character (the generation exercise's `choose_next_token`).
GENERATE_STEP = "generate"


def register(subparsers) -> None:
    parser = subparsers.add_parser("char-lstm", help="train the character-level LSTM baseline (bonus exercise 8)")
    add_training_options(parser, char_lstm.PRESETS, "cpu", folder=char_lstm.MODEL_NAME, preset_note="; tiny for a test")
    add_training_limits(parser, minutes_note="this run; the cpu preset's default is 15", set_example="units=256")
    parser.add_argument("--no-evaluate", dest="evaluate", action="store_false",
                        help="skip the bits per character on the test book and the validation split at the end")
    add_variant_option(parser)
    parser.set_defaults(handler=run)
    actions = parser.add_subparsers(dest="action", metavar="{generate}",
                                    help="without one: train; generate: make the trained char-LSTM write")
    writer = actions.add_parser("generate", help="write text with the trained char-LSTM, one character at a time")
    writer.add_argument("--model", default=None,
                        help=f"model directory (default: the data folder's models/{char_lstm.MODEL_NAME}, or "
                             f"models/{char_lstm.MODEL_NAME}-mine with --use exercise)")
    writer.add_argument("--prompt", default="",
                        help="the beginning of the text (its end only, if longer than the model's window)")
    add_sampling_options(writer)
    writer.add_argument("--use", choices=exercises.VARIANTS, default="solution",
                        help="the reference solution's sampler and char-LSTM (default), or your generation "
                             "exercise's sampler and your own char-LSTM")
    writer.set_defaults(handler=generate)


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


def generate(args) -> int:
    """Write after the prompt; a character is the char-LSTM's token (--max-new-tokens counts characters)."""
    params = sampling.checked({name: getattr(args, name) for name in sampling.setting_names()})
    folder = args.model or model_dir(args.use)
    rules = exercises.rules(GENERATE_STEP, args.use)
    result = char_lstm_writing.Writer.load(folder).write(args.prompt, params, rules)
    if progress.mode() == "json":
        progress.event("prompt", text=args.prompt)
        progress.event("piece", text=result.text)
        progress.event("result", step=EXERCISE_STEP, report=vars(result))
        return 0
    sys.stdout.write(args.prompt + result.text + "\n")
    cut = ("" if result.prompt_used == args.prompt
           else f", it read the prompt's last {len(result.prompt_used)} characters")
    print(f"[{result.new_characters} characters, {result.finish_reason}, seed {result.seed}, "
          f"{result.seconds:.2f} s{cut}]", file=sys.stderr)
    return 0
