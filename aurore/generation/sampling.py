"""Sampling settings: how a model chooses its tokens, with their defaults and limits.

Why a module of its own: the JSON API, the OpenAI-compatible API, the
writers' form, the comparison, the `generate` and `export` commands and the
generator all take the same settings. FIELDS describes each one once (name,
kind, default, limits, CLI help, form texts (English msgids, translated by
the web layer's gettext catalogues), OpenAI name), and every one of those places is built from it; SamplingParams is a
dataclass made from FIELDS whose creation refuses a bad value with a message
naming the field and what is allowed. It imports no TensorFlow, so the web
app checks a request before any model is loaded.

    from aurore.generation.sampling import checked, SamplingParams

    SamplingParams(temperature=0.7, seed=1)           # InvalidField (an AuroreError) if out of range
    checked({"max_tokens": 0, ...}, max_new_tokens=50, names={"max_new_tokens": "max_tokens"})
    limits(max_new_tokens=50)                         # the bounds, as GET /info and the form show them

A new setting: one more `Setting` in FIELDS (and its form texts' French in
translations/, README "Translations"), then the sampler code that uses it (exercise 6's `choose_next_token`, the generator, the export's
KerasHub sampler if it applies there).

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


# --- the settings, each described once -------------------------------------------------

#: Kinds of setting: how each is checked, read from a command line and shown on the form.
INTEGER, NUMBER, CHOICE, FLAG, TEXTS = "integer", "number", "choice", "flag", "texts"
#: `Setting.openai_default` where an OpenAI request that leaves the setting out gets Aurore's default.
OWN_DEFAULT = "own default"


@dataclass(frozen=True)
class Setting:
    """One sampling setting, described once for every place that takes it.

    Why: the command line (`--top-k`), the writers' form, the JSON API, the
    OpenAI-compatible API, GET /info and SamplingParams all read their names,
    defaults, limits and texts from FIELDS, so a new setting is one more
    `Setting` there (plus the sampler code that uses it).
    """

    name: str                      # the API's and SamplingParams' name; the CLI's is `flag`
    kind: str                      # INTEGER, NUMBER, CHOICE, FLAG or TEXTS (stop strings)
    default: Any                   # None: optional (e.g. a seed: random when not given)
    help: str                      # the CLI's, in English; argparse writes the default for %(default)s
    low: float | None = None       # INTEGER and NUMBER: the lowest value...
    high: float | None = None      # ... and the highest
    low_open: bool = False         # NUMBER: `low` itself refused (above 0)
    server_limited: bool = False   # a server may lower `high` (`python app.py --max-new-tokens`)
    choices: tuple[str, ...] = ()  # CHOICE: the values accepted
    label: str | None = None       # the writers' form (a msgid, N_); None: not on it (TEXTS)
    form_help: str = ""            # the form's explanation (a msgid)
    step: float = 1                # the form's step, also its lowest value where `low_open`
    placeholder: str | None = None  # the form's text in an empty input (a msgid)
    options: tuple[tuple[str, str], ...] = ()  # CHOICE on the form: (value, its msgid), in order
    openai: str | None = None      # its name in an OpenAI request; None: not there
    openai_default: Any = OWN_DEFAULT  # its value when an OpenAI request leaves it out

    @property
    def flag(self) -> str:
        """The command line's option: `top_k` is `--top-k`."""
        return "--" + self.name.replace("_", "-")

    @property
    def optional(self) -> bool:
        return self.default is None

    def highest(self, server_limit: int = MAX_NEW_TOKENS) -> float | None:
        """`high`, or the server's lower limit where a server may lower it."""
        return min(server_limit, self.high) if self.server_limited else self.high

    def check(self, value, server_limit: int = MAX_NEW_TOKENS):
        """The value checked and normalised (a float, a tuple of strings...), or InvalidField naming the setting."""
        if self.kind == INTEGER:
            return check_int(self.name, value, self.low, self.highest(server_limit), nullable=self.optional)
        if self.kind == NUMBER:
            return check_number(self.name, value, self.low, self.highest(server_limit), low_open=self.low_open)
        if self.kind == CHOICE:
            return check_choice(self.name, value, self.choices)
        if self.kind == FLAG:
            return check_bool(self.name, value)
        return check_stop(self.name, value)

    def bounds(self, server_limit: int = MAX_NEW_TOKENS) -> dict:
        """Lowest, highest and default value, as GET /info reports them."""
        lowest = "min_exclusive" if self.low_open else "min"
        return {lowest: self.low, "max": self.highest(server_limit), "default": self.default}


def N_(text: str) -> str:  # noqa: N802  (gettext's name for it)
    """Marks a form text for `pybabel extract`: the web layer translates it when it shows the form."""
    return text


