"""Monte Carlo: when parallel trends fails by a known amount, the plain event-study interval
undercovers and the HonestDiD interval at the true bound covers.

What is simulated. Event-study estimates drawn from a design, not new synthetic ICBs (each
HonestDiD interval is a search over a grid of effects, so a replication costs a fraction of a
second, but refitting a synthetic ICB would cost minutes): the covariance ``Sigma`` is that of a
TWFE event study (:func:`pceval.did.event_study`, leads -3..-2, lags 0..3, reference -1, CR1 by
person) fitted once on a simulated staggered panel of 2,000 people over 9 periods. Each
replication draws ``betahat ~ N(beta, Sigma)`` with ``beta = tau + delta``:

* the effect ``tau_e = -0.5`` in every post period; the target is the first post period (event
  time 0), the effect at go-live, as HonestDiD's default;
* the violation of parallel trends ``delta`` (the people offered care planning had admissions
  already falling faster), with the reference period at 0:

  - ``trend_continues``: ``delta_e = s (e + 1)``, the same slope before and after go-live:
    every first difference equals ``s``, so the true relative-magnitude bound is ``Mbar = 1``
    and the true smoothness bound is ``M = 0``;
  - ``trend_accelerates``: slope ``s`` before go-live and ``2 s`` after: ``Mbar = 2``, and the
    trend bends once by ``s`` at go-live, so ``M = |s|``;

  with ``s = -1.5 sd(betahat_0)``, a violation too small to be obvious in the pre-periods
  (about 1.5 standard errors per period).

For each replication we record the plain 95% interval (``betahat_0 -/+ 1.96 sd``) and the
HonestDiD intervals at the true bound (relative magnitudes, C-LF; smoothness, FLCI) and whether
each covers ``tau_0``. Writes ``validation/results/sensitivity_replications.csv`` and
``sensitivity_summary.csv``.

Run: ``python validation/mc_sensitivity.py --reps 500`` (about 10 minutes on one core).

**From the generator** (``--generator``): each replication generates a new small synthetic ICB
(:func:`pceval.synthetic.generate`, 20,000 people in 20 PCNs of 1,000, 60 months, new seed) under the
scenario ``trend_violation`` (care planning has no effect on emergency admissions, but in the
PCNs that go live with it the untreated admission rate falls by ``slope = -0.01`` in the log rate
per month, before and after go-live; :class:`pceval.synthetic.TrendViolation`) and, as a check
of the design itself, under ``null`` (no effect, no violation). The analysis: each PCN's emergency
admissions per person-year of registration (everyone registered) by calendar quarter, the log of
that rate, and a TWFE event study with PCN and quarter effects (:func:`pceval.did.event_study`,
event times -4..3, reference -1, treated PCNs kept only inside that window, never-live PCNs
the comparison, CR1 clustered by PCN). The target is the mean effect over event times 0..3
(``l_vec="average"``); its truth is 0 (the intervention has no effect on admissions; checked
against ``SyntheticData.true_effect``). The plain event study's bias is known in closed form:
``slope * 3 * (e + 1)`` at event time ``e`` in the expected log rate
(:meth:`TrendViolation.bias`), ``-0.075`` for the target, and the true bounds are ``Mbar = 1``
and ``M = 0``. Writes ``sensitivity_generator_replications.csv`` and
``sensitivity_generator_summary.csv`` (the files above are left as they are).

Run: ``python validation/mc_sensitivity.py --generator --reps 1000 --workers 2 --minutes 25``
(replications of ``null`` for every second seed; stops starting new ones after 25 minutes; the
run of record took 14 minutes on an idle 2-core machine).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pceval import did
from pceval.sensitivity import _honest_core as core

OUT = Path(__file__).resolve().parent / "results"
TAU = -0.5


def design_covariance(seed: int = 5) -> tuple[np.ndarray, np.ndarray, int, int]:
    """``Sigma``, the event times and (num_pre, num_post) of the design's event study."""
    rng = np.random.default_rng(seed)
    n = 2000
    g = rng.choice([0, 4, 5, 6], n)
    rows = []
    for t in range(1, 10):
        d = (g > 0) & (t >= g)
        y = rng.normal(0, 1, n) + 0.1 * t + TAU * d
        rows.append(pd.DataFrame({"unit": np.arange(n), "t": t, "g": g, "y": y}))
    es = did.event_study(pd.concat(rows, ignore_index=True), "y", "unit", "t", "g", leads=3,
                         lags=3)
    V = es.vcov
    times = V.index.to_numpy(float)
    return V.to_numpy(), times, int((times < -1).sum()), int((times >= 0).sum())


