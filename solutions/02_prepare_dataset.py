"""[fr] Exercice 2 — Des paragraphes au jeu de données de phrases.

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
[en] Exercise 2 — From paragraphs to a dataset of sentences.

Exercise 1 turned each book into clean paragraphs. Here they become the
dataset the model learns from:

1. `split_sentences`: cut the paragraphs into sentences, skipping headings
   (`splitter` is NLTK's Punkt, learned on our books: call `splitter(paragraph)`,
   it returns a list of sentences);
2. `count_words` and `MIN_WORDS`: drop fragments too short to teach anything;
3. `build_dataset`: the train / validation / test splits (`datasets` library).

The plumbing (fetching the books, learning Punkt, the atomic save) lives in
the `aurore` package: `aurore/corpus/preparation.py` calls exercise 1's
`clean_book`, then these functions, in that order.
Run it: `python -m aurore prepare --use exercise`.
"""

from __future__ import annotations

from datasets import Dataset, DatasetDict, Features, Value

from aurore.corpus import gutenberg

# BEGIN SOLUTION
# [fr] TODO: combien de mots faut-il à une phrase pour être gardée ? Donnez un petit nombre entier.
# [en] TODO: how many words must a sentence have to be kept? Give a small whole number.
# STUB: MIN_WORDS = None
MIN_WORDS = 4
# END SOLUTION

#: [fr] Part des phrases des livres d'entraînement mise de côté pour mesurer les progrès.
#: [en] Share of the training books' sentences kept aside to measure progress.
VALIDATION_SHARE = 0.05
#: [fr] La même graine donne les mêmes phrases de validation, d'un lancement à l'autre.
#: [en] The same seed gives the same validation sentences, run after run.
SEED = 1234

FEATURES = Features({"text": Value("string"), "book": Value("int64")})


def is_heading(paragraph: str) -> bool:
    """[fr] Un titre de chapitre ("II", "CHAPITRE III", "IV La Guillette") ou un titre en capitales, pas du récit.
    [en] A chapter heading ("II", "CHAPITRE III", "IV La Guillette") or a title in capitals, not prose."""
    return (bool(gutenberg.HEADING.fullmatch(paragraph) or gutenberg.NUMBERED_TITLE.fullmatch(paragraph))
            or paragraph.upper() == paragraph)


def split_sentences(paragraphs: list[str], splitter) -> list[str]:
    """[fr] Toutes les phrases des paragraphes, dans l'ordre ; les titres sont laissés de côté.
    [en] All the sentences of the paragraphs, in order; headings are left out."""
    found = []
    # BEGIN SOLUTION
    # [fr] TODO: pour chaque paragraphe qui n'est pas un titre (is_heading),
    # [fr] TODO: ajoutez à la liste found les phrases que renvoie splitter(paragraph).
    # [en] TODO: for each paragraph that is not a heading (is_heading),
    # [en] TODO: add the sentences splitter(paragraph) returns to the list found.
    for paragraph in paragraphs:
        if not is_heading(paragraph):
            found.extend(splitter(paragraph))
    # END SOLUTION
    return found


def count_words(sentence: str) -> int:
    """[fr] Les mots qui contiennent au moins une lettre ("*", "—" ou "1846." ne comptent pas).
    [en] Words that hold at least one letter ("*", "—" or "1846." do not count)."""
    # BEGIN SOLUTION
    # [fr] TODO: coupez aux espaces (sentence.split()), comptez les morceaux qui contiennent une lettre
    # [fr] (str.isalpha sur un caractère).
    # [en] TODO: split on spaces (sentence.split()), count the pieces with a letter in them
    # [en] (str.isalpha on a character).
    return sum(any(char.isalpha() for char in word) for word in sentence.split())
    # END SOLUTION


def keep_sentence(sentence: str, min_words: int | None = None) -> bool:
    """[fr] Ce fragment est-il assez long pour qu'on en apprenne quelque chose ?
    [en] Is this fragment long enough to be worth learning from?"""
    min_words = MIN_WORDS if min_words is None else min_words
    return count_words(sentence) >= min_words


def build_dataset(train_books: dict[int, list[str]], test_books: dict[int, list[str]],
                  validation_share: float = VALIDATION_SHARE, seed: int = SEED) -> DatasetDict:
    """[fr] Les parties `train`, `validation` (une part tirée, avec une graine, des phrases d'entraînement), `test`.

    `train_books` et `test_books` associent un numéro Gutenberg à ses phrases. Le livre
    de test n'est jamais vu à l'entraînement : il dit si le modèle sait généraliser.
    [en] Splits `train`, `validation` (a seeded share of the training sentences), `test`.

    `train_books` and `test_books` map a Gutenberg id to its sentences. The test
    book is never seen in training: it tells how well the model generalises.
    """
    # BEGIN SOLUTION
    # [fr] TODO: faites un Dataset aux colonnes "text" et "book" à partir des livres d'entraînement
    # [fr] TODO: (Dataset.from_dict({...}, features=FEATURES)), coupez-le avec
    # [fr] TODO: .train_test_split(test_size=validation_share, seed=seed) : sa partie "test" est notre validation ;
    # [fr] TODO: faites de même le Dataset de test à partir de test_books, et renvoyez un DatasetDict des trois.
    # [en] TODO: make a Dataset with columns "text" and "book" from the training books
    # [en] TODO: (Dataset.from_dict({...}, features=FEATURES)), cut it with
    # [en] TODO: .train_test_split(test_size=validation_share, seed=seed): its "test" part is our validation;
    # [en] TODO: make the test Dataset from test_books the same way, and return a DatasetDict of the three.
    def rows(books: dict[int, list[str]]) -> dict[str, list]:
        return {"text": [s for sents in books.values() for s in sents],
                "book": [book for book, sents in books.items() for _ in sents]}

    training = Dataset.from_dict(rows(train_books), features=FEATURES)
    parts = training.train_test_split(test_size=validation_share, seed=seed)
    test = Dataset.from_dict(rows(test_books), features=FEATURES)
    return DatasetDict(train=parts["train"], validation=parts["test"], test=test)
    # END SOLUTION
