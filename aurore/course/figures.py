"""The measured figures the course quotes, kept in one file that the benchmarks write.

Why: the lessons, the course pages and the docs used to type their figures by
hand, and they drifted apart (1.7, 1.8 to 1.9 and 1.80 for the same model).
Now the learner-facing text names a figure, `{{gpt2.15min.bpc}}`, and the page
renders it from `course/figures.json` in its own language (1,68 in French,
1.68 in English); `{{gpt2.15min.bpc:machine}}` gives the machine it was
measured on and `{{gpt2.15min.bpc:date}}` the day. A benchmark run with
`--record` replaces its own keys, stamped with this machine and the date
(`record`). A few figures are derived from measured ones (`DERIVED`: an
epoch's steps from the corpus size and the tokenizer), so they follow them.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from pathlib import Path

from babel.numbers import format_decimal

from aurore import machine, paths
from aurore.errors import AuroreError
from aurore.store import atomic
from aurore.training import presets

FILE = paths.ROOT / "course" / "figures.json"
#: The instructor's guide carries the whole table, rewritten by `record` between these two lines.
DOCS = paths.ROOT / "docs" / "instructor.md"
DOCS_BEGIN = "<!-- figures:begin (written from course/figures.json by aurore/course/figures.py; do not edit) -->"
DOCS_END = "<!-- figures:end -->"

#: `{{key}}`, `{{key:machine}}`, `{{key:date}}`; a key is lower-case words joined by dots.
PLACEHOLDER = re.compile(r"\{\{\s*([a-z0-9_]+(?:\.[a-z0-9_]+)+)(?::(value|machine|date))?\s*\}\}")

LOCALES = {"fr": "fr_FR", "en": "en_GB"}

#: The words around the machine facts, in each course language.
_MACHINE_WORDS = {"fr": {"processor": "un processeur {name}", "core": "{n} cœur", "cores": "{n} cœurs",
                         "capped": "limité à {isa}"},
                  "en": {"processor": "{name}", "core": "{n} core", "cores": "{n} cores", "capped": "capped at {isa}"}}


def _epoch_steps(figures: dict) -> float:
    """Training tokens (characters ÷ characters per token) over the tokens a step of the cpu preset takes."""
    tokens = figures["corpus.train_characters"]["value"] / figures["tokenizer.characters_per_token"]["value"]
    cpu = presets.PRESETS[presets.DEFAULT]
    return tokens / (cpu["batch_size"] * cpu["sequence_length"])


_CORPUS = ("corpus.train_characters", "tokenizer.characters_per_token", "the cpu preset's tokens a step")

#: key: (how it is computed from the measured figures, decimals shown, whose machine and date it takes,
#: what it is, what it comes from).
DERIVED = {
    "corpus.train_tokens_millions": (
        lambda f: f["corpus.train_characters"]["value"] / f["tokenizer.characters_per_token"]["value"] / 1e6,
        1, "tokenizer.characters_per_token", "tokens of the training books, in millions",
        ("corpus.train_characters", "tokenizer.characters_per_token")),
    "gpt2.epoch_steps": (_epoch_steps, -2, "tokenizer.characters_per_token",
                         "training steps of the cpu preset in one epoch (one pass over the training books)", _CORPUS),
    "gpt2.5min.epochs": (lambda f: f["gpt2.5min.steps"]["value"] / _epoch_steps(f), 1, "gpt2.5min.steps",
                         "epochs the run page's 5 minutes covered", ("gpt2.5min.steps", *_CORPUS)),
    "gpt2.15min.epochs": (lambda f: f["gpt2.15min.steps"]["value"] / _epoch_steps(f), 1, "gpt2.15min.steps",
                          "epochs the cpu preset's 15 minutes covered", ("gpt2.15min.steps", *_CORPUS)),
    "tokenizer.gain": (lambda f: f["tokenizer.characters_per_token"]["value"]
                       / f["tokenizer.generic_characters_per_token"]["value"], 1,
                       "tokenizer.characters_per_token",
                       "how many times fewer tokens the specialised tokenizer needs than the generic one",
                       ("tokenizer.characters_per_token", "tokenizer.generic_characters_per_token")),
}


_cache: dict[Path, tuple[int, dict]] = {}


def load(path: Path | None = None) -> dict[str, dict]:
    """Every figure by key, the derived ones included; a damaged file is named, not a traceback.

    Read again only when the file changed (a page renders several texts).
    """
    path = FILE if path is None else Path(path)
    try:
        stamp = path.stat().st_mtime_ns
        if path in _cache and _cache[path][0] == stamp:
            return dict(_cache[path][1])
        figures = json.loads(path.read_text(encoding="utf-8"))["figures"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise AuroreError(f"Cannot read the course's figures in {path}: {error}. "
                          "Restore it with `git checkout course/figures.json`.") from error
    for key, (compute, decimals, like, what, sources) in DERIVED.items():
        try:
            value = compute(figures)
        except KeyError:
            continue
        figures[key] = {**figures[like], "value": value, "decimals": decimals, "what": what,
                        "derived": True, "derived_from": ", ".join(sources)}
    _cache[path] = (stamp, figures)
    return dict(figures)


def _number(value: float, decimals: int, lang: str) -> str:
    if decimals < 0:                     # rounded to tens, hundreds…: "about 800"
        value, decimals = round(value, decimals), 0
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=LOCALES.get(lang, LOCALES["fr"]))


def format_value(figure: dict, lang: str) -> str:
    """The value as the page's language writes it: "1,68" or "1.68"; a range "1,9–2,1"."""
    value, decimals = figure["value"], int(figure.get("decimals", 0))
    if isinstance(value, list):
        return "–".join(_number(v, decimals, lang) for v in value)
    return _number(value, decimals, lang)


