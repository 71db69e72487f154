"""Small books in Project Gutenberg's plain-text format, written by the project.

The tests never touch the real books or the internet: these fixtures carry
every quirk the cleaning code must survive — each form of START/END marker,
CRLF and LF, a UTF-8 byte-order mark (and a stray one mid-file), ISO-8859-1
and Windows-1252 bytes, production credits before and after the START
marker, closing "End of the Project Gutenberg EBook" lines, italics in
underscores, chapter headings, « » and em-dash dialogue.

Other tests reuse them: `write_fixture_books(folder)` writes the files,
`make_tiny_dataset(out_dir)` prepares a small saved DatasetDict from them
through the real exercise-1 code.
"""

from __future__ import annotations

import random
import tempfile
import textwrap
from pathlib import Path

TRAIN_IDS = [90001, 90002, 90003]
TEST_ID = 90004
ALL_IDS = [*TRAIN_IDS, TEST_ID]

#: Words that only the licence and the credits use: none may reach the dataset.
LEAK_MARKERS = ("Gutenberg", "Produced by", "Produit par", "***", "License", "trademark",
                "Distributed Proofreading", "This eBook is for the use")

SENTENCES = [
    "Germain était un fin laboureur, et il aimait ses bœufs comme on aime des amis.",
    "M. le curé vint le voir un dimanche, après la messe, et lui parla longtemps de ses enfants.",
    "Mme Maurice était assise près du feu, et Mlle Marie filait sa quenouille sans rien dire.",
    "On vendit à la foire des bœufs, des moutons, des chèvres, etc. Le soir, on rentra tard.",
    "La petite Marie regardait la route avec un air de tristesse qu'elle ne pouvait cacher.",
    "Le vieux Maurice disait toujours que la terre rend ce qu'on lui donne, et pas davantage.",
    "Il hésita… puis il reprit le chemin de la ferme, le cœur plus léger qu'au matin.",
    "Le brouillard montait de la mare, et les arbres prenaient des formes étranges dans la nuit.",
    "Elle ne savait pas encore que le bonheur l'attendait au bout de ce long chemin.",
    "Les enfants couraient dans le pré, et leurs cris se mêlaient au chant des alouettes.",
    "Pierre s'endormit sur la selle, la tête appuyée contre la poitrine de son père.",
    "Il fallait traverser le bois avant la nuit, car les chemins y étaient mauvais.",
    "La mère Guillette pleurait en voyant partir sa fille pour un pays si lointain.",
    "Le fermier des Ormeaux avait l'air d'un homme riche qui ne se soucie de personne.",
    "On alluma un grand feu de bruyère, et chacun vint s'y chauffer les mains en silence.",
    "Au matin, le givre brillait sur les buissons comme des fleurs d'avril.",
    "Sa belle-mère lui avait conseillé de se remarier, et il n'osait pas la contredire.",
    "La cloche du village sonna neuf heures, et les bergers ramenèrent les troupeaux.",
    "Il n'avait jamais vu de femme si douce ni de regard si franc que celui de Marie.",
    "Les vieilles gens du pays racontent encore cette histoire à la veillée.",
    "Il rentra tard dans la nuit, fatigué mais content de sa journée.",
    "Le soir venu, les femmes se mirent à chanter près du puits.",
]

DIALOGUE = [
    "«Viens ici, mon enfant!» dit-elle en lui tendant la main.",
    "—Que voulez-vous que je fasse? répondit Germain. Je n'en sais rien.",
    "—Bonjour, dit la petite Marie. —Bonjour, répondit le laboureur en souriant.",
    "«Tu viens.» Puis elle sortit sans se retourner.",
    "—Je vous attendrai demain, dit M. Germain, à la croisée des chemins.",
]

LICENCE_HEADER = """\
The Project Gutenberg EBook of {title}, by Jeanne Fixture

This eBook is for the use of anyone anywhere at no cost and with
almost no restrictions whatsoever.  You may copy it, give it away or
re-use it under the terms of the Project Gutenberg License included
with this eBook or online at www.gutenberg.org


Title: {title}

Author: Jeanne Fixture

Release Date: May 1, 2004 [EBook #{id}]

Language: French

Character set encoding: {charset}
"""

LICENCE_FOOTER = """\
***** This file should be named {id}-8.txt or {id}-8.zip *****
This and all associated files of various formats will be found in:
        http://www.gutenberg.org/{id}/

Updated editions will replace the previous one--the old editions
will be renamed.

*** START: FULL LICENSE ***

THE FULL PROJECT GUTENBERG LICENSE
PLEASE READ THIS BEFORE YOU DISTRIBUTE OR USE THIS WORK

To protect the Project Gutenberg-tm mission of promoting the free
distribution of electronic works, by using or distributing this work
(or any other work associated in any way with the phrase "Project
Gutenberg"), you agree to comply with all the terms of the Full Project
Gutenberg-tm License.  "Project Gutenberg" is a registered trademark.
"""

CREDITS = """\
Produced by Jeanne Relecture and the Online Distributed
Proofreading Team at http://www.pgdp.net (This file was
produced from images generously made available by the
Bibliothèque nationale de France (BnF/Gallica))
"""


