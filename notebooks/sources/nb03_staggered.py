"""Notebook 3: staggered roll-out of personalised care and support planning (TWFE vs Callaway-Sant'Anna)."""

from nbtools import write

CELLS = [
    ("md", """
# Staggered roll-out: did care and support planning reduce emergency admissions?

**The question.** Primary care networks (PCNs) started offering personalised care and support planning
(PCSP) in different months, and within a live PCN people received it at different times. Did receiving a
care and support plan reduce emergency admissions, and how did the effect develop over the quarters that
followed?

**Why this needs care.** When people start treatment at different times, the familiar two-way fixed-effects
(TWFE) regression compares later-treated people with people treated earlier. If the effect changes with
time since treatment, those comparisons subtract part of the effect and can bias the answer, even flip its sign
(Goodman-Bacon 2021). The Callaway & Sant'Anna (2021) estimator compares each group only with people
not yet treated, then averages those clean comparisons. This report does both and checks them against the
true effect, which is known because the data are synthetic.
""", None),
    ("code", """
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import narwhals as nw
from plotnine import aes, geom_line, geom_point, labs

from pceval import Cohort, did, report, synthetic
from pceval.panel import calendar_panel
from pceval.plots import NHS_COLOURS, theme_nhs

warnings.simplefilter("ignore")
DATA = Path(os.environ.get("PCEVAL_DATA", "../synthetic_data"))
data = synthetic.load(DATA)
people, events, interventions = data.people, data.events, data.interventions
""", ["remove"]),
    ("md", """
## 1. Design

- **Who**: adults (18+) with at least one long-term condition, registered in the synthetic ICB: the people
  care and support planning is for.
- **Treatment**: the first care and support plan (the index date); the *group* of a person is the calendar
  quarter of their plan.
- **Outcome**: emergency admissions per person per quarter, counted while registered and alive.
- **Comparison**: for each group and quarter, people in the cohort who had *not yet* received a plan by then
  (the main analysis), or who never received one (a sensitivity analysis).
- **Assumptions**: without the plans, admissions of people planned in different quarters would have moved in
  parallel (checked with the pre-treatment quarters); no effect before the plan (no anticipation).
""", None),
    ("code", """
pcsp = (interventions.query("intervention == 'pcsp'")[["person_id", "date"]]
        .rename(columns={"date": "pcsp_date"}))
ppl = people.merge(pcsp, on="person_id", how="left").assign(treated=lambda d: d["pcsp_date"].notna())
cohort = (Cohort(ppl, unit="person_id", treated="treated")
          .include("Adults (18+ at the data start)", nw.col("age") >= 18)
          .include("At least one long-term condition", nw.col("ltc_count") >= 1))
report.show_figure(cohort.flow_plot(), alt="Cohort flow diagram")
coh = cohort.to_pandas()
""", None),
    ("code", """
panel = calendar_panel(events, coh, start=data.data_start, end=data.data_end, end_date="registration_end",
                       first_treated="pcsp_date", period="quarter", kinds=["emergency_admission"])
# number periods 1, 2, ... and groups by the quarter of the plan (0 = no plan in the data)
quarter_index = panel.drop_duplicates("calendar_period").set_index("calendar_period")["period_index"] + 1
panel["quarter"] = panel["period_index"] + 1
panel["group"] = panel["first_treated"].map(quarter_index).fillna(0).astype(int)
n_planned = int(panel.loc[panel["group"] > 0, "person_id"].nunique())
n_never = int(panel.loc[panel["group"] == 0, "person_id"].nunique())
by_group = (panel.drop_duplicates("person_id").query("group > 0").groupby("group").size()
            .rename("people").reset_index())
label_of = {v: f"{k // 10} Q{k % 10}" for k, v in quarter_index.items()}
report.show_table(by_group.assign(quarter=lambda d: d["group"].map(label_of))[["quarter", "people"]],
                  caption="People by the quarter of their first care and support plan.",
                  counts=["people"])
""", None),
    ("md", """
## 2. Callaway & Sant'Anna: effects by time since the plan

Each person planned in quarter *g* is compared with cohort members not yet planned, from the quarter before
*g* to each later quarter. These group-time effects are averaged by the number of quarters since the plan
(an *event study*). People who died or left part-way contribute to the comparisons of the quarters they were
present for (`unbalanced="pairwise"`). The thick bars are 95% confidence intervals; the thin bars are a 95%
uniform band, which covers all the quarters together.
""", None),
    ("code", """
cs = did.att_gt(panel, outcome="emergency_admission", unit="person_id", time="quarter", group="group",
                control_group="not_yet_treated", unbalanced="pairwise", n_boot=999, seed=2019)
dyn = cs.aggregate("dynamic", min_e=-8, max_e=8)
simple = cs.aggregate("simple")
report.show_figure(dyn.plot(), alt="Event study of emergency admissions around the care and support plan")
""", None),
    ("md", """
## 3. The true effect, and what each method says

The synthetic data record every treated person's expected admissions with and without the plan. The true
effect for a quarter since the plan is the average of that difference over the people planned, weighted the
same way as the estimate.
""", None),
    ("code", """
ex = data.expected.query("intervention == 'pcsp'")
ex = ex.assign(effect=ex["treated_emergency_admission"] - ex["untreated_emergency_admission"],
               quarter=(ex["month"].dt.year - data.data_start.year) * 4 + (ex["month"].dt.month - 1) // 3 + 1)
group_of = panel.drop_duplicates("person_id").set_index("person_id")["group"]
cells = ex.groupby(["person_id", "quarter"])["effect"].sum().reset_index()
cells["group"] = cells["person_id"].map(group_of)
cells = cells.dropna(subset=["group"]).query("group > 0")
gt = cells.groupby(["group", "quarter"])["effect"].mean().reset_index()
gt["event_time"] = (gt["quarter"] - gt["group"]).astype(int)
gt["w"] = gt["group"].map(group_of[group_of > 0].value_counts())
true_dyn = gt.groupby("event_time").apply(lambda x: np.average(x["effect"], weights=x["w"]),
                                          include_groups=False).rename("truth")
gt_truth = gt.set_index(["group", "quarter"])["effect"]


def true_simple_for(result):
    # the true value of result.aggregate('simple'): the same post-treatment cells, same weights
    cells_used = result.to_frame().query("post")
    eff = gt_truth.reindex(list(zip(cells_used["group"], cells_used["time"], strict=True))).fillna(0.0).to_numpy()
    w = cells_used["group"].map(group_of[group_of > 0].value_counts()).to_numpy()
    return float(np.average(eff, weights=w))


true_simple = true_simple_for(cs)

twfe = did.twfe(panel, "emergency_admission", "person_id", "quarter", group="group")
tw = twfe.to_frame().iloc[0]
es = did.event_study(panel, "emergency_admission", "person_id", "quarter", "group", leads=8, lags=8)

compare = dyn.to_frame().query("event_time >= 0")[["event_time", "estimate", "ci_lower", "ci_upper"]]
compare["truth"] = compare["event_time"].map(true_dyn)
compare["TWFE event study"] = compare["event_time"].map(es.to_frame().set_index("event_time")["estimate"])
compare["covered"] = (compare["ci_lower"] <= compare["truth"]) & (compare["truth"] <= compare["ci_upper"])
per_1000 = 4000  # per person-quarter -> per 1,000 person-years
shown = compare.assign(**{c: compare[c] * per_1000 for c in ["estimate", "ci_lower", "ci_upper", "truth",
                                                             "TWFE event study"]})
report.show_table(shown.rename(columns={"event_time": "quarters since plan", "estimate": "Callaway-Sant'Anna"}),
                  caption="Effect on emergency admissions per 1,000 person-years, by quarters since the plan: "
                          "the Callaway-Sant'Anna estimate with its 95% CI, the true effect, and the TWFE event study.",
                  digits=1)
""", None),
    ("code", """
long = pd.concat([
    compare.assign(method="Callaway-Sant'Anna", value=compare["estimate"] * per_1000),
    compare.assign(method="TWFE event study", value=compare["TWFE event study"] * per_1000),
    compare.assign(method="True effect", value=compare["truth"] * per_1000),
])
from plotnine import ggplot, scale_colour_manual
report.show_figure(
    ggplot(long, aes("event_time", "value", colour="method")) + geom_line(size=1) + geom_point(size=2)
    + scale_colour_manual(values=[NHS_COLOURS["blue"], NHS_COLOURS["dark_grey"], NHS_COLOURS["orange"]])
    + labs(x="Quarters since the care and support plan", y="Change in admissions per 1,000 person-years",
           colour="", title="Estimates against the true effect")
    + theme_nhs(),
    alt="Estimated and true effects by quarter since the plan")
""", None),
    ("md", """
## 4. What TWFE gets wrong, and when

TWFE's single number is a weighted average of every two-group, two-period comparison in the data. The
Goodman-Bacon decomposition shows the weights. "Later vs earlier treated" comparisons use people
*already planned* as controls: if the effect is still growing, they subtract part of it. The decomposition
needs a balanced panel, so it uses people present throughout.
""", None),
    ("code", """
present = panel.groupby("person_id")["quarter"].transform("size") == panel["quarter"].nunique()
bacon = did.bacon_decomposition(panel[present], "emergency_admission", "person_id", "quarter", "group")
bt = bacon.by_type.assign(estimate=lambda d: d["estimate"] * per_1000)
report.show_table(bt[["type", "comparisons", "weight", "estimate"]],
                  caption="Goodman-Bacon decomposition of the TWFE estimate (people present in every quarter): "
                          "share of the weight and average effect per 1,000 person-years by comparison type.",
                  digits=3)
forbidden_weight = float(bacon.by_type.set_index("type")["weight"].get("Later vs earlier treated", 0.0))
""", None),
    ("md", """
Here most comparisons are with people never planned, so TWFE leans little on the "forbidden" comparisons and
lands near the truth. Many evaluations have no never-treated group, for example when everyone eligible is
eventually offered the service. The controlled example below uses simulated data in which every unit is
treated eventually, in one of three waves, and the effect grows by a fixed amount each period after
treatment. TWFE then misses badly, while Callaway & Sant'Anna recovers the truth.
""", None),
    ("code", """
rng = np.random.default_rng(2019)
n_sim, T_sim = 3000, 12
wave = rng.choice([4, 7, 10], n_sim)
sim = pd.DataFrame({"unit": np.repeat(np.arange(n_sim), T_sim), "t": np.tile(np.arange(1, T_sim + 1), n_sim)})
sim["g"] = wave[sim["unit"]]
since = sim["t"] - sim["g"]
sim["true_effect"] = np.where(since >= 0, -0.3 * (since + 1), 0.0)
sim["y"] = rng.normal(0, 1, n_sim)[sim["unit"]] + 0.2 * sim["t"] + sim["true_effect"] + rng.normal(0, 0.5, len(sim))
sim = sim[sim["t"] < 10]  # after the last wave starts there is nobody left to compare with
cs_sim = did.att_gt(sim, outcome="y", unit="unit", time="t", group="g", control_group="not_yet_treated", n_boot=0)
cs_s = cs_sim.aggregate("simple").overall
post_cells = cs_sim.to_frame().query("post")
cell_truth = sim.groupby(["g", "t"])["true_effect"].mean()
w_cells = post_cells["group"].map(pd.Series(wave).value_counts())
truth_sim = float(np.average(cell_truth.reindex(list(zip(post_cells["group"], post_cells["time"], strict=True))),
                             weights=w_cells))
tw_s = did.twfe(sim, "y", "unit", "t", group="g").to_frame().iloc[0]
bacon_s = did.bacon_decomposition(sim, "y", "unit", "t", "g")
forbidden_s = float(bacon_s.by_type.set_index("type").loc["Later vs earlier treated", "weight"])
sim_table = pd.DataFrame([
    {"method": "Callaway-Sant'Anna (not yet treated)", **{k: cs_s[k] for k in ("estimate", "ci_lower", "ci_upper")}},
    {"method": "TWFE", **{k: tw_s[k] for k in ("estimate", "ci_lower", "ci_upper")}},
]).assign(**{"true effect": truth_sim})
report.show_table(sim_table, caption=f"Controlled example (simulated): average effect after treatment. "
                  f"{forbidden_s:.0%} of TWFE's weight is on comparisons with units already treated.", digits=2)
report.show_figure(bacon_s.plot(), alt="Goodman-Bacon decomposition of the simulated TWFE estimate")
""", None),
    ("code", """
pre = cs.pretest
never = did.att_gt(panel, outcome="emergency_admission", unit="person_id", time="quarter", group="group",
                   control_group="never_treated", unbalanced="pairwise", n_boot=0).aggregate("simple")
rows = [
    ("Callaway-Sant'Anna, not-yet-planned comparison (main)", simple.overall),
    ("Callaway-Sant'Anna, never-planned comparison", never.overall),
    ("Two-way fixed effects (TWFE)", tw.to_dict()),
]
summary_table = pd.DataFrame([{
    "method": name, "estimate": r["estimate"] * per_1000, "ci_lower": r["ci_lower"] * per_1000,
    "ci_upper": r["ci_upper"] * per_1000} for name, r in rows])
summary_table["true effect"] = true_simple * per_1000
report.show_table(summary_table, caption="Average effect after the plan on emergency admissions per 1,000 "
                  "person-years (95% CI) by method, and the true effect.", digits=1)
""", None),
    ("md", """
## 5. Limitations

- People choose, and are chosen, for care and support planning. The not-yet-planned comparison makes
  the groups alike, because everyone in it is eventually planned, but it cannot rule out that the timing
  of a plan follows a change in health. The flat pre-treatment quarters are reassuring but do not prove
  this.
- Plans tend to follow a spell of poor health, so admissions before a plan are not flat (see the
  pre-treatment quarters). People about to be planned are therefore poor comparisons for people already
  planned. Restricting the analysis to planned people, with not-yet-planned comparisons, gives an estimate
  about twice the true effect. The main analysis relies on the large never-planned group.
- Standard errors treat people as independent. Clustering by PCN (`cluster="pcn_id"`) would allow for
  practice-level shocks, but with only 20 PCNs those intervals are themselves uncertain.
- Quarters cut short by death or leaving count fewer admissions. These partial quarters are few and affect
  both groups alike.
- The data are synthetic: they show how the methods behave, not how well care and support planning
  works.
""", None),
    ("code", """
cs_est, cs_lo, cs_hi = (simple.overall[k] * per_1000 for k in ("estimate", "ci_lower", "ci_upper"))
tw_est = tw["estimate"] * per_1000
truth_1000 = true_simple * per_1000
covered = cs_lo <= truth_1000 <= cs_hi
direction = "fewer" if cs_est < 0 else "more"
full_after = int(compare.loc[compare["truth"] <= 0.9 * compare["truth"].min(), "event_time"].min())
pre_dyn = dyn.to_frame().query("event_time < 0")
pre_cover = float(((pre_dyn["band_lower"] <= 0) & (0 <= pre_dyn["band_upper"])).mean())
if pre["p_value"] >= 0.05:
    pretrend_sentence = (f"Before their plans, planned and not-yet-planned people moved in parallel (joint "
                         f"pre-trend test p = {pre['p_value']:.2f}).")
else:
    pretrend_sentence = (f"The joint test over all {pre['df']} pre-treatment comparisons rejects exactly parallel "
                         f"trends (p = {pre['p_value']:.3f}). Averaged by quarters before the plan, "
                         f"{pre_cover:.0%} of the pre-treatment estimates are consistent with zero (uniform band). "
                         "Read the estimate with this caution.")
report.summary_box(
    f\"\"\"
**Care and support planning was followed by {abs(cs_est):.0f} {direction} emergency admissions per 1,000 person-years**
(95% CI {cs_lo:.0f} to {cs_hi:.0f}). This estimate uses the Callaway & Sant'Anna staggered-adoption method and
compares {report.count(n_planned)} people who received a plan with people not yet planned.

- The true effect in these synthetic data is {truth_1000:.0f} per 1,000 person-years, which the interval
  {'covers' if covered else 'does not cover'}.
- {pretrend_sentence}
- The true effect reached its full size {full_after} quarters after the plan. Two-way fixed effects (TWFE)
  gives {tw_est:.0f} here, because only {forbidden_weight:.0%} of its weight rests on comparisons with people
  already planned. When every unit is eventually treated and effects grow, TWFE can be far off. In the
  controlled example it gives {tw_s['estimate']:.2f} against a true {truth_sim:.2f}, while
  Callaway-Sant'Anna gives {cs_s['estimate']:.2f}.
\"\"\",
    headline_numbers={"Change in admissions per 1,000 person-years": round(cs_est, 1),
                      "True effect": round(truth_1000, 1), "TWFE estimate": round(tw_est, 1)},
)
""", ["summary"]),
    ("md", """
### Technical notes

Estimator: `pceval.did.att_gt` (doubly robust, not-yet-treated comparison, varying base period, no
anticipation, units observed in both periods of each comparison). It reproduces R `did` 2.5 to 1e-6 (see
`docs/did.md`). Analytic influence-function standard errors; the uniform band comes from 999 multiplier-bootstrap
draws. TWFE: `pceval.did.twfe` and `event_study` (leads and lags binned at ±8 quarters, reference quarter −1),
with CR1 standard errors clustered by person.
""", ["appendix"]),
    ("code", """
report.show_table(cs.to_frame().query("event_time >= -4 and event_time <= 8")
                  [["group", "time", "estimate", "std_error", "n_treated", "n_comparison"]].head(40),
                  caption="A sample of the group-time effects (per person-quarter) with the numbers of people used.",
                  counts=["n_treated", "n_comparison"], digits=4)
""", ["appendix"]),
]

if __name__ == "__main__":
    print(write("03_staggered_rollout", CELLS))
