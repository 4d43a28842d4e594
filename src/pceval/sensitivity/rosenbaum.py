"""Rosenbaum bounds: how strong a hidden bias in who got treated would overturn a matched
comparison.

Within a matched pair the two people had the same observed covariates; an unobserved factor may
still make one of them up to ``Gamma`` times as likely (in odds) to be the treated one. For each
``Gamma`` the p-value of the test of no effect lies between a lower and an upper bound; the
**sensitivity value** is the ``Gamma`` at which the upper bound reaches ``alpha``: the study's
conclusion survives hidden biases up to that size (Rosenbaum 2002, chapter 4).

* **Wilcoxon signed rank** (continuous outcomes), as R ``rbounds::psens``: pair differences
  ``d_i = y_treated - y_control`` (zero differences dropped), ranks ``q_i`` of ``|d_i|`` (ties
  averaged), ``T = sum_{d_i > 0} q_i``. Under a bias ``Gamma``, with ``p+ = Gamma/(1+Gamma)``
  and ``p- = 1/(1+Gamma)``, ``T`` is bounded by the sums of independent ``q_i Bernoulli(p+-)``,
  so (normal approximation)
  ``p_upper = 1 - Phi((T - p+ sum q_i) / sqrt(p+ (1 - p+) sum q_i^2))``, and ``p_lower`` with
  ``p-``.
* **McNemar-type** (binary outcomes), as R ``rbounds::binarysens``: among the ``D`` discordant
  pairs, ``t`` are those where the treated person had the event;
  ``p_upper = P(Binomial(D, p+) >= t)`` and ``p_lower = P(Binomial(D, p-) >= t)`` (exact).

Both test the one-sided alternative ``alternative="greater"`` (treatment raises the outcome)
or ``"less"`` (lowers it: fewer admissions), by flipping the sign of the differences.

References: Rosenbaum, P.R. (2002) Observational Studies, 2nd ed., Springer, sections 4.3-4.4.
Keele, L.J. (2010) An overview of rbounds: an R package for Rosenbaum bounds sensitivity
analysis with matched data. R ``rbounds`` 2.2 (psens, binarysens), whose documented examples
the tests reproduce.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from pceval._checks import check_choice, check_frame, check_number
from pceval._engines import to_pandas
from pceval._results import ResultProtocol, protocol_frame
from pceval.errors import InputError

if TYPE_CHECKING:
    from plotnine import ggplot

METHODS = ("wilcoxon", "mcnemar")


@dataclass(frozen=True)
class RosenbaumResult(ResultProtocol):
    """Bounds on the one-sided p-value over a grid of ``Gamma``.

    ``table``: ``gamma, p_lower, p_upper`` (and ``statistic``: the standardised deviate of the
    upper bound for Wilcoxon); ``sensitivity_value``: the ``Gamma`` at which ``p_upper``
    reaches ``alpha`` (1 when the test is not significant even without hidden bias; ``inf``
    when it never reaches it, e.g. every discordant pair favours treatment).
    """

    table: pd.DataFrame
    sensitivity_value: float
    n_pairs: int
    n_used: int
    statistic: float
    settings: dict

    def to_frame(self) -> pd.DataFrame:
        """Protocol columns: one row per ``Gamma`` (term ``Gamma=2``); ``p_value`` is the upper
        bound (the worst case), ``statistic`` its standardised deviate (Wilcoxon) or the number
        of discordant pairs favouring treatment (McNemar); no estimate or interval (a test).
        Then ``gamma, p_lower, p_upper, sensitivity_value, n_pairs, n_used, alternative,
        method, alpha``."""
        t = self.table
        s = self.settings
        frame = pd.DataFrame({
            "term": [f"Gamma={g:g}" for g in t["gamma"]], "estimate": np.nan, "std_error": np.nan,
            "statistic": t["statistic"].to_numpy(), "p_value": t["p_upper"].to_numpy(),
            "ci_lower": np.nan, "ci_upper": np.nan, "scale": "absolute",
            "measure": "upper bound of the one-sided p-value under hidden bias Gamma",
            "gamma": t["gamma"].to_numpy(), "p_lower": t["p_lower"].to_numpy(),
            "p_upper": t["p_upper"].to_numpy(), "sensitivity_value": self.sensitivity_value,
            "n_pairs": self.n_pairs, "n_used": self.n_used, "alternative": s["alternative"],
            "method": s["label"], "alpha": s["alpha"]})
        return protocol_frame(frame)

    def summary(self) -> str:
        s = self.settings
        used = ("discordant pairs" if s["method"] == "mcnemar" else "pairs with a non-zero "
                "difference")
        return "\n".join([
            f"Rosenbaum bounds ({s['label']}; alternative: treatment {s['alternative']}): "
            f"{self.n_pairs:,} pairs, {self.n_used:,} {used}",
            self.table.to_string(index=False, float_format=lambda v: f"{v:.4g}"),
            f"sensitivity value (Gamma at which the upper p-value reaches {s['alpha']:g}): "
            f"{self.sensitivity_value:.3g}",
            self.sentence()])

    def sentence(self) -> str:
        """The plain robustness sentence (see :func:`pceval.sensitivity.robustness_sentence`)."""
        from pceval.sensitivity.sentences import robustness_sentence

        return robustness_sentence(self)

    def plot(self) -> ggplot:
        """The upper and lower p-value bounds against ``Gamma``, with ``alpha``."""
        from plotnine import aes, geom_hline, geom_line, ggplot, labs

        from pceval.plots import NHS_COLOURS, theme_nhs

        long = self.table.melt(id_vars="gamma", value_vars=["p_lower", "p_upper"],
                               var_name="bound", value_name="p")
        return (ggplot(long, aes("gamma", "p", linetype="bound")) + geom_line(colour=NHS_COLOURS["blue"])
                + geom_hline(yintercept=self.settings["alpha"], linetype="dashed",
                             colour=NHS_COLOURS["mid_grey"])
                + labs(x="Gamma (hidden bias: odds of treatment within a pair)",
                       y="one-sided p-value", linetype="",
                       title="Sensitivity to hidden bias (Rosenbaum bounds)")
                + theme_nhs())


def _pairs(data: Any, outcome: str, treatment: str, pair: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Treated and control outcomes, one per pair, in pair order; pairs must have one of each."""
    df = check_frame(to_pandas(data), "data", required=[outcome, treatment, pair],
                     not_null=[outcome, treatment, pair], numeric=[outcome])
    if not df[treatment].isin([0, 1, True, False]).all():
        bad = df.loc[~df[treatment].isin([0, 1, True, False]), treatment].unique()[:5]
        raise InputError(f"`treatment` column '{treatment}' must be 0/1; offending values: {list(bad)}")
    tr = df[treatment].astype(int).to_numpy()
    counts = pd.crosstab(df[pair], tr)
    for c in (0, 1):
        if c not in counts:
            counts[c] = 0
    bad = counts[(counts[0] != 1) | (counts[1] != 1)]
    if len(bad):
        raise InputError(
            f"`{pair}`: Rosenbaum bounds here need matched pairs (one treated, one control); "
            f"{len(bad):,} of {len(counts):,} sets are not pairs, e.g. {list(bad.index[:5])} "
            "(match 1:1 without replacement)")
    s = df.assign(_t=tr).sort_values([pair, "_t"], kind="stable")
    y = s[outcome].to_numpy(float).reshape(-1, 2)
    return y[:, 1], y[:, 0], len(counts)


