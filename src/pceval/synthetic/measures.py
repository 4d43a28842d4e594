"""Patient-reported outcomes and HbA1c, with exact counterfactuals.

Each measure is a latent score plus measurement noise, rounded and clipped to the instrument's
scale. The value a treated person would have had *without* the intervention uses the same noise
draw (common random numbers), so the true effect on the treated is known exactly on the
published (rounded, clipped) scale.

* PAM (Patient Activation Measure), 0-100, at the index date and 6 months later, for people who
  receive an intervention. Latent activation is lower with deprivation and conditions. Levels:
  1 (<= 47.0), 2 (47.1-55.1), 3 (55.2-67.0), 4 (>= 67.1) (Hibbard et al. 2005, Insignia Health).
* ONS4 personal wellbeing (life satisfaction, worthwhile, happy, anxiety; integers 0-10), at the
  same two time points.
* HbA1c (mmol/mol) for everybody with diabetes: routine tests about twice a year, whether
  treated or not, so that a difference-in-differences on a continuous outcome is possible.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pceval.synthetic.scenarios import INTERVENTIONS, Scenario

PAM_CUTS = (47.05, 55.15, 67.05)
ONS4 = ("ons4_life_satisfaction", "ons4_worthwhile", "ons4_happy", "ons4_anxiety")
FOLLOW_UP_MONTHS = 6


def _ramp(k: np.ndarray, ramp_months: int) -> np.ndarray:
    return np.clip(k / max(ramp_months, 1), 0.0, 1.0)


def _shift(scenario: Scenario, iv: np.ndarray, outcome: str, quint: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Additive effect for treated people with intervention index ``iv`` (1-based) k months after index."""
    out = np.zeros(len(iv))
    for j, name in enumerate(INTERVENTIONS):
        e = scenario.effect(name, outcome)
        sel = iv == j + 1
        if sel.any() and any(e.shift):
            out[sel] = np.asarray(e.shift)[quint[sel] - 1] * _ramp(k[sel], e.ramp_months)
    return out


