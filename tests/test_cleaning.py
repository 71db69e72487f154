"""Cleaning a Gutenberg file: markers in every form, credits, paragraphs, typography."""

from __future__ import annotations

import pytest

import fixture_books
from aurore.corpus import gutenberg, text_encoding
from aurore.course import exercises


@pytest.fixture(scope="module")
def solution():
    return exercises.load_module(1, "solution")


def _book(title_line_start: str, title_line_end: str, story: str = "Le récit commence ici.\n") -> str:
    return (f"The Project Gutenberg EBook of X\n\nThis eBook is for the use of anyone.\n\n"
            f"{title_line_start}\n\n{story}\n{title_line_end}\n\nTHE FULL PROJECT GUTENBERG LICENSE\n")


@pytest.mark.parametrize("start, end", [
    ("*** START OF THIS PROJECT GUTENBERG EBOOK LÉLIA ***", "*** END OF THIS PROJECT GUTENBERG EBOOK LÉLIA ***"),
    ("*** START OF THE PROJECT GUTENBERG EBOOK LES DAMES VERTES ***",
     "*** END OF THE PROJECT GUTENBERG EBOOK LES DAMES VERTES ***"),
    ("***START OF THE PROJECT GUTENBERG EBOOK LA MARE AU DIABLE***",
     "***END OF THE PROJECT GUTENBERG EBOOK LA MARE AU DIABLE***"),
    ("*** START OF THE PROJECT GUTENBERG EBOOK LA COMTESSE DE\nRUDOLSTADT ***",
     "*** END OF THE PROJECT GUTENBERG EBOOK LA COMTESSE DE\nRUDOLSTADT ***"),
    ("*** START OF THE PROJECT GUTENBERG EBOOK", "*** END OF THE PROJECT GUTENBERG EBOOK"),
    ("*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*",
     "End of the Project Gutenberg EBook of Lélia, by George Sand"),
    ("*** START OF THIS PROJECT GUTENBERG EBOOK X ***", "End of Project Gutenberg's X, by George Sand"),
])
def test_every_marker_form_is_cut(solution, start, end):
    story = solution.strip_gutenberg(_book(start, end))
    assert story.strip() == "Le récit commence ici."


def test_crlf_bom_and_stray_bom_are_normalised(solution):
    raw = "\ufeff" + _book("*** START OF THIS PROJECT GUTENBERG EBOOK X ***",
                           "*** END OF THIS PROJECT GUTENBERG EBOOK X ***",
                           "Première ligne\n\ufeffseconde ligne.\n").replace("\n", "\r\n")
    story = solution.strip_gutenberg(raw)
    assert "\r" not in story and "\ufeff" not in story
    assert solution.to_paragraphs(story) == ["Première ligne seconde ligne."]


def test_missing_markers_cut_best_effort(solution):
    raw = ("The Project Gutenberg EBook of X\nwww.gutenberg.org\n\n" + "Une phrase du récit.\n\n" * 40
           + "End of the Project Gutenberg EBook of X\nLicence text.\n")
    story = solution.strip_gutenberg(raw)
    assert "Gutenberg" not in story and "Licence" not in story
    assert story.count("Une phrase du récit.") == 40


def test_missing_markers_warning_is_shown(solution, capsys, monkeypatch):
    monkeypatch.setenv("AURORE_PROGRESS", "json")
    solution.strip_gutenberg("Rien que du texte, sans aucun marqueur.\n")
    assert "no Project Gutenberg START/END marker" in capsys.readouterr().out


def test_paragraphs_join_lines_and_keep_french_typography(solution):
    text = ("«Viens ici, mon\nenfant!» dit-elle—et l’autre\nrépondit… _oui_.\n\n\n"
            "Il avait vingt-\nhuit ans   et  demi.\n\n--Bonjour, dit\nGermain.\n")
    assert solution.to_paragraphs(text) == [
        "«Viens ici, mon enfant!» dit-elle—et l’autre répondit… oui.",
        "Il avait vingt-huit ans et demi.",
        "--Bonjour, dit Germain.",
    ]


