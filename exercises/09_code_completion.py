"""Exercice 9 (bonus) : apprendre à GPT-2 à compléter du code Python, et vérifier que son code s'analyse.

La même chaîne que pour George Sand, dans une autre langue : la bibliothèque standard
de Python elle-même (ses fichiers sources sont sur toute machine qui a Python, rien à
télécharger). Trois idées sont nouvelles :

1. découper **par fichier** : une fonction vue à l'entraînement ne doit jamais être jugée
   au test, donc un fichier entier va dans une seule partie, choisie d'après son seul
   chemin (le même fichier tombe dans la même partie sur toutes les machines) ;
2. prendre comme débuts de texte les en-têtes des fonctions des fichiers de test
   (`def name(args):`), avec l'analyseur de Python lui-même, le module `ast` ;
3. garder la complétion du modèle jusqu'à la fin de la fonction (la première ligne
   indentée pas plus que le `def`) et compter combien de complétions **s'analysent** :
   en-tête + corps doit être du Python valide pour `ast.parse`.

Le reste (lire les fichiers, le tokenizer, l'entraînement, la génération, les bits par
caractère) est dans `aurore/`, avec les solutions des exercices 3, 4 et 6.
Lancez-le : `python -m aurore code all` (ou `--use exercise` pour votre code).
"""

from __future__ import annotations

import ast
import hashlib


def split_of(relative_path: str, validation_share: float = 0.1, test_share: float = 0.1) -> str:
    """"train", "validation" ou "test" pour un fichier, d'après son seul chemin.

    L'empreinte SHA-256 du chemin, lue comme un nombre dans [0, 1), tombe sous
    `test_share` (test), sous `test_share + validation_share` (validation), ou au-dessus
    (train) : un tirage fixe par fichier, sans état aléatoire.
    """
    # TODO: hachez le chemin (hashlib.sha256 de ses octets UTF-8), changez les 8 premiers octets de
    # l'empreinte en un nombre dans [0, 1) (int.from_bytes(…, "big") / 2**64), et comparez-le aux parts.
    raise NotImplementedError("TODO")


def function_headers(source: str) -> list[str]:
    """Les en-têtes de chaque fonction d'un fichier, dans l'ordre, chacun fait de ses lignes de source.

    Un en-tête va de la ligne du `def` (décorateurs exclus) à la ligne avant la première
    instruction de la fonction (les commentaires qui s'y trouvent exclus), retour à la
    ligne compris ; une signature peut tenir sur plusieurs lignes. Une fonction dont
    l'en-tête ne finit pas par ":" sur sa dernière ligne (un corps sur la même ligne, un
    commentaire après les deux-points) est laissée de côté. Un fichier qui ne s'analyse
    pas n'a pas d'en-têtes.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    lines = source.splitlines(keepends=True)
    headers = []
    # TODO: pour chaque nœud ast.FunctionDef ou ast.AsyncFunctionDef de ast.walk(tree), triés par ligne,
    # prenez lines[node.lineno - 1 : node.body[0].lineno - 1], retirez à sa fin les lignes vides et de
    # commentaire, et gardez-le (dans headers) quand sa dernière ligne, sans espaces, finit par ":".
    raise NotImplementedError("TODO")
    return headers


def indentation(line: str) -> int:
    """Combien d'espaces ou de tabulations commencent une ligne."""
    return len(line) - len(line.lstrip(" \t"))


def cut_at_function_end(header: str, completion: str) -> tuple[str, bool]:
    """La complétion jusqu'à la fin de la fonction, et si la fonction s'est terminée là.

    La fonction finit avant la première ligne non vide indentée pas plus que la première
    ligne de l'en-tête (le `def`). Si aucune ligne pareille ne vient (le modèle a manqué
    de jetons avant), le corps est gardé jusqu'à sa dernière ligne complète (celle
    d'avant le dernier retour à la ligne), et la fonction ne s'est pas terminée.
    """
    # TODO: parcourez completion.splitlines(keepends=True) ; arrêtez-vous à la première ligne non vide
    # dont l'indentation (indentation(line)) est au plus celle de l'en-tête (renvoyez ce qui précède, True).
    # Sinon renvoyez le texte jusqu'à son dernier "\n" compris (rien s'il n'y en a pas), False.
    raise NotImplementedError("TODO")


def is_valid(header: str, body: str) -> bool:
    """Si en-tête + corps est du Python valide (`ast.parse` l'accepte).

    L'en-tête d'une méthode est indenté : le code est d'abord décalé à gauche de
    l'indentation de l'en-tête, pour tenir seul dans un fichier.
    """
    code = header + body
    shift = indentation(header)
    code = "".join(line[min(shift, indentation(line)):] for line in code.splitlines(keepends=True))
    # TODO: renvoyez True quand ast.parse(code) réussit, False quand il lève SyntaxError
    # (IndentationError en est une) ou ValueError (un octet nul).
    raise NotImplementedError("TODO")
