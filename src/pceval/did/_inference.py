"""Inference from influence functions: analytic (optionally clustered) SEs, Wald tests and the
multiplier bootstrap with simultaneous (uniform) confidence bands.

Every estimator in :mod:`pceval.did` that is built from group-time cells keeps, for each
estimate ``k``, an influence function ``psi_ik`` over the ``n`` units such that
``theta_hat_k - theta_k ~ (1/n) sum_i psi_ik``. Then

* analytic SE: ``se_k = sqrt(sum_i psi_ik^2) / n``; clustered by ``c``:
  ``se_k = sqrt(G/(G-1) * sum_c (sum_{i in c} psi_ik)^2) / n`` (``G`` clusters; the
  ``G/(G-1)`` factor is the usual small-sample correction);
* multiplier bootstrap (Callaway & Sant'Anna 2021, section 4): draws
  ``delta_b = (1/n) sum_c v_bc S_c`` with Mammen's two-point weights ``v`` (mean 0, variance 1)
  and ``S_c`` the influence function summed over cluster ``c`` (each unit its own cluster when
  there is no clustering). The bootstrap SE is the interquartile range of ``delta_b`` divided
  by ``qnorm(0.75) - qnorm(0.25)``; the uniform band's critical value is the ``1 - alpha``
  quantile of ``max_k |delta_bk / se_k|``, so that all the intervals cover together.

Unclustered, this is R ``did``'s ``mboot``; with clusters of equal size it equals ``did``'s
cluster bootstrap (which averages rather than sums within clusters).

Where the multipliers come from. Each bootstrap row ``r`` (a unit, or a cluster when SEs are
clustered) draws its own stream, which depends only on the seed and on the text of the row's id:

1. the id's *canonical text* (:func:`canonical_texts`): ``str(id)``, with whole-number floats
   written as integers, so ``17``, ``17.0`` and ``"17"`` are the same text;
2. its key ``k_r``: a 64-bit hash of the text's Unicode code points ``c_1..c_L``:
   ``h_0 = 0x243F6A8885A308D3``, ``h_j = mix64(h_{j-1} XOR c_j)``,
   ``k_r = mix64(h_L + L * 0x9E3779B97F4A7C15 mod 2^64)`` (vectorised over the ids,
   :func:`id_keys`; until December 2026 this was BLAKE2b of the text, so draws made before
   then differ);
3. the seed word ``s``: ``numpy.random.SeedSequence(seed).generate_state(1, uint64)[0]``;
4. the stream: SplitMix64 (Steele, Lea & Flood 2014) started at ``z_r = mix64(k_r XOR s)``;
   its ``j``-th output (``j = 0, 1, ...``) is ``x_rj = mix64(z_r + (j + 1) * 0x9E3779B97F4A7C15
   mod 2^64)``, with ``mix64`` SplitMix64's finaliser; draw ``b = 4j + q`` (``q = 0..3``) uses
   the ``q``-th 16-bit lane of ``x_rj``, lowest first: ``u_rb = (x_rj >> 16q) AND 0xFFFF``,
   uniform on ``0..65535``;
5. the multiplier ``v_rb = a`` if ``u_rb < 47422`` else ``b``: so ``P(a) = q = 47422/65536``,
   which is Mammen's ``p = (sqrt 5 + 1)/(2 sqrt 5)`` rounded to 16 bits (``q - p = -4.5e-6``),
   and ``a = -sqrt((1 - q)/q)``, ``b = sqrt(q/(1 - q))``, the two points with that probability,
   mean 0 and variance 1 exactly (Mammen's ``(1 -/+ sqrt 5)/2`` to within 7e-6 and 1.8e-5; third
   moment 1 - 2.5e-5). Until December 2026 each draw used 32 bits (two per output) and Mammen's
   values; four per output halves the hashing. A perturbation of 1e-5 in the weights' law is far
   below the bootstrap's own Monte Carlo error (about 3% in an SE from 999 draws).

So a unit's multipliers do not depend on the row order of the data, on whether ids are read as
numbers or as text, on which other units are in the sample, or on ``n_boot`` (the first 999
draws of ``n_boot=1999`` are those of ``n_boot=999``). The draws ``(1/n) sum_r v_rb S_r`` are
computed in chunks of rows read from the (CSC) influence matrix in place; within a chunk the
rows are put in order by their first and last nonzero column (in ``att_gt``, a group's units are
nonzero only in its own cells and in the cells they are a comparison for), and each block of
rows with the same pattern (at most 2,048) is multiplied at once: its multipliers for all draws
(hashed in chunks that stay in cache) times its nonzero columns, one dense double-precision
matrix product (BLAS). ``att_gt`` puts units in a canonical order (:mod:`pceval.did._prepare`)
before that, so the band is the same bit for bit whatever the row order or the type of the ids.

The draws are linear in the influence functions, so a summary whose influence function is a
fixed linear map of the cells' (plus, for the aggregations, terms ``w_i f(G_i)`` from the
estimation of the group shares) has draws that are the same map of the cells' draws and of the
draws of the columns ``w_i 1{G_i = g}``: ``att_gt`` keeps those (``n_boot x (cells + groups)``,
1 MB at 999 draws and 114 cells), and an aggregation's band reads them instead of making a
second pass over the units. 999 draws at 100,000 units x 114 cells take about 0.75 s on one core
(``benchmarks/README.md``).
"""

