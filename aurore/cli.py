"""The `python -m aurore` command line.

Each subcommand lives in its own module under `aurore/commands/`, which
defines `register(subparsers)`; this file only discovers and dispatches.
Errors the user can fix (`AuroreError`) are printed as one clear message with
exit status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import aurore
from aurore import commands
from aurore.errors import AuroreError

#: Commands that answer in a second or two (`check` through the running app's warm worker), with the
#: module that registers them: only that one is imported (the others import NLTK or TensorFlow, seconds).
ALONE = {"check": "exercises", "exercises": "exercises"}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """Every command's parser; only the one `argv` names when that command is in ALONE."""
    parser = argparse.ArgumentParser(
        prog="python -m aurore",
        description="Aurore: the neural network that wrote novels (workshop tools).",
    )
    parser.add_argument("--version", action="version", version=f"aurore {aurore.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    names = sorted(info.name for info in pkgutil.iter_modules(commands.__path__))
    if argv and argv[0] in ALONE:
        names = [ALONE[argv[0]]]
    for name in names:
        importlib.import_module(f"aurore.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        argv = sys.argv[1:] if argv is None else argv
        args = build_parser(argv).parse_args(argv)   # reads exercises/info.toml: a mistake there is a message too
        return args.handler(args) or 0
    except AuroreError as error:
        print(f"aurore: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aurore: interrupted.", file=sys.stderr)
        return 130
