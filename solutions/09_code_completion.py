"""[fr] Exercice 9 (bonus) : apprendre à GPT-2 à compléter du code Python, et vérifier que son code s'analyse.

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
[en] Exercise 9 (bonus): teach GPT-2 to complete Python code, and check that its code parses.

The same pipeline as for George Sand, on another language: Python's own
standard library (its source files are on every machine that has Python, no
download). Three ideas are new:

1. split **by file**: a function seen in training must never be judged in
   the test, so a whole file goes to one split, chosen from its path alone
   (the same file lands in the same split on every machine);
2. take the headers of the test files' functions (`def name(args):`) with
   Python's own parser, the `ast` module, as prompts;
3. keep the model's completion up to the end of the function (the first
   line indented no deeper than the `def`) and count how many completions
   **parse**: header + body must be valid Python for `ast.parse`.

The rest (reading the files, the tokenizer, training, generating, bits per
character) is in `aurore/`, with the solutions of exercises 3, 4 and 6.
Run it: `python -m aurore code all` (or `--use exercise` for your code).
"""

from __future__ import annotations

import ast
import hashlib


def split_of(relative_path: str, validation_share: float = 0.1, test_share: float = 0.1) -> str:
    """[fr] "train", "validation" ou "test" pour un fichier, d'après son seul chemin.

    L'empreinte SHA-256 du chemin, lue comme un nombre dans [0, 1), tombe sous
    `test_share` (test), sous `test_share + validation_share` (validation), ou au-dessus
    (train) : un tirage fixe par fichier, sans état aléatoire.
    [en] "train", "validation" or "test" for a file, from its path alone.

    The path's SHA-256 digest, read as a number in [0, 1), falls below
    `test_share` (test), below `test_share + validation_share` (validation),
    or above (train): a fixed draw per file, with no random state.
    """
    # BEGIN SOLUTION
    # [fr] TODO: hachez le chemin (hashlib.sha256 de ses octets UTF-8), changez les 8 premiers octets de
    # [fr] l'empreinte en un nombre dans [0, 1) (int.from_bytes(…, "big") / 2**64), et comparez-le aux parts.
    # [en] TODO: hash the path (hashlib.sha256 of its UTF-8 bytes), turn the first 8 bytes of the
    # [en] digest into a number in [0, 1) (int.from_bytes(…, "big") / 2**64), and compare it with the shares.
    digest = hashlib.sha256(relative_path.encode("utf-8")).digest()
    draw = int.from_bytes(digest[:8], "big") / 2**64
    if draw < test_share:
        return "test"
    if draw < test_share + validation_share:
        return "validation"
    return "train"
    # END SOLUTION


