"""Slope and relative index of inequality (PHE/OHID method, and the NHS England variant).

For each group, quantiles (e.g. IMD deciles, **1 = most deprived**) are ordered from most to least
deprived. Quantile ``q`` holds a share ``a_q`` of the group's population and gets the ridit score
``x_q = sum_{j<q} a_j + a_q / 2`` (the midpoint of its band of the cumulative population, 0 = most
deprived end, 1 = least deprived end). The indicator value ``y_q`` is regressed on ``x_q`` by
population-weighted least squares (Low & Low 2004; PHE's ``sqrt(a) y = b0 sqrt(a) + b1 sqrt(a) x``)::

    y = alpha + beta x        (on the log / logit scale when transform=True)
    SII_raw = f(alpha + beta) - f(alpha)     fitted least deprived minus fitted most deprived
    RII     = f(alpha + beta) / f(alpha)     (rii_method="ratio": PHE)
            or SII_raw / mean                (rii_method="mean": SII over the population mean, ONS)
    intercept = f(alpha)                     fitted value at the most deprived end

with ``f`` the identity, ``exp`` or the inverse logit. Reported ``sii = multiplier * SII_raw``
(times -1 for ``polarity="higher_is_worse"``); a negative overall factor inverts the RII and swaps
the limits, as in PHEindicatormethods ``phe_sii``.

**Sign convention.** pceval's house rule is that a positive SII means *worse for the most
deprived*. PHE's raw SII is "least deprived minus most deprived", which is worse-for-the-deprived
only when higher values are better (e.g. life expectancy). Say which by ``polarity``:
``"higher_is_better"`` leaves the sign, ``"higher_is_worse"`` flips it; with a positive
``multiplier`` a positive SII is then always worse for the most deprived. Without ``polarity`` (the
default, identical to PHE) the sign is PHE's. Every output row states the meaning in
``positive_means``.

**Confidence limits by simulation.** PHE draws every quantile's value from ``N(y_q, se_q)`` and refits
the regression ``reps`` times. The regression is linear in the ``y_q``, so ``(alpha, beta)`` drawn
that way are exactly bivariate normal with covariance ``C' diag(se^2) C`` (``C`` the regression's
weights). pceval draws ``(alpha, beta)`` from that distribution directly -- the same simulated
distribution at two draws per repetition instead of one per quantile -- vectorised across groups
(in memory-bounded chunks of groups, each with its own random stream spawned from ``seed`` and run
on up to four threads, so results do not depend on the number of threads), then applies ``f`` and
takes percentiles. For rates and proportions without ``transform`` the regression is not linear in
the draws, so every quantile is drawn, as in PHE. Standard errors come from ``se`` or from 95% limits
(``se = (upper - lower) / (2 z)``, on the transformed scale when ``transform=True``).

**NHS England variant.** ``ridit_population`` takes ridit scores from national quantile populations
(e.g. England's IMD quintile shares) while the regression keeps the local population weights, as in
NHS England's "new SII" (NEY Inequalities Methodologies).

References: Low A, Low A (2004) Measuring the gap: quantifying and comparing local health
inequalities. *J Public Health* 26:388-395. PHEindicatormethods ``phe_sii`` (UKHSA). Mackenbach JP,
Kunst AE (1997) Measuring the magnitude of socio-economic inequalities in health. *Soc Sci Med*
44:757-771. NHS England North East and Yorkshire, *Inequalities methodologies* (GitHub
nhsengland/NEY-Inequalities-Methodologies).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numpy as np
import pandas as pd

from pceval._checks import check_choice, check_confidence, check_int, check_number
from pceval.errors import InputError
from pceval.inequality import _ci
from pceval.inequality._common import (
    GroupBy,
    as_list,
    check_column_arg,
    check_input,
    confidence_levels,
    group_keys,
    warn,
)
from pceval.inequality.imd import check_imd_edition, quantile_order

_VALUE_TYPES = {0: "normal", 1: "rate", 2: "proportion", "normal": "normal", "rate": "rate",
                "proportion": "proportion"}
_SIM_CELLS = 4_000_000  # simulated (group x repetition) cells per chunk of groups
_SIM_CELLS_DRAWS = 1_000_000  # smaller chunks (cache-friendly) when every quantile is drawn
_MAX_THREADS = 4  # chunks simulated at once (memory: a few hundred MB per chunk at most)
_PROGRESS_CELLS = 2_000_000_000  # show a progress bar by default above this many simulated cells


def _link(kind: str, transform: bool):
    if not transform or kind == "normal":
        return (lambda v: v), (lambda v: v)
    if kind == "rate":
        return np.log, np.exp
    return (lambda v: np.log(v / (1 - v))), (lambda v: 1 / (1 + np.exp(-v)))


def _to_matrix(values: np.ndarray, codes: np.ndarray, pos: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    out = np.full(shape, np.nan)
    out[codes, pos] = values
    return out


def ridits(share: np.ndarray) -> np.ndarray:
    """Ridit scores (cumulative-share midpoints) along the last axis: ``sum_{j<q} a_j + a_q / 2``."""
    return np.cumsum(share, axis=-1) - share / 2


def regression_weights(share: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights ``(ca, cb)`` with ``alpha = sum(ca y)``, ``beta = sum(cb y)`` for the least-squares
    line of ``y`` on ``x`` weighted by ``share`` (rows of shares summing to 1), and ``xbar``."""
    xbar = (share * x).sum(axis=-1, keepdims=True)
    sxx = (share * (x - xbar) ** 2).sum(axis=-1, keepdims=True)
    cb = share * (x - xbar) / sxx
    ca = share - xbar * cb
    return ca, cb, xbar


