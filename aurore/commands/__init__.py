"""CLI subcommands: one module each, with `register(subparsers)`."""

from __future__ import annotations

import argparse
from types import ModuleType
from typing import Callable, Collection

from aurore import progress
from aurore.course import exercises as _exercises
from aurore.errors import AuroreError
from aurore.messages import gettext, number
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


def add_preset_option(parser: argparse.ArgumentParser, what: str, checked: bool = True, *,
                      names=None, default: str | None = None, note: str = "") -> None:
    """`--preset NAME`, `presets.DEFAULT` unless named: one default for every command.

    `checked`: only the preset `names` (GPT-2's presets unless given) are
    accepted (a command that trains); else any name, as a model folder under
    models/ may be named anything. The char-LSTM gives its own `names` and `default`.
    """
    default = default or _presets.DEFAULT
    parser.add_argument("--preset", default=default,
                        choices=sorted(names or _presets.PRESETS) if checked else None,
                        help=f"{what} (default: {default}{note})")


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


def add_training_options(parser: argparse.ArgumentParser, preset_names, default: str, *, folder: str,
                         preset_note: str = "") -> None:
    """`--preset`, `--model DIR`, `--data DIR`: what a training command trains, and on which books.

    `folder` names the model's folder under models/ in the help (`<preset>` for GPT-2's).
    """
    add_preset_option(parser, "model size and training recipe", names=preset_names, default=default,
                      note=preset_note)
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
                            message: Callable[[dict], str], rules) -> None:
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
            report = reports.evaluate(model_dir, dataset_dir, rules=rules)
        except AuroreError as error:
            progress.log(gettext("%(who)s could not be evaluated: %(error)s", who=gettext(who), error=error))
            return
        reports.save_report(model_dir, report)
    progress.event("evaluation", report=report, message=message(report))


def test_book_figures(report: dict) -> str:
    """The figures an evaluation message starts with: bits per character on the test book, the validation
    split and xz."""
    return gettext("%(test)s bits per character on the test book (validation %(validation)s; xz %(xz)s)",
                   test=number(report["test"]["bits_per_character"], 3),
                   validation=number(report["validation"]["bits_per_character"], 3),
                   xz=number(report["baseline"]["xz_bits_per_character"], 2))