def function_headers(source: str) -> list[str]:
    """[fr] Les en-têtes de chaque fonction d'un fichier, dans l'ordre, chacun fait de ses lignes de source.

    Un en-tête va de la ligne du `def` (décorateurs exclus) à la ligne avant la première
    instruction de la fonction (les commentaires qui s'y trouvent exclus), retour à la
    ligne compris ; une signature peut tenir sur plusieurs lignes. Une fonction dont
    l'en-tête ne finit pas par ":" sur sa dernière ligne (un corps sur la même ligne, un
    commentaire après les deux-points) est laissée de côté. Un fichier qui ne s'analyse
    pas n'a pas d'en-têtes.
    [en] The headers of every function in a file, in order, each as its own lines of source.

    A header runs from the `def` line (decorators left out) to the line
    before the function's first statement (comments there left out), newline
    included; a signature may take several lines. A function whose header
    does not end with ":" on its last line (a body on the same line, a
    comment after the colon) is left out. A file that does not parse has no
    headers.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    lines = source.splitlines(keepends=True)
    headers = []
    # BEGIN SOLUTION
    # [fr] TODO: pour chaque nœud ast.FunctionDef ou ast.AsyncFunctionDef de ast.walk(tree), triés par ligne,
    # [fr] prenez lines[node.lineno - 1 : node.body[0].lineno - 1], retirez à sa fin les lignes vides et de
    # [fr] commentaire, et gardez-le (dans headers) quand sa dernière ligne, sans espaces, finit par ":".
    # [en] TODO: for each ast.FunctionDef or ast.AsyncFunctionDef node of ast.walk(tree), sorted by line,
    # [en] take lines[node.lineno - 1 : node.body[0].lineno - 1], drop the blank and comment lines at
    # [en] its end, and keep it (in headers) when its last line, stripped, ends with ":".
    functions = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    for node in sorted(functions, key=lambda node: node.lineno):
        header = lines[node.lineno - 1:node.body[0].lineno - 1]
        while header and (not header[-1].strip() or header[-1].lstrip().startswith("#")):
            header.pop()
        if header and header[-1].rstrip().endswith(":"):
            headers.append("".join(header))
    # END SOLUTION
    return headers


def indentation(line: str) -> int:
    """[fr] Combien d'espaces ou de tabulations commencent une ligne.
    [en] How many spaces or tabs a line starts with."""
    return len(line) - len(line.lstrip(" \t"))


def cut_at_function_end(header: str, completion: str) -> tuple[str, bool]:
    """[fr] La complétion jusqu'à la fin de la fonction, et si la fonction s'est terminée là.

    La fonction finit avant la première ligne non vide indentée pas plus que la première
    ligne de l'en-tête (le `def`). Si aucune ligne pareille ne vient (le modèle a manqué
    de jetons avant), le corps est gardé jusqu'à sa dernière ligne complète (celle
    d'avant le dernier retour à la ligne), et la fonction ne s'est pas terminée.
    [en] The completion up to the function's end, and whether the function ended there.

    The function ends before the first non-blank line indented no deeper
    than the header's first line (the `def`). If no such line comes (the
    model ran out of tokens first), the body is kept up to its last complete
    line (the one before the last newline), and the function did not end.
    """
    # BEGIN SOLUTION
    # [fr] TODO: parcourez completion.splitlines(keepends=True) ; arrêtez-vous à la première ligne non vide
    # [fr] dont l'indentation (indentation(line)) est au plus celle de l'en-tête (renvoyez ce qui précède, True).
    # [fr] Sinon renvoyez le texte jusqu'à son dernier "\n" compris (rien s'il n'y en a pas), False.
    # [en] TODO: go through completion.splitlines(keepends=True); stop at the first line that is not
    # [en] blank and whose indentation (indentation(line)) is at most the header's (return what came before, True).
    # [en] Otherwise return the text up to and including its last "\n" (nothing if none), False.
    limit = indentation(header)
    kept = []
    for line in completion.splitlines(keepends=True):
        if line.strip() and indentation(line) <= limit:
            return "".join(kept), True
        kept.append(line)
    return completion[:completion.rfind("\n") + 1], False
    # END SOLUTION


def is_valid(header: str, body: str) -> bool:
    """[fr] Si en-tête + corps est du Python valide (`ast.parse` l'accepte).

    L'en-tête d'une méthode est indenté : le code est d'abord décalé à gauche de
    l'indentation de l'en-tête, pour tenir seul dans un fichier.
    [en] Whether header + body is valid Python (`ast.parse` accepts it).

    A method's header is indented: the code is first shifted left by the
    header's indentation, so that it can stand alone in a file.
    """
    code = header + body
    shift = indentation(header)
    code = "".join(line[min(shift, indentation(line)):] for line in code.splitlines(keepends=True))
    # BEGIN SOLUTION
    # [fr] TODO: renvoyez True quand ast.parse(code) réussit, False quand il lève SyntaxError
    # [fr] (IndentationError en est une) ou ValueError (un octet nul).
    # [en] TODO: return True when ast.parse(code) succeeds, False when it raises SyntaxError
    # [en] (IndentationError is one) or ValueError (a null byte).
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True
    # END SOLUTION
