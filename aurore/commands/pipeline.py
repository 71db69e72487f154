"""`python -m aurore pipeline`: every step in a row, prepare → tokenizer → train → generate → evaluate.

Each step is the same command you would type yourself (its defaults, its
`--use`), run in-process through that command's own parser and `run()`; the
steps and the options each one is given come from exercises/info.toml (through
aurore/course/steps.py). A step whose output already exists is skipped unless
`--redo` names it, and training resumes from its checkpoint.
"""

from __future__ import annotations

import argparse
import importlib

from aurore import paths, progress
from aurore.commands import add_preset_option, add_variant_option
from aurore.course import steps
from aurore.errors import AuroreError
from aurore.messages import gettext
from aurore.training import presets


def register(subparsers) -> None:
    names = " → ".join(step.name for step in steps.pipeline())
    parser = subparsers.add_parser(
        "pipeline", help=f"run {names} ({presets.DEFAULT} preset)",
        description=f"Build the whole workshop in one command: {names}, each step the same command you would "
                    f"type yourself, with its defaults. From the books to a trained GPT-2 that writes "
                    f"and its evaluation (models/{presets.DEFAULT} by default; models/<preset>-mine with "
                    f"--use exercise). A step whose output exists is skipped (--redo runs it again); "
                    f"training resumes from its checkpoint.")
    add_preset_option(parser, "training preset", checked=False)
    parser.add_argument("--max-minutes", type=float, default=None, help="bound the training time")
    parser.add_argument("--source", default=None, help="passed to `prepare --source` (a folder of raw books)")
    parser.add_argument("--redo", action="append", default=[],
                        choices=[step.name for step in steps.pipeline() if step.output],
                        help="run this step even if its output exists (repeatable)")
    add_variant_option(parser)
    parser.set_defaults(handler=run)


def run_command(step: steps.Step, argv: list[str]) -> int:
    """`python -m aurore <step> ARGV`, in-process: that command's own parser (its defaults), then its `run()`."""
    command = importlib.import_module(step.command_module)
    parser = argparse.ArgumentParser(prog="python -m aurore")
    command.register(parser.add_subparsers())
    return command.run(parser.parse_args([step.name, *argv])) or 0


def step_argv(step: steps.Step, values: dict[str, object], use: str) -> list[str]:
    """The arguments the pipeline gives a step: `--use`, the options it takes that have a value, its flags."""
    argv = ["--use", use]
    for option in step.pipeline_options:
        if values[option] is not None:
            argv += [option, str(values[option])]
    return argv + list(step.pipeline_flags)


def run(args) -> int:
    values = {"--source": args.source, "--preset": args.preset, "--max-minutes": args.max_minutes,
              "--model": paths.model_dir(args.preset, args.use)}
    for step in steps.pipeline():
        if step.output and step.output().is_file() and step.name not in args.redo:
            progress.log(gettext("Step %(step)s: already done (use --redo %(step)s to run it again).",
                                 step=step.name))
            continue
        progress.log(gettext("Step %(step)s…", step=step.name))
        status = run_command(step, step_argv(step, values, args.use))
        if status:
            raise AuroreError(f"The `{step.name}` step failed (status {status}); the steps after it did not run.")
    return 0
