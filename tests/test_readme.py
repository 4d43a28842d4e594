"""Every Python block of the README runs, in order, as a new user would run it."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def test_readme_code_blocks_run(monkeypatch):
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
    assert len(blocks) >= 2
    monkeypatch.chdir(ROOT)
    ns: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for code in blocks:
            exec(compile(code, "README.md", "exec"), ns)  # noqa: S102 (our own README)
    assert ns["panel"].attrs["pceval_time_units"] == {"person_time": "month"}
    fit = ns["fit"].to_frame()
    assert list(fit["scale"]) == ["absolute", "relative"]
    assert ns["fit"].verdict() in {"lower", "higher", "no evidence either way", "too few to tell"}
    assert ns["by_q"].headline["term"] == "imd_quintile 1 - 5"
    assert isinstance(ns["res"].aggregate("simple").headline, pd.Series)
