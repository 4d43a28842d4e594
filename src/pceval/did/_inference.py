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
2. its key ``k_r``: the first 8 bytes (little-endian) of BLAKE2b of that text in UTF-8
   (``digest_size=8``);
3. the seed word ``s``: ``numpy.random.SeedSequence(seed).generate_state(1, uint64)[0]``;
4. the stream: SplitMix64 (Steele, Lea & Flood 2014) started at ``z_r = mix64(k_r XOR s)``;
   draw ``b = 0, 1, ...`` is ``x_rb = mix64(z_r + (b + 1) * 0x9E3779B97F4A7C15 mod 2^64)``,
   with ``mix64`` SplitMix64's finaliser;
5. the Mammen weight ``v_rb = (1 - sqrt 5)/2`` if ``x_rb < floor(p 2^64)`` else
   ``(1 + sqrt 5)/2``, ``p = (sqrt 5 + 1)/(2 sqrt 5)``.

So a unit's multipliers do not depend on the row order of the data, on whether ids are read as
numbers or as text, on which other units are in the sample, or on ``n_boot`` (the first 999
draws of ``n_boot=1999`` are those of ``n_boot=999``). The draws ``(1/n) sum_r v_rb S_r`` are
computed in blocks of 256 rows (vectorised: a block's multipliers for up to 1,024 draws at
once, then one dense matrix product), summed in the order of the rows; ``att_gt`` puts units in a
canonical order (:mod:`pceval.did._prepare`), so the band is the same bit for bit whatever the
row order or the type of the ids.
"""

from __future__ import annotations

import hashlib

import numpy as np
import scipy.sparse as sp
from scipy import stats

_SE_FLOOR = np.sqrt(np.finfo(float).eps) * 10
_MAMMEN_LOW = (1 - np.sqrt(5)) / 2
_MAMMEN_HIGH = (1 + np.sqrt(5)) / 2
_MAMMEN_P = (np.sqrt(5) + 1) / (2 * np.sqrt(5))
_LOW_BELOW = np.uint64(int(_MAMMEN_P * 2.0**64))  # P(x < _LOW_BELOW) = _MAMMEN_P for uniform x
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # SplitMix64's increment
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_BLOCK_ROWS = 256  # bootstrap rows (units or clusters) densified at once
_CHUNK_CELLS = 262_144  # multipliers generated at once (draws x rows): 2 MB, kept in cache


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
    """64-bit keys of ids: BLAKE2b (8-byte digest, little-endian) of their canonical text."""
    texts = canonical_texts(ids)
    digests = b"".join(hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest()
                       for t in texts.tolist())
    return np.frombuffer(digests, dtype="<u8").astype(np.uint64)


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


def mammen_weights(starts: np.ndarray, first: int, last: int) -> np.ndarray:
    """Mammen multipliers of draws ``first..last-1`` (rows) for the streams ``starts``
    (columns): ``(last - first) x len(starts)``."""
    steps = np.arange(first + 1, last + 1, dtype=np.uint64) * _GOLDEN
    z = np.add.outer(steps, starts)
    _mix64(z, np.empty_like(z))
    return np.where(z < _LOW_BELOW, _MAMMEN_LOW, _MAMMEN_HIGH)


def _row_blocks(s, block: int):
    """Yield ``(lo, hi, dense rows lo..hi-1 of s)``; a sparse ``s`` is read column by column
    (CSC) without converting the whole matrix."""
    n_rows, m = s.shape
    if not sp.issparse(s):
        s = np.asarray(s)
        for lo in range(0, n_rows, block):
            yield lo, min(lo + block, n_rows), s[lo:lo + block]
        return
    s = sp.csc_matrix(s)
    if not s.has_sorted_indices:
        s = s.sorted_indices()
    indptr, indices, data = s.indptr, s.indices, s.data
    bounds = np.arange(0, n_rows + block, block).clip(max=n_rows)
    # splits[k, j]: where block j starts within column k's entries
    splits = np.stack([indptr[k] + np.searchsorted(indices[indptr[k]:indptr[k + 1]], bounds)
                       for k in range(m)]) if m else np.zeros((0, len(bounds)), np.int64)
    for j in range(len(bounds) - 1):
        lo, hi = int(bounds[j]), int(bounds[j + 1])
        if lo == hi:
            continue
        begin, lens = splits[:, j], splits[:, j + 1] - splits[:, j]
        total = int(lens.sum())
        offsets = np.cumsum(lens) - lens
        pos = np.repeat(begin - offsets, lens) + np.arange(total)
        dense = np.zeros((hi - lo, m))
        dense[indices[pos] - lo, np.repeat(np.arange(m), lens)] = data[pos]
        yield lo, hi, dense


def _bootstrap_draws(s, n: int, n_boot: int, starts: np.ndarray) -> np.ndarray:
    """``n_boot x m`` draws ``(1/n) sum_r v_rb s_r``: rows in blocks of ``_BLOCK_ROWS``, draws
    in chunks that keep the multipliers in cache; each draw sums the blocks in row order."""
    n_rows, m = s.shape
    block = min(_BLOCK_ROWS, max(n_rows, 1))
    chunk = max(1, _CHUNK_CELLS // block)
    draws = np.zeros((n_boot, m))
    for lo, hi, dense in _row_blocks(s, block):
        for b0 in range(0, n_boot, chunk):
            b1 = min(b0 + chunk, n_boot)
            draws[b0:b1] += mammen_weights(starts[lo:hi], b0, b1) @ dense
    draws /= n
    return draws


def multiplier_bootstrap(
    inf, n: int, *, n_boot: int, seed: int, clusters: np.ndarray | None = None,
    keys: np.ndarray | None = None, alpha: float = 0.05,
) -> tuple[np.ndarray, float]:
    """Bootstrap SEs and the uniform-band critical value for the columns of ``inf``.

    ``keys`` are the 64-bit keys (:func:`id_keys`) of the bootstrap rows: one per cluster
    (clusters coded ``0..G-1``) when ``clusters`` is given, else one per unit (row of ``inf``).
    Without keys, rows are keyed by their position (``id_keys(range(rows))``), so draws then
    depend on the row order. Returns ``(se, critical_value)``; memory stays ``O(n + n_boot m)``.
    """
    s = cluster_sums(inf, clusters)
    n_rows = s.shape[0]
    if keys is None:
        keys = id_keys(np.arange(n_rows))
    if len(keys) != n_rows:
        raise ValueError(f"multiplier_bootstrap: {len(keys)} keys for {n_rows} bootstrap rows")
    draws = _bootstrap_draws(s, n, n_boot, stream_starts(keys, seed))
    q75, q25 = np.quantile(draws, [0.75, 0.25], axis=0, method="inverted_cdf")
    se = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    se[se <= _SE_FLOOR] = np.nan
    ok = np.isfinite(se)
    if not ok.any():
        return se, float("nan")
    t_max = np.max(np.abs(draws[:, ok] / se[ok]), axis=1)
    crit = float(np.quantile(t_max, 1 - alpha, method="inverted_cdf"))
    return se, crit
