"""Confidence-interval building blocks used by every inequality measure (vectorised numpy).

All functions take arrays (or scalars) and a confidence level in (0, 1] and return arrays of the same
shape; missing inputs give missing outputs. They follow the definitions of the Public Health England /
OHID *Technical Guide: Confidence Intervals* (2018) and the R package PHEindicatormethods.

* Byar's approximation to the exact Poisson limits for a count ``O`` (Breslow & Day 1987, p. 69)::

      lower = O (1 - 1/(9 O) - z / (3 sqrt(O)))^3
      upper = (O + 1) (1 - 1/(9 (O + 1)) + z / (3 sqrt(O + 1)))^3

  A negative lower limit (only for very small counts at high confidence) is returned as missing.
* Exact Poisson limits from the chi-squared distribution (Garwood 1936)::

      lower = chi2_{alpha/2}(2 O) / 2,   upper = chi2_{1 - alpha/2}(2 O + 2) / 2

* Wilson score limits for a proportion ``p = x / n`` (Wilson 1927; Newcombe 1998, method 3)::

      (2 x + z^2 -/+ z sqrt(z^2 + 4 x (1 - p))) / (2 (n + z^2))

* Student's t limits for a mean: ``mean -/+ t_{n-1, 1 - alpha/2} s / sqrt(n)``.
* Dobson's method for a weighted sum of Poisson counts ``Y = sum w_i O_i`` with total ``O`` and
  variance ``v(Y)`` (Dobson et al. 1991)::

      Y + sqrt(v(Y) / O) (O_lower - O),   Y + sqrt(v(Y) / O) (O_upper - O)

  where ``O_lower, O_upper`` are Byar's limits for ``O`` (a lower limit is never below 0; with
  ``O = 0`` the lower limit is 0 and the upper one Fay & Feuer's, see :func:`dobson_limits`).

>>> import numpy as np
>>> np.round(byars_lower(65, 0.95), 4), np.round(byars_upper(65, 0.95), 4)
(np.float64(50.1632), np.float64(82.8491))
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pceval._distributions import stats

Array = NDArray[np.float64]


def z_value(confidence: float) -> float:
    """The two-sided standard normal quantile ``z_{1 - (1 - confidence)/2}`` (inf at confidence 1)."""
    return float(stats.norm.ppf(0.5 + confidence / 2))


def _f(x: ArrayLike) -> Array:
    return np.asarray(x, dtype=float)


def byars_lower(x: ArrayLike, confidence: float = 0.95) -> Array:
    """Byar's lower limit for a Poisson count; negative limits are returned as NaN."""
    o = _f(x)
    z = z_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        low = o * (1 - 1 / (9 * o) - z / (3 * np.sqrt(o))) ** 3
    low = np.where(o == 0, 0.0, low)
    return np.where(low < 0, np.nan, low)


def byars_upper(x: ArrayLike, confidence: float = 0.95) -> Array:
    """Byar's upper limit for a Poisson count."""
    o1 = _f(x) + 1
    z = z_value(confidence)
    return o1 * (1 - 1 / (9 * o1) + z / (3 * np.sqrt(o1))) ** 3


def exact_lower(x: ArrayLike, confidence: float = 0.95) -> Array:
    """Exact (Garwood) lower limit for a Poisson count; 0 for a count of 0."""
    o = _f(x)
    alpha = 1 - confidence
    with np.errstate(invalid="ignore"):
        low = stats.chi2.ppf(alpha / 2, 2 * o) / 2
    return np.where(o == 0, 0.0, low)


def exact_upper(x: ArrayLike, confidence: float = 0.95) -> Array:
    """Exact (Garwood) upper limit for a Poisson count."""
    o = _f(x)
    alpha = 1 - confidence
    return stats.chi2.ppf(1 - alpha / 2, 2 * o + 2) / 2


