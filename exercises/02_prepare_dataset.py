"""Exercice 2 — Des paragraphes au jeu de données de phrases.

L'exercice 1 a fait de chaque livre des paragraphes propres. Ici, ils deviennent
le jeu de données dont le modèle apprend :

1. `split_sentences` : découper les paragraphes en phrases, en sautant les titres
   (`splitter` est Punkt, de NLTK, appris sur nos livres : `splitter(paragraph)`
   renvoie la liste des phrases du paragraphe) ;
2. `count_words` et `MIN_WORDS` : jeter les fragments trop courts pour apprendre quoi que ce soit ;
3. `build_dataset` : les parties train / validation / test (bibliothèque `datasets`).

La tuyauterie (lire les livres, apprendre Punkt, l'enregistrement atomique) est dans
le paquet `aurore` : `aurore/corpus/preparation.py` appelle `clean_book` de
l'exercice 1, puis ces fonctions, dans cet ordre.
Lancez-le : `python -m aurore prepare --use exercise`.
"""

from __future__ import annotations

from datasets import Dataset, DatasetDict, Features, Value

from aurore.corpus import gutenberg

# TODO: combien de mots faut-il à une phrase pour être gardée ? Donnez un petit nombre entier.
MIN_WORDS = None

#: Part des phrases des livres d'entraînement mise de côté pour mesurer les progrès.
VALIDATION_SHARE = 0.05
#: La même graine donne les mêmes phrases de validation, d'un lancement à l'autre.
SEED = 1234

FEATURES = Features({"text": Value("string"), "book": Value("int64")})


def is_heading(paragraph: str) -> bool:
    """Un titre de chapitre ("II", "CHAPITRE III", "IV La Guillette") ou un titre en capitales, pas du récit."""
    return (bool(gutenberg.HEADING.fullmatch(paragraph) or gutenberg.NUMBERED_TITLE.fullmatch(paragraph))
            or paragraph.upper() == paragraph)


def split_sentences(paragraphs: list[str], splitter) -> list[str]:
    """Toutes les phrases des paragraphes, dans l'ordre ; les titres sont laissés de côté."""
    found = []
    # TODO: pour chaque paragraphe qui n'est pas un titre (is_heading),
    # TODO: ajoutez à la liste found les phrases que renvoie splitter(paragraph).
    raise NotImplementedError("TODO")
    return found


def count_words(sentence: str) -> int:
    """Les mots qui contiennent au moins une lettre ("*", "—" ou "1846." ne comptent pas)."""
    # TODO: coupez aux espaces (sentence.split()), comptez les morceaux qui contiennent une lettre
    # (str.isalpha sur un caractère).
    raise NotImplementedError("TODO")


def keep_sentence(sentence: str, min_words: int | None = None) -> bool:
    """Ce fragment est-il assez long pour qu'on en apprenne quelque chose ?"""
    min_words = MIN_WORDS if min_words is None else min_words
    return count_words(sentence) >= min_words


def build_dataset(train_books: dict[int, list[str]], test_books: dict[int, list[str]],
                  validation_share: float = VALIDATION_SHARE, seed: int = SEED) -> DatasetDict:
    """Les parties `train`, `validation` (une part tirée, avec une graine, des phrases d'entraînement), `test`.

    `train_books` et `test_books` associent un numéro Gutenberg à ses phrases. Le livre
    de test n'est jamais vu à l'entraînement : il dit si le modèle sait généraliser.
    """
    # TODO: faites un Dataset aux colonnes "text" et "book" à partir des livres d'entraînement
    # TODO: (Dataset.from_dict({...}, features=FEATURES)), coupez-le avec
    # TODO: .train_test_split(test_size=validation_share, seed=seed) : sa partie "test" est notre validation ;
    # TODO: faites de même le Dataset de test à partir de test_books, et renvoyez un DatasetDict des trois.
    raise NotImplementedError("TODO")
