"""Every ```python block of every page of the documentation runs, as a reader would run it.

The pages are README.md and every docs/**/*.md, so a page added to docs/ is covered without editing this
file. Each page runs in a fresh namespace, its blocks in page order, from the repository root, on the shipped
synthetic data (synthetic_data/, made by `make data`). A block that is deliberately not runnable is marked on
the line before its fence with ``<!-- no-run: the reason -->``; the reason is required and each marked block
is listed in the test output (`NO_RUN` below must name it, so a new mark is a reviewed decision).

After a page has run, the checks in `CHECKS` (if any) read its namespace: a block that runs but computes the
wrong thing fails there.
"""

from __future__ import annotations

import re
import textwrap
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]

_BLOCK = re.compile(
    r"(?:^<!--\s*no-run:\s*(?P<reason>.*?)\s*-->\n)?^(?P<indent> *)```python[^\n]*\n(?P<code>.*?)^(?P=indent)```",
    flags=re.S | re.M,
)

# (page, first line of the block) -> why it does not run; every no-run mark in the pages must be here
NO_RUN: dict[tuple[str, str], str] = {}


def pages() -> list[str]:
    """README.md, then docs/**/*.md in name order, as paths relative to the repository root."""
    docs = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").rglob("*.md"))
    return ["README.md", *docs]


def blocks(page: str) -> list[tuple[str, str | None]]:
    """The page's python blocks, in order, as (code, reason it does not run or None)."""
    text = (ROOT / page).read_text(encoding="utf-8")
    found = []
    for m in _BLOCK.finditer(text):
        # blank lines in front, so that a traceback gives the line number in the page
        padding = "\n" * text.count("\n", 0, m.start("code"))
        found.append((padding + textwrap.dedent(m.group("code")), m.group("reason")))
    return found


def run_page(page: str) -> dict:
    """Run every runnable block of ``page`` in one fresh namespace; return the namespace."""
    ns: dict = {"__name__": "__docs__"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for code, reason in blocks(page):
            if reason is not None:
                continue
            exec(compile(code, str(ROOT / page), "exec"), ns)  # noqa: S102 (our own documentation)
    return ns


def _check_readme(ns: dict) -> None:
    assert ns["panel"].attrs["pceval_time_units"] == {"person_time": "month"}
    fit = ns["fit"].to_frame()
    assert list(fit["scale"]) == ["absolute", "relative"]
    assert ns["fit"].verdict() in {"lower", "higher", "no evidence either way", "too few to tell"}
    assert ns["by_q"].headline["term"] == "imd_quintile 1 - 5"
    assert isinstance(ns["res"].aggregate("simple").headline, pd.Series)


def _check_cohort_and_panel(ns: dict) -> None:
    assert ns["p"].attrs["pceval_time_units"] == {"person_time": "month"}
    cp = ns["cp"]
    assert isinstance(cp, pd.DataFrame)
    assert cp.groupby("pcn_id")["period"].apply(lambda s: (s.diff().dropna() == 1).all()).all()
    assert len(ns["res"].to_frame()) > 0
    mp = ns["mp"]
    assert {"match_id", "post", "treated", "weights", "subclass", "imd_quintile"} <= set(mp.columns)
    assert mp.attrs["pceval_time_units"] == {"person_time": "month"}
    assert len(ns["fit"].to_frame()) == 2


def _check_getting_started(ns: dict) -> None:
    # the matched DiD's rate ratio covers the synthetic data's true rate ratio (the page prints both)
    rr = ns["fit"].to_frame().query("scale == 'relative'").iloc[0]
    assert rr["ci_lower"] <= ns["true_rr"] <= rr["ci_upper"]
    # the numbers the page quotes
    assert int(rr["n_treated"]) == 2282 and round(rr["estimate"], 2) == 0.77
    assert (round(rr["ci_lower"], 2), round(rr["ci_upper"], 2)) == (0.67, 0.89)
    assert round(ns["true_rr"], 3) == 0.865
    assert ns["by_q"].headline["term"] == "imd_quintile 1 - 5"
    html = Path(ns["written"][0]).read_text(encoding="utf-8")
    assert 'id="pceval-summary"' in html and 'data-pceval-protected="opensafely"' in html


CHECKS: dict[str, Callable[[dict], None]] = {
    "README.md": _check_readme,
    "docs/cohort_and_panel.md": _check_cohort_and_panel,
    "docs/getting_started.md": _check_getting_started,
}


def test_no_run_marks_are_listed_with_a_reason():
    marked = {}
    for page in pages():
        for code, reason in blocks(page):
            if reason is not None:
                first = code.strip().splitlines()[0] if code.strip() else ""
                assert reason, f"{page}: a no-run mark needs a reason (block starting {first!r})"
                marked[(page, first)] = reason
    assert marked == NO_RUN, "a no-run mark was added or removed: list it (with its reason) in NO_RUN"


def test_pages_are_found():
    found = pages()
    assert "README.md" in found and "docs/getting_started.md" in found and "docs/did.md" in found
    assert all(blocks(p) for p in ("README.md", "docs/getting_started.md", "docs/cohort_and_panel.md"))


@pytest.mark.parametrize("page", [p for p in pages() if any(r is None for _, r in blocks(p))])
def test_page_code_blocks_run(page, monkeypatch):
    if not (ROOT / "synthetic_data" / "metadata.json").exists():
        pytest.fail("synthetic_data/ is missing: run `make data`")
    monkeypatch.chdir(ROOT)
    ns = run_page(page)
    if page in CHECKS:
        CHECKS[page](ns)
