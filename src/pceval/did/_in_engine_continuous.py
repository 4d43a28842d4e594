"""``att_gt`` with continuous covariates inside the engine (per-unit expressions, summed).

With continuous covariates every unit is its own stratum, so the stratum sums of
:mod:`pceval.did._in_engine_attgt` would be as large as the data. Instead every quantity the
estimators of :mod:`pceval.did._drdid` need is a sum over the units of a cell's sample of an
expression in the unit's covariates ``x_i`` (with intercept), treatment ``d_i``, normalised weight
``w_i`` (mean 1 in the sample) and outcomes ``y_it``; fitted coefficients enter as literals.

Per comparison sample (a group ``g`` and its comparison units; shared by the periods of ``g``):

* propensity score (``"dr"``, ``"ipw"``): logistic IRLS from the intercept-only start, each step
  one aggregation ``H = sum w p(1-p) x x'``, ``s = sum w (d - p) x`` and ``beta += H^-1 s``, with
  the convergence rule of :func:`pceval._models.fit_glm` (``tol = 1e-12``, 100 steps), so the
  same ``beta`` as in memory; ``p`` capped at ``1 - 1e-6``; comparison units with ``p >= 0.995``
  trimmed; ``cov = H^-1`` at the solution.
* one aggregation of the sample's moments: with ``t_i = w_i d_i`` and
  ``c_i = w_i (1-d_i) trim_i p_i/(1-p_i)`` (``"reg"``: ``c_i = t_i``) and ``o_i = w_i (1-d_i)``,
  the sums ``sum t``, ``sum c``, ``sum t x``, ``sum c x``, ``sum c x x'``, ``sum o x x'``,
  ``sum w p(1-p) x x'`` and, for every period ``j``, ``sum t y_j``, ``sum c y_j``,
  ``sum c x y_j``, ``sum o x y_j`` (``(3 + 2k) T + O(k^2)`` numbers).

Per cell ``(g, t)`` with base period ``b`` and ``dY_i = y_it - y_ib``, all from those sums
(``n`` the sample size, ``mt = sum t / n``, ``mc = sum c / n``)::

    beta  = (sum o x x')^-1 sum o x dY                      (outcome regression, "reg"/"dr")
    h     = (sum o x x'/n)^-1 (m3/mc - m1/mt)  ("dr");  -(...)^-1 m3/mc  ("reg");  m1, m3 = sum t x/n, sum c x/n
    dr:   eta_t = (sum t dY - (sum t x)'beta)/(n mt),  eta_c = (sum c dY - (sum c x)'beta)/(n mc)
          m2 = (sum c x dY - (sum c x x') beta - eta_c sum c x)/n,   v = n cov m2
    ipw:  eta_t = sum t dY/(n mt),  eta_c = sum c dY/(n mc),  m2 = (sum c x dY - eta_c sum c x)/n
    reg:  eta_t = sum t dY/(n mt),  eta_c = (sum c x)'beta/(n mc)
    ATT   = eta_t - eta_c

and each unit's influence function (R DRDID's ``drdid_panel``, ``std_ipw_did_panel``,
``reg_did_panel``; identical to :class:`pceval.did._drdid.CellDesign`) is
``psi_i = A_i + B_i dY_i`` with

    dr:   B_i = t_i/mt - c_i/mc + o_i x_i'h,  A_i = -B_i x_i'beta - t_i eta_t/mt + c_i eta_c/mc - w_i (d_i - p_i) x_i'v/mc
    ipw:  B_i = t_i/mt - c_i/mc,             A_i = -t_i eta_t/mt + c_i eta_c/mc - w_i (d_i - p_i) x_i'v/mc
    reg:  B_i = t_i/mt + o_i x_i'h,          A_i = -t_i eta_t/mt - c_i (x_i'beta - eta_c)/mc - o_i (x_i'h)(x_i'beta)

scaled by ``N / n`` (``N`` all units) as in :func:`pceval.did.att_gt`. It is an expression in
the unit's columns with the cell's numbers as literals, so the engine evaluates it without a
collect. Every standard error pceval reports (cells, aggregations -- whose weight term is
``w_i`` times a function of ``G_i`` -- and the pre-test) is a quadratic form in
``z_i = (psi_i1, ..., psi_iC, w_i)`` (raw ``w_i``); so the engine returns, per group ``G``
(units of one group share the cells they enter), the Gram matrix ``sum_{G_i = G} z_i z_i'``
over the cells that group enters, and pceval turns each into pseudo-units ``L'`` with
``L L'`` = the Gram (as the stratum path does); clustered, the first moments
``sum_{i in cluster, G_i = G} z_i`` instead, which sum within cluster to the in-memory cluster
sums exactly (same SEs, same bootstrap draws).

Work: per sample ``1 + iterations`` passes (about 6-8 for the logit), then per group one pass
whose width is the number of cell pairs that group enters (never-treated units enter every
cell: ``(C+1)(C+2)/2`` sums for ``C`` cells). Collected: ``O(samples x k T)`` moments and the
per-group Gram matrices (``C^2`` numbers), or clusters x groups x ``C`` when clustered.

References: Sant'Anna & Zhao (2020) J. Econometrics 219(1); Callaway & Sant'Anna (2021)
J. Econometrics 225(2); Wong et al. (2021) "You only compress once", arXiv:2102.11297.
"""

