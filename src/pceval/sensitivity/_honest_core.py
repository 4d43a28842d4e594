"""The numerical core of HonestDiD (Rambachan & Roth 2023): FLCI for smoothness, conditional /
hybrid (C-LF) confidence sets for relative magnitudes. Pure numpy/scipy; see
:mod:`pceval.sensitivity.honest` for the public function and the formulas.

Notation. ``betahat = (beta_pre, beta_post)`` with ``num_pre`` estimates for event times
``-num_pre..-1`` and ``num_post`` for ``1..num_post`` relative to the reference period 0 (which is
normalised to 0 and not in the vector); ``sigma`` their covariance; ``l`` the weights on the post
periods defining ``theta = l' tau_post``; ``delta`` the bias (violation of parallel trends).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations

import numpy as np

_TOL = 1e-10
MAX_VERTICES = 250_000


# --- smoothness: Delta^SD(M) = {delta: |second differences of (delta, delta_0 = 0)| <= M} -------

def _full_positions(num_pre: int, num_post: int) -> np.ndarray:
    """Event times of the vector (reference 0 excluded): -num_pre..-1, 1..num_post."""
    return np.r_[np.arange(-num_pre, 0), np.arange(1, num_post + 1)].astype(float)


def _second_differences(num_pre: int, num_post: int) -> np.ndarray:
    """``(n - 1) x n`` matrix of the second differences of ``(delta_pre, 0, delta_post)``."""
    n = num_pre + num_post
    D = np.zeros((n - 1, n + 1))
    r = np.arange(n - 1)
    D[r, r], D[r, r + 1], D[r, r + 2] = 1.0, -2.0, 1.0
    return np.delete(D, num_pre, axis=1)


def folded_normal_quantile(p: float, mean: np.ndarray | float) -> np.ndarray:
    """The ``p`` quantile of ``|N(mean, 1)|`` (exact, via scipy's folded normal)."""
    from scipy import stats

    return stats.foldnorm.ppf(p, np.abs(np.asarray(mean, dtype=float)))


class _Flci:
    """The optimal fixed-length confidence interval for ``theta`` under ``Delta^SD(M)``.

    Affine estimators ``v' betahat`` with ``v = (w, l)``; for the worst-case bias over Delta^SD to
    be finite ``v`` must be orthogonal to linear trends (``v' t = 0``); then, with ``P`` the
    pseudo-inverse of the second-difference matrix, the worst-case bias is ``M ||P' v||_1``. The
    half-length of ``v' betahat -/+ chi`` is ``chi = cv_alpha(bias / sd) sd``
    (``cv_alpha(b)`` the ``1 - alpha`` quantile of ``|N(b, 1)|``), minimised over ``w``: along the
    frontier ``b(h) = min {||P'v||_1 : sd(v) <= h}`` (a small convex programme solved with
    SLSQP), then over ``h``.
    """

    def __init__(self, sigma: np.ndarray, num_pre: int, num_post: int, l_vec: np.ndarray):
        self.sigma, self.num_pre, self.num_post, self.l = sigma, num_pre, num_post, l_vec
        self.t = _full_positions(num_pre, num_post)
        self.P = np.linalg.pinv(_second_differences(num_pre, num_post))
        self._h_min_w = self._min_variance_w()
        self._bias_min_w = self._min_bias_w()
        self._cache: dict[float, tuple[float, np.ndarray]] = {}

    def v(self, w: np.ndarray) -> np.ndarray:
        return np.r_[w, self.l]

    def sd(self, w: np.ndarray) -> float:
        v = self.v(w)
        return float(np.sqrt(max(v @ self.sigma @ v, 0.0)))

    def bias(self, w: np.ndarray) -> float:
        return float(np.abs(self.P.T @ self.v(w)).sum())

    def _constraint(self) -> tuple[np.ndarray, float]:
        """``a' w = c``: orthogonality to linear trends."""
        k = self.num_pre
        return self.t[:k], -float(self.t[k:] @ self.l)

    def _min_variance_w(self) -> np.ndarray:
        """Smallest-variance ``w`` with ``v' t = 0`` (a KKT system)."""
        k = self.num_pre
        a, c = self._constraint()
        S = self.sigma
        K = np.block([[2 * S[:k, :k], a[:, None]], [a[None, :], np.zeros((1, 1))]])
        rhs = np.r_[-2 * S[:k, k:] @ self.l, c]
        sol = np.linalg.lstsq(K, rhs, rcond=None)[0]
        return sol[:k]

    def _min_bias_w(self) -> np.ndarray:
        """``w`` minimising ``||P'v||_1`` subject to ``v't = 0`` (a linear programme)."""
        from scipy.optimize import linprog

        k, m = self.num_pre, self.P.shape[1]
        Pw, Pl = self.P[:k].T, self.P[k:].T @ self.l  # P'v = Pw w + Pl
        a, c = self._constraint()
        cost = np.r_[np.zeros(k), np.ones(m)]
        A_ub = np.block([[Pw, -np.eye(m)], [-Pw, -np.eye(m)]])
        b_ub = np.r_[-Pl, Pl]
        A_eq = np.r_[a, np.zeros(m)][None, :]
        res = linprog(cost, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[c],
                      bounds=[(None, None)] * k + [(0, None)] * m, method="highs")
        return res.x[:k] if res.success else self._h_min_w

    def frontier(self, h: float, start: np.ndarray) -> np.ndarray:
        """``w`` with the least worst-case bias among those with ``sd <= h``."""
        from scipy.optimize import minimize

        k, m = self.num_pre, self.P.shape[1]
        Pw, Pl = self.P[:k].T, self.P[k:].T @ self.l
        a, c = self._constraint()
        S = self.sigma
        u0 = np.abs(Pw @ start + Pl) + 1e-9
        x0 = np.r_[start, u0]
        scale = max(float(np.abs(x0).max()), 1.0)

        def cons_var(x: np.ndarray) -> float:
            v = self.v(x[:k])
            return (h**2 - v @ S @ v) / h**2

        def jac_var(x: np.ndarray) -> np.ndarray:
            v = self.v(x[:k])
            return np.r_[-2 * (S @ v)[:k] / h**2, np.zeros(m)]

        cons = [
            {"type": "ineq", "fun": lambda x: x[k:] - (Pw @ x[:k] + Pl),
             "jac": lambda x: np.hstack([-Pw, np.eye(m)])},
            {"type": "ineq", "fun": lambda x: x[k:] + (Pw @ x[:k] + Pl),
             "jac": lambda x: np.hstack([Pw, np.eye(m)])},
            {"type": "ineq", "fun": cons_var, "jac": jac_var},
            {"type": "eq", "fun": lambda x: np.array([a @ x[:k] - c]),
             "jac": lambda x: np.r_[a, np.zeros(m)][None, :]},
        ]
        res = minimize(lambda x: x[k:].sum() / scale, x0,
                       jac=lambda x: np.r_[np.zeros(k), np.ones(m)] / scale,
                       constraints=cons, method="SLSQP",
                       options={"maxiter": 500, "ftol": 1e-12})
        w = res.x[:k]
        # feasibility first: shrink towards the minimum-variance point if the solver overshot
        if self.sd(w) > h * (1 + 1e-7):
            lo, hi = 0.0, 1.0
            for _ in range(60):
                mid = (lo + hi) / 2
                cand = self._h_min_w + mid * (w - self._h_min_w)
                lo, hi = (mid, hi) if self.sd(cand) <= h else (lo, mid)
            w = self._h_min_w + lo * (w - self._h_min_w)
        return w

    def half_length(self, M: float, alpha: float) -> tuple[float, np.ndarray]:
        """The optimal half-length and its ``v``."""
        from scipy.optimize import minimize_scalar

        if M in self._cache:
            return self._cache[M]
        h_min = self.sd(self._h_min_w)
        if M == 0 or self.num_pre == 1:
            w = self._h_min_w if M == 0 else self._h_min_w
            chi = float(folded_normal_quantile(1 - alpha, M * self.bias(w) / self.sd(w)) * self.sd(w))
            self._cache[M] = (chi, self.v(w))
            return self._cache[M]
        h_max = max(self.sd(self._bias_min_w), h_min * (1 + 1e-6))
        hs = np.linspace(h_min, h_max, 25)
        ws: list[np.ndarray] = []
        prev = self._h_min_w
        for h in hs:
            prev = self.frontier(h, prev)
            ws.append(prev)
        ws.append(self._bias_min_w)

        def length(w: np.ndarray) -> float:
            sd = self.sd(w)
            return float(folded_normal_quantile(1 - alpha, M * self.bias(w) / sd) * sd)

        lens = [length(w) for w in ws]
        i = int(np.argmin(lens))
        best_w, best = ws[i], lens[i]
        if i < len(hs):
            lo_h = hs[max(i - 1, 0)]
            hi_h = hs[min(i + 1, len(hs) - 1)]
            if hi_h > lo_h:
                res = minimize_scalar(lambda h: length(self.frontier(h, ws[i])),
                                      bounds=(lo_h, hi_h), method="bounded",
                                      options={"xatol": (hi_h - lo_h) * 1e-4})
                w = self.frontier(float(res.x), ws[i])
                if length(w) < best:
                    best_w, best = w, length(w)
        self._cache[M] = (best, self.v(best_w))
        return self._cache[M]


def flci(betahat: np.ndarray, sigma: np.ndarray, num_pre: int, num_post: int,
         l_vec: np.ndarray, M: float, alpha: float, _state: _Flci | None = None
         ) -> tuple[float, float]:
    """The FLCI ``v'betahat -/+ chi`` under ``Delta^SD(M)``."""
    state = _state or _Flci(sigma, num_pre, num_post, l_vec)
    chi, v = state.half_length(float(M), alpha)
    centre = float(v @ betahat)
    return centre - chi, centre + chi


# --- relative magnitudes: conditional / hybrid tests (Andrews, Roth & Pakes 2023) -------------

def rm_constraints(num_pre: int, num_post: int, mbar: float, s: int, positive: bool
                   ) -> np.ndarray:
    """``A`` with ``Delta^RM_{s,sign}(Mbar) = {delta: A delta <= 0}``.

    First differences of ``(delta_pre, 0, delta_post)``: ``D_r`` for ``r = 0..n-1`` (the pre
    differences ``r < num_pre``, the last of which ends at the reference period). The piece ``s``
    (a pre difference) with sign ``+`` is the set where ``D_s >= 0`` is the largest pre
    difference in absolute value and every post difference is at most ``Mbar D_s`` in absolute
    value; ``Delta^RM`` is the union over ``s`` and the sign. Rows that are identically zero are
    dropped; the column of the reference period is removed.
    """
    n = num_pre + num_post
    Dt = np.zeros((n, n + 1))
    r = np.arange(n)
    Dt[r, r], Dt[r, r + 1] = -1.0, 1.0
    vmax = Dt[s] * (1.0 if positive else -1.0)
    bound = np.vstack([np.tile(vmax, (num_pre, 1)), np.tile(mbar * vmax, (num_post, 1))])
    A = np.vstack([Dt - bound, -Dt - bound])
    A = A[(A**2).sum(axis=1) > _TOL]
    return np.delete(A, num_pre, axis=1)


def _null_basis(l_vec: np.ndarray) -> np.ndarray:
    """Orthonormal basis of ``{tau: l' tau = 0}`` (``num_post x (num_post - 1)``)."""
    q, _ = np.linalg.qr(np.c_[l_vec, np.eye(len(l_vec))])
    return q[:, 1:len(l_vec)]


class _ArpTest:
    """The conditional-LF hybrid test of ``H0: theta = theta0, delta in {A delta <= 0}``.

    Moments ``Y(theta0) = A betahat - A_post tau1 theta0`` (``l' tau1 = 1``) with the nuisance
    ``E[Y] - X nu <= 0`` for some ``nu``, ``X = A_post N`` (``N`` a basis of ``l' tau = 0``);
    ``Sigma_Y = A Sigma A'``. The statistic ``eta = max_{gamma in F} gamma' Y`` over the dual set
    ``F = {gamma >= 0, X' gamma = 0, sigma_Y' gamma = 1}`` (``sigma_Y`` the moments' SDs) is the
    value of ``min {eta : Y - X nu <= eta sigma_Y}``. Every vertex of ``F`` is enumerated
    (bases of ``num_post`` moments), so ``eta``, its conditioning interval ``[v_lo, v_up]`` and
    the least-favourable critical value are exact products, not linear programmes:
    ``v_lo = max_{gamma' b < 1} gamma'S / (1 - gamma'b)`` and ``v_up = min_{gamma' b > 1}`` of
    the same, with ``b = Sigma_Y gamma* / gamma*' Sigma_Y gamma*`` and ``S = Y - b eta``.

    Hybrid (Rambachan & Roth 2023, section 5.3): reject when ``eta`` exceeds the
    least-favourable critical value ``c_LF`` (the ``1 - kappa`` quantile of ``max_F gamma' xi``,
    ``xi ~ N(0, Sigma_Y)``, by simulation); otherwise test conditionally at level
    ``(alpha - kappa) / (1 - kappa)`` with the truncation ``[v_lo, min(v_up, c_LF)]``: reject
    when ``eta / sd`` exceeds ``max(0, q)``, ``q`` the truncated-normal quantile.
    """

    def __init__(self, A: np.ndarray, betahat: np.ndarray, sigma: np.ndarray, num_pre: int,
                 l_vec: np.ndarray, alpha: float, kappa: float, n_sims: int, seed: int):
        post = slice(num_pre, None)
        keep = np.abs(A[:, post]).sum(axis=1) > _TOL  # moments involving the post periods
        A = A[keep]
        self.y0 = A @ betahat
        self.a = A[:, post] @ (l_vec / (l_vec @ l_vec))
        self.SY = A @ sigma @ A.T
        sdY = np.sqrt(np.clip(np.diag(self.SY), 0, None))
        X = A[:, post] @ _null_basis(l_vec)
        self.vertices = _vertices(X, sdY)
        self.alpha, self.kappa = alpha, kappa
        self.cv_lf = self._lf_critical_value(n_sims, seed) if len(self.vertices) else np.inf

    def _lf_critical_value(self, n_sims: int, seed: int) -> float:
        rng = np.random.default_rng(seed)
        vals = np.empty(n_sims)
        L = _chol(self.SY)
        for start in range(0, n_sims, 2000):
            xi = L @ rng.standard_normal((L.shape[1], min(2000, n_sims - start)))
            vals[start:start + xi.shape[1]] = (self.vertices @ xi).max(axis=0)
        return float(np.quantile(vals, 1 - self.kappa))

    def accept(self, theta: np.ndarray) -> np.ndarray:
        """Boolean: is each ``theta`` in the confidence set?"""
        from scipy import stats

        theta = np.atleast_1d(np.asarray(theta, dtype=float))
        if len(self.vertices) == 0:
            return np.ones(len(theta), bool)
        out = np.empty(len(theta), bool)
        G = self.vertices
        for start in range(0, len(theta), max(1, 4_000_000 // max(len(G), 1))):
            th = theta[start:start + max(1, 4_000_000 // max(len(G), 1))]
            Y = self.y0[:, None] - self.a[:, None] * th[None, :]          # m x T
            vals = G @ Y                                                   # V x T
            j = vals.argmax(axis=0)
            eta = vals[j, np.arange(len(th))]
            gs = G[j]                                                      # T x m
            SYg = gs @ self.SY                                             # T x m
            var = np.einsum("tm,tm->t", SYg, gs)
            sd = np.sqrt(np.clip(var, 0, None))
            ok = var > np.finfo(float).eps
            b = SYg / np.where(ok, var, 1.0)[:, None]
            S = Y.T - b * eta[:, None]                                     # T x m
            gb, gS = G @ b.T, G @ S.T                                      # V x T
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = gS / (1 - gb)
            vlo = np.where(gb < 1 - 1e-9, ratio, -np.inf).max(axis=0)
            vup = np.where(gb > 1 + 1e-9, ratio, np.inf).min(axis=0)
            reject_lf = eta > self.cv_lf
            size = (self.alpha - self.kappa) / (1 - self.kappa)
            zlo = vlo / np.where(ok, sd, 1.0)
            zup = np.minimum(vup, self.cv_lf) / np.where(ok, sd, 1.0)
            stat = eta / np.where(ok, sd, 1.0)
            inside = (zlo <= stat + 1e-9) & (stat <= zup + 1e-9) & (zlo < zup)
            with np.errstate(invalid="ignore", over="ignore"):
                q = stats.truncnorm.ppf(1 - size, np.where(inside, zlo, -1.0),
                                        np.where(inside, zup, 1.0))
            cval = np.maximum(0.0, q)
            reject = np.where(ok, reject_lf | (inside & (stat > cval)), eta > 0)
            out[start:start + len(th)] = ~reject
        return out


def _chol(S: np.ndarray) -> np.ndarray:
    """A square root ``L`` with ``L L' = S`` for a PSD (possibly singular) matrix."""
    w, U = np.linalg.eigh((S + S.T) / 2)
    return U * np.sqrt(np.clip(w, 0, None))


def _vertices(X: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """The vertices of ``{gamma >= 0, X' gamma = 0, sd' gamma = 1}`` (one per row)."""
    m, k = X.shape
    E = np.vstack([X.T, sd[None, :]])  # (k + 1) x m
    rhs = np.r_[np.zeros(k), 1.0]
    size = k + 1
    from math import comb

    if comb(m, size) > MAX_VERTICES:
        from pceval.errors import EstimationError

        raise EstimationError(
            f"relative magnitudes with {k + 1} post periods need {comb(m, size):,} candidate "
            "vertices; use fewer post periods (e.g. lags=) or restriction='smoothness'")
    supports = np.array(list(combinations(range(m), size)), dtype=int)
    mats = E[:, supports].transpose(1, 0, 2)  # C x (k+1) x (k+1)
    det = np.linalg.det(mats)
    good = np.abs(det) > 1e-12 * np.abs(mats).reshape(len(mats), -1).max(axis=1) ** size
    mats, supports = mats[good], supports[good]
    if len(mats) == 0:
        return np.zeros((0, m))
    sol = np.linalg.solve(mats, np.broadcast_to(rhs, (len(mats), size))[..., None])[..., 0]
    feasible = (sol >= -1e-10).all(axis=1)
    G = np.zeros((int(feasible.sum()), m))
    rows = np.arange(len(G))[:, None]
    G[rows, supports[feasible]] = np.clip(sol[feasible], 0, None)
    return np.unique(np.round(G, 12), axis=0)


def rm_confidence_set(betahat: np.ndarray, sigma: np.ndarray, num_pre: int, num_post: int,
                      l_vec: np.ndarray, mbar: float, alpha: float, *, kappa: float | None = None,
                      n_sims: int = 10_000, seed: int = 0, grid_points: int = 1001
                      ) -> tuple[float, float]:
    """The C-LF confidence set for ``theta`` under ``Delta^RM(Mbar)``: the union over the pieces
    ``(s, sign)`` of their hybrid-test acceptance regions, reported as ``[min, max]`` of the
    accepted values (as HonestDiD). The region is found on a grid centred at ``l' beta_post``
    (widened until it contains the region), then each end is refined by bisection to 1e-6 of
    ``sd(theta)``."""
    kappa = alpha / 10 if kappa is None else kappa
    tests = [_ArpTest(rm_constraints(num_pre, num_post, mbar, s, pos), betahat, sigma, num_pre,
                      l_vec, alpha, kappa, n_sims, seed)
             for s in range(num_pre) for pos in (True, False)]

    def accept(th: np.ndarray) -> np.ndarray:
        acc = np.zeros(len(np.atleast_1d(th)), bool)
        for t in tests:
            acc |= t.accept(th)
        return acc

    return _region(accept, betahat, sigma, num_pre, l_vec, grid_points)


def _region(accept: Callable[[np.ndarray], np.ndarray], betahat: np.ndarray, sigma: np.ndarray,
            num_pre: int, l_vec: np.ndarray, grid_points: int) -> tuple[float, float]:
    post = slice(num_pre, None)
    centre = float(l_vec @ betahat[post])
    sd = float(np.sqrt(l_vec @ sigma[post, post] @ l_vec))
    width = 20 * sd
    for _ in range(8):
        grid = np.linspace(centre - width, centre + width, grid_points)
        acc = accept(grid)
        if not acc.any():
            # nothing accepted on a coarse grid: look finer around the estimate
            grid = np.linspace(centre - 2 * sd, centre + 2 * sd, 4 * grid_points)
            acc = accept(grid)
            if not acc.any():
                return float("nan"), float("nan")
        if acc[0] or acc[-1]:
            width *= 4
            continue
        i_lo, i_hi = int(np.argmax(acc)), len(acc) - 1 - int(np.argmax(acc[::-1]))
        lo = _bisect(accept, grid[i_lo - 1], grid[i_lo], sd)
        hi = _bisect(accept, grid[i_hi + 1], grid[i_hi], sd)
        return lo, hi
    return -np.inf, np.inf


def _bisect(accept: Callable[[np.ndarray], np.ndarray], rejected: float, accepted: float, sd: float) -> float:
    """The boundary between a rejected and an accepted value (to 1e-6 sd)."""
    for _ in range(60):
        if abs(accepted - rejected) <= 1e-6 * sd:
            break
        mid = (rejected + accepted) / 2
        if accept(np.array([mid]))[0]:
            accepted = mid
        else:
            rejected = mid
    return float(accepted)