from __future__ import annotations

import sys

import numpy as np
import scipy.sparse as sp

from pceval._distributions import stats

_SE_FLOOR = np.sqrt(np.finfo(float).eps) * 10
_MAMMEN_P = (np.sqrt(5) + 1) / (2 * np.sqrt(5))  # Mammen's P(low value)
_LANES = 4  # draws per 64-bit stream output: one per 16-bit lane
_LANE_BITS = 64 // _LANES
_LOW_BELOW = int(round(_MAMMEN_P * 2**_LANE_BITS))  # a lane below this draws the low value
_LOW_P = _LOW_BELOW / 2**_LANE_BITS  # so P(low) = 47422 / 65536 = p - 4.5e-6
# the two values with P(low) = _LOW_P, mean 0 and variance 1 exactly (third moment 1 - 2.5e-5):
# Mammen's (1 -/+ sqrt 5) / 2 to within 7e-6 (low) and 1.8e-5 (high)
_MAMMEN_LOW = -np.sqrt((1 - _LOW_P) / _LOW_P)
_MAMMEN_HIGH = np.sqrt(_LOW_P / (1 - _LOW_P))
_LOW_BELOW16 = np.uint16(_LOW_BELOW)
_LANE_MASK = np.uint64(2**_LANE_BITS - 1)
_LITTLE_ENDIAN = sys.byteorder == "little"
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # SplitMix64's increment
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_BLOCK_ROWS = 2048  # bootstrap rows (units or clusters) densified and multiplied at once
_CHUNK_CELLS = 131_072  # streams x stream outputs hashed at once: 1 MB, kept in cache
_CHUNK_VALUES = 2**21  # rows x columns densified at once (16 MB)
_TEXT_START = np.uint64(0x243F6A8885A308D3)  # an id hash's starting word (digits of pi)


def cluster_sums(inf: np.ndarray | sp.spmatrix, clusters: np.ndarray | None):
    """Sum an ``n x m`` influence-function matrix within clusters (codes ``0..G-1``)."""
    if clusters is None:
        return inf
    n_clusters = int(clusters.max()) + 1
    agg = sp.csr_matrix(
        (np.ones(len(clusters)), (clusters, np.arange(len(clusters)))),
        shape=(n_clusters, len(clusters)),
    )
    out = agg @ inf
    return out.toarray() if sp.issparse(out) else np.asarray(out)


def _squares_sum(m) -> np.ndarray:
    if sp.issparse(m):
        return np.asarray(m.multiply(m).sum(axis=0)).ravel()
    m = np.asarray(m)
    if m.ndim == 1:
        m = m[:, None]
    return np.einsum("ij,ij->j", m, m)


