"""Why the server's compiled step is slower than in-process: the clients' Python threads, measured in-process.

    python bench/client_contention.py [--threads 1] [--model DIR]

A continuous batch of 16 rows (data/models/cpu) steps alone, then while 16
threads — standing in for the server's waitress threads, one a client — are
woken at every step and run a little Python each (json.dumps, as an SSE event
does): none, about 40 and about 120 microseconds. Prints each step's median
and p90 in ms. `--threads 1`: TensorFlow on one thread (limit_threads),
leaving the other core to the Python threads. docs/benchmarks.md, Load,
"third pass".
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aurore  # noqa: E402,F401
from aurore.course import exercises  # noqa: E402
from aurore.generation.generator import Generator, SamplingParams, limit_threads  # noqa: E402
from aurore.store import modeldir  # noqa: E402

ROWS = 16
#: json.dumps calls per woken thread: none, about 40 and about 120 microseconds of Python.
WORKLOADS = (0, 20, 60)


def fill(batch) -> None:
    for slot in list(batch.busy):
        batch.remove(slot)
    for seed in range(ROWS):
        batch.add("Il était une fois", SamplingParams(max_new_tokens=100, strategy="top_p", temperature=0.8,
                                                      top_p=0.95, seed=seed))


def step_times(batch, woken: list[threading.Event], steps: int = 90) -> list[float]:
    """Seconds of each step, the batch kept full; after each, every client thread is woken."""
    fill(batch)
    times = []
    for _ in range(steps):
        if len(batch.busy) < ROWS:
            fill(batch)
        started = time.perf_counter()
        batch.step()
        times.append(time.perf_counter() - started)
        for event in woken:
            event.set()
    return times


def clients(work: int, stop: threading.Event) -> list[threading.Event]:
    """ROWS threads, each waiting to be woken, then running `work` json.dumps calls."""
    def client(woken: threading.Event) -> None:
        while not stop.is_set():
            woken.wait()
            woken.clear()
            for _ in range(work):
                json.dumps({"text": "abc" * 5, "i": 3}, ensure_ascii=False)

    events = [threading.Event() for _ in range(ROWS)]
    for event in events:
        threading.Thread(target=client, args=(event,), daemon=True).start()
    return events


def report(label: str, times: list[float]) -> None:
    print(f"{label}: step median {1000 * statistics.median(times):.2f} ms, "
          f"p90 {1000 * sorted(times)[int(0.9 * len(times))]:.2f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="TensorFlow's threads (default: its own)")
    parser.add_argument("--model", default=str(Path(__file__).resolve().parent.parent / "data" / "models" / "cpu"))
    args = parser.parse_args()
    print(f"TensorFlow threads limited to {args.threads}: {limit_threads(args.threads)}", flush=True)
    batch = Generator(modeldir.load(args.model), exercises.rules("generate")).continuous(ROWS)
    batch.warm_up()
    report("alone", step_times(batch, []))
    for work in WORKLOADS:
        stop = threading.Event()
        woken = clients(work, stop)
        report(f"{ROWS} threads woken per step, {work} json.dumps each", step_times(batch, woken))
        stop.set()
        for event in woken:
            event.set()


if __name__ == "__main__":
    main()
