"""Python code completion (bonus exercise 9): every figure of docs/benchmarks.md's code section, from one run.

    python bench/code_completion.py [--minutes 15] [--headers 200] [--k 8] [--pass-functions 60]
    python bench/code_completion.py --model data/models/code --skip-training     # measure a trained model

Prepares the standard-library corpus and its tokenizer first when the data
folder lacks them (`python -m aurore code prepare`, `… code tokenizer`),
trains from scratch for `--minutes` (unless `--skip-training`), then measures
on the held-out test files:

- bits per character;
- **raw** validity, one sample per function, sampled (top-p 0.95, T 0.8) and
  greedy, with the failure table (`code_syntax.classify`: why a body does
  not parse, and whether it ended at the dedent or was cut by the budget);
- **parse-guided** validity (best-of-k, `code_completion.guided`), with the
  tries it took;
- for each: characters per body, share of trivial bodies, seconds per function;
- **pass@1 and pass@k** on held-out functions with doctests, simple asserts
  of the test suite, or the suite's calls with the real body's values
  (`code_checks`), each candidate run in a child process;
- the CPU's SIMD level and the load average (the CPU may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aurore  # noqa: E402,F401
from aurore import machine, paths  # noqa: E402
from aurore.bonus import code_checks, code_completion, code_corpus, code_syntax  # noqa: E402
from aurore.course import exercises, figures  # noqa: E402
from aurore.commands.train import sample_writer  # noqa: E402
from aurore.training import loop, presets  # noqa: E402

GREEDY = {"strategy": "greedy"}


def train(args, data, tokenizer) -> dict:
    settings = presets.settings_from_args(args.preset, args.set)
    settings["eos_separates_sentences"] = False
    started = time.monotonic()
    summary = loop.train(exercises.rules("train"), data, tokenizer, args.model, settings, restart=True,
                         max_minutes=args.minutes, sampler=sample_writer,
                         sample_prompt=code_completion.SAMPLE_PROMPT)
    return {"summary": summary, "settings": settings, "wall_seconds": round(time.monotonic() - started)}


def raw(generator, module, headers, args, sampling) -> dict:
    started = time.perf_counter()
    completions = code_completion.complete(generator, headers, args.max_new_tokens, args.batch_size, sampling)
    seconds = time.perf_counter() - started
    report = code_completion.validity(module, headers, completions)
    return {**report, "seconds_per_function": seconds / len(headers)}


def pass_at_k(generator, functions, args) -> dict:
    """n samples per checked function; a sample that does not parse fails without being run."""
    headers = [function["header"] for function in functions]
    passed = [0] * len(functions)
    parsed = [0] * len(functions)
    for draw in range(args.pass_samples):
        texts = code_completion.complete(generator, headers, args.max_new_tokens, args.batch_size,
                                         seed=draw * len(headers))
        for i, (function, (text, _)) in enumerate(zip(functions, texts)):
            body, _ = code_syntax.function_end(function["header"], text)
            if code_syntax.parses(function["header"], body):
                parsed[i] += 1
                passed[i] += code_checks.run(function, body)
    n = args.pass_samples
    return {"functions": len(functions), "samples": n,
            "with_doctest": sum(bool(function["doctest"]) for function in functions),
            "by_source": {source: {"functions": sum(f["source"] == source for f in functions),
                                   "passed": sum(bool(c) for f, c in zip(functions, passed) if f["source"] == source)}
                          for source in ("doctest", "assert", "recorded")},
            "pass@1": sum(code_checks.pass_at_k(n, c, 1) for c in passed) / len(functions),
            f"pass@{n}": sum(bool(c) for c in passed) / len(functions),
            "parse_rate": sum(parsed) / (n * len(functions)),
            "passed": [f"{f['path']}:{f['name']}" for f, c in zip(functions, passed) if c]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=15)
    parser.add_argument("--model", default=str(paths.models_dir() / "code-bench"))
    parser.add_argument("--skip-training", action="store_true", help="measure the model in --model as it is")
    parser.add_argument("--preset", default="code")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--headers", type=int, default=200)
    parser.add_argument("--max-new-tokens", type=int, default=code_completion.DEFAULT_NEW_TOKENS)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--k", type=int, default=8, help="parse-guided decoding: most draws per function")
    parser.add_argument("--pass-functions", type=int, default=60, help="checked functions for pass@k (at most)")
    parser.add_argument("--max-body-lines", type=int, default=30, help="pass@k: small functions only (30 lines)")
    parser.add_argument("--pass-samples", type=int, default=5, help="samples per checked function (the k of pass@k)")
    parser.add_argument("--max-test-files", type=int, default=None, help="bits per character on the first N test "
                                                                         "files only (default: all, as for the figure)")
    figures.add_record_option(parser)
    args = parser.parse_args()

    from aurore.evaluation import scoring
    from aurore.generation.generator import Generator
    from aurore.store import modeldir

    module = exercises.rules("code")
    data, tokenizer = paths.code_dataset_dir(), paths.code_tokenizer_dir()
    if not (data / "dataset_dict.json").is_file():
        code_corpus.save(code_corpus.build(module, code_corpus.source_files()), data)
    if not (tokenizer / "tokenizer.json").is_file():
        code_completion.build_tokenizer(data, tokenizer, exercises.rules("tokenizer"))
    load_before = os.getloadavg()
    training = None if args.skip_training else train(args, data, tokenizer)
    load_after_training = os.getloadavg()

    corpus = code_corpus.load(data)
    loaded = modeldir.load(args.model)
    texts = list(corpus["test"]["text"])
    report = {"model": args.model, "step": loaded.settings.get("step"), "training": training,
              "settings": loaded.settings, "corpus": code_corpus.compute_stats(corpus)}
    report["bits_per_character"] = scoring.evaluate_texts(
        loaded, texts[:args.max_test_files], exercises.rules("evaluate"), args.batch_size)["bits_per_character"]
    generator = Generator(loaded, exercises.rules("generate"), xla=False, sentences_separated=False)
    headers = code_completion.held_out_headers(module, texts, args.headers)
    report["raw_sampled"] = raw(generator, module, headers, args, code_completion.SAMPLING)
    report["raw_greedy"] = raw(generator, module, headers, args, GREEDY)
    report["guided"] = code_completion.guided(generator, headers, args.k, args.max_new_tokens, args.batch_size)
    held_out = [(path, text) for split in ("test", "validation")
                for path, text in zip(corpus[split]["path"], corpus[split]["text"])]
    functions = [function for function in code_checks.collect(held_out, code_corpus.stdlib_dir())
                 if function["body"].count("\n") <= args.max_body_lines][:args.pass_functions]
    report["pass"] = pass_at_k(generator, functions, args) if functions else None
    facts = machine.describe()
    report.update(machine=facts, load_average_before=load_before, load_average_after_training=load_after_training,
                  load_average_after=os.getloadavg(), command=" ".join(sys.argv))
    print(json.dumps(report, indent=1, ensure_ascii=False, default=str))
    print_summary(report, args)
    if args.record:
        prefix = f"code.{args.minutes:g}min"
        load = f"{report['load_average_before'][0]:.1f} → {report['load_average_after'][0]:.1f}"
        written = figures.record({f"{prefix}.bpc": report["bits_per_character"],
                                  f"{prefix}.validity_percent": 100 * report["raw_sampled"]["validity"],
                                  f"{prefix}.guided_validity_percent": 100 * report["guided"]["validity"],
                                  f"{prefix}.guided_useful_percent": 100 * report["guided"]["useful"]},
                                 command=" ".join(["python", *sys.argv]), load_average=load,
                                 decimals={f"{prefix}.validity_percent": 1, f"{prefix}.guided_validity_percent": 1,
                                           f"{prefix}.guided_useful_percent": 1})
        print(f"recorded in {figures.FILE}: {', '.join(written)}")


def print_summary(report: dict, args) -> None:
    print(f"\nstep {report['step']}; test files: {report['bits_per_character']:.3f} bits per character; "
          f"{machine.summary(report['machine'])}; load {report['load_average_before'][0]:.1f} → "
          f"{report['load_average_after_training'][0]:.1f} → {report['load_average_after'][0]:.1f}")
    print("| decoding | validity | parses, not trivial | ended at the dedent | characters per body | trivial bodies "
          "| tries | s per function |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, key in (("raw, sampled (T 0.8, top-p 0.95)", "raw_sampled"), ("raw, greedy", "raw_greedy"),
                      (f"parse-guided, best of {args.k} (sampled)", "guided")):
        row = report[key]
        ended = f"{100 * row['finished']:.0f} %" if "finished" in row else "—"
        print(f"| {name} | **{100 * row['validity']:.1f} %** ({row['valid']} / {row['functions']}) | "
              f"{100 * row['useful']:.1f} % | {ended} | "
              f"{row['characters_per_body']:.0f} | {100 * row['trivial']:.0f} % | "
              f"{row.get('tries_per_function', 1):.2f} | {row['seconds_per_function']:.2f} |")
    print("\n| failure (raw, sampled) | function ended | cut by the token budget |\n|---|---:|---:|")
    for kind, counts in report["raw_sampled"]["failures"].items():
        print(f"| {kind} | {counts['ended']} | {counts['cut']} |")
    found = report["pass"]
    if found:
        n = found["samples"]
        print(f"\npass@1 {100 * found['pass@1']:.1f} %, pass@{n} {100 * found[f'pass@{n}']:.1f} % on "
              f"{found['functions']} checked functions; {100 * found['parse_rate']:.0f} % of their samples parse")
        print("| checks from | functions | passed at least once |\n|---|---:|---:|")
        for source, counts in found["by_source"].items():
            print(f"| {source} | {counts['functions']} | {counts['passed']} |")


if __name__ == "__main__":
    main()
