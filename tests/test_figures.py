"""The course's measured figures come from one file (course/figures.json), never typed into the text.

The rule a learner-facing text keeps (lessons, hints, titles, course pages, the pages' catalogue):
once code (``` blocks and `spans`) and figure placeholders ({{key}}) are taken out, every number
left, written in digits, lies inside one of the ALLOWED phrases below: each is a number that is not
measured (an exercise's number, a time budget, a preset's size, a fact of the world…). A measured
figure typed by hand ("1,8", "1 700 pas", "15,9 %") matches none of them, and the test names it.
A ratio spelt out in words ("trois fois plus") is a measured figure too: SPELT_RATIOS finds those.
"""

from __future__ import annotations

import json
import re

import pytest
from babel.messages.pofile import read_po

from aurore import paths
from aurore.course import exercises, figures
from aurore.errors import AuroreError
from aurore.web import create_app
from aurore.web.workshop import course

#: A number in digits: "8 000", "8,000", "1,68", "2019", "1.6".
NUMBER = re.compile(r"\d+(?:[ \u00a0\u202f]\d{3})*(?:[.,]\d+)?")

#: Numbers that are not measured, with the words around them that say so (case-insensitive).
ALLOWED = [
    (r"GPT-2|UTF-8|ISO-8859-1|Windows-1252|SHA-256|127\.0\.0\.1", "names"),
    (r"(?:exercices?|exercises?|étapes?|steps?|leçons?|lessons?) \d+", "an exercise's, a lesson's or a step's number"),
    (r"^\s*(?:#+ )?\d+\. ", "a numbered list item or heading"),
    (r"jusqu'à \d+ complétions|up to \d+ completions", "a setting: the k of best-of-k decoding, not a measure"),
    (r"\d+ minutes", "a time budget (the run page's and the cpu preset's, tests/test_web_workshop.py checks them)"),
    (r"\d+ (?:couches|layers)|largeur \d+|width \d+|\d+ (?:blocs|blocks) (?:de|of) \d+|"
     r"\d+[ ,]048 (?:jetons|tokens)|\d+[ ,\u00a0]000 (?:jetons|tokens)|\d+(?: |-)(?:unités|units?)\b|"
     r"(?:blocs de|blocks of)\s+\d+ (?:caractères|characters)", "a preset's size or a setting"),
    (r"(?:rang|rank) \d+|\(\d+, \d+, \d+\)", "LoRA ranks offered"),
    (r"\d+ (?:octets|possible bytes)", "the bytes of byte-level BPE"),
    (r"\d+ (?:cœurs|cores)|\d+-core", "the workshop's target machine, not a measure"),
    (r"(?:au plus|at most|proche de|closer to|de somme|adding up to|ajoute|add|entre|between|numéro|id|"
     r"en tout,|together,) \d+"
     r"(?: (?:et|and) \d+)?|donne -1|gives -1", "arithmetic facts"),
    (r"(?:perplexité de|perplexity of)\s+\d+|(?:entre|between) \d+ (?:jetons|equally)|"
     r"(?:environ|about) 9 (?:pour|for)", "the perplexity's worked example (ln 8 000 ≈ 9)"),
    (r"(?:environ|about) \d+ (?:caractères|characters)|(?:les|the first) 30 (?:premières lignes|lines)",
     "Gutenberg's line width; the rule the lesson argues against"),
    (r"(?:morte en|died in) 1876|\b(?:XIXᵉ|XVIIᵉ|19th|17th)\b|OpenAI, 2019|124 (?:millions|million)|"
     r"40 (?:Go|GB)|\b429\b|\d+ (?:mots consécutifs|consecutive words)", "facts of the world, and of the API"),    (r"(?:from|de) \d+(?: (?:to|à) \d+)?|\b1 (?:to|à) %\(most\)s|T [<>] 1|\+1 (?:pour|for)|× 8", "the hints' arithmetic (a range of "
     "values, a schedule from 0, temperature against 1, add-one smoothing, bytes to bits)"),
    (r"[«“\"] ?1846\. ?[»”\"]", "a fragment the short-sentence filter drops (a date alone), quoted as an example"),
]

#: A ratio written in words is a measured figure ("plus de trois fois plus", "twice as much").
SPELT_RATIOS = re.compile(r"\b(?:deux|trois|quatre|cinq|dix) fois (?:plus|moins)\b|"
                          r"\b(?:twice|half) as (?:much|many)\b|\b(?:three|four|five|ten) times\b", re.I)
#: …except the settings compared in words: the code preset's context is twice the cpu preset's.
SPELT_ALLOWED = re.compile(r"deux fois plus de contexte|twice the context", re.I)


