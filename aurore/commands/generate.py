"""`python -m aurore generate`: make a trained model write, streamed to the terminal."""

from __future__ import annotations

import sys

from aurore import exercises, paths, progress
from aurore.errors import AuroreError


def register(subparsers) -> None:
    parser = subparsers.add_parser("generate", help="write text with a trained model (streamed)")
    parser.add_argument("--model", default=None,
                        help="model directory (default: the data folder's models/<preset>, or "
                             "models/<preset>-mine, your own model, with --use exercise)")
    parser.add_argument("--preset", default="cpu", help="which trained model, when --model is not given (cpu)")
    parser.add_argument("--prompt", default="", help="the beginning of the text (default: none)")
    parser.add_argument("--max-new-tokens", type=int, default=100, help="at most this many new tokens (100)")
    parser.add_argument("--strategy", choices=("greedy", "top_k", "top_p"), default="top_p",
                        help="how to choose each token (top_p)")
    parser.add_argument("--temperature", type=float, default=0.8, help="above 0; lower is safer (0.8)")
    parser.add_argument("--top-k", type=int, default=40, help="top_k: draw among the k likeliest (40)")
    parser.add_argument("--top-p", type=float, default=0.95, help="top_p: probability mass kept (0.95)")
    parser.add_argument("--seed", type=int, default=None, help="same seed, same text (default: random)")
    parser.add_argument("--stop-at-sentence-end", action="store_true", help="stop after the first sentence")
    parser.add_argument("--stop", action="append", default=[], metavar="TEXT",
                        help="stop before this text (repeatable)")
    parser.add_argument("--xla", action="store_true",
                        help="compile with XLA (faster for batches, but a slower start: off for one command)")
    parser.add_argument("--threads", type=int, default=1,
                        help="TensorFlow threads (default 1: fastest for one stream; 0 = TensorFlow's choice)")
    parser.add_argument("--use", choices=exercises.VARIANTS, default="solution",
                        help="the reference solution's sampler and model (default), or your exercise code's "
                             "sampler and your own model")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from aurore.generation import Generator, SamplingParams, limit_threads

    params = SamplingParams(max_new_tokens=args.max_new_tokens, strategy=args.strategy,
                            temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, seed=args.seed,
                            stop_at_sentence_end=args.stop_at_sentence_end, stop=tuple(args.stop))
    model_dir = args.model or paths.model_dir(args.preset, args.use)
    if args.threads < 0:
        raise AuroreError(f"--threads must be 0 or more, not {args.threads}.")
    limit_threads(args.threads)
    generator = Generator.load(model_dir, variant=args.use, xla=args.xla)
    json_mode = progress.mode() == "json"
    stream = generator.stream(args.prompt, params)
    shown_prompt = json_mode
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
