"""Every result class follows one protocol, and no verdict contradicts the interval it reads.

Each public estimator is fitted on a small simulated data set; its result must give
``to_frame()`` starting with the protocol columns, a ``headline`` that is a row of it, text from
``summary()``, a plotnine figure from ``plot()``, and ``verdict()`` equal to what the headline's
own interval says. Every row with a standard error must have a p-value and interval that agree
with each other (p < 1 - confidence exactly when the interval excludes no effect).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from plotnine import ggplot

import pceval
from pceval import costs, did
from pceval import inequality as ineq
from pceval._results import PROTOCOL_COLUMNS, SCALES, VERDICTS, verdict


def _panel(n=600, effect=-0.3, seed=3):
    """Two-period panel with a known effect (linear and count outcomes)."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n), 2)
    post = np.tile([0, 1], n)
    treated = np.repeat(rng.random(n) < 0.5, 2).astype(int)
    q = np.repeat(rng.integers(1, 6, n), 2)
    base = np.repeat(rng.normal(0, 1, n), 2)
    y = base + 0.2 * post + effect * treated * post + rng.normal(0, 1, 2 * n)
    years = np.full(2 * n, 1.0)
    events = rng.poisson(np.exp(0.5 + 0.1 * post + 0.2 * treated + effect * treated * post))
    return pd.DataFrame({"unit": unit, "post": post, "treated": treated, "y": y, "events": events,
                         "years": years, "imd_quintile": q})


def _staggered(n=400, seed=5):
    rng = np.random.default_rng(seed)
    g = rng.choice([0, 3, 4, 5], n)
    rows = []
    for t in range(1, 7):
        d = (g > 0) & (t >= g)
        y = rng.normal(0, 1, n) + 0.1 * t + 0.5 * d
        rows.append(pd.DataFrame({"unit": np.arange(n), "t": t, "g": g, "y": y, "d": d.astype(int)}))
    return pd.concat(rows, ignore_index=True)


def _people(n=500, seed=7):
    rng = np.random.default_rng(seed)
    x1 = rng.normal(0, 1, n)
    x2 = rng.binomial(1, 0.4, n)
    t = (rng.random(n) < 1 / (1 + np.exp(-(-0.8 + 0.6 * x1)))).astype(int)
    y = 1 + x1 + 0.5 * x2 - 0.4 * t + rng.normal(0, 1, n)
    return pd.DataFrame({"treat": t, "x1": x1, "x2": x2, "y": y})


def _results():
    p = _panel()
    s = _staggered()
    people = _people()
    m = pceval.match(people, "treat", ["x1", "x2"])
    byq = did.effects_by(p, "imd_quintile", did.did2x2, outcome="y", treatment="treated",
                         post="post", unit="unit")
    eq_in = pd.DataFrame({"imd_quintile": [1, 2, 3, 4, 5], "estimate": [-30.0, -25, -20, -15, -10],
                          "std_error": [3.0] * 5, "uptake": [0.12, 0.10, 0.09, 0.08, 0.06],
                          "population": [9000.0, 10000, 11000, 10500, 9500],
                          "baseline": [310.0, 270, 230, 200, 160]})
    up_in = pd.DataFrame({"imd_quintile": [1, 2, 3, 4, 5], "treated": [50, 60, 70, 80, 90],
                          "eligible": [1000] * 5})
    attgt = did.att_gt(s, outcome="y", unit="unit", time="t", group="g", n_boot=0)
    return {
        "DidResult (linear)": did.did2x2(p, "y", "treated", "unit", "post"),
        "DidResult (poisson)": did.did2x2(p, "events", "treated", "unit", "post", model="poisson",
                                          exposure="years", exposure_unit="year"),
        "AttGtResult": attgt,
        "AggregateResult (simple)": attgt.aggregate("simple"),
        "AggregateResult (dynamic)": attgt.aggregate("dynamic"),
        "FixedEffectsResult (twfe)": did.twfe(s, "y", "unit", "t", group="g"),
        "FixedEffectsResult (event study)": did.event_study(s, "y", "unit", "t", "g", leads=2, lags=2),
        "BaconResult": did.bacon_decomposition(s, "y", "unit", "t", "g"),
        "SubgroupEffects": byq,
        "EffectResult": pceval.estimate_effect(m, "y", covariates=["x1", "x2"]),
        "MatchResult": m,
        "BalanceResult": pceval.balance_table(people, "treat", ["x1", "x2"]),
        "EquityOfEffect": ineq.equity_of_effect(eq_in, n_boot=2000),
        "UptakeEquity": ineq.uptake_equity(up_in, eligible="eligible"),
        "Consequences": costs.consequences(
            did.did2x2(p, "events", "treated", "unit", "post", model="poisson", exposure="years",
                       exposure_unit="year"),
            population=5000, activity="emergency_admission", unit_costs=costs.example_unit_costs(),
            intervention_cost=150),
        "Consequences (by quintile, draws)": costs.consequences(
            did.effects_by(p, "imd_quintile", did.did2x2, outcome="events", treatment="treated",
                           post="post", unit="unit", model="poisson", exposure="years",
                           exposure_unit="year"),
            population={q: 1000 for q in range(1, 6)}, activity="emergency_admission",
            unit_costs=costs.example_unit_costs(), intervention_cost=150, method="draws"),
        **_prom_results(people),
        **_sensitivity_results(s),
    }