def _prose(text: str) -> str:
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"`[^`]*`", "", text)           # a code span may wrap a line
    return figures.PLACEHOLDER.sub("", text)


def _learner_texts():
    """(where, language, text): every text a learner reads, as written in its source."""
    for exercise in exercises.all_exercises():
        for lang in exercises.LANGS:
            for key in exercises.TEXT_KEYS:
                yield f"exercise {exercise.slug} {key}", lang, getattr(exercise, key)[lang]
            for hint in exercise.hints:
                for rung in exercises.HINT_RUNGS:
                    yield f"exercise {exercise.slug} hint {hint['function']} {rung}", lang, hint[rung][lang]
    for slug in course.PAGES:
        for lang in exercises.LANGS:
            yield f"course/{slug}.{lang}.md", lang, (course.COURSE_DIR / f"{slug}.{lang}.md").read_text(encoding="utf-8")
    catalogue = read_po((paths.ROOT / "translations/fr/LC_MESSAGES/messages.po").open("rb"))
    pages = {"en": [], "fr": []}                 # the pages' own texts: English msgids, French translations
    for message in catalogue:
        if message.id:
            pages["en"] += [message.id] if isinstance(message.id, str) else list(message.id)
            pages["fr"] += [message.string] if isinstance(message.string, str) else list(message.string)
    for lang, texts in pages.items():
        yield "the pages' texts (translations/fr/LC_MESSAGES/messages.po)", lang, "\n\n".join(texts)


def unexplained_numbers(text: str) -> list[str]:
    """The numbers of `text` that are neither a figure placeholder nor inside an ALLOWED phrase."""
    prose = _prose(text)
    one_line = prose.replace("\n", " ")     # same offsets; a phrase may wrap, a list item starts a line
    allowed = [range(m.start(), m.end()) for pattern, _ in ALLOWED
               for m in re.finditer(pattern, prose if pattern.startswith("^") else one_line, flags=re.I | re.M)]
    found = []
    for match in NUMBER.finditer(prose):
        if not any(match.start() in span and match.end() - 1 in span for span in allowed):
            found.append(prose[max(0, match.start() - 30):match.end() + 15].replace("\n", " "))
    spelt = [m.group() for m in SPELT_RATIOS.finditer(SPELT_ALLOWED.sub("", one_line))]
    return found + spelt


TEXTS = list(_learner_texts())


@pytest.mark.parametrize("where, lang, text", TEXTS, ids=[f"{w} {l}" for w, l, _ in TEXTS])
def test_a_number_in_the_learners_text_is_a_figure_or_not_measured(where, lang, text):
    unexplained = unexplained_numbers(text)
    assert not unexplained, (f"{where} ({lang}) types numbers that are not in course/figures.json: {unexplained}. "
                             "Name the figure ({{key}}, aurore/course/figures.py), or, for a number that is "
                             "not measured, add its phrase to ALLOWED with the reason.")


def test_the_rule_catches_a_typed_figure_and_passes_its_placeholder():
    """The mutations the rule must catch: a decimal typed in, a step count, a spelt-out ratio."""
    for typed in ("descend vers 1,8 à 1,9", "environ 1 700 pas", "15,9 % : à vous", "1.80 bits",
                  "plus de trois fois plus de jetons", "twice as many tokens", "592 steps"):
        assert unexplained_numbers(f"Le preset `cpu` {typed}.\n"), typed
    for fine in ("descend à {{gpt2.15min.bpc}}", "l'exercice 3", "les 15 minutes du preset", "`ln 0 = -inf`",
                 "3 couches de largeur 128", "1. **Préparer**", "deux fois plus de contexte que `cpu`"):
        assert not unexplained_numbers(f"{fine}\n"), fine


def test_every_placeholder_names_a_known_figure_in_both_languages():
    known = figures.load()
    for where, lang, text in TEXTS:
        rendered = figures.render(text, lang, known)
        assert "{{" not in rendered or "{{" in _strip_code(text), where


def _strip_code(text: str) -> str:
    return "".join(re.findall(r"```.*?```|`[^`\n]*`", text, flags=re.S))


def test_an_unknown_figure_is_named():
    with pytest.raises(AuroreError, match="no.such"):
        figures.render("{{no.such}}", "fr", {})


