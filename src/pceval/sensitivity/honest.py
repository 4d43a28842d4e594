"""HonestDiD: how large a violation of parallel trends would overturn an event-study conclusion.

Rambachan & Roth (2023). The event-study estimates ``betahat = (beta_pre, beta_post)`` (event
times before and after the reference period, which is normalised to 0) estimate
``beta = delta + (0, tau_post)``: the effects ``tau_post`` plus a bias ``delta``, the difference in
trends that parallel trends assumes to be 0. The target is ``theta = l' tau_post`` (``l``: one
post period, or the average of them). Instead of ``delta_post = 0``, HonestDiD assumes that
``delta`` lies in a set ``Delta`` restricted by what the pre-periods show, and reports a
confidence set for ``theta`` that is valid for every ``delta`` in it:

* **relative magnitudes** ``Delta^RM(Mbar)``: no change in the difference in trends between
  consecutive post periods is larger than ``Mbar`` times the largest such change before
  treatment, ``max_t>=0 |delta_t+1 - delta_t| <= Mbar max_t<0 |delta_t+1 - delta_t|``.
  ``Mbar = 1``: "after go-live the trends may diverge as much as they ever did before it".
  Confidence set: the conditional-least-favourable hybrid (C-LF) test of Andrews, Roth & Pakes
  (2023), inverted on a grid of ``theta`` and unioned over the pieces of ``Delta^RM`` (as R
  ``HonestDiD``'s ``computeConditionalCS_DeltaRM``, moments of the post periods only,
  ``kappa = alpha / 10``).
* **smoothness** ``Delta^SD(M)``: the difference in trends may bend by at most ``M`` (outcome
  units per period, per period) each period, ``|(delta_t+1 - delta_t) - (delta_t - delta_t-1)|
  <= M``; ``M = 0`` allows exactly a linear pre-trend continued after treatment. Confidence set:
  the optimal fixed-length confidence interval (FLCI, Armstrong & Kolesar 2018) as HonestDiD's
  ``findOptimalFLCI``.

The **breakdown value** is the largest ``m`` at which the robust interval still excludes 0
(found by bisection to 0.1% of the largest ``m`` asked, beyond the grid ``m``).

References: Rambachan, A. & Roth, J. (2023) A more credible approach to parallel trends. Review
of Economic Studies 90(5):2555-2591. Andrews, I., Roth, J. & Pakes, A. (2023) Inference for
linear conditional moment inequalities. Review of Economic Studies 90(6):2763-2791. Armstrong,
T.B. & Kolesar, M. (2018) Optimal inference in a class of regression models. Econometrica
86(2):655-683. Reference implementation: R ``HonestDiD`` and its Python port ``honestdid``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pceval._checks import check_choice, check_confidence, check_int
from pceval._results import ResultProtocol, protocol_frame
from pceval.errors import InputError

if TYPE_CHECKING:
    from plotnine import ggplot

RESTRICTIONS = ("relative_magnitude", "smoothness")
_M_NAME = {"relative_magnitude": "Mbar", "smoothness": "M"}


@dataclass(frozen=True)
class HonestDidResult(ResultProtocol):
    """Robust confidence sets for ``theta = l' tau_post``, one per value of ``m``.

    ``table``: ``m, ci_lower, ci_upper`` per value of ``m``; ``original``: the interval under
    exact parallel trends (``theta_hat -/+ z sd``); ``breakdown``: the largest ``m`` at which the
    robust interval excludes 0, searched beyond the grid when needed (NaN when even the
    original interval contains 0; ``inf`` when it still excludes 0 at 2^10 times the largest
    ``m`` asked).
    """

    table: pd.DataFrame
    estimate: float
    std_error: float
    original: tuple[float, float]
    breakdown: float
    settings: dict

    def to_frame(self) -> pd.DataFrame:
        """Protocol columns: row 0 the original estimate (term ``original``; Wald p-value), then
        one row per ``m`` (term ``Mbar=0.5`` / ``M=0.01``) with the same estimate and its robust
        interval (no standard error or p-value: the sets are not Wald intervals); then ``m,
        restriction, breakdown, l_vec, event_times, method, confidence``."""
        from pceval._results import difference_row

        s = self.settings
        design = {"measure": s.get("contrast", "effect (l' tau_post)"),
                  "restriction": s["restriction"],
                  "breakdown": self.breakdown, "l_vec": s["l_label"],
                  "method": s["method"], "confidence": s["confidence"]}
        first = difference_row("original", self.estimate, self.std_error, s["confidence"],
                               m=np.nan, **{k: v for k, v in design.items() if k != "confidence"})
        first["confidence"] = s["confidence"]
        first["ci_lower"], first["ci_upper"] = self.original
        name = _M_NAME[s["restriction"]]
        rows = pd.DataFrame({
            "term": [f"{name}={m:g}" for m in self.table["m"]], "estimate": self.estimate,
            "std_error": np.nan, "statistic": np.nan, "p_value": np.nan,
            "ci_lower": self.table["ci_lower"].to_numpy(), "ci_upper": self.table["ci_upper"].to_numpy(),
            "scale": "absolute", "m": self.table["m"].to_numpy(), **design})
        return protocol_frame(pd.concat([pd.DataFrame([first]), rows], ignore_index=True))

    def summary(self) -> str:
        s = self.settings
        conf = int(round(s["confidence"] * 100))
        lines = [f"HonestDiD ({s['restriction'].replace('_', ' ')}; {s['method']}), "
                 f"target: {s['l_label']}",
                 f"estimate {self.estimate:.4g}; original {conf}% CI {self.original[0]:.4g} to "
                 f"{self.original[1]:.4g}",
                 self.table.to_string(index=False, float_format=lambda v: f"{v:.4g}"),
                 f"breakdown value ({_M_NAME[s['restriction']]}): {self.breakdown:.3g}",
                 self.sentence()]
        return "\n".join(lines)

    def sentence(self) -> str:
        """The plain robustness sentence (see :func:`pceval.sensitivity.robustness_sentence`)."""
        from pceval.sensitivity.sentences import robustness_sentence

        return robustness_sentence(self)

    def plot(self) -> ggplot:
        """HonestDiD's sensitivity plot: the original interval, then the robust interval at each
        ``m``, with the no-effect line."""
        from plotnine import aes, geom_errorbar, geom_hline, ggplot, labs

        from pceval.plots import NHS_COLOURS, theme_nhs

        f = self.to_frame()
        f["kind"] = np.where(f["term"] == "original", "original", "robust")
        f["x"] = pd.Categorical(f["term"], categories=list(f["term"]), ordered=True)
        return (ggplot(f, aes("x", "estimate", ymin="ci_lower", ymax="ci_upper", colour="kind"))
                + geom_hline(yintercept=0, linetype="dashed", colour=NHS_COLOURS["mid_grey"])
                + geom_errorbar(width=0.3, size=1)
                + labs(x=_M_NAME[self.settings["restriction"]], y="confidence set", colour="",
                       title="Sensitivity to violations of parallel trends")
                + theme_nhs())


def event_study_inputs(result: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """``betahat, sigma, event_times, num_pre, num_post`` of an event-study result
    (:func:`pceval.did.event_study` or ``att_gt(...).aggregate("dynamic")``): the estimates
    without the reference period, in event-time order, with their covariance ``vcov``. The
    reference period must be the one just before the first post period, and the event times
    contiguous (as HonestDiD requires)."""
    vcov = getattr(result, "vcov", None)
    table = getattr(result, "table", None)
    if vcov is None or table is None or "event_time" not in table:
        raise InputError("`result` must be an event study: pceval.did.event_study(...) or "
                         "att_gt(...).aggregate('dynamic'), or give `betahat` and `sigma`")
    if getattr(result, "settings", {}).get("base_period") == "varying":
        raise InputError(
            "att_gt with base_period='varying' gives pre-period estimates that are each "
            "relative to the period before, not to one reference period; HonestDiD needs a "
            "common reference: refit att_gt(..., base_period='universal')")
    tab = table.dropna(subset=["std_error"])
    tab = tab[tab["event_time"].isin(vcov.index)].sort_values("event_time")
    et = tab["event_time"].to_numpy(float)
    ref_candidates = sorted(set(table["event_time"].dropna()) - set(et))
    pre, post = et[et < 0], et[et >= 0]
    if len(post) == 0 or len(pre) == 0:
        raise InputError("the event study needs at least one pre-period and one post-period "
                         f"estimate besides the reference period; it has event times {list(et)}")
    ref = -1.0 if not ref_candidates else float(max(r for r in ref_candidates if r < post.min()))
    full = np.r_[pre, ref, post]
    if not np.all(np.diff(full) == 1):
        raise InputError(f"the event times must be contiguous around the reference period {ref:g}"
                         f" (HonestDiD's convention); they are {list(et)}")
    b = tab["estimate"].to_numpy(float)
    V = vcov.loc[et, et].to_numpy(float) if np.issubdtype(vcov.index.dtype, np.number) else \
        vcov.to_numpy(float)
    return b, V, et, int((et < ref).sum()), int((et > ref).sum())


def _l_vector(l_vec: Any, num_post: int) -> tuple[np.ndarray, str]:
    if l_vec is None or (isinstance(l_vec, str) and l_vec == "first"):
        first = np.zeros(num_post)
        first[0] = 1.0
        return first, "the first post period"
    if isinstance(l_vec, str):
        check_choice(l_vec, "l_vec", {"first", "average"})
        return np.full(num_post, 1.0 / num_post), f"the average of the {num_post} post periods"
    w = np.asarray(l_vec, dtype=float).ravel()
    if len(w) != num_post or not np.all(np.isfinite(w)) or not np.any(w != 0):
        raise InputError(f"`l_vec` must have one finite weight per post period ({num_post}), "
                         f"not all 0; got {list(w)}")
    return w, "l' tau_post with l = (" + ", ".join(f"{v:g}" for v in w) + ")"


def honest_did(result_or_betahat: Any, sigma: Any = None, num_pre: int | None = None,
               num_post: int | None = None, *, restriction: str = "relative_magnitude",
               m: Sequence[float] | None = None, l_vec: Any = None, confidence: float = 0.95,
               n_sims: int = 10_000, seed: int = 0, breakdown: bool = True) -> HonestDidResult:
    """Robust confidence sets for an event-study effect under bounded violations of parallel
    trends (Rambachan & Roth 2023); see the module docstring for the sets and methods.

    Parameters
    ----------
    result_or_betahat : an event-study result (``pceval.did.event_study`` or
        ``att_gt(..., base_period="universal").aggregate("dynamic")``), or the vector of
        estimates (pre periods then post periods, reference period left out).
    sigma, num_pre, num_post : with a vector: its covariance and the numbers of pre and post
        estimates.
    restriction : ``"relative_magnitude"`` (``m`` = Mbar, default grid 0, 0.25, ..., 2) or
        ``"smoothness"`` (``m`` = M in outcome units; default grid from 0 to the largest
        second difference of the pre-period estimates, 5 steps).
    l_vec : ``None``/``"first"`` (the first post period, as HonestDiD), ``"average"`` (the mean
        of the post periods), or weights, one per post period.
    n_sims, seed : draws for the least-favourable critical value of the hybrid test.
    breakdown : search for the breakdown value (a bisection: a dozen more confidence sets);
        ``False`` leaves it NaN.

    Example::

        res = honest_did(did.event_study(panel, "y", "person_id", "month", "group"),
                         restriction="relative_magnitude", m=[0.5, 1, 1.5, 2])
        res.breakdown          # the largest Mbar at which the interval excludes 0
    """
    from scipy import stats

    from pceval.sensitivity import _honest_core as core

    check_choice(restriction, "restriction", set(RESTRICTIONS))
    confidence = check_confidence(confidence)
    alpha = 1 - confidence
    n_sims = check_int(n_sims, "n_sims", low=100)
    seed = check_int(seed, "seed", low=0)
    if sigma is None:
        if num_pre is not None or num_post is not None:
            raise InputError("`num_pre`/`num_post` go with a vector of estimates and its `sigma`")
        betahat, sig, event_times, num_pre, num_post = event_study_inputs(result_or_betahat)
    else:
        betahat = np.asarray(result_or_betahat, dtype=float).ravel()
        sig = np.asarray(sigma, dtype=float)
        if num_pre is None or num_post is None:
            raise InputError("with a vector of estimates give `num_pre` and `num_post`")
        num_pre = check_int(num_pre, "num_pre", low=1)
        num_post = check_int(num_post, "num_post", low=1)
        if len(betahat) != num_pre + num_post:
            raise InputError(f"`betahat` has {len(betahat)} estimates but num_pre + num_post = "
                             f"{num_pre + num_post}")
        if sig.shape != (len(betahat), len(betahat)):
            raise InputError(f"`sigma` must be {len(betahat)} x {len(betahat)}, got {sig.shape}")
        event_times = np.r_[np.arange(-num_pre, 0), np.arange(num_post)].astype(float)
    if not (np.all(np.isfinite(betahat)) and np.all(np.isfinite(sig))):
        raise InputError("`betahat` and `sigma` must be finite")
    if not np.allclose(sig, sig.T, atol=1e-12 * max(1.0, np.abs(sig).max())):
        raise InputError("`sigma` must be symmetric")
    if np.linalg.eigvalsh((sig + sig.T) / 2).min() < -1e-10 * np.abs(sig).max():
        raise InputError("`sigma` must be positive semi-definite")
    sig = (sig + sig.T) / 2
    if restriction == "relative_magnitude" and num_pre < 1:  # pragma: no cover - checked above
        raise InputError("relative magnitudes need at least one pre-period estimate")
    lw, l_label = _l_vector(l_vec, num_post)
    post = slice(num_pre, None)
    est = float(lw @ betahat[post])
    se = float(np.sqrt(lw @ sig[post, post] @ lw))
    z = stats.norm.ppf(1 - alpha / 2)
    original = (est - z * se, est + z * se)
    ms = _m_grid(m, restriction, betahat[:num_pre])

    if restriction == "smoothness":
        state = core._Flci(sig, num_pre, num_post, lw)

        def ci(mm: float) -> tuple[float, float]:
            return core.flci(betahat, sig, num_pre, num_post, lw, mm, alpha, _state=state)
        method = "FLCI (optimal fixed-length)"
    else:
        def ci(mm: float) -> tuple[float, float]:
            return core.rm_confidence_set(betahat, sig, num_pre, num_post, lw, mm, alpha,
                                          n_sims=n_sims, seed=seed)
        method = "C-LF hybrid (conditional / least favourable)"
    bounds = np.array([ci(mm) for mm in ms]).reshape(-1, 2)
    table = pd.DataFrame({"m": ms, "ci_lower": bounds[:, 0], "ci_upper": bounds[:, 1]})
    bd = _breakdown(ci, original, table) if breakdown else float("nan")
    settings = {"restriction": restriction, "method": method, "confidence": confidence,
                "l_vec": lw, "l_label": l_label, "num_pre": num_pre, "num_post": num_post,
                "event_times": event_times, "n_sims": n_sims, "seed": seed}
    return HonestDidResult(table=table, estimate=est, std_error=se, original=original,
                           breakdown=bd, settings=settings)


def _m_grid(m: Sequence[float] | None, restriction: str, beta_pre: np.ndarray) -> np.ndarray:
    if m is None:
        if restriction == "relative_magnitude":
            return np.arange(0, 2.01, 0.25)
        full = np.r_[beta_pre, 0.0]
        sd2 = np.abs(np.diff(full, 2)).max() if len(full) >= 3 else np.abs(np.diff(full)).max()
        top = float(sd2) if sd2 > 0 else 1e-3
        return np.linspace(0, top, 6)
    arr = np.atleast_1d(np.asarray(m, dtype=float))
    if arr.size == 0 or not np.all(np.isfinite(arr)) or (arr < 0).any():
        raise InputError(f"`m` must be non-negative numbers, got {list(np.atleast_1d(m))}")
    return np.sort(arr)


def _breakdown(ci: Callable[[float], tuple[float, float]], original: tuple[float, float], table: pd.DataFrame) -> float:
    """Largest ``m`` whose interval excludes 0: bracketed by the grid (or, when every grid value
    excludes 0, by doubling the largest ``m`` up to 2^10 times), then bisection to 0.1% of the
    bracket's upper end."""
    def excludes(lo: float, hi: float) -> bool:
        return bool(np.isfinite(lo) and np.isfinite(hi) and (lo > 0 or hi < 0))

    if not excludes(*original):
        return float("nan")
    ms = table["m"].to_numpy()
    ex = np.array([excludes(lo, hi) for lo, hi in zip(table["ci_lower"], table["ci_upper"],
                                                      strict=True)])
    if ex.all():
        lo_m = float(ms.max())
        hi_m = max(lo_m, 1e-3) * 2
        for _ in range(10):
            if not excludes(*ci(hi_m)):
                break
            lo_m, hi_m = hi_m, hi_m * 2
        else:
            return float("inf")
    else:
        first_bad = int(np.argmin(ex))
        hi_m = float(ms[first_bad])
        lo_m = float(ms[first_bad - 1]) if first_bad > 0 else 0.0
        if first_bad == 0 and not excludes(*ci(0.0)):
            return 0.0
    tol = 1e-3 * hi_m
    while hi_m - lo_m > tol:
        mid = (lo_m + hi_m) / 2
        if excludes(*ci(mid)):
            lo_m = mid
        else:
            hi_m = mid
    return lo_m


