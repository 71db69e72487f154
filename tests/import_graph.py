"""The package's import graph, read from the code (`ast`), for the layering test and docs/architecture.md.

Every `import` and `from … import` of an `aurore` module counts, at the top
of a file or inside a function: a lazy import still ties two modules.

Run it to print the figures docs/architecture.md quotes::

    python tests/import_graph.py            # modules per folder, import arrows between folders
"""

from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The stages in the order data flows: a module may import its own stage and those before it.
LAYERS = ("aurore.store", "aurore.corpus", "aurore.training", "aurore.generation", "aurore.evaluation",
          "aurore.bonus", "aurore.course", "aurore.commands", "aurore.web", "aurore.cli")
#: Below every stage: what any module may use (errors, paths, run events, the machine's facts).
FOUNDATION = ("aurore", "aurore.errors", "aurore.paths", "aurore.progress", "aurore.machine", "aurore.quiet",
              "aurore.messages")
#: Above every stage: the entry point.
TOP = ("aurore.__main__",)


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name → file, for every module of the `aurore` package under `root`."""
    found = {}
    for path in sorted((root / "aurore").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imported(node: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = module.split(".") if is_package else module.split(".")[:-1]
            package = package[:len(package) - node.level + 1]
            base = ".".join(package + ([node.module] if node.module else []))
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
    else:
        return set()
    found = set()
    for name in names:
        while name and name not in known:      # `import aurore.x.y` ties to the deepest module that exists
            name = name.rpartition(".")[0]
        if name:
            found.add(name)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module → the `aurore` modules it imports (itself left out)."""
    files = module_files(root)
    known = set(files)
    graph = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        targets = set()
        for node in ast.walk(tree):
            targets |= _imported(node, module, path.name == "__init__.py", known)
        graph[module] = targets - {module}
    return graph


def rank(module: str) -> int:
    """The module's place in the flow: the foundation first, then LAYERS, then the entry point."""
    if module in FOUNDATION:
        return 0
    for index, layer in enumerate(LAYERS, start=1):
        if module == layer or module.startswith(layer + "."):
            return index
    if module in TOP:
        return len(LAYERS) + 1
    raise ValueError(f"{module} belongs to no layer: add it to tests/import_graph.py (and docs/architecture.md)")


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Each import of a later stage by an earlier one, said in words."""
    return [f"{module} imports {target}" for module in sorted(graph) for target in sorted(graph[module])
            if rank(target) > rank(module)]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import loops: strongly connected groups of more than one module (Tarjan's algorithm)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def folder(module: str, files: dict[str, Path], root: Path = ROOT) -> str:
    return str(files[module].parent.relative_to(root))


def modules_per_folder(root: Path = ROOT) -> Counter:
    files = module_files(root)
    return Counter(folder(module, files, root) for module, path in files.items() if path.name != "__init__.py")


def arrows_between_folders(root: Path = ROOT) -> Counter:
    """(folder, folder) → how many module-to-module imports cross from the first to the second."""
    files = module_files(root)
    graph = import_graph(root)
    return Counter((folder(module, files, root), folder(target, files, root))
                   for module, targets in graph.items() for target in targets
                   if folder(module, files, root) != folder(target, files, root))


def main(argv: list[str]) -> int:
    root = Path(argv[1]).resolve() if len(argv) > 1 else ROOT
    per_folder = modules_per_folder(root)
    print("modules per folder (without __init__.py):")
    for name, count in sorted(per_folder.items()):
        print(f"  {name:28} {count}")
    arrows = arrows_between_folders(root)
    print(f"import arrows between folders: {sum(arrows.values())} module imports over {len(arrows)} folder pairs")
    graph = import_graph(root)
    try:
        against = upward_imports(graph)
    except ValueError as error:      # an old tree whose modules have no stage
        against = [f"(not measured: {error})"]
    print(f"imports against the flow: {len(against)}" + "".join(f"\n  {line}" for line in against))
    print(f"import loops: {len(cycles(graph))}" + "".join(f"\n  {' ↔ '.join(loop)}" for loop in cycles(graph)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
