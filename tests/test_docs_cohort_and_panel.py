"""Every code block of docs/cohort_and_panel.md runs, in order, on the shipped synthetic data."""

from __future__ import annotations

import re
import textwrap
import warnings
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "cohort_and_panel.md"


def _blocks() -> list[str]:
    text = DOC.read_text()
    return [textwrap.dedent(b) for b in re.findall(r"^ *```python\n(.*?)^ *```", text, flags=re.S | re.M)]


def test_doc_code_blocks_run(monkeypatch):
    if not (ROOT / "synthetic_data" / "metadata.json").exists():
        pytest.fail("synthetic_data/ is missing: run `make data`")
    monkeypatch.chdir(ROOT)
    blocks = _blocks()
    assert len(blocks) >= 2
    ns: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for code in blocks:
            exec(compile(code, str(DOC), "exec"), ns)  # noqa: S102 (our own documentation)
    assert ns["p"].attrs["pceval_time_units"] == {"person_time": "month"}
    cp = ns["cp"]
    assert isinstance(cp, pd.DataFrame)
    assert cp.groupby("pcn_id")["period"].apply(lambda s: (s.diff().dropna() == 1).all()).all()
    assert len(ns["res"].to_frame()) > 0
    mp = ns["mp"]
    assert {"match_id", "post", "treated", "weights", "subclass", "imd_quintile"} <= set(mp.columns)
    assert mp.attrs["pceval_time_units"] == {"person_time": "month"}
    assert len(ns["fit"].to_frame()) == 2
