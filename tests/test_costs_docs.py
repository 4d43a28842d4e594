"""Every code block of docs/costs.md runs, in order, on the shipped synthetic data, and its worked
example recovers the synthetic truth."""

from __future__ import annotations

import re
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "costs.md"


def _blocks() -> list[str]:
    text = DOC.read_text()
    return [textwrap.dedent(b) for b in re.findall(r"^ *```python\n(.*?)^ *```", text, flags=re.S | re.M)]


def test_costs_doc_code_blocks_run(monkeypatch):
    if not (ROOT / "synthetic_data" / "metadata.json").exists():
        pytest.fail("synthetic_data/ is missing: run `make data`")
    monkeypatch.chdir(ROOT)
    blocks = _blocks()
    assert len(blocks) >= 5
    ns: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for code in blocks:
            exec(compile(code, str(DOC), "exec"), ns)  # noqa: S102 (our own documentation)
    # the table and the inflation the page shows
    assert ns["mine_2324"].cost("emergency_admission") == pytest.approx(2000.0 * 114 / 109)
    # the worked example: the true effect lies in the interval of events avoided per 1,000
    head = ns["cons"].headline
    assert head["term"] == "events_avoided_per_1000_per_year"
    assert head["ci_lower"] <= ns["true_avoided"] <= head["ci_upper"]
    assert "illustrative, not NHS figures" in ns["cons"].bottom_line()
    # by quintile: five quintiles and an overall row for every term
    q = ns["cons_q"].to_frame()
    assert set(q["subgroup"].astype(str)) == {"1", "2", "3", "4", "5", "overall"}
    assert (q.groupby(q["subgroup"].astype(str)).size() == 9).all()
    e = q.query("term == 'events_avoided_per_year'").set_index(q.query(
        "term == 'events_avoided_per_year'")["subgroup"].astype(str))
    assert e.loc["overall", "estimate"] == pytest.approx(e.drop("overall")["estimate"].sum())
    # the draws agree with the delta method for this linear case (Monte Carlo error only)
    d = ns["cons"].to_frame().set_index("term")
    m = ns["cons_d"].to_frame().set_index("term")
    t = "events_avoided_per_1000_per_year"
    assert m.loc[t, "ci_lower"] == pytest.approx(d.loc[t, "ci_lower"], abs=0.05 * d.loc[t, "std_error"])
    assert np.isfinite(ns["cons_rr"].headline["estimate"])
