"""`python -m aurore pipeline`: every step in a row, prepare → tokenizer → train → generate → evaluate.

Each step is the same command you would type yourself (its defaults, its
`--use`), called in-process; a step whose output already exists is skipped
unless `--redo` names it, and training resumes from its checkpoint.
"""

from __future__ import annotations

from aurore import paths, progress
from aurore.commands import add_variant_option
from aurore.errors import AuroreError

STEPS = ("prepare", "tokenizer", "train", "generate", "evaluate")


def register(subparsers) -> None:
    parser = subparsers.add_parser("pipeline",
                                   help="run prepare → tokenizer → train → generate → evaluate (cpu preset)")
    parser.add_argument("--preset", default="cpu", help="training preset (default: cpu)")
    parser.add_argument("--max-minutes", type=float, default=None, help="bound the training time")
    parser.add_argument("--source", default=None, help="passed to `prepare --source` (a folder of raw books)")
    parser.add_argument("--redo", action="append", default=[], choices=("prepare", "tokenizer"),
                        help="run this step even if its output exists (repeatable)")
    add_variant_option(parser)
    parser.set_defaults(handler=run)


def _subparser(parser, name: str):
    for action in parser._subparsers._group_actions:
        if name in getattr(action, "choices", {}):
            return action.choices[name]
    return None


def _argv(sub, name: str, wanted: dict) -> list[str]:
    """The command line for one step, keeping only the options that step has (True: a bare flag)."""
    argv = [name]
    for option, value in wanted.items():
        if value is None or option not in sub._option_string_actions:
            continue
        argv += [option] if value is True else [option, str(value)]
    return argv


def run(args) -> int:
    from aurore.cli import build_parser

    parser = build_parser()
    model_dir = paths.model_dir(args.preset, args.use)
    plan = {
        "prepare": {"--use": args.use, "--source": args.source},
        "tokenizer": {"--use": args.use},
        # The evaluate step below measures the model (with exercise 5's code): train need not.
        "train": {"--use": args.use, "--preset": args.preset, "--max-minutes": args.max_minutes,
                  "--no-evaluate": True},
        "generate": {"--use": args.use, "--model": model_dir},
        "evaluate": {"--use": args.use, "--model": model_dir},
    }
    done = {"prepare": (paths.dataset_dir() / "dataset_dict.json").is_file(),
            "tokenizer": (paths.tokenizer_dir() / "tokenizer.json").is_file()}
    for step in STEPS:
        sub = _subparser(parser, step)
        if sub is None:
            if step == "generate":
                progress.log("Skipping generation: this version has no `generate` command yet.")
                continue
            raise AuroreError(f"The `{step}` command is missing from this version of Aurore.")
        if done.get(step) and step not in args.redo:
            progress.log(f"Step {step}: already done (use --redo {step} to run it again).")
            continue
        progress.log(f"Step {step}…")
        step_args = parser.parse_args(_argv(sub, step, plan[step]))
        status = step_args.handler(step_args) or 0
        if status:
            raise AuroreError(f"The `{step}` step failed (status {status}); the steps after it did not run.")
    return 0
