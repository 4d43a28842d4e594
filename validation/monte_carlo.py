"""Monte Carlo validation of pceval's headline designs on the synthetic generator.

Each replication generates a new synthetic ICB (``pceval.synthetic.generate``, new seed), runs the
analysis an evaluator would run, and records each estimate, its 95% CI and the exact truth for the
same people (``SyntheticData.true_effect``). Across replications we report bias, RMSE and the
coverage of the 95% intervals, for scenarios with benefit, no effect and harm.

Designs (emergency admissions in the 12 months after the index month):

* ``matched_did_poisson``: rolling-entry 1:1 propensity-score matching (caliper 0.2 SD, exact on
  IMD quintile, covariates as at the index quarter), then a Poisson 2x2 DiD with person-time and
  CR1 SEs clustered on matched pairs (:func:`pceval.did.did2x2`); rate ratio and difference per
  1,000 person-years;
* ``matched_did_by_quintile``: the same DiD in each IMD quintile (absolute scale);
* ``equity_sii_change``: the change in the SII of admissions caused by the intervention
  (:func:`pceval.inequality.equity_of_effect`) against its true value computed from the true
  quintile effects with the same uptake and baselines;
* contrasts, labelled biased: ``naive_before_after`` (treated only, rate ratio after/before) and
  ``unmatched_did`` (DiD against every eligible never-treated person at a common index date).

Run ``make validate`` (500 replications per scenario, 1,000 of the roll-out design, whose
calendar-time coverage needed more to be judged; about 1.5 hours on 2 cores) or
``python validation/monte_carlo.py --reps 20`` for a quick look; ``--workers`` sets processes.
``--only rollout`` reruns the roll-out design alone and replaces (or, with ``--append`` and a new
``--first-seed``, extends) its saved rows.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import pandas as pd

SCENARIOS = {  # scenario -> the intervention whose effect it sets
    "care_planning_narrows_gap": "pcsp",
    "null": "pcsp",
    "care_planning_harm": "pcsp",
    # the rare integrated-care scheme (about 80 treated people in 30,000) can be run by name with
    # --scenarios; its quintile estimates rest on a handful of events, see docs/validation.md
    "integrated_care_harm": "integrated_care",
}
DEFAULT_SCENARIOS = ["care_planning_narrows_gap", "null", "care_planning_harm"]
PEOPLE_PER_PCN = 1_000  # 20 PCNs in 20,000 people: enough go-live quarters for the roll-out design
DYNAMIC_E = (0, 2, 4, 6)  # quarters since the plan reported for att_gt's event study


def _recorder(scenario: str, seed: int) -> tuple[list[dict], Callable[..., None]]:
    """The rows of one replication and the function that appends an estimate to them."""
    rows: list[dict] = []

    def add(design, estimand, est, lo, hi, truth, covered=np.nan):
        rows.append(dict(scenario=scenario, seed=seed, design=design, estimand=estimand,
                         estimate=float(est), ci_lower=float(lo), ci_upper=float(hi), truth=float(truth),
                         covered=covered))
    return rows, add


def _failure(scenario: str, seed: int, design: str, estimand: str, exc: Exception, width: int = 80) -> dict:
    """A row recording that a design (or a whole replication) could not be analysed, and why."""
    return dict(scenario=scenario, seed=seed, design=design, estimand=estimand, estimate=np.nan,
                ci_lower=np.nan, ci_upper=np.nan, truth=np.nan, note=str(exc)[:width])


def one_rep(scenario: str, seed: int, n_people: int = 20_000) -> list[dict]:
    """One replication: every design's estimate, 95% CI and truth as rows.

    A replication that cannot be analysed (e.g. too few treated people in a small ICB) returns
    one row with ``design="failed"`` and the reason, so failures are counted, not hidden.
    """
    try:
        return _one_rep(scenario, seed, n_people)
    except Exception as exc:  # noqa: BLE001 - recorded and reported in the summary
        return [_failure(scenario, seed, "failed", type(exc).__name__, exc, width=120)]


def _one_rep(scenario: str, seed: int, n_people: int) -> list[dict]:
    import narwhals as nw

    from pceval import (
        Cohort,
        baseline_covariates,
        build_panel,
        candidate_index_periods,
        did,
        index_dates,
        inequality,
        synthetic,
    )
    from pceval.effects import estimate_effect
    from pceval.matching import match

    warnings.simplefilter("ignore")
    intervention = SCENARIOS[scenario]
    data = synthetic.generate(n_people=n_people, scenario=scenario, seed=seed, people_per_pcn=PEOPLE_PER_PCN)
    people, events = data.people, data.events
    start, end = pd.Timestamp(data.data_start), pd.Timestamp(data.data_end)
    ix = index_dates(people, data.interventions, which=intervention)
    ix["end_date"] = ix["registration_end"].fillna(end)
    coh = (Cohort(ix, unit="person_id", treatment="treated")
           .include("adults", nw.col("age") >= 18)
           .include("1+ LTC", nw.col("ltc_count") >= 1)
           .exclude("first year", nw.col("index_date") < (start + pd.DateOffset(months=12)).to_pydatetime())
           .exclude("last year", nw.col("index_date") > (end - pd.DateOffset(months=12)).to_pydatetime())
           ).to_pandas()
    rows, add = _recorder(scenario, seed)

    # --- matched DiD -----------------------------------------------------------------------
    cand = candidate_index_periods(coh, period="quarter", start_date="registration_start", end_date="end_date")
    cand = baseline_covariates(cand, events, lookback=12)
    covs = ["age_at_index", "sex", "ltc_count", "frailty_index", "prior_emergency_admission",
            "prior_ae_attendance", "prior_gp_appointment", "any_prior_emergency"]
    m = match(cand, treatment="treated", covariates=covs, caliper=0.2, exact=["imd_quintile"],
              period="index_period", unit="person_id", seed=1)
    md = m.matched_data()
    keep = ["person_id", "index_date", "end_date", "registration_start", "treated", "weights", "subclass",
            "imd_quintile"]
    pan = build_panel(events, md[keep], before=12, after=12, kinds=["emergency_admission"],
                      start_date="registration_start", end_date="end_date")
    pan = pan.merge(md[["person_id", "treated", "weights", "subclass", "imd_quintile"]], on="person_id")
    pan["post"] = (pan["rel_period"] >= 0).astype(int)
    pp = (pan.groupby(["person_id", "post"], as_index=False)
          .agg(adm=("emergency_admission", "sum"), months=("person_time", "sum"), treated=("treated", "first"),
               weights=("weights", "first"), subclass=("subclass", "first"),
               imd_quintile=("imd_quintile", "first")))
    pp = pp[pp["months"] > 0].assign(treated=lambda d: d["treated"].astype(int))
    fit = did.did2x2(pp, "adm", "treated", "person_id", "post", model="poisson", exposure="months",
                     exposure_unit="month", weights="weights", cluster="subclass").to_frame().set_index("scale")
    treated_ids = md.loc[md["treated"] == 1, "person_id"]
    truth = data.true_effect(intervention, "emergency_admission", window=(0, 11), persons=treated_ids).iloc[0]
    add("matched_did_poisson", "rate ratio", *fit.loc["relative", ["estimate", "ci_lower", "ci_upper"]],
        truth["relative"])
    add("matched_did_poisson", "difference per 1,000 PY",
        *fit.loc["absolute", ["estimate", "ci_lower", "ci_upper"]], truth["absolute"])

    # the same DiD on the additive scale: OLS of each person's rate per 1,000 PY, weighted by
    # matching weight x person-years, so each cell's mean is its ratio of sums
    lin = pp.assign(rate=pp["adm"] / pp["months"] * 12_000, w_pt=pp["weights"] * pp["months"] / 12)
    fl = did.did2x2(lin, "rate", "treated", "person_id", "post", model="linear", weights="w_pt",
                    cluster="subclass").to_frame().set_index("scale")
    add("matched_did_linear", "difference per 1,000 PY", *fl.loc["absolute", ["estimate", "ci_lower", "ci_upper"]],
        truth["absolute"])

    # matched cohort, outcome after the index only: g-computation with a Poisson outcome model,
    # adjusted for the matching covariates, pair-clustered SEs (pceval.estimate_effect)
    post_only = pp[pp["post"] == 1].merge(md[["person_id", *covs]], on="person_id")
    post_only["years"] = post_only["months"] / 12
    ee = estimate_effect(post_only, "adm", covariates=covs, model="poisson", treatment="treated",
                         weights="weights", cluster="subclass", exposure="years").to_frame().set_index("scale")
    add("matched_cohort_effect", "rate ratio", *ee.loc["relative", ["estimate", "ci_lower", "ci_upper"]],
        truth["relative"])
    add("matched_cohort_effect", "difference per 1,000 PY",
        *ee.loc["absolute", ["estimate", "ci_lower", "ci_upper"]], truth["absolute"])

    # --- staggered roll-out: Callaway & Sant'Anna on the calendar-quarter panel ----------------
    try:
        _staggered(data, people, events, intervention, add)
    except Exception as exc:  # noqa: BLE001 - counted, see summarise
        rows.append(_failure(scenario, seed, "att_gt_rollout", "failed", exc))

    # --- by quintile and the equity of effect -------------------------------------------------
    truth_q = data.true_effect(intervention, "emergency_admission", window=(0, 11), persons=treated_ids,
                               by="imd_quintile").set_index("imd_quintile")
    try:
        byq = did.effects_by(pp, "imd_quintile", did.did2x2, outcome="adm", treatment="treated", post="post", unit="person_id", model="poisson", exposure="months", exposure_unit="month",
                             weights="weights", cluster="subclass")
        for _, r in byq.to_frame().query("row == 'subgroup'").iterrows():
            add("matched_did_by_quintile", f"difference per 1,000 PY, Q{int(r['subgroup'])}",
                r["estimate"], r["ci_lower"], r["ci_upper"], truth_q.loc[r["subgroup"], "absolute"])
        base = (pan[pan["post"] == 0].groupby("imd_quintile")
                .agg(admissions=("emergency_admission", "sum"), months=("person_time", "sum")).reset_index())
        pop = coh.groupby("imd_quintile").agg(population=("person_id", "size"),
                                              n_treated=("treated", "sum")).reset_index()
        eq_in = (byq.to_frame().query("row == 'subgroup'").rename(columns={"subgroup": "imd_quintile"})
                 .merge(pop, on="imd_quintile").merge(base, on="imd_quintile"))
        eq_in["baseline"] = eq_in["admissions"] / eq_in["months"] * 12_000
        eq = inequality.equity_of_effect(eq_in, uptake=None, n_treated="n_treated", population="population",
                                         baseline="baseline", seed=seed, n_boot=2000)
        tr_in = eq_in.drop(columns=["estimate", "std_error"]).assign(
            estimate=eq_in["imd_quintile"].map(truth_q["absolute"]), std_error=1e-9)
        eq_true = inequality.equity_of_effect(tr_in, uptake=None, n_treated="n_treated", population="population",
                                              baseline="baseline", seed=seed, n_boot=200)
        c = eq.contrasts.set_index("term").loc["SII change"]
        add("equity_sii_change", "SII change per 1,000 PY", c["estimate"], c["ci_lower"], c["ci_upper"],
            eq_true.contrasts.set_index("term").loc["SII change", "estimate"])
    except Exception as exc:  # a quintile with too few matched pairs in a small replication
        rows.append(_failure(scenario, seed, "matched_did_by_quintile", "failed", exc))

    # --- contrasts (biased by design) -------------------------------------------------------------
    tr = pp[pp["treated"] == 1].groupby("post")[["adm", "months"]].sum()
    rr_naive = (tr.loc[1, "adm"] / tr.loc[1, "months"]) / (tr.loc[0, "adm"] / tr.loc[0, "months"])
    se_naive = np.sqrt(1 / tr.loc[1, "adm"] + 1 / tr.loc[0, "adm"])
    add("naive_before_after (biased)", "rate ratio", rr_naive, rr_naive * np.exp(-1.96 * se_naive),
        rr_naive * np.exp(1.96 * se_naive), truth["relative"])
    ctrl = coh[~coh["treated"]].assign(index_date=md.loc[md["treated"] == 1, "index_date"].median())
    un = pd.concat([md.loc[md["treated"] == 1, keep[:5]], ctrl[keep[:5]]])
    pu = build_panel(events, un, before=12, after=12, kinds=["emergency_admission"],
                     start_date="registration_start", end_date="end_date")
    pu = pu.merge(un[["person_id", "treated"]], on="person_id").assign(post=lambda d: (d["rel_period"] >= 0).astype(int))
    ppu = (pu.groupby(["person_id", "post"], as_index=False)
           .agg(adm=("emergency_admission", "sum"), months=("person_time", "sum"), treated=("treated", "first")))
    ppu = ppu[ppu["months"] > 0].assign(treated=lambda d: d["treated"].astype(int))
    fu = did.did2x2(ppu, "adm", "treated", "person_id", "post", model="poisson", exposure="months",
                    exposure_unit="month").to_frame().set_index("scale")
    add("unmatched_did (biased)", "rate ratio", *fu.loc["relative", ["estimate", "ci_lower", "ci_upper"]],
        truth["relative"])
    return rows


def rollout_panel(data, people: pd.DataFrame, events: pd.DataFrame, intervention: str) -> pd.DataFrame:
    """Adults with a long-term condition by calendar quarter (``quarter`` 1, 2, ...), with their
    emergency admissions and ``group``, the quarter in which their PCN went live with
    ``intervention`` (0 = not within the data)."""
    from pceval import calendar_panel

    ppl = people[(people["age"] >= 18) & (people["ltc_count"] >= 1)]
    go = data.rollout[data.rollout["intervention"] == intervention].set_index("pcn_id")["go_live"]
    ppl = ppl.assign(go_live=ppl["pcn_id"].map(go))
    panel = calendar_panel(events, ppl, start=data.data_start, end=data.data_end, end_date="registration_end",
                           first_treated="go_live", period="quarter", kinds=["emergency_admission"])
    q_index = panel.drop_duplicates("calendar_period").set_index("calendar_period")["period_index"] + 1
    panel["quarter"] = panel["period_index"] + 1
    panel["group"] = panel["first_treated"].map(q_index).fillna(0).astype(int)
    return panel


def _staggered(data, people, events, intervention: str, add) -> None:
    """The roll-out design: ``att_gt`` on adults with a long-term condition, grouped by the
    calendar quarter in which their PCN went live (0 = never in the data), not-yet-treated
    comparisons, doubly robust without covariates, ``unbalanced="pairwise"``, 499 multiplier
    bootstrap draws for the uniform band.

    The estimand is the intention-to-treat effect of go-live on everyone eligible (most of whom
    get no plan), so the truth of ATT(g, t) is the mean over the panel's people of group g at
    risk in quarter t of their true effect (treated minus untreated expected admissions, 0 for
    people without a plan), aggregated with the estimator's group-size weights. Go-live dates
    are drawn at random by PCN, so parallel trends hold by design. (Grouping people by the
    quarter of their *own* plan does not satisfy parallel trends here: uptake rises with recent
    admissions; docs/validation.md.) The band's coverage is the share of replications in which
    it covers every event time 0..max(DYNAMIC_E) at once."""
    from pceval import did

    panel = rollout_panel(data, people, events, intervention)
    cs = did.att_gt(panel, outcome="emergency_admission", unit="person_id", time="quarter", group="group",
                    control_group="not_yet_treated", unbalanced="pairwise", n_boot=499, seed=1)

    ex = data.expected[data.expected["intervention"] == intervention]
    ex = ex.assign(effect=ex["treated_emergency_admission"] - ex["untreated_emergency_admission"],
                   quarter=(ex["month"].dt.year - data.data_start.year) * 4 + (ex["month"].dt.month - 1) // 3 + 1)
    eff = ex.groupby(["person_id", "quarter"])["effect"].sum()
    rows = panel[["person_id", "quarter", "group"]]
    rows = rows.assign(effect=eff.reindex(pd.MultiIndex.from_frame(rows[["person_id", "quarter"]]))
                       .fillna(0.0).to_numpy())
    gt_truth = rows.groupby(["group", "quarter"])["effect"].mean()
    size = panel.drop_duplicates("person_id")["group"].value_counts()
    cells = cs.to_frame()
    cells["truth"] = gt_truth.reindex(pd.MultiIndex.from_arrays([cells["group"], cells["time"]])).fillna(0.0).to_numpy()
    post = cells[cells["post"]].assign(w=lambda d: d["group"].map(size).to_numpy(), e=lambda d: d["time"] - d["group"])
    per = 4000  # per person-quarter -> per 1,000 person-years
    s = cs.aggregate("simple").to_frame().iloc[0]
    add("att_gt_rollout", "simple ATT per 1,000 PY", s["estimate"] * per, s["ci_lower"] * per,
        s["ci_upper"] * per, np.average(post["truth"], weights=post["w"]) * per)
    dyn = (cs.aggregate("dynamic", min_e=0, max_e=max(DYNAMIC_E)).to_frame()
           .dropna(subset=["event_time"]).set_index("event_time"))  # row 0 is the overall effect
    true_dyn = post.groupby("e").apply(lambda x: np.average(x["truth"], weights=x["w"]), include_groups=False)
    for e in DYNAMIC_E:
        if e not in dyn.index:  # no PCN went live early enough in this replication
            continue
        r = dyn.loc[e]
        add("att_gt_rollout", f"dynamic e={e} per 1,000 PY", r["estimate"] * per, r["ci_lower"] * per,
            r["ci_upper"] * per, true_dyn[e] * per)
    # the group and calendar aggregations: their truth is the same aggregation applied to the true
    # ATT(g, t) (so the weights are exactly the estimator's)
    true_res = dataclasses.replace(cs, table=cs.table.assign(estimate=cells["truth"].to_numpy()))
    for kind in ("group", "calendar"):
        a = cs.aggregate(kind, n_boot=0).overall
        add("att_gt_rollout", f"{kind} ATT per 1,000 PY", a["estimate"] * per, a["ci_lower"] * per,
            a["ci_upper"] * per, true_res.aggregate(kind, n_boot=0).overall["estimate"] * per)
    td = true_dyn.reindex(dyn.index).to_numpy()
    in_band = bool(((dyn["band_lower"].to_numpy() <= td) & (td <= dyn["band_upper"].to_numpy())).all())
    add("att_gt_rollout", f"dynamic e=0..{max(DYNAMIC_E)}, uniform band", np.nan, np.nan, np.nan, np.nan,
        covered=in_band)


def rollout_rep(scenario: str, seed: int, n_people: int = 20_000) -> list[dict]:
    """Only the roll-out design (``--only rollout``): the same data as :func:`one_rep` for the
    same seed, so its rows can replace that design's rows of a full run."""
    from pceval import synthetic

    warnings.simplefilter("ignore")
    rows, add = _recorder(scenario, seed)
    try:
        data = synthetic.generate(n_people=n_people, scenario=scenario, seed=seed, people_per_pcn=PEOPLE_PER_PCN)
        _staggered(data, data.people, data.events, SCENARIOS[scenario], add)
    except Exception as exc:  # noqa: BLE001 - counted, see summarise
        rows = [_failure(scenario, seed, "att_gt_rollout", "failed", exc)]
    return rows


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Bias, RMSE and 95% CI coverage by scenario, design and estimand (failed replications
    are counted in ``failed``)."""
    failed = results[results["design"] == "failed"].groupby("scenario").size()
    given = results["covered"] if "covered" in results else pd.Series(np.nan, index=results.index)
    ok_rows = (results[["estimate", "truth"]].notna().all(axis=1) | given.notna()) & (results["design"] != "failed")
    ok = results[ok_rows]
    err = ok["estimate"] - ok["truth"]
    cov = ((ok["ci_lower"] <= ok["truth"]) & (ok["truth"] <= ok["ci_upper"])).astype(float)
    if "covered" in ok:  # joint statements (a uniform band) carry their own coverage flag
        cov = ok["covered"].astype(float).where(ok["covered"].notna(), cov)
    # model-based SE (from the interval's width) against the empirical SD of the estimates, on the
    # scale the interval is symmetric on (log for ratios)
    ratio = ok["estimand"].str.contains("ratio")
    with np.errstate(divide="ignore", invalid="ignore"):
        point = np.where(ratio, np.log(ok["estimate"]), ok["estimate"])
        width = np.where(ratio, np.log(ok["ci_upper"]) - np.log(ok["ci_lower"]), ok["ci_upper"] - ok["ci_lower"])
    g = ok.assign(err=err, sq=err**2, covered=cov, point=point, model_se=width / (2 * 1.959964)).groupby(
        ["scenario", "design", "estimand"], sort=False)
    out = g.agg(reps=("covered", "size"), mean_truth=("truth", "mean"), bias=("err", "mean"),
                rmse=("sq", lambda s: float(np.sqrt(s.mean()))), coverage=("covered", "mean"),
                empirical_se=("point", "std"), mean_model_se=("model_se", "mean")).reset_index()
    out["se_ratio"] = out["mean_model_se"] / out["empirical_se"]
    n = out["reps"]
    out["coverage_mc_se"] = np.sqrt(out["coverage"] * (1 - out["coverage"]) / n)
    out["failed_reps"] = out["scenario"].map(failed).fillna(0).astype(int)
    # a design that could not be analysed in a replication that otherwise ran (e.g. a quintile
    # with no events) is counted against that design
    part = results[results["estimand"] == "failed"].groupby(["scenario", "design"]).size()
    out["failed_in_design"] = [int(part.get((s, d), 0)) for s, d in zip(out["scenario"], out["design"], strict=True)]
    return out


def run(reps: int, n_people: int, workers: int, scenarios=None, progress: bool = True,
        rep_fn=None, first_seed: int = 1000, rollout_reps: int = 0) -> pd.DataFrame:
    """``reps`` replications per scenario with seeds ``first_seed, first_seed + 1, ...`` (the same
    seeds in every scenario, so scenarios differ only by the effect). With ``rollout_reps >
    reps`` the roll-out design alone (:func:`rollout_rep`) runs on the further seeds up to
    ``first_seed + rollout_reps - 1``: its coverage needs more replications to be judged."""
    scenarios = list(scenarios or DEFAULT_SCENARIOS)
    one_rep_fn = rep_fn or one_rep
    jobs = [(one_rep_fn, s, first_seed + r) for s in scenarios for r in range(reps)]
    jobs += [(rollout_rep, s, first_seed + r) for s in scenarios for r in range(reps, rollout_reps)]
    rows: list[dict] = []
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(jobs), desc="replications", unit="rep")
    if workers <= 1:
        for fn, s, seed in jobs:
            rows.extend(fn(s, seed, n_people))
            if bar:
                bar.update()
    else:
        with ProcessPoolExecutor(max_workers=workers) as ex:
            futs = [ex.submit(fn, s, seed, n_people) for fn, s, seed in jobs]
            for f in as_completed(futs):
                rows.extend(f.result())
                if bar:
                    bar.update()
    if bar:
        bar.close()
    return pd.DataFrame(rows)


def read_results(path: str | Path) -> pd.DataFrame:
    """Read a results CSV (the scenario called "null" must stay a string, not a missing value)."""
    return pd.read_csv(path, keep_default_na=False, na_values=[""], low_memory=False)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--people", type=int, default=20_000)
    ap.add_argument("--scenarios", nargs="+", default=DEFAULT_SCENARIOS, choices=list(SCENARIOS))
    ap.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2)))
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--only", choices=["rollout"],
                    help="rerun one design and replace its rows in the existing replications.csv")
    ap.add_argument("--rollout-reps", type=int, default=None,
                    help="replications per scenario of the roll-out design (default twice --reps; the "
                         "ones beyond --reps run that design alone)")
    ap.add_argument("--first-seed", type=int, default=1000, help="seed of the first replication")
    ap.add_argument("--append", action="store_true",
                    help="with --only rollout: add the new replications to that design's saved rows "
                         "(use a --first-seed past the saved ones) instead of replacing them")
    ap.add_argument("--summarise-only", action="store_true",
                    help="recompute summary.csv from the saved replications.csv")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    t0 = time.time()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.summarise_only:
        res = read_results(out / "replications.csv")
    elif args.only == "rollout":
        new = run(args.reps, args.people, args.workers, scenarios=args.scenarios, progress=not args.no_progress,
                  rep_fn=rollout_rep, first_seed=args.first_seed)
        old = read_results(out / "replications.csv")
        keep = old["design"] != "att_gt_rollout"
        if args.append:
            saved = old.loc[~keep, ["scenario", "seed"]].drop_duplicates()
            clash = new[["scenario", "seed"]].drop_duplicates().merge(saved)
            if len(clash):
                ap.error(f"--append: {len(clash)} scenario-seed pairs are already saved; "
                         f"use --first-seed {int(old['seed'].max()) + 1}")
            keep[:] = True
        res = pd.concat([old[keep], new], ignore_index=True)
    else:
        res = run(args.reps, args.people, args.workers, scenarios=args.scenarios, progress=not args.no_progress,
                  first_seed=args.first_seed,
                  rollout_reps=2 * args.reps if args.rollout_reps is None else args.rollout_reps)
    if not args.summarise_only:
        res.to_csv(out / "replications.csv", index=False)
    summ = summarise(res)
    summ.to_csv(out / "summary.csv", index=False)
    print(summ.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"{len(res):,} rows from {args.reps} replications per scenario in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
