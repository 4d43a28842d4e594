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
* A comparison survey (:func:`_survey`): 10% of adults with a long-term condition complete PAM and
  ONS4 once, at a random month while registered and not yet treated (their baseline), and 70% of
  them again 6 months later, so that the people who received an intervention can be compared with
  people eligible at the same time who had not. Their scores follow the same latent model; a
  respondent who received an intervention between the two surveys carries its effect at follow-up
  (the contamination an analysis must look for). The survey uses its own random stream (a jump
  ahead of the generator's), so adding it changed no other table; it is not part of the truth
  table (the truth is the effect on the treated at their own follow-up).
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd

from pceval.synthetic.scenarios import INTERVENTIONS, Scenario

PAM_CUTS = (47.05, 55.15, 67.05)
ONS4 = ("ons4_life_satisfaction", "ons4_worthwhile", "ons4_happy", "ons4_anxiety")
FOLLOW_UP_MONTHS = 6


def _ramp(k: np.ndarray, ramp_months: int) -> np.ndarray:
    """Share of the full effect k months after index: ``clip(k / max(ramp_months, 1), 0, 1)``."""
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


# instrument: (measurement noise sd, lowest, highest, decimals); PAM first, then ONS4
_PROM_SCALES = {"pam_score": (5.0, 0, 100, 1), **{m: (1.0, 0, 10, 0) for m in ONS4}}
_RESPONSE = {0: 0.9, FOLLOW_UP_MONTHS: 0.7}  # share of treated people measured at each time point
_MEASURE_COLUMNS = ["person_id", "date", "measure", "value", "timepoint"]
_CF_COLUMNS = ["person_id", "measure", "months_since_index", "value", "value_untreated"]


def simulate_measures(rng: np.random.Generator, p: dict, sim, scenario: Scenario, months: int,
                      start_m: np.datetime64) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (measures, counterfactual) long tables.

    ``counterfactual`` has one row per published measurement of a treated person after their
    index: person_id, measure, months_since_index, value (observed), value_untreated.
    Random numbers are drawn in this order: the PROMs (:func:`_proms`), then HbA1c (:func:`_hba1c`).
    """
    quint = (p["decile"] + 1) // 2
    survey_rng = np.random.Generator(cast(Any, rng.bit_generator).jumped())  # own stream: rng is not advanced
    rows, cf_rows = _proms(rng, p, sim, scenario, months, start_m, quint)
    rows += _survey(survey_rng, p, sim, scenario, months, start_m, quint)
    hba1c = _hba1c(rng, p, sim, scenario, months, start_m, quint)
    if hba1c is not None:
        rows.append(hba1c[0])
        cf_rows.append(hba1c[1])
    measures = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=_MEASURE_COLUMNS)
    measures["date"] = measures["date"].astype("datetime64[ns]")
    measures = measures.sort_values(["person_id", "date", "measure"], kind="stable").reset_index(drop=True)
    cf = pd.concat(cf_rows, ignore_index=True) if cf_rows else pd.DataFrame(columns=_CF_COLUMNS)
    return measures, cf


def _dates(start_m: np.datetime64, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Calendar date of day ``day`` (0-based) of month index ``month`` from the data start."""
    return (start_m + month.astype("timedelta64[M]")).astype("datetime64[D]") + day.astype("timedelta64[D]")


def _published(person_id: np.ndarray, date: np.ndarray, measure: str, value: np.ndarray,
               timepoint: str) -> pd.DataFrame:
    """Rows of the ``measures`` table (the observed values)."""
    return pd.DataFrame({"person_id": person_id, "date": date, "measure": measure, "value": value,
                         "timepoint": timepoint})


def _counterfactual(person_id: np.ndarray, measure: str, k, value: np.ndarray,
                    value_untreated: np.ndarray) -> pd.DataFrame:
    """Rows of the counterfactual table: observed and untreated value, ``k`` months after index."""
    return pd.DataFrame({"person_id": person_id, "measure": measure, "months_since_index": k,
                         "value": value, "value_untreated": value_untreated})


def _proms(rng: np.random.Generator, p: dict, sim, scenario: Scenario, months: int,
           start_m: np.datetime64, quint: np.ndarray) -> tuple[list[pd.DataFrame], list[pd.DataFrame]]:
    """PAM and ONS4 of treated people at index (k = 0) and 6 months later, as lists of row pieces.

    Draws the latent scores (:func:`_prom_latents`), then per time point who is measured and when
    (:func:`_prom_visits`) and their scores (:func:`_prom_scores`).
    """
    treated = np.nonzero(sim.treat_iv > 0)[0]
    latent = _prom_latents(rng, p, treated)
    rows: list[pd.DataFrame] = []
    cf_rows: list[pd.DataFrame] = []
    for k in (0, FOLLOW_UP_MONTHS):
        visits = _prom_visits(rng, sim, treated, k, months, start_m)
        if visits is None:
            continue
        idx, date = visits
        who = treated[idx]
        r, c = _prom_scores(rng, scenario, who, sim.treat_iv[who], quint[who],
                            {m: v[idx] for m, v in latent.items()}, k, date)
        rows += r
        cf_rows += c
    return rows, cf_rows


def _prom_scores(rng: np.random.Generator, scenario: Scenario, who: np.ndarray, iv: np.ndarray,
                 q: np.ndarray, latent: dict[str, np.ndarray], k: int,
                 date: np.ndarray) -> tuple[list[pd.DataFrame], list[pd.DataFrame]]:
    """The scores of people ``who`` (0-based) measured k months after index: for each instrument in
    turn (PAM, then ONS4) the score with and without the intervention (:func:`_observe`), and
    after the PAM score its level (:func:`_pam_level`)."""
    pid, kk = who + 1, np.full(len(who), k)
    timepoint = "baseline" if k == 0 else "follow_up"
    rows, cf_rows = [], []
    for name, (noise_sd, lo, hi, dec) in _PROM_SCALES.items():
        y0, y1 = _observe(rng, latent[name], noise_sd, lo, hi, dec, _shift(scenario, iv, name, q, kk))
        rows.append(_published(pid, date, name, y1, timepoint))
        cf_rows.append(_counterfactual(pid, name, k, y1, y0))
        if name == "pam_score":
            rows.append(_published(pid, date, "pam_level", _pam_level(y1), timepoint))
            cf_rows.append(_counterfactual(pid, "pam_level", k, _pam_level(y1), _pam_level(y0)))
    return rows, cf_rows


def _prom_latents(rng: np.random.Generator, p: dict, treated: np.ndarray) -> dict[str, np.ndarray]:
    """Each treated person's latent score on each instrument.

    PAM: ``N(60 - 8 dep - 1.5 ltc, 9^2)``. ONS4 (with ``D`` = depression): life satisfaction
    ``7.3 - 0.9 dep - 0.25 ltc - 1.0 D``, worthwhile ``7.6 - 0.6 dep - 0.15 ltc - 0.8 D``, happy
    ``7.2 - 0.7 dep - 0.2 ltc - 1.0 D``, anxiety ``3.2 + 0.7 dep + 0.15 ltc + 1.5 D``, each plus a
    person effect ``N(0, 1.3^2)``. Draws the PAM latents, then the person effects in ONS4 order.
    """
    dep, ltc, depression = p["dep"][treated], p["ltc"][treated], p["cond"]["depression"][treated]
    pam_latent = rng.normal(60 - 8 * dep - 1.5 * ltc, 9)
    ons_latent = {
        "ons4_life_satisfaction": 7.3 - 0.9 * dep - 0.25 * ltc - 1.0 * depression,
        "ons4_worthwhile": 7.6 - 0.6 * dep - 0.15 * ltc - 0.8 * depression,
        "ons4_happy": 7.2 - 0.7 * dep - 0.2 * ltc - 1.0 * depression,
        "ons4_anxiety": 3.2 + 0.7 * dep + 0.15 * ltc + 1.5 * depression,
    }
    person_sd = {m: rng.normal(0, 1.3, len(treated)) for m in ONS4}
    return {"pam_score": pam_latent, **{m: ons_latent[m] + person_sd[m] for m in ONS4}}


def _prom_visits(rng: np.random.Generator, sim, treated: np.ndarray, k: int, months: int,
                 start_m: np.datetime64) -> tuple[np.ndarray, np.ndarray] | None:
    """Who among ``treated`` is measured k months after index, and when (``None``: nobody).

    Measured if month ``index + k`` is inside the data and before their exit, with probability 0.9
    at index and 0.7 at follow-up; on day ``min(index day + U{0..13}, 27)`` of that month.
    """
    tm = sim.treat_month[treated] + k
    present = (tm < months) & (sim.exit_month[treated] > tm) & (rng.random(len(treated)) < _RESPONSE[k])
    if not present.any():
        return None
    idx = np.nonzero(present)[0]
    day = np.minimum(sim.treat_day[treated[idx]] + rng.integers(0, 14, len(idx)), 27)
    return idx, _dates(start_m, tm[idx], day)


def _observe(rng: np.random.Generator, latent: np.ndarray, noise_sd: float, lo: float, hi: float,
             dec: int, shift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Published score without and with the intervention, from one noise draw (common random numbers):
    ``y0 = clip(round(latent + e, dec), lo, hi)``, ``y1 = clip(round(latent + e + shift, dec), lo, hi)``,
    ``e ~ N(0, noise_sd^2)``, ``shift`` the additive effect (:func:`_shift`)."""
    noise = rng.normal(0, noise_sd, len(latent))
    y0 = np.clip(np.round(latent + noise, dec), lo, hi)
    y1 = np.clip(np.round(latent + noise + shift, dec), lo, hi)
    return y0, y1


def _pam_level(score: np.ndarray) -> np.ndarray:
    """PAM level 1-4 of a score: 1 (<= 47.0), 2 (47.1-55.1), 3 (55.2-67.0), 4 (>= 67.1), as float."""
    return (1 + np.searchsorted(PAM_CUTS, score, side="right")).astype(float)


SURVEY_SHARE = 0.1  # share of adults with a long-term condition in the comparison survey


def _survey(rng: np.random.Generator, p: dict, sim, scenario: Scenario, months: int,
            start_m: np.datetime64, quint: np.ndarray) -> list[pd.DataFrame]:
    """The comparison survey: PAM and ONS4 of a sample of adults with a long-term condition.

    Sampled with probability :data:`SURVEY_SHARE` among people aged 18+ at the data start with at
    least one condition; baseline in a month ``U{reg_start .. exit_month - 1}``, kept only if the
    person had not been treated by then; follow-up 6 months later if still registered and inside
    the data, with probability 0.7. Latent scores as :func:`_prom_latents`; the follow-up of a
    respondent treated between the surveys carries the intervention's effect ``k`` months after
    their index (:func:`_shift`). Draws, in order: the sample, the months, the latents, the
    follow-up response, the days, then the noise of each instrument at each time point.
    """
    eligible = (p["age"] >= 18) & (p["ltc"] >= 1)
    who = np.nonzero(eligible & (rng.random(len(eligible)) < SURVEY_SHARE))[0]
    lo, hi = sim.reg_start[who], np.minimum(sim.exit_month[who], months)
    month = lo + np.floor(rng.random(len(who)) * np.maximum(hi - lo, 0)).astype(np.int64)
    untreated_then = (sim.treat_iv[who] == 0) | (sim.treat_month[who] > month)
    keep = untreated_then & (hi > lo)
    who, month = who[keep], month[keep]
    latent = _prom_latents(rng, p, who)
    fu = month + FOLLOW_UP_MONTHS
    responds = (fu < months) & (sim.exit_month[who] > fu) & (rng.random(len(who)) < _RESPONSE[FOLLOW_UP_MONTHS])
    day = rng.integers(0, 28, len(who))
    k_fu = fu - sim.treat_month[who]
    got = (sim.treat_iv[who] > 0) & (k_fu >= 0) & (sim.treat_month[who] > month)
    rows = []
    for sel, when, timepoint in ((np.ones(len(who), bool), month, "baseline"), (responds, fu, "follow_up")):
        iv = np.where(got & (timepoint == "follow_up"), sim.treat_iv[who], 0)[sel]
        date = _dates(start_m, when[sel], day[sel])
        for name, (noise_sd, lo_s, hi_s, dec) in _PROM_SCALES.items():
            _, y = _observe(rng, latent[name][sel], noise_sd, lo_s, hi_s, dec,
                            _shift(scenario, iv, name, quint[who][sel], k_fu[sel]))
            rows.append(_published(who[sel] + 1, date, name, y, timepoint))
            if name == "pam_score":
                rows.append(_published(who[sel] + 1, date, "pam_level", _pam_level(y), timepoint))
    return rows


def _hba1c(rng: np.random.Generator, p: dict, sim, scenario: Scenario, months: int,
           start_m: np.datetime64, quint: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Routine HbA1c (mmol/mol) of everybody with diabetes, treated or not (``None``: nobody).

    Person mean ``N(56 + 4 dep, 9^2)``; a test in each registered month with probability 1/6
    (:func:`_hba1c_test_months`); value ``round(max(mean + 0.3 t / 12 + e + shift, 20))`` with
    ``e ~ N(0, 5^2)`` and ``shift`` the effect after index (0 before, and in the untreated value);
    on a uniform day 0-27. Draws the means, the tests, the noise, then the days.
    """
    diab = np.nonzero(p["cond"]["diabetes"] == 1)[0]
    if not len(diab):
        return None
    mean = rng.normal(56 + 4 * p["dep"][diab], 9)
    di, tm = _hba1c_test_months(rng, sim, diab, months)
    who = diab[di]
    noise = rng.normal(0, 5, len(who))
    drift = 0.3 * tm / 12  # slow worsening over time
    k = tm - sim.treat_month[who]
    after = (sim.treat_iv[who] > 0) & (k >= 0)
    shift = np.zeros(len(who))
    shift[after] = _shift(scenario, sim.treat_iv[who][after], "hba1c", quint[who][after], k[after])
    y0 = np.round(np.maximum(mean[di] + drift + noise, 20), 0)
    y1 = np.round(np.maximum(mean[di] + drift + noise + shift, 20), 0)
    date = _dates(start_m, tm, rng.integers(0, 28, len(who)))
    return (_published(who + 1, date, "hba1c", y1, "routine"),
            _counterfactual(who[after] + 1, "hba1c", k[after], y1[after], y0[after]))


def _hba1c_test_months(rng: np.random.Generator, sim, diab: np.ndarray,
                       months: int) -> tuple[np.ndarray, np.ndarray]:
    """(position in ``diab``, month) of each HbA1c test: each month with probability 1/6 while
    registered (from the registration start to before the exit month)."""
    tested = rng.random((len(diab), months)) < 1 / 6
    t_grid = np.arange(months)
    in_reg = ((t_grid[None, :] >= sim.reg_start[diab, None])
              & (t_grid[None, :] < sim.exit_month[diab, None]))
    person, month = np.nonzero(tested & in_reg)
    return person, month
