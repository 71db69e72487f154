"""Checks for exercise 1: prepare the George Sand corpus."""

EXERCISE = 1

import pytest

import fixture_books
from aurore.corpus import preparation
from aurore.course.checks.plugin import say
from aurore.store import saved_dataset

HEADER = ("\ufeffThe Project Gutenberg EBook of La Mare au Diable, by George Sand\r\n\r\n"
          "This eBook is for the use of anyone anywhere at no cost.\r\n\r\n")
FOOTER = "\r\n\r\nTHE FULL PROJECT GUTENBERG LICENSE\r\nProject Gutenberg is a registered trademark.\r\n"
STORY = "Germain, fier et dispos,\r\nsortit pour aller lier ses bœufs.\r\n"


def _leaks(text: str) -> list[str]:
    return [word for word in ("Gutenberg", "START", "END OF", "***", "LICENSE", "trademark") if word in text]


@pytest.mark.check(fr="MIN_WORDS est un petit nombre entier", en="MIN_WORDS is a small whole number")
def test_min_words(exercise_module):
    value = exercise_module.MIN_WORDS
    assert isinstance(value, int) and not isinstance(value, bool), say(
        fr=f"MIN_WORDS doit être un nombre entier (par exemple 4), pas {value!r}.",
        en=f"MIN_WORDS must be a whole number (for instance 4), not {value!r}.")
    assert 2 <= value <= 10, say(
        fr=f"MIN_WORDS vaut {value} : choisissez entre 2 et 10 mots, sinon on garde des miettes ou on perd trop de phrases.",
        en=f"MIN_WORDS is {value}: pick 2 to 10 words, or we keep crumbs or lose too many sentences.")


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


@pytest.mark.check(fr="split_sentences découpe les paragraphes et saute les titres",
                   en="split_sentences splits paragraphs and skips headings")
def test_split_sentences(exercise_module):
    def splitter(paragraph):
        return [part.strip() + "." for part in paragraph.split(".") if part.strip()]

    paragraphs = ["CHAPITRE III", "Il partit. Elle resta.", "II", "Tout dormait."]
    found = exercise_module.split_sentences(paragraphs, splitter)
    expected = ["Il partit.", "Elle resta.", "Tout dormait."]
    assert found == expected, say(
        fr=f"Attendu {expected!r}, obtenu {found!r}. Pour chaque paragraphe qui n'est pas un titre (is_heading), "
           "ajoutez (extend) les phrases que renvoie splitter(paragraphe).",
        en=f"Expected {expected!r}, got {found!r}. For each paragraph that is not a heading (is_heading), "
           "add (extend) the sentences splitter(paragraph) returns.")


@pytest.mark.check(fr="count_words ne compte que les vrais mots", en="count_words counts real words only")
def test_count_words(exercise_module):
    cases = {"Il partit au matin.": 4, "*       *       *": 0, "—Oui, dit-il, en 1846.": 3, "": 0}
    for sentence, expected in cases.items():
        found = exercise_module.count_words(sentence)
        assert found == expected, say(
            fr=f"count_words({sentence!r}) vaut {found!r}, attendu {expected} : ne comptez que les morceaux "
               "qui contiennent au moins une lettre.",
            en=f"count_words({sentence!r}) is {found!r}, expected {expected}: count only the pieces "
               "holding at least one letter.")


@pytest.mark.check(fr="build_dataset fait les parties train, validation et test",
                   en="build_dataset makes the train, validation and test splits")
def test_build_dataset(exercise_module):
    books = {1: [f"Phrase numéro {i} du premier livre." for i in range(50)],
             2: [f"Phrase numéro {i} du second livre." for i in range(50)]}
    test = {3: ["Une phrase du livre de test.", "Une autre phrase du livre de test."]}
    built = exercise_module.build_dataset(books, test, validation_share=0.1, seed=3)
    assert set(built) == {"train", "validation", "test"}, say(
        fr=f"Il faut un DatasetDict avec train, validation et test ; on a {sorted(built)}.",
        en=f"A DatasetDict with train, validation and test is needed; got {sorted(built)}.")
    for name in built:
        assert built[name].column_names == ["text", "book"], say(
            fr=f"La partie {name} a les colonnes {built[name].column_names}, attendu ['text', 'book'].",
            en=f"The {name} split has columns {built[name].column_names}, expected ['text', 'book'].")
    assert (len(built["train"]), len(built["validation"])) == (90, 10), say(
        fr=f"Avec 100 phrases et validation_share=0.1 : 90 en train et 10 en validation, "
           f"pas {len(built['train'])} et {len(built['validation'])}.",
        en=f"With 100 sentences and validation_share=0.1: 90 in train and 10 in validation, "
           f"not {len(built['train'])} and {len(built['validation'])}.")
    assert list(built["test"]["book"]) == [3, 3], say(
        fr="La partie test doit contenir seulement le livre de test (test_books).",
        en="The test split must hold the test book only (test_books).")
    again = exercise_module.build_dataset(books, test, validation_share=0.1, seed=3)
    assert list(again["validation"]["text"]) == list(built["validation"]["text"]), say(
        fr="La même graine (seed) doit donner la même validation : passez seed à train_test_split.",
        en="The same seed must give the same validation: pass seed to train_test_split.")


@pytest.mark.check(fr="Tout le pipeline : des livres bruts au dataset sur disque",
                   en="The whole pipeline: from raw books to a dataset on disk")
def test_whole_pipeline(exercise_module, tmp_path, monkeypatch):
    monkeypatch.setenv("AURORE_DATA", str(tmp_path / "data"))
    books = tmp_path / "books"
    fixture_books.write_fixture_books(books)
    # The library runs the step (as `python -m aurore prepare --use exercise` does) with your functions.
    out, stats = preparation.prepare(exercise_module, fixture_books.TRAIN_IDS, fixture_books.TEST_ID,
                                     source=str(books), out=tmp_path / "dataset", cache_splitter=False)
    saved = saved_dataset.load(out)
    assert set(saved["test"]["book"]) == {fixture_books.TEST_ID}, say(
        fr="La partie test ne doit contenir que le livre mis de côté.",
        en="The test split must hold the held-out book only.")
    for name in saved:
        for text in saved[name]["text"]:
            leaks = [m for m in fixture_books.LEAK_MARKERS if m in text]
            assert not leaks, say(fr=f"Du texte de licence ou de crédits est resté dans {name} : {text!r}",
                                  en=f"Licence or credit text was left in {name}: {text!r}")
    assert stats["splits"]["train"]["sentences"] > 100, say(
        fr="Presque aucune phrase n'a été gardée : vérifiez le découpage et MIN_WORDS.",
        en="Hardly any sentence was kept: check the splitting and MIN_WORDS.")
