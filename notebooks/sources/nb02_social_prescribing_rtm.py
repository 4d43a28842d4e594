"""Notebook 2: social prescribing and regression to the mean."""

from nbtools import LOVE_PLOT_WORDS, write

CELLS = [
    ("md", """
# Social prescribing and regression to the mean

**For commissioners deciding whether to keep funding social prescribing.** Did referral to a social
prescribing link worker reduce A&E attendances, for whom, and what does a before-and-after comparison get
wrong? The answer comes first; how it was worked out follows it.
""", None),
    ("code", """
import os
import warnings
from pathlib import Path

import narwhals as nw
import numpy as np
import pandas as pd
import statsmodels.api as sm
from plotnine import aes, geom_line, geom_vline, ggplot, labs, scale_colour_manual

from pceval import sensitivity as sens
from pceval import (Cohort, baseline_covariates, build_panel, candidate_index_periods, did, index_dates,
                    inequality, report, synthetic, verdict)
from pceval.costs import consequences, default_unit_costs
from pceval.matching import match
from pceval.plots import NHS_COLOURS, plot_estimates_with_truth, theme_nhs

# third-party deprecation notices are not findings; pceval's own warnings are shown in the appendix
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)
DATA = Path(os.environ.get("PCEVAL_DATA", "../synthetic_data"))
data = synthetic.load(DATA)
people, events, interventions = data.people, data.events, data.interventions
start, end = pd.Timestamp(data.data_start), pd.Timestamp(data.data_end)
# indicative NHS national averages in 2023/24 prices (NCC 2023/24; PSSRU 2024), cited in the report
unit_costs = default_unit_costs()
# ASSUMPTION (an input, not a finding): the cost of one social prescribing referral per person. pceval has
# no published figure to cite; replace it with the local cost. The report states it wherever it is used.
REFERRAL_COST = 100.0  # pounds per referred person, in the unit-cost table's price year
""", ["remove"]),
    ("md", """
## Why a before-and-after comparison misleads here

People are often referred to a social prescribing link worker *after* a crisis: a run of A&E visits, a
difficult few months. Crises pass. Their A&E use would have fallen anyway, which is *regression to the
mean*. A before-and-after comparison of referred people therefore shows a large "reduction" even if social
prescribing does nothing. This report shows how big that illusion is, and how a matched comparison group with
difference-in-differences removes it. In these synthetic data the true effect of social prescribing on A&E
attendances is **zero**.
""", None),
    ("md", "## 1. Cohort", None),
    ("code", """
ix = index_dates(people, interventions, which="social_prescribing")
ix["end_date"] = ix["registration_end"].fillna(end)
cohort = (Cohort(ix, unit="person_id", treatment="treated")
          .include("Adults (18+ at the data start)", nw.col("age") >= 18)
          .exclude("Referred in the first year (no baseline year)",
                   nw.col("index_date") < (start + pd.DateOffset(months=12)).to_pydatetime())
          .exclude("Referred in the last year (no follow-up year)",
                   nw.col("index_date") > (end - pd.DateOffset(months=12)).to_pydatetime()))
report.show_flow(cohort, caption="Cohort flow: people remaining after each step (referred and not referred)")
coh = cohort.to_pandas()
""", None),
    ("md", """
## 2. The naive answer: before and after, referred people only

A&E attendances in the 12 months before and the 12 months after referral, counting only the time people
were registered and alive.
""", None),
    ("code", """
treated_ix = coh.loc[coh["treated"], ["person_id", "index_date", "end_date", "registration_start"]]
panel_t = build_panel(events, treated_ix, before=12, after=12, kinds=["ae_attendance"],
                      start_date="registration_start", end_date="end_date")
panel_t["post"] = (panel_t["rel_period"] >= 0).astype(int)
pp_t = panel_t.groupby(["person_id", "post"], as_index=False).agg(ae=("ae_attendance", "sum"),
                                                                   months=("person_time", "sum"))
pp_t = pp_t[pp_t["months"] > 0]
naive_fit = sm.GLM(pp_t["ae"], sm.add_constant(pp_t["post"].to_numpy(float)), family=sm.families.Poisson(),
                   offset=np.log(pp_t["months"])).fit(cov_type="cluster", cov_kwds={"groups": pp_t["person_id"]})
naive_rr = float(np.exp(naive_fit.params.iloc[1]))
naive_lo, naive_hi = np.exp(naive_fit.conf_int().iloc[1]).to_numpy()
before_after = pp_t.groupby("post").agg(attendances=("ae", "sum"), months=("months", "sum")).reset_index()
before_after = before_after.assign(period=np.where(before_after["post"] == 1, "12 months after referral",
                                                   "12 months before referral"),
                                   person_years=lambda d: d["months"] / 12)
report.show_table(before_after[["period", "attendances", "person_years"]].assign(rate=0.0),
                  caption="A&E attendances of referred people before and after referral (rate per 1,000 person-years).",
                  counts=["attendances"], rates={"rate": ("attendances", "person_years", 1000)}, digits=0)
""", None),
    ("md", """
## 3. Matched comparison with difference-in-differences

For each month in which someone was referred, never-referred adults registered that month become candidate
controls, with characteristics measured as at that month. To keep the run short, the candidates are a random
10% sample of these person-months (fixed seed). Matching is 1:1 nearest neighbour on the propensity score
within 0.2 SD. The score includes A&E attendances in the **3 months** before the index month, the crisis that
prompts referral, as well as the 12-month counts, age, sex, conditions, frailty and deprivation.
""", None),
    ("code", """
cand = candidate_index_periods(coh, period="month", start_date="registration_start", end_date="end_date")
rng = np.random.default_rng(2019)
cand = cand[cand["treated"] | (rng.random(len(cand)) < 0.10)]
cand = baseline_covariates(cand, events, lookback=12)
# A&E attendances in the 3 calendar months before the index month (the recent crisis)
ae = events.loc[events["type"] == "ae_attendance", ["person_id", "date"]].dropna()
keys = cand[["person_id", "index_date"]].drop_duplicates()
j = ae.merge(keys, on="person_id")
back = (j["index_date"].dt.year * 12 + j["index_date"].dt.month) - (j["date"].dt.year * 12 + j["date"].dt.month)
recent = j[(back >= 1) & (back <= 3)].groupby(["person_id", "index_date"]).size().rename("recent_ae").reset_index()
cand = cand.merge(recent, on=["person_id", "index_date"], how="left").fillna({"recent_ae": 0})
covariates = ["age_at_index", "sex", "ltc_count", "frailty_index", "imd_quintile", "prior_ae_attendance",
              "prior_emergency_admission", "prior_gp_appointment", "recent_ae"]
m = match(cand, treatment="treated", covariates=covariates, caliper=0.2, period="index_period",
          unit="person_id", seed=1)
matched = m.matched_data()
n_referred = int(coh["treated"].sum())
n_matched = int(matched["treated"].sum())
bal = m.balance().to_frame()
worst_smd = float(bal.loc[bal["sample"] == "matched", "smd"].abs().max())
""" + LOVE_PLOT_WORDS + """report.show_figure(m.love_plot(labels=love_labels), alt=f"Love plot: after matching the largest standardised difference is "
                   f"{worst_smd:.2f}")
""", None),
    ("code", """
index_rows = matched[["person_id", "index_date", "end_date", "registration_start", "treated", "weights", "subclass",
                      "imd_quintile"]]
panel = build_panel(events, index_rows, before=12, after=12, kinds=["ae_attendance"],
                    start_date="registration_start", end_date="end_date")
panel = panel.merge(index_rows[["person_id", "treated", "weights", "subclass", "imd_quintile"]], on="person_id")
monthly = (panel.assign(w_ae=panel["ae_attendance"] * panel["weights"], w_pt=panel["person_time"] * panel["weights"])
           .groupby(["treated", "rel_period"], as_index=False)[["w_ae", "w_pt"]].sum())
monthly["rate"] = monthly["w_ae"] / monthly["w_pt"] * 12_000
monthly["group"] = np.where(monthly["treated"], "referred", "matched controls")
report.show_figure(
    ggplot(monthly, aes("rel_period", "rate", colour="group")) + geom_line(size=1)
    + geom_vline(xintercept=-0.5, colour=NHS_COLOURS["mid_grey"], linetype="dashed")
    + scale_colour_manual(values=[NHS_COLOURS["mid_grey"], NHS_COLOURS["blue"]])
    + labs(x="Months since the index month (referral, or the control's matched month)",
           y="A&E attendances per 1,000 person-years", colour="",
           title="The crisis before referral, and what follows it in both groups")
    + theme_nhs(), alt="Monthly A&E attendance rates: both referred people and their matched controls peak "
                       "just before the index month and fall back afterwards in the same way")
""", None),
    ("code", """
panel["post"] = (panel["rel_period"] >= 0).astype(int)
prepost = (panel.groupby(["person_id", "post"], as_index=False)
           .agg(ae=("ae_attendance", "sum"), months=("person_time", "sum"), treated=("treated", "first"),
                weights=("weights", "first"), subclass=("subclass", "first"),
                imd_quintile=("imd_quintile", "first")))
prepost = prepost[prepost["months"] > 0].assign(treated=lambda d: d["treated"].astype(int))
fit = did.did2x2(prepost, "ae", "treated", "person_id", "post", model="poisson", exposure="months",
                 exposure_unit="month", weights="weights", cluster="subclass")
res = fit.to_frame().set_index("scale")
truth = data.true_effect("social_prescribing", "ae_attendance", window=(0, 11),
                         persons=matched.loc[matched["treated"] == 1, "person_id"]).iloc[0]
comparison = pd.DataFrame([
    {"analysis": "Before-after, referred people only (biased)", "rate ratio": naive_rr, "ci_lower": naive_lo,
     "ci_upper": naive_hi},
    {"analysis": "Matched difference-in-differences", "rate ratio": res.loc["relative", "estimate"],
     "ci_lower": res.loc["relative", "ci_lower"], "ci_upper": res.loc["relative", "ci_upper"]},
]).assign(**{"true rate ratio": truth["relative"]})
report.show_table(comparison, caption="A&E attendances in the year after referral relative to what would have "
                  "happened without it: two analyses (95% CI) and the truth.", digits=2)
""", None),
    ("md", """
**Placebo index dates: regression to the mean, shown directly.** Move everyone's index 3 or 6 months earlier and
use only the months before the real referral. Nothing was done at the placebo index, so a sound comparison must
find no effect there, while the referred people's own before-and-after comparison "finds" the run-up to the crisis.
""", None),
    ("code", """
placebo = sens.placebo_index(panel, "ae_attendance", "treated", "person_id", shift=[3, 6], weights="weights",
                             cluster="subclass")
pl = placebo.to_frame()
pl_did = pl[(pl["scale"] == "relative") & pl["analysis"].str.startswith("DiD")]
pl_ba = pl[(pl["scale"] == "relative") & ~pl["analysis"].str.startswith("DiD")]
report.show_table(pl[pl["scale"] == "relative"][["analysis", "shift", "estimate", "ci_lower", "ci_upper"]]
                  .rename(columns={"shift": "months earlier", "estimate": "rate ratio"}),
                  caption="Placebo index dates (no intervention happened there): the matched DiD should find "
                          "nothing; the referred people's own before-after shows the crisis building up.", digits=2)
placebo_sentence = (f"At placebo index dates 3 and 6 months before referral the matched comparison finds rate ratios "
                    f"of {pl_did['estimate'].iloc[0]:.2f} and {pl_did['estimate'].iloc[-1]:.2f} (95% CIs "
                    f"{pl_did['ci_lower'].iloc[0]:.2f} to {pl_did['ci_upper'].iloc[0]:.2f} and "
                    f"{pl_did['ci_lower'].iloc[-1]:.2f} to {pl_did['ci_upper'].iloc[-1]:.2f}), where nothing was "
                    f"done.")
from IPython.display import Markdown, display

display(Markdown(placebo_sentence))
""", None),
    ("md", """
## 4. For whom, and the gap

The same matched analysis within each IMD quintile (1 = most deprived), and how referral changed the slope
index of inequality (SII) in A&E attendances given who was referred in each quintile.
""", None),
    ("code", """
by_q = did.effects_by(prepost, "imd_quintile", did.did2x2, outcome="ae", treatment="treated", post="post",
                      unit="person_id", model="poisson", exposure="months", exposure_unit="month",
                      weights="weights", cluster="subclass")
truth_q = data.true_effect("social_prescribing", "ae_attendance", window=(0, 11),
                           persons=matched.loc[matched["treated"] == 1, "person_id"], by="imd_quintile")
q_table = by_q.to_frame().query("row == 'subgroup'").rename(columns={"subgroup": "imd_quintile"}).merge(
    truth_q[["imd_quintile", "absolute"]].rename(columns={"absolute": "true effect"}), on="imd_quintile")
q_table["verdict"] = [verdict(r) for _, r in q_table.iterrows()]
q_table["MDE"] = [report.minimum_detectable_effect(se) for se in q_table["std_error"]]
report.show_table(q_table[["imd_quintile", "estimate", "ci_lower", "ci_upper", "true effect", "verdict", "MDE"]]
                  .rename(columns={"MDE": "smallest detectable (80% power)"}),
                  caption="Difference in A&E attendances per 1,000 person-years by IMD quintile (95% CI), the true "
                  "effect, the verdict read from the interval and the smallest effect each analysis could detect.",
                  digits=1)
q_clear = [report.quintile_label(q) for q, v in zip(q_table["imd_quintile"], q_table["verdict"], strict=True)
           if v != "no evidence either way"]
report.show_figure(
    plot_estimates_with_truth(q_table.assign(quintile=[report.quintile_label(q) for q in q_table["imd_quintile"]]),
                              x="quintile", truth="true effect", xlab="IMD quintile",
                              ylab="Change in A&E attendances\\nper 1,000 people a year",
                              title="Effect of social prescribing by deprivation"),
    alt=("Effect on A&E attendances by IMD quintile with 95% intervals and the true effect (zero): "
         + (f"the interval excludes zero in {', '.join(q_clear)}." if q_clear else
            "every quintile's interval includes zero.")))
base = (panel[panel["post"] == 0].groupby("imd_quintile")
        .agg(attendances=("ae_attendance", "sum"), months=("person_time", "sum")).reset_index())
pop = coh.groupby("imd_quintile").agg(population=("person_id", "size"), treated=("treated", "sum")).reset_index()
eq_in = q_table[["imd_quintile", "estimate", "std_error"]].merge(pop, on="imd_quintile").merge(base, on="imd_quintile")
eq_in["baseline"] = eq_in["attendances"] / eq_in["months"] * 12_000
eq_in["baseline_se"] = np.sqrt(eq_in["attendances"]) / eq_in["months"] * 12_000
equity = inequality.equity_of_effect(eq_in, estimate="estimate", std_error="std_error", uptake=None,
                                     n_treated="treated", population="population", baseline="baseline",
                                     baseline_se="baseline_se", outcome="A&E attendances",
                                     units="per 1,000 person-years", seed=1)
sii_change = equity.headline
gap_verdict = verdict(sii_change)
true_in = eq_in.drop(columns=["estimate", "std_error"]).merge(
    truth_q[["imd_quintile", "absolute"]].rename(columns={"absolute": "estimate"}), on="imd_quintile")
true_in["std_error"] = 1e-9
true_equity = inequality.equity_of_effect(true_in, uptake=None, n_treated="treated", population="population",
                                          baseline="baseline", outcome="A&E attendances", seed=1)
true_chg = float(true_equity.headline["estimate"])
contr = equity.contrasts.set_index("term")
shown_contr = equity.contrasts[~equity.contrasts["term"].str.startswith("heterogeneity")]
report.show_table(shown_contr[["term", "estimate", "ci_lower", "ci_upper"]],
                  caption="Equity of effect on A&E attendances per 1,000 person-years: the Q1-Q5 difference in "
                  "effects, the gradient and the change in the SII (95% CI).", digits=2)
""", None),
    ("md", """
## 5. What it means in A&E attendances and money

The matched effect turned into A&E attendances avoided a year among the referred people evaluated, and
their cost (`pceval.costs.consequences`, delta-method intervals from the effect's own uncertainty).
""", None),
    ("code", """
pop_rounded = int(round(n_matched / 5) * 5)  # people are counted after disclosure rounding
cons = consequences(fit, population=pop_rounded, activity="ae_attendance", unit_costs=unit_costs,
                    intervention_cost=REFERRAL_COST)
ct = cons.to_frame().dropna(subset=["estimate"])  # bed days: no cited length of stay
report.show_table(ct[["measure", "estimate", "ci_lower", "ci_upper", "unit"]],
                  caption=f"Consequences for the {pop_rounded:,} referred people evaluated (95% CI). "
                          f"{unit_costs.citation}",
                  note=f"The cost of a referral (£{REFERRAL_COST:,.0f} per person) is an illustrative assumption, "
                       "not a published figure. Population rounded to the nearest 5.", digits=1)
""", None),
    ("md", """
## 6. Limitations

- Matching can only balance what is recorded. Here the recent A&E visits capture the crisis that drives referral.
  In real data, referral may also follow crises that leave no trace in hospital records, such as a bereavement or
  a job loss, which this design cannot see.
- Sampling candidate controls adds a little randomness. A different seed gives slightly different matches, but
  the same conclusion.
- Social prescribing aims at wellbeing, not only at hospital use. A null effect on A&E attendances says nothing
  about those other outcomes.
- The data are synthetic: the report shows how the methods behave, not how well social prescribing works.
""", None),
    ("code", """
drop = (1 - naive_rr) * 100
frame = fit.to_frame()
abs_row = frame[frame["scale"] == "absolute"].iloc[0]
rel_row = frame[frame["scale"] == "relative"].iloc[0]
rr, lo, hi = (float(rel_row[k]) for k in ("estimate", "ci_lower", "ci_upper"))
ad = float(abs_row["estimate"])
effect_verdict = verdict(abs_row)
mde = report.minimum_detectable_effect(float(abs_row["std_error"]))
covers = lo <= truth["relative"] <= hi
het_p = float(by_q.test["p_value"])
worked = {"lower": f"**Yes.** Referred people had {abs(ad):.0f} fewer A&E attendances per 1,000 people a year "
                   f"than matched people who were not referred (rate ratio {rr:.2f}, 95% CI {lo:.2f} to {hi:.2f}).",
          "higher": f"**No: attendances rose.** Referred people had {ad:.0f} more A&E attendances per 1,000 people "
                    f"a year than matched people (rate ratio {rr:.2f}, 95% CI {lo:.2f} to {hi:.2f}).",
          "no evidence either way": f"**Not shown.** Against matched people who were not referred, the rate ratio "
                                    f"is {rr:.2f} (95% CI {lo:.2f} to {hi:.2f}): no evidence of a change in A&E "
                                    "attendances.",
          "too few to tell": "**Too few people to tell.**"}[effect_verdict]
answer = {"lower": "Social prescribing reduced A&E attendances",
          "higher": "Social prescribing was followed by more A&E attendances",
          "no evidence either way": "There is no evidence that social prescribing reduced A&E attendances",
          "too few to tell": "Too few people to tell whether social prescribing changed A&E attendances"}[
              effect_verdict]
answer += (f". The {drop:.0f}% fall a before-and-after comparison shows is regression to the mean: matched "
           "people who were not referred fell just as much.")
WORD = {"lower": "fewer", "higher": "more"}
q_clear_rows = q_table[q_table["verdict"].isin(["lower", "higher"])]
q_named = "; ".join(f"{WORD[r['verdict']]} attendances in quintile {report.quintile_label(r['imd_quintile'])} "
                    f"({r['estimate']:+.0f}, 95% CI {r['ci_lower']:.0f} to {r['ci_upper']:.0f})"
                    for _, r in q_clear_rows.iterrows())
for_whom = ((f"On its own, one analysis shows a clear change: {q_named}. " if len(q_clear_rows) == 1 else
             f"On their own, some quintiles show a clear change: {q_named}. " if len(q_clear_rows) else
             "No quintile shows a clear change on its own: every interval includes no change. ")
            + f"Each quintile could only detect {q_table['MDE'].min():.0f} to {q_table['MDE'].max():.0f} A&E "
              "attendances per 1,000 people a year. "
            + (f"A test of equal effects in all quintiles gives p = {het_p:.2f}: the data do not show that the "
               "effect differs by deprivation" + (" (with five quintiles, one clear result can arise by chance)."
                                                  if len(q_clear_rows) else ".")
               if het_p >= 0.05 else
               f"A test of equal effects in all quintiles gives p = {het_p:.2g}: the effect differs by deprivation."))
chg, chg_lo, chg_hi = (float(sii_change[k]) for k in ("estimate", "ci_lower", "ci_upper"))
gap = {"lower": f"**Narrowed**: the slope index of inequality in A&E attendances changed by {chg:+.1f} per 1,000 "
                f"people a year (95% CI {chg_lo:.1f} to {chg_hi:.1f}).",
       "higher": f"**Widened**: the slope index of inequality in A&E attendances changed by {chg:+.1f} per 1,000 "
                 f"people a year (95% CI {chg_lo:.1f} to {chg_hi:.1f}).",
       "no evidence either way": f"**The data cannot tell.** The change in the slope index of inequality in A&E "
                                 f"attendances is {chg:+.1f} per 1,000 people a year (95% CI {chg_lo:.1f} to "
                                 f"{chg_hi:.1f}).",
       "too few to tell": "**Too few people to tell.**"}[gap_verdict]
robust = sens.evalue(fit)  # VanderWeele & Ding (2017), on the rate ratio's interval
report.bottom_line_box(
    f"**{answer}**",
    questions={
        "Did it work?": worked,
        "For whom?": for_whom,
        "Did the gap narrow?": gap,
        "A&E attendances and money": (f"At an assumed £{REFERRAL_COST:,.0f} per referral (illustrative; replace "
                                      "with the local cost):"),
        "How sure?": report.how_sure(abs_row, units="A&E attendances per 1,000 people a year", mde=mde),
        "What it supports": report.decision_words(
            effect_verdict, benefit="lower", action="fund social prescribing to reduce A&E attendances",
            mde_text=f"this analysis could detect a change of {mde:.0f} per 1,000 people a year")
        + " Social prescribing aims at wellbeing too; this report says nothing about that.",
        "Why not before-and-after?": f"Comparing referred people with themselves shows a {drop:.0f}% fall (rate "
                                     f"ratio {naive_rr:.2f}, 95% CI {naive_lo:.2f} to {naive_hi:.2f}). People are "
                                     "referred after a spell of heavy A&E use, and such spells pass. Never judge an "
                                     "intervention that follows a crisis by before-and-after comparisons alone.",
        "Could that be wrong?": robust.sentence() + " " + placebo_sentence,
        "Who was compared": f"{report.count(n_matched)} of {report.count(n_referred)} referred people, each matched "
                            f"to a similar person who was not referred (largest remaining standardised difference "
                            f"{worst_smd:.2f}).",
    },
    consequences=cons, consequences_key="A&E attendances and money",
    headline_numbers={"Matched rate ratio (1 = no change)": (round(rr, 2), lo, hi),
                      "Change in A&E attendances per 1,000 people a year":
                          (round(ad, 1), float(abs_row["ci_lower"]), float(abs_row["ci_upper"])),
                      f"Cost of A&E attendances avoided a year (£, {unit_costs.label})":
                          tuple(round(float(cons.row("cost_of_events_avoided")[k]), -2)
                                for k in ("estimate", "ci_lower", "ci_upper")),
                      "Referred people matched": n_matched},
    truth=(f"Synthetic data, so the truth is known: the true rate ratio is {truth['relative']:.2f}, which the "
           f"interval {'covers' if covers else 'does not cover'}; the true change in the SII is {true_chg:+.1f}, "
           f"which its interval {'covers' if chg_lo <= true_chg <= chg_hi else 'does not cover'}. The before-after "
           f"'reduction' of {drop:.0f}% is biased (a teaching contrast, not a result)."),
)
""", ["summary"]),
    ("md", """
### Technical notes

Rolling-entry candidates by month (`pceval.candidate_index_periods`), with baseline covariates as at the index
month (`pceval.baseline_covariates`, 12-month lookback) and a 3-month A&E count computed in the notebook. Matching:
`pceval.match` (1:1 greedy nearest neighbour, logistic score, caliper 0.2 SD, controls used once). Outcome:
`pceval.did.did2x2` (Poisson with log person-time offset, CR1 standard errors clustered on matched pairs). The
naive before-after model is a Poisson regression on referred people only, clustered by person.
""", ["appendix"]),
    ("code", """
report.show_table(bal_words[["covariate", "sample", "smd", "var_ratio", "ecdf_mean", "ecdf_max", "ks", "mean_treated",
                       "mean_control", "std_pair_dist", "balanced"]],
                  caption="Balance before and after matching.", digits=3)
""", ["appendix"]),
    ("md", """
### Power: the smallest effect this design could detect

The minimum detectable effect (MDE) is the true effect the analysis would find (95% interval excluding no
change) with 80% probability: MDE = (1.96 + 0.84) x standard error (Bloom 1995).
""", ["appendix"]),
    ("code", """
report.show_table(report.power_table(float(abs_row["std_error"]), effects=[25, 50, 100, 200]),
                  caption="Power of the matched analysis (A&E attendances per 1,000 person-years).", digits=2)
""", ["appendix"]),
    ("md", "### Data, software and warnings", ["appendix"]),
    ("code", """
report.show_provenance(data, period="each referred person's 12 months before and after referral",
                       unit_costs=unit_costs, activities=["ae_attendance"])
""", ["appendix"]),
]

if __name__ == "__main__":
    print(write("02_social_prescribing_and_regression_to_the_mean", CELLS))
