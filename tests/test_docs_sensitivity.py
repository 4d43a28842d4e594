"""Every code block of docs/sensitivity.md runs, in order, on the shipped synthetic data."""

from __future__ import annotations

import re
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "sensitivity.md"


def _blocks() -> list[str]:
    text = DOC.read_text()
    return [textwrap.dedent(b) for b in re.findall(r"^ *```python\n(.*?)^ *```", text, flags=re.S | re.M)]


def test_doc_code_blocks_run(monkeypatch):
    if not (ROOT / "synthetic_data" / "metadata.json").exists():
        pytest.fail("synthetic_data/ is missing: run `make data`")
    monkeypatch.chdir(ROOT)
    blocks = _blocks()
    assert len(blocks) == 2
    ns: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for code in blocks:
            exec(compile(code, str(DOC), "exec"), ns)  # noqa: S102 (our own documentation)
    dyn, rm, sm = ns["dyn"], ns["rm"], ns["sm"]
    se = dyn.table.dropna(subset=["std_error"])["std_error"].to_numpy()
    np.testing.assert_allclose(np.sqrt(np.diag(dyn.vcov)), se, rtol=1e-12)
    frame = rm.to_frame()
    assert list(frame["term"]) == ["original", "Mbar=0.5", "Mbar=1", "Mbar=1.5", "Mbar=2"]
    width = (frame["ci_upper"] - frame["ci_lower"]).to_numpy()
    assert (np.diff(width[1:]) > 0).all()  # the sets grow with Mbar
    assert sm.settings["l_label"].startswith("the average")
    assert ns["ev"].evalue == pytest.approx(1.809017, abs=1e-6)
    assert 4 < ns["rb"].sensitivity_value < 5
    rs = ns["rs"]
    assert rs.settings["controls_per_set"] == 2 and rs.sensitivity_value > 2
    assert "matched set" in rs.sentence()
