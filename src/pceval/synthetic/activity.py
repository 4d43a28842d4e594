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
``mu1 = mu0 * m`` with ``m`` from the scenario (see :mod:`pceval.synthetic.scenarios`); a scenario
with a violation of parallel trends also multiplies ``mu0`` by ``exp(slope * (t - go_live))`` in
the PCNs that go live with its intervention (:class:`~pceval.synthetic.scenarios.TrendViolation`). Observed
counts are Poisson(mu1 * exposure), where exposure is the share of the month registered and alive.
"""

from __future__ import annotations

from collections.abc import Iterable
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
    """Seasonal multiplier ``1 + amplitude * cos(2 pi (month - 1) / 12)``: peak in January."""
    return 1 + amplitude * np.cos(2 * np.pi * (cal_month - 1) / 12)


def _covid(mult: float, year: int, month: int) -> float:
    """COVID-19 multiplier: ``mult`` in April-June 2020, ``1 - (1 - mult) / 3`` from July 2020 to
    March 2021, 1 otherwise."""
    if year == 2020 and 4 <= month <= 6:
        return mult
    if (year == 2020 and month >= 7) or (year == 2021 and month <= 3):
        return 1 - (1 - mult) / 3
    return 1.0


# --- the month loop -------------------------------------------------------------------------
# Each step below draws its random numbers in a fixed order, and the steps run in a fixed order
# (see _simulate_month), so a seed gives the same data as long as that order is kept.


@dataclass(frozen=True)
class _Setup:
    """What stays fixed through the month loop (arrays over people unless said otherwise)."""

    p: dict  # the population (pceval.synthetic.population)
    quint: np.ndarray  # IMD quintile, 1 = most deprived
    live_from: np.ndarray  # people x interventions: go-live month of the person's PCN
    static: np.ndarray  # outcomes x people: the part of log mu0 that does not change with time
    rr: np.ndarray  # (untreated, interventions...) x outcomes x quintiles: full-effect rate ratio
    ramp: np.ndarray  # (untreated, interventions...) x outcomes: months to reach the full effect
    log_base: np.ndarray  # log base monthly hazard of each intervention
    inverse_care: float
    months: int
    # the scenario's violation of parallel trends (None in every scenario without one):
    # outcomes x people log-rate slope per month (0 outside the PCNs it concerns), and each
    # person's anchor month (their PCN's go-live month; the trend factor is 1 there)
    trend_slope: np.ndarray | None = None
    trend_anchor: np.ndarray | None = None


@dataclass
class _State:
    """What the months change: arrays over people, updated in place by the monthly steps."""

    reg_start: np.ndarray
    exit_month: np.ndarray  # ``months`` until the person dies or leaves
    exit_frac: np.ndarray
    died: np.ndarray
    h: np.ndarray  # passing crisis state, AR(1)
    treat_iv: np.ndarray  # 0 = untreated, j+1 = INTERVENTIONS[j]
    treat_month: np.ndarray
    treat_day: np.ndarray
    adm_hist: np.ndarray  # 12 x people ring buffer of monthly emergency admissions
    ae_hist: np.ndarray  # the same for A&E attendances


@dataclass(frozen=True)
class _Month:
    """The month being simulated and who is registered and alive at its start."""

    t: int  # month index from the data start
    cal: pd.Timestamp  # its first day
    days: int
    age: np.ndarray  # age in years at the start of the month
    active: np.ndarray


def simulate_activity(
    rng: np.random.Generator, p: dict, n_pcn: int, scenario: Scenario, start: pd.Timestamp,
    months: int, inverse_care: float, late_joiners: float = 0.12, progress: bool = False,
) -> Simulated:
    """Simulate every person month by month: uptake, deaths and deregistrations, hospital and GP use.

    Draws, in this order: the PCN roll-out (:func:`draw_go_live`), registration starts, the lasting
    frailty and the first crisis state, then for each month the steps of :func:`_simulate_month`.
    Vectorised across people; the only loop is over months (and the four outcomes within a month).
    """
    go_live = draw_go_live(rng, n_pcn, months)
    state, log_u = _initial_state(rng, len(p["age"]), months, late_joiners)
    rr, ramp = _effect_lookup(scenario)
    live_from = go_live[p["pcn"]]
    slope, anchor = _trend_violation(scenario, live_from, months)
    setup = _Setup(p=p, quint=(p["decile"] + 1) // 2, live_from=live_from,
                   static=_static_log_rates(p, log_u), rr=rr, ramp=ramp,
                   log_base=np.log([UPTAKE[iv].base for iv in INTERVENTIONS]),
                   inverse_care=inverse_care, months=months, trend_slope=slope, trend_anchor=anchor)
    ev, ex = _event_log(), _expected_log()
    start_m = np.datetime64(start.to_period("M").to_timestamp(), "M")
    for t in _month_range(months, progress):
        _simulate_month(rng, setup, state, _month(setup, state, start_m, t), ev, ex)
    return Simulated(state.reg_start, state.exit_month, state.exit_frac, state.died, state.treat_iv,
                     state.treat_month, state.treat_day, go_live, _concat(ev), _concat(ex))


def _registration_start(rng: np.random.Generator, n: int, months: int,
                        late_joiners: float) -> np.ndarray:
    """Month each person's registration starts: 0 for most; a share ``late_joiners`` registers
    later, in a month drawn uniformly from 1 to ``months - 1``."""
    reg_start = np.zeros(n, dtype=np.int64)
    late = rng.random(n) < late_joiners
    reg_start[late] = rng.integers(1, months, late.sum())
    return reg_start


def _person_effects(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``log u`` and ``h_0``: the lasting frailty ``u ~ Gamma(shape 1.5, scale 1/1.5)`` (mean 1) and the
    crisis state in the first month, ``h_0 ~ N(0, 0.6^2)`` (the AR(1)'s stationary distribution)."""
    u = rng.gamma(GAMMA_SHAPE, 1 / GAMMA_SHAPE, n)
    log_u = np.log(u)
    h = rng.normal(0, CRISIS_SD, n)
    return log_u, h


