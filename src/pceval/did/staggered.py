"""Group-time average treatment effects for staggered adoption (Callaway & Sant'Anna, 2021).

``ATT(g, t)`` is the average effect in period ``t`` for the units first treated in period ``g``.
Each is a two-period DiD between the units of group ``g`` and a comparison group (never
treated, or not yet treated by ``max(t, base) + anticipation``), from the base period
``base`` to ``t``:

* ``base_period="varying"``: before treatment the base is the previous period (a placebo
  chain); from ``g - anticipation`` on it is the last period before ``g - anticipation``;
* ``base_period="universal"``: always the last period before ``g - anticipation`` (that
  cell is reported as 0 with no standard error).

Each two-period DiD uses the doubly robust estimator of Sant'Anna & Zhao (2020), the outcome
regression or the normalised IPW estimator (``method="dr" | "reg" | "ipw"``; see
:mod:`pceval.did._drdid`). The influence function of cell ``(g, t)`` over all ``n`` units is
``(n / n_gt) psi`` on the cell's ``n_gt`` units and 0 elsewhere, which gives the analytic SE
``sqrt(sum_i psi_i^2) / n`` and lets :meth:`AttGtResult.aggregate` propagate uncertainty to any
weighted average of cells, including the estimation of the weights themselves.

The results match R ``did`` 2.5 (``att_gt``/``aggte`` with ``bstrap = FALSE``) on its ``mpdta``
data to 1e-6 for estimates and 1e-4 for standard errors (see ``tests/test_did_attgt.py``).

Unbalanced panels: ``unbalanced="balance"`` (default) keeps units observed in every period, as
R ``did`` does for panels by default; ``"pairwise"`` uses, for each cell, the units observed in
both of its periods (reported in ``n_treated`` / ``n_comparison``). Both are panel estimators:
they difference out each unit's own level, so they stay unbiased when who is missing depends on
a unit's level; see ``docs/did.md`` for when each is right.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from pceval._checks import check_choice, check_confidence, check_int
from pceval._distributions import stats
from pceval._results import ResultProtocol, plain_floats, protocol_frame
from pceval.did import _in_engine, _in_engine_attgt
from pceval.did import _inference as inf_
from pceval.did._drdid import CellDesign
from pceval.did._prepare import WidePanel, prepare_panel
from pceval.errors import EstimationError, InputError

if TYPE_CHECKING:
    from plotnine import ggplot

    from pceval.did.aggregation import AggregateResult


@dataclass(frozen=True)
class AttGtResult(ResultProtocol):
    """Group-time ATTs with their influence functions.

    Attributes
    ----------
    table : one row per cell: ``group, time, base_period, event_time, post, estimate,
        std_error, ci_lower, ci_upper, band_lower, band_upper, n_treated, n_comparison``.
    pretest : Wald test that every pre-treatment ATT(g,t) is 0: ``statistic, df, p_value``.
    exclusions : units or rows dropped before estimation, by reason.
    influence : ``n_units x cells``; row ``i`` is unit ``unit_ids[i]`` (units in the canonical
        order of :mod:`pceval.did._prepare`).
    clusters, cluster_ids : each unit's cluster code and the cluster id of each code (None
        without clustering).
    """

    table: pd.DataFrame
    influence: sp.csc_matrix = field(repr=False)
    unit_group: np.ndarray = field(repr=False)
    unit_weights: np.ndarray = field(repr=False)
    clusters: np.ndarray | None = field(repr=False)
    n_units: int
    settings: dict
    exclusions: dict
    critical_value: float
    unit_ids: np.ndarray | None = field(default=None, repr=False)
    cluster_ids: np.ndarray | None = field(default=None, repr=False)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def _bootstrap_keys(self) -> np.ndarray:
        """The 64-bit keys of the bootstrap rows (:func:`pceval.did._inference.id_keys`): of the
        clusters when SEs are clustered, else of the units. Computed once."""
        if "keys" not in self._cache:
            ids = self.cluster_ids if self.clusters is not None else self.unit_ids
            self._cache["keys"] = inf_.id_keys(ids)
        return self._cache["keys"]

    @cached_property
    def pretest(self) -> dict:
        """Wald test that every pre-treatment ATT(g,t) is zero (R did's pre-test of parallel
        trends): ``statistic``, ``df``, ``p_value``. Computed on first use."""
        tab = self.table
        pre = (~tab["post"].to_numpy()) & np.isfinite(tab["std_error"].to_numpy())
        cov = inf_.covariance(self.influence[:, np.flatnonzero(pre)], self.n_units, self.clusters)
        stat, df, p = inf_.wald_test(tab["estimate"].to_numpy()[pre], cov)
        return plain_floats({"statistic": stat, "df": df, "p_value": p})

    def to_frame(self) -> pd.DataFrame:
        """Protocol columns (term ``ATT(g,t)``), then ``group, time, base_period, event_time,
        post, band_lower, band_upper, n_treated, n_comparison, measure, method, se_type,
        confidence``: one row per group-time cell."""
        s = self.settings
        tab = self.table.copy()
        tab.insert(0, "term", [f"ATT({g:g},{t:g})" for g, t in zip(tab["group"], tab["time"],
                                                                    strict=True)])
        design = {"measure": "difference in mean outcome",
                  "method": f"Callaway & Sant'Anna att_gt ({s['method']})",
                  "se_type": s["se_label"], "confidence": s["confidence"]}
        return protocol_frame(tab, confidence=s["confidence"], design=design)

    @property
    def headline(self) -> pd.Series:
        """The overall effect: the ``simple`` aggregation's row (R did's ``aggte(type="simple")``)."""
        return self.aggregate("simple").headline

    def summary(self) -> str:
        """A readable summary of the settings, the cells and the pre-trend test."""
        s = self.settings
        lines = [
            f"Group-time average treatment effects (Callaway & Sant'Anna 2021), method={s['method']}",
            f"comparison: {s['control_group'].replace('_', ' ')}; base period: {s['base_period']}; "
            f"anticipation: {s['anticipation']}; {self.n_units:,} units",
            f"standard errors: {s['se_label']}; {int(s['confidence'] * 100)}% intervals",
        ]
        cols = ["group", "time", "estimate", "std_error", "ci_lower", "ci_upper"]
        lines.append(self.table[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        p = self.pretest
        if p["df"]:
            lines.append(
                f"pre-trend test (all pre-treatment ATT(g,t) = 0): chi2({p['df']}) = "
                f"{p['statistic']:.3f}, p = {p['p_value']:.4f}"
            )
        for k, v in self.exclusions.items():
            lines.append(f"excluded: {k}: {v:,}")
        return "\n".join(lines)

    def aggregate(
        self, type: str = "simple", *, min_e: float = -np.inf, max_e: float = np.inf,
        balance_e: int | None = None, n_boot: int | None = None, seed: int | None = None,
    ) -> AggregateResult:
        """Summarise the cells: ``"simple"``, ``"dynamic"`` (event study), ``"group"``, ``"calendar"``.

        See :func:`pceval.did.aggregation.aggregate`.
        """
        from pceval.did.aggregation import aggregate

        return aggregate(self, type, min_e=min_e, max_e=max_e, balance_e=balance_e,
                         n_boot=n_boot, seed=seed)

    def plot(self) -> ggplot:
        """ATT(g,t) by period, one panel per group, with pointwise and uniform intervals."""
        from pceval.did.plots import plot_att_gt

        return plot_att_gt(self)


def _cells(panel: WidePanel, control_group: str, base_period: str,
           anticipation: int) -> Iterator[tuple[Any, int, int, Any]]:
    """Yield ``(g, j, base, threshold)`` for each group-time cell (indices into ``times``)."""
    times = panel.times
    glist = np.unique(panel.group[panel.group != 0])
    start = 1 if base_period == "varying" else 0
    base: int | None
    for g in glist:
        pre_idx = np.flatnonzero(times + anticipation < g)
        last_pre = int(pre_idx[-1]) if len(pre_idx) else None
        for j in range(start, len(times)):
            if base_period == "varying" and g > times[j] + anticipation:
                base = j - 1
            else:
                base = last_pre
            if base is None:
                continue
            thr = None
            if control_group == "not_yet_treated":
                thr = times[max(j, base)] + anticipation
            yield g, j, base, thr


def att_gt(
    data: Any,
    outcome: str,
    unit: str,
    time: str,
    group: str,
    covariates: Sequence[str] | None = None,
    control_group: str = "never_treated",
    method: str = "dr",
    anticipation: int = 0,
    base_period: str = "varying",
    cluster: str | None = None,
    weights: str | None = None,
    unbalanced: str = "balance",
    n_boot: int = 999,
    confidence: float = 0.95,
    seed: int = 2019,
) -> AttGtResult:
    """Callaway & Sant'Anna (2021) group-time average treatment effects.

    Parameters
    ----------
    data : long panel (pandas, polars, DuckDB or Spark), one row per unit and period. A lazy table
        (DuckDB relation, Spark DataFrame, polars LazyFrame) is estimated inside its engine from sums
        by group x discrete covariates, with the same result (docs/national_scale.md).
    outcome, unit, time : column names; ``time`` holds numeric periods (e.g. year or month index).
    group : first treated period of each unit, 0 for never treated (constant within unit).
    covariates : baseline (time-invariant) covariates for the propensity score and the outcome
        regression.
    control_group : ``"never_treated"`` or ``"not_yet_treated"``.
    method : ``"dr"`` (doubly robust, default), ``"reg"`` (outcome regression) or ``"ipw"``.
    anticipation : periods before ``g`` in which units may already respond.
    base_period : ``"varying"`` (default, as R ``did``) or ``"universal"``.
    cluster : column to cluster standard errors on (e.g. PCN); units must nest in clusters.
        Without it, SEs are robust at the unit level (units are independent).
    weights : unit sampling weights (constant within unit).
    unbalanced : ``"balance"`` (drop units missing any period; counted; R ``did``'s default),
        ``"pairwise"`` (each cell uses the units observed in both its periods),
        ``"repeated_cross_section"`` (R ``did``'s ``allow_unbalanced_panel = TRUE``: each cell's
        rows read as repeated cross-sections, influence functions summed within unit; equals
        csdid) or ``"error"``.
    n_boot : multiplier-bootstrap draws for the uniform (simultaneous) band; 0 to skip.
        Standard errors are always the analytic influence-function ones.
    confidence : level of the pointwise intervals and the uniform band.
    seed : seeds the bootstrap.

    Returns
    -------
    AttGtResult

    Example
    -------
    >>> res = att_gt(mpdta, outcome="lemp", unit="countyreal", time="year",
    ...              group="first.treat", control_group="not_yet_treated")  # doctest: +SKIP
    >>> res.aggregate("dynamic").to_frame()                                  # doctest: +SKIP

    References: Callaway & Sant'Anna (2021), J. Econometrics 225(2):200-230; Sant'Anna & Zhao
    (2020), J. Econometrics 219(1):101-122; R package ``did``.
    """
    check_choice(control_group, "control_group", {"never_treated", "not_yet_treated"})
    check_choice(method, "method", {"dr", "reg", "ipw"})
    check_choice(base_period, "base_period", {"varying", "universal"})
    check_choice(unbalanced, "unbalanced", {"balance", "pairwise", "repeated_cross_section", "error"})
    anticipation = check_int(anticipation, "anticipation", low=0)
    n_boot = check_int(n_boot, "n_boot", low=0)
    confidence = check_confidence(confidence)
    seed = check_int(seed, "seed")
    if _in_engine.runs_in_engine(data) and _in_engine_attgt.in_engine_or_warn(data, unbalanced):
        fields = _in_engine_attgt.att_gt_fields(  # sums by stratum in the engine; no collect
            data, outcome=outcome, unit=unit, time=time, group=group, covariates=covariates,
            control_group=control_group, method=method, anticipation=anticipation,
            base_period=base_period, cluster=cluster, weights=weights, n_boot=n_boot,
            confidence=confidence, seed=seed, unbalanced=unbalanced)
        if cluster is not None:
            _warn_few_clusters(fields["clusters"], fields["unit_group"], cluster)
        return AttGtResult(**fields)
    panel = prepare_panel(
        data, outcome=outcome, unit=unit, time=time, group=group, covariates=covariates,
        weights=weights, cluster=cluster, anticipation=anticipation, unbalanced=unbalanced,
    )
    if panel.clusters is not None:
        _warn_few_clusters(panel.clusters, panel.group, cluster)
    if control_group == "never_treated" and not (panel.group == 0).any():
        raise InputError(
            "control_group='never_treated' but no unit in `data` is never treated "
            f"(`{group}` = 0); use control_group='not_yet_treated'"
        )
    return _estimate(panel, control_group, method, anticipation, base_period, n_boot,
                     confidence, seed, cluster, rcs=unbalanced == "repeated_cross_section")


MIN_CLUSTERS = 30  # Cameron & Miller (2015): cluster-robust SEs are too small below about 30-50
MIN_CLUSTERS_PER_GROUP = 5  # MacKinnon & Webb (2017): and when few clusters are treated


def _warn_few_clusters(clusters: np.ndarray, group: np.ndarray, cluster: str | None) -> None:
    """Warn when clustered SEs will be too small: fewer than ``MIN_CLUSTERS`` clusters in all,
    or a treated group (cohort) that spans fewer than ``MIN_CLUSTERS_PER_GROUP`` clusters.

    A cohort's cells compare its units with the comparison units; when the cohort is one or two
    clusters, the cluster sums of its (centred) influence function are close to zero by
    construction, so its between-cluster variation is not estimated at all. In pceval's own check
    (``validation/check_rollout_se.py``: 20 PCNs, 1-3 PCNs per go-live quarter) PCN-clustered
    intervals covered 87-91%; person-level ones 93-95%.
    """
    import warnings

    from pceval.errors import PcevalWarning

    n_clusters = int(clusters.max()) + 1
    treated = group > 0
    pairs = np.unique(np.column_stack([group[treated], clusters[treated]]), axis=0)
    cohorts, per_cohort = np.unique(pairs[:, 0], return_counts=True)
    thin = cohorts[per_cohort < MIN_CLUSTERS_PER_GROUP]
    problems = []
    if n_clusters < MIN_CLUSTERS:
        problems.append(f"only {n_clusters} clusters")
    if len(thin):
        shown = ", ".join(f"{g:g}" for g in thin[:8]) + (" ..." if len(thin) > 8 else "")
        problems.append(f"{len(thin)} of {len(cohorts)} groups span fewer than "
                        f"{MIN_CLUSTERS_PER_GROUP} clusters (groups {shown})")
    if problems:
        warnings.warn(
            f"cluster={cluster!r}: {' and '.join(problems)}; cluster-robust standard errors are "
            "then too small (Cameron & Miller 2015; MacKinnon & Webb 2017). Treat the intervals as "
            "too narrow, and see docs/did.md ('Few clusters').",
            PcevalWarning, stacklevel=3,
        )


def _rcs_cell(panel: WidePanel, sample: np.ndarray, g: float, j: int, base: int, method: str,
              n: int) -> tuple[float, np.ndarray, int, int]:
    """One ATT(g,t) reading the two periods' rows as repeated cross-sections (R did's
    ``allow_unbalanced_panel = TRUE``): the influence function is scaled by n / (rows used) and
    summed within unit, so SEs still respect that a unit observed twice is one unit."""
    from pceval.did._drdid_rc import estimate_rc

    obs = np.isfinite(panel.y)
    in_post = sample[obs[sample, j]]
    in_pre = sample[obs[sample, base]]
    units = np.concatenate([in_post, in_pre])
    yv = np.concatenate([panel.y[in_post, j], panel.y[in_pre, base]])
    post = np.concatenate([np.ones(len(in_post)), np.zeros(len(in_pre))])
    D = (panel.group[units] == g).astype(float)
    try:
        att, psi = estimate_rc(yv, post, D, panel.X[units], panel.weights[units], method)
    except EstimationError as exc:
        raise EstimationError(f"ATT(g={g}, t={panel.times[j]}): {exc}") from exc
    psi = psi * (n / len(yv))
    pos = np.searchsorted(sample, units)
    per_unit = np.bincount(pos, weights=psi, minlength=len(sample))
    return att, per_unit, int(D.sum()), int(len(D) - D.sum())


def _estimate(panel: WidePanel, control_group: str, method: str, anticipation: int,
              base_period: str, n_boot: int, confidence: float, seed: int,
              cluster: str | None, rcs: bool = False) -> AttGtResult:
    """Specification (the cells and their samples) -> fit (every cell's ATT and influence
    function) -> result (SEs, intervals, the uniform band)."""
    plan = _plan_cells(panel, control_group, base_period, anticipation, rcs)
    fitted = _fit_cells(panel, plan, method)
    influence = _influence_matrix(panel, plan, fitted)
    cache: dict = {}  # the bootstrap rows' keys and draws, kept for the aggregations
    if n_boot:
        cache["keys"] = inf_.id_keys(panel.cluster_ids if panel.clusters is not None
                                     else panel.units)
    table, crit = _cell_table(panel, fitted, influence, n_boot, confidence, seed, anticipation,
                              cache)
    se_label = (f"analytic, clustered by {cluster}" if cluster else "analytic, robust (unit level)")
    settings = dict(control_group=control_group, method=method, anticipation=anticipation,
                    base_period=base_period, n_boot=n_boot, confidence=confidence, seed=seed,
                    cluster=cluster, se_label=se_label,
                    covariates=list(panel.covariate_names), times=panel.times)
    return AttGtResult(
        table=table, influence=influence, unit_group=panel.group, unit_weights=panel.weights,
        clusters=panel.clusters, n_units=panel.n, settings=settings,
        exclusions=dict(panel.exclusions), critical_value=crit, unit_ids=panel.units,
        cluster_ids=panel.cluster_ids, _cache=cache,
    )


@dataclass
class _CellPlan:
    """The specification of every group-time cell: which units it compares and where its
    influence function goes in the (CSC) influence matrix.

    ``cells`` are ``(g, j, base, threshold)``; ``lengths[c]`` is cell ``c``'s sample size (0 for
    the universal base period's reference cell, -1 for a cell with no comparison units, which is
    skipped); ``indptr`` the CSC column pointers. Cells that share a sample (e.g. every period
    of a group against never-treated units) share a ``key`` and so one design.
    """

    group: np.ndarray
    observed: np.ndarray
    balanced: bool
    rcs: bool
    cells: list
    lengths: np.ndarray = field(init=False)
    indptr: np.ndarray = field(init=False)

    def key(self, cell: tuple) -> tuple:
        """Cells with the same key have the same sample."""
        g, j, base, thr = cell
        return (g, thr) if self.balanced else (g, thr, j, base)

    def sample_mask(self, cell: tuple) -> np.ndarray:
        """The units of the cell: the group and its comparison units (observed in both periods
        for a pairwise unbalanced panel, in either for repeated cross-sections)."""
        g, j, base, thr = cell
        G, observed = self.group, self.observed
        in_ctrl = G == 0 if thr is None else (G == 0) | ((G > thr) & (G != g))
        mask = (G == g) | in_ctrl
        if self.rcs:  # units observed in either period (each observation is a row)
            mask &= observed[:, j] | observed[:, base]
        elif not self.balanced:
            mask &= observed[:, j] & observed[:, base]
        return mask

    @property
    def skipped(self) -> int:
        """Cells with no comparison (or no treated) units."""
        return int((self.lengths < 0).sum())


def _plan_cells(panel: WidePanel, control_group: str, base_period: str, anticipation: int,
                rcs: bool) -> _CellPlan:
    """Specification: the cells, and the size of each cell's sample, so that the influence
    matrix is allocated once."""
    observed = np.isfinite(panel.y)
    plan = _CellPlan(group=panel.group, observed=observed,
                     balanced=bool(observed.all()) and not rcs, rcs=rcs,
                     cells=list(_cells(panel, control_group, base_period, anticipation)))
    G = panel.group
    sizes: dict = {}
    lengths = []
    for cell in plan.cells:
        g, j, base, _ = cell
        if base == j:
            lengths.append(0)
            continue
        key = plan.key(cell)
        if key not in sizes:
            mask = plan.sample_mask(cell)
            sizes[key] = (int(mask.sum()), int((mask & (G == g)).sum()))
        n_s, n_t = sizes[key]
        lengths.append(n_s if 0 < n_t < n_s else -1)
    plan.lengths = np.array(lengths)
    plan.indptr = np.concatenate([[0], np.cumsum(np.maximum(plan.lengths, 0))]).astype(np.int64)
    return plan


class _SharedSample:
    """One cell sample and, for panel cells, its outcome-free design (:class:`CellDesign`) and
    work buffers, reused by every cell with the same key."""

    def __init__(self, panel: WidePanel, plan: _CellPlan, cell: tuple, method: str) -> None:
        g, j, _, _ = cell
        self.sample = np.flatnonzero(plan.sample_mask(cell))
        if plan.rcs:
            return
        d = (panel.group[self.sample] == g).astype(float)
        try:
            self.des = CellDesign(d=d, X=panel.X[self.sample], w=panel.weights[self.sample],
                                  method=method)
        except EstimationError as exc:
            raise EstimationError(f"ATT(g={g}, t={panel.times[j]}): {exc}") from exc
        self.dy = np.empty(len(self.sample))
        self.y_base = np.empty(len(self.sample))

    def estimate(self, y_cols: np.ndarray, j: int, base: int, psi: np.ndarray,
                 n: int) -> tuple[float, int, int]:
        """ATT of the outcome change from ``base`` to ``j``; the influence function (scaled to
        all ``n`` units) is written into ``psi``. Returns ``(att, n_treated, n_comparison)``."""
        dy, y_base, des = self.dy, self.y_base, self.des
        np.take(y_cols[j], self.sample, out=dy)
        np.take(y_cols[base], self.sample, out=y_base)
        dy -= y_base
        att, _ = des.estimate(dy, out=psi)
        psi *= n / len(self.sample)
        return att, int(des.d.sum()), int(len(self.sample) - des.d.sum())


@dataclass
class _FittedCells:
    """The fit of every cell: table rows (with the private ``_se`` and ``_col`` keys), each
    influence function's sum of squares, and the CSC buffers ``data``/``indices``."""

    rows: list
    sumsq: list
    data: np.ndarray | None      # None once the influence matrix is built (frees the buffers)
    indices: np.ndarray | None


