"""Effects by subgroup (e.g. IMD quintile): do they differ, and how do they change with deprivation?

:func:`effects_by` fits any pceval DiD estimator separately in each subgroup and reports

* the effect in each subgroup with its CI;
* a test that the effects are equal: ``Q = sum_k (b_k - b_bar)^2 / se_k^2`` with ``b_bar`` the
  inverse-variance weighted mean, ``~ chi2(K-1)`` under equality (Cochran's Q / a Wald test);
* the difference between the first and last levels (``Q1 - Q5`` for quintiles, 1 = most
  deprived), ``se = sqrt(se_1^2 + se_K^2)``;
* the trend: the inverse-variance weighted least-squares slope of the effect on the level's
  rank (change in effect per quintile step towards less deprived), with its model-based SE.

Relative effects (rate ratios, ratios of means) are analysed on the log scale and reported
back as ratios (the Q1/Q5 ratio of ratios; the multiplicative change per step).

Subgroups are disjoint sets of units, so their estimates are independent when each cluster
lies in one subgroup. If clusters span subgroups (e.g. a PCN serves several quintiles) the
independence is an approximation; the tests say so in ``notes``.

Reference: Altman, D.G. & Bland, J.M. (2003) Interaction revisited: the difference between
two estimates. BMJ 326:219.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pceval._checks import check_choice, check_confidence
from pceval._distributions import stats
from pceval._engines import to_pandas
from pceval._results import ResultProtocol, headline_on_scale, plain_floats, protocol_frame
from pceval.errors import EstimationError, InputError

if TYPE_CHECKING:
    from plotnine import ggplot


@dataclass(frozen=True)
class SubgroupEffects(ResultProtocol):
    """Effects by subgroup. ``table``: one row per level (subgroup, estimate, std_error, CI);
    ``test``: the equality test (statistic, df, p_value); ``difference`` (first minus last
    level, or their ratio) and ``trend`` rows; ``results``: each level's own result.

    ``to_frame()`` stacks the levels, the difference and the trend, each with its own interval
    and p-value; the headline is the difference (e.g. ``imd_quintile 1 - 5``)."""

    table: pd.DataFrame
    by: str
    scale: str
    test: dict
    difference: dict
    trend: dict
    notes: list[str]
    results: dict

    def to_frame(self) -> pd.DataFrame:
        """Protocol columns, then ``row`` (subgroup / difference / trend), ``by``, ``subgroup``,
        ``measure``, ``test_statistic, test_df, test_p_value`` (the equality test)."""
        levels = self.table.assign(term=[f"{self.by}={v}" for v in self.table["subgroup"]],
                                   row="subgroup")
        extra = pd.DataFrame([
            {**{k: v for k, v in self.difference.items() if k != "label"},
             "term": self.difference["label"], "row": "difference"},
            {**self.trend, "term": f"trend per step of {self.by}", "row": "trend"},
        ])
        out = pd.concat([levels, extra], ignore_index=True)
        if pd.api.types.is_integer_dtype(self.table["subgroup"]):
            # integer levels (IMD quintiles) stay integers beside the rows that have none
            out["subgroup"] = out["subgroup"].astype("Int64")
        out["scale"] = self.scale
        out["by"] = self.by
        q = self.test
        design = {"test_statistic": q["statistic"], "test_df": q["df"],
                  "test_p_value": q["p_value"]}
        return protocol_frame(out, design=design)

    @property
    def headline(self) -> pd.Series:
        """The difference between the first and last levels (Q1 - Q5 for IMD quintiles)."""
        frame = self.to_frame()
        return frame.loc[frame["row"] == "difference"].iloc[0]

    def summary(self) -> str:
        """Readable text: the effect per level, the equality test, the first-minus-last difference and the trend."""
        f = lambda v: f"{v:.4f}"  # noqa: E731
        d, t, q = self.difference, self.trend, self.test
        lines = [f"Effects by {self.by} ({self.scale} scale)",
                 self.table.to_string(index=False, float_format=f),
                 f"equal effects: chi2({q['df']}) = {q['statistic']:.3f}, p = {q['p_value']:.4f}",
                 f"{d['label']}: {f(d['estimate'])} (95% CI {f(d['ci_lower'])} to {f(d['ci_upper'])})",
                 f"trend per step of {self.by}: {f(t['estimate'])} (95% CI {f(t['ci_lower'])} to "
                 f"{f(t['ci_upper'])}, p = {t['p_value']:.4f})", *self.notes]
        return "\n".join(lines)

    def plot(self) -> ggplot:
        """The effect in each level with its interval (plotnine)."""
        from pceval.did.plots import plot_subgroups

        return plot_subgroups(self)


def _headline(res: Any, scale: str, aggregation: str) -> tuple[float, float]:
    """(estimate, std_error) of any result's headline on the analysis scale (log for ratios)."""
    from pceval.did.staggered import AttGtResult

    if isinstance(res, AttGtResult):
        res = res.aggregate(aggregation, n_boot=0)
    if not hasattr(res, "headline"):
        raise InputError(f"the estimator returned {type(res).__name__}, which does not follow "
                         "pceval's result protocol (no .headline)")
    try:
        row = headline_on_scale(res, scale)
    except LookupError:
        other = "absolute" if scale == "relative" else "relative"
        raise InputError(f"{type(res).__name__} has no {scale} scale; use scale='{other}'") from None
    if scale == "relative":
        return float(np.log(row["estimate"])), float(row["std_error"] / row["estimate"])
    return float(row["estimate"]), float(row["std_error"])


