"""Batched against one-at-a-time generation, in-process: the ratio the web batching can reach.

    python bench/batch_ratio.py [--model DIR] [--rows 16] [--tokens 100] [--repeats 2]

Two engines, back to back. *Static* (before): `Generator.stream_batch`, exercise 6's
NumPy sampling row by row. *Continuous* (after, the server's default):
`Generator.continuous(--rows)`, every row added then stepped until all ended,
sampling inside the compiled step; "one at a time" is then the same batch
with one row at a time. The step split (where a step's time goes): before,
forward pass and per-row sampling; after, the compiled call without sampling
(logits out), with it (tokens out: the difference is the sampling), and
Python (text pieces, stop rules).

Times `Generator.stream_batch` of --rows rows (top-p 0.95, temperature 0.8,
a different seed per row, --tokens new tokens each, end-of-text ignored)
against the same rows written one after the other with `Generator.stream`,
back to back, and prints tokens/s of both and their ratio. Also splits one
batched step into the forward pass and the sampling. Without --model, builds
(once, in --workdir) the random model of the `cpu` shape that
bench/generation_latency.py builds. 1 TensorFlow thread, XLA on (the server's
settings).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aurore  # noqa: E402,F401
from aurore.course import exercises  # noqa: E402
from aurore.generation.generator import Generator, limit_threads, SamplingParams  # noqa: E402

PROMPTS = ["Il y avait dans ce village une jeune fille qui chantait le soir.",
           "La nuit était douce et la lune éclairait la vallée. Elle",
           "« Je ne sais pas ce que vous voulez dire », répondit-elle.",
           "Le vieux meunier chantait en marchant sur le chemin creux, et"]


def run_batch(generator: Generator, params: list[SamplingParams]) -> tuple[float, list[str]]:
    started = time.perf_counter()
    batch = generator.stream_batch([PROMPTS[i % len(PROMPTS)] for i in range(len(params))], params)
    for _ in batch:
        pass
    return time.perf_counter() - started, [r.text for r in batch.results]


def run_single(generator: Generator, params: list[SamplingParams]) -> tuple[float, list[str]]:
    started = time.perf_counter()
    texts = [generator.generate(PROMPTS[i % len(PROMPTS)], p).text for i, p in enumerate(params)]
    return time.perf_counter() - started, texts


def step_split(generator: Generator, params: list[SamplingParams], steps: int = 30) -> tuple[float, float]:
    """Median ms per batched step: (forward pass, sampling of every row)."""
    rows = [generator._row(PROMPTS[i % len(PROMPTS)], p) for i, p in enumerate(params)]
    logits, state = generator.engine.prefill([row.prompt_ids for row in rows], max(r.params.max_new_tokens for r in rows))
    forward, sampling = [], []
    for _ in range(min(steps, rows[0].params.max_new_tokens - 1)):
        started = time.perf_counter()
        tokens = [generator.rules.choose_next_token(logits[i], row.params, row.rng) for i, row in enumerate(rows)]
        middle = time.perf_counter()
        logits = generator.engine.step(state, [int(t) for t in tokens])
        forward.append(time.perf_counter() - middle)
        sampling.append(middle - started)
    return statistics.median(forward) * 1000, statistics.median(sampling) * 1000


def drive(batch, params, first: int = 0) -> tuple[float, list[str]]:
    """All rows (prompts from PROMPTS[first]) added to a continuous batch, then stepped until every one ended."""
    started = time.perf_counter()
    texts, slot_of = [], {}
    for i, p in enumerate(params, start=first):
        event = batch.add(PROMPTS[i % len(PROMPTS)], p)
        texts.append([event.piece])
        slot_of[event.slot] = i - first
    while batch.busy:
        for event in batch.step():
            texts[slot_of[event.slot]].append(event.piece)
    return time.perf_counter() - started, ["".join(t) for t in texts]


def run_continuous_single(batch, params: list[SamplingParams]) -> tuple[float, list[str]]:
    started = time.perf_counter()
    texts = [drive(batch, [p], first=i)[1][0] for i, p in enumerate(params)]
    return time.perf_counter() - started, texts


def continuous_split(batch, params: list[SamplingParams], steps: int = 30) -> dict:
    """Median ms per continuous step: compiled call with logits out (forward), with tokens out
    (forward + sampling), and Python's share (from the batch's own timing)."""
    import numpy as np

    for i, p in enumerate(params):
        batch.add(PROMPTS[i % len(PROMPTS)], p)
    model, rows = batch.model, len(params)
    from aurore.generation.slot_model import row_bucket

    width = row_bucket(rows, model.slots)
    tokens, positions = np.zeros(width, "int32"), np.full(width, 20, "int32")
    settings = {name: values[:width] for name, values in batch._settings.items()}
    forward, sampled = [], []
    for _ in range(steps):
        started = time.perf_counter()
        model.step(tokens, positions)
        middle = time.perf_counter()
        model.step(tokens, positions, settings)
        forward.append(middle - started)
        sampled.append(time.perf_counter() - middle)
    before = dict(batch.timing)
    for _ in range(min(steps, 20)):
        batch.step()
    python = (batch.timing["python_seconds"] - before["python_seconds"]) / max(1, batch.timing["steps"] - before["steps"])
    return {"forward": statistics.median(forward) * 1000, "with_sampling": statistics.median(sampled) * 1000,
            "python": python * 1000}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/aurore-bench-batch"))
    parser.add_argument("--rows", type=int, default=16)
    parser.add_argument("--tokens", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    limit_threads(1)
    model = args.model
    if model is None:
        from bench.random_model import random_cpu_model

        model = random_cpu_model(args.workdir / "cpu")
    generator = Generator.load(model, exercises.rules("generate"), xla=True)
    generator.end_of_text_id = -1  # exactly --tokens tokens per row
    params = [SamplingParams(max_new_tokens=args.tokens, strategy="top_p", top_p=0.95, temperature=0.8, seed=s)
              for s in range(args.rows)]
    run_batch(generator, params)          # compile the shapes
    run_single(generator, params[:len(PROMPTS)])  # each prompt's shapes
    total = args.rows * args.tokens
    for repeat in range(args.repeats):
        batch_s, batch_texts = run_batch(generator, params)
        single_s, single_texts = run_single(generator, params)
        same = sum(a == b for a, b in zip(batch_texts, single_texts))
        print(f"run {repeat + 1}: batch {total / batch_s:.0f} tokens/s, single {total / single_s:.0f} tokens/s, "
              f"ratio {single_s / batch_s:.2f}x  (rows equal to single: {same}/{args.rows})", flush=True)
    forward, sampling = step_split(generator, params)
    one_forward, one_sampling = step_split(generator, params[:1])
    print(f"static (before), per step, {args.rows} rows: forward {forward:.2f} ms, sampling {sampling:.2f} ms; "
          f"1 row: forward {one_forward:.2f} ms, sampling {one_sampling:.2f} ms", flush=True)

    rows = generator.continuous(args.rows)
    rows.warm_up()                                  # every shape, the logits-out ones too
    rows.model.warm_up(sample=False)
    for repeat in range(args.repeats):
        batch_s, batch_texts = drive(rows, params)
        single_s, single_texts = run_continuous_single(rows, params)
        same = sum(a == b for a, b in zip(batch_texts, single_texts))
        print(f"continuous run {repeat + 1}: batch {total / batch_s:.0f} tokens/s, one at a time "
              f"{total / single_s:.0f} tokens/s, ratio {single_s / batch_s:.2f}x  (rows equal alone and in the "
              f"batch: {same}/{args.rows})", flush=True)
    for count in (args.rows, 1):
        while rows.busy:
            rows.step()
        split = continuous_split(rows, params[:count])
        print(f"continuous (after), per step, {count} rows: compiled call {split['with_sampling']:.2f} ms "
              f"(forward alone {split['forward']:.2f} ms, so sampling {split['with_sampling'] - split['forward']:.2f} ms), "
              f"Python {split['python']:.2f} ms", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