def test_glued_heading_becomes_its_own_paragraph(solution):
    assert solution.to_paragraphs("CHAPITRE III\nLe lendemain, il partit.\n") == [
        "CHAPITRE III", "Le lendemain, il partit."]


def test_credits_and_edition_notes_are_removed(solution):
    paragraphs = [
        "Produced by Claudine Corbasson and the Online Distributed Proofreading Team at http://www.pgdp.net",
        "Produit par Daniel Fromont",
        "Notes de transcription: Les erreurs clairement introduites par le typographe ont été corrigées.",
        "George Sand (née Amandine Aurore Lucile Dupin) (1804-1876), La mare au diable (1846), édition de 1929",
        "[Illustration: images/ill_1.png]",
        "» » » 43 » 17 » aperçue au lieu de aperçu.",
        "LIBRAIRIE MARESCO ET Cie 6, RUE DU PONT-DE-LODI, PARIS",
        "Germain, au lieu de répondre, regarda la petite Marie.",
    ]
    assert solution.remove_credits(paragraphs) == ["Germain, au lieu de répondre, regarda la petite Marie."]


def test_headings_are_recognised():
    solution = exercises.load_module(2, "solution")     # is_heading serves exercise 2's split_sentences
    for heading in ["II", "XIV.", "CHAPITRE III", "Chapitre premier", "LA MARE AU DIABLE", "FIN", "NOTICE",
                    "IV Germain le fin laboureur", "X. Malgré le froid"]:
        assert solution.is_heading(heading), heading
    for prose in ["Il partit.", "M. le curé arriva.", "I. Le lendemain il partit au village."]:
        assert not solution.is_heading(prose), prose


@pytest.mark.parametrize("book_id", fixture_books.ALL_IDS)
def test_fixture_books_clean_to_story_only(solution, tmp_path, book_id):
    fixture_books.write_fixture_books(tmp_path)
    raw = text_encoding.decode((tmp_path / f"{book_id}.txt").read_bytes())
    paragraphs = solution.clean_book(raw)
    text = "\n".join(paragraphs)
    for marker in fixture_books.LEAK_MARKERS:
        assert marker not in text, (book_id, marker)
    assert "\ufeff" not in text and "\r" not in text and "_" not in text
    assert "Germain" in text and "«" in text
    assert any(p in ("I", "CHAPITRE I") for p in paragraphs)  # headings stay separate, for split_sentences


def test_encodings_of_fixture_books_are_detected(tmp_path):
    fixture_books.write_fixture_books(tmp_path)
    detected = {book: text_encoding.detect((tmp_path / f"{book}.txt").read_bytes())
                for book in fixture_books.ALL_IDS}
    a, b, c, d = fixture_books.ALL_IDS
    assert detected == {a: "utf-8-sig", b: "cp1252", c: "cp1252", d: "utf-8"}
    assert "l’air d’un homme" in text_encoding.decode((tmp_path / f"{c}.txt").read_bytes())


def test_start_marker_is_not_fooled_by_story_text():
    text = "Il lut: *** start of something ***\n"
    assert gutenberg.START_MARKER.search(text) is None


def test_declared_language_is_read_from_the_header_only():
    header = "Title: Indiana\r\nLanguage: English\r\n\r\n*** START OF THIS PROJECT GUTENBERG EBOOK INDIANA ***\r\n"
    assert gutenberg.declared_language(header + "Language: French\r\nStory.") == "English"
    assert gutenberg.declared_language("Language: French\n*** START OF THE PROJECT GUTENBERG EBOOK X ***\n") == "French"
    assert gutenberg.declared_language("*** START OF THE PROJECT GUTENBERG EBOOK X ***\nLanguage: English\n") is None


def test_the_workshop_catalogue_trains_on_french_books_only():
    from aurore.corpus import catalogue

    assert 63445 not in catalogue.training_ids()
    assert len(catalogue.training_ids()) == 11
