"""Covariate balance between treated and comparison groups, on any (weighted) sample.

:func:`balance_table` (``pceval.balance_table``) compares the treated with the untreated before weighting (sample ``"all"``) and,
given weights (matching, subclassification or inverse-probability weights), after weighting
(sample ``"matched"``). It works on any table with a 0/1 treatment column; a matched sample from
:func:`pceval.match` reaches it through ``MatchResult.balance()``.

Statistics (as MatchIt's ``summary()`` and cobalt's ``bal.tab()`` compute them)
-------------------------------------------------------------------------------
For a covariate ``x`` with (matching) weights ``w`` (``s_weights`` multiply in when given):

* **Means**: ``m_g = sum_i w_i x_i / sum_i w_i`` over group ``g``.
* **Standardised mean difference**: ``smd = (m_1 - m_0) / s``, where the *same* ``s`` is used
  before and after matching and comes from the unweighted, unmatched sample:

  - ATT: ``s`` = standard deviation of the treated (``n - 1`` denominator);
  - ATC: ``s`` = standard deviation of the controls;
  - ATE: ``s = sqrt((s_1^2 + s_0^2) / 2)``;

  for a binary (0/1) covariate the group variance is ``p (1 - p)``. If ``|m_1 - m_0|`` is below
  ``sqrt(machine epsilon)`` the raw difference is reported (it is zero to rounding).
* **Variance ratio**: ``v_1 / v_0`` with weighted variances
  ``v = sum w_i (x_i - m)^2 * W / (W^2 - sum w_i^2)`` (``W = sum w_i``; R's ``cov.wt``, unbiased
  for frequency-like weights). Not reported for binary covariates (their variance is a function
  of the mean).
* **eCDF mean / max**: the mean and maximum over the distinct values of ``x`` of
  ``|F_1(x) - F_0(x)|``, where ``F_g`` is the weighted empirical distribution function of group
  ``g``. ``ks`` (the Kolmogorov-Smirnov statistic) equals the eCDF maximum. For a binary
  covariate all three equal ``|m_1 - m_0|``.
* **Standardised pair distance** (matched samples only): the mean over matched pairs (or over
  all treated-control pairs within a subclass) of ``|x_t - x_c| / s``.

Factors are expanded into one 0/1 column per level (``race`` -> ``raceblack``, ``racehispan``,
``racewhite``). ``squares=True`` adds squares of continuous covariates and ``interactions=True``
all two-way products (products within one factor are skipped), as MatchIt's
``summary(interactions = TRUE)``.

Thresholds (cobalt's conventions; the Improvement Analytics Unit uses the same): ``|smd| <= 0.1``,
``1/2 <= var_ratio <= 2`` and ``ks <= 0.05``; rows outside are flagged.

References
----------
Austin PC (2009). Balance diagnostics for comparing the distribution of baseline covariates
between treatment groups in propensity-score matched samples. *Stat Med* 28:3083-3107.
Stuart EA, Lee BK, Leacy FP (2013). Prognostic score-based balance measures can be a useful
diagnostic for propensity score methods. *J Clin Epidemiol* 66:S84-S90.
Ho D, Imai K, King G, Stuart EA (2011). MatchIt. *J Stat Softw* 42(8); Greifer N (2024). cobalt:
Covariate Balance Tables and Plots. R package.

Example
-------
>>> import pandas as pd
>>> df = pd.DataFrame({"t": [1, 1, 0, 0, 0], "age": [30, 40, 35, 50, 60]})
>>> b = balance_table(df, treatment="t", covariates=["age"])
>>> round(float(b.to_frame().loc[0, "smd"]), 3)
-1.886
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pceval._balance_rules import covariate_row, smd_scale
from pceval._checks import check_choice, check_frame, check_number
from pceval._design import Design, _add_products, _ess, model_matrix
from pceval._results import ResultProtocol, protocol_frame
from pceval.errors import InputError

if TYPE_CHECKING:
    from plotnine import ggplot

_SQRT_EPS = float(np.sqrt(np.finfo(float).eps))

DEFAULT_THRESHOLDS: dict[str, float] = {"smd": 0.1, "var_ratio": 2.0, "ks": 0.05}


# ----------------------------------------------------------------------------------------------
# single-variable statistics
# ----------------------------------------------------------------------------------------------

def _wmean(x: np.ndarray, w: np.ndarray) -> float:
    sw = w.sum()
    return float(np.dot(w, x) / sw) if sw > 0 else float("nan")


def weighted_var(x: np.ndarray, w: np.ndarray | None = None, binary: bool = False) -> float:
    """Weighted variance: ``p (1 - p)`` if binary, else R's ``cov.wt`` (unbiased) formula."""
    w = np.ones(len(x)) if w is None else w
    sw = w.sum()
    if sw <= 0:
        return float("nan")
    m = np.dot(w, x) / sw
    if binary:
        return float(m * (1 - m))
    p = w / sw
    denom = 1.0 - np.dot(p, p)
    if denom <= 0:
        return float("nan")
    return float(np.dot(p, (x - m) ** 2) / denom)


