"""The char-LSTM baseline after N minutes of `cpu`-preset training on the real books (bonus exercise 8).

    python bench/char_lstm.py [--minutes 15] [--model DIR] [--set KEY=VALUE …]

Needs the dataset (`python -m aurore prepare`). Trains from scratch (the
model directory is restarted) for the same time budget as bench/quality.py's
GPT-2, then prints the test-book and validation bits per character (the
figures `python -m aurore evaluate` sets beside GPT-2's and xz's), the
training speed (steps/s, characters/s), the CPU's SIMD level and oneDNN cap,
and the load average seen during the run (the CPU may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aurore  # noqa: E402,F401
from aurore import machine, paths  # noqa: E402
from aurore.bonus import char_lstm  # noqa: E402
from aurore.course import exercises, figures  # noqa: E402
from quality import training_speed  # noqa: E402  (bench/ is this script's folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=15)
    parser.add_argument("--model", default=str(paths.models_dir() / "bench-char-lstm"))
    parser.add_argument("--preset", default="cpu", choices=sorted(char_lstm.PRESETS))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    figures.add_record_option(parser)
    args = parser.parse_args()

    settings = char_lstm.preset(args.preset, args.set)
    load_before = os.getloadavg()
    started = time.monotonic()
    summary = char_lstm.train(exercises.rules("char-lstm"), paths.dataset_dir(), args.model, settings,
                              restart=True, max_minutes=args.minutes)
    wall = time.monotonic() - started
    load_after = os.getloadavg()
    report = char_lstm.evaluate(args.model, paths.dataset_dir(), rules=exercises.rules("evaluate"))
    char_lstm.save_report(args.model, report)
    speed = training_speed(Path(args.model), settings)
    speed["characters_per_second"] = speed.pop("tokens_per_second")
    facts = machine.describe()
    print(json.dumps({"minutes": args.minutes, "wall_seconds": round(wall), "training": summary,
                      "settings": settings, "evaluation": report, "speed": speed, "machine": facts,
                      "load_average_before": load_before, "load_average_after": load_after},
                     indent=1, ensure_ascii=False))
    print(f"char-LSTM test-book bits per character: {report['test']['bits_per_character']:.3f} "
          f"(validation {report['validation']['bits_per_character']:.3f}; xz "
          f"{report['baseline']['xz_bits_per_character']:.3f}) after {wall / 60:.1f} min, step {summary['step']} "
          f"(best at {summary['best_step']}), {speed['steps_per_second']:.2f} steps/s "
          f"({speed['characters_per_second']:,.0f} characters/s); {machine.summary(facts)}; "
          f"load average {load_before[0]:.1f} → {load_after[0]:.1f}")
    if args.record and args.preset == "cpu" and not args.set:
        prefix = f"char_lstm.{args.minutes:g}min"
        written = figures.record({f"{prefix}.bpc": report["test"]["bits_per_character"], f"{prefix}.steps": summary["step"]},
                                 command=f"python bench/char_lstm.py --minutes {args.minutes:g} --record",
                                 load_average=f"{load_before[0]:.1f} → {load_after[0]:.1f}",
                                 decimals={f"{prefix}.steps": 0})
        print(f"recorded in {figures.FILE}: {', '.join(written)}")


if __name__ == "__main__":
    main()
