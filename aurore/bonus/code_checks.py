"""Beyond "it parses": held-out functions with checks, and candidate bodies run against them in a child process.

The checks come from the held-out files themselves and from the standard
library's own test suite (`Lib/test`, never in the corpus):

- a function whose docstring (in the file as written) has doctest examples
  (`>>>`): the examples;
- a module-level function called in `Lib/test/test_*.py` by a simple assert,
  `self.assertEqual(module.f(literal, …), literal)` (either order): that call
  and its expected value;
- failing both, a module-level function the test suite calls with literal
  arguments anywhere (`module.f("a/b")`): the call, with the value the real
  body returns as the expected one (`record`), kept only when that value is a
  literal other than None and the same on a second call. The real code is the
  oracle, as EvalPlus does for HumanEval.

A check that a `pass` body passes checks nothing: such a function is left
out, whatever its checks' source.

A candidate is the held-out file (as the corpus keeps it) with the function's
body replaced by the model's; it runs in a fresh `python -I` child process
with a time limit (`run`), never in this process: model code may loop, exit
or write files. Each function's checks are first run with its real body, and
a function whose checks fail that way is left out.
"""

from __future__ import annotations

import ast
import functools
import json
import secrets
import subprocess
import sys
from pathlib import Path

#: Seconds a candidate may run (import of its module included).
TIME_LIMIT = 10.0
#: At most this many asserts per function.
MAX_ASSERTS = 5
_ASSERTS = ("assertEqual", "assertEquals", "assertTrue", "assertFalse")
_CHILD = r"""
import doctest, json, sys
job = json.loads(sys.stdin.read())
namespace = {"__name__": job["module"], "__package__": job["package"], "__file__": job["path"]}
exec(compile(job["program"], job["path"], "exec"), namespace)
if job["doctest"]:
    test = doctest.DocTestParser().get_doctest(job["doctest"], namespace, job["name"], job["path"], 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    failed = runner.run(test, out=lambda text: None).failed
    if failed or not test.examples:
        sys.exit(1)
for check in job["asserts"]:
    exec(check, namespace)
sys.__stdout__.write(job["nonce"])
"""
_RECORD_CHILD = r"""
import ast, json, sys
job = json.loads(sys.stdin.read())
namespace = {"__name__": job["module"], "__package__": job["package"], "__file__": job["path"]}
exec(compile(job["program"], job["path"], "exec"), namespace)
kept = []
for call in job["calls"]:
    try:
        first, second = eval(call, namespace), eval(call, namespace)
        text = repr(first)
        if first is not None and first == second and ast.literal_eval(text) == first and len(text) <= 2000:
            kept.append(f"assert {call} == {text}\n")
    except BaseException:
        continue
sys.__stdout__.write(job["nonce"] + json.dumps(kept))
"""


def module_name(relative: str) -> tuple[str, str]:
    """("json.encoder", "json") for "json/encoder.py"; ("calendar", "") for "calendar.py"."""
    name = relative[:-3].replace("/", ".").removesuffix(".__init__")
    return name, name.rpartition(".")[0] if not relative.endswith("__init__.py") else name


def _literal(node) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def test_suite_asserts(test_dir: Path, module: str, functions: set[str]) -> dict[str, list[str]]:
    """{function: ["assert f(…) == …", …]} from the simple asserts of the test suite's files on `module`."""
    found: dict[str, list[str]] = {}
    for node, called in _suite_nodes(test_dir, module, functions):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in _ASSERTS and not node.keywords):
            continue
        if node.func.attr in ("assertTrue", "assertFalse") and len(node.args) == 1:
            pairs = [(node.args[0], None)]
        elif node.func.attr not in ("assertTrue", "assertFalse") and len(node.args) == 2:
            pairs = [tuple(node.args), tuple(node.args[::-1])]
        else:
            continue
        for call, expected in pairs:
            name = called(call) if expected is None or _literal(expected) else None
            if name is None:
                continue
            arguments = _arguments(call)
            if expected is None:
                check = f"assert {'not ' if node.func.attr == 'assertFalse' else ''}{name}({arguments})\n"
            else:
                check = f"assert {name}({arguments}) == {ast.unparse(expected)}\n"
            if check not in found.setdefault(name, []) and len(found[name]) < MAX_ASSERTS:
                found[name].append(check)
            break
    return found


