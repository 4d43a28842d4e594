"""Notebook 0: a tour of the synthetic ICB (who lives there, their hospital use, the true effects)."""

from nbtools import write

CELLS = [
    ("md", """
# A tour of synthetic England

**What this is.** pceval ships with a synthetic integrated care board (ICB): people registered with GP
practices in primary care networks (PCNs), their long-term conditions, their hospital and GP use month by
month, and who received which personalised-care intervention. Nobody in it is real. Because the data are
generated, **the true effect of every intervention is known**, so every method in pceval can be checked
against the right answer. This report shows what the population looks like and what the true effects are.
""", None),
    ("code", """
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from IPython.display import Markdown, display
from plotnine import (aes, element_text, facet_wrap, geom_col, geom_hline, geom_line, geom_point, geom_text,
                      geom_tile, geom_vline, ggplot, labs, scale_colour_identity, scale_fill_manual, scale_x_continuous,
                      scale_x_datetime,
                      scale_y_continuous, theme)

from pceval import report, synthetic
from pceval.plots import (NEVER_COLOUR, NHS_COLOURS, ORDERED_COLOURS, scale_colour_imd, scale_fill_imd,
                          scale_linetype_imd, scale_shape_imd, theme_nhs)

# third-party deprecation notices are not findings; pceval's own warnings are shown in the appendix
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)
DATA = Path(os.environ.get("PCEVAL_DATA", "../synthetic_data"))
data = synthetic.load(DATA)
people, events, interventions, truth = data.people, data.events, data.interventions, data.truth
pd.set_option("display.precision", 2)
""", ["remove"]),
    ("code", """
# --- numbers for the summary (all computed here, none typed) ---------------------------------------
n_people = len(people)
n_pcns = people["pcn_id"].nunique()
end = data.data_end
# events count only while the person was registered (data-quality problems: see the appendix)
reg = people.set_index("person_id")[["registration_start", "registration_end"]]
ev_start = events["person_id"].map(reg["registration_start"])
ev_stop = events["person_id"].map(reg["registration_end"]).fillna(end)
valid = events[events["date"].notna() & (events["date"] >= ev_start) & (events["date"] <= ev_stop)]
stop = people["registration_end"].fillna(end)
people = people.assign(person_years=((stop - people["registration_start"]).dt.days + 1) / 365.25)
adm = valid[valid["type"] == "emergency_admission"].groupby("person_id").size()
people["admissions"] = people["person_id"].map(adm).fillna(0)
people["age_band"] = pd.cut(people["age"], [0, 18, 45, 65, 75, 85, 120], right=False,
                            labels=["0-17", "18-44", "45-64", "65-74", "75-84", "85+"])
fit = smf.glm("admissions ~ C(age_band) + sex + C(imd_quintile, Treatment(5))", data=people,
              family=sm.families.Poisson(), offset=np.log(people["person_years"])).fit(cov_type="HC0")
rr_q1 = float(np.exp(fit.params["C(imd_quintile, Treatment(5))[T.1]"]))
rr_q1_ci = np.exp(fit.conf_int().loc["C(imd_quintile, Treatment(5))[T.1]"]).to_numpy()
t_pcsp = truth.query("breakdown == 'imd_quintile' and intervention == 'pcsp' "
                     "and outcome == 'emergency_admission'").set_index("level")
t_sp = truth.query("breakdown == 'overall' and intervention == 'social_prescribing' "
                   "and outcome == 'ae_attendance'").iloc[0]
n_treated = len(interventions)

report.bottom_line_box(
    f"**A synthetic ICB of {report.count(n_people)} people in which hospital use follows deprivation and the "
    "true effect of every intervention is known.**",
    questions={
        "What is in it?": (f"{report.count(n_people)} people in {n_pcns} primary care networks, followed for "
                           f"{data.params['months']} months from {data.data_start:%B %Y}. "
                           f"{report.count(n_treated)} people received a personalised-care intervention, rolled "
                           "out PCN by PCN."),
        "Hospital use and deprivation": (f"People in the most deprived fifth of areas (IMD quintile 1) have "
                                         f"**{rr_q1:.2f} times** the emergency admission rate of the least "
                                         f"deprived fifth at the same age and sex (95% CI {rr_q1_ci[0]:.2f} to "
                                         f"{rr_q1_ci[1]:.2f})."),
        "The true effects": (f"In scenario `{data.params['scenario']}`, care and support planning cuts emergency "
                             f"admissions in its first year by {1 - t_pcsp.loc['1', 'relative']:.0%} in the most "
                             f"deprived quintile and by {1 - t_pcsp.loc['5', 'relative']:.0%} in the least deprived: "
                             f"it narrows the gap. Social prescribing's true effect on A&E attendances is "
                             f"{t_sp['absolute']:.0f} per 1,000 people a year, although a before-after look would "
                             "suggest a large fall (report 2)."),
        "What it is for": ("Testing methods against a known answer. It is not evidence about real services: the "
                           "gradients were set to resemble published English figures, not estimated from records."),
    },
    headline_numbers={
        "People": n_people,
        "Emergency admission rate ratio, most vs least deprived": (round(rr_q1, 2), rr_q1_ci[0], rr_q1_ci[1]),
        "People receiving an intervention": n_treated,
    },
)
""", ["summary"]),
    ("md", """
## 1. Who lives where

Each person lives in a small area (LSOA) with a national Index of Multiple Deprivation (IMD 2019) decile;
quintile 1 is the most deprived fifth of England (NHS England's *Core20*). PCNs serve socially coherent
areas, so some PCNs are much more deprived than others, as in real ICBs.
""", None),
    ("code", """
by_q = people.groupby("imd_quintile").agg(
    people=("person_id", "size"), mean_age=("age", "mean"),
    aged_65_plus=("age", lambda a: (a >= 65).mean() * 100),
    non_white=("ethnic_group", lambda e: (e != "White").mean() * 100),
).reset_index().rename(columns={"mean_age": "mean age", "aged_65_plus": "% aged 65+",
                                "non_white": "% from an ethnic minority"})
report.show_table(by_q, caption="People by IMD 2019 quintile (1 = most deprived).", counts=["people"], digits=1)
""", None),
    ("code", """
pcn = people.groupby("pcn_id").agg(mean_decile=("imd_decile", "mean"),
                                   share_core20=("core20", "mean")).reset_index()
pcn = pcn.sort_values("mean_decile").assign(pcn_id=lambda d: pd.Categorical(d["pcn_id"], d["pcn_id"]))
report.show_figure(
    ggplot(pcn, aes("pcn_id", "share_core20 * 100")) + geom_col(fill=NHS_COLOURS["blue"])
    + labs(x="Primary care network (most to least deprived)", y="% of patients in Core20 areas",
           title="PCNs differ in deprivation")
    + theme_nhs() + theme(axis_text_x=element_text(rotation=90, size=8)),
    alt=f"PCNs differ in deprivation: the share of patients in Core20 areas ranges from "
        f"{pcn['share_core20'].min():.0%} to {pcn['share_core20'].max():.0%} across the {n_pcns} PCNs")
""", None),
    ("md", """
## 2. Long-term conditions arrive earlier in deprived areas

Multimorbidity (two or more long-term conditions) arrives 10-15 years earlier in the most deprived areas, as
Barnett and colleagues found in Scotland (Lancet 2012). The chart shows the share of people with two or more
of the seven conditions by age, for each IMD quintile.
""", None),
    ("code", """
mm = (people.assign(multimorbid=people["ltc_count"] >= 2, age5=(people["age"] // 5) * 5)
      .query("age5 <= 90").groupby(["imd_quintile", "age5"])["multimorbid"].mean().mul(100).reset_index())
mm["imd_quintile"] = mm["imd_quintile"].astype(str)
at65 = mm[mm["age5"] == 65].set_index("imd_quintile")["multimorbid"]
report.show_figure(
    ggplot(mm, aes("age5", "multimorbid", colour="imd_quintile", linetype="imd_quintile", shape="imd_quintile"))
    + geom_line(size=0.9) + geom_point(size=1.8)
    + scale_colour_imd() + scale_linetype_imd() + scale_shape_imd()
    + labs(x="Age (5-year bands, years)", y="% with 2+ long-term conditions", colour="IMD quintile",
           linetype="IMD quintile", shape="IMD quintile", title="Multimorbidity by age and deprivation")
    + theme_nhs(),
    alt=f"Multimorbidity rises with age and arrives earlier in deprived areas: at 65-69, "
        f"{at65.get('1', float('nan')):.0f}% in the most deprived quintile against {at65.get('5', float('nan')):.0f}% "
        "in the least deprived")
conditions = ["hypertension", "diabetes", "asthma", "depression", "copd", "heart_failure", "dementia"]
adults = people[people["age"] >= 18]
prev = adults.groupby("imd_quintile")[conditions].mean().mul(100).round(1).reset_index()
report.show_table(prev.rename(columns={"copd": "COPD", "heart_failure": "heart failure"}),
                  caption="Crude prevalence (%) of each condition among adults by IMD quintile.", digits=1)
""", None),
    ("md", """
## 3. Hospital use by deprivation

Emergency admissions rise steeply with age and, at every age, with deprivation. Rates are per 1,000
person-years (1,000 people followed for a year), counting only the time people were registered and alive.
""", None),
    ("code", """
rates = people.groupby(["age_band", "imd_quintile"], observed=True).agg(
    admissions=("admissions", "sum"), person_years=("person_years", "sum")).reset_index()
rates["rate"] = rates["admissions"] / rates["person_years"] * 1000
rates["imd_quintile"] = rates["imd_quintile"].astype(str)
report.show_figure(
    ggplot(rates, aes("age_band", "rate", colour="imd_quintile", group="imd_quintile", linetype="imd_quintile",
                      shape="imd_quintile"))
    + geom_line(size=0.9) + geom_point(size=2) + scale_colour_imd() + scale_linetype_imd() + scale_shape_imd()
    + labs(x="Age band (years)", y="Emergency admissions\\nper 1,000 people a year", colour="IMD quintile",
           linetype="IMD quintile", shape="IMD quintile", title="Emergency admissions by age and deprivation")
    + theme_nhs(),
    alt="Emergency admissions rise with age and, within each age band, are highest in the most deprived quintile")
report.show_table(
    rates[["age_band", "imd_quintile", "admissions", "person_years", "rate"]],
    caption="Emergency admissions by age band and IMD quintile: counts, person-years at risk and the "
            "rate per 1,000 person-years (recomputed from the protected counts).",
    counts=["admissions"], rates={"rate": ("admissions", "person_years", 1000)}, digits=1,
)
""", None),
    ("code", """
monthly = (valid.assign(month=valid["date"].dt.to_period("M").dt.to_timestamp())
           .groupby(["month", "type"]).size().rename("events").reset_index())
monthly["type"] = monthly["type"].str.replace("_", " ").str.replace("ae ", "A&E ")
first_year = monthly[monthly["month"] < data.data_start + pd.DateOffset(months=12)].groupby("type")["events"].sum()
last_year = monthly[monthly["month"] > end - pd.DateOffset(months=12)].groupby("type")["events"].sum()
change = (last_year / first_year - 1).sort_values()
trend = "; ".join(f"{t} {'rose' if c > 0 else 'fell'} {abs(c):.0%}" for t, c in change.items())
display(Markdown(
    "Month by month, activity is seasonal (a winter peak) and fell sharply in the first COVID-19 lockdown "
    "(April-June 2020). The number of events also changes over the years as the registered population ages, "
    f"dies and moves: from the first year of the data to the last, {trend}. A before-after comparison of "
    "treated people would mistake any of these for an effect."))
report.show_figure(
    ggplot(monthly, aes("month", "events")) + geom_line(colour=NHS_COLOURS["blue"])
    + facet_wrap("~type", scales="free_y", ncol=2)
    + scale_x_datetime(date_breaks="2 years", date_labels="%Y")
    + labs(x="", y="Events per month", title="Activity over time") + theme_nhs(),
    alt=f"Monthly activity by type: seasonal, with a dip in spring 2020; first to last year, {trend}")
""", None),
    ("md", """
## 4. Who receives each intervention

Each PCN starts offering each intervention in a different quarter (a staggered roll-out); some never do within
the data, which gives a never-treated comparison group. Within a live PCN, who is offered an intervention
depends on age, conditions, recent hospital use and deprivation.
""", None),
    ("code", """
ro = data.rollout.assign(go_live_year=lambda d: d["go_live"].dt.year.map(
    lambda y: "never" if pd.isna(y) else str(int(y))))
years = sorted(y for y in ro["go_live_year"].unique() if y != "never")
palette = {y: ORDERED_COLOURS[i % len(ORDERED_COLOURS)] for i, y in enumerate(years)} | {"never": NEVER_COLOUR}
ro["label"] = ro["go_live_year"].str.replace("never", "-").str[-2:]
ro["intervention"] = ro["intervention"].str.replace("_", " ")
ro["text_colour"] = np.where(ro["go_live_year"] == "never", "#212b32", "white")
n_never = ro.groupby("intervention")["go_live_year"].apply(lambda s: int((s == "never").sum()))
report.show_figure(
    ggplot(ro, aes("intervention", "pcn_id", fill="go_live_year")) + geom_tile(colour="white")
    + geom_text(aes(label="label", colour="text_colour"), size=7) + scale_fill_manual(values=palette)
    + scale_colour_identity()
    + labs(x="", y="PCN", fill="Go-live year", title="Staggered roll-out across PCNs")
    + theme_nhs() + theme(axis_text_y=element_text(size=7), axis_text_x=element_text(rotation=20)),
    alt="Roll-out of each intervention across PCNs, labelled with the last two digits of the go-live year ('-' = "
        "never live): " + "; ".join(f"{k}: {v} PCNs never live" for k, v in n_never.items()))
uptake = (interventions.merge(people[["person_id", "imd_quintile"]])
          .groupby(["intervention", "imd_quintile"]).size().rename("people").reset_index())
wide = uptake.pivot(index="intervention", columns="imd_quintile", values="people").reset_index()
wide.columns = ["intervention"] + [f"Q{q}" for q in wide.columns[1:]]
wide["intervention"] = wide["intervention"].str.replace("_", " ")
report.show_table(wide, caption="People receiving each intervention by IMD quintile (Q1 = most deprived).",
                  counts=[c for c in wide.columns if c.startswith("Q")])
""", None),
    ("md", """
**Referral after a crisis.** People are referred to social prescribing after A&E attendances. Their A&E use
peaks just before referral and then falls back whether or not social prescribing does anything: regression
to the mean. The grey line marks the referral month.
""", None),
    ("code", """
sp = interventions.query("intervention == 'social_prescribing'")[["person_id", "date"]]
ae = valid.query("type == 'ae_attendance'").merge(sp.rename(columns={"date": "index_date"}))
ae["rel_month"] = (ae["date"].dt.to_period("M") - ae["index_date"].dt.to_period("M")).map(lambda d: d.n)
curve = (ae.query("-12 <= rel_month <= 12").groupby("rel_month").size() / len(sp) * 1000).rename(
    "per_1000").reset_index()
peak = curve.loc[curve["per_1000"].idxmax()]
report.show_figure(
    ggplot(curve, aes("rel_month", "per_1000")) + geom_line(colour=NHS_COLOURS["blue"], size=1) + geom_point()
    + geom_vline(xintercept=0, colour="grey") + labs(
        x="Months since referral to social prescribing", y="A&E attendances\\nper 1,000 referred people a month",
        title="A crisis, then regression to the mean") + theme_nhs(),
    alt=f"A&E attendances of referred people peak at {peak['per_1000']:.0f} per 1,000 a month "
        f"{abs(int(peak['rel_month']))} month(s) before referral, then fall back")
""", None),
    ("md", """
## 5. The true effects

The generator keeps, for every treated person and month, the expected number of events with and without the
intervention. The table gives the true average effect on the treated in the first year after the index month
(PROMs: at the 6-month follow-up) for every intervention and outcome where it is not zero.
""", None),
    ("code", """
UNIT_WORDS = {"PAM points": "PAM points (score 0-100)"}
t = truth.query("breakdown == 'overall' and abs(absolute) > 1e-9")[
    ["intervention", "outcome", "value_untreated", "value_treated", "absolute", "relative", "unit"]].copy()
# the PAM level is one of four levels, not a score in points
t["unit"] = np.where(t["outcome"] == "pam_level", "PAM level (1-4)", t["unit"].replace(UNIT_WORDS))
t["intervention"] = t["intervention"].str.replace("_", " ")
t["outcome"] = t["outcome"].str.replace("_", " ")
report.show_table(t.rename(columns={"value_untreated": "without", "value_treated": "with",
                                    "absolute": "difference", "relative": "ratio"}),
                  caption=f"True effects on the treated, scenario `{data.params['scenario']}`.", digits=3)
byq = truth.query("breakdown == 'imd_quintile' and intervention == 'pcsp' and outcome == 'emergency_admission'")
report.show_figure(
    ggplot(byq, aes("level", "absolute", fill="level")) + geom_col() + scale_fill_imd()
    + geom_hline(yintercept=0) + labs(
        x="IMD quintile (1 = most deprived)", y="Change in emergency admissions\\nper 1,000 people a year",
        title="Care planning: true effect by deprivation (first year)") + theme_nhs()
    + theme(legend_position="none"),
    alt=f"True effect of care planning by quintile: {byq['absolute'].iloc[0]:.0f} per 1,000 people a year in the "
        f"most deprived quintile and {byq['absolute'].iloc[-1]:.0f} in the least deprived")
ms = truth.query("breakdown == 'months_since_index' and intervention == 'pcsp' "
                 "and outcome == 'emergency_admission'").astype({"level": int})
report.show_figure(
    ggplot(ms, aes("level", "relative")) + geom_line(colour=NHS_COLOURS["blue"], size=1) + geom_hline(yintercept=1)
    + scale_y_continuous(limits=(0.6, 1.05)) + scale_x_continuous(breaks=range(0, 37, 6))
    + labs(x="Months since the index month", y="True rate ratio (1 = no effect)",
           title="Care planning: the effect builds up over six months") + theme_nhs(),
    alt=f"The true rate ratio of care planning falls from {ms['relative'].iloc[0]:.2f} in the first month to "
        f"{ms['relative'].min():.2f}")
""", None),
    ("md", """
## Limitations

- Everything here is synthetic. The gradients were set to resemble published English figures, not estimated
  from real records; the data are for testing methods, not for drawing conclusions about services.
- Long-term conditions are fixed over the six years; each person receives at most one intervention.
- PCNs are smaller than real ones so that a staggered design has enough PCNs.
- See `synthetic_data/data_dictionary.md` for every column and the full data-generating process.
""", ["appendix"]),
    ("md", "### Data, software and warnings", ["appendix"]),
    ("code", """
report.show_provenance(data)
""", ["appendix"]),
]

if __name__ == "__main__":
    print(write("00_tour_of_synthetic_england", CELLS))
