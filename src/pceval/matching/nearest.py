"""Greedy nearest-neighbour matching in O(n log n), following MatchIt's rules exactly.

Rules (MatchIt 4.7, ``method = "nearest"``)
------------------------------------------
* **Sort.** All non-discarded people are sorted by distance (the propensity score, or its logit),
  ascending and stable: equal scores keep their row order. Within ``exact`` strata, only people
  in the same stratum are compared.
* **Order.** Focal people (the treated, for the ATT) are matched one at a time, in the order
  ``m_order``: ``"largest"`` score first (default with a propensity score; ties in row order),
  ``"smallest"`` first, ``"random"`` (a permutation drawn from ``seed``) or ``"data"`` (row
  order; the default for Mahalanobis distance).
* **Nearest.** Each focal person takes the nearest still-available control just below or just
  above them in the sorted order; a control exactly as far below as another is above wins
  (the lower side takes ties). A control equal in score to the focal person is below it if it
  comes earlier in the data, above it if later.
* **Caliper.** A match must satisfy ``|d_t - d_c| <= caliper`` (inclusive). Focal people with no
  available control inside the caliper stay unmatched.
* **Ratio.** With ``ratio = k`` matching runs in ``k`` rounds: every focal person matched in
  round 1 gets a second control in round 2, and so on, so early focal people cannot take all
  the good controls before others get their first.
* **Replacement.** Without replacement each control is used at most once (``unit`` ids make
  that "once per person" when people have several candidate rows, as in rolling entry); with
  replacement every focal person simply takes its ``k`` nearest controls.

Algorithm
---------
The controls of each stratum sit in one sorted array; a focal person's place in it is found by
one ``lexsort`` of everyone on (stratum, distance, row). The next available control to the left
and to the right are found with two union-find structures ("next free slot" pointers with path
compression), so the whole match costs O(n log n) for the sort plus nearly O(1) per match. No
treated x control distance matrix is ever formed.

The pass over focal people is inherently sequential (whom person *i* may take depends on
whom everyone before *i* took), so it is a single tight Python loop over plain lists, the only
per-person Python code in the matcher; everything else is vectorised numpy. Matching with
replacement has no such dependency and is fully vectorised.

Mahalanobis distance matching (``distance="mahalanobis"``, or ``mahvars`` within a propensity
score caliper) picks, for each focal person in turn, the available control (in the stratum,
inside the caliper) with the smallest Mahalanobis distance. Without a caliper a k-d tree per
stratum finds the nearest controls (queried once for everyone, again only for people whose
returned controls are all taken); with a caliper the candidates are the available controls in
the caliper window of the sorted array. Either way no distance matrix is formed.

Ties in the Mahalanobis distance are decided by a rule, not by rounding. Two controls can be
at the same distance in exact arithmetic without having the same covariates (one 13 years
older and a year more schooling, one 13 years younger and a year less: mirror images around
the focal person). Computed in floating point their distances usually differ in the last bits,
and which one comes out nearer depends on every rounding in the transform, i.e. on the BLAS
and LAPACK build (MatchIt's own answer in such ties depends on the BLAS R is linked to).
pceval therefore treats squared distances within ``TIE_RTOL * (d2 + |z_t|^2)`` of the smallest
as tied (``TIE_RTOL = 1e-12``, :func:`_tie_tolerance`), and gives every tie, exact in floating
point or not, to the candidate MatchIt's search meets last (:func:`_mahalanobis_pick`; with
identical covariates, MatchIt's own rule). The rounding error of a computed squared distance
is at most a few ulps of ``d2 + d |z|`` (cancellation in ``z_t - z_c``), measured against exact
rational arithmetic at most 1e-14 of ``d2 + |z_t|^2`` on lalonde and simulated data (MatchIt's
own transform: 2e-15); the tolerance is 100 times that, and distances that genuinely differ by
less than 1e-12 of the focal person's squared distance from the centre are, for matching, the
same distance. So the pairs do not depend on the BLAS, and they can differ from MatchIt's where
MatchIt's rounding broke a tie the other way (lalonde: see docs/matching.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np


@dataclass(frozen=True)
class _Sorted:
    """Controls sorted by (stratum, distance, row) and each focal person's place among them."""

    ctrl: np.ndarray        # row index of each sorted control
    cdist: np.ndarray       # their distances
    pos: np.ndarray         # per focal (in focal order): controls strictly before it
    lo: np.ndarray          # per focal: first control index of its stratum block
    hi: np.ndarray          # per focal: one past the last control of its stratum block


