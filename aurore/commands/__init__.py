"""CLI subcommands: one module each, with `register(subparsers)`."""

from __future__ import annotations

import argparse
from types import ModuleType
from typing import Callable

from aurore import progress as _progress
from aurore.course import exercises as _exercises
from aurore.errors import AuroreError as _AuroreError


def add_variant_option(parser: argparse.ArgumentParser) -> None:
    """`--use solution|exercise`: which code runs the step (the solution by default)."""
    parser.add_argument("--use", choices=_exercises.VARIANTS, default="solution",
                        help="run the reference solution (default) or your exercise code")


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """`--model DIR` or `--preset NAME`: which trained model a command reads."""
    parser.add_argument("--model", default=None,
                        help="model directory (default: the data folder's models/<preset>, or "
                             "models/<preset>-mine, your own model, with --use exercise)")
    parser.add_argument("--preset", default="cpu", help="which trained model, when --model is not given (cpu)")


def add_training_options(parser: argparse.ArgumentParser, preset_names, default: str, *, folder: str,
                         preset_note: str = "") -> None:
    """`--preset`, `--model DIR`, `--data DIR`: what a training command trains, and on which books.

    `folder` names the model's folder under models/ in the help (`<preset>` for GPT-2's).
    """
    parser.add_argument("--preset", choices=sorted(preset_names), default=default,
                        help=f"model size and training recipe (default: {default}{preset_note})")
    parser.add_argument("--model", default=None,
                        help=f"model directory (default: the data folder's models/{folder}, or "
                             f"models/{folder}-mine with --use exercise)")
    parser.add_argument("--data", default=None, help="dataset folder (default: the data folder's dataset/)")


def add_training_limits(parser: argparse.ArgumentParser, *, minutes_note: str, set_example: str) -> None:
    """`--max-steps`, `--max-minutes`, `--set KEY=VALUE`, `--restart`: how a training starts and how long it runs."""
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many steps in all")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help=f"stop after this many minutes ({minutes_note})")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help=f"override a preset setting, e.g. --set {set_example} (repeatable)")
    parser.add_argument("--restart", action="store_true", help="discard the checkpoint and start from scratch")


def evaluate_after_training(reports: ModuleType, model_dir, dataset_dir, who: str,
                            message: Callable[[dict], str]) -> None:
    """The `evaluation` event that ends a training (for the run page), its report saved beside the weights.

    `reports` measures and keeps them: `aurore.evaluation.scoring` for GPT-2,
    `aurore.bonus.char_lstm` for the char-LSTM (`read_report`, `evaluate`,
    `save_report`); a saved report of these weights with both splits is not
    measured again. A failure is only logged: the model is trained and saved
    all the same.
    """
    report = reports.read_report(model_dir)
    if report is None or "validation" not in report:
        try:
            report = reports.evaluate(model_dir, dataset_dir)
        except _AuroreError as error:
            _progress.log(f"{who} could not be evaluated: {error}")
            return
        reports.save_report(model_dir, report)
    _progress.event("evaluation", report=report, message=message(report))


def test_book_figures(report: dict) -> str:
    """The figures an evaluation message starts with: bits per character on the test book, the validation
    split and xz."""
    return (f"{report['test']['bits_per_character']:.3f} bits per character on the test book "
            f"(validation {report['validation']['bits_per_character']:.3f}; xz "
            f"{report['baseline']['xz_bits_per_character']:.2f})")
