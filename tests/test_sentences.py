"""Sentence splitting of French prose with a Punkt model trained offline."""

from __future__ import annotations

import json
import os

import pytest

import fixture_books
from aurore.corpus import sentences, text_encoding
from aurore.corpus.sentence_ends import split_prompt
from aurore.course import exercises


@pytest.fixture(scope="module")
def solution():
    return exercises.load_module(1, "solution")


@pytest.fixture(scope="module")
def training_text(solution, tmp_path_factory):
    folder = tmp_path_factory.mktemp("books")
    fixture_books.write_fixture_books(folder)
    paragraphs = []
    for book in fixture_books.TRAIN_IDS:
        paragraphs += solution.clean_book(text_encoding.decode((folder / f"{book}.txt").read_bytes()))
    return "\n\n".join(paragraphs)


@pytest.fixture(scope="module")
def split(training_text):
    return sentences.french_splitter(training_text)


@pytest.mark.parametrize("paragraph, expected", [
    ("M. le curé vint le voir. Il repartit le soir même.",
     ["M. le curé vint le voir.", "Il repartit le soir même."]),
    ("Mme Maurice et Mlle Marie arrivèrent. Le fermier les reçut.",
     ["Mme Maurice et Mlle Marie arrivèrent.", "Le fermier les reçut."]),
    ("On vendit des bœufs, des moutons, etc. Le soir, on rentra.",
     ["On vendit des bœufs, des moutons, etc.", "Le soir, on rentra."]),
    ("«Viens ici, mon enfant!» dit-elle. Il ne bougea pas.",
     ["«Viens ici, mon enfant!» dit-elle.", "Il ne bougea pas."]),
    ("« Tu viens. » Puis elle sortit.", ["« Tu viens. »", "Puis elle sortit."]),
    ("«Tu viens.» Puis elle sortit.", ["«Tu viens.»", "Puis elle sortit."]),
    ("—Bonjour, dit Germain. —Bonjour, répondit Marie.", ["—Bonjour, dit Germain.", "—Bonjour, répondit Marie."]),
    ("Il hésita… puis il partit.", ["Il hésita… puis il partit."]),
    ("Il hésita… Puis il partit.", ["Il hésita…", "Puis il partit."]),
    ("Je n'en sais rien... Enfin, nous verrons.", ["Je n'en sais rien...", "Enfin, nous verrons."]),
    ("Que voulez-vous? répondit Germain.", ["Que voulez-vous? répondit Germain."]),
    ("Il parla à M. Germain de la mare.", ["Il parla à M. Germain de la mare."]),
])
def test_hand_written_french(split, paragraph, expected):
    assert split(paragraph) == expected


def test_title_of_address_never_ends_a_sentence():
    """Even when Punkt knows no abbreviation at all, "M." / "Mme." keep their name."""
    from nltk.tokenize.punkt import PunktParameters

    split = sentences.SentenceSplitter(PunktParameters())
    assert split("Je vis M. Rollinat au village. Il partit.--MM. Duteil et Fleury vinrent.") == [
        "Je vis M. Rollinat au village.", "Il partit.--MM. Duteil et Fleury vinrent."]
    assert split("Il partit. Elle resta.") == ["Il partit.", "Elle resta."]


def _knows_vte() -> sentences.SentenceSplitter:
    """A Punkt model that learned "Vte." (vicomte) is an abbreviation, which the prompt rules do not know."""
    from nltk.tokenize.punkt import PunktParameters

    params = PunktParameters()
    params.abbrev_types = {"vte"}
    return sentences.SentenceSplitter(params)


def test_prompts_are_cut_by_the_corpus_punkt_model_when_given():
    prompt = "Le Vte. Raoul entra. Il "
    assert split_prompt(prompt) == ["Le Vte.", "Raoul entra.", "Il "]  # the rules cut after "Vte."
    assert split_prompt(prompt, _knows_vte()) == ["Le Vte. Raoul entra.", "Il "]


@pytest.mark.parametrize("prompt, expected", [
    ("Il partit. Elle", ["Il partit.", "Elle"]),
    ("Il partit. ", ["Il partit.", ""]),          # finished: the next token starts a sentence
    ("Il partit.", ["Il partit."]),              # maybe more is coming ("Il partit..")
    ("Il partit.\n", ["Il partit.", ""]),
    ("Il partit\nElle vint", ["Il partit", "Elle vint"]),  # a line is a paragraph, as in the corpus
    ("« Venez ! » dit-elle. Puis ", ["« Venez ! » dit-elle.", "Puis "]),  # the last keeps its space
    ("", [""]),
    ("   ", ["   "]),
])
def test_prompt_splitting_with_punkt_keeps_the_rules_contract(prompt, expected):
    assert split_prompt(prompt, _knows_vte()) == expected


def test_spans_cut_exactly_where_the_corpus_splitter_does(split, training_text):
    """`spans` (for prompts) and calling the splitter (for the corpus) are one set of rules."""
    paragraphs = [p for p in training_text.split("\n\n") if "  " not in p][:300]
    assert len(paragraphs) > 50
    for paragraph in paragraphs:
        assert [paragraph[start:end] for start, end in split.spans(paragraph)] == split(paragraph)


def test_chapter_headings_never_glue_nor_survive(solution, split):
    text = "II\n\n\nLe lendemain, il partit.\n\nCHAPITRE III\nIl revint le soir. Tout dormait.\n"
    found = solution.split_sentences(solution.to_paragraphs(text), split)
    assert found == ["Le lendemain, il partit.", "Il revint le soir.", "Tout dormait."]


def test_short_fragments_are_filtered(solution):
    assert solution.count_words("*       *       *") == 0
    assert solution.count_words("—Oui, dit-il, en 1846.") == 3
    assert not solution.keep_sentence("Oui.", 2)
    assert solution.keep_sentence("Il partit au matin.", 4)
    assert not solution.keep_sentence("Il partit au matin.", 5)


def test_parameters_cache_round_trip(training_text, tmp_path):
    first = sentences.french_splitter(training_text, tmp_path)
    files = list(tmp_path.glob("punkt-french-*.json"))
    assert len(files) == 1
    data = json.loads(files[0].read_text(encoding="utf-8"))
    assert "m" in data["abbrev_types"] and "mlle" in data["abbrev_types"]
    before = files[0].stat().st_mtime_ns
    second = sentences.french_splitter(training_text, tmp_path)
    assert files[0].stat().st_mtime_ns == before  # read, not trained again
    sample = "M. le curé vint. Il partit. Mme Maurice resta."
    assert first(sample) == second(sample) == ["M. le curé vint.", "Il partit.", "Mme Maurice resta."]


def test_damaged_cache_is_retrained(training_text, tmp_path):
    sentences.french_splitter(training_text, tmp_path)
    (cache,) = tmp_path.glob("punkt-french-*.json")
    cache.write_text("{ not json", encoding="utf-8")
    split = sentences.french_splitter(training_text, tmp_path)
    assert split("Il partit. Elle resta.") == ["Il partit.", "Elle resta."]
    assert json.loads(cache.read_text(encoding="utf-8"))["format"] == sentences.CACHE_FORMAT


def test_no_nltk_data_needed(training_text, monkeypatch, tmp_path):
    """Works with an empty NLTK_DATA: nothing is downloaded or looked up."""
    monkeypatch.setenv("NLTK_DATA", str(tmp_path))
    assert sentences.french_splitter("Il partit. Elle resta. " * 50)("Il partit. Elle resta.") == [
        "Il partit.", "Elle resta."]
    assert not os.listdir(tmp_path)
