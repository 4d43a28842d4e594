"""The concentration index against independent computations of the textbook formulas.

* The index by O'Donnell et al.'s (2008, ch. 8) "convenient regression": regressing
  ``2 var(R) y / mu`` on the fractional rank ``R`` by OLS (statsmodels) gives ``C`` as the slope.
* Its standard error by Kakwani, Wagstaff & van Doorslaer's (1997, eq. 14) delta-method formula,
  written out here directly from the paper for individual data without ties:
  ``var(C) = (1/n) [ (1/n) sum a_i^2 - (1 + C)^2 ]`` with
  ``a_i = (y_i / mu)(2 R_i - 1 - C) + 2 - q_{i-1} - q_i`` and ``q_i`` the cumulative outcome share.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from pceval import inequality as ineq


@pytest.mark.parametrize("seed", [1, 2])
def test_concentration_index_equals_the_textbook_formulas(seed):
    rng = np.random.default_rng(seed)
    n = 400
    rank = rng.permutation(n) + 1                  # 1 = most deprived, no ties
    y = rng.gamma(2.0, 1.0 + 1.5 * (n - rank) / n)  # more use among the more deprived
    df = pd.DataFrame({"imd_rank": rank, "use": y})
    got = ineq.concentration_index(df, "use", quantile="imd_rank", most_deprived="lowest")
    got = got.iloc[0]

    order = np.argsort(rank)
    ys = y[order]
    R = (np.arange(1, n + 1) - 0.5) / n             # fractional rank, most deprived first
    mu = ys.mean()
    lhs = 2 * np.var(R) * ys / mu
    C = sm.OLS(lhs, sm.add_constant(R)).fit().params[1]
    q = np.cumsum(ys) / ys.sum()
    q_prev = np.r_[0.0, q[:-1]]
    a = (ys / mu) * (2 * R - 1 - C) + 2 - q_prev - q
    se = np.sqrt(((a**2).mean() - (1 + C) ** 2) / n)

    assert C < 0  # concentrated among the more deprived, as simulated
    assert got["index"] == pytest.approx(C, rel=1e-10)
    assert got["std_error"] == pytest.approx(se, rel=1e-10)
