"""`python -m aurore lora`: fine-tune a trained model on one book, with LoRA or in full (bonus exercise 10)."""

from __future__ import annotations

import json

from aurore import paths, progress
from aurore.bonus import lora
from aurore.commands import add_preset_option, add_variant_option
from aurore.corpus import download
from aurore.course import exercises
from aurore.errors import AuroreError
from aurore.messages import gettext


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "lora", help="fine-tune a trained model on one book (LoRA, or --full) and compare on its last pages",
        description="Fine-tune a trained GPT-2 on one single book with KerasHub's LoRA (or every weight with "
                    "--full), save it as models/<base>-lora-<book>, and compare the bits per character of the "
                    "base and fine-tuned models on the book's held-out end.")
    parser.add_argument("--book", default=str(lora.DEFAULT_BOOK),
                        help=f"Gutenberg ebook id (default {lora.DEFAULT_BOOK}, Molière's L'Avare)")
    parser.add_argument("--rank", type=int, default=None, help=f"LoRA rank (default {lora.DEFAULT_RANK})")
    parser.add_argument("--full", action="store_true", help="full fine-tuning (every weight) instead of LoRA")
    add_preset_option(parser, "which trained model to start from, when --base is not given", checked=False)
    parser.add_argument("--base", default=None,
                        help="the trained model folder to fine-tune (default: the data folder's models/<preset>, "
                             "or models/<preset>-mine with --use exercise)")
    parser.add_argument("--out", default=None, help="where to save it (default: beside the base, "
                                                     "<base>-lora-<book> or <base>-full-<book>)")
    parser.add_argument("--max-minutes", type=float, default=5, help="stop after this many minutes (5)")
    parser.add_argument("--max-steps", type=int, default=lora.DEFAULT_STEPS,
                        help=f"stop after this many steps ({lora.DEFAULT_STEPS})")
    parser.add_argument("--held-out", type=float, default=lora.HELD_OUT_SHARE,
                        help=f"share of the book, at its end, kept to measure ({lora.HELD_OUT_SHARE})")
    parser.add_argument("--batch-size", type=int, default=None, help="blocks per step (default: the base's)")
    parser.add_argument("--learning-rate", type=float, default=None,
                        help=f"default {lora.LEARNING_RATES['lora']:g} for LoRA, {lora.LEARNING_RATES['full']:g} "
                             "for full fine-tuning")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--source", metavar="DIR", help="read <id>.txt from this folder (env AURORE_SOURCE)")
    where.add_argument("--mirror", metavar="URL", help="download the book from this mirror (env AURORE_MIRROR)")
    add_variant_option(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    if args.full and args.rank is not None:
        raise AuroreError("--full trains every weight and --rank sets LoRA's rank: give one or the other.")
    rank = None if args.full else lora.check_rank(args.rank if args.rank is not None else lora.DEFAULT_RANK)
    if args.batch_size is not None and args.batch_size < 1:
        raise AuroreError(f"--batch-size must be at least 1, not {args.batch_size}.")
    if args.learning_rate is not None and not 0 < args.learning_rate < 1:
        raise AuroreError(f"--learning-rate must be between 0 and 1 (e.g. 1e-3), not {args.learning_rate:g}.")
    book_id = download.check_book_id(args.book)
    base = lora.check_base(args.base or paths.model_dir(args.preset, args.use))
    module = exercises.rules("lora", args.use)
    book = lora.read_book(book_id, module, args.held_out, source=args.source,
                          mirror=download.check_mirror(args.mirror) if args.mirror else None,
                          cleaning=exercises.rules("clean"), prepare=exercises.rules("prepare"))
    out = args.out or lora.output_dir(base, book_id, full=args.full)
    report = lora.fine_tune(module, base, book, out, rank=rank, max_steps=args.max_steps,
                            max_minutes=args.max_minutes, batch_size=args.batch_size,
                            learning_rate=args.learning_rate, train_rules=exercises.rules("train"),
                            figures=exercises.rules("evaluate"))
    for line in lora.table([report]).splitlines():
        progress.log(line)
    progress.log(gettext("Saved in %(path)s: generate with `python -m aurore generate --model %(path)s`.",
                         path=report["model"]))
    progress.event("result", step="lora", report=report)
    if progress.mode() != "json":
        print(json.dumps(report, indent=1, ensure_ascii=False))
    return 0
