"""Did the intervention narrow the gap? The equity of effects, and the equity of uptake.

:func:`equity_of_effect` takes effects estimated by IMD quintile -- from any estimator (matching, DiD,
a model), as a tidy table of ``estimate`` and ``std_error`` by quintile -- together with each
quintile's uptake, population and baseline outcome, and reports

* the effect by quintile and the **Q1 - Q5 difference** in effects (most minus least deprived);
* the **gradient of effects** across deprivation: an inverse-variance weighted (fixed-effect)
  meta-regression of the quintile effects on their ridit scores ``x`` (0 = most deprived end,
  1 = least deprived end, from population shares as in the SII), reported as the fitted effect at
  the most deprived end minus that at the least deprived end; with Cochran's Q for heterogeneity;
* the **change in the population slope index of inequality** (SII) of the outcome that the
  intervention causes given its uptake: with baseline outcome ``y0_q``, uptake ``u_q`` (share of the
  quintile treated) and effect on the treated ``e_q``, the outcome with the intervention is::

      y1_q = y0_q + u_q e_q                       (scale="absolute": effects as differences,
                                                   in outcome units)
      y1_q = y0_q + u_q t0_q (RR_q - 1)           (scale="relative": effects as rate ratios;
                                                   t0 = the treated's untreated rate, the
                                                   baseline unless given)

  and the SII (PHE: population-weighted regression on ridits) is computed for ``y0`` and ``y1``,
  signed so that **a positive SII means worse for the most deprived** (``outcome_higher_is``
  says whether higher outcome values are worse, e.g. admissions, or better). The gap *narrowed*
  when ``|SII(y1)| < |SII(y0)|``;
* a verdict in words -- **narrowed**, **widened** or **no evidence either way** -- read by
  :func:`pceval.verdict` from the confidence interval of the ``SII change`` row it quotes (an
  interval below 0 narrowed a positive SII).

Confidence intervals carry both sources of uncertainty by simulation (``n_boot`` draws, vectorised
across groups): each quintile's effect is drawn from ``N(e_q, se_q)`` (on the log scale for ratios)
and, when ``baseline_se`` is given, each baseline from ``N(y0_q, se0_q)``; intervals are percentiles.
Uptake and populations are treated as known. Quintile estimates are assumed independent.

:func:`uptake_equity` is the inverse care law check: who receives the intervention by deprivation,
age and sex (uptake with Wilson limits, ratios to the overall uptake with Katz limits, the Q1 vs Q5
gap, the concentration index of uptake, and -- given a measure of need -- uptake relative to need).

References: Low A, Low A (2004) *J Public Health* 26:388-395 (SII). Borenstein M et al. (2009)
*Introduction to Meta-Analysis*, ch. 20 (meta-regression) and 16 (Cochran's Q). Hart JT (1971) The
inverse care law. *Lancet* 297:405-412. Cookson R et al. (2021) *Distributional Cost-Effectiveness
Analysis*, OUP (equity impact of interventions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import pandas as pd

from pceval._checks import check_choice, check_confidence, check_int
from pceval._distributions import stats
from pceval._results import PROTOCOL_COLUMNS, ResultProtocol, protocol_frame
from pceval._results import verdict as _verdict_of
from pceval.errors import InputError
from pceval.inequality import _ci
from pceval.inequality._common import (
    GroupBy,
    as_list,
    check_column_arg,
    check_input,
    group_keys,
    group_sum,
    quantile_numbers,
    show,
)
from pceval.inequality.concentration import concentration_index
from pceval.inequality.gaps import quintile_gap
from pceval.inequality.imd import check_imd_edition, quantile_order
from pceval.inequality.slope_index import regression_weights, ridits

if TYPE_CHECKING:
    from plotnine import ggplot

_CELLS = 4_000_000


class _EquityResult(ResultProtocol):
    """What the two equity results share: a headline row chosen by its term, and the verdict
    paragraphs (``verdicts["text"]``) per group."""

    _headline_term: str = ""
    by: Sequence[str]              # set by the dataclasses that derive from this class
    verdicts: pd.DataFrame

    @property
    def headline(self) -> pd.Series:
        """The row of :meth:`to_frame` named ``_headline_term`` (the first group's)."""
        frame = self.to_frame()
        return frame.loc[frame["term"] == self._headline_term].iloc[0]

    @property
    def verdict_text(self) -> str | dict[tuple, str]:
        """The verdict in a paragraph (one group), or ``{group key: text}``."""
        if not self.by:
            return str(self.verdicts["text"].iloc[0])
        return {tuple(r[list(self.by)]): r["text"] for _, r in self.verdicts.iterrows()}


# ---------------------------------------------------------------------------------------------
# equity of effect
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EquityOfEffect(_EquityResult):
    """Result of :func:`equity_of_effect` (immutable).

    Attributes
    ----------
    by_quintile : DataFrame
        Per group x quintile: effect with limits, uptake, population, ridit, baseline outcome,
        outcome with the intervention and its change.
    contrasts : DataFrame
        Per group: one row per quantity (``term``) with ``estimate``, ``std_error``, ``ci_lower``,
        ``ci_upper``, ``p_value``.
    verdicts : DataFrame
        Per group: ``verdict`` ("narrowed", "widened", "no evidence either way") and ``text``,
        both read from the interval of the ``SII change`` row that the text quotes.
    settings : dict
        The choices made (scale, confidence, n_boot, seed, IMD edition, sign convention).
    """

    by_quintile: pd.DataFrame
    contrasts: pd.DataFrame
    verdicts: pd.DataFrame
    by: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The result protocol's columns, then group columns, ``quintile``, ``measure``,
        ``verdict``, ``confidence``, ``imd_edition``, ``method``: the effect in each quintile,
        then the contrasts (Q1 vs Q5, gradient, SII before/after/change ...). The heterogeneity
        test is in ``heterogeneity_q``/``heterogeneity_df``/``heterogeneity_p`` (a test, not an
        estimate). Rows from the simulation carry the standard error implied by their percentile
        interval, ``(upper - lower) / (2 z)``, and a Monte Carlo p-value."""
        eff = self.by_quintile
        g = list(self.by)
        q = self.settings["quantile"]
        log = self.settings["scale"] == "relative"
        rows = eff[[*g, q, "estimate", "std_error", "ci_lower", "ci_upper", "p_value"]].copy()
        if log:  # by_quintile keeps the log-scale SE; the protocol's std_error is the ratio's
            rows["std_error"] = rows["estimate"] * rows["std_error"]
        rows.insert(len(g), "term", "effect: quintile " + rows[q].astype(str))
        rows["scale"] = "relative" if log else "absolute"
        rows = rows.rename(columns={q: "quintile"})
        het = self.contrasts["term"].str.startswith("heterogeneity")
        con = self.contrasts.loc[~het].copy()
        con["scale"] = np.where(con["term"].str.contains("ratio"), "relative", "absolute")
        if log:
            rel = con["scale"] == "relative"
            con.loc[rel, "std_error"] = con.loc[rel, "estimate"] * con.loc[rel, "std_error"]
        out = pd.concat([rows, con], ignore_index=True)
        hq = self.contrasts.loc[het, [*g, "estimate", "p_value"]].rename(
            columns={"estimate": "heterogeneity_q", "p_value": "heterogeneity_p"})
        ver = self.verdicts[[*g, "verdict"]]
        if g:
            out = out.merge(ver, on=g, how="left").merge(hq, on=g, how="left")
        else:
            out = out.assign(verdict=ver["verdict"].iloc[0],
                             heterogeneity_q=hq["heterogeneity_q"].iloc[0],
                             heterogeneity_p=hq["heterogeneity_p"].iloc[0])
        out["heterogeneity_df"] = eff.groupby(g)[q].nunique().max() - 1 if g else eff[q].nunique() - 1
        out["measure"] = np.where(out["term"].str.startswith("effect"),
                                  "rate ratio" if log else f"difference in {self.settings['outcome']}",
                                  self.settings["units"] or "outcome units")
        out["confidence"] = self.settings["confidence"]
        out["imd_edition"] = self.settings["imd_edition"]
        out["method"] = self.settings["method"]
        return protocol_frame(out, confidence=self.settings["confidence"])

    _headline_term = "SII change"  # the row the verdict reads (first group)

    def summary(self) -> str:
        """Readable text: settings, effects by quintile, contrasts and the verdict."""
        lines = ["Equity of effect (pceval.inequality.equity_of_effect)",
                 f"  scale: {self.settings['scale']}; confidence {self.settings['confidence']:.0%}; "
                 f"{self.settings['n_boot']} simulations (seed {self.settings['seed']}); "
                 f"IMD {self.settings['imd_edition']}; {self.settings['sign']}"]
        frame = self.to_frame()
        g = list(self.by)
        for _, v in self.verdicts.iterrows():
            sub = frame
            if g:
                mask = np.logical_and.reduce([frame[c] == v[c] for c in g])
                sub = frame[mask]
                lines.append("\n" + ", ".join(f"{c} = {v[c]}" for c in g))
            with pd.option_context("display.width", 120, "display.max_columns", 10):
                lines.append(sub[["term", "estimate", "std_error", "ci_lower", "ci_upper", "p_value"]]
                             .to_string(index=False, float_format=lambda x: f"{x:.4g}"))
            lines.append("Verdict: " + v["text"])
        return "\n".join(lines)

    def plot(self, kind: Literal["effects", "outcome"] = "effects") -> ggplot:
        """Effects by quintile with limits and the fitted gradient (``"effects"``), or the outcome
        by quintile before and with the intervention (``"outcome"``)."""
        from pceval.inequality.plots import plot_equity

        return plot_equity(self, kind=kind)


@dataclass(frozen=True)
class _EquitySpec:
    """The checked arguments of :func:`equity_of_effect`, before any data is read."""

    quantile: str
    estimate: str
    std_error: str | None
    lower: str | None
    upper: str | None
    scale: str
    uptake: str | None
    n_treated: str | None
    population: str
    baseline: str
    baseline_se: str | None
    treated_baseline: str | None
    gb: tuple[str, ...]
    outcome_higher_is: str
    outcome: str
    units: str
    conf: float
    cl_conf: float
    n_boot: int
    edition: str
    national_population: Any

    @property
    def log(self) -> bool:
        """Effects are rate ratios, handled on the log scale."""
        return self.scale == "relative"

    @property
    def eff_cols(self) -> list[str]:
        limits = [self.lower, self.upper]  # both given when std_error is not (checked in the spec)
        return [self.estimate] + ([self.std_error] if self.std_error is not None
                                  else cast("list[str]", limits))

    @property
    def pop_cols(self) -> list[str]:
        return [self.population, self.baseline] + [
            c for c in (self.uptake, self.n_treated, self.baseline_se, self.treated_baseline) if c is not None]

    @property
    def sign(self) -> float:
        """SII = sign * (most - least deprived) = -sign * beta: positive = worse for the most deprived."""
        return 1.0 if self.outcome_higher_is == "worse" else -1.0


@dataclass(frozen=True)
class _EquityArrays:
    """The inputs of :func:`equity_of_effect` as (group x quintile) matrices."""

    frame: pd.DataFrame
    keys: pd.DataFrame
    codes: np.ndarray
    pos: np.ndarray
    labels: list[Any]
    e_hat: np.ndarray
    e_se: np.ndarray
    u: np.ndarray
    pop: np.ndarray
    y0: np.ndarray
    y0_se: np.ndarray
    t0: np.ndarray | None
    share: np.ndarray
    x: np.ndarray
    cb: np.ndarray


_SIM_NAMES = ["SII before", "SII after", "SII change", "SII change (%)",
              "absolute gap change (|SII after| - |SII before|)", "outcome gap change (Q1 - Q5)"]


def _se_from(frame: pd.DataFrame, name: str, est: str, se: str | None, lower: str | None,
             upper: str | None, log: bool, cl_conf: float) -> np.ndarray:
    """Standard errors of the effects (log scale for ratios), from ``se`` or from the limits."""
    if se is not None:  # on the scale of the estimate; a ratio's SE goes to the log scale
        s = frame[se].to_numpy(float)
        return s / frame[est].to_numpy(float) if log else s
    lo, hi = frame[lower].to_numpy(float), frame[upper].to_numpy(float)
    if log:
        if (lo <= 0).any():
            raise InputError(f"`{name}`: limits of rate ratios must be > 0")
        lo, hi = np.log(lo), np.log(hi)
    return _ci.se_from_limits(lo, hi, cl_conf)


def _pct(sims: np.ndarray, probs: Sequence[float]) -> np.ndarray:
    return np.quantile(sims, probs, axis=-1)


def _equity_spec(quantile: Any, estimate: Any, std_error: Any, lower: Any, upper: Any, scale: Any,
                 uptake: Any, n_treated: Any, population: Any, baseline: Any, baseline_se: Any,
                 treated_baseline: Any, by: GroupBy, outcome_higher_is: Any, outcome: Any,
                 units: Any, confidence: Any, cl_confidence: Any, n_boot: Any,
                 national_population: Any, imd_edition: Any) -> _EquitySpec:
    """Check :func:`equity_of_effect`'s arguments and return them as an :class:`_EquitySpec`."""
    q = check_column_arg(quantile, "quantile")
    est = check_column_arg(estimate, "estimate")
    check_choice(scale, "scale", {"absolute", "relative"})
    check_choice(outcome_higher_is, "outcome_higher_is", {"worse", "better"})
    if std_error is None and (lower is None or upper is None):
        raise InputError("give `std_error`, or both `lower` and `upper`")
    if (uptake is None) == (n_treated is None):
        raise InputError("give exactly one of `uptake` (share treated) and `n_treated` (number treated)")
    if treated_baseline is not None and scale != "relative":
        raise InputError("`treated_baseline` is only used with scale='relative'")
    for name, col in (("std_error", std_error), ("lower", lower), ("upper", upper), ("uptake", uptake),
                      ("n_treated", n_treated), ("population", population), ("baseline", baseline),
                      ("baseline_se", baseline_se), ("treated_baseline", treated_baseline)):
        if col is not None:
            check_column_arg(col, name)
    gb = as_list(by)
    if q in gb:
        raise InputError("`quantile` must not also be a `by` column")
    return _EquitySpec(
        quantile=q, estimate=est, std_error=std_error, lower=lower, upper=upper, scale=scale,
        uptake=uptake, n_treated=n_treated, population=population, baseline=baseline,
        baseline_se=baseline_se, treated_baseline=treated_baseline, gb=tuple(gb),
        outcome_higher_is=outcome_higher_is, outcome=outcome, units=units,
        conf=check_confidence(confidence, "confidence"),
        cl_conf=check_confidence(cl_confidence, "cl_confidence"),
        n_boot=check_int(n_boot, "n_boot", low=200), edition=check_imd_edition(imd_edition),
        national_population=national_population)


def _equity_frame(data: Any, context: Any, spec: _EquitySpec) -> tuple[pd.DataFrame, np.ndarray]:
    """Read ``data`` (and ``context``), check every value; return the frame and the uptake shares."""
    s, gb, q = spec, list(spec.gb), spec.quantile
    eff_cols, pop_cols = s.eff_cols, s.pop_cols
    frame = check_input(data, "data", numeric=eff_cols, required=[q], by=gb,
                        not_null=[*gb, q, *eff_cols])
    if context is not None:
        other = check_input(context, "context", numeric=pop_cols, required=[q], by=gb,
                            not_null=[*gb, q, *pop_cols], unique=[*gb, q])
        clash = [c for c in pop_cols if c in frame.columns]
        frame = frame.drop(columns=clash).merge(other[[*gb, q, *pop_cols]], on=[*gb, q], how="left",
                                                validate="one_to_one")
        if frame[pop_cols].isna().any().any():
            raise InputError("`context` has no row for some group and quintile of `data`")
    frame = check_input(frame, "data", numeric=pop_cols, not_null=pop_cols, unique=[*gb, q])
    if (frame[s.population] <= 0).any():
        raise InputError(f"`data`: column '{s.population}' must be > 0")
    if s.std_error is not None and (frame[s.std_error] < 0).any():
        raise InputError(f"`data`: column '{s.std_error}' must be >= 0")
    if s.baseline_se is not None and (frame[s.baseline_se] < 0).any():
        raise InputError(f"`data`: column '{s.baseline_se}' must be >= 0")
    if s.log and (frame[s.estimate] <= 0).any():
        raise InputError(f"`data`: rate ratios in '{s.estimate}' must be > 0 (got "
                         f"{show(frame.loc[frame[s.estimate] <= 0, s.estimate].unique())})")
    if s.uptake is not None:
        u_all = frame[s.uptake].to_numpy(float)
        if ((u_all < 0) | (u_all > 1)).any():
            raise InputError(f"`data`: uptake '{s.uptake}' must be a share between 0 and 1 "
                             "(use `n_treated=` for counts)")
    else:
        u_all = frame[s.n_treated].to_numpy(float) / frame[s.population].to_numpy(float)
        if ((u_all < 0) | (u_all > 1)).any():
            raise InputError(f"`data`: '{s.n_treated}' must lie between 0 and '{s.population}'")
    return frame, u_all


def _equity_arrays(frame: pd.DataFrame, u_all: np.ndarray, spec: _EquitySpec) -> _EquityArrays:
    """Arrange the checked frame as (group x quintile) matrices, with the SII's ridits and weights.

    The quintiles must run 1, 2, ..., k (k >= 2) with every group holding all of them: a missing
    quintile or a coding from 0 would put the wrong label on "Q1 - Q5" and the wrong ridits.
    """
    s, gb, q = spec, list(spec.gb), spec.quantile
    labels = quantile_order(pd.unique(frame[q]))
    k = len(labels)
    if k < 2:
        raise InputError(f"`data`: column '{q}' needs at least two quintiles, found {show(labels)}")
    quantile_numbers(labels, "data", q, what="quintiles")
    keys, codes = group_keys(frame, gb)
    g = len(keys)
    pos = frame[q].map({lab: i for i, lab in enumerate(labels)}).to_numpy(int)
    present = np.zeros((g, k), dtype=bool)
    present[codes, pos] = True
    if not present.all():
        bad = keys[~present.all(axis=1)].head(5).to_dict("records") if gb else "the data"
        raise InputError(f"`data`: every group needs all {k} quintiles {show(labels, 10)}; missing for {bad}")

    def mat(values: np.ndarray) -> np.ndarray:
        out = np.empty((g, k))
        out[codes, pos] = values
        return out

    e_hat = mat(np.log(frame[s.estimate].to_numpy(float)) if s.log else frame[s.estimate].to_numpy(float))
    e_se = mat(_se_from(frame, "data", s.estimate, s.std_error, s.lower, s.upper, s.log, s.cl_conf))
    pop = mat(frame[s.population].to_numpy(float))
    share = pop / pop.sum(axis=1, keepdims=True)
    x = _equity_ridits(spec, labels, share, g)
    _, cb, _ = regression_weights(share, x)
    return _EquityArrays(
        frame=frame, keys=keys, codes=codes, pos=pos, labels=labels, e_hat=e_hat, e_se=e_se,
        u=mat(u_all), pop=pop, y0=mat(frame[s.baseline].to_numpy(float)),
        y0_se=mat(frame[s.baseline_se].to_numpy(float)) if s.baseline_se else np.zeros((g, k)),
        t0=mat(frame[s.treated_baseline].to_numpy(float)) if s.treated_baseline else None,
        share=share, x=x, cb=cb)


def _equity_ridits(spec: _EquitySpec, labels: list[Any], share: np.ndarray, g: int) -> np.ndarray:
    """Ridit scores from the groups' own population shares, or from ``national_population``."""
    if spec.national_population is None:
        return ridits(share)
    if not isinstance(spec.national_population, (Mapping, pd.Series)):
        raise InputError("`national_population` must be a mapping {quintile: population}, got "
                         f"{type(spec.national_population).__name__}")
    natmap = dict(spec.national_population.items())
    missing = [lab for lab in labels if lab not in natmap]
    if missing:
        raise InputError(f"`national_population` has no population for quintile(s) {show(missing)}")
    nat = np.array([float(natmap[lab]) for lab in labels])
    if (nat <= 0).any() or not np.isfinite(nat).all():
        raise InputError(f"`national_population` must be finite and > 0, got {show(nat)}")
    return np.tile(ridits(nat / nat.sum()), (g, 1))


def _equity_gradient(arr: _EquityArrays) -> dict[str, np.ndarray]:
    """Closed forms: the inverse-variance meta-regression of the effects on ridits (gradient,
    Cochran's Q, fitted line) and the Q1 - Qk difference with its standard error."""
    e_hat, e_se, x = arr.e_hat, arr.e_se, arr.x
    w = np.divide(1.0, e_se**2, out=np.full_like(e_se, np.inf), where=e_se > 0)
    if np.isinf(w).any():
        raise InputError("`data`: standard errors must be > 0 to weight the gradient of effects")
    wsum = w.sum(axis=1, keepdims=True)
    ebar = (w * e_hat).sum(axis=1, keepdims=True) / wsum
    xw = (w * x).sum(axis=1, keepdims=True) / wsum
    sxx = (w * (x - xw) ** 2).sum(axis=1)
    slope = (w * (x - xw) * (e_hat - ebar)).sum(axis=1) / sxx
    return {"grad": -slope, "grad_se": np.sqrt(1 / sxx),  # most minus least deprived end
            "cochran_q": (w * (e_hat - ebar) ** 2).sum(axis=1),
            "diff": e_hat[:, 0] - e_hat[:, -1], "diff_se": np.sqrt(e_se[:, 0] ** 2 + e_se[:, -1] ** 2),
            "fitted": ebar + slope[:, None] * (x - xw)}


def _outcome_after(spec: _EquitySpec, u: np.ndarray, eff: np.ndarray, base: np.ndarray,
                   tb: np.ndarray | None) -> np.ndarray:
    """The outcome with the intervention: ``y0 + u e`` or ``y0 + u t0 (RR - 1)``."""
    if spec.log:
        return base + u * (base if tb is None else tb) * (np.exp(eff) - 1)
    return base + u * eff


def _equity_points(spec: _EquitySpec, arr: _EquityArrays) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Point estimates of the simulated quantities (SII before/after/change ...) and ``y1``."""
    sign = spec.sign
    y0 = arr.y0
    y1_hat = _outcome_after(spec, arr.u, arr.e_hat, y0, arr.t0)
    point = {"SII before": -sign * (arr.cb * y0).sum(axis=-1),
             "SII after": -sign * (arr.cb * y1_hat).sum(axis=-1)}
    point["SII change"] = point["SII after"] - point["SII before"]
    with np.errstate(divide="ignore", invalid="ignore"):
        point["SII change (%)"] = 100 * point["SII change"] / np.abs(point["SII before"])
    point["absolute gap change (|SII after| - |SII before|)"] = (np.abs(point["SII after"])
                                                                  - np.abs(point["SII before"]))
    dy = y1_hat - y0
    point["outcome gap change (Q1 - Q5)"] = sign * (dy[:, 0] - dy[:, -1])
    return point, y1_hat


def _equity_simulate(spec: _EquitySpec, arr: _EquityArrays, point: dict[str, np.ndarray],
                     seed: int | None) -> dict[str, np.ndarray]:
    """Simulate every quantity that involves the outcome; per name a (group x 5) array of
    estimate, standard error (implied by the percentile interval), lower, upper and p-value."""
    g, k = arr.e_hat.shape
    n_boot, sign = spec.n_boot, spec.sign
    z = stats.norm.ppf(0.5 + spec.conf / 2)
    rng = np.random.default_rng(seed)
    probs = [(1 - spec.conf) / 2, (1 + spec.conf) / 2]
    sims_sum = {n: np.empty((g, 5)) for n in _SIM_NAMES}  # estimate, se, lo, hi, p
    step = max(1, _CELLS // (n_boot * k))
    for start in range(0, g, step):
        sl = slice(start, min(g, start + step))
        m = sl.stop - sl.start
        e_s = arr.e_hat[sl, None, :] + arr.e_se[sl, None, :] * rng.standard_normal((m, n_boot, k))
        y0_s = arr.y0[sl, None, :] + arr.y0_se[sl, None, :] * rng.standard_normal((m, n_boot, k))
        tb = None if arr.t0 is None else arr.t0[sl, None, :]
        y1_s = _outcome_after(spec, arr.u[sl, None, :], e_s, y0_s, tb)
        cb_s = arr.cb[sl, None, :]
        before, after = -sign * (cb_s * y0_s).sum(axis=-1), -sign * (cb_s * y1_s).sum(axis=-1)
        dys = y1_s - y0_s
        with np.errstate(divide="ignore", invalid="ignore"):
            sims = {"SII before": before, "SII after": after, "SII change": after - before,
                    "SII change (%)": 100 * (after - before) / np.abs(before),
                    "absolute gap change (|SII after| - |SII before|)": np.abs(after) - np.abs(before),
                    "outcome gap change (Q1 - Q5)": sign * (dys[..., 0] - dys[..., -1])}
        for name, s in sims.items():
            lo_hi = _pct(s, probs)
            # Monte Carlo two-sided p-value for "= 0", never below 1 / (n_boot + 1)
            tail = np.minimum((s <= 0).sum(axis=1), (s >= 0).sum(axis=1))
            p = np.minimum(2 * (tail + 1) / (n_boot + 1), 1.0)
            # the SE implied by the percentile interval, so the row's SE and interval agree
            # (a simulated SD is dominated by tails for ratios such as the % change)
            sims_sum[name][sl] = np.column_stack([point[name][sl], (lo_hi[1] - lo_hi[0]) / (2 * z),
                                                  lo_hi[0], lo_hi[1], p])
        del e_s, y0_s, y1_s, sims
    if spec.baseline_se is None:  # the baseline SII is then a known quantity, not an estimate
        sims_sum["SII before"][:, 1:4] = np.column_stack([np.zeros(g), point["SII before"],
                                                          point["SII before"]])
        sims_sum["SII before"][:, 4] = np.nan
    return sims_sum


def _equity_contrasts(spec: _EquitySpec, arr: _EquityArrays, closed: dict[str, np.ndarray],
                      sims_sum: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per group and quantity: Q1 vs Qk, gradient, heterogeneity, then the simulated rows."""
    gb, g, k, log = list(spec.gb), len(arr.keys), len(arr.labels), spec.log
    z = stats.norm.ppf(0.5 + spec.conf / 2)

    def block(term: str, est_: np.ndarray, se_: np.ndarray, lo_: np.ndarray, hi_: np.ndarray,
              p_: np.ndarray) -> pd.DataFrame:
        b = arr.keys.copy() if gb else pd.DataFrame(index=range(g))
        b["term"] = term
        b["estimate"], b["std_error"], b["ci_lower"], b["ci_upper"], b["p_value"] = est_, se_, lo_, hi_, p_
        return b

    def wald(est_: np.ndarray, se_: np.ndarray) -> tuple[np.ndarray, ...]:
        p_ = 2 * stats.norm.sf(np.abs(est_ / se_))
        lo_, hi_ = est_ - z * se_, est_ + z * se_
        if log:
            return np.exp(est_), se_, np.exp(lo_), np.exp(hi_), p_
        return est_, se_, lo_, hi_, p_

    diff_name = "effect ratio Q1 / Q5" if log else "effect difference Q1 - Q5"
    grad_name = ("effect gradient, ratio (most / least deprived end)" if log
                 else "effect gradient (most - least deprived end)")
    nan = np.full(g, np.nan)
    blocks = [block(diff_name, *wald(closed["diff"], closed["diff_se"])),
              block(grad_name, *wald(closed["grad"], closed["grad_se"])),
              block("heterogeneity across quintiles (Cochran's Q)", closed["cochran_q"], nan, nan, nan,
                    stats.chi2.sf(closed["cochran_q"], k - 1))]
    for name in _SIM_NAMES:
        s = sims_sum[name]
        blocks.append(block(name, s[:, 0], s[:, 1], s[:, 2], s[:, 3], s[:, 4]))
    contrasts = pd.concat(blocks, ignore_index=True)
    if gb:
        contrasts = contrasts.sort_values(gb, kind="stable").reset_index(drop=True)
    return contrasts


def _equity_by_quintile(spec: _EquitySpec, arr: _EquityArrays, closed: dict[str, np.ndarray],
                        y1_hat: np.ndarray) -> pd.DataFrame:
    """Per group and quintile: the effect with Wald limits, uptake, population, ridit, baseline,
    outcome with the intervention, its change and the fitted gradient."""
    gb, q, log = list(spec.gb), spec.quantile, spec.log
    z = stats.norm.ppf(0.5 + spec.conf / 2)
    byq = arr.frame[[*gb, q]].copy()
    idx = (arr.codes, arr.pos)
    eh, es = arr.e_hat[idx], arr.e_se[idx]
    byq["estimate"] = np.exp(eh) if log else eh
    byq["std_error"] = es
    byq["ci_lower"] = np.exp(eh - z * es) if log else eh - z * es
    byq["ci_upper"] = np.exp(eh + z * es) if log else eh + z * es
    byq["p_value"] = 2 * stats.norm.sf(np.abs((eh - (0.0)) / es))
    byq["uptake"] = arr.u[idx]
    byq["population"] = arr.pop[idx]
    byq["population_share"] = arr.share[idx]
    byq["ridit"] = arr.x[idx]
    byq["baseline"] = arr.y0[idx]
    byq["with_intervention"] = y1_hat[idx]
    byq["change"] = (y1_hat - arr.y0)[idx]
    byq["fitted_effect"] = closed["fitted"][idx]
    if log:
        byq["fitted_effect"] = np.exp(byq["fitted_effect"])
    order = {lab: i for i, lab in enumerate(arr.labels)}
    return byq.sort_values([*gb, q], key=lambda s: s.map(order) if s.name == q else s,
                           kind="stable").reset_index(drop=True)


def _equity_result(spec: _EquitySpec, arr: _EquityArrays, closed: dict[str, np.ndarray],
                   sims_sum: dict[str, np.ndarray], y1_hat: np.ndarray, seed: int | None) -> EquityOfEffect:
    """Assemble the result: contrasts, effects by quintile, verdicts and settings."""
    gb, g = list(spec.gb), len(arr.keys)
    z = stats.norm.ppf(0.5 + spec.conf / 2)
    change = sims_sum["SII change"]
    verdict = np.array([_gap_verdict(change[i], sims_sum["SII before"][i, 0]) for i in range(g)])
    texts = [_verdict_text(verdict[i], sims_sum, i, spec.conf, spec.outcome, spec.units,
                           closed["diff"][i], closed["diff_se"][i], z, spec.log, arr.e_hat[i], arr.labels)
             for i in range(g)]
    verdicts = (arr.keys.copy() if gb else pd.DataFrame(index=range(g)))
    verdicts["verdict"] = verdict
    verdicts["text"] = texts
    settings = {
        "quantile": spec.quantile, "scale": spec.scale, "confidence": spec.conf,
        "n_boot": spec.n_boot, "seed": seed, "imd_edition": spec.edition, "outcome": spec.outcome,
        "units": spec.units, "outcome_higher_is": spec.outcome_higher_is, "labels": arr.labels,
        "sign": ("SII > 0 means worse for the most deprived (higher outcome is "
                 f"{spec.outcome_higher_is})"),
        "ridits": "national population shares" if spec.national_population is not None
        else "population shares",
        "method": ("effects by quintile assumed independent; gradient by inverse-variance meta-"
                   "regression on ridits; SII change by simulation from effect"
                   + (" and baseline" if spec.baseline_se else "") + " uncertainty"),
    }
    return EquityOfEffect(by_quintile=_equity_by_quintile(spec, arr, closed, y1_hat),
                          contrasts=_equity_contrasts(spec, arr, closed, sims_sum),
                          verdicts=verdicts, by=tuple(gb), settings=settings)


def equity_of_effect(data: pd.DataFrame, *, estimate: str = "estimate",
                     std_error: str | None = "std_error", lower: str | None = None,
                     upper: str | None = None, scale: Literal["absolute", "relative"] = "absolute",
                     uptake: str | None = "uptake", n_treated: str | None = None,
                     population: str = "population", baseline: str = "baseline",
                     baseline_se: str | None = None, treated_baseline: str | None = None,
                     context: pd.DataFrame | None = None, by: GroupBy = None,
                     quantile: str = "imd_quintile",
                     outcome_higher_is: Literal["worse", "better"] = "worse",
                     outcome: str = "the outcome", units: str = "", confidence: float = 0.95,
                     cl_confidence: float = 0.95, n_boot: int = 10_000, seed: int | None = 1,
                     national_population: Mapping[Any, float] | pd.Series | None = None,
                     imd_edition: str | int = "2019") -> EquityOfEffect:
    """Effects by deprivation quintile, their gradient, and the change in the outcome's SII.

    See the module docstring for the definitions. The work runs in three steps: the specification
    (:func:`_equity_spec`), the fit (:func:`_equity_frame` and :func:`_equity_arrays` read the data,
    :func:`_equity_gradient` and :func:`_equity_points` give the closed forms,
    :func:`_equity_simulate` the simulated limits) and the result (:func:`_equity_result`).

    Parameters
    ----------
    data : pandas.DataFrame, or a by-quintile result
        One row per (group x) IMD quintile with the effect ``estimate`` and its ``std_error`` (or
        ``lower``/``upper`` limits at ``cl_confidence``). For ``scale="relative"`` the estimate is a
        rate ratio and, as in every pceval result's ``to_frame()``, the standard error is that of the
        ratio itself (delta method; converted to the log scale as ``std_error / estimate``); limits
        are on the ratio scale. A result with an ``equity_input(quantile)`` method (e.g.
        :func:`pceval.proms.score_change` with ``by="imd_quintile"``) gives that table, so the
        uptake, population and baseline come from ``context``.
    scale : ``"absolute"`` or ``"relative"``
        Effects as differences in outcome units per treated person, or as rate ratios (the
        library's one meaning of scale: absolute = a difference, relative = a ratio).
    uptake, n_treated : str
        Share of each quintile's population receiving the intervention (0-1), or the number treated
        (then ``uptake = n_treated / population``).
    population : str
        Quintile population (weights and ridits of the SII).
    baseline : str
        Population outcome without the intervention, in the units of ``estimate`` (absolute scale).
    baseline_se : str, optional
        Its standard error; carried into the limits.
    treated_baseline : str, optional
        Relative scale: the treated's outcome without the intervention (default: ``baseline``).
    context : pandas.DataFrame, optional
        Uptake/population/baseline columns in a separate table, merged on ``by`` + ``quantile``.
    by : column name(s), optional
        Separate analyses (e.g. by scenario or ICB); a single name is one column.
    quantile : str
        IMD quintile column: quintiles 1, 2, ..., k (1 = most deprived; k >= 2), every one present
        in every group (a missing quintile or a coding from 0 is refused).
    outcome_higher_is : ``"worse"`` or ``"better"``
        Fixes the SII sign so that positive = worse for the most deprived.
    outcome, units : str
        Names used in the verdict, e.g. ``"emergency admissions"``, ``"per 1,000 person-years"``.
    confidence : float
        Level of the reported limits.
    n_boot, seed :
        Simulations for the limits and the random seed.
    national_population : mapping {quintile: population}, optional
        Take SII ridits from national shares (NHS England variant).
    imd_edition : IMD edition recorded in the output.

    Returns
    -------
    EquityOfEffect
        ``.to_frame()``, ``.summary()``, ``.plot()``, ``.verdict``.

    Raises
    ------
    InputError
        Bad arguments or data, naming the argument or column: infinite values, a quintile missing
        or coded from 0, standard errors of 0, uptake outside [0, 1] ...

    Examples
    --------
    >>> import pandas as pd
    >>> eff = pd.DataFrame({"imd_quintile": [1, 2, 3, 4, 5], "estimate": [-40, -30, -20, -10, 0],
    ...                     "std_error": [5] * 5, "uptake": [0.1] * 5, "population": [1000] * 5,
    ...                     "baseline": [300, 260, 220, 180, 140]})
    >>> res = equity_of_effect(eff, outcome="emergency admissions", units="per 1,000")
    >>> res.verdicts.verdict[0]
    'narrowed'
    """
    if hasattr(data, "equity_input"):  # a result by quintile, e.g. pceval.proms.score_change(by=...)
        data = data.equity_input(quantile)
    spec = _equity_spec(quantile, estimate, std_error, lower, upper, scale, uptake, n_treated,
                        population, baseline, baseline_se, treated_baseline, by,
                        outcome_higher_is, outcome, units, confidence, cl_confidence, n_boot,
                        national_population, imd_edition)
    frame, u_all = _equity_frame(data, context, spec)
    arrays = _equity_arrays(frame, u_all, spec)
    closed = _equity_gradient(arrays)
    point, y1_hat = _equity_points(spec, arrays)
    sims_sum = _equity_simulate(spec, arrays, point, seed)
    return _equity_result(spec, arrays, closed, sims_sum, y1_hat, seed)


def _gap_verdict(change: np.ndarray, before: float) -> str:
    """narrowed / widened / no evidence either way, from the SII change's own interval.

    ``change`` is (estimate, se, lower, upper, p). With the SII positive before (worse for the
    most deprived), a change whose interval lies below 0 narrowed the gap; with it negative, a
    change above 0 did. :func:`pceval.verdict` reads the interval, so the words cannot
    contradict the interval the text quotes.
    """
    v = _verdict_of({"ci_lower": change[2], "ci_upper": change[3], "scale": "absolute"})
    if v in ("no evidence either way", "too few to tell") or before == 0:
        return "no evidence either way"
    toward_zero = "lower" if before > 0 else "higher"
    return "narrowed" if v == toward_zero else "widened"


def _fmt(v: float) -> str:
    return f"{v:,.3g}" if abs(v) < 100 else f"{v:,.1f}"


def _verdict_text(verdict: str, sims: dict[str, np.ndarray], i: int, conf: float, outcome: str,
                  units: str, diff: float, diff_se: float, z: float, log: bool, e_hat: np.ndarray,
                  labels: list[Any]) -> str:
    u = f" {units}" if units else ""
    b, a = sims["SII before"][i], sims["SII after"][i]
    c = sims["SII change"][i]
    pct = f"{conf:.0%}"
    head = {"narrowed": f"Narrowed: the intervention narrowed the deprivation gap in {outcome}.",
            "widened": f"Widened: the intervention widened the deprivation gap in {outcome}.",
            "no evidence either way": (f"No evidence either way: the data cannot tell whether the "
                                       f"intervention narrowed or widened the deprivation gap in {outcome}.")}[verdict]
    sii_part = (f" Given uptake by quintile, the slope index of inequality (positive = worse for the "
                f"most deprived) goes from {_fmt(b[0])} to {_fmt(a[0])}{u}, a change of {_fmt(c[0])} "
                f"({pct} CI {_fmt(c[2])} to {_fmt(c[3])}).")
    lo, hi = diff - z * diff_se, diff + z * diff_se
    q1, qk = labels[0], labels[-1]
    if log:
        eff_part = (f" The effect (rate ratio) in quintile {q1} was {np.exp(diff):.3g} times that in "
                    f"quintile {qk} ({pct} CI {np.exp(lo):.3g} to {np.exp(hi):.3g}).")
    else:
        eff_part = (f" The effect in quintile {q1} minus that in quintile {qk} was {_fmt(diff)} "
                    f"({pct} CI {_fmt(lo)} to {_fmt(hi)}).")
    return head + sii_part + eff_part


# ---------------------------------------------------------------------------------------------
# uptake equity (inverse care law)
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UptakeEquity(_EquityResult):
    """Result of :func:`uptake_equity` (immutable).

    Attributes
    ----------
    uptake : DataFrame
        Long table: ``dimension`` (imd / age / sex), ``category``, ``treated``, ``eligible``,
        ``uptake`` with Wilson limits, ``ratio_to_overall`` with Katz limits, and (IMD, with need)
        ``need_share``, ``uptake_share``, ``uptake_to_need``.
    gap : DataFrame
        Q1 vs Q5 gap in uptake (absolute and relative), from :func:`quintile_gap`.
    concentration : DataFrame
        Concentration index of uptake over IMD (and of need, when given).
    verdicts : DataFrame
        ``verdict`` and ``text`` per group.
    """

    uptake: pd.DataFrame
    gap: pd.DataFrame
    concentration: pd.DataFrame
    verdicts: pd.DataFrame
    by: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The result protocol's columns: first the gap in uptake between the most and least
        deprived quintiles (``absolute gap``, a difference of proportions with Newcombe limits,
        then ``relative gap``, a ratio with Katz log limits: the headline), then uptake in each
        category (Wilson limits). These limits are not Wald intervals, so ``std_error``,
        ``statistic`` and ``p_value`` are left missing rather than contradict them."""
        g = list(self.by)
        gap = self.gap.rename(columns={"lower": "ci_lower", "upper": "ci_upper",
                                       "statistic": "quantity"})
        gap = gap.assign(term=gap["measure"],
                         scale=np.where(gap["measure"] == "relative gap", "relative", "absolute"))
        up = self.uptake.rename(columns={"lower": "ci_lower", "upper": "ci_upper",
                                         "uptake": "estimate"})
        up = up.assign(term="uptake: " + up["dimension"] + " " + up["category"].astype(str),
                       scale="absolute", measure="proportion taking up the intervention")
        out = pd.concat([gap, up], ignore_index=True)
        for c in ("std_error", "statistic", "p_value"):
            out[c] = np.nan
        out = out.drop(columns=[c for c in ("quantity",) if c in out])
        return protocol_frame(out, design={"confidence": self.settings["confidence"]})[
            [*PROTOCOL_COLUMNS, *g, *[c for c in out.columns if c not in (*PROTOCOL_COLUMNS, *g)]]]

    _headline_term = "relative gap"  # most vs least deprived quintile (first group)

    def summary(self) -> str:
        """Readable text: uptake in each category with its limits, the gaps and the verdict."""
        lines = ["Uptake equity (pceval.inequality.uptake_equity): the inverse care law check",
                 f"  confidence {self.settings['confidence']:.0%}; IMD {self.settings['imd_edition']}"]
        cols = [c for c in ("dimension", "category", "treated", "eligible", "uptake", "lower", "upper",
                            "ratio_to_overall", "uptake_to_need") if c in self.uptake.columns]
        lines.append(self.uptake[[*self.by, *cols]].to_string(index=False,
                                                                    float_format=lambda x: f"{x:.4g}"))
        lines.append(self.concentration[[*self.by, "measure", "kind", "index", "lower", "upper"]]
                     .to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        lines += ["Verdict: " + t for t in self.verdicts["text"]]
        return "\n".join(lines)

    def plot(self) -> ggplot:
        """Uptake by IMD quintile with limits (and by age and sex when given)."""
        from pceval.inequality.plots import plot_uptake

        return plot_uptake(self)


def _uptake_frame(data: Any, treatment: str, quantile: str, dims: list[tuple[str, str]],
                  eligible: str | None, need: str | None, gb: list[str]) -> tuple[pd.DataFrame, str]:
    """Read and check :func:`uptake_equity`'s table; returns it and the column of numbers eligible.

    The IMD quintile column must hold 1-5, every quintile present (quintile 6, or a table without
    quintile 5, would put a wrong pair under "most vs least deprived").
    """
    numeric = [treatment] + [c for c in (eligible, need) if c is not None]
    frame = check_input(data, "data", numeric=numeric, required=[c for _, c in dims], by=gb,
                        not_null=[*gb, *numeric, *(c for _, c in dims)])
    if eligible is None:
        bad = ~frame[treatment].isin([0, 1, True, False])
        if bad.any():
            raise InputError(f"`data`: column '{treatment}' must be 0/1 for person-level data (or give "
                             f"`eligible` for aggregated counts); offending: {show(frame.loc[bad, treatment].unique())}")
        frame = frame.assign(_eligible=1.0)
        n_col = "_eligible"
    else:
        n_col = check_column_arg(eligible, "eligible")
        if (frame[n_col] <= 0).any():
            raise InputError(f"`data`: column '{n_col}' must be > 0 (got "
                             f"{show(frame.loc[frame[n_col] <= 0, n_col].unique())})")
        if (frame[treatment] < 0).any() or (frame[treatment] > frame[n_col]).any():
            raise InputError(f"`data`: '{treatment}' must lie between 0 and '{n_col}'")
    if need is not None and (frame[need] < 0).any():
        raise InputError(f"`data`: column '{need}' must be >= 0")
    q = pd.to_numeric(frame[quantile], errors="coerce")
    bad = q.isna() | (q != np.round(q)) | (q < 1) | (q > 5)
    if bad.any():
        raise InputError(f"`data`: column '{quantile}' must hold IMD quintiles 1-5 (1 = most deprived); "
                         f"{int(bad.sum())} value(s) do not: {show(frame.loc[bad, quantile].unique())}")
    quantile_numbers(quantile_order(pd.unique(q)), "data", quantile, what="quintiles", high=5)
    return frame, n_col


def _uptake_table(frame: pd.DataFrame, treatment: str, n_col: str, dims: list[tuple[str, str]],
                  need: str | None, gb: list[str], conf: float, edition: str) -> pd.DataFrame:
    """Uptake by category of every dimension: Wilson limits, Katz ratio to the overall uptake, and
    (IMD, with ``need``) shares of need and of uptake."""
    z = stats.norm.ppf(0.5 + conf / 2)
    tables = []
    okeys, ocodes = group_keys(frame, gb)
    overall_x = group_sum(frame[treatment].to_numpy(float), ocodes, len(okeys))
    overall_n = group_sum(frame[n_col].to_numpy(float), ocodes, len(okeys))
    for dim, col in dims:
        keys, codes = group_keys(frame, [*gb, col])
        xs = group_sum(frame[treatment].to_numpy(float), codes, len(keys))
        ns = group_sum(frame[n_col].to_numpy(float), codes, len(keys))
        t = keys.rename(columns={col: "category"}).copy()
        t.insert(len(gb), "dimension", dim)
        t["treated"], t["eligible"] = xs, ns
        t["uptake"] = xs / ns
        t["lower"], t["upper"] = _ci.wilson_lower(xs, ns, conf), _ci.wilson_upper(xs, ns, conf)
        if gb:
            parent = t[gb].merge(okeys.assign(_i=np.arange(len(okeys))), on=gb, how="left")["_i"].to_numpy()
        else:
            parent = np.zeros(len(t), dtype=int)
        X, N = overall_x[parent], overall_n[parent]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (xs / ns) / (X / N)
            sl = np.sqrt(1 / xs - 1 / ns + 1 / X - 1 / N)
        t["ratio_to_overall"] = ratio
        t["ratio_lower"], t["ratio_upper"] = ratio * np.exp(-z * sl), ratio * np.exp(z * sl)
        if dim == "imd" and need is not None:
            nd = group_sum(frame[need].to_numpy(float), codes, len(keys))
            tot_need = np.bincount(parent, weights=nd)[parent]
            tot_x = np.bincount(parent, weights=xs)[parent]
            t["need"] = nd
            t["need_share"] = nd / tot_need
            t["uptake_share"] = xs / tot_x
            with np.errstate(divide="ignore", invalid="ignore"):
                t["uptake_to_need"] = t["uptake_share"] / t["need_share"]
        tables.append(t)
    uptake_tab = pd.concat(tables, ignore_index=True)
    uptake_tab["confidence"] = conf
    uptake_tab["imd_edition"] = edition
    uptake_tab["method"] = "uptake: Wilson score; ratio to overall: Katz log"
    return uptake_tab


def _uptake_concentration(imd_counts: pd.DataFrame, quantile: str, need: str | None, gb: list[str],
                          conf: float, edition: str) -> pd.DataFrame:
    """Concentration indices of uptake over IMD from quintile counts (binary within-quintile
    variance; standard and Erreygers) and, with ``need``, of need per eligible person."""
    conc_in = imd_counts.assign(_var=imd_counts["uptake"] * (1 - imd_counts["uptake"]))
    common: dict[str, Any] = dict(population="eligible", by=gb or None, quantile=quantile, confidence=conf,
                  most_deprived="lowest", imd_edition=edition)
    conc = [concentration_index(conc_in, "uptake", variance="_var", **common).assign(measure="uptake"),
            concentration_index(conc_in, "uptake", variance="_var", kind="erreygers", bounds=(0, 1),
                                **common).assign(measure="uptake")]
    if need is not None:
        nd_in = imd_counts.assign(need_per_eligible=imd_counts["need"] / imd_counts["eligible"])
        conc.append(concentration_index(nd_in, "need_per_eligible", **common).assign(measure="need"))
    concentration = pd.concat(conc, ignore_index=True)
    concentration["negative_means"] = concentration["measure"] + " concentrated among the more deprived"
    return concentration


def _uptake_verdicts(gap: pd.DataFrame, concentration: pd.DataFrame, need: str | None, gb: list[str],
                     conf: float) -> pd.DataFrame:
    """The verdict per group from the relative gap's interval (:func:`pceval.verdict`), in words."""
    rel = gap[gap.measure == "relative gap"].reset_index(drop=True)
    words = {"lower": "lower uptake in the most deprived",
             "higher": "higher uptake in the most deprived",
             "no evidence either way": "no evidence of a difference",
             "too few to tell": "too few to tell"}
    verdict = np.array([words[_verdict_of({"ci_lower": lo, "ci_upper": hi, "scale": "relative"})]
                        for lo, hi in zip(rel["lower"], rel["upper"], strict=True)])
    texts = []
    for i in range(len(rel)):
        r = rel.iloc[i]
        t = (f"Uptake in the most deprived quintile was {r.most_deprived_value:.1%} against "
             f"{r.comparator_value:.1%} in the least deprived (ratio {r.estimate:.2f}, {conf:.0%} CI "
             f"{r.lower:.2f} to {r.upper:.2f}): {verdict[i]}.")
        if verdict[i] == "lower uptake in the most deprived":
            t += " This is the inverse care law: those with most need receive least."
        if need is not None:
            cu = concentration[(concentration.measure == "uptake") & (concentration.kind == "standard")]
            cn = concentration[concentration.measure == "need"]
            cu_i, cn_i = cu["index"].iloc[i], cn["index"].iloc[i]
            t += (f" Concentration index of uptake {cu_i:.3f} vs need {cn_i:.3f} (negative = among the "
                  f"more deprived): uptake is {'less' if cu_i > cn_i else 'more'} concentrated among "
                  "the deprived than need is.")
        texts.append(t)
    verdicts = rel[gb].copy() if gb else pd.DataFrame(index=range(len(rel)))
    verdicts["verdict"] = verdict
    verdicts["text"] = texts
    return verdicts


def uptake_equity(data: pd.DataFrame, treatment: str = "treated", *, eligible: str | None = None,
                  need: str | None = None, age: str | None = None, sex: str | None = None,
                  by: GroupBy = None, quantile: str = "imd_quintile", confidence: float = 0.95,
                  imd_edition: str | int = "2019") -> UptakeEquity:
    """Who receives the intervention, by deprivation, age and sex: the inverse care law check.

    Uptake ``p = treated / eligible`` with Wilson limits for every IMD quintile (and age band and sex
    when given); ratios to the overall uptake with Katz log limits
    ``SE = sqrt(1/x - 1/n + 1/X - 1/N)`` (conservative, treating the category and the whole as
    independent); the Q1 vs Q5 gap (Newcombe and Katz, via :func:`quintile_gap`); the concentration
    index of uptake over IMD (standard and Erreygers, people ranked most deprived first: negative =
    uptake concentrated among the more deprived). With ``need`` (e.g. the number of people with the
    condition, or expected admissions, per row), each quintile's share of uptake is compared with its
    share of need (``uptake_to_need = uptake share / need share``), and the concentration index of
    need is reported beside that of uptake: the inverse care law holds when uptake is less
    concentrated among the deprived than need is (Hart 1971).

    Parameters
    ----------
    data : pandas.DataFrame
        People (one row each, ``treatment`` 0/1) or aggregated rows with ``eligible`` (the number of
        eligible people) and ``treatment`` (the number treated).
    treatment : str
        Treatment indicator (0/1) or, with ``eligible``, the number treated.
    eligible : str, optional
        Marks the data as aggregated: the number eligible per row.
    need : str, optional
        A measure of need per row.
    age, sex : str, optional
        Further dimensions.
    by : column name(s), optional
        Separate analyses (a single name is one column).
    quantile : str
        IMD quintile column: 1-5 (1 = most deprived), every quintile present.
    confidence : float
    imd_edition : IMD edition recorded in the output.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"imd_quintile": [1, 2, 3, 4, 5], "treated": [50, 60, 70, 80, 90],
    ...                   "eligible": [1000] * 5})
    >>> res = uptake_equity(d, eligible="eligible")
    >>> res.verdicts.verdict[0]
    'lower uptake in the most deprived'
    """
    treatment = check_column_arg(treatment, "treatment")
    quantile = check_column_arg(quantile, "quantile")
    conf = check_confidence(confidence, "confidence")
    edition = check_imd_edition(imd_edition)
    gb = as_list(by)
    dims = [("imd", quantile)] + [(n, check_column_arg(c, n)) for n, c in (("age", age), ("sex", sex))
                                  if c is not None]
    frame, n_col = _uptake_frame(data, treatment, quantile, dims, eligible, need, gb)
    uptake_tab = _uptake_table(frame, treatment, n_col, dims, need, gb, conf, edition)
    imd_counts = uptake_tab[uptake_tab.dimension == "imd"].rename(columns={"category": quantile})
    imd_counts[quantile] = pd.to_numeric(imd_counts[quantile])
    gap = quintile_gap(imd_counts, x="treated", n="eligible", measure="proportion", by=gb or None,
                       quantile=quantile, confidence=conf, imd_edition=edition)
    concentration = _uptake_concentration(imd_counts, quantile, need, gb, conf, edition)
    verdicts = _uptake_verdicts(gap, concentration, need, gb, conf)
    return UptakeEquity(uptake=uptake_tab, gap=gap, concentration=concentration, verdicts=verdicts,
                        by=tuple(gb), settings={"confidence": conf, "imd_edition": edition,
                                                      "quantile": quantile})


__all__ = ["EquityOfEffect", "equity_of_effect", "UptakeEquity", "uptake_equity"]
