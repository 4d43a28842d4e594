"""Summaries of group-time ATTs: overall, by event time, by group and by calendar period.

With ``p_g = mean_i(w_i 1{G_i = g})`` the share of units in group ``g`` (R ``did``'s weights):

* ``simple``: ``sum_{t >= g} p_g ATT(g,t) / sum_{t >= g} p_g`` over post-treatment cells;
* ``dynamic`` (event study): ``theta(e) = sum_g p_g ATT(g, g+e) / sum_g p_g`` over the groups
  observed ``e`` periods after treatment; the overall effect is the mean of ``theta(e)`` for
  ``e >= 0``. ``balance_e`` keeps only groups observed for at least ``balance_e`` periods after
  treatment, so the composition does not change with ``e``;
* ``group``: ``theta(g)`` = mean of the post-treatment ``ATT(g,t)``; overall
  ``sum_g p_g theta(g) / sum_g p_g``;
* ``calendar``: ``theta(t) = sum_{g <= t} p_g ATT(g,t) / sum p_g``; overall is their mean.

Influence functions combine the cells' and add the estimation of the weights ``p_g``
(Callaway & Sant'Anna 2021, appendix), so analytic and bootstrap inference carry to the
summaries. Results equal R ``did``'s ``aggte`` (tests: ``tests/test_did_attgt.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pceval._checks import check_choice
from pceval._distributions import stats
from pceval._results import ResultProtocol, protocol_frame
from pceval.did import _inference as inf_
from pceval.errors import EstimationError

if TYPE_CHECKING:
    from plotnine import ggplot

_LABEL = {"dynamic": "event_time", "group": "group", "calendar": "time"}


@dataclass(frozen=True)
class AggregateResult(ResultProtocol):
    """An aggregation of group-time ATTs.

    ``table``: one row per event time / group / period (empty for ``simple``) with
    ``estimate, std_error, ci_lower, ci_upper, band_lower, band_upper``.
    ``overall``: dict with ``estimate, std_error, statistic, p_value, ci_lower, ci_upper``.
    ``to_frame()`` stacks the overall effect (term ``ATT``, the headline) above the rows.
    ``vcov``: the covariance matrix of the rows' estimates (index and columns: the event times,
    groups or periods), from their influence functions, clustered as the standard errors
    (:func:`pceval.did._inference.covariance`); its diagonal is ``std_error**2``. A reference
    period (universal base) has no row or column. HonestDiD-style sensitivity analysis
    (:func:`pceval.sensitivity.honest_did`) needs it. ``None`` for ``simple``.
    """

    type: str
    table: pd.DataFrame
    overall: dict
    settings: dict
    influence: np.ndarray = field(repr=False)
    vcov: pd.DataFrame | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """Protocol columns, then the label column (``event_time``, ``group`` or ``time``;
        missing on the overall row), ``band_lower, band_upper, aggregation, method, se_type,
        confidence``. Row 0 is the overall effect; then one row per label (none for simple)."""
        s = self.settings
        overall = pd.DataFrame([{"term": "ATT", **self.overall}])
        rows = self.table.copy()
        if len(rows):
            key = _LABEL[self.type]
            rows.insert(0, "term", [f"{key}={v:g}" for v in rows[key]])
        out = pd.concat([overall, rows], ignore_index=True) if len(rows) else overall
        design = {"measure": "difference in mean outcome", "aggregation": self.type,
                  "method": f"Callaway & Sant'Anna att_gt ({s['method']})",
                  "se_type": s["se_label"], "confidence": s["confidence"]}
        return protocol_frame(out, confidence=s["confidence"], design=design)

    def summary(self) -> str:
        """Readable text: the overall ATT with its interval, then one line per event time, group or period."""
        o = self.overall
        lines = [
            f"Aggregated ATT ({self.type}): {o['estimate']:.4f} (SE {o['std_error']:.4f}; "
            f"{int(self.settings['confidence'] * 100)}% CI {o['ci_lower']:.4f} to {o['ci_upper']:.4f})",
            f"standard errors: {self.settings['se_label']}",
        ]
        if self.type != "simple":
            lines.append(self.table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        return "\n".join(lines)

    def plot(self) -> ggplot:
        """Event-study (or by group / period) plot with pointwise CIs and the uniform band."""
        from pceval.did.plots import plot_aggregate

        return plot_aggregate(self)


def _weights_f(pk: np.ndarray, ak: np.ndarray, gk: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Influence of estimating the weights ``p_k / sum p_k`` on ``sum_k p_k att_k / sum p_k``
    (cells ``k`` with shares ``pk``, estimates ``ak`` and groups ``gk``), per unit of each
    group in ``groups``.

    The influence is ``[sum_k att_k (w_i 1{G_i=g_k} - p_k)] / S
    - [sum_k (w_i 1{G_i=g_k} - p_k)] (sum_k p_k att_k) / S^2``, ``S = sum_k p_k``; the terms in
    ``p_k`` cancel, leaving ``w_i f(G_i)`` with ``f(g) = A_g / S - C_g (sum_k p_k att_k) / S^2``,
    ``A_g`` the sum of ``att_k`` and ``C_g`` the number of cells over the cells of group ``g``.
    Returns ``f`` over ``groups`` (0 for a group without cells)."""
    S = pk.sum()
    idx = np.searchsorted(groups, gk)
    a_by_g = np.bincount(idx, weights=ak, minlength=len(groups))
    c_by_g = np.bincount(idx, minlength=len(groups))
    return a_by_g / S - c_by_g * float(pk @ ak) / S**2