#: Every sampling setting, in the order the CLI's help and the form show them.
FIELDS: tuple[Setting, ...] = (
    Setting("max_new_tokens", INTEGER, 100, low=1, high=MAX_NEW_TOKENS, server_limited=True,
            help=f"at most this many new tokens, 1 to {MAX_NEW_TOKENS} (%(default)s)",
            label=N_("Length"), form_help=N_("How many tokens (pieces of words) to write at most."),
            openai="max_tokens", openai_default=16),
    Setting("strategy", CHOICE, "top_p", choices=STRATEGIES, help="how to choose each token (%(default)s)",
            label=N_("Choosing the next word"),
            form_help=N_("Greedy: always the most likely word (the same text every time). "
                         "top-k and top-p: a draw among the likely words."),
            options=(("top_p", N_("top-p")), ("top_k", N_("top-k")), ("greedy", N_("greedy")))),
    Setting("temperature", NUMBER, 0.8, low=0, high=MAX_TEMPERATURE, low_open=True,
            help=f"top_k and top_p: above 0, at most {MAX_TEMPERATURE:g}; lower is safer (%(default)s)",
            label=N_("Temperature"), step=0.05,
            form_help=N_("Lower: careful and repetitive; higher: daring, sometimes absurd."),
            openai="temperature", openai_default=1.0),
    Setting("top_k", INTEGER, 40, low=1, high=MAX_TOP_K,
            help=f"top_k: draw among the k likeliest, 1 to {MAX_TOP_K} (%(default)s)",
            label=N_("top-k"), form_help=N_("Draw only among the k most likely words (top-k strategy)."),
            openai="top_k"),
    Setting("top_p", NUMBER, 0.95, low=0, high=1, low_open=True,
            help="top_p: probability mass kept, above 0, at most 1 (%(default)s)",
            label=N_("top-p"), step=0.01,
            form_help=N_("Draw among the most likely words that together make p of the probability "
                         "(top-p strategy)."),
            openai="top_p", openai_default=1.0),
    Setting("seed", INTEGER, None, low=0, high=MAX_SEED, help="same seed, same text (default: random)",
            label=N_("Seed"), placeholder=N_("random"),
            form_help=N_("Same seed and settings: same text. Empty: a different text every time."),
            openai="seed"),
    Setting("stop_at_sentence_end", FLAG, False, help="stop after the first sentence",
            label=N_("End the sentence"), form_help=N_("Stop at the end of a sentence.")),
    Setting("stop", TEXTS, (), help=f"stop before this text (repeatable: at most {MAX_STOP_STRINGS}, "
                                    f"each at most {MAX_STOP_CHARS} characters)",
            openai="stop"),
)


def setting_names() -> tuple[str, ...]:
    """The settings' names, in order (read when called: FIELDS is the one list)."""
    return tuple(setting.name for setting in FIELDS)


def params_class(fields: tuple[Setting, ...]) -> type:
    """A frozen dataclass with one field per setting, each checked when an instance is made.

    Why built from FIELDS: a new setting reaches every caller of SamplingParams
    without a second list to keep in step. `max_new_tokens_limit` (not stored)
    is a lower limit than MAX_NEW_TOKENS, a server's.
    """

    def __post_init__(self, max_new_tokens_limit: int):
        for field in fields:
            object.__setattr__(self, field.name, field.check(getattr(self, field.name), max_new_tokens_limit))

    attributes = [(field.name, Any, dataclasses.field(default=field.default)) for field in fields]
    attributes.append(("max_new_tokens_limit", InitVar[int], dataclasses.field(default=MAX_NEW_TOKENS)))
    doc = ("How to choose the tokens; every field checked on creation (`InvalidField` naming it).\n\n"
           "Fields (sampling.FIELDS): " + ", ".join(field.name for field in fields) + ".")
    namespace = {"__post_init__": __post_init__, "__module__": __name__, "__doc__": doc}
    return dataclasses.make_dataclass("SamplingParams", attributes, frozen=True, namespace=namespace)


SamplingParams = params_class(FIELDS)


def checked(values: Mapping[str, Any], *, max_new_tokens: int = MAX_NEW_TOKENS,
            names: Mapping[str, str] | None = None) -> SamplingParams:
    """Settings from outside (a request, a form, a command line) as SamplingParams, checked once.

    Missing settings take their defaults; `max_new_tokens` is the caller's
    limit (a server's may be lower); `names` maps a setting to what the caller
    calls it, so that a refusal names the field the user typed.
    """
    names = names or {}
    known = setting_names()
    unknown = sorted(set(values) - set(known))
    if unknown:
        field = names.get(unknown[0], unknown[0])
        raise InvalidField(field, f"Unknown setting `{field}`.", "settings: " + ", ".join(known), "unknown_field")
    try:
        return SamplingParams(**values, max_new_tokens_limit=max_new_tokens)
    except InvalidField as error:
        raise error.renamed(names) from None


def limits(max_new_tokens: int = MAX_NEW_TOKENS) -> dict:
    """The bounds and defaults, as GET /info reports them and the writers' form uses them."""
    bounded = {setting.name: setting.bounds(max_new_tokens) for setting in FIELDS
               if setting.kind in (INTEGER, NUMBER) and not setting.optional}    # not the seed: any will do
    return {**bounded, "strategies": list(STRATEGIES),
            "stop": {"max_strings": MAX_STOP_STRINGS, "max_chars": MAX_STOP_CHARS}}
