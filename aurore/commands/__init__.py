"""CLI subcommands: one module each, with `register(subparsers)`."""

from __future__ import annotations

import argparse
from typing import Collection

from aurore import progress
from aurore.course import exercises as _exercises
from aurore.generation import sampling
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


def add_sampling_options(parser: argparse.ArgumentParser, only: Collection[str] | None = None) -> None:
    """One option per sampling setting (`--top-k`...), made from `sampling.FIELDS`.

    Why: every command names, bounds and explains a setting the same way; a
    new setting appears here with no change. `only`: the settings a command
    can use (`export`'s in-graph sampler has no stop strings).
    """
    for setting in sampling.FIELDS:
        if only is None or setting.name in only:
            parser.add_argument(setting.flag, dest=setting.name, help=setting.help, **_how_to_read(setting))


def _how_to_read(setting: sampling.Setting) -> dict:
    """argparse's reading of a setting of each kind, with its default."""
    if setting.kind == sampling.FLAG:
        return {"action": "store_true", "default": setting.default}
    if setting.kind == sampling.TEXTS:      # repeatable: a list that argparse appends to
        return {"action": "append", "metavar": "TEXT", "default": list(setting.default)}
    if setting.kind == sampling.CHOICE:
        return {"choices": setting.choices, "default": setting.default}
    return {"type": int if setting.kind == sampling.INTEGER else float, "default": setting.default}


class DeprecatedAlias(argparse.Action):
    """An old option name that still works, hidden from --help, telling the user the new one."""

    def __call__(self, parser, namespace, values, option_string=None):
        progress.log(f"{option_string} is deprecated: use --{self.dest.replace('_', '-')}.")
        setattr(namespace, self.dest, values)


def add_deprecated_alias(parser: argparse.ArgumentParser, old_flag: str, name: str) -> None:
    """`old_flag` (a setting that takes a value) still sets the setting `name`, so that no user's command breaks.

    Its default is left to the new option's.
    """
    setting = next(setting for setting in sampling.FIELDS if setting.name == name)
    reading = {key: value for key, value in _how_to_read(setting).items() if key in ("type", "choices")}
    parser.add_argument(old_flag, dest=name, default=argparse.SUPPRESS, action=DeprecatedAlias,
                        help=argparse.SUPPRESS, **reading)
