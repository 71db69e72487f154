"""Exercise 8 (bonus): teach GPT-2 to complete Python code, and check that its code parses.

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
    """"train", "validation" or "test" for a file, from its path alone.

    The path's SHA-256 digest, read as a number in [0, 1), falls below
    `test_share` (test), below `test_share + validation_share` (validation),
    or above (train): a fixed draw per file, with no random state.
    """
    # BEGIN SOLUTION
    # TODO: hash the path (hashlib.sha256 of its UTF-8 bytes), turn the first 8 bytes of the
    # digest into a number in [0, 1) (int.from_bytes(…, "big") / 2**64), and compare it with the shares.
    digest = hashlib.sha256(relative_path.encode("utf-8")).digest()
    draw = int.from_bytes(digest[:8], "big") / 2**64
    if draw < test_share:
        return "test"
    if draw < test_share + validation_share:
        return "validation"
    return "train"
    # END SOLUTION


def function_headers(source: str) -> list[str]:
    """The headers of every function in a file, in order, each as its own lines of source.

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
    # TODO: for each ast.FunctionDef or ast.AsyncFunctionDef node of ast.walk(tree), sorted by line,
    # take lines[node.lineno - 1 : node.body[0].lineno - 1], drop the blank and comment lines at
    # its end, and keep it when its last line, stripped, ends with ":".
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
    """How many spaces or tabs a line starts with."""
    return len(line) - len(line.lstrip(" \t"))


def cut_at_function_end(header: str, completion: str) -> tuple[str, bool]:
    """The completion up to the function's end, and whether the function ended there.

    The function ends before the first non-blank line indented no deeper
    than the header's first line (the `def`). If no such line comes (the
    model ran out of tokens first), the body is kept up to its last complete
    line (the one before the last newline), and the function did not end.
    """
    # BEGIN SOLUTION
    # TODO: go through completion.splitlines(keepends=True); stop at the first line that is not
    # blank and whose indentation is at most the header's (return what came before, True).
    # Otherwise return the text up to and including its last "\n" (nothing if none), False.
    limit = indentation(header)
    kept = []
    for line in completion.splitlines(keepends=True):
        if line.strip() and indentation(line) <= limit:
            return "".join(kept), True
        kept.append(line)
    return completion[:completion.rfind("\n") + 1], False
    # END SOLUTION


def is_valid(header: str, body: str) -> bool:
    """Whether header + body is valid Python (`ast.parse` accepts it).

    A method's header is indented: the code is first shifted left by the
    header's indentation, so that it can stand alone in a file.
    """
    code = header + body
    shift = indentation(header)
    code = "".join(line[min(shift, indentation(line)):] for line in code.splitlines(keepends=True))
    # BEGIN SOLUTION
    # TODO: return True when ast.parse(code) succeeds, False when it raises SyntaxError
    # (IndentationError is one) or ValueError (a null byte).
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True
    # END SOLUTION
