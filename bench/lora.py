"""LoRA against full fine-tuning on one book, against the base model (bonus exercise 10).

    python bench/lora.py [--minutes 5] [--book 6318] [--rank 8] [--base DIR] [--source DIR]

Needs a trained base model (`python -m aurore train`, by default the data
folder's models/cpu). Fine-tunes it on the book twice, each for `--minutes`
(or `--max-steps`): with LoRA of the given rank, then every weight; both
fine-tuned models are saved beside the base (`<base>-lora-<book>`,
`<base>-full-<book>`). Prints one table: trainable parameters, steps, time and
bits per character on the book's held-out last tenth for the base model and
both fine-tunings; the steps per second; the CPU's SIMD level and oneDNN cap
(`ONEDNN_MAX_CPU_ISA=AVX2` makes an AVX-512 machine behave like an AVX2
laptop); the load average seen during the run (the CPU may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aurore  # noqa: E402,F401
from aurore import machine, paths  # noqa: E402
from aurore.bonus import lora  # noqa: E402
from aurore.course import exercises, figures  # noqa: E402
from aurore.errors import AuroreError  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=5, help="minutes of fine-tuning per method (5)")
    parser.add_argument("--max-steps", type=int, default=100_000, help="steps per method, if reached first")
    parser.add_argument("--book", default=str(lora.DEFAULT_BOOK))
    parser.add_argument("--rank", type=int, default=lora.DEFAULT_RANK)
    parser.add_argument("--base", default=str(paths.model_dir("cpu")))
    parser.add_argument("--source", default=os.environ.get("AURORE_SOURCE"),
                        help="folder of <id>.txt books (env AURORE_SOURCE; default: the cache or a download)")
    parser.add_argument("--count-only", action="store_true",
                        help="only the share of the cpu preset's weights LoRA of --rank trains (no base, no book)")
    figures.add_record_option(parser)
    args = parser.parse_args()
    if args.count_only:
        return count_only(args)

    try:
        base = lora.check_base(args.base)
        module = exercises.rules("lora")
        book = lora.read_book(args.book, module, source=args.source, cleaning=exercises.rules("clean"), prepare=exercises.rules("prepare"))
        load_before = os.getloadavg()
        reports = [lora.fine_tune(module, base, book, lora.output_dir(base, book.book_id, full=rank is None),
                                  rank=rank, max_steps=args.max_steps, max_minutes=args.minutes,
                                  train_rules=exercises.rules("train"), figures=exercises.rules("evaluate"))
                   for rank in (lora.check_rank(args.rank), None)]
        load_after = os.getloadavg()
    except AuroreError as error:
        print(f"bench/lora.py: {error}", file=sys.stderr)
        return 2
    facts = machine.describe()
    print(json.dumps({"minutes": args.minutes, "reports": reports, "machine": facts,
                      "load_average_before": load_before, "load_average_after": load_after},
                     indent=1, ensure_ascii=False))
    print()
    print(lora.table(reports))
    print()
    for report in reports:
        print(f"{report['method']}: {report['steps'] / max(report['seconds'], 1e-6):.2f} steps/s, "
              f"{report['batch_size']} × {report['sequence_length']} tokens a step, learning rate "
              f"{report['learning_rate']:g}; saved weights {report['saved_bytes']['model'] / 1e6:.1f} MB"
              + (f", adapter alone {report['saved_bytes']['adapter'] / 1e3:.0f} kB"
                 if report["saved_bytes"]["adapter"] else ""))
    print(f"{machine.summary(facts)}; {args.minutes:g} min per method; "
          f"load average {load_before[0]:.1f} → {load_after[0]:.1f}")
    if args.record:
        lora_run, full_run = reports
        written = figures.record({"lora.base_bpc": lora_run["bits_per_character"]["base"],
                                  "lora.lora_bpc": lora_run["bits_per_character"]["tuned"],
                                  "lora.full_bpc": full_run["bits_per_character"]["tuned"],
                                  "lora.trainable_percent": 100 * lora_run["trainable_share"]},
                                 command=f"python bench/lora.py --minutes {args.minutes:g} --rank {args.rank} --record",
                                 load_average=f"{load_before[0]:.1f} → {load_after[0]:.1f}")
        print(f"recorded in {figures.FILE}: {', '.join(written)}")
    return 0


def count_only(args) -> int:
    """The share a fresh `cpu`-preset model (8,000 tokens) trains under LoRA: a count, the same on any machine."""
    from aurore.training import presets

    module = exercises.rules("lora")
    model = exercises.rules("train").build_model(presets.PRESETS["cpu"], 8000)
    module.choose_trainable(model.backbone, lora.check_rank(args.rank))
    counts = module.count_parameters(model)
    percent = 100 * counts["trainable"] / (counts["trainable"] + counts["frozen"])
    print(f"LoRA rank {args.rank} on the cpu preset: {counts['trainable']:,} trainable of "
          f"{counts['trainable'] + counts['frozen']:,} weights ({percent:.2f} %)")
    if args.record:
        written = figures.record({"lora.trainable_percent": round(percent, 2)},
                                 command=f"python bench/lora.py --count-only --rank {args.rank} --record")
        print(f"recorded in {figures.FILE}: {', '.join(written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