from __future__ import annotations

import warnings
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
import scipy.sparse as sp

from pceval import _sufficient as suf
from pceval._engines import collect_pandas
from pceval.did._drdid import _PS_CAP, TRIM_LEVEL
from pceval.errors import EstimationError, InputError, PcevalWarning

MAX_ITER, TOL = 100, 1e-12  # pceval.did._drdid.logit_fit's settings of fit_glm


def _lit(v: float) -> nw.Expr:
    return nw.lit(float(v))


def _dot(x: list[nw.Expr], coef: np.ndarray) -> nw.Expr:
    return suf.linear_predictor(x, np.asarray(coef, float))


class _Sample:
    """One comparison sample (group ``g`` with its comparison units): its propensity score and
    the moments listed in the module docstring."""

    def __init__(self, units: nw.LazyFrame, g: float, thr: float | None, groups: np.ndarray,
                 counts: np.ndarray, W: np.ndarray, x: list[nw.Expr], w: nw.Expr, T: int,
                 method: str) -> None:
        in_ctrl = groups == 0 if thr is None else (groups == 0) | ((groups > thr) & (groups != g))
        members = groups[(groups == g) | in_ctrl]
        self.members = set(members.tolist())
        inside = np.isin(groups, members)
        self.n = float(counts[inside].sum())
        self.wbar = float(W[inside].sum()) / self.n
        self.method, self.k, self.T, self.x = method, len(x), T, x
        self.g = g
        lf = units.filter(nw.col("_g").is_in([float(m) for m in members]))
        wn = w * _lit(1.0 / self.wbar)
        d = (nw.col("_g") == float(g)).cast(nw.Float64)
        self.wn, self.d = wn, d
        if method in ("dr", "ipw"):
            dbar = float(W[groups == g].sum()) / float(W[inside].sum())
            self.beta_ps = self._logit(lf, dbar)
        # the per-unit terms computed once into a table kept in the engine, then plain sums
        # (expressions repeated in ~100 aggregates are slow to build and to plan)
        tm = self.terms()
        hw = _lit(0.0)
        if method != "reg":
            p = self._p(capped=False)
            hw = self.wn * p * (_lit(1.0) - p)
        cols = [f"_y{j}" for j in range(T)] + [c for c in lf.collect_schema().names()
                                                if c.startswith("_lo")]
        held = suf.materialize(lf.select(*cols, tm["t"].alias("_tt"), tm["c"].alias("_tc"),
                                         tm["o"].alias("_to"), hw.alias("_th")))
        try:
            sums = suf.totals(held, self._moment_exprs()).iloc[0]
        finally:
            suf.release(held)
        self._read(sums)

    # the per-unit terms as expressions
    def _p(self, capped: bool) -> nw.Expr:
        eta = _dot(self.x, self.beta_ps).clip(-700.0, 700.0)
        p = _lit(1.0) / (_lit(1.0) + (_lit(0.0) - eta).exp())
        if capped:
            p = nw.when(p > _PS_CAP).then(_lit(_PS_CAP)).otherwise(p)
        return p

    def terms(self) -> dict[str, nw.Expr]:
        """``t, c, o`` and the score ``s = w (d - p)`` of the module docstring."""
        wn, d = self.wn, self.d
        t = wn * d
        o = wn * (_lit(1.0) - d)
        if self.method == "reg":
            return {"t": t, "c": t, "o": o, "s": _lit(0.0)}
        p = self._p(capped=True)
        keep = nw.when(p < TRIM_LEVEL).then(_lit(1.0)).otherwise(_lit(0.0))
        return {"t": t, "c": o * keep * p / (_lit(1.0) - p), "o": o, "s": wn * (d - p)}

    def _logit(self, lf: nw.LazyFrame, dbar: float) -> np.ndarray:
        """IRLS as :func:`pceval._models.fit_glm` (same start, step and stopping rule)."""
        k, x = self.k, self.x
        dbar = min(max(dbar, 1e-8), 1 - 1e-8)
        beta = np.zeros(k)
        beta[0] = np.log(dbar / (1 - dbar))
        converged = False
        for _ in range(MAX_ITER):
            self.beta_ps = beta
            p = self._p(capped=False)
            exprs = {**suf.crossproduct_exprs(x, self.wn * p * (_lit(1.0) - p), "h"),
                     **suf.vector_exprs(x, self.wn * (self.d - p), "s")}
            row = suf.totals(lf, exprs).iloc[0]
            H, s = suf.symmetric(row, "h", k), suf.vector(row, "s", k)
            try:
                new = beta + np.linalg.solve(H, s)
            except np.linalg.LinAlgError:
                new = beta + np.linalg.lstsq(H, s, rcond=None)[0]
            if not np.all(np.isfinite(new)):
                beta = new
                break
            done = np.max(np.abs(new - beta)) <= TOL * (1.0 + np.max(np.abs(new)))
            beta = new
            if done:
                converged = True
                break
        if not converged:
            warnings.warn(f"propensity score did not converge in {MAX_ITER} iterations (perfect "
                          "separation?)", PcevalWarning, stacklevel=6)
        return beta

    def _moment_exprs(self) -> dict[str, nw.Expr]:
        """The sample's moments over the held table of per-unit terms (``_tt, _tc, _to, _th``)."""
        x, T = self.x, self.T
        t, c, o = nw.col("_tt"), nw.col("_tc"), nw.col("_to")
        ys = [nw.col(f"_y{j}") for j in range(T)]
        e: dict[str, nw.Expr] = {"St": t.sum(), "Sc": c.sum()}
        e.update(suf.vector_exprs(x, t, "tx"))
        e.update(suf.vector_exprs(x, c, "cx"))
        e.update(suf.crossproduct_exprs(x, c, "cxx"))
        e.update(suf.crossproduct_exprs(x, o, "oxx"))
        for j, y in enumerate(ys):
            e[f"ty{j}"] = (t * y).sum()
            e[f"cy{j}"] = (c * y).sum()
            e.update(suf.vector_exprs(x, c * y, f"cxy{j}"))
            e.update(suf.vector_exprs(x, o * y, f"oxy{j}"))
        if self.method != "reg":
            e.update(suf.crossproduct_exprs(x, nw.col("_th"), "hess"))
        return e

    def _read(self, r: pd.Series) -> None:
        k, T, n = self.k, self.T, self.n
        self.St, self.Sc = float(r["St"]), float(r["Sc"])
        self.tx, self.cx = suf.vector(r, "tx", k), suf.vector(r, "cx", k)
        self.cxx, self.oxx = suf.symmetric(r, "cxx", k), suf.symmetric(r, "oxx", k)
        self.ty = np.array([float(r[f"ty{j}"]) for j in range(T)])
        self.cy = np.array([float(r[f"cy{j}"]) for j in range(T)])
        self.cxy = np.column_stack([suf.vector(r, f"cxy{j}", k) for j in range(T)])
        self.oxy = np.column_stack([suf.vector(r, f"oxy{j}", k) for j in range(T)])
        self.mt, self.mc = self.St / n, self.Sc / n
        if self.mc <= 0:
            raise EstimationError("all comparison units were trimmed (propensity scores >= 0.995)")
        if self.method != "reg":
            try:
                self.cov_n = np.linalg.inv(suf.symmetric(r, "hess", k)) * n
            except np.linalg.LinAlgError as exc:
                raise EstimationError("propensity score: singular information matrix") from exc
        if self.method in ("dr", "reg"):
            xtx = self.oxx / n
            if np.linalg.matrix_rank(xtx) < k:
                raise EstimationError(
                    "outcome regression: the covariates are collinear among the comparison units")
            self.xtx_inv = np.linalg.inv(xtx)
            m1, m3 = self.tx / n, self.cx / n
            direction = m3 / self.mc - m1 / self.mt if self.method == "dr" else -m3 / self.mc
            self.h = self.xtx_inv @ direction

    def cell(self, j: int, b: int) -> tuple[float, dict]:
        """The ATT of ``y_j - y_b`` and the literals of its influence function."""
        n, mt, mc = self.n, self.mt, self.mc
        ty, cy = self.ty[j] - self.ty[b], self.cy[j] - self.cy[b]
        cxy = self.cxy[:, j] - self.cxy[:, b]
        k = self.k
        beta, v, h = np.zeros(k), np.zeros(k), np.zeros(k)
        if self.method in ("dr", "reg"):
            beta = self.xtx_inv @ (self.oxy[:, j] - self.oxy[:, b]) / n
            h = self.h
        if self.method == "dr":
            eta_t = (ty - self.tx @ beta) / n / mt
            eta_c = (cy - self.cx @ beta) / n / mc
            v = self.cov_n @ ((cxy - self.cxx @ beta - eta_c * self.cx) / n)
        elif self.method == "ipw":
            eta_t, eta_c = ty / n / mt, cy / n / mc
            v = self.cov_n @ ((cxy - eta_c * self.cx) / n)
        else:
            eta_t, eta_c = ty / n / mt, float(self.cx @ beta) / n / mc
        return float(eta_t - eta_c), dict(j=j, b=b, beta=beta, h=h, v=v, eta_t=eta_t, eta_c=eta_c)

    def psi(self, lit: dict, scale: float, tm: dict[str, nw.Expr]) -> nw.Expr:
        """``scale (A_i + B_i dY_i)`` for the cell with literals ``lit`` (module docstring)."""
        x, mt, mc = self.x, self.mt, self.mc
        t, c, o, s = tm["t"], tm["c"], tm["o"], tm["s"]
        dy = nw.col(f"_y{lit['j']}") - nw.col(f"_y{lit['b']}")
        xb = _dot(x, lit["beta"])
        if self.method == "dr":
            B = t * _lit(1 / mt) - c * _lit(1 / mc) + o * _dot(x, lit["h"])
            A = (_lit(0.0) - B * xb - t * _lit(lit["eta_t"] / mt) + c * _lit(lit["eta_c"] / mc)
                 - s * _dot(x, lit["v"]) * _lit(1 / mc))
        elif self.method == "ipw":
            B = t * _lit(1 / mt) - c * _lit(1 / mc)
            A = (_lit(0.0) - t * _lit(lit["eta_t"] / mt) + c * _lit(lit["eta_c"] / mc)
                 - s * _dot(x, lit["v"]) * _lit(1 / mc))
        else:
            xh = _dot(x, lit["h"])
            B = t * _lit(1 / mt) + o * xh
            A = (_lit(0.0) - t * _lit(lit["eta_t"] / mt) - c * (xb - _lit(lit["eta_c"])) * _lit(1 / mc)
                 - o * xh * xb)
        return (A + B * dy) * _lit(scale)