def analytic_se(inf, n: int, clusters: np.ndarray | None = None) -> np.ndarray:
    """Standard errors from influence functions (columns of ``inf``); NaN where degenerate."""
    s = cluster_sums(inf, clusters)
    ss = _squares_sum(s)
    if clusters is not None:
        g = s.shape[0]
        ss = ss * g / max(g - 1, 1)
    se = np.sqrt(ss) / n
    se[se <= _SE_FLOOR] = np.nan
    return se


def covariance(inf, n: int, clusters: np.ndarray | None = None) -> np.ndarray:
    """Covariance matrix of the estimates (``m x m``) from their influence functions."""
    s = cluster_sums(inf, clusters)
    if sp.issparse(s):
        v = np.asarray((s.T @ s).toarray()) / n**2
    else:
        s = np.asarray(s)
        v = s.T @ s / n**2
    if clusters is not None:
        g = s.shape[0]
        v = v * g / max(g - 1, 1)
    return v


def wald_test(estimates: np.ndarray, cov: np.ndarray) -> tuple[float, int, float]:
    """Joint test that all ``estimates`` are zero: ``W = b' V^+ b ~ chi2(rank V)``."""
    if len(estimates) == 0:
        return float("nan"), 0, float("nan")
    rank = int(np.linalg.matrix_rank(cov))
    if rank == 0:
        return float("nan"), 0, float("nan")
    stat = float(estimates @ np.linalg.pinv(cov) @ estimates)
    return stat, rank, float(stats.chi2.sf(stat, rank))


def canonical_texts(ids) -> np.ndarray:
    """The canonical text of each id: ``str(id)``, with whole-number floats written as integers
    (``17.0`` -> ``"17"``), so that an id reads the same whether stored as a number or as text."""
    ids = np.asarray(ids)
    if ids.dtype.kind in "iubU" or (ids.dtype.kind == "O" and len(ids) and all(
            type(v) is str for v in ids.tolist())):
        return ids.astype(str)
    if ids.dtype.kind == "f" and np.all(np.isfinite(ids) & (ids == np.round(ids))) and (
            len(ids) == 0 or np.abs(ids).max() < 2.0**63):
        return ids.astype(np.int64).astype(str)
    return np.array([_text(v) for v in ids.tolist()], dtype=str)


def _text(v) -> str:
    if isinstance(v, float) and np.isfinite(v) and v.is_integer():
        return str(int(v))
    return str(v)


def id_keys(ids) -> np.ndarray:
    """64-bit keys of ids, a hash of the code points of their canonical text
    (:func:`canonical_texts`): ``h = 0x243F6A8885A308D3``; for each code point ``c`` in turn,
    ``h = mix64(h XOR c)``; the key is ``mix64(h + L * 0x9E3779B97F4A7C15)`` for a text of ``L``
    code points (``mix64``: SplitMix64's finaliser, a bijection of 64-bit words). Vectorised
    over the ids (one pass per character position), so it costs a few milliseconds per 100,000
    ids."""
    texts = canonical_texts(ids)
    n = len(texts)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    if texts.dtype.itemsize == 0:  # every id empty
        texts = texts.astype("<U1")
    width = texts.dtype.itemsize // 4
    chars = texts.view(np.uint32).reshape(n, width)
    length = np.char.str_len(texts).astype(np.uint64)
    h = np.full(n, _TEXT_START, dtype=np.uint64)
    step, tmp = np.empty_like(h), np.empty_like(h)
    for j in range(width):
        active = length > j
        if not active.any():
            break
        np.bitwise_xor(h, chars[:, j].astype(np.uint64), out=step)
        _mix64(step, tmp)
        np.copyto(h, step, where=active)
    h += length * _GOLDEN
    _mix64(h, tmp)
    return h


def _mix64(z: np.ndarray, tmp: np.ndarray) -> None:
    """SplitMix64's finaliser, in place on a uint64 array (``tmp``: a work array like ``z``)."""
    np.right_shift(z, np.uint64(30), out=tmp)
    z ^= tmp
    z *= _MIX1
    np.right_shift(z, np.uint64(27), out=tmp)
    z ^= tmp
    z *= _MIX2
    np.right_shift(z, np.uint64(31), out=tmp)
    z ^= tmp