def honest_did_equity(event_studies: Mapping[Any, Any], *, contrast: str = "Q1-Q5",
                      population: Mapping[Any, float] | None = None,
                      uptake: Mapping[Any, float] | None = None,
                      outcome_higher_is: str = "worse", sigma: Any = None,
                      restriction: str = "relative_magnitude",
                      m: Sequence[float] | None = None, l_vec: Any = None,
                      confidence: float = 0.95, n_sims: int = 10_000,
                      seed: int = 0, breakdown: bool = True) -> HonestDidResult:
    """HonestDiD for an equity contrast: did the intervention narrow the gap, allowing for
    differences in trends that differ by deprivation?

    ``event_studies`` maps each IMD quintile (1 = most deprived ... 5) to its event study (the
    same event times in each). The contrast is a linear combination of the quintiles' event
    studies, event time by event time, ``beta_c(e) = sum_q w_q beta_q(e)``:

    * ``contrast="Q1-Q5"``: ``w = (1, 0, 0, 0, -1)`` (first minus last level): the difference in
      effects between the most and the least deprived;
    * ``contrast="sii"``: the change in the slope index of inequality of the outcome that the
      effects cause, ``w_q = -sign u_q cb_q`` with ``cb_q`` the weights of the
      population-weighted least-squares slope on the ridit scores (as
      :func:`pceval.inequality.sii`), ``u_q`` the uptake (share treated; default 1: the SII of
      the effects themselves) and ``sign = +1`` when a higher outcome is worse, so that a
      negative change narrows a gap that is worse for the most deprived (the convention of
      :func:`pceval.inequality.equity_of_effect`).

    The covariance is ``W Sigma W'`` with ``Sigma`` the joint covariance of the stacked
    quintile event studies: block-diagonal (quintiles estimated on different people, hence
    independent) unless ``sigma`` gives it (rows and columns quintile by quintile, event times
    within). The restriction then bounds the *differential* violation of parallel trends: how
    much more the trends of the treated and comparison groups diverged in one quintile than in
    another after go-live, relative to before it (Mbar), or how much that difference may bend
    (M). Returns :func:`honest_did`'s result for the contrast; ``settings["contrast"]`` and
    ``settings["weights"]`` say which.
    """
    from pceval.inequality.slope_index import regression_weights, ridits

    check_choice(contrast, "contrast", {"Q1-Q5", "sii"})
    check_choice(outcome_higher_is, "outcome_higher_is", {"worse", "better"})
    if not isinstance(event_studies, Mapping) or len(event_studies) < 2:
        raise InputError("`event_studies` must map each quintile to its event study (at least two)")
    levels = sorted(event_studies)
    parts = [event_study_inputs(event_studies[q]) for q in levels]
    times = parts[0][2]
    for q, p in zip(levels, parts, strict=True):
        if not np.array_equal(p[2], times):
            raise InputError(f"quintile {q!r} has event times {list(p[2])}, quintile "
                             f"{levels[0]!r} has {list(times)}: they must match")
    k = len(levels)
    if contrast == "Q1-Q5":
        w = np.zeros(k)
        w[0], w[-1] = 1.0, -1.0
    else:
        pop = np.array([float((population or {}).get(q, 1.0)) for q in levels])
        if population is not None:
            missing = [q for q in levels if q not in population]
            if missing:
                raise InputError(f"`population` has no value for quintile(s) {missing}")
        if (pop <= 0).any():
            raise InputError("`population` must be positive")
        up = np.array([float((uptake or {}).get(q, 1.0)) for q in levels])
        if uptake is not None and ((up < 0) | (up > 1)).any():
            raise InputError("`uptake` must be shares between 0 and 1")
        share = pop / pop.sum()
        _, cb, _ = regression_weights(share, ridits(share))
        sign = 1.0 if outcome_higher_is == "worse" else -1.0
        w = -sign * up * cb
    B = np.column_stack([p[0] for p in parts])             # event times x quintiles
    beta_c = B @ w
    n_t = len(times)
    W = np.kron(w[None, :], np.eye(n_t))                   # n_t x (k n_t)
    if sigma is None:
        S = np.zeros((k * n_t, k * n_t))
        for i, p in enumerate(parts):
            S[i * n_t:(i + 1) * n_t, i * n_t:(i + 1) * n_t] = p[1]
    else:
        S = np.asarray(sigma, dtype=float)
        if S.shape != (k * n_t, k * n_t):
            raise InputError(f"`sigma` must be {k * n_t} x {k * n_t} (quintiles x event times)")
    sig_c = W @ S @ W.T
    res = honest_did(beta_c, sig_c, parts[0][3], parts[0][4], restriction=restriction, m=m,
                     l_vec=l_vec, confidence=confidence, n_sims=n_sims, seed=seed,
                     breakdown=breakdown)
    label = ("Q1 - Q5 difference in effects" if contrast == "Q1-Q5"
             else "change in the SII (positive = worse for the most deprived)")
    res.settings.update(contrast=label, weights=dict(zip(levels, w, strict=True)),
                        event_times=times)
    return res


__all__ = ["HonestDidResult", "honest_did", "honest_did_equity", "event_study_inputs"]
