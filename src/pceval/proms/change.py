"""The effect of an intervention on a follow-up score, adjusted for its baseline (``score_change``).

ANCOVA (the default) regresses the follow-up score on treatment, the baseline score and any
covariates by weighted least squares::

    y_follow_up = a + b treatment + g y_baseline + c' x + e          (method="ancova")
    y_follow_up - y_baseline = a + b treatment + c' x + e            (method="change")

``b`` is the effect, in the score's own units. ANCOVA is unbiased when treated and comparison people
were comparable at baseline (randomised, or matched on the baseline score) and more precise than the
change score; the change score is unbiased under the weaker parallel-trends assumption of a
difference-in-differences, and ANCOVA is then biased by regression to the mean when the groups
differ at baseline (Vickers & Altman 2001, *BMJ* 323:1123; Van Breukelen 2006, *J Clin Epidemiol*
59:920). The relative row is the ratio of means ``m1 / (m1 - b)``, ``m1`` the treated people's
(weighted) mean follow-up score, with the delta-method standard error ``se_b m1 / (m1 - b)^2``
(``m1`` taken as known).

Standard errors: CR1 clustered on the matched set (``cluster``; the default when ``data`` is a
:class:`~pceval.MatchResult` made with pair subclasses), otherwise HC3; t intervals with ``n - K``
residual degrees of freedom, as R ``lm`` with ``lmtest::coeftest``.

Non-response: people with a baseline but no follow-up score are counted, by group
(``.nonresponse``). ``nonresponse="ipw"`` weights respondents by the inverse of their estimated
probability of responding (a logistic model of response on the baseline score and
``response_covariates``, fitted in each group separately; Seaman & White 2013, *Stat Methods Med Res* 22:278); ``.response_balance``
shows, in each group, how far the respondents, before and after weighting, are from everyone with
a baseline (standardised mean differences, in SDs of everyone with a baseline). The weights are treated as known in the standard errors.

By subgroup (``by``, e.g. IMD quintile): the model is fitted within each level; the rows give each
level's effect, the first-minus-last difference (Q1 - Q5 for quintiles; independent subgroups,
``se = sqrt(se_1^2 + se_K^2)``, normal interval) and the equality test (Cochran's Q,
``sum_k (b_k - b_bar)^2 / se_k^2 ~ chi2(K - 1)``). :meth:`ScoreChangeResult.equity_input` feeds
:func:`pceval.inequality.equity_of_effect`.

Example
-------
>>> res = score_change(scores, outcome="pam_score_follow_up", baseline="pam_score_baseline",
...                    treatment="treated", by="imd_quintile")            # doctest: +SKIP
>>> res.headline["estimate"]                                              # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from pceval._checks import check_choice, check_confidence, require_columns
from pceval._design import model_matrix
from pceval._models import fit_glm
from pceval._results import (
    ResultProtocol,
    difference_row,
    protocol_frame,
    ratio_row,
)
from pceval.errors import InputError, PcevalWarning
from pceval.proms._fit import LinearFit, fit_wls

if TYPE_CHECKING:
    from plotnine import ggplot

METHODS = ("ancova", "change")
NONRESPONSE = ("complete", "ipw")
VCOVS = ("auto", "cluster", "HC0", "HC1", "HC3")


@dataclass(frozen=True)
class ScoreChangeResult(ResultProtocol):
    """Result of :func:`score_change` (the result protocol: ``to_frame``, ``headline``, ``summary``,
    ``plot``, ``verdict``).

    ``table``: the overall effect (absolute, then the ratio of means), then with ``by`` one row per
    level, the first-minus-last difference; ``equality``: the equality test across levels;
    ``nonresponse``: people by group with and without a follow-up score; ``response_balance``: the
    response model's balance (``nonresponse="ipw"``); ``contamination``: comparison people who
    received another intervention in the outcome window (``None``: not checked); ``excluded``: rows
    left out before the analysis, by reason (e.g. people without diabetes in :func:`hba1c_effect`).
    """

    table: pd.DataFrame
    outcome: str
    baseline: str
    method: str
    measure: str
    by: str | None = None
    equality: dict[str, float] = field(default_factory=dict)
    nonresponse: pd.DataFrame = field(default_factory=pd.DataFrame)
    response_balance: pd.DataFrame | None = None
    contamination: int | None = None
    higher_is: str = "better"
    confidence: float = 0.95
    excluded: dict[str, int] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """Protocol columns, then ``row`` (overall / subgroup / difference), ``by``, ``level``,
        ``measure``, ``n_treated``, ``n_comparison``, ``n_obs``, ``method``, ``se_type``, ``confidence``."""
        return self.table.copy()

    def equity_input(self, quantile: str = "imd_quintile") -> pd.DataFrame:
        """The by-level effects as :func:`pceval.inequality.equity_of_effect` reads them: one row per
        level with ``quantile``, ``estimate``, ``std_error``, ``n_treated``."""
        if self.by is None:
            raise InputError("`score_change` was run without `by`: pass by='imd_quintile' to get effects by "
                             "quintile for equity_of_effect")
        sub = self.table[self.table["row"] == "subgroup"]
        out = pd.DataFrame({quantile: sub["level"].to_numpy(), "estimate": sub["estimate"].to_numpy(),
                            "std_error": sub["std_error"].to_numpy(), "n_treated": sub["n_treated"].to_numpy()})
        if pd.api.types.is_numeric_dtype(out[quantile]):
            out[quantile] = out[quantile].astype("int64")
        return out

    def summary(self) -> str:
        h = self.headline
        lines = [f"Effect on {self.measure} ({self.method.upper() if self.method == 'ancova' else 'change score'}), "
                 f"{self.higher_is.replace('better', 'higher is better').replace('worse', 'higher is worse')}",
                 f"  {h['estimate']:.3f} ({self.confidence:.0%} CI {h['ci_lower']:.3f} to {h['ci_upper']:.3f}), "
                 f"p = {h['p_value']:.4f}; {int(h['n_treated']):,} treated, {int(h['n_comparison']):,} comparison; "
                 f"SE {h['se_type']}"]
        nr = self.nonresponse
        if not nr.empty:
            lines.append("  without a follow-up score: " + ", ".join(
                f"{r.group} {int(r.no_follow_up):,} of {int(r.with_baseline):,}" for r in nr.itertuples()))
        if self.by is not None and self.equality:
            d = self.table[self.table["row"] == "difference"].iloc[0]
            lines.append(f"  {d['term']}: {d['estimate']:.3f} ({d['ci_lower']:.3f} to {d['ci_upper']:.3f}); "
                         f"equal effects across {self.by}: chi2({int(self.equality['df'])}) = "
                         f"{self.equality['statistic']:.2f}, p = {self.equality['p_value']:.4f}")
        for why, n in self.excluded.items():
            lines.append(f"  left out before the analysis: {n:,} {why}")
        if self.contamination:
            lines.append(f"  WARNING: {self.contamination:,} comparison people received another intervention in "
                         "the outcome window")
        return "\n".join(lines)

    def plot(self) -> ggplot:
        """Point estimates with intervals (overall and, with ``by``, per level)."""
        from plotnine import aes, coord_flip, geom_hline, geom_pointrange, ggplot, labs

        from pceval.plots import theme_nhs

        d = self.table[self.table["scale"] == "absolute"].copy()
        d["term"] = pd.Categorical(d["term"], categories=list(dict.fromkeys(d["term"]))[::-1])
        return (ggplot(d, aes("term", "estimate", ymin="ci_lower", ymax="ci_upper"))
                + geom_hline(yintercept=0, linetype="dashed") + geom_pointrange() + coord_flip()
                + labs(x="", y=f"effect on {self.measure}") + theme_nhs())


def _treatment_flag(df: pd.DataFrame, treatment: str, name: str) -> np.ndarray:
    t = df[treatment]
    vals = set(pd.unique(t.dropna()))
    if t.isna().any() or not vals <= {0, 1}:
        bad = sorted({v for v in vals if v not in (0, 1, True, False)}, key=str)[:5]
        raise InputError(f"`{name}`: treatment column '{treatment}' must be 0/1 or True/False without missing "
                         f"values; found {bad or 'missing values'}")
    flag = t.astype(int).to_numpy()
    if flag.min() == flag.max():
        raise InputError(f"`{name}`: treatment column '{treatment}' has only "
                         f"{'treated' if flag[0] else 'comparison'} rows; both groups are needed")
    return flag


def _numeric(df: pd.DataFrame, col: str, arg: str, name: str) -> np.ndarray:
    s = df[col]
    if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        raise InputError(f"`{arg}`: column '{col}' of `{name}` must be numeric (a score), got {s.dtype}; "
                         f"first values {list(s.head(3))}")
    return s.to_numpy(dtype=float)


def _weights(df: pd.DataFrame, weights: str | None, name: str) -> np.ndarray:
    if weights is None:
        return np.ones(len(df))
    w = _numeric(df, weights, "weights", name)
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        raise InputError(f"`weights`: column '{weights}' must be finite and >= 0; found "
                         f"{list(pd.unique(w[~np.isfinite(w) | (w < 0)]))[:5]}")
    return w


def _resolve_data(data: Any, weights: str | None, cluster: str | None) -> tuple[pd.DataFrame, str | None, str | None]:
    """A MatchResult gives its matched sample, weights and (pair) subclasses."""
    if hasattr(data, "matched_data") and not isinstance(data, pd.DataFrame):
        df = data.matched_data()
        if weights is None and "weights" in df:
            weights = "weights"
        if cluster is None and getattr(data, "has_subclass", False) and "subclass" in df:
            cluster = "subclass"
        return df, weights, cluster
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"`data` must be a pandas DataFrame or a MatchResult, got {type(data).__name__}")
    return data, weights, cluster


def _response_ipw(df: pd.DataFrame, t: np.ndarray, y0: np.ndarray, responded: np.ndarray, w: np.ndarray,
                  covs: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Inverse-probability-of-response weights (1 / p_hat for respondents) and the balance table.

    The response model is fitted separately in each group (logistic on the baseline score and
    ``covs``), so response may depend on them differently among treated and comparison people.
    """
    des = model_matrix(df, covs, contrasts=True, name="data", intercept=True) if covs else None
    X = np.column_stack([np.ones(len(df)), y0] + ([des.X[:, 1:]] if des is not None else []))
    names = ["baseline score"] + (des.names[1:] if des is not None else [])
    p = np.empty(len(df))
    for g in (0, 1):
        sel = t == g
        beta, ok = fit_glm("logistic", X[sel], responded[sel].astype(float), w[sel])
        if not ok or not np.all(np.isfinite(beta)):
            raise InputError("`nonresponse='ipw'`: the response model did not converge (response perfectly "
                             "predicted?); use fewer `response_covariates`")
        p[sel] = 1 / (1 + np.exp(-(X[sel] @ beta)))
    ipw = np.where(responded, 1 / p, 0.0)
    rows = []
    for g, gname in ((1, "treated"), (0, "comparison")):
        sel = t == g
        r = responded & sel
        for j, nm in enumerate(names):
            z = X[:, j + 1]
            m_all = np.average(z[sel], weights=w[sel])
            sd = np.sqrt(np.average((z[sel] - m_all) ** 2, weights=w[sel]))
            m_resp = np.average(z[r], weights=w[r])
            m_ipw = np.average(z[r], weights=(w * ipw)[r])
            rows.append({"group": gname, "covariate": nm, "mean_all": m_all, "mean_respondents": m_resp,
                         "mean_respondents_weighted": m_ipw,
                         "smd_respondents": (m_resp - m_all) / sd if sd > 0 else np.nan,
                         "smd_weighted": (m_ipw - m_all) / sd if sd > 0 else np.nan})
    return ipw, pd.DataFrame(rows)


