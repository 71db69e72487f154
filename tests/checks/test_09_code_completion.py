"""Checks for exercise 9 (bonus, code completion): the split by file, the headers, the function's end, validity.

Fast: small hand-written Python sources, no TensorFlow.
"""

from __future__ import annotations

import hashlib

import pytest

from aurore.course.checks.plugin import say

EXERCISE = 9

SOURCE = '''\
import functools


def add(a, b):
    return a + b


@functools.cache
def fibonacci(n):
    """The n-th Fibonacci number."""
    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)


def join_all(first,
             second,
             *others):

    # glue them together
    return "".join((first, second, *others))


def one_liner(): return 1


class Counter:
    def __init__(self):
        self.count = 0

    async def tick(self, step=1) -> int:
        def inner():
            return step
        self.count += inner()
        return self.count
'''

EXPECTED_HEADERS = [
    "def add(a, b):\n",
    "def fibonacci(n):\n",
    "def join_all(first,\n             second,\n             *others):\n",
    "    def __init__(self):\n",
    "    async def tick(self, step=1) -> int:\n",
    "        def inner():\n",
]


def expected_split(path: str, validation_share: float, test_share: float) -> str:
    draw = int.from_bytes(hashlib.sha256(path.encode("utf-8")).digest()[:8], "big") / 2**64
    return "test" if draw < test_share else "validation" if draw < test_share + validation_share else "train"


@pytest.mark.check(fr="split_of choisit la partie d'un fichier d'après l'empreinte de son chemin",
                   en="split_of picks a file's split from its path's digest")
def test_split_of(exercise_module):
    paths = [f"package{i % 7}/module_{i}.py" for i in range(400)]
    for validation_share, test_share in ((0.1, 0.1), (0.3, 0.2)):
        for path in paths:
            got = exercise_module.split_of(path, validation_share, test_share)
            wanted = expected_split(path, validation_share, test_share)
            assert got == wanted, say(
                fr=f"split_of({path!r}, {validation_share}, {test_share}) doit rendre {wanted!r}, pas {got!r} : "
                   "le tirage est int.from_bytes(sha256(chemin en UTF-8)[:8], \"big\") / 2**64, comparé d'abord "
                   "à test_share, puis à test_share + validation_share.",
                en=f"split_of({path!r}, {validation_share}, {test_share}) must return {wanted!r}, not {got!r}: the "
                   "draw is int.from_bytes(sha256(path in UTF-8)[:8], \"big\") / 2**64, compared first with "
                   "test_share, then with test_share + validation_share.")
    shares = [exercise_module.split_of(path) for path in paths].count("test") / len(paths)
    assert 0.05 < shares < 0.15, say(
        fr=f"Avec test_share=0.1 par défaut, environ 10 % des fichiers vont au test, pas {100 * shares:.0f} %.",
        en=f"With the default test_share=0.1, about 10 % of the files go to the test, not {100 * shares:.0f} %.")


@pytest.mark.check(fr="function_headers trouve l'en-tête de chaque fonction avec ast",
                   en="function_headers finds each function's header with ast")
def test_function_headers(exercise_module):
    got = exercise_module.function_headers(SOURCE)
    assert isinstance(got, list), say(fr=f"function_headers doit rendre une liste, pas {got!r:.80}.",
                                      en=f"function_headers must return a list, not {got!r:.80}.")
    assert got == EXPECTED_HEADERS, say(
        fr=f"Sur l'exemple, les en-têtes attendus sont {EXPECTED_HEADERS}, dans l'ordre des lignes, pas {got}. "
           "Sans décorateur, avec toutes les lignes d'une signature, sans ligne vide ni commentaire à la fin, "
           "et sans la fonction écrite sur une seule ligne.",
        en=f"On the example, the expected headers are {EXPECTED_HEADERS}, in line order, not {got}. "
           "No decorator, every line of a signature, no blank or comment line at the end, and not the "
           "function written on one line.")
    assert exercise_module.function_headers("def broken(:\n    pass\n") == [], say(
        fr="Un fichier qui ne s'analyse pas n'a pas d'en-tête.", en="A file that does not parse has no headers.")


@pytest.mark.check(fr="cut_at_function_end s'arrête à la première ligne qui n'est pas plus indentée que le def",
                   en="cut_at_function_end stops at the first line indented no deeper than the def")
def test_cut_at_function_end(exercise_module):
    cases = [
        ("def f(x):\n", "    y = x\n\n    return y\ndef g():\n    pass\n", ("    y = x\n\n    return y\n", True)),
        ("    def m(self):\n", "        return 1\n    def n(self):\n", ("        return 1\n", True)),
        ("    def m(self):\n", "        return 1\nclass B:\n", ("        return 1\n", True)),
        ("def f(x):\n", "    total = 0\n    for i in ra", ("    total = 0\n", False)),
        ("def f(x):\n", "    return (x +", ("", False)),
        ("def f(x):\n", "print(1)\n", ("", True)),
    ]
    for header, completion, wanted in cases:
        got = exercise_module.cut_at_function_end(header, completion)
        got = tuple(got) if isinstance(got, (tuple, list)) else got
        assert got == wanted, say(
            fr=f"cut_at_function_end({header!r}, {completion!r}) doit rendre {wanted!r}, pas {got!r}. La "
               "fonction finit avant la première ligne non vide indentée au plus comme le def ; sans elle, on garde "
               "le texte jusqu'au dernier retour à la ligne compris, et False.",
            en=f"cut_at_function_end({header!r}, {completion!r}) must return {wanted!r}, not {got!r}. The function "
               "ends before the first non-blank line indented no deeper than the def; without one, keep the text up "
               "to and including its last newline, and False.")


@pytest.mark.check(fr="is_valid demande à ast.parse si en-tête + corps est du Python",
                   en="is_valid asks ast.parse whether header + body is Python")
def test_is_valid(exercise_module):
    cases = [
        ("def f(x):\n", "    return x + 1\n", True),
        ("    def m(self):\n", "        return self.x\n", True),
        ("def join_all(first,\n             second):\n", "    return first + second\n", True),
        ("def f(x):\n", "    return (x +\n", False),
        ("def f(x):\n", "", False),
        ("def f(x):\n", "    if x:\n    return 1\n", False),
        ("def f(x):\n", "    s = 'never closed\n", False),
        ("def f(x):\n", "    return 1\0\n", False),
    ]
    for header, body, wanted in cases:
        got = exercise_module.is_valid(header, body)
        assert got is wanted, say(
            fr=f"is_valid({header!r}, {body!r}) doit rendre {wanted}, pas {got!r} : ast.parse accepte-t-il le "
               "code ? (SyntaxError, dont IndentationError, et ValueError veulent dire non.)",
            en=f"is_valid({header!r}, {body!r}) must return {wanted}, not {got!r}: does ast.parse accept the "
               "code? (SyntaxError, IndentationError included, and ValueError mean no.)")
