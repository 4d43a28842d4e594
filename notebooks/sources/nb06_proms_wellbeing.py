"""Notebook 6: did personal health budgets improve wellbeing, and for whom?"""

from nbtools import LOVE_PLOT_WORDS, write

CELLS = [
    ("md", """
# Did personal health budgets improve wellbeing, and for whom?

**The question.** A personal health budget (PHB) gives a person control over money spent on their care. PHBs are
expected to improve wellbeing and quality of life rather than reduce hospital use. Did people who received one
report better wellbeing six months later, on each of the four ONS4 questions? Did their activation (the Patient
Activation Measure, PAM) change? And was the effect the same in the most and least deprived areas?

**For commissioners** deciding whether personal health budgets are worth offering for wellbeing: the bottom line
comes first; how it was worked out follows it. The data are synthetic, so every estimate is shown beside the
**true effect** on the same people.
""", None),
    ("md", """
## How this was worked out

1. **Who is compared with whom.** PHB recipients complete the PAM and the ONS4 questions when the budget starts
   and six months later. The comparison group comes from a wellbeing and activation survey of adults with a
   long-term condition, who answered the same questions twice, six months apart. Survey respondents who received
   *any* personalised-care intervention between the two surveys are excluded: their second answers carry that
   intervention's effect.
2. **Matching.** Each PHB recipient is matched to one survey respondent surveyed in the same calendar year and
   living in the same IMD quintile, on age, conditions, frailty, recent hospital use and the *baseline* scores.
3. **Effect.** The follow-up score adjusted for the baseline score (ANCOVA), with standard errors clustered on
   the matched pair. Each ONS4 item is reported on its own; they are never added up. For anxiety, a **lower**
   score is better.
4. **Non-response.** People without a six-month score are counted. A second analysis weights respondents by the
   inverse of their chance of responding.
""", None),
    ("code", """
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from pceval import baseline_covariates, inequality, proms, report, synthetic
from pceval.matching import match

warnings.simplefilter("ignore")
DATA = Path(os.environ.get("PCEVAL_DATA", "../synthetic_data"))
data = synthetic.load(DATA)
people, events, interventions, measures = data.people, data.events, data.interventions, data.measures
ITEMS = list(proms.ONS4_ITEMS)
""", ["remove"]),
    ("md", "## 1. PHB recipients and the comparison survey", None),
    ("code", """
phb = (interventions[interventions["intervention"] == "phb"][["person_id", "date"]]
       .rename(columns={"date": "index_date"}).assign(treated=1))
first_iv = interventions.groupby("person_id")["date"].min()
survey = measures[(measures["timepoint"] == "baseline") & (measures["measure"] == "pam_score")]
survey = survey[survey["person_id"].map(first_iv).isna() | (survey["date"] < survey["person_id"].map(first_iv))]
comparison = survey[["person_id", "date"]].rename(columns={"date": "index_date"}).assign(treated=0)
index = pd.concat([phb, comparison], ignore_index=True).merge(people, on="person_id")
index = baseline_covariates(index, events, lookback=12, progress=False)
index["index_year"] = index["index_date"].dt.year
scores = proms.wide_scores(measures, index, ["pam_score", "pam_level", *ITEMS])
n_phb = int((scores["treated"] == 1).sum())
has_baseline = scores["pam_score_baseline"].notna() & scores["ons4_life_satisfaction_baseline"].notna()
n_phb_baseline = int((has_baseline & (scores["treated"] == 1)).sum())
scores = scores[has_baseline]

contaminated = proms.check_contamination(scores, "treated", interventions, warn=False)
n_contaminated = int(contaminated.attrs["n_total"])
n_survey = int((scores["treated"] == 0).sum())
iv_dates = scores[["person_id", "index_date"]].merge(interventions[["person_id", "date"]], on="person_id")
in_window = (iv_dates["date"] - iv_dates["index_date"]).dt.days.between(-30, 215)
drop = iv_dates.loc[in_window, ["person_id", "index_date"]].drop_duplicates().assign(_drop=1)
scores = scores.merge(drop, on=["person_id", "index_date"], how="left")
scores = scores[(scores["treated"] == 1) | scores["_drop"].isna()].drop(columns="_drop")
report.show_table(contaminated.rename(columns={"intervention": "intervention received", "n_people": "people"}),
                  caption="Survey respondents excluded from the comparison pool because they received another "
                          "personalised-care intervention between their two surveys.", counts=["people"])
""", None),
    ("md", """
## 2. Matched comparison

One survey respondent per PHB recipient, surveyed in the same calendar year (so eligible at the same time) and
living in the same IMD quintile, nearest on the propensity score within 0.2 standard deviations, each respondent
used once. The baseline scores are among the matching variables, so the two
groups start from the same wellbeing.
""", None),
    ("code", """
covariates = ["age_at_index", "ltc_count", "frailty_index", "depression", "prior_emergency_admission",
              "prior_gp_appointment", "pam_score_baseline", "ons4_life_satisfaction_baseline",
              "ons4_anxiety_baseline"]
m = match(scores, treatment="treated", covariates=covariates, exact=["imd_quintile", "index_year"], caliper=0.2,
          seed=1)
matched = m.matched_data()
n_matched = int(matched["treated"].sum())
bal = m.balance().to_frame()
worst_smd = float(bal.loc[(bal["sample"] == "matched") & (bal["covariate"] != "distance"), "smd"].abs().max())
""" + LOVE_PLOT_WORDS + """report.show_figure(m.love_plot(labels=love_labels), alt="Love plot of standardised mean differences before and after matching")
bt = bal_words[bal["covariate"] != "distance"].pivot(index="covariate", columns="sample", values="smd").reset_index()
report.show_table(bt.rename(columns={"all": "SMD before matching", "matched": "SMD after matching"}),
                  caption="Standardised mean differences (PHB minus comparison); below 0.1 in absolute value is "
                          "usually taken as balanced.", digits=3)
""", None),
    ("md", """
## 3. Who answered six months later?

Not everyone answers the second questionnaire. People without a six-month score are counted here, by group.
""", None),
    ("code", """
life = proms.score_change(m, "ons4_life_satisfaction_follow_up", "ons4_life_satisfaction_baseline", "treated",
                          measure="life satisfaction", interventions=interventions)
nr = life.nonresponse[["group", "with_baseline", "with_follow_up", "no_follow_up"]]
report.show_table(nr.rename(columns={"with_baseline": "matched people", "with_follow_up": "answered at 6 months",
                                     "no_follow_up": "no 6-month answer"}),
                  caption="Matched people with and without a six-month wellbeing score.",
                  counts=["matched people", "answered at 6 months", "no 6-month answer"])
response_rate = float(nr["with_follow_up"].sum() / nr["with_baseline"].sum())
""", None),
    ("md", """
## 4. Wellbeing: the four ONS4 questions

Each question is scored 0-10. For life satisfaction, worthwhile and happiness, higher is better; for **anxiety,
lower is better**. The four are reported separately, as the ONS recommends, never as a total.
""", None),
    ("code", """
ons = proms.ons4_effects(m, "treated", interventions=interventions)
analysed = {item: matched.loc[(matched["treated"] == 1) & matched[f"{item}_follow_up"].notna(), "person_id"]
            for item in ITEMS}
truth = {item: float(data.true_effect("phb", item, window=(6, 6), persons=analysed[item]).iloc[0]["absolute"])
         for item in ITEMS}
ons_table = ons.to_frame()[["term", "item", "estimate", "ci_lower", "ci_upper", "improvement"]]
ons_table = ons_table.assign(**{"true effect": ons_table["term"].map(truth)})
report.show_table(ons_table.drop(columns="term"), caption="Effect of a PHB on each ONS4 item six months later "
                  "(points on the 0-10 scale; ANCOVA, 95% CI clustered on matched pairs), and the true effect on "
                  "the same people. Anxiety: a negative effect is an improvement.", digits=2)
report.show_figure(ons.plot(), alt="Effects on the four ONS4 items with 95% confidence intervals")
covered = {item: bool(r.ci_lower <= truth[item] <= r.ci_upper) for item, r in zip(ITEMS, ons.to_frame().itertuples())}
improved = [proms.ONS4_ITEMS[i][0] for i in ITEMS if ons.to_frame().set_index("term").loc[i, "improvement"] == "improved"]
life_row = ons.to_frame().set_index("term").loc["ons4_life_satisfaction"]
anx_row = ons.to_frame().set_index("term").loc["ons4_anxiety"]
""", None),
    ("md", """
**Non-response weighting.** The same analysis of life satisfaction, weighting those who answered by the inverse of
their estimated chance of answering (a logistic model in each group, on the baseline score, age, conditions and
deprivation). The table shows how far the people who answered were from everyone matched, before and after
weighting.
""", None),
    ("code", """
life_ipw = proms.score_change(m, "ons4_life_satisfaction_follow_up", "ons4_life_satisfaction_baseline", "treated",
                              measure="life satisfaction", nonresponse="ipw",
                              response_covariates=["age_at_index", "ltc_count", "imd_quintile"])
ipw_row = life_ipw.headline
report.show_table(life_ipw.response_balance[["group", "covariate", "smd_respondents", "smd_weighted"]].rename(
    columns={"smd_respondents": "SMD, answered vs all", "smd_weighted": "SMD, answered (weighted) vs all"}),
    caption="Balance of the response model: standardised differences between the people who answered and "
            "everyone matched, in each group.", digits=3)
""", None),
    ("md", """
## 5. Activation (PAM) and responders

PHBs are not expected to change activation in these data (the true effect is zero). A **responder** gained at
least 3 PAM points, the change associated with better outcomes in the PAM literature.
""", None),
    ("code", """
pam = proms.score_change(m, "pam_score_follow_up", "pam_score_baseline", "treated", measure="PAM score")
pam_row = pam.headline
pam_people = matched.loc[(matched["treated"] == 1) & matched["pam_score_follow_up"].notna(), "person_id"]
pam_truth = float(data.true_effect("phb", "pam_score", window=(6, 6), persons=pam_people).iloc[0]["absolute"])
resp = proms.responders(m, "pam_score_follow_up", "pam_score_baseline", "treated",
                        levels=("pam_level_baseline", "pam_level_follow_up"), measure="PAM score")
resp_row = resp.headline
shares = resp.to_frame().set_index("term")
pam_table = pd.DataFrame([
    {"measure": "PAM score (points)", "estimate": pam_row["estimate"], "ci_lower": pam_row["ci_lower"],
     "ci_upper": pam_row["ci_upper"], "true effect": pam_truth},
    {"measure": "difference in share gaining >= 3 points", "estimate": resp_row["estimate"],
     "ci_lower": resp_row["ci_lower"], "ci_upper": resp_row["ci_upper"], "true effect": np.nan},
])
report.show_table(pam_table, caption="Effect of a PHB on activation (ANCOVA; responders: difference in the share "
                  "gaining at least 3 PAM points, 95% CI clustered on matched pairs).", digits=3)
tr = resp.transitions.pivot_table(index=["group", "level_baseline"], columns="level_follow_up", values="people",
                                  aggfunc="first").reset_index()
tr.columns = [c if isinstance(c, str) else f"level {int(c)} at 6 months" for c in tr.columns]
tr = tr.rename(columns={"level_baseline": "level at start"}).astype({"level at start": int})
report.show_table(tr, caption="PAM level at the start (rows) and six months later (columns), by group "
                  "(people; counts of 7 or fewer suppressed, others rounded to 5).",
                  counts=[c for c in tr.columns if c.startswith("level ") and c != "level at start"])
""", None),
    ("md", """
## 6. For whom: life satisfaction by deprivation

The same analysis within each IMD quintile (1 = most deprived). Pairs never cross quintiles, so the quintile
estimates are independent.
""", None),
    ("code", """
by_q = proms.score_change(m, "ons4_life_satisfaction_follow_up", "ons4_life_satisfaction_baseline", "treated",
                          by="imd_quintile", measure="life satisfaction")
q_rows = by_q.to_frame().query("row == 'subgroup' and scale == 'absolute'")
truth_q = data.true_effect("phb", "ons4_life_satisfaction", window=(6, 6), persons=analysed["ons4_life_satisfaction"],
                           by="imd_quintile")
q_table = q_rows.rename(columns={"level": "imd_quintile"})[["imd_quintile", "estimate", "ci_lower", "ci_upper",
                                                            "n_treated"]]
q_table = q_table.merge(truth_q[["imd_quintile", "absolute"]].rename(columns={"absolute": "true effect"}),
                        on="imd_quintile", how="left")
report.show_table(q_table.rename(columns={"n_treated": "PHB recipients analysed"}),
                  caption="Effect of a PHB on life satisfaction by IMD quintile (95% CI), and the true effect.",
                  counts=["PHB recipients analysed"], digits=2)
report.show_figure(by_q.plot(), alt="Effect on life satisfaction by IMD quintile")
q_diff = by_q.to_frame().query("row == 'difference'").iloc[0]
q_test = by_q.equality
""", None),
    ("md", """
## 7. Did PHBs narrow the gap in wellbeing?

A larger effect in one quintile narrows the population gap only if enough people there receive a PHB.
`equity_of_effect` combines the quintile effects with how many adults with a long-term condition in each quintile
received a PHB, and with each quintile's life satisfaction without PHBs (the survey's baseline mean). Higher life
satisfaction is better, so the slope index of inequality (SII) is signed so that positive means worse for the
most deprived.
""", None),
    ("code", """
adults_ltc = people[(people["age"] >= 18) & (people["ltc_count"] >= 1)]
population = adults_ltc.groupby("imd_quintile").size().rename("population")
recipients = (interventions[interventions["intervention"] == "phb"].merge(people[["person_id", "imd_quintile"]])
              .groupby("imd_quintile").size().rename("recipients"))
survey_base = (scores[scores["treated"] == 0].groupby("imd_quintile")["ons4_life_satisfaction_baseline"]
               .agg(["mean", "std", "size"]))
context = pd.DataFrame({"population": population, "recipients": recipients, "baseline": survey_base["mean"],
                        "baseline_se": survey_base["std"] / np.sqrt(survey_base["size"])}).reset_index()
context["recipients"] = context["recipients"].fillna(0)
true_in = context.merge(truth_q[["imd_quintile", "absolute"]].rename(columns={"absolute": "estimate"}),
                        on="imd_quintile").assign(std_error=1e-9)
if q_rows["estimate"].notna().all() and len(true_in) == len(context):
    equity = inequality.equity_of_effect(by_q, context=context, uptake=None, n_treated="recipients",
                                         population="population", baseline="baseline", baseline_se="baseline_se",
                                         outcome_higher_is="better", outcome="life satisfaction",
                                         units="points (0-10)", seed=1)
    true_equity = inequality.equity_of_effect(true_in, uptake=None, n_treated="recipients", population="population",
                                              baseline="baseline", outcome_higher_is="better", seed=1)
    true_contr = true_equity.contrasts.set_index("term")["estimate"]
    shown = equity.contrasts[~equity.contrasts["term"].str.startswith("heterogeneity")]
    shown = shown.assign(**{"true value": shown["term"].map(true_contr)})
    report.show_table(shown.drop(columns=["p_value"], errors="ignore"),
                      caption="Equity of effect on life satisfaction: the Q1-Q5 difference in effects, the gradient "
                              "and the change in the SII (95% CI), with the true values.", digits=3)
    gap_verdict = equity.verdicts["verdict"].iloc[0]
    true_gap_verdict = true_equity.verdicts["verdict"].iloc[0]
else:  # a quintile with too few people to estimate its effect
    gap_verdict = true_gap_verdict = "too few to tell"
    report.show_table(q_table[["imd_quintile", "n_treated"]].rename(columns={"n_treated": "PHB recipients analysed"}),
                      caption="Too few people in some quintiles to estimate the equity of effect.",
                      counts=["PHB recipients analysed"])
""", None),
    ("md", """
## 8. The mistake this design avoids

A tempting shortcut compares PHB recipients with people who started *another* personalised-care intervention,
because those people also fill in the PAM. But care planning and health coaching raise activation, so the
shortcut measures "PHB against other interventions", not "PHB against no PHB". pceval warns about it.
""", None),
    ("code", """
others = (interventions[interventions["intervention"] != "phb"][["person_id", "date"]]
          .rename(columns={"date": "index_date"}).assign(treated=0))
naive = proms.wide_scores(measures, pd.concat([phb, others], ignore_index=True), ["pam_score"])
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    naive_pam = proms.score_change(naive, "pam_score_follow_up", "pam_score_baseline", "treated",
                                   interventions=interventions).headline
naive_warning = next(str(w.message) for w in caught if issubclass(w.category, proms.ContaminationWarning))
naive_n = int(naive_pam["n_comparison"])
report.show_table(pd.DataFrame([
    {"comparison group": "other interventions (wrong)", "estimate": naive_pam["estimate"],
     "ci_lower": naive_pam["ci_lower"], "ci_upper": naive_pam["ci_upper"]},
    {"comparison group": "matched survey respondents", "estimate": pam_row["estimate"],
     "ci_lower": pam_row["ci_lower"], "ci_upper": pam_row["ci_upper"]}]).assign(**{"true effect": pam_truth}),
    caption="PAM 'effect' of a PHB with the wrong and the right comparison group (95% CI).", digits=2)
""", None),
    ("md", """
## 9. Assumptions and limitations

- **Comparable at baseline.** ANCOVA assumes that, after matching on the baseline scores and characteristics,
  PHB recipients and survey respondents would have reported alike six months later without PHBs. People are
  offered a PHB for reasons the records may not show.
- **Non-response.** Only people who answered at six months are analysed. The weighted analysis assumes answering
  depends only on what the response model includes.
- **The comparison survey** must ask the same questions in the same way; a different mode (online vs
  face-to-face) can shift wellbeing scores on its own.
- **Small numbers.** Quintile estimates rest on few people; read the interval, not the point.
- The data are synthetic: the report shows how the methods behave, not how well PHBs work.
""", None),
    ("code", """
def ci(r, d=2):
    return f"{r['estimate']:+.{d}f} (95% CI {r['ci_lower']:+.{d}f} to {r['ci_upper']:+.{d}f})"

n_covered = sum(covered.values())
report.summary_box(
    f\"\"\"
**Personal health budgets improved {len(improved)} of the 4 ONS4 wellbeing measures six months on**
({', '.join(improved) if improved else 'none'}). Life satisfaction changed by {ci(life_row)} points on the 0-10
scale (true effect {truth['ons4_life_satisfaction']:+.2f}); anxiety, where lower is better, by {ci(anx_row)}
(true effect {truth['ons4_anxiety']:+.2f}). The intervals cover the true effect for {n_covered} of the 4 items.

- Activation (PAM) changed by {ci(pam_row)} points (true effect {pam_truth:+.2f}); the share gaining 3 or more
  points differed by {resp_row['estimate']:+.1%} ({resp_row['ci_lower']:+.1%} to {resp_row['ci_upper']:+.1%}).
- By deprivation: Q1 minus Q5 difference in the effect on life satisfaction {ci(q_diff)}; equal effects
  across quintiles: p = {q_test['p_value']:.2f}. Gap in life satisfaction: **{gap_verdict}** (with the true
  effects: {true_gap_verdict}); few people receive a PHB, so the population gap can hardly move.
- {report.count(n_matched)} of {report.count(n_phb_baseline)} PHB recipients with a baseline score were matched;
  {response_rate:.0%} of matched people answered at six months. Weighting for non-response gives
  {ci(ipw_row)} for life satisfaction.
- Comparing with people who started other interventions instead would give a PAM "effect" of {ci(naive_pam)}
  against a true {pam_truth:+.2f}: pceval warns when the comparison group received another intervention.
\"\"\",
    headline_numbers={"Life satisfaction effect (0-10)": round(float(life_row["estimate"]), 2),
                      "True effect": round(truth["ons4_life_satisfaction"], 2),
                      "Anxiety effect (lower is better)": round(float(anx_row["estimate"]), 2)},
)
""", ["summary"]),
    ("md", """
### Technical notes

Baseline and six-month scores: `pceval.proms.wide_scores` (baseline within 30 days of the index date, follow-up
150-215 days after). Contamination: `pceval.proms.check_contamination` (any intervention from 30 days before to
215 days after the index date). Matching: `pceval.match` (1:1 nearest neighbour on a logistic propensity score,
caliper 0.2 SD, exact on IMD quintile and calendar year, without replacement). Effects: `pceval.proms.score_change` (ANCOVA by
weighted least squares, CR1 standard errors clustered on matched pairs, t intervals) and `pceval.proms.ons4_effects`;
responders: `pceval.proms.responders` (threshold 3 PAM points); equity: `pceval.inequality.equity_of_effect`.
""", ["appendix"]),
    ("code", """
report.show_table(by_q.to_frame()[["term", "estimate", "std_error", "ci_lower", "ci_upper", "scale", "n_treated",
                                   "n_comparison", "se_type"]],
                  caption="All rows of the life-satisfaction analysis by IMD quintile.",
                  counts=["n_treated", "n_comparison"], digits=3)
""", ["appendix"]),
]

if __name__ == "__main__":
    print(write("06_personal_health_budgets_and_wellbeing", CELLS))
