"""Notebook 1: does personalised care and support planning narrow the health gap?"""

from nbtools import LOVE_PLOT_WORDS, write

CELLS = [
    ("md", """
# Does personalised care and support planning narrow the health gap?

**For commissioners deciding whether to keep funding personalised care and support planning (PCSP).**
Did planned people need fewer emergency admissions, for whom, and did the plans narrow the gap between the
most and least deprived areas? The answer comes first; how it was worked out follows it.
""", None),
    ("code", """
import os
import warnings
from pathlib import Path

import narwhals as nw
import numpy as np
import pandas as pd

from pceval import sensitivity as sens
from pceval import (Cohort, baseline_covariates, build_panel, candidate_index_periods, did, index_dates,
                    inequality, report, synthetic, verdict)
from pceval.costs import consequences, default_unit_costs
from pceval.matching import match
from pceval.plots import plot_estimates_with_truth

# third-party deprecation notices are not findings; pceval's own warnings are shown in the appendix
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)
DATA = Path(os.environ.get("PCEVAL_DATA", "../synthetic_data"))
data = synthetic.load(DATA)
people, events, interventions = data.people, data.events, data.interventions
start, end = pd.Timestamp(data.data_start), pd.Timestamp(data.data_end)
# indicative NHS national averages in 2023/24 prices (NCC 2023/24; PSSRU 2024), cited in the report
unit_costs = default_unit_costs()
# ASSUMPTION (an input, not a finding): the cost of one care and support plan per person. pceval has no
# published figure to cite; replace it with the local cost. The report states it wherever it is used.
PLAN_COST = 100.0  # pounds per planned person, in the unit-cost table's price year
""", ["remove"]),
    ("md", """
## How this was worked out

A matched cohort with difference-in-differences, following the Improvement Analytics Unit's approach:

1. **Cohort**: adults with at least one long-term condition. People planned in the first or last year of
   the data are excluded, so everyone has a year before and a year after.
2. **Matched controls with rolling entry**: each planned person is matched to a never-planned person from
   the same IMD quintile who was registered in the same quarter. Matching uses characteristics *as at that
   quarter*: age, sex, conditions, frailty and hospital and GP use in the previous 12 months.
3. **Difference-in-differences**: emergency admissions in the 12 months after the index date against the
   12 months before, planned against matched controls. A Poisson model uses each person's time at risk and
   reports the rate ratio and the difference per 1,000 person-years (1,000 people followed for a year),
   with standard errors clustered on the matched pair.
4. **For whom**: the same analysis in each IMD quintile. **Equity**: how the plans changed the slope index
   of inequality (SII) in emergency admissions, given who received them.

The data are synthetic, so every estimate is shown beside the **true effect**.
""", None),
    ("md", "## 1. Cohort", None),
    ("code", """
ix = index_dates(people, interventions, which="pcsp")
ix["end_date"] = ix["registration_end"].fillna(end)
cohort = (Cohort(ix, unit="person_id", treatment="treated")
          .include("Adults (18+ at the data start)", nw.col("age") >= 18)
          .include("At least one long-term condition", nw.col("ltc_count") >= 1)
          .exclude("Planned in the first year (no baseline year)",
                   nw.col("index_date") < (start + pd.DateOffset(months=12)).to_pydatetime())
          .exclude("Planned in the last year (no follow-up year)",
                   nw.col("index_date") > (end - pd.DateOffset(months=12)).to_pydatetime()))
report.show_flow(cohort, caption="Cohort flow: people remaining after each step (planned and not planned)")
coh = cohort.to_pandas()
""", None),
    ("md", """
## 2. Matched controls

For every quarter in which someone was planned, each never-planned cohort member who was registered then becomes
a candidate control, with their characteristics measured at the start of that quarter. Matching is 1:1, nearest
neighbour on the propensity score, within a caliper of 0.2 standard deviations, and exact on IMD quintile.
Each control is used once.
""", None),
    ("code", """
candidates = candidate_index_periods(coh, period="quarter", start_date="registration_start", end_date="end_date")
candidates = baseline_covariates(candidates, events, lookback=12)
covariates = ["age_at_index", "sex", "ltc_count", "frailty_index", "prior_emergency_admission",
              "prior_ae_attendance", "prior_gp_appointment", "any_prior_emergency"]
m = match(candidates, treatment="treated", covariates=covariates, caliper=0.2, exact=["imd_quintile"],
          period="index_period", unit="person_id", seed=1)
sizes = m.sample_sizes() if hasattr(m, "sample_sizes") else None
matched = m.matched_data()
n_treated_all = int(coh["treated"].sum())
n_matched = int(matched["treated"].sum())
bal = m.balance().to_frame()
worst_smd = float(bal.loc[bal["sample"] == "matched", "smd"].abs().max())
n_unbalanced = int((bal.loc[(bal["sample"] == "matched") & (bal["covariate"] != "distance"), "smd"].abs() > 0.1).sum())
""" + LOVE_PLOT_WORDS + """report.show_figure(m.love_plot(labels=love_labels), alt=f"Love plot: after matching the largest standardised difference is "
                   f"{worst_smd:.2f}; {n_unbalanced} covariate(s) above 0.1")
""", None),
    ("code", """
bt = bal_words[bal["covariate"] != "distance"].pivot(index="covariate", columns="sample", values="smd").reset_index()
bt = bt.rename(columns={"all": "SMD before matching", "matched": "SMD after matching"})
report.show_table(bt, caption="Standardised mean differences (planned minus controls, in SDs of the planned "
                  "group); below 0.1 in absolute value is usually taken as balanced.", digits=3)
""", None),
    ("md", """
## 3. Did emergency admissions fall?

For each planned person and their matched control we count emergency admissions and time at risk in the
12 months before and after the index date. Follow-up stops at death or deregistration.
""", None),
    ("code", """
index_rows = matched[["person_id", "index_date", "end_date", "registration_start", "treated", "weights",
                      "subclass", "imd_quintile"]]
panel = build_panel(events, index_rows, before=12, after=12, kinds=["emergency_admission"],
                    start_date="registration_start", end_date="end_date")
panel = panel.merge(index_rows.drop(columns=["index_date", "end_date", "registration_start"]), on="person_id")
panel["post"] = (panel["rel_period"] >= 0).astype(int)
prepost = (panel.groupby(["person_id", "post"], as_index=False)
           .agg(admissions=("emergency_admission", "sum"), months=("person_time", "sum"),
                treated=("treated", "first"), weights=("weights", "first"), subclass=("subclass", "first"),
                imd_quintile=("imd_quintile", "first")))
prepost = prepost[prepost["months"] > 0].assign(treated=lambda d: d["treated"].astype(int))
fit = did.did2x2(prepost, "admissions", "treated", "person_id", "post", model="poisson", exposure="months",
                 exposure_unit="month", weights="weights", cluster="subclass")
res = fit.to_frame().set_index("scale")
truth = data.true_effect("pcsp", "emergency_admission", window=(0, 11),
                         persons=matched.loc[matched["treated"] == 1, "person_id"]).iloc[0]
rates = prepost.groupby(["treated", "post"]).agg(admissions=("admissions", "sum"), months=("months", "sum"))
rates = rates.reset_index().assign(person_years=lambda d: d["months"] / 12,
                                   group=lambda d: np.where(d["treated"] == 1, "planned", "matched controls"),
                                   period=lambda d: np.where(d["post"] == 1, "12 months after", "12 months before"))
report.show_table(rates[["group", "period", "admissions", "person_years"]].assign(rate=0.0),
                  caption="Emergency admissions and person-years before and after the index date.",
                  counts=["admissions"], rates={"rate": ("admissions", "person_years", 1000)}, digits=1)
""", None),
    ("code", """
effect_table = pd.DataFrame([
    {"measure": "rate ratio", "estimate": res.loc["relative", "estimate"], "ci_lower": res.loc["relative", "ci_lower"],
     "ci_upper": res.loc["relative", "ci_upper"], "true effect": truth["relative"]},
    {"measure": "difference per 1,000 person-years", "estimate": res.loc["absolute", "estimate"],
     "ci_lower": res.loc["absolute", "ci_lower"], "ci_upper": res.loc["absolute", "ci_upper"],
     "true effect": truth["absolute"]},
])
report.show_table(effect_table, caption="Effect of care and support planning on emergency admissions in the year "
                  "after the plan (matched difference-in-differences, 95% CI clustered on matched pairs), and the "
                  "true effect on the same planned people.", digits=3)
""", None),
    ("md", """
## 4. For whom: effects by deprivation

The same analysis within each IMD quintile (1 = most deprived). The matched pairs never cross quintiles,
so the quintile estimates are independent.
""", None),
    ("code", """
by_q = did.effects_by(prepost, "imd_quintile", did.did2x2, outcome="admissions", treatment="treated", post="post", unit="person_id", model="poisson", exposure="months", exposure_unit="month",
                      weights="weights", cluster="subclass")
truth_q = data.true_effect("pcsp", "emergency_admission", window=(0, 11),
                           persons=matched.loc[matched["treated"] == 1, "person_id"], by="imd_quintile")
q_levels = by_q.to_frame().query("row == 'subgroup'")  # one row per quintile
q_table = q_levels.rename(columns={"subgroup": "imd_quintile"}).merge(
    truth_q[["imd_quintile", "absolute"]].rename(columns={"absolute": "true effect"}), on="imd_quintile")
q_table["verdict"] = [verdict(r) for _, r in q_table.iterrows()]
q_table["MDE"] = [report.minimum_detectable_effect(se) for se in q_table["std_error"]]
report.show_table(q_table[["imd_quintile", "estimate", "ci_lower", "ci_upper", "true effect", "verdict", "MDE"]]
                  .rename(columns={"MDE": "smallest detectable (80% power)"}),
                  caption="Difference in emergency admissions per 1,000 person-years by IMD quintile (95% CI), "
                  "the true effect, the verdict read from the interval, and the smallest effect each quintile's "
                  "analysis could detect.", digits=1)
q_plot = q_table.assign(quintile=[report.quintile_label(q) for q in q_table["imd_quintile"]])
q_lower = [report.quintile_label(q) for q, v in zip(q_table["imd_quintile"], q_table["verdict"], strict=True)
           if v == "lower"]
report.show_figure(
    plot_estimates_with_truth(q_plot, x="quintile", truth="true effect", xlab="IMD quintile",
                              ylab="Change in emergency admissions\\nper 1,000 people a year",
                              title="Effect of care planning by deprivation"),
    alt=(f"Effect by IMD quintile with 95% intervals and the true effect: the interval lies wholly below "
         f"zero in {', '.join(q_lower) if q_lower else 'no quintile'}; in the others it includes zero."))
""", None),
    ("md", """
## 5. Did it narrow the gap?

A bigger effect in deprived areas does not narrow the population gap on its own: that also depends on how many
people in each quintile received a plan. `pceval.inequality.equity_of_effect` combines the effect in each
quintile with the quintile's uptake among cohort members and its emergency admission rate. It then computes
the slope index of inequality (SII) in admissions with and without the plans. A positive SII means more
admissions in the most deprived areas. The intervals carry the uncertainty of the quintile effects and of
the baseline rates.
""", None),
    ("code", """
base = (panel[panel["post"] == 0].groupby("imd_quintile")
        .agg(admissions=("emergency_admission", "sum"), months=("person_time", "sum")).reset_index())
pop = coh.groupby("imd_quintile").agg(population=("person_id", "size"), treated=("treated", "sum")).reset_index()
eq_in = (q_levels.rename(columns={"subgroup": "imd_quintile"})
         .merge(pop, on="imd_quintile").merge(base, on="imd_quintile"))
eq_in["baseline"] = eq_in["admissions"] / eq_in["months"] * 12_000
eq_in["baseline_se"] = np.sqrt(eq_in["admissions"]) / eq_in["months"] * 12_000
equity = inequality.equity_of_effect(eq_in, estimate="estimate", std_error="std_error", uptake=None,
                                     n_treated="treated", population="population", baseline="baseline",
                                     baseline_se="baseline_se", outcome="emergency admissions",
                                     units="per 1,000 person-years", seed=1)
true_in = eq_in.drop(columns=["estimate", "std_error"]).merge(
    truth_q[["imd_quintile", "absolute"]].rename(columns={"absolute": "estimate"}), on="imd_quintile")
true_in["std_error"] = 1e-9
true_equity = inequality.equity_of_effect(true_in, uptake=None, n_treated="treated", population="population",
                                          baseline="baseline", outcome="emergency admissions", seed=1)
contr = equity.contrasts.set_index("term")
true_contr = true_equity.contrasts.set_index("term")
shown_contr = equity.contrasts[~equity.contrasts["term"].str.startswith("heterogeneity")]
report.show_table(shown_contr.assign(**{"true value": shown_contr["term"].map(true_contr["estimate"])})
                  [["term", "estimate", "ci_lower", "ci_upper", "true value"]],
                  caption="Equity of effect: the Q1-Q5 difference in effects, the gradient across deprivation and "
                          "the change in the SII of emergency admissions per 1,000 person-years (95% CI), "
                          "with the true values.", digits=2)
sii_change = equity.headline  # the "SII change" row; its verdict is read from its own interval
gap_verdict = verdict(sii_change)
true_gap_verdict = verdict(true_equity.headline)
GAP_WORDS = {"lower": "narrowed", "higher": "widened", "no evidence either way": "no evidence either way",
             "too few to tell": "too few to tell"}
""", None),
    ("md", """
## 6. What it means in admissions and money

The effect on planned people, turned into emergency admissions avoided a year among the planned people
evaluated, people planned per admission avoided, and their cost (`pceval.costs.consequences`). The unit
costs are pceval's indicative national averages (NHS National Cost Collection); bed days are not counted,
because no cited length of stay is shipped. The intervals come from the effect's own uncertainty (delta
method). The unit costs and the cost of a plan are taken as known: their table and price year are stated
under each table, in the bottom-line box and in the appendix.
""", None),
    ("code", """
pop_rounded = int(round(n_matched / 5) * 5)  # people are counted after disclosure rounding
cons = consequences(fit, population=pop_rounded, activity="emergency_admission", unit_costs=unit_costs,
                    intervention_cost=PLAN_COST)
ct = cons.to_frame().dropna(subset=["estimate"])  # bed days: no cited length of stay
report.show_table(ct[["measure", "estimate", "ci_lower", "ci_upper", "unit"]],
                  caption=f"Consequences for the {pop_rounded:,} planned people evaluated (95% CI). "
                          f"{unit_costs.citation}",
                  note=f"The cost of a plan (£{PLAN_COST:,.0f} per person) is an illustrative assumption, not a "
                       "published figure. Population rounded to the nearest 5.", digits=1)
pop_q = (matched[matched["treated"] == 1].groupby("imd_quintile").size() / 5).round().mul(5).astype(int)
cons_q = consequences(by_q, population=pop_q, activity="emergency_admission", unit_costs=unit_costs,
                      intervention_cost=PLAN_COST)
cq = cons_q.to_frame()
cq = cq[cq["term"].isin(["events_avoided_per_year", "cost_of_events_avoided"])]
cq_wide = cq.pivot_table(index="subgroup", columns="term", values=["estimate", "ci_lower", "ci_upper"],
                         aggfunc="first", sort=False)
cq_tab = pd.DataFrame({
    "IMD quintile": [report.quintile_label(q) if q != "overall" else "all" for q in cq_wide.index],
    "admissions avoided a year": cq_wide[("estimate", "events_avoided_per_year")].to_numpy(),
    "CI lower": cq_wide[("ci_lower", "events_avoided_per_year")].to_numpy(),
    "CI upper": cq_wide[("ci_upper", "events_avoided_per_year")].to_numpy(),
    "cost avoided a year (£)": cq_wide[("estimate", "cost_of_events_avoided")].to_numpy(),
    "£ CI lower": cq_wide[("ci_lower", "cost_of_events_avoided")].to_numpy(),
    "£ CI upper": cq_wide[("ci_upper", "cost_of_events_avoided")].to_numpy()})
report.show_table(cq_tab, caption="Emergency admissions avoided a year and their cost, by IMD quintile (95% CI; "
                  "negative = admissions added). The quintile rows add up to the 'all' row.", digits=0)
""", None),
    ("md", """
## 7. Assumptions, checks and limitations

- **No unmeasured confounding of the change.** Difference-in-differences removes stable differences between
  planned people and controls. It assumes their admissions would have changed alike without the plans.
  Matching on the previous year's hospital use makes that more plausible, but plans often follow a spell of
  poor health. If that spell is not captured in the 12-month counts, part of the fall is regression to the mean.
- **Balance**: the Love plot and the table show the standardised differences after matching. Any covariate still
  above 0.1 is flagged there.
- **Uptake**: only planned people who could be matched are analysed. The effect is the effect on those
  people (the ATT), not on everyone eligible.
- **Small numbers**: the quintile estimates are imprecise, so read the gradient with its interval.
- The data are synthetic: the report shows how the methods work, not how well care and support planning works.
""", None),
    ("code", """
frame = fit.to_frame()
abs_row = frame[frame["scale"] == "absolute"].iloc[0]  # the difference per 1,000 person-years
rel_row = frame[frame["scale"] == "relative"].iloc[0]
ad, ad_lo, ad_hi = (float(abs_row[k]) for k in ("estimate", "ci_lower", "ci_upper"))
rr, rr_lo, rr_hi = (float(rel_row[k]) for k in ("estimate", "ci_lower", "ci_upper"))
effect_verdict = verdict(abs_row)
mde = report.minimum_detectable_effect(float(abs_row["std_error"]))
UNITS = "emergency admissions per 1,000 people a year"
worked = {"lower": f"**Yes.** Planned people had {abs(ad):.0f} fewer {UNITS} in the year after their plan than "
                   f"similar people without one (rate ratio {rr:.2f}, 95% CI {rr_lo:.2f} to {rr_hi:.2f}).",
          "higher": f"**No: admissions rose.** Planned people had {ad:.0f} more {UNITS} than similar people "
                    f"without a plan (rate ratio {rr:.2f}, 95% CI {rr_lo:.2f} to {rr_hi:.2f}).",
          "no evidence either way": f"**Not shown.** The estimate is {ad:+.0f} {UNITS} (rate ratio {rr:.2f}, "
                                    f"95% CI {rr_lo:.2f} to {rr_hi:.2f}); the interval includes no change.",
          "too few to tell": "**Too few people to tell.**"}[effect_verdict]
q_rows = q_table.set_index("imd_quintile")
q1, q5 = q_rows.iloc[0], q_rows.iloc[-1]
other = [report.quintile_label(q) for q, v in q_rows["verdict"].items() if v != "lower"]
het_p = float(by_q.test["p_value"])
for_whom = (
    (f"Fewer admissions are clear on their own in quintile{'s' if len(q_lower) > 1 else ''} "
     f"{', '.join(q_lower)}. " if q_lower else
     "No single quintile shows a clear change on its own. ")
    + (f"In quintile{'s' if len(other) > 1 else ''} {', '.join(other)} the interval includes no change; each "
       "quintile's analysis could only detect "
       f"{q_rows.loc[q_rows['verdict'] != 'lower', 'MDE'].min():.0f} to "
       f"{q_rows.loc[q_rows['verdict'] != 'lower', 'MDE'].max():.0f} per 1,000 people a year. " if other else "")
    + f"Most deprived: {q1['estimate']:+.0f} (95% CI {q1['ci_lower']:.0f} to {q1['ci_upper']:.0f}); least "
      f"deprived: {q5['estimate']:+.0f} ({q5['ci_lower']:.0f} to {q5['ci_upper']:.0f}). "
    + (f"A test of equal effects in all quintiles gives p = {het_p:.2f}: the data cannot say that the effect "
       "differs by deprivation." if het_p >= 0.05 else
       f"A test of equal effects in all quintiles gives p = {het_p:.2g}: the effect differs by deprivation."))
sii_before, sii_after = contr.loc["SII before", "estimate"], contr.loc["SII after", "estimate"]
chg, chg_lo, chg_hi = (float(sii_change[k]) for k in ("estimate", "ci_lower", "ci_upper"))
gap = {"lower": f"**Yes, narrowed.** Given who received plans, the slope index of inequality in emergency "
                f"admissions (the modelled gap between the most and least deprived ends; positive = worse for "
                f"the most deprived) went from {sii_before:.0f} to {sii_after:.0f} per 1,000 people a year, a "
                f"change of {chg:.1f} (95% CI {chg_lo:.1f} to {chg_hi:.1f}).",
       "higher": f"**No, widened.** The slope index of inequality went from {sii_before:.0f} to {sii_after:.0f} "
                 f"per 1,000 people a year, a change of {chg:+.1f} (95% CI {chg_lo:.1f} to {chg_hi:.1f}).",
       "no evidence either way": f"**The data cannot tell.** The change in the slope index of inequality is "
                                 f"{chg:+.1f} per 1,000 people a year (95% CI {chg_lo:.1f} to {chg_hi:.1f}).",
       "too few to tell": "**Too few people to tell.**"}[gap_verdict]
answer = {"lower": "Care and support planning reduced emergency admissions",
          "higher": "Care and support planning was followed by more emergency admissions",
          "no evidence either way": "These data cannot show whether care and support planning changed emergency "
                                    "admissions",
          "too few to tell": "Too few people to tell whether care and support planning changed admissions"}[
              effect_verdict]
gap_pct = abs(float(contr.loc["SII change (%)", "estimate"]))
answer += {"lower": f", and it narrowed the deprivation gap by {gap_pct:.0f}%.",
           "higher": f", and it widened the deprivation gap by {gap_pct:.0f}%.",
           "no evidence either way": "; whether it narrowed the gap cannot be told.",
           "too few to tell": "."}[gap_verdict]
robust = sens.evalue(fit)  # VanderWeele & Ding (2017), on the rate ratio's interval
report.bottom_line_box(
    f"**{answer}**",
    questions={
        "Did it work?": worked,
        "For whom?": for_whom,
        "Did the gap narrow?": gap,
        "Admissions and money": (f"At an assumed £{PLAN_COST:,.0f} per plan (illustrative; replace with the local "
                                 "cost):"),
        "How sure?": report.how_sure(abs_row, units="per 1,000 people a year", mde=mde),
        "What it supports": report.decision_words(
            effect_verdict, benefit="lower", action="keep funding care and support planning",
            mde_text=f"this analysis could detect a change of {mde:.0f} per 1,000 people a year"),
        "Could that be wrong?": (robust.sentence() + " Matching on what the records hold cannot rule such a "
                                 "factor out; the E-value says how strong it would have to be."),
        "Who was compared": f"{report.count(n_matched)} of {report.count(n_treated_all)} planned people, each "
                            f"matched to a similar person without a plan (largest remaining standardised "
                            f"difference {worst_smd:.2f}).",
    },
    consequences=cons,
    headline_numbers={"Change in emergency admissions per 1,000 people a year": (round(ad, 1), ad_lo, ad_hi),
                      "Emergency admissions avoided a year among the planned people evaluated":
                          tuple(round(float(cons.row("events_avoided_per_year")[k]), 0)
                                for k in ("estimate", "ci_lower", "ci_upper")),
                      f"Cost of admissions avoided a year (£, {unit_costs.label})":
                          tuple(round(float(cons.row("cost_of_events_avoided")[k]), -2)
                                for k in ("estimate", "ci_lower", "ci_upper")),
                      "Change in the deprivation gap (SII) per 1,000 a year": (round(chg, 1), chg_lo, chg_hi),
                      "Planned people matched": n_matched},
    truth=(f"Synthetic data, so the truth is known: the true effect is {truth['absolute']:.0f} per 1,000 "
           f"person-years (rate ratio {truth['relative']:.2f}), which the interval "
           f"{'covers' if ad_lo <= truth['absolute'] <= ad_hi else 'does not cover'}; the true gap verdict is "
           f"'{GAP_WORDS[true_gap_verdict]}'."),
)
""", ["summary"]),
    ("md", """
### Technical notes

Matching: `pceval.match` (MatchIt-compatible greedy nearest neighbour, logistic propensity score, caliper 0.2 SD
of the score, exact on IMD quintile, rolling entry by quarter, controls used once). Outcome model:
`pceval.did.did2x2` (Poisson pseudo-likelihood with log person-time offset and matching weights; CR1 standard
errors clustered on matched pairs). Effects by quintile: `pceval.did.effects_by`. Equity:
`pceval.inequality.equity_of_effect` (PHE SII on population ridits; 10,000 simulations). True effects:
`SyntheticData.true_effect` on the matched planned people.
""", ["appendix"]),
    ("code", """
report.show_table(bal_words[["covariate", "sample", "smd", "var_ratio", "ecdf_mean", "ecdf_max", "ks", "mean_treated",
                       "mean_control", "std_pair_dist", "balanced"]],
                  caption="Full balance table (MatchIt/cobalt definitions).", digits=3)
""", ["appendix"]),
    ("md", """
### Power: the smallest effect this design could detect

The minimum detectable effect (MDE) is the true effect the analysis would find (95% interval excluding no
change) with 80% probability: MDE = (1.96 + 0.84) x standard error (Bloom 1995). Below: power for the
overall effect at a few true effects, with the MDE in the last row, then the same for each quintile.
""", ["appendix"]),
    ("code", """
report.show_table(report.power_table(float(abs_row["std_error"]), effects=[10, 25, 50, 100]),
                  caption="Power of the overall analysis (emergency admissions per 1,000 person-years).", digits=2)
report.show_table(q_table[["imd_quintile", "std_error", "MDE"]].rename(
                      columns={"MDE": "minimum detectable effect (80% power)"}),
                  caption="Minimum detectable effect in each IMD quintile (per 1,000 person-years).", digits=1)
""", ["appendix"]),
    ("md", "### Data, software and warnings", ["appendix"]),
    ("code", """
report.show_provenance(data, period="each planned person's 12 months before and after their plan, "
                       f"plans made {start + pd.DateOffset(months=12):%B %Y} to {end - pd.DateOffset(months=12):%B %Y}",
                       unit_costs=unit_costs, activities=["emergency_admission"])
""", ["appendix"]),
]

if __name__ == "__main__":
    print(write("01_care_planning_and_the_gap", CELLS))