def test_suite_calls(test_dir: Path, module: str, functions: set[str], most: int = 3 * MAX_ASSERTS) -> dict[str, list[str]]:
    """{function: ["f(…)", …]}: the test suite's calls of `module`'s `functions` with literal arguments, anywhere."""
    found: dict[str, list[str]] = {}
    for node, called in _suite_nodes(test_dir, module, functions):
        name = called(node)
        if name is not None:
            call = f"{name}({_arguments(node)})"
            if call not in found.setdefault(name, []) and len(found[name]) < most:
                found[name].append(call)
    return found


def _suite_nodes(test_dir: Path, module: str, functions: set[str]):
    """(node, called) for every node of the test suite's files that import `module` (`called`: `_resolver`'s)."""
    for tree in _test_trees(str(test_dir)):
        if module in tree.imported:
            called = _resolver(tree, module, functions)
            for node in ast.walk(tree):
                yield node, called


def _resolver(tree, module: str, functions: set[str]):
    """A function telling, for a node of this test file, which of `module`'s `functions` it calls with literal
    arguments only (`module.f(…)`, `alias.f(…)` or `f(…)` imported from the module), or None."""
    aliases = {module} | {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                          for alias in node.names if alias.name == module} | {
        alias.asname or alias.name for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and not node.level
        for alias in node.names if f"{node.module}.{alias.name}" == module}
    imported = {alias.asname or alias.name: alias.name for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module == module and not node.level
                for alias in node.names if alias.name in functions}

    def called(call) -> str | None:
        if not (isinstance(call, ast.Call) and all(_literal(argument) for argument in call.args)
                and all(keyword.arg and _literal(keyword.value) for keyword in call.keywords)):
            return None
        target = call.func
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                and target.value.id in aliases and target.attr in functions:
            return target.attr
        if isinstance(target, ast.Name) and target.id in imported:
            return imported[target.id]
        return None
    return called


def _arguments(call) -> str:
    return ", ".join([ast.unparse(argument) for argument in call.args]
                     + [f"{keyword.arg}={ast.unparse(keyword.value)}" for keyword in call.keywords])


