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

import numpy as np
import pandas as pd
from scipy import stats

from pceval._checks import check_choice
from pceval._results import ResultProtocol, protocol_frame
from pceval.did import _inference as inf_
from pceval.errors import EstimationError

_LABEL = {"dynamic": "event_time", "group": "group", "calendar": "time"}


@dataclass(frozen=True)
class AggregateResult(ResultProtocol):
    """An aggregation of group-time ATTs.

    ``table``: one row per event time / group / period (empty for ``simple``) with
    ``estimate, std_error, ci_lower, ci_upper, band_lower, band_upper``.
    ``overall``: dict with ``estimate, std_error, statistic, p_value, ci_lower, ci_upper``.
    ``to_frame()`` stacks the overall effect (term ``ATT``, the headline) above the rows.
    """

    type: str
    table: pd.DataFrame
    overall: dict
    settings: dict
    influence: np.ndarray = field(repr=False)

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
        o = self.overall
        lines = [
            f"Aggregated ATT ({self.type}): {o['estimate']:.4f} (SE {o['std_error']:.4f}; "
            f"{int(self.settings['confidence'] * 100)}% CI {o['ci_lower']:.4f} to {o['ci_upper']:.4f})",
            f"standard errors: {self.settings['se_label']}",
        ]
        if self.type != "simple":
            lines.append(self.table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        return "\n".join(lines)

    def plot(self):
        """Event-study (or by group / period) plot with pointwise CIs and the uniform band."""
        from pceval.did.plots import plot_aggregate

        return plot_aggregate(self)


def _weights_if(keep: np.ndarray, pg: np.ndarray, att: np.ndarray, cell_group: np.ndarray,
                unit_group: np.ndarray, unit_w: np.ndarray) -> np.ndarray:
    """Influence of estimating the weights ``p_g / sum p_g`` on ``sum_k p_k att_k / sum p_k``.

    For cells ``k`` in ``keep``: ``[sum_k att_k (w_i 1{G_i=g_k} - p_k)] / S
    - [sum_k (w_i 1{G_i=g_k} - p_k)] (sum_k p_k att_k) / S^2``, ``S = sum_k p_k``.
    Computed per unit without an ``n x k`` matrix.
    """
    pk, ak, gk = pg[keep], att[keep], cell_group[keep]
    S = pk.sum()
    groups = np.unique(unit_group)
    gi = np.searchsorted(groups, unit_group)
    gk_i = np.searchsorted(groups, gk)
    a_by_g = np.bincount(gk_i, weights=ak, minlength=len(groups))
    c_by_g = np.bincount(gk_i, minlength=len(groups))
    a_i = unit_w * a_by_g[gi]
    c_i = unit_w * c_by_g[gi]
    spa = float(pk @ ak)
    return (a_i - spa) / S - (c_i - S) * spa / S**2


def aggregate(res, type: str = "simple", *, min_e: float = -np.inf, max_e: float = np.inf,
              balance_e: int | None = None, n_boot: int | None = None,
              seed: int | None = None) -> AggregateResult:
    """Aggregate an :class:`~pceval.did.staggered.AttGtResult` (R ``did``'s ``aggte``).

    ``min_e``/``max_e`` limit the event times (``dynamic``; ``max_e`` also limits the cells
    used by ``simple`` and ``group``); ``balance_e`` fixes the groups (see module docstring).
    ``n_boot``/``seed`` default to those of the ``att_gt`` call (for the uniform band).
    """
    check_choice(type, "type", {"simple", "dynamic", "group", "calendar"})
    tab = res.table
    n = res.n_units
    att = tab["estimate"].to_numpy(float)
    g = tab["group"].to_numpy(float)
    t = tab["time"].to_numpy(float)
    IF = res.influence
    unit_group, unit_w = res.unit_group, res.unit_weights
    groups = np.unique(g)
    pg_group = np.array([np.mean(unit_w * (unit_group == gg)) for gg in groups])
    pg = pg_group[np.searchsorted(groups, g)]
    conf = res.settings["confidence"]
    z = stats.norm.ppf(0.5 + conf / 2)
    n_boot = res.settings["n_boot"] if n_boot is None else n_boot
    seed = res.settings["seed"] if seed is None else seed

    def combine(keep: np.ndarray, weights: np.ndarray, with_wif: bool) -> tuple[float, np.ndarray]:
        est = float(weights @ att[keep])
        psi = np.asarray(IF[:, keep] @ weights).ravel()
        if with_wif:
            psi = psi + _weights_if(keep, pg, att, g, unit_group, unit_w)
        return est, psi

    labels: list[float] = []
    ests: list[float] = []
    psis: list[np.ndarray] = []
    if type == "simple":
        keep = np.flatnonzero((g <= t) & (t <= g + max_e))
        if len(keep) == 0:
            raise EstimationError("no post-treatment group-time cells to aggregate")
        est_o, psi_o = combine(keep, pg[keep] / pg[keep].sum(), True)
    elif type == "group":
        for gg in groups:
            keep = np.flatnonzero((g == gg) & (gg <= t) & (t <= g + max_e))
            if len(keep) == 0:
                continue
            e, p = combine(keep, np.full(len(keep), 1.0 / len(keep)), False)
            labels.append(gg)
            ests.append(e)
            psis.append(p)
        if not ests:
            raise EstimationError("no post-treatment group-time cells to aggregate")
        lab = np.array(labels)
        pgg = pg_group[np.searchsorted(groups, lab)]
        est_arr = np.array(ests)
        est_o = float(pgg @ est_arr / pgg.sum())
        psi_o = np.column_stack(psis) @ (pgg / pgg.sum())
        # weight-estimation term over the groups (each group one "cell")
        psi_o = psi_o + _weights_if(np.arange(len(lab)), pgg, est_arr, lab, unit_group, unit_w)
    elif type == "dynamic":
        e_all = t - g
        include = np.ones(len(att), bool)
        eseq = np.unique(e_all)
        if balance_e is not None:
            tmax, tmin = float(np.max(res.settings["times"])), float(np.min(res.settings["times"]))
            include = (tmax - g) >= balance_e
            eseq = np.unique(e_all[include])
            eseq = eseq[(eseq <= balance_e) & (eseq >= balance_e - tmax + tmin)]
        eseq = eseq[(eseq >= min_e) & (eseq <= max_e)]
        for e in eseq:
            keep = np.flatnonzero((e_all == e) & include)
            w = pg[keep] / pg[keep].sum()
            est, psi = combine(keep, w, True)
            labels.append(e)
            ests.append(est)
            psis.append(psi)
        if not ests:
            raise EstimationError("no event times left to aggregate (check min_e / max_e / balance_e)")
        lab = np.array(labels)
        pos = lab >= 0
        if not pos.any():
            raise EstimationError("no post-treatment event times to average")
        est_o = float(np.mean(np.array(ests)[pos]))
        psi_o = np.column_stack(psis)[:, pos].mean(axis=1)
    else:  # calendar
        for tt in np.unique(t[t >= g.min()]):
            keep = np.flatnonzero((t == tt) & (g <= t))
            if len(keep) == 0:
                continue
            est, psi = combine(keep, pg[keep] / pg[keep].sum(), True)
            labels.append(tt)
            ests.append(est)
            psis.append(psi)
        if not ests:
            raise EstimationError("no post-treatment group-time cells to aggregate")
        est_o = float(np.mean(ests))
        psi_o = np.column_stack(psis).mean(axis=1)

    se_o = float(inf_.analytic_se(psi_o[:, None], n, res.clusters)[0])
    overall = {"estimate": est_o, "std_error": se_o, "statistic": est_o / se_o,
               "p_value": float(2 * stats.norm.sf(abs(est_o / se_o))),
               "ci_lower": est_o - z * se_o, "ci_upper": est_o + z * se_o}
    table = pd.DataFrame()
    infl = psi_o[:, None]
    if type != "simple":
        infl = np.column_stack(psis)
        se = inf_.analytic_se(infl, n, res.clusters)
        est = np.array(ests)
        crit = float("nan")
        if n_boot:
            _, crit = inf_.multiplier_bootstrap(infl, n, n_boot=n_boot, seed=seed,
                                                clusters=res.clusters, alpha=1 - conf)
        table = pd.DataFrame({
            _LABEL[type]: np.array(labels), "estimate": est, "std_error": se,
            "ci_lower": est - z * se, "ci_upper": est + z * se,
            "band_lower": est - crit * se, "band_upper": est + crit * se,
        })
        if type == "dynamic":
            table["event_time"] = table["event_time"].astype(int) if np.all(
                np.mod(table["event_time"], 1) == 0) else table["event_time"]
    settings = dict(res.settings, min_e=min_e, max_e=max_e, balance_e=balance_e)
    return AggregateResult(type=type, table=table, overall=overall, settings=settings,
                           influence=infl)
