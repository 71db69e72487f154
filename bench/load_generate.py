"""Load test of the generation API: N concurrent clients against a local server.

Starts the real server (`python app.py`, waitress) on 127.0.0.1 twice — with
batching, then serving one request at a time (`--no-batching`) — and has
`--clients` threads each stream `--requests` completions of `--tokens` new
tokens from `POST /api/generate/stream`. Prints, per mode: throughput (new
tokens/s, requests/s), latency p50/p95 (whole text) and time to first piece,
errors by kind (429 is the only acceptable one), and the batch speed-up.

The model: `--model DIR`, else data/models/cpu if trained, else a random model
of the `cpu` preset's shape (vocabulary 8000, context 256; speed does not
depend on the weights; bench/random_model.py) built once under --workdir.

Bounded: 127.0.0.1 only, at most 64 clients, every run stops after
--max-seconds. Usage:
    python bench/load_generate.py [--clients 16] [--requests 3] [--tokens 100] [--write]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.random_model import random_cpu_model  # noqa: E402

HOST = "127.0.0.1"
MAX_CLIENTS = 64
PROMPTS = ["Il était une fois, au bord de la Creuse, une jeune fille",
           "La nuit tombait sur la vallée noire quand",
           "Madame, dit-il en s'inclinant,",
           "Le vieux meunier chantait en marchant sur le chemin"]


# --- the server ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """`python app.py` in a subprocess, on a free loopback port, with its own data folder."""

    def __init__(self, model_dir: Path, batching: bool, workdir: Path, queue: int):
        self.port = free_port()
        data = workdir / ("data-batching" if batching else "data-single")
        models = data / "models"
        models.mkdir(parents=True, exist_ok=True)
        link = models / "cpu"
        if not link.exists():
            link.symlink_to(model_dir.resolve(), target_is_directory=True)
        args = [sys.executable, str(ROOT / "app.py"), "--host", HOST, "--port", str(self.port),
                "--queue", str(queue), "--threads", str(queue + 16), "--rate-limit", "0"]
        if not batching:
            args.append("--no-batching")
        env = {**os.environ, "AURORE_DATA": str(data)}
        self.log = (workdir / f"server-{'batching' if batching else 'single'}.log").open("w")
        self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def get(self, path: str) -> dict:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=10)
        try:
            connection.request("GET", path)
            return json.loads(connection.getresponse().read())
        finally:
            connection.close()

    def wait_ready(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server stopped; see {self.log.name}")
            try:
                if self.get("/health")["models_loaded"]:
                    return
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.5)
        raise SystemExit("the server did not load its model in time")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


# --- the clients ------------------------------------------------------------------------------------

def one_request(port: int, prompt: str, tokens: int, seed: int, timeout: float) -> dict:
    """Stream one completion; returns timings, new tokens, or the kind of error."""
    body = json.dumps({"prompt": prompt, "max_new_tokens": tokens, "seed": seed, "strategy": "top_p"})
    started = time.perf_counter()
    first = None
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("POST", "/api/generate/stream", body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        if response.status != 200:
            response.read()
            return {"error": f"HTTP {response.status}", "retry_after": response.getheader("Retry-After")}
        event = None
        for raw in response:
            line = raw.decode("utf-8").rstrip("\r\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                if event is None and first is None:
                    first = time.perf_counter() - started
                if event == "done":
                    done = json.loads(line[6:])
                    return {"seconds": time.perf_counter() - started, "first": first,
                            "new_tokens": done["new_tokens"], "queued": done["queued_seconds"]}
                if event == "error":
                    return {"error": "generation error"}
            elif not line:
                event = None
        return {"error": "stream ended without done"}
    except (OSError, http.client.HTTPException) as error:
        return {"error": type(error).__name__}
    finally:
        connection.close()


def load(port: int, clients: int, requests: int, tokens: int, max_seconds: float) -> dict:
    """`clients` threads, each `requests` streams in a row; all stop at the deadline."""
    results: list[dict] = []
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds
    barrier = threading.Barrier(clients)

    def client(index: int) -> None:
        barrier.wait()
        for n in range(requests):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            result = one_request(port, PROMPTS[(index + n) % len(PROMPTS)], tokens, 1000 * index + n, left)
            with lock:
                results.append(result)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ok = [r for r in results if "error" not in r]
    latencies = sorted(r["seconds"] for r in ok)
    firsts = sorted(r["first"] for r in ok if r["first"] is not None)
    return {
        "wall": wall, "requests": len(results), "ok": len(ok),
        "tokens": sum(r["new_tokens"] for r in ok),
        "tokens_per_s": sum(r["new_tokens"] for r in ok) / wall,
        "requests_per_s": len(ok) / wall,
        "p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
        "first_p50": percentile(firsts, 50), "first_p95": percentile(firsts, 95),
        "queued_p50": percentile(sorted(r["queued"] for r in ok), 50),
        "errors": dict(Counter(r["error"] for r in results if "error" in r)),
    }


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def warm_up(port: int, clients: int, tokens: int) -> None:
    """Compile the shapes the measured run will use (batch sizes, prompt widths) before measuring."""
    one_request(port, PROMPTS[0], tokens, 0, 300)
    load(port, clients, 1, tokens, 300)


# --- report -------------------------------------------------------------------------------------------

def fmt(value, unit="") -> str:
    return "—" if value is None else f"{value:.2f}{unit}"


def table(runs: dict[str, dict]) -> str:
    lines = ["| serving | requests ok / sent | new tokens/s | requests/s | latency p50 | latency p95 | "
             "first piece p50 | first piece p95 | mean batch | errors |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in runs.items():
        errors = ", ".join(f"{k}: {v}" for k, v in r["errors"].items()) or "none"
        lines.append(f"| {name} | {r['ok']} / {r['requests']} | {r['tokens_per_s']:.1f} | {r['requests_per_s']:.2f} | "
                     f"{fmt(r['p50'], ' s')} | {fmt(r['p95'], ' s')} | {fmt(r['first_p50'], ' s')} | "
                     f"{fmt(r['first_p95'], ' s')} | {fmt(r.get('mean_batch'))} | {errors} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=3, help="requests per client, one after the other (3)")
    parser.add_argument("--tokens", type=int, default=100, help="new tokens per request (100)")
    parser.add_argument("--model", type=Path, default=None, help="model directory (default: data/models/cpu, "
                                                                 "else a random model of that shape)")
    parser.add_argument("--workdir", type=Path, default=None, help="where the random model and logs go")
    parser.add_argument("--max-seconds", type=float, default=300, help="stop each run after this long (300)")
    parser.add_argument("--modes", default="batching,single", help="batching,single (both)")
    parser.add_argument("--write", action="store_true", help="write bench/results/load.md")
    parser.add_argument("--record", action="store_true",
                        help="write the batching ratio into course/figures.json (serving.*, the course quotes it)")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= MAX_CLIENTS:
        parser.error(f"--clients must be from 1 to {MAX_CLIENTS}")

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="aurore-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    from aurore import machine, paths
    from aurore.store import modeldir
    from aurore.training import presets

    default = paths.model_dir(presets.DEFAULT)
    model = args.model or (default if modeldir.is_model_dir(default) else None)
    model_note = f"trained model {model}" if model else "random model of the cpu shape"
    if model is None:
        model = random_cpu_model(workdir / "models" / "cpu")
    config = json.loads((model / modeldir.CONFIG_FILE).read_text())["backbone"]
    shape = (f"GPT-2 {config['num_layers']} layers, hidden {config['hidden_dim']}, vocabulary "
             f"{config['vocabulary_size']}, context {config['max_sequence_length']}")
    cpu = machine.summary(machine.describe())
    print(f"Model: {model_note} ({shape}); {cpu}; load average {os.getloadavg()[0]:.2f} at start", flush=True)

    runs: dict[str, dict] = {}
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        batching = mode == "batching"
        server = Server(model, batching, workdir, queue=max(32, args.clients))
        try:
            server.wait_ready()
            print(f"[{mode}] warming up…", flush=True)
            warm_up(server.port, args.clients, args.tokens)
            print(f"[{mode}] {args.clients} clients × {args.requests} requests × {args.tokens} tokens…", flush=True)
            before = server.get("/health")["queue"]["cpu"]["batches_run"]
            runs[mode] = result = load(server.port, args.clients, args.requests, args.tokens, args.max_seconds)
            batches = server.get("/health")["queue"]["cpu"]["batches_run"] - before
            result["mean_batch"] = result["ok"] / batches if batches else None
            print(f"[{mode}] {result['tokens_per_s']:.1f} tokens/s, p50 {fmt(result['p50'], ' s')}, "
                  f"p95 {fmt(result['p95'], ' s')}, errors {result['errors'] or 'none'}", flush=True)
        finally:
            server.stop()

    print()
    print(table(runs))
    speedup = None
    if "batching" in runs and "single" in runs and runs["single"]["tokens_per_s"]:
        speedup = runs["batching"]["tokens_per_s"] / runs["single"]["tokens_per_s"]
        print(f"\nBatching speed-up (throughput): {speedup:.1f}×")
    if args.write:
        write_results(runs, speedup, args, model_note, shape, cpu)
    if args.record and speedup is not None:
        from aurore.course import figures

        written = figures.record({"serving.batching_ratio": round(speedup, 2),
                                  "serving.batched_tokens_per_second": round(runs["batching"]["tokens_per_s"])},
                                 command=f"python bench/load_generate.py --clients {args.clients} --requests "
                                         f"{args.requests} --tokens {args.tokens} --record",
                                 decimals={"serving.batching_ratio": 1, "serving.batched_tokens_per_second": 0})
        print(f"recorded in {figures.FILE}: {', '.join(written)}")
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def write_results(runs, speedup, args, model_note, shape, cpu) -> None:
    text = f"""# Load: the generation API under concurrent clients

Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {cpu} (no GPU)
(Python {platform.python_version()}), by `python bench/load_generate.py --clients {args.clients} --requests {args.requests} --tokens {args.tokens}`.
The CPU may be shared with other work (the run prints the load average at its start): absolute
figures can be pessimistic and noisy; the ratio between the two modes, measured back to back, is the meaningful figure.

Model: {model_note} ({shape}). Each client streams `POST /api/generate/stream`
(top-p 0.95, temperature 0.8, {args.tokens} new tokens, a different seed each time) {args.requests} times in a row;
{args.clients} clients at once. Server: `python app.py` (waitress), default queue, batching worker
(window 10 ms, up to 250 ms while the clients of the last batch are expected back, up to 16 rows)
or `--no-batching` (one request at a time). A warm-up run compiles the
shapes first (each new batch size or prompt width costs seconds of compilation once).

{table(runs)}

Latency is the whole text (100 tokens), queueing included; "first piece" is the time to the first
text event. {"Batching speed-up (throughput): **%.1f×**." % speedup if speedup else ""}
"""
    out = ROOT / "bench" / "results" / "load.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"Written to {out}")


if __name__ == "__main__":
    sys.exit(main())
