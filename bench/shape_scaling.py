"""Bits per character against steps, per model shape: the measurements `aurore.training.adaptive` is fitted on.

    python bench/shape_scaling.py --shape 2x96 --steps 256,512,1024,2048 [--threads 1] [--core 0]
    python bench/shape_scaling.py --fit          # the table aurore/training/adaptive.py reads
    python bench/shape_scaling.py --shape 2x96 --steps 2048 --set learning_rate=0.0137   # a lever
    python bench/shape_scaling.py --shape 2x96 --steps 2048 --tokenizer DIR | --seed 2   # a vocabulary, the noise

For each step count N, trains the shape from scratch for exactly N steps (the
learning-rate schedule planned over N, as a time budget plans it over the
steps that fit), then measures the test book's bits per character
(`aurore evaluate`'s figure, the one bench/quality.py reports). What a shape
learns in N steps does not depend on the machine; how many steps fit in a
budget does, and the training's probe measures that (`adaptive.probe`).
So runs can go two at a time on a 2-core machine, one a core (`--core`,
TensorFlow on `--threads 1`): each then runs about as fast as half a
laptop, and the figures are the same as on a fast machine.

Each result is appended as one JSON line to bench/results/shape-scaling.jsonl
(shape, steps, bits per character, seconds, steps/s, SIMD level, cores,
load); a (shape, steps, recipe) already there is skipped, so an interrupted
series goes on where it stopped. Needs the dataset and tokenizer
(`python -m aurore prepare`, `python -m aurore tokenizer`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "shape-scaling.jsonl"


#: The workshop tokenizer's vocabulary: rows without a "vocab" were measured with it.
DEFAULT_VOCAB = 8000


#: The training's own seed (aurore.training.loop.train): rows without a "seed" ran with it.
DEFAULT_SEED = 1234


def done_already(shape: str, steps: int, recipe: dict, vocab: int, seed: int) -> bool:
    if not RESULTS.exists():
        return False
    for line in RESULTS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if (row["shape"] == shape and row["steps"] == steps and row["recipe"] == recipe
                and row.get("vocab", DEFAULT_VOCAB) == vocab and row.get("seed", DEFAULT_SEED) == seed):
            return True
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", help="a candidate of aurore.training.adaptive.SHAPES")
    parser.add_argument("--steps", help="step counts, comma-separated (256,512,1024)")
    parser.add_argument("--fit", action="store_true",
                        help="fit each shape's curve on the measured runs and write aurore/training/scaling_fit.json")
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0: its choice)")
    parser.add_argument("--core", type=int, default=None, help="pin this process to one core")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="recipe overrides")
    parser.add_argument("--tokenizer", type=Path, default=None,
                        help="another tokenizer folder (python -m aurore tokenizer --vocab-size N --out DIR); "
                             "default: the workshop's")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help="the training's seed (weights, data order): another one measures the noise")
    args = parser.parse_args()
    if args.fit:
        write_fit()
        return
    if not (args.shape and args.steps):
        parser.error("give --shape and --steps to measure, or --fit to fit what was measured")
    if args.core is not None:
        os.sched_setaffinity(0, {args.core})

    import aurore  # noqa: F401
    from aurore import machine, paths
    from aurore.course import exercises
    from aurore.evaluation import scoring
    from aurore.generation.cached_model import limit_threads
    from aurore.store import modeldir
    from aurore.training import adaptive, loop, presets

    limit_threads(args.threads)
    recipe = presets.parse_set_pairs(args.set)
    tokenizer_dir = args.tokenizer or paths.tokenizer_dir()
    vocab = len(modeldir.load_tokenizer(tokenizer_dir))
    for steps in [int(text) for text in args.steps.split(",")]:
        if done_already(args.shape, steps, recipe, vocab, args.seed):
            print(f"{args.shape}, {steps} steps: already measured", flush=True)
            continue
        settings = adaptive.settings_for(args.shape, steps)
        settings.update(recipe)
        ideal = adaptive.matmul_rate(settings, vocab) / (presets.training_flops_per_token(settings, vocab)
                                                          * adaptive.tokens_per_step(settings))
        model = paths.models_dir() / f"scaling-{args.shape}-{steps}-{os.getpid()}"
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        summary = loop.train(exercises.rules("train"), paths.dataset_dir(), tokenizer_dir, model,
                             settings, restart=True, seed=args.seed)
        seconds = time.monotonic() - started
        report = scoring.evaluate(model, paths.dataset_dir(), rules=exercises.rules("evaluate"))
        metrics = [json.loads(line) for line in (model / "metrics.jsonl").read_text().splitlines() if line]
        row = {"shape": args.shape, "steps": summary["step"], "recipe": recipe, "vocab": vocab, "seed": args.seed,
               "bpc": round(report["test"]["bits_per_character"], 4),
               "validation_bpc": round(report["validation"]["bits_per_character"], 4),
               "seconds": round(seconds, 1),
               "steps_per_second": round(metrics[-1]["step"] / max(metrics[-1]["seconds"], 1e-6), 3),
               "matmul_steps_per_second": round(ideal, 3),
               "simd": machine.describe()["simd"], "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA"),
               "cores": len(os.sched_getaffinity(0)), "tf_threads": args.threads or "default",
               "load": [round(load_before, 1), round(os.getloadavg()[0], 1)],
               "date": f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"}
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        with RESULTS.open("a", encoding="utf-8") as out:       # one short line: appended whole
            out.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)
        shutil.rmtree(model, ignore_errors=True)
        (model.parent / f".{model.name}.training.lock").unlink(missing_ok=True)


def write_fit() -> None:
    """Each shape's bpc(steps) curve (default recipe only) and efficiency (measured steps/s over the matrix
    rate's), into the table the training reads."""
    from aurore.store import atomic
    from aurore.training import adaptive

    rows = [json.loads(line) for line in RESULTS.read_text(encoding="utf-8").splitlines() if line]
    shapes = {}
    for shape in adaptive.SHAPES:
        runs = [row for row in rows if row["shape"] == shape and not row["recipe"]
                and row.get("vocab", DEFAULT_VOCAB) == DEFAULT_VOCAB
                and row.get("seed", DEFAULT_SEED) == DEFAULT_SEED]   # other seeds measure the noise
        if len({row["steps"] for row in runs}) < 3:
            print(f"{shape}: {len(runs)} runs, fewer than 3 step counts: left out")
            continue
        efficiencies = sorted(row["steps_per_second"] / row["matmul_steps_per_second"] for row in runs)
        curve = adaptive.fit([(row["steps"], row["bpc"]) for row in runs])
        shapes[shape] = {"curve": curve, "efficiency": round(efficiencies[len(efficiencies) // 2], 3)}
        print(f"{shape}: {', '.join(f'{steps} steps {bpc:.3f}' for steps, bpc in curve['points'])}; "
              f"efficiency {shapes[shape]['efficiency']} (measured steps/s over the matrix rate's)")
    table = {"fitted": f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC from bench/results/shape-scaling.jsonl",
             "shapes": shapes}
    atomic.write_text(adaptive.FIT_FILE, json.dumps(table, indent=1) + "\n")
    print(f"written: {adaptive.FIT_FILE}")


if __name__ == "__main__":
    main()