def _sort(distance: np.ndarray, focal_rows: np.ndarray, ctrl_rows: np.ndarray,
          strata: np.ndarray | None) -> _Sorted:
    n = len(distance)
    kind = np.zeros(n, np.int8)            # 0 = not used, 1 = focal, 2 = control
    kind[focal_rows] = 1
    kind[ctrl_rows] = 2
    rows = np.flatnonzero(kind)            # ascending row order
    d = distance[rows]
    if strata is None:
        order = np.argsort(d, kind="stable")          # ties keep row order
        s_sorted = None
    else:
        s = strata[rows]
        order = np.lexsort((d, s))                    # stable: ties keep row order
        s_sorted = s[order]
    rows_sorted = rows[order]
    c_sorted = kind[rows_sorted] == 2
    before = np.cumsum(c_sorted) - c_sorted           # controls strictly before each position
    pos_row = np.empty(n, np.int64)
    pos_row[rows_sorted] = before
    ctrl = rows_sorted[c_sorted]
    cdist = distance[ctrl]
    if s_sorted is None:
        nc = len(ctrl)
        lo = np.zeros(len(focal_rows), np.int64)
        hi = np.full(len(focal_rows), nc, np.int64)
    else:
        assert strata is not None
        cstrat = s_sorted[c_sorted]
        fstrat = strata[focal_rows]
        lo = np.searchsorted(cstrat, fstrat, side="left")
        hi = np.searchsorted(cstrat, fstrat, side="right")
    return _Sorted(ctrl=ctrl, cdist=cdist, pos=pos_row[focal_rows], lo=lo, hi=hi)


def match_distance_no_replace(distance: np.ndarray, focal_rows: np.ndarray,
                              ctrl_rows: np.ndarray, order: np.ndarray, *, ratio: int = 1,
                              caliper: float | None = None, strata: np.ndarray | None = None,
                              unit: np.ndarray | None = None, progress: bool = False
                              ) -> np.ndarray:
    """Greedy 1:k matching on a scalar distance without replacement.

    Parameters
    ----------
    distance : per-row distance (all rows of the data).
    focal_rows, ctrl_rows : row indices of the (non-discarded) focal and control people.
    order : processing order, as positions into ``focal_rows``.
    ratio, caliper, strata : as in :func:`pceval.match`; ``caliper`` on the distance scale.
    unit : optional per-row person id; a control person is used at most once even if several
        of their rows are candidates (rolling entry).

    Returns
    -------
    ``(len(focal_rows), ratio)`` int array of matched control rows, ``-1`` where none.
    """
    nf = len(focal_rows)
    mm = np.full((nf, ratio), -1, dtype=np.int64)
    if nf == 0 or len(ctrl_rows) == 0:
        return mm
    srt = _sort(distance, focal_rows, ctrl_rows, strata)
    nc = len(srt.ctrl)
    cd = srt.cdist.item          # per-element access; a 10M-element list would cost 320 MB
    # union-find "next free" pointers, shifted by one so that -1 / nc are sentinels
    right = list(range(nc + 1))        # right[j]: candidate for smallest free index >= j
    left = list(range(nc + 1))         # left[j + 1]: candidate for largest free index <= j
    inf = float("inf")
    cal = inf if caliper is None else float(caliper)
    unit_groups = None
    if unit is not None:
        # sorted-control positions of every control row of the same person
        u = unit[srt.ctrl]
        codes, inv = np.unique(u, return_inverse=True)
        grp_order = np.argsort(inv, kind="stable")
        bounds = np.searchsorted(inv[grp_order], np.arange(len(codes) + 1))
        unit_groups = (inv.tolist(), grp_order.tolist(), bounds.tolist())
    order_a = np.asarray(order, dtype=np.int64)
    order_l = order_a.tolist()
    pos_o = srt.pos[order_a].tolist()
    lo_o = srt.lo[order_a].tolist()
    hi_o = srt.hi[order_a].tolist()
    fd_o = distance[focal_rows][order_a].tolist()
    active = [True] * nf
    from tqdm.auto import tqdm

    bar = tqdm(total=ratio * nf, disable=not progress, desc="matching", unit="person",
               mininterval=1.0)
    chunk = 50_000 if progress else max(nf, 1)
    for r in range(ratio):
        res = [-1] * nf
        for c0 in range(0, nf, chunk):
            c1 = min(c0 + chunk, nf)
            _greedy_chunk(order_l[c0:c1], pos_o[c0:c1], lo_o[c0:c1], hi_o[c0:c1], fd_o[c0:c1],
                          r, res, active, left, right, cd, cal, unit_groups)
            bar.update(c1 - c0)
        mm[:, r] = res
    bar.close()
    out = np.where(mm >= 0, srt.ctrl[np.maximum(mm, 0)], -1)
    return out


