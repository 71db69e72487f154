"""Load test of the generation API: concurrent clients against a local server, side by side.

Starts the real server (`python app.py`, waitress) on 127.0.0.1 once per mode —
`continuous` (continuous batching, the compiled sampler: the default server),
`static` (`--batching static`, the former scheduler) and `single`
(`--no-batching`, one request at a time) — and measures, in each:
- *alone*: one client, `--alone` streams one after the other (tokens/s, time
  to first piece): one request must be no slower than before;
- *load*: `--clients` threads each stream `--requests` completions of
  `--tokens` new tokens from `POST /api/generate/stream`, back to back:
  throughput (new tokens/s), latency p50/p95, time to first piece, errors by
  kind (429 is the only acceptable one), and the speed-up over `single`;
- *arrivals*: `--arrivals` requests arriving at random (Poisson, mean rate
  `--load-factor` × the continuous server's measured capacity, the same rate
  for every mode): time to first piece p50/p99, the figure a user feels.

The model: `--model DIR`, else data/models/cpu if trained, else a random model
of the `cpu` preset's shape (vocabulary 8000, context 256; speed does not
depend on the weights; bench/random_model.py) built once under --workdir.

Bounded: 127.0.0.1 only, at most 64 clients, every run stops after
--max-seconds. Usage:
    python bench/load_generate.py [--clients 16] [--requests 3] [--tokens 100] [--write] [--figures FILE]

`--write` appends the run to bench/results/load.md (its history is kept);
`--figures FILE` sets the key `batching_ratio` of that JSON file.
Prints `uptime` and the SIMD level; `ONEDNN_MAX_CPU_ISA=AVX2` caps the
servers too (they inherit the environment).
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
#: The server's options in each mode.
MODES = {"continuous": [], "static": ["--batching", "static"], "single": ["--no-batching"]}
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

    def __init__(self, model_dir: Path, mode: str, workdir: Path, queue: int | None = None,
                 max_batch: int | None = None, tf_threads: int | None = None):
        self.port = free_port()
        data = workdir / f"data-{mode}"
        models = data / "models"
        models.mkdir(parents=True, exist_ok=True)
        link = models / "cpu"
        if not link.exists():
            link.symlink_to(model_dir.resolve(), target_is_directory=True)
        args = [sys.executable, str(ROOT / "app.py"), "--host", HOST, "--port", str(self.port), "--rate-limit", "0"]
        args += ["--queue", str(queue)] if queue else []      # else the server's own default
        args += MODES[mode] + (["--max-batch", str(max_batch)] if max_batch else [])
        args += ["--tf-threads", str(tf_threads)] if tf_threads else []
        env = {**os.environ, "AURORE_DATA": str(data)}
        self.log = (workdir / f"server-{mode}.log").open("w")
        self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def get(self, path: str) -> dict:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=10)
        try:
            connection.request("GET", path)
            return json.loads(connection.getresponse().read())
        finally:
            connection.close()

    def wait_ready(self, timeout: float = 900) -> None:
        """Until the model is loaded and its shapes compiled (the server's preload): nothing compiles
        while the benchmark measures."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server stopped; see {self.log.name}")
            try:
                queues = self.get("/health")["queue"]
                if queues and all(load.get("warmed") for load in queues.values()):
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

#: Niceness of the client threads (`--client-nice`): 0, the server's, unless asked.
CLIENT_NICE = 0


def lower_priority(niceness: int) -> None:
    """This thread only (Linux: a thread's own nice value) yields the CPU to the server's threads."""
    if niceness and hasattr(os, "setpriority"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
        except OSError:
            pass


def one_request(port: int, prompt: str, tokens: int, seed: int, timeout: float) -> dict:
    """Stream one completion; returns timings, new tokens, or the kind of error."""
    lower_priority(CLIENT_NICE)
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
    return summary(results, time.perf_counter() - started)


def summary(results: list[dict], wall: float) -> dict:
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
        "first_p99": percentile(firsts, 99),
        "queued_p50": percentile(sorted(r["queued"] for r in ok), 50),
        "errors": dict(Counter(r["error"] for r in results if "error" in r)),
    }


