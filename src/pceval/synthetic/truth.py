"""True effects on the treated, computed from the generator's own counterfactuals.

For rate outcomes every treated person-month carries the expected count with the intervention
(``treated_<outcome>``) and without it (``untreated_<outcome>``), both already multiplied by the
person-time at risk. Over any set of treated person-months S::

    rate with intervention     R1 = sum_S treated   / sum_S person_time   (x 12,000 per 1,000 person-years)
    rate without intervention  R0 = sum_S untreated / sum_S person_time
    absolute effect            R1 - R0   (events per 1,000 person-years)
    relative effect            R1 / R0   (rate ratio)

For scores (PAM, ONS4, HbA1c) each published measurement of a treated person carries its value
and the value it would have had without the intervention (same noise draw)::

    absolute effect = mean(value - value_untreated),  relative = mean(value) / mean(value_untreated)

These are exact effects on the treated (ATT) in the simulated population, not estimates.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from pceval.synthetic.scenarios import INTERVENTIONS, RATE_OUTCOMES, SCORE_OUTCOMES

PER = 12_000.0  # monthly expected counts per person-month -> per 1,000 person-years
TRUTH_COLUMNS = [
    "scenario", "intervention", "outcome", "breakdown", "level", "window_start", "window_end",
    "n_persons", "person_years", "value_treated", "value_untreated", "absolute", "relative", "unit",
]


def _rate_truth(ex: pd.DataFrame, outcome: str, keys: list[str]) -> pd.DataFrame:
    g = ex.groupby(keys, observed=True)
    out = g.agg(
        n_persons=("person_id", "nunique"),
        person_time=("person_time", "sum"),
        treated=(f"treated_{outcome}", "sum"),
        untreated=(f"untreated_{outcome}", "sum"),
    ).reset_index()
    out["person_years"] = out["person_time"] / 12
    out["value_treated"] = out["treated"] / out["person_time"] * PER
    out["value_untreated"] = out["untreated"] / out["person_time"] * PER
    out["absolute"] = out["value_treated"] - out["value_untreated"]
    out["relative"] = out["treated"] / out["untreated"]
    out["unit"] = "per 1,000 person-years"
    return out.drop(columns=["person_time", "treated", "untreated"])


def _score_truth(cf: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    g = cf.groupby(keys, observed=True)
    out = g.agg(n_persons=("person_id", "nunique"), value_treated=("value", "mean"),
                value_untreated=("value_untreated", "mean")).reset_index()
    out["person_years"] = np.nan
    out["absolute"] = out["value_treated"] - out["value_untreated"]
    out["relative"] = out["value_treated"] / out["value_untreated"]
    out["unit"] = np.where(out["outcome"] == "hba1c", "mmol/mol",
                           np.where(out["outcome"].str.startswith("pam"), "PAM points", "points (0-10)"))
    return out


def rate_effects(expected: pd.DataFrame, window: tuple[int, int] = (0, 11),
                 by: Iterable[str] = (), outcomes: Iterable[str] = RATE_OUTCOMES) -> pd.DataFrame:
    """True effects on rate outcomes over months since index in ``window`` (inclusive)."""
    w = expected[expected["months_since_index"].between(*window)]
    frames = []
    for o in outcomes:
        r = _rate_truth(w, o, ["intervention", *by])
        r.insert(1, "outcome", o)
        frames.append(r)
    out = pd.concat(frames, ignore_index=True)
    out["window_start"], out["window_end"] = window
    return out


def score_effects(cf: pd.DataFrame, window: tuple[int, int], by: Iterable[str] = ()) -> pd.DataFrame:
    w = cf[cf["months_since_index"].between(*window)].rename(columns={"measure": "outcome"})
    out = _score_truth(w, ["intervention", "outcome", *by])
    out["window_start"], out["window_end"] = window
    return out


def build_truth(expected: pd.DataFrame, cf: pd.DataFrame, scenario: str,
                max_months: int = 36) -> pd.DataFrame:
    """The truth table: overall and by IMD quintile over months 0-11 since index (PROMs: the
    6-month follow-up), and by month since index 0..``max_months - 1``."""
    parts = []
    for by, label in (([], "overall"), (["imd_quintile"], "imd_quintile")):
        r = rate_effects(expected, (0, 11), by)
        r["breakdown"] = label
        r["level"] = r["imd_quintile"].astype(str) if by else "all"
        parts.append(r)
        s_prom = score_effects(cf[cf["measure"] != "hba1c"], (6, 6), by)
        s_hba = score_effects(cf[cf["measure"] == "hba1c"], (0, 11), by)
        for s in (s_prom, s_hba):
            s["breakdown"] = label
            s["level"] = s["imd_quintile"].astype(str) if by else "all"
            parts.append(s)
    ex = expected[expected["months_since_index"] < max_months]
    r = rate_effects(ex, (0, max_months - 1), ["months_since_index"])
    r["breakdown"] = "months_since_index"
    r["level"] = r["months_since_index"].astype(str)
    r["window_start"] = r["window_end"] = r["months_since_index"]
    parts.append(r)
    hb = cf[(cf["measure"] == "hba1c") & (cf["months_since_index"] < max_months)]
    s = score_effects(hb, (0, max_months - 1), ["months_since_index"])
    s["breakdown"] = "months_since_index"
    s["level"] = s["months_since_index"].astype(str)
    s["window_start"] = s["window_end"] = s["months_since_index"]
    parts.append(s)
    truth = pd.concat(parts, ignore_index=True)
    truth["scenario"] = scenario
    truth = truth[TRUTH_COLUMNS]
    order = {name: i for i, name in enumerate(INTERVENTIONS)}
    out_order = {name: i for i, name in enumerate(RATE_OUTCOMES + SCORE_OUTCOMES + ("pam_level",))}
    bd = {"overall": 0, "imd_quintile": 1, "months_since_index": 2}
    truth = truth.assign(
        _i=truth["intervention"].map(order), _o=truth["outcome"].map(out_order),
        _b=truth["breakdown"].map(bd), _w=truth["window_start"],
        _l=pd.to_numeric(truth["level"], errors="coerce").fillna(-1),
    ).sort_values(["_i", "_o", "_b", "_w", "_l"]).drop(columns=["_i", "_o", "_b", "_w", "_l"])
    return truth.reset_index(drop=True)
