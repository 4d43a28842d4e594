"""The result of :func:`pceval.match`: the matched sample, its weights and its diagnostics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pceval._checks import require_columns
from pceval._design import Design, _add_products, _ess, model_matrix
from pceval._results import ResultProtocol
from pceval.covariate_balance import BalanceResult, balance_arrays
from pceval.errors import InputError
from pceval.matching.distance import PropensityModel

if TYPE_CHECKING:
    from plotnine import ggplot


@dataclass(frozen=True)
class MatchResult(ResultProtocol):
    """A matched comparison group (immutable).

    Attributes
    ----------
    data : the caller's table (never modified).
    treatment, covariates, method, estimand : as passed to :func:`pceval.match`.
    treat : 0/1 per row; ``distance``: the propensity score (or its logit with
        ``link="linear.logit"``), ``None`` for Mahalanobis/exact/CEM matching.
    weights : matching weights per row (0 = not in the matched sample).
    subclass : matched-set id per row (1, 2, ...; -1 = none). Pairs (or 1:k sets) for nearest
        neighbour matching without replacement; strata for exact, CEM and subclassification.
        Matching with replacement has no matched sets (a control can serve several treated).
    discarded : rows dropped by ``discard`` (outside common support).
    match_matrix : for nearest neighbour matching, one row per focal person (in data order,
        ``focal_rows``) with the row numbers of their matched controls (-1 = none).
    propensity : the fitted propensity model (``.coef``, ``.summary()``, ``.statsmodels()``).
    caliper : the caliper width on the distance scale (after ``std_caliper``), or None.
    settings : every argument of the call, for the record.
    """

    data: pd.DataFrame = field(repr=False)
    treatment: str
    covariates: tuple[str, ...]
    method: str
    estimand: str
    treat: np.ndarray = field(repr=False)
    distance: np.ndarray | None = field(repr=False)
    weights: np.ndarray = field(repr=False)
    subclass: np.ndarray = field(repr=False)
    discarded: np.ndarray = field(repr=False)
    match_matrix: np.ndarray | None = field(default=None, repr=False)
    focal_rows: np.ndarray | None = field(default=None, repr=False)
    propensity: PropensityModel | None = field(default=None, repr=False)
    caliper: float | None = None
    settings: Mapping[str, Any] = field(default_factory=dict, repr=False)
    balance_covariates: tuple[str, ...] = ()
    distance_label: str = "distance"

    # ------------------------------------------------------------------ basic accessors
    @property
    def propensity_model(self) -> PropensityModel | None:
        """The fitted propensity model (None when no score was estimated)."""
        return self.propensity

    @property
    def has_subclass(self) -> bool:
        """Whether matched sets exist (False for nearest neighbour with replacement)."""
        return bool((self.subclass >= 0).any())

    @property
    def n_matched(self) -> dict[str, int]:
        """Matched people per group: ``{"treated": ..., "control": ...}``."""
        w = self.weights > 0
        return {"treated": int((w & (self.treat == 1)).sum()),
                "control": int((w & (self.treat == 0)).sum())}

    def matched_data(self, distance: str = "distance", weights: str = "weights",
                     subclass: str = "subclass") -> pd.DataFrame:
        """The matched sample: the input rows with non-zero weight plus ``distance``,
        ``weights`` and ``subclass`` columns (a new table; the input is untouched).

        ``subclass`` is a nullable integer (missing after matching with replacement, where
        matched sets are not defined: use :meth:`pairs`). ``distance`` is omitted when no
        score was used. Pass other names if the data already has these columns.
        """
        new = [weights, subclass] + ([distance] if self.distance is not None else [])
        clash = [c for c in new if c in self.data.columns]
        if clash:
            raise InputError(f"`data` already has column(s) {clash}; pass other names, e.g. "
                             f"matched_data({clash[0]}='{clash[0]}_m')")
        keep = self.weights > 0
        out = self.data.loc[keep].copy()
        if self.distance is not None:
            out[distance] = self.distance[keep]
        out[weights] = self.weights[keep]
        sub = pd.array(np.where(self.subclass >= 0, self.subclass, 0), dtype="Int64")
        sub[self.subclass < 0] = pd.NA
        out[subclass] = sub[keep]
        return out

    def pairs(self) -> pd.DataFrame:
        """Matched pairs (nearest neighbour only), like MatchIt's ``get_matches()``.

        One row per (focal person, matched control): ``pair`` (1, 2, ... per focal person in
        data order), ``treated_row`` and ``control_row`` (row positions in ``data``) and their
        index labels, ``distance_diff``.
        """
        if self.match_matrix is None or self.focal_rows is None:
            raise InputError(f"pairs() needs nearest neighbour matching, not method='{self.method}'")
        mm = self.match_matrix
        fr = np.repeat(self.focal_rows, mm.shape[1])
        cr = mm.ravel()
        ok = cr >= 0
        matched_focal = (mm >= 0).any(axis=1)
        pair_id = np.cumsum(matched_focal)
        pid = np.repeat(pair_id, mm.shape[1])[ok]
        fr, cr = fr[ok], cr[ok]
        if self.estimand == "ATC":
            t_rows, c_rows = cr, fr
        else:
            t_rows, c_rows = fr, cr
        out = pd.DataFrame({"pair": pid, "treated_row": t_rows, "control_row": c_rows,
                            "treated_index": self.data.index[t_rows],
                            "control_index": self.data.index[c_rows]})
        if self.distance is not None:
            out["distance_diff"] = self.distance[t_rows] - self.distance[c_rows]
        return out

    def get_matches(self, id: str = "row_index", distance: str = "distance",
                    weights: str = "weights", subclass: str = "subclass") -> pd.DataFrame:
        """Long matched data, like MatchIt's ``get_matches()``: one block of rows per focal
        person and their matched controls, so a control matched several times (with
        replacement) appears several times.

        Added columns: ``id`` (the row position in ``data``, for clustering on the person),
        ``subclass`` (the pair / matched set, numbered by focal person in data order),
        ``weights`` (1 for the focal person, ``1/k`` for each of their ``k`` controls) and
        ``distance``. Nearest neighbour matching only.
        """
        p = self.pairs()
        clash = [c for c in (id, weights, subclass, distance) if c in self.data.columns]
        if clash:
            raise InputError(f"`data` already has column(s) {clash}; pass other names")
        k = p.groupby("pair")["control_row"].transform("size").to_numpy()
        focal_col = "control_row" if self.estimand == "ATC" else "treated_row"
        other_col = "treated_row" if self.estimand == "ATC" else "control_row"
        first = ~p["pair"].duplicated().to_numpy()
        rows_f = p.loc[first, focal_col].to_numpy()
        pid_f = p.loc[first, "pair"].to_numpy()
        rows_o = p[other_col].to_numpy()
        pid_o = p["pair"].to_numpy()
        rows = np.concatenate([rows_f, rows_o])
        pid = np.concatenate([pid_f, pid_o])
        wt = np.concatenate([np.ones(len(rows_f)), 1.0 / k])
        order = np.lexsort((np.r_[np.zeros(len(rows_f)), np.ones(len(rows_o))], pid))
        rows, pid, wt = rows[order], pid[order], wt[order]
        out = self.data.iloc[rows].copy()
        out[id] = rows
        out[subclass] = pid
        out[weights] = wt
        if self.distance is not None:
            out[distance] = self.distance[rows]
        return out.reset_index(drop=True)

    def sample_sizes(self) -> pd.DataFrame:
        """MatchIt's sample-size table: All (ESS), All, Matched (ESS), Matched, Unmatched,
        Discarded; columns control and treated."""
        rows = ["All (ESS)", "All", "Matched (ESS)", "Matched", "Unmatched", "Discarded"]
        out = {}
        for g, lab in ((0, "control"), (1, "treated")):
            m = self.treat == g
            w = self.weights[m]
            out[lab] = [float(m.sum()), float(m.sum()), _ess(w), float((w > 0).sum()),
                        float(((w == 0) & ~self.discarded[m]).sum()),
                        float(self.discarded[m].sum())]
        return pd.DataFrame(out, index=rows)

    # ------------------------------------------------------------------ balance
    def _design(self, extra: Sequence[str] = ()) -> Design:
        cov = list(dict.fromkeys([*self.balance_covariates, *extra]))
        return model_matrix(self.data, cov, contrasts=False, name="data")

    def balance(self, addl: Sequence[str] = (), *, squares: bool = False,
                interactions: bool = False, pair_dist: bool | None = None,
                thresholds: Mapping[str, float] | None = None) -> BalanceResult:
        """Balance before (``"all"``) and after (``"matched"``) matching.

        Covariates: those matched on (plus ``exact`` and ``mahvars`` columns, and ``addl``),
        factors expanded to one row per level, led by the distance when a score was used.
        Statistics, denominators and thresholds: see :mod:`pceval.covariate_balance`.
        ``pair_dist`` (standardised pair distance) defaults to True except for
        subclassification, as in MatchIt.
        """
        addl = [addl] if isinstance(addl, str) else list(addl)
        require_columns(self.data.columns, "data", addl)
        d = self._design(addl)
        X, names, binary = _add_products(d.X, d.names, d.binary, squares, interactions)
        if self.distance is not None:
            X = np.column_stack([self.distance, X])
            names = [self.distance_label, *names]
            binary = np.r_[False, binary]
        if pair_dist is None:
            pair_dist = self.method != "subclass"
        pairs = None
        sub = self.subclass if self.has_subclass else None
        if sub is None and self.match_matrix is not None:
            p = self.pairs()
            pairs = p[["treated_row", "control_row"]].to_numpy()
        sizes = self.sample_sizes()
        return balance_arrays(X, names, binary, self.treat, self.weights, estimand=self.estimand,
                              pairs=pairs, subclass=sub, pair_dist=pair_dist,
                              thresholds=thresholds, sample_sizes=sizes)

    def to_frame(self) -> pd.DataFrame:
        """The balance table in the result protocol (see :meth:`BalanceResult.to_frame`), with
        the matching method as a design column. The matched sample itself is
        :meth:`matched_data`."""
        return self.balance().to_frame().assign(method=f"matching ({self.method})")

    @property
    def headline(self) -> pd.Series:
        """The covariate with the largest |SMD| after matching."""
        return self.balance().headline

    def love_plot(self, stat: str = "smd", labels: Mapping[str, str] | None = None,
                  **kwargs: Any) -> ggplot:
        """Love plot of balance before and after matching (plotnine); ``labels`` maps covariate
        names to the words a reader sees (see :meth:`pceval.BalanceResult.love_plot`)."""
        return self.balance(**kwargs).love_plot(stat=stat, labels=labels)

    def plot(self, **kwargs: Any) -> ggplot:
        """Alias of :meth:`love_plot`."""
        return self.love_plot(**kwargs)

    # ------------------------------------------------------------------ text
    def summary(self) -> str:
        """Readable text: the call, sample sizes (matched / unmatched / discarded per group)
        and the balance table."""
        s = self.settings
        desc = [f"Matching: method={self.method!r}, estimand={self.estimand}"]
        if self.method == "nearest":
            desc.append(f"  distance={s.get('distance')!r}"
                        + (f" (link={s.get('link')})" if self.propensity is not None else "")
                        + f", ratio={s.get('ratio')}, replace={s.get('replace')}, "
                        f"m_order={s.get('m_order')!r}")
            if self.caliper is not None:
                desc.append(f"  caliper={s.get('caliper')} "
                            + ("SD of the distance" if s.get("std_caliper") else "(absolute)")
                            + f" = {self.caliper:.6g} on the distance scale")
            if s.get("exact"):
                desc.append(f"  exact on {list(s['exact'])}")
            if s.get("mahvars"):
                desc.append(f"  Mahalanobis on {list(s['mahvars'])}")
        if s.get("discard", "none") != "none":
            desc.append(f"  discard={s.get('discard')!r}")
        desc.append("")
        desc.append(self.balance().summary())
        return "\n".join(desc)

    def __str__(self) -> str:  # pragma: no cover - convenience
        n = self.n_matched
        return (f"MatchResult(method={self.method!r}, estimand={self.estimand}, matched "
                f"{n['treated']:,} treated / {n['control']:,} controls)")
