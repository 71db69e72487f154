"""The corpus's size, the tokenizer's gain and the two baselines the course quotes, on the real books.

    python bench/corpus_figures.py [--record]

Needs the prepared dataset (`python -m aurore prepare`). Specialises a
tokenizer as exercise 2 does (into a temporary folder: the data folder's
tokenizer is left alone) and prints the training split's characters, the
generic and specialised tokenizers' characters per token and tokens per word
on the test book, and the bits per character of a unigram model and of xz on
the test book (exercise 7's baselines, with the solution's code). With
`--record`, writes them into course/figures.json (`corpus.*`, `tokenizer.*`,
`baseline.*`), stamped with this machine and the date.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aurore  # noqa: E402,F401
from aurore import paths  # noqa: E402
from aurore.corpus import tokenization  # noqa: E402
from aurore.course import exercises, figures  # noqa: E402
from aurore.evaluation import scoring  # noqa: E402
from aurore.store import modeldir, saved_dataset  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    figures.add_record_option(parser)
    args = parser.parse_args()
    load_before = os.getloadavg()
    started = time.monotonic()
    splits = saved_dataset.load(paths.dataset_dir())
    with tempfile.TemporaryDirectory(prefix="aurore-figures-") as tmp:
        report = tokenization.build(exercises.rules("tokenizer"), paths.dataset_dir(), Path(tmp) / "tokenizer")
        tokenizer = modeldir.load_tokenizer(Path(tmp) / "tokenizer")
        found = scoring.baselines(tokenizer, splits["train"]["text"], splits["test"]["text"],
                                  exercises.rules("evaluate"))
    values = {"corpus.train_characters": sum(len(text) for text in splits["train"]["text"]),
              "tokenizer.characters_per_token": report["specialised"]["characters_per_token"],
              "tokenizer.tokens_per_word": report["specialised"]["tokens_per_word"],
              "tokenizer.generic_characters_per_token": report["generic"]["characters_per_token"],
              "baseline.unigram_bpc": found["unigram"]["bits_per_character"],
              "baseline.xz_bpc": found["xz"]["bits_per_character"]}
    load = f"{load_before[0]:.1f} → {os.getloadavg()[0]:.1f}"
    print(json.dumps({"figures": values, "seconds": round(time.monotonic() - started), "load_average": load},
                     indent=1))
    if args.record:
        written = figures.record(values, command="python bench/corpus_figures.py --record", load_average=load)
        print(f"recorded in {figures.FILE}: {', '.join(written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