def rosenbaum_bounds(data: Any, outcome: str, treatment: str, *, pair: str = "subclass",
                     method: str = "wilcoxon", gamma: Sequence[float] | None = None,
                     alternative: str = "less", alpha: float = 0.05) -> RosenbaumResult:
    """Rosenbaum bounds for a matched-pair comparison (see the module docstring).

    Parameters
    ----------
    data : the matched sample, one row per person (e.g. ``match(...).matched_data()``).
    outcome : the outcome column (numeric; 0/1 for ``method="mcnemar"``).
    treatment : the 0/1 treatment column.
    pair : the matched-pair id column (``subclass`` in ``matched_data()``).
    method : ``"wilcoxon"`` (signed rank, continuous) or ``"mcnemar"`` (binary).
    gamma : the values of ``Gamma >= 1`` (default 1, 1.25, ..., 3).
    alternative : ``"less"`` (treatment lowers the outcome; default, as for admissions) or
        ``"greater"``.

    Example::

        m = pceval.match(people, "treat", ["age", "prior_admissions"])
        rosenbaum_bounds(m.matched_data(), "admissions_after", "treat").sensitivity_value
    """
    check_choice(method, "method", set(METHODS))
    check_choice(alternative, "alternative", {"less", "greater"})
    alpha = check_number(alpha, "alpha", low=0, high=1, low_open=True, high_open=True)
    yt, yc, n_pairs = _pairs(data, outcome, treatment, pair)
    if method == "mcnemar":
        for name, y in (("treated", yt), ("control", yc)):
            if not np.isin(y, [0, 1]).all():
                raise InputError(f"method='mcnemar' needs a 0/1 outcome; the {name} outcomes of "
                                 f"'{outcome}' include {list(np.unique(y[~np.isin(y, [0, 1])])[:5])}")
        sign = 1 if alternative == "greater" else -1
        d = sign * (yt - yc)
        return mcnemar_bounds(int((d > 0).sum()), int((d < 0).sum()), gamma=gamma,
                              alternative=alternative, alpha=alpha, n_pairs=n_pairs)
    d = yt - yc if alternative == "greater" else yc - yt
    return wilcoxon_bounds(d, gamma=gamma, alternative=alternative, alpha=alpha)