def stream_starts(keys: np.ndarray, seed: int) -> np.ndarray:
    """Each row's SplitMix64 starting state ``mix64(key XOR s)``, ``s`` the seed's word from
    :class:`numpy.random.SeedSequence`."""
    s = np.random.SeedSequence(seed).generate_state(1, dtype=np.uint64)[0]
    z = np.bitwise_xor(np.asarray(keys, dtype=np.uint64), s)
    _mix64(z, np.empty_like(z))
    return z


def _low_fill(starts: np.ndarray, first_out: int, last_out: int, out: np.ndarray,
              z: np.ndarray, tmp: np.ndarray) -> None:
    """``out[r, 4 j + q]`` = 1 if draw ``4 (first_out + j) + q`` of stream ``starts[r]`` is
    the low value, else 0 (``out``: bool or float, ``len(starts) x 4 (last_out - first_out)``).
    Output ``j`` of a stream is one SplitMix64 word; its 16-bit lanes, lowest first, give its
    four draws (``q = 0..3``). ``z`` and ``tmp``: uint64 work arrays of shape
    ``(len(starts), last_out - first_out)``."""
    steps = np.arange(first_out + 1, last_out + 1, dtype=np.uint64) * _GOLDEN
    np.add(starts[:, None], steps[None, :], out=z)
    _mix64(z, tmp)
    if _LITTLE_ENDIAN:  # the four 16-bit lanes of each word, read in place, lowest first
        np.less(z.view(np.uint16), _LOW_BELOW16, out=out)
        return
    lanes = out.reshape(*z.shape, _LANES)
    for q in range(_LANES):
        np.right_shift(z, np.uint64(_LANE_BITS * q), out=tmp)
        tmp &= _LANE_MASK
        np.less(tmp, np.uint64(_LOW_BELOW), out=lanes[..., q])


def _low_draws(starts: np.ndarray, first: int, last: int) -> np.ndarray:
    """``(last - first) x len(starts)``: is draw ``b`` (row ``b - first``) of each stream low?"""
    o0, o1 = first // _LANES, -(-last // _LANES)
    shape = (len(starts), o1 - o0)
    out = np.empty((len(starts), _LANES * (o1 - o0)), dtype=bool)
    _low_fill(starts, o0, o1, out, np.empty(shape, np.uint64), np.empty(shape, np.uint64))
    return out[:, first - _LANES * o0:last - _LANES * o0].T


def mammen_weights(starts: np.ndarray, first: int, last: int) -> np.ndarray:
    """Mammen multipliers of draws ``first..last-1`` (rows) for the streams ``starts``
    (columns): ``(last - first) x len(starts)``."""
    return np.where(_low_draws(starts, first, last), _MAMMEN_LOW, _MAMMEN_HIGH)


def _pattern_keys(s) -> tuple[np.ndarray, np.ndarray]:
    """Each row's first and last nonzero column (``m`` and ``-1`` for an all-zero row)."""
    n_rows, m = s.shape
    if sp.issparse(s):
        s = sp.csc_matrix(s)
        rows = s.indices
        cols = np.repeat(np.arange(m), np.diff(s.indptr))
        if not s.data.all():  # explicit zeros are not nonzero
            nz = s.data != 0
            rows, cols = rows[nz], cols[nz]
        first = np.full(n_rows, m, dtype=np.int64)
        last = np.full(n_rows, -1, dtype=np.int64)
        # columns ascend, so the last assignment to a row is its largest column; reversed,
        # its smallest
        last[rows] = cols
        first[rows[::-1]] = cols[::-1]
        return first, last
    nonzero = np.asarray(s) != 0
    some = nonzero.any(axis=1)
    return (np.where(some, nonzero.argmax(axis=1), m),
            np.where(some, m - 1 - nonzero[:, ::-1].argmax(axis=1), -1))


