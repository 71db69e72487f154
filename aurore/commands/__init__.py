"""CLI subcommands: one module each, with `register(subparsers)`."""

from __future__ import annotations

import argparse

from aurore import exercises as _exercises


def add_variant_option(parser: argparse.ArgumentParser) -> None:
    """`--use solution|exercise`: which code runs the step (the solution by default)."""
    parser.add_argument("--use", choices=_exercises.VARIANTS, default="solution",
                        help="run the reference solution (default) or your exercise code")
