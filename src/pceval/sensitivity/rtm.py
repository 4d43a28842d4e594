"""Design diagnostics for regression to the mean.

People are referred to personalised care in a crisis; their hospital use would have fallen
afterwards anyway. A matched comparison group chosen on the same recent history removes that
fall from the estimate only if the controls had the same crisis. Three checks, each on a
person x period panel around the index (``pceval.build_panel``, with the treatment flag, the
matching weights and matched set merged in):

* :func:`rates_around_index`: the outcome rate in each period around the index for the treated
  and for their matched controls (weighted), with intervals: the crisis before the index and
  the fall after it should show in both groups;
* :func:`placebo_index`: the index moved ``k`` periods earlier, using only periods before the
  real index. A DiD at the placebo index estimates an effect that must be null (nothing
  happened then); the before-after change of the treated alone at the placebo index shows how
  large regression to the mean (or the run-up to the crisis) is on its own;
* :func:`negative_control_outcome`: the same DiD on an outcome the intervention cannot affect;
  a non-null estimate signals bias in the comparison.

Rates and DiDs use person-time (``exposure``) as the denominator. The DiDs are
:func:`pceval.did.did2x2` (Poisson with a log person-time offset, SEs clustered on ``cluster``:
the matched set).

References: Barnett, A.G., van der Pols, J.C. & Dobson, A.J. (2005) Regression to the mean:
what it is and how to deal with it. Int J Epidemiol 34(1):215-220. Lipsitch, M., Tchetgen
Tchetgen, E. & Cohen, T. (2010) Negative controls. Epidemiology 21(3):383-388. Steventon, A.
et al. (2017) Preventing hospital admissions: the Nuffield Trust's evaluations of risk
stratification and case management (placebo index dates in matched designs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pceval._checks import check_confidence, check_frame, check_int, check_number
from pceval._engines import to_pandas
from pceval._results import ResultProtocol, critical_value, protocol_frame
from pceval.errors import InputError

if TYPE_CHECKING:
    from plotnine import ggplot


def _panel(data: Any, outcome: str, treatment: str, unit: str, time: str, exposure: str,
           weights: str | None, cluster: str | None) -> pd.DataFrame:
    cols = [outcome, treatment, unit, time, exposure] + [c for c in (weights, cluster) if c]
    df = check_frame(to_pandas(data), "data", required=list(dict.fromkeys(cols)),
                     not_null=list(dict.fromkeys(cols)),
                     numeric=[outcome, time, exposure] + ([weights] if weights else []))
    if not df[treatment].isin([0, 1, True, False]).all():
        bad = df.loc[~df[treatment].isin([0, 1, True, False]), treatment].unique()[:5]
        raise InputError(f"`treatment` column '{treatment}' must be 0/1; offending values: {list(bad)}")
    if (df[exposure] < 0).any():
        raise InputError(f"`exposure` column '{exposure}' has negative person-time")
    if df[treatment].astype(int).nunique() < 2:
        raise InputError(f"`treatment` column '{treatment}' needs treated (1) and comparison (0) rows")
    return df


@dataclass(frozen=True)
class RatesAroundIndex(ResultProtocol):
    """Rates per period around the index for the treated and their matched controls.

    ``to_frame()``: one row per group and period (term ``treated, period -3``): the rate per
    ``per`` units of person-time, its SE (ratio estimator, linearised and clustered by person)
    and a log-scale interval; then ``group, period, events, person_time, per``. No p-value
    (a rate is not tested against 0). The headline is the treated group's rate in the period
    just before the index.
    """

    table: pd.DataFrame
    settings: dict

    def to_frame(self) -> pd.DataFrame:
        return protocol_frame(self.table.assign(
            measure=f"rate per {self.settings['per']:g} {self.settings['time_unit']}",
            method="weighted rate, clustered by " + self.settings["unit"],
            confidence=self.settings["confidence"]))

    @property
    def headline(self) -> pd.Series:
        f = self.to_frame()
        pre = f[(f["group"] == "treated") & (f["period"] < 0)]
        return (pre.loc[pre["period"].idxmax()] if len(pre) else f.iloc[0])

    def summary(self) -> str:
        t = self.table.pivot(index="period", columns="group", values="estimate")
        return (f"Rates per {self.settings['per']:g} {self.settings['time_unit']} around the index\n"
                + t.to_string(float_format=lambda v: f"{v:.1f}"))

    def plot(self) -> ggplot:
        """Rates by period for the two groups, with intervals and the index marked."""
        from plotnine import aes, geom_line, geom_ribbon, geom_vline, ggplot, labs

        from pceval.plots import NHS_COLOURS, theme_nhs

        f = self.table
        return (ggplot(f, aes("period", "estimate", colour="group", fill="group"))
                + geom_ribbon(aes(ymin="ci_lower", ymax="ci_upper"), alpha=0.15, colour=None)
                + geom_line(size=1)
                + geom_vline(xintercept=-0.5, linetype="dashed", colour=NHS_COLOURS["mid_grey"])
                + labs(x="Periods since the index (referral, or the control's matched period)",
                       y=f"rate per {self.settings['per']:g} {self.settings['time_unit']}",
                       colour="", fill="", title="Rates around the index: treated and matched controls")
                + theme_nhs())


def rates_around_index(data: Any, outcome: str, treatment: str, unit: str, *,
                       time: str = "rel_period", exposure: str = "person_time",
                       weights: str | None = None, per: float = 12_000.0,
                       time_unit: str = "person-years", confidence: float = 0.95
                       ) -> RatesAroundIndex:
    """Rates of ``outcome`` per period around the index, for the treated and the controls.

    ``rate = sum w y / sum w e`` over the people of a group in a period (``w`` the matching
    weights, ``e`` person-time); ``per`` rescales it (default 12,000: per 1,000 person-years
    with person-time in months). SE by linearisation of the ratio, clustered by ``unit``:
    ``se^2 = sum_i (w_i (y_i - rate e_i))^2 / (sum_i w_i e_i)^2``; interval
    ``rate exp(-/+ z se / rate)``.
    """
    confidence = check_confidence(confidence)
    per = check_number(per, "per", low=0, low_open=True)
    df = _panel(data, outcome, treatment, unit, time, exposure, weights, None)
    w = df[weights].to_numpy(float) if weights else np.ones(len(df))
    g = np.where(df[treatment].astype(int).to_numpy() == 1, "treated", "matched controls")
    key = pd.DataFrame({"group": g, "period": df[time].to_numpy(float), "unit": df[unit].to_numpy(),
                        "wy": w * df[outcome].to_numpy(float), "we": w * df[exposure].to_numpy(float)})
    by_unit = key.groupby(["group", "period", "unit"], sort=True)[["wy", "we"]].sum().reset_index()
    tot = by_unit.groupby(["group", "period"], sort=True)[["wy", "we"]].sum()
    rate = tot["wy"] / tot["we"]
    by_unit = by_unit.join(rate.rename("r"), on=["group", "period"])
    by_unit["sq"] = (by_unit["wy"] - by_unit["r"] * by_unit["we"]) ** 2
    var = by_unit.groupby(["group", "period"], sort=True)["sq"].sum() / tot["we"] ** 2
    se = np.sqrt(var)
    z = critical_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_log = se / rate
    out = pd.DataFrame({
        "term": [f"{gg}, period {int(p) if float(p).is_integer() else p:g}" for gg, p in tot.index],
        "estimate": (rate * per).to_numpy(), "std_error": (se * per).to_numpy(),
        "statistic": np.nan, "p_value": np.nan,
        "ci_lower": (rate * per * np.exp(-z * se_log)).to_numpy(),
        "ci_upper": (rate * per * np.exp(z * se_log)).to_numpy(), "scale": "absolute",
        "group": [gg for gg, _ in tot.index], "period": [p for _, p in tot.index],
        "events": tot["wy"].to_numpy(), "person_time": tot["we"].to_numpy(), "per": per})
    return RatesAroundIndex(table=out, settings={"per": per, "time_unit": time_unit, "unit": unit,
                                                 "confidence": confidence})


@dataclass(frozen=True)
class DesignDiagnostic(ResultProtocol):
    """A diagnostic whose effect should be null: a placebo index or a negative-control outcome.

    ``to_frame()``: the rows of the underlying estimates (each a protocol row, e.g. the placebo
    DiD rate ratio and difference per shift, and the treated-only before-after change), with
    ``diagnostic`` and ``shift`` design columns. The headline is the first DiD row on the
    relative scale; ``verdict()`` reads it ("no evidence either way" is what a good design
    shows).
    """

    table: pd.DataFrame
    settings: dict

    def to_frame(self) -> pd.DataFrame:
        return protocol_frame(self.table)

    @property
    def headline(self) -> pd.Series:
        f = self.to_frame()
        did = f[f["analysis"].str.startswith("DiD") & (f["scale"] == "relative")]
        return did.iloc[0] if len(did) else f.iloc[0]

    def summary(self) -> str:
        f = self.to_frame()
        cols = ["term", "estimate", "ci_lower", "ci_upper", "p_value", "scale"]
        return (f"{self.settings['title']}\n" + f[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}")
                + f"\nverdict on the headline (should show no effect): {self.verdict()}")

    def plot(self) -> ggplot:
        from pceval.plots import plot_estimates

        return plot_estimates(self.to_frame(), title=self.settings["title"])


def _prepost(df: pd.DataFrame, outcome: str, treatment: str, unit: str, time: str,
             exposure: str, weights: str | None, cluster: str | None, post_from: float,
             keep: np.ndarray) -> pd.DataFrame:
    d = df.loc[keep]
    agg = {outcome: (outcome, "sum"), exposure: (exposure, "sum"),
           treatment: (treatment, "first")}
    for c in (weights, cluster):
        if c and c not in agg and c != unit:
            agg[c] = (c, "first")
    out = (d.assign(_post=(d[time] >= post_from).astype(int))
           .groupby([unit, "_post"], as_index=False).agg(**agg))
    out = out[out[exposure] > 0]
    return out.assign(**{treatment: out[treatment].astype(int)})


def placebo_index(data: Any, outcome: str, treatment: str, unit: str, *,
                  shift: int | Sequence[int] = (3, 6), time: str = "rel_period",
                  exposure: str = "person_time", weights: str | None = None,
                  cluster: str | None = None, exposure_unit: str = "month",
                  confidence: float = 0.95) -> DesignDiagnostic:
    """Placebo index dates: the index moved ``shift`` periods earlier, on pre-index data only.

    For each ``k`` in ``shift``: the placebo "after" is periods ``-k..-1``, the placebo
    "before" every earlier period in ``data``; periods from the real index on are dropped.
    Returns, per ``k``, the matched DiD at the placebo index (:func:`pceval.did.did2x2`, Poisson,
    rate ratio and difference; must be null if the comparison is sound) and the before-after
    rate ratio of the treated alone (labelled biased: it shows the run-up to the crisis and
    regression to the mean in the data, not an effect).
    """
    from pceval import did

    confidence = check_confidence(confidence)
    shifts = [check_int(k, "shift", low=1) for k in np.atleast_1d(shift).tolist()]
    df = _panel(data, outcome, treatment, unit, time, exposure, weights, cluster)
    t = df[time].to_numpy(float)
    rows = []
    for k in shifts:
        keep = t < 0
        if not (t[keep] < -k).any():
            raise InputError(f"`shift`={k}: the data have no periods before {-k} to serve as the "
                             f"placebo 'before' (earliest period: {t.min():g})")
        pp = _prepost(df, outcome, treatment, unit, time, exposure, weights, cluster, -k, keep)
        fit = did.did2x2(pp, outcome, treatment, unit, "_post", model="poisson",
                         exposure=exposure, exposure_unit=exposure_unit, weights=weights,
                         cluster=cluster, confidence=confidence)
        f = fit.to_frame().assign(analysis="DiD at the placebo index (should be null)", shift=k)
        f["term"] = f"placebo index {-k}: DiD " + f["scale"].map(
            {"relative": "rate ratio", "absolute": "difference"})
        rows.append(f)
        tr = pp[pp[treatment] == 1]
        w = tr[weights].to_numpy(float) if weights else np.ones(len(tr))
        r = [float((w * tr[outcome])[tr["_post"] == s].sum() / (w * tr[exposure])[tr["_post"] == s].sum())
             for s in (0, 1)]
        # log rate ratio SE clustered by person: linearised ratio of two rates
        e0 = (w * tr[exposure])[tr["_post"] == 0].sum()
        e1 = (w * tr[exposure])[tr["_post"] == 1].sum()
        u0 = (w * (tr[outcome] - r[0] * tr[exposure])) * (tr["_post"] == 0) / (r[0] * e0)
        u1 = (w * (tr[outcome] - r[1] * tr[exposure])) * (tr["_post"] == 1) / (r[1] * e1)
        s_log = float(np.sqrt(((u1 - u0).groupby(tr[unit]).sum() ** 2).sum()))
        from pceval._results import ratio_row

        row = ratio_row(
            f"placebo index {-k}: before-after, treated only (biased)", np.log(r[1] / r[0]), s_log,
            confidence, measure="rate ratio, treated only", analysis="before-after (biased)",
            shift=k, method="before-after in the treated (teaching contrast)")
        rows.append(pd.DataFrame([{**row, "confidence": confidence}]))
    table = pd.concat(rows, ignore_index=True)
    return DesignDiagnostic(table=table, settings={
        "title": "Placebo index dates (pre-index data only)", "shifts": shifts})


def negative_control_outcome(data: Any, outcome: str, treatment: str, unit: str, *,
                             time: str = "rel_period", exposure: str = "person_time",
                             weights: str | None = None, cluster: str | None = None,
                             exposure_unit: str = "month", confidence: float = 0.95
                             ) -> DesignDiagnostic:
    """The matched DiD (before vs from the index; Poisson, :func:`pceval.did.did2x2`) on a
    negative-control outcome, one the intervention cannot change (e.g. planned outpatient
    attendances for a social-prescribing referral): its rate ratio should be 1."""
    from pceval import did

    confidence = check_confidence(confidence)
    df = _panel(data, outcome, treatment, unit, time, exposure, weights, cluster)
    pp = _prepost(df, outcome, treatment, unit, time, exposure, weights, cluster, 0,
                  np.ones(len(df), bool))
    f = did.did2x2(pp, outcome, treatment, unit, "_post", model="poisson", exposure=exposure,
                   exposure_unit=exposure_unit, weights=weights, cluster=cluster,
                   confidence=confidence).to_frame()
    f = f.assign(analysis="DiD on a negative-control outcome (should be null)")
    f["term"] = f"negative control {outcome}: DiD " + f["scale"].map(
        {"relative": "rate ratio", "absolute": "difference"})
    return DesignDiagnostic(table=f, settings={"title": f"Negative-control outcome: {outcome}"})


__all__ = ["RatesAroundIndex", "DesignDiagnostic", "rates_around_index", "placebo_index",
           "negative_control_outcome"]