def _prom_results(people):
    from pceval import proms

    d = people.assign(y0=people["x1"] * 3 + 50, q=np.arange(len(people)) % 5 + 1)
    d["y1"] = d["y0"] + d["y"] * 3
    ons = pd.DataFrame({"treat": d["treat"]})
    for item in proms.ONS4_ITEMS:
        ons[f"{item}_baseline"], ons[f"{item}_follow_up"] = d["x1"] + 6, d["y"] + 6
    return {
        "ScoreChangeResult": proms.score_change(d, "y1", "y0", "treat", by="q"),
        "RespondersResult": proms.responders(d, "y1", "y0", "treat"),
        "Ons4Result": proms.ons4_effects(ons, "treat"),
    }


def _sensitivity_results(s):
    """pceval.sensitivity's result classes (issue 19)."""
    from pceval import sensitivity as sens

    rng = np.random.default_rng(8)
    n = 300
    rows = []
    for k in range(-6, 6):
        treated = np.r_[np.ones(n, int), np.zeros(n, int)]
        lam = 0.3 * np.where((k >= -2) & (k < 0), 2.0, 1.0)
        rows.append(pd.DataFrame({"pid": np.arange(2 * n), "rel_period": k,
                                  "y": rng.poisson(lam, 2 * n), "person_time": 1.0,
                                  "treated": treated, "pair": np.arange(2 * n) % n}))
    panel = pd.concat(rows, ignore_index=True)
    es = did.event_study(s, "y", "unit", "t", "g", leads=2, lags=2)
    return {
        "EValueResult": sens.evalue(0.8, 0.71, 0.91),
        "HonestDidResult": sens.honest_did(es, m=[0.5, 1.0], breakdown=False),
        "RosenbaumResult": sens.wilcoxon_bounds(rng.normal(0.3, 1, 80)),
        "RatesAroundIndex": sens.rates_around_index(panel, "y", "treated", "pid"),
        "DesignDiagnostic": sens.placebo_index(panel, "y", "treated", "pid", shift=3,
                                               cluster="pair"),
    }


@pytest.fixture(scope="module")
def results():
    return _results()


def test_every_result_follows_the_protocol(results):
    for name, res in results.items():
        frame = res.to_frame()
        assert tuple(frame.columns[:8]) == PROTOCOL_COLUMNS, name
        assert set(frame["scale"]) <= set(SCALES), name
        head = res.headline
        assert isinstance(head, pd.Series), name
        assert list(head.index[:8]) == list(PROTOCOL_COLUMNS), name
        # the headline is one of the rows of to_frame() (att_gt's is its simple aggregation's)
        source = res.aggregate("simple").to_frame() if name == "AttGtResult" else frame
        same = (source["term"] == head["term"]) & (source["scale"] == head["scale"])
        assert same.any(), name
        assert isinstance(res.summary(), str) and res.summary(), name
        assert isinstance(res.plot(), ggplot), name
        assert res.verdict() in VERDICTS, name


def test_no_verdict_contradicts_its_interval(results):
    for name, res in results.items():
        head = res.headline
        lo, hi = head["ci_lower"], head["ci_upper"]
        null = 1.0 if head["scale"] == "relative" else 0.0
        v = res.verdict()
        if not (np.isfinite(lo) and np.isfinite(hi)):
            assert v == "too few to tell", name
        elif hi < null:
            assert v == "lower", name
        elif lo > null:
            assert v == "higher", name
        else:
            assert v == "no evidence either way", name


def test_each_row_p_value_agrees_with_its_own_interval(results):
    for name, res in results.items():
        frame = res.to_frame()
        ok = frame["p_value"].notna() & frame["ci_lower"].notna() & frame["std_error"].notna()
        if name.startswith("EquityOfEffect"):  # simulated rows: percentile interval, MC p-value
            ok &= ~frame["term"].str.startswith(("SII", "absolute gap", "outcome gap"))
        f = frame[ok]
        null = np.where(f["scale"] == "relative", 1.0, 0.0)
        excludes = (f["ci_lower"] > null) | (f["ci_upper"] < null)
        conf = f["confidence"] if "confidence" in f else 0.95
        significant = f["p_value"] < 1 - np.asarray(conf, dtype=float)
        assert (excludes == significant).all(), (name, f.loc[excludes != significant])