def ecdf_diff(x: np.ndarray, t: np.ndarray, w: np.ndarray | None = None) -> tuple[float, float]:
    """Mean and max over distinct values of ``|F_1(x) - F_0(x)|`` (weighted eCDFs)."""
    w = np.ones(len(x)) if w is None else w.astype(float)
    w1 = w * (t == 1)
    w0 = w * (t == 0)
    s1, s0 = w1.sum(), w0.sum()
    if s1 <= 0 or s0 <= 0:
        return float("nan"), float("nan")
    signed = w1 / s1 - w0 / s0
    o = np.argsort(x, kind="stable")
    xs = x[o]
    cs = np.abs(np.cumsum(signed[o]))
    last = np.r_[xs[1:] != xs[:-1], True]
    e = cs[last]
    return float(e.mean()), float(e.max())


def _pair_dist(x: np.ndarray, t: np.ndarray, pairs: np.ndarray | None,
               subclass: np.ndarray | None) -> float:
    """Mean |x_t - x_c| over matched pairs, or over all t-c pairs within subclasses."""
    if subclass is not None:
        ok = subclass >= 0
        if not ok.any():
            return float("nan")
        s = subclass[ok]
        xx = x[ok]
        tt = t[ok]
        o = np.lexsort((xx, s))
        s, xx, tt = s[o], xx[o], tt[o]
        is_c = tt == 0
        c_cnt = np.cumsum(is_c) - is_c                      # controls strictly before
        c_sum = np.cumsum(np.where(is_c, xx, 0.0)) - np.where(is_c, xx, 0.0)
        starts = np.r_[0, np.flatnonzero(s[1:] != s[:-1]) + 1]
        ends = np.r_[starts[1:], len(s)]
        blk = np.repeat(np.arange(len(starts)), ends - starts)
        tot_cnt = np.add.reduceat(is_c.astype(float), starts)
        tot_sum = np.add.reduceat(np.where(is_c, xx, 0.0), starts)
        b_cnt = c_cnt - c_cnt[starts][blk]
        b_sum = c_sum - c_sum[starts][blk]
        a_cnt = tot_cnt[blk] - b_cnt
        a_sum = tot_sum[blk] - b_sum
        contrib = (xx * b_cnt - b_sum) + (a_sum - xx * a_cnt)
        npairs = float(np.sum(np.where(~is_c, tot_cnt[blk], 0.0)))
        if npairs == 0:
            return float("nan")
        return float(np.sum(contrib[~is_c]) / npairs)
    if pairs is not None and len(pairs):
        return float(np.mean(np.abs(x[pairs[:, 0]] - x[pairs[:, 1]])))
    return float("nan")


