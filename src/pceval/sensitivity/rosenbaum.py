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
* **McNemar-type** (binary outcomes): among the ``D`` discordant pairs, ``t`` are those where
  the treated person had the event; ``p_upper = P(Binomial(D, p+) >= t)`` and
  ``p_lower = P(Binomial(D, p-) >= t)`` (exact; Rosenbaum 2002, section 4.3). R
  ``rbounds::binarysens`` computes ``1 - pbinom(t, D, p)`` = ``P(Binomial >= t + 1)``, one term
  short (at ``Gamma = 1`` not the exact McNemar p-value); the tests reproduce its printed values
  as this tail at ``t + 1``.

Both test the one-sided alternative ``alternative="greater"`` (treatment raises the outcome)
or ``"less"`` (lowers it: fewer admissions), by flipping the sign of the differences.

**Matched sets** of one treated person and ``k >= 1`` controls (a 1:k match, every set the same
size), as R ``sensitivitymw::senmw`` (Rosenbaum 2007): ``method="huber"`` sums the treated
people's Huber-type M-scores and bounds the p-value by the separable approximation
(:mod:`pceval.sensitivity._matched_sets` has the formulas); ``method="mcnemar"`` with ``k > 1``
uses the same bound on the 0/1 outcomes themselves (the Mantel-Haenszel-type test; for pairs it
stays the exact binomial bound above). Wilcoxon's signed rank needs pairs.

References: Rosenbaum, P.R. (2002) Observational Studies, 2nd ed., Springer, sections 4.3-4.4.
Keele, L.J. (2010) An overview of rbounds: an R package for Rosenbaum bounds sensitivity
analysis with matched data. R ``rbounds`` 2.2 (psens, binarysens), whose documented examples
the tests reproduce. Rosenbaum, P.R. (2007) Sensitivity analysis for m-estimates, tests and
confidence intervals in matched observational studies. Biometrics 63, 456-464; R
``sensitivitymw`` 2.1 (senmw), whose examples on its ``mercury`` and ``erpcp`` data the tests
reproduce.
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

METHODS = ("wilcoxon", "mcnemar", "huber")


