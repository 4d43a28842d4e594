"""Notebook 5: the validation study (Monte Carlo coverage of pceval's headline intervals)."""

from nbtools import write

CELLS = [
    ("md", """
# Can the numbers be trusted? pceval's validation study

**The question.** When pceval reports an effect with a 95% confidence interval, does that interval contain the
true effect 95% of the time? And are the estimates centred on the truth?

The answer comes first; how it was checked follows it.
""", None),
    ("code", """
import importlib.util
import inspect
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import Markdown, display
from plotnine import (aes, annotate, coord_flip, facet_wrap, geom_errorbar, geom_hline, geom_point, ggplot,
                      labs, scale_y_continuous, theme)

from pceval import report
from pceval.plots import theme_nhs

results = Path("..") / "validation" / "results"
SUMMARY_CSV = results / "summary.csv"
_spec = importlib.util.spec_from_file_location("monte_carlo", Path("..") / "validation" / "monte_carlo.py")
monte_carlo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(monte_carlo)
mc_people = inspect.signature(monte_carlo.one_rep).parameters["n_people"].default  # size of each simulated ICB
# keep_default_na=False: the scenario called "null" is a name, not a missing value
summary = pd.read_csv(results / "summary.csv", keep_default_na=False, na_values=[""])
reps = pd.read_csv(results / "replications.csv", keep_default_na=False, na_values=[""], low_memory=False)

SCENARIO = {"care_planning_narrows_gap": "Benefit (narrows the gap)", "null": "No effect",
            "care_planning_harm": "Harm", "integrated_care_harm": "Harm (rare integrated-care scheme)"}
DESIGN = {"matched_did_poisson": "Matched DiD, Poisson", "matched_did_linear": "Matched DiD, linear",
          "matched_cohort_effect": "Matched cohort (g-computation)",
          "att_gt_rollout": "Callaway-Sant'Anna, PCN roll-out",
          "matched_did_by_quintile": "Matched DiD by IMD quintile",
          "equity_sii_change": "Equity of effect (SII change)",
          "naive_before_after (biased)": "Before-after, treated only",
          "unmatched_did (biased)": "DiD without matching"}
contrast = summary["design"].str.contains("biased")
summary["scenario_label"] = summary["scenario"].map(SCENARIO)
summary["design_label"] = summary["design"].map(DESIGN)
# the Monte Carlo 95% interval of each coverage, to judge it against the 93-97% standard
summary["cov_lo"] = (summary["coverage"] - 1.96 * summary["coverage_mc_se"]).clip(0, 1)
summary["cov_hi"] = (summary["coverage"] + 1.96 * summary["coverage_mc_se"]).clip(0, 1)
headline = summary[~contrast].copy()
inside = headline["coverage"].between(0.93, 0.97)
n_reps = int(summary.loc[summary["design"] != "att_gt_rollout", "reps"].max())  # the roll-out design has more
n_roll = int(summary.loc[summary["design"] == "att_gt_rollout", "reps"].max())
n_failed = int(reps.loc[reps["design"] == "failed", ["scenario", "seed"]].drop_duplicates().shape[0])
# whole replications (every design); the further seeds of the roll-out design alone are not counted here
n_total = int(reps.loc[reps["design"] != "att_gt_rollout", ["scenario", "seed"]].drop_duplicates().shape[0])
n_part = int(reps.loc[reps["estimand"] == "failed", ["scenario", "seed"]].drop_duplicates().shape[0])
""", None),
    ("code", """
main = headline[headline["design"].isin(["matched_did_poisson", "matched_did_linear", "matched_cohort_effect"])]
worst_main = main.loc[(main["coverage"] - 0.95).abs().idxmax()]
out_rows = headline[~inside]
con = summary[contrast & (summary["estimand"] == "rate ratio")]
q = report.quoted_figure
cov_main_lo = q(SUMMARY_CSV, "coverage", "min", "{:.1%}", estimand="rate ratio", design="matched_did_poisson")
cov_main_hi = q(SUMMARY_CSV, "coverage", "max", "{:.1%}", estimand="rate ratio", design="matched_did_poisson")
cov_roll_lo = q(SUMMARY_CSV, "coverage", "min", "{:.1%}", design="att_gt_rollout", estimand="simple ATT per 1,000 PY")
cov_roll_hi = q(SUMMARY_CSV, "coverage", "max", "{:.1%}", design="att_gt_rollout", estimand="simple ATT per 1,000 PY")
reps_main = q(SUMMARY_CSV, "reps", "max", "{:,}", design="matched_did_poisson")
reps_roll = q(SUMMARY_CSV, "reps", "max", "{:,}", design="att_gt_rollout")
report.bottom_line_box(
    f"**pceval's headline intervals cover the truth at close to their stated 95%: {int(inside.sum())} of "
    f"{len(headline)} were within the 93-97% standard.**",
    questions={
        "How was it checked?": (f"{reps_main} simulated ICBs of {mc_people:,} people per scenario "
                                f"({monte_carlo.PEOPLE_PER_PCN:,} per PCN; {reps_roll} for the roll-out design), in "
                                "worlds where care planning helps, does nothing, or harms. Each analysis was run "
                                "as an evaluator would run it and compared with the truth for the same people."),
        "Main designs": (f"Matched difference-in-differences (rate ratio): coverage {cov_main_lo} to {cov_main_hi} "
                         f"across scenarios. All main designs: {main['coverage'].min():.1%} to "
                         f"{main['coverage'].max():.1%}; largest absolute bias "
                         f"{main.loc[main['estimand'] == 'rate ratio', 'bias'].abs().max():.3f} on the rate-ratio "
                         "scale."),
        "Staggered roll-out": (f"Callaway & Sant'Anna's simple average: coverage {cov_roll_lo} to {cov_roll_hi} "
                               "across scenarios (quoted in report 3)."),
        "Shortcuts are wrong": (f"A before-after comparison of treated people, and a DiD without matching, covered "
                                f"the truth in only {con['coverage'].min():.0%} to {con['coverage'].max():.0%} of "
                                "replications. People "
                                "get care plans after a run of admissions, and such runs pass (regression to the "
                                "mean)."),
        "What fell short": (f"{len(out_rows)} headline intervals fell outside 93-97%; section 3 lists each with its "
                            f"reason. {n_failed} of {n_total} replications failed outright; in {n_part}, one design "
                            "could not be computed (for example, a quintile with no admissions among its treated "
                            "people in one period). These are counted in the tables, not hidden."),
        "What it supports": ("Trusting pceval's intervals for these designs at the sizes tested; not the shortcuts."),
    },
    headline_numbers={"Headline intervals within 93-97%": f"{int(inside.sum())} of {len(headline)}",
                      "Replications per scenario": n_reps,
                      "People per simulated ICB": f"{mc_people:,}",
                      "Main designs: coverage range (%)": f"{100 * main['coverage'].min():.1f}-"
                                                          f"{100 * main['coverage'].max():.1f}"},
)
""", ["summary"]),
    ("md", """
## How it was checked

On real data nobody knows the true effect. The synthetic data that ship with pceval record
it exactly: for every treated person, the expected admissions with and without the intervention. So we
generated a new synthetic integrated care board (ICB) hundreds of times, ran each analysis an evaluator would
run, and compared every estimate and interval with the truth for the same people. This was done for three
worlds: care planning that **reduces** emergency admissions (most in deprived areas), that has **no effect**,
and that **increases** them.

This report reads the results of `make validate` (`validation/monte_carlo.py`). Nothing in it is typed by
hand: every number comes from `validation/results/` and the settings of `validation/monte_carlo.py`. The
side-by-side comparison with the reference packages (R `did`, MatchIt, PHEindicatormethods) is in
`docs/validation.md`.
""", None),
    ("md", """
## 1. Coverage of every headline interval

Each point is the share of the 95% confidence intervals that contained the true effect. Each bar shows the
Monte Carlo uncertainty of that share (95%). The shaded band is the 93-97% standard. Intervals from a
sound method should sit in the band.
""", None),
    ("code", """
import textwrap  # one chart per scenario, narrow and tall, so that it stays legible at phone width (390 px)

plot_df = headline.assign(label=[textwrap.fill(f"{d}: {e}", 24) for d, e in
                                 zip(headline["design_label"], headline["estimand"], strict=True)])
order = list(dict.fromkeys(plot_df["label"]))[::-1]  # the first design at the top after coord_flip
plot_df["label"] = pd.Categorical(plot_df["label"], order)
for scen in [v for v in SCENARIO.values() if v in set(plot_df["scenario_label"])]:
    one = plot_df[plot_df["scenario_label"] == scen]
    n_in = int(one["coverage"].between(0.93, 0.97).sum())
    fig = (ggplot(one, aes(x="label", y="coverage", ymin="cov_lo", ymax="cov_hi"))
           + annotate("rect", xmin=-np.inf, xmax=np.inf, ymin=0.93, ymax=0.97, alpha=0.25, fill="#41B6E6")
           + geom_hline(yintercept=0.95, linetype="dashed")
           + geom_errorbar(width=0.3) + geom_point(size=2.2) + coord_flip()
           + scale_y_continuous(breaks=[0.9, 0.93, 0.95, 0.97, 1.0], labels=["90%", "93%", "95%", "97%", "100%"])
           + labs(x="", y="Coverage of the\\n95% interval", title=textwrap.fill(f"Scenario: {scen}", 22))
           + theme_nhs(base_size=11) + theme(figure_size=(3.7, 0.5 * len(one) + 1.4)))
    # phone=False: the chart is already phone-sized (3.7 in = 355 CSS px fits a 390 px screen unscaled)
    report.show_figure(fig, phone=False,
                       alt=f"Coverage of each headline 95% interval, scenario '{scen}': {n_in} of {len(one)} "
                           f"lie in the 93-97% band")
""", None),
    ("md", """
## 2. Bias, precision and coverage, design by design

*Bias* is the average of estimate minus truth. *RMSE* (root mean squared error) combines bias with the
scatter of the estimates. The *SE ratio* compares the standard errors pceval reported with the actual scatter
of the estimates: 1 is ideal, above 1 means the intervals are too wide (cautious), below 1 too narrow. Effects are per 1,000 person-years, unless the scale is a rate ratio. The *mean truth*
differs between replications and designs because each analysis keeps different people.
""", None),
    ("code", """
cols = {"scenario_label": "Scenario", "design_label": "Design", "estimand": "Measure", "reps": "Replications",
        "mean_truth": "Mean truth", "bias": "Bias", "rmse": "RMSE", "se_ratio": "SE ratio",
        "coverage_pct": "Coverage (%)",
        "failed_in_design": "Not estimable"}
def tidy(df):
    # coverage to one decimal, SE ratio to two; other numbers to three significant decimals
    return df.assign(coverage_pct=[f"{100 * c:.1f}" for c in df["coverage"]],
                     se_ratio=[("" if pd.isna(v) else f"{v:.2f}") for v in df["se_ratio"]])


tab = tidy(headline)
for scen, label in SCENARIO.items():
    part = tab[tab["scenario"] == scen]
    if part.empty:
        continue
    report.show_table(part[list(cols)].rename(columns=cols).drop(columns="Scenario"),
                      caption=f"{label}: headline designs.", counts=[], digits=3)
""", None),
    ("md", """
### The shortcuts, for contrast
""", None),
    ("code", """
report.show_table(tidy(summary[contrast])[list(cols)[:-1]]
                  .rename(columns=cols),
                  caption="Before-after and unmatched comparisons of the rate ratio: biased by design.",
                  counts=[], digits=3)
""", None),
    ("md", """
## 3. Intervals outside 93-97%, and why
""", None),
    ("code", """
if out_rows.empty:
    report.summary_box("Every headline interval had coverage within 93-97%.")
else:
    report.show_table(tidy(out_rows).assign(mc_interval=[f"{a:.1%} to {b:.1%}" for a, b in
                                                   zip(out_rows["cov_lo"], out_rows["cov_hi"], strict=True)])
                      [["scenario_label", "design_label", "estimand", "coverage_pct", "mc_interval", "bias", "rmse"]]
                      .rename(columns={**cols, "mc_interval": "Monte Carlo 95% interval"}),
                      caption="Headline intervals with coverage outside 93-97%.", counts=[], digits=3)
""", None),
    ("code", """
# the discussion kept with the results (validation/monte_carlo_discussion.md), shown as written
from IPython.display import Markdown, display

display(Markdown((Path("..") / "validation" / "monte_carlo_discussion.md").read_text()))
""", None),
    ("code", """
seeds = reps.groupby(reps["design"] == "att_gt_rollout")["seed"].agg(["min", "max"])
seeds_all, seeds_roll = seeds.loc[False], seeds.loc[True]
display(Markdown(
    "### Technical notes\\n\\n"
    f"- **Data**: for each replication, `pceval.synthetic.generate(n_people={mc_people:_}, scenario=..., "
    f"seed=..., people_per_pcn={monte_carlo.PEOPLE_PER_PCN:_})`: {mc_people // monte_carlo.PEOPLE_PER_PCN} PCNs with "
    f"care planning going live in random quarters. Seeds {seeds_all['min']}-{seeds_all['max']} run every design; "
    f"the roll-out design uses seeds {seeds_roll['min']}-{seeds_roll['max']}. Every scenario uses the same seeds."))
report.show_table(report.software_versions(), caption="Software that produced this report")
""", ["appendix"]),
    ("md", """
- **Matched designs**: adults with a long-term condition; rolling-entry 1:1 propensity-score matching by
  quarter (caliper 0.2 SD, exact on IMD quintile; age, sex, long-term conditions, frailty and prior activity
  in 12 months). The outcome is emergency admissions in the 12 months before and after the index month.
  - Poisson DiD: `did.did2x2(model="poisson")` with person-time, CR1 clustered on pairs.
  - Linear DiD: OLS of the rate per 1,000 person-years, weighted by person-time.
  - Matched cohort: `estimate_effect(model="poisson")` on the 12 months after the index, adjusted for the
    matching covariates.
  - Effects by quintile: `did.effects_by`.
  - Equity of effect: `inequality.equity_of_effect`, the change in the SII.
- **Roll-out**: `did.att_gt` on everyone eligible, grouped by the quarter their PCN went live (not-yet-treated
  comparisons, doubly robust, `unbalanced="pairwise"`, 499 bootstrap draws). This is the intention-to-treat
  effect of go-live, reported as the simple, group and calendar aggregations and the event study at 0, 2, 4
  and 6 quarters. The uniform band's coverage is the share of replications in which it covers event times
  0-6 together.
- **Truth**: `SyntheticData.true_effect` for the matched treated people. For the roll-out, it is the mean
  true effect of each group's people in each quarter, aggregated with the estimator's weights (for the group
  and calendar aggregations, by applying the same aggregation to the true group-time effects).
- **Rerun**: `make validate`, then `make report`.
""", ["appendix"]),
    # --- BEGIN sensitivity (issue 19): reads validation/results/sensitivity_summary.csv ---
    ("md", """
### Sensitivity to violations of parallel trends

When the people who got care planning already had admissions falling faster, the usual event-study
interval is centred on the wrong value. `validation/mc_sensitivity.py` builds such a violation of known size
(500 replications per scenario, event-study estimates drawn from a simulated design) and compares the plain
interval with HonestDiD's intervals at the true bound.
""", None),
    ("code", """
sens = pd.read_csv(results / "sensitivity_summary.csv")
sens["scenario"] = sens["scenario"].map({"trend_continues": "trend continues after go-live",
                                         "trend_accelerates": "trend doubles after go-live"})
sens["coverage"] = (100 * sens["coverage"]).round(1)
report.show_table(sens[["scenario", "method", "bound", "coverage", "mean_width"]]
                  .rename(columns={"coverage": "coverage of the true effect (%)", "mean_width": "mean width"}),
                  caption="Coverage of 95% intervals when parallel trends fails by a known amount.",
                  counts=[], digits=3)
""", None),
    # --- END sensitivity ---
]