def _one(x: np.ndarray, t: np.ndarray, w: np.ndarray | None, s_w: np.ndarray, std: float,
         binary: bool, *, pairs: np.ndarray | None = None,
         subclass: np.ndarray | None = None, pair_dist: bool = False) -> dict[str, float]:
    """Statistics of one covariate (MatchIt's ``bal1var``)."""
    ww = s_w if w is None else w * s_w
    i1, i0 = t == 1, t == 0
    m1 = _wmean(x[i1], ww[i1])
    m0 = _wmean(x[i0], ww[i0])
    out = covariate_row(
        m1, m0, too_small=bool(np.count_nonzero(ww[i1]) < 2 and np.count_nonzero(ww[i0]) < 2),
        std=std, binary=binary, eps=_SQRT_EPS,
        variances=lambda: (weighted_var(x[i1], ww[i1]), weighted_var(x[i0], ww[i0])),
        ecdf=lambda: ecdf_diff(x, t, ww))
    if w is not None and pair_dist:
        pdv = _pair_dist(x, t, pairs, subclass)
        if (np.isfinite(pdv) and abs(pdv) > 1e-8 and abs(m1 - m0) > _SQRT_EPS
                and np.isfinite(std) and std > 0):
            pdv = pdv / std
        out["std_pair_dist"] = pdv
    return out


def smd_denominator(x: np.ndarray, t: np.ndarray, s_w: np.ndarray, binary: bool,
                    estimand: str) -> float:
    """The standardisation factor for one covariate (full, unweighted-by-matching sample):
    :func:`pceval._balance_rules.smd_scale`."""
    v1 = weighted_var(x[t == 1], s_w[t == 1], binary)
    v0 = weighted_var(x[t == 0], s_w[t == 0], binary)
    return smd_scale(v1, v0, (t == 1).sum(), (t == 0).sum(), binary, estimand, _SQRT_EPS)


