"""Training speed of a preset on an accelerator, on whichever Keras backend is installed.

    python bench/accelerator_throughput.py [--preset gpu] [--steps 40] [--vocab-size 8000]
    KERAS_BACKEND=jax python bench/accelerator_throughput.py     # a GPU machine without TensorFlow

Why: instructors train the `gpu` preset on a GPU (Docker image, TensorFlow).
This measures what that preset costs there: exercise 5's reference model,
optimizer and compile step (plain Keras + KerasHub, so the same code runs on
the TensorFlow, JAX or PyTorch backend), the preset's mixed precision and
XLA setting, synthetic token ids (speed does not depend on their values).
Prints the backend, the device, tokens/s, seconds per step, model TFLOP/s
(aurore.training.presets.training_flops_per_token) and the time the preset's
`max_steps` would take at that speed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aurore  # noqa: E402,F401  (selects TensorFlow unless KERAS_BACKEND says otherwise)
from aurore.course import exercises  # noqa: E402
from aurore.training import presets  # noqa: E402


def devices() -> list[str]:
    """The accelerators the Keras backend sees, in words (CPU when none)."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return [f"{d.platform}:{getattr(d, 'device_kind', d)}" for d in jax.devices()]
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus] or ["cpu"]
    if backend == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] or ["cpu"]
    return [backend]


def measure(settings: dict, vocab_size: int, steps: int) -> dict:
    import keras
    import numpy as np

    if settings.get("mixed_precision"):
        keras.mixed_precision.set_global_policy(settings["mixed_precision"])
    solution = exercises.rules("train")
    keras.utils.set_random_seed(0)
    lm = solution.build_model(settings, vocab_size)
    solution.compile_model(lm, solution.make_optimizer(settings, settings["max_steps"]),
                           jit_compile=bool(settings.get("jit_compile")))
    length, batch = settings["sequence_length"], settings["batch_size"]
    tokens = np.random.default_rng(0).integers(0, vocab_size, size=(batch * (steps + 3), length + 1)).astype("int32")
    inputs, targets = tokens[:, :-1], tokens[:, 1:]

    def features(rows: slice) -> dict:  # packed blocks: no padding (as aurore.training.packing.features)
        return {"token_ids": inputs[rows], "padding_mask": np.ones_like(inputs[rows])}

    warm_up, timed = slice(0, 3 * batch), slice(3 * batch, None)
    started = time.perf_counter()
    lm.fit(features(warm_up), targets[warm_up], batch_size=batch, epochs=1, verbose=0, shuffle=False)
    first_seconds = time.perf_counter() - started
    started = time.perf_counter()
    history = lm.fit(features(timed), targets[timed], batch_size=batch, epochs=1, verbose=0, shuffle=False)
    float(history.history["loss"][-1])  # the loss is on the host: every step has finished
    seconds = time.perf_counter() - started
    return {"steps": steps, "seconds": round(seconds, 3), "first_3_steps_seconds": round(first_seconds, 1),
            "seconds_per_step": round(seconds / steps, 4), "tokens_per_second": round(steps * batch * length / seconds),
            "loss": round(float(history.history["loss"][-1]), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="gpu", choices=sorted(presets.PRESETS))
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a preset setting, e.g. --set batch_size=32 (JSON values)")
    args = parser.parse_args()

    overrides = {}
    for pair in args.set:
        key, _, value = pair.partition("=")
        overrides[key] = json.loads(value)
    settings = presets.preset(args.preset, **overrides)
    import keras

    flops_per_token = presets.training_flops_per_token(settings, args.vocab_size)
    params = presets.parameter_count(settings, args.vocab_size)
    found = devices()
    result = measure(settings, args.vocab_size, args.steps)
    tflops = result["tokens_per_second"] * flops_per_token / 1e12
    preset_hours = settings["max_steps"] * result["seconds_per_step"] / 3600
    print(f"preset {args.preset}: {settings['num_layers']} layers × {settings['hidden_dim']}, vocabulary "
          f"{args.vocab_size}, {settings['batch_size']}×{settings['sequence_length']} tokens/step, "
          f"{params['total'] / 1e6:.1f} M parameters, precision {settings.get('mixed_precision') or 'float32'}, "
          f"XLA {'on' if settings.get('jit_compile') else 'off'}")
    print(f"Keras {keras.__version__} on {keras.backend.backend()}, devices: {', '.join(found)}")
    print(f"{result['tokens_per_second']:,} tokens/s, {result['seconds_per_step']} s/step, {tflops:.1f} model TFLOP/s "
          f"(first 3 steps incl. compile: {result['first_3_steps_seconds']} s); the preset's "
          f"{settings['max_steps']:,} steps: {preset_hours:.2f} h")
    print(json.dumps({"preset": args.preset, "settings": settings, "backend": keras.backend.backend(),
                      "devices": found, "flops_per_token": flops_per_token, "model_tflops": round(tflops, 2),
                      "preset_hours": round(preset_hours, 3), "result": result,
                      "cpu_count": os.cpu_count()}))


if __name__ == "__main__":
    main()