def fit_cells(kept: nw.LazyFrame, *, n_cov: int, has_weights: bool, times: np.ndarray,
              control_group: str, base_period: str, anticipation: int, method: str, n: int,
              cluster: str | None, cells_of: Any, max_bytes: float, pseudo_units: int
              ) -> tuple[list, sp.csc_matrix, np.ndarray, np.ndarray, np.ndarray | None,
                         np.ndarray | None, dict]:
    """Cells, pseudo-unit influence functions and group totals (see the module docstring).
    ``kept`` is the engine's unit table (``_g``, ``_y0..``, covariates ``_lo1..``, weights)."""
    T = len(times)
    x = [_lit(1.0), *[nw.col(f"_lo{1 + i}").cast(nw.Float64) for i in range(n_cov)]]
    if not has_weights:  # a column of ones: engines refuse the sum of a literal
        kept = kept.with_columns(_lit(1.0).alias("_one"))
    w = nw.col(f"_lo{1 + n_cov}" if has_weights else "_one").cast(nw.Float64)
    tot = suf.totals(kept, {"count": nw.len(), "W": w.sum()}, by=["_g"])
    groups = tot["_g"].to_numpy(float)
    counts, W = tot["count"].to_numpy(float), tot["W"].to_numpy(float)
    rows: list[dict[str, Any]] = []
    cells: list[tuple[_Sample, dict, float] | None] = []
    samples: dict = {}
    skipped = 0
    for g, j, base, thr in cells_of(times, groups, control_group, base_period, anticipation):
        in_ctrl = groups == 0 if thr is None else (groups == 0) | ((groups > thr) & (groups != g))
        n_s = float(counts[(groups == g) | in_ctrl].sum())
        n_t = float(counts[groups == g].sum())
        if not 0 < n_t < n_s:
            skipped += 1
            continue
        row = {"group": g, "time": times[j], "base_period": times[base]}
        if base == j:
            rows.append({**row, "estimate": 0.0, "n_treated": int(n_t), "n_comparison": 0, "_se": False})
            cells.append(None)
            continue
        key = (g, thr)
        if key not in samples:
            try:
                samples = {key: _Sample(kept, g, thr, groups, counts, W, x, w, T, method)}
            except EstimationError as exc:
                raise EstimationError(f"ATT(g={g}, t={times[j]}): {exc}") from exc
        smp = samples[key]
        att, lit = smp.cell(j, base)
        rows.append({**row, "estimate": att, "n_treated": int(n_t), "n_comparison": int(n_s - n_t),
                     "_se": True})
        cells.append((smp, lit, n / smp.n))
    if skipped:
        warnings.warn(f"{skipped} group-time cell(s) had no comparison units and were skipped",
                      PcevalWarning, stacklevel=5)
    if not rows:
        raise EstimationError("no group-time cell has both treated and comparison units")
    out = _influence(kept, cells, groups, w, cluster, max_bytes, pseudo_units)
    return (rows, *out, {"group": groups, "count": counts, "W": W})