@dataclass(frozen=True)
class RosenbaumResult(ResultProtocol):
    """Bounds on the one-sided p-value over a grid of ``Gamma``.

    ``table``: ``gamma, p_lower, p_upper`` (and ``statistic``: the standardised deviate of the
    upper bound for Wilcoxon and for matched sets); ``n_pairs``: the number of pairs or matched
    sets; ``sensitivity_value``: the ``Gamma`` at which ``p_upper``
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
        if s.get("controls_per_set", 1) > 1 or s["method"] == "huber":
            unit, used = "matched sets", "sets whose members' outcomes differ"
        else:
            unit = "pairs"
            used = ("discordant pairs" if s["method"] == "mcnemar" else "pairs with a non-zero "
                    "difference")
        return "\n".join([
            f"Rosenbaum bounds ({s['label']}; alternative: treatment {s['alternative']}): "
            f"{self.n_pairs:,} {unit}, {self.n_used:,} {used}",
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


def _sets(data: Any, outcome: str, treatment: str, pair: str) -> np.ndarray:
    """A sets x (1 + k) outcome matrix, the treated person first, from a long table with one
    row per person; every set must have one treated person and the same number k of controls."""
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
    bad = counts[(counts[1] != 1) | (counts[0] < 1)]
    if len(bad):
        raise InputError(
            f"`{pair}`: Rosenbaum bounds need matched pairs or sets (one treated person and at least one "
            f"control); {len(bad):,} of {len(counts):,} sets are not, e.g. {list(bad.index[:5])} "
            "(match 1:1 or 1:k without replacement)")
    sizes = counts[0].value_counts()
    if len(sizes) > 1:
        raise InputError(
            f"`{pair}`: every matched set must have the same number of controls (as R "
            f"sensitivitymw::senmw); the numbers of controls per set are "
            f"{dict(sorted(sizes.to_dict().items()))}. Keep the sets with k controls, or match 1:k "
            "without a caliper that leaves sets short")
    k = int(sizes.index[0])
    s = df.assign(_t=tr).sort_values([pair, "_t"], ascending=[True, False], kind="stable")
    return s[outcome].to_numpy(float).reshape(-1, 1 + k)


def _as_sets(data: Any, outcome: str | None, treatment: str | None, pair: str) -> np.ndarray:
    """The outcome matrix from a long table, a :class:`~pceval.matching.MatchResult` (its
    matched sample and ``subclass``) or an array (sets x (1 + k), the treated person first)."""
    from pceval.matching.result import MatchResult

    if isinstance(data, MatchResult):
        if outcome is None:
            raise InputError("`outcome`: name the outcome column of the matched data")
        return _sets(data.matched_data(), outcome, treatment or data.treatment, "subclass")
    if isinstance(data, np.ndarray):
        y = np.asarray(data, dtype=float)
        if y.ndim != 2 or y.shape[1] < 2 or y.shape[0] < 1:
            raise InputError(f"`data`: an array must be sets x (1 + k) with k >= 1 controls (the "
                             f"treated person in column 0); got shape {y.shape}")
        if not np.all(np.isfinite(y)):
            raise InputError("`data`: the array has missing or infinite outcomes; every set must "
                             "have the same number of controls")
        return y
    if outcome is None or treatment is None:
        raise InputError("`outcome` and `treatment` are needed with a table of matched people")
    return _sets(data, outcome, treatment, pair)


def rosenbaum_bounds(data: Any, outcome: str | None = None, treatment: str | None = None, *,
                     pair: str = "subclass", method: str = "wilcoxon",
                     gamma: Sequence[float] | None = None, alternative: str = "less",
                     alpha: float = 0.05, inner: float = 0.0, trim: float = 3.0, lam: float = 0.5,
                     set_weights: tuple[int, int, int] | None = None) -> RosenbaumResult:
    """Rosenbaum bounds for matched pairs or 1:k matched sets (see the module docstring).

    Parameters
    ----------
    data : the matched sample, one row per person (e.g. ``match(...).matched_data()``); or a
        :class:`~pceval.matching.MatchResult` (pairs or 1:k sets, ``subclass``); or an array of
        sets x (1 + k) outcomes with the treated person in column 0.
    outcome : the outcome column (numeric; 0/1 for ``method="mcnemar"``).
    treatment : the 0/1 treatment column (taken from a ``MatchResult`` if not given).
    pair : the matched-set id column (``subclass`` in ``matched_data()``).
    method : ``"wilcoxon"`` (signed rank; pairs), ``"mcnemar"`` (binary; exact for pairs, the
        separable bound for sets) or ``"huber"`` (M-statistic as ``sensitivitymw::senmw``;
        pairs or sets).
    gamma : the values of ``Gamma >= 1`` (default 1, 1.25, ..., 3).
    alternative : ``"less"`` (treatment lowers the outcome; default, as for admissions) or
        ``"greater"``.
    inner, trim, lam : ``method="huber"``: Huber's psi with inner trimming ``inner``, outer
        trimming ``trim`` (``float("inf")``: none) in units of the ``lam`` quantile of the
        absolute within-set differences (senmw's defaults 0, 3, 1/2).
    set_weights : ``method="huber"``: ``(m1, m2, m)`` for Rosenbaum's (2014) weighted
        M-statistic (senmw's ``m1, m2, m``; e.g. ``(12, 20, 20)``, senmw ``method="w"``).

    Example::

        m = pceval.match(people, "treat", ["age", "prior_admissions"], ratio=2)
        rosenbaum_bounds(m, "admissions_after", method="huber").sensitivity_value
    """
    check_choice(method, "method", set(METHODS))
    check_choice(alternative, "alternative", {"less", "greater"})
    alpha = check_number(alpha, "alpha", low=0, high=1, low_open=True, high_open=True)
    y = _as_sets(data, outcome, treatment, pair)
    n_sets, k = y.shape[0], y.shape[1] - 1
    sign = 1.0 if alternative == "greater" else -1.0
    if method == "mcnemar" and not np.isin(y, [0, 1]).all():
        for name, v in (("treated", y[:, 0]), ("control", y[:, 1:].ravel())):
            if not np.isin(v, [0, 1]).all():
                raise InputError(f"method='mcnemar' needs a 0/1 outcome; the {name} outcomes of "
                                 f"'{outcome}' include {list(np.unique(v[~np.isin(v, [0, 1])])[:5])}")
    if method == "wilcoxon" and k > 1:
        raise InputError(f"method='wilcoxon' (signed rank) needs matched pairs; these sets have {k} "
                         "controls each: use method='huber' (M-statistic, as R sensitivitymw) or, "
                         "for a 0/1 outcome, method='mcnemar'")
    if k == 1 and method == "mcnemar":
        d = sign * (y[:, 0] - y[:, 1])
        return mcnemar_bounds(int((d > 0).sum()), int((d < 0).sum()), gamma=gamma,
                              alternative=alternative, alpha=alpha, n_pairs=n_sets)
    if k == 1 and method == "wilcoxon":
        return wilcoxon_bounds(sign * (y[:, 0] - y[:, 1]), gamma=gamma, alternative=alternative,
                               alpha=alpha)
    return set_bounds(sign * y, gamma=gamma, alternative=alternative, alpha=alpha,
                      method=method, inner=inner, trim=trim, lam=lam, set_weights=set_weights)


def set_bounds(y: Any, *, gamma: Sequence[float] | None = None, alternative: str = "greater",
               alpha: float = 0.05, method: str = "huber", inner: float = 0.0, trim: float = 3.0,
               lam: float = 0.5, set_weights: tuple[int, int, int] | None = None) -> RosenbaumResult:
    """Rosenbaum bounds for matched sets from a sets x (1 + k) outcome matrix (treated in column
    0, already oriented so that large values favour the alternative), by the separable
    approximation; ``method="huber"`` as ``sensitivitymw::senmw(y, gamma, inner=, trim=,
    lambda=lam, m1=, m2=, m=)``, ``method="mcnemar"`` on the 0/1 outcomes themselves (senmw with
    ``method="t"``, no trimming). See :mod:`pceval.sensitivity._matched_sets`."""
    from scipy import optimize

    from pceval.sensitivity import _matched_sets as ms

    check_choice(method, "method", {"huber", "mcnemar"})
    y = np.asarray(y, dtype=float)
    if y.ndim != 2 or y.shape[1] < 2 or not np.all(np.isfinite(y)):
        raise InputError(f"`y` must be a finite sets x (1 + k) matrix with k >= 1; got shape {y.shape}")
    lam = check_number(lam, "lam", low=0, high=1, low_open=True, high_open=True)
    inner = check_number(inner, "inner", low=0)
    trim = float(trim)
    if not trim >= inner:
        raise InputError(f"`trim` must be >= `inner` ({inner:g}), got {trim!r}")
    if method == "mcnemar":
        scores = ms.m_scores(y, inner=0.0, trim=np.inf)
        label = f"Mantel-Haenszel-type, 1:{y.shape[1] - 1} sets (separable normal approximation)"
    else:
        scores = ms.m_scores(y, inner=inner, trim=trim, lam=lam)
        label = (f"Huber M-statistic, 1:{y.shape[1] - 1} sets (inner {inner:g}, trim {trim:g}; "
                 "separable normal approximation)")
    if set_weights is not None:
        m1, m2, m = (int(v) for v in set_weights)
        if not 1 <= m1 <= m2 <= m:
            raise InputError(f"`set_weights` (m1, m2, m) needs 1 <= m1 <= m2 <= m, got {set_weights!r}")
        scores = scores * ms.set_weights(scores, m1, m2, m)[:, None]
        label += f", weighted (m1={m1}, m2={m2}, m={m})"
    if np.ptp(scores, axis=1).max() == 0:
        raise InputError("every matched set has the same outcome for all its members: nothing to test")
    g = _gammas(gamma)
    z_up, p_lo, p_up = ms.set_bounds(scores, g)
    table = pd.DataFrame({"gamma": g, "statistic": z_up, "p_lower": p_lo, "p_upper": p_up})
    sv = _sensitivity_value(lambda gg: float(ms.set_bounds(scores, np.array([gg]))[2][0]), alpha,
                            optimize)
    n_used = int((np.ptp(scores, axis=1) > 0).sum())
    return RosenbaumResult(table=table, sensitivity_value=sv, n_pairs=y.shape[0], n_used=n_used,
                           statistic=float(scores[:, 0].sum()),
                           settings={"method": method, "alternative": alternative, "alpha": alpha,
                                     "label": label, "controls_per_set": y.shape[1] - 1,
                                     "inner": inner, "trim": trim, "lam": lam,
                                     "set_weights": set_weights})


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
    person had the outcome the alternative predicts, ``against`` the others. Exact binomial
    tails ``P(T >= favour)`` (``rbounds::binarysens(against, favour)`` sums from ``favour + 1``;
    see the module docstring)."""
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


__all__ = ["RosenbaumResult", "rosenbaum_bounds", "wilcoxon_bounds", "mcnemar_bounds", "set_bounds"]
