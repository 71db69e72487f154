"""The package's layout holds: imports flow with the workshop's stages, no loops, no stale paths.

The rules are docs/architecture.md's; tests/import_graph.py reads the imports.
"""

from __future__ import annotations

import ast
import re
import subprocess

import pytest

import import_graph
from import_graph import ROOT, cycles, import_graph as read_graph, modules_per_folder, rank, upward_imports

GRAPH = read_graph()


def test_no_import_climbs_back_up_a_stage():
    assert upward_imports(GRAPH) == [], (
        "a stage imports a later one (store < corpus < training < generation < evaluation < bonus < course "
        "< commands < web): pass what it needs in from the caller instead")


def test_there_is_no_import_loop():
    assert cycles(GRAPH) == []


def test_the_checks_see_a_planted_violation_and_a_planted_loop():
    planted = {"aurore.corpus.catalogue": {"aurore.training.presets"}, "aurore.training.presets": set(),
               "aurore.web.a": {"aurore.web.b"}, "aurore.web.b": {"aurore.web.a"}}
    assert upward_imports(planted) == ["aurore.corpus.catalogue imports aurore.training.presets"]
    assert cycles(planted) == [["aurore.web.a", "aurore.web.b"]]


def test_lazy_and_relative_imports_count(tmp_path):
    package = tmp_path / "aurore"
    (package / "store").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "store" / "__init__.py").write_text("")
    (package / "store" / "a.py").write_text("def f():\n    from aurore.web import b\n")
    (package / "store" / "c.py").write_text("from . import a\n")
    (package / "web").mkdir()
    (package / "web" / "__init__.py").write_text("")
    (package / "web" / "b.py").write_text("")
    graph = read_graph(tmp_path)
    assert graph["aurore.store.a"] == {"aurore.web.b"}
    assert graph["aurore.store.c"] == {"aurore.store.a"}
    assert upward_imports(graph) == ["aurore.store.a imports aurore.web.b"]


def test_every_module_belongs_to_a_layer():
    for module in GRAPH:
        rank(module)   # raises, naming the module, when a new folder is not placed in the flow


def test_no_folder_holds_more_than_a_dozen_modules():
    """Small folders whose names are the map; commands/ mirrors the CLI, one module per command."""
    crowded = {folder: count for folder, count in modules_per_folder().items()
               if count > 12 and folder != "aurore/commands"}
    assert crowded == {}


_PATH = re.compile(r"\baurore/[\w/]+\.(?:py|csv)\b")
_DOTTED = re.compile(r"(?<![\w.])aurore(?:\.[a-z_]+)+")
#: Names that look dotted but are files or hosts (aurore.json, aurore.css, aurore.example).
_NOT_MODULES = {"json", "css", "example"}
#: Files whose dotted names are made up on purpose (the import graph's own tests).
_SYNTHETIC = {"tests/test_architecture.py", "tests/import_graph.py"}


def _tracked(*patterns: str) -> list:
    listed = subprocess.run(["git", "ls-files", *patterns], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / name for name in listed.stdout.split()]


def _top_level_names(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        else:
            names |= {target.id for target in ast.walk(node) if isinstance(target, ast.Name)}
    return names


def _resolves(dotted: str) -> bool:
    """A module, or a name defined inside one (`aurore.web.errors.refusal`)."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:end])
        module = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
        if module.is_file():
            return end == len(parts) or parts[end] in _top_level_names(module) or (base / parts[end]).is_dir()
    return False


@pytest.mark.parametrize("patterns", [("*.md",), ("Dockerfile", "docker/*", ".dockerignore"), ("bench/*",),
                                      ("exercises/info.toml", "course/*"), ("aurore/*", "app.py"),
                                      ("tests/*",)], ids=["docs", "docker", "bench", "course", "code", "tests"])
def test_no_stale_path_or_module_name(patterns):
    stale = []
    for path in _tracked(*patterns):
        if path.suffix not in {".md", ".py", ".toml", ".sh", ".txt", ""} or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        stale += [f"{path.relative_to(ROOT)}: {found}" for found in _PATH.findall(text)
                  if not (ROOT / found).is_file()]
        if str(path.relative_to(ROOT)) in _SYNTHETIC:
            continue
        stale += [f"{path.relative_to(ROOT)}: {found}" for found in _DOTTED.findall(text)
                  if found.split(".")[1] not in _NOT_MODULES and not _resolves(found)]
    assert stale == []


def test_the_graph_script_prints_the_figures_the_architecture_page_quotes():
    done = subprocess.run(["python3", import_graph.__file__], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "aurore/corpus" in done.stdout and "import arrows between folders" in done.stdout
