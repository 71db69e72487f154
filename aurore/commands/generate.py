"""`python -m aurore generate`: make a trained model write, streamed to the terminal.

`--attention [--layer L] [--head H] [--attention-file FILE]`: then show what
the model looked at over the prompt and its text (`aurore.generation.attention_map`,
computed by the attention exercise's `multi_head_attention`, the learner's with
`--use exercise`).
"""

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
    parser.add_argument("--attention", action="store_true",
                        help="after writing, show what the model looked at: for each token, the tokens it "
                             "attended to most in one layer and head")
    parser.add_argument("--layer", type=int, default=1, help="with --attention: the layer, from 1 (default 1)")
    parser.add_argument("--head", type=int, default=1, help="with --attention: the head, from 1 (default 1)")
    parser.add_argument("--attention-file", default=None, metavar="FILE",
                        help="with --attention: also write the map to FILE (JSON when it ends in .json, else text)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    params = sampling.checked({name: getattr(args, name) for name in sampling.setting_names()})

    from aurore.generation.generator import Generator, limit_threads

    model_dir = args.model or paths.model_dir(args.preset, args.use)
    if args.threads < 0:
        raise AuroreError(f"--threads must be 0 or more, not {args.threads}.")
    limit_threads(args.threads)
    generator = Generator.load(model_dir, exercises.rules("generate", args.use), xla=args.xla)
    attention = _attention_function(args, generator) if args.attention else None
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
    if attention is not None:
        _show_attention(args, generator, args.prompt + result.text, attention, json_mode)
    return 0


def _attention_function(args, generator):
    """The exercise's multi_head_attention, the layer and head checked before any writing."""
    from aurore.course.checks import learner_attention
    from aurore.generation import attention_map

    backbone = generator.model.backbone
    attention_map.checked_position("layer", args.layer, len(backbone.transformer_layers))
    attention_map.checked_position("head", args.head, int(backbone.num_heads))
    return learner_attention.attention_function(args.use)


def _show_attention(args, generator, text: str, attention, json_mode: bool) -> None:
    import json
    from pathlib import Path

    from aurore.course.checks import learner_attention
    from aurore.generation.attention_map import attention_map

    amap = attention_map(generator.model, text, args.layer, args.head, attention,
                         function=learner_attention.function_label(args.use))
    if json_mode:
        progress.event("attention", **amap.as_dict())
    else:
        sys.stdout.write("\n" + amap.as_text())
    if args.attention_file:
        path = Path(args.attention_file)
        content = (json.dumps(amap.as_dict(), ensure_ascii=False, indent=1) if path.suffix == ".json"
                   else amap.as_text())
        try:
            path.write_text(content, encoding="utf-8")
        except OSError as error:
            raise AuroreError(f"Could not write the attention map to {path}: {error.strerror or error}.") from error
        print(f"[attention map written to {path}]", file=sys.stderr)