def poisson_limits(x: ArrayLike, confidence: float = 0.95, threshold: float = 10) -> tuple[Array, Array]:
    """PHE's rule for counts: exact limits below ``threshold`` events, Byar's from it upwards."""
    o = _f(x)
    small = o < threshold
    low = np.where(small, exact_lower(o, confidence), byars_lower(o, confidence))
    up = np.where(small, exact_upper(o, confidence), byars_upper(o, confidence))
    return low, up


def wilson_lower(x: ArrayLike, n: ArrayLike, confidence: float = 0.95) -> Array:
    """Wilson score lower limit for the proportion ``x / n`` (0 at confidence 1)."""
    return _wilson(x, n, confidence, -1)


def wilson_upper(x: ArrayLike, n: ArrayLike, confidence: float = 0.95) -> Array:
    """Wilson score upper limit for the proportion ``x / n`` (1 at confidence 1)."""
    return _wilson(x, n, confidence, +1)


def _wilson(x: ArrayLike, n: ArrayLike, confidence: float, sign: int) -> Array:
    xx, nn = _f(x), _f(n)
    if confidence >= 1:
        out = np.full(np.broadcast(xx, nn).shape, 0.0 if sign < 0 else 1.0)
        return np.where(np.isnan(xx) | np.isnan(nn), np.nan, out)
    z = z_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = xx / nn
        root = np.sqrt(np.maximum(z**2 + 4 * xx * (1 - p), 0.0))
        return (2 * xx + z**2 + sign * z * root) / (2 * (nn + z**2))


def student_t_limits(mean: ArrayLike, sd: ArrayLike, n: ArrayLike,
                     confidence: float = 0.95) -> tuple[Array, Array]:
    """Student's t limits for a mean from ``n`` values with standard deviation ``sd``."""
    m, s, nn = _f(mean), _f(sd), _f(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = stats.t.ppf(0.5 + confidence / 2, nn - 1)
        half = t * s / np.sqrt(nn)
    return m - half, m + half


def dobson_limits(value: ArrayLike, variance: ArrayLike, total: ArrayLike,
                  confidence: float = 0.95, max_weight: ArrayLike | None = None) -> tuple[Array, Array]:
    """Dobson limits for a weighted sum of Poisson counts (value, its variance, total count).

    Where Byar's lower limit of the total is negative (a handful of events at a high confidence
    level) the exact lower limit is used instead, and a lower limit below 0 (weights very unequal
    across strata) is set to 0: a weighted sum of counts cannot be negative.

    With a total of **0 events** Dobson's ``sqrt(v / O)`` is 0/0. The limits are then those of
    Fay & Feuer (1997) at ``y = v = 0``: lower 0 and upper ``max_weight * exact_upper(0)``, the
    exact Poisson limit of a zero count (``-log((1 - confidence) / 2)``, 3.689 at 95%) times the
    largest weight one event can carry (``max(w_i / n_i) / sum(w)`` for a DSR). Without
    ``max_weight`` the upper limit of a zero total is missing.
    """
    y, v, o = _f(value), _f(variance), _f(total)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.sqrt(v / o)
    o_low = byars_lower(o, confidence)
    o_low = np.where(np.isnan(o_low) & (o > 0), exact_lower(o, confidence), o_low)
    lower = np.maximum(y + scale * (o_low - o), 0.0)
    upper = y + scale * (byars_upper(o, confidence) - o)
    zero = o == 0
    if zero.any():
        w_max = np.full_like(o, np.nan) if max_weight is None else _f(max_weight) * np.ones_like(o)
        lower = np.where(zero, 0.0, lower)
        upper = np.where(zero, w_max * exact_upper(0.0, confidence), upper)
    return lower, upper


def se_from_limits(lower: ArrayLike, upper: ArrayLike, confidence: float = 0.95) -> Array:
    """Standard error implied by symmetric normal limits: ``(upper - lower) / (2 z)``."""
    return (_f(upper) - _f(lower)) / (2 * z_value(confidence))


__all__ = [
    "z_value", "byars_lower", "byars_upper", "exact_lower", "exact_upper", "poisson_limits",
    "wilson_lower", "wilson_upper", "student_t_limits", "dobson_limits", "se_from_limits",
]
