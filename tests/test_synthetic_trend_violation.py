"""The generator's violation of parallel trends (scenario ``trend_violation``): the differential
trend is recovered at its known slope, the truth is unchanged by it, and every other scenario's
data are exactly as before the violation was added."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from pceval import synthetic
from pceval.synthetic.scenarios import SCENARIOS, TrendViolation

REFERENCE = Path(__file__).parent / "reference" / "synthetic_scenario_fingerprints.json"


def _fingerprint(scenario: str) -> dict:
    """Counts and sums of a small data set; the stored values were computed with the generator
    as it was before ``trend_violation`` was added (tests/reference/README.md)."""
    d = synthetic.generate(n_people=3_000, scenario=scenario, seed=7, months=36, people_per_pcn=500)
    ev = d.events
    return {
        "rows": {t: int(len(getattr(d, t))) for t in synthetic.TABLES},
        "events_by_type": {str(k): int(v) for k, v in ev["type"].value_counts().sort_index().items()},
        "event_person_id_sum": int(ev["person_id"].sum()),
        "event_day_sum": int(ev["date"].dropna().astype("int64").floordiv(86_400_000_000_000).sum()),
        "interventions": {str(k): int(v) for k, v in
                          d.interventions["intervention"].value_counts().sort_index().items()},
        "intervention_person_id_sum": int(d.interventions["person_id"].sum()),
        "measures_value_sum": float(np.round(d.measures["value"].sum(), 3)),
        "truth_relative_sum": float(np.round(d.truth["relative"].sum(), 6)),
        "expected_untreated_admissions_sum": float(
            np.round(d.expected["untreated_emergency_admission"].sum(), 6)),
    }


@pytest.mark.parametrize("scenario", sorted(json.loads(REFERENCE.read_text())))
def test_existing_scenarios_are_unchanged(scenario):
    stored = json.loads(REFERENCE.read_text())[scenario]
    got = _fingerprint(scenario)
    for key in ("rows", "events_by_type", "event_person_id_sum", "event_day_sum", "interventions",
                "intervention_person_id_sum"):
        assert got[key] == stored[key], key
    for key in ("measures_value_sum", "truth_relative_sum", "expected_untreated_admissions_sum"):
        assert got[key] == pytest.approx(stored[key], rel=1e-9, abs=1e-6), key


def test_only_the_new_scenario_has_a_violation():
    assert [s.name for s in SCENARIOS.values() if s.trend is not None] == ["trend_violation"]
    tv = SCENARIOS["trend_violation"].trend
    assert tv == TrendViolation("pcsp", ("emergency_admission",), -0.01)
    # quarterly event study, reference -1: bias slope * 3 * (e + 1); every first difference the same
    e = np.arange(-4, 4)
    np.testing.assert_allclose(tv.bias(e, months_per_period=3), -0.03 * (e + 1))
    assert np.allclose(np.diff(tv.bias(e, 3)), -0.03) and tv.mbar == 1.0 and tv.smoothness_m == 0.0


def _pcn_months(d: synthetic.SyntheticData) -> pd.DataFrame:
    """Emergency admissions and person-years by PCN and month (everyone registered)."""
    p, start, months = d.people, d.data_start, int(d.params["months"])

    def idx(s: pd.Series) -> np.ndarray:
        return ((s.dt.year - start.year) * 12 + s.dt.month - 1
                + (s.dt.day - 1) / s.dt.days_in_month).to_numpy(float)

    a = idx(p["registration_start"])
    b = np.where(p["registration_end"].isna(), months, idx(p["registration_end"].fillna(start)))
    t = np.arange(months)
    py = np.clip(np.minimum(b[:, None], t + 1) - np.maximum(a[:, None], t), 0, None) / 12
    years = pd.DataFrame(py).groupby(p["pcn_id"].to_numpy()).sum()
    ev = d.events[(d.events["type"] == "emergency_admission") & d.events["date"].notna()]
    pcn = ev["person_id"].map(p.set_index("person_id")["pcn_id"])
    month = (ev["date"].dt.year - start.year) * 12 + ev["date"].dt.month - 1
    counts = pd.crosstab(pcn, month).reindex(index=years.index, columns=t, fill_value=0)
    out = pd.DataFrame({"pcn": np.repeat(years.index.to_numpy(), months), "month": np.tile(t, len(years)),
                        "events": counts.to_numpy().ravel(), "years": years.to_numpy().ravel()})
    go = d.rollout[d.rollout["intervention"] == "pcsp"].set_index("pcn_id")["go_live_month"]
    g = out["pcn"].map(go).to_numpy()
    out["trend"] = np.where(g >= 0, out["month"] - g, 0)  # months since go-live in ever-live PCNs
    return out[out["years"] > 0]


def _slope(scenario: str) -> tuple[float, float]:
    """Poisson fit with PCN and month effects: the differential log-rate slope and its SE."""
    d = synthetic.generate(n_people=100_000, scenario=scenario, seed=3, people_per_pcn=4_000)
    pm = _pcn_months(d)
    X = pd.concat([pd.get_dummies(pm["pcn"], drop_first=True, dtype=float),
                   pd.get_dummies(pm["month"], prefix="m", drop_first=True, dtype=float),
                   pm[["trend"]].astype(float)], axis=1)
    fit = sm.GLM(pm["events"], sm.add_constant(X), family=sm.families.Poisson(),
                 offset=np.log(pm["years"])).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(pm["pcn"])[0]})
    return float(fit.params["trend"]), float(fit.bse["trend"])


def test_known_slope_is_recovered_and_absent_without_the_violation():
    slope, se = _slope("trend_violation")
    assert abs(slope - (-0.01)) < max(3 * se, 0.0015), (slope, se)
    null_slope, null_se = _slope("null")  # same seed, same roll-out: no differential trend
    assert abs(null_slope) < max(3 * null_se, 0.0015), (null_slope, null_se)
    assert abs(slope - null_slope) > 0.006


def test_truth_is_the_effect_not_the_trend():
    d = synthetic.generate(n_people=20_000, scenario="trend_violation", seed=2, people_per_pcn=1_000)
    adm = d.truth[(d.truth["intervention"] == "pcsp") & (d.truth["outcome"] == "emergency_admission")]
    assert len(adm) and np.allclose(adm["absolute"], 0.0) and np.allclose(adm["relative"], 1.0)
    pam = d.truth.query("intervention == 'pcsp' and outcome == 'pam_score' and breakdown == 'overall'")
    assert pam["absolute"].iloc[0] == pytest.approx(3.0, abs=0.05)  # rounding and clipping only
    assert d.params["trend_violation"] == {"intervention": "pcsp", "outcomes": ["emergency_admission"],
                                           "slope_per_month": -0.01}
    assert "trend_violation" not in synthetic.generate(n_people=2_000, seed=2, months=24).params
    # the untreated expected admissions of treated people carry the trend: exp(slope * (t - g))
    ex = d.expected[d.expected["intervention"] == "pcsp"].copy()
    assert (ex["untreated_emergency_admission"] == ex["treated_emergency_admission"]).all()
