"""The generator-based Monte Carlo of HonestDiD (validation/mc_sensitivity.py --generator): its
saved summary is what its saved replications give, the plain estimate's bias is the closed form
of the scenario's violation, and one replication runs end to end."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pceval.synthetic import get_scenario

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "validation" / "results"


def _mc():
    spec = importlib.util.spec_from_file_location("mc_sensitivity", ROOT / "validation" / "mc_sensitivity.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _read(name: str) -> pd.DataFrame:  # "null" is a scenario, not a missing value
    return pd.read_csv(RESULTS / name, keep_default_na=False, na_values=[""])


def test_saved_summary_is_the_saved_replications():
    mc = _mc()
    stored = _read("sensitivity_generator_summary.csv")
    again = mc.summarise_generator(_read("sensitivity_generator_replications.csv"))
    pd.testing.assert_frame_equal(again.reset_index(drop=True), stored, check_dtype=False, atol=1e-12)


def test_closed_form_bias_and_the_coverage_story():
    s = _read("sensitivity_generator_summary.csv").set_index(["scenario", "method"])
    tv = get_scenario("trend_violation").trend
    closed = float(np.mean(tv.bias(np.arange(4), months_per_period=3)))
    assert closed == pytest.approx(-0.075)
    plain = s.loc[("trend_violation", "plain event study")]
    assert plain["replications"] >= 100
    assert plain["closed_form_bias"] == pytest.approx(closed)
    assert abs(plain["mean_bias"] - closed) < 3 * plain["mc_se_bias"]  # the closed form holds
    assert plain["coverage"] + 3 * plain["mc_se_coverage"] < 0.95  # the plain interval undercovers
    rm = s.loc[("trend_violation", "HonestDiD relative magnitudes (C-LF)")]
    assert rm["coverage"] >= 0.95
    sd = s.loc[("trend_violation", "HonestDiD smoothness (FLCI)")]
    assert abs(sd["mean_centre"]) < abs(plain["mean_centre"]) / 5  # the FLCI removes the trend
    null = s.loc[("null", "plain event study")]
    assert abs(null["coverage"] - 0.95) < 3 * max(null["mc_se_coverage"], 0.02)


def test_one_replication_runs():
    mc = _mc()
    rows = pd.DataFrame(mc.generator_rep("trend_violation", 2019))
    assert list(rows["method"]) == ["plain event study", "HonestDiD relative magnitudes (C-LF)",
                                    "HonestDiD smoothness (FLCI)"]
    assert (rows["truth"] == 0).all()
    np.testing.assert_allclose(rows["closed_form_bias"], -0.075)
    assert (rows["ci_lower"] < rows["ci_upper"]).all()
    # the mean of the four post-period coefficients is the plain estimate
    post = rows[[f"coef_e+{k}" for k in range(4)]].iloc[0].mean()
    assert rows["estimate"].iloc[0] == pytest.approx(post)
