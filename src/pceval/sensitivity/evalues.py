"""E-values for unmeasured confounding (VanderWeele & Ding 2017).

The E-value is the minimum strength of association, on the risk-ratio scale, that an unmeasured
confounder would need to have with both the treatment and the outcome, conditional on the measured
covariates, to fully explain away an observed risk ratio ``RR``:

    E(RR) = RR + sqrt(RR (RR - 1))            for RR >= 1;  E(RR) = E(1 / RR) for RR < 1.

For a non-null ``true`` value (how much confounding would move the estimate to ``true`` rather
than to 1), with ``RR >= true``: ``E = (RR + sqrt(RR (RR - true))) / true`` (both inverted when
``RR < 1``), as R ``EValue``'s ``threshold``.

The interval gets the E-value of the limit nearer to ``true`` (1 when the interval contains it).
Other scales are first turned into approximate risk ratios (VanderWeele & Ding 2017, table 2):

* odds ratio: ``RR ~ OR`` for a rare outcome (< 15%), else ``RR ~ sqrt(OR)``;
* hazard ratio: ``RR ~ HR`` for a rare outcome, else
  ``RR ~ (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))``;
* standardised mean difference ``d`` with standard error ``s``: ``RR ~ exp(0.91 d)``, interval
  ``exp(0.91 d -/+ 1.78 s)``;
* rate ratios from count models (``did2x2(model="poisson")``, matched-cohort rate ratios) are
  used as risk ratios.

For a risk difference from a 2x2 table, :func:`evalue_rd` gives the E-value for the
population-standardised risk difference (Ding & VanderWeele 2016, section 5).

References: VanderWeele, T.J. & Ding, P. (2017) Sensitivity analysis in observational research:
introducing the E-value. Annals of Internal Medicine 167(4):268-274. Ding, P. & VanderWeele, T.J.
(2016) Sensitivity analysis without assumptions. Epidemiology 27(3):368-377. Mathur, M.B. et al.
(2018) Web site and R package for computing E-values. Epidemiology 29(5):e45-e47 (R ``EValue``,
whose documented examples the tests reproduce).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pceval._checks import check_choice, check_confidence, check_number
from pceval._results import ResultProtocol, headline_on_scale, protocol_frame
from pceval.errors import InputError

if TYPE_CHECKING:
    from plotnine import ggplot

SCALES_EVALUE = ("RR", "OR", "HR", "RD", "SMD")


def _threshold(rr: float, true: float = 1.0) -> float:
    """E-value of one risk ratio ``rr`` against ``true`` (NaN for NaN)."""
    if not np.isfinite(rr):
        return float("nan")
    if rr <= 1:
        rr, true = 1.0 / rr, 1.0 / true
    if true <= rr:
        return float((rr + np.sqrt(rr * (rr - true))) / true)
    ratio = true / rr
    return float(ratio + np.sqrt(ratio * (ratio - 1)))


def _to_rr(value: float, scale: str, rare: bool | None) -> float:
    if not np.isfinite(value):
        return float("nan")
    if scale in ("RR",):
        return value
    if scale == "OR":
        return value if rare else float(np.sqrt(value))
    if scale == "HR":
        if rare:
            return value
        return float((1 - 0.5 ** np.sqrt(value)) / (1 - 0.5 ** np.sqrt(1 / value)))
    raise AssertionError(scale)  # pragma: no cover


@dataclass(frozen=True)
class EValueResult(ResultProtocol):
    """E-values of an estimate and of its interval.

    ``to_frame()`` has one row: the estimate on the risk-ratio scale (term ``risk ratio``, or
    the converted OR/HR/SMD) with its interval, then ``evalue`` (for the estimate),
    ``evalue_ci`` (for the interval limit nearer to ``true``; 1 when the interval contains
    it), ``input_estimate, input_lower, input_upper, input_scale, rare, true, confidence``.
    """

    rr: float
    rr_lower: float
    rr_upper: float
    evalue: float
    evalue_ci: float
    settings: dict

    def to_frame(self) -> pd.DataFrame:
        s = self.settings
        conv = {"RR": "risk ratio", "OR": "risk ratio (from an odds ratio)",
                "HR": "risk ratio (from a hazard ratio)",
                "SMD": "risk ratio (from a standardised mean difference)",
                "RD": "risk difference (population-standardised)"}[s["scale"]]
        scale = "absolute" if s["scale"] == "RD" else "relative"
        row = {"term": conv, "estimate": self.rr, "std_error": np.nan, "statistic": np.nan,
               "p_value": np.nan, "ci_lower": self.rr_lower, "ci_upper": self.rr_upper,
               "scale": scale, "measure": conv, "evalue": self.evalue,
               "evalue_ci": self.evalue_ci, "input_estimate": s["estimate"],
               "input_lower": s["lower"], "input_upper": s["upper"], "input_scale": s["scale"],
               "rare": s["rare"], "true": s["true"], "method": "E-value (VanderWeele & Ding 2017)",
               "confidence": s["confidence"]}
        return protocol_frame(pd.DataFrame([row]))

    def summary(self) -> str:
        s = self.settings
        ci = "" if not np.isfinite(self.evalue_ci) else (
            f"; for the confidence limit nearer the null: {self.evalue_ci:.2f}")
        return (f"E-value ({s['scale']} {s['estimate']:.4g} -> risk ratio {self.rr:.4g}): "
                f"{self.evalue:.2f}{ci}.\n{self.sentence()}")

    def sentence(self) -> str:
        """The plain robustness sentence (see :func:`pceval.sensitivity.robustness_sentence`)."""
        from pceval.sensitivity.sentences import robustness_sentence

        return robustness_sentence(self)

    def plot(self) -> ggplot:
        """The bias plot: the pairs (RR_EU, RR_UD) whose joint bounding factor
        ``RR_EU RR_UD / (RR_EU + RR_UD - 1)`` equals the estimate (VanderWeele & Ding 2017,
        figure); the E-value is where the curve crosses the diagonal."""
        from plotnine import aes, annotate, geom_line, geom_point, ggplot, labs

        from pceval.plots import NHS_COLOURS, theme_nhs

        rr = self.rr if self.rr >= 1 else 1 / self.rr
        e = self.evalue
        x = np.linspace(rr + 1e-6, max(4 * e, rr + 1), 400)
        y = rr * (1 - x) / (rr - x)
        df = pd.DataFrame({"x": x, "y": y})
        df = df[(df["y"] > 0) & (df["y"] <= 4 * e)]
        return (ggplot(df, aes("x", "y")) + geom_line(colour=NHS_COLOURS["blue"])
                + geom_point(pd.DataFrame({"x": [e], "y": [e]}), aes("x", "y"),
                             colour=NHS_COLOURS["dark_blue"], size=3)
                + annotate("text", x=e, y=e, label=f"  E-value {e:.2f}", ha="left")
                + labs(x="RR treatment-confounder (RR_EU)", y="RR confounder-outcome (RR_UD)",
                       title=f"Confounding that would explain away RR {rr:.2f}")
                + theme_nhs())


def _from_result(result: Any) -> tuple[float, float, float, float]:
    """Estimate, limits and confidence of a result's relative (ratio) headline row."""
    try:
        row = headline_on_scale(result, "relative")
    except LookupError:
        raise InputError(
            "`estimate` is a result without a ratio (relative) row; E-values need a risk, rate, "
            "odds or hazard ratio, or give `scale='SMD'` with a number") from None
    conf = float(row["confidence"]) if "confidence" in row and pd.notna(row["confidence"]) else 0.95
    return float(row["estimate"]), float(row["ci_lower"]), float(row["ci_upper"]), conf