# ---- appended for issue 18 (patient-reported outcomes; validation/mc_proms.py): the PROM rows ------------------
CELLS += [
    ("md", """
## Patient-reported outcomes: wellbeing and activation

The designs of report 6: personal health budget recipients (the four ONS4 wellbeing items) and health-coaching
recipients (PAM) against matched respondents of a comparison survey, ANCOVA of the six-month score on the
baseline score, intervals clustered on matched pairs. Each synthetic ICB is simulated once and each replication
redraws only the questionnaire answers (who is surveyed, scores, noise, who answers at six months), so the
coverage is over the answers given the people, across five ICBs of 100,000 people.
""", None),
    ("code", """
proms_summary = pd.read_csv(results / "proms_summary.csv", keep_default_na=False, na_values=[""])
proms_table = proms_summary.assign(
    coverage_pct=lambda d: 100 * d["coverage"],
    estimand=lambda d: d["estimand"].str.replace("difference, ", "", regex=False))
report.show_table(proms_table[["scenario", "design", "estimand", "reps", "mean_truth", "bias", "rmse", "coverage_pct",
                               "se_ratio"]].rename(columns={"coverage_pct": "coverage (%)", "mean_truth": "mean truth",
                                                            "se_ratio": "SE ratio"}),
                  caption="Patient-reported outcome designs: bias, RMSE and coverage of the 95% intervals "
                          "(validation/mc_proms.py).", counts=[], digits=3)
proms_cov_lo, proms_cov_hi = proms_summary["coverage"].min(), proms_summary["coverage"].max()
proms_reps_lo, proms_reps_hi = int(proms_summary["reps"].min()), int(proms_summary["reps"].max())
proms_reps = f"{proms_reps_lo:,}" if proms_reps_lo == proms_reps_hi else f"{proms_reps_lo:,} to {proms_reps_hi:,}"
display(Markdown(f"Coverage of the PROM intervals ranges from {proms_cov_lo:.1%} to {proms_cov_hi:.1%} over "
                 f"{proms_reps} replications per row."))
""", None),
]
# ---- end of the issue 18 block ----------------------------------------------------------------------------------

