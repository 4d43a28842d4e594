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
the regression ``n_boot`` times. The regression is linear in the ``y_q``, so ``(alpha, beta)`` drawn
that way are exactly bivariate normal with covariance ``C' diag(se^2) C`` (``C`` the regression's
weights). pceval draws ``(alpha, beta)`` from that distribution directly -- the same simulated
distribution at two draws per repetition instead of one per quantile -- vectorised across groups
(in memory-bounded chunks of groups run on up to four threads), then applies ``f`` and takes
percentiles. Every group draws from its own random stream, derived from ``seed`` and the group's
key (its ``by`` values), so a group's limits do not depend on which other groups are in the
call, on their order, or on the number of threads; without ``by`` the stream is
``SeedSequence(seed).spawn(1)[0]``. For rates and proportions without ``transform`` the regression is not linear in
the draws, so every quantile is drawn, as in PHE. Standard errors come from ``se`` or from 95% limits
(``se = (upper - lower) / (2 z)``, on the transformed scale when ``transform=True``).

**Undefined answers are refused.** The RII (``rii_method="ratio"``) divides by the fitted value at
the most deprived end, and the mean-based RII by the population mean: when that is 0 (e.g. every
value is 0) the RII is undefined and ``sii`` raises :class:`~pceval.errors.InputError` naming the
group (ask for ``rii=False``). Infinite values, populations or standard errors are refused. When
the simulated distribution is skewed (rates or proportions drawn on the log / logit scale without
``transform``), its percentile interval need not contain the point estimate computed from the
observed values; ``sii`` then warns, naming the groups, and reports the interval as simulated
(as PHE does).

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

import hashlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from pceval._checks import check_choice, check_confidence, check_int, check_number
from pceval._distributions import stats
from pceval.errors import InputError
from pceval.inequality import _ci
from pceval.inequality._common import (
    GroupBy,
    as_list,
    check_column_arg,
    check_input,
    confidence_levels,
    group_keys,
    show,
    warn,
)
from pceval.inequality.imd import check_imd_edition, quantile_order

_VALUE_TYPES = {0: "normal", 1: "rate", 2: "proportion", "normal": "normal", "rate": "rate",
                "proportion": "proportion"}
_SIM_CELLS = 4_000_000  # simulated (group x repetition) cells per chunk of groups
_SIM_CELLS_DRAWS = 1_000_000  # smaller chunks (cache-friendly) when every quantile is drawn
_MAX_THREADS = 4  # chunks simulated at once (memory: a few hundred MB per chunk at most)
_PROGRESS_CELLS = 2_000_000_000  # show a progress bar by default above this many simulated cells


def _link(kind: str, transform: bool) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
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


@dataclass(frozen=True)
class _SiiSpec:
    """The checked arguments of :func:`sii`: what to compute, before any data is read."""

    quantile: str
    population: str
    value: str | None
    x: str | None
    se: str | None
    lower: str | None
    upper: str | None
    kind: str
    transform: bool
    mult: float
    polarity: str | None
    n_boot: int
    levels: tuple[float, ...]
    cl_conf: float
    rii: bool
    rii_method: str
    most_deprived: str
    edition: str | None
    gb: tuple[str, ...]
    ridit_population: Any

    @property
    def use_se(self) -> bool:
        return self.se is not None

    @property
    def ridit_column(self) -> str | None:
        return self.ridit_population if isinstance(self.ridit_population, str) else None

    @property
    def direction(self) -> float:
        """The overall factor on the raw SII: ``multiplier``, negated for ``higher_is_worse``."""
        return self.mult * (-1.0 if self.polarity == "higher_is_worse" else 1.0)

    @property
    def linear(self) -> bool:
        """(alpha, beta) are exactly bivariate normal (else every quantile is drawn, as in PHE)."""
        return self.kind == "normal" or self.transform


@dataclass(frozen=True)
class _SiiArrays:
    """The data of :func:`sii` as (group x quantile) matrices, complete groups only."""

    keys: pd.DataFrame
    labels: list[Any]
    v_mat: np.ndarray
    y: np.ndarray
    s_e: np.ndarray
    share: np.ndarray
    xr: np.ndarray
    ridit_label: str


@dataclass(frozen=True)
class _SiiFit:
    """The closed-form weighted least-squares fit and its point estimates, per group."""

    ca: np.ndarray
    cb: np.ndarray
    xbar: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    sd_a: np.ndarray
    l21: np.ndarray
    l22: np.ndarray
    sii: np.ndarray
    rii: np.ndarray
    intercept: np.ndarray
    denominator: np.ndarray


