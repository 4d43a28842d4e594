"""Declared dependencies equal imported ones: what src/pceval imports is declared in pyproject.toml,
and every declared core dependency is imported (or has a stated runtime-only reason)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# import name -> distribution name, where they differ
DIST = {"IPython": "ipykernel", "yaml": "pyyaml"}
# declared but used without an import statement in src/, with the reason
RUNTIME_ONLY = {
    "pyarrow": "pandas' parquet engine (read_parquet / to_parquet of the synthetic data)",
    "ipykernel": "the Python kernel nbclient starts to execute the report notebooks",
}


def _declared() -> set[str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0].lower() for d in meta["dependencies"]}


def _imported() -> set[str]:
    names: set[str] = set()
    for p in (ROOT / "src" / "pceval").rglob("*.py"):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    third = {n for n in names if n not in sys.stdlib_module_names and n not in ("pceval", "__future__")}
    return {DIST.get(n, n).lower() for n in third}


# optional engines are imported only where the user's data already is that engine (or on request)
OPTIONAL = {"polars", "duckdb", "pyspark"}


def test_everything_imported_is_declared():
    missing = _imported() - _declared() - OPTIONAL
    assert not missing, f"imported by src/pceval but not declared in pyproject.toml: {sorted(missing)}"


def test_everything_declared_is_imported():
    unused = _declared() - _imported() - set(RUNTIME_ONLY)
    assert not unused, f"declared in pyproject.toml but never imported by src/pceval: {sorted(unused)}"
