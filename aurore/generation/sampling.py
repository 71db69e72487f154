"""Sampling settings: how a model chooses its tokens, with their defaults and limits.

Why a module of its own: the JSON API, the writers' form, the comparison,
the `generate` command and the generator all take the same settings; one
dataclass holds their defaults, one set of limits bounds them, and one
validation (run when a `SamplingParams` is made) refuses a bad value with a
message naming the field and what is allowed. It imports no TensorFlow, so
the web app checks a request before any model is loaded.

    from aurore.generation.sampling import checked, SamplingParams

    SamplingParams(temperature=0.7, seed=1)           # InvalidField (an AuroreError) if out of range
    checked({"max_tokens": 0, ...}, max_new_tokens=50, names={"max_new_tokens": "max_tokens"})
    limits(max_new_tokens=50)                         # the bounds, as GET /info and the form show them

Limits: the API's (one request asks for at most 1,024 new tokens, the
largest context of the presets; temperature at most 2; top_k at most 1,000;
at most 4 stop strings of 64 characters). A server may lower the new-token
limit (`python app.py --max-new-tokens`), never raise it.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import InitVar, dataclass
from typing import Any, Mapping

from aurore.errors import AuroreError

STRATEGIES = ("greedy", "top_k", "top_p")
#: Most new tokens one request may ask for (every preset's context is at most this long).
MAX_NEW_TOKENS = 1024
MAX_TEMPERATURE = 2.0
MAX_TOP_K = 1000
MAX_STOP_STRINGS = 4
MAX_STOP_CHARS = 64
MAX_SEED = 2**63 - 1


class InvalidField(AuroreError):
    """A setting (or request field) with a wrong type or value: names the field and what is allowed.

    `code` is the API's: "wrong_type", "out_of_range", "invalid_value", …
    """

    status = 422

    def __init__(self, field: str, message: str, allowed: str | None = None, code: str = "invalid_value"):
        super().__init__(message)
        self.field = field
        self.message = message
        self.allowed = allowed
        self.code = code

    def renamed(self, names: Mapping[str, str]) -> "InvalidField":
        """The same refusal, naming the field as the caller knows it (`max_tokens`, `--top-k`…)."""
        name = names.get(self.field, self.field)
        return InvalidField(name, self.message.replace(f"`{self.field}`", f"`{name}`"), self.allowed, self.code)


def json_type(value: Any) -> str:
    """How a value is called in a message: JSON's names, which every caller's user can read."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    return "an object"


# --- one check per kind of value: each returns the checked value or raises InvalidField ---

def check_int(field: str, value, low: int, high: int, *, nullable: bool = False) -> int | None:
    allowed = f"an integer from {low} to {high}" + (" or null" if nullable else "")
    if value is None and nullable:
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidField(field, f"`{field}` must be an integer, not {json_type(value)}.", allowed, "wrong_type")
    if not low <= value <= high:
        raise InvalidField(field, f"`{field}` is {value}; it must be from {low} to {high}.", allowed, "out_of_range")
    return value


def check_number(field: str, value, low: float, high: float, *, low_open: bool) -> float:
    """A number in (low, high] (low_open) or [low, high]."""
    left = "(" if low_open else "["
    allowed = f"a number in {left}{low:g}, {high:g}]"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidField(field, f"`{field}` must be a number, not {json_type(value)}.", allowed, "wrong_type")
    value = float(value)
    too_low = value < low or (low_open and value == low)
    if not math.isfinite(value) or too_low or value > high:
        raise InvalidField(field, f"`{field}` is {value:g}; it must be in {left}{low:g}, {high:g}].",
                           allowed, "out_of_range")
    return value


def check_bool(field: str, value) -> bool:
    if not isinstance(value, bool):
        raise InvalidField(field, f"`{field}` must be true or false, not {json_type(value)}.",
                           "true or false", "wrong_type")
    return value


def check_choice(field: str, value, choices: tuple[str, ...]) -> str:
    allowed = "one of " + ", ".join(f'"{c}"' for c in choices)
    if not isinstance(value, str) or value not in choices:
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, str) else json_type(value)
        raise InvalidField(field, f"`{field}` is {shown}; it must be {allowed}.", allowed,
                           "wrong_type" if not isinstance(value, str) else "invalid_value")
    return value


