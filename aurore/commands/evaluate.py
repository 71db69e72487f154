"""`python -m aurore evaluate`: loss, perplexity and bits per character of a model."""

from __future__ import annotations

import json

from aurore import evaluation, paths, progress


def register(subparsers) -> None:
    parser = subparsers.add_parser("evaluate", help="loss per token, perplexity and bits per character")
    parser.add_argument("--model", default=None,
                        help="model directory (default: the data folder's models/cpu; your own: models/cpu-mine)")
    parser.add_argument("--data", default=None, help="dataset folder (default: the data folder's dataset/)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.set_defaults(handler=run)


def run(args) -> int:
    model_dir = args.model or paths.default_model_dir()
    report = evaluation.evaluate(model_dir, args.data or paths.dataset_dir(), batch_size=max(1, args.batch_size))
    evaluation.save_report(model_dir, report)
    progress.event("result", step="evaluate", report=report)
    print(json.dumps(report, indent=1))
    return 0