def test_relative_rows_are_wald_on_the_log_scale():
    p = _panel().assign(y=lambda d: d["y"] + 10)  # a positive outcome: the ratio is defined
    frame = did.did2x2(p, "y", "treated", "unit", "post").to_frame().set_index("scale")
    rel = frame.loc["relative"]
    se_log = rel["std_error"] / rel["estimate"]
    assert rel["statistic"] == pytest.approx(np.log(rel["estimate"]) / se_log, rel=1e-12)
    assert rel["ci_lower"] == pytest.approx(rel["estimate"] * np.exp(-1.959963984540054 * se_log))
    # each row has its own p-value (did2x2 used to copy the absolute row's onto the relative row)
    assert frame.loc["absolute", "p_value"] != frame.loc["relative", "p_value"]


def test_ratio_of_means_is_missing_not_nonsense_when_a_mean_is_negative():
    p = _panel().assign(y=lambda d: d["y"] - 10)
    rel = did.did2x2(p, "y", "treated", "unit", "post").to_frame().set_index("scale").loc["relative"]
    assert np.isnan(rel["estimate"]) and "not defined" in rel["measure"]


def test_effects_by_accepts_every_protocol_estimator():
    p = _panel()
    rel = did.effects_by(p, "imd_quintile", did.did2x2, outcome="events", treatment="treated",
                         post="post", unit="unit", model="poisson", exposure="years",
                         exposure_unit="year", scale="relative")
    assert (rel.to_frame()["scale"] == "relative").all()
    people = _people(2000).assign(imd_quintile=lambda d: np.arange(len(d)) % 5 + 1)
    eff = did.effects_by(people, "imd_quintile", pceval.estimate_effect, outcome="y",
                         covariates=["x1", "x2"], treatment="treat", weights=None)
    levels = eff.to_frame().query("row == 'subgroup'")
    assert len(levels) == 5
    # the pooled effect is -0.4; every quintile's interval is a real interval around an estimate
    assert (levels["ci_lower"] < levels["estimate"]).all()
    assert (levels["estimate"] < levels["ci_upper"]).all()


@pytest.mark.parametrize("lo, hi, scale, expected", [
    (-2.0, -0.1, "absolute", "lower"), (0.1, 2.0, "absolute", "higher"),
    (-1.0, 1.0, "absolute", "no evidence either way"), (0.7, 0.95, "relative", "lower"),
    (1.05, 1.3, "relative", "higher"), (0.9, 1.1, "relative", "no evidence either way"),
    (0.5, 0.9, "absolute", "higher"),  # a ratio-like interval on the absolute scale is still > 0
    (np.nan, np.nan, "absolute", "too few to tell"),
])
def test_verdict_reads_the_interval(lo, hi, scale, expected):
    assert verdict({"ci_lower": lo, "ci_upper": hi, "scale": scale}) == expected


def test_verdict_too_few_when_count_below_minimum():
    row = {"ci_lower": -2.0, "ci_upper": -1.0, "scale": "absolute"}
    assert verdict(row, n=5, min_n=10) == "too few to tell"
    assert verdict(row, n=50, min_n=10) == "lower"


def test_equity_verdict_reads_the_sii_change_row_it_quotes():
    # the case from the issue: the SII change interval excludes 0 but the verdict read another row
    eff = pd.DataFrame({"imd_quintile": [1, 2, 3, 4, 5], "estimate": [-60.0, -45, -30, -20, -10],
                        "std_error": [12.0] * 5, "uptake": [0.12, 0.10, 0.09, 0.08, 0.06],
                        "population": [9000.0, 10000, 11000, 10500, 9500],
                        "baseline": [310.0, 270, 230, 200, 160]})
    res = ineq.equity_of_effect(eff, n_boot=4000, seed=2)
    head = res.headline
    assert head["term"] == "SII change"
    word = verdict(head)
    expected = {"lower": "narrowed", "higher": "widened"}.get(word, "no evidence either way")
    assert res.verdicts["verdict"].iloc[0] == expected
    # the % change row's SE is the one its interval implies, not a tail-dominated simulated SD
    pct = res.to_frame().set_index("term").loc["SII change (%)"]
    assert pct["std_error"] == pytest.approx((pct["ci_upper"] - pct["ci_lower"]) / (2 * 1.959963984540054))
