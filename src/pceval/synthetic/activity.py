"""The month-by-month simulation: registration, death, hospital and GP use, and who is treated.

Everything is vectorised across people; the only loop is over months, because who receives an
intervention in month *t* depends on the hospital use they had before *t*.

Expected monthly count of outcome *o* for person *i* in month *t* without any intervention::

    mu0[i,t,o] = exp(a_o + b_age,o * max(age_it - 40, 0) + b_u5,o * [age_it < 5]
                     + b_ltc,o * ltc_i + b_fi,o * fi_i + b_imd,o * dep_i + b_f,o * female_i)
                 * u_i ** l_o / E[u ** l_o]                      # lasting frailty: gamma(1.5)
                 * exp(g_o * h_it - g_o**2 * s**2 / 2)            # passing crisis: AR(1)
                 * season_o(month) * trend_o(t) * covid_o(month)

with ``dep_i = (10 - decile_i) / 9`` (1 in the most deprived decile, 0 in the least), the gamma
term making counts overdispersed (negative binomial across people) and the AR(1) state ``h``
(monthly autocorrelation 0.75, standard deviation 0.6) making crises that pass: people referred
during a crisis would have improved anyway (regression to the mean). Under treatment the rate is
``mu1 = mu0 * m`` with ``m`` from the scenario (see :mod:`pceval.synthetic.scenarios`). Observed
counts are Poisson(mu1 * exposure), where exposure is the share of the month registered and alive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import gammaln

from pceval.synthetic.scenarios import INTERVENTIONS, RATE_OUTCOMES, Scenario


@dataclass(frozen=True)
class OutcomeModel:
    log_rate: float  # log expected count per month for the reference person (age <= 40, decile 10, no LTC)
    age: float  # per year of age above 40
    under5: float
    ltc: float  # per long-term condition
    frailty: float  # per unit of frailty index
    imd: float  # log rate ratio, decile 1 vs decile 10, at the same age and conditions
    female: float
    load_u: float  # loading on the lasting person effect
    load_h: float  # loading on the passing crisis state
    season: float  # amplitude of the winter peak
    trend: float  # growth per year
    covid: float  # multiplier in April-June 2020


OUTCOME_MODELS: dict[str, OutcomeModel] = {
    "emergency_admission": OutcomeModel(np.log(0.0040), 0.030, 0.9, 0.22, 1.5, np.log(1.45), -0.05,
                                        1.0, 1.0, 0.10, 0.02, 0.70),
    "ae_attendance": OutcomeModel(np.log(0.022), 0.008, 0.8, 0.15, 1.0, np.log(1.55), 0.0,
                                  1.0, 1.0, 0.06, 0.015, 0.55),
    "gp_appointment": OutcomeModel(np.log(0.22), 0.012, 0.6, 0.22, 0.8, np.log(1.15), 0.20,
                                   0.8, 0.5, 0.08, 0.01, 0.75),
    "outpatient_attendance": OutcomeModel(np.log(0.060), 0.018, 0.2, 0.22, 0.5, np.log(1.05), 0.05,
                                          0.8, 0.3, 0.03, 0.02, 0.50),
}

CRISIS_RHO = 0.75
CRISIS_SD = 0.6
GAMMA_SHAPE = 1.5


@dataclass(frozen=True)
class Uptake:
    """Monthly hazard of receiving an intervention in a live PCN: base * exp(linear predictor)."""

    base: float
    window: tuple[int, int]  # go-live months are drawn from this range (quarter starts)
    never_share: float  # share of PCNs that never go live within 72 months


UPTAKE: dict[str, Uptake] = {
    "pcsp": Uptake(0.0028, (12, 45), 0.2),
    "social_prescribing": Uptake(0.00035, (6, 27), 0.0),
    "phb": Uptake(0.00025, (18, 51), 0.3),
    "health_coaching": Uptake(0.0005, (24, 51), 0.3),
    "integrated_care": Uptake(0.00010, (12, 33), 0.5),
}


def draw_go_live(rng: np.random.Generator, n_pcn: int, months: int) -> np.ndarray:
    """Go-live month (index from the data start) of each intervention in each PCN; ``months`` = never.

    Roll-out is staggered in quarterly waves: each PCN draws a quarter start in the
    intervention's window; a share of PCNs never go live (the never-treated comparison).
    """
    out = np.full((n_pcn, len(INTERVENTIONS)), months, dtype=np.int64)
    for j, name in enumerate(INTERVENTIONS):
        up = UPTAKE[name]
        quarters = np.arange(up.window[0], up.window[1] + 1, 3)
        go = rng.choice(quarters, size=n_pcn)
        never = rng.random(n_pcn) < up.never_share
        out[:, j] = np.where(never | (go >= months), months, go)
    return out


def _log_hazards(p: dict, dep: np.ndarray, age: np.ndarray, adm12: np.ndarray, ae2: np.ndarray,
                 adm2: np.ndarray, inverse_care: float) -> np.ndarray:
    """Log hazard of each intervention (people x interventions), before the base rate."""
    c = p["cond"]
    icl = np.log(inverse_care) * dep  # inverse care law: lower uptake in deprived areas
    fi = p["fi"]
    old = age >= 65
    lh = np.empty((len(dep), len(INTERVENTIONS)))
    lh[:, 0] = (np.log(np.maximum(p["ltc"], 0.05)) * 1.2 + 0.10 * np.maximum(age - 40, 0) / 10
                + 0.3 * np.minimum(adm12, 3) + icl)
    lh[:, 1] = 1.4 * np.minimum(ae2, 3) + 0.6 * np.minimum(adm2, 2) + 0.9 * c["depression"] \
        + 0.3 * old + 0.3 * dep
    lh[:, 2] = 1.6 * (fi > 0.36) + 0.8 * ((fi > 0.24) & (fi <= 0.36)) + 1.0 * c["dementia"] \
        + 0.5 * np.minimum(adm12, 2) + 0.5 * icl
    lh[:, 3] = 1.5 * c["diabetes"] + 1.1 * c["copd"] - 1.0 * (age > 80) + icl
    lh[:, 4] = 8.0 * fi + 1.0 * np.minimum(adm2, 2) + 0.5 * np.minimum(adm12, 3) + 0.8 * (age >= 75)
    return lh


@dataclass
class Simulated:
    reg_start: np.ndarray  # month index of registration start
    exit_month: np.ndarray  # month index in which follow-up ends (months = never)
    exit_frac: np.ndarray  # share of the exit month registered and alive
    died: np.ndarray  # bool: the exit is a death
    treat_iv: np.ndarray  # 0 = untreated, j+1 = INTERVENTIONS[j]
    treat_month: np.ndarray  # month index of the intervention (-1 untreated)
    treat_day: np.ndarray  # day of month (0-based)
    go_live: np.ndarray  # (pcn, intervention)
    events: dict[str, np.ndarray]  # person, month, day, type, value
    expected: dict[str, np.ndarray]  # treated person-months from the index month


def _season(amplitude: float, cal_month: int) -> float:
    return 1 + amplitude * np.cos(2 * np.pi * (cal_month - 1) / 12)


def _covid(mult: float, year: int, month: int) -> float:
    if year == 2020 and 4 <= month <= 6:
        return mult
    if (year == 2020 and month >= 7) or (year == 2021 and month <= 3):
        return 1 - (1 - mult) / 3
    return 1.0


def simulate_activity(
    rng: np.random.Generator, p: dict, n_pcn: int, scenario: Scenario, start: pd.Timestamp,
    months: int, inverse_care: float, late_joiners: float = 0.12, progress: bool = False,
) -> Simulated:
    n = len(p["age"])
    dep, female, age0 = p["dep"], p["female"], p["age"]
    quint = (p["decile"] + 1) // 2
    go_live = draw_go_live(rng, n_pcn, months)
    live_from = go_live[p["pcn"]]  # people x interventions

    # registration, deaths and deregistrations
    reg_start = np.zeros(n, dtype=np.int64)
    late = rng.random(n) < late_joiners
    reg_start[late] = rng.integers(1, months, late.sum())
    exit_month = np.full(n, months, dtype=np.int64)
    exit_frac = np.ones(n)
    died = np.zeros(n, dtype=bool)

    # lasting person effect (gamma, mean 1) and its normalised loading per outcome
    u = rng.gamma(GAMMA_SHAPE, 1 / GAMMA_SHAPE, n)
    log_u = np.log(u)
    h = rng.normal(0, CRISIS_SD, n)
    eps_sd = CRISIS_SD * np.sqrt(1 - CRISIS_RHO**2)

    n_out = len(RATE_OUTCOMES)
    static = np.empty((n_out, n))
    for k, name in enumerate(RATE_OUTCOMES):
        m = OUTCOME_MODELS[name]
        norm = gammaln(GAMMA_SHAPE + m.load_u) - gammaln(GAMMA_SHAPE) - m.load_u * np.log(GAMMA_SHAPE)
        static[k] = (m.log_rate + m.ltc * p["ltc"] + m.frailty * p["fi"] + m.imd * dep
                     + m.female * female + m.load_u * log_u - norm)

    # effect lookup: (intervention 0..5, outcome, quintile) rate ratios and ramps
    rr = np.ones((len(INTERVENTIONS) + 1, n_out, 5))
    ramp = np.ones((len(INTERVENTIONS) + 1, n_out))
    for j, iv in enumerate(INTERVENTIONS):
        for k, out in enumerate(RATE_OUTCOMES):
            e = scenario.effect(iv, out)
            rr[j + 1, k] = e.rr
            ramp[j + 1, k] = max(e.ramp_months, 1)

    treat_iv = np.zeros(n, dtype=np.int64)
    treat_month = np.full(n, -1, dtype=np.int64)
    treat_day = np.zeros(n, dtype=np.int64)
    adm_hist = np.zeros((12, n), dtype=np.int16)  # ring buffer of monthly admissions
    ae_hist = np.zeros((12, n), dtype=np.int16)
    base = np.log([UPTAKE[iv].base for iv in INTERVENTIONS])

    ev: dict[str, list[np.ndarray]] = {"person": [], "month": [], "day": [], "type": [], "value": []}
    ex: dict[str, list[np.ndarray]] = {"person": [], "month": [], "person_time": []}
    for name in RATE_OUTCOMES:
        ex[f"untreated_{name}"] = []
        ex[f"treated_{name}"] = []

    months_iter = range(months)
    if progress:
        from tqdm.auto import tqdm

        months_iter = tqdm(months_iter, desc="simulating months", unit="month")
    start_m = np.datetime64(start.to_period("M").to_timestamp(), "M")
    for t in months_iter:
        cal = pd.Timestamp(start_m + np.timedelta64(t, "M"))
        dim = cal.days_in_month
        age = age0 + t / 12
        active = (reg_start <= t) & (exit_month >= t)

        # uptake at the start of month t, from use in the previous months
        adm12 = adm_hist.sum(axis=0)
        adm2 = adm_hist[(t - 1) % 12] + adm_hist[(t - 2) % 12]
        ae2 = ae_hist[(t - 1) % 12] + ae_hist[(t - 2) % 12]
        elig = active & (exit_month > t) & (treat_iv == 0) & (age >= 18)
        idx = np.nonzero(elig)[0]
        if len(idx):
            sub = {k: (v[idx] if isinstance(v, np.ndarray) else {c: a[idx] for c, a in v.items()})
                   for k, v in p.items() if k in ("cond", "ltc", "fi")}
            lh = _log_hazards(sub, dep[idx], age[idx], adm12[idx], ae2[idx], adm2[idx], inverse_care)
            haz = np.exp(lh + base) * (live_from[idx] <= t)
            total = haz.sum(axis=1)
            got = rng.random(len(idx)) < -np.expm1(-total)
            if got.any():
                hz = haz[got]
                cum = np.cumsum(hz, axis=1) / hz.sum(axis=1, keepdims=True)
                which = (rng.random(len(hz))[:, None] > cum).sum(axis=1)
                who = idx[got]
                treat_iv[who] = which + 1
                treat_month[who] = t
                treat_day[who] = rng.integers(0, dim, len(who))

        # deaths and deregistrations during month t
        ai = np.nonzero(active & (exit_month == months))[0]
        a_age = age[ai]
        q_death = np.exp(-10.6 + 0.09 * a_age + 0.15 * p["ltc"][ai] + 2.0 * p["fi"][ai]
                         + np.log(1.3) * dep[ai] + np.log(1.2) * ~female[ai] + 0.4 * h[ai])
        h_death = np.minimum(q_death / 12, 0.5)
        h_dereg = np.where((a_age >= 18) & (a_age < 35), 0.009, np.where(a_age >= 75, 0.002, 0.004))
        r = rng.random(len(ai))
        dies = r < h_death
        leaves = ~dies & (r < h_death + h_dereg)
        gone = ai[dies | leaves]
        exit_month[gone] = t
        exit_frac[gone] = rng.random(len(gone))
        died[ai[dies]] = True

        exposure = np.where(active, np.where(exit_month == t, exit_frac, 1.0), 0.0)
        h = CRISIS_RHO * h + rng.normal(0, eps_sd, n)

        ks = t - treat_month  # months since index (treated only)
        treated_now = (treat_iv > 0) & (ks >= 0) & (exposure > 0)
        ti = np.nonzero(treated_now)[0]
        if len(ti):
            ex["person"].append(ti)
            ex["month"].append(np.full(len(ti), t, dtype=np.int64))
            ex["person_time"].append(exposure[ti])
        mult_k = np.ones(n)
        for k, name in enumerate(RATE_OUTCOMES):
            m = OUTCOME_MODELS[name]
            lin = static[k] + m.age * np.maximum(age - 40, 0) + m.under5 * (age < 5) \
                + m.load_h * h - (m.load_h * CRISIS_SD) ** 2 / 2
            scale = _season(m.season, cal.month) * (1 + m.trend) ** (t / 12) \
                * _covid(m.covid, cal.year, cal.month)
            mu0 = np.exp(lin) * scale
            mult_k.fill(1.0)
            if len(ti):
                iv = treat_iv[ti]
                ramp_share = np.minimum(1.0, ks[ti] / ramp[iv, k])
                mult_k[ti] = 1 + (rr[iv, k, quint[ti] - 1] - 1) * ramp_share
                ex[f"untreated_{name}"].append(mu0[ti] * exposure[ti])
                ex[f"treated_{name}"].append(mu0[ti] * mult_k[ti] * exposure[ti])
            counts = rng.poisson(mu0 * mult_k * exposure)
            if name == "emergency_admission":
                adm_hist[t % 12] = np.minimum(counts, 1000)
            elif name == "ae_attendance":
                ae_hist[t % 12] = np.minimum(counts, 1000)
            who = np.nonzero(counts)[0]
            rep = counts[who]
            pid = np.repeat(who, rep)
            last_day = np.where(exit_month[pid] == t, exit_frac[pid], 1.0) * dim
            day = np.floor(rng.random(len(pid)) * last_day).astype(np.int64)
            if name == "emergency_admission":
                stay = np.ceil(rng.gamma(1.0, 2.0 + 0.08 * np.maximum(age[pid] - 40, 0)))
                value = np.where(rng.random(len(pid)) < 0.3, 0.0, stay)
            else:
                value = np.full(len(pid), np.nan)
            ev["person"].append(pid.astype(np.int32))
            ev["month"].append(np.full(len(pid), t, dtype=np.int16))
            ev["day"].append(day.astype(np.int8))
            ev["type"].append(np.full(len(pid), k, dtype=np.int8))
            ev["value"].append(value.astype(np.float32))

    cat = {k: (np.concatenate(v) if v else np.array([])) for k, v in ev.items()}
    exc = {k: (np.concatenate(v) if v else np.array([])) for k, v in ex.items()}
    return Simulated(reg_start, exit_month, exit_frac, died, treat_iv, treat_month, treat_day,
                     go_live, cat, exc)