@pytest.fixture
def figure_file(tmp_path):
    path = tmp_path / "figures.json"
    path.write_text(json.dumps({"figures": {
        "gpt2.15min.bpc": {"what": "bits", "value": 1.682, "decimals": 2, "date": "2026-12-06",
                           "machine": {"cpu": "AMD EPYC", "cores": 2, "simd": "AVX-512", "capped_at": None}},
        "serving.batching_ratio": {"what": "ratio", "value": [1.9, 2.1], "decimals": 1, "date": "2026-12-06",
                                   "machine": {"label": {"fr": "un portable", "en": "a laptop"}}},
        "gpt2.15min.steps": {"what": "steps", "value": 6092, "decimals": 0, "date": "2026-12-06",
                             "machine": {"cpu": "AMD EPYC", "cores": 2, "simd": "AVX2", "capped_at": "AVX2"}},
    }}), encoding="utf-8")
    return path


def test_figures_are_written_as_the_page_language_writes_numbers(figure_file):
    known = figures.load(figure_file)
    text = "{{gpt2.15min.bpc}} · {{serving.batching_ratio}} · {{gpt2.15min.steps}} · {{gpt2.15min.steps:machine}}"
    assert figures.render(text, "fr", known) == "1,68 · 1,9–2,1 · 6\u202f092 · un processeur AMD EPYC, 2 cœurs, AVX2, limité à AVX2"
    assert figures.render(text, "en", known) == "1.68 · 1.9–2.1 · 6,092 · AMD EPYC, 2 cores, AVX2, capped at AVX2"
    assert figures.render("{{serving.batching_ratio:machine}}, {{gpt2.15min.bpc:date}}", "fr", known) \
        == "un portable, 2026-12-06"


def test_a_one_core_machine_is_written_in_the_singular():
    facts = {"cpu": "Intel Xeon", "cores": 1, "simd": "AVX-512+FMA", "capped_at": "AVX2"}
    assert figures.describe_machine(facts, "fr") == "un processeur Intel Xeon, 1 cœur, AVX-512+FMA, limité à AVX2"
    assert figures.describe_machine(facts, "en") == "Intel Xeon, 1 core, AVX-512+FMA, capped at AVX2"


def test_a_recorded_run_replaces_only_its_keys_stamped_with_machine_and_date(figure_file):
    written = figures.record({"gpt2.15min.bpc": 1.5}, command="bench/quality.py --minutes 15 --record",
                             load_average="0.1 → 1.0", path=figure_file)
    data = json.loads(figure_file.read_text(encoding="utf-8"))["figures"]
    assert written == ["gpt2.15min.bpc"]
    new = data["gpt2.15min.bpc"]
    assert new["value"] == 1.5 and new["what"] == "bits" and new["decimals"] == 2
    assert new["command"] == "bench/quality.py --minutes 15 --record" and re.match(r"\d{4}-\d\d-\d\d$", new["date"])
    assert new["machine"]["cores"] >= 1 and new["machine"]["simd"] and new["load"] == "0.1 → 1.0"
    assert data["serving.batching_ratio"]["value"] == [1.9, 2.1]          # the other keys are untouched
    assert figures.render("{{gpt2.15min.bpc}}", "fr", figures.load(figure_file)) == "1,50"
    with pytest.raises(AuroreError, match="derived"):
        figures.record({"gpt2.epoch_steps": 3}, command="x", path=figure_file)


def test_every_figure_says_what_it_is_where_when_and_how_it_was_measured():
    for key, figure in figures.load().items():
        for field in ("what", "value", "decimals", "machine", "date"):
            assert field in figure, f"{key} lacks {field}"
        if not figure.get("derived"):
            assert figure.get("command") and figure.get("source"), f"{key}: which command, which report?"


def test_the_pages_show_the_figures_in_the_page_language(tmp_path):
    """Lesson 5 and the conclusion render the file's figures: "1,68" on the French page, "1.68" on the English."""
    known = figures.load()
    app = create_app({"DATA_DIR": str(tmp_path), "TESTING": True, "CHECK_WORKER": False})
    client = app.test_client()
    evaluate = exercises.for_step("evaluate").number
    for lang in ("fr", "en"):
        expected = figures.format_value(known["gpt2.15min.bpc"], lang)
        lesson = client.get(f"/exercises/{evaluate}?lang={lang}").get_data(as_text=True)
        conclusion = client.get(f"/course/conclusion?lang={lang}").get_data(as_text=True)
        assert expected in lesson and expected in conclusion, lang
        assert figures.format_value(known["serving.batching_ratio"], lang) in conclusion
        assert "{{" not in lesson and "{{" not in conclusion
    assert "1,9–2,1" in client.get("/course/conclusion?lang=fr").get_data(as_text=True) \
        or known["serving.batching_ratio"]["value"] != [1.9, 2.1]