def check_stop(field: str, value) -> tuple[str, ...]:
    """None, one string or a list of them (OpenAI's `stop`)."""
    allowed = (f"a string or an array of up to {MAX_STOP_STRINGS} non-empty strings of at most "
               f"{MAX_STOP_CHARS} characters")
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(s, str) for s in items):
        raise InvalidField(field, f"`{field}` must be a string or an array of strings.", allowed, "wrong_type")
    if len(items) > MAX_STOP_STRINGS or any(not s or len(s) > MAX_STOP_CHARS for s in items):
        raise InvalidField(field, f"`{field}` must hold at most {MAX_STOP_STRINGS} strings, each 1 to "
                                  f"{MAX_STOP_CHARS} characters.", allowed, "out_of_range")
    for s in items:
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidField(field, f"`{field}` contains an unpaired surrogate.", allowed, "invalid_unicode") from None
    return tuple(items)


@dataclass(frozen=True)
class SamplingParams:
    """How to choose the tokens; every field checked on creation (`InvalidField` naming it).

    `max_new_tokens_limit` (not stored): a lower limit than MAX_NEW_TOKENS, a server's.
    """

    max_new_tokens: int = 100
    strategy: str = "top_p"      # "greedy" | "top_k" | "top_p"
    temperature: float = 0.8     # in (0, MAX_TEMPERATURE]
    top_k: int = 40              # 1 to MAX_TOP_K
    top_p: float = 0.95          # in (0, 1]
    seed: int | None = None      # None: a random seed, reported in the result
    stop_at_sentence_end: bool = False
    stop: tuple[str, ...] = ()   # stop strings, OpenAI-style; may be empty
    max_new_tokens_limit: InitVar[int] = MAX_NEW_TOKENS

    def __post_init__(self, max_new_tokens_limit: int):
        limit = min(max_new_tokens_limit, MAX_NEW_TOKENS)
        checked_values = {
            "max_new_tokens": check_int("max_new_tokens", self.max_new_tokens, 1, limit),
            "strategy": check_choice("strategy", self.strategy, STRATEGIES),
            "temperature": check_number("temperature", self.temperature, 0.0, MAX_TEMPERATURE, low_open=True),
            "top_k": check_int("top_k", self.top_k, 1, MAX_TOP_K),
            "top_p": check_number("top_p", self.top_p, 0.0, 1.0, low_open=True),
            "seed": check_int("seed", self.seed, 0, MAX_SEED, nullable=True),
            "stop_at_sentence_end": check_bool("stop_at_sentence_end", self.stop_at_sentence_end),
            "stop": check_stop("stop", self.stop),
        }
        for name, value in checked_values.items():
            object.__setattr__(self, name, value)


#: The settings' names, in order (the fields of SamplingParams).
FIELDS = tuple(field.name for field in dataclasses.fields(SamplingParams))
#: The defaults, for argument parsers and forms.
DEFAULTS = SamplingParams()


def checked(values: Mapping[str, Any], *, max_new_tokens: int = MAX_NEW_TOKENS,
            names: Mapping[str, str] | None = None) -> SamplingParams:
    """Settings from outside (a request, a form, a command line) as SamplingParams, checked once.

    Missing settings take their defaults; `max_new_tokens` is the caller's
    limit (a server's may be lower); `names` maps a setting to what the caller
    calls it, so that a refusal names the field the user typed.
    """
    names = names or {}
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        field = names.get(unknown[0], unknown[0])
        raise InvalidField(field, f"Unknown setting `{field}`.", "settings: " + ", ".join(FIELDS), "unknown_field")
    try:
        return SamplingParams(**values, max_new_tokens_limit=max_new_tokens)
    except InvalidField as error:
        raise error.renamed(names) from None


def limits(max_new_tokens: int = MAX_NEW_TOKENS) -> dict:
    """The bounds and defaults, as GET /info reports them and the writers' form uses them."""
    return {
        "max_new_tokens": {"min": 1, "max": min(max_new_tokens, MAX_NEW_TOKENS), "default": DEFAULTS.max_new_tokens},
        "temperature": {"min_exclusive": 0, "max": MAX_TEMPERATURE, "default": DEFAULTS.temperature},
        "top_k": {"min": 1, "max": MAX_TOP_K, "default": DEFAULTS.top_k},
        "top_p": {"min_exclusive": 0, "max": 1, "default": DEFAULTS.top_p},
        "strategies": list(STRATEGIES),
        "stop": {"max_strings": MAX_STOP_STRINGS, "max_chars": MAX_STOP_CHARS},
    }
