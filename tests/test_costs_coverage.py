"""pceval.costs: interval coverage by simulation, from a known truth.

2,000 effects are drawn from their sampling distribution around a known true effect; each gives its
consequences, and the share of intervals that contain the true events avoided per 1,000 and the true
net cost per person must be within binomial error of 95% (three standard errors: +/- 1.5 points at
2,000). The 2,000 effects go through ``consequences`` in one call, as 2,000 subgroups (each subgroup's
rows depend only on its own effect). A slower test fits ``did2x2`` on simulated overdispersed panels
and checks the whole chain, estimator and consequences together, against the data's true effect.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pceval import did
from pceval.costs import consequences, example_unit_costs

N_SIM = 2000
UNIT_COST, COST, YEARS = 2000.0, 150.0, 1.0   # the example table's emergency admission; £150 a head


def _within_binomial_error(hits: np.ndarray, n: int, level: float = 0.95) -> None:
    cover = hits.mean()
    tol = 3 * np.sqrt(level * (1 - level) / n)
    assert abs(cover - level) < tol, f"coverage {cover:.3f}, expected {level} +/- {tol:.3f}"


def _rows(estimates, ses, scale="absolute", measure="difference in rate per 1,000 person-years"):
    return {i: pd.Series({"term": "ATT", "estimate": float(b), "std_error": float(s), "scale": scale,
                          "measure": measure}) for i, (b, s) in enumerate(zip(estimates, ses, strict=True))}


def _coverage(cons, true_a: float) -> tuple[np.ndarray, np.ndarray]:
    t = cons.to_frame()
    t = t[t["subgroup"].astype(str) != "overall"]
    a = t[t["term"] == "events_avoided_per_1000_per_year"]
    net = t[t["term"] == "net_cost_per_person"]
    true_net = COST - true_a * YEARS * UNIT_COST / 1000
    hit_a = ((a["ci_lower"] <= true_a) & (true_a <= a["ci_upper"])).to_numpy()
    hit_net = ((net["ci_lower"] <= true_net) & (true_net <= net["ci_upper"])).to_numpy()
    return hit_a, hit_net


def _run(effects, **kw):
    pop = {i: 1000.0 for i in effects}
    return consequences(effects, population=pop, activity="emergency_admission",
                        unit_costs=example_unit_costs(), intervention_cost=COST, years=YEARS, **kw)


@pytest.mark.parametrize("method", ["delta", "draws"])
def test_coverage_from_a_difference_in_rates(method):
    # truth: 40 fewer admissions per 1,000 person-years; SEs vary between effects (25 +/- 30%)
    rng = np.random.default_rng(11)
    se = 25.0 * rng.uniform(0.7, 1.3, N_SIM)
    est = -40.0 + se * rng.standard_normal(N_SIM)
    cons = _run(_rows(est, se), method=method, n_draws=2000, seed=1)
    hit_a, hit_net = _coverage(cons, 40.0)
    _within_binomial_error(hit_a, N_SIM)
    _within_binomial_error(hit_net, N_SIM)


@pytest.mark.parametrize("method", ["delta", "draws"])
def test_coverage_from_a_rate_ratio_and_an_uncertain_baseline(method):
    # truth: rate ratio 0.8 on a baseline of 300 per 1,000 person-years -> 60 fewer per 1,000
    rng = np.random.default_rng(12)
    se_log, base_se = 0.1, 20.0
    rr = np.exp(np.log(0.8) + se_log * rng.standard_normal(N_SIM))
    base = 300.0 + base_se * rng.standard_normal(N_SIM)
    effects = _rows(rr, rr * se_log, scale="relative", measure="rate ratio")
    cons = _run(effects, baseline_rate=dict(enumerate(base)),
                baseline_se=dict.fromkeys(range(N_SIM), base_se), method=method, n_draws=2000, seed=2)
    hit_a, hit_net = _coverage(cons, 60.0)
    _within_binomial_error(hit_a, N_SIM)
    _within_binomial_error(hit_net, N_SIM)


def _panel(rng, n=600, rr=0.75, base=0.4, shape=2.0):
    """Two periods, half treated, person-level gamma frailty (clustered, overdispersed counts).
    Returns the panel and the true difference in rates per 1,000 person-years among the treated
    after the index (the did2x2 absolute estimand)."""
    unit = np.repeat(np.arange(n), 2)
    post = np.tile([0, 1], n)
    tr = np.repeat(rng.random(n) < 0.5, 2).astype(int)
    frailty = np.repeat(rng.gamma(shape, 1 / shape, n), 2)
    rate0 = base * np.exp(0.1 * post + 0.2 * tr)
    y = rng.poisson(frailty * rate0 * np.where(tr * post == 1, rr, 1.0))
    true = 1000 * base * np.exp(0.1 + 0.2) * (rr - 1)
    return pd.DataFrame({"unit": unit, "post": post, "treated": tr, "y": y, "years": 1.0}), true


@pytest.mark.slow
def test_coverage_of_the_whole_chain_did2x2_then_consequences():
    rng = np.random.default_rng(13)
    reps = 400
    fits, true = {}, None
    for i in range(reps):  # one simulated data set per replication
        p, true = _panel(rng)
        fits[i] = did.did2x2(p, "y", "treated", "unit", "post", model="poisson", exposure="years",
                             exposure_unit="year")
    hit_a, hit_net = _coverage(_run(fits), -true)
    _within_binomial_error(hit_a, reps)
    _within_binomial_error(hit_net, reps)
