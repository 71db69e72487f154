"""Reading and checking the JSON body of a generation request.

Why a module of its own: every field is checked the same strict way (a bool
is not an int, NaN is not a number, unknown fields are refused) and every
refusal names the field and the allowed range, for both the native API and
the OpenAI-compatible one.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

#: Largest request body the app reads (Flask's MAX_CONTENT_LENGTH; waitress refuses twice that at once).
MAX_BODY_BYTES = 64 * 1024
#: Largest prompt accepted, in UTF-8 bytes (the token limit is checked later, per model).
MAX_PROMPT_BYTES = 8 * 1024
#: Most new tokens one request may ask for.
MAX_NEW_TOKENS = 1024
MAX_TEMPERATURE = 2.0
MAX_TOP_K = 1000
MAX_STOP_STRINGS = 4
MAX_STOP_CHARS = 64
MAX_SEED = 2**63 - 1
STRATEGIES = ("greedy", "top_k", "top_p")


class BadRequest(Exception):
    """A body that is not JSON or not an object: HTTP 400."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidField(Exception):
    """A field with a wrong type or value: HTTP 422, naming the field and what is allowed."""

    status = 422

    def __init__(self, field: str, message: str, allowed: str | None = None, code: str = "invalid_value"):
        super().__init__(message)
        self.field = field
        self.message = message
        self.allowed = allowed
        self.code = code


