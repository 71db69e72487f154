"""The prepared dataset: splits, columns, filtering, statistics, atomic save, load."""

from __future__ import annotations

import json

import pytest
from datasets import Dataset, DatasetDict

import fixture_books
from aurore.corpus import preparation
from aurore.course import exercises
from aurore.errors import AuroreError
from aurore.store import saved_dataset


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return fixture_books.make_tiny_dataset(tmp_path_factory.mktemp("tiny") / "dataset")


@pytest.fixture(scope="module")
def solution():
    return exercises.load_module(1, "solution")


def test_tiny_dataset_has_three_splits_with_text_and_book(tiny):
    loaded = saved_dataset.load(tiny)
    assert set(loaded) == {"train", "validation", "test"}
    for split in loaded.values():
        assert split.column_names == ["text", "book"]
        assert split.features["text"].dtype == "string" and split.features["book"].dtype == "int64"
        assert len(split) > 0
    assert set(loaded["test"]["book"]) == {fixture_books.TEST_ID}
    assert set(loaded["train"]["book"]) == set(fixture_books.TRAIN_IDS)
    assert set(loaded["validation"]["book"]) <= set(fixture_books.TRAIN_IDS)


def test_no_licence_nor_credit_text_in_any_split(tiny):
    loaded = saved_dataset.load(tiny)
    for name, split in loaded.items():
        for text in split["text"]:
            for marker in fixture_books.LEAK_MARKERS:
                assert marker not in text, (name, marker, text)
            assert text.strip() == text and "\n" not in text and "_" not in text


def test_validation_is_a_seeded_share_of_training_sentences(solution):
    books = {1: [f"Phrase numéro {i} du premier livre." for i in range(100)],
             2: [f"Phrase numéro {i} du second livre." for i in range(100)]}
    test = {3: ["Une phrase du livre de test, bien gardée."]}
    first = solution.build_dataset(books, test, validation_share=0.1, seed=7)
    again = solution.build_dataset(books, test, validation_share=0.1, seed=7)
    other = solution.build_dataset(books, test, validation_share=0.1, seed=8)
    assert len(first["validation"]) == 20 and len(first["train"]) == 180
    assert list(first["validation"]["text"]) == list(again["validation"]["text"])
    assert list(first["validation"]["text"]) != list(other["validation"]["text"])
    assert not set(first["validation"]["text"]) & set(first["train"]["text"])
    assert list(first["test"]["text"]) == test[3] and list(first["test"]["book"]) == [3]


def test_min_words_filters_short_fragments(tmp_path):
    module = exercises.load_module(1, "solution")
    books = tmp_path / "books"
    fixture_books.write_fixture_books(books)
    _, loose = preparation.prepare(module, fixture_books.TRAIN_IDS, fixture_books.TEST_ID, source=books,
                                   out=tmp_path / "a", min_words=1, cache_splitter=False)
    _, strict = preparation.prepare(module, fixture_books.TRAIN_IDS, fixture_books.TEST_ID, source=books,
                                    out=tmp_path / "b", min_words=12, cache_splitter=False)
    assert strict["splits"]["test"]["sentences"] < loose["splits"]["test"]["sentences"]
    for text in saved_dataset.load(tmp_path / "b")["test"]["text"]:
        assert module.count_words(text) >= 12


def test_stats_json_and_table(tiny):
    stats = json.loads((tiny / saved_dataset.STATS_FILE).read_text(encoding="utf-8"))
    loaded = saved_dataset.load(tiny)
    for split in saved_dataset.SPLITS:
        texts = list(loaded[split]["text"])
        assert stats["splits"][split] == {"sentences": len(texts), "words": sum(len(t.split()) for t in texts),
                                          "characters": sum(map(len, texts))}
        per_book = [v for v in stats["books"].values() if v["split"] == split]
        assert sum(v["sentences"] for v in per_book) == len(texts)
    table = saved_dataset.format_stats(stats)
    assert "train" in table and "validation" in table and str(fixture_books.TEST_ID) in table
    assert f"{stats['splits']['train']['sentences']:,}" in table


def test_the_corpus_sentence_splitter_is_saved_with_the_dataset(tiny):
    """Prompts must be cut as this corpus was: its Punkt parameters travel with it (then to the model)."""
    from aurore.corpus import sentences

    saved = saved_dataset.load_splitter(tiny)
    assert saved is not None
    splitter = sentences.SentenceSplitter(sentences.parameters_from_json(saved))
    assert {"mme", "etc"} <= splitter.params.abbrev_types
    assert splitter("Mme Maurice arriva. Il partit.") == ["Mme Maurice arriva.", "Il partit."]
    assert saved_dataset.load_splitter(tiny.parent / "nothing-here") is None


def test_save_is_atomic_and_replaces_whole(tmp_path):
    def make(text):
        part = Dataset.from_dict({"text": [text], "book": [1]})
        return DatasetDict(train=part, validation=part, test=part)

    out = tmp_path / "dataset"
    saved_dataset.save(make("La première version du texte."), out)
    (out / "stray.txt").write_text("left over", encoding="utf-8")

    class Boom(Exception):
        pass

    broken = make("Une version qui ne sera jamais écrite.")
    original = broken.save_to_disk
    broken.save_to_disk = lambda path: (original(path), (_ for _ in ()).throw(Boom()))
    with pytest.raises(Boom):
        saved_dataset.save(broken, out)
    assert list(saved_dataset.load(out)["train"]["text"]) == ["La première version du texte."]
    assert [p.name for p in tmp_path.iterdir()] == ["dataset"]  # no temporary folder left

    saved_dataset.save(make("La seconde version du texte."), out)
    assert list(saved_dataset.load(out)["test"]["text"]) == ["La seconde version du texte."]
    assert not (out / "stray.txt").exists()


def test_load_errors_are_clear(tmp_path):
    with pytest.raises(AuroreError, match="python -m aurore prepare"):
        saved_dataset.load(tmp_path / "missing")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "dataset_dict.json").write_text("{ nope", encoding="utf-8")
    with pytest.raises(AuroreError, match="cannot be read|not a prepared"):
        saved_dataset.load(tmp_path / "broken")
    assert saved_dataset.load_stats(tmp_path / "missing") is None
