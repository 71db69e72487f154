"""`python -m aurore generate`: make a trained model write, streamed to the terminal."""

from __future__ import annotations

import sys

from aurore import paths, progress
from aurore.commands import add_model_options, add_sampling_options
from aurore.course import exercises
from aurore.errors import AuroreError
from aurore.generation import sampling


def register(subparsers) -> None:
    parser = subparsers.add_parser("generate", help="write text with a trained model (streamed)")
    add_model_options(parser)
    parser.add_argument("--prompt", default="", help="the beginning of the text (default: none)")
    add_sampling_options(parser)
    parser.add_argument("--xla", action="store_true",
                        help="compile with XLA (faster for batches, but a slower start: off for one command)")
    parser.add_argument("--threads", type=int, default=1,
                        help="TensorFlow threads (default 1: fastest for one stream; 0 = TensorFlow's choice)")
    parser.add_argument("--use", choices=exercises.VARIANTS, default="solution",
                        help="the reference solution's sampler and model (default), or your exercise code's "
                             "sampler and your own model")
    parser.set_defaults(handler=run)


def run(args) -> int:
    params = sampling.checked({name: getattr(args, name) for name in sampling.setting_names()})

    from aurore.generation.generator import Generator, limit_threads

    model_dir = args.model or paths.model_dir(args.preset, args.use)
    if args.threads < 0:
        raise AuroreError(f"--threads must be 0 or more, not {args.threads}.")
    limit_threads(args.threads)
    generator = Generator.load(model_dir, exercises.rules("generate", args.use), xla=args.xla)
    json_mode = progress.mode() == "json"
    stream = generator.stream(args.prompt, params)
    shown_prompt = json_mode
    if json_mode:
        progress.event("prompt", text=args.prompt)     # the run page shows it before the text
    for piece in stream:
        if json_mode:
            progress.event("piece", text=piece)
            continue
        if not shown_prompt:  # after the first piece, so an unfinished exercise fails cleanly
            sys.stdout.write(args.prompt)
            shown_prompt = True
        sys.stdout.write(piece)
        sys.stdout.flush()
    result = stream.result
    if not shown_prompt:
        sys.stdout.write(args.prompt)
    if json_mode:
        progress.event("result", step="generate", report=vars(result))
    else:
        sys.stdout.write("\n")
        print(f"[{result.new_tokens} tokens, {result.finish_reason}, seed {result.seed}, "
              f"{result.seconds:.2f} s]", file=sys.stderr)
    return 0