def _initial_state(rng: np.random.Generator, n: int, months: int,
                   late_joiners: float) -> tuple[_State, np.ndarray]:
    """The state before month 0 (everybody untreated, nobody exited, no past use) and ``log u``."""
    reg_start = _registration_start(rng, n, months, late_joiners)
    log_u, h = _person_effects(rng, n)
    state = _State(
        reg_start=reg_start, exit_month=np.full(n, months, dtype=np.int64), exit_frac=np.ones(n),
        died=np.zeros(n, dtype=bool), h=h, treat_iv=np.zeros(n, dtype=np.int64),
        treat_month=np.full(n, -1, dtype=np.int64), treat_day=np.zeros(n, dtype=np.int64),
        adm_hist=np.zeros((12, n), dtype=np.int16), ae_hist=np.zeros((12, n), dtype=np.int16),
    )
    return state, log_u


def _static_log_rates(p: dict, log_u: np.ndarray) -> np.ndarray:
    """The part of ``log mu0`` that does not change with time (outcomes x people)::

        a_o + b_ltc,o * ltc + b_fi,o * fi + b_imd,o * dep + b_f,o * female + l_o * log u - log E[u ** l_o]

    with ``log E[u ** l] = lgamma(1.5 + l) - lgamma(1.5) - l * log(1.5)`` for u ~ Gamma(1.5, 1/1.5),
    so the frailty term has mean 1 on the rate scale.
    """
    static = np.empty((len(RATE_OUTCOMES), len(log_u)))
    for k, name in enumerate(RATE_OUTCOMES):
        m = OUTCOME_MODELS[name]
        norm = gammaln(GAMMA_SHAPE + m.load_u) - gammaln(GAMMA_SHAPE) - m.load_u * np.log(GAMMA_SHAPE)
        static[k] = (m.log_rate + m.ltc * p["ltc"] + m.frailty * p["fi"] + m.imd * p["dep"]
                     + m.female * p["female"] + m.load_u * log_u - norm)
    return static