def _pattern_order(s) -> np.ndarray:
    """A stable order of the rows of ``s`` by their first, then their last nonzero column
    (all-zero rows last), so that a block of neighbouring rows shares few nonzero columns: in
    ``att_gt`` the units of one group sit together, nonzero only in their own group's cells
    (and in those they are a comparison for), apart from the never-treated units."""
    first, last = _pattern_keys(s)
    return np.lexsort((last, first))


def _blocks(first: np.ndarray, last: np.ndarray, size: int) -> list[tuple[int, int]]:
    """Blocks ``(b0, b1)`` of rows already in pattern order: a run of rows with the same first
    and last nonzero column is split into equal blocks of at most ``size`` rows; runs shorter
    than ``size // 8`` are joined to their neighbours (up to ``size`` rows), so that no block
    is multiplied by columns most of its rows do not have, and no product is tiny."""
    n_rows = len(first)
    change = np.flatnonzero((first[1:] != first[:-1]) | (last[1:] != last[:-1])) + 1
    bounds = np.concatenate([[0], change, [n_rows]]).tolist()
    out: list[tuple[int, int]] = []
    start = 0  # rows start.. not yet in a block
    for r0, r1 in zip(bounds[:-1], bounds[1:], strict=True):
        if r1 - r0 < size // 8:  # a short run: join it to the rows gathered so far
            if r1 - start > size:
                out.append((start, r0))
                start = r0
            continue
        if r0 > start:  # short runs gathered before this long one
            out.append((start, r0))
        parts = -(-(r1 - r0) // size)
        cuts = np.linspace(r0, r1, parts + 1).round().astype(int).tolist()
        out.extend(zip(cuts[:-1], cuts[1:], strict=True))
        start = r1
    if start < n_rows:
        out.append((start, n_rows))
    return out


def _row_chunks(s, extra):
    """Yield ``(lo, hi, rows lo..hi-1 of [s, extra] as a CSC matrix)``, in chunks of about
    ``_CHUNK_VALUES`` values. A sparse matrix is read in place as CSC (one slice per column and
    chunk), so no CSR or dense copy of the whole matrix is made."""
    mats = [sp.csc_matrix(m) for m in (s, extra) if m is not None]
    mats = [m if m.has_sorted_indices else m.sorted_indices() for m in mats]
    n_rows = s.shape[0]
    width = sum(m.shape[1] for m in mats)
    step = int(min(max(_CHUNK_VALUES // max(width, 1), _BLOCK_ROWS), 8 * _BLOCK_ROWS))
    edges = np.append(np.arange(0, n_rows, step), n_rows)
    # where each chunk starts in each column of each matrix
    cuts = [np.stack([np.searchsorted(m.indices[m.indptr[k]:m.indptr[k + 1]], edges)
                      + m.indptr[k] for k in range(m.shape[1])]) for m in mats]
    for c in range(len(edges) - 1):
        lo, hi = int(edges[c]), int(edges[c + 1])
        spans = [(m, a, b) for m, cut in zip(mats, cuts, strict=True)
                 for a, b in zip(cut[:, c].tolist(), cut[:, c + 1].tolist(), strict=True)]
        data = np.concatenate([m.data[a:b] for m, a, b in spans])
        rows = np.concatenate([m.indices[a:b] for m, a, b in spans]) - lo
        ptr = np.concatenate([[0], np.cumsum([b - a for _, a, b in spans])])
        yield lo, hi, sp.csc_matrix((data, rows, ptr), shape=(hi - lo, width))


def _bootstrap_draws(s, n: int, n_boot: int, starts: np.ndarray, extra=None) -> np.ndarray:
    """``n_boot x (m + e)`` draws ``(1/n) sum_r v_rb [s_r, extra_r]`` (``extra``: ``e`` more
    columns on the same rows, or None).

    The rows are read in chunks (:func:`_row_chunks`); within a chunk they are put in the order
    of :func:`_pattern_order` and taken in blocks of ``_BLOCK_ROWS``. For each block and each
    chunk of 256 draws, the multipliers are generated as 0/1 indicators ``L_rb`` of Mammen's low
    value (a block of 2,048 rows x 256 draws is 4 MB, so it is multiplied while still in cache),
    and one dense matrix product (BLAS) with the block's nonzero columns adds the block to
    those draws, through
    ``sum_r v_rb s_r = high * sum_r s_r + (low - high) * sum_r L_rb s_r``.
    Memory: ``O(n_boot x (_BLOCK_ROWS + m + e))`` beyond ``s`` and one chunk."""
    n_rows = s.shape[0]
    m = s.shape[1] + (0 if extra is None else extra.shape[1])
    if n_rows == 0 or n_boot == 0 or m == 0:
        return np.zeros((n_boot, m))
    draws_t = np.zeros((m, n_boot))  # columns x draws: each block adds whole rows
    outs = -(-n_boot // _LANES)  # stream outputs per row
    block = min(_BLOCK_ROWS, n_rows)
    chunk = max(1, _CHUNK_CELLS // block)
    # L: 1.0 where a draw is Mammen's low value, rows x draws for the rows of one block
    # (outs * 4 >= n_boot draws; the few past n_boot are dropped after the product)
    low = np.empty(block * min(chunk, outs) * _LANES)
    z = np.empty(block * min(chunk, outs), np.uint64)
    tmp = np.empty_like(z)
    for lo, _hi, part in _row_chunks(s, extra):
        first, last = _pattern_keys(part)
        order = np.lexsort((last, first))
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        # the chunk densified with its rows in pattern order (column-major, as CSC gives it)
        dense = sp.csc_matrix((part.data, rank[part.indices], part.indptr),
                              shape=part.shape).toarray(order="F")
        first, last = first[order], last[order]
        for b0, b1 in _blocks(first, last, block):
            c0, c1 = int(first[b0:b1].min()), int(last[b0:b1].max()) + 1
            if c1 <= c0:  # all-zero rows
                continue
            rows_dense = dense[b0:b1, c0:c1]
            nonzero = np.flatnonzero((rows_dense != 0).any(axis=0))
            cols: np.ndarray | slice
            if len(nonzero) < (c1 - c0) // 2:  # few of the columns in the range: take them
                rows_dense = rows_dense[:, nonzero]
                cols = nonzero + c0
            else:
                cols = slice(c0, c1)
            k = b1 - b0
            block_starts = starts[lo + order[b0:b1]]
            total = _MAMMEN_HIGH * rows_dense.sum(axis=0)[:, None]
            rows_t = rows_dense.T
            for o0 in range(0, outs, chunk):  # a chunk of draws: hashed, then multiplied
                o1 = min(o0 + chunk, outs)
                d0, d1 = _LANES * o0, min(_LANES * o1, n_boot)
                shape = (k, o1 - o0)  # contiguous work arrays of this shape
                is_low = low[:k * _LANES * shape[1]].reshape(k, _LANES * shape[1])
                _low_fill(block_starts, o0, o1, is_low, z[:k * shape[1]].reshape(shape),
                          tmp[:k * shape[1]].reshape(shape))
                add = rows_t @ is_low[:, :d1 - d0]  # columns x draws: sum_r s_r L_rb
                add *= _MAMMEN_LOW - _MAMMEN_HIGH
                add += total
                draws_t[cols, d0:d1] += add
    draws_t /= n
    return np.ascontiguousarray(draws_t.T)


def bootstrap_draws(inf, n: int, *, n_boot: int, seed: int, clusters: np.ndarray | None = None,
                    keys: np.ndarray | None = None, extra=None) -> np.ndarray:
    """The multiplier-bootstrap draws ``delta_b = (1/n) sum_r v_rb S_r`` (``n_boot x m``) of the
    columns of ``inf`` (then of ``extra``'s, if given: more columns over the same units), with
    ``S`` summed within ``clusters``. ``keys``: see :func:`multiplier_bootstrap`.

    Draws are linear in the influence functions: for an estimate whose influence function is
    ``inf @ a + extra @ c``, the draws are ``draws[:, :m] @ a + draws[:, m:] @ c`` exactly (up to
    rounding), with the same multipliers. The aggregations of ``att_gt`` are computed so."""
    s = cluster_sums(inf, clusters)
    e = None if extra is None else cluster_sums(extra, clusters)
    n_rows = s.shape[0]
    if keys is None:
        keys = id_keys(np.arange(n_rows))
    if len(keys) != n_rows:
        raise ValueError(f"multiplier_bootstrap: {len(keys)} keys for {n_rows} bootstrap rows")
    return _bootstrap_draws(s, n, n_boot, stream_starts(keys, seed), e)


def indicator_columns(codes: np.ndarray, weights: np.ndarray, levels: np.ndarray) -> sp.csc_matrix:
    """``n x len(levels)`` sparse matrix: column ``j`` holds ``weights_i 1{codes_i = levels_j}``
    (``att_gt`` uses it for ``w_i 1{G_i = g}``, the terms through which the estimation of the
    group shares enters an aggregation's influence function)."""
    codes = np.asarray(codes)
    levels = np.asarray(levels)
    j = np.searchsorted(levels, codes)
    j_ok = np.minimum(j, max(len(levels) - 1, 0))
    hit = np.flatnonzero((j < len(levels)) & (levels[j_ok] == codes)) if len(levels) else (
        np.zeros(0, dtype=np.int64))
    return sp.csc_matrix((np.asarray(weights, dtype=float)[hit], (hit, j[hit])),
                         shape=(len(codes), len(levels)))


def bootstrap_rows(inf, clusters: np.ndarray | None) -> int:
    """The number of bootstrap rows: clusters when SEs are clustered, else units."""
    if clusters is None:
        return int(inf.shape[0])
    return int(clusters.max()) + 1 if len(clusters) else 0


def band(draws: np.ndarray, alpha: float = 0.05) -> tuple[np.ndarray, float]:
    """Bootstrap SEs (interquartile range of each column's draws over ``qnorm(0.75) -
    qnorm(0.25)``) and the uniform band's critical value (the ``1 - alpha`` quantile of
    ``max_k |delta_bk / se_k|``) from ``n_boot x m`` draws."""
    q75, q25 = np.quantile(draws, [0.75, 0.25], axis=0, method="inverted_cdf")
    se = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    se[se <= _SE_FLOOR] = np.nan
    ok = np.isfinite(se)
    if not ok.any():
        return se, float("nan")
    t_max = np.max(np.abs(draws[:, ok] / se[ok]), axis=1)
    return se, float(np.quantile(t_max, 1 - alpha, method="inverted_cdf"))


def multiplier_bootstrap(
    inf, n: int, *, n_boot: int, seed: int, clusters: np.ndarray | None = None,
    keys: np.ndarray | None = None, alpha: float = 0.05, saved: dict | None = None,
    extra=None,
) -> tuple[np.ndarray, float]:
    """Bootstrap SEs and the uniform-band critical value for the columns of ``inf``.

    ``keys`` are the 64-bit keys (:func:`id_keys`) of the bootstrap rows: one per cluster
    (clusters coded ``0..G-1``) when ``clusters`` is given, else one per unit (row of ``inf``).
    Without keys, rows are keyed by their position (``id_keys(range(rows))``), so draws then
    depend on the row order. Returns ``(se, critical_value)``; memory stays ``O(n + n_boot m)``.

    ``saved``: a dict kept with the rows' keys (``att_gt`` keeps one on its result). The draws
    of ``inf``'s columns and of ``extra``'s (see :func:`bootstrap_draws`) are kept there under
    ``("mammen", seed, n_boot, rows)``, so that a later summary that is a linear map of them (an
    aggregation's band) needs no second pass over the units.
    """
    draws = bootstrap_draws(inf, n, n_boot=n_boot, seed=seed, clusters=clusters, keys=keys,
                            extra=extra)
    m = inf.shape[1]
    if saved is not None:
        saved[("mammen", seed, n_boot, bootstrap_rows(inf, clusters))] = {"draws": draws}
    return band(draws[:, :m], alpha)
