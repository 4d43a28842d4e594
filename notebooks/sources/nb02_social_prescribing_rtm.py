"""Notebook 2: social prescribing and regression to the mean."""

from nbtools import write

CELLS = [
    ("md", """
# Social prescribing and regression to the mean

**The question.** Did social prescribing reduce A&E attendances?

**Why this is a trap.** People are often referred to a social prescribing link worker *after* a crisis: a run of
A&E visits, a difficult few months. Crises pass. Their A&E use would have fallen anyway, which is *regression to
the mean*. A before-and-after comparison of referred people therefore shows a large "reduction" even if social
prescribing does nothing. This report shows how big that illusion is, and how a matched comparison group with
difference-in-differences removes it. In these synthetic data the true effect of social prescribing on A&E
attendances is **zero**.
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

from pceval import (Cohort, baseline_covariates, build_panel, candidate_index_periods, did, index_dates, report,
                    synthetic)
from pceval.matching import match
from pceval.plots import NHS_COLOURS, theme_nhs

warnings.simplefilter("ignore")
DATA = Path(os.environ.get("PCEVAL_DATA", "../synthetic_data"))
data = synthetic.load(DATA)
people, events, interventions = data.people, data.events, data.interventions
start, end = pd.Timestamp(data.data_start), pd.Timestamp(data.data_end)
""", ["remove"]),
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
report.show_figure(cohort.flow_plot(), alt="Cohort flow diagram")
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
report.show_figure(m.love_plot(), alt="Love plot before and after matching")
""", None),
    ("code", """
index_rows = matched[["person_id", "index_date", "end_date", "registration_start", "treated", "weights", "subclass"]]
panel = build_panel(events, index_rows, before=12, after=12, kinds=["ae_attendance"],
                    start_date="registration_start", end_date="end_date")
panel = panel.merge(index_rows[["person_id", "treated", "weights", "subclass"]], on="person_id")
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
    + theme_nhs(), alt="Monthly A&E attendance rates around the index month")
""", None),
    ("code", """
panel["post"] = (panel["rel_period"] >= 0).astype(int)
prepost = (panel.groupby(["person_id", "post"], as_index=False)
           .agg(ae=("ae_attendance", "sum"), months=("person_time", "sum"), treated=("treated", "first"),
                weights=("weights", "first"), subclass=("subclass", "first")))
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
## 4. Limitations

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
rr, lo, hi = (res.loc["relative", k] for k in ("estimate", "ci_lower", "ci_upper"))
covers = lo <= truth["relative"] <= hi
evidence = ("no evidence of an effect" if lo <= 1 <= hi else
            "evidence of fewer attendances" if hi < 1 else "evidence of more attendances")
report.summary_box(
    f\"\"\"
**A before-and-after comparison would credit social prescribing with cutting A&E attendances by {drop:.0f}%**
(rate ratio {naive_rr:.2f}, 95% CI {naive_lo:.2f} to {naive_hi:.2f}). **That fall is regression to the mean.**
People are referred after a spell of heavy A&E use, and such spells pass. Matched people with the same recent
A&E use, who were not referred, saw their attendances fall in the same way.

- Matched difference-in-differences: rate ratio **{rr:.2f}** (95% CI {lo:.2f} to {hi:.2f}): {evidence}. The true rate ratio in these synthetic data is {truth['relative']:.2f}, which the interval
  {'covers' if covers else 'does not cover'}.
- {report.count(n_matched)} of {report.count(n_referred)} referred people were matched. The largest remaining
  standardised difference is {worst_smd:.2f}.
- Lesson for evaluators: never judge an intervention that follows a crisis by before-and-after comparisons alone.
\"\"\",
    headline_numbers={"Before-after 'reduction' (%)": round(drop, 0), "Matched DiD rate ratio": round(rr, 2),
                      "True rate ratio": round(float(truth["relative"]), 2)},
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
report.show_table(bal[["covariate", "sample", "smd", "var_ratio", "ecdf_mean", "ecdf_max", "ks", "mean_treated",
                       "mean_control", "std_pair_dist", "balanced"]],
                  caption="Balance before and after matching.", digits=3)
""", ["appendix"]),
]

if __name__ == "__main__":
    print(write("02_social_prescribing_and_regression_to_the_mean", CELLS))
