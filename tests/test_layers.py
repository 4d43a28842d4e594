"""The import graph of src/pceval: layers only point down, and no module imports itself in a circle.

The layer order is the one docs/architecture.md draws (records -> cohort -> panel -> comparison ->
effect -> equity -> report). Every ``import`` counts, including imports inside functions and
under ``TYPE_CHECKING``: a lazy import is still an arrow.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

# lowest first; a module may import from its own layer or any lower one
LAYERS: list[set[str]] = [
    {"pceval.errors", "pceval._version", "pceval._distributions"},
    {"pceval._engines"},
    {"pceval._checks", "pceval._periods", "pceval._results", "pceval._design", "pceval._models",
     "pceval._sufficient", "pceval._balance_rules",
     "pceval._in_engine_balance",
     "pceval.plots",
     "pceval.disclosure"},
    {"pceval.synthetic"},
    {"pceval.cohort"},
    {"pceval.panel"},
    {"pceval.covariate_balance"},
    {"pceval.matching"},
    {"pceval.effects", "pceval.did", "pceval.proms"},
    {"pceval.inequality"},
    {"pceval.costs"},
    {"pceval.sensitivity"},
    {"pceval.report"},
    {"pceval.cli"},
]


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Every pceval module -> the pceval modules it imports (``from pceval import x`` resolved)."""
    modules = {_module(p) for p in (SRC / "pceval").rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for p in (SRC / "pceval").rglob("*.py"):
        me = _module(p)
        for node in ast.walk(ast.parse(p.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pceval"):
                for a in node.names:
                    sub = f"{node.module}.{a.name}"
                    targets.append(sub if sub in modules else node.module)
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("pceval")]
            graph[me].update(t for t in targets if t != me)
    return graph


def _layer(module: str) -> int | None:
    top = ".".join(module.split(".")[:2])
    for i, layer in enumerate(LAYERS):
        if top in layer:
            return i
    return None


def test_every_module_has_a_layer():
    missing = sorted({m for m in _imports() if m != "pceval" and _layer(m) is None})
    assert not missing, f"add these modules to LAYERS (and docs/architecture.md): {missing}"


def test_imports_only_point_down():
    upward = []
    for mod, targets in _imports().items():
        if mod == "pceval":  # the package root re-exports the public API
            continue
        for t in targets:
            if t == "pceval":
                upward.append((mod, t))
            elif _layer(t) > _layer(mod):
                upward.append((mod, t))
    assert not upward, f"imports that run back up the layers: {sorted(upward)}"


def test_no_import_cycles():
    graph = _imports()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt == "pceval" or node == "pceval":
                continue
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n, [n])
    # a package's __init__ importing its submodules and a submodule importing a sibling through
    # the package are the same arrow twice; only report cycles between distinct files
    real = [c for c in cycles if len({x for x in c}) > 1
            and not all(x.startswith(c[0].rsplit(".", 1)[0]) and x.count(".") <= 2 and
                        (x == c[0].rsplit(".", 1)[0]) for x in c[1:])]
    assert not real, f"import cycles: {real}"


def test_no_function_shares_its_module_name():
    import importlib

    clashes = []
    for p in (SRC / "pceval").rglob("*.py"):
        mod = _module(p)
        if "." not in mod or p.name == "__init__.py":
            continue
        parent, name = mod.rsplit(".", 1)
        pkg = importlib.import_module(parent)
        if callable(getattr(pkg, name, None)) and not isinstance(getattr(pkg, name), type(pkg)):
            clashes.append(mod)
    assert not clashes, f"a function hides its module of the same name: {clashes}"