@dataclass(frozen=True)
class _Cells:
    """The specification of an aggregation: the cells' estimates, groups and periods, their
    influence functions and the group shares ``p_g`` (``pg_group`` per group in ``groups``,
    ``pg`` per cell); ``unit_code``: each unit's position in ``groups`` (-1 for a unit in no
    cell's group, e.g. never treated)."""

    att: np.ndarray
    g: np.ndarray
    t: np.ndarray
    influence: Any
    unit_group: np.ndarray
    unit_w: np.ndarray
    groups: np.ndarray
    pg_group: np.ndarray
    pg: np.ndarray
    unit_code: np.ndarray

    def weights_psi(self, f: np.ndarray) -> np.ndarray:
        """``w_i f(G_i)`` per unit (0 for a unit in no cell's group)."""
        return np.where(self.unit_code >= 0, self.unit_w * f[np.maximum(self.unit_code, 0)], 0.0)

    def combine(self, keep: np.ndarray, weights: np.ndarray,
                with_wif: bool) -> tuple[float, np.ndarray, np.ndarray]:
        """``sum_k weights_k ATT_k`` over the cells ``keep``, its influence function (with the
        estimation of the weights when ``with_wif``) and the coefficients that give that
        influence function from the cells' and the columns ``w_i 1{G_i = g}`` (``g`` in
        ``groups``): a vector of ``cells + groups``."""
        est = float(weights @ self.att[keep])
        psi = np.asarray(self.influence[:, keep] @ weights).ravel()
        coef = np.zeros(len(self.att) + len(self.groups))
        coef[keep] = weights
        if with_wif:
            f = _weights_f(self.pg[keep], self.att[keep], self.g[keep], self.groups)
            psi = psi + self.weights_psi(f)
            coef[len(self.att):] = f
        return est, psi, coef


@dataclass
class _Summary:
    """The fit of an aggregation: one estimate and influence function per label (none for
    ``simple``) and the overall effect's; ``coefs``: each label's influence function as a
    linear map of the cells' and the group-share columns (see :meth:`_Cells.combine`)."""

    labels: list = field(default_factory=list)
    ests: list = field(default_factory=list)
    psis: list = field(default_factory=list)
    coefs: list = field(default_factory=list)
    est_o: float = float("nan")
    psi_o: np.ndarray | None = None

    def add(self, label: float, est: float, psi: np.ndarray, coef: np.ndarray) -> None:
        self.labels.append(label)
        self.ests.append(est)
        self.psis.append(psi)
        self.coefs.append(coef)


def aggregate(res: Any, type: str = "simple", *, min_e: float = -np.inf, max_e: float = np.inf,
              balance_e: int | None = None, n_boot: int | None = None,
              seed: int | None = None) -> AggregateResult:
    """Aggregate an :class:`~pceval.did.staggered.AttGtResult` (R ``did``'s ``aggte``).

    ``min_e``/``max_e`` limit the event times (``dynamic``; ``max_e`` also limits the cells
    used by ``simple`` and ``group``); ``balance_e`` fixes the groups (see module docstring).
    ``n_boot``/``seed`` default to those of the ``att_gt`` call (for the uniform band).
    """
    check_choice(type, "type", {"simple", "dynamic", "group", "calendar"})
    cells = _cells_of(res)
    if type == "simple":
        summary = _simple(cells, max_e)
    elif type == "group":
        summary = _by_group(cells, max_e)
    elif type == "dynamic":
        summary = _dynamic(cells, res.settings["times"], min_e, max_e, balance_e)
    else:
        summary = _calendar(cells)
    n_boot = res.settings["n_boot"] if n_boot is None else n_boot
    seed = res.settings["seed"] if seed is None else seed
    return _result(res, type, summary, n_boot, seed, min_e, max_e, balance_e)