def evalue(estimate: Any, lower: float | None = None, upper: float | None = None, *,
           scale: str = "RR", rare: bool | None = None, std_error: float | None = None,
           true: float | None = None, confidence: float = 0.95) -> EValueResult:
    """E-values for an estimate and the interval limit nearer the null.

    Parameters
    ----------
    estimate : a ratio (``scale`` "RR", "OR", "HR"), a standardised mean difference ("SMD"), or a
        result object with a relative row (a DiD or matched-cohort rate ratio: its headline's
        ratio row is used with its interval).
    lower, upper : the confidence limits on the same scale (optional).
    scale : "RR" (also rate ratios), "OR", "HR", "SMD"; for a risk difference use
        :func:`evalue_rd` with the 2x2 counts.
    rare : for "OR"/"HR": is the outcome rare (< 15% by the end of follow-up)? Required.
    std_error : for "SMD": the standard error of ``d`` (gives the interval).
    true : the value to explain the estimate away to (1 for ratios, 0 for SMD by default).

    Formula: see the module docstring. Example::

        >>> evalue(3.9, 1.8, 8.7).evalue          # doctest: +ELLIPSIS
        7.26...
    """
    check_choice(scale, "scale", SCALES_EVALUE)
    confidence = check_confidence(confidence)
    if scale == "RD":
        raise InputError("`scale='RD'`: the E-value for a risk difference needs the 2x2 counts; "
                         "use pceval.sensitivity.evalue_rd(n11, n10, n01, n00)")
    if not isinstance(estimate, (int, float, np.integer, np.floating)):
        if scale != "RR":
            raise InputError("a result object gives a rate ratio; leave `scale='RR'`")
        estimate, lower, upper, confidence = _from_result(estimate)
    est = check_number(estimate, "estimate")
    lo = None if lower is None else check_number(lower, "lower")
    hi = None if upper is None else check_number(upper, "upper")
    if scale in ("OR", "HR") and rare is None:
        raise InputError(f"`rare` is required for scale='{scale}': is the outcome rare (< 15%)?")
    if scale == "SMD":
        t = 0.0 if true is None else check_number(true, "true")
        if lo is not None or hi is not None:
            raise InputError("for scale='SMD' give `std_error`, not `lower`/`upper`: the interval "
                             "is converted as exp(0.91 d -/+ 1.78 se)")
        rr = float(np.exp(0.91 * est))
        true_rr = float(np.exp(0.91 * t))
        if std_error is not None:
            se = check_number(std_error, "std_error", low=0)
            rr_lo, rr_hi = float(np.exp(0.91 * est - 1.78 * se)), float(np.exp(0.91 * est + 1.78 * se))
        else:
            rr_lo = rr_hi = float("nan")
    else:
        if est <= 0:
            raise InputError(f"`estimate` must be a positive ratio for scale='{scale}', got {est}")
        for name, v in (("lower", lo), ("upper", hi)):
            if v is not None and v <= 0:
                raise InputError(f"`{name}` must be a positive ratio, got {v}")
        t = 1.0 if true is None else check_number(true, "true", low=0, low_open=True)
        rr = _to_rr(est, scale, rare)
        rr_lo = _to_rr(lo, scale, rare) if lo is not None else float("nan")
        rr_hi = _to_rr(hi, scale, rare) if hi is not None else float("nan")
        true_rr = _to_rr(t, scale, rare)
    if np.isfinite(rr_lo) and rr_lo > rr + 1e-12 or np.isfinite(rr_hi) and rr_hi < rr - 1e-12:
        raise InputError(f"the estimate {est} must lie inside its interval ({lower}, {upper})")
    e_point = _threshold(rr, true_rr)
    if rr > true_rr:
        limit = rr_lo
        e_ci = 1.0 if np.isfinite(limit) and limit <= true_rr else _threshold(limit, true_rr)
    elif rr < true_rr:
        limit = rr_hi
        e_ci = 1.0 if np.isfinite(limit) and limit >= true_rr else _threshold(limit, true_rr)
    else:
        e_ci = 1.0
    settings = {"estimate": est, "lower": np.nan if lo is None else lo,
                "upper": np.nan if hi is None else hi, "scale": scale, "rare": rare,
                "true": t, "confidence": confidence}
    return EValueResult(rr=rr, rr_lower=rr_lo, rr_upper=rr_hi, evalue=e_point, evalue_ci=e_ci,
                        settings=settings)