def _fit_one(df: pd.DataFrame, y: np.ndarray, t: np.ndarray, y0: np.ndarray, w: np.ndarray,
             covs: list[str], method: str, codes: np.ndarray | None, vcov: str) -> LinearFit:
    cols = [np.ones(len(y)), t.astype(float)]
    if method == "ancova":
        cols.append(y0)
    if covs:
        des = model_matrix(df, covs, contrasts=True, name="data", intercept=True)
        cols.append(des.X[:, 1:])
    X = np.column_stack(cols)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise InputError("`covariates`: the model matrix is not of full rank (a covariate constant, or "
                         "collinear with treatment or the baseline score, within the sample or a `by` level)")
    resp = y if method == "ancova" else y - y0
    return fit_wls(X, resp, w, codes, vcov)


def score_change(data: Any, outcome: str, baseline: str, treatment: str,
                 covariates: Sequence[str] | None = None, weights: str | None = None,
                 cluster: str | None = None, by: str | None = None, confidence: float = 0.95, *,
                 method: Literal["ancova", "change"] = "ancova", vcov: str = "auto",
                 nonresponse: Literal["complete", "ipw"] = "complete",
                 response_covariates: Sequence[str] | None = None,
                 measure: str | None = None, higher_is: Literal["better", "worse"] = "better",
                 interventions: pd.DataFrame | None = None, unit: str = "person_id",
                 index_date: str = "index_date", window: tuple[int, int] = (-30, 215)) -> ScoreChangeResult:
    """The effect on a follow-up score adjusted for its baseline (see the module docstring).

    Parameters
    ----------
    data : one row per person (or matched episode) with the follow-up score ``outcome`` (missing =
        no follow-up), the ``baseline`` score and the 0/1 ``treatment``; or a MatchResult whose
        matched sample has them (its ``weights`` and pair ``subclass`` are then the defaults).
    covariates : adjustment covariates (numeric or categorical; complete).
    weights, cluster : columns of matching or sampling weights and of the cluster (matched set).
    by : subgroup column (e.g. ``"imd_quintile"``): effects per level, first minus last, equality test.
    method : ``"ancova"`` (default) or ``"change"`` (change score).
    vcov : ``"auto"`` (CR1 by ``cluster`` if given, else HC3), ``"cluster"``, ``"HC0"``, ``"HC1"``, ``"HC3"``.
    nonresponse : ``"complete"`` (respondents only, non-response counted) or ``"ipw"``.
    response_covariates : columns of the response model besides the baseline (default ``covariates``).
    measure : the score's name in words (default ``outcome``); ``higher_is``: whether a higher score
        is better (PAM, ONS4 life satisfaction) or worse (ONS4 anxiety, HbA1c).
    interventions, unit, index_date, window : check for contamination: with an ``interventions``
        table (``unit``, ``date``) and each row's ``index_date``, comparison people with any
        intervention dated ``window`` days around their index are counted and warned about
        (:func:`pceval.proms.check_contamination`).

    Returns
    -------
    ScoreChangeResult
    """
    from pceval.proms.contamination import check_contamination

    confidence = check_confidence(confidence)
    method = check_choice(method, "method", METHODS)
    vcov = check_choice(vcov, "vcov", VCOVS)
    nonresponse = check_choice(nonresponse, "nonresponse", NONRESPONSE)
    df, weights, cluster = _resolve_data(data, weights, cluster)
    covs = list(covariates or [])
    rcovs = list(covs if response_covariates is None else response_covariates)
    needed = [outcome, baseline, treatment, *covs, *rcovs] + [c for c in (weights, cluster, by) if c]
    require_columns(df.columns, "data", list(dict.fromkeys(needed)))
    for arg, col in (("outcome", outcome), ("baseline", baseline)):
        _numeric(df, col, arg, "data")
    if vcov == "cluster" and cluster is None:
        raise InputError("`vcov='cluster'` needs `cluster=` (e.g. the matched set, 'subclass')")
    vcov_used = "cluster" if (vcov == "auto" and cluster is not None) else ("HC3" if vcov == "auto" else vcov)
    if cluster is not None and vcov_used != "cluster":
        warnings.warn(f"`cluster='{cluster}'` is ignored with vcov='{vcov}'", PcevalWarning, stacklevel=2)

    contamination = None
    if interventions is not None:
        contamination = int(check_contamination(df, treatment, interventions, unit=unit, index_date=index_date,
                                                window=window).attrs["n_total"])

    t_all = _treatment_flag(df, treatment, "data")
    w_all = _weights(df, weights, "data")
    y_all = df[outcome].to_numpy(dtype=float)
    y0_all = df[baseline].to_numpy(dtype=float)
    has_base = np.isfinite(y0_all) & (w_all > 0)
    responded = has_base & np.isfinite(y_all)
    groups = np.where(t_all == 1, "treated", "comparison")
    nr = (pd.DataFrame({"group": groups, "rows": 1, "with_baseline": has_base, "with_follow_up": responded})
          .groupby("group", sort=False).sum().reindex(["treated", "comparison"]).reset_index())
    nr["no_baseline"] = nr["rows"] - nr["with_baseline"]
    nr["no_follow_up"] = nr["with_baseline"] - nr["with_follow_up"]
    nr["response_rate"] = nr["with_follow_up"] / nr["with_baseline"]

    balance = None
    w_fit = w_all.copy()
    if nonresponse == "ipw":
        base = df.loc[has_base]
        ipw, balance = _response_ipw(base, t_all[has_base], y0_all[has_base], responded[has_base],
                                     w_all[has_base], rcovs)
        w_fit[has_base] = w_all[has_base] * ipw
    keep = responded
    sample = df.loc[keep]
    t, y, y0, w = t_all[keep], y_all[keep], y0_all[keep], w_fit[keep]
    if min(t.sum(), (1 - t).sum()) < 2:
        raise InputError(f"`data`: too few people with both scores ({int(t.sum())} treated, {int((1 - t).sum())} "
                         "comparison)")
    codes = pd.factorize(sample[cluster])[0] if cluster is not None else None
    label = measure or outcome
    se_type = ""

    def fit_rows(mask: np.ndarray, term: str, row: str, level: Any, relative: bool) -> list[dict[str, Any]]:
        nonlocal se_type
        n1, n0 = int(t[mask].sum()), int((1 - t[mask]).sum())
        if row == "subgroup" and min(n1, n0) < 2:  # too few to fit: a row without an interval
            return [{"term": term, "estimate": np.nan, "std_error": np.nan, "scale": "absolute", "row": row,
                     "by": by, "level": level, "measure": f"difference in {label}", "n_treated": n1,
                     "n_comparison": n0, "n_obs": n1 + n0, "method": method, "se_type": "too few to fit",
                     "residual_df": np.nan}]
        f = _fit_one(sample.loc[mask], y[mask], t[mask], y0[mask], w[mask], covs, method,
                     None if codes is None else pd.factorize(codes[mask])[0], vcov_used)
        se_type = f.se_type
        b, se = float(f.beta[1]), float(np.sqrt(f.vcov[1, 1]))
        design = {"row": row, "by": by, "level": level, "measure": f"difference in {label}",
                  "n_treated": int(t[mask].sum()), "n_comparison": int((1 - t[mask]).sum()), "n_obs": f.n,
                  "method": method, "se_type": f.se_type, "residual_df": f.df_resid}
        out = [difference_row(term, b, se, confidence, f.df_resid, **design)]
        m1 = float(np.average(y[mask][t[mask] == 1], weights=w[mask][t[mask] == 1]))
        if relative and m1 > 0 and m1 - b > 0:
            out.append(ratio_row(term, float(np.log(m1 / (m1 - b))), se / (m1 - b), confidence, f.df_resid,
                                 **{**design, "measure": f"ratio of mean {label} (treated / without)"}))
        return out

    rows = fit_rows(np.ones(len(y), bool), "effect", "overall", "all", relative=True)
    equality: dict[str, float] = {}
    if by is not None:
        lev_col = sample[by]
        if lev_col.isna().any():
            raise InputError(f"`by`: column '{by}' has {int(lev_col.isna().sum())} missing values")
        levels = sorted(pd.unique(lev_col))
        if len(levels) < 2:
            raise InputError(f"`by`: column '{by}' has one level ({levels}) among people with both scores")
        if codes is not None:
            spans = pd.DataFrame({"c": codes, "l": lev_col.to_numpy()}).groupby("c")["l"].nunique()
            if (spans > 1).any():
                warnings.warn(f"{int((spans > 1).sum()):,} clusters span several levels of '{by}': the "
                              "first-minus-last difference and the equality test assume independent levels "
                              "(match exactly on the subgroup)", PcevalWarning, stacklevel=2)
        sub = []
        for lev in levels:
            sub += fit_rows((lev_col == lev).to_numpy(), f"{by} = {lev}", "subgroup", lev, relative=False)
        b = np.array([r["estimate"] for r in sub])
        s = np.array([r["std_error"] for r in sub])
        from scipy import stats

        ok = np.isfinite(b) & np.isfinite(s) & (s > 0)
        wq = 1 / s[ok] ** 2
        q = float(np.sum(wq * (b[ok] - np.sum(wq * b[ok]) / np.sum(wq)) ** 2))
        equality = {"statistic": q, "df": float(ok.sum() - 1),
                    "p_value": float(stats.chi2.sf(q, ok.sum() - 1)) if ok.sum() > 1 else np.nan}
        diff = difference_row(f"{by} {levels[0]} - {levels[-1]}", b[0] - b[-1], float(np.hypot(s[0], s[-1])),
                              confidence, None, row="difference", by=by, level=f"{levels[0]} - {levels[-1]}",
                              measure=f"difference in effects on {label}",
                              n_treated=sub[0]["n_treated"] + sub[-1]["n_treated"],
                              n_comparison=sub[0]["n_comparison"] + sub[-1]["n_comparison"],
                              n_obs=sub[0]["n_obs"] + sub[-1]["n_obs"], method=method, se_type=se_type,
                              residual_df=np.nan)
        rows += sub + [diff]
    table = protocol_frame(pd.DataFrame(rows))
    table["confidence"] = confidence
    table["level"] = table["level"].astype(object)
    res = ScoreChangeResult(table=table, outcome=outcome, baseline=baseline, method=method, measure=label, by=by,
                            equality=equality, nonresponse=nr, response_balance=balance,
                            contamination=contamination, higher_is=higher_is, confidence=confidence)
    return res

