"""Synthetic people: geography, deprivation, demography, long-term conditions and frailty.

The population of one integrated care board (ICB), vectorised across people.

Geography. LSOAs of about 1,500 residents get an IMD 2019 decile so that the share of people
in each decile follows ``imd_mix``. LSOAs are ordered by deprivation (with noise) and cut into
primary care networks (PCNs), so a PCN serves a socially coherent area as real ones do; each PCN
has ``practices_per_pcn`` GP practices.

Conditions. Each condition's log-odds rises with *effective age* = age + shift, where the shift
is 9 years in decile 1 falling linearly to 0 in decile 10; so multimorbidity arrives 10-15
years earlier in the most deprived areas (Barnett et al., Lancet 2012). COPD and depression
have an extra deprivation gradient; diabetes is commoner in Asian and Black groups.

Frailty. An electronic-frailty-index-like score from the count of conditions and effective age,
cut at 0.12 / 0.24 / 0.36 into fit, mild, moderate and severe (Clegg et al., Age Ageing 2016).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pceval.errors import InputError

CONDITIONS: tuple[str, ...] = (
    "hypertension",
    "diabetes",
    "asthma",
    "depression",
    "copd",
    "heart_failure",
    "dementia",
)

# (log-odds at effective age 60, change per decade of effective age, extra log-odds in decile 1)
_CONDITION_MODEL: dict[str, tuple[float, float, float]] = {
    "hypertension": (-1.1, 0.55, 0.0),
    "diabetes": (-2.2, 0.35, 0.0),
    "asthma": (-2.6, -0.05, 0.2),
    "depression": (-2.0, 0.0, 0.4),
    "copd": (-3.7, 0.55, 0.6),
    "heart_failure": (-4.8, 0.8, 0.0),
    "dementia": (-6.2, 1.5, 0.0),
}

# England-like age structure: band lower bounds and shares (ONS mid-year estimates, rounded)
_AGE_BANDS = np.array([0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 100])
_AGE_SHARES = np.array(
    [5.8, 6.2, 6.0, 5.7, 6.0, 6.6, 6.8, 6.6, 6.2, 6.6, 6.9, 6.6, 5.7, 5.0, 5.0, 3.6, 2.6, 1.6, 0.9]
)

ETHNIC_GROUPS: tuple[str, ...] = ("White", "Asian", "Black", "Mixed", "Other")
_NON_WHITE_SPLIT = np.array([0.0, 0.50, 0.22, 0.16, 0.12])

IMD_MIXES: dict[str, tuple[float, ...]] = {
    "england": (0.1,) * 10,
    "deprived": (0.20, 0.16, 0.13, 0.11, 0.10, 0.08, 0.07, 0.06, 0.05, 0.04),
    "affluent": (0.04, 0.05, 0.06, 0.07, 0.08, 0.10, 0.11, 0.13, 0.16, 0.20),
}
"""Named shares of the population in IMD deciles 1..10 (1 = most deprived)."""

FRAILTY_CUTS = (0.12, 0.24, 0.36)
SHIFT_YEARS = 9.0  # effective-age shift in decile 1 (see module docstring)
FRAILTY_LEVELS = ("fit", "mild", "moderate", "severe")


def deprivation_shift(decile: np.ndarray) -> np.ndarray:
    """Years added to age to get effective age: SHIFT_YEARS in decile 1, 0 in decile 10."""
    return SHIFT_YEARS * (10 - decile) / 9.0


def resolve_imd_mix(imd_mix: str | tuple[float, ...] | list[float] | None) -> np.ndarray:
    """Validate ``imd_mix`` and return the ten decile shares summing to 1."""
    if imd_mix is None:
        imd_mix = "england"
    if isinstance(imd_mix, str):
        if imd_mix not in IMD_MIXES:
            raise InputError(f"`imd_mix` must be one of {sorted(IMD_MIXES)} or 10 shares, got {imd_mix!r}")
        shares = np.asarray(IMD_MIXES[imd_mix], dtype=float)
    else:
        shares = np.asarray(imd_mix, dtype=float)
        if shares.shape != (10,) or np.any(~np.isfinite(shares)) or np.any(shares < 0) or shares.sum() <= 0:
            raise InputError(
                "`imd_mix` must be a name or 10 non-negative shares for IMD deciles 1..10, "
                f"got {imd_mix!r}"
            )
    return shares / shares.sum()


@dataclass
class Geography:
    lsoa_decile: np.ndarray  # decile of each LSOA
    lsoa_pcn: np.ndarray  # PCN index of each LSOA
    n_pcn: int
    practices_per_pcn: int


def make_geography(
    rng: np.random.Generator, n_people: int, shares: np.ndarray, people_per_pcn: int,
    practices_per_pcn: int, people_per_lsoa: int = 1500,
) -> Geography:
    n_pcn = max(4, int(round(n_people / people_per_pcn)))
    n_lsoa = max(2 * n_pcn, int(round(n_people / people_per_lsoa)))
    # quota allocation of LSOAs to deciles (largest remainder) so the mix is met exactly
    raw = shares * n_lsoa
    counts = np.floor(raw).astype(int)
    counts[np.argsort(-(raw - counts))[: n_lsoa - counts.sum()]] += 1
    lsoa_decile = np.repeat(np.arange(1, 11), counts)
    # order by deprivation with noise, then cut into PCNs of equal numbers of LSOAs
    order = np.argsort(lsoa_decile + rng.normal(0, 1.5, n_lsoa), kind="stable")
    lsoa_pcn = np.empty(n_lsoa, dtype=np.int64)
    lsoa_pcn[order] = np.arange(n_lsoa) * n_pcn // n_lsoa
    # shuffle PCN labels so PCN number says nothing about deprivation
    relabel = rng.permutation(n_pcn)
    return Geography(lsoa_decile, relabel[lsoa_pcn], n_pcn, practices_per_pcn)


def make_people(
    rng: np.random.Generator, n_people: int, geo: Geography, start: pd.Timestamp,
) -> dict[str, np.ndarray]:
    """Draw the people's fixed characteristics (as at the data start)."""
    n = n_people
    n_lsoa = len(geo.lsoa_decile)
    lsoa = rng.integers(0, n_lsoa, n)
    decile = geo.lsoa_decile[lsoa]
    pcn = geo.lsoa_pcn[lsoa]
    practice = pcn * geo.practices_per_pcn + rng.integers(0, geo.practices_per_pcn, n)

    band = rng.choice(len(_AGE_SHARES), size=n, p=_AGE_SHARES / _AGE_SHARES.sum())
    age = _AGE_BANDS[band] + rng.random(n) * (_AGE_BANDS[band + 1] - _AGE_BANDS[band])
    female = rng.random(n) < 0.505 + 0.15 * (age >= 75)  # women outlive men

    dep = (10 - decile) / 9.0  # 1 in decile 1 (most deprived) .. 0 in decile 10
    non_white = rng.random(n) < 0.10 + 0.15 * dep
    eth = np.where(non_white, rng.choice(5, size=n, p=_NON_WHITE_SPLIT), 0)

    eff_age = age + deprivation_shift(decile)
    adult = age >= 18
    cond: dict[str, np.ndarray] = {}
    for name in CONDITIONS:
        a, b, d = _CONDITION_MODEL[name]
        logit = a + b * (eff_age - 60) / 10 + d * dep
        if name == "diabetes":
            logit = logit + 0.8 * (eth == 1) + 0.5 * (eth == 2)
        if name == "depression":
            logit = logit + 0.5 * female
        p = 1 / (1 + np.exp(-logit))
        has = rng.random(n) < p
        if name != "asthma":
            has &= adult
        cond[name] = has.astype(np.int8)
    ltc = np.sum([cond[c] for c in CONDITIONS], axis=0).astype(np.int64)

    fi = 0.035 * ltc + 0.004 * np.maximum(eff_age - 50, 0) + rng.normal(0, 0.03, n)
    fi = np.clip(np.round(fi, 3), 0, 1)
    frailty = np.asarray(FRAILTY_LEVELS)[np.searchsorted(FRAILTY_CUTS, fi, side="right")]

    months_old = np.floor(age * 12).astype(np.int64)
    dob = (start.to_period("M") - 0).to_timestamp()  # first of the start month
    dob = np.datetime64(dob, "M") - months_old.astype("timedelta64[M]")

    return {
        "lsoa": lsoa, "decile": decile, "pcn": pcn, "practice": practice, "age": age,
        "female": female, "eth": eth, "cond": cond, "ltc": ltc, "fi": fi, "frailty": frailty,
        "dob": dob.astype("datetime64[ns]"), "dep": dep,
    }