def _cells_of(res: Any) -> _Cells:
    """Specification: the cells of an ``att_gt`` result and the group shares
    ``p_g = mean_i(w_i 1{G_i = g})``."""
    tab = res.table
    g = tab["group"].to_numpy(float)
    unit_group, unit_w = res.unit_group, res.unit_weights
    groups = np.unique(g)
    shares = res._cache.get("group_shares")  # computed in the engine (did._in_engine_attgt)
    pg_group = (np.array([shares[float(gg)] for gg in groups]) if shares is not None else
                np.array([np.mean(unit_w * (unit_group == gg)) for gg in groups]))
    code = np.searchsorted(groups, unit_group)
    inside = code < len(groups)
    inside[inside] = groups[code[inside]] == unit_group[inside]
    return _Cells(att=tab["estimate"].to_numpy(float), g=g, t=tab["time"].to_numpy(float),
                  influence=res.influence, unit_group=unit_group, unit_w=unit_w, groups=groups,
                  pg_group=pg_group, pg=pg_group[np.searchsorted(groups, g)],
                  unit_code=np.where(inside, code, -1))


def _simple(c: _Cells, max_e: float) -> _Summary:
    """Fit ``simple``: the ``p_g``-weighted mean of the post-treatment cells."""
    keep = np.flatnonzero((c.g <= c.t) & (c.t <= c.g + max_e))
    if len(keep) == 0:
        raise EstimationError("no post-treatment group-time cells to aggregate")
    out = _Summary()
    out.est_o, out.psi_o, _ = c.combine(keep, c.pg[keep] / c.pg[keep].sum(), True)
    return out


def _by_group(c: _Cells, max_e: float) -> _Summary:
    """Fit ``group``: each group's mean post-treatment ATT; overall their ``p_g``-weighted
    mean, with the estimation of the weights (each group one "cell")."""
    out = _Summary()
    for gg in c.groups:
        keep = np.flatnonzero((c.g == gg) & (gg <= c.t) & (c.t <= c.g + max_e))
        if len(keep) == 0:
            continue
        out.add(gg, *c.combine(keep, np.full(len(keep), 1.0 / len(keep)), False))
    if not out.ests:
        raise EstimationError("no post-treatment group-time cells to aggregate")
    lab = np.array(out.labels)
    pgg = c.pg_group[np.searchsorted(c.groups, lab)]
    est_arr = np.array(out.ests)
    out.est_o = float(pgg @ est_arr / pgg.sum())
    psi_o = np.column_stack(out.psis) @ (pgg / pgg.sum())
    # weight-estimation term over the groups (each group one "cell")
    out.psi_o = psi_o + c.weights_psi(_weights_f(pgg, est_arr, lab, c.groups))
    return out


def _dynamic(c: _Cells, times: np.ndarray, min_e: float, max_e: float,
             balance_e: int | None) -> _Summary:
    """Fit ``dynamic``: ``theta(e)`` for each event time (the groups fixed by ``balance_e``);
    overall the mean of ``theta(e)`` for ``e >= 0``."""
    e_all = c.t - c.g
    include = np.ones(len(c.att), bool)
    eseq = np.unique(e_all)
    if balance_e is not None:
        tmax, tmin = float(np.max(times)), float(np.min(times))
        include = (tmax - c.g) >= balance_e
        eseq = np.unique(e_all[include])
        eseq = eseq[(eseq <= balance_e) & (eseq >= balance_e - tmax + tmin)]
    eseq = eseq[(eseq >= min_e) & (eseq <= max_e)]
    out = _Summary()
    for e in eseq:
        keep = np.flatnonzero((e_all == e) & include)
        out.add(e, *c.combine(keep, c.pg[keep] / c.pg[keep].sum(), True))
    if not out.ests:
        raise EstimationError("no event times left to aggregate (check min_e / max_e / balance_e)")
    pos = np.array(out.labels) >= 0
    if not pos.any():
        raise EstimationError("no post-treatment event times to average")
    out.est_o = float(np.mean(np.array(out.ests)[pos]))
    out.psi_o = np.column_stack(out.psis)[:, pos].mean(axis=1)
    return out


