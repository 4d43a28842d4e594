"""Notebook 3: staggered roll-out of personalised care and support planning (TWFE vs Callaway-Sant'Anna)."""

from nbtools import write

CELLS = [
    ("md", """
# Staggered roll-out: did offering care and support planning reduce emergency admissions?

**For commissioners deciding whether to keep offering personalised care and support planning (PCSP)
across the ICB.** Primary care networks (PCNs) went live in different quarters. Did going live reduce
emergency admissions among the people the service is for, for whom, and how did the effect develop? The
answer comes first; how it was worked out follows it.
""", None),
    ("code", """
import os
import warnings
from pathlib import Path

import importlib.util
import inspect

import narwhals as nw
import numpy as np
import pandas as pd
from plotnine import (aes, element_blank, geom_hline, geom_line, geom_linerange, geom_point, geom_pointrange,
                      ggplot, labs, position_dodge, scale_colour_manual, scale_shape_manual, theme)

from pceval import Cohort, did, report, synthetic, verdict
from pceval import sensitivity as sens
from pceval.costs import consequences, default_unit_costs
from pceval.panel import calendar_panel
from pceval.plots import NHS_COLOURS, theme_nhs

# third-party deprecation notices are not findings; pceval's own warnings are shown in the appendix
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)
VALIDATION = Path("..") / "validation"
SUMMARY_CSV = VALIDATION / "results" / "summary.csv"
_spec = importlib.util.spec_from_file_location("monte_carlo", VALIDATION / "monte_carlo.py")
monte_carlo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(monte_carlo)
mc_people = inspect.signature(monte_carlo.one_rep).parameters["n_people"].default  # size of each simulated ICB
DATA = Path(os.environ.get("PCEVAL_DATA", "../synthetic_data"))
data = synthetic.load(DATA)
people, events, interventions = data.people, data.events, data.interventions
# indicative NHS national averages in 2023/24 prices (NCC 2023/24; PSSRU 2024), cited in the report
unit_costs = default_unit_costs()
# ASSUMPTION (an input, not a finding): what offering care and support planning costs per eligible person a
# year. pceval has no published figure to cite; replace it with the local cost.
OFFER_COST = 20.0  # pounds per eligible person a year, in the unit-cost table's price year
""", ["remove"]),
    ("md", """
## Why this needs care

When people start treatment at different times, the familiar two-way fixed-effects (TWFE) regression
compares later-treated people with people treated earlier. If the effect changes with time since treatment,
those comparisons subtract part of the effect and can bias the answer, even flip its sign (Goodman-Bacon
2021). The Callaway & Sant'Anna (2021) estimator compares each group only with people not yet treated, then
averages those clean comparisons. This report does both and checks them against the true effect, which is
known because the data are synthetic.

The roll-out is the design because the *timing of going live* was set by the PCNs, not by patients' health.
The timing of an individual's own plan is not like that: plans follow spells of poor health. Section 5 shows
how far that misleads.

## 1. Design

- **Who**: adults (18+) with at least one long-term condition, registered in the synthetic ICB: the people
  care and support planning is for.
- **Treatment**: their PCN going live with care and support planning. The *group* of a person is the
  calendar quarter in which their PCN went live; people in PCNs that had not gone live by the end of the
  data are never treated. Everyone eligible counts, planned or not, so the effect is the average effect of
  the roll-out on the eligible population (an *intention-to-treat* effect). It is smaller than the effect
  on a person who receives a plan, because only some people receive one.
- **Outcome**: emergency admissions per person per quarter, counted while registered and alive.
- **Comparison**: for each group and quarter, people in PCNs that had *not yet* gone live (the main
  analysis), or that never went live (a sensitivity analysis).
- **Assumptions**: without the roll-out, admissions in PCNs going live at different times would have moved
  in parallel (checked with the pre-treatment quarters); no effect before going live.
""", None),
    ("code", """
go_live = data.rollout.query("intervention == 'pcsp'").set_index("pcn_id")["go_live"]
pcsp = (interventions.query("intervention == 'pcsp'").groupby("person_id")["date"].min()
        .rename("pcsp_date").reset_index())
ppl = (people.assign(go_live=people["pcn_id"].map(go_live))
       .merge(pcsp, on="person_id", how="left").assign(treated=lambda d: d["go_live"].notna()))
cohort = (Cohort(ppl, unit="person_id", treatment="treated")
          .include("Adults (18+ at the data start)", nw.col("age") >= 18)
          .include("At least one long-term condition", nw.col("ltc_count") >= 1))
report.show_flow(cohort, caption="Cohort flow: people remaining after each step")
coh = cohort.to_pandas()
""", None),
    ("code", """
panel = calendar_panel(events, coh, start=data.data_start, end=data.data_end, end_date="registration_end",
                       first_treated="go_live", period="quarter", kinds=["emergency_admission"])
# number periods 1, 2, ... and groups by the quarter the PCN went live (0 = not live within the data)
quarter_index = panel.drop_duplicates("calendar_period").set_index("calendar_period")["period_index"] + 1
panel["quarter"] = panel["period_index"] + 1
panel["group"] = panel["first_treated"].map(quarter_index).fillna(0).astype(int)
n_live = int(panel.loc[panel["group"] > 0, "person_id"].nunique())
n_never = int(panel.loc[panel["group"] == 0, "person_id"].nunique())
n_pcns_live = int(go_live.notna().sum())
by_group = (panel.drop_duplicates("person_id").query("group > 0")
            .assign(pcn_id=lambda d: d["person_id"].map(coh.set_index("person_id")["pcn_id"])).groupby("group")
            .agg(pcns=("pcn_id", "nunique"), people=("person_id", "size")).reset_index())
label_of = {v: f"{k // 10} Q{k % 10}" for k, v in quarter_index.items()}
pcns_min, pcns_max = int(by_group["pcns"].min()), int(by_group["pcns"].max())
report.show_table(by_group.assign(quarter=lambda d: d["group"].map(label_of))[["quarter", "pcns", "people"]]
                  .rename(columns={"pcns": "PCNs going live"}),
                  caption="PCNs and eligible people by the quarter their PCN went live.",
                  counts=["people"],
                  note="PCN counts are not rounded or suppressed: a PCN is an organisation whose go-live date is "
                       "public, not a person, so counting PCNs discloses nothing about anyone. The counts of "
                       "people are protected.")
""", None),
    ("md", """
## 2. Callaway & Sant'Anna: effects by time since going live

Each person whose PCN went live in quarter *g* is compared with eligible people in PCNs not yet live, from
the quarter before *g* to each later quarter. These group-time effects are averaged by the number of quarters
since going live (an *event study*). People who died or left part-way contribute to the comparisons of the quarters they were
present for (`unbalanced="pairwise"`). The event-study chart in section 3 shows them beside the true effect:
the thick bars are 95% confidence intervals; the thin bars are a 95%
uniform band, which covers all the quarters together. Effects are per 1,000 eligible people a year
(the per person-quarter estimate times 4,000).
""", None),
    ("code", """
cs = did.att_gt(panel, outcome="emergency_admission", unit="person_id", time="quarter", group="group",
                control_group="not_yet_treated", unbalanced="pairwise", n_boot=999, seed=2019)
dyn = cs.aggregate("dynamic", min_e=-8, max_e=8)
simple = cs.aggregate("simple")
per_1000 = 4000  # per person-quarter -> per 1,000 person-years (1,000 people followed for a year)
""", None),
    ("md", """
## 3. The true effect, and what each method says

The synthetic data record every planned person's expected admissions with and without the plan. The true
effect of going live for a group and quarter is the average of that difference over *all* the group's eligible
people at risk in that quarter (zero for people without a plan). It is then weighted the same way as the
estimate.
""", None),
    ("code", """
ex = data.expected.query("intervention == 'pcsp'")
ex = ex.assign(effect=ex["treated_emergency_admission"] - ex["untreated_emergency_admission"],
               quarter=(ex["month"].dt.year - data.data_start.year) * 4 + (ex["month"].dt.month - 1) // 3 + 1)
group_of = panel.drop_duplicates("person_id").set_index("person_id")["group"]
effect_pq = ex.groupby(["person_id", "quarter"])["effect"].sum()
at_risk = panel.loc[panel["group"] > 0, ["person_id", "quarter", "group"]]
at_risk = at_risk.assign(effect=effect_pq.reindex(pd.MultiIndex.from_frame(at_risk[["person_id", "quarter"]]))
                         .fillna(0.0).to_numpy())
gt = at_risk.groupby(["group", "quarter"])["effect"].mean().reset_index()
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
shown = compare.assign(**{c: compare[c] * per_1000 for c in ["estimate", "ci_lower", "ci_upper", "truth",
                                                             "TWFE event study"]})
dyn_plot = dyn.to_frame().assign(**{c: lambda d, c=c: d[c] * per_1000 for c in
                                      ["estimate", "ci_lower", "ci_upper", "band_lower", "band_upper"]})
dyn_plot["truth"] = dyn_plot["event_time"].map(true_dyn).where(dyn_plot["event_time"] >= 0) * per_1000
post_clear = dyn_plot.query("event_time >= 0 and ci_upper < 0")["event_time"].tolist()
EST, TRU = "estimate (95% CI; thin bars: uniform band)", "true effect (synthetic data)"
dyn_long = pd.concat([dyn_plot.assign(what=EST, value=dyn_plot["estimate"]),
                      dyn_plot.dropna(subset=["truth"]).assign(what=TRU, value=lambda d: d["truth"],
                                                               ci_lower=np.nan, ci_upper=np.nan)])
report.show_figure(
    ggplot(dyn_long, aes("event_time", "value", colour="what", shape="what"))
    + geom_hline(yintercept=0, linetype="dashed", colour=NHS_COLOURS["mid_grey"])
    + geom_linerange(dyn_plot, aes("event_time", ymin="band_lower", ymax="band_upper"), inherit_aes=False,
                     colour=NHS_COLOURS["light_blue"], size=0.6)
    + geom_pointrange(dyn_long[dyn_long["what"] == EST], aes(ymin="ci_lower", ymax="ci_upper"), size=0.5)
    + geom_point(dyn_long[dyn_long["what"] == TRU], size=3)
    + scale_colour_manual(values={EST: NHS_COLOURS["blue"], TRU: NHS_COLOURS["dark_orange"]})
    + scale_shape_manual(values={EST: "o", TRU: "D"})
    + labs(x="Quarters since the PCN went live (negative: before)",
           y="Change in emergency admissions\\nper 1,000 eligible people a year",
           title="Event study: before and after going live")
    + theme_nhs() + theme(legend_position="bottom", legend_title=element_blank()),
    alt=("Event study per 1,000 eligible people a year: before going live the estimates scatter around zero; "
         + (f"after it, the 95% interval lies below zero at quarter(s) {', '.join(map(str, post_clear))}"
            if post_clear else "after it, every quarter's 95% interval includes zero")
         + "; the true effects are marked beside the estimates."))
report.show_table(shown.assign(event_time=shown["event_time"].astype(int))
                  .rename(columns={"event_time": "quarters since going live", "estimate": "Callaway-Sant'Anna"}),
                  caption="Effect on emergency admissions per 1,000 person-years, by quarters since going live: "
                          "the Callaway-Sant'Anna estimate with its 95% CI, the true effect, and the TWFE event study.",
                  digits=1)
""", None),
    ("code", """
es_frame = es.to_frame().set_index("event_time")
long = pd.concat([
    compare.assign(method="Callaway-Sant'Anna (95% CI)", value=compare["estimate"] * per_1000,
                   lo=compare["ci_lower"] * per_1000, hi=compare["ci_upper"] * per_1000),
    compare.assign(method="TWFE event study (95% CI)", value=compare["TWFE event study"] * per_1000,
                   lo=compare["event_time"].map(es_frame["ci_lower"]) * per_1000,
                   hi=compare["event_time"].map(es_frame["ci_upper"]) * per_1000),
])
truth_pts = compare.assign(method="True effect", value=compare["truth"] * per_1000)
dodge = position_dodge(width=0.5)
report.show_figure(
    ggplot(long, aes("event_time", "value", colour="method", shape="method"))
    + geom_hline(yintercept=0, linetype="dashed", colour=NHS_COLOURS["mid_grey"])
    + geom_pointrange(aes(ymin="lo", ymax="hi"), position=dodge, size=0.5)
    + geom_line(truth_pts, aes("event_time", "value"), colour=NHS_COLOURS["dark_orange"], inherit_aes=False)
    + geom_point(truth_pts, size=3.2)
    + scale_colour_manual(values={"Callaway-Sant'Anna (95% CI)": NHS_COLOURS["blue"],
                                  "TWFE event study (95% CI)": NHS_COLOURS["dark_grey"],
                                  "True effect": NHS_COLOURS["dark_orange"]}, name="")
    + scale_shape_manual(values={"Callaway-Sant'Anna (95% CI)": "o", "TWFE event study (95% CI)": "s",
                                 "True effect": "D"}, name="")
    + labs(x="Quarters since the PCN went live", y="Change in emergency admissions\\nper 1,000 eligible people a year",
           title="Estimates against the true effect")
    + theme_nhs() + theme(legend_position="bottom", legend_title=element_blank()),
    alt=(f"Estimates and true effects by quarter since going live: Callaway-Sant'Anna's intervals cover the "
         f"truth in {int(compare['covered'].sum())} of {len(compare)} quarters"))
""", None),
    ("md", """
## 4. What TWFE gets wrong, and when

TWFE's single number is a weighted average of every two-group, two-period comparison in the data. The
Goodman-Bacon decomposition shows the weights. "Later vs earlier treated" comparisons use people
in PCNs *already live* as controls: if the effect is still growing, they subtract part of it. The decomposition
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
How much this matters here depends on the weight TWFE puts on those comparisons (the table above) and on how
fast the effect grows. Many evaluations have no never-treated group, for example when everyone eligible is
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
report.show_figure(bacon_s.plot(), alt=f"Goodman-Bacon decomposition of the simulated TWFE estimate: "
                   f"{forbidden_s:.0%} of the weight is on comparisons with units already treated")
""", None),
    ("code", """
pre = cs.pretest
never = did.att_gt(panel, outcome="emergency_admission", unit="person_id", time="quarter", group="group",
                   control_group="never_treated", unbalanced="pairwise", n_boot=0).aggregate("simple")
rows = [
    ("Callaway-Sant'Anna, PCNs not yet live (main)", simple.overall),
    ("Callaway-Sant'Anna, PCNs never live", never.overall),
    ("Two-way fixed effects (TWFE)", tw.to_dict()),
]
summary_table = pd.DataFrame([{
    "method": name, "estimate": r["estimate"] * per_1000, "ci_lower": r["ci_lower"] * per_1000,
    "ci_upper": r["ci_upper"] * per_1000} for name, r in rows])
summary_table["true effect"] = true_simple * per_1000
report.show_table(summary_table, caption="Average effect of going live on emergency admissions per 1,000 "
                  "person-years (95% CI) by method, and the true effect.", digits=1)
""", None),
    ("md", """
## 5. Why not compare people by the date of their own plan?

It is tempting to use each person's own plan date as their start of treatment, comparing people planned
in one quarter with people not yet planned. That estimates the effect on planned people directly, a bigger
number. But people receive plans after a run of admissions, and such runs pass on their own (regression to
the mean). The quarter before the plan is then an unusually bad baseline, and the estimate credits the plan
with a fall that would have happened anyway. The table below shows this design on these data, beside the
true effect on the planned people.
""", None),
    ("code", """
own = people.merge(pcsp, on="person_id", how="left")
own = own[own["person_id"].isin(coh["person_id"])]
own_panel = calendar_panel(events, own, start=data.data_start, end=data.data_end, end_date="registration_end",
                           first_treated="pcsp_date", period="quarter", kinds=["emergency_admission"])
own_panel["quarter"] = own_panel["period_index"] + 1
own_panel["group"] = own_panel["first_treated"].map(quarter_index).fillna(0).astype(int)
cs_own = did.att_gt(own_panel, outcome="emergency_admission", unit="person_id", time="quarter", group="group",
                    control_group="not_yet_treated", unbalanced="pairwise", n_boot=0)
own_simple = cs_own.aggregate("simple").overall
own_group = own_panel.drop_duplicates("person_id").set_index("person_id")["group"]
cells_own = ex.groupby(["person_id", "quarter"])["effect"].sum().reset_index()
cells_own["group"] = cells_own["person_id"].map(own_group)
gt_own = cells_own.dropna(subset=["group"]).query("group > 0").groupby(["group", "quarter"])["effect"].mean()
post_own = cs_own.to_frame().query("post")
true_own = float(np.average(
    gt_own.reindex(list(zip(post_own["group"], post_own["time"], strict=True))).fillna(0.0),
    weights=post_own["group"].map(own_group[own_group > 0].value_counts())))
own_pre = cs_own.pretest
report.show_table(pd.DataFrame([{
    "design": "Groups by each person's own plan date (not recommended)",
    "estimate": own_simple["estimate"] * per_1000, "ci_lower": own_simple["ci_lower"] * per_1000,
    "ci_upper": own_simple["ci_upper"] * per_1000, "true effect on planned people": true_own * per_1000,
    "pre-trend test p": own_pre["p_value"]}]),
    caption="Average effect of a plan on the planned, per 1,000 person-years, from the own-plan-date design.",
    digits=3)
""", None),
    ("md", """
## 6. What it means in admissions and money

The roll-out effect turned into emergency admissions avoided a year among the eligible people in PCNs that
went live, and their cost (`pceval.costs.consequences`, delta-method intervals from the effect's own
uncertainty).
""", None),
    ("code", """
main_row = pd.Series({k: simple.overall[k] * per_1000 for k in ("estimate", "std_error", "ci_lower", "ci_upper")}
                     | {"term": "simple ATT", "scale": "absolute", "confidence": 0.95,
                        "measure": "difference in admissions per 1,000 person-years"})
pop_rounded = int(round(n_live / 5) * 5)  # people are counted after disclosure rounding
cons = consequences(main_row, population=pop_rounded, activity="emergency_admission", unit_costs=unit_costs,
                    intervention_cost=OFFER_COST)
ct = cons.to_frame().dropna(subset=["estimate"])  # bed days: no cited length of stay
report.show_table(ct[["measure", "estimate", "ci_lower", "ci_upper", "unit"]],
                  caption=f"Consequences for the {pop_rounded:,} eligible people in PCNs that went live (95% CI). "
                          f"{unit_costs.citation}",
                  note=f"The cost of the offer (£{OFFER_COST:,.0f} per eligible person a year) is an illustrative "
                       "assumption, not a published figure. Population rounded to the nearest 5.", digits=1)
""", None),
    ("md", """
## 7. Limitations

- The roll-out estimate is an average over everyone eligible, most of whom were not planned. To express it
  per person planned, divide by the share planned. That is only valid if going live affects admissions
  through plans alone.
- Going live at different times is assumed to be unrelated to the PCNs' admission trends. The
  pre-treatment quarters check this, but they cannot prove it.
- Standard errors treat people as independent, so they do not allow for shocks shared by a PCN (staff
  leaving, a service opening). Clustering by PCN (`cluster="pcn_id"`) would, but with about 20 PCNs and
  few in each go-live quarter (see the table in section 1) its standard errors are too small: on synthetic
  roll-outs like this one its 95% intervals covered the truth too rarely (docs/did.md, "Few clusters").
- Quarters cut short by death or leaving count fewer admissions. These partial quarters are few and affect
  both groups alike.
- The data are synthetic: they show how the methods behave, not how well care and support planning
  works.
""", None),
    ("code", """
cs_est, cs_lo, cs_hi = (float(main_row[k]) for k in ("estimate", "ci_lower", "ci_upper"))
effect_verdict = verdict(main_row)
mde = report.minimum_detectable_effect(float(main_row["std_error"]))
tw_est = tw["estimate"] * per_1000
truth_1000 = true_simple * per_1000
covered = cs_lo <= truth_1000 <= cs_hi
UNITS = "per 1,000 eligible people a year"
worked = {"lower": f"**Yes.** Going live reduced emergency admissions by {abs(cs_est):.0f} {UNITS} (95% CI "
                   f"{abs(cs_hi):.0f} to {abs(cs_lo):.0f} fewer), averaged over everyone eligible, planned or not.",
          "higher": f"**No: admissions rose** by {cs_est:.0f} {UNITS} (95% CI {cs_lo:.0f} to {cs_hi:.0f}).",
          "no evidence either way": f"**Not shown.** The change is {cs_est:+.0f} {UNITS} (95% CI {cs_lo:.0f} to "
                                    f"{cs_hi:.0f}): the interval includes no change.",
          "too few to tell": "**Too few people to tell.**"}[effect_verdict]
answer = {"lower": "Going live with care and support planning reduced emergency admissions across the eligible "
                   "population",
          "higher": "Going live with care and support planning was followed by more emergency admissions",
          "no evidence either way": "These data cannot show whether going live with care and support planning "
                                    "changed emergency admissions across the eligible population",
          "too few to tell": "Too few people to tell whether going live changed emergency admissions"}[effect_verdict]
pre_dyn = dyn.to_frame().query("event_time < 0")
pre_cover = float(((pre_dyn["band_lower"] <= 0) & (0 <= pre_dyn["band_upper"])).mean())
if pre["p_value"] >= 0.05:
    pretrend_sentence = (f"Before going live, PCNs moved in parallel (joint pre-trend test p = {pre['p_value']:.2f}).")
else:
    pretrend_sentence = (f"The joint test over all {pre['df']} pre-treatment comparisons rejects exactly parallel "
                         f"trends (p = {pre['p_value']:.3f}). Averaged by quarters before going live, "
                         f"{pre_cover:.0%} of the pre-treatment estimates are consistent with zero (uniform band). "
                         "Read the estimate with this caution.")
post_dyn = dyn_plot.query("event_time >= 0")
last = post_dyn.iloc[-1]
own_est = own_simple["estimate"] * per_1000
cov_lo = report.quoted_figure(SUMMARY_CSV, "coverage", "min", "{:.1%}", design="att_gt_rollout",
                              estimand="simple ATT per 1,000 PY")
cov_hi = report.quoted_figure(SUMMARY_CSV, "coverage", "max", "{:.1%}", design="att_gt_rollout",
                              estimand="simple ATT per 1,000 PY")
cov_reps = report.quoted_figure(SUMMARY_CSV, "reps", "max", "{:,}", design="att_gt_rollout")
# HonestDiD (Rambachan & Roth 2023) needs one base period for every event time: the universal base
cs_u = did.att_gt(panel, outcome="emergency_admission", unit="person_id", time="quarter", group="group",
                  control_group="not_yet_treated", unbalanced="pairwise", base_period="universal", n_boot=0)
honest = sens.honest_did(cs_u.aggregate("dynamic", min_e=-4, max_e=4), m=[0.5, 1, 1.5, 2], l_vec="average")
report.bottom_line_box(
    f"**{answer}.**",
    questions={
        "Did it work?": worked,
        "For whom?": ("This design estimates the average effect of going live on everyone eligible; most of them "
                      "did not receive a plan, so the effect on a person who did is larger (divide by the share "
                      "planned). It is not broken down by deprivation here: report 1 does that for planned people."),
        "How did it develop?": (f"By {int(last['event_time'])} quarters after going live the estimate is "
                                f"{last['estimate']:+.0f} {UNITS} (95% CI {last['ci_lower']:.0f} to "
                                f"{last['ci_upper']:.0f}). {pretrend_sentence}"),
        "Admissions and money": (f"At an assumed £{OFFER_COST:,.0f} per eligible person a year (illustrative; "
                                 "replace with the local cost):"),
        "How sure?": report.how_sure(main_row, units=UNITS, mde=mde),
        "Could that be wrong?": (honest.sentence() + " (HonestDiD relative magnitudes on the average of the "
                                 "first four quarters after going live.)"),
        "What it supports": report.decision_words(
            effect_verdict, benefit="lower", action="keep offering care and support planning across the ICB",
            mde_text=f"this roll-out could detect a change of {mde:.0f} {UNITS}"),
        "Can the method be trusted?": (f"In the validation study (report 5), this design's 95% intervals covered the "
                                       f"truth in {cov_lo} to {cov_hi} of {cov_reps} simulated ICBs of "
                                       f"{mc_people:,} people per scenario ({monte_carlo.PEOPLE_PER_PCN:,} per PCN; "
                                       f"this ICB has {report.count(len(people))} people)."),
        "What not to do": (f"Do not group people by the date of their own plan: plans follow runs of admissions "
                           f"that pass anyway. That design gives {own_est:.0f} per 1,000 person-years against a "
                           f"true {true_own * per_1000:.0f} here. Two-way fixed effects (TWFE) gives {tw_est:.0f}, "
                           f"with {forbidden_weight:.0%} of its weight on comparisons with PCNs already live; it is "
                           "shown in section 4 as a warning, not as a result."),
    },
    consequences=cons,
    headline_numbers={f"Change in emergency admissions {UNITS}": (round(cs_est, 1), cs_lo, cs_hi),
                      "Emergency admissions avoided a year in PCNs that went live":
                          tuple(round(float(cons.row("events_avoided_per_year")[k]), 0)
                                for k in ("estimate", "ci_lower", "ci_upper")),
                      "Eligible people in PCNs that went live": n_live,
                      "PCNs that went live": str(n_pcns_live)},
    truth=(f"Synthetic data, so the truth is known: the true effect of the roll-out is {truth_1000:.0f} {UNITS}, "
           f"which the interval {'covers' if covered else 'does not cover'}. In the controlled example of "
           f"section 4, TWFE gives {tw_s['estimate']:.2f} against a true {truth_sim:.2f}, while "
           f"Callaway-Sant'Anna gives {cs_s['estimate']:.2f}."),
)
""", ["summary"]),
    ("md", """
### Technical notes

Estimator: `pceval.did.att_gt` on person x quarter counts, grouped by the quarter the person's PCN went live
(doubly robust, not-yet-treated comparison, varying base period, no anticipation, units observed in both
periods of each comparison). It reproduces R `did` 2.5 to 1e-6 (see
`docs/did.md`). Analytic influence-function standard errors; the uniform band comes from 999 multiplier-bootstrap
draws. TWFE: `pceval.did.twfe` and `event_study` (leads and lags binned at ±8 quarters, reference quarter −1),
with CR1 standard errors clustered by person.
""", ["appendix"]),
    ("code", """
gt_tab = cs.to_frame().query("event_time >= -4 and event_time <= 8")[
    ["group", "time", "estimate", "std_error", "n_treated", "n_comparison"]].head(40)
gt_tab = gt_tab.assign(estimate=gt_tab["estimate"] * per_1000, std_error=gt_tab["std_error"] * per_1000)
report.show_table(gt_tab.rename(columns={"group": "go-live quarter", "time": "quarter"}),
                  caption="A sample of the group-time effects (per 1,000 person-years) with the numbers of people "
                          "used.", counts=["n_treated", "n_comparison"], digits=1)
""", ["appendix"]),
    ("md", """
### Power: the smallest effect this roll-out could detect

The minimum detectable effect (MDE) is the true effect the analysis would find (95% interval excluding no
change) with 80% probability: MDE = (1.96 + 0.84) x standard error (Bloom 1995).
""", ["appendix"]),
    ("code", """
report.show_table(report.power_table(float(main_row["std_error"]), effects=[5, 10, 20, 40]),
                  caption="Power of the roll-out analysis (emergency admissions per 1,000 eligible person-years).",
                  digits=2)
""", ["appendix"]),
    ("md", "### Data, software and warnings", ["appendix"]),
    ("code", """
report.show_provenance(data, period="every quarter of the data window",
                       validation=f"{mc_people:,} people each ({monte_carlo.PEOPLE_PER_PCN:,} per PCN); "
                                  f"coverage quoted from validation/results/summary.csv",
                       unit_costs=unit_costs, activities=["emergency_admission"])
""", ["appendix"]),
]

if __name__ == "__main__":
    print(write("03_staggered_rollout", CELLS))