def _sii_spec(quantile: Any, population: Any, value: Any, x: Any, se: Any, lower: Any, upper: Any,
              value_type: Any, transform: Any, multiplier: Any, polarity: Any, n_boot: Any,
              confidence: Any, cl_confidence: Any, rii: Any, rii_method: Any, most_deprived: Any,
              imd_edition: Any, by: GroupBy, ridit_population: Any) -> _SiiSpec:
    """Check :func:`sii`'s arguments (no data yet) and return them as a :class:`_SiiSpec`."""
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
    for name, col in (("value", value), ("x", x), ("se", se), ("lower", lower), ("upper", upper)):
        if col is not None:
            check_column_arg(col, name)
    mult = check_number(multiplier, "multiplier")
    if mult == 0:
        raise InputError("`multiplier` must not be 0")
    if polarity is not None:
        check_choice(polarity, "polarity", {"higher_is_better", "higher_is_worse"})
    check_choice(rii_method, "rii_method", {"ratio", "mean"})
    check_choice(most_deprived, "most_deprived", {"lowest", "highest"})
    if not isinstance(rii, bool):
        raise InputError(f"`rii` must be True or False, got {rii!r}")
    gb = as_list(by)
    if quantile in gb:
        raise InputError("`quantile` must not also be a `by` column")
    return _SiiSpec(
        quantile=quantile, population=population, value=value, x=x, se=se, lower=lower, upper=upper,
        kind=kind, transform=transform, mult=mult, polarity=polarity,
        n_boot=check_int(n_boot, "n_boot", low=1000), levels=confidence_levels(confidence),
        cl_conf=check_confidence(cl_confidence, "cl_confidence"), rii=rii, rii_method=rii_method,
        most_deprived=most_deprived,
        edition=check_imd_edition(imd_edition) if imd_edition is not None else None,
        gb=tuple(gb), ridit_population=ridit_population)


def _sii_check_values(frame: pd.DataFrame, spec: _SiiSpec) -> np.ndarray:
    """PHE's data checks (populations, standard errors, limits, ranges); returns the values."""
    s = spec
    if (frame[s.population] <= 0).any():
        raise InputError(f"`data`: column '{s.population}' must be > 0 in every row (zero or negative "
                         f"populations: {show(frame.loc[frame[s.population] <= 0, s.population].unique())})")
    if s.use_se and (frame[s.se] < 0).any():
        raise InputError(f"`data`: column '{s.se}' must be >= 0 (negative standard errors: "
                         f"{show(frame.loc[frame[s.se] < 0, s.se].unique())})")
    val = (frame[s.value].to_numpy(float) if s.value is not None
           else frame[s.x].to_numpy(float) / frame[s.population].to_numpy(float))
    lim_cols = [s.lower, s.upper]
    if s.kind == "proportion":
        if s.value is None and (frame[s.x] <= 0).any():
            raise InputError(f"`data`: column '{s.x}' must be > 0 for proportions (zero or negative counts)")
        if ((val < 0) | (val > 1)).any():
            raise InputError("value proportions must all lie between 0 and 1 "
                             f"(column '{s.value or s.x}'); use multiplier=100 for percentages")
        if not s.use_se and ((frame[lim_cols] < 0) | (frame[lim_cols] > 1)).any().any():
            raise InputError(f"`data`: confidence limits '{s.lower}'/'{s.upper}' must lie between 0 "
                             "and 1 for proportions")
    if not s.use_se and (frame[s.upper] < frame[s.lower]).any():
        raise InputError(f"`data`: '{s.upper}' is below '{s.lower}' in some rows")
    if s.kind != "normal":  # uncertainty lives on the log / logit scale (with or without transform)
        lim = frame[lim_cols].to_numpy(float) if not s.use_se else np.empty((0, 2))
        if s.kind == "rate" and ((val <= 0).any() or (lim <= 0).any()):
            raise InputError("rates are simulated on the log scale: values and limits must be > 0 "
                             "(use value_type='normal' for values that can be 0 or negative)")
        if s.kind == "proportion" and (((val <= 0) | (val >= 1)).any() or ((lim <= 0) | (lim >= 1)).any()):
            raise InputError("proportions are simulated on the logit scale: values and limits must lie "
                             "strictly between 0 and 1")
    return val