def simulate_measures(rng: np.random.Generator, p: dict, sim, scenario: Scenario, months: int,
                      start_m: np.datetime64) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (measures, counterfactual) long tables.

    ``counterfactual`` has one row per published measurement of a treated person after their
    index: person_id, measure, months_since_index, value (observed), value_untreated.
    """
    len(p["age"])
    quint = (p["decile"] + 1) // 2
    dep = p["dep"]
    rows: list[pd.DataFrame] = []
    cf_rows: list[pd.DataFrame] = []

    # --- PROMs for treated people, at index (k = 0) and at follow-up (k = 6) ---------------
    treated = np.nonzero(sim.treat_iv > 0)[0]
    iv = sim.treat_iv[treated]
    q = quint[treated]
    t0 = sim.treat_month[treated]
    pam_latent = rng.normal(60 - 8 * dep[treated] - 1.5 * p["ltc"][treated], 9)
    ons_latent = {
        "ons4_life_satisfaction": 7.3 - 0.9 * dep[treated] - 0.25 * p["ltc"][treated]
        - 1.0 * p["cond"]["depression"][treated],
        "ons4_worthwhile": 7.6 - 0.6 * dep[treated] - 0.15 * p["ltc"][treated]
        - 0.8 * p["cond"]["depression"][treated],
        "ons4_happy": 7.2 - 0.7 * dep[treated] - 0.2 * p["ltc"][treated]
        - 1.0 * p["cond"]["depression"][treated],
        "ons4_anxiety": 3.2 + 0.7 * dep[treated] + 0.15 * p["ltc"][treated]
        + 1.5 * p["cond"]["depression"][treated],
    }
    person_sd = {m: rng.normal(0, 1.3, len(treated)) for m in ONS4}
    for k in (0, FOLLOW_UP_MONTHS):
        tm = t0 + k
        present = (tm < months) & (sim.exit_month[treated] > tm) & (rng.random(len(treated)) < (0.9 if k == 0 else 0.7))
        if not present.any():
            continue
        idx = np.nonzero(present)[0]
        kk = np.full(len(idx), k)
        day = np.minimum(sim.treat_day[treated[idx]] + rng.integers(0, 14, len(idx)), 27)
        date = (start_m + tm[idx].astype("timedelta64[M]")).astype("datetime64[D]") + day.astype("timedelta64[D]")
        specs = [("pam_score", pam_latent[idx], 5.0, 0, 100, 1)]
        specs += [(m, ons_latent[m][idx] + person_sd[m][idx], 1.0, 0, 10, 0) for m in ONS4]
        for name, latent, noise_sd, lo, hi, dec in specs:
            noise = rng.normal(0, noise_sd, len(idx))
            y0 = np.clip(np.round(latent + noise, dec), lo, hi)
            y1 = np.clip(np.round(latent + noise + _shift(scenario, iv[idx], name, q[idx], kk), dec), lo, hi)
            rows.append(pd.DataFrame({"person_id": treated[idx] + 1, "date": date, "measure": name,
                                      "value": y1, "timepoint": "baseline" if k == 0 else "follow_up"}))
            cf_rows.append(pd.DataFrame({"person_id": treated[idx] + 1, "measure": name,
                                         "months_since_index": k, "value": y1, "value_untreated": y0}))
            if name == "pam_score":
                level = 1 + np.searchsorted(PAM_CUTS, y1, side="right")
                level0 = 1 + np.searchsorted(PAM_CUTS, y0, side="right")
                rows.append(pd.DataFrame({"person_id": treated[idx] + 1, "date": date,
                                          "measure": "pam_level", "value": level.astype(float),
                                          "timepoint": "baseline" if k == 0 else "follow_up"}))
                cf_rows.append(pd.DataFrame({"person_id": treated[idx] + 1, "measure": "pam_level",
                                             "months_since_index": k, "value": level.astype(float),
                                             "value_untreated": level0.astype(float)}))

    # --- HbA1c for people with diabetes, routine tests ~ twice a year ---------------------
    diab = np.nonzero(p["cond"]["diabetes"] == 1)[0]
    if len(diab):
        mean = rng.normal(56 + 4 * dep[diab], 9)
        tested = rng.random((len(diab), months)) < 1 / 6
        t_grid = np.arange(months)
        in_reg = (t_grid[None, :] >= sim.reg_start[diab, None]) & (t_grid[None, :] < sim.exit_month[diab, None])
        di, tm = np.nonzero(tested & in_reg)
        who = diab[di]
        noise = rng.normal(0, 5, len(who))
        drift = 0.3 * tm / 12  # slow worsening over time
        y0 = np.round(np.maximum(mean[di] + drift + noise, 20), 0)
        k = tm - sim.treat_month[who]
        treated_after = (sim.treat_iv[who] > 0) & (k >= 0)
        shift = np.zeros(len(who))
        shift[treated_after] = _shift(scenario, sim.treat_iv[who][treated_after], "hba1c",
                                      quint[who][treated_after], k[treated_after])
        y1 = np.round(np.maximum(mean[di] + drift + noise + shift, 20), 0)
        day = rng.integers(0, 28, len(who))
        date = (start_m + tm.astype("timedelta64[M]")).astype("datetime64[D]") + day.astype("timedelta64[D]")
        rows.append(pd.DataFrame({"person_id": who + 1, "date": date, "measure": "hba1c",
                                  "value": y1, "timepoint": "routine"}))
        ta = treated_after
        cf_rows.append(pd.DataFrame({"person_id": who[ta] + 1, "measure": "hba1c",
                                     "months_since_index": k[ta], "value": y1[ta],
                                     "value_untreated": y0[ta]}))

    measures = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["person_id", "date", "measure", "value", "timepoint"])
    measures["date"] = measures["date"].astype("datetime64[ns]")
    measures = measures.sort_values(["person_id", "date", "measure"], kind="stable").reset_index(drop=True)
    cf = pd.concat(cf_rows, ignore_index=True) if cf_rows else pd.DataFrame(
        columns=["person_id", "measure", "months_since_index", "value", "value_untreated"])
    return measures, cf
