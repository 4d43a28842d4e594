"""MatchIt's Mahalanobis transform, computed with R's floating-point operations, bit for bit.

Why
---
MatchIt breaks ties in the Mahalanobis distance by rounding. Two controls at the same distance
from a treated person in exact arithmetic (one ten years older, one ten years younger) get
computed distances that differ in the last bit, and MatchIt's matcher takes the smaller. Which
one that is depends on every rounding in ``transform_covariates()``; on lalonde it decides 4
pairs with ``mahvars`` and 2 with ``distance = "mahalanobis"``. To give MatchIt's pairs,
:func:`matchit_mahalanobis` repeats R's arithmetic operation by operation:

* ``scale()``: ``colMeans`` (long-double sum), centring, ``sqrt(sum(x^2) / (n - 1))`` (long
  double sum);
* MatchIt's ``pooled_cov()``: each group centred at R's ``mean()`` (two-pass, long double),
  then ``stats::cov`` (two-pass long-double means and cross-products) times
  ``(n - 1) / (n - groups)``;
* ``det()`` and ``solve()``: LAPACK ``dgetrf`` (recursive ``dgetrf2``) and ``dgetrs`` with the
  reference BLAS (``dtrsm``, ``dgemm``);
* if ``det <= 1e-8``, MatchIt's ``generalized_inverse()``: R's ``svd()`` (LAPACK ``dgesdd``,
  path 5: ``dgebd2``, ``dbdsdc``/``dlasdq``/``dbdsqr``, ``dormbr``) and a reference ``dgemm``;
* ``chol(pivot = TRUE)``: LAPACK ``dpstf2``;
* ``tcrossprod()``: reference ``dgemm``.

The ports follow reference LAPACK/BLAS 3.11 (the libraries of R on Debian/Ubuntu, and the
algorithms of R's own bundled copies), compiled without fused multiply-add (x86-64). An R
linked to an optimised BLAS (OpenBLAS, MKL, Accelerate) rounds differently and may itself break
such ties differently. Beyond the sizes where LAPACK switches to blocked algorithms (64 columns
for the LU, 26 for the SVD) the standard numpy routines are used and agreement is to rounding
only. Checked bit for bit against R 4.2.2 / MatchIt 4.7.2 (tests/test_matching_mahvars.py).

Reference: MatchIt 4.7.2 ``R/dist_functions.R`` (``transform_covariates``, ``mahalanobize``),
``R/aux_functions.R`` (``pooled_cov``), ``R/utils.R`` (``generalized_inverse``); LAPACK 3.11.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.linalg import lapack

_EPS = np.finfo(float).eps


_LD = np.longdouble


def _ld_sum(v: np.ndarray) -> np.longdouble:
    """Left-to-right sum in long double, as R's C loops ``LDOUBLE s += x[i]``."""
    return np.cumsum(v.astype(_LD))[-1] if len(v) else _LD(0)


def _r_mean(v: np.ndarray) -> float:
    """R's ``mean()`` of a double vector (and ``cov``'s means): long-double two-pass mean."""
    n = _LD(len(v))
    s = _ld_sum(v) / n
    if np.isfinite(np.float64(s)):
        s = s + np.cumsum(v.astype(_LD) - s)[-1] / n
    return float(np.float64(s))


def _r_scale(X: np.ndarray) -> np.ndarray:
    """R's ``scale(X)``: centre at ``colMeans`` and divide by ``sqrt(sum(x^2) / (n - 1))``."""
    n = X.shape[0]
    center = np.array([np.float64(_ld_sum(X[:, j]) / _LD(n)) for j in range(X.shape[1])])
    Xc = X - center
    ss = np.array([np.float64(_ld_sum(Xc[:, j] * Xc[:, j])) for j in range(X.shape[1])])
    return Xc / np.sqrt(ss / max(1, n - 1))


def pooled_cov(X: np.ndarray, treat: np.ndarray) -> np.ndarray:
    """MatchIt's ``pooled_cov``: centre each group at its ``mean()``, then R's ``cov(X)``
    (``use = "everything"``) times ``(n - 1) / (n - groups)``."""
    X = X.astype(float, copy=True)
    groups = pd.unique(treat)
    for g in groups:
        m = treat == g
        Xg = X[m]
        for j in range(X.shape[1]):
            Xg[:, j] = Xg[:, j] - _r_mean(Xg[:, j])
        X[m] = Xg
    n, p = X.shape
    means = [_LD(_r_mean(X[:, j])) for j in range(p)]
    dev = [X[:, j].astype(_LD) - means[j] for j in range(p)]
    cov = np.empty((p, p))
    for i in range(p):
        for j in range(i + 1):
            cov[i, j] = cov[j, i] = np.float64(np.cumsum(dev[i] * dev[j])[-1] / _LD(n - 1))
    return cov * float(n - 1) / float(n - len(groups))