def violation(scenario: str, times: np.ndarray, s: float) -> tuple[np.ndarray, float, float]:
    """``delta`` at the event times and the true (Mbar, M)."""
    e = times + 1  # periods from the reference period (-1)
    if scenario == "trend_continues":
        return s * e, 1.0, 0.0
    if scenario == "trend_accelerates":
        return np.where(e <= 0, s * e, 2 * s * e), 2.0, abs(s)
    raise ValueError(scenario)


def run(reps: int, seed: int) -> pd.DataFrame:
    Sigma, times, num_pre, num_post = design_covariance()
    sd0 = float(np.sqrt(Sigma[num_pre, num_pre]))
    s = -1.5 * sd0
    l_vec = np.zeros(num_post)
    l_vec[0] = 1.0
    L = np.linalg.cholesky(Sigma)
    rows = []
    for scenario in ("trend_continues", "trend_accelerates"):
        delta, mbar, M = violation(scenario, times, s)
        beta = delta + np.where(times >= 0, TAU, 0.0)
        rng = np.random.default_rng([seed, len(scenario)])
        flci_state = core._Flci(Sigma, num_pre, num_post, l_vec)
        t0 = time.time()
        for r in range(reps):
            b = beta + L @ rng.standard_normal(len(beta))
            est = float(b[num_pre])
            plain = (est - 1.959963984540054 * sd0, est + 1.959963984540054 * sd0)
            rm = core.rm_confidence_set(b, Sigma, num_pre, num_post, l_vec, mbar, 0.05,
                                        n_sims=2000, seed=r)
            sd_ci = core.flci(b, Sigma, num_pre, num_post, l_vec, M, 0.05, _state=flci_state)
            for method, (lo, hi), bound in (("plain event study", plain, np.nan),
                                             ("HonestDiD relative magnitudes (C-LF)", rm, mbar),
                                             ("HonestDiD smoothness (FLCI)", sd_ci, M)):
                rows.append({"scenario": scenario, "rep": r, "method": method, "bound": bound,
                             "estimate": est, "ci_lower": lo, "ci_upper": hi, "truth": TAU,
                             "covered": bool(lo <= TAU <= hi), "width": hi - lo})
        print(f"{scenario}: {reps} replications in {time.time() - t0:.0f} s", flush=True)
    return pd.DataFrame(rows)


def summarise(reps: pd.DataFrame) -> pd.DataFrame:
    g = reps.groupby(["scenario", "method"], sort=False)
    out = g.agg(bound=("bound", "first"), replications=("covered", "size"),
                coverage=("covered", "mean"), mean_width=("width", "mean"),
                bias_of_estimate=("estimate", lambda x: float(np.mean(x) - TAU))).reset_index()
    out["mc_se_coverage"] = np.sqrt(out["coverage"] * (1 - out["coverage"]) / out["replications"])
    return out


# --- replications drawn from the synthetic generator ------------------------------------------

GEN_SCENARIOS = ("trend_violation", "null")
GEN_PEOPLE = 20_000
GEN_PEOPLE_PER_PCN = 1_000
PERIOD_MONTHS = 3
GEN_MONTHS = 60  # 20 quarters: every go-live quarter (5..16) has its event times -4..3 in the data
LEADS, LAGS = 4, 3


