"""Notebook 4: measuring inequality by deprivation."""

from nbtools import write

CELLS = [
    ("md", """
# Measuring inequality by deprivation

**For commissioners deciding where to target personalised care.** How unequal are emergency admissions
across the Index of Multiple Deprivation (IMD 2019) in this integrated care board, by the measures the NHS
uses, and do personal health budgets (PHBs) reach the most deprived people? The answer comes first; the
measures follow it.
""", None),
    ("code", """
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from pceval import inequality as ineq
from pceval import report, synthetic, verdict
from pceval.costs import consequences, default_unit_costs
from pceval.disclosure import protect
from pceval.panel import stratified_counts

# third-party deprecation notices are not findings; pceval's own warnings are shown in the appendix
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)
DATA = Path(os.environ.get("PCEVAL_DATA", "../synthetic_data"))
data = synthetic.load(DATA)
people, events, interventions = data.people, data.events, data.interventions
start, end = pd.Timestamp(data.data_start), pd.Timestamp(data.data_end)
# indicative NHS national averages in 2023/24 prices (NCC 2023/24; PSSRU 2024), cited in the report
unit_costs = default_unit_costs()
""", ["remove"]),
    ("md", """
## The measures

The measures are those of the Office for Health Improvement and Disparities (OHID, formerly PHE), as
implemented in PHEindicatormethods. pceval reproduces PHEindicatormethods' own test results (see
`docs/inequality.md`):

- crude rates with exact or Byar's confidence intervals;
- directly standardised rates (DSRs), which use the European Standard Population 2013 so that quintiles with
  different age structures can be compared, with Dobson confidence intervals;
- the **slope index of inequality (SII)**, the gap in the rate between the most and least deprived ends of
  the population, estimated from a line fitted across all five quintiles; the **relative index of inequality
  (RII)**, the ratio of the two ends;
- the **concentration index**, the health economists' measure: how concentrated admissions are among
  deprived people;
- for PHBs, **uptake equity**: who received one, compared with who needed one (the inverse care law check).

IMD quintile 1 = the most deprived fifth of England. A positive SII means worse for the most deprived.

## 1. Emergency admissions by IMD quintile, crude and age-standardised

Admissions and person-years at risk over the whole data window, by IMD quintile and by the ESP 2013 five-year
age band (age at the data start).
""", None),
    ("code", """
edges = [0, 1, *range(5, 100, 5), 200]
labels = ["0", "1-4"] + [f"{a}-{a + 4}" for a in range(5, 95, 5)] + ["95+"]
ppl = people.assign(age_band=pd.cut(people["age"], edges, right=False, labels=labels).astype(str),
                    end_date=people["registration_end"].fillna(end))
strata = stratified_counts(events, ppl, ["imd_quintile", "age_band"], start, end, kinds=["emergency_admission"])
by_q = strata.groupby("imd_quintile", as_index=False)[["emergency_admission", "person_years"]].sum()
crude = ineq.rate(by_q, x="emergency_admission", n="person_years", by="imd_quintile", multiplier=1000)
dsr = ineq.dsr(strata, x="emergency_admission", n="person_years", age_band="age_band",
               by="imd_quintile", multiplier=1000)
table = (by_q.rename(columns={"emergency_admission": "admissions"})
         .merge(crude[["imd_quintile", "value", "lower", "upper"]].rename(
             columns={"value": "crude rate", "lower": "crude lower", "upper": "crude upper"}), on="imd_quintile")
         .merge(dsr[["imd_quintile", "value", "lower", "upper"]].rename(
             columns={"value": "DSR", "lower": "DSR lower", "upper": "DSR upper"}), on="imd_quintile"))
report.show_table(table, caption="Emergency admissions per 1,000 person-years by IMD 2019 quintile (1 = most "
                  "deprived): crude rates (Byar's 95% CI) and rates directly standardised to the European "
                  "Standard Population 2013 (Dobson 95% CI).", counts=["admissions"], digits=1)
""", None),
    ("md", """
## 2. The slope and relative index of inequality

The SII is the gap between the most and least deprived ends of a line fitted to the five quintiles'
age-standardised rates. Each quintile is weighted by its population and placed at the midpoint of its share
of the population (its *ridit*). The RII is the ratio of the two ends. Confidence intervals come from 100,000
simulations of the quintile rates within their own confidence intervals, as OHID does.
""", None),
    ("code", """
sii_in = dsr.merge(by_q[["imd_quintile", "person_years"]], on="imd_quintile")
sii_res = ineq.sii(sii_in, quantile="imd_quintile", value="value", population="person_years", lower="lower",
                   upper="upper", value_type="rate", transform=True, n_boot=100_000, seed=1,
                   polarity="higher_is_worse")
s = sii_res.iloc[0]
SII_WORDS = {"sii": "SII", "sii_lower": "SII lower", "sii_upper": "SII upper", "rii": "RII",
             "rii_lower": "RII lower", "rii_upper": "RII upper"}
report.show_table(sii_res[[c for c in SII_WORDS if c in sii_res.columns]].rename(columns=SII_WORDS),
                  caption="Slope index of inequality (per 1,000 person-years; positive = more admissions in "
                          "the most deprived) and relative index of inequality, age-standardised, with 95% CIs.",
                  digits=2)
report.show_figure(ineq.plot_sii(sii_in, quantile="imd_quintile", value="value", population="person_years",
                                 lower="lower", upper="upper", value_type="rate", transform=True,
                                 title="Age-standardised emergency admissions by IMD quintile",
                                 ylab="Emergency admissions per 1,000 people a year"),
                   alt=f"Age-standardised admission rates fall from the most to the least deprived quintile; the "
                       f"fitted line's gap between the two ends (the SII) is {s['sii']:.0f} per 1,000 people a year")
""", None),
    ("md", """
## 3. The concentration index

The concentration index ranks every person from most to least deprived, using their LSOA's IMD decile, and
asks how far admissions are concentrated at the deprived end. Picture the people lined up from most to least
deprived, and a curve of the share of all admissions held by the first 10%, 20%, ... of them (the
*concentration curve*). If admissions were spread in proportion to people, the curve would be the diagonal
and the index 0. The index is twice the area between the diagonal and the curve: it runs from −1 (all
admissions among the most deprived) through 0 (equal) to +1 (all among the least deprived). The Erreygers
version rescales the index for bounded or count outcomes so that groups can be compared.
""", None),
    ("code", """
adm = events[(events["type"] == "emergency_admission") & events["date"].notna()].groupby("person_id").size()
ind = people[["person_id", "imd_decile"]].assign(admissions=people["person_id"].map(adm).fillna(0))
ci_std = ineq.concentration_index(ind, outcome="admissions", quantile="imd_decile", kind="standard")
ci_err = ineq.concentration_index(ind, outcome="admissions", quantile="imd_decile", kind="erreygers")
ci_table = pd.concat([ci_std, ci_err], ignore_index=True)
report.show_table(ci_table[["kind", "index", "lower", "upper", "ranked_by"]].rename(
                      columns={"kind": "version", "index": "concentration index", "lower": "CI lower",
                               "upper": "CI upper", "ranked_by": "people ranked by"}),
                  caption="Concentration index of emergency admissions over IMD (people ranked most deprived first; "
                          "negative = concentrated among the more deprived), with 95% CIs.", digits=4)
ci_value = float(ci_std["index"].iloc[0])
ci_row = pd.Series({"estimate": ci_value, "ci_lower": float(ci_std["lower"].iloc[0]),
                    "ci_upper": float(ci_std["upper"].iloc[0]), "scale": "absolute"})
ci_words = {"lower": "concentrated among the more deprived", "higher": "concentrated among the less deprived",
            "no evidence either way": "not clearly concentrated at either end",
            "too few to tell": "too few to tell"}[verdict(ci_row)]
report.show_table(pd.DataFrame([{"what the index says": f"Emergency admissions are {ci_words}: index {ci_value:.3f} "
                                 f"(95% CI {ci_row['ci_lower']:.3f} to {ci_row['ci_upper']:.3f})."}]),
                  caption="In words")
""", None),
    ("md", """
## 4. Do personal health budgets reach the most deprived?

Eligibility for a PHB in these data is approximated by need: adults with two or more long-term conditions or
moderate-to-severe frailty. Uptake is the share of eligible people who received a PHB. If uptake falls with
deprivation while need rises, the inverse care law holds.
""", None),
    ("code", """
phb = set(interventions.loc[interventions["intervention"] == "phb", "person_id"])
elig = people[(people["age"] >= 18) & ((people["ltc_count"] >= 2) | people["frailty"].isin(["moderate", "severe"]))]
elig = elig.assign(treated=elig["person_id"].isin(phb).astype(int),
                   age_group=pd.cut(elig["age"], [18, 45, 65, 75, 120], right=False,
                                    labels=["18-44", "45-64", "65-74", "75+"]).astype(str),
                   need=elig["person_id"].map(adm).fillna(0))
up = ineq.uptake_equity(elig, treatment="treated", quantile="imd_quintile", age="age_group", sex="sex", need="need")
uq = up.uptake[up.uptake["dimension"] == "imd"].rename(columns={"category": "imd_quintile"})
# uptake is a crude rate of small counts: show it only as recomputed from the protected counts
safe = protect(uq[["imd_quintile", "treated", "eligible"]].assign(per_1000=0.0), counts=["treated", "eligible"],
               rates={"per_1000": ("treated", "eligible", 1000)})
report.show_table(uq[["imd_quintile", "treated", "eligible"]].assign(per_1000=0.0),
                  caption="PHBs per 1,000 eligible adults by IMD quintile (recomputed from the rounded counts).",
                  counts=["treated", "eligible"], rates={"per_1000": ("treated", "eligible", 1000)}, digits=1)
ci_uptake = up.concentration
""", None),
    ("md", """
The concentration indices below compare *who received* a PHB with *who needed* one (need measured by
emergency admissions). Negative values mean concentrated among the more deprived. These are model estimates
over all eligible people, so they are not rounded.
""", None),
    ("code", """
report.show_table(ci_uptake[["measure", "kind", "index", "lower", "upper"]].rename(
                      columns={"kind": "version", "index": "concentration index", "lower": "CI lower",
                               "upper": "CI upper"}),
                  caption="Concentration index of PHB uptake and of need over IMD (95% CI).", digits=3)
# every verdict is read by pceval.verdict from the interval of the row it describes
gap_row = up.headline  # relative gap: uptake in the most deprived quintile / least deprived
gap_verdict = verdict(gap_row)
cu = ci_uptake[(ci_uptake["measure"] == "uptake") & (ci_uptake["kind"] == "standard")].iloc[0]
cu_row = pd.Series({"estimate": cu["index"], "ci_lower": cu["lower"], "ci_upper": cu["upper"], "scale": "absolute"})
cu_verdict = verdict(cu_row)
cn = ci_uptake[ci_uptake["measure"] == "need"].iloc[0]
""", None),
    ("md", """
## 5. What the gap means in admissions and money

If the most deprived fifth had the age-standardised admission rate of the least deprived fifth, how many
emergency admissions a year would its people avoid, and what would they cost? The gap is the difference
of the two DSRs, with its standard error from their Dobson intervals (independent quintiles), turned into
admissions and money by `pceval.costs.consequences`. This is the size of the prize, not the effect of any
intervention.
""", None),
    ("code", """
z = 1.959964
q1_row = table.set_index("imd_quintile").iloc[0]
q5_row = table.set_index("imd_quintile").iloc[-1]
# standard errors from the width of the Dobson intervals (approximately symmetric at these counts)
se_q1 = (q1_row["DSR upper"] - q1_row["DSR lower"]) / (2 * z)
se_q5 = (q5_row["DSR upper"] - q5_row["DSR lower"]) / (2 * z)
gap_effect = pd.Series({"term": "Q1 at the Q5 rate", "estimate": q5_row["DSR"] - q1_row["DSR"],
                        "std_error": float(np.hypot(se_q1, se_q5)), "scale": "absolute",
                        "measure": "difference in rate per 1,000 person-years"})
gap_effect["ci_lower"] = gap_effect["estimate"] - z * gap_effect["std_error"]
gap_effect["ci_upper"] = gap_effect["estimate"] + z * gap_effect["std_error"]
q1_people = int(round(people.loc[people["imd_quintile"] == people["imd_quintile"].min()].shape[0] / 5) * 5)
gap_cons = consequences(gap_effect, population=q1_people, activity="emergency_admission", unit_costs=unit_costs)
gt = gap_cons.to_frame()
gt = gt[gt["term"].isin(["events_avoided_per_1000_per_year", "events_avoided_per_year",
                         "cost_of_events_avoided"])]  # bed days: no cited length of stay is shipped
report.show_table(gt[["measure", "estimate", "ci_lower", "ci_upper", "unit"]],
                  caption=f"The gap for the {q1_people:,} people in the most deprived quintile, in admissions and "
                          f"money a year (95% CI). {unit_costs.citation}",
                  note="Population rounded to the nearest 5.", digits=0)
""", None),
    ("md", """
## 6. Limitations

- IMD is an area measure: not everyone in a deprived LSOA is deprived. Person-level concentration indices
  inherit this.
- Age at the data start defines the standardisation band. Over six years people age, which shifts rates a
  little but treats all quintiles alike.
- PHB eligibility is approximated from recorded conditions and frailty. Real eligibility rules (continuing
  healthcare, section 117 aftercare, wheelchairs) differ.
- The data are synthetic.
""", None),
    ("code", """
q1 = table.set_index("imd_quintile").loc[table["imd_quintile"].min()]
q5 = table.set_index("imd_quintile").loc[table["imd_quintile"].max()]
sii_row = pd.Series({"estimate": s["sii"], "ci_lower": s["sii_lower"], "ci_upper": s["sii_upper"], "scale": "absolute"})
sii_words = {"higher": "**Yes.** Admissions are higher in more deprived areas",
             "lower": "**Yes, reversed.** Admissions are lower in more deprived areas",
             "no evidence either way": "**Not clearly.** The gap between the ends includes zero",
             "too few to tell": "**Too few to tell.**"}[verdict(sii_row)]
up_q1, up_q5 = safe["per_1000"].iloc[0], safe["per_1000"].iloc[-1]
reach = {"lower": "**No: lower uptake in the most deprived.**",
         "higher": "**Yes: higher uptake in the most deprived.**",
         "no evidence either way": "**The quintile comparison alone cannot tell.**",
         "too few to tell": "**Too few PHBs to tell.**"}[gap_verdict]
reach += (f" Per 1,000 eligible adults, {up_q1:.0f} in the most deprived quintile and {up_q5:.0f} in the least "
          f"deprived received a PHB (rates from rounded counts): a ratio of {gap_row['estimate']:.2f} (95% CI "
          f"{gap_row['ci_lower']:.2f} to {gap_row['ci_upper']:.2f}). ")
reach += {"higher": (f"Across all five quintiles, uptake is concentrated among the less deprived (concentration "
                     f"index {cu['index']:.3f}, 95% CI {cu['lower']:.3f} to {cu['upper']:.3f}) while need "
                     f"(admissions) is concentrated among the more deprived (index {cn['index']:.3f}): the inverse "
                     "care law. Using every quintile, this is the more sensitive test."),
          "lower": (f"Across all five quintiles, uptake is concentrated among the more deprived (concentration index "
                    f"{cu['index']:.3f}, 95% CI {cu['lower']:.3f} to {cu['upper']:.3f})."),
          "no evidence either way": (f"Across all five quintiles, uptake is not clearly concentrated at either end "
                                     f"(concentration index {cu['index']:.3f}, 95% CI {cu['lower']:.3f} to "
                                     f"{cu['upper']:.3f})."),
          "too few to tell": ""}[cu_verdict]
answer = ("Emergency admissions rise with deprivation"
          if verdict(sii_row) == "higher" else "Emergency admissions are not clearly patterned by deprivation")
answer += {"higher": ", and personal health budgets go disproportionately to the less deprived.",
           "lower": ", and personal health budgets reach the more deprived.",
           "no evidence either way": "; personal health budgets are not clearly skewed either way.",
           "too few to tell": "."}[cu_verdict]
decision = ("Target personal health budgets at the most deprived areas, where need is highest and uptake lowest, "
            "and track uptake by quintile." if cu_verdict == "higher" else
            "Keep tracking uptake by quintile against need.")
report.bottom_line_box(
    f"**{answer}**",
    questions={
        "Is there a gap?": (f"{sii_words}. After age standardisation the most deprived fifth had {q1['DSR']:.0f} "
                            f"admissions per 1,000 people a year and the least deprived {q5['DSR']:.0f}. The slope "
                            f"index of inequality, the modelled gap between the two ends of the population, is "
                            f"{s['sii']:.0f} per 1,000 people a year (95% CI {s['sii_lower']:.0f} to "
                            f"{s['sii_upper']:.0f}); the most deprived end has {s['rii']:.2f} times the rate of the "
                            f"least deprived (relative index, {s['rii_lower']:.2f} to {s['rii_upper']:.2f})."),
        "Admissions and money": (f"If the most deprived fifth ({q1_people:,} people) had the least deprived fifth's "
                                 f"age-standardised rate, it would have about "
                                 f"{gap_cons.row('events_avoided_per_year')['estimate']:,.0f} fewer emergency "
                                 f"admissions a year (95% CI {gap_cons.row('events_avoided_per_year')['ci_lower']:,.0f}"
                                 f" to {gap_cons.row('events_avoided_per_year')['ci_upper']:,.0f}), worth about "
                                 f"£{round(gap_cons.row('cost_of_events_avoided')['estimate'], -3):,.0f} a year "
                                 f"(£{round(gap_cons.row('cost_of_events_avoided')['ci_lower'], -3):,.0f} to "
                                 f"£{round(gap_cons.row('cost_of_events_avoided')['ci_upper'], -3):,.0f}) at the "
                                 f"{unit_costs.label} national average unit cost ({unit_costs.row('emergency_admission')['currency_year']} prices; source "
                                 f"below). This is the "
                                 "size of the prize, not the effect of any intervention."),
        "Do PHBs reach the most deprived?": reach,
        "Concentration of admissions": (f"Admissions are {ci_words} (concentration index {ci_value:.3f}, 95% CI "
                                        f"{ci_row['ci_lower']:.3f} to {ci_row['ci_upper']:.3f}; 0 = spread in "
                                        "proportion to people, negative = among the more deprived; see section 3)."),
        "What it supports": decision,
    },
    headline_numbers={"Gap in emergency admissions per 1,000 people a year (SII)":
                          (round(float(s["sii"]), 1), s["sii_lower"], s["sii_upper"]),
                      "Most vs least deprived (RII)": (round(float(s["rii"]), 2), s["rii_lower"], s["rii_upper"]),
                      "PHB uptake concentration index (+ = less deprived)":
                          (round(float(cu["index"]), 3), cu["lower"], cu["upper"])},
    truth="Synthetic data: the deprivation gradients and the PHB offer were set to resemble published English "
          "patterns (see report 0), so these figures test the measures, not the ICB.",
    unit_costs=unit_costs,
)
""", ["summary"]),
    ("md", """
### Technical notes

`pceval.inequality`: `rate` (exact Poisson below 10 events, Byar's above), `dsr` (ESP 2013, Dobson limits,
suppression under 10 events), `sii` (PHE method: population-weighted regression on ridits, log transform for
rates, 100,000 simulations, polarity set so that positive = worse for the most deprived), `concentration_index`
(Kakwani standard errors), `uptake_equity` (Wilson limits, Katz ratios, concentration of uptake against need).
Counts and person-years come from `pceval.panel.stratified_counts` (time at risk from registration to death or
deregistration).
""", ["appendix"]),
    ("code", """
age_order = {lab: i for i, lab in enumerate(labels)}
strata_sorted = strata.sort_values(["imd_quintile", "age_band"], key=lambda c: c.map(age_order) if c.name == "age_band"
                                   else c)
report.show_table(strata_sorted.rename(columns={"emergency_admission": "admissions"}).head(40),
                  caption="The first strata of the input table (IMD quintile x age band, in age order).",
                  counts=["admissions"], digits=1)
""", ["appendix"]),
    ("md", "### Data, software and warnings", ["appendix"]),
    ("code", """
report.show_provenance(data, period=f"the whole data window, {start:%B %Y} to {end:%B %Y}",
                       unit_costs=unit_costs, activities=["emergency_admission"])
""", ["appendix"]),
]

if __name__ == "__main__":
    print(write("04_measuring_inequality", CELLS))
