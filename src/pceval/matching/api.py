"""``pceval.match``: one call from a table to a matched comparison group."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

from pceval._checks import check_choice, check_frame, check_int, check_number
from pceval._design import model_matrix
from pceval.errors import EstimationError, InputError, PcevalWarning
from pceval.matching.cem import coarsen
from pceval.matching.distance import PropensityModel, fit_propensity, mahalanobis_transform
from pceval.matching.exact import strata_codes, subclass_from_strata, weights_from_subclass
from pceval.matching.nearest import (
    match_distance_no_replace,
    match_distance_replace,
    match_mahalanobis,
)
from pceval.matching.result import MatchResult
from pceval.matching.rolling import rolling_match
from pceval.matching.subclass import subclassify

METHODS = ("nearest", "exact", "cem", "subclass")
PS_DISTANCES = ("glm", "logit", "probit")
LINKS = ("logit", "probit", "linear.logit", "linear.probit")


def _as_list(x: str | Sequence[str] | None, name: str) -> list[str]:
    if x is None:
        return []
    if isinstance(x, str):
        return [x]
    try:
        out = list(x)
    except TypeError:
        raise InputError(f"`{name}` must be a column name or a list of column names") from None
    if not all(isinstance(c, str) for c in out):
        raise InputError(f"`{name}` must hold column names (strings), got {out!r}")
    return out


def match(data: Any, treatment: str, covariates: Sequence[str] | None = None, *,
          method: str = "nearest", distance: Any = "glm", link: str = "logit",
          ps_formula: str | None = None, estimand: str = "ATT", ratio: int = 1,
          replace: bool = False, caliper: float | None = None, std_caliper: bool = True,
          exact: Sequence[str] | str | None = None, mahvars: Sequence[str] | str | None = None,
          discard: str = "none", reestimate: bool = False, m_order: str | None = None,
          subclass: int | Sequence[float] = 6, min_n: int = 1,
          cutpoints: Mapping[str, Any] | None = None, unit: str | None = None,
          period: str | None = None, seed: int = 1, progress: bool = False) -> MatchResult:
    """Match treated people to comparable untreated people (MatchIt-compatible).

    Parameters
    ----------
    data : table with one row per person (or per person-period for rolling entry): pandas, or
        anything :func:`pceval.to_pandas` collects. Never modified.
    treatment : 0/1 (or boolean) column; 1 = received the intervention.
    covariates : columns to match on / balance. Text and categorical columns are factors
        (expanded like R's ``model.matrix``). Must be complete (no missing values).
    method : ``"nearest"`` (greedy nearest neighbour, default), ``"exact"``, ``"cem"``
        (coarsened exact) or ``"subclass"`` (propensity-score subclasses). Optimal and full
        matching are not offered: both need a min-cost network-flow solver on a treated x control
        distance matrix (optmatch in R); with national cohorts that matrix does not fit in memory,
        and greedy matching within calipers gives near-identical balance (Austin 2014).
    distance : ``"glm"`` (logistic propensity score; ``"logit"``/``"probit"`` pick the link),
        ``"mahalanobis"`` (Mahalanobis distance on the covariates, no score), the name of a column
        holding scores, or an array of scores.
    link : ``"logit"`` (default), ``"probit"``; ``"linear.logit"`` / ``"linear.probit"`` match
        on the linear predictor (e.g. the logit of the score, where a 0.2 SD caliper is the
        common recommendation; Austin 2011).
    ps_formula : optional right-hand-side formula for the propensity model, e.g.
        ``"age + I(age**2) + C(race) + married"`` (patsy syntax); balance still uses ``covariates``.
    estimand : ``"ATT"`` (default), ``"ATC"``; ``"ATE"`` for exact, CEM and subclassification.
    ratio : controls per treated person (k rounds of 1:1 matching).
    replace : match with replacement (a control may serve several treated people).
    caliper : maximum distance for a match, in SDs of the distance (``std_caliper=True``, as
        MatchIt; SD over non-discarded people, ``n - 1`` denominator) or in distance units.
        Inclusive: ``|d_t - d_c| <= width``.
    exact : columns that must match exactly (strata for nearest neighbour matching).
    mahvars : columns for Mahalanobis distance matching inside the propensity-score caliper.
    discard : ``"none"``, ``"both"``, ``"treated"`` or ``"control"``: drop people whose score
        lies outside the range of the other group (common support).
    reestimate : refit the propensity model after discarding.
    m_order : ``"largest"`` (default with a score; ``"smallest"`` for the ATC), ``"smallest"``,
        ``"random"`` or ``"data"`` (default with Mahalanobis distance).
    subclass : number of subclasses (``method="subclass"``), or quantile probabilities.
    min_n : minimum treated and controls per subclass (smaller ones are merged).
    cutpoints : CEM coarsening per covariate: ``"sturges"`` (default), ``"fd"``, ``"scott"``,
        ``"q<k>"``, a number of bins, a list of cut points, or 0 for none.
    unit : person id column: with rolling entry (or repeated rows per person), a control person
        is used at most once without replacement.
    period : rolling entry: the index-period column; treated people are matched only to control
        rows of their own period (see :mod:`pceval.matching.rolling`).
    seed : seed for ``m_order="random"`` (the only randomness).
    progress : show a progress bar (tqdm) over the focal people (useful for millions).

    Returns
    -------
    MatchResult
        ``matched_data()``, ``summary()``, ``sample_sizes()``, ``balance()``, ``love_plot()``,
        ``pairs()`` and ``propensity_model``.

    Tie-breaking (deterministic): equal scores keep their row order; a treated person takes the
    control below them when one below and one above are equally far; processing order ties
    keep row order; exact ties in Mahalanobis distance follow MatchIt's search order. See
    :mod:`pceval.matching.nearest`.

    Example
    -------
    >>> m = match(df, treatment="treat", covariates=["age", "educ", "race"],  # doctest: +SKIP
    ...           caliper=0.2, exact=["race"])
    >>> m.matched_data(); m.balance().to_frame()  # doctest: +SKIP
    """
    spec = _match_spec(data, treatment, covariates, method, distance, link, ps_formula, estimand,
                       ratio, replace, caliper, std_caliper, exact, mahvars, discard, reestimate,
                       m_order, subclass, min_n, cutpoints, unit, period, seed)
    dist, prop, eligible, cal_width = _distance(spec)
    t = spec.t
    mm = focal_rows = None
    if spec.method == "nearest":
        focal_rows, mm, w, sub = _nearest(spec, dist, eligible, cal_width, progress)
    elif spec.method in ("exact", "cem"):
        w, sub = _strata(spec, eligible)
    else:
        w, sub = _subclasses(spec, dist, eligible)
    bal_covs = tuple(dict.fromkeys([*spec.covs, *spec.exact, *spec.mahvars]))
    return MatchResult(
        data=spec.data, treatment=treatment, covariates=tuple(spec.covs), method=spec.method,
        estimand=spec.estimand, treat=t, distance=dist, weights=w, subclass=sub,
        discarded=~eligible, match_matrix=mm, focal_rows=focal_rows, propensity=prop,
        caliper=cal_width, settings=spec.settings, balance_covariates=bal_covs)


# ---------------------------------------------------------------------------------------------
# step 1: the specification, checked once
# ---------------------------------------------------------------------------------------------

@dataclass
class _Spec:
    """Every argument of :func:`match`, checked, with the data and the 0/1 treatment array."""

    data: pd.DataFrame
    df: pd.DataFrame
    t: np.ndarray
    method: str
    estimand: str
    covs: list[str]
    exact: list[str]
    mahvars: list[str]
    ratio: int
    replace: bool
    caliper: float | None
    std_caliper: bool
    discard: str
    reestimate: bool
    m_order: str | None
    subclass: Any
    min_n: int
    cutpoints: Mapping[str, Any] | None
    unit: str | None
    period: str | None
    seed: int
    ps_formula: str | None
    link: str
    score_col: str | None
    user_scores: np.ndarray | None
    is_mahal: bool
    settings: dict = field(default_factory=dict)

    @property
    def focal_is_treated(self) -> bool:
        return self.estimand != "ATC"


def _distance_argument(distance: Any, link: str, data: pd.DataFrame
                       ) -> tuple[Any, str, str | None, np.ndarray | None]:
    """(distance, link, score column, user scores) from ``distance=``: a method name, a column
    of ``data`` or an array of scores."""
    if isinstance(distance, str) and distance in ("logit", "probit"):
        link = distance if not link.startswith("linear") else f"linear.{distance}"
        distance = "glm"
    if isinstance(distance, str):
        if distance not in (*PS_DISTANCES, "mahalanobis"):
            if distance not in data.columns:
                raise InputError(f"`distance` must be 'glm', 'logit', 'probit', 'mahalanobis', a "
                                 f"column of `data` or an array of scores; got {distance!r}")
            return distance, link, distance, None
        return distance, link, None, None
    if distance is None:
        return distance, link, None, None
    scores = np.asarray(distance, dtype=float)
    if scores.shape != (len(data),):
        raise InputError(f"`distance` as scores must have one value per row ({len(data)}), "
                         f"got shape {scores.shape}")
    return distance, link, None, scores


def _match_spec(data: Any, treatment: Any, covariates: Any, method: str, distance: Any, link: str,
                ps_formula: str | None, estimand: str, ratio: int, replace: Any,
                caliper: float | None, std_caliper: bool, exact: Any, mahvars: Any, discard: str,
                reestimate: bool, m_order: str | None, subclass: Any, min_n: int,
                cutpoints: Mapping[str, Any] | None, unit: Any, period: Any, seed: int) -> _Spec:
    """Check every argument once, at the boundary; the later steps trust the spec."""
    if not isinstance(data, pd.DataFrame):
        from pceval._engines import to_pandas

        data = to_pandas(data)
    if not isinstance(treatment, str):
        raise InputError("`treatment` must be a column name")
    method = check_choice(method, "method", METHODS)
    estimand = check_choice(estimand, "estimand", ("ATT", "ATC", "ATE"))
    covs = _as_list(covariates, "covariates")
    exact_l = _as_list(exact, "exact")
    mah_l = _as_list(mahvars, "mahvars")
    ratio = check_int(ratio, "ratio", low=1)
    if not isinstance(replace, (bool, np.bool_)):
        raise InputError(f"`replace` must be True or False, got {replace!r}")
    discard = check_choice(discard, "discard", ("none", "both", "treated", "control"))
    link = check_choice(link, "link", LINKS)
    distance, link, score_col, user_scores = _distance_argument(distance, link, data)
    if ps_formula is None and not covs and score_col is None and user_scores is None:
        raise InputError("`covariates` must name at least one column")
    if unit is not None and not isinstance(unit, str):
        raise InputError("`unit` must be a column name")
    if period is not None and not isinstance(period, str):
        raise InputError("`period` must be a column name")
    need = [treatment, *covs, *exact_l, *mah_l] + [c for c in (score_col, unit, period) if c]
    df = check_frame(data, "data", required=list(dict.fromkeys(need)), binary=[treatment],
                     not_null=list(dict.fromkeys(
                         [treatment, *exact_l, *(covs if method in ("exact", "cem") else [])]
                         + [c for c in (score_col, unit, period) if c])))
    if treatment in (*exact_l, *mah_l):
        raise InputError(f"`exact`/`mahvars` cannot include the treatment column '{treatment}'")
    t = df[treatment].astype(int).to_numpy().astype(np.int8)
    n1, n0 = int((t == 1).sum()), int((t == 0).sum())
    if n1 == 0 or n0 == 0:
        raise InputError(f"`data`: column '{treatment}' must have both treated (1) and untreated "
                         f"(0) rows; found {n1} treated and {n0} untreated")
    if method == "nearest" and estimand == "ATE":
        raise InputError("`estimand='ATE'` is not available with method='nearest' (use 'ATT' or "
                         "'ATC', or method='subclass'/'cem'/'exact')")
    if caliper is not None:
        caliper = check_number(caliper, "caliper", low=0)
    if period is not None and method != "nearest":
        raise InputError("rolling entry (`period=`) works with method='nearest'")
    is_mahal = isinstance(distance, str) and distance == "mahalanobis"
    if is_mahal and method != "nearest":
        raise InputError("distance='mahalanobis' works with method='nearest'")
    if is_mahal and mah_l:
        raise InputError("with distance='mahalanobis' all covariates are used; drop `mahvars`")
    if m_order is not None:
        check_choice(m_order, "m_order", ("largest", "smallest", "random", "data"))
    seed = check_int(seed, "seed")
    min_n = check_int(min_n, "min_n", low=1)
    settings = dict(method=method, distance=distance if isinstance(distance, str) else "scores",
                    link=link, estimand=estimand, ratio=ratio, replace=bool(replace),
                    caliper=caliper, std_caliper=std_caliper, exact=tuple(exact_l),
                    mahvars=tuple(mah_l), discard=discard, reestimate=reestimate,
                    m_order=m_order, subclass=subclass, cutpoints=cutpoints, unit=unit,
                    period=period, seed=seed, ps_formula=ps_formula)
    return _Spec(data=data, df=df, t=t, method=method, estimand=estimand, covs=covs,
                 exact=exact_l, mahvars=mah_l, ratio=ratio, replace=bool(replace),
                 caliper=caliper, std_caliper=std_caliper, discard=discard,
                 reestimate=reestimate, m_order=m_order, subclass=subclass, min_n=min_n,
                 cutpoints=cutpoints, unit=unit, period=period, seed=seed, ps_formula=ps_formula,
                 link=link, score_col=score_col, user_scores=user_scores, is_mahal=is_mahal,
                 settings=settings)


# ---------------------------------------------------------------------------------------------
# step 2: the distance, common support and the caliper
# ---------------------------------------------------------------------------------------------

def _distance(s: _Spec) -> tuple[np.ndarray | None, PropensityModel | None, np.ndarray,
                                  float | None]:
    """(distance, propensity model, eligible rows after ``discard``, caliper width)."""
    df, t = s.df, s.t
    needs_ps = (s.method in ("nearest", "subclass") and not s.is_mahal) or s.discard != "none"
    prop: PropensityModel | None = None
    dist: np.ndarray | None = None
    eligible = np.ones(len(df), dtype=bool)
    linear = s.link.startswith("linear")
    if s.score_col is not None or s.user_scores is not None:
        dist = (df[s.score_col].to_numpy(dtype=float) if s.score_col
                else cast(np.ndarray, s.user_scores)).copy()
        if not np.all(np.isfinite(dist)):
            raise InputError("`distance` scores must be finite numbers with no missing values")
    elif needs_ps:
        if s.is_mahal and s.discard != "none":
            raise InputError("`discard` needs a propensity score; distance='mahalanobis' has none")
        X_ps, names_ps = _ps_design(df, s.covs, s.ps_formula)
        prop = fit_propensity(X_ps, names_ps, t, link="probit" if "probit" in s.link else "logit",
                              has_intercept=True)
        dist = prop.linear_predictor.copy() if linear else prop.scores.copy()
    if s.discard != "none":
        assert dist is not None  # discard needs the propensity score (fitted above)
        dist, prop, eligible = _common_support(s, dist, prop, linear)
    cal_width = None
    if s.caliper is not None:
        if dist is None:
            raise InputError("`caliper` needs a distance (propensity score); with "
                             "distance='mahalanobis' use exact= or a score with mahvars=")
        sd = float(np.std(dist[eligible], ddof=1))
        cal_width = s.caliper * sd if s.std_caliper else s.caliper
    return dist, prop, eligible, cal_width


def _common_support(s: _Spec, dist: np.ndarray, prop: PropensityModel | None, linear: bool
                    ) -> tuple[np.ndarray, PropensityModel | None, np.ndarray]:
    """``discard``: drop people outside common support (counted in a warning); optionally
    re-estimate the score on the people kept (MatchIt's ``reestimate``)."""
    t = s.t
    eligible = _discard(dist, t, s.discard)
    if s.reestimate and prop is not None:
        X_ps, names_ps = _ps_design(s.df, s.covs, s.ps_formula)
        refit = fit_propensity(X_ps[eligible], names_ps, t[eligible], link=prop.link,
                               has_intercept=True)
        d_all = np.full(len(s.df), np.nan)
        d_all[eligible] = refit.linear_predictor if linear else refit.scores
        # discarded people keep the first model's score (they are not matched)
        dist = np.where(eligible, d_all, dist)
        prop = refit
    n_d1 = int((~eligible & (t == 1)).sum())
    n_d0 = int((~eligible & (t == 0)).sum())
    if n_d1 or n_d0:
        warnings.warn(f"discard={s.discard!r}: {n_d1:,} treated and {n_d0:,} untreated people lie "
                      "outside common support and were discarded", PcevalWarning, stacklevel=4)
    if not (eligible & (t == 1)).any() or not (eligible & (t == 0)).any():
        raise EstimationError("no overlap: after discarding people outside common support "
                              "one group is empty")
    return dist, prop, eligible


# ---------------------------------------------------------------------------------------------
# step 3: the matching itself
# ---------------------------------------------------------------------------------------------

def _processing_order(s: _Spec, dist: np.ndarray | None) -> Callable[[np.ndarray], np.ndarray]:
    """The order in which focal people choose (MatchIt's ``m.order``), as a function of rows."""
    if s.m_order is None:
        m_order = ("data" if dist is None or s.replace
                   else "largest" if s.focal_is_treated else "smallest")
    else:
        m_order = s.m_order
    s.settings["m_order"] = m_order
    rng = np.random.default_rng(s.seed)

    def order_fn(rows: np.ndarray) -> np.ndarray:
        if m_order == "data" or dist is None and m_order in ("largest", "smallest"):
            return np.arange(len(rows))
        if m_order == "random":
            return rng.permutation(len(rows))
        assert dist is not None
        d = dist[rows]
        return np.argsort(-d if m_order == "largest" else d, kind="stable")

    return order_fn


def _nearest(s: _Spec, dist: np.ndarray | None, eligible: np.ndarray, cal_width: float | None,
             progress: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Greedy nearest-neighbour matching: (focal rows, match matrix, weights, matched sets)."""
    df, t = s.df, s.t
    focal = (t == 1) if s.focal_is_treated else (t == 0)
    strata = strata_codes(df[s.exact]) if s.exact else None
    Z = None
    if s.is_mahal or s.mahvars:
        cols = s.covs if s.is_mahal else s.mahvars
        Z = mahalanobis_transform(model_matrix(df, cols, contrasts=False).X, t, eligible)
    order_fn = _processing_order(s, dist)
    nf_el = int((focal & eligible).sum())
    nc_el = int((~focal & eligible).sum())
    if not s.replace and nc_el < nf_el * s.ratio and s.period is None:
        warnings.warn(f"fewer controls ({nc_el:,}) than {s.ratio} x {nf_el:,} focal people; "
                      "not every focal person will get "
                      f"{'a match' if s.ratio == 1 else f'{s.ratio} matches'}", PcevalWarning,
                      stacklevel=3)
    if s.exact:
        assert strata is not None  # exact matching defines the strata
        _warn_empty_strata(strata, focal, eligible)
    unit_codes = (pd.factorize(df[s.unit])[0].astype(np.int64) if s.unit is not None else None)
    if s.period is not None:
        if unit_codes is None:
            raise InputError("rolling entry needs `unit` (the person id column) with `period`")
        focal_rows, mm = rolling_match(period=df[s.period].to_numpy(), unit=unit_codes,
                                       focal=focal, eligible=eligible, order_fn=order_fn,
                                       ratio=s.ratio, replace=s.replace, caliper=cal_width,
                                       strata=strata, distance=dist, Z=Z, progress=progress)
    else:
        focal_rows = np.flatnonzero(focal & eligible)
        ctrl_rows = np.flatnonzero(~focal & eligible)
        order = order_fn(focal_rows)
        if Z is not None:
            mm = match_mahalanobis(Z, focal_rows, ctrl_rows, order, ratio=s.ratio,
                                   replace=s.replace, distance=dist, caliper=cal_width,
                                   strata=strata, unit=unit_codes, progress=progress)
        elif s.replace:
            mm = match_distance_replace(cast(np.ndarray, dist), focal_rows, ctrl_rows, ratio=s.ratio,
                                        caliper=cal_width, strata=strata)
        else:
            mm = match_distance_no_replace(cast(np.ndarray, dist), focal_rows, ctrl_rows, order, ratio=s.ratio,
                                           caliper=cal_width, strata=strata, unit=unit_codes,
                                           progress=progress)
    _check_matched(mm, cal_width)
    w = _weights_from_matrix(mm, focal_rows, len(df), focal)
    sub = (_subclass_from_matrix(mm, focal_rows, len(df)) if not s.replace
           else np.full(len(df), -1, np.int64))
    return focal_rows, mm, w, sub


def _check_matched(mm: np.ndarray, cal_width: float | None) -> None:
    """Nobody matched is an error; focal people left without a control are counted."""
    got = (mm >= 0).any(axis=1)
    if not got.any():
        raise EstimationError("no focal person found a match"
                              + (f" within the caliper (width {cal_width:.4g})"
                                 if cal_width is not None else "")
                              + "; widen the caliper or relax exact matching")
    n_miss = int((~got).sum())
    if n_miss and cal_width is not None:
        warnings.warn(f"{n_miss:,} of {len(mm):,} focal people had no available control within "
                      f"the caliper (width {cal_width:.4g}) and are unmatched", PcevalWarning,
                      stacklevel=4)


def _strata(s: _Spec, eligible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact or coarsened exact matching: (weights, strata as matched sets)."""
    if not s.covs:
        raise InputError(f"method='{s.method}' needs `covariates`")
    frame = s.df[s.covs] if s.method == "exact" else coarsen(s.df, s.covs, s.cutpoints)
    codes = strata_codes(frame)
    t = s.t
    sub = subclass_from_strata(codes, t if s.focal_is_treated or s.estimand == "ATE" else 1 - t,
                               eligible)
    if not (sub >= 0).any():
        raise EstimationError(f"method='{s.method}': no stratum holds both treated and untreated "
                              "people" + ("; coarsen further (cutpoints=) or match on fewer "
                                          "covariates" if s.method == "cem" else ""))
    w = weights_from_subclass(sub, t, s.estimand)
    _warn_unmatched(w, t, eligible, s.method)
    return w, sub


def _subclasses(s: _Spec, dist: np.ndarray | None, eligible: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Subclassification on the propensity score: (weights, subclasses)."""
    if dist is None:
        raise InputError("method='subclass' needs a propensity score (distance='glm' or scores)")
    if isinstance(s.subclass, (int, np.integer)) and not isinstance(s.subclass, bool):
        k = check_int(s.subclass, "subclass", low=1)
    else:
        probs = np.asarray(s.subclass, dtype=float)
        if probs.ndim != 1 or np.any((probs < 0) | (probs > 1)):
            raise InputError("`subclass` must be a number of subclasses or quantile "
                             "probabilities in [0, 1]")
        k = len(np.unique(np.r_[0.0, probs, 1.0])) - 1
    sub = subclassify(dist, s.t, eligible, k, s.estimand, s.min_n)
    return weights_from_subclass(sub, s.t, s.estimand), sub


# ---------------------------------------------------------------------------------------------
def _ps_design(df: pd.DataFrame, covs: list[str], ps_formula: str | None
               ) -> tuple[np.ndarray, list[str]]:
    if ps_formula is None:
        d = model_matrix(df, covs, contrasts=True, intercept=True)
        return d.X, d.names
    try:
        import patsy
    except ImportError as exc:  # pragma: no cover
        raise InputError("`ps_formula` needs the patsy package") from exc
    rhs = ps_formula.split("~", 1)[-1]
    try:
        dm = patsy.dmatrix(rhs, df, return_type="dataframe", NA_action="raise")
    except Exception as exc:  # patsy raises many kinds
        raise InputError(f"`ps_formula` could not be evaluated: {exc}") from exc
    if "Intercept" in dm.columns:
        dm = dm.drop(columns="Intercept")
    X = np.column_stack([np.ones(len(dm)), dm.to_numpy(dtype=float)])
    return X, ["(Intercept)", *[str(c) for c in dm.columns]]


def _discard(dist: np.ndarray, t: np.ndarray, discard: str) -> np.ndarray:
    """Common support on the distance: True = kept."""
    d1, d0 = dist[t == 1], dist[t == 0]
    if discard == "both":
        lo = max(d1.min(), d0.min())
        hi = min(d1.max(), d0.max())
        out = (dist >= lo) & (dist <= hi)
    elif discard == "control":
        out = (t == 1) | ((dist >= d1.min()) & (dist <= d1.max()))
    else:
        out = (t == 0) | ((dist >= d0.min()) & (dist <= d0.max()))
    return out


def _weights_from_matrix(mm: np.ndarray, focal_rows: np.ndarray, n: int,
                         focal: np.ndarray) -> np.ndarray:
    """Focal 1 if matched; a control gets sum over its focal matches of 1/(their # matches),
    rescaled so that non-zero control weights average 1 (MatchIt)."""
    w = np.zeros(n)
    k = (mm >= 0).sum(axis=1)
    matched = k > 0
    w[focal_rows[matched]] = 1.0
    ok = mm >= 0
    contrib = np.broadcast_to((1.0 / np.maximum(k, 1))[:, None], mm.shape)[ok]
    np.add.at(w, mm[ok], contrib)
    ctrl = ~focal
    s = w[ctrl].sum()
    if s > 0:
        w[ctrl] *= np.count_nonzero(w[ctrl]) / s
    return w


def _subclass_from_matrix(mm: np.ndarray, focal_rows: np.ndarray, n: int) -> np.ndarray:
    """Matched-set ids: 1, 2, ... by focal person in data order (matched ones only)."""
    sub = np.full(n, -1, np.int64)
    matched = (mm >= 0).any(axis=1)
    ids = np.cumsum(matched)
    sub[focal_rows[matched]] = ids[matched]
    ok = mm >= 0
    sub[mm[ok]] = np.broadcast_to(ids[:, None], mm.shape)[ok]
    return sub


def _warn_empty_strata(strata: np.ndarray, focal: np.ndarray, eligible: np.ndarray) -> None:
    fc = strata[focal & eligible]
    cc = np.unique(strata[~focal & eligible])
    lonely = ~np.isin(fc, cc)
    if lonely.any():
        warnings.warn(f"{int(lonely.sum()):,} focal people are in `exact` strata with no "
                      "available control and cannot be matched", PcevalWarning, stacklevel=3)


def _warn_unmatched(w: np.ndarray, t: np.ndarray, eligible: np.ndarray, method: str) -> None:
    u1 = int(((w == 0) & (t == 1) & eligible).sum())
    if u1:
        warnings.warn(f"method='{method}': {u1:,} of {int(((t == 1) & eligible).sum()):,} treated "
                      "people are in strata without untreated people and are unmatched",
                      PcevalWarning, stacklevel=3)