# ---- BEGIN issue 19 (generator): a violation of parallel trends drawn from the synthetic generator --------------
# reads validation/results/sensitivity_generator_summary.csv (validation/mc_sensitivity.py --generator)
CELLS += [
    ("md", """
### A violation of parallel trends drawn from the generator

The synthetic scenario `trend_violation`: care planning has no effect on emergency admissions, but the PCNs that
offer it had admissions already falling faster (1% a month in the log rate, before and after go-live). Each
replication generates a new small ICB and fits an event study of each PCN's log admission rate by quarter; the
target is the mean effect over the first four quarters after go-live (truly zero). The plain interval's bias is
known in closed form, and the true HonestDiD bounds are M̄ = 1 (relative magnitudes) and M = 0 (smoothness).
The `null` rows are the same design without the violation.
""", None),
    ("code", """
# "null" is a scenario's name, not a missing value
gen = pd.read_csv(results / "sensitivity_generator_summary.csv", keep_default_na=False, na_values=[""])
gen_table = gen.assign(coverage_pct=100 * gen["coverage"], mc_se_pct=100 * gen["mc_se_coverage"],
                       scenario=gen["scenario"].map({"trend_violation": "trends differ (1% a month)",
                                                     "null": "no violation"}))
report.show_table(gen_table[["scenario", "method", "bound", "replications", "coverage_pct", "mc_se_pct",
                             "mean_width", "mean_bias", "closed_form_bias"]]
                  .rename(columns={"coverage_pct": "coverage of the true effect (%)", "mc_se_pct": "MC SE (%)",
                                   "mean_width": "mean width", "mean_bias": "mean bias of the estimate",
                                   "closed_form_bias": "closed-form bias"}),
                  caption="Coverage of 95% intervals for the mean effect over event times 0-3, replications "
                          "drawn from the synthetic generator (validation/mc_sensitivity.py --generator).",
                  counts=[], digits=3)
tv = gen[gen["scenario"] == "trend_violation"].set_index("method")
plain, rm_row = tv.loc["plain event study"], tv.loc["HonestDiD relative magnitudes (C-LF)"]
sd_row = tv.loc["HonestDiD smoothness (FLCI)"]
display(Markdown(
    f"With the violation, the plain event-study interval covers the true effect in {plain['coverage']:.1%} "
    f"(MC SE {plain['mc_se_coverage']:.1%}) of {int(plain['replications']):,} replications; HonestDiD's "
    f"relative-magnitude interval at the true M̄ = 1 covers it in {rm_row['coverage']:.1%}, and the smoothness "
    f"interval at the true M = 0 in {sd_row['coverage']:.1%} (MC SE {sd_row['mc_se_coverage']:.1%}): centred on "
    f"the truth (mean centre {sd_row['mean_centre']:.3f}, against {plain['mean_centre']:.3f} for the plain "
    f"interval) but narrower than its spread with only {int(tv['n_people'].iloc[0] / tv['people_per_pcn'].iloc[0])} PCNs "
    f"(docs/validation.md)."))
""", None),
]
# ---- END issue 19 (generator) ------------------------------------------------------------------------------------

if __name__ == "__main__":
    print(write("05_validation_study", CELLS))