def _ref_dgetrf2(A: np.ndarray, ipiv: np.ndarray) -> int:
    """LU factorisation with partial pivoting, in place, as reference LAPACK's recursive
    ``DGETRF2`` with reference BLAS (0-based pivots). Returns LAPACK's ``info``."""
    m, n = A.shape
    if m == 1:
        ipiv[0] = 0
        return 1 if A[0, 0] == 0 else 0
    if n == 1:
        i = int(np.argmax(np.abs(A[:, 0])))           # IDAMAX: first largest |a|
        ipiv[0] = i
        if A[i, 0] == 0:
            return 1
        if i != 0:
            A[0, 0], A[i, 0] = A[i, 0], A[0, 0]
        if abs(A[0, 0]) >= np.finfo(float).tiny:
            A[1:, 0] = (1.0 / A[0, 0]) * A[1:, 0]      # DSCAL by the reciprocal
        else:
            A[1:, 0] = A[1:, 0] / A[0, 0]
        return 0
    n1 = min(m, n) // 2
    n2 = n - n1
    info = _ref_dgetrf2(A[:, :n1], ipiv[:n1])
    _ref_dlaswp(A[:, n1:], ipiv, 0, n1)
    _ref_dtrsm_lower_unit(A[:n1, :n1], A[:n1, n1:])
    for j in range(n2):                                  # DGEMM: A22 -= A21 A12, L in order
        for k in range(n1):
            A[n1:, n1 + j] = A[n1:, n1 + j] + (-A[k, n1 + j]) * A[n1:, k]
    info2 = _ref_dgetrf2(A[n1:, n1:], ipiv[n1:min(m, n)])
    if info == 0 and info2 > 0:
        info = info2 + n1
    ipiv[n1:min(m, n)] += n1
    _ref_dlaswp(A[:, :n1], ipiv, n1, min(m, n))
    return info


def _ref_dlaswp(A: np.ndarray, ipiv: np.ndarray, k1: int, k2: int) -> None:
    for k in range(k1, k2):
        p = ipiv[k]
        if p != k:
            A[[k, p], :] = A[[p, k], :]


def _ref_dtrsm_lower_unit(L: np.ndarray, B: np.ndarray) -> None:
    """``B := inv(L) B`` for unit lower-triangular ``L`` (reference ``DTRSM('L','L','N','U')``)."""
    m = L.shape[0]
    for j in range(B.shape[1]):
        for k in range(m):
            if B[k, j] != 0:
                B[k + 1:, j] = B[k + 1:, j] - B[k, j] * L[k + 1:, k]


def _ref_dtrsm_upper(U: np.ndarray, B: np.ndarray) -> None:
    """``B := inv(U) B`` for upper-triangular ``U`` (reference ``DTRSM('L','U','N','N')``)."""
    m = U.shape[0]
    for j in range(B.shape[1]):
        for k in range(m - 1, -1, -1):
            if B[k, j] != 0:
                B[k, j] = B[k, j] / U[k, k]
                B[:k, j] = B[:k, j] - B[k, j] * U[:k, k]


def _r_det_and_inverse(S: np.ndarray) -> tuple[float, np.ndarray | None]:
    """R's ``det(S)`` and ``solve(S)`` (LAPACK ``dgesv`` on the identity); the inverse is None
    if ``dgetrf`` finds ``S`` exactly singular."""
    p = S.shape[0]
    A = np.array(S, dtype=float, order="F", copy=True)
    ipiv = np.zeros(p, dtype=np.int64)
    info = _ref_dgetrf2(A, ipiv)
    if info > 0:
        return 0.0, None
    sign = -1.0 if int(np.sum(ipiv != np.arange(p))) % 2 else 1.0
    modulus = 0.0
    for i in range(p):
        modulus += float(np.log(abs(A[i, i])))
        if A[i, i] < 0:
            sign = -sign
    B = np.eye(p)
    _ref_dlaswp(B, ipiv, 0, p)
    _ref_dtrsm_lower_unit(A, B)
    _ref_dtrsm_upper(A, B)
    return sign * float(np.exp(modulus)), B


