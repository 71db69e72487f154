"""`python -m aurore evaluate`: loss, perplexity and bits per character of a model, and two baselines.

The report's `comparison` sets the test book's bits per character of GPT-2,
of the character-level LSTM (bonus exercise 8, when it is trained) and of xz
side by side; outside the run page it is also printed as a table (on stderr,
so that stdout stays the JSON report).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aurore import paths, progress
from aurore.bonus import char_lstm
from aurore.commands import add_model_options, add_variant_option
from aurore.commands.char_lstm import model_dir as char_lstm_dir
from aurore.corpus import catalogue
from aurore.course import exercises
from aurore.errors import AuroreError
from aurore.evaluation import scoring
from aurore.messages import N_, gettext, number


def register(subparsers) -> None:
    parser = subparsers.add_parser("evaluate", help="loss per token, perplexity and bits per character")
    add_model_options(parser)
    parser.add_argument("--data", default=None, help="dataset folder (default: the data folder's dataset/)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--no-baselines", dest="baselines", action="store_false",
                        help="skip the unigram and xz baselines (they read all the training books)")
    parser.add_argument("--char-lstm", default=None, metavar="DIR",
                        help="the character-level LSTM to compare with (default: the data folder's "
                             "models/char-lstm, or models/char-lstm-mine with --use exercise)")
    add_variant_option(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    model_dir = args.model or paths.model_dir(args.preset, args.use)
    rules = exercises.rules("evaluate", args.use)
    report = scoring.evaluate(model_dir, args.data or paths.dataset_dir(), batch_size=max(1, args.batch_size),
                              rules=rules, reference=exercises.rules("evaluate"), with_baselines=args.baselines)
    scoring.save_report(model_dir, report)
    report["comparison"] = comparison(report, model_dir, args.char_lstm or char_lstm_dir(args.use),
                                      args.data or paths.dataset_dir(), rules, args.use)
    if progress.mode() == "json":    # the run page's log: one readable line per figure
        for line in summary_lines(report):
            progress.log(line)
    else:
        print(format_table(report["comparison"]), file=sys.stderr)
    progress.event("result", step="evaluate", report=report)
    if progress.mode() != "json":
        print(json.dumps(report, indent=1))
    return 0


def summary_lines(report: dict) -> list[str]:
    """The run page's lines, in the run's language (aurore.messages)."""
    splits = {"test": N_("test"), "validation": N_("validation")}
    lines = [gettext("%(split)s: loss %(loss)s per token, perplexity %(perplexity)s, %(bits)s bits per character",
                     split=gettext(splits[split]), loss=number(report[split]["loss_per_token"], 3),
                     perplexity=number(report[split]["perplexity"], 1),
                     bits=number(report[split]["bits_per_character"], 3))
             for split in splits if split in report]
    if "baselines" in report:
        lines.append(gettext("baselines on the test book: %(figures)s bits per character", figures=", ".join(
            f"{name} {number(figures['bits_per_character'], 3)}" for name, figures in report["baselines"].items())))
    if "comparison" in report:
        lines.append(gettext("test book, bits per character: %(figures)s", figures=", ".join(
            f"{row['model']} {number(row['bits_per_character'], 3)}" if row["bits_per_character"] is not None
            else f"{row['model']} ({row['note']})" for row in report["comparison"])))
    return lines


def comparison(report: dict, model_dir, lstm_dir, dataset_dir, rules, variant: str = "solution") -> list[dict]:
    """One row per system on the test book: GPT-2, the char-LSTM (or why it is missing), xz, the unigram model."""
    rows = [{"model": f"GPT-2 ({Path(model_dir).name})", "bits_per_character": report["test"]["bits_per_character"],
             "note": f"step {report.get('step')}"}]
    name = f"char-LSTM ({Path(lstm_dir).name})"
    if not char_lstm.is_model_dir(lstm_dir):
        rows.append({"model": name, "bits_per_character": None,
                     "note": "not trained: python -m aurore char-lstm" + (" --use exercise" if variant == "exercise"
                                                                          else "")})
    else:
        try:
            lstm = char_lstm.test_report(lstm_dir, dataset_dir, rules)
            rows.append({"model": name, "bits_per_character": lstm["test"]["bits_per_character"],
                         "note": f"step {lstm.get('step')}"})
        except AuroreError as error:
            rows.append({"model": name, "bits_per_character": None, "note": str(error)})
    rows.append({"model": "xz", "bits_per_character": report["baseline"]["xz_bits_per_character"],
                 "note": "knowing the training books"})
    if "baselines" in report:
        rows.append({"model": "unigram", "bits_per_character": report["baselines"]["unigram"]["bits_per_character"],
                     "note": "token frequencies only"})
    return rows


def format_table(rows: list[dict]) -> str:
    """The comparison as a plain-text table (fixed-width columns)."""
    header = (f"test book ({catalogue.test_title()})", "bits/char", "")
    cells = [header] + [(row["model"], "—" if row["bits_per_character"] is None
                         else f"{row['bits_per_character']:.3f}", row["note"]) for row in rows]
    widths = [max(len(cell[i]) for cell in cells) for i in range(2)]
    lines = [f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c}".rstrip() for a, b, c in cells]
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines)