def _greedy_chunk(order_l: list, pos_o: list, lo_o: list, hi_o: list, fd_o: list, r: int,
                  res: list, active: list, left: list, right: list, cd: Any, cal: float,
                  unit_groups: Any) -> None:
    """The sequential greedy pass over focal people (plain Python lists; see module doc)."""
    inf = float("inf")
    for i, p, a, b, di in zip(order_l, pos_o, lo_o, hi_o, fd_o, strict=True):
        if not active[i]:
            continue
        # largest free index <= p - 1 (shifted: left[p]); union-find with path compression
        j = left[p]
        if j != p:
            root = j
            nxt = left[root]
            while nxt != root:
                root = nxt
                nxt = left[root]
            k = p
            while k != root:
                nxt = left[k]
                left[k] = root
                k = nxt
            j = root
        jl = j - 1
        # smallest free index >= p
        j = right[p]
        if j != p:
            root = j
            nxt = right[root]
            while nxt != root:
                root = nxt
                nxt = right[root]
            k = p
            while k != root:
                nxt = right[k]
                right[k] = root
                k = nxt
            j = root
        dl = di - cd(jl) if jl >= a else inf
        dr = cd(j) - di if j < b else inf
        if dl <= dr:
            best, dbest = jl, dl
        else:
            best, dbest = j, dr
        if dbest > cal or dbest == inf:
            if r == 0:
                active[i] = False
            continue
        res[i] = best
        if unit_groups is None:
            right[best] = best + 1
            left[best + 1] = best
        else:
            inv_l, go, bd = unit_groups
            g = inv_l[best]
            for q in go[bd[g]: bd[g + 1]]:
                right[q] = q + 1
                left[q + 1] = q


def match_distance_replace(distance: np.ndarray, focal_rows: np.ndarray, ctrl_rows: np.ndarray,
                           *, ratio: int = 1, caliper: float | None = None,
                           strata: np.ndarray | None = None) -> np.ndarray:
    """Nearest ``ratio`` controls of every focal person, with replacement (vectorised).

    The ``k`` nearest are taken in the order MatchIt's rounds take them: repeatedly the nearer
    of the next control below and the next above, the lower one on a tie.
    """
    nf = len(focal_rows)
    mm = np.full((nf, ratio), -1, dtype=np.int64)
    if nf == 0 or len(ctrl_rows) == 0:
        return mm
    srt = _sort(distance, focal_rows, ctrl_rows, strata)
    fd = distance[focal_rows]
    steps = np.arange(ratio)
    li = srt.pos[:, None] - 1 - steps[None, :]          # outward to the left
    ri = srt.pos[:, None] + steps[None, :]              # outward to the right
    lok = li >= srt.lo[:, None]
    rok = ri < srt.hi[:, None]
    nc = len(srt.ctrl)
    dl = np.where(lok, fd[:, None] - srt.cdist[np.clip(li, 0, nc - 1)], np.inf)
    dr = np.where(rok, srt.cdist[np.clip(ri, 0, nc - 1)] - fd[:, None], np.inf)
    cand = np.concatenate([li, ri], axis=1)
    dist = np.concatenate([dl, dr], axis=1)
    # merge order: distance, then left before right, then nearer-in-position first
    side = np.concatenate([np.zeros_like(li), np.ones_like(ri)], axis=1)
    rank = np.concatenate([np.broadcast_to(steps, li.shape), np.broadcast_to(steps, ri.shape)],
                          axis=1)
    key = side * ratio + rank
    o = np.lexsort((key, dist), axis=1)[:, :ratio]
    pick = np.take_along_axis(cand, o, axis=1)
    pd_ = np.take_along_axis(dist, o, axis=1)
    cal = np.inf if caliper is None else caliper
    ok = np.isfinite(pd_) & (pd_ <= cal)
    # a focal person without a first match gets none (as in MatchIt's rounds)
    ok &= ok[:, :1]
    mm = np.where(ok, srt.ctrl[np.clip(pick, 0, nc - 1)], -1)
    return mm