def _sii_arrays(data: Any, spec: _SiiSpec) -> _SiiArrays:
    """Read and check ``data``; arrange it as (group x quantile) matrices of complete groups."""
    s = spec
    gb = list(s.gb)
    numeric = [s.population] + [c for c in (s.value, s.x) if c is not None]
    numeric += [s.se] if s.use_se else [s.lower, s.upper]  # type: ignore[list-item]
    if s.ridit_column:
        numeric.append(s.ridit_column)
    frame = check_input(data, "data", numeric=numeric, required=[s.quantile], by=gb,
                        not_null=[*gb, s.quantile, *numeric])
    val = _sii_check_values(frame, s)
    labels = quantile_order(pd.unique(frame[s.quantile]))
    if s.most_deprived == "highest":
        labels = labels[::-1]
    k = len(labels)
    if k < 5 or k > 100:
        raise InputError(f"`data`: column '{s.quantile}' must hold between 5 and 100 distinct quantiles "
                         f"(PHE's rule), found {k}: {show(labels)}")
    if k > 10:
        warn("sii: small values can make the SII unstable with more than 10 quantiles")
    dup = frame.duplicated([*gb, s.quantile], keep=False)
    if dup.any():
        raise InputError(f"`data`: more than one row per group and quantile "
                         f"(e.g. quantile {frame.loc[dup, s.quantile].iloc[0]!r})")
    keys, codes = group_keys(frame, gb)
    pos = frame[s.quantile].map({lab: i for i, lab in enumerate(labels)}).to_numpy(int)
    shape = (len(keys), k)

    def mat(col_values: np.ndarray) -> np.ndarray:
        return _to_matrix(col_values, codes, pos, shape)

    pop = mat(frame[s.population].to_numpy(float))
    complete = ~np.isnan(pop).any(axis=1)
    if not complete.all():
        dropped = keys[~complete]
        warn(f"sii: {int((~complete).sum())} group(s) lack some of the {k} quantiles and are left "
             f"out: {dropped.head(5).to_dict('records')}")
        if not complete.any():
            raise InputError("`data`: no group has all the quantiles; the SII cannot be calculated")
    keys = keys[complete].reset_index(drop=True)
    # uncertainty lives on the link scale (log / logit) for rates and proportions, as in PHE;
    # the regression is on that scale only when transform=True
    fwd, _ = _link(s.kind, True)
    reg_fwd, _ = _link(s.kind, s.transform)
    v_mat = mat(val)[complete]
    if s.use_se:
        s_e = mat(frame[s.se].to_numpy(float))[complete]
    else:
        lo = mat(frame[s.lower].to_numpy(float))[complete]
        hi = mat(frame[s.upper].to_numpy(float))[complete]
        s_e = _ci.se_from_limits(fwd(lo), fwd(hi), s.cl_conf)
    pop = pop[complete]
    share = pop / pop.sum(axis=1, keepdims=True)
    rshare, ridit_label = _ridit_shares(frame, s, labels, mat, complete, share)
    return _SiiArrays(keys=keys, labels=labels, v_mat=v_mat, y=reg_fwd(v_mat), s_e=s_e, share=share,
                      xr=ridits(rshare), ridit_label=ridit_label)


def _ridit_shares(frame: pd.DataFrame, spec: _SiiSpec, labels: list[Any], mat: Any,
                  complete: np.ndarray, share: np.ndarray) -> tuple[np.ndarray, str]:
    """The population shares the ridits come from: the group's own (PHE) or national ones."""
    rp_arg = spec.ridit_population
    if rp_arg is None:
        return share, "group population shares (PHE)"
    if spec.ridit_column:
        rp = mat(frame[spec.ridit_column].to_numpy(float))[complete]
    else:
        if not isinstance(rp_arg, (Mapping, pd.Series)):
            raise InputError("`ridit_population` must be a column name or a mapping {quantile: "
                             f"population}}, got {type(rp_arg).__name__}")
        mapping = dict(rp_arg.items())
        missing = [lab for lab in labels if lab not in mapping]
        if missing:
            raise InputError(f"`ridit_population` has no population for quantile(s) {show(missing)}")
        rp = np.tile(np.array([float(mapping[lab]) for lab in labels]), (share.shape[0], 1))
    if (rp <= 0).any() or np.isnan(rp).any() or np.isinf(rp).any():
        raise InputError("`ridit_population` must be finite and > 0 for every quantile")
    return rp / rp.sum(axis=1, keepdims=True), "national population shares (NHS England variant)"