def _fit_cells(panel: WidePanel, plan: _CellPlan, method: str) -> _FittedCells:
    """Fit: estimate every cell, writing its influence function into the CSC buffers."""
    n, G = panel.n, panel.group
    idx_dtype = np.int32 if n < 2**31 - 1 else np.int64
    data = np.empty(int(plan.indptr[-1]))
    indices = np.empty(int(plan.indptr[-1]), dtype=idx_dtype)
    rows: list[dict] = []
    sumsq: list[float] = []
    current_key, shared = None, None
    y_cols = np.ascontiguousarray(panel.y.T)  # one contiguous row per period
    for c, cell in enumerate(plan.cells):
        if plan.lengths[c] < 0:
            continue
        g, j, base, _ = cell
        row = {"group": g, "time": panel.times[j], "base_period": panel.times[base]}
        if base == j:  # universal base period: the reference cell
            rows.append({**row, "estimate": 0.0, "n_treated": int((G == g).sum()),
                         "n_comparison": 0, "_se": False, "_col": c})
            sumsq.append(0.0)
            continue
        key = plan.key(cell)
        if key != current_key:
            current_key = key
            shared = _SharedSample(panel, plan, cell, method)
        assert shared is not None  # made for the first cell of each sample key
        lo, hi = plan.indptr[c], plan.indptr[c + 1]
        if plan.rcs:
            att, psi, n_t, n_c = _rcs_cell(panel, shared.sample, g, j, base, method, n)
            data[lo:hi] = psi
        else:
            psi = data[lo:hi]
            att, n_t, n_c = shared.estimate(y_cols, j, base, psi, n)
        rows.append({**row, "estimate": att, "n_treated": n_t, "n_comparison": n_c,
                     "_se": True, "_col": c})
        indices[lo:hi] = shared.sample
        sumsq.append(float(psi @ psi))
    if not rows:
        raise EstimationError("no group-time cell has both treated and comparison units")
    return _FittedCells(rows=rows, sumsq=sumsq, data=data, indices=indices)


