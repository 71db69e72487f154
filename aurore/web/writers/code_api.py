"""Syntax-aware code completion on `POST /v1/completions`: the `syntax` field (and `best_of` with it).

Why a module of its own: an editor wants the body of the function it is in,
cut where the function ends and, at best, valid Python. With `"syntax":
"dedent"` the completion stops at the function's end (the first line
indented no deeper than the prompt's last `def`); with `"syntax": "parse"` the
server draws up to `best_of` completions (4 when not given, at most
MAX_BEST_OF) one after the other, each through the model's queue, and
answers the first whose function parses and is not trivial
(`aurore.bonus.code_syntax.complete_prompt`). The answer comes whole (a
stream gets it as one chunk), with `usage` counting every draw and
`aurore` telling the draws used, whether it parses and the seconds.
OpenAI's Python client sends the field with `extra_body={"syntax": "parse"}`.
"""

from __future__ import annotations

import dataclasses

from aurore.bonus import code_syntax
from aurore.generation.sampling import InvalidField

DEFAULT_BEST_OF = 4
MAX_BEST_OF = 8


def check(body: dict) -> tuple[str, int]:
    """(syntax mode, draws) of a request: ("none", 1) without `syntax`; InvalidField on a bad value."""
    syntax = body.get("syntax", "none")
    if syntax is None:
        syntax = "none"
    if not isinstance(syntax, str) or syntax not in code_syntax.SYNTAX_MODES:
        raise InvalidField("syntax", "`syntax` must be one of: " + ", ".join(code_syntax.SYNTAX_MODES) + ".",
                           ", ".join(code_syntax.SYNTAX_MODES), "wrong_value")
    best_of = body.get("best_of")
    if best_of is None:
        return syntax, DEFAULT_BEST_OF if syntax == "parse" else 1
    if isinstance(best_of, bool) or not isinstance(best_of, int) or not 1 <= best_of <= (
            MAX_BEST_OF if syntax == "parse" else 1):
        allowed = f"1 to {MAX_BEST_OF} with \"syntax\": \"parse\", else 1"
        raise InvalidField("best_of", f"`best_of` must be {allowed}.", allowed, "unsupported")
    return syntax, best_of


def complete(generation, run_one) -> dict:
    """The chosen completion: `run_one(prompt, sampling)` runs one draw through the queue and returns its outcome.

    Draw i is seeded `seed + i` when the request gives a seed; a greedy
    request draws once (every draw would be the same).
    """
    outcomes = []
    draws = 1 if generation.sampling.strategy == "greedy" else generation.best_of

    def draw(asked: str, index: int) -> str:
        params = generation.sampling
        if params.seed is not None:
            params = dataclasses.replace(params, seed=params.seed + index)
        outcomes.append(run_one(asked, params))
        return outcomes[-1].text

    found = code_syntax.complete_prompt(generation.prompt, draw, generation.syntax, draws)
    last = outcomes[-1]
    return {"text": found["text"], "finish_reason": "stop" if found["ended"] else last.finish_reason,
            "prompt_tokens": last.prompt_tokens, "completion_tokens": sum(o.new_tokens for o in outcomes),
            "aurore": {"syntax": generation.syntax, "draws": found["tries"], "parses": found["parses"],
                       "trivial": found["trivial"], "seconds": round(found["seconds"], 4)}}
