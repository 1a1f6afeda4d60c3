"""No import circles among the modules of provider/ and sam_ext/ (docs/architecture.md,
"Layers"): each module's imports are read with :mod:`ast`, never by importing it.

What counts as an edge A -> B (A imports B):

- every import that runs: at module level (also inside ``try``/``if`` there) and inside
  a function or method body. A circle dodged by moving one import into a function is
  still a circle (it only fails later, and at a distance), so it counts;
- not an import under ``if TYPE_CHECKING:``: it never runs, and serves annotations only
  (which ``from __future__ import annotations`` never evaluates);
- ``from P import X`` is an edge to the module ``P.X`` when that is a module, else to
  ``P``; an edge to ``a.b.c`` is not also an edge to the packages ``a`` and ``a.b`` that
  Python initialises first (a package's ``__init__`` that re-exports its own modules
  would otherwise close a circle with each of them).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("provider", "sam_ext")


def modules(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Every module of ``packages`` under ``root``, by dotted name."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_imports(nodes: Iterable[ast.AST]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements among ``nodes`` and in them that can run: all but those
    under ``if TYPE_CHECKING:`` (its ``else`` branch runs, and counts)."""
    for node in nodes:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from runtime_imports(node.orelse)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        else:
            yield from runtime_imports(ast.iter_child_nodes(node))


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ``known`` that module ``name`` (at ``path``) imports at run time."""
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in runtime_imports([ast.parse(path.read_text(), str(path))]):
        if isinstance(node, ast.Import):
            wanted = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                parts = name.split(".") if is_package else name.split(".")[:-1]
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            wanted = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        for target in wanted:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.add(target)
    return targets


def import_cycles(root: Path, packages: tuple[str, ...]) -> list[list[str]]:
    """The import circles among ``packages``' modules: each strongly connected set of
    modules (two or more that reach each other through runtime imports), sorted."""
    known = modules(root, packages)
    graph = {name: sorted(imported(name, path, known)) for name, path in known.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for start in graph:  # Tarjan's algorithm, iteratively (no recursion limit)
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(graph[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(graph[successor])))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        cycles.append(sorted(component))
    return sorted(cycles)


def test_provider_and_sam_ext_have_no_import_circles() -> None:
    known = modules(ROOT, PACKAGES)
    assert "provider.backends.local.store" in known and "sam_ext.cli" in known
    assert import_cycles(ROOT, PACKAGES) == []


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_finder_sees_circles_through_functions_not_through_type_checking(
    tmp_path: Path,
) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg import a\n",  # a package's own re-export: no circle
            "pkg/a.py": "from pkg.b import thing\n",
            # A circle dodged inside a function is still one.
            "pkg/b.py": "def thing():\n    from pkg import a\n    return a\n",
            "pkg/c.py": "from . import d\n",  # relative, module level
            "pkg/d.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from pkg import c\nelse:\n    import pkg.e\n"
            ),
            "pkg/e.py": "import os\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/f.py": "try:\n    from ..sub import g\nexcept ImportError:\n    g = None\n",
            "pkg/sub/g.py": "class G:\n    def m(self):\n        from .f import g\n",
        },
    )
    assert import_cycles(tmp_path, ("pkg",)) == [
        ["pkg.a", "pkg.b"],
        ["pkg.sub.f", "pkg.sub.g"],
    ]