def _influence_matrix(panel: WidePanel, plan: _CellPlan, fitted: _FittedCells) -> sp.csc_matrix:
    """The ``n x cells`` influence matrix (columns of skipped cells dropped, with a warning)."""
    skipped = plan.skipped
    if skipped:
        import warnings

        from pceval.errors import PcevalWarning
        warnings.warn(f"{skipped} group-time cell(s) had no comparison units and were skipped",
                      PcevalWarning, stacklevel=4)
    cols_used = np.array([r.pop("_col") for r in fitted.rows])
    influence = sp.csc_matrix((fitted.data, fitted.indices, plan.indptr),
                              shape=(panel.n, len(plan.cells)))
    if skipped:
        influence = influence[:, cols_used]
    fitted.data = fitted.indices = None
    return influence


def _cell_table(panel: WidePanel, fitted: _FittedCells, influence: sp.csc_matrix, n_boot: int,
                confidence: float, seed: int, anticipation: int,
                cache: dict) -> tuple[pd.DataFrame, float]:
    """Result: the table of cells with analytic SEs, pointwise intervals and the uniform band
    (multiplier bootstrap; ``cache["keys"]`` the keys of its rows, and where its draws
    are kept); returns ``(table, critical_value)``."""
    n = panel.n
    table = pd.DataFrame(fitted.rows)
    for c in ("group", "time", "base_period"):
        if np.all(np.mod(table[c].to_numpy(float), 1) == 0):
            table[c] = table[c].astype(np.int64)
    if panel.clusters is None:
        se = np.sqrt(np.array(fitted.sumsq)) / n
        se[se <= inf_._SE_FLOOR] = np.nan
    else:
        se = inf_.analytic_se(influence, n, panel.clusters)
    se[~table.pop("_se").to_numpy()] = np.nan
    z = stats.norm.ppf(0.5 + confidence / 2)
    est = table["estimate"].to_numpy()
    table["std_error"] = se
    table["ci_lower"] = est - z * se
    table["ci_upper"] = est + z * se
    crit = float("nan")
    if n_boot:
        # the draws of w_i 1{G_i = g} are kept beside the cells' for the aggregations
        shares = inf_.indicator_columns(panel.group, panel.weights,
                                        np.unique(table["group"].to_numpy(float)))
        _, crit = inf_.multiplier_bootstrap(influence, n, n_boot=n_boot, seed=seed,
                                            clusters=panel.clusters, keys=cache["keys"],
                                            alpha=1 - confidence, saved=cache, extra=shares)
    table["band_lower"] = est - crit * se
    table["band_upper"] = est + crit * se
    table["event_time"] = table["time"] - table["group"]
    table["post"] = table["time"] >= table["group"] - anticipation
    table = table[["group", "time", "base_period", "event_time", "post", "estimate", "std_error",
                   "ci_lower", "ci_upper", "band_lower", "band_upper", "n_treated",
                   "n_comparison"]]
    return table, crit
