"""Checks for exercise 1: clean a Project Gutenberg file."""

EXERCISE = 1

import pytest

import fixture_books
from aurore.course.checks.plugin import say
from aurore.corpus import text_encoding

HEADER = ("\ufeffThe Project Gutenberg EBook of La Mare au Diable, by George Sand\r\n\r\n"
          "This eBook is for the use of anyone anywhere at no cost.\r\n\r\n")
FOOTER = "\r\n\r\nTHE FULL PROJECT GUTENBERG LICENSE\r\nProject Gutenberg is a registered trademark.\r\n"
STORY = "Germain, fier et dispos,\r\nsortit pour aller lier ses bœufs.\r\n"


def _leaks(text: str) -> list[str]:
    return [word for word in ("Gutenberg", "START", "END OF", "***", "LICENSE", "trademark") if word in text]


@pytest.mark.check(fr="strip_gutenberg garde le récit entre les marqueurs START et END",
                   en="strip_gutenberg keeps the story between the START and END markers")
def test_strip_between_markers(exercise_module):
    raw = (HEADER + "*** START OF THIS PROJECT GUTENBERG EBOOK LA MARE AU DIABLE ***\r\n\r\n" + STORY
           + "\r\n*** END OF THIS PROJECT GUTENBERG EBOOK LA MARE AU DIABLE ***" + FOOTER)
    story = exercise_module.strip_gutenberg(raw)
    assert isinstance(story, str), say(fr=f"strip_gutenberg doit renvoyer un texte (str), pas {type(story).__name__}.",
                                       en=f"strip_gutenberg must return a text (str), not {type(story).__name__}.")
    assert "Germain, fier et dispos" in story, say(
        fr="Le récit a disparu : gardez ce qui se trouve APRÈS le marqueur START et AVANT le marqueur END.",
        en="The story is gone: keep what lies AFTER the START marker and BEFORE the END marker.")
    assert not _leaks(story), say(
        fr=f"Il reste du texte de licence ({', '.join(_leaks(story))}) : coupez juste après la ligne START "
           f"(match.end()) et juste avant la ligne END (match.start()).",
        en=f"Licence text is left ({', '.join(_leaks(story))}): cut right after the START line (match.end()) "
           f"and right before the END line (match.start()).")


@pytest.mark.check(fr="strip_gutenberg reconnaît les autres formes de marqueurs",
                   en="strip_gutenberg recognises the other marker forms")
def test_strip_other_forms(exercise_module):
    forms = [
        ("***START OF THE PROJECT GUTENBERG EBOOK LA MARE AU DIABLE***",
         "***END OF THE PROJECT GUTENBERG EBOOK LA MARE AU DIABLE***"),
        ("*** START OF THE PROJECT GUTENBERG EBOOK LES DAMES VERTES ***",
         "End of the Project Gutenberg EBook of Les dames vertes, by George Sand"),
    ]
    for start, end in forms:
        story = exercise_module.strip_gutenberg(HEADER + start + "\r\n\r\n" + STORY + "\r\n" + end + FOOTER)
        assert "Germain, fier et dispos" in story and not _leaks(story), say(
            fr=f"Avec les marqueurs « {start} » … « {end} », le résultat n'est pas le récit seul. "
               "Utilisez gutenberg.START_MARKER et gutenberg.END_MARKER, qui connaissent toutes les formes.",
            en=f"With the markers “{start}” … “{end}”, the result is not the story alone. "
               "Use gutenberg.START_MARKER and gutenberg.END_MARKER, which know every form.")


@pytest.mark.check(fr="strip_gutenberg ne plante pas sans marqueurs", en="strip_gutenberg does not crash without markers")
def test_strip_without_markers(exercise_module):
    text = "Un texte sans aucun marqueur.\n\nIl faut le garder quand même.\n"
    story = exercise_module.strip_gutenberg(text)
    assert "Il faut le garder quand même." in story, say(
        fr="Sans marqueurs, le texte doit être gardé (au mieux) avec un avertissement, pas perdu.",
        en="Without markers the text must be kept (best effort) with a warning, not lost.")


