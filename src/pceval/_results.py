"""The one result protocol every pceval result follows, and the one verdict function.

Every result object has

* ``.to_frame()``: a tidy DataFrame whose first columns are always :data:`PROTOCOL_COLUMNS`
  (``term, estimate, std_error, statistic, p_value, ci_lower, ci_upper, scale``), followed by
  design columns (``measure``, ``n_treated``, ``n_comparison``, ``method``, ``se_type``,
  ``confidence`` ...);
* ``.headline``: the one row of ``to_frame()`` a report leads with (a ``pd.Series``);
* ``.summary()``: readable text; ``.plot()``: a plotnine figure;
* ``.verdict()``: :func:`verdict` applied to ``.headline``.

``scale`` has one meaning everywhere: ``"absolute"`` for a difference (no effect = 0) and
``"relative"`` for a ratio (no effect = 1). The words saying what the number is (e.g. "rate
ratio", "difference in rate per 1,000 person-years") go in the ``measure`` design column.

Every row carries the interval and p-value of its *own* Wald statistic: for an absolute row
``statistic = estimate / std_error``; for a relative row the statistic and the interval are
computed on the log scale, ``statistic = log(estimate) / se_log`` with ``se_log =
std_error / estimate`` (the delta method), and ``CI = exp(log(estimate) -/+ q se_log)``.
``q`` is the normal quantile unless the estimator states t degrees of freedom (``df_resid``);
see :func:`critical_value`, the one t/z policy of the library.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pceval._distributions import stats

if TYPE_CHECKING:
    from plotnine import ggplot

PROTOCOL_COLUMNS: tuple[str, ...] = (
    "term", "estimate", "std_error", "statistic", "p_value", "ci_lower", "ci_upper", "scale",
)
SCALES = ("absolute", "relative")
VERDICTS = ("lower", "higher", "no evidence either way", "too few to tell")


def critical_value(confidence: float, df_resid: float | None = None) -> float:
    """The two-sided critical value: ``t_{df}`` quantile when ``df_resid`` is given, else normal.

    Policy: small-sample t quantiles only where the estimator's reference package uses them
    (OLS after matching, as R ``lm`` with ``lmtest::coeftest``); everything fitted by maximum
    likelihood or GMM-style influence functions (Poisson, logistic, DiD, att_gt) uses the normal.
    """
    if df_resid is not None and np.isfinite(df_resid) and df_resid > 0:
        return float(stats.t.ppf(0.5 + confidence / 2, df_resid))
    return float(stats.norm.ppf(0.5 + confidence / 2))


def two_sided_p(stat: np.ndarray, df_resid: float | None) -> np.ndarray:
    if df_resid is not None and np.isfinite(df_resid) and df_resid > 0:
        return 2 * stats.t.sf(np.abs(stat), df_resid)
    return 2 * stats.norm.sf(np.abs(stat))


def wald_columns(estimate: Any, std_error: Any, scale: Any, confidence: float,
                 df_resid: float | None = None) -> dict[str, np.ndarray]:
    """``statistic, p_value, ci_lower, ci_upper`` for estimates on their own scale.

    ``scale`` is ``"absolute"`` or ``"relative"`` (per row or for all rows). Relative rows use
    the log scale (see the module docstring). Rows without a finite positive standard error get
    NaN statistic, p-value and interval.
    """
    b = np.asarray(estimate, dtype=float)
    se = np.asarray(std_error, dtype=float)
    rel = np.broadcast_to(np.asarray(scale) == "relative", b.shape)
    q = critical_value(confidence, df_resid)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = np.where(rel, np.log(np.where(b > 0, b, np.nan)), b)
        s = np.where(rel, se / b, se)
        s = np.where(np.isfinite(s) & (s > 0), s, np.nan)
        stat = centre / s
        lo, hi = centre - q * s, centre + q * s
        lo = np.where(rel, np.exp(lo), lo)
        hi = np.where(rel, np.exp(hi), hi)
    return {"statistic": stat, "p_value": two_sided_p(stat, df_resid), "ci_lower": lo,
            "ci_upper": hi}


def ratio_row(term: str, log_estimate: float, log_se: float, confidence: float,
              df_resid: float | None = None, **design: Any) -> dict[str, Any]:
    """One relative row from a log-scale estimate and its SE (e.g. a log rate ratio)."""
    est = float(np.exp(log_estimate))
    cols = wald_columns(est, est * log_se, "relative", confidence, df_resid)
    return {"term": term, "estimate": est, "std_error": est * log_se,
            **{k: float(v) for k, v in cols.items()}, "scale": "relative", **design}


def difference_row(term: str, estimate: float, std_error: float, confidence: float,
                   df_resid: float | None = None, **design: Any) -> dict[str, Any]:
    """One absolute row from an estimate and its SE."""
    cols = wald_columns(estimate, std_error, "absolute", confidence, df_resid)
    return {"term": term, "estimate": float(estimate), "std_error": float(std_error),
            **{k: float(v) for k, v in cols.items()}, "scale": "absolute", **design}


def protocol_frame(table: pd.DataFrame, *, confidence: float | None = None,
                   scale: str | None = None, df_resid: float | None = None,
                   design: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Return ``table`` with the protocol columns first (a copy; ``table`` is not changed).

    Missing ``statistic``/``p_value``/``ci_*`` are computed with :func:`wald_columns` (needs
    ``confidence``); a missing ``scale`` column is filled with ``scale``; ``design`` adds
    constant design columns that the table does not have yet.
    """
    out = table.copy()
    if "scale" not in out:
        out["scale"] = scale or "absolute"
    if "std_error" not in out:
        out["std_error"] = np.nan
    missing = [c for c in ("statistic", "p_value", "ci_lower", "ci_upper") if c not in out]
    if missing:
        if confidence is None:
            raise ValueError("protocol_frame needs `confidence` to compute " + ", ".join(missing))
        cols = wald_columns(out["estimate"], out["std_error"], out["scale"], confidence, df_resid)
        for c in missing:
            out[c] = cols[c]
    for k, v in (design or {}).items():
        if k not in out:
            out[k] = v
    rest = [c for c in out.columns if c not in PROTOCOL_COLUMNS]
    return out[[*PROTOCOL_COLUMNS, *rest]].reset_index(drop=True)


