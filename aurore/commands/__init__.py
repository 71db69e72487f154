"""CLI subcommands: one module each, with `register(subparsers)`."""

from __future__ import annotations

import argparse

from aurore.course import exercises as _exercises
from aurore.training import presets as _presets


def add_variant_option(parser: argparse.ArgumentParser) -> None:
    """`--use solution|exercise`: which code runs the step (the solution by default)."""
    parser.add_argument("--use", choices=_exercises.VARIANTS, default="solution",
                        help="run the reference solution (default) or your exercise code")


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """`--model DIR` or `--preset NAME`: which trained model a command reads."""
    parser.add_argument("--model", default=None,
                        help="model directory (default: the data folder's models/<preset>, or "
                             "models/<preset>-mine, your own model, with --use exercise)")
    add_preset_option(parser, "which trained model, when --model is not given", checked=False)


def add_preset_option(parser: argparse.ArgumentParser, what: str, checked: bool = True) -> None:
    """`--preset NAME`, `presets.DEFAULT` unless named: one default for every command.

    `checked`: only the presets Aurore defines (a command that trains); else any
    name, as a model folder under models/ may be named anything.
    """
    parser.add_argument("--preset", default=_presets.DEFAULT,
                        choices=sorted(_presets.PRESETS) if checked else None,
                        help=f"{what} (default: {_presets.DEFAULT})")
