"""Reading and checking the JSON body of a generation request.

Why a module of its own: every field is checked the same strict way (a bool
is not an int, NaN is not a number, unknown fields are refused) and every
refusal names the field and the allowed range, for both the native API and
the OpenAI-compatible one. The sampling settings are checked by
`aurore.generation.sampling` (their one owner, whose FIELDS also give their
OpenAI names and defaults); this module reads the prompt, the model and the
OpenAI-only fields, and applies OpenAI's rules (temperature 0 is greedy).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from aurore.generation import sampling
from aurore.generation.sampling import check_bool, InvalidField, json_type, SamplingParams
from aurore.web.writers import code_api

#: Largest request body the app reads (Flask's MAX_CONTENT_LENGTH; waitress refuses twice that at once).
MAX_BODY_BYTES = 64 * 1024
#: Largest prompt accepted, in UTF-8 bytes (the token limit is checked later, per model).
MAX_PROMPT_BYTES = 8 * 1024


class BadRequest(Exception):
    """A body that is not JSON or not an object: HTTP 400."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


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
        raise BadRequest(f"The body must be a JSON object, not {json_type(body)}.")
    return body


def request_json() -> dict:
    """The request's body as a JSON object: the one way every JSON body of the app is read.

    Strict as `parse_body`; raises BadRequest (answer 400) on any malformed
    body, JSON nested deeper than Python's recursion limit included (Flask's
    `get_json(silent=True)` lets that RecursionError through: a 500).
    """
    from flask import request

    return parse_body(request.get_data(cache=False))


# --- fields that are not sampling settings: each returns the checked value or raises InvalidField ---

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
        raise InvalidField(field, f"`{field}` must be a string, not {json_type(value)}.", allowed, "wrong_type")
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
    sampling: SamplingParams
    stream: bool = False
    include_usage: bool = False
    syntax: str = "none"            # code completion: none, dedent or parse (aurore/web/writers/code_api.py)
    best_of: int = 1


def native_request(body: dict, max_new_tokens_limit: int = sampling.MAX_NEW_TOKENS) -> GenerationRequest:
    """POST /api/generate and /api/generate/stream: the settings' own names and defaults."""
    names = sampling.setting_names()
    refuse_unknown(body, {"prompt", "model", *names})
    prompt = get_prompt(body)
    settings = sampling.checked({name: body[name] for name in names if name in body},
                                max_new_tokens=max_new_tokens_limit)
    return GenerationRequest(prompt=prompt, model=get_model(body), sampling=settings)


#: The fields of an OpenAI request that are not sampling settings (those: `Setting.openai` in sampling.FIELDS).
OPENAI_OWN_FIELDS = {"model", "prompt", "stream", "stream_options", "n", "best_of", "echo", "logprobs",
                     "presence_penalty", "frequency_penalty", "logit_bias", "user", "suffix", "syntax"}


def openai_settings(body: dict) -> dict:
    """The sampling settings an OpenAI request sets, by Aurore's names; OpenAI's defaults where it is silent."""
    values = {}
    for setting in sampling.FIELDS:
        if setting.openai is None:
            continue
        if setting.openai in body:
            values[setting.name] = body[setting.openai]
        elif setting.openai_default != sampling.OWN_DEFAULT:
            values[setting.name] = setting.openai_default
    return values


def openai_names() -> dict[str, str]:
    """OpenAI's name for a sampling setting, where it differs (`max_new_tokens`: `max_tokens`)."""
    return {setting.name: setting.openai for setting in sampling.FIELDS
            if setting.openai is not None and setting.openai != setting.name}


def openai_request(body: dict, max_new_tokens_limit: int = sampling.MAX_NEW_TOKENS) -> GenerationRequest:
    """POST /v1/completions, with OpenAI's defaults (max_tokens 16, temperature 1, top_p 1).

    temperature 0 means greedy decoding, as OpenAI clients expect; a top_k
    (not OpenAI's) chooses top-k sampling.
    """
    refuse_unknown(body, OPENAI_OWN_FIELDS | {setting.openai for setting in sampling.FIELDS if setting.openai})
    prompt = get_prompt(body, allow_list=True)
    syntax, best_of = code_api.check(body)
    for field, accepted, what in (("n", (1, None), "1"),
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
    stream = check_bool("stream", body.get("stream", False))
    include_usage = False
    options = body.get("stream_options")
    if options is not None:
        if not isinstance(options, dict) or set(options) - {"include_usage"}:
            raise InvalidField("stream_options", "`stream_options` may only hold `include_usage`.",
                               '{"include_usage": true|false}', "wrong_type")
        include_usage = check_bool("include_usage", options.get("include_usage", False))
    values = openai_settings(body)
    values["strategy"] = "top_k" if values.get("top_k") is not None else "top_p"
    if values.get("top_k") is None:
        values.pop("top_k", None)       # null, as when absent: top-p sampling
    temperature = values["temperature"]
    if not isinstance(temperature, bool) and isinstance(temperature, (int, float)) and temperature == 0:
        values.update(strategy="greedy", temperature=1.0)
    settings = sampling.checked(values, max_new_tokens=max_new_tokens_limit, names=openai_names())
    return GenerationRequest(prompt=prompt, model=get_model(body), sampling=settings, stream=stream,
                             include_usage=include_usage, syntax=syntax, best_of=best_of)
