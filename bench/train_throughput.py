"""Training throughput of a preset on this machine, and the share of the CPU's peak it reaches.

    python bench/train_throughput.py [--preset cpu] [--set KEY=VALUE …] [--steps 30] [--jit both|on|off]

Figures:
- useful tokens/s: packed blocks have no padding, so every token of a batch
  is a useful training token (batch_size × sequence_length per step);
- model FLOP/s: tokens/s × training FLOPs per token, ≈ 6·N + 12·L·T·d
  (N the weights of every matrix multiply, the output projection included;
  see aurore.training.presets.training_flops_per_token);
- peak FP32 FLOP/s = cores × clock × FLOPs per cycle per core, where FLOPs
  per cycle = FMA units × SIMD lanes × 2 (an FMA is a multiply and an add).
  Lanes: 16 with avx512f, 8 with avx2 (or when ONEDNN_MAX_CPU_ISA caps
  oneDNN at AVX2, as on an AVX2 laptop). FMA units default to 2 (Zen 4/5,
  Intel server cores); pass --fma-units if your CPU differs.
Synthetic token ids are enough: the speed does not depend on their values.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aurore  # noqa: E402,F401
from aurore import machine  # noqa: E402
from aurore.course import exercises  # noqa: E402
from aurore.training import packing, presets  # noqa: E402


def cpu_peak(fma_units: int) -> dict:
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    lanes = 16 if " avx512f" in flags else 8 if " avx2" in flags else 4
    cap = (os.environ.get("ONEDNN_MAX_CPU_ISA") or "ALL").upper()
    if cap != "ALL" and not cap.startswith("AVX512"):
        lanes = min(lanes, 8 if cap.startswith("AVX2") else 4)
    mhz = [float(m) for m in re.findall(r"cpu MHz\s*:\s*([\d.]+)", flags)] or [2000.0]
    cores = len(os.sched_getaffinity(0))
    ghz = max(mhz) / 1000
    per_cycle = fma_units * lanes * 2
    return {"cores": cores, "ghz": round(ghz, 3), "simd_lanes_fp32": lanes, "fma_units": fma_units,
            "flops_per_cycle_per_core": per_cycle, "peak_gflops": round(cores * ghz * per_cycle, 1)}


def gemm_reference(settings: dict, vocab_size: int, repeats: int = 20) -> dict:
    """GFLOP/s a bare float32 matmul of the model's own shapes reaches right now.

    On a shared CPU this is the fair yardstick: what the machine delivers to
    one process at this moment, with no model code around the multiplications.
    """
    import tensorflow as tf

    rows = settings["batch_size"] * settings["sequence_length"]
    d = settings["hidden_dim"]
    found = {}
    for name, (k, n) in {"mlp": (d, settings["intermediate_dim"]), "vocabulary": (d, vocab_size)}.items():
        a, b = tf.random.normal((rows, k)), tf.random.normal((k, n))
        matmul = tf.function(lambda a, b: tf.matmul(a, b))
        matmul(a, b).numpy()
        started = time.perf_counter()
        for _ in range(repeats):
            c = matmul(a, b)
        c.numpy()
        found[name] = round(2 * rows * k * n * repeats / (time.perf_counter() - started) / 1e9, 1)
    return found


def measure(settings: dict, vocab_size: int, steps: int, jit: bool) -> dict:
    import keras
    import numpy as np

    solution = exercises.rules("train")
    keras.utils.set_random_seed(0)
    lm = solution.build_model(settings, vocab_size)
    solution.compile_model(lm, solution.make_optimizer(settings, 10_000), jit_compile=jit)
    length, batch = settings["sequence_length"], settings["batch_size"]
    tokens = np.random.default_rng(0).integers(0, vocab_size, size=(batch * 64, length + 1)).astype("int32")
    data = packing.training_dataset(tokens[:, :-1], tokens[:, 1:], batch, seed=0)
    started = time.perf_counter()
    lm.fit(data, steps_per_epoch=3, epochs=1, verbose=0)  # trace/compile, warm up
    compile_seconds = time.perf_counter() - started
    started = time.perf_counter()
    lm.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    seconds = time.perf_counter() - started
    tokens_per_second = steps * batch * length / seconds
    return {"jit_compile": jit, "steps": steps, "seconds": round(seconds, 2),
            "first_steps_seconds": round(compile_seconds, 1),
            "tokens_per_second": round(tokens_per_second), "seconds_per_step": round(seconds / steps, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--jit", choices=("both", "on", "off"), default="both")
    parser.add_argument("--fma-units", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a preset setting, as `train --set` does (repeatable)")
    args = parser.parse_args()

    settings = presets.settings_from_args(args.preset, args.set)
    flops_per_token = presets.training_flops_per_token(settings, args.vocab_size)
    peak = cpu_peak(args.fma_units)
    params = presets.parameter_count(settings, args.vocab_size)
    print(f"preset {args.preset}: {settings['num_layers']} layers, hidden {settings['hidden_dim']}, "
          f"vocab {args.vocab_size}, {settings['batch_size']}×{settings['sequence_length']} tokens/step, "
          f"{params['total']:,} parameters")
    print(f"training FLOPs per token ≈ {flops_per_token / 1e6:.1f} M")
    facts = machine.describe()
    print(f"machine: {machine.summary(facts)}; TensorFlow threads: {facts['threads']['intra_op']} intra-op, "
          f"{facts['threads']['inter_op']} inter-op")
    print(f"peak FP32: {peak['cores']} cores × {peak['ghz']} GHz × {peak['flops_per_cycle_per_core']} "
          f"FLOP/cycle ({peak['fma_units']} FMA × {peak['simd_lanes_fp32']} lanes × 2) = {peak['peak_gflops']} GFLOP/s")
    gemm = gemm_reference(settings, args.vocab_size)
    print(f"bare matmul of the model's shapes, now: {gemm} GFLOP/s "
          f"({100 * max(gemm.values()) / peak['peak_gflops']:.0f} % of peak at best)")
    results = []
    for jit in {"both": (False, True), "on": (True,), "off": (False,)}[args.jit]:
        result = measure(settings, args.vocab_size, args.steps, jit)
        gflops = result["tokens_per_second"] * flops_per_token / 1e9
        result.update(model_gflops=round(gflops, 1), share_of_peak=round(gflops / peak["peak_gflops"], 3))
        results.append(result)
        print(f"jit_compile={jit}: {result['tokens_per_second']:,} tokens/s, {result['seconds_per_step']} s/step, "
              f"{result['model_gflops']} GFLOP/s = {100 * result['share_of_peak']:.1f} % of peak "
              f"(first 3 steps incl. compile: {result['first_steps_seconds']} s)")
    print(json.dumps({"preset": args.preset, "flops_per_token": flops_per_token, "peak": peak, "machine": facts,
                      "gemm_gflops": gemm, "results": results, "load_average": os.getloadavg()}))


if __name__ == "__main__":
    main()