def _story(title: str, seed: int, heading_style: str) -> str:
    """Chapters of hard-wrapped paragraphs, in the book's heading style."""
    rng = random.Random(seed)
    chapters = []
    roman = ["I", "II", "III", "IV", "V"]
    for number, numeral in enumerate(roman, start=1):
        heading = {"roman": numeral, "chapitre": f"CHAPITRE {numeral}", "glued": numeral}[heading_style]
        paragraphs = []
        for _ in range(8):
            picked = rng.sample(SENTENCES, 4)
            if rng.random() < 0.4:
                picked[rng.randrange(4)] = "Il pensait à _la Mare au Diable_ et à ses légendes."
            paragraphs.append(textwrap.fill(" ".join(picked), width=68))
            if rng.random() < 0.5:
                paragraphs.append(textwrap.fill(rng.choice(DIALOGUE), width=68))
        body = "\n\n".join(paragraphs)
        if heading_style == "glued":  # no blank line between the heading and the text
            chapters.append(f"{heading}\n{body}")
        else:
            chapters.append(f"{heading}\n\n\n{body}")
    return f"{title.upper()}\n\n\n" + "\n\n\n\n".join(chapters) + "\n\n\nFIN\n"


def book_texts() -> dict[int, tuple[str, str, str]]:
    """id -> (text, encoding, newline) for every fixture book."""
    a, b, c, d = ALL_IDS
    return {
        # UTF-8 with BOM, CRLF, "THIS" markers, credits after START, closing line.
        a: ("\ufeff" + LICENCE_HEADER.format(title="Le Laboureur", id=a, charset="UTF-8")
            + f"\n\n*** START OF THIS PROJECT GUTENBERG EBOOK LE LABOUREUR ***\n\n\n\n\n{CREDITS}\n\n\n"
            + _story("Le Laboureur", 1, "roman")
            + "\n\n\n\n\nEnd of the Project Gutenberg EBook of Le Laboureur, by Jeanne\nFixture\n\n"
            + "*** END OF THIS PROJECT GUTENBERG EBOOK LE LABOUREUR ***\n\n" + LICENCE_FOOTER.format(id=a),
            "utf-8", "\r\n"),
        # ISO-8859-1 bytes, LF, "THE" markers, credits *before* START, "Produit par" and
        # an edition note after it.
        b: (LICENCE_HEADER.format(title="La Veillée", id=b, charset="ISO-8859-1")
            + f"\n{CREDITS}\n*** START OF THE PROJECT GUTENBERG EBOOK LA VEILLÉE ***\n\n\n"
            + "Produit par Jeanne Relecture\n\n"
            + "Notes de transcription: Les erreurs clairement introduites par le\n"
            + "typographe ont été corrigées.\n\n\n"
            + _story("La Veillée", 2, "chapitre").replace("—", "--").replace("…", "...").replace("œ", "oe")
            + "\n\n*** END OF THE PROJECT GUTENBERG EBOOK LA VEILLÉE ***\n\n" + LICENCE_FOOTER.format(id=b),
            "latin-1", "\n"),
        # Windows-1252 bytes (œ, ’, … in 0x80–0x9F), CRLF, the old "*END*THE SMALL PRINT!"
        # start and only a closing line at the end; headings glued to their text.
        c: (LICENCE_HEADER.format(title="Les Bergers", id=c, charset="ISO-8859-1")
            + "\n*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*\n\n\n"
            + f"{CREDITS}\n\n"
            + _story("Les Bergers", 3, "glued").replace("—", "--").replace("'", "’")
            + "\n\nEnd of Project Gutenberg's Les Bergers, by Jeanne Fixture\n\n" + LICENCE_FOOTER.format(id=c),
            "cp1252", "\r\n"),
        # The held-out book: UTF-8 without BOM but with a stray U+FEFF mid-file,
        # markers without inner spaces, as La Mare au Diable has.
        d: (LICENCE_HEADER.format(title="La Mare", id=d, charset="UTF-8")
            + "\n\n***START OF THE PROJECT GUTENBERG EBOOK LA MARE***\n\n\nProduced by Jeanne Relecture.\n\n\n\ufeff"
            + _story("La Mare", 4, "roman")
            + "\n\n\n***END OF THE PROJECT GUTENBERG EBOOK LA MARE***\n\n" + LICENCE_FOOTER.format(id=d),
            "utf-8", "\r\n"),
    }


def write_fixture_books(folder: str | Path) -> list[int]:
    """Write `<id>.txt` for each fixture book into `folder`; returns their ids."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for book_id, (text, encoding, newline) in book_texts().items():
        (folder / f"{book_id}.txt").write_bytes(text.replace("\n", newline).encode(encoding))
    return list(ALL_IDS)


def make_tiny_dataset(out_dir: str | Path) -> Path:
    """A small saved DatasetDict (train/validation/test) made by the real code of exercises 1 and 2.

    Takes a few seconds; writes nothing outside `out_dir` (no cache, no Punkt file).
    """
    from aurore.corpus import preparation
    from aurore.course import exercises

    cleaning, recipe = exercises.load_module(1, "solution"), exercises.load_module(2, "solution")
    with tempfile.TemporaryDirectory(prefix="aurore-fixture-books-") as books:
        write_fixture_books(books)
        out, _ = preparation.prepare(cleaning, recipe, book_ids=TRAIN_IDS, test_book=TEST_ID, source=books, out=out_dir,
                                     min_words=3, cache_splitter=False)
    return out