def parse_body(raw: bytes) -> dict:
    """Strict JSON: UTF-8, no NaN/Infinity, an object at the top."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequest(f"The body is not valid UTF-8 (byte {error.start}).") from None
    if not text.strip():
        raise BadRequest("The body is empty: send a JSON object, e.g. {\"prompt\": \"Il était une fois\"}.")

    def refuse_constant(name: str):
        raise ValueError(f"{name} is not valid JSON")

    try:
        body = json.loads(text, parse_constant=refuse_constant)
    except (ValueError, RecursionError) as error:
        raise BadRequest(f"The body is not valid JSON ({error}).") from None
    if not isinstance(body, dict):
        raise BadRequest(f"The body must be a JSON object, not {_json_type(body)}.")
    return body


def _json_type(value: Any) -> str:
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
    if isinstance(value, list):
        return "an array"
    return "an object"


# --- field readers: each returns the checked value or raises InvalidField ---

def get_int(body: dict, field: str, default: int | None, low: int, high: int, *, nullable: bool = False) -> int | None:
    value = body.get(field, default)
    allowed = f"an integer from {low} to {high}" + (" or null" if nullable else "")
    if value is None and (nullable or field not in body):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidField(field, f"`{field}` must be an integer, not {_json_type(value)}.", allowed, "wrong_type")
    if not low <= value <= high:
        raise InvalidField(field, f"`{field}` is {value}; it must be from {low} to {high}.", allowed, "out_of_range")
    return value


def get_number(body: dict, field: str, default: float, low: float, high: float, *,
               low_open: bool, allow_low: bool = False) -> float:
    """A number in (low, high] (low_open) or [low, high]."""
    value = body.get(field, default)
    left = "(" if low_open and not allow_low else "["
    allowed = f"a number in {left}{low:g}, {high:g}]"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidField(field, f"`{field}` must be a number, not {_json_type(value)}.", allowed, "wrong_type")
    value = float(value)
    too_low = value < low or (low_open and not allow_low and value == low)
    if not math.isfinite(value) or too_low or value > high:
        raise InvalidField(field, f"`{field}` is {value:g}; it must be in {left}{low:g}, {high:g}].",
                           allowed, "out_of_range")
    return value


def get_bool(body: dict, field: str, default: bool) -> bool:
    value = body.get(field, default)
    if not isinstance(value, bool):
        raise InvalidField(field, f"`{field}` must be true or false, not {_json_type(value)}.",
                           "true or false", "wrong_type")
    return value


def get_choice(body: dict, field: str, default: str, choices: tuple[str, ...]) -> str:
    value = body.get(field, default)
    allowed = "one of " + ", ".join(f'"{c}"' for c in choices)
    if not isinstance(value, str) or value not in choices:
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, str) else _json_type(value)
        raise InvalidField(field, f"`{field}` is {shown}; it must be {allowed}.", allowed,
                           "wrong_type" if not isinstance(value, str) else "invalid_value")
    return value


def get_prompt(body: dict, field: str = "prompt", *, allow_list: bool = False) -> str:
    allowed = f"a non-blank string of at most {MAX_PROMPT_BYTES} bytes in UTF-8"
    if field not in body:
        raise InvalidField(field, f"`{field}` is missing: send the beginning of the text to continue.",
                           allowed, "missing")
    value = body[field]
    if allow_list and isinstance(value, list):     # OpenAI accepts ["one prompt"]
        if len(value) != 1 or not isinstance(value[0], str):
            raise InvalidField(field, f"`{field}` as an array must hold exactly one string "
                                      "(one completion per request).", allowed, "unsupported")
        value = value[0]
    if not isinstance(value, str):
        raise InvalidField(field, f"`{field}` must be a string, not {_json_type(value)}.", allowed, "wrong_type")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidField(field, f"`{field}` contains an unpaired UTF-16 surrogate (\\ud800–\\udfff), "
                                  "which is not a character.", allowed, "invalid_unicode") from None
    if not value.strip():
        raise InvalidField(field, f"`{field}` is empty or blank: write the beginning of a text.", allowed, "blank")
    if size > MAX_PROMPT_BYTES:
        raise InvalidField(field, f"`{field}` is {size} bytes long; at most {MAX_PROMPT_BYTES} are accepted.",
                           allowed, "too_long")
    return value


def get_stop(body: dict, field: str = "stop") -> tuple[str, ...]:
    value = body.get(field)
    allowed = f"a string or an array of up to {MAX_STOP_STRINGS} non-empty strings of at most {MAX_STOP_CHARS} characters"
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
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


def get_model(body: dict, field: str = "model") -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidField(field, f"`{field}` must be a model name (a string).", "a model name from GET /info",
                           "wrong_type")
    return value


def refuse_unknown(body: dict, known: set[str]) -> None:
    unknown = sorted(set(body) - known)
    if unknown:
        raise InvalidField(unknown[0], f"Unknown field `{unknown[0]}`.", "fields: " + ", ".join(sorted(known)),
                           "unknown_field")


# --- the two request shapes -----------------------------------------------------

@dataclass
class GenerationRequest:
    """A checked request: the prompt, the chosen model and the sampling settings."""
    prompt: str
    model: str | None
    sampling: dict          # keyword arguments of aurore.generation.SamplingParams
    stream: bool = False
    include_usage: bool = False


NATIVE_FIELDS = {"prompt", "model", "max_new_tokens", "strategy", "temperature", "top_k", "top_p", "seed",
                 "stop_at_sentence_end", "stop"}


def native_request(body: dict, max_new_tokens_limit: int = MAX_NEW_TOKENS) -> GenerationRequest:
    """POST /api/generate and /api/generate/stream."""
    refuse_unknown(body, NATIVE_FIELDS)
    prompt = get_prompt(body)
    sampling = {
        "max_new_tokens": get_int(body, "max_new_tokens", 100, 1, max_new_tokens_limit),
        "strategy": get_choice(body, "strategy", "top_p", STRATEGIES),
        "temperature": get_number(body, "temperature", 0.8, 0.0, MAX_TEMPERATURE, low_open=True),
        "top_k": get_int(body, "top_k", 40, 1, MAX_TOP_K),
        "top_p": get_number(body, "top_p", 0.95, 0.0, 1.0, low_open=True),
        "seed": get_int(body, "seed", None, 0, MAX_SEED, nullable=True),
        "stop_at_sentence_end": get_bool(body, "stop_at_sentence_end", False),
        "stop": get_stop(body),
    }
    return GenerationRequest(prompt=prompt, model=get_model(body), sampling=sampling)


OPENAI_FIELDS = {"model", "prompt", "max_tokens", "temperature", "top_p", "top_k", "stream", "stream_options",
                 "seed", "stop", "n", "best_of", "echo", "logprobs", "presence_penalty", "frequency_penalty",
                 "logit_bias", "user", "suffix"}


def openai_request(body: dict, max_new_tokens_limit: int = MAX_NEW_TOKENS) -> GenerationRequest:
    """POST /v1/completions, with OpenAI's defaults (max_tokens 16, temperature 1, top_p 1).

    temperature 0 means greedy decoding, as OpenAI clients expect.
    """
    refuse_unknown(body, OPENAI_FIELDS)
    prompt = get_prompt(body, allow_list=True)
    for field, accepted, what in (("n", (1, None), "1"), ("best_of", (1, None), "1"),
                                  ("echo", (False, None), "false"), ("logprobs", (None, 0), "null"),
                                  ("suffix", (None, ""), "null"),
                                  ("presence_penalty", (0, None), "0"), ("frequency_penalty", (0, None), "0")):
        value = body.get(field)
        if field in body and not (value is None or (not isinstance(value, bool) and value in accepted)
                                  or (value is False and False in accepted)):
            raise InvalidField(field, f"`{field}` is not supported by this server except as {what}.", what,
                               "unsupported")
    if body.get("logit_bias") not in (None, {}):
        raise InvalidField("logit_bias", "`logit_bias` is not supported by this server.", "null or {}",
                           "unsupported")
    if "user" in body and not isinstance(body["user"], str):
        raise InvalidField("user", "`user` must be a string.", "a string", "wrong_type")
    stream = get_bool(body, "stream", False)
    include_usage = False
    options = body.get("stream_options")
    if options is not None:
        if not isinstance(options, dict) or set(options) - {"include_usage"}:
            raise InvalidField("stream_options", "`stream_options` may only hold `include_usage`.",
                               '{"include_usage": true|false}', "wrong_type")
        include_usage = get_bool(options, "include_usage", False)
    temperature = get_number(body, "temperature", 1.0, 0.0, MAX_TEMPERATURE, low_open=True, allow_low=True)
    top_p = get_number(body, "top_p", 1.0, 0.0, 1.0, low_open=True)
    top_k = get_int(body, "top_k", None, 1, MAX_TOP_K, nullable=True)
    if temperature == 0.0:
        strategy, temperature = "greedy", 1.0
    elif top_k is not None:
        strategy = "top_k"
    else:
        strategy = "top_p"
    sampling = {
        "max_new_tokens": get_int(body, "max_tokens", 16, 1, max_new_tokens_limit),
        "strategy": strategy,
        "temperature": temperature,
        "top_k": top_k if top_k is not None else 40,
        "top_p": top_p,
        "seed": get_int(body, "seed", None, 0, MAX_SEED, nullable=True),
        "stop_at_sentence_end": False,
        "stop": get_stop(body),
    }
    return GenerationRequest(prompt=prompt, model=get_model(body), sampling=sampling, stream=stream,
                             include_usage=include_usage)
