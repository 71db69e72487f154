"""Quality after N minutes of `cpu`-preset training on the real books.

    python bench/quality.py [--minutes 15] [--model DIR] [--fixed-shape]

Needs the dataset and tokenizer (`python -m aurore prepare`, `python -m aurore
tokenizer`). Trains from scratch (the model directory is restarted) as
`python -m aurore train` does: the cpu preset's shape is chosen for this
machine and time (`aurore.training.adaptive`; the choice is in the report's
`recipe`), unless `--fixed-shape`. Then
prints the test-book and validation bits per character (`aurore evaluate`'s
figures), the training speed (steps/s), the CPU's SIMD level and oneDNN cap
(`ONEDNN_MAX_CPU_ISA=AVX2` makes an AVX-512 machine behave like an AVX2
laptop), the load average seen during the run (the CPU may be shared), and
three samples from fixed prompts and seeds (exercise 6's generation).
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
from aurore.course import exercises, figures  # noqa: E402
from aurore.evaluation import scoring  # noqa: E402
from aurore.commands.train import adapted, sample_writer  # noqa: E402
from aurore.training import loop, presets, resumable  # noqa: E402

PROMPTS = (("", 1), ("La nuit était", 2), ("Madame, dit-il,", 3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=15)
    parser.add_argument("--model", default=str(paths.models_dir() / "quality"))
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--fixed-shape", dest="adapt", action="store_false",
                        help="keep the cpu preset's shape (default: chosen for this machine and time, as `train` does)")
    figures.add_record_option(parser)
    args = parser.parse_args()

    settings = presets.settings_from_args(args.preset, args.set)
    load_before = os.getloadavg()
    started = time.monotonic()
    train_options = argparse.Namespace(preset=args.preset, set=args.set, max_minutes=args.minutes, init=None,
                                       restart=True, strategy=None, adapt=args.adapt)
    settings, minutes = adapted(train_options, settings, args.model, paths.tokenizer_dir())
    summary = loop.train(exercises.rules("train"), paths.dataset_dir(), paths.tokenizer_dir(),
                         args.model, settings, restart=True, max_minutes=minutes,
                         sampler=sample_writer)
    wall = time.monotonic() - started
    load_after = os.getloadavg()
    report = scoring.evaluate(args.model, paths.dataset_dir(), rules=exercises.rules("evaluate"))
    speed = training_speed(Path(args.model), settings)
    facts = machine.describe()
    samples = []
    try:
        from aurore.generation.generator import Generator, SamplingParams

        generator = Generator.load(args.model, exercises.rules("generate"))
        for prompt, seed in PROMPTS:
            result = generator.generate(prompt, SamplingParams(max_new_tokens=60, strategy="top_p", temperature=0.8,
                                                               top_p=0.95, seed=seed))
            samples.append({"prompt": prompt, "seed": seed, "text": prompt + result.text})
    except ImportError:
        samples.append({"note": "aurore.generation.generator is not available"})
    recipe_file = Path(args.model) / "recipe.json"
    recipe = json.loads(recipe_file.read_text()) if recipe_file.is_file() else None
    print(json.dumps({"minutes": args.minutes, "wall_seconds": round(wall), "training": summary, "recipe": recipe,
                      "settings": settings, "evaluation": report, "samples": samples, "speed": speed,
                      "machine": facts,
                      "load_average_before": load_before, "load_average_after": load_after},
                     indent=1, ensure_ascii=False))
    print(f"test-book bits per character: {report['test']['bits_per_character']:.3f} "
          f"(validation {report['validation']['bits_per_character']:.3f}) after {wall / 60:.1f} min, "
          f"step {summary['step']}, {speed['steps_per_second']:.2f} steps/s "
          f"({speed['tokens_per_second']:,.0f} tokens/s); {machine.summary(facts)}; "
          f"load average {load_before[0]:.1f} → {load_after[0]:.1f}")
    if args.record:
        record(args, report, summary, speed, f"{load_before[0]:.1f} → {load_after[0]:.1f}")


def record(args, report: dict, summary: dict, speed: dict, load: str) -> None:
    """The course's `gpt2.<minutes>min.*` figures (course/figures.json); the cpu preset as it comes only."""
    if args.preset != "cpu" or args.set or not args.adapt:
        print("--record: the course quotes the cpu preset as it comes; not recorded (--preset, --set or --fixed-shape given)")
        return
    prefix = f"gpt2.{args.minutes:g}min"
    values = {f"{prefix}.bpc": report["test"]["bits_per_character"],
              f"{prefix}.validation_bpc": report["validation"]["bits_per_character"],
              f"{prefix}.steps": summary["step"], f"{prefix}.steps_per_second": speed["steps_per_second"],
              f"{prefix}.tokens_per_second": speed["tokens_per_second"]}
    if report.get("baseline"):
        values[f"{prefix}.xz_bpc"] = report["baseline"]["xz_bits_per_character"]
    written = figures.record(values, command=f"python bench/quality.py --minutes {args.minutes:g} --record",
                             load_average=load, decimals={f"{prefix}.steps": 0, f"{prefix}.tokens_per_second": 0,
                                                          f"{prefix}.steps_per_second": 1})
    print(f"recorded in {figures.FILE}: {', '.join(written)}")


def training_speed(model_dir: Path, settings: dict) -> dict:
    """Steps and tokens per second over the run, evaluations included (from its metrics.jsonl)."""
    history = [json.loads(line) for line in (model_dir / resumable.METRICS_FILE).read_text().splitlines() if line]
    if not history:
        return {"steps_per_second": 0.0, "tokens_per_second": 0.0}
    last = history[-1]
    steps_per_second = last["step"] / max(last["seconds"], 1e-6)
    return {"steps_per_second": round(steps_per_second, 3),
            "tokens_per_second": round(steps_per_second * settings["batch_size"] * settings["sequence_length"])}


if __name__ == "__main__":
    main()
