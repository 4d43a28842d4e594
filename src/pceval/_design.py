"""Design helpers shared by matching, balance and the outcome models (a low layer).

* :func:`model_matrix` expands covariates into a numeric matrix like R's ``model.matrix``
  (factors to 0/1 columns, with or without treatment contrasts);
* :func:`_add_products` adds squares and pairwise interactions (cobalt's ``int = TRUE``,
  ``poly = 2``);
* :func:`_ess` is Kish's effective sample size ``(sum w)^2 / sum w^2``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pceval.errors import InputError

_SQRT_EPS = float(np.sqrt(np.finfo(float).eps))


@dataclass(frozen=True)
class Design:
    """A numeric design matrix with R-style column names.

    ``X`` is float64 with one row per input row; ``names`` its column names; ``source`` the
    covariate each column came from; ``binary`` whether each column holds only 0 and 1.
    """

    X: np.ndarray
    names: list[str]
    source: list[str]
    binary: np.ndarray
    levels: dict[str, list[Any]] = field(default_factory=dict)


def is_factor(s: pd.Series) -> bool:
    """Whether a column is treated as a factor (text, object or pandas categorical)."""
    return not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s))


def factor_levels(s: pd.Series) -> list[Any]:
    """Levels of a factor column: categorical order, else sorted distinct non-missing values."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        present = set(s.dropna().unique())
        return [c for c in s.cat.categories if c in present]
    vals = s.dropna().unique()
    try:
        return sorted(vals)
    except TypeError:  # mixed types: sort by text
        return sorted(vals, key=str)


def model_matrix(data: pd.DataFrame, covariates: Sequence[str], *, contrasts: bool,
                 name: str = "data", intercept: bool = False) -> Design:
    """Expand ``covariates`` of ``data`` into a numeric matrix like R's ``model.matrix``.

    With ``intercept=True`` a leading column of ones named ``(Intercept)`` is added. The matrix
    is column-major (each column contiguous), which is how it is built and used. Missing values
    are an :class:`InputError` naming the column and how many rows are missing (matching, like
    MatchIt, needs complete covariates).
    """
    plan: list[tuple[str, Any, Any]] = []   # (covariate, values or codes, level index or None)
    names: list[str] = ["(Intercept)"] if intercept else []
    source: list[str] = ["(Intercept)"] if intercept else []
    levels: dict[str, list[Any]] = {}
    for cov in covariates:
        s = data[cov]
        n_miss = int(s.isna().sum())
        if n_miss:
            raise InputError(
                f"`{name}`: covariate '{cov}' has {n_miss} missing value(s); matching needs complete "
                "covariates (impute them, or add a missing-indicator column and fill the value)")
        if is_factor(s):
            lev = factor_levels(s)
            levels[cov] = lev
            codes = pd.Categorical(s, categories=lev).codes
            start = 1 if contrasts else 0
            for j in range(start, len(lev)):
                plan.append((cov, codes, j))
                names.append(f"{cov}{lev[j]}")
                source.append(cov)
        else:
            v = s.to_numpy()
            if v.dtype.kind == "f" and not np.all(np.isfinite(v)):
                raise InputError(f"`{name}`: covariate '{cov}' has non-finite values (inf)")
            plan.append((cov, v, None))
            names.append(cov)
            source.append(cov)
    n = len(data)
    X = np.empty((n, len(names)), dtype=float, order="F")
    off = 0
    if intercept:
        X[:, 0] = 1.0
        off = 1
    binary = np.zeros(len(names), dtype=bool)
    for k, (_cov, v, j) in enumerate(plan, start=off):
        if j is None:
            X[:, k] = v
            col = X[:, k]
            binary[k] = bool(np.all((col == 0) | (col == 1)))
        else:
            X[:, k] = v == j
            binary[k] = True
    if intercept:
        binary[0] = True
    return Design(X=X, names=names, source=source, binary=binary, levels=levels)


def _add_products(X: np.ndarray, names: list[str], binary: np.ndarray, squares: bool,
                  interactions: bool) -> tuple[np.ndarray, list[str], np.ndarray]:
    cols, nm, bn = [], [], []
    k = X.shape[1]
    for i in range(k):
        for j in range(i, k):
            if i == j and not squares:
                continue
            if i != j and not interactions:
                continue
            x2 = X[:, i] * X[:, j]
            if np.all(np.abs(x2) < _SQRT_EPS) or np.all(np.abs(x2 - X[:, i]) < _SQRT_EPS):
                continue  # a binary squared, or two levels of one factor
            cols.append(x2)
            nm.append(f"{names[i]}^2" if i == j else f"{names[i]} * {names[j]}")
            bn.append(bool(np.all((x2 == 0) | (x2 == 1))))
    if not cols:
        return X, names, binary
    return (np.column_stack([X, *cols]), names + nm, np.r_[binary, np.array(bn, dtype=bool)])


def _ess(w: np.ndarray) -> float:
    s2 = float(np.dot(w, w))
    return float(w.sum() ** 2 / s2) if s2 > 0 else 0.0
