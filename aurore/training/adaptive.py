"""The cpu recipe fitted to this machine's speed and the run's time (issue 29).

One preset tuned at one speed is not the best at every speed: in 5 minutes a
2-core laptop makes about 600 steps of the `cpu` shape, a fast machine 5,000 in
15, and fewer steps may favour a smaller model. So the shape is chosen per
run, from measurements, not guesses:

- `SHAPES`: the candidate architectures; the rest of the recipe is the cpu
  preset's (learning rate, warm-up, batch, context, XLA).
- `FIT_FILE`: for each shape, bits per character against steps, measured by
  `bench/shape_scaling.py` at several step counts (`fit`, `predict`): what a
  shape learns in N steps does not depend on the machine.
- `probe`: how fast this machine runs each shape, from the rate of its own
  matrix products (a few seconds), scaled by each shape's measured efficiency
  (its training's steps/s over that rate in the scaling runs: 0.92–1.0).
- `choose`: the shape whose predicted bits per character after the steps its
  speed allows in the budget is lowest.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from aurore.training import presets

#: Candidate architectures, smallest first. "3x128" is the cpu preset's own shape.
SHAPES: dict[str, dict] = {
    "2x64": dict(num_layers=2, num_heads=4, hidden_dim=64, intermediate_dim=256),
    "2x96": dict(num_layers=2, num_heads=4, hidden_dim=96, intermediate_dim=384),
    "3x128": dict(num_layers=3, num_heads=4, hidden_dim=128, intermediate_dim=512),
}
#: The preset's own shape: kept when the budget is too short for any measured point.
PRESET_SHAPE = "3x128"
#: The fitted table (written by `python bench/shape_scaling.py --fit`).
FIT_FILE = Path(__file__).with_name("scaling_fit.json")


def settings_for(shape: str, steps: int, base: str = presets.DEFAULT) -> dict:
    """The cpu recipe with this shape, planned over exactly `steps` steps (no time limit), evaluated 4 times."""
    if shape not in SHAPES:
        raise KeyError(f"unknown shape {shape!r}: one of {', '.join(SHAPES)}")
    return presets.preset(base, **SHAPES[shape], max_steps=steps, eval_interval=max(steps // 4, 1),
                          patience=0, max_minutes=0)


def fit(points: list[tuple[int, float]]) -> dict:
    """The measured curve of one shape: bits per character at each step count (the mean where a count ran
    more than once), at least 3 counts, falling with steps.

    Read between the points linearly in log(steps) (`predict`). A power law with a floor,
    E + A·N^-α, was tried first and does not fit these runs: from 256 to 2,048 steps each
    doubling gains as much or more than the one before, so α went to its smallest value and
    E below zero; the doubling to 4,096 gains half as much (docs/benchmarks.md, issue 29).
    """
    by_steps: dict[int, list[float]] = {}
    for steps, bpc in points:
        by_steps.setdefault(int(steps), []).append(float(bpc))
    if len(by_steps) < 3:
        raise ValueError("a fit needs bits per character at 3 step counts or more")
    measured = [[steps, round(sum(values) / len(values), 4)] for steps, values in sorted(by_steps.items())]
    if measured[-1][1] >= measured[0][1]:
        raise ValueError("bits per character do not fall with steps in these points: nothing to fit")
    return {"points": measured}


#: How far beyond its last measured step count a curve is extended; past that, no more gain is counted.
EXTRAPOLATION = 2.0
#: Beyond the last point, a doubling of the steps gains this share of what the last measured doubling gained:
#: the curves bend (3x128: 0.195 from 1,024 to 2,048 steps, 0.097 to 4,096, then 0.048 a doubling to 6,144;
#: 2x96: 0.096 to 4,096, then 0.029 to 8,192, a share of 0.30: so measure a curve as far as budgets reach).
GAIN_BEYOND = 0.5


def predict(curve: dict, steps: float) -> float:
    """Bits per character after `steps` (see `fit`): linear in log(steps) between the measured points (the first
    segment's slope below them); beyond the last, GAIN_BEYOND of its slope, up to EXTRAPOLATION × its steps."""
    points = curve["points"]
    x = math.log(max(steps, 1.0))
    xs = [math.log(point[0]) for point in points]
    beyond = min(x, xs[-1] + math.log(EXTRAPOLATION)) - xs[-1]
    if beyond > 0:
        slope = (points[-1][1] - points[-2][1]) / (xs[-1] - xs[-2])
        return points[-1][1] + GAIN_BEYOND * slope * beyond
    index = 1 if x <= xs[1] else next(i for i in range(1, len(xs)) if x <= xs[i])
    (x0, y0), (x1, y1) = (xs[index - 1], points[index - 1][1]), (xs[index], points[index][1])
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def load_table(path: Path | None = None) -> dict:
    return json.loads(Path(path or FIT_FILE).read_text(encoding="utf-8"))


def tokens_per_step(settings: dict) -> int:
    return settings["batch_size"] * settings["sequence_length"]


def matmul_rate(settings: dict, vocab_size: int, seconds: float = 1.0) -> float:
    """FLOP/s of this machine on the matrix products of one training step of this shape (forward sizes)."""
    import tensorflow as tf

    rows, d, f = tokens_per_step(settings), settings["hidden_dim"], settings["intermediate_dim"]
    x, h = tf.random.normal((rows, d)), tf.random.normal((rows, f))
    weights = {"attention": tf.random.normal((d, 4 * d)), "up": tf.random.normal((d, f)),
               "down": tf.random.normal((f, d)), "vocabulary": tf.random.normal((d, vocab_size))}

    @tf.function(jit_compile=True)
    def step():
        return (tf.reduce_sum(x @ weights["attention"]) + tf.reduce_sum(x @ weights["up"])
                + tf.reduce_sum(h @ weights["down"]) + tf.reduce_sum(x @ weights["vocabulary"]))

    step().numpy()                                 # compile
    flops = 2 * rows * (4 * d * d + 2 * d * f + d * vocab_size)
    done, started = 0, time.perf_counter()
    while done < 3 or time.perf_counter() - started < seconds:
        step().numpy()
        done += 1
    return flops * done / (time.perf_counter() - started)


def probe(table: dict, vocab_size: int, base: str = presets.DEFAULT, seconds_per_shape: float = 1.0) -> dict:
    """{shape: predicted steps/s on this machine}: each shape's matrix rate here × its measured efficiency."""
    speeds = {}
    for shape, row in table["shapes"].items():
        settings = presets.preset(base, **SHAPES[shape])
        rate = matmul_rate(settings, vocab_size, seconds_per_shape)
        speeds[shape] = rate * row["efficiency"] / (presets.training_flops_per_token(settings, vocab_size)
                                                     * tokens_per_step(settings))
    return speeds


#: Predictions closer than this are a tie, and a tie goes to the larger shape: three seeds of the same run
#: spread by 0.010 bits per character (docs/benchmarks.md, issue 29, second pass), and the probe
#: under-predicts a two-core machine's speed (7-25 %), which wrongly favours the smaller shapes.
TIE = 0.01


def choose(table: dict, speeds: dict, seconds: float) -> dict:
    """The shape of lowest predicted bits per character after `seconds` at these speeds, with every prediction.

    Only shapes whose steps reach their first measured point compete (below it nothing was measured);
    when none does, the preset's own shape is kept. Of the shapes within TIE of the best, the largest wins.
    """
    candidates = {}
    for shape, speed in speeds.items():
        steps, curve = speed * seconds, table["shapes"][shape]["curve"]
        candidates[shape] = {"steps_per_second": round(speed, 2), "steps": int(steps),
                             "predicted_bpc": round(predict(curve, steps), 3), "measured": steps >= curve["points"][0][0]}
    eligible = [name for name in candidates if candidates[name]["measured"]]
    if eligible:
        best = min(candidates[name]["predicted_bpc"] for name in eligible)
        shape = [name for name in SHAPES if name in eligible and candidates[name]["predicted_bpc"] <= best + TIE][-1]
    else:
        shape = PRESET_SHAPE
    return {"shape": shape, "candidates": candidates}


#: The record of the choice, in the model folder.
RECIPE_FILE = "recipe.json"


def adapt(settings: dict, minutes: float, vocab_size: int, table_path: Path | None = None) -> tuple[dict, dict]:
    """The settings with the shape that learns most in `minutes` on this machine, and the record of the choice.

    The probe's seconds are taken from the budget (the caller trains for `record["minutes_left"]`).
    """
    table = load_table(table_path)
    started = time.perf_counter()
    speeds = probe(table, vocab_size)
    probe_seconds = time.perf_counter() - started
    minutes_left = max(minutes - probe_seconds / 60, 0.1)
    choice = choose(table, speeds, 60 * minutes_left)
    chosen = dict(settings, **SHAPES[choice["shape"]])
    record = {"shape": choice["shape"], **SHAPES[choice["shape"]], "minutes": minutes,
              "probe_seconds": round(probe_seconds, 1), "minutes_left": round(minutes_left, 2),
              "candidates": choice["candidates"], "fitted": table.get("fitted", "")}
    return chosen, record


def explain(record: dict) -> str:
    """One line: the shape chosen and each candidate's predicted steps and bits per character."""
    from aurore.messages import gettext, number

    others = " · ".join(gettext("%(shape)s: %(steps)s steps at %(speed)s/s, %(bpc)s", shape=shape,
                               steps=number(row["steps"], 0), speed=number(row["steps_per_second"], 1),
                               bpc=number(row["predicted_bpc"], 3))
                       for shape, row in record["candidates"].items())
    return gettext("Recipe for this machine and %(minutes)s minutes: the %(shape)s shape (%(layers)s layers of "
                   "%(width)s), the largest of those predicted to learn most, within %(tie)s (%(candidates)s bits "
                   "per character; probe: %(probe)s s).", tie=number(TIE, 2),
                   minutes=number(record["minutes"], 0 if float(record["minutes"]).is_integer() else 1),
                   shape=record["shape"], layers=record["num_layers"],
                   width=record["hidden_dim"], candidates=others, probe=number(record["probe_seconds"], 1))
