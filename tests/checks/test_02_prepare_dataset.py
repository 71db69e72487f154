"""Checks for exercise 2: from paragraphs to a dataset of sentences."""

EXERCISE = 2

import pytest

import fixture_books
from aurore.corpus import preparation
from aurore.course import exercises
from aurore.course.checks.plugin import say
from aurore.store import saved_dataset


@pytest.mark.check(fr="MIN_WORDS est un petit nombre entier", en="MIN_WORDS is a small whole number")
def test_min_words(exercise_module):
    value = exercise_module.MIN_WORDS
    assert isinstance(value, int) and not isinstance(value, bool), say(
        fr=f"MIN_WORDS doit être un nombre entier (par exemple 4), pas {value!r}.",
        en=f"MIN_WORDS must be a whole number (for instance 4), not {value!r}.")
    assert 2 <= value <= 10, say(
        fr=f"MIN_WORDS vaut {value} : choisissez entre 2 et 10 mots, sinon on garde des miettes ou on perd trop de phrases.",
        en=f"MIN_WORDS is {value}: pick 2 to 10 words, or we keep crumbs or lose too many sentences.")


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
    # The library runs the step (as `python -m aurore prepare --use exercise` does) with your functions,
    # and exercise 1's solution to clean the books.
    cleaning = exercises.load_module(1, "solution")
    out, stats = preparation.prepare(cleaning, exercise_module, fixture_books.TRAIN_IDS, fixture_books.TEST_ID,
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
