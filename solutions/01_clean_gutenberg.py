"""[fr] Exercice 1 — Nettoyer un fichier du Projet Gutenberg.

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
[en] Exercise 1 — Clean a Project Gutenberg file.

A raw Gutenberg file holds much more than the novel: an English header, the
licence, production credits, and the story hard-wrapped at about 70
characters. Three functions turn it into the story's paragraphs:

1. `strip_gutenberg`: keep the story, between the licence's START and END markers;
2. `to_paragraphs`: join the hard-wrapped lines into paragraphs;
3. `remove_credits`: drop the production credits and edition notes.

`clean_book` chains them: a raw file in, the story's paragraphs out.
The patterns of Gutenberg's markers, credits and headings are given in
`aurore/corpus/gutenberg.py`: `gutenberg.START_MARKER`, `gutenberg.END_MARKER`,
`gutenberg.CREDITS`, `gutenberg.HEADING` (compiled regular expressions), and
`gutenberg.best_effort_bounds(text)`, which returns `(start, end)`, the
positions where the story probably starts and ends when a marker is missing.
Try it: `python -m aurore clean --use exercise`; exercise 2 cuts these
paragraphs into sentences.
"""

from __future__ import annotations

import re

from aurore import progress
from aurore.corpus import gutenberg


def strip_gutenberg(text: str) -> str:
    """[fr] Le récit seul : ce qui se trouve entre les marqueurs START et END de la licence.
    [en] The story alone: what lies between the licence's START and END markers."""
    # [fr] Fins de ligne Unix, sans marque d'ordre des octets (BOM).
    # [en] Unix newlines, no byte-order marks.
    text = gutenberg.normalise(text)
    # BEGIN SOLUTION
    # [fr] TODO: trouvez le marqueur de début avec gutenberg.START_MARKER.search(text),
    # [fr] TODO: puis le marqueur de fin *après* lui avec gutenberg.END_MARKER.search(text, position),
    # [fr] TODO: et renvoyez le texte entre la fin de l'un (match.end()) et le début de l'autre (match.start()).
    # [fr] TODO: S'il manque un marqueur (search renvoie None), prévenez avec progress.log("…") et utilisez
    # [fr] gutenberg.best_effort_bounds(text), qui renvoie (start, end) : les positions où couper.
    # [en] TODO: find the START marker with gutenberg.START_MARKER.search(text),
    # [en] TODO: then the END marker *after* it with gutenberg.END_MARKER.search(text, position),
    # [en] TODO: and return the text between the end of one (match.end()) and the start of the other (match.start()).
    # [en] TODO: If a marker is missing (search returns None), warn with progress.log("…") and use
    # [en] gutenberg.best_effort_bounds(text), which returns (start, end): the positions to cut at.
    start = gutenberg.START_MARKER.search(text)
    end = gutenberg.END_MARKER.search(text, start.end() if start else 0)
    if start is None or end is None:
        progress.log("warning: no Project Gutenberg START/END marker found; "
                     "the licence text was cut on a best-effort guess.")
        first, last = gutenberg.best_effort_bounds(text)
        return text[start.end() if start else first:end.start() if end else last]
    return text[start.end():end.start()]
    # END SOLUTION


def to_paragraphs(text: str) -> list[str]:
    """[fr] Un texte par paragraphe : les lignes recollées, les soulignés de l'italique retirés.
    [en] One string per paragraph: wrapped lines joined, italics underscores dropped."""
    paragraphs = []
    # BEGIN SOLUTION
    # [fr] TODO: les paragraphes sont séparés par des lignes vides : re.split(r"\n\s*\n", text) donne les blocs.
    # [fr] TODO: Dans chaque bloc, recollez les lignes avec des espaces, retirez les "_" de l'italique,
    # [fr] TODO: réduisez les suites d'espaces à une seule, et sautez les paragraphes vides.
    # [fr] TODO: Un mot coupé après son tiret en fin de ligne ("vingt-" / "huit") se recolle sans espace.
    # [fr] TODO: Une ligne de titre ("II", "CHAPITRE III" : gutenberg.HEADING.fullmatch(line) n'est pas None)
    # [fr] collée au-dessus du texte devient son propre paragraphe.
    # [en] TODO: paragraphs are separated by blank lines: re.split(r"\n\s*\n", text) gives the blocks.
    # [en] TODO: In each block, join the lines with spaces, remove the "_" marking italics,
    # [en] TODO: squeeze runs of spaces into one, and skip empty paragraphs.
    # [en] TODO: A word cut after its hyphen at a line end ("vingt-" / "huit") is joined without a space.
    # [en] TODO: A heading line ("II", "CHAPITRE III": gutenberg.HEADING.fullmatch(line) is not None)
    # [en] glued above the text becomes its own paragraph.
    for block in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        if len(lines) > 1 and gutenberg.HEADING.fullmatch(lines[0]):
            paragraphs.append(lines.pop(0))
        joined = re.sub(r"(?<=[^\W\d_])-\n", "-", "\n".join(lines))
        paragraph = joined.replace("\n", " ").replace("_", "")
        paragraph = re.sub(r"[ \t]+", " ", paragraph).strip()
        if paragraph:
            paragraphs.append(paragraph)
    # END SOLUTION
    return paragraphs


def remove_credits(paragraphs: list[str]) -> list[str]:
    """[fr] Retire les paragraphes qui sont des crédits de production ou des notes d'édition.
    [en] Drop the paragraphs that are production credits or edition notes."""
    # BEGIN SOLUTION
    # [fr] TODO: gardez seulement les paragraphes où gutenberg.CREDITS.search(paragraph) ne trouve rien (None).
    # [en] TODO: keep only the paragraphs in which gutenberg.CREDITS.search(paragraph) finds nothing (None).
    return [paragraph for paragraph in paragraphs if not gutenberg.CREDITS.search(paragraph)]
    # END SOLUTION


def clean_book(raw_text: str) -> list[str]:
    """[fr] Un fichier Gutenberg brut en entrée, les paragraphes du récit en sortie.
    [en] A raw Gutenberg file in, the story's paragraphs out."""
    return remove_credits(to_paragraphs(strip_gutenberg(raw_text)))