def _influence(kept: nw.LazyFrame, cells: list, groups: np.ndarray, w: nw.Expr,
               cluster: str | None, max_bytes: float, pseudo_units: int
               ) -> tuple[sp.csc_matrix, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Per group, the Gram matrix (or cluster sums) of ``z_i`` in the engine, as pseudo-units."""
    C = len(cells)
    blocks: list[tuple[float, list[int], np.ndarray, pd.Series | None]] = []
    for gv in groups:
        idx = [c for c, cell in enumerate(cells) if cell is not None and gv in cell[0].members]
        lf = kept.filter(nw.col("_g") == float(gv))
        # the per-unit terms of each sample, once, then each cell's psi from them
        smps = {id(cells[c][0]): cells[c][0] for c in idx}
        term_cols: dict[int, dict[str, nw.Expr]] = {}
        pre: list[nw.Expr] = []
        for sid, smp in smps.items():
            term_cols[sid] = {}
            for name, e in smp.terms().items():
                col = f"_{name}{len(pre)}"
                pre.append(e.alias(col))
                term_cols[sid][name] = nw.col(col)
        psis = [cells[c][0].psi(cells[c][1], cells[c][2], term_cols[id(cells[c][0])]).alias(f"_p{i}")
                for i, c in enumerate(idx)]
        zl = [*[nw.col(f"_p{i}") for i in range(len(idx))], nw.col("_zw")]
        # two tables kept in the engine: the samples' per-unit terms, then the influence
        # functions; the sums of products then read plain columns
        base = [c for c in lf.collect_schema().names() if c.startswith(("_y", "_lo", "_cl"))]
        held_terms = suf.materialize(lf.select(*base, *pre, w.alias("_zw")))
        try:
            held_psi = suf.materialize(held_terms.select(
                *psis, "_zw", *(["_cl"] if cluster is not None else [])))
        except Exception:
            suf.release(held_terms)
            raise
        m = len(zl)
        try:
            if cluster is None:
                G = suf.symmetric(suf.totals(held_psi, suf.crossproduct_exprs(zl, _lit(1.0), "m")).iloc[0],
                                  "m", m)
                blocks.append((gv, idx, G, None))
            else:
                tab = collect_pandas(held_psi.group_by("_cl").agg(*[z.sum() for z in zl]))
                blocks.append((gv, idx, tab[[f"_p{i}" for i in range(len(idx))] + ["_zw"]].to_numpy(float),
                               tab["_cl"]))
        finally:  # newest first: a DuckDB relation binds the tables it was computed from
            suf.release(held_psi)
            suf.release(held_terms)
    if cluster is None:
        return _pseudo_from_gram(blocks, C, pseudo_units)
    R = sum(len(b[2]) for b in blocks)
    if R * C * 8 > max_bytes:
        raise InputError(
            f"att_gt in the engine: the influence functions would take {R:,} rows (clusters x "
            f"groups) x {C} cells = {R * C * 8 / 1e9:.1f} GB. Use a coarser cluster (e.g. PCN "
            "rather than practice)")
    infl = np.zeros((R, C))
    grp, wcol, ids = np.empty(R), np.empty(R), []
    r0 = 0
    for gv, idx, Z, cl in blocks:
        r1 = r0 + len(Z)
        infl[r0:r1, idx] = Z[:, :-1]
        wcol[r0:r1], grp[r0:r1] = Z[:, -1], gv
        assert cl is not None  # clustered blocks carry their cluster ids
        ids.append(cl.to_numpy())
        r0 = r1
    codes, uniq = pd.factorize(np.concatenate(ids), sort=True)
    return sp.csc_matrix(infl), grp, wcol, codes, np.asarray(uniq)


def _pseudo_from_gram(blocks: list, C: int, pseudo_units: int
                      ) -> tuple[sp.csc_matrix, np.ndarray, np.ndarray, None, np.ndarray]:
    """Rows ``sqrt(lambda) v'`` of each group's Gram (``Gram = sum rows' rows``), each split
    into ``k`` copies ``/ sqrt(k)`` for the streaming bootstrap (see ``_in_engine_attgt``)."""
    facs = []
    for bi, (_gv, _idx, G, _) in enumerate(blocks):
        lam, V = np.linalg.eigh(G)
        keep = lam > lam.max() * 1e-15
        facs.append((bi, (V[:, keep] * np.sqrt(lam[keep])).T, np.flatnonzero(keep)))
    R0 = sum(len(f[1]) for f in facs)
    k = max(1, pseudo_units // max(R0, 1))
    R = R0 * k
    infl = np.zeros((R, C))
    grp, wcol = np.empty(R), np.empty(R)
    ids = []
    r0 = 0
    for bi, L, fac in facs:
        gv, idx = blocks[bi][0], blocks[bi][1]
        rows = np.repeat(L, k, axis=0) / np.sqrt(k)
        r1 = r0 + len(rows)
        infl[r0:r1, idx] = rows[:, :-1]
        wcol[r0:r1], grp[r0:r1] = rows[:, -1], gv
        ids += [f"group{bi}:{f}:{c}" for f in fac for c in range(k)]
        r0 = r1
    return sp.csc_matrix(infl), grp, wcol, None, np.asarray(ids)


__all__ = ["fit_cells"]