def arrivals(port: int, count: int, rate: float, tokens: int, max_seconds: float, seed: int = 26) -> dict:
    """`count` requests arriving at random (a Poisson process of `rate` per second), each its own client."""
    import random

    rng = random.Random(seed)
    results: list[dict] = []
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds

    def client(index: int) -> None:
        result = one_request(port, PROMPTS[index % len(PROMPTS)], tokens, 5000 + index,
                             max(1.0, deadline - time.monotonic()))
        with lock:
            results.append(result)

    threads = []
    started = time.perf_counter()
    for index in range(count):
        if time.monotonic() > deadline:
            break
        thread = threading.Thread(target=client, args=(index,))
        thread.start()
        threads.append(thread)
        time.sleep(rng.expovariate(rate))
    for thread in threads:
        thread.join()
    result = summary(results, time.perf_counter() - started)
    result["rate"] = rate
    return result


def step_split(before: dict | None, after: dict | None, wall: float) -> dict | None:
    """Continuous batching: the server's own step timing over the load phase (two /health readings):
    per step, ms in the compiled calls (prefills included), in Python, and the rest of the wall time."""
    if not before or not after or after["steps"] == before["steps"]:
        return None
    steps = after["steps"] - before["steps"]
    model = 1000 * (after["model_seconds"] - before["model_seconds"]) / steps
    python = 1000 * (after["python_seconds"] - before["python_seconds"]) / steps
    return {"steps": steps, "rows": (after["rows"] - before["rows"]) / steps, "model_ms": model,
            "python_ms": python, "other_ms": 1000 * wall / steps - model - python}


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

def fmt(value, unit="", scale=1.0, digits=2) -> str:
    return "—" if value is None else f"{value * scale:.{digits}f}{unit}"


def errors_of(result: dict) -> str:
    return ", ".join(f"{k}: {v}" for k, v in result["errors"].items()) or "none"