@functools.lru_cache(maxsize=2)
def _test_trees(test_dir: str) -> list:
    """The test suite's files, parsed once, each with the modules it imports."""
    trees = []
    for path in sorted(Path(test_dir).rglob("test_*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue
        tree.imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                         for alias in node.names} | {node.module for node in ast.walk(tree)
                                                     if isinstance(node, ast.ImportFrom) and node.module}
        trees.append(tree)
    return trees


def checked_functions(relative: str, text: str, original: str, test_dir: Path | None) -> list[dict]:
    """The functions of one held-out file that have checks.

    `text`: the file as the corpus keeps it (the program candidates replace a
    body in); `original`: the file as written (its docstrings hold the
    doctests); `test_dir`: the test suite's folder, or None.
    """
    try:
        tree, written = ast.parse(text), ast.parse(original)
    except (SyntaxError, ValueError):
        return []
    written_functions = [node for node in ast.walk(written)
                         if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    kept_functions = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if [node.name for node in written_functions] != [node.name for node in kept_functions]:
        return []                                  # not the same functions: nothing to match the doctests by
    docs = {}                                      # the n-th function of one tree is the n-th of the other
    for index, node in enumerate(written_functions):
        doc = ast.get_docstring(node, clean=False)
        if doc and ">>>" in doc:
            docs[index] = doc
    top_level = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    module, package = module_name(relative)
    asserts = test_suite_asserts(test_dir, module, top_level) if test_dir and top_level else {}
    calls = test_suite_calls(test_dir, module, top_level) if test_dir and top_level else {}
    lines = text.splitlines(keepends=True)
    found = []
    for index, node in enumerate(kept_functions):
        checks = asserts.get(node.name) if node in tree.body else None
        doc = docs.get(index)
        to_record = calls.get(node.name, []) if node in tree.body and not (checks or doc) else []
        if isinstance(node, ast.AsyncFunctionDef) or not (checks or doc or to_record):
            continue
        start, body_start, end = node.lineno - 1, node.body[0].lineno - 1, node.end_lineno
        found.append({"path": relative, "module": module, "package": package, "name": node.name,
                      "header": "".join(lines[start:body_start]), "body": "".join(lines[body_start:end]),
                      "before": "".join(lines[:body_start]), "after": "".join(lines[end:]),
                      "doctest": "" if checks else doc, "asserts": checks or [], "calls": to_record,
                      "source": "assert" if checks else "doctest" if doc else "recorded"})
    return found


def run(function: dict, body: str, time_limit: float = TIME_LIMIT) -> bool:
    """Whether the file with this body in place of the function's passes the function's checks.

    A fresh `python -I` child process runs it, killed after `time_limit`
    seconds; a syntax error, an exception, a failed check or a timeout is a fail.
    """
    job = {key: function[key] for key in ("module", "package", "path", "name", "doctest", "asserts")}
    nonce = secrets.token_hex(16)       # printed once every check passed: an early exit(0) is a fail
    output = _child(_CHILD, {**job, "program": _program(function, body), "nonce": nonce}, time_limit)
    return output is not None and output.endswith(nonce)


def record(function: dict, time_limit: float = TIME_LIMIT) -> list[str]:
    """The asserts of `function["calls"]` with the values its real body returns (see the module's docstring)."""
    job = {key: function[key] for key in ("module", "package", "path", "calls")}
    nonce = secrets.token_hex(16)
    output = _child(_RECORD_CHILD, {**job, "program": _program(function, function["body"]), "nonce": nonce},
                    time_limit)
    if output is None or nonce not in output:
        return []
    return json.loads(output.rpartition(nonce)[2])[:MAX_ASSERTS]


def _program(function: dict, body: str) -> str:
    return function["before"] + (body if body.endswith("\n") or not body else body + "\n") + function["after"]


def _child(script: str, job: dict, time_limit: float) -> str | None:
    """What a fresh `python -I` child running `script` on `job` printed, in an empty folder of its own;
    None when it failed or ran past `time_limit` seconds."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="aurore-check-") as folder:
        try:
            done = subprocess.run([sys.executable, "-I", "-c", script], input=json.dumps(job), capture_output=True,
                                  text=True, timeout=time_limit, cwd=folder)
        except subprocess.TimeoutExpired:
            return None
    return done.stdout if done.returncode == 0 else None


def pass_at_k(samples: int, correct: int, k: int) -> float:
    """The unbiased pass@k estimate from `samples` draws of which `correct` passed (Chen et al., 2021)."""
    if samples - correct < k:
        return 1.0
    product = 1.0
    for i in range(samples - correct + 1, samples + 1):
        product *= 1 - k / i
    return 1 - product


#: The body a check must fail for: one that passes with it checks nothing.
TRIVIAL_BODY = "    pass\n"


def collect(files: list[tuple[str, str]], root: Path, time_limit: float = TIME_LIMIT) -> list[dict]:
    """Every checked function of the held-out `files` ((relative path, corpus text)) under the library `root`
    whose checks pass with its real body and fail with `pass`."""
    root = Path(root)
    found = []
    for relative, text in files:
        try:
            original = (root / relative).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for function in checked_functions(relative, text, original, root / "test"):
            if function["calls"]:
                function["asserts"] = record(function, time_limit)
                if not function["asserts"]:
                    continue
            if run(function, function["body"], time_limit) and not run(function, _indented(function, TRIVIAL_BODY),
                                                                        time_limit):
                found.append(function)
    return found


def _indented(function: dict, body: str) -> str:
    """`body` (written at one level of indentation) at the indentation of the function's own body."""
    first = function["body"].lstrip("\n")
    indent = first[:len(first) - len(first.lstrip())]
    return "".join(indent + line[4:] if line.strip() else line for line in body.splitlines(keepends=True))