def _sii_measures(spec: _SiiSpec, a: np.ndarray, b: np.ndarray, xbar: np.ndarray, share: np.ndarray,
                  xr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(sii, rii, intercept, rii denominator) on the reporting scale for arrays of alpha and beta.

    The denominator is the fitted value at the most deprived end (``rii_method="ratio"``) or the
    population mean of the fitted line (``"mean"``): the RII is undefined where it is 0.
    """
    _, back = _link(spec.kind, spec.transform)
    direction = spec.direction
    f0, f1 = back(a), back(a + b)
    raw = f1 - f0
    with np.errstate(divide="ignore", invalid="ignore"):
        if spec.rii_method == "ratio":
            den = f0
            r = f1 / f0
            r = 1 / r if direction < 0 else r
        else:  # SII over the population mean of the fitted line
            den = (a + b * xbar if not spec.transform
                   else (share * back(a[..., None] + b[..., None] * xr)).sum(axis=-1))
            r = np.sign(direction) * raw / den
    return direction * raw, r, f0, den


def _sii_fit(spec: _SiiSpec, arr: _SiiArrays) -> _SiiFit:
    """Weighted least squares in closed form, the draw's Cholesky factors and the point estimates.

    ``alpha = sum(ca y)``, ``beta = sum(cb y)``; their covariance ``C' diag(se^2) C`` is factored
    as ``alpha = alpha_hat + sd_a z0``, ``beta = beta_hat + l21 z0 + l22 z1``.
    """
    ca, cb, xbar = regression_weights(arr.share, arr.xr)
    s2 = arr.s_e**2
    alpha = (ca * arr.y).sum(axis=1)
    beta = (cb * arr.y).sum(axis=1)
    var_a = (ca**2 * s2).sum(axis=1)
    var_b = (cb**2 * s2).sum(axis=1)
    cov = (ca * cb * s2).sum(axis=1)
    sd_a = np.sqrt(var_a)
    l21 = np.divide(cov, sd_a, out=np.zeros_like(cov), where=sd_a > 0)
    l22 = np.sqrt(np.maximum(var_b - l21**2, 0.0))
    est_sii, est_rii, est_int, den = _sii_measures(spec, alpha, beta, xbar[:, 0], arr.share, arr.xr)
    if spec.rii:
        undefined = ~np.isfinite(den) | (den == 0)
        if undefined.any():
            where = arr.keys[undefined].head(5).to_dict("records") if spec.gb else "the data"
            what = ("the fitted value at the most deprived end" if spec.rii_method == "ratio"
                    else "the population mean of the fitted line")
            raise InputError(
                f"sii: the RII divides by {what}, which is 0 for {where} (e.g. every value is 0), so "
                "the RII is undefined there; give rii=False for the SII alone")
    return _SiiFit(ca=ca, cb=cb, xbar=xbar, alpha=alpha, beta=beta, sd_a=sd_a, l21=l21, l22=l22,
                   sii=est_sii, rii=est_rii, intercept=est_int, denominator=den)


def _key_words(values: tuple[Any, ...]) -> tuple[int, ...]:
    """Four 32-bit words from a stable hash of a group key (the same in every Python process)."""
    norm = []
    for v in values:
        v = v.item() if isinstance(v, np.generic) else v
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        norm.append(v)
    digest = hashlib.blake2b(repr(tuple(norm)).encode("utf-8"), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4))


def _group_streams(seed: int | None, keys: pd.DataFrame, gb: Sequence[str]) -> list[np.random.SeedSequence]:
    """One random stream per group, from ``seed`` and the group's key alone.

    Without ``by`` the stream is ``SeedSequence(seed).spawn(1)[0]``; with it, the spawn key
    is extended by a hash of the group's values, so a group's draws do not depend on which other
    groups are in the call or on their order.
    """
    base = np.random.SeedSequence(seed)
    if not gb:
        return base.spawn(1)
    return [np.random.SeedSequence(base.entropy, spawn_key=(0, *_key_words(tuple(row))))
            for row in keys[list(gb)].itertuples(index=False, name=None)]


def _draw(streams: Sequence[np.random.SeedSequence], shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal draws, ``(len(streams), *shape)``, each group's from its own stream."""
    z = np.empty((len(streams), *shape))
    for i, stream in enumerate(streams):
        np.random.default_rng(stream).standard_normal(shape, out=z[i])
    return z


def _sii_simulate(spec: _SiiSpec, arr: _SiiArrays, fit: _SiiFit, seed: int | None,
                  progress: bool | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulated percentiles of the SII and RII per group (columns: lower, upper per level) and
    the share of draws whose RII denominator has the opposite sign to its point estimate.

    Vectorised across groups in memory-bounded chunks run on up to four threads; every group has
    its own stream (:func:`_group_streams`), so chunking and threads do not change the numbers.
    """
    probs = np.array([[(1 - c) / 2, (1 + c) / 2] for c in spec.levels]).ravel()
    g, k = arr.y.shape
    out = {"sii": np.empty((g, probs.size)), "rii": np.empty((g, probs.size)), "cross": np.zeros(g)}
    big = (spec.rii and spec.rii_method == "mean" and spec.transform) or not spec.linear
    step = max(1, (_SIM_CELLS_DRAWS if big else _SIM_CELLS) // (spec.n_boot * (k if big else 1)))
    starts = list(range(0, g, step))
    streams = _group_streams(seed, arr.keys, spec.gb)

    def run(start: int) -> None:
        sl = slice(start, min(g, start + step))
        _simulate_chunk(spec, arr, fit, sl, streams[sl], probs, out)

    workers = max(1, min(_MAX_THREADS, os.cpu_count() or 1, len(starts)))
    show_bar = progress if progress is not None else g * spec.n_boot * (k if big else 1) > _PROGRESS_CELLS
    bar = None
    if show_bar:
        from tqdm.auto import tqdm

        bar = tqdm(total=g, desc="sii simulations", unit="group")
    try:
        if workers == 1:
            done: Iterator[None] = map(run, starts)
        else:  # numpy releases the GIL while drawing, transforming and partitioning
            pool = ThreadPoolExecutor(max_workers=workers)
            done = pool.map(run, starts)
        for st, _ in zip(starts, done, strict=True):
            if bar is not None:
                bar.update(min(step, g - st))
    finally:
        if workers > 1:
            pool.shutdown()
        if bar is not None:
            bar.close()
    if spec.rii and spec.linear and not (spec.rii_method == "mean" and spec.transform):
        out["cross"] = _denominator_crossing(spec, fit)
    return out["sii"], out["rii"], out["cross"]


def _denominator_crossing(spec: _SiiSpec, fit: _SiiFit) -> np.ndarray:
    """P(the RII's denominator has the other sign than its estimate) where it is normal in closed
    form (identity link); 0 where the link keeps it positive (log / logit)."""
    if spec.transform:
        return np.zeros_like(fit.alpha)
    if spec.rii_method == "ratio":  # denominator alpha ~ N(alpha_hat, sd_a)
        mu, sd = fit.alpha, fit.sd_a
    else:  # alpha + beta xbar
        xb = fit.xbar[:, 0]
        mu = fit.alpha + fit.beta * xb
        sd = np.sqrt(fit.sd_a**2 + 2 * xb * fit.sd_a * fit.l21 + xb**2 * (fit.l21**2 + fit.l22**2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sd > 0, stats.norm.sf(np.abs(mu) / sd), 0.0)


def _simulate_chunk(spec: _SiiSpec, arr: _SiiArrays, fit: _SiiFit, sl: slice,
                    streams: Sequence[np.random.SeedSequence], probs: np.ndarray,
                    out: dict[str, np.ndarray]) -> None:
    """Simulate one chunk of groups ``sl`` and write its percentiles into ``out``."""
    n_boot, direction, levels = spec.n_boot, spec.direction, spec.levels
    if spec.linear and not spec.transform and spec.rii_method == "ratio":
        # identity link: sii = direction * beta, rii = (alpha + beta) / alpha; in place
        z = _draw(streams, (2, n_boot))
        b_s = z[:, 1]
        b_s *= fit.l22[sl, None]
        b_s += fit.l21[sl, None] * z[:, 0]
        b_s += fit.beta[sl, None]
        qb = np.quantile(b_s, probs, axis=1).T
        # quantiles commute with the linear map; a negative direction swaps lower and upper
        out["sii"][sl] = direction * (qb if direction > 0 else qb.reshape(-1, len(levels), 2)[:, :, ::-1]
                                      .reshape(qb.shape))
        if spec.rii:
            a_s = z[:, 0]
            a_s *= fit.sd_a[sl, None]
            a_s += fit.alpha[sl, None]
            np.divide(b_s, a_s, out=b_s)
            b_s += 1.0
            if direction < 0:
                np.reciprocal(b_s, out=b_s)
            out["rii"][sl] = np.quantile(b_s, probs, axis=1).T
        return
    if spec.linear:
        z = _draw(streams, (2, n_boot))
        a_s = fit.alpha[sl, None] + fit.sd_a[sl, None] * z[:, 0]
        b_s = fit.beta[sl, None] + fit.l21[sl, None] * z[:, 0] + fit.l22[sl, None] * z[:, 1]
    else:  # PHE: each quantile's value drawn on the link scale, transformed back, refitted
        fwd, back = _link(spec.kind, True)
        z = _draw(streams, (n_boot, arr.y.shape[1]))
        z *= arr.s_e[sl, None, :]
        z += fwd(arr.v_mat)[sl, None, :]
        y_s = back(z)
        del z
        a_s = np.einsum("grk,gk->gr", y_s, fit.ca[sl])
        b_s = np.einsum("grk,gk->gr", y_s, fit.cb[sl])
        del y_s
    s_sim, r_sim, _, den = _sii_measures(spec, a_s, b_s, fit.xbar[sl], arr.share[sl][:, None, :],
                                         arr.xr[sl][:, None, :])
    out["sii"][sl] = np.quantile(s_sim, probs, axis=1).T
    if spec.rii:
        out["rii"][sl] = np.quantile(r_sim, probs, axis=1).T
        out["cross"][sl] = (den * np.sign(fit.denominator[sl, None]) <= 0).mean(axis=1)


def _sii_table(spec: _SiiSpec, arr: _SiiArrays, fit: _SiiFit, q_sii: np.ndarray, q_rii: np.ndarray,
               cross: np.ndarray) -> pd.DataFrame:
    """The tidy output: one row per group and confidence level, with the design columns.

    An RII interval is reported only where its denominator keeps its sign in all but
    ``(1 - confidence) / 2`` of the draws (otherwise the ratio's interval is unbounded, as
    Fieller's would be): such limits are missing, with a warning naming the groups.
    """
    g = len(arr.keys)
    direction = spec.direction
    blocks = []
    unbounded: dict[float, np.ndarray] = {}
    outside = np.zeros(g, dtype=bool)
    for i, c in enumerate(spec.levels):
        block = arr.keys.copy() if spec.gb else pd.DataFrame(index=range(g))
        block["sii"] = fit.sii
        block["sii_lower"] = q_sii[:, 2 * i]
        block["sii_upper"] = q_sii[:, 2 * i + 1]
        if spec.rii:
            bad = cross >= (1 - c) / 2
            unbounded[c] = bad
            block["rii"] = fit.rii
            block["rii_lower"] = np.where(bad, np.nan, q_rii[:, 2 * i])
            block["rii_upper"] = np.where(bad, np.nan, q_rii[:, 2 * i + 1])
            outside |= ~bad & ((fit.rii < q_rii[:, 2 * i]) | (fit.rii > q_rii[:, 2 * i + 1]))
        outside |= (fit.sii < q_sii[:, 2 * i]) | (fit.sii > q_sii[:, 2 * i + 1])
        block["intercept"] = fit.intercept
        block["confidence"] = c
        blocks.append(block)
    _warn_intervals(spec, arr.keys, unbounded, outside)
    out = pd.concat(blocks, ignore_index=True)
    out["n_quantiles"] = len(arr.labels)
    out["value_type"] = spec.kind
    out["transform"] = ({"rate": "log", "proportion": "logit"}[spec.kind] if spec.transform else "none")
    out["multiplier"] = spec.mult
    out["polarity"] = spec.polarity
    out["positive_means"] = _positive_means(direction, spec.polarity)
    out["ridits"] = arr.ridit_label
    if spec.rii:
        out["rii_method"] = ("fitted least / fitted most deprived" if spec.rii_method == "ratio"
                             else "SII / population mean")
        if direction < 0 and spec.rii_method == "ratio":
            out["rii_method"] = "fitted most / fitted least deprived (inverted: negative multiplier)"
    out["n_boot"] = spec.n_boot
    out["imd_edition"] = spec.edition
    out["method"] = (f"PHE SII: population-weighted regression on ridit scores; limits from "
                     f"{spec.n_boot} simulations")
    return out


def _warn_intervals(spec: _SiiSpec, keys: pd.DataFrame, unbounded: dict[float, np.ndarray],
                    outside: np.ndarray) -> None:
    """Warn, naming the groups, about RII limits left missing and estimates outside their limits."""
    def which(mask: np.ndarray) -> Any:
        return keys[mask].head(5).to_dict("records") if spec.gb else "the data"

    for c, bad in unbounded.items():
        if bad.any():
            what = ("the fitted value at the most deprived end" if spec.rii_method == "ratio"
                    else "the population mean of the fitted line")
            warn(f"sii: the RII's {c:.0%} limits are missing for {int(bad.sum())} group(s) ({which(bad)}): "
                 f"its denominator, {what}, is not clearly away from 0 (it changes sign in more than "
                 f"{(1 - c) / 2:.1%} of the simulations), so the ratio's interval is unbounded")
    if outside.any():
        warn(f"sii: for {int(outside.sum())} group(s) ({which(outside)}) a point estimate lies outside "
             "its simulated interval (a skewed simulated distribution: rates or proportions drawn on the "
             "log / logit scale without `transform`); consider transform=True")


def sii(data: pd.DataFrame, *, value: str | None = None, population: str, x: str | None = None,
        se: str | None = None, lower: str | None = None, upper: str | None = None,
        value_type: str | int = "normal", transform: bool = False, multiplier: float = 1,
        polarity: Literal["higher_is_better", "higher_is_worse"] | None = None,
        by: GroupBy = None, quantile: str, confidence: float | Sequence[float] = 0.95,
        n_boot: int = 100_000, seed: int | None = 1, rii: bool = True,
        rii_method: Literal["ratio", "mean"] = "ratio",
        ridit_population: str | Mapping[Any, float] | pd.Series | None = None,
        cl_confidence: float = 0.95, most_deprived: Literal["lowest", "highest"] = "lowest",
        imd_edition: str | int | None = "2019", progress: bool | None = None) -> pd.DataFrame:
    """Slope index of inequality and relative index of inequality with simulated confidence limits.

    See the module docstring for the formulas, the sign convention and the answers that are
    refused. The work runs in three steps: the specification (:func:`_sii_spec`, arguments only),
    the fit (:func:`_sii_arrays` reads the data, :func:`_sii_fit` solves the regression,
    :func:`_sii_simulate` draws the limits) and the result table (:func:`_sii_table`).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per group x quantile.
    value : str, optional
        Indicator value; for proportions it may be omitted and computed as ``x / population``.
    population : str
        Quantile populations (> 0).
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
    by : column name(s), optional
        One SII per group (a single name is one column). Groups missing a quantile are left out
        with a warning (PHE's rule).
    quantile : str
        Quantile labels (whole numbers or labels starting with one, e.g. ``"1 - most deprived"``).
    confidence : float or sequence
        Level(s) for the SII/RII limits, one block of rows per level.
    n_boot : int
        Simulations for the limits (>= 1,000; PHE's default 100,000).
    seed : int
        Seed of the random generator (results are reproducible); each group's draws come from
        ``seed`` and its own key.
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
    ``n_boot``, ``imd_edition``, ``method``.

    Raises
    ------
    InputError
        Bad arguments or data (named), infinite values, or an undefined RII (its denominator is 0).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"decile": range(1, 11), "pop": [1000] * 10,
    ...                   "le": [75.0 + 0.5 * i for i in range(10)], "se": [0.5] * 10})
    >>> r = sii(d, value="le", population="pop", se="se", quantile="decile", n_boot=1000, seed=1)
    >>> round(float(r.sii[0]), 3), r.positive_means[0]
    (5.0, 'higher values in the least deprived (quantile order: first = most deprived)')
    """
    spec = _sii_spec(quantile, population, value, x, se, lower, upper, value_type, transform,
                     multiplier, polarity, n_boot, confidence, cl_confidence, rii, rii_method,
                     most_deprived, imd_edition, by, ridit_population)
    if seed is not None:
        seed = check_int(seed, "seed", low=0)
    arrays = _sii_arrays(data, spec)
    fit = _sii_fit(spec, arrays)
    q_sii, q_rii, cross = _sii_simulate(spec, arrays, fit, seed, progress)
    return _sii_table(spec, arrays, fit, q_sii, q_rii, cross)


__all__ = ["sii"]
