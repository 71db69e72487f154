"""Python code completion (bonus exercise 7) after N minutes of `code`-preset training.

    python bench/code_completion.py [--minutes 15] [--headers 100] [--max-new-tokens 128]

Prepares the standard-library corpus and its tokenizer first when the data
folder lacks them (`python -m aurore code prepare`, `… code tokenizer`), then
trains from scratch (the model directory is restarted) and prints the test
files' bits per character, the validity (the share of completed test
functions that `ast.parse` accepts; the seed's Elm model: 15.9 %), the share
of functions that ended within the token budget, the training speed
(steps/s), the CPU's SIMD level and oneDNN cap, and the load average seen
during the run (the CPU may be shared).
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
from aurore.bonus import code_completion, code_corpus  # noqa: E402
from aurore.course import exercises, figures  # noqa: E402
from aurore.commands.train import sample_writer  # noqa: E402
from aurore.training import loop, presets  # noqa: E402
from bench.quality import training_speed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=15)
    parser.add_argument("--model", default=str(paths.models_dir() / "code-bench"))
    parser.add_argument("--preset", default="code")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--headers", type=int, default=code_completion.DEFAULT_HEADERS)
    parser.add_argument("--max-new-tokens", type=int, default=code_completion.DEFAULT_NEW_TOKENS)
    parser.add_argument("--max-test-files", type=int, default=None, help="bits per character on the first N test "
                                                                         "files only (default: all, as for the figure)")
    figures.add_record_option(parser)
    args = parser.parse_args()

    module = exercises.rules("code")
    data, tokenizer = paths.code_dataset_dir(), paths.code_tokenizer_dir()
    if not (data / "dataset_dict.json").is_file():
        code_corpus.save(code_corpus.build(module, code_corpus.source_files()), data)
    if not (tokenizer / "tokenizer.json").is_file():
        code_completion.build_tokenizer(data, tokenizer, exercises.rules("tokenizer"))
    settings = presets.settings_from_args(args.preset, args.set)
    settings["eos_separates_sentences"] = False
    load_before = os.getloadavg()
    started = time.monotonic()
    summary = loop.train(exercises.rules("train"), data, tokenizer, args.model, settings, restart=True,
                         max_minutes=args.minutes, sampler=sample_writer,
                         sample_prompt=code_completion.SAMPLE_PROMPT)
    wall = time.monotonic() - started
    load_after = os.getloadavg()
    report = code_completion.evaluate(args.model, data, module, headers=args.headers,
                                      max_new_tokens=args.max_new_tokens, max_test_files=args.max_test_files,
                                      figures=exercises.rules("evaluate"), sampler=exercises.rules("generate"))
    speed = training_speed(Path(args.model), settings)
    facts = machine.describe()
    print(json.dumps({"minutes": args.minutes, "wall_seconds": round(wall), "training": summary,
                      "settings": settings, "corpus": code_corpus.compute_stats(code_corpus.load(data)),
                      "evaluation": report, "speed": speed, "machine": facts,
                      "load_average_before": load_before, "load_average_after": load_after},
                     indent=1, ensure_ascii=False))
    validity = report["validity"]
    print(f"test files: {report['test']['bits_per_character']:.3f} bits per character; validity "
          f"{100 * validity['validity']:.1f} % ({validity['valid']} of {validity['functions']} completed functions "
          f"parse; {100 * validity['finished']:.0f} % ended within {args.max_new_tokens} tokens) after "
          f"{wall / 60:.1f} min, step {summary['step']}, {speed['steps_per_second']:.2f} steps/s "
          f"({speed['tokens_per_second']:,.0f} tokens/s); {machine.summary(facts)}; "
          f"load average {load_before[0]:.1f} → {load_after[0]:.1f}")
    if args.record:
        prefix = f"code.{args.minutes:g}min"
        written = figures.record({f"{prefix}.bpc": report["test"]["bits_per_character"],
                                  f"{prefix}.validity_percent": 100 * validity["validity"]},
                                 command=f"python bench/code_completion.py --minutes {args.minutes:g} "
                                         f"--headers {args.headers} --record",
                                 load_average=f"{load_before[0]:.1f} → {load_after[0]:.1f}",
                                 decimals={f"{prefix}.validity_percent": 1})
        print(f"recorded in {figures.FILE}: {', '.join(written)}")


if __name__ == "__main__":
    main()
