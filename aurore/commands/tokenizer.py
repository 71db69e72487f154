"""`python -m aurore tokenizer`: specialise the generic tokenizer on the books."""

from __future__ import annotations

import json

from aurore import paths, progress
from aurore.commands import add_variant_option
from aurore.corpus import tokenization
from aurore.course import exercises
from aurore.messages import N_, gettext, number


def register(subparsers) -> None:
    parser = subparsers.add_parser("tokenizer", help="specialise a byte-level BPE tokenizer on the training books")
    parser.add_argument("--data", default=None, help="dataset folder (default: the data folder's dataset/)")
    parser.add_argument("--out", default=None, help="where to save it (default: the data folder's tokenizer/)")
    parser.add_argument("--vocab-size", type=int, default=tokenization.DEFAULT_VOCAB_SIZE,
                        help=f"vocabulary size (default {tokenization.DEFAULT_VOCAB_SIZE})")
    add_variant_option(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    module = exercises.rules("tokenizer", args.use)
    report = tokenization.build(module, args.data or paths.dataset_dir(), args.out or paths.tokenizer_dir(),
                                args.vocab_size)
    for name, label in (("generic", N_("Generic tokenizer")), ("specialised", N_("Specialised tokenizer"))):
        stats = report[name]
        progress.log(gettext("%(name)s: %(per_word)s tokens per word, %(per_token)s characters per token "
                             "(test book)", name=gettext(label), per_word=number(stats["tokens_per_word"], 3),
                             per_token=number(stats["characters_per_token"], 3)))
    progress.event("result", step="tokenizer", report=report)
    if progress.mode() != "json":
        print(json.dumps({k: report[k] for k in ("generic", "specialised", "size", "saved_to")}, indent=1))
    return 0