def pcn_quarter_panel(data, outcome: str = "emergency_admission", intervention: str = "pcsp",
                      period_months: int = PERIOD_MONTHS) -> pd.DataFrame:
    """Each PCN's events of ``outcome`` and person-years of registration by period (everyone
    registered; events outside a person's registration or without a date are left out, as an
    evaluator would), the log rate per person-year, and ``group``: the period in which the PCN
    went live with ``intervention`` (1 = the first period; 0 = never within the data)."""
    p, start, months = data.people, data.data_start, int(data.params["months"])

    def month_index(s: pd.Series) -> np.ndarray:
        return ((s.dt.year - start.year) * 12 + (s.dt.month - 1)
                + (s.dt.day - 1) / s.dt.days_in_month).to_numpy(float)

    a = month_index(p["registration_start"])
    end = p["registration_end"]
    b = np.where(end.isna(), months, month_index(end.fillna(start)))
    edges = np.arange(0, months + 1, period_months)
    py = np.clip(np.minimum(b[:, None], edges[1:]) - np.maximum(a[:, None], edges[:-1]), 0, None) / 12
    years = pd.DataFrame(py).groupby(p["pcn_id"].to_numpy()).sum()
    ev = data.events[(data.events["type"] == outcome) & data.events["date"].notna()]
    who = p.set_index("person_id")
    reg_a, reg_b = ev["person_id"].map(who["registration_start"]), ev["person_id"].map(who["registration_end"])
    ev = ev[(ev["date"] >= reg_a) & (reg_b.isna() | (ev["date"] <= reg_b))]
    period = ((ev["date"].dt.year - start.year) * 12 + ev["date"].dt.month - 1) // period_months
    counts = pd.crosstab(ev["person_id"].map(who["pcn_id"]), period).reindex(
        index=years.index, columns=range(len(edges) - 1), fill_value=0)
    n_per = len(edges) - 1
    out = pd.DataFrame({"pcn_id": np.repeat(years.index.to_numpy(), n_per),
                        "period": np.tile(np.arange(1, n_per + 1), len(years)),
                        "events": counts.to_numpy().ravel(), "person_years": years.to_numpy().ravel()})
    go = data.rollout[data.rollout["intervention"] == intervention].set_index("pcn_id")["go_live_month"]
    gm = out["pcn_id"].map(go).to_numpy()
    out["group"] = np.where(gm < 0, 0, gm // period_months + 1)
    out["log_rate"] = np.log(out["events"] / out["person_years"])
    return out


def generator_rep(scenario: str, seed: int) -> list[dict]:
    """One replication from the generator: the plain event study's interval for the mean effect
    over event times 0..3 and the HonestDiD intervals at the true bounds (Mbar = 1, M = 0).

    A replication that cannot be analysed (e.g. every PCN went live, so there is no never-live
    comparison and the design is singular) returns one row ``method="failed"`` with the reason:
    counted in the summary, not hidden."""
    try:
        return _generator_rep(scenario, seed)
    except Exception as exc:  # noqa: BLE001 - counted, see summarise_generator
        return [{"scenario": scenario, "seed": seed, "method": "failed", "note": str(exc)[:80]}]


def _generator_rep(scenario: str, seed: int) -> list[dict]:
    import warnings

    from pceval import synthetic
    from pceval.sensitivity import honest_did

    warnings.simplefilter("ignore")
    data = synthetic.generate(n_people=GEN_PEOPLE, scenario=scenario, seed=seed,
                              people_per_pcn=GEN_PEOPLE_PER_PCN, months=GEN_MONTHS)
    tv = synthetic.get_scenario(scenario).trend
    truth_rr = data.true_effect("pcsp", "emergency_admission", window=(0, 11))["relative"].iloc[0]
    truth = float(np.log(truth_rr))  # 0: no effect on admissions in either scenario
    pan = pcn_quarter_panel(data)
    e = np.where(pan["group"] > 0, pan["period"] - pan["group"], np.nan)
    pan = pan[(pan["group"] == 0) | ((e >= -LEADS) & (e <= LAGS))]
    if (pan["events"] == 0).any():  # log(0): counted, not hidden
        return [{"scenario": scenario, "seed": seed, "method": "failed", "note": "a PCN-quarter with no events"}]
    es = did.event_study(pan, "log_rate", "pcn_id", "period", "group", leads=LEADS, lags=LAGS,
                         bin_endpoints=False, cluster="pcn_id")
    coef = es.to_frame().set_index("term")["estimate"]
    post = [f"e+{k}" for k in range(LAGS + 1)]
    bias_target = float(np.mean(tv.bias(np.arange(LAGS + 1), PERIOD_MONTHS))) if tv else 0.0
    rm = honest_did(es, restriction="relative_magnitude", m=[1.0], l_vec="average", n_sims=2000,
                    seed=seed, breakdown=False).to_frame()
    sd = honest_did(es, restriction="smoothness", m=[0.0], l_vec="average", breakdown=False).to_frame()
    est = float(coef[post].mean())
    rows = []
    for method, row, bound in (("plain event study", rm.iloc[0], np.nan),
                               ("HonestDiD relative magnitudes (C-LF)", rm.iloc[1], 1.0),
                               ("HonestDiD smoothness (FLCI)", sd.iloc[1], 0.0)):
        lo, hi = float(row["ci_lower"]), float(row["ci_upper"])
        rows.append({"scenario": scenario, "seed": seed, "method": method, "bound": bound,
                     "estimate": est, "ci_lower": lo, "ci_upper": hi, "truth": truth,
                     "closed_form_bias": bias_target, "covered": bool(lo <= truth <= hi),
                     "width": hi - lo, "pretest_p": es.pretest["p_value"],
                     **{f"coef_{k}": float(coef[k]) for k in coef.index if k.startswith("e")}})
    return rows


def run_generator(reps: int, first_seed: int, workers: int, minutes: float,
                  null_every: int = 2) -> pd.DataFrame:
    """Up to ``reps`` replications of ``trend_violation`` (seeds ``first_seed + r``) and one of
    ``null`` for every ``null_every``-th seed, interleaved, stopping new work once ``minutes`` of
    wall time have passed (the machine is shared); every finished replication is kept and saved
    as it comes in (``sensitivity_generator_replications.csv``)."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    jobs = [(s, first_seed + r) for r in range(reps) for s in GEN_SCENARIOS
            if s != "null" or r % null_every == 0]
    t0 = time.time()
    rows: list[dict] = []
    done = 0
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending = {pool.submit(generator_rep, *jobs[i]) for i in range(min(workers * 2, len(jobs)))}
        nxt = len(pending)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in finished:
                rows.extend(f.result())
                done += 1
                if done % 20 == 0:
                    pd.DataFrame(rows).to_csv(OUT / "sensitivity_generator_replications.csv", index=False)
                    print(f"{done} replications in {time.time() - t0:.0f} s", flush=True)
                if nxt < len(jobs) and time.time() - t0 < minutes * 60:
                    pending.add(pool.submit(generator_rep, *jobs[nxt]))
                    nxt += 1
    print(f"{done} replications in {time.time() - t0:.0f} s (wall-time budget {minutes:g} min)", flush=True)
    return pd.DataFrame(rows).sort_values(["scenario", "seed"], kind="stable").reset_index(drop=True)


def summarise_generator(reps: pd.DataFrame) -> pd.DataFrame:
    """Coverage (with its Monte Carlo SE), mean width, the estimate's mean bias against the
    truth and the closed-form bias, the interval's mean centre and the spread of its centre over
    the spread it claims, by scenario and interval; failed replications counted."""
    ok = reps[reps["method"] != "failed"].astype({"covered": bool})
    g = ok.groupby(["scenario", "method"], sort=False)
    out = g.agg(bound=("bound", "first"), replications=("covered", "size"),
                coverage=("covered", "mean"), mean_width=("width", "mean"),
                mean_bias=("estimate", lambda x: float(np.mean(x - ok.loc[x.index, "truth"]))),
                closed_form_bias=("closed_form_bias", "first")).reset_index()
    out["mc_se_coverage"] = np.sqrt(out["coverage"] * (1 - out["coverage"]) / out["replications"])
    out["mc_se_bias"] = g["estimate"].std().to_numpy() / np.sqrt(out["replications"])
    # the interval's centre: its mean, and its spread across replications over the spread the
    # interval itself claims (half-width / 1.96; for the symmetric plain and FLCI intervals only)
    ok = ok.assign(centre=(ok["ci_lower"] + ok["ci_upper"]) / 2, claimed_sd=ok["width"] / 3.919927969)
    g = ok.groupby(["scenario", "method"], sort=False)
    out["mean_centre"] = g["centre"].mean().to_numpy()
    ratio = (g["centre"].std() / np.sqrt(g["claimed_sd"].apply(lambda x: np.mean(x**2)))).to_numpy()
    out["centre_sd_over_claimed_sd"] = np.where(out["method"].str.contains("C-LF"), np.nan, ratio)
    failed = reps[reps["method"] == "failed"].groupby("scenario").size()
    out["failed_replications"] = out["scenario"].map(failed).fillna(0).astype(int)
    out["n_people"], out["people_per_pcn"] = GEN_PEOPLE, GEN_PEOPLE_PER_PCN
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--seed", type=int, default=2019)
    ap.add_argument("--generator", action="store_true",
                    help="replications drawn from the synthetic generator (scenario trend_violation)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--summarise", action="store_true",
                    help="with --generator: only recompute the summary from the saved replications")
    ap.add_argument("--minutes", type=float, default=14.0,
                    help="with --generator: stop starting replications after this much wall time")
    args = ap.parse_args()
    if args.generator:
        OUT.mkdir(exist_ok=True)
        if args.summarise:  # "null" is a scenario name, not a missing value
            reps = pd.read_csv(OUT / "sensitivity_generator_replications.csv", keep_default_na=False,
                               na_values=[""])
        else:
            reps = run_generator(args.reps, args.seed, args.workers, args.minutes)
            reps.to_csv(OUT / "sensitivity_generator_replications.csv", index=False)
        summary = summarise_generator(reps)
        summary.to_csv(OUT / "sensitivity_generator_summary.csv", index=False)
        print(summary.to_string(index=False))
        return
    reps = run(args.reps, args.seed)
    OUT.mkdir(exist_ok=True)
    reps.to_csv(OUT / "sensitivity_replications.csv", index=False)
    summary = summarise(reps)
    summary.to_csv(OUT / "sensitivity_summary.csv", index=False)
    print(summary.to_string(index=False))


if __name__ == "__main__":
    main()
