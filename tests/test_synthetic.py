"""Synthetic England: determinism, the documented facts, and a self-consistent truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from pceval import synthetic
from pceval.cli import main as cli_main
from pceval.errors import InputError
from pceval.synthetic.scenarios import SCENARIOS


@pytest.fixture(scope="module")
def data():
    return synthetic.generate(n_people=60_000, seed=11)


def _person_years(p: pd.DataFrame, end: pd.Timestamp) -> pd.Series:
    stop = p["registration_end"].fillna(end)
    return ((stop - p["registration_start"]).dt.days / 365.25).clip(lower=1 / 365.25)


def test_same_seed_same_tables_other_seed_differs():
    a = synthetic.generate(n_people=3_000, seed=5, months=24)
    b = synthetic.generate(n_people=3_000, seed=5, months=24)
    c = synthetic.generate(n_people=3_000, seed=6, months=24)
    for name in synthetic.TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert not a.people.equals(c.people)
    assert not a.events.equals(c.events)


def test_write_and_load_round_trip(tmp_path):
    a = synthetic.generate(n_people=2_000, seed=3, months=24)
    a.write(tmp_path)
    b = synthetic.load(tmp_path)
    for name in synthetic.TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_categorical=False)
    assert b.params == a.params
    text = (tmp_path / "data_dictionary.md").read_text()
    for name in ("people", "interventions", "events", "measures", "truth"):
        for col in getattr(a, name).columns:
            assert f"`{col}`" in text, f"{name}.{col} is not described in the data dictionary"
    for scen in SCENARIOS:
        assert f"### `{scen}`" in text


def test_load_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="metadata.json missing"):
        synthetic.load(tmp_path / "nowhere")


def test_imd_gradient_of_emergency_admissions_at_same_age(data):
    p, e = data.people, data.events
    adm = e[e["type"] == "emergency_admission"].groupby("person_id").size()
    df = p.assign(adm=p["person_id"].map(adm).fillna(0), py=_person_years(p, data.data_end),
                  ageband=(p["age"] // 10).clip(upper=9))
    fit = smf.glm("adm ~ C(ageband) + C(imd_quintile, Treatment(5)) + sex", data=df,
                  family=sm.families.Poisson(), offset=np.log(df["py"])).fit()
    rr_q1 = np.exp(fit.params["C(imd_quintile, Treatment(5))[T.1]"])
    assert 1.4 <= rr_q1 <= 2.1, rr_q1
    # rates rise with age: 80s vs 30s
    assert np.exp(fit.params["C(ageband)[T.8]"] - fit.params["C(ageband)[T.3]"]) > 3


def test_multimorbidity_arrives_10_to_15_years_earlier_in_most_deprived():
    d = synthetic.generate(n_people=150_000, seed=2, months=12)
    p = d.people.assign(mm=d.people["ltc_count"] >= 2)

    def onset(sub: pd.DataFrame) -> int:
        s = sub.groupby("age")["mm"].mean().rolling(7, center=True, min_periods=1).mean()
        return int(s[s >= 0.25].index.min())

    gap = onset(p[p["imd_decile"] == 10]) - onset(p[p["imd_decile"] == 1])
    assert 10 <= gap <= 15, gap


def test_inverse_care_law_in_care_planning_uptake(data):
    """Uptake per person-year in a live PCN is lower in the most deprived quintile, like for like."""
    p = data.people.merge(data.interventions[["person_id", "intervention", "date"]], how="left")
    live = data.rollout.query("intervention == 'pcsp'")[["pcn_id", "go_live"]]
    p = p.merge(live, on="pcn_id")
    sub = p[(p["ltc_count"] == 2) & (p["age"] >= 40) & p["go_live"].notna()]
    start = np.maximum(sub["go_live"], sub["registration_start"])
    stop = sub["registration_end"].fillna(data.data_end)
    stop = stop.where(sub["intervention"].isna(), np.minimum(stop, sub["date"]))
    sub = sub.assign(py=((stop - start).dt.days / 365.25).clip(lower=0),
                     got=sub["intervention"] == "pcsp")
    g = sub.groupby("imd_quintile")[["got", "py"]].sum()
    rate = g["got"] / g["py"]
    assert rate[1] < rate[5]


def test_social_prescribing_follows_a_crisis(data):
    iv = data.interventions.query("intervention == 'social_prescribing'")[["person_id", "date"]]
    ae = data.events.query("type == 'ae_attendance'").merge(iv.rename(columns={"date": "index"}))
    days = (ae["date"] - ae["index"]).dt.days
    just_before = ((days >= -61) & (days < 0)).sum() / 2
    long_before = ((days >= -365) & (days < -183)).sum() / 6
    just_after = ((days >= 183) & (days < 365)).sum() / 6
    assert just_before > 2.5 * long_before  # referral after a spike
    assert just_after < 0.6 * just_before  # which passes: regression to the mean


def test_staggered_go_live_and_never_treated_pcns(data):
    ro = data.rollout
    pcsp = ro[ro["intervention"] == "pcsp"]
    assert pcsp["go_live_month"][pcsp["go_live_month"] >= 0].nunique() >= 3
    assert (pcsp["go_live_month"] == -1).any()
    iv = data.interventions.merge(ro, on=["pcn_id", "intervention"])
    assert iv["go_live"].notna().all()
    assert (iv["date"] >= iv["go_live"]).all()
    # interventions go to adults, at most one per person
    assert data.interventions["person_id"].is_unique
    age_at = (iv["date"] - iv.merge(data.people, on="person_id")["date_of_birth"]).dt.days / 365.25
    assert (age_at >= 17.9).all()


def test_events_respect_registration_and_death_apart_from_documented_quirks(data):
    p = data.people.set_index("person_id")
    e = data.events
    q = data.params["quirks"]
    assert e["date"].isna().sum() == q["events_missing_date"]
    e = e.dropna(subset=["date"])
    start = e["person_id"].map(p["registration_start"])
    end = e["person_id"].map(p["registration_end"].fillna(data.data_end))
    assert (e["date"] < start).sum() == q["events_before_registration_start"]
    assert (e["date"] > end).sum() == q["events_after_registration_end"]
    died = e["person_id"].map(p["death_date"])
    assert ((e["date"] > died) & died.notna()).sum() <= q["events_after_registration_end"]


def test_counts_are_overdispersed_and_seasonal(data):
    e = data.events.dropna(subset=["date"])
    gp = e[e["type"] == "gp_appointment"].groupby("person_id").size()
    counts = data.people["person_id"].map(gp).fillna(0)
    assert counts.var() > 2 * counts.mean()
    adm = e[e["type"] == "emergency_admission"]
    by_month = adm.groupby(adm["date"].dt.month).size()
    assert by_month.loc[[12, 1, 2]].mean() > by_month.loc[[6, 7, 8]].mean()


def test_truth_matches_observed_minus_counterfactual(data):
    """Observed events of the treated minus their counterfactual expectation = truth (Poisson error)."""
    ex = data.expected[data.expected["months_since_index"].between(0, 11)]
    e = data.events.dropna(subset=["date"])
    iv = data.interventions.set_index("person_id")
    for (intervention, outcome) in [("pcsp", "emergency_admission"), ("integrated_care", "emergency_admission"),
                                    ("social_prescribing", "ae_attendance"), ("pcsp", "gp_appointment")]:
        w = ex[ex["intervention"] == intervention]
        ev = e[(e["type"] == outcome) & e["person_id"].isin(w["person_id"].unique())]
        idx_month = ev["person_id"].map(iv["date"]).dt.to_period("M")
        k = (ev["date"].dt.to_period("M") - idx_month).map(lambda d: d.n)
        observed = int(k.between(0, 11).sum())
        expected_treated = w[f"treated_{outcome}"].sum()
        # observed counts are Poisson around the expected counts under treatment
        z = (observed - expected_treated) / np.sqrt(expected_treated)
        assert abs(z) < 4, (intervention, outcome, z)
        truth = data.truth.query("intervention == @intervention and outcome == @outcome "
                                 "and breakdown == 'overall'").iloc[0]
        py = w["person_time"].sum() / 12
        implied = (observed - w[f"untreated_{outcome}"].sum()) / py * 1000
        se = np.sqrt(expected_treated) / py * 1000
        assert abs(implied - truth["absolute"]) < 4 * se


def test_truth_ramp_and_quintile_effects_are_exact(data):
    ms = data.truth[(data.truth["breakdown"] == "months_since_index")
                    & data.truth["outcome"].isin(synthetic.RATE_OUTCOMES)]
    assert np.allclose(ms.loc[ms["level"] == "0", "relative"], 1.0)  # no effect in the index month
    ex = data.expected[(data.expected["intervention"] == "pcsp") & (data.expected["months_since_index"] >= 6)]
    rr = (ex.groupby("imd_quintile")["treated_emergency_admission"].sum()
          / ex.groupby("imd_quintile")["untreated_emergency_admission"].sum())
    expected_rr = SCENARIOS["default"].effect("pcsp", "emergency_admission").rr
    np.testing.assert_allclose(rr.to_numpy(), expected_rr, rtol=1e-9)
    overall = data.truth.query("breakdown == 'overall' and intervention == 'social_prescribing'")
    assert np.allclose(overall["absolute"], 0.0)


def test_score_truth_uses_common_random_numbers(data):
    t = data.truth.query("breakdown == 'overall' and intervention == 'phb' "
                         "and outcome == 'ons4_life_satisfaction'").iloc[0]
    assert 0.55 < t["absolute"] < 0.95  # +0.8 latent shift, after rounding and clipping to 0-10
    cf = data.expected_measures.query("intervention == 'phb' and measure == 'ons4_life_satisfaction' "
                                      "and months_since_index == 6")
    assert t["absolute"] == pytest.approx((cf["value"] - cf["value_untreated"]).mean())


def test_true_effect_for_a_subset_and_window(data):
    persons = data.interventions.query("intervention == 'pcsp'")["person_id"].iloc[:200]
    t = data.true_effect("pcsp", "emergency_admission", window=(6, 11), persons=persons)
    assert t["n_persons"].iloc[0] <= 200
    by_q = data.true_effect("pcsp", "emergency_admission", window=(6, 30), by="imd_quintile")
    np.testing.assert_allclose(by_q["relative"], SCENARIOS["default"].effect("pcsp", "emergency_admission").rr)
    with pytest.raises(InputError, match="`intervention`"):
        data.true_effect("acupuncture", "emergency_admission")


def test_null_scenario_has_no_effects():
    d = synthetic.generate(n_people=5_000, scenario="null", seed=1, months=36)
    assert np.allclose(d.truth["absolute"], 0.0)
    assert np.allclose(d.truth["relative"].dropna(), 1.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_people": -5}, "`n_people` must be at least"),
        ({"n_people": 10.5}, "`n_people` must be a whole number"),
        ({"scenario": "miracle"}, "`scenario` must be one of"),
        ({"start": "2019-13"}, "`start` must be a month"),
        ({"start": "2019-01-15"}, "first day of a month"),
        ({"months": 0}, "`months` must be at least 12"),
        ({"imd_mix": "martian"}, "`imd_mix` must be one of"),
        ({"imd_mix": [0.5, 0.5]}, "10 non-negative shares"),
        ({"inverse_care": -1}, "`inverse_care` must be >"),
    ],
)
def test_bad_arguments_raise_input_error(kwargs, message):
    with pytest.raises(InputError, match=message):
        synthetic.generate(**{"n_people": 2_000, **kwargs})


def test_cli_synth_writes_data_and_reports_errors(tmp_path, capsys):
    assert cli_main(["synth", "--people", "2000", "--months", "12", "--seed", "4",
                     "--out", str(tmp_path), "--no-progress"]) == 0
    assert (tmp_path / "people.parquet").exists()
    assert cli_main(["synth", "--people", "-1", "--out", str(tmp_path), "--no-progress"]) == 2
    assert "`n_people` must be at least" in capsys.readouterr().err