def _calendar(c: _Cells) -> _Summary:
    """Fit ``calendar``: ``theta(t)`` for each period with a treated group; overall their mean."""
    out = _Summary()
    for tt in np.unique(c.t[c.t >= c.g.min()]):
        keep = np.flatnonzero((c.t == tt) & (c.g <= c.t))
        if len(keep) == 0:
            continue
        out.add(tt, *c.combine(keep, c.pg[keep] / c.pg[keep].sum(), True))
    if not out.ests:
        raise EstimationError("no post-treatment group-time cells to aggregate")
    out.est_o = float(np.mean(out.ests))
    out.psi_o = np.column_stack(out.psis).mean(axis=1)
    return out


def _cell_draws(res: Any, n_boot: int, seed: int) -> np.ndarray:
    """The multiplier-bootstrap draws of the cells and of the group-share columns
    ``w_i 1{G_i = g}`` (``n_boot x (cells + groups)``): those the ``att_gt`` call kept (same
    seed and ``n_boot``), else drawn now with the same multipliers and kept on the result. An
    aggregation's draws are a linear map of these (:func:`pceval.did._inference.bootstrap_draws`),
    so its band needs no second pass over the units."""
    groups = np.unique(res.table["group"].to_numpy(float))
    slot = ("mammen", seed, n_boot, inf_.bootstrap_rows(res.influence, res.clusters))
    kept = res._cache.get(slot)
    if kept is None or kept["draws"].shape[1] != res.influence.shape[1] + len(groups):
        shares = inf_.indicator_columns(res.unit_group, res.unit_weights, groups)
        draws = inf_.bootstrap_draws(res.influence, res.n_units, n_boot=n_boot, seed=seed,
                                     clusters=res.clusters, keys=res._bootstrap_keys(),
                                     extra=shares)
        kept = res._cache[slot] = {"draws": draws}
    return kept["draws"]


def _result(res: Any, type: str, s: _Summary, n_boot: int, seed: int, min_e: float, max_e: float,
            balance_e: int | None) -> AggregateResult:
    """Result: analytic SEs and intervals of the overall effect and of each label, and the
    uniform band over the labels (multiplier bootstrap)."""
    n = res.n_units
    conf = res.settings["confidence"]
    z = stats.norm.ppf(0.5 + conf / 2)
    est_o, psi_o = s.est_o, s.psi_o
    assert psi_o is not None, "the summary has the overall influence function"
    se_o = float(inf_.analytic_se(psi_o[:, None], n, res.clusters)[0])
    overall = {"estimate": est_o, "std_error": se_o, "statistic": est_o / se_o,
               "p_value": float(2 * stats.norm.sf(abs(est_o / se_o))),
               "ci_lower": est_o - z * se_o, "ci_upper": est_o + z * se_o}
    table = pd.DataFrame()
    infl = psi_o[:, None]
    if type != "simple":
        infl = np.column_stack(s.psis)
        se = inf_.analytic_se(infl, n, res.clusters)
        est = np.array(s.ests)
        crit = float("nan")
        if n_boot:
            draws = _cell_draws(res, n_boot, seed) @ np.column_stack(s.coefs)
            _, crit = inf_.band(draws, alpha=1 - conf)
        table = pd.DataFrame({
            _LABEL[type]: np.array(s.labels), "estimate": est, "std_error": se,
            "ci_lower": est - z * se, "ci_upper": est + z * se,
            "band_lower": est - crit * se, "band_upper": est + crit * se,
        })
        if type == "dynamic":
            table["event_time"] = table["event_time"].astype(int) if np.all(
                np.mod(table["event_time"], 1) == 0) else table["event_time"]
    settings = dict(res.settings, min_e=min_e, max_e=max_e, balance_e=balance_e)
    vcov = None
    if type != "simple":
        labels = table[_LABEL[type]].to_numpy()
        V = inf_.covariance(infl, n, res.clusters)
        has = np.isfinite(table["std_error"].to_numpy(float))  # no reference-period row/column
        vcov = pd.DataFrame(V[np.ix_(has, has)], index=labels[has], columns=labels[has])
        vcov.index.name = vcov.columns.name = _LABEL[type]
    return AggregateResult(type=type, table=table, overall=overall, settings=settings,
                           influence=infl, vcov=vcov)