def _positive_means(direction: float, polarity: str | None) -> str:
    least = direction > 0  # positive sii <=> higher values in the least deprived
    if polarity is None:
        where = "least" if least else "most"
        return f"higher values in the {where} deprived (quantile order: first = most deprived)"
    higher_good = polarity == "higher_is_better"
    worse = least == higher_good
    return f"{'worse' if worse else 'better'} for the most deprived"


def sii(df: pd.DataFrame, quantile: str, population: str, value: str | None = None, *,
        x: str | None = None, se: str | None = None, lower: str | None = None,
        upper: str | None = None, value_type: str | int = "normal", transform: bool = False,
        multiplier: float = 1, polarity: Literal["higher_is_better", "higher_is_worse"] | None = None,
        reps: int = 100_000, confidence: float | Sequence[float] = 0.95, seed: int | None = 1,
        group_by: GroupBy = None, rii: bool = True, rii_method: Literal["ratio", "mean"] = "ratio",
        ridit_population: str | Mapping[Any, float] | pd.Series | None = None,
        cl_confidence: float = 0.95, most_deprived: Literal["lowest", "highest"] = "lowest",
        imd_edition: str | int | None = "2019", progress: bool | None = None) -> pd.DataFrame:
    """Slope index of inequality and relative index of inequality with simulated confidence limits.

    See the module docstring for the formulas and the sign convention.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per group x quantile.
    quantile : str
        Quantile labels (whole numbers or labels starting with one, e.g. ``"1 - most deprived"``).
    population : str
        Quantile populations (> 0).
    value : str, optional
        Indicator value; for proportions it may be omitted and computed as ``x / population``.
    x : str, optional
        Numerator for proportions (``value_type="proportion"``).
    se, lower, upper : str, optional
        Standard error, or the (``cl_confidence``, default 95%) limits of ``value``. As in PHE, the
        standard error is that of ``value`` for normal values but of ``log(value)`` for rates and
        ``logit(value)`` for proportions (limits are on the value's own scale and are transformed).
        ``se`` wins if both are given; with ``transform=True`` limits are required (as in PHE).
    value_type : ``"normal"``, ``"rate"``, ``"proportion"`` (or PHE's 0, 1, 2)
    transform : bool
        Fit on the log (rates) or logit (proportions) scale and transform back.
    multiplier : float
        Scales the SII (e.g. 100 for percentages); a negative value flips its sign and inverts the RII.
    polarity : ``"higher_is_better"``, ``"higher_is_worse"`` or None
        See the sign convention; None keeps PHE's sign.
    reps : int
        Simulations for the limits (>= 1,000; PHE's default 100,000).
    confidence : float or sequence
        Level(s) for the SII/RII limits, one block of rows per level.
    seed : int
        Seed of the random generator (results are reproducible).
    group_by : column name(s), optional
        One SII per group. Groups missing a quantile are left out with a warning (PHE's rule).
    rii : bool
        Also report the RII.
    rii_method : ``"ratio"`` (PHE: fitted least / fitted most deprived) or ``"mean"`` (SII / mean)
    ridit_population : column name or mapping {quantile: population}, optional
        National populations to take ridits from (NHS England variant).
    cl_confidence : float
        Confidence level of the supplied ``lower``/``upper``.
    most_deprived : ``"lowest"`` or ``"highest"``
        Which end of the quantile numbering is most deprived (pceval and PHE: ``"lowest"``).
    imd_edition : str or None
        IMD edition recorded in the output (None if the quantiles are not IMD-based).
    progress : bool or None
        Show a progress bar (tqdm) over groups; ``None`` shows one only for long simulations.

    Returns
    -------
    DataFrame per group (x confidence level): ``sii``, ``sii_lower``, ``sii_upper``, ``rii``,
    ``rii_lower``, ``rii_upper``, ``intercept``, ``confidence``, ``n_quantiles``, ``value_type``,
    ``transform``, ``multiplier``, ``polarity``, ``positive_means``, ``ridits``, ``rii_method``,
    ``reps``, ``imd_edition``, ``method``.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"decile": range(1, 11), "pop": [1000] * 10,
    ...                   "le": [75.0 + 0.5 * i for i in range(10)], "se": [0.5] * 10})
    >>> r = sii(d, quantile="decile", value="le", population="pop", se="se", reps=1000, seed=1)
    >>> round(float(r.sii[0]), 3), r.positive_means[0]
    (5.0, 'higher values in the least deprived (quantile order: first = most deprived)')
    """
    # ---- arguments -------------------------------------------------------------------------
    quantile = check_column_arg(quantile, "quantile")
    population = check_column_arg(population, "population")
    if not isinstance(value_type, (str, int)) or isinstance(value_type, bool) or value_type not in _VALUE_TYPES:
        raise InputError(f"`value_type` must be 'normal', 'rate' or 'proportion' (or 0, 1, 2), got {value_type!r}")
    kind = _VALUE_TYPES[value_type]
    if not isinstance(transform, bool):
        raise InputError(f"`transform` must be True or False, got {transform!r}")
    if transform and kind == "normal":
        raise InputError("`transform=True` needs value_type 'rate' (log) or 'proportion' (logit)")
    if transform and se is not None:
        raise InputError("`se` must be left out when `transform=True`: give `lower` and `upper`, which "
                         "are transformed before the standard error is derived")
    if value is None and not (x is not None and kind == "proportion"):
        raise InputError("`value` is needed (or `x` with value_type='proportion')")
    if se is None and (lower is None or upper is None):
        raise InputError("give `se`, or both `lower` and `upper`")
    mult = check_number(multiplier, "multiplier")
    if mult == 0:
        raise InputError("`multiplier` must not be 0")
    if polarity is not None:
        check_choice(polarity, "polarity", {"higher_is_better", "higher_is_worse"})
    reps = check_int(reps, "reps", low=1000)
    levels = confidence_levels(confidence)
    cl_conf = check_confidence(cl_confidence, "cl_confidence")
    check_choice(rii_method, "rii_method", {"ratio", "mean"})
    check_choice(most_deprived, "most_deprived", {"lowest", "highest"})
    if not isinstance(rii, bool):
        raise InputError(f"`rii` must be True or False, got {rii!r}")
    edition = check_imd_edition(imd_edition) if imd_edition is not None else None
    gb = as_list(group_by)
    if quantile in gb:
        raise InputError("`quantile` must not also be a `group_by` column")
    use_se = se is not None
    numeric = [population] + [c for c in (value, x) if c is not None]
    numeric += [se] if use_se else [lower, upper]  # type: ignore[list-item]
    rid_col = ridit_population if isinstance(ridit_population, str) else None
    if rid_col:
        numeric.append(rid_col)
    data = check_input(df, "df", numeric=numeric, required=[quantile], group_by=gb,
                       not_null=[*gb, quantile, *numeric])

    # ---- PHE's data checks ------------------------------------------------------------------
    if (data[population] <= 0).any():
        raise InputError(f"`df`: column '{population}' must be > 0 in every row (zero or negative "
                         f"populations: {data.loc[data[population] <= 0, population].unique()[:5].tolist()})")
    if use_se and (data[se] < 0).any():
        raise InputError(f"`df`: column '{se}' must be >= 0 (negative standard errors)")
    val = (data[value].to_numpy(float) if value is not None
           else data[x].to_numpy(float) / data[population].to_numpy(float))
    if kind == "proportion":
        if value is None and (data[x] <= 0).any():
            raise InputError(f"`df`: column '{x}' must be > 0 for proportions (zero or negative counts)")
        if ((val < 0) | (val > 1)).any():
            raise InputError("value proportions must all lie between 0 and 1 "
                             f"(column '{value or x}'); use multiplier=100 for percentages")
        if not use_se and ((data[[lower, upper]] < 0) | (data[[lower, upper]] > 1)).any().any():
            raise InputError(f"`df`: confidence limits '{lower}'/'{upper}' must lie between 0 and 1 "
                             "for proportions")
    if not use_se and (data[upper] < data[lower]).any():
        raise InputError(f"`df`: '{upper}' is below '{lower}' in some rows")
    if kind != "normal":  # uncertainty lives on the log / logit scale (with or without transform)
        lim = data[[lower, upper]].to_numpy(float) if not use_se else np.empty((0, 2))
        if kind == "rate" and ((val <= 0).any() or (lim <= 0).any()):
            raise InputError("rates are simulated on the log scale: values and limits must be > 0 "
                             "(use value_type='normal' for values that can be 0 or negative)")
        if kind == "proportion" and (((val <= 0) | (val >= 1)).any() or ((lim <= 0) | (lim >= 1)).any()):
            raise InputError("proportions are simulated on the logit scale: values and limits must lie "
                             "strictly between 0 and 1")

    labels = quantile_order(pd.unique(data[quantile]))
    if most_deprived == "highest":
        labels = labels[::-1]
    k = len(labels)
    if k < 5 or k > 100:
        raise InputError(f"`df`: column '{quantile}' must hold between 5 and 100 distinct quantiles "
                         f"(PHE's rule), found {k}: {labels[:5]}")
    if k > 10:
        warn("sii: small values can make the SII unstable with more than 10 quantiles")
    dup = data.duplicated([*gb, quantile], keep=False)
    if dup.any():
        raise InputError(f"`df`: more than one row per group and quantile "
                         f"(e.g. quantile {data.loc[dup, quantile].iloc[0]!r})")

    # ---- arrange as (group x quantile) matrices ---------------------------------------------
    keys, codes = group_keys(data, gb)
    pos = data[quantile].map({lab: i for i, lab in enumerate(labels)}).to_numpy(int)
    shape = (len(keys), k)
    pop = _to_matrix(data[population].to_numpy(float), codes, pos, shape)
    complete = ~np.isnan(pop).any(axis=1)
    if not complete.all():
        dropped = keys[~complete]
        warn(f"sii: {int((~complete).sum())} group(s) lack some of the {k} quantiles and are left "
             f"out: {dropped.head(5).to_dict('records')}")
        if not complete.any():
            raise InputError("`df`: no group has all the quantiles; the SII cannot be calculated")
    keys = keys[complete].reset_index(drop=True)
    # uncertainty lives on the link scale (log / logit) for rates and proportions, as in PHE;
    # the regression is on that scale only when transform=True
    fwd, back = _link(kind, True)
    reg_fwd, reg_back = _link(kind, transform)
    v_mat = _to_matrix(val, codes, pos, shape)[complete]
    y = reg_fwd(v_mat)
    if use_se:
        s_e = _to_matrix(data[se].to_numpy(float), codes, pos, shape)[complete]
    else:
        lo = _to_matrix(data[lower].to_numpy(float), codes, pos, shape)[complete]
        hi = _to_matrix(data[upper].to_numpy(float), codes, pos, shape)[complete]
        s_e = _ci.se_from_limits(fwd(lo), fwd(hi), cl_conf)
    # linear case: (alpha, beta) are exactly bivariate normal; otherwise draw every quantile
    linear = kind == "normal" or transform
    pop = pop[complete]
    share = pop / pop.sum(axis=1, keepdims=True)
    if ridit_population is not None:
        if rid_col:
            rp = _to_matrix(data[rid_col].to_numpy(float), codes, pos, shape)[complete]
        else:
            mapping = dict(ridit_population.items())
            missing = [lab for lab in labels if lab not in mapping]
            if missing:
                raise InputError(f"`ridit_population` has no population for quantile(s) {missing[:5]}")
            rp = np.tile(np.array([float(mapping[lab]) for lab in labels]), (len(keys), 1))
        if (rp <= 0).any() or np.isnan(rp).any():
            raise InputError("`ridit_population` must be > 0 for every quantile")
        rshare = rp / rp.sum(axis=1, keepdims=True)
        ridit_label = "national population shares (NHS England variant)"
    else:
        rshare = share
        ridit_label = "group population shares (PHE)"
    xr = ridits(rshare)

    # ---- weighted least squares in closed form ----------------------------------------------
    ca, cb, xbar = regression_weights(share, xr)  # alpha = sum(ca y), beta = sum(cb y)
    alpha = (ca * y).sum(axis=1)
    beta = (cb * y).sum(axis=1)
    var_a = (ca**2 * s_e**2).sum(axis=1)
    var_b = (cb**2 * s_e**2).sum(axis=1)
    cov = (ca * cb * s_e**2).sum(axis=1)
    sd_a = np.sqrt(var_a)
    l21 = np.divide(cov, sd_a, out=np.zeros_like(cov), where=sd_a > 0)
    l22 = np.sqrt(np.maximum(var_b - l21**2, 0.0))

    direction = mult * (-1.0 if polarity == "higher_is_worse" else 1.0)

    def measures(a: np.ndarray, b: np.ndarray, xbar_: np.ndarray, share_: np.ndarray,
                 xr_: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sii, rii, intercept) on the reporting scale for arrays of alpha and beta."""
        f0, f1 = reg_back(a), reg_back(a + b)
        raw = f1 - f0
        if rii_method == "ratio":
            r = f1 / f0
            r = 1 / r if direction < 0 else r
        else:  # SII over the population mean of the fitted line
            mean_fit = (a + b * xbar_ if not transform
                        else (share_ * reg_back(a[..., None] + b[..., None] * xr_)).sum(axis=-1))
            r = np.sign(direction) * raw / mean_fit
        return direction * raw, r, f0

    est_sii, est_rii, est_int = measures(alpha, beta, xbar[:, 0], share, xr)

    # ---- simulation, vectorised across groups, in memory-bounded chunks ---------------------
    # every chunk of groups has its own generator spawned from `seed`, so results do not depend
    # on how many threads run the chunks
    probs = np.array([[(1 - c) / 2, (1 + c) / 2] for c in levels]).ravel()
    g = len(keys)
    q_sii = np.empty((g, probs.size))
    q_rii = np.empty((g, probs.size))
    big = (rii and rii_method == "mean" and transform) or not linear
    step = max(1, (_SIM_CELLS_DRAWS if big else _SIM_CELLS) // (reps * (k if big else 1)))
    m_link = fwd(v_mat)
    fast = linear and not transform and rii_method == "ratio"
    starts = list(range(0, g, step))
    streams = np.random.SeedSequence(seed).spawn(len(starts))

    def simulate(start: int, stream: np.random.SeedSequence) -> None:
        rng = np.random.default_rng(stream)
        sl = slice(start, min(g, start + step))
        if fast:  # identity link: sii = direction * beta, rii = (alpha + beta) / alpha; in place
            z = rng.standard_normal((2, sl.stop - sl.start, reps))
            b_s = z[1]
            b_s *= l22[sl, None]
            b_s += l21[sl, None] * z[0]
            b_s += beta[sl, None]
            qb = np.quantile(b_s, probs, axis=1).T
            # quantiles commute with the linear map; a negative direction swaps lower and upper
            q_sii[sl] = direction * (qb if direction > 0 else qb.reshape(-1, len(levels), 2)[:, :, ::-1]
                                     .reshape(qb.shape))
            if rii:
                a_s = z[0]
                a_s *= sd_a[sl, None]
                a_s += alpha[sl, None]
                np.divide(b_s, a_s, out=b_s)
                b_s += 1.0
                if direction < 0:
                    np.reciprocal(b_s, out=b_s)
                q_rii[sl] = np.quantile(b_s, probs, axis=1).T
            return
        if linear:
            z = rng.standard_normal((2, sl.stop - sl.start, reps))
            a_s = alpha[sl, None] + sd_a[sl, None] * z[0]
            b_s = beta[sl, None] + l21[sl, None] * z[0] + l22[sl, None] * z[1]
        else:  # PHE: each quantile's value drawn on the link scale, transformed back, refitted
            z = rng.standard_normal((sl.stop - sl.start, reps, k))
            z *= s_e[sl, None, :]
            z += m_link[sl, None, :]
            y_s = back(z)
            del z
            a_s = np.einsum("grk,gk->gr", y_s, ca[sl])
            b_s = np.einsum("grk,gk->gr", y_s, cb[sl])
            del y_s
        s_sim, r_sim, _ = measures(a_s, b_s, xbar[sl], share[sl][:, None, :], xr[sl][:, None, :])
        q_sii[sl] = np.quantile(s_sim, probs, axis=1).T
        if rii:
            q_rii[sl] = np.quantile(r_sim, probs, axis=1).T

    workers = max(1, min(_MAX_THREADS, os.cpu_count() or 1, len(starts)))
    show = progress if progress is not None else g * reps * (k if big else 1) > _PROGRESS_CELLS
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=g, desc="sii simulations", unit="group")
    try:
        if workers == 1:
            done = (simulate(st, ss) for st, ss in zip(starts, streams, strict=True))
            for st, _ in zip(starts, done, strict=True):
                if bar is not None:
                    bar.update(min(step, g - st))
        else:  # numpy releases the GIL while drawing, transforming and partitioning
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for st, _ in zip(starts, pool.map(simulate, starts, streams), strict=True):
                    if bar is not None:
                        bar.update(min(step, g - st))
    finally:
        if bar is not None:
            bar.close()

    # ---- tidy output ------------------------------------------------------------------------
    blocks = []
    for i, c in enumerate(levels):
        block = keys.copy() if gb else pd.DataFrame(index=range(g))
        block["sii"] = est_sii
        block["sii_lower"] = q_sii[:, 2 * i]
        block["sii_upper"] = q_sii[:, 2 * i + 1]
        if rii:
            block["rii"] = est_rii
            block["rii_lower"] = q_rii[:, 2 * i]
            block["rii_upper"] = q_rii[:, 2 * i + 1]
        block["intercept"] = est_int
        block["confidence"] = c
        blocks.append(block)
    out = pd.concat(blocks, ignore_index=True)
    out["n_quantiles"] = k
    out["value_type"] = kind
    out["transform"] = ({"rate": "log", "proportion": "logit"}[kind] if transform else "none")
    out["multiplier"] = mult
    out["polarity"] = polarity
    out["positive_means"] = _positive_means(direction, polarity)
    out["ridits"] = ridit_label
    if rii:
        out["rii_method"] = ("fitted least / fitted most deprived" if rii_method == "ratio"
                             else "SII / population mean")
        if direction < 0 and rii_method == "ratio":
            out["rii_method"] = "fitted most / fitted least deprived (inverted: negative multiplier)"
    out["reps"] = reps
    out["imd_edition"] = edition
    out["method"] = (f"PHE SII: population-weighted regression on ridit scores; limits from "
                     f"{reps} simulations")
    return out


__all__ = ["sii"]
