"""`python -m aurore code [prepare|tokenizer|train|evaluate|all|complete]`: the Python completion bonus (exercise 9).

`complete` completes one prompt (`--prompt`, or standard input) as an
editor would insert it: `--syntax parse` (the default) draws up to `--k`
completions and keeps the first whose function parses and is not trivial,
`dedent` stops the first at the function's end, `none` gives it as written.

`--use` chooses exercise 9's code (the split by file, the headers, the
validity check); the tokenizer and the training run the reference solutions
of exercises 3 and 5, so the bonus runs even before they are done. The model
lands in the data folder's models/code, which the API serves as
`"model": "code"`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aurore import paths, progress
from aurore.bonus import code_completion, code_corpus, code_syntax
from aurore.commands import add_variant_option
from aurore.commands.train import sample_writer
from aurore.corpus import tokenization
from aurore.course import exercises
from aurore.errors import AuroreError
from aurore.messages import gettext, number
from aurore.training import loop, presets

STEPS = ("prepare", "tokenizer", "train", "evaluate")
MODEL_NAME = "code"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "code", help="bonus: a GPT-2 that completes Python code, and how often its code parses (exercise 9)",
        description="ACTION is one step (prepare: the standard library's files split by file; tokenizer: a "
                    "byte-level BPE specialised on them; train: GPT-2, resumed if interrupted; evaluate: bits per "
                    "character and validity of completed functions) or all of them in a row (the default; "
                    "prepare and tokenizer only once). complete: complete one prompt with the trained model, "
                    "syntax-aware by default. Each option serves the steps it names.")
    parser.add_argument("action", nargs="?", choices=(*STEPS, "all", "complete"), default="all",
                        help="the step (default: all)")
    parser.add_argument("--source", default=None,
                        help="prepare: folder of .py files (default: this Python's standard library)")
    parser.add_argument("--keep-source", action="store_true",
                        help="prepare: keep the files as written (default: normalised, docstrings and comments out)")
    parser.add_argument("--validation-share", type=float, default=0.1, help="prepare: share of files (0.1)")
    parser.add_argument("--test-share", type=float, default=0.1, help="prepare: share of files (0.1)")
    parser.add_argument("--vocab-size", type=int, default=tokenization.DEFAULT_VOCAB_SIZE,
                        help=f"tokenizer: vocabulary size (default {tokenization.DEFAULT_VOCAB_SIZE})")
    parser.add_argument("--preset", choices=sorted(presets.PRESETS), default="code",
                        help="train: model size and training recipe (default: code)")
    parser.add_argument("--max-minutes", type=float, default=None, help="train: stop after this many minutes")
    parser.add_argument("--max-steps", type=int, default=None, help="train: stop after this many steps in all")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="train: override a preset setting, e.g. --set batch_size=8 (repeatable)")
    parser.add_argument("--restart", action="store_true",
                        help="train: start from scratch (with all: every step again)")
    parser.add_argument("--headers", type=int, default=code_completion.DEFAULT_HEADERS,
                        help=f"evaluate: functions to complete (default {code_completion.DEFAULT_HEADERS})")
    parser.add_argument("--max-new-tokens", type=int, default=code_completion.DEFAULT_NEW_TOKENS,
                        help=f"evaluate: token budget of a completion (default {code_completion.DEFAULT_NEW_TOKENS})")
    parser.add_argument("--max-test-files", type=int, default=None,
                        help="evaluate: measure on the first N test files only (default: all)")
    parser.add_argument("--guided", type=int, default=0, metavar="K",
                        help="evaluate: also measure parse-guided decoding, best of K draws (default: raw only)")
    parser.add_argument("--prompt", default=None,
                        help="complete: the code to complete, ending with a function header (default: standard input)")
    parser.add_argument("--syntax", choices=code_syntax.SYNTAX_MODES, default="parse",
                        help="complete: parse (best of --k, the first whose function parses; the default), "
                             "dedent (stop at the function's end) or none (as written)")
    parser.add_argument("--k", type=int, default=code_completion.DEFAULT_K,
                        help=f"complete: most draws with --syntax parse (default {code_completion.DEFAULT_K})")
    parser.add_argument("--data", default=None, help="code corpus folder (default: the data folder's dataset-code/)")
    parser.add_argument("--tokenizer", default=None,
                        help="tokenizer folder (default: the data folder's tokenizer-code/)")
    parser.add_argument("--model", default=None, help="model folder (default: the data folder's models/code)")
    add_variant_option(parser)
    parser.set_defaults(handler=run)


def run(args) -> int:
    data = args.data or paths.code_dataset_dir()
    if args.action == "complete":
        _complete(args)
        return 0
    steps = STEPS if args.action == "all" else (args.action,)
    for step in steps:
        if args.action == "all" and not args.restart and _done(step, args):
            progress.log(gettext("Step %(step)s: already done (use --restart to run every step again).", step=step))
            continue
        if args.action == "all":
            progress.log(gettext("Step %(step)s…", step=step))
        STEP_FUNCTIONS[step](args, data)
    return 0


def _done(step: str, args) -> bool:
    if step == "prepare":
        return (Path(args.data or paths.code_dataset_dir()) / "dataset_dict.json").is_file()
    if step == "tokenizer":
        return (_tokenizer_dir(args) / "tokenizer.json").is_file()
    return False


def _tokenizer_dir(args) -> Path:
    return Path(args.tokenizer or paths.code_tokenizer_dir())


def _model_dir(args):
    return args.model or paths.models_dir() / MODEL_NAME


def _show(step: str, report: dict) -> None:
    progress.event("result", step=f"code-{step}", report=report)
    if progress.mode() != "json":
        print(json.dumps(report, indent=1))


def _prepare(args, data) -> None:
    module = exercises.rules("code", args.use)
    files = code_corpus.source_files(args.source, normalised=not args.keep_source)
    progress.log(gettext("%(count)s Python files read from %(source)s.", count=number(len(files), 0),
                         source=args.source or code_corpus.stdlib_dir()))
    corpus = code_corpus.build(module, files, args.validation_share, args.test_share)
    out, stats = code_corpus.save(corpus, data)
    progress.log(gettext("Code corpus saved in %(path)s: %(stats)s.", path=out, stats=code_corpus.format_stats(stats)))
    progress.event("dataset", path=str(out), stats=stats)


def _tokenizer(args, data) -> None:
    report = code_completion.build_tokenizer(data, _tokenizer_dir(args), exercises.rules("tokenizer"), args.vocab_size)
    _show("tokenizer", {key: report[key] for key in ("generic", "specialised", "size", "saved_to")})


def _train(args, data) -> None:
    code_corpus.load(data)                            # missing: say which command makes it
    if not (_tokenizer_dir(args) / "tokenizer.json").is_file():
        raise AuroreError(f"No code tokenizer in {_tokenizer_dir(args)}: run `python -m aurore code tokenizer` "
                          "first.")
    settings = presets.settings_from_args(args.preset, args.set, max_steps=args.max_steps)
    settings["eos_separates_sentences"] = False     # <|endoftext|> ends a file: completions stop there
    summary = loop.train(exercises.rules("train"), data, _tokenizer_dir(args), _model_dir(args),
                         settings, restart=args.restart, max_minutes=args.max_minutes,
                         sampler=sample_writer, sample_prompt=code_completion.SAMPLE_PROMPT)
    _show("train", summary)


def _evaluate(args, data) -> None:
    if args.headers < 1 or args.max_new_tokens < 1:
        raise AuroreError("--headers and --max-new-tokens must be at least 1.")
    if args.max_test_files is not None and args.max_test_files < 1:
        raise AuroreError("--max-test-files must be at least 1.")
    if args.guided < 0:
        raise AuroreError("--guided must be 0 (raw only) or a number of draws, e.g. 8.")
    report = code_completion.evaluate(_model_dir(args), data, exercises.rules("code", args.use),
                                      headers=args.headers, max_new_tokens=args.max_new_tokens,
                                      max_test_files=args.max_test_files, figures=exercises.rules("evaluate"),
                                      sampler=exercises.rules("generate"))
    if args.guided:
        report["guided"] = code_completion.evaluate_guided(_model_dir(args), data, exercises.rules("code", args.use),
                                                           args.guided, headers=args.headers,
                                                           max_new_tokens=args.max_new_tokens,
                                                           sampler=exercises.rules("generate"))
    code_completion.save_report(_model_dir(args), report)
    _show("evaluate", report)


def _complete(args) -> None:
    if args.k < 1 or args.max_new_tokens < 1:
        raise AuroreError("--k and --max-new-tokens must be at least 1.")
    prompt = args.prompt if args.prompt is not None else sys.stdin.read()
    if not prompt.strip():
        raise AuroreError("Nothing to complete: give the code with --prompt, or on standard input.")
    found = code_completion.complete_with_model(_model_dir(args), prompt, exercises.rules("generate"),
                                                syntax=args.syntax, k=args.k, max_new_tokens=args.max_new_tokens)
    if progress.mode() == "json":
        progress.event("result", step="code-complete", report=found)
    else:
        sys.stdout.write(prompt + found["text"])
        verdict = (gettext("the function parses.") if found["parses"] else gettext("the function does not parse.")
                   if found.get("judged", True) and args.syntax != "none" else gettext("not checked."))
        progress.log(gettext("%(tries)s draw(s), %(seconds)s s; %(verdict)s", tries=found["tries"],
                             seconds=number(found["seconds"], 2), verdict=verdict))


STEP_FUNCTIONS = {"prepare": _prepare, "tokenizer": _tokenizer, "train": _train, "evaluate": _evaluate}
