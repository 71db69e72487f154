"""CLI subcommands: one module each, with `register(subparsers)`."""

from __future__ import annotations

import argparse

from aurore.course import exercises as _exercises


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