def effects_by(
    data: Any, by: str, estimator: Callable[..., Any], *, scale: str = "absolute",
    aggregation: str = "simple", confidence: float = 0.95, cluster: str | None = None,
    **kwargs: Any,
) -> SubgroupEffects:
    """Fit ``estimator(subset, **kwargs)`` in each level of ``by`` and compare the effects.

    Example
    -------
    >>> eff = effects_by(panel, by="imd_quintile", estimator=pceval.did.did2x2,
    ...                  outcome="admissions", treatment="treated", post="post",
    ...                  unit="person_id", model="poisson", exposure="person_time",
    ...                  scale="relative")                                 # doctest: +SKIP
    >>> eff.difference   # Q1 vs Q5                                         # doctest: +SKIP
    """
    check_choice(scale, "scale", {"absolute", "relative"})
    confidence = check_confidence(confidence)
    df, levels = _levels(data, by)
    if cluster is not None:
        kwargs["cluster"] = cluster
    results, b, se = _fit_levels(df, by, levels, estimator, scale, aggregation, kwargs)
    z = stats.norm.ppf(0.5 + confidence / 2)
    back = np.exp if scale == "relative" else (lambda v: v)
    out = pd.DataFrame({"subgroup": levels, "estimate": back(b),
                        "std_error": back(b) * se if scale == "relative" else se,
                        "statistic": b / se, "p_value": 2 * stats.norm.sf(np.abs(b / se)),
                        "ci_lower": back(b - z * se), "ci_upper": back(b + z * se)})
    test, difference, trend = _comparisons(b, se, z, back, scale, by, levels)
    notes = []
    if cluster is not None:
        spans = df.groupby(cluster)[by].nunique()
        if (spans > 1).any():
            notes.append(f"note: {int((spans > 1).sum())} cluster(s) of {cluster} span several levels "
                         f"of {by}; the subgroup estimates are treated as independent")
    return SubgroupEffects(table=out, by=by, scale=scale, test=plain_floats(test),
                           difference=plain_floats(difference), trend=plain_floats(trend),
                           notes=notes, results=results)


def _levels(data: Any, by: str) -> tuple[pd.DataFrame, list]:
    """Specification: the data as pandas and the sorted levels of ``by`` (at least two, none
    missing)."""
    df = to_pandas(data)
    if by not in df.columns:
        raise InputError(f"`by` column '{by}' is not in `data`")
    if df[by].isna().any():
        raise InputError(f"`by` column '{by}' has {int(df[by].isna().sum()):,} missing values; "
                         "give them a level (e.g. 'unknown') or drop them first")
    levels = sorted(df[by].unique())
    if len(levels) < 2:
        raise InputError(f"`by` column '{by}' has a single level; nothing to compare")
    return df, levels


def _fit_levels(df: pd.DataFrame, by: str, levels: list, estimator: Callable[..., Any],
                scale: str, aggregation: str, kwargs: dict) -> tuple[dict, np.ndarray, np.ndarray]:
    """Fit: the estimator in each level; returns each level's result and the headline
    estimates and SEs on the analysis scale (log for ratios)."""
    results, rows = {}, []
    for lev in levels:
        sub = df.loc[df[by] == lev]
        try:
            res = estimator(sub, **kwargs)
        except EstimationError as exc:
            raise EstimationError(f"{by} = {lev}: {exc}") from exc
        b, se = _headline(res, scale, aggregation)
        results[lev] = res
        rows.append(dict(subgroup=lev, _b=b, _se=se))
    tab = pd.DataFrame(rows)
    b, se = tab["_b"].to_numpy(float), tab["_se"].to_numpy(float)
    if not np.all(np.isfinite(se) & (se > 0)):
        raise EstimationError(f"some subgroups of {by} have no standard error")
    return results, b, se


def _comparisons(b: np.ndarray, se: np.ndarray, z: float, back: Callable, scale: str, by: str,
                 levels: list) -> tuple[dict, dict, dict]:
    """Result: the equality test (Cochran's Q), the first-minus-last difference and the
    inverse-variance weighted trend across the levels, reported back on the effect's scale."""
    w = 1 / se**2
    bbar = float(np.sum(w * b) / np.sum(w))
    q = float(np.sum(w * (b - bbar) ** 2))
    test = {"statistic": q, "df": len(b) - 1, "p_value": float(stats.chi2.sf(q, len(b) - 1))}
    # on the relative scale the SEs below are of the ratio (delta method), like the levels'
    to_scale = (lambda est, s: float(est * s)) if scale == "relative" else (lambda est, s: float(s))
    dlt, dse = b[0] - b[-1], float(np.hypot(se[0], se[-1]))
    op = "/" if scale == "relative" else "-"
    difference = {"label": f"{by} {levels[0]} {op} {levels[-1]}", "estimate": float(back(dlt)),
                  "std_error": to_scale(back(dlt), dse), "statistic": float(dlt / dse),
                  "ci_lower": float(back(dlt - z * dse)),
                  "ci_upper": float(back(dlt + z * dse)),
                  "p_value": float(2 * stats.norm.sf(abs(dlt / dse)))}
    x = np.arange(len(levels), dtype=float)
    Xd = np.column_stack([np.ones_like(x), x])
    cov = np.linalg.inv((Xd * w[:, None]).T @ Xd)
    coef = cov @ ((Xd * w[:, None]).T @ b)
    tse = float(np.sqrt(cov[1, 1]))
    trend = {"estimate": float(back(coef[1])), "std_error": to_scale(back(coef[1]), tse),
             "statistic": float(coef[1] / tse),
             "ci_lower": float(back(coef[1] - z * tse)), "ci_upper": float(back(coef[1] + z * tse)),
             "p_value": float(2 * stats.norm.sf(abs(coef[1] / tse)))}
    return test, difference, trend