# ----------------------------------------------------------------------------------------------
# result
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BalanceResult(ResultProtocol):
    """Balance statistics before (``"all"``) and after (``"matched"``) weighting.

    ``table`` is tidy: one row per covariate and sample. Use :meth:`to_frame`, :meth:`summary`,
    :meth:`report_table` and :meth:`love_plot`.
    """

    table: pd.DataFrame = field(repr=False)
    estimand: str
    thresholds: Mapping[str, float]
    sample_sizes: pd.DataFrame = field(repr=False)
    groups: pd.DataFrame = field(repr=False)   # per covariate: treated / matched / pool summaries
    method: str = "balance"

    def to_frame(self) -> pd.DataFrame:
        """The result protocol's columns (``term`` = the covariate, ``estimate`` = its
        standardised mean difference; balance statistics have no standard errors, so the
        inferential columns are missing), then covariate, sample ('all'/'matched'), smd,
        var_ratio, ecdf_mean, ecdf_max, ks, the means, the pair distance, the variable type,
        ``balanced`` (True when the covariate meets every threshold) and the estimand."""
        tab = self.table.copy()
        tab.insert(0, "term", tab["covariate"])
        tab.insert(1, "estimate", tab["smd"])
        return protocol_frame(tab, confidence=0.95,
                              design={"measure": "standardised mean difference"})

    @property
    def headline(self) -> pd.Series:
        """The covariate with the largest |SMD| in the matched (or only) sample (the propensity
        score itself, row ``distance``, is left out: it summarises the covariates)."""
        frame = self.to_frame()
        s = "matched" if (frame["sample"] == "matched").any() else "all"
        rows = frame[(frame["sample"] == s) & (frame["covariate"] != "distance")]
        return rows.loc[rows["smd"].abs().idxmax()] if rows["smd"].notna().any() else rows.iloc[0]

    @property
    def balanced(self) -> bool:
        """Whether every covariate meets every threshold in the matched (or only) sample."""
        s = "matched" if (self.table["sample"] == "matched").any() else "all"
        rows = self.table[self.table["sample"] == s]
        return bool(rows["balanced"].all())

    def report_table(self, digits: int = 2) -> pd.DataFrame:
        """Report-ready: treated vs matched controls vs the whole untreated pool.

        One row per covariate: mean (SD) for continuous covariates, % for binary ones, in the
        treated, the matched (weighted) controls and all untreated people; SMD before and
        after matching, and whether the matched SMD meets the threshold.
        """
        g = self.groups

        def fmt_bin(m: float, s: float) -> str:
            return f"{100 * m:.{max(digits - 1, 0)}f}%"

        def fmt_cont(m: float, s: float) -> str:
            return f"{m:,.{digits}f} ({s:,.{digits}f})"

        rows = []
        for _, r in g.iterrows():
            fmt = fmt_bin if r["type"] == "binary" else fmt_cont
            rows.append({
                "covariate": r["covariate"],
                "treated": fmt(r["mean_treated"], r["sd_treated"]),
                "matched controls": (fmt(r["mean_matched"], r["sd_matched"])
                                     if np.isfinite(r["mean_matched"]) else ""),
                "all controls (pool)": fmt(r["mean_pool"], r["sd_pool"]),
                "SMD before": round(float(r["smd_all"]), 3),
                "SMD after": (round(float(r["smd_matched"]), 3)
                              if np.isfinite(r["smd_matched"]) else np.nan),
                "balanced": (bool(abs(r["smd_matched"]) <= self.thresholds["smd"])
                             if np.isfinite(r["smd_matched"]) else
                             bool(abs(r["smd_all"]) <= self.thresholds["smd"])),
            })
        return pd.DataFrame(rows)

    def summary(self, digits: int = 3) -> str:
        """Readable text: sample sizes, then the balance table with flagged rows marked."""
        thr = self.thresholds
        lines = [f"Covariate balance ({self.estimand}); thresholds |SMD| <= {thr['smd']}, "
                 f"variance ratio in [1/{thr['var_ratio']:g}, {thr['var_ratio']:g}], "
                 f"KS <= {thr['ks']}",
                 "SMD denominator: " + {
                     "ATT": "SD of the treated in the unmatched sample",
                     "ATC": "SD of the controls in the unmatched sample",
                     "ATE": "sqrt of the mean of the two groups' variances (unmatched sample)",
                 }[self.estimand], "", "Sample sizes:", self.sample_sizes.to_string(), ""]
        t = self.table[["covariate", "sample", "mean_treated", "mean_control", "smd",
                        "var_ratio", "ks", "balanced"]].copy()
        t["balanced"] = np.where(t["balanced"], "yes", "no")
        lines.append(t.to_string(index=False, float_format=lambda v: f"{v:.{digits}f}"))
        n_bad = int((~self.table.loc[self.table["sample"] == self.table["sample"].iloc[-1],
                                     "balanced"]).sum())
        lines.append("")
        lines.append(f"balanced = yes when every threshold is met (as in to_frame()); {n_bad} "
                     f"covariate(s) not balanced in the '{self.table['sample'].iloc[-1]}' sample.")
        return "\n".join(lines)

    def love_plot(self, stat: str = "smd", absolute: bool = True, title: str | None = None,
                  labels: Mapping[str, str] | None = None) -> ggplot:
        """Love plot (plotnine): each covariate's statistic before and after matching.

        ``stat`` is ``"smd"``, ``"var_ratio"`` or ``"ks"``; dashed lines mark the thresholds.
        ``labels`` maps covariate names to the words a reader sees (``{"ltc_count": "Long-term
        conditions"}``); names not in it are shown with spaces for underscores, and the matching
        distance as "propensity score (distance)".
        """
        from plotnine import (
            aes,
            geom_point,
            geom_vline,
            ggplot,
            labs,
            scale_colour_manual,
            scale_shape_manual,
            theme,
        )

        from pceval.plots import NHS_COLOURS, theme_nhs

        check_choice(stat, "stat", ("smd", "var_ratio", "ks"))
        df = self.table[["covariate", "sample", stat]].dropna().copy()
        if absolute and stat == "smd":
            df[stat] = df[stat].abs()
        order = (df[df["sample"] == "all"].sort_values(stat)["covariate"].tolist()
                 if (df["sample"] == "all").any() else df["covariate"].unique().tolist())
        order += [c for c in df["covariate"].unique() if c not in order]
        words = {"distance": "propensity score (distance)", **dict(labels or {})}
        unknown = sorted(set(words) - set(df["covariate"]) - {"distance"})
        if unknown:
            raise InputError(f"`labels` names covariates not in the balance table: {unknown}; "
                             f"covariates: {sorted(df['covariate'].unique())}")

        def say(name: str) -> str:
            return words.get(name, name.replace("_", " "))

        order = [say(c) for c in order]
        if len(set(order)) < len(order):
            raise InputError(f"`labels` gives two covariates the same words: {order}")
        df["covariate"] = pd.Categorical(df["covariate"].map(say), categories=order, ordered=True)
        df["sample"] = pd.Categorical(
            df["sample"].map({"all": "Before matching", "matched": "After matching"}),
            categories=["Before matching", "After matching"])
        thr = self.thresholds
        lines = {"smd": [thr["smd"]] if absolute else [-thr["smd"], thr["smd"]],
                 "var_ratio": [1 / thr["var_ratio"], thr["var_ratio"]],
                 "ks": [thr["ks"]]}[stat]
        xlab = {"smd": "Absolute standardised mean difference" if absolute
                else "Standardised mean difference",
                "var_ratio": "Variance ratio (treated / control)",
                "ks": "Kolmogorov-Smirnov statistic"}[stat]
        colours = {"Before matching": NHS_COLOURS["mid_grey"],
                   "After matching": NHS_COLOURS["blue"]}
        p = (ggplot(df, aes(x=stat, y="covariate", colour="sample", shape="sample"))
             + geom_point(size=2.8)
             + scale_colour_manual(values=colours)
             + scale_shape_manual(values={"Before matching": "o", "After matching": "D"})
             + labs(x=xlab, y="", colour="", shape="",
                    title=title or f"Covariate balance ({self.estimand})")
             + theme_nhs() + theme(legend_position="bottom"))
        for v in lines:
            p = p + geom_vline(xintercept=v, linetype="dashed", colour=NHS_COLOURS["dark_grey"])
        if stat == "smd" and not absolute:
            p = p + geom_vline(xintercept=0, colour=NHS_COLOURS["pale_grey"])
        return p

    def plot(self, **kwargs: Any) -> ggplot:
        """Alias of :meth:`love_plot`."""
        return self.love_plot(**kwargs)