def _gammas(gamma: Sequence[float] | None) -> np.ndarray:
    g = np.arange(1, 3.01, 0.25) if gamma is None else np.atleast_1d(np.asarray(gamma, float))
    if g.size == 0 or not np.all(np.isfinite(g)) or (g < 1).any():
        raise InputError(f"`gamma` must be numbers >= 1, got {list(np.atleast_1d(cast(Sequence[float], gamma)))}")
    return np.sort(g)


def wilcoxon_bounds(differences: Any, *, gamma: Sequence[float] | None = None,
                    alternative: str = "greater", alpha: float = 0.05) -> RosenbaumResult:
    """Rosenbaum bounds for Wilcoxon's signed-rank test on pair differences (already oriented so
    that large values favour the alternative), as ``rbounds::psens(trt, ctrl)`` with
    ``differences = trt - ctrl``. See the module docstring."""
    from scipy import optimize, stats

    d_all = np.asarray(differences, dtype=float).ravel()
    if not np.all(np.isfinite(d_all)):
        raise InputError("`differences` must be finite numbers")
    d = d_all[d_all != 0]
    if len(d) == 0:
        raise InputError("every pair difference is 0: nothing to test")
    q = stats.rankdata(np.abs(d))  # average ranks for ties
    T = float(q[d > 0].sum())
    sq, sq2 = float(q.sum()), float((q**2).sum())

    def deviate(g: np.ndarray, upper: bool = True) -> np.ndarray:
        p = g / (1 + g) if upper else 1 / (1 + g)
        return (T - p * sq) / np.sqrt(p * (1 - p) * sq2)

    g = _gammas(gamma)
    z_up, z_lo = deviate(g), deviate(g, upper=False)
    table = pd.DataFrame({"gamma": g, "statistic": z_up, "p_lower": stats.norm.sf(z_lo),
                          "p_upper": stats.norm.sf(z_up)})
    sv = _sensitivity_value(lambda gg: float(stats.norm.sf(deviate(np.array([gg]))[0])), alpha,
                            optimize)
    return RosenbaumResult(table=table, sensitivity_value=sv, n_pairs=len(d_all), n_used=len(d),
                           statistic=T, settings={"method": "wilcoxon", "alternative": alternative,
                                                  "alpha": alpha,
                                                  "label": "Wilcoxon signed rank (normal approximation)"})


def mcnemar_bounds(favour: int, against: int, *, gamma: Sequence[float] | None = None,
                   alternative: str = "greater", alpha: float = 0.05,
                   n_pairs: int | None = None) -> RosenbaumResult:
    """Rosenbaum bounds for McNemar's test: ``favour`` discordant pairs in which the treated
    person had the outcome the alternative predicts, ``against`` the others; as
    ``rbounds::binarysens(against, favour)``. Exact binomial tails."""
    from scipy import optimize, stats

    for v, name in ((favour, "favour"), (against, "against")):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise InputError(f"`{name}` must be a count (a whole number >= 0), got {v!r}")
    D = favour + against
    if D == 0:
        raise InputError("there are no discordant pairs: nothing to test")
    g = _gammas(gamma)

    def tail(gg: np.ndarray, upper: bool = True) -> np.ndarray:
        p = gg / (1 + gg) if upper else 1 / (1 + gg)
        return stats.binom.sf(favour - 1, D, p)

    table = pd.DataFrame({"gamma": g, "statistic": float(favour), "p_lower": tail(g, False),
                          "p_upper": tail(g)})
    sv = _sensitivity_value(lambda gg: float(tail(np.array([gg]))[0]), alpha, optimize)
    return RosenbaumResult(table=table, sensitivity_value=sv,
                           n_pairs=D if n_pairs is None else n_pairs, n_used=D,
                           statistic=float(favour),
                           settings={"method": "mcnemar", "alternative": alternative,
                                     "alpha": alpha, "label": "McNemar (exact binomial)"})


def _sensitivity_value(p_upper: Callable[[float], float], alpha: float, optimize: Any) -> float:
    """The ``Gamma >= 1`` at which ``p_upper(Gamma) = alpha`` (``p_upper`` increases with
    ``Gamma``); 1 if already ``>= alpha`` at 1; ``inf`` if never reached (up to 1e6)."""
    if p_upper(1.0) >= alpha:
        return 1.0
    hi = 2.0
    while p_upper(hi) < alpha:
        hi *= 2
        if hi > 1e6:
            return float("inf")
    return float(optimize.brentq(lambda g: p_upper(g) - alpha, hi / 2 if hi > 2 else 1.0, hi,
                                 xtol=1e-10))


__all__ = ["RosenbaumResult", "rosenbaum_bounds", "wilcoxon_bounds", "mcnemar_bounds"]