def describe_machine(facts: dict, lang: str) -> str:
    """"un processeur AMD EPYC, 2 cœurs, AVX-512" or the figure's own label ("un portable à 2 cœurs AVX2")."""
    lang = lang if lang in _MACHINE_WORDS else "fr"
    if facts.get("label"):
        return facts["label"][lang]
    words = _MACHINE_WORDS[lang]
    cores = facts.get("cores", "?")
    parts = [words["processor"].format(name=facts.get("cpu") or "CPU"),
             words["core" if cores == 1 else "cores"].format(n=cores), facts.get("simd", "")]
    if facts.get("capped_at"):
        parts.append(words["capped"].format(isa=facts["capped_at"]))
    return ", ".join(part for part in parts if part)


def render(text: str, lang: str, figures: dict[str, dict] | None = None) -> str:
    """The text with each `{{key}}` replaced; an unknown key is an error that names it."""
    figures = load() if figures is None else figures

    def replace(match: re.Match) -> str:
        key, part = match.group(1), match.group(2) or "value"
        if key not in figures:
            raise AuroreError(f"No figure {key!r} in course/figures.json (the text asks for it as {match.group(0)}).")
        figure = figures[key]
        if part == "machine":
            return describe_machine(figure["machine"], lang)
        if part == "date":
            return figure["date"]
        return format_value(figure, lang)

    return PLACEHOLDER.sub(replace, text)


def this_machine() -> dict:
    """The facts `record` stamps on a figure: the CPU's name, cores, SIMD level and any cap."""
    facts = machine.describe()
    return {"cpu": machine.cpu_name(), "cores": facts["cores"], "simd": facts["simd"],
            "capped_at": facts.get("onednn_max_cpu_isa")}


def record(values: dict[str, float | list], *, command: str, load_average: str = "", decimals: dict | None = None,
           path: Path | None = None) -> list[str]:
    """Replace these keys' values in the file (atomically), stamped with this machine, today and the command.

    A key the file does not know yet is added with 2 decimals unless `decimals`
    says otherwise; the keys' descriptions (`what`) stay. Returns the keys written.
    """
    path = FILE if path is None else Path(path)
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"figures": {}}
    stamp = {"machine": this_machine(), "date": _dt.date.today().isoformat(), "command": command,
             "source": "recorded by the command above"}
    if load_average:
        stamp["load"] = load_average
    for key, value in values.items():
        if key in DERIVED:
            raise AuroreError(f"{key} is derived from other figures: record those instead.")
        old = data["figures"].get(key, {})
        data["figures"][key] = {"what": old.get("what", key),
                                "decimals": (decimals or {}).get(key, old.get("decimals", 2)),
                                **stamp, "value": value}
    atomic.write_text(path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    if path == FILE:
        refresh_docs()
    return sorted(values)


def docs_table(known: dict[str, dict] | None = None) -> str:
    """The Markdown table of every figure, in English, for the instructor's guide."""
    known = load() if known is None else known
    lines = ["| figure | value | what | machine | date | measured with |", "|---|---:|---|---|---|---|"]
    for key in sorted(known):
        figure = known[key]
        command = figure.get("command", "")
        how = f"derived from `{figure.get('derived_from', '')}`" if figure.get("derived") else f"`{command}`"
        if figure.get("load"):
            how += f", load {figure['load']}"
        what = figure["what"].replace("|", "/")
        lines.append(f"| `{key}` | {format_value(figure, 'en')} | {what} | "
                     f"{describe_machine(figure.get('machine', {}), 'en')} | {figure.get('date', '')} | {how} |")
    return "\n".join(lines)


def refresh_docs(path: Path = DOCS, known: dict[str, dict] | None = None) -> bool:
    """Rewrite the table between DOCS_BEGIN and DOCS_END; False where the guide has no such place."""
    if not path.exists():
        return False
    text = path.read_text(encoding="utf-8")
    before, begin, rest = text.partition(DOCS_BEGIN)
    _, end, after = rest.partition(DOCS_END)
    if not begin or not end:
        return False
    atomic.write_text(path, f"{before}{DOCS_BEGIN}\n{docs_table(known)}\n{DOCS_END}{after}")
    return True


def add_record_option(parser) -> None:
    """`--record`: the one flag with which a benchmark writes its figures into course/figures.json."""
    parser.add_argument("--record", action="store_true",
                        help="write this run's figures into course/figures.json (the course quotes them)")
