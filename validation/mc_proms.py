"""Monte Carlo validation of the patient-reported outcome (PROM) designs of ``pceval.proms``.

Two designs, each the analysis notebook 6 runs:

* ``ancova_phb_wellbeing``: personal health budget (PHB) recipients against survey respondents
  (the generator's comparison survey) surveyed in the same calendar year, respondents who received
  any intervention from 30 days before to 215 days after their survey excluded; 1:1 propensity-score
  matching (caliper 0.2 SD, exact on IMD quintile and year, on age, conditions, frailty, depression
  and the baseline score); ANCOVA of the 6-month score on the baseline with CR1 standard errors
  clustered on the matched pair (:func:`pceval.proms.score_change`). Estimands: the effect on each
  of the four ONS4 items (life satisfaction is the headline);
* ``ancova_coaching_pam``: the same design for health coaching and the PAM score.

Scenarios: ``benefit`` (the default scenario's effects: PHB life satisfaction +0.8, worthwhile +0.5,
happy +0.6, anxiety -0.6; coaching PAM +5; care planning PAM +3, which the contamination exclusion
keeps out of the comparison) and ``null`` (no effect on anything). The truth of each replication is
the exact effect on the treated people analysed (``mean(value - value_untreated)`` at their 6-month
follow-up, from the generator's common-random-number counterfactuals).

**What is redrawn.** To keep the study near 15 minutes on 2 cores, each of ``--populations`` synthetic
ICBs (50,000 people; population and activity from ``pceval.synthetic``, as ``generate`` makes them)
is simulated once, and every replication redraws only the PROM part of the generator
(:func:`pceval.synthetic.measures.simulate_measures` without HbA1c, with a new seed): who is in the
survey and when, everybody's latent scores, measurement noise and follow-up response. The treated people, their
index dates and their covariates stay fixed within a population, so coverage is over the PROM data
given the population (and over ``--populations`` populations), and matching uses person-level
covariates (age, conditions, frailty, depression, IMD quintile) and the baseline score, not the prior
hospital use that notebook 6 also uses (PROMs do not depend on it in the generator).

Run ``python validation/mc_proms.py`` (500 replications per scenario: 4 populations x 125) or
``--reps-per-population 5 --out /tmp/x --doc ''`` for a quick look. Writes
``validation/results/proms_replications.csv`` and ``proms_summary.csv`` (the columns of
``summary.csv``, by :func:`monte_carlo.summarise`) and rewrites its own section of
``docs/validation.md`` (between markers, so ``--summarise-only`` can restore it after
``reference_table.py`` rewrites the file).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

N_PEOPLE = 50_000
SCENARIOS = {"benefit": "default", "null": "null"}  # label -> generator scenario of the measures
ITEMS = ("ons4_life_satisfaction", "ons4_worthwhile", "ons4_happy", "ons4_anxiety")
DESIGNS = {  # design -> (intervention, outcomes)
    "ancova_phb_wellbeing": ("phb", ITEMS),
    "ancova_coaching_pam": ("health_coaching", ("pam_score",)),
}
PEOPLE_COVARIATES = ["age", "ltc_count", "frailty_index", "depression"]


def make_population(seed: int, n_people: int = N_PEOPLE):
    """People and their activity, simulated as :func:`pceval.synthetic.generate` does (default scenario)."""
    from pceval.synthetic import activity, population
    from pceval.synthetic.scenarios import get_scenario

    start = pd.Timestamp("2019-01-01")
    months = 72
    rng = np.random.default_rng(seed)
    geo = population.make_geography(rng, n_people, population.resolve_imd_mix("england"), 5_000, 4)
    p = population.make_people(rng, n_people, geo, start)
    sim = activity.simulate_activity(rng, p, geo.n_pcn, get_scenario("default"), start, months, 0.7)
    start_m = np.datetime64(start, "M")
    from pceval.synthetic.scenarios import INTERVENTIONS

    treated = np.nonzero(sim.treat_iv > 0)[0]
    iv = pd.DataFrame({
        "person_id": treated + 1, "intervention": np.asarray(INTERVENTIONS)[sim.treat_iv[treated] - 1],
        "date": ((start_m + sim.treat_month[treated].astype("timedelta64[M]")).astype("datetime64[D]")
                 + sim.treat_day[treated].astype("timedelta64[D]")).astype("datetime64[ns]")})
    people = pd.DataFrame({"person_id": np.arange(n_people) + 1, "age": p["age"], "ltc_count": p["ltc"],
                           "frailty_index": p["fi"], "depression": p["cond"]["depression"],
                           "imd_quintile": (p["decile"] + 1) // 2})
    return {"p": p, "sim": sim, "months": months, "start_m": start_m, "interventions": iv, "people": people}


def _index(pop, meas: pd.DataFrame, intervention: str) -> pd.DataFrame:
    """Treated episodes (the intervention's index date) and survey episodes (the survey date),
    without survey respondents treated in the outcome window."""
    iv = pop["interventions"]
    tr = iv[iv["intervention"] == intervention][["person_id", "date"]].rename(columns={"date": "index_date"})
    base = meas[(meas["timepoint"] == "baseline") & (meas["measure"] == "pam_score")]
    first = iv.groupby("person_id")["date"].min()
    fd = base["person_id"].map(first)
    survey = base[fd.isna() | (base["date"] < fd)][["person_id", "date"]].rename(columns={"date": "index_date"})
    ix = pd.concat([tr.assign(treated=1), survey.assign(treated=0)], ignore_index=True)
    hits = ix.merge(iv[["person_id", "date"]], on="person_id")
    days = (hits["date"] - hits["index_date"]).dt.days
    bad = hits.loc[days.between(-30, 215), ["person_id", "index_date"]].drop_duplicates().assign(_bad=1)
    ix = ix.merge(bad, on=["person_id", "index_date"], how="left")
    ix = ix[(ix["treated"] == 1) | ix["_bad"].isna()].drop(columns="_bad")
    ix = ix.merge(pop["people"], on="person_id")
    ix["index_year"] = ix["index_date"].dt.year
    return ix


def one_rep(pop, scenario: str, seed: int) -> list[dict]:
    """Every design's estimates, 95% CIs and truths in one replication (new measures draw)."""
    from pceval import match, proms
    from pceval.synthetic import measures
    from pceval.synthetic.scenarios import get_scenario

    rng = np.random.default_rng(seed)
    # simulate_measures without its HbA1c part (not analysed here): the PROMs of the treated, then the survey
    p, sim, scen = pop["p"], pop["sim"], get_scenario(SCENARIOS[scenario])
    quint = (p["decile"] + 1) // 2
    survey_rng = np.random.Generator(rng.bit_generator.jumped())
    rows_m, rows_cf = measures._proms(rng, p, sim, scen, pop["months"], pop["start_m"], quint)
    rows_m += measures._survey(survey_rng, p, sim, scen, pop["months"], pop["start_m"], quint)
    meas = pd.concat(rows_m, ignore_index=True)
    meas["date"] = meas["date"].astype("datetime64[ns]")
    cf = pd.concat(rows_cf, ignore_index=True)
    rows: list[dict] = []
    for design, (intervention, outcomes) in DESIGNS.items():
        try:
            ix = _index(pop, meas, intervention)
            wide = proms.wide_scores(meas, ix, list(outcomes))
            first = outcomes[0]
            wide = wide[wide[f"{first}_baseline"].notna()]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = match(wide, treatment="treated", covariates=PEOPLE_COVARIATES + [f"{first}_baseline"],
                          exact=["imd_quintile", "index_year"], caliper=0.2, seed=1)
                md = m.matched_data()
                for item in outcomes:
                    h = proms.score_change(m, f"{item}_follow_up", f"{item}_baseline", "treated").headline
                    kept = md.loc[(md["treated"] == 1) & md[f"{item}_follow_up"].notna(), "person_id"]
                    c = cf[(cf["measure"] == item) & (cf["months_since_index"] == 6) & cf["person_id"].isin(kept)]
                    truth = float((c["value"] - c["value_untreated"]).mean())
                    rows.append(dict(scenario=scenario, seed=seed, design=design, estimand=f"difference, {item}",
                                     estimate=h["estimate"], ci_lower=h["ci_lower"], ci_upper=h["ci_upper"],
                                     truth=truth, n_treated=int(h["n_treated"])))
        except Exception as exc:  # counted, never hidden
            rows.append(dict(scenario=scenario, seed=seed, design=design, estimand="failed", estimate=np.nan,
                             ci_lower=np.nan, ci_upper=np.nan, truth=np.nan, note=str(exc)[:80]))
    return rows


def run_population(pop_seed: int, reps: int, scenarios: list[str]) -> list[dict]:
    """All replications of one population (one worker)."""
    pop = make_population(pop_seed)
    rows: list[dict] = []
    for r in range(reps):
        for s in scenarios:
            for row in one_rep(pop, s, seed=pop_seed * 10_000 + r):
                rows.append({**row, "population": pop_seed})
    return rows


START, END = "<!-- proms section: written by validation/mc_proms.py -->", "<!-- end of proms section -->"


def _f(x: float, d: int = 3) -> str:
    return "" if pd.isna(x) else f"{x:.{d}f}"


def doc_section(summ: pd.DataFrame, res: pd.DataFrame) -> str:
    """The Markdown section of docs/validation.md for the PROM designs, from the summary."""
    n_pop = res["population"].nunique() if "population" in res else 0
    lines = [START, "## Monte Carlo study: patient-reported outcomes (`validation/mc_proms.py`)", "",
             "The designs of notebook 6: PHB recipients (ONS4 items) or health-coaching recipients (PAM) against "
             "matched respondents of the synthetic comparison survey (same IMD quintile and calendar year, "
             "respondents treated in the outcome window excluded), ANCOVA of the 6-month score on the baseline "
             "with CR1 SEs clustered on matched pairs (`pceval.proms.score_change`). Scenarios: *benefit* (the "
             "default scenario's effects: PHB life satisfaction +0.8, worthwhile +0.5, happy +0.6, anxiety -0.6; "
             "coaching PAM +5) and *null*. The truth is the exact effect on the treated people analysed.", "",
             f"What is redrawn: {n_pop} synthetic ICBs of {N_PEOPLE:,} people are simulated once each, and every "
             "replication redraws only the PROM part of the generator (survey sample and dates, latent "
             "scores, noise, follow-up response) with a new seed, so that 500 replications per scenario run in "
             "about a quarter of an hour on 2 cores. Coverage is therefore over the PROM data given the treated people and their covariates "
             "(across the populations), not over new populations. Both scenarios use the same seeds.", "",
             "| scenario | design | estimand | reps | mean truth | bias | RMSE | coverage (MC SE) | SE ratio | "
             "failed |", "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in summ.itertuples(index=False):
        flag = " **outside 93-97%**" if not (0.93 <= r.coverage <= 0.97) else ""
        lines.append(f"| {r.scenario} | {r.design} | {r.estimand} | {r.reps} | {_f(r.mean_truth)} | {_f(r.bias)} | "
                     f"{_f(r.rmse)} | {r.coverage:.3f} ({r.coverage_mc_se:.3f}){flag} | {_f(r.se_ratio, 2)} | "
                     f"{r.failed_in_design} |")
    lo, hi = summ["coverage"].min(), summ["coverage"].max()
    lines += ["", f"Coverage ranges from {lo:.1%} to {hi:.1%} over the {len(summ)} rows; the largest absolute bias "
              f"is {summ['bias'].abs().max():.3f} points (the effects are 0.5-0.8 points for ONS4 and 5 for PAM). "
              "SE ratio: mean model SE over the empirical SD of the estimates. The two scenarios share their seeds "
              "and the effects are additive shifts, so their rows are almost the same: the error of the estimate "
              "does not depend on the size of the effect (only rounding and clipping at the ends of the scales "
              "differ). Treated people analysed per replication: about 44 PHB recipients (ONS4) and 113 coaching "
              "recipients (PAM) in ICBs of 50,000 people.", END]
    return "\n".join(lines) + "\n"


def write_doc(section: str, path: Path) -> None:
    """Put ``section`` into ``path`` between its markers (appended the first time)."""
    text = path.read_text() if path.exists() else ""
    if START in text and END in text:
        a, b = text.index(START), text.index(END) + len(END)
        text = text[:a] + section.rstrip("\n") + text[b:]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--populations", type=int, default=4)
    ap.add_argument("--reps-per-population", type=int, default=125)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    ap.add_argument("--doc", default=str(Path(__file__).resolve().parents[1] / "docs" / "validation.md"),
                    help="the Markdown file whose PROM section is (re)written ('' to skip)")
    ap.add_argument("--summarise-only", action="store_true", help="re-read proms_replications.csv")
    args = ap.parse_args()
    from monte_carlo import summarise

    t0 = time.time()
    out = Path(args.out)
    if args.summarise_only:
        res = pd.read_csv(out / "proms_replications.csv", keep_default_na=False, na_values=[""])
    else:
        rows: list[dict] = []
        with ProcessPoolExecutor(max_workers=args.workers) as ex:
            futs = [ex.submit(run_population, 1 + k, args.reps_per_population, list(SCENARIOS))
                    for k in range(args.populations)]
            out.mkdir(parents=True, exist_ok=True)
            for f in as_completed(futs):
                rows += f.result()
                print(f"population done ({time.time() - t0:.0f} s)", flush=True)
                res = pd.DataFrame(rows).sort_values(["scenario", "design", "population", "seed", "estimand"])
                res.to_csv(out / "proms_replications.csv", index=False)  # saved as each population ends
    summ = summarise(res)
    summ.to_csv(out / "proms_summary.csv", index=False)
    print(summ.to_string())
    if args.doc:
        write_doc(doc_section(summ, res), Path(args.doc))
    print(f"wall time {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    raise SystemExit(main())
