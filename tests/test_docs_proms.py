"""Every code block of docs/proms.md runs, in order, on the shipped synthetic data."""

from __future__ import annotations

import re
import textwrap
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "proms.md"


def _blocks() -> list[str]:
    text = DOC.read_text()
    return [textwrap.dedent(b) for b in re.findall(r"^ *```python\n(.*?)^ *```", text, flags=re.S | re.M)]


def test_doc_code_blocks_run(monkeypatch, capsys):
    if not (ROOT / "synthetic_data" / "metadata.json").exists():
        pytest.fail("synthetic_data/ is missing: run `make data`")
    monkeypatch.chdir(ROOT)
    blocks = _blocks()
    assert len(blocks) >= 6
    ns: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for code in blocks:
            exec(compile(code, str(DOC), "exec"), ns)  # noqa: S102 (our own documentation)
    life = ns["life"]
    assert life.contamination == 0  # the comparison was cleaned before matching
    h = life.headline
    assert h["ci_lower"] < ns["truth"] < h["ci_upper"]
    assert list(ns["ons"].to_frame()["term"]) == ["ons4_life_satisfaction", "ons4_worthwhile", "ons4_happy",
                                                  "ons4_anxiety"]
    assert ns["hit"].attrs["n_total"] > 0
    assert ns["gap"].verdicts["verdict"].iloc[0] in ("narrowed", "widened", "no evidence either way")
    assert "mmol/mol" in ns["res"].summary()
