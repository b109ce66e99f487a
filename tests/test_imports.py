"""The package's import structure: no module of coachkit imports one that (directly or not) imports it back,
and every module imports on its own in a fresh interpreter."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "coachkit"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the coachkit modules it imports anywhere in its source (top level or inside a function).

    ``from X import name`` counts as importing ``X.name`` when that is a module, else ``X``. Importing a
    submodule also runs its parents' ``__init__``; those implicit edges are left out (a package's
    ``__init__`` importing its own modules is how it re-exports them).
    """
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges |= {a.name for a in node.names if a.name in modules}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for a in node.names:
                    full = f"{target}.{a.name}"
                    if full in modules:
                        edges.add(full)
                    elif target in modules:
                        edges.add(target)
        edges.discard(name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted; sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def test_the_cycle_finder_finds_a_crafted_cycle_and_nothing_else() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_resolves_relative_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "coachkit"
    (pkg / "review" / "sections").mkdir(parents=True)
    for f in ("__init__.py", "window.py", "batch.py", "review/__init__.py", "review/fmt.py"):
        (pkg / f).write_text("")
    (pkg / "review" / "sections" / "__init__.py").write_text("")
    (pkg / "review" / "sections" / "header.py").write_text(
        "from ..fmt import pct\nfrom ...window import Window\nfrom ... import batch\n"
    )
    (pkg / "batch.py").write_text("def f():\n    from .review.fmt import pct\n")
    modules = {_module_name_in(pkg, p): p for p in pkg.rglob("*.py")}
    graph = import_graph(modules)
    assert graph["coachkit.review.sections.header"] == {"coachkit.review.fmt", "coachkit.window", "coachkit.batch"}
    assert graph["coachkit.batch"] == {"coachkit.review.fmt"}


def _module_name_in(package: Path, path: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_coachkit_has_no_import_cycles() -> None:
    graph = import_graph(_modules())
    assert "coachkit.window" in graph and graph["coachkit.window"] == set()
    assert cycles(graph) == []


def test_the_review_window_is_defined_below_the_batch_and_the_review() -> None:
    graph = import_graph(_modules())
    assert "coachkit.window" in graph["coachkit.batch"]
    assert "coachkit.window" in graph["coachkit.coaching"]
    review = {m for m in graph if m == "coachkit.review" or m.startswith("coachkit.review.")}
    assert len(review) > 10
    assert not any("coachkit.batch" in graph[m] for m in review)


@pytest.mark.slow
def test_every_module_imports_on_its_own_in_a_fresh_interpreter() -> None:
    names = sorted(_modules())
    script = (
        "import importlib, sys\n"
        "failed = []\n"
        f"for name in {names!r}:\n"
        "    for m in [m for m in sys.modules if m == 'coachkit' or m.startswith('coachkit.')]:\n"
        "        del sys.modules[m]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        failed.append(f'{name}: {type(exc).__name__}: {exc}')\n"
        "print('\\n'.join(failed))\n"
        "sys.exit(1 if failed else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
