"""How far the training's speed probe is from this machine's real training speed, shape by shape.

    python bench/probe_accuracy.py [--steps 400] [--shapes 2x64,2x96,3x128] [--set jit_compile=false]

The cpu recipe chooses its shape from a probe of a few seconds
(`aurore.training.adaptive.probe`: each shape's matrix products timed here,
times an efficiency measured elsewhere). This script prints, for each shape,
the probe's predicted steps/s beside the steps/s of a real training of
`--steps` steps (the recipe's, evaluated four times, as bench/shape_scaling.py
trains; the rate is read between the first and the last evaluation, so XLA's
compiling is left out) and their ratio: a ratio far from 1 on one shape and
not the others is a probe that favours the wrong shape. `--set` changes the
real training only (e.g. `jit_compile=false`, to time it without XLA).
Needs the dataset and tokenizer; trains in a scratch model folder, then removes it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--shapes", default="2x64,2x96,3x128")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="recipe overrides for the real training")
    args = parser.parse_args()

    import aurore  # noqa: F401
    from aurore import machine, paths
    from aurore.course import exercises
    from aurore.store import modeldir
    from aurore.training import adaptive, loop, presets

    table = adaptive.load_table()
    shapes = args.shapes.split(",")
    unknown = [shape for shape in shapes if shape not in table["shapes"]]
    if unknown:
        parser.error(f"unknown shape(s) {', '.join(unknown)}: choose among {', '.join(table['shapes'])}")
    vocab = len(modeldir.load_tokenizer(paths.tokenizer_dir()))
    probed = adaptive.probe({"shapes": {shape: table["shapes"][shape] for shape in shapes}}, vocab)
    overrides = presets.parse_set_pairs(args.set)
    facts = machine.describe()
    rows = {}
    for shape in shapes:
        settings = dict(adaptive.settings_for(shape, args.steps), **overrides)
        model = paths.models_dir() / f"probe-accuracy-{shape}-{os.getpid()}"
        load_before = os.getloadavg()[0]
        loop.train(exercises.rules("train"), paths.dataset_dir(), paths.tokenizer_dir(), model, settings,
                   restart=True)
        metrics = [json.loads(line) for line in (model / "metrics.jsonl").read_text().splitlines() if line]
        shutil.rmtree(model, ignore_errors=True)
        (model.parent / f".{model.name}.training.lock").unlink(missing_ok=True)
        first, last = metrics[0], metrics[-1]
        real = (last["step"] - first["step"]) / max(last["seconds"] - first["seconds"], 1e-6)
        rows[shape] = {"probe_steps_per_second": round(probed[shape], 2), "real_steps_per_second": round(real, 2),
                       "real_over_probe": round(real / probed[shape], 2),
                       "load": [round(load_before, 1), round(os.getloadavg()[0], 1)]}
        print(f"{shape}: probe {probed[shape]:.2f} steps/s, real {real:.2f} (× {real / probed[shape]:.2f})",
              flush=True)
    print(json.dumps({"machine": machine.summary(facts), "cpu": machine.cpu_name(), "overrides": overrides,
                      "steps": args.steps, "shapes": rows}, ensure_ascii=False))


if __name__ == "__main__":
    main()
