"""`python -m aurore lora`: fine-tune a trained model on one book, with LoRA, in full or both, side by side (bonus exercise 10)."""

from __future__ import annotations

import json

from aurore import paths, progress
from aurore.bonus import lora
from aurore.commands import add_preset_option, add_variant_option
from aurore.corpus import catalogue, download
from aurore.course import exercises
from aurore.errors import AuroreError
from aurore.messages import gettext


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "lora", help="fine-tune a trained model on one book (LoRA, every weight, or both) and compare them",
        description="Fine-tune a trained GPT-2 on one single book with KerasHub's LoRA, with every weight "
                    "trainable, or both on the same data and budget; save each as models/<base>-lora-<book> "
                    "(<base>-full-<book>), and print one table from the saved runs: trainable weights, seconds "
                    "per step, bits per character on the book's held-out end, and on the corpus's test book "
                    "before and after (what the model forgot), with a sample from each model. A method whose "
                    "saved run is up to date is reused (--restart runs it again).")
    parser.add_argument("--book", default=str(lora.DEFAULT_BOOK),
                        help=f"Gutenberg ebook id (default {lora.DEFAULT_BOOK}, Molière's L'Avare)")
    parser.add_argument("--rank", type=int, default=None, help=f"LoRA rank (default {lora.DEFAULT_RANK})")
    parser.add_argument("--method", choices=lora.CHOICES, default=None,
                        help="lora, full (every weight trainable) or both, one after the other (default lora)")
    parser.add_argument("--full", action="store_true", help="the same as --method full")
    parser.add_argument("--restart", action="store_true",
                        help="run each method again, even when its saved run is up to date")
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


def test_book() -> dict:
    """The corpus's test book (the prepared dataset's test split), measured before and after fine-tuning."""
    from aurore.store import saved_dataset

    data = saved_dataset.load(paths.dataset_dir())
    if "test" not in data or not len(data["test"]):
        raise AuroreError("The dataset has no test book to measure forgetting on. Prepare it again with "
                          "`python -m aurore prepare`.")
    return {"id": catalogue.test_id(), "title": catalogue.test_title(), "texts": list(data["test"]["text"])}


def run(args) -> int:
    if args.full and args.method not in (None, "full"):
        raise AuroreError(f"--full is --method full: it cannot go with --method {args.method}.")
    choice = "full" if args.full else (args.method or "lora")
    if choice == "full" and args.rank is not None:
        raise AuroreError("--full trains every weight and --rank sets LoRA's rank: give one or the other.")
    rank = lora.check_rank(args.rank if args.rank is not None else lora.DEFAULT_RANK)
    if args.batch_size is not None and args.batch_size < 1:
        raise AuroreError(f"--batch-size must be at least 1, not {args.batch_size}.")
    if args.learning_rate is not None and not 0 < args.learning_rate < 1:
        raise AuroreError(f"--learning-rate must be between 0 and 1 (e.g. 1e-3), not {args.learning_rate:g}.")
    book_id = download.check_book_id(args.book)
    lora.methods_of(choice)
    if args.out and choice == "both":
        raise AuroreError("--out names one folder: give it with --method lora or --method full, not both.")
    base = lora.check_base(args.base or paths.model_dir(args.preset, args.use))
    module = exercises.rules("lora", args.use)
    book = lora.read_book(book_id, module, args.held_out, source=args.source,
                          mirror=download.check_mirror(args.mirror) if args.mirror else None,
                          cleaning=exercises.rules("clean"), prepare=exercises.rules("prepare"))
    tested = test_book()
    asked = lora.asked_for(base, book_id, tested["id"], max_steps=args.max_steps, max_minutes=args.max_minutes,
                           held_out_share=args.held_out, batch_size=args.batch_size)
    reports = lora.compare(choice, module, base, book, asked=asked, rank=rank, restart=args.restart, out=args.out,
                           learning_rate=args.learning_rate, max_steps=args.max_steps,
                           max_minutes=args.max_minutes, batch_size=args.batch_size,
                           train_rules=exercises.rules("train"), figures=exercises.rules("evaluate"),
                           test_book=tested, sampler=exercises.rules("generate"))
    # The table comes from the saved runs: this one's, and the other method's when it compares (same budget).
    shown = reports if args.out else (lora.comparable(base, asked) or reports)
    for line in lora.learner_table(shown).splitlines():
        progress.log(line)
    for report in reports:
        progress.log(gettext("Saved in %(path)s: generate with `python -m aurore generate --model %(path)s`.",
                             path=report["model"]))
    progress.event("result", step="lora", comparison=lora.comparison_data(shown))
    if progress.mode() != "json":
        print(json.dumps(reports, indent=1, ensure_ascii=False))
    return 0