@pytest.mark.check(fr="to_paragraphs recolle les lignes en paragraphes", en="to_paragraphs joins lines into paragraphs")
def test_paragraphs(exercise_module):
    text = "«Viens ici, mon\nenfant!» dit-elle—et l’autre\nrépondit… _oui_.\n\n\nIl  partit.\n"
    found = exercise_module.to_paragraphs(text)
    expected = ["«Viens ici, mon enfant!» dit-elle—et l’autre répondit… oui.", "Il partit."]
    assert found == expected, say(
        fr=f"Attendu {expected!r}, obtenu {found!r}. Séparez aux lignes vides, joignez les lignes par des espaces, "
           "retirez les _ et gardez la ponctuation française telle quelle.",
        en=f"Expected {expected!r}, got {found!r}. Split at blank lines, join lines with spaces, "
           "remove the _ and keep French punctuation as it is.")


@pytest.mark.check(fr="to_paragraphs gère les mots coupés et les titres collés",
                   en="to_paragraphs handles cut words and glued headings")
def test_paragraphs_details(exercise_module):
    found = exercise_module.to_paragraphs("II\nIl avait vingt-\nhuit ans.\n")
    expected = ["II", "Il avait vingt-huit ans."]
    assert found == expected, say(
        fr=f"Attendu {expected!r}, obtenu {found!r}. Un mot coupé après son tiret (« vingt- » / « huit ») "
           "se recolle sans espace, et un titre (gutenberg.HEADING) collé au texte devient son propre paragraphe.",
        en=f"Expected {expected!r}, got {found!r}. A word cut after its hyphen (“vingt-” / “huit”) is joined "
           "without a space, and a heading (gutenberg.HEADING) glued to the text becomes its own paragraph.")


@pytest.mark.check(fr="remove_credits retire les crédits de production", en="remove_credits drops the production credits")
def test_remove_credits(exercise_module):
    paragraphs = ["Produced by Daniel Fromont.", "Produit par Daniel Fromont",
                  "Germain, fier et dispos, sortit pour aller lier ses bœufs."]
    found = exercise_module.remove_credits(paragraphs)
    assert found == paragraphs[2:], say(
        fr=f"Il devait rester seulement le récit, on a {found!r}. Gardez les paragraphes où "
           "gutenberg.CREDITS.search(paragraphe) ne trouve rien.",
        en=f"Only the story should be left, got {found!r}. Keep the paragraphs where "
           "gutenberg.CREDITS.search(paragraph) finds nothing.")


@pytest.mark.check(fr="clean_book : d'un vrai fichier Gutenberg aux paragraphes du récit",
                   en="clean_book: from a real Gutenberg file to the story's paragraphs")
def test_clean_whole_book(exercise_module, tmp_path):
    books = tmp_path / "books"
    fixture_books.write_fixture_books(books)
    raw = text_encoding.decode((books / f"{fixture_books.TEST_ID}.txt").read_bytes())
    paragraphs = exercise_module.clean_book(raw)
    assert len(paragraphs) > 5, say(
        fr=f"Il ne reste que {len(paragraphs)} paragraphe(s) du livre : le récit a été coupé en trop.",
        en=f"Only {len(paragraphs)} paragraph(s) of the book are left: too much of the story was cut.")
    for paragraph in paragraphs:
        leaks = [marker for marker in fixture_books.LEAK_MARKERS if marker in paragraph]
        assert not leaks, say(fr=f"Du texte de licence ou de crédits est resté : {paragraph!r}",
                              en=f"Licence or credit text was left: {paragraph!r}")
        assert "\n" not in paragraph, say(
            fr=f"Un paragraphe contient encore un retour à la ligne : {paragraph!r}",
            en=f"A paragraph still holds a line break: {paragraph!r}")