def _effect_lookup(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """The scenario's rate ratios ``rr[iv, outcome, quintile]`` and ramps ``ramp[iv, outcome]``
    (``max(ramp_months, 1)``); row 0 is "untreated" (ratio 1), row j+1 is ``INTERVENTIONS[j]``."""
    rr = np.ones((len(INTERVENTIONS) + 1, len(RATE_OUTCOMES), 5))
    ramp = np.ones((len(INTERVENTIONS) + 1, len(RATE_OUTCOMES)))
    for j, iv in enumerate(INTERVENTIONS):
        for k, out in enumerate(RATE_OUTCOMES):
            e = scenario.effect(iv, out)
            rr[j + 1, k] = e.rr
            ramp[j + 1, k] = max(e.ramp_months, 1)
    return rr, ramp


def _trend_violation(scenario: Scenario, live_from: np.ndarray,
                     months: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The scenario's differential trend (:class:`~pceval.synthetic.scenarios.TrendViolation`):
    per outcome and person the log-rate slope per month (the violation's ``slope`` for people in
    PCNs that go live with its intervention within the data, else 0) and the anchor month (the
    go-live month). ``(None, None)`` when the scenario has no violation (no draws either way)."""
    tv = scenario.trend
    if tv is None:
        return None, None
    g = live_from[:, INTERVENTIONS.index(tv.intervention)]
    ever = g < months
    slope = np.zeros((len(RATE_OUTCOMES), len(g)))
    for k, name in enumerate(RATE_OUTCOMES):
        if name in tv.outcomes:
            slope[k] = np.where(ever, tv.slope, 0.0)
    return slope, np.where(ever, g, 0).astype(float)


def _event_log() -> dict[str, list[np.ndarray]]:
    """Empty per-month lists of the events' columns."""
    return {"person": [], "month": [], "day": [], "type": [], "value": []}


def _expected_log() -> dict[str, list[np.ndarray]]:
    """Empty per-month lists of the treated person-months' columns (expected counts per outcome)."""
    ex: dict[str, list[np.ndarray]] = {"person": [], "month": [], "person_time": []}
    for name in RATE_OUTCOMES:
        ex[f"untreated_{name}"] = []
        ex[f"treated_{name}"] = []
    return ex


def _concat(log: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
    """Join each column's monthly pieces (an empty float array if there were none)."""
    return {k: (np.concatenate(v) if v else np.array([])) for k, v in log.items()}


def _month_range(months: int, progress: bool) -> Iterable[int]:
    """The month indices 0 .. months - 1, with a progress bar if asked."""
    if not progress:
        return range(months)
    from tqdm.auto import tqdm

    return tqdm(range(months), desc="simulating months", unit="month")


def _month(setup: _Setup, st: _State, start_m: np.datetime64, t: int) -> _Month:
    """Month t: its first day and length, everybody's age ``age_0 + t / 12``, and who is active
    (registration started by t and no exit before t)."""
    cal = pd.Timestamp(start_m + np.timedelta64(t, "M"))
    return _Month(t=t, cal=cal, days=cal.days_in_month, age=setup.p["age"] + t / 12,
                  active=(st.reg_start <= t) & (st.exit_month >= t))


def _simulate_month(rng: np.random.Generator, setup: _Setup, st: _State, mo: _Month,
                    ev: dict[str, list[np.ndarray]], ex: dict[str, list[np.ndarray]]) -> None:
    """One month for everybody, in the order that fixes the random stream: uptake at the start of
    the month (from use before it), deaths and deregistrations (with the crisis state at the
    start), the crisis state moves on, then each outcome's counts and their events in turn."""
    _uptake(rng, setup, st, mo)
    _exits(rng, setup, st, mo)
    exposure = _exposure(st, mo)
    st.h = _next_crisis(rng, st.h)
    ti, ks = _treated_person_months(st, mo, exposure, ex)
    for k, name in enumerate(RATE_OUTCOMES):
        mu0 = _untreated_rate(setup, k, mo, st.h)
        mult = _treatment_multiplier(setup, st, k, ti, ks)
        _record_expected(ex, name, mu0, mult, exposure, ti)
        counts = rng.poisson(mu0 * mult * exposure)
        _remember_use(st, name, counts, mo.t)
        _record_events(rng, st, mo, k, counts, ev)


def _uptake(rng: np.random.Generator, setup: _Setup, st: _State, mo: _Month) -> None:
    """Who receives an intervention at the start of month t.

    Eligible: active adults, untreated, not exited. Person i's monthly hazard of intervention j is
    ``h_ij = base_j * exp(lh_ij) * [their PCN is live for j]`` (``lh`` from :func:`_log_hazards`);
    they receive one with probability ``1 - exp(-sum_j h_ij)``, intervention j with probability
    ``h_ij / sum_j h_ij``, on a day of the month drawn uniformly.
    """
    idx = np.nonzero(mo.active & (st.exit_month > mo.t) & (st.treat_iv == 0) & (mo.age >= 18))[0]
    if not len(idx):
        return
    lh = _eligible_log_hazards(setup, st, mo, idx)
    haz = np.exp(lh + setup.log_base) * (setup.live_from[idx] <= mo.t)
    got = rng.random(len(idx)) < -np.expm1(-haz.sum(axis=1))
    if got.any():
        who = idx[got]
        st.treat_iv[who] = _choose_intervention(rng, haz[got]) + 1
        st.treat_month[who] = mo.t
        st.treat_day[who] = rng.integers(0, mo.days, len(who))


def _eligible_log_hazards(setup: _Setup, st: _State, mo: _Month, idx: np.ndarray) -> np.ndarray:
    """:func:`_log_hazards` of the eligible people ``idx`` in month t, from their admissions in the
    last 12 months and admissions and A&E attendances in the last 2 (the ring buffers)."""
    p, t = setup.p, mo.t
    adm12 = st.adm_hist.sum(axis=0)
    adm2 = st.adm_hist[(t - 1) % 12] + st.adm_hist[(t - 2) % 12]
    ae2 = st.ae_hist[(t - 1) % 12] + st.ae_hist[(t - 2) % 12]
    sub = {"cond": {c: a[idx] for c, a in p["cond"].items()}, "ltc": p["ltc"][idx], "fi": p["fi"][idx]}
    return _log_hazards(sub, p["dep"][idx], mo.age[idx], adm12[idx], ae2[idx], adm2[idx],
                        setup.inverse_care)


def _choose_intervention(rng: np.random.Generator, hz: np.ndarray) -> np.ndarray:
    """Index j of the intervention each person receives, drawn with probability ``h_ij / sum_j h_ij``
    (one uniform draw against the cumulative shares)."""
    cum = np.cumsum(hz, axis=1) / hz.sum(axis=1, keepdims=True)
    return (rng.random(len(hz))[:, None] > cum).sum(axis=1)


def _exits(rng: np.random.Generator, setup: _Setup, st: _State, mo: _Month) -> None:
    """Deaths and deregistrations during month t among the active people not yet exited.

    One uniform draw r per person: death if ``r < h_death``, else deregistration if
    ``r < h_death + h_dereg`` (:func:`_exit_hazards`). The exit falls at a uniform share of the month.
    """
    ai = np.nonzero(mo.active & (st.exit_month == setup.months))[0]
    h_death, h_dereg = _exit_hazards(setup.p, ai, mo.age[ai], st.h[ai])
    r = rng.random(len(ai))
    dies = r < h_death
    leaves = ~dies & (r < h_death + h_dereg)
    gone = ai[dies | leaves]
    st.exit_month[gone] = mo.t
    st.exit_frac[gone] = rng.random(len(gone))
    st.died[ai[dies]] = True


def _exit_hazards(p: dict, ai: np.ndarray, age: np.ndarray,
                  h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Monthly hazards of death and deregistration of people ``ai``.

    Death: ``min(q / 12, 0.5)`` with the annual ``q = exp(-10.6 + 0.09 age + 0.15 ltc + 2 fi
    + log(1.3) dep + log(1.2) male + 0.4 h)``. Deregistration: 0.9% a month at ages 18-34, 0.2%
    from 75, 0.4% otherwise.
    """
    q_death = np.exp(-10.6 + 0.09 * age + 0.15 * p["ltc"][ai] + 2.0 * p["fi"][ai]
                     + np.log(1.3) * p["dep"][ai] + np.log(1.2) * ~p["female"][ai] + 0.4 * h)
    h_death = np.minimum(q_death / 12, 0.5)
    h_dereg = np.where((age >= 18) & (age < 35), 0.009, np.where(age >= 75, 0.002, 0.004))
    return h_death, h_dereg


def _exposure(st: _State, mo: _Month) -> np.ndarray:
    """Share of month t each person is registered and alive: 0 if not active at its start, the exit
    share in their exit month, otherwise 1."""
    return np.where(mo.active, np.where(st.exit_month == mo.t, st.exit_frac, 1.0), 0.0)


def _next_crisis(rng: np.random.Generator, h: np.ndarray) -> np.ndarray:
    """One AR(1) step of the crisis state: ``h' = 0.75 h + e`` with ``e ~ N(0, 0.6^2 (1 - 0.75^2))``,
    so its standard deviation stays 0.6."""
    eps_sd = CRISIS_SD * np.sqrt(1 - CRISIS_RHO**2)
    return CRISIS_RHO * h + rng.normal(0, eps_sd, len(h))


def _treated_person_months(st: _State, mo: _Month, exposure: np.ndarray,
                           ex: dict[str, list[np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The treated people in month t (index month reached, some exposure), recorded with their
    exposure in the expected table, and their months since index ``t - index month``."""
    ks = mo.t - st.treat_month
    ti = np.nonzero((st.treat_iv > 0) & (ks >= 0) & (exposure > 0))[0]
    if len(ti):
        ex["person"].append(ti)
        ex["month"].append(np.full(len(ti), mo.t, dtype=np.int64))
        ex["person_time"].append(exposure[ti])
    return ti, ks[ti]


def _untreated_rate(setup: _Setup, k: int, mo: _Month, h: np.ndarray) -> np.ndarray:
    """``mu0`` of outcome k in month t for everybody (the module docstring's formula)::

        exp(static + b_age * max(age - 40, 0) + b_u5 * [age < 5] + g * h - g**2 * s**2 / 2)
            * season(month) * (1 + trend) ** (t / 12) * covid(month)

    times ``exp(slope * (t - go_live))`` in a scenario with a violation of parallel trends.
    """
    m = OUTCOME_MODELS[RATE_OUTCOMES[k]]
    lin = setup.static[k] + m.age * np.maximum(mo.age - 40, 0) + m.under5 * (mo.age < 5) \
        + m.load_h * h - (m.load_h * CRISIS_SD) ** 2 / 2
    if setup.trend_slope is not None and setup.trend_anchor is not None:
        lin = lin + setup.trend_slope[k] * (mo.t - setup.trend_anchor)
    scale = _season(m.season, mo.cal.month) * (1 + m.trend) ** (mo.t / 12) \
        * _covid(m.covid, mo.cal.year, mo.cal.month)
    return np.exp(lin) * scale


def _treatment_multiplier(setup: _Setup, st: _State, k: int, ti: np.ndarray,
                          ks: np.ndarray) -> np.ndarray:
    """``m`` in ``mu1 = mu0 * m`` for outcome k: 1, except for the treated people ``ti``, ``ks`` months
    after index: ``1 + (rr[iv, k, quintile] - 1) * min(1, ks / ramp[iv, k])``."""
    mult = np.ones(len(st.treat_iv))
    if len(ti):
        iv = st.treat_iv[ti]
        ramp_share = np.minimum(1.0, ks / setup.ramp[iv, k])
        mult[ti] = 1 + (setup.rr[iv, k, setup.quint[ti] - 1] - 1) * ramp_share
    return mult


def _record_expected(ex: dict[str, list[np.ndarray]], name: str, mu0: np.ndarray, mult: np.ndarray,
                     exposure: np.ndarray, ti: np.ndarray) -> None:
    """The treated people's expected counts of outcome ``name`` this month, without
    (``mu0 * exposure``) and with (``mu0 * m * exposure``) the intervention."""
    if len(ti):
        ex[f"untreated_{name}"].append(mu0[ti] * exposure[ti])
        ex[f"treated_{name}"].append(mu0[ti] * mult[ti] * exposure[ti])


def _remember_use(st: _State, name: str, counts: np.ndarray, t: int) -> None:
    """Keep month t's emergency admissions and A&E attendances (capped at 1,000) in the 12-month
    ring buffers that drive uptake."""
    if name == "emergency_admission":
        st.adm_hist[t % 12] = np.minimum(counts, 1000)
    elif name == "ae_attendance":
        st.ae_hist[t % 12] = np.minimum(counts, 1000)


def _record_events(rng: np.random.Generator, st: _State, mo: _Month, k: int, counts: np.ndarray,
                   ev: dict[str, list[np.ndarray]]) -> None:
    """One event of outcome k per count: person, month, day (:func:`_event_days`) and value (the
    length of stay for emergency admissions, :func:`_stays`; otherwise missing)."""
    who = np.nonzero(counts)[0]
    pid = np.repeat(who, counts[who])
    day = _event_days(rng, st, mo, pid)
    if RATE_OUTCOMES[k] == "emergency_admission":
        value = _stays(rng, mo.age[pid])
    else:
        value = np.full(len(pid), np.nan)
    ev["person"].append(pid.astype(np.int32))
    ev["month"].append(np.full(len(pid), mo.t, dtype=np.int16))
    ev["day"].append(day.astype(np.int8))
    ev["type"].append(np.full(len(pid), k, dtype=np.int8))
    ev["value"].append(value.astype(np.float32))


def _event_days(rng: np.random.Generator, st: _State, mo: _Month, pid: np.ndarray) -> np.ndarray:
    """Day of month (0-based) of each event: ``floor(U * days)``, or ``floor(U * exit share * days)``
    in the person's exit month, so no event falls after death or deregistration."""
    last_day = np.where(st.exit_month[pid] == mo.t, st.exit_frac[pid], 1.0) * mo.days
    return np.floor(rng.random(len(pid)) * last_day).astype(np.int64)


def _stays(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    """Length of stay (days) of each emergency admission: 0 (same day) with probability 0.3,
    otherwise ``ceil(Gamma(shape 1, scale 2 + 0.08 * max(age - 40, 0)))``."""
    stay = np.ceil(rng.gamma(1.0, 2.0 + 0.08 * np.maximum(age - 40, 0)))
    return np.where(rng.random(len(age)) < 0.3, 0.0, stay)