def verdict(row: Mapping[str, Any] | pd.Series, *, n: float | None = None,
            min_n: float = 0) -> str:
    """The verdict in words, read from the interval of the very row it describes.

    * ``"too few to tell"``: the row has no interval (NaN: not estimable), or ``n`` (a count the
      caller passes, e.g. people in the subgroup) is below ``min_n``;
    * ``"lower"``: the whole interval lies below no effect (0 for ``scale="absolute"``, 1 for
      ``"relative"``);
    * ``"higher"``: the whole interval lies above it;
    * ``"no evidence either way"``: the interval contains no effect.

    Whether lower is good (fewer admissions) or bad (lower wellbeing) is for the sentence that
    quotes the verdict; this function only reads the interval, so it can never contradict it.
    """
    lo, hi = float(row["ci_lower"]), float(row["ci_upper"])
    if n is not None and n < min_n:
        return "too few to tell"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "too few to tell"
    null = 1.0 if row.get("scale", "absolute") == "relative" else 0.0
    if hi < null:
        return "lower"
    if lo > null:
        return "higher"
    return "no evidence either way"


def headline_on_scale(result: Any, scale: str) -> pd.Series:
    """The headline row of ``result`` on ``scale``: the headline itself, or the row of
    ``to_frame()`` with the same term on the other scale (e.g. the rate ratio beside the
    difference in rates). Raises ``LookupError`` when the result has no such row."""
    h = result.headline
    if h["scale"] == scale:
        return h
    tab = result.to_frame()
    same = tab[(tab["term"] == h["term"]) & (tab["scale"] == scale)]
    if same.empty:
        raise LookupError(scale)
    return same.iloc[0]


class ResultProtocol:
    """Mixin: ``headline`` is row ``_headline_row`` of ``to_frame()``; ``verdict()`` reads it.

    Subclasses implement ``to_frame()`` (returning :func:`protocol_frame` output) and may
    override ``_headline_row`` (default 0: the first row).
    """

    _headline_row: int = 0

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - every subclass overrides
        """The tidy table: ``term, estimate, std_error, statistic, p_value, ci_lower, ci_upper,
        scale`` (``absolute``: no effect = 0; ``relative``: no effect = 1), then design columns."""
        raise NotImplementedError

    def summary(self) -> str:  # pragma: no cover - every subclass overrides
        """Readable text: the design, the estimates with their intervals, and how they were computed."""
        raise NotImplementedError

    def plot(self) -> ggplot:  # pragma: no cover - every subclass overrides
        """A plotnine figure of the estimates with their intervals."""
        raise NotImplementedError

    @property
    def headline(self) -> pd.Series:
        """The row of :meth:`to_frame` a report leads with."""
        return self.to_frame().iloc[self._headline_row]

    def verdict(self) -> str:
        """:func:`pceval.verdict` of :attr:`headline`."""
        return verdict(self.headline)


def plain_floats(d: Mapping[str, Any]) -> dict[str, Any]:
    """A dict with numpy scalars turned into Python ``float``/``int`` (summary fields)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, (np.floating, float)):
            out[k] = float(v)
        elif isinstance(v, (np.integer,)) and not isinstance(v, bool):
            out[k] = int(v)
        else:
            out[k] = v
    return out


def check_protocol(frame: pd.DataFrame, where: str = "result") -> None:
    """Assert ``frame`` starts with the protocol columns and uses the scale vocabulary."""
    head = tuple(frame.columns[: len(PROTOCOL_COLUMNS)])
    if head != PROTOCOL_COLUMNS:
        raise AssertionError(f"{where}.to_frame() starts with {head}, not {PROTOCOL_COLUMNS}")
    bad = set(frame["scale"].dropna()) - set(SCALES)
    if bad:
        raise AssertionError(f"{where}.to_frame() has scale values {sorted(bad)}")


__all__: Sequence[str] = (
    "PROTOCOL_COLUMNS", "SCALES", "VERDICTS", "critical_value", "two_sided_p", "wald_columns", "ratio_row",
    "difference_row", "protocol_frame", "verdict", "headline_on_scale", "ResultProtocol",
    "plain_floats", "check_protocol",
)
