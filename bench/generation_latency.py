"""Generation speed: first-token latency and tokens per second, cold and warm.

    python bench/generation_latency.py [--model DIR] [--new-tokens 200] [--repeats 3] [--batch 1,4,8]

Without --model, builds a random model of the `cpu` preset's shape
(vocabulary 8000, context 256; speed does not depend on the weights; see
bench/random_model.py). The end-of-text token is ignored so
that every run writes exactly --new-tokens tokens.

Reports, for XLA on and off and each strategy: cold (first request of a
fresh Generator: tracing/compiling included), warm first-token latency
(prompt read + first token chosen) and warm tokens per second (over the
whole request), plus batched throughput (all rows' tokens per second).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aurore  # noqa: E402,F401
from aurore import machine  # noqa: E402
from aurore.course import exercises, figures  # noqa: E402
from aurore.generation.generator import Generator, limit_threads, SamplingParams  # noqa: E402
from bench.random_model import random_cpu_model  # noqa: E402

PROMPT = ("Il y avait dans ce village une jeune fille qui chantait le soir au bord de la rivière, "
          "et tout le monde l'écoutait en silence. Un jour,")


def endless(generator: Generator) -> Generator:
    generator.end_of_text_id = -1  # write exactly max_new_tokens tokens
    return generator


def measure(generator: Generator, params: SamplingParams, repeats: int) -> tuple[float, float, float, float]:
    """(cold seconds of the first run, warm first-token ms, warm tokens/s, warm tokens per CPU-second).

    Tokens per CPU-second (process CPU time) is what the run would get on an
    idle core: the sandbox's cores are shared, so wall-clock rates are low.
    """
    started = time.perf_counter()
    generator.generate(PROMPT, params)
    cold = time.perf_counter() - started
    firsts, rates, cpu_rates = [], [], []
    for _ in range(repeats):
        cpu = time.process_time()
        result = generator.generate(PROMPT, params)
        cpu = time.process_time() - cpu
        firsts.append(result.first_token_seconds * 1000)
        rates.append(result.new_tokens / result.seconds)
        cpu_rates.append(result.new_tokens / cpu)
    return cold, statistics.median(firsts), statistics.median(rates), statistics.median(cpu_rates)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--new-tokens", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", default="1,4,8", help="batch sizes for the throughput table")
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow threads (0: TensorFlow's default)")
    parser.add_argument("--xla", default="on,off", help="on, off or on,off")
    figures.add_record_option(parser)
    args = parser.parse_args()
    limit_threads(args.threads)
    xla_modes = [mode == "on" for mode in args.xla.split(",")]

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(args.model) if args.model else random_cpu_model(Path(tmp) / "cpu")
        print(f"model: {model_dir}  new tokens: {args.new_tokens}  repeats: {args.repeats}  "
              f"threads: {args.threads or 'default'}; {machine.summary(machine.describe())}; "
              f"load average {os.getloadavg()[0]:.2f} at start\n")
        print("| XLA | strategy | cold first request (s) | warm first token (ms) | warm tokens/s "
              "| warm tokens per CPU-second |")
        print("|---|---|---|---|---|---|")
        firsts, rates = [], []
        for xla in xla_modes:
            generator = endless(Generator.load(model_dir, exercises.rules("generate"), xla=xla))
            for strategy in ("greedy", "top_k", "top_p"):
                params = SamplingParams(max_new_tokens=args.new_tokens, strategy=strategy, seed=0)
                cold, first_ms, rate, cpu_rate = measure(generator, params, args.repeats)
                print(f"| {'on' if xla else 'off'} | {strategy} | {cold:.2f} | {first_ms:.1f} | {rate:.0f} "
                      f"| {cpu_rate:.0f} |", flush=True)
                firsts.append(first_ms)
                rates.append(rate)
        print("\n| XLA | rows | strategy | warm total tokens/s | per row tokens/s |")
        print("|---|---|---|---|---|")
        for xla in xla_modes:
            generator = endless(Generator.load(model_dir, exercises.rules("generate"), xla=xla))
            for rows in [int(b) for b in args.batch.split(",")]:
                params = [SamplingParams(max_new_tokens=args.new_tokens, strategy="top_p", seed=i)
                          for i in range(rows)]
                timings = []
                for _ in range(1 + args.repeats):  # the first run compiles this batch shape
                    started = time.perf_counter()
                    for _ in generator.stream_batch([PROMPT] * rows, params):
                        pass
                    timings.append(time.perf_counter() - started)
                total = rows * args.new_tokens / statistics.median(timings[1:])
                print(f"| {'on' if xla else 'off'} | {rows} | top_p | {total:.0f} | {total / rows:.0f} |", flush=True)
    if args.record and args.model:     # the course quotes a trained model's speed, not a random one's
        written = figures.record({"generation.first_token_ms": [round(min(firsts), 1), round(max(firsts), 1)],
                                  "generation.tokens_per_second": [round(min(rates)), round(max(rates))]},
                                 command=f"python bench/generation_latency.py --model {args.model} "
                                         f"--new-tokens {args.new_tokens} --record",
                                 decimals={"generation.first_token_ms": 1, "generation.tokens_per_second": 0})
        print(f"recorded in {figures.FILE}: {', '.join(written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
