"""Write ``data_dictionary.md``: every column, the data-generating process and the true effects.

The dictionary is produced from the code and the data it describes, so it cannot drift.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pceval.synthetic import activity, measures, population, scenarios, truth

COLUMNS: dict[str, dict[str, str]] = {
    "people": {
        "person_id": "Unique person identifier (int).",
        "practice_id": "GP practice of registration (synthetic code Y9nnnn).",
        "pcn_id": "Primary care network of the practice (synthetic code U9nnnn).",
        "lsoa_code": "Lower-layer super output area of residence (synthetic code E019nnnnn; not a real LSOA).",
        "imd_decile": "Index of Multiple Deprivation 2019 national decile of the LSOA, 1 = most deprived.",
        "imd_quintile": "IMD 2019 national quintile, 1 = most deprived (deciles 1-2 = quintile 1).",
        "core20": "True if in the most deprived 20% nationally (IMD quintile 1): NHS England's Core20.",
        "date_of_birth": "First day of the month of birth.",
        "age": "Age in whole years at the data start.",
        "sex": "F or M.",
        "ethnic_group": "White, Asian, Black, Mixed or Other (ONS 5 groups); more minority groups in deprived areas.",
        **{c: f"1 if the person has {c.replace('_', ' ')} (fixed over the data window), else 0." for c in population.CONDITIONS},
        "ltc_count": "Number of the seven long-term conditions above.",
        "frailty_index": "Electronic-frailty-index-like score, 0-1.",
        "frailty": "fit (<= 0.12), mild (<= 0.24), moderate (<= 0.36), severe (> 0.36).",
        "registration_start": "Start of registration with the practice (data start, or later for people who move in).",
        "registration_end": "End of registration (deregistration or death); empty while still registered at the data end.",
        "death_date": "Date of death; empty if alive at the data end.",
    },
    "interventions": {
        "person_id": "Person receiving the intervention (at most one intervention per person).",
        "intervention": "pcsp, social_prescribing, phb, health_coaching or integrated_care.",
        "date": "Date the intervention started: the index date.",
        "pcn_id": "PCN delivering it (the person's PCN, live for this intervention by then).",
    },
    "events": {
        "person_id": "Person.",
        "date": "Date of the event. About 0.02% have no date, and a few are dated outside the person's "
                "registration (see the counts in metadata.json `quirks`): exclude them by a documented rule.",
        "type": "emergency_admission, ae_attendance, gp_appointment or outpatient_attendance (categorical).",
        "value": "Bed days for emergency admissions (0 = same-day discharge); empty for other types.",
    },
    "measures": {
        "person_id": "Person.",
        "date": "Date of the measurement.",
        "measure": "pam_score (0-100), pam_level (1-4), ons4_life_satisfaction, ons4_worthwhile, "
                   "ons4_happy, ons4_anxiety (0-10), hba1c (mmol/mol).",
        "value": "The measured value.",
        "timepoint": "baseline (at the index date) or follow_up (6 months later) for PROMs; routine for HbA1c.",
    },
    "truth": {
        "scenario": "The scenario the data were generated under.",
        "intervention": "Intervention.",
        "outcome": "Outcome.",
        "breakdown": "overall, imd_quintile or months_since_index.",
        "level": "all, the quintile (1-5) or the month since index.",
        "window_start": "First month since the index month included (0 = the index month).",
        "window_end": "Last month since the index month included.",
        "n_persons": "Treated people contributing.",
        "person_years": "Treated person-years at risk in the window (rate outcomes).",
        "value_treated": "Rate per 1,000 person-years (or mean score) of the treated, with the intervention.",
        "value_untreated": "The same people's rate (or mean score) had they not received it (counterfactual).",
        "absolute": "value_treated - value_untreated: the true absolute effect on the treated (ATT).",
        "relative": "value_treated / value_untreated: rate ratio (or ratio of means).",
        "unit": "Unit of value_treated, value_untreated and absolute.",
    },
    "rollout": {
        "pcn_id": "PCN.",
        "intervention": "Intervention.",
        "go_live": "First day of the month the PCN started offering it; empty = never within the data.",
        "go_live_month": "The same as months since the data start; -1 = never.",
    },
    "expected": {
        "person_id": "Treated person.",
        "month": "Calendar month (first day).",
        "months_since_index": "Months since the index month (0 = the index month).",
        "intervention": "The person's intervention.",
        "imd_quintile": "The person's IMD quintile.",
        "person_time": "Share of the month registered and alive.",
        **{f"untreated_{o}": f"Expected {o.replace('_', ' ')}s in the month without the intervention (x person_time)."
           for o in scenarios.RATE_OUTCOMES},
        **{f"treated_{o}": f"Expected {o.replace('_', ' ')}s in the month with the intervention (x person_time)."
           for o in scenarios.RATE_OUTCOMES},
    },
    "expected_measures": {
        "person_id": "Treated person.",
        "measure": "The measure.",
        "months_since_index": "Months since the index month of the measurement.",
        "value": "The published value (with the intervention).",
        "value_untreated": "The value the person would have had without it (same measurement noise).",
        "intervention": "The person's intervention.",
        "imd_quintile": "The person's IMD quintile.",
    },
}


def _md_table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


def _fmt(x: float, nd: int = 3) -> str:
    return "" if pd.isna(x) else f"{x:,.{nd}f}"


def data_dictionary(data: Any) -> str:
    p = data.params
    out: list[str] = []
    out.append("# Synthetic England: data dictionary\n")
    out.append(
        "Generated by `pceval.synthetic.generate` (written by the code itself; do not edit by hand).\n\n"
        f"This data set: {p['n_people']:,} people, scenario `{p['scenario']}`, seed {p['seed']}, "
        f"{p['months']} months from {p['start']}, {p['n_pcns']} PCNs of {p['practices_per_pcn']} "
        f"practices, IMD edition {p['imd_edition']}, inverse-care hazard ratio {p['inverse_care']}. "
        "All people, places and codes are synthetic.\n"
    )
    out.append("## Tables and columns\n")
    for table, cols in COLUMNS.items():
        df = getattr(data, table)
        out.append(f"### `{table}` ({len(df):,} rows)\n")
        rows: list[dict[str, object]] = [{"column": f"`{c}`", "type": str(df[c].dtype) if c in df else "", "description": d}
                for c, d in cols.items()]
        out.append(_md_table(pd.DataFrame(rows)) + "\n")

    out.append("## Data-generating process\n")
    for mod in (population, activity, measures, truth):
        doc = (mod.__doc__ or "").strip()
        out.append(f"### {mod.__name__.split('.')[-1]}\n\n{doc}\n")
    om = pd.DataFrame([
        {"outcome": k, "reference rate per month": _fmt(float(np.exp(m.log_rate)), 4),
         "per year of age > 40": m.age, "per LTC": m.ltc, "per unit frailty": m.frailty,
         "decile 1 vs 10 (rate ratio)": _fmt(float(np.exp(m.imd)), 2),
         "female": m.female, "winter peak": m.season, "trend per year": m.trend,
         "Apr-Jun 2020 (COVID-19)": m.covid}
        for k, m in activity.OUTCOME_MODELS.items()])
    out.append("Coefficients of the expected monthly rate (log scale unless stated):\n\n" + _md_table(om) + "\n")
    up = pd.DataFrame([
        {"intervention": k, "label": scenarios.INTERVENTION_LABELS[k], "base monthly hazard": u.base,
         "go-live window (months from start)": f"{u.window[0]}-{u.window[1]}",
         "PCNs never live": u.never_share}
        for k, u in activity.UPTAKE.items()])
    out.append(
        "Uptake. In a PCN that is live for an intervention, each untreated adult's monthly hazard of "
        "receiving it is the base hazard times exp(linear predictor); each person receives at most one "
        "intervention. Care planning goes to people with more long-term conditions and recent "
        "admissions; social prescribing to people with A&E attendances or admissions in the last two "
        "months (referral after a crisis), depression, older age and more deprivation; PHBs to frail "
        "people and people with dementia; health coaching to people with diabetes or COPD; the "
        "integrated-care scheme to frail, old people after an admission. Care planning and coaching "
        "follow an inverse care law (lower uptake in deprived areas, hazard ratio `inverse_care`).\n\n"
        + _md_table(up) + "\n"
    )

    out.append("## Scenarios\n")
    for s in scenarios.SCENARIOS.values():
        out.append(f"### `{s.name}`\n\n{s.description}\n")
        if s.effects:
            rows = [{"intervention": iv, "outcome": o,
                     "rate ratio Q1..Q5": ", ".join(f"{v:g}" for v in e.rr) if any(v != 1 for v in e.rr) else "",
                     "shift Q1..Q5": ", ".join(f"{v:g}" for v in e.shift) if any(e.shift) else "",
                     "months to full effect": e.ramp_months}
                    for (iv, o), e in s.effects.items()]
            out.append(_md_table(pd.DataFrame(rows)) + "\n")
        if s.trend is not None:
            out.append(f"Violation of parallel trends: in PCNs that go live with `{s.trend.intervention}`, "
                       f"the untreated rate of {', '.join(f'`{o}`' for o in s.trend.outcomes)} is "
                       f"multiplied by `exp({s.trend.slope:g} * (month - go-live month))`.\n")

    out.append(f"## True effects in this data set (scenario `{p['scenario']}`)\n")
    t = data.truth
    t = t[(t["breakdown"] == "overall") & (t["absolute"].abs() > 1e-12)]
    show = t[["intervention", "outcome", "window_start", "window_end", "n_persons", "value_treated",
              "value_untreated", "absolute", "relative", "unit"]].copy()
    for c in ("value_treated", "value_untreated", "absolute", "relative"):
        show[c] = show[c].map(_fmt)
    out.append(
        "Overall effects on the treated that are not zero (every other intervention-outcome pair has a "
        "true effect of exactly zero). Rates: months 0-11 after the index month; PROMs: the 6-month "
        "follow-up; HbA1c: tests in months 0-11. Breakdowns by IMD quintile and by month since index "
        "are in `truth.parquet`; `SyntheticData.true_effect()` gives the exact truth for any window "
        "or subset of treated people.\n\n" + _md_table(show) + "\n"
    )
    q = p.get("quirks", {})
    out.append("## Data-quality pitfalls built in\n\n" + "\n".join(f"- `{k}`: {v:,}" for k, v in q.items()) + "\n")
    return "\n".join(out)