# ----------------------------------------------------------------------------------------------
# main entry
# ----------------------------------------------------------------------------------------------

def _expand(data: pd.DataFrame, covariates: Sequence[str], name: str) -> Design:

    return model_matrix(data, covariates, contrasts=False, name=name)


def balance_arrays(X: np.ndarray, names: Sequence[str], binary: np.ndarray, treat: np.ndarray,
                   weights: np.ndarray | None = None, *, estimand: str = "ATT",
                   s_weights: np.ndarray | None = None, pairs: np.ndarray | None = None,
                   subclass: np.ndarray | None = None, pair_dist: bool = True,
                   thresholds: Mapping[str, float] | None = None,
                   sample_sizes: pd.DataFrame | None = None) -> BalanceResult:
    """Balance from arrays (the engine behind :func:`balance` and ``MatchResult.balance``).

    ``X`` is n x p (already expanded), ``treat`` 0/1, ``weights`` the matching weights (None for
    a before-only table), ``pairs`` an m x 2 array of (treated row, control row) matched pairs
    and ``subclass`` per-row matched-set ids (-1 = none) for the pair distance.
    """
    for k, v in (thresholds or {}).items():
        check_choice(k, "thresholds key", tuple(DEFAULT_THRESHOLDS))
        check_number(v, f"thresholds['{k}']", low=0, low_open=True)
    thr = dict(DEFAULT_THRESHOLDS)
    thr.update(thresholds or {})
    t = np.asarray(treat).astype(np.int8)
    if weights is not None:
        for side, label in ((1, "treated"), (0, "comparison")):
            if not np.any(np.asarray(weights)[t == side] > 0):
                raise InputError(f"`weights` are 0 for every {label} row: there is no weighted "
                                 f"{label} group to compare")
    n = len(t)
    s_w = np.ones(n) if s_weights is None else np.asarray(s_weights, float)
    recs = []
    grp = []
    for j, nm in enumerate(names):
        x = X[:, j]
        b = bool(binary[j])
        std = smd_denominator(x, t, s_w, b, estimand)
        a = _one(x, t, None, s_w, std, b)
        recs.append({"covariate": nm, "sample": "all", **a, "type": "binary" if b else "continuous"})
        g = {"covariate": nm, "type": "binary" if b else "continuous",
             "mean_treated": a["mean_treated"],
             "sd_treated": np.sqrt(weighted_var(x[t == 1], s_w[t == 1], b)),
             "mean_pool": a["mean_control"],
             "sd_pool": np.sqrt(weighted_var(x[t == 0], s_w[t == 0], b)),
             "smd_all": a["smd"], "mean_matched": np.nan, "sd_matched": np.nan,
             "smd_matched": np.nan}
        if weights is not None:
            m = _one(x, t, weights, s_w, std, b, pairs=pairs, subclass=subclass,
                     pair_dist=pair_dist)
            recs.append({"covariate": nm, "sample": "matched", **m,
                         "type": "binary" if b else "continuous"})
            ww = weights * s_w
            c = (t == 0) & (ww > 0) if estimand != "ATC" else (t == 1) & (ww > 0)
            g["mean_matched"] = m["mean_control"] if estimand != "ATC" else m["mean_treated"]
            g["sd_matched"] = np.sqrt(weighted_var(x[c], ww[c], b)) if c.any() else np.nan
            g["smd_matched"] = m["smd"]
        grp.append(g)
    tab = pd.DataFrame(recs)
    cols = ["covariate", "sample", "smd", "var_ratio", "ecdf_mean", "ecdf_max", "ks",
            "mean_treated", "mean_control", "std_pair_dist", "type"]
    tab = tab[cols]
    tab["smd_ok"] = tab["smd"].abs() <= thr["smd"]
    vr = tab["var_ratio"]
    tab["var_ratio_ok"] = vr.isna() | ((vr >= 1 / thr["var_ratio"]) & (vr <= thr["var_ratio"]))
    tab["ks_ok"] = tab["ks"].isna() | (tab["ks"] <= thr["ks"])
    tab["balanced"] = tab["smd_ok"] & tab["var_ratio_ok"] & tab["ks_ok"]
    tab["estimand"] = estimand
    if sample_sizes is None:
        sample_sizes = _sizes(t, weights, s_w)
    return BalanceResult(table=tab, estimand=estimand, thresholds=thr,
                         sample_sizes=sample_sizes, groups=pd.DataFrame(grp))