def _sq_dist(Zc: np.ndarray, zt: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances from ``zt`` to the rows of ``Zc``, summed column by column
    from the first (``out += (z_t - z_c)^2``).

    A fixed order of summation gives every candidate the same operations, so controls with
    identical covariates get bit-identical distances (an optimised reduction such as
    ``einsum`` may round them differently); near-ties are left to :func:`_tie_tolerance`.
    """
    if len(Zc) == 0:
        return np.empty(0)
    d = zt[0] - Zc[:, 0]
    out = d * d
    for j in range(1, Zc.shape[1]):
        d = zt[j] - Zc[:, j]
        out = out + d * d
    return out


#: Squared Mahalanobis distances closer than ``TIE_RTOL * (d2 + |z_t|^2)`` are a tie (module doc).
TIE_RTOL = 1e-12


def _tie_tolerance(d2_min: float, zt: np.ndarray) -> float:
    """How far above the smallest squared distance ``d2_min`` a candidate still ties with it:
    ``TIE_RTOL * (d2_min + |z_t|^2)``, with ``z_t`` the focal person's transformed covariates.

    The rounding error of a squared distance computed from transformed rows is at most a few
    ulps of ``d2`` plus a few ulps of ``d * |z|`` (the cancellation in ``z_t - z_c``);
    ``d2 + |z_t|^2 >= 2 d |z_t|``, so this tolerance covers both with a wide margin (see the
    module doc for the measurements).
    """
    return TIE_RTOL * (d2_min + float(np.dot(zt, zt)))


def _mahalanobis_pick(d2: np.ndarray, scan: np.ndarray, tol: float = 0.0) -> int:
    """Index (into the candidate arrays) of the chosen control among candidates.

    Candidates whose squared distance is within ``tol`` of the smallest are tied. Among tied
    candidates the one MatchIt's search meets last wins, walking outwards from the focal person
    alternately left and right along the sort on the first transformed covariate; ``scan``
    holds that visiting time (``2L - 1`` for the L-th unit to the left, ``2R`` for the R-th to
    the right), so the tie goes to the largest ``scan``.
    """
    tied = np.flatnonzero(d2 <= d2.min() + tol)
    if len(tied) == 1:
        return int(tied[0])
    return int(tied[np.argmax(scan[tied])])


def _unit_groups(unit_sorted: np.ndarray | None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Positions (in the sorted control array) of every row of each control person."""
    if unit_sorted is None:
        return None
    _, inv = np.unique(unit_sorted, return_inverse=True)
    order = np.argsort(inv, kind="stable")
    bounds = np.searchsorted(inv[order], np.arange(inv.max() + 2))
    return inv, order, bounds


def _scan_rank(Z: np.ndarray, strata: np.ndarray | None, scan_key: np.ndarray | None
               ) -> np.ndarray:
    """Position of every row along the first transformed covariate, within its stratum
    (all rows, discarded ones included, as in MatchIt's search)."""
    sk = Z[:, 0] if scan_key is None else scan_key
    rows = np.arange(len(Z))
    keys = (rows, sk) if strata is None else (rows, sk, strata)
    o = np.lexsort(keys)
    rank = np.empty(len(Z), np.int64)
    rank[o] = rows
    return rank


def match_mahalanobis(Z: np.ndarray, focal_rows: np.ndarray, ctrl_rows: np.ndarray,
                      order: np.ndarray, *, ratio: int = 1, replace: bool = False,
                      distance: np.ndarray | None = None, caliper: float | None = None,
                      strata: np.ndarray | None = None, unit: np.ndarray | None = None,
                      scan_key: np.ndarray | None = None, progress: bool = False) -> np.ndarray:
    """Greedy Mahalanobis matching, optionally inside a caliper on ``distance``.

    ``Z`` are Mahalanobis-transformed covariates (Euclidean distance between rows = Mahalanobis
    distance). Candidates of a focal person are the available controls in its stratum (and,
    with a caliper, whose ``distance`` is within ``caliper``); the nearest in ``Z`` wins, ties
    (within :func:`_tie_tolerance`) as :func:`_mahalanobis_pick`. Rounds, order and replacement work as in
    :func:`match_distance_no_replace`.

    Cost: without a caliper, a k-d tree per stratum finds each focal person's nearest controls
    (O(log n) per query; queried again only when all returned controls are taken), so no
    distance matrix is formed. With a propensity-score caliper the candidates are the available
    controls inside the caliper window, O(window) numpy work per focal person.
    """
    nf = len(focal_rows)
    mm = np.full((nf, ratio), -1, dtype=np.int64)
    if nf == 0 or len(ctrl_rows) == 0:
        return mm
    use_caliper = distance is not None and caliper is not None
    dist_c, cal = cast(np.ndarray, distance), cast(float, caliper)   # read only when use_caliper
    base = dist_c if use_caliper else np.zeros(len(Z))
    srt = _sort(base, focal_rows, ctrl_rows, strata)
    Zc = np.ascontiguousarray(Z[srt.ctrl])
    avail = np.ones(len(srt.ctrl), dtype=bool)
    rank = _scan_rank(Z, strata, scan_key)
    crank = rank[srt.ctrl]
    groups = None if (unit is None or replace) else _unit_groups(unit[srt.ctrl])
    if use_caliper:
        wlo, whi = _caliper_windows(srt, dist_c[focal_rows], cal, strata, focal_rows,
                                    len(Z))
    finder = _KDFinder(Zc, srt.lo, srt.hi, Z[focal_rows], k0=min(ratio + 7, 64))

    from tqdm.auto import tqdm

    bar = tqdm(total=ratio * nf, disable=not progress, desc="Mahalanobis matching",
               unit="person", mininterval=1.0)
    active = np.ones(nf, dtype=bool)
    for r in range(ratio):
        for i in order:
            bar.update(1)
            if not active[i]:
                continue
            taken = mm[i, :r] if r > 0 else None
            zt = Z[focal_rows[i]]
            ok_arr = avail if not replace else None
            excl = None if taken is None else np.flatnonzero(np.isin(srt.ctrl, taken))
            if use_caliper:
                got = finder.candidates(i, zt, ok_arr, excl,
                                        filt=(srt.cdist, dist_c[focal_rows[i]], cal),
                                        k_limit=int(whi[i] - wlo[i]))
            else:
                got = finder.candidates(i, zt, ok_arr, excl)
            if got is None:
                # the caliper window is small: search it directly
                a, b = wlo[i], whi[i]
                idx = a + np.flatnonzero(avail[a:b]) if not replace else np.arange(a, b)
                if taken is not None and len(idx):
                    idx = idx[~np.isin(srt.ctrl[idx], taken)]
                if len(idx):
                    idx = idx[np.abs(srt.cdist[idx] - dist_c[focal_rows[i]]) <= cal]
                d2 = _sq_dist(Zc[idx], zt)
            else:
                idx, d2 = got
            if len(idx) == 0:
                if r == 0:
                    active[i] = False
                continue
            ri = rank[focal_rows[i]]
            cr = crank[idx]
            scan = np.where(cr < ri, 2 * (ri - cr) - 1, 2 * (cr - ri))
            j = idx[_mahalanobis_pick(d2, scan, _tie_tolerance(float(d2.min()), zt))]
            mm[i, r] = srt.ctrl[j]
            if not replace:
                if groups is None:
                    avail[j] = False
                else:
                    inv, go, bd = groups
                    g = inv[j]
                    avail[go[bd[g]: bd[g + 1]]] = False
    bar.close()
    return mm


def _caliper_windows(srt: Any, fd: np.ndarray, caliper: float, strata: np.ndarray | None,
                     focal_rows: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """For each focal person, the positions ``[lo, hi)`` of the sorted controls of their stratum
    whose distance lies within ``caliper`` of theirs (inclusive, as MatchIt)."""
    cs = (np.zeros(n, np.int64) if strata is None else strata)[srt.ctrl]
    fs = (np.zeros(n, np.int64) if strata is None else strata)[focal_rows]
    wlo = np.empty(len(focal_rows), np.int64)
    whi = np.empty(len(focal_rows), np.int64)
    for s_val in np.unique(fs):
        a = np.searchsorted(cs, s_val, side="left")
        b = np.searchsorted(cs, s_val, side="right")
        sel = fs == s_val
        block = srt.cdist[a:b]
        wlo[sel] = a + np.searchsorted(block, fd[sel] - caliper, side="left")
        whi[sel] = a + np.searchsorted(block, fd[sel] + caliper, side="right")
    return wlo, whi


class _KDFinder:
    """Nearest available controls of a focal person via k-d trees (one per stratum block).

    :meth:`candidates` returns every available control whose squared distance (computed by
    :func:`_sq_dist`) is within the tie tolerance (:func:`_tie_tolerance`) of the minimum,
    plus possibly a few farther ones; never misses a tied or closer control (the tree's own
    distances are used only with a relative margin of 1e-9).
    """

    def __init__(self, Zc: np.ndarray, lo: np.ndarray, hi: np.ndarray, Zf: np.ndarray,
                 k0: int = 8) -> None:
        from scipy.spatial import cKDTree

        self.Zc = Zc
        self.lo, self.hi = lo, hi
        self.trees: dict[tuple[int, int], Any] = {}
        self.first: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        # batch first query per block: k0 nearest of every focal person
        blocks = np.unique(np.stack([lo, hi], axis=1), axis=0)
        for a, b in blocks.tolist():
            if b <= a:
                continue
            tree = cKDTree(Zc[a:b])
            self.trees[(a, b)] = tree
            sel = np.flatnonzero((lo == a) & (hi == b))
            k = min(k0, b - a)
            dd, ii = tree.query(Zf[sel], k=k)
            if k == 1:
                dd, ii = dd[:, None], ii[:, None]
            for s_i, d_row, i_row in zip(sel.tolist(), dd, ii, strict=True):
                self.first[s_i] = (a + i_row, d_row)

    def candidates(self, i: int, zt: np.ndarray, avail: np.ndarray | None,
                   exclude: np.ndarray | None,
                   filt: tuple[np.ndarray, float, float] | None = None,
                   k_limit: int | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        """Candidates (sorted-control positions) and their squared distances.

        ``filt = (cdist, d_t, caliper)`` keeps only controls with ``|cdist - d_t| <= caliper``.
        Returns None if no conclusion was reached within ``k_limit`` neighbours (the caller
        then searches its caliper window directly).
        """
        a, b = int(self.lo[i]), int(self.hi[i])
        if b <= a:
            return np.empty(0, np.int64), np.empty(0)
        tree = self.trees[(a, b)]
        idx, kd = self.first[i]
        k = len(idx)
        n_block = b - a

        def keep(ix: np.ndarray) -> np.ndarray:
            ok = np.ones(len(ix), bool) if avail is None else avail[ix]
            if exclude is not None and len(exclude):
                ok &= ~np.isin(ix, exclude)
            if filt is not None:
                ok &= np.abs(filt[0][ix] - filt[1]) <= filt[2]
            return ok

        while True:
            ok = keep(idx)
            if ok.any():
                cand = idx[ok]
                d2 = _sq_dist(self.Zc[cand], zt)
                reach = float(d2.min())
                reach += _tie_tolerance(reach, zt)
                if k >= n_block or reach < (kd[-1] ** 2) * (1 - 1e-9):
                    return cand, d2
                # possible ties at the edge of the returned set: take the ball
                ball = np.asarray(tree.query_ball_point(zt, r=np.sqrt(reach) * (1 + 1e-9) + 1e-300),
                                  dtype=np.int64) + a
                cand = ball[keep(ball)]
                return cand, _sq_dist(self.Zc[cand], zt)
            if k >= n_block:
                return np.empty(0, np.int64), np.empty(0)
            k = min(4 * k, n_block)
            if k_limit is not None and k > k_limit:
                return None
            kd, ii = tree.query(zt, k=k)
            kd, ii = np.atleast_1d(kd), np.atleast_1d(ii)
            idx = a + ii
