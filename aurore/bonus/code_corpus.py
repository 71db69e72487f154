"""The Python code corpus of exercise 9: the standard library's own source files, split by file.

Every machine with Python has these files (`sysconfig.get_paths()["stdlib"]`),
so the corpus needs no download. Left out: installed packages
(site-packages), the test suites (many files there are broken on purpose)
and any file that is not UTF-8 or does not parse. Each file is kept **normalised** by default (`normalise`: the file as
`ast.unparse` writes it back, docstrings and comments left out): four-space
indentation, one quoting style, no prose. A 15-minute model then spends its
few steps on code, not on English or on ten ways to indent (issue 27's
failure table: most raw completions failed on a docstring or a comment cut by
the token budget, or on a mix of indentations). `--keep-source` keeps the
files as written. Each file is one row
(`text`, and `path` relative to the library folder); exercise 9's `split_of`
sends each whole file to train, validation or test, so no function is
judged on a file the model learned from.

Saved with `datasets` (`save_to_disk`) and a `stats.json` (files, lines and
characters per split), atomically: an interrupted run leaves the previous
corpus whole.
"""

from __future__ import annotations

import json
import os
import sysconfig
from pathlib import Path
from types import ModuleType

from aurore import paths
from aurore.errors import AuroreError
from aurore.messages import N_, gettext, number
from aurore.store import atomic, saved_dataset
from aurore.store.saved_dataset import SPLITS

STATS_FILE = "stats.json"
#: Folders whose files are not the library itself.
SKIPPED_FOLDERS = frozenset({"site-packages", "dist-packages", "test", "tests", "idle_test", "__pycache__"})
#: Files larger than this are generated tables, not code worth learning.
MAX_FILE_BYTES = 500_000


def stdlib_dir() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def without_docstrings(tree):
    """The module's tree with every docstring removed (a body left empty gets `pass`)."""
    import ast

    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or ([] if isinstance(node, ast.Module) else [ast.Pass()])
    return tree


def normalise(text: str) -> str:
    """The code as `ast.unparse` writes it back, docstrings and comments left out (raises SyntaxError)."""
    import ast

    return ast.unparse(without_docstrings(ast.parse(text))) + "\n"


def source_files(root: str | os.PathLike | None = None, normalised: bool = True) -> list[tuple[str, str]]:
    """(relative path, source) of every usable .py file under `root` (the standard library by default).

    `normalised`: each file as `normalise` writes it (the default), else as it is.
    """
    import ast

    root = Path(root or stdlib_dir())
    if not root.is_dir():
        raise AuroreError(f"{root} is not a folder of Python files: give a folder with --source.")
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if SKIPPED_FOLDERS & set(relative.parts[:-1]):
            continue
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                continue
            text = path.read_text(encoding="utf-8")
            ast.parse(text)
            if normalised:
                text = normalise(text)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError):
            continue
        if text.strip():
            found.append((relative.as_posix(), text))
    if not found:
        raise AuroreError(f"No readable Python file under {root}: give a folder of .py files with --source.")
    return found


def build(module: ModuleType, files: list[tuple[str, str]], validation_share: float = 0.1,
          test_share: float = 0.1):
    """A DatasetDict (train/validation/test; columns text, path): each file goes whole to one split.

    `module` is exercise 9 (its `split_of` chooses the split of each file).
    """
    from datasets import Dataset, DatasetDict, Features, Value

    if not (0 < validation_share < 1 and 0 < test_share < 1 and validation_share + test_share < 1):
        raise AuroreError(f"The validation ({validation_share}) and test ({test_share}) shares must be above 0 "
                          "and add up to less than 1, e.g. 0.1 each.")
    columns = {split: {"text": [], "path": []} for split in SPLITS}
    for relative, text in files:
        split = module.split_of(relative, validation_share, test_share)
        if split not in columns:
            raise AuroreError(f"Exercise 9: `split_of` returned {split!r:.40} for {relative}, not one of "
                              f"{', '.join(SPLITS)}. Check your code with `python -m aurore check 9`.")
        columns[split]["text"].append(text)
        columns[split]["path"].append(relative)
    empty = [split for split in SPLITS if not columns[split]["text"]]
    if empty:
        raise AuroreError(f"No file went to the {', '.join(empty)} split ({len(files)} files in all): "
                          "use more files, or larger shares.")
    features = Features({"text": Value("string"), "path": Value("string")})
    return DatasetDict({split: Dataset.from_dict(columns[split], features=features) for split in SPLITS})


def compute_stats(dataset) -> dict:
    """Files, lines and characters per split."""
    stats = {}
    for split in SPLITS:
        texts = dataset[split]["text"]
        stats[split] = {"files": len(texts), "lines": sum(text.count("\n") for text in texts),
                        "characters": sum(len(text) for text in texts)}
    return stats


#: How the statistics line names each split (msgids: said in the run's language).
SPLIT_NAMES = {"train": N_("training set"), "validation": N_("validation set"), "test": N_("test set")}


def format_stats(stats: dict) -> str:
    return "; ".join(gettext("%(split)s: %(files)s files, %(lines)s lines, %(characters)s characters",
                             split=gettext(SPLIT_NAMES.get(split, split)), files=number(counts["files"], 0),
                             lines=number(counts["lines"], 0), characters=number(counts["characters"], 0))
                     for split, counts in stats.items())


def save(dataset, out_dir: str | os.PathLike | None = None) -> tuple[Path, dict]:
    """Save the DatasetDict and its `stats.json`, replacing any previous corpus whole."""
    from datasets.utils import logging as datasets_logging

    out = Path(out_dir or paths.code_dataset_dir())
    stats = compute_stats(dataset)
    with atomic.replace_dir(out) as tmp:
        datasets_logging.disable_progress_bar()
        dataset.save_to_disk(str(tmp))
        atomic.write_text(tmp / STATS_FILE, json.dumps(stats, indent=1))
    return out, stats


def load(path: str | os.PathLike | None = None):
    """The saved corpus, or a clear error saying how to make one."""
    return saved_dataset.load(path or paths.code_dataset_dir(), "python -m aurore code prepare")
