"""The normal, Student t and chi-squared functions pceval's estimators need, without scipy.stats.

``import scipy.stats`` takes about a second, more than a whole ``att_gt`` fit on 100,000 units;
``scipy.special``, which holds the functions scipy.stats itself calls for these distributions,
takes a fraction of that. So modules on the estimation path write

    from pceval._distributions import stats

and call ``stats.norm.ppf``, ``stats.norm.sf``, ``stats.chi2.sf``, ``stats.t.ppf`` ... as they
would on scipy.stats, with the same results bit for bit (``tests/test_imports.py`` checks them
against scipy.stats on a grid):

* normal: ``cdf(x) = ndtr(x)``, ``sf(x) = ndtr(-x)``, ``ppf(q) = ndtri(q)``,
  ``isf(q) = -ndtri(q)``;
* Student t with ``df`` degrees of freedom: ``cdf(x) = stdtr(df, x)``, ``sf(x) = stdtr(df, -x)``,
  ``ppf(q) = stdtrit(df, q)``, ``isf(q) = -stdtrit(df, q)``;
* chi-squared with ``df`` degrees of freedom: ``cdf(x) = chdtr(df, x)``,
  ``sf(x) = chdtrc(df, x)``, ``ppf(q) = 2 gammaincinv(df/2, q)``, ``isf(q) = chdtri(df, q)``.

Arguments outside a distribution's domain give NaN (a probability outside [0, 1], ``df <= 0``);
a negative chi-squared value has ``sf = 1`` and ``cdf = 0``, as in scipy.stats (whose results
these equal bit for bit, apart from the meaningless chi-squared with infinite ``df``).

Example
-------
>>> from pceval._distributions import stats
>>> round(float(stats.norm.ppf(0.975)), 4), round(float(stats.chi2.sf(3.84, 1)), 3)
(1.96, 0.05)
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
from scipy import special


def _float(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _df(df: Any) -> np.ndarray:
    df = _float(df)
    return np.where(df > 0, df, np.nan)


def _prob(q: Any) -> np.ndarray:
    q = _float(q)
    return np.where((q >= 0) & (q <= 1), q, np.nan)


def _out(v: np.ndarray) -> Any:
    """A 0-d result as a numpy scalar, as scipy.stats returns it."""
    return v[()] if np.ndim(v) == 0 else v


def _chi2_sf(x: Any, df: Any) -> Any:
    x, df = _float(x), _df(df)
    return _out(np.where((x < 0) & (df > 0), 1.0, special.chdtrc(df, np.maximum(x, 0))))


def _chi2_cdf(x: Any, df: Any) -> Any:
    x, df = _float(x), _df(df)
    return _out(np.where((x < 0) & (df > 0), 0.0, special.chdtr(df, np.maximum(x, 0))))


def _chi2_ppf(q: Any, df: Any) -> Any:
    q, df = _prob(q), _df(df)
    return _out(2 * special.gammaincinv(df / 2, q))


def _chi2_isf(q: Any, df: Any) -> Any:
    return _out(special.chdtri(_df(df), _prob(q)))


def _t_ppf(q: Any, df: Any) -> Any:
    q, df = _prob(q), _df(df)
    return _out(np.where((q == 0) & (df > 0), -np.inf, special.stdtrit(df, q)))


norm = SimpleNamespace(
    cdf=lambda x: _out(special.ndtr(_float(x))),
    sf=lambda x: _out(special.ndtr(-_float(x))),
    ppf=lambda q: _out(special.ndtri(_prob(q))),
    isf=lambda q: _out(-special.ndtri(_prob(q))),
)
t = SimpleNamespace(
    cdf=lambda x, df: _out(special.stdtr(_df(df), _float(x))),
    sf=lambda x, df: _out(special.stdtr(_df(df), -_float(x))),
    ppf=_t_ppf,
    isf=lambda q, df: _out(-_t_ppf(q, df)),
)
chi2 = SimpleNamespace(sf=_chi2_sf, cdf=_chi2_cdf, ppf=_chi2_ppf, isf=_chi2_isf)

#: what ``from pceval._distributions import stats`` gives: ``stats.norm``, ``stats.t``, ``stats.chi2``
stats = SimpleNamespace(norm=norm, t=t, chi2=chi2)