def _sizes(t: np.ndarray, weights: np.ndarray | None, s_w: np.ndarray) -> pd.DataFrame:
    rows = {}
    for g, lab in ((0, "control"), (1, "treated")):
        m = t == g
        col = {"All (ESS)": _ess(s_w[m]), "All": float(m.sum())}
        if weights is not None:
            ww = (weights * s_w)[m]
            col["Matched (ESS)"] = _ess(ww)
            col["Matched"] = float(np.count_nonzero(ww > 0))
            col["Unmatched"] = float(np.count_nonzero(ww == 0))
        rows[lab] = col
    return pd.DataFrame(rows)


def _lazy_table(data: Any) -> Any:
    """A lazy table (DuckDB, Spark, polars LazyFrame) as a narwhals LazyFrame, else None: balance
    tables on lazy tables are computed in the engine (:mod:`pceval._in_engine_balance`)."""
    from pceval._engines import is_eager, lazy

    if isinstance(data, pd.DataFrame) or is_eager(data):
        return None
    try:
        return lazy(data, "data")
    except InputError:
        return None


def balance_table(data: pd.DataFrame, treatment: str, covariates: Sequence[str],
                  weights: str | np.ndarray | pd.Series | None = None, *, estimand: str = "ATT",
                  s_weights: str | None = None, subclass: str | None = None,
                  squares: bool = False, interactions: bool = False,
                  thresholds: Mapping[str, float] | None = None) -> BalanceResult:
    """Balance of ``covariates`` between treated and untreated, before and after weighting.

    Parameters
    ----------
    data : pandas DataFrame, one row per person (or person-period); not modified.
    treatment : 0/1 (or boolean) column.
    covariates : columns to compare; text/categorical columns are expanded to one 0/1 column
        per level.
    weights : optional column name or array of weights (e.g. matching or IPW weights); rows with
        weight 0 are out of the weighted ("matched") sample.
    estimand : "ATT", "ATC" or "ATE"; chooses the SMD denominator (see module docstring).
    s_weights : optional sampling-weight column, multiplied into every statistic.
    subclass : optional matched-set column, for the standardised pair distance.
    squares, interactions : add squares / two-way products of the covariates.
    thresholds : override ``{"smd": 0.1, "var_ratio": 2, "ks": 0.05}``.

    Returns
    -------
    BalanceResult
        ``.to_frame()`` has columns covariate, sample, smd, var_ratio, ecdf_mean, ecdf_max, ks,
        mean_treated, mean_control, std_pair_dist, type, the threshold flags and estimand.
    """
    check_choice(estimand, "estimand", ("ATT", "ATC", "ATE"))
    if isinstance(covariates, str):
        covariates = [covariates]
    if not covariates:
        raise InputError("`covariates` must name at least one column")
    lf = _lazy_table(data)
    if lf is not None:  # weighted moments by group computed in the engine
        from pceval._in_engine_balance import balance_in_engine

        return balance_in_engine(lf, treatment, list(covariates), weights, estimand=estimand,
                                 s_weights=s_weights, subclass=subclass, squares=squares,
                                 interactions=interactions, thresholds=thresholds,
                                 defaults=DEFAULT_THRESHOLDS, eps=_SQRT_EPS, result=BalanceResult)
    req = [treatment, *covariates] + [c for c in (s_weights, subclass) if c]
    if isinstance(weights, str):
        req.append(weights)
    df = check_frame(data, "data", required=req, binary=[treatment], not_null=[treatment])
    t = df[treatment].astype(int).to_numpy()
    if (t == 1).sum() == 0 or (t == 0).sum() == 0:
        raise InputError(f"`data`: column '{treatment}' needs both treated (1) and untreated (0) rows")
    w = None
    if weights is not None:
        w = (df[weights] if isinstance(weights, str) else pd.Series(np.asarray(weights)))
        w = np.asarray(w, dtype=float)
        if len(w) != len(df):
            raise InputError(f"`weights` has {len(w)} values but `data` has {len(df)} rows")
        if not np.all(np.isfinite(w)) or (w < 0).any():
            raise InputError("`weights` must be finite and non-negative")
    sw = None
    if s_weights:
        sw = df[s_weights].to_numpy(dtype=float)
        if not np.all(np.isfinite(sw)) or (sw < 0).any():
            raise InputError(f"`data`: column '{s_weights}' (s_weights) must be finite and >= 0")
    d = _expand(df, covariates, "data")
    X, names, binary = _add_products(d.X, d.names, d.binary, squares, interactions)
    sub = None
    if subclass:
        sub = pd.factorize(df[subclass], use_na_sentinel=True)[0].astype(np.int64)
    return balance_arrays(X, names, binary, t, w, estimand=estimand, s_weights=sw,
                          subclass=sub, pair_dist=sub is not None, thresholds=thresholds)


__all__ = ["balance_table", "BalanceResult", "balance_arrays", "weighted_var", "ecdf_diff",
           "smd_denominator", "DEFAULT_THRESHOLDS"]