def evalue_rd(n11: float, n10: float, n01: float, n00: float, *, true: float = 0.0,
              confidence: float = 0.95) -> EValueResult:
    """E-value for the population-standardised risk difference of a 2x2 table.

    ``n11`` treated with the outcome, ``n10`` treated without, ``n01`` untreated with, ``n00``
    untreated without (label treatment so that the risk difference is positive). With
    ``f = P(treated)``, ``p1``, ``p0`` the risks: the bounding factor ``B`` that brings the
    standardised difference to ``true`` solves ``(p1 - p0 B)(f + (1 - f)/B) = true``
    (Ding & VanderWeele 2016, section 5), and the E-value is :func:`_threshold` of ``B``. For
    the lower limit, ``B`` is the smallest value at which the lower Wald limit of the
    bias-corrected difference (delta method, as R ``EValue::evalues.RD``) reaches ``true``;
    solved by root-finding rather than R's grid of 0.0001.
    """
    from scipy import optimize, stats

    counts = [check_number(v, name, low=0) for v, name in
              ((n11, "n11"), (n10, "n10"), (n01, "n01"), (n00, "n00"))]
    n11, n10, n01, n00 = counts
    confidence = check_confidence(confidence)
    true = check_number(true, "true")
    N1, N0 = n11 + n10, n01 + n00
    if N1 == 0 or N0 == 0:
        raise InputError("evalue_rd needs treated and untreated people (n11 + n10 > 0, n01 + n00 > 0)")
    N = N1 + N0
    f = N1 / N
    p1, p0 = n11 / N1, n01 / N0
    if p1 < p0:
        raise InputError(f"the risk difference is negative ({p1 - p0:.4g}); relabel the treatment "
                         "so that it is positive")
    if p1 - p0 <= true:
        raise InputError(f"`true` ({true}) must be below the risk difference ({p1 - p0:.4g})")
    s2_p1, s2_p0, s2_f = p1 * (1 - p1) / N1, p0 * (1 - p0) / N0, f * (1 - f) / N
    diff = p0 * (1 - f) - p1 * f
    bf = (np.sqrt((true + diff) ** 2 + 4 * p1 * p0 * f * (1 - f)) - (true + diff)) / (2 * p0 * f)
    z = stats.norm.ppf(0.5 + confidence / 2)
    lower = p1 - p0 - z * np.sqrt(s2_p1 + s2_p0)

    def low_limit(b: float) -> float:
        rd = p1 - p0 * b
        fb = f + (1 - f) / b
        return rd * fb - z * np.sqrt((s2_p1 + s2_p0 * b**2) * fb**2
                                     + rd**2 * (1 - 1 / b) ** 2 * s2_f) - true

    if lower <= true:
        e_ci = 1.0
    elif low_limit(bf) > 0:  # pragma: no cover - the limit is below the point at B = bf
        e_ci = _threshold(bf)
    else:
        e_ci = _threshold(optimize.brentq(low_limit, 1.0, bf, xtol=1e-12))
    settings = {"estimate": p1 - p0, "lower": lower, "upper": np.nan, "scale": "RD",
                "rare": None, "true": true, "confidence": confidence}
    return EValueResult(rr=p1 - p0, rr_lower=lower,
                        rr_upper=p1 - p0 + z * np.sqrt(s2_p1 + s2_p0), evalue=_threshold(bf),
                        evalue_ci=e_ci, settings=settings)
