"""Every code block of docs/national_scale.md runs, in order, on Spark local and the shipped
synthetic data; the page's claims hold: the Spark and pandas paths agree to 1e-9."""

from __future__ import annotations

import re
import textwrap
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "national_scale.md"


def _blocks() -> list[str]:
    text = DOC.read_text()
    return [textwrap.dedent(b) for b in re.findall(r"^ *```python\n(.*?)^ *```", text, flags=re.S | re.M)]


def test_national_scale_page_runs_on_spark(monkeypatch, spark_session):
    if not (ROOT / "synthetic_data" / "metadata.json").exists():
        pytest.fail("synthetic_data/ is missing: run `make data`")
    monkeypatch.chdir(ROOT)
    blocks = _blocks()
    assert len(blocks) == 4
    ns: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for code in blocks:
            exec(compile(code, str(DOC), "exec"), ns)  # noqa: S102 (our own documentation)
    res, local = ns["res"], ns["local"]
    assert res.settings["engine"] == "spark (in-engine sufficient statistics)"
    assert "engine" not in local.settings
    scale = local.to_frame()[["estimate", "std_error", "band_lower"]].abs().max()
    assert (ns["gap"] <= 1e-9 * scale).all(), ns["gap"]
    assert len(ns["dynamic"].to_frame()) > 5
    fit = ns["fit"].to_frame()
    assert list(fit["scale"]) == ["absolute", "relative"]
    assert fit["std_error"].notna().all()
    bal = ns["bal"].to_frame()
    assert bal["ks"].notna().any() and (ns["bal_gap"] <= 1e-9 * ns["bal_local"].to_frame()[
        ["smd", "var_ratio", "ks"]].abs().max()).all(), ns["bal_gap"]
