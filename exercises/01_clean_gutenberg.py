"""Exercice 1 — Nettoyer un fichier du Projet Gutenberg.

Un fichier Gutenberg brut contient bien plus que le roman : un en-tête en
anglais, la licence, des crédits de production, et le récit coupé en lignes
d'environ 70 caractères. Trois fonctions en font les paragraphes du récit :

1. `strip_gutenberg` : garder le récit, entre les marqueurs START et END de la licence ;
2. `to_paragraphs` : recoller les lignes en paragraphes ;
3. `remove_credits` : retirer les crédits de production et les notes d'édition.

`clean_book` les enchaîne : un fichier brut en entrée, les paragraphes du récit en sortie.
Les motifs des marqueurs, des crédits et des titres sont donnés dans
`aurore/corpus/gutenberg.py` : `gutenberg.START_MARKER`, `gutenberg.END_MARKER`,
`gutenberg.CREDITS`, `gutenberg.HEADING` (des expressions régulières compilées), et
`gutenberg.best_effort_bounds(text)`, qui renvoie `(start, end)` : les positions où le
récit commence et finit probablement quand un marqueur manque.
Essayez : `python -m aurore clean --use exercise` ; l'exercice 2 découpe ces
paragraphes en phrases.
"""

from __future__ import annotations

import re

from aurore import progress
from aurore.corpus import gutenberg


def strip_gutenberg(text: str) -> str:
    """Le récit seul : ce qui se trouve entre les marqueurs START et END de la licence."""
    # Fins de ligne Unix, sans marque d'ordre des octets (BOM).
    text = gutenberg.normalise(text)
    # TODO: trouvez le marqueur de début avec gutenberg.START_MARKER.search(text),
    # TODO: puis le marqueur de fin *après* lui avec gutenberg.END_MARKER.search(text, position),
    # TODO: et renvoyez le texte entre la fin de l'un (match.end()) et le début de l'autre (match.start()).
    # TODO: S'il manque un marqueur (search renvoie None), prévenez avec progress.log("…") et utilisez
    # gutenberg.best_effort_bounds(text), qui renvoie (start, end) : les positions où couper.
    raise NotImplementedError("TODO")


def to_paragraphs(text: str) -> list[str]:
    """Un texte par paragraphe : les lignes recollées, les soulignés de l'italique retirés."""
    paragraphs = []
    # TODO: les paragraphes sont séparés par des lignes vides : re.split(r"\n\s*\n", text) donne les blocs.
    # TODO: Dans chaque bloc, recollez les lignes avec des espaces, retirez les "_" de l'italique,
    # TODO: réduisez les suites d'espaces à une seule, et sautez les paragraphes vides.
    # TODO: Un mot coupé après son tiret en fin de ligne ("vingt-" / "huit") se recolle sans espace.
    # TODO: Une ligne de titre ("II", "CHAPITRE III" : gutenberg.HEADING.fullmatch(line) n'est pas None)
    # collée au-dessus du texte devient son propre paragraphe.
    raise NotImplementedError("TODO")
    return paragraphs


def remove_credits(paragraphs: list[str]) -> list[str]:
    """Retire les paragraphes qui sont des crédits de production ou des notes d'édition."""
    # TODO: gardez seulement les paragraphes où gutenberg.CREDITS.search(paragraph) ne trouve rien (None).
    raise NotImplementedError("TODO")


def clean_book(raw_text: str) -> list[str]:
    """Un fichier Gutenberg brut en entrée, les paragraphes du récit en sortie."""
    return remove_credits(to_paragraphs(strip_gutenberg(raw_text)))
