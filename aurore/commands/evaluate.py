"""`python -m aurore evaluate`: loss, perplexity and bits per character of a model, and two baselines."""

from __future__ import annotations

import json

from aurore import evaluation, exercises, paths, progress
from aurore.commands import add_model_options, add_variant_option


def register(subparsers) -> None:
    parser = subparsers.add_parser("evaluate", help="loss per token, perplexity and bits per character")
    add_model_options(parser)
    parser.add_argument("--data", default=None, help="dataset folder (default: the data folder's dataset/)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--no-baselines", dest="baselines", action="store_false",
                        help="skip the unigram and xz baselines (they read all the training books)")
    add_variant_option(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    model_dir = args.model or paths.model_dir(args.preset, args.use)
    with exercises.step("evaluate", args.use) as rules:
        report = evaluation.evaluate(model_dir, args.data or paths.dataset_dir(), batch_size=max(1, args.batch_size),
                                     rules=rules, with_baselines=args.baselines)
    evaluation.save_report(model_dir, report)
    if progress.mode() == "json":    # the run page's log: one readable line per figure
        for line in summary_lines(report):
            progress.log(line)
    progress.event("result", step="evaluate", report=report)
    if progress.mode() != "json":
        print(json.dumps(report, indent=1))
    return 0


def summary_lines(report: dict) -> list[str]:
    lines = [f"{split}: loss {report[split]['loss_per_token']:.3f} per token, perplexity "
             f"{report[split]['perplexity']:.1f}, {report[split]['bits_per_character']:.3f} bits per character"
             for split in ("test", "validation") if split in report]
    if "baselines" in report:
        lines.append("baselines on the test book: "
                     + ", ".join(f"{name} {figures['bits_per_character']:.3f}"
                                 for name, figures in report["baselines"].items())
                     + " bits per character")
    return lines
