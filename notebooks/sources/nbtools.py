"""Write a notebook from a list of (kind, source, tags) cells: `python notebooks/sources/<name>.py`.

The notebooks are the product; these scripts are how they were typed. Edit either, but keep
them in step (rerun the script after editing it).
"""

from __future__ import annotations

from pathlib import Path

import nbformat


def write(name: str, cells: list[tuple[str, str, list[str] | None]]) -> Path:
    nb = nbformat.v4.new_notebook()
    for kind, src, tags in cells:
        src = src.strip("\n")
        cell = nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src)
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    out = Path(__file__).resolve().parents[1] / f"{name}.ipynb"
    nbformat.write(nb, out)
    return out
