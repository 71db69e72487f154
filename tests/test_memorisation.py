"""The memorisation check: the share of generated 8-word spans found verbatim in the training books."""

import numpy as np
import pytest

from aurore.errors import AuroreError
from aurore.evaluation import memorisation
from tiny_sand import TRAIN, make_dataset

BOOK = ("Le vieux meunier chantait en marchant sur le chemin creux, et la petite Marie le suivait "
        "de loin sans rien dire à personne.")


def test_a_copied_passage_is_found_whatever_its_case_and_punctuation():
    index = memorisation.MemorisationIndex.from_texts([BOOK])
    copied = index.check("LE VIEUX MEUNIER chantait, en marchant sur le chemin creux !")
    assert copied["spans"] == 3 and copied["copied"] == 3 and copied["share"] == 1.0
    assert copied["examples"] == ["le vieux meunier chantait en marchant sur le"]

    # Half copied: 8 words from the book, then words of its own.
    mixed = index.check("le vieux meunier chantait en marchant sur le pont de pierre sous la pluie")
    assert mixed["spans"] == 7 and mixed["copied"] == 1 and mixed["share"] == pytest.approx(1 / 7)

    fresh = index.check("Une phrase toute neuve que le livre ne contient nulle part ailleurs.")
    assert fresh["copied"] == 0 and fresh["share"] == 0.0 and fresh["examples"] == []
    short = index.check("Trop court.")
    assert short["spans"] == 0 and short["share"] is None


def test_spans_are_hashed_once_in_order():
    words = memorisation.words("Un deux trois quatre cinq six sept huit neuf")
    hashes = memorisation.span_hashes(words)
    assert hashes.dtype == np.uint64 and len(hashes) == 2
    assert hashes[0] == memorisation.span_hashes(words[:8])[0] != hashes[1]


def test_the_index_is_built_once_per_dataset_and_kept_beside_it(tmp_path, monkeypatch):
    dataset = make_dataset(tmp_path / "dataset")
    index = memorisation.index_for(dataset)
    assert (dataset / memorisation.INDEX_FILE).is_file()
    assert index.check(" ".join(TRAIN[:3]))["share"] == 1.0      # the training sentences, in their order

    def no_build(*args):
        raise AssertionError("the index was built again")

    monkeypatch.setattr(memorisation.MemorisationIndex, "from_texts", no_build)
    assert memorisation.index_for(dataset) is index                  # from memory
    memorisation._cache.clear()
    again = memorisation.index_for(dataset)                          # from the file
    assert np.array_equal(again.hashes, index.hashes)

    with pytest.raises(AuroreError, match="python -m aurore prepare"):
        memorisation.index_for(tmp_path / "nothing")