def table(runs: dict[str, dict]) -> str:
    lines = ["| serving | alone: tokens/s | alone: first piece | load: ok / sent | load: new tokens/s | "
             "load: latency p50 / p95 | load: first piece p50 / p95 | load: mean rows | load: errors |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, run in runs.items():
        alone, r = run["alone"], run["load"]
        lines.append(f"| {name} | {alone['tokens_per_s']:.1f} | {fmt(alone['first_p50'], ' ms', 1000, 0)} | "
                     f"{r['ok']} / {r['requests']} | {r['tokens_per_s']:.1f} | "
                     f"{fmt(r['p50'], ' s')} / {fmt(r['p95'], ' s')} | "
                     f"{fmt(r['first_p50'], ' ms', 1000, 0)} / {fmt(r['first_p95'], ' ms', 1000, 0)} | "
                     f"{fmt(r.get('mean_batch'), digits=1)} | {errors_of(r)} |")
    return "\n".join(lines)


def arrivals_table(runs: dict[str, dict]) -> str:
    lines = ["| serving | rate (requests/s) | ok / sent | first piece p50 | first piece p99 | latency p50 | errors |",
             "|---|---|---|---|---|---|---|"]
    for name, run in runs.items():
        r = run.get("arrivals")
        if r:
            lines.append(f"| {name} | {r['rate']:.1f} | {r['ok']} / {r['requests']} | "
                         f"{fmt(r['first_p50'], ' ms', 1000, 0)} | {fmt(r['first_p99'], ' ms', 1000, 0)} | "
                         f"{fmt(r['p50'], ' s')} | {errors_of(r)} |")
    return "\n".join(lines)


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return f"load average {os.getloadavg()[0]:.2f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=3, help="requests per client, one after the other (3)")
    parser.add_argument("--tokens", type=int, default=100, help="new tokens per request (100)")
    parser.add_argument("--alone", type=int, default=5, help="requests of the lone client (5)")
    parser.add_argument("--arrivals", type=int, default=200, help="requests arriving at random (200; 0: none)")
    parser.add_argument("--load-factor", type=float, default=0.8,
                        help="mean arrival rate, as a share of the continuous server's capacity (0.8)")
    parser.add_argument("--rate", type=float, default=None,
                        help="mean arrival rate in requests/s (default: --load-factor × the measured capacity)")
    parser.add_argument("--queue", type=int, default=None, help="the servers' --queue (default: theirs, 64)")
    parser.add_argument("--max-batch", type=int, default=None, help="the servers' --max-batch (default: theirs, 32)")
    parser.add_argument("--client-nice", type=int, default=0, metavar="N",
                        help="run the client threads at this niceness (0–19; default 0): on a machine the clients "
                             "share with the server, their Python then waits for the server's instead of slowing it")
    parser.add_argument("--tf-threads", type=int, default=None,
                        help="the servers' --tf-threads (default: theirs, TensorFlow's choice)")
    parser.add_argument("--model", type=Path, default=None, help="model directory (default: data/models/cpu, "
                                                                 "else a random model of that shape)")
    parser.add_argument("--workdir", type=Path, default=None, help="where the random model and logs go")
    parser.add_argument("--max-seconds", type=float, default=300, help="stop each run after this long (300)")
    parser.add_argument("--modes", default="continuous,static,single", help="continuous,static,single (all)")
    parser.add_argument("--write", action="store_true", help="append the run to bench/results/load.md")
    parser.add_argument("--record", action="store_true",
                        help="write the batching ratio into course/figures.json (serving.*, the course quotes it)")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= MAX_CLIENTS:
        parser.error(f"--clients must be from 1 to {MAX_CLIENTS}")
    if not 0 <= args.client_nice <= 19:
        parser.error("--client-nice must be from 0 to 19")
    global CLIENT_NICE
    CLIENT_NICE = args.client_nice
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        parser.error(f"--modes: unknown {', '.join(unknown)}; choose among {', '.join(MODES)}")

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
    cpu = f"{machine.cpu_name()}, {machine.summary(machine.describe())}"
    loads = [uptime()]
    print(f"Model: {model_note} ({shape}); {cpu}; ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA', 'unset')}",
          flush=True)
    print(loads[0], flush=True)

    runs: dict[str, dict] = {}
    rate = args.rate
    for mode in modes:
        server = Server(model, mode, workdir, queue=args.queue, max_batch=args.max_batch, tf_threads=args.tf_threads)
        try:
            server.wait_ready()
            print(f"[{mode}] warming up…", flush=True)
            warm_up(server.port, args.clients, args.tokens)
            run = runs[mode] = {}
            print(f"[{mode}] one client alone, {args.alone} requests…", flush=True)
            run["alone"] = load(server.port, 1, args.alone, args.tokens, args.max_seconds)
            print(f"[{mode}] {args.clients} clients × {args.requests} requests × {args.tokens} tokens…", flush=True)
            before = server.get("/health")["queue"]["cpu"]
            run["load"] = result = load(server.port, args.clients, args.requests, args.tokens, args.max_seconds)
            health = server.get("/health")["queue"]["cpu"]
            batches = health["batches_run"] - before["batches_run"]
            result["step"] = step_split(before.get("steps"), health.get("steps"), result["wall"])
            # static: requests per batch; continuous: rows per step (the mean of the recent steps)
            result["mean_batch"] = (health.get("recent_mean_batch") if mode == "continuous"
                                    else result["ok"] / batches if batches else None)
            print(f"[{mode}] alone {run['alone']['tokens_per_s']:.1f} tokens/s; load {result['tokens_per_s']:.1f} "
                  f"tokens/s, p50 {fmt(result['p50'], ' s')}, errors {result['errors'] or 'none'}", flush=True)
            if result["step"]:
                print(f"[{mode}] in the server, a step of {result['step']['rows']:.1f} rows: "
                      f"{result['step']['model_ms']:.2f} ms compiled call, {result['step']['python_ms']:.2f} ms Python, "
                      f"{result['step']['other_ms']:.2f} ms between steps (hand-off, admission, waiting)", flush=True)
            if args.arrivals and mode != "single":
                if rate is None:
                    rate = args.load_factor * result["requests_per_s"]
                print(f"[{mode}] {args.arrivals} requests arriving at random, {rate:.1f}/s…", flush=True)
                run["arrivals"] = arrivals(server.port, args.arrivals, rate, args.tokens, args.max_seconds)
                a = run["arrivals"]
                print(f"[{mode}] first piece p50 {fmt(a['first_p50'], ' ms', 1000, 0)}, "
                      f"p99 {fmt(a['first_p99'], ' ms', 1000, 0)}, errors {a['errors'] or 'none'}", flush=True)
        finally:
            server.stop()
        loads.append(uptime())
        print(loads[-1], flush=True)

    print()
    print(table(runs))
    print()
    print(arrivals_table(runs))
    ratios = {}
    if "single" in runs and runs["single"]["load"]["tokens_per_s"]:
        for mode in ("continuous", "static"):
            if mode in runs:
                ratios[mode] = runs[mode]["load"]["tokens_per_s"] / runs["single"]["load"]["tokens_per_s"]
                print(f"\nSpeed-up over one at a time ({mode}): {ratios[mode]:.1f}×")
    if args.write:
        write_results(runs, ratios, args, model_note, shape, cpu, loads)
    if args.record and ratios:
        record_figures(runs, ratios, args, loads)
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def record_figures(runs, ratios, args, loads) -> None:
    """The course's serving figures (course/figures.json): the default scheduler's ratio and tokens per second."""
    from aurore.course import figures

    mode = "continuous" if "continuous" in ratios else next(iter(ratios))
    written = figures.record({"serving.batching_ratio": round(ratios[mode], 2),
                              "serving.batched_tokens_per_second": round(runs[mode]["load"]["tokens_per_s"])},
                             command=f"python bench/load_generate.py --clients {args.clients} --requests "
                                     f"{args.requests} --tokens {args.tokens} --modes {args.modes} --record",
                             load_average=str(loads),
                             decimals={"serving.batching_ratio": 1, "serving.batched_tokens_per_second": 0})
    print(f"recorded in {figures.FILE}: {', '.join(written)} ({mode} scheduling)")


def write_results(runs, ratios, args, model_note, shape, cpu, loads) -> None:
    """Append this run to bench/results/load.md: the file keeps every earlier run."""
    ratio_text = "; ".join(f"{mode} **{ratio:.1f}×**" for mode, ratio in ratios.items())
    server_options = "".join(f" --{name.replace('_', '-')} {value}" for name, value
                             in (("max_batch", args.max_batch), ("queue", args.queue),
                                 ("tf_threads", args.tf_threads), ("client_nice", args.client_nice)) if value)
    steps = [f"{mode}: a step of {run['load']['step']['rows']:.1f} rows took {run['load']['step']['model_ms']:.2f} ms "
             f"in the compiled call, {run['load']['step']['python_ms']:.2f} ms of Python and "
             f"{run['load']['step']['other_ms']:.2f} ms between steps (hand-off, admission, waiting)"
             for mode, run in runs.items() if run.get("load", {}).get("step")]
    text = f"""
## Run of {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC: continuous, static and one at a time side by side

`python bench/load_generate.py --clients {args.clients} --requests {args.requests} --tokens {args.tokens} --alone {args.alone} --arrivals {args.arrivals} --load-factor {args.load_factor}{server_options}`
on {cpu} (no GPU), Python {platform.python_version()}, `ONEDNN_MAX_CPU_ISA={os.environ.get("ONEDNN_MAX_CPU_ISA", "unset")}`.
Model: {model_note} ({shape}). `uptime` at the start and after each mode:
{chr(10).join("- " + line for line in loads)}

Each client streams `POST /api/generate/stream` (top-p 0.95, temperature 0.8, {args.tokens} new tokens, its
own seed). *Alone*: one client, {args.alone} requests in a row. *Load*: {args.clients} clients, {args.requests}
requests each, back to back ("mean rows": rows per step for continuous, requests per batch for static).

{table(runs)}

Speed-up over one at a time (load, tokens/s): {ratio_text or "—"}.
{"".join(chr(10) + "In the server (its /health timing, load phase): " + line + "." for line in steps)}

*Arrivals*: {args.arrivals} requests arriving at random (Poisson), at {args.load_factor:g} × the continuous
server's measured capacity, the same rate for each mode; "first piece" is the time to the first text event,
queueing included.

{arrivals_table(runs)}
"""
    from aurore.store.atomic import write_text

    out = ROOT / "bench" / "results" / "load.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    earlier = out.read_text(encoding="utf-8") if out.exists() else "# Load: the generation API under concurrent clients\n"
    write_text(out, earlier.rstrip("\n") + "\n" + text)       # atomically, the history kept
    print(f"Appended to {out}")


if __name__ == "__main__":
    sys.exit(main())