def _ref_dpstf2(S: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Pivoted Cholesky ``P' S P = R' R`` as R's ``chol(S, pivot = TRUE)`` (reference LAPACK
    ``DPSTF2``, upper, default tolerance): ``(R, 0-based pivot, rank)``. Like R, the
    trailing block after a rank deficiency is left as the algorithm leaves it."""
    n = S.shape[0]
    A = np.triu(np.array(S, dtype=float))
    piv = np.arange(n)
    diag = np.diag(A).copy()
    pvt = int(np.argmax(diag))
    ajj = A[pvt, pvt]
    if not ajj > 0:
        return A, piv, 0
    dstop = n * (_EPS / 2) * ajj                    # N * DLAMCH('Epsilon') * AJJ
    work = np.zeros(2 * n)
    for j in range(n):
        for i in range(j, n):
            if j > 0:
                work[i] = work[i] + A[j - 1, i] * A[j - 1, i]
            work[n + i] = A[i, i] - work[i]
        if j > 0:
            pvt = j + int(np.argmax(work[n + j: 2 * n]))
            ajj = work[n + pvt]
            if not ajj > dstop:
                A[j, j] = ajj
                return A, piv, j
        if j != pvt:
            A[pvt, pvt] = A[j, j]
            A[:j, [j, pvt]] = A[:j, [pvt, j]]
            if pvt < n - 1:
                A[[j, pvt], pvt + 1:] = A[[pvt, j], pvt + 1:]
            tmp = A[j, j + 1:pvt].copy()
            A[j, j + 1:pvt] = A[j + 1:pvt, pvt]
            A[j + 1:pvt, pvt] = tmp
            work[j], work[pvt] = work[pvt], work[j]
            piv[j], piv[pvt] = piv[pvt], piv[j]
        ajj = float(np.sqrt(ajj))
        A[j, j] = ajj
        if j < n - 1:
            for c in range(j + 1, n):                # DGEMV('T'): sequential dot products
                temp = 0.0
                for i in range(j):
                    temp = temp + A[i, c] * A[i, j]
                A[j, c] = A[j, c] + (-temp)
            A[j, j + 1:] = (1.0 / ajj) * A[j, j + 1:]   # DSCAL by the reciprocal
    return A, piv, n


# --- R's svd(): LAPACK dgesdd (JOBZ = "S", square, path 5) with the reference BLAS ------------
# Used only for MatchIt's generalized inverse of a singular covariance matrix (e.g. a full set
# of factor dummies). A literal port of reference LAPACK 3.11 (dgebd2, dlarfg, dlarf, dbdsdc
# for n <= 25, dlasdq, dbdsqr, dlartg, dlas2, dlasv2, dlasr, dorm2r, dorml2) and reference BLAS
# (dnrm2, dgemv, dger, drot), operation by operation, so that the result is bit-for-bit R's.

_SAFMIN = 2.0 ** -1022                      # DLAMCH('S')
_LEPS = 2.0 ** -53                          # DLAMCH('E')
_HUGE = float(np.finfo(float).max)


def _sign(a: float, b: float) -> float:
    """Fortran ``SIGN(a, b)``."""
    return math.copysign(abs(a), b)


def _dnrm2(x: np.ndarray) -> float:
    tsml, tbig, ssml, sbig = 2.0 ** -511, 2.0 ** 486, 2.0 ** 537, 2.0 ** -538
    asml = amed = abig = 0.0
    notbig = True
    for v in x.tolist():
        ax = abs(v)
        if ax > tbig:
            abig = abig + (ax * sbig) * (ax * sbig)
            notbig = False
        elif ax < tsml:
            if notbig:
                asml = asml + (ax * ssml) * (ax * ssml)
        else:
            amed = amed + ax * ax
    if abig > 0:
        if amed > 0 or amed != amed:
            abig = abig + (amed * sbig) * sbig
        scl, sumsq = 1.0 / sbig, abig
    elif asml > 0:
        if amed > 0 or amed != amed:
            amed = math.sqrt(amed)
            asml = math.sqrt(asml) / ssml
            ymin, ymax = (amed, asml) if asml > amed else (asml, amed)
            scl, sumsq = 1.0, ymax * ymax * (1.0 + (ymin / ymax) * (ymin / ymax))
        else:
            scl, sumsq = 1.0 / ssml, asml
    else:
        scl, sumsq = 1.0, amed
    return scl * math.sqrt(sumsq)


def _dlapy2(x: float, y: float) -> float:
    xa, ya = abs(x), abs(y)
    w, z = max(xa, ya), min(xa, ya)
    if z == 0 or w > _HUGE:
        return w
    return w * math.sqrt(1.0 + (z / w) * (z / w))


def _dlarfg(alpha: float, x: np.ndarray) -> tuple[float, float]:
    """Householder reflector; ``x`` is overwritten with ``v[1:]``; returns (beta, tau)."""
    if len(x) == 0:
        return alpha, 0.0
    xnorm = _dnrm2(x)
    if xnorm == 0:
        return alpha, 0.0
    beta = -_sign(_dlapy2(alpha, xnorm), alpha)
    safmin = _SAFMIN / _LEPS
    knt = 0
    if abs(beta) < safmin:
        rsafmn = 1.0 / safmin
        while True:
            knt += 1
            x[:] = rsafmn * x
            beta = beta * rsafmn
            alpha = alpha * rsafmn
            if not (abs(beta) < safmin and knt < 20):
                break
        xnorm = _dnrm2(x)
        beta = -_sign(_dlapy2(alpha, xnorm), alpha)
    tau = (beta - alpha) / beta
    x[:] = (1.0 / (alpha - beta)) * x
    for _ in range(knt):
        beta = beta * safmin
    return beta, tau


def _dlarf_left(v: np.ndarray, tau: float, C: np.ndarray) -> None:
    """``C := (I - tau v v') C`` (DGEMV 'T' then DGER)."""
    if tau == 0:
        return
    work = np.zeros(C.shape[1])
    for i in range(C.shape[0]):
        work = work + C[i, :] * v[i]
    for j in range(C.shape[1]):
        if work[j] != 0:
            C[:, j] = C[:, j] + v * ((-tau) * work[j])


def _dlarf_right(v: np.ndarray, tau: float, C: np.ndarray) -> None:
    """``C := C (I - tau v v')`` (DGEMV 'N' then DGER)."""
    if tau == 0:
        return
    work = np.zeros(C.shape[0])
    for j in range(C.shape[1]):
        work = work + v[j] * C[:, j]
    for j in range(C.shape[1]):
        if v[j] != 0:
            C[:, j] = C[:, j] + work * ((-tau) * v[j])


def _dlartg(f: float, g: float) -> tuple[float, float, float]:
    rtmin, rtmax = math.sqrt(_SAFMIN), math.sqrt((1.0 / _SAFMIN) / 2)
    f1, g1 = abs(f), abs(g)
    if g == 0:
        return 1.0, 0.0, f
    if f == 0:
        return 0.0, _sign(1.0, g), g1
    if rtmin < f1 < rtmax and rtmin < g1 < rtmax:
        d = math.sqrt(f * f + g * g)
        c = f1 / d
        r = _sign(d, f)
        return c, g / r, r
    u = min(1.0 / _SAFMIN, max(_SAFMIN, f1, g1))
    fs, gs = f / u, g / u
    d = math.sqrt(fs * fs + gs * gs)
    c = abs(fs) / d
    r = _sign(d, f)
    s = gs / r
    return c, s, r * u


def _dlas2(f: float, g: float, h: float) -> tuple[float, float]:
    fa, ga, ha = abs(f), abs(g), abs(h)
    fhmn, fhmx = min(fa, ha), max(fa, ha)
    if fhmn == 0:
        if fhmx == 0:
            return 0.0, ga
        q = min(fhmx, ga) / max(fhmx, ga)
        return 0.0, max(fhmx, ga) * math.sqrt(1.0 + q * q)
    if ga < fhmx:
        as_ = 1.0 + fhmn / fhmx
        at = (fhmx - fhmn) / fhmx
        q = ga / fhmx
        au = q * q
        c = 2.0 / (math.sqrt(as_ * as_ + au) + math.sqrt(at * at + au))
        return fhmn * c, fhmx / c
    au = fhmx / ga
    if au == 0:
        return (fhmn * fhmx) / ga, ga
    as_ = 1.0 + fhmn / fhmx
    at = (fhmx - fhmn) / fhmx
    c = 1.0 / (math.sqrt(1.0 + (as_ * au) * (as_ * au)) + math.sqrt(1.0 + (at * au) * (at * au)))
    ssmin = (fhmn * c) * au
    return ssmin + ssmin, ga / (c + c)


def _dlasv2(f: float, g: float, h: float) -> tuple[float, float, float, float, float, float]:
    """Returns (ssmin, ssmax, snr, csr, snl, csl)."""
    ft, fa, ht, ha = f, abs(f), h, abs(h)
    pmax = 1
    swap = ha > fa
    if swap:
        pmax = 3
        ft, ht = ht, ft
        fa, ha = ha, fa
    gt, ga = g, abs(g)
    if ga == 0:
        ssmin, ssmax, clt, crt, slt, srt = ha, fa, 1.0, 1.0, 0.0, 0.0
    else:
        gasmal = True
        if ga > fa:
            pmax = 2
            if (fa / ga) < _LEPS:
                gasmal = False
                ssmax = ga
                ssmin = fa / (ga / ha) if ha > 1 else (fa / ga) * ha
                clt, slt, srt, crt = 1.0, ht / gt, 1.0, ft / gt
        if gasmal:
            d = fa - ha
            l_ = 1.0 if d == fa else d / fa
            m = gt / ft
            t = 2.0 - l_
            mm, tt = m * m, t * t
            s = math.sqrt(tt + mm)
            r = abs(m) if l_ == 0 else math.sqrt(l_ * l_ + mm)
            a = 0.5 * (s + r)
            ssmin, ssmax = ha / a, fa * a
            if mm == 0:
                if l_ == 0:
                    t = _sign(2.0, ft) * _sign(1.0, gt)
                else:
                    t = gt / _sign(d, ft) + m / t
            else:
                t = (m / (s + t) + m / (r + l_)) * (1.0 + a)
            l_ = math.sqrt(t * t + 4.0)
            crt = 2.0 / l_
            srt = t / l_
            clt = (crt + srt * m) / a
            slt = (ht / ft) * srt / a
    if swap:
        csl, snl, csr, snr = srt, crt, slt, clt
    else:
        csl, snl, csr, snr = clt, slt, crt, srt
    if pmax == 1:
        tsign = _sign(1.0, csr) * _sign(1.0, csl) * _sign(1.0, f)
    elif pmax == 2:
        tsign = _sign(1.0, snr) * _sign(1.0, csl) * _sign(1.0, g)
    else:
        tsign = _sign(1.0, snr) * _sign(1.0, snl) * _sign(1.0, h)
    ssmax = _sign(ssmax, tsign)
    ssmin = _sign(ssmin, tsign * _sign(1.0, f) * _sign(1.0, h))
    return ssmin, ssmax, snr, csr, snl, csl


def _dlasr_rows(A: np.ndarray, c: list, s: list, forward: bool) -> None:
    """DLASR('L', 'V', F/B): plane rotations of adjacent rows of ``A``."""
    js = range(A.shape[0] - 1) if forward else range(A.shape[0] - 2, -1, -1)
    for j in js:
        ct, st = c[j], s[j]
        if ct != 1 or st != 0:
            t = A[j + 1, :].copy()
            a = A[j, :].copy()
            A[j + 1, :] = ct * t - st * a
            A[j, :] = st * t + ct * a


def _dlasr_cols(A: np.ndarray, c: list, s: list, forward: bool) -> None:
    """DLASR('R', 'V', F/B): plane rotations of adjacent columns of ``A``."""
    js = range(A.shape[1] - 1) if forward else range(A.shape[1] - 2, -1, -1)
    for j in js:
        ct, st = c[j], s[j]
        if ct != 1 or st != 0:
            t = A[:, j + 1].copy()
            a = A[:, j].copy()
            A[:, j + 1] = ct * t - st * a
            A[:, j] = st * t + ct * a


def _drot(x: np.ndarray, y: np.ndarray, c: float, s: float) -> None:
    t = c * x + s * y
    y[:] = c * y - s * x
    x[:] = t


def _dbdsqr_upper(d: list, e: list, VT: np.ndarray, U: np.ndarray) -> int:
    """Singular values of an upper bidiagonal matrix with vectors (NCVT = NRU = n, NCC = 0).
    ``d`` and ``e`` are 1-based lists (index 0 unused); VT and U are updated in place."""
    n = len(d) - 1
    maxitr = 6
    if n > 1:
        nm1 = n - 1
        nm12 = nm1 + nm1
        nm13 = nm12 + nm1
        work = [0.0] * (4 * n + 1)               # 1-based
        idir = 0
        eps = _LEPS
        unfl = _SAFMIN
        tolmul = max(10.0, min(100.0, eps ** -0.125))
        tol = tolmul * eps
        smax = 0.0
        for i in range(1, n + 1):
            smax = max(smax, abs(d[i]))
        for i in range(1, n):
            smax = max(smax, abs(e[i]))
        sminoa = abs(d[1])
        if sminoa != 0:
            mu = sminoa
            for i in range(2, n + 1):
                mu = abs(d[i]) * (mu / (mu + abs(e[i - 1])))
                sminoa = min(sminoa, mu)
                if sminoa == 0:
                    break
        sminoa = sminoa / math.sqrt(float(n))
        thresh = max(tol * sminoa, maxitr * (n * (n * unfl)))
        maxitdivn = maxitr * n
        iterdivn = 0
        itr = -1
        oldll = -1
        oldm = -1
        m = n
        sminl = 0.0
        while True:                                                  # label 60
            if m <= 1:
                break
            if itr >= n:
                itr = itr - n
                iterdivn += 1
                if iterdivn >= maxitdivn:
                    return sum(1 for i in range(1, n) if e[i] != 0)
            smax = abs(d[m])
            smin = smax
            ll = 0
            split = False
            for lll in range(1, m):
                ll = m - lll
                abss = abs(d[ll])
                abse = abs(e[ll])
                if abse <= thresh:
                    split = True
                    break
                smin = min(smin, abss)
                smax = max(smax, abss, abse)
            if split:                                                # label 80
                e[ll] = 0.0
                if ll == m - 1:
                    m = m - 1
                    continue
            else:
                ll = 0
            ll = ll + 1                                              # label 90
            if ll == m - 1:
                sigmn, sigmx, sinr, cosr, sinl, cosl = _dlasv2(d[m - 1], e[m - 1], d[m])
                d[m - 1] = sigmx
                e[m - 1] = 0.0
                d[m] = sigmn
                _drot(VT[m - 2, :], VT[m - 1, :], cosr, sinr)
                _drot(U[:, m - 2], U[:, m - 1], cosl, sinl)
                m = m - 2
                continue
            if ll > oldm or m < oldll:
                idir = 1 if abs(d[ll]) >= abs(d[m]) else 2
            restart = False
            if idir == 1:
                if abs(e[m - 1]) <= abs(tol) * abs(d[m]):
                    e[m - 1] = 0.0
                    continue
                mu = abs(d[ll])
                sminl = mu
                for lll in range(ll, m):
                    if abs(e[lll]) <= tol * mu:
                        e[lll] = 0.0
                        restart = True
                        break
                    mu = abs(d[lll + 1]) * (mu / (mu + abs(e[lll])))
                    sminl = min(sminl, mu)
            else:
                if abs(e[ll]) <= abs(tol) * abs(d[ll]):
                    e[ll] = 0.0
                    continue
                mu = abs(d[m])
                sminl = mu
                for lll in range(m - 1, ll - 1, -1):
                    if abs(e[lll]) <= tol * mu:
                        e[lll] = 0.0
                        restart = True
                        break
                    mu = abs(d[lll]) * (mu / (mu + abs(e[lll])))
                    sminl = min(sminl, mu)
            if restart:
                continue
            oldll = ll
            oldm = m
            if n * tol * (sminl / smax) <= max(eps, 0.01 * tol):
                shift = 0.0
            else:
                if idir == 1:
                    sll = abs(d[ll])
                    shift, _r = _dlas2(d[m - 1], e[m - 1], d[m])
                else:
                    sll = abs(d[m])
                    shift, _r = _dlas2(d[ll], e[ll], d[ll + 1])
                if sll > 0:
                    q = shift / sll
                    if q * q < eps:
                        shift = 0.0
            itr = itr + m - ll
            k = m - ll + 1                                 # rows/columns rotated
            if shift == 0:
                if idir == 1:
                    cs = 1.0
                    oldcs = 1.0
                    oldsn = 0.0
                    for i in range(ll, m):
                        cs, sn, r = _dlartg(d[i] * cs, e[i])
                        if i > ll:
                            e[i - 1] = oldsn * r
                        oldcs, oldsn, d[i] = _dlartg(oldcs * r, d[i + 1] * sn)
                        work[i - ll + 1] = cs
                        work[i - ll + 1 + nm1] = sn
                        work[i - ll + 1 + nm12] = oldcs
                        work[i - ll + 1 + nm13] = oldsn
                    h = d[m] * cs
                    d[m] = h * oldcs
                    e[m - 1] = h * oldsn
                    _dlasr_rows(VT[ll - 1:ll - 1 + k, :], work[1:], work[n:], True)
                    _dlasr_cols(U[:, ll - 1:ll - 1 + k], work[nm12 + 1:], work[nm13 + 1:], True)
                    if abs(e[m - 1]) <= thresh:
                        e[m - 1] = 0.0
                else:
                    cs = 1.0
                    oldcs = 1.0
                    oldsn = 0.0
                    for i in range(m, ll, -1):
                        cs, sn, r = _dlartg(d[i] * cs, e[i - 1])
                        if i < m:
                            e[i] = oldsn * r
                        oldcs, oldsn, d[i] = _dlartg(oldcs * r, d[i - 1] * sn)
                        work[i - ll] = cs
                        work[i - ll + nm1] = -sn
                        work[i - ll + nm12] = oldcs
                        work[i - ll + nm13] = -oldsn
                    h = d[ll] * cs
                    d[ll] = h * oldcs
                    e[ll] = h * oldsn
                    _dlasr_rows(VT[ll - 1:ll - 1 + k, :], work[nm12 + 1:], work[nm13 + 1:], False)
                    _dlasr_cols(U[:, ll - 1:ll - 1 + k], work[1:], work[n:], False)
                    if abs(e[ll]) <= thresh:
                        e[ll] = 0.0
            else:
                if idir == 1:
                    f = (abs(d[ll]) - shift) * (_sign(1.0, d[ll]) + shift / d[ll])
                    g = e[ll]
                    for i in range(ll, m):
                        cosr, sinr, r = _dlartg(f, g)
                        if i > ll:
                            e[i - 1] = r
                        f = cosr * d[i] + sinr * e[i]
                        e[i] = cosr * e[i] - sinr * d[i]
                        g = sinr * d[i + 1]
                        d[i + 1] = cosr * d[i + 1]
                        cosl, sinl, r = _dlartg(f, g)
                        d[i] = r
                        f = cosl * e[i] + sinl * d[i + 1]
                        d[i + 1] = cosl * d[i + 1] - sinl * e[i]
                        if i < m - 1:
                            g = sinl * e[i + 1]
                            e[i + 1] = cosl * e[i + 1]
                        work[i - ll + 1] = cosr
                        work[i - ll + 1 + nm1] = sinr
                        work[i - ll + 1 + nm12] = cosl
                        work[i - ll + 1 + nm13] = sinl
                    e[m - 1] = f
                    _dlasr_rows(VT[ll - 1:ll - 1 + k, :], work[1:], work[n:], True)
                    _dlasr_cols(U[:, ll - 1:ll - 1 + k], work[nm12 + 1:], work[nm13 + 1:], True)
                    if abs(e[m - 1]) <= thresh:
                        e[m - 1] = 0.0
                else:
                    f = (abs(d[m]) - shift) * (_sign(1.0, d[m]) + shift / d[m])
                    g = e[m - 1]
                    for i in range(m, ll, -1):
                        cosr, sinr, r = _dlartg(f, g)
                        if i < m:
                            e[i] = r
                        f = cosr * d[i] + sinr * e[i - 1]
                        e[i - 1] = cosr * e[i - 1] - sinr * d[i]
                        g = sinr * d[i - 1]
                        d[i - 1] = cosr * d[i - 1]
                        cosl, sinl, r = _dlartg(f, g)
                        d[i] = r
                        f = cosl * e[i - 1] + sinl * d[i - 1]
                        d[i - 1] = cosl * d[i - 1] - sinl * e[i - 1]
                        if i > ll + 1:
                            g = sinl * e[i - 2]
                            e[i - 2] = cosl * e[i - 2]
                        work[i - ll] = cosr
                        work[i - ll + nm1] = -sinr
                        work[i - ll + nm12] = cosl
                        work[i - ll + nm13] = -sinl
                    e[ll] = f
                    if abs(e[ll]) <= thresh:
                        e[ll] = 0.0
                    _dlasr_rows(VT[ll - 1:ll - 1 + k, :], work[nm12 + 1:], work[nm13 + 1:], False)
                    _dlasr_cols(U[:, ll - 1:ll - 1 + k], work[1:], work[n:], False)
    # label 160: make singular values positive, sort decreasing
    for i in range(1, n + 1):
        if d[i] < 0:
            d[i] = -d[i]
            VT[i - 1, :] = -1.0 * VT[i - 1, :]
    for i in range(1, n):
        isub = 1
        smin = d[1]
        for j in range(2, n + 2 - i):
            if d[j] <= smin:
                isub = j
                smin = d[j]
        if isub != n + 1 - i:
            d[isub] = d[n + 1 - i]
            d[n + 1 - i] = smin
            VT[[isub - 1, n - i], :] = VT[[n - i, isub - 1], :]
            U[:, [isub - 1, n - i]] = U[:, [n - i, isub - 1]]
    return 0


def _r_svd(S: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R's ``svd(S)`` of a square matrix with n <= 25: ``(d, u, v)`` bit-for-bit as LAPACK
    ``dgesdd`` (reference 3.11, JOBZ = 'S', path 5) computes them."""
    A = np.array(S, dtype=float, copy=True)
    n = A.shape[0]
    anrm = float(np.max(np.abs(A))) if A.size else 0.0
    smlnum = math.sqrt(_SAFMIN) / _LEPS
    if (0 < anrm < smlnum) or anrm > 1.0 / smlnum or not 2 <= n <= 25:
        raise NotImplementedError
    # DGEBD2 (m = n): bidiagonalise
    dd = [0.0] * n
    ee = [0.0] * max(n - 1, 0)
    tauq = [0.0] * n
    taup = [0.0] * n
    for i in range(n):
        beta, tauq[i] = _dlarfg(A[i, i], A[i + 1:, i])
        A[i, i] = beta
        dd[i] = A[i, i]
        A[i, i] = 1.0
        if i < n - 1:
            _dlarf_left(A[i:, i], tauq[i], A[i:, i + 1:])
        A[i, i] = dd[i]
        if i < n - 1:
            beta, taup[i] = _dlarfg(A[i, i + 1], A[i, i + 2:])
            A[i, i + 1] = beta
            ee[i] = A[i, i + 1]
            A[i, i + 1] = 1.0
            _dlarf_right(A[i, i + 1:], taup[i], A[i + 1:, i + 1:])
            A[i, i + 1] = ee[i]
        else:
            taup[i] = 0.0
    # DBDSDC('U', 'I') with n <= SMLSIZ: DLASDQ -> DBDSQR, then its sorts
    U = np.zeros((n, n))
    VT = np.zeros((n, n))
    if n == 1:
        U[0, 0] = _sign(1.0, dd[0])
        VT[0, 0] = 1.0
        dd[0] = abs(dd[0])
        d1 = [0.0, dd[0]]
    else:
        U[:] = np.eye(n)
        VT[:] = np.eye(n)
        d1 = [0.0, *dd]
        e1 = [0.0, *ee]
        info = _dbdsqr_upper(d1, e1, VT, U)
        if info:
            raise NotImplementedError
        for i in range(1, n + 1):                      # DLASDQ: ascending
            isub, smin = i, d1[i]
            for j in range(i + 1, n + 1):
                if d1[j] < smin:
                    isub, smin = j, d1[j]
            if isub != i:
                d1[isub] = d1[i]
                d1[i] = smin
                VT[[isub - 1, i - 1], :] = VT[[i - 1, isub - 1], :]
                U[:, [isub - 1, i - 1]] = U[:, [i - 1, isub - 1]]
    for ii in range(2, n + 1):                         # DBDSDC: decreasing
        i = ii - 1
        kk, p = i, d1[i]
        for j in range(ii, n + 1):
            if d1[j] > p:
                kk, p = j, d1[j]
        if kk != i:
            d1[kk] = d1[i]
            d1[i] = p
            U[:, [i - 1, kk - 1]] = U[:, [kk - 1, i - 1]]
            VT[[i - 1, kk - 1], :] = VT[[kk - 1, i - 1], :]
    # DORMBR('Q', 'L', 'N'): U := Q U  (DORM2R, reflectors applied last to first)
    for i in range(n - 1, -1, -1):
        aii = A[i, i]
        A[i, i] = 1.0
        _dlarf_left(A[i:, i], tauq[i], U[i:, :])
        A[i, i] = aii
    # DORMBR('P', 'R', 'T'): VT := VT P'  (DORML2 on A(1,2), VT(1,2), last to first)
    for i in range(n - 2, -1, -1):
        aii = A[i, i + 1]
        A[i, i + 1] = 1.0
        _dlarf_right(A[i, i + 1:], taup[i], VT[:, i + 1:])
        A[i, i + 1] = aii
    return np.array(d1[1:]), U, VT.T


def _generalized_inverse(S: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    """MatchIt's ``generalized_inverse``: ``v[, pos] %*% (d[pos]^-1 * t(u[, pos]))`` from R's
    ``svd(S)``, keeping singular values above ``tol`` times the largest; the product is
    accumulated as the reference ``dgemm`` does."""
    try:
        d, u, v = _r_svd(S)
    except NotImplementedError:  # more than 25 columns or extreme scaling: not bit-for-bit
        u, d, vt = np.linalg.svd(S)
        v = vt.T
    pos = d > max(tol * d[0], 0.0)
    B = (1.0 / d[pos])[:, None] * u[:, pos].T
    V = v[:, pos]
    G = np.zeros((V.shape[0], B.shape[1]))
    for j in range(B.shape[1]):
        for k in range(V.shape[1]):
            G[:, j] = G[:, j] + B[k, j] * V[:, k]
    return G


def _tcrossprod(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """R's ``tcrossprod(X, Y)`` = ``X Y'`` with the reference ``dgemm``: each entry summed over
    the columns in order, starting from zero."""
    Z = np.zeros((X.shape[0], Y.shape[0]))
    for j in range(Y.shape[0]):
        z = Z[:, j]
        for k in range(X.shape[1]):
            if Y[j, k] != 0:            # adding 0 * x leaves the sum exactly as it is
                z += Y[j, k] * X[:, k]
    return Z


def factor_dummy_columns(X: np.ndarray) -> np.ndarray:
    """Columns of ``X`` that look like a full set of factor dummies: two or more adjacent 0/1
    columns with exactly one 1 in every row (how ``model_matrix(contrasts=False)`` codes a
    factor). Used when the caller does not say which columns came from factors."""
    p = X.shape[1]
    binary = [bool(np.all((X[:, j] == 0) | (X[:, j] == 1))) for j in range(p)]
    out = np.zeros(p, dtype=bool)
    j = 0
    while j < p:
        found = 0
        if binary[j]:
            total = X[:, j].copy()
            for k in range(j + 1, p):
                if not binary[k]:
                    break
                total += X[:, k]
                if np.all(total == 1):
                    found = k - j + 1
                    break
                if np.any(total > 1):
                    break
        if found:
            out[j:j + found] = True
            j += found
        else:
            j += 1
    return out


def matchit_mahalanobis(X: np.ndarray, treat: np.ndarray, keep: np.ndarray,
                        factor_columns: np.ndarray) -> np.ndarray:
    """MatchIt's ``transform_covariates(method = "mahalanobis")``, bit for bit (see module doc).

    ``X`` holds the covariate columns (factors as a full set of 0/1 dummies, flagged in
    ``factor_columns``; MatchIt divides those by ``sqrt(2)``), ``keep`` the people not
    discarded (the covariance uses only them; every row is transformed).
    """
    X = np.array(X, dtype=float)
    n = X.shape[0]
    if factor_columns.any():
        X[:, factor_columns] = X[:, factor_columns] * (1.0 / math.sqrt(2.0))
    no_var = np.abs(X.max(axis=0) - X.min(axis=0)) < math.sqrt(_EPS)
    if no_var.all():
        return np.zeros((n, 1))
    Xs = _r_scale(X[:, ~no_var])
    S = pooled_cov(Xs[keep], treat[keep])
    p = S.shape[0]
    if p < 64:
        det, inv = _r_det_and_inverse(S)
        if inv is None or not det > 1e-8:
            inv = _generalized_inverse(S)
        R, piv, rank = _ref_dpstf2(inv)
        if rank < p:
            # R leaves the unfactored trailing block as dpstf2 left it; the residual on its
            # first diagonal element is kept (as R has it) and the rest, untouched entries of
            # S^-1 when two or more rows were left, is zeroed so that distances stay
            # Mahalanobis distances
            residual = R[rank, rank]
            R[rank:, rank:] = 0.0
            R[rank, rank] = residual
    else:  # pragma: no cover - LAPACK's blocked algorithms are not ported
        inv = np.linalg.inv(S) if np.linalg.det(S) > 1e-8 else _generalized_inverse(S)
        c, piv1, rank, _info = lapack.dpstrf(inv, lower=0)
        R, piv = np.triu(c), piv1 - 1
        R[rank:, rank:] = 0.0
    return _tcrossprod(Xs, R[:, np.argsort(piv)])
