"""Property-based tests of the public API (issue 16, "Properties, tested with hypothesis").

For each family of public functions -- disclosure control, the inequality measures, the DiD
estimators, balance, matching and effect estimation, and the panel builder -- hypothesis draws
small random tables and checks that

* valid inputs give results in range: proportions in [0, 1], every interval contains its
  estimate (where the three numbers are finite), finite non-negative weights, non-negative
  counts and rates, and every result object's ``to_frame()`` starts with the protocol columns;
* invalid inputs (a missing column, a misspelt value, inf/NaN where not allowed, negative counts,
  a wrong dtype, a bare string where a list is expected) raise a ``PcevalError`` subclass and
  nothing else;
* no input table is changed;
* the same seed gives identical results;
* results do not depend on the order of the rows nor, where ids are used, on whether the ids are
  written as integers or as the same ids as strings.

A property that fails because of a library defect is kept as it is and marked
``xfail(strict=True)`` with the smallest input hypothesis found, so that the fix shows up as an
XPASS to remove the mark from. Runs are derandomised (the same examples every run, no example
database on disk) so CI is repeatable; set ``PCEVAL_PROPERTY_SCALE=10`` to try ten times as many
examples locally.
"""

from __future__ import annotations

import copy
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, assume, example, given, reject, settings
from hypothesis import strategies as st

import pceval
from pceval import did, disclosure
from pceval import inequality as ineq
from pceval._results import PROTOCOL_COLUMNS
from pceval.errors import EstimationError, PcevalError

pytestmark = pytest.mark.filterwarnings("ignore::pceval.errors.PcevalWarning")

_SCALE = max(1, int(os.environ.get("PCEVAL_PROPERTY_SCALE", "1")))


def cases(n: int) -> settings:
    """Hypothesis settings for a property: ``n`` examples (times PCEVAL_PROPERTY_SCALE)."""
    return settings(max_examples=n * _SCALE, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


def refusal(n: int, **strategies: st.SearchStrategy) -> Callable:
    """A bad-input property over ``how`` (pytest parameter) and hypothesis ``strategies``.

    Hypothesis runs inside the test, so that a case marked ``xfail`` (a known defect, whose
    minimal example is in the reason) skips shrinking, which would only spend time finding that
    example again; ``pytest --runxfail`` shrinks as usual."""
    def deco(body: Callable) -> Callable:
        def test(how: str, request: pytest.FixtureRequest) -> None:
            known = (request.node.get_closest_marker("xfail") is not None
                     and not request.config.option.runxfail)
            phases = tuple(p for p in Phase if not (known and p in (Phase.shrink, Phase.explain)))
            run = given(**strategies)(lambda **kw: body(how, **kw))
            settings(cases(n), phases=phases)(run)()
        test.__name__, test.__doc__ = body.__name__, body.__doc__
        return test
    return deco


# ------------------------------------------------------------------------------------------------
# shared checks
# ------------------------------------------------------------------------------------------------

def _tol(x: np.ndarray) -> np.ndarray:
    return 1e-9 * np.maximum(1.0, np.abs(x))


def assert_within(lower: Any, estimate: Any, upper: Any, what: str = "interval") -> None:
    """``lower <= estimate <= upper`` wherever all three are finite (to rounding, 1e-9 relative)."""
    lo, est, hi = (np.asarray(pd.to_numeric(pd.Series(np.ravel(v)), errors="coerce"), float)
                   for v in (lower, estimate, upper))
    ok = np.isfinite(lo) & np.isfinite(est) & np.isfinite(hi)
    bad = ok & ((lo > est + _tol(est)) | (est > hi + _tol(est)))
    assert not bad.any(), (f"{what} does not contain its estimate: "
                           f"{list(zip(lo[bad], est[bad], hi[bad], strict=True))[:3]}")


def assert_protocol(res: Any, what: str) -> pd.DataFrame:
    """``res.to_frame()`` starts with the protocol columns; each row's interval holds its estimate;
    ``scale`` uses the vocabulary. Returns the frame."""
    frame = res.to_frame()
    assert tuple(frame.columns[: len(PROTOCOL_COLUMNS)]) == PROTOCOL_COLUMNS, (
        f"{what}.to_frame() starts with {tuple(frame.columns[:8])}")
    assert set(frame["scale"].dropna()) <= {"absolute", "relative"}
    assert_within(frame["ci_lower"], frame["estimate"], frame["ci_upper"], f"{what} CI")
    se = frame["std_error"].to_numpy(float)
    assert not (se[np.isfinite(se)] < 0).any(), f"{what}: negative standard error"
    p = frame["p_value"].to_numpy(float)
    p = p[np.isfinite(p)]
    assert ((p >= 0) & (p <= 1)).all(), f"{what}: p-value outside [0, 1]"
    return frame


def expect_pceval_error(call: Callable[[], Any]) -> None:
    """The call must raise a PcevalError subclass: not return, not raise anything else."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call()
    except PcevalError:
        return
    except Exception as exc:  # noqa: BLE001 - the property is "nothing else"
        pytest.fail(f"raised {type(exc).__name__} instead of a PcevalError: {exc}")
    pytest.fail("returned a result instead of raising a PcevalError")


def one_name_or_refused(call_str: Callable[[], Any], call_list: Callable[[], Any],
                        compare: Callable[[Any, Any], None]) -> None:
    """A bare string where a list is expected: either a PcevalError, or read as one name (the
    same result as the one-element list) -- never split into letters, never another error."""
    try:
        got = call_str()
    except PcevalError:
        return
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"a bare string raised {type(exc).__name__}: {exc}")
    compare(got, call_list())


class Frozen:
    """A deep copy of the inputs to compare with after the call (values, dtypes, index, attrs)."""

    def __init__(self, *frames: pd.DataFrame) -> None:
        self.frames = frames
        self.copies = [(f.copy(deep=True), copy.deepcopy(f.attrs)) for f in frames]

    def check(self) -> None:
        for f, (c, attrs) in zip(self.frames, self.copies, strict=True):
            pd.testing.assert_frame_equal(f, c, check_exact=True)
            assert f.attrs == attrs, "input attrs changed"


def same_frame(a: pd.DataFrame, b: pd.DataFrame, exact: bool = False) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True),
                                  check_exact=exact, rtol=1e-9, atol=1e-12)


def shuffled(df: pd.DataFrame, perm: list[int]) -> pd.DataFrame:
    return df.iloc[perm].reset_index(drop=True)


def perm_of(n: int) -> st.SearchStrategy[list[int]]:
    return st.permutations(list(range(n)))


finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False,
                   allow_subnormal=False)
BAD_NUMBERS = [np.inf, -np.inf, np.nan]


def _row(data: st.DataObject, df: pd.DataFrame) -> int:
    return data.draw(st.integers(0, len(df) - 1), label="row")


def _set(df: pd.DataFrame, row: int, col: str, value: Any) -> pd.DataFrame:
    df = df.copy()
    if isinstance(value, float) and not pd.api.types.is_float_dtype(df[col]):
        df[col] = df[col].astype(float)
    df.loc[df.index[row], col] = value
    return df


def _params(names: list[str], xfails: dict[str, str]) -> list[Any]:
    return [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=xfails[n]))
            if n in xfails else n for n in names]


# ------------------------------------------------------------------------------------------------
# disclosure: protect, rebuild_totals, count
# ------------------------------------------------------------------------------------------------

@st.composite
def count_tables(draw, min_rows: int = 1, max_rows: int = 10) -> pd.DataFrame:
    n = draw(st.integers(min_rows, max_rows))
    people = draw(st.lists(st.integers(0, 3000), min_size=n, max_size=n))
    events = [draw(st.integers(0, p)) for p in people]
    return pd.DataFrame({"area": [f"area {i}" for i in range(n)], "people": people,
                         "events": events})


presets = st.sampled_from(sorted(disclosure.PRESETS))


@cases(60)
@given(df=count_tables(), preset=presets, data=st.data())
def test_protect_valid(df, preset, data):
    p = disclosure.PRESETS[preset]
    frozen = Frozen(df)
    rates = {"rate": ("events", "people", 1000.0)}
    out = disclosure.protect(df, ["people", "events"], preset, rates=rates)
    frozen.check()
    for col in ("people", "events"):
        raw = df[col].to_numpy(float)
        got = out[col].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        shown = ~np.isnan(got)
        low = 0 if p.suppress_zero else 1
        # suppressed exactly when small; shown values rounded to the base, non-negative, close
        assert (~shown == ((raw >= low) & (raw <= p.threshold))).all()
        assert (got[shown] >= 0).all() and (np.mod(got[shown], p.base) == 0).all()
        assert (np.abs(got[shown] - raw[shown]) <= p.base / 2).all()
    rate = out["rate"].to_numpy(float)
    assert (rate[np.isfinite(rate)] >= 0).all()
    assert not np.isinf(rate).any()
    hidden = out["people"].isna().to_numpy() | out["events"].isna().to_numpy()
    assert np.isnan(rate[hidden]).all(), "a rate from a suppressed count is shown"
    disclosure.check_published(out, ["people", "events"], preset)  # protected output passes
    # determinism and row order
    same_frame(out, disclosure.protect(df, ["people", "events"], preset, rates=rates), exact=True)
    perm = data.draw(perm_of(len(df)))
    again = disclosure.protect(shuffled(df, perm), ["people", "events"], preset, rates=rates)
    same_frame(again.sort_values("area"), out.sort_values("area"), exact=True)


@cases(60)
@given(df=count_tables(), preset=presets, data=st.data())
def test_rebuild_totals_valid(df, preset, data):
    p = disclosure.PRESETS[preset]
    parts = disclosure.protect(df, ["people", "events"], preset)
    frozen = Frozen(parts)
    out = disclosure.rebuild_totals(parts, ["people", "events"], by="area", preset=preset)
    frozen.check()
    assert len(out) == len(parts) + 1 and out["area"].iloc[-1] == "Total"
    same_frame(out.iloc[:-1], parts.astype({"people": "Int64", "events": "Int64"}), exact=True)
    for col in ("people", "events"):
        total = out[col].iloc[-1]
        visible = parts[col].astype("Float64").fillna(0).sum()
        if not pd.isna(total):
            # the total is the sum of the protected parts, itself publishable
            assert total == visible and total >= 0 and total % p.base == 0
            assert not (total <= p.threshold and (total >= 1 or p.suppress_zero))
    disclosure.check_published(out, ["people", "events"], preset)
    perm = data.draw(perm_of(len(parts)))
    again = disclosure.rebuild_totals(shuffled(parts, perm), ["people", "events"], by="area",
                                      preset=preset)
    same_frame(again.iloc[[-1]], out.iloc[[-1]], exact=True)


@cases(80)
@given(n=st.integers(0, 10**7), preset=presets)
def test_count_valid(n, preset):
    p = disclosure.PRESETS[preset]
    text = disclosure.count(n, preset)
    assert text == disclosure.count(float(n), preset) == disclosure.count(n, preset)
    low = 0 if p.suppress_zero else 1
    if low <= n <= p.threshold:
        assert text == f"{p.threshold} or fewer"
    else:
        v = int(text.replace(",", ""))
        assert v >= 0 and v % p.base == 0 and abs(v - n) <= p.base / 2


PROTECT_BAD = {
    "missing column": lambda df, kw, d: (df, {**kw, "counts": ["peeple", "events"]}),
    "negative count": lambda df, kw, d: (_set(df, _row(d, df), "people", -d.draw(st.integers(1, 50))), kw),
    "fractional count": lambda df, kw, d: (_set(df, _row(d, df), "people", 2.5), kw),
    "infinite count": lambda df, kw, d: (_set(df, _row(d, df), "people",
                                              d.draw(st.sampled_from([np.inf, -np.inf]))), kw),
    "text counts": lambda df, kw, d: (df.assign(people=df["people"].astype(str)), kw),
    "misspelt preset": lambda df, kw, d: (df, {**kw, "preset": "opensafley"}),
    "not a table": lambda df, kw, d: (df.to_dict("list"), kw),
    "rate from a missing column": lambda df, kw, d: (df, {**kw, "rates": {"rate": ("events", "peeple", 1000)}}),
    "rate multiplier as text": lambda df, kw, d: (df, {**kw, "rates": {"rate": ("events", "people", "1000")}}),
    "rate multiplier not finite": lambda df, kw, d: (df, {**kw, "rates": {
        "rate": ("events", "people", d.draw(st.sampled_from(BAD_NUMBERS)))}}),
    "negative rate multiplier": lambda df, kw, d: (df, {**kw, "rates": {"rate": ("events", "people", -1000.0)}}),
}
PROTECT_XFAIL: dict[str, str] = {}  # every defect found here was fixed (issue 16)


@pytest.mark.parametrize("how", _params(list(PROTECT_BAD), PROTECT_XFAIL))
@refusal(15, df=count_tables(), data=st.data())
def test_protect_refuses_bad_input(how, df, data):
    kw = {"counts": ["people", "events"], "preset": "opensafely",
          "rates": {"rate": ("events", "people", 1000.0)}}
    bad_df, bad_kw = PROTECT_BAD[how](df, kw, data)
    expect_pceval_error(lambda: disclosure.protect(bad_df, **bad_kw))


REBUILD_BAD = {
    "unprotected parts": lambda parts, raw, kw, d: (raw.assign(people=raw["people"] + 1), kw),
    "missing column": lambda parts, raw, kw, d: (parts, {**kw, "counts": ["peeple"]}),
    "misspelt preset": lambda parts, raw, kw, d: (parts, {**kw, "preset": "nhs-hes "}),
    "misspelt by column": lambda parts, raw, kw, d: (parts, {**kw, "by": "aera"}),
    "text counts": lambda parts, raw, kw, d: (parts.assign(people=parts["people"].astype(str)), kw),
    "negative part": lambda parts, raw, kw, d: (_set(parts.astype({"people": float}), _row(d, parts),
                                                     "people", -10.0), kw),
    "infinite part": lambda parts, raw, kw, d: (_set(parts.astype({"people": float}), _row(d, parts),
                                                     "people", np.inf), kw),
    "not a table": lambda parts, raw, kw, d: (parts.to_dict("list"), kw),
}
REBUILD_XFAIL: dict[str, str] = {}  # every defect found here was fixed (issue 16)


@pytest.mark.parametrize("how", _params(list(REBUILD_BAD), REBUILD_XFAIL))
@refusal(15, df=count_tables(), data=st.data())
def test_rebuild_totals_refuses_bad_input(how, df, data):
    kw = {"counts": ["people", "events"], "by": "area", "preset": "opensafely"}
    parts = disclosure.protect(df, ["people", "events"])
    raw = df.assign(people=df["people"].clip(lower=1) * 5 + 1)  # small/unrounded: unprotected
    bad, bad_kw = REBUILD_BAD[how](parts, raw, kw, data)
    expect_pceval_error(lambda: disclosure.rebuild_totals(bad, **bad_kw))


COUNT_BAD = [-1, -0.5, 2.5, np.inf, -np.inf, np.nan, "abc", None, [3], "twelve"]
COUNT_XFAIL: dict[str, str] = {}  # every defect found here was fixed (issue 16)


@pytest.mark.parametrize("bad", [pytest.param(b, id=str(b), marks=(
    [pytest.mark.xfail(strict=True, reason=COUNT_XFAIL[str(b)])] if str(b) in COUNT_XFAIL else []))
    for b in COUNT_BAD])
def test_count_refuses_bad_input(bad):
    expect_pceval_error(lambda: disclosure.count(bad))


def test_count_refuses_misspelt_preset():
    expect_pceval_error(lambda: disclosure.count(100, "open_safely"))


def test_disclosure_bare_string_counts():
    df = pd.DataFrame({"area": ["a", "b"], "people": [120, 3], "events": [40, 0]})
    one_name_or_refused(lambda: disclosure.protect(df, "people"),
                        lambda: disclosure.protect(df, ["people"]),
                        lambda a, b: same_frame(a, b, exact=True))
    parts = disclosure.protect(df, ["people", "events"])
    one_name_or_refused(lambda: disclosure.rebuild_totals(parts, "people", by="area"),
                        lambda: disclosure.rebuild_totals(parts, ["people"], by="area"),
                        lambda a, b: same_frame(a, b, exact=True))


# ------------------------------------------------------------------------------------------------
# inequality: rate, proportion, mean, dsr, sii, concentration_index, quintile_gap
# ------------------------------------------------------------------------------------------------

@st.composite
def crude_tables(draw, proportion: bool = False) -> pd.DataFrame:
    n = draw(st.integers(1, 10))
    den = draw(st.lists(st.integers(1, 5000), min_size=n, max_size=n))
    num = [draw(st.integers(0, d if proportion else 3 * d)) for d in den]
    area = draw(st.lists(st.sampled_from(["north", "south", "east"]), min_size=n, max_size=n))
    return pd.DataFrame({"row": range(n), "area": area, "x": num, "n": den})


levels = st.sampled_from([0.95, 0.998, (0.95, 0.998), 0.8])


def _sorted(out: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


@cases(50)
@given(df=crude_tables(proportion=True), confidence=levels, grouped=st.booleans(), data=st.data())
def test_proportion_valid(df, confidence, grouped, data):
    kw = {"x": "x", "n": "n", "confidence": confidence, "by": "area" if grouped else None}
    frozen = Frozen(df)
    out = ineq.proportion(df, **kw)
    frozen.check()
    for c in ("value", "lower", "upper"):
        v = out[c].to_numpy(float)
        assert np.isfinite(v).all() and ((v >= 0) & (v <= 1)).all(), f"{c} outside [0, 1]"
    assert_within(out["lower"], out["value"], out["upper"], "proportion")
    keys = (["area"] if grouped else ["row"]) + ["confidence"]
    again = ineq.proportion(shuffled(df, data.draw(perm_of(len(df)))), **kw)
    same_frame(_sorted(again, keys), _sorted(out, keys))


@cases(50)
@given(df=crude_tables(), confidence=levels, grouped=st.booleans(),
       mult=st.sampled_from([1, 1000, 100_000]), data=st.data())
def test_rate_valid(df, confidence, grouped, mult, data):
    df = df.assign(n=df["n"] / 7.0)  # person-time need not be whole
    kw = {"x": "x", "n": "n", "confidence": confidence, "multiplier": mult,
          "by": "area" if grouped else None}
    frozen = Frozen(df)
    out = ineq.rate(df, **kw)
    frozen.check()
    for c in ("value", "lower", "upper"):
        v = out[c].to_numpy(float)
        assert np.isfinite(v).all() and (v >= 0).all(), f"{c} negative or not finite"
    assert_within(out["lower"], out["value"], out["upper"], "rate")
    keys = (["area"] if grouped else ["row"]) + ["confidence"]
    again = ineq.rate(shuffled(df, data.draw(perm_of(len(df)))), **kw)
    same_frame(_sorted(again, keys), _sorted(out, keys))


@cases(50)
@given(values=st.lists(finite, min_size=1, max_size=12), confidence=levels,
       grouped=st.booleans(), data=st.data())
def test_mean_valid(values, confidence, grouped, data):
    n = len(values)
    df = pd.DataFrame({"area": data.draw(st.lists(st.sampled_from(["a", "b"]), min_size=n,
                                                  max_size=n)), "score": values})
    kw = {"x": "score", "confidence": confidence, "by": "area" if grouped else None}
    frozen = Frozen(df)
    out = ineq.mean(df, **kw)
    frozen.check()
    assert np.isfinite(out["value"]).all()
    assert ((out["value"] >= df["score"].min() - _tol(out["value"]))
            & (out["value"] <= df["score"].max() + _tol(out["value"]))).all()
    assert_within(out["lower"], out["value"], out["upper"], "mean")
    keys = (["area"] if grouped else []) + ["confidence"]
    again = ineq.mean(shuffled(df, data.draw(perm_of(n))), **kw)
    pd.testing.assert_frame_equal(_sorted(again, keys), _sorted(out, keys), rtol=1e-7, atol=1e-9)


BANDS = ["0-39", "40-64", "65+"]


@st.composite
def dsr_tables(draw) -> pd.DataFrame:
    groups = draw(st.sampled_from([["A"], ["A", "B"]]))
    rows = []
    for g in groups:
        for b in BANDS:
            rows.append({"area": g, "age_band": b, "deaths": draw(st.integers(0, 60)),
                         "population": draw(st.integers(1, 20_000))})
    return pd.DataFrame(rows)


@cases(50)
@given(df=dsr_tables(), confidence=levels, min_count=st.sampled_from([0, 10]), data=st.data())
def test_dsr_valid(df, confidence, min_count, data):
    kw = {"x": "deaths", "n": "population", "age_band": "age_band", "by": "area",
          "confidence": confidence, "min_count": min_count}
    frozen = Frozen(df)
    out = ineq.dsr(df, **kw)
    frozen.check()
    for c in ("value", "lower", "upper"):
        v = out[c].to_numpy(float)
        assert not np.isinf(v).any() and (v[~np.isnan(v)] >= 0).all(), f"{c} negative or inf"
    shown = out["total_count"] >= min_count
    assert out.loc[shown, ["value", "lower", "upper"]].notna().all().all()
    assert_within(out["lower"], out["value"], out["upper"], "dsr")
    keys = ["area", "confidence"]
    again = ineq.dsr(shuffled(df, data.draw(perm_of(len(df)))), **kw)
    same_frame(_sorted(again, keys), _sorted(out, keys))


@st.composite
def sii_tables(draw) -> tuple[pd.DataFrame, dict]:
    kind = draw(st.sampled_from(["normal", "rate", "proportion"]))
    transform = kind != "normal" and draw(st.booleans())
    groups = draw(st.sampled_from([["A"], ["A", "B"]]))
    rows = []
    for g in groups:
        for q in range(1, 6):
            pop = draw(st.integers(50, 50_000))
            if kind == "normal":
                v = draw(st.floats(1, 100, allow_subnormal=False))
            elif kind == "rate":
                v = draw(st.floats(1, 2000, allow_subnormal=False))
            else:
                v = draw(st.floats(0.02, 0.98, allow_subnormal=False))
            rel = draw(st.floats(0.01, 0.3))
            rows.append({"area": g, "imd_quintile": q, "pop": pop, "value": v,
                         "lower": v * (1 - rel), "upper": v * (1 + rel) if kind != "proportion"
                         else min(0.99, v * (1 + rel))})
    df = pd.DataFrame(rows)
    kw = {"value": "value", "population": "pop", "lower": "lower", "upper": "upper",
          "value_type": kind, "transform": transform, "quantile": "imd_quintile",
          "by": "area", "n_boot": 1000}
    return df, kw


@cases(40)
@example(st_sii=(pd.DataFrame({
    "area": "A", "imd_quintile": [1, 2, 3, 4, 5], "pop": 50,
    "value": [1.0, 1.0, 1.0, 1.0, 2000.0], "lower": [0.7, 0.7, 0.7, 0.7, 1400.0],
    "upper": [1.3, 1.3, 1.3, 1.3, 2600.0]}),
    {"value": "value", "population": "pop", "lower": "lower", "upper": "upper",
     "value_type": "rate", "transform": False, "quantile": "imd_quintile", "by": "area",
     "n_boot": 1000}))
@given(st_sii=sii_tables())
def test_sii_intervals_contain_their_estimates(st_sii):
    # issue 16 saw an RII outside its own interval with value_type="rate", transform=False; the
    # explicit example is such a skewed case (one quintile 2,000 times the others), and hypothesis
    # found no interval that misses its estimate today (the code warns where the draws are skewed)
    df, kw = st_sii
    out = ineq.sii(df, **kw)
    assert_within(out["sii_lower"], out["sii"], out["sii_upper"], "SII")
    assert_within(out["rii_lower"], out["rii"], out["rii_upper"], "RII")


@cases(40)
@given(st_sii=sii_tables(), seed=st.integers(0, 2**31 - 1), data=st.data())
def test_sii_valid(st_sii, seed, data):
    df, kw = st_sii
    kw = {**kw, "seed": seed}
    frozen = Frozen(df)
    out = ineq.sii(df, **kw)
    frozen.check()
    for c in ("sii", "sii_lower", "sii_upper", "rii"):
        assert np.isfinite(out[c].to_numpy(float)).all(), f"{c} not finite"
    assert (out["sii_lower"] <= out["sii_upper"]).all()
    rii = out[["rii_lower", "rii_upper"]].to_numpy(float)
    both = np.isfinite(rii).all(axis=1)
    assert (rii[both, 0] <= rii[both, 1]).all()
    if kw["transform"]:  # fitted values on the log/logit scale are positive: so are the RII's
        assert (out[["rii", "rii_lower", "rii_upper"]].to_numpy(float) > 0).all()
    # (untransformed, the fitted most-deprived value can be <= 0 or its draws cross 0: the RII
    # is then negative or its limits missing, with a warning -- the documented PHE behaviour)
    # the same seed gives the same limits; row order does not matter
    same_frame(ineq.sii(df, **kw), out, exact=True)
    again = ineq.sii(shuffled(df, data.draw(perm_of(len(df)))), **kw)
    same_frame(_sorted(again, ["area"]), _sorted(out, ["area"]))
    # a group's limits do not depend on the other groups in the call
    alone = ineq.sii(df[df["area"] == "A"], **kw)
    same_frame(alone, out[out["area"] == "A"])


@st.composite
def person_outcomes(draw, binary: bool) -> pd.DataFrame:
    n = draw(st.integers(4, 40))
    q = draw(st.lists(st.integers(1, 5), min_size=n, max_size=n).filter(lambda v: len(set(v)) > 1))
    y = draw(st.lists(st.integers(0, 1) if binary else st.integers(0, 20), min_size=n, max_size=n)
             .filter(lambda v: len(set(v)) > 1))
    return pd.DataFrame({"person": range(n), "imd_quintile": q, "admitted": y})


@cases(50)
@given(binary=st.booleans(), kind=st.sampled_from(["standard", "generalized", "wagstaff", "erreygers"]),
       data=st.data())
def test_concentration_index_valid(binary, kind, data):
    df = data.draw(person_outcomes(binary))
    bounds = (0, 1) if binary else (0, 20)
    kw = {"outcome": "admitted", "quantile": "imd_quintile", "kind": kind, "bounds": bounds}
    frozen = Frozen(df)
    out = ineq.concentration_index(df, **kw)
    frozen.check()
    assert out["n"].iloc[0] == len(df)
    assert_within(out["lower"], out["index"], out["upper"], "concentration index")
    assert np.isfinite(out["index"]).all() and (out["std_error"] >= 0).all()
    if kind in ("standard", "wagstaff", "erreygers"):
        assert ((out["index"] >= -1 - 1e-12) & (out["index"] <= 1 + 1e-12)).all()
    again = ineq.concentration_index(shuffled(df, data.draw(perm_of(len(df)))), **kw)
    same_frame(again, out)


@st.composite
def quintile_tables(draw) -> pd.DataFrame:
    n = [draw(st.integers(1, 20_000)) for _ in range(5)]
    x = [draw(st.integers(1, k)) for k in n]
    return pd.DataFrame({"imd_quintile": [1, 2, 3, 4, 5], "x": x, "n": n})


@cases(50)
@given(df=quintile_tables(), measure=st.sampled_from(["rate", "proportion"]), data=st.data())
def test_quintile_gap_valid(df, measure, data):
    kw = {"x": "x", "n": "n", "measure": measure}
    frozen = Frozen(df)
    out = ineq.quintile_gap(df, **kw)
    frozen.check()
    assert_within(out["lower"], out["estimate"], out["upper"], "quintile gap")
    rel = out[out["measure"] == "relative gap"]
    assert (rel[["estimate", "lower", "upper"]].to_numpy(float) > 0).all()
    if measure == "proportion":
        assert ((out["most_deprived_value"] >= 0) & (out["most_deprived_value"] <= 1)).all()
    again = ineq.quintile_gap(shuffled(df, data.draw(perm_of(5))), **kw)
    same_frame(again, out)


def _crude_bad(col_x: str = "x", col_n: str = "n") -> dict[str, Callable]:
    return {
        "missing column": lambda df, kw, d: (df, {**kw, "x": "xx"}),
        "negative numerator": lambda df, kw, d: (_set(df, _row(d, df), col_x, -1), kw),
        "zero denominator": lambda df, kw, d: (_set(df, _row(d, df), col_n, 0), kw),
        "infinite numerator": lambda df, kw, d: (_set(df, _row(d, df), col_x, np.inf), kw),
        "infinite denominator": lambda df, kw, d: (_set(df, _row(d, df), col_n, np.inf), kw),
        "text numerator": lambda df, kw, d: (df.assign(**{col_x: df[col_x].astype(str)}), kw),
        "misspelt group column": lambda df, kw, d: (df, {**kw, "by": "araa"}),
        "missing group value": lambda df, kw, d: (_set(df.astype({"area": object}), _row(d, df),
                                                       "area", None), {**kw, "by": "area"}),
        "confidence above 1": lambda df, kw, d: (df, {**kw, "confidence": 95}),
        "confidence as text": lambda df, kw, d: (df, {**kw, "confidence": "0.95"}),
        "confidence not finite": lambda df, kw, d: (df, {**kw, "confidence": d.draw(st.sampled_from(BAD_NUMBERS))}),
        "multiplier not positive": lambda df, kw, d: (df, {**kw, "multiplier": d.draw(st.sampled_from([0, -100]))}),
        "multiplier not finite": lambda df, kw, d: (df, {**kw, "multiplier": d.draw(st.sampled_from(BAD_NUMBERS))}),
        "column name not a string": lambda df, kw, d: (df, {**kw, "x": ["x"]}),
        "not a table": lambda df, kw, d: (df.to_dict("list"), kw),
    }


RATE_BAD = _crude_bad()
PROPORTION_BAD = {**_crude_bad(), "numerator above denominator": lambda df, kw, d: (
    _set(df, _row(d, df), "x", 10**6), kw)}


@pytest.mark.parametrize("how", list(RATE_BAD))
@refusal(12, df=crude_tables(), data=st.data())
def test_rate_refuses_bad_input(how, df, data):
    bad, kw = RATE_BAD[how](df, {"x": "x", "n": "n"}, data)
    expect_pceval_error(lambda: ineq.rate(bad, **kw))


@pytest.mark.parametrize("how", list(PROPORTION_BAD))
@refusal(12, df=crude_tables(proportion=True), data=st.data())
def test_proportion_refuses_bad_input(how, df, data):
    bad, kw = PROPORTION_BAD[how](df, {"x": "x", "n": "n"}, data)
    expect_pceval_error(lambda: ineq.proportion(bad, **kw))


MEAN_BAD = {
    "missing column": lambda df, kw, d: (df, {**kw, "x": "scor"}),
    "infinite value": lambda df, kw, d: (_set(df, _row(d, df), "score", d.draw(st.sampled_from([np.inf, -np.inf]))), kw),
    "text values": lambda df, kw, d: (df.assign(score=df["score"].astype(str)), kw),
    "all missing": lambda df, kw, d: (df.assign(score=np.nan), kw),
    "misspelt group column": lambda df, kw, d: (df, {**kw, "by": "araa"}),
    "confidence above 1": lambda df, kw, d: (df, {**kw, "confidence": 95}),
    "not a table": lambda df, kw, d: (df.to_dict("list"), kw),
}


@pytest.mark.parametrize("how", list(MEAN_BAD))
@refusal(12, values=st.lists(finite, min_size=1, max_size=8), data=st.data())
def test_mean_refuses_bad_input(how, values, data):
    df = pd.DataFrame({"area": "a", "score": values})
    bad, kw = MEAN_BAD[how](df, {"x": "score"}, data)
    expect_pceval_error(lambda: ineq.mean(bad, **kw))


DSR_BAD = {
    "missing column": lambda df, kw, d: (df, {**kw, "x": "death"}),
    "negative count": lambda df, kw, d: (_set(df, _row(d, df), "deaths", -3), kw),
    "infinite count": lambda df, kw, d: (_set(df, _row(d, df), "deaths", np.inf), kw),
    "zero population": lambda df, kw, d: (_set(df, _row(d, df), "population", 0), kw),
    "infinite population": lambda df, kw, d: (_set(df, _row(d, df), "population", np.inf), kw),
    "missing population": lambda df, kw, d: (_set(df, _row(d, df), "population", np.nan), kw),
    "misspelt age band": lambda df, kw, d: (_set(df, _row(d, df), "age_band", "40-6a"), kw),
    "duplicated age band": lambda df, kw, d: (pd.concat([df, df.iloc[[_row(d, df)]]]), kw),
    "misspelt standard": lambda df, kw, d: (df, {**kw, "standard": "esp2031"}),
    "standard missing a band": lambda df, kw, d: (df, {**kw, "standard": {"0-39": 1.0, "40-64": 2.0}}),
    "text counts": lambda df, kw, d: (df.assign(deaths=df["deaths"].astype(str)), kw),
    "min_count not a whole number": lambda df, kw, d: (df, {**kw, "min_count": 2.5}),
    "confidence above 1": lambda df, kw, d: (df, {**kw, "confidence": 95}),
}


@pytest.mark.parametrize("how", list(DSR_BAD))
@refusal(12, df=dsr_tables(), data=st.data())
def test_dsr_refuses_bad_input(how, df, data):
    kw = {"x": "deaths", "n": "population", "age_band": "age_band", "by": "area"}
    bad, bad_kw = DSR_BAD[how](df, kw, data)
    expect_pceval_error(lambda: ineq.dsr(bad, **bad_kw))


SII_BAD = {
    "missing column": lambda df, kw, d: (df, {**kw, "value": "valeu"}),
    "infinite value": lambda df, kw, d: (_set(df, _row(d, df), "value", np.inf), kw),
    "missing value": lambda df, kw, d: (_set(df, _row(d, df), "value", np.nan), kw),
    "zero population": lambda df, kw, d: (_set(df, _row(d, df), "pop", 0), kw),
    "infinite population": lambda df, kw, d: (_set(df, _row(d, df), "pop", np.inf), kw),
    "infinite limit": lambda df, kw, d: (_set(df, _row(d, df), "upper", np.inf), kw),
    "text values": lambda df, kw, d: (df.assign(value=df["value"].astype(str)), kw),
    "misspelt value_type": lambda df, kw, d: (df, {**kw, "value_type": "rates"}),
    "misspelt polarity": lambda df, kw, d: (df, {**kw, "polarity": "higher_is_good"}),
    "too few simulations": lambda df, kw, d: (df, {**kw, "n_boot": 10}),
    "misspelt quantile column": lambda df, kw, d: (df, {**kw, "quantile": "imd_quintle"}),
    "one quantile only": lambda df, kw, d: (df.assign(imd_quintile=1), kw),
    "seed as text": lambda df, kw, d: (df, {**kw, "seed": "one"}),
    "not a table": lambda df, kw, d: (df.to_dict("list"), kw),
}


SII_XFAIL: dict[str, str] = {}  # every defect found here was fixed (issue 16)


@pytest.mark.parametrize("how", _params(list(SII_BAD), SII_XFAIL))
@refusal(10, st_sii=sii_tables(), data=st.data())
def test_sii_refuses_bad_input(how, st_sii, data):
    df, kw = st_sii
    bad, bad_kw = SII_BAD[how](df, kw, data)
    expect_pceval_error(lambda: ineq.sii(bad, **bad_kw))


CONC_BAD = {
    "missing column": lambda df, kw, d: (df, {**kw, "outcome": "admited"}),
    "misspelt kind": lambda df, kw, d: (df, {**kw, "kind": "wagstaf"}),
    "infinite outcome": lambda df, kw, d: (_set(df, _row(d, df), "admitted", np.inf), kw),
    "missing outcome": lambda df, kw, d: (_set(df, _row(d, df), "admitted", np.nan), kw),
    "text quantile": lambda df, kw, d: (df.assign(imd_quintile=df["imd_quintile"].astype(str) + "q"), kw),
    "negative weight": lambda df, kw, d: (_set(df.assign(w=1.0), _row(d, df), "w", -1.0), {**kw, "weights": "w"}),
    "reversed bounds": lambda df, kw, d: (df, {**kw, "bounds": (20, 0)}),
    "infinite bounds": lambda df, kw, d: (df, {**kw, "bounds": (0, np.inf)}),
    "outcome outside bounds": lambda df, kw, d: (_set(df, _row(d, df), "admitted", 50), {**kw, "bounds": (0, 20)}),
    "misspelt most_deprived": lambda df, kw, d: (df, {**kw, "most_deprived": "low"}),
}


@pytest.mark.parametrize("how", list(CONC_BAD))
@refusal(10, data=st.data())
def test_concentration_index_refuses_bad_input(how, data):
    df = data.draw(person_outcomes(binary=False))
    kw = {"outcome": "admitted", "quantile": "imd_quintile", "kind": "erreygers", "bounds": (0, 20)}
    bad, bad_kw = CONC_BAD[how](df, kw, data)
    expect_pceval_error(lambda: ineq.concentration_index(bad, **bad_kw))


GAP_BAD = {
    "missing column": lambda df, kw, d: (df, {**kw, "x": "xx"}),
    "misspelt measure": lambda df, kw, d: (df, {**kw, "measure": "rates"}),
    "quantile not in data": lambda df, kw, d: (df, {**kw, "quantiles": (1, 6)}),
    "quintiles coded 0-4": lambda df, kw, d: (df.assign(imd_quintile=df["imd_quintile"] - 1), kw),
    "no quintile 1": lambda df, kw, d: (df[df["imd_quintile"] != 1], kw),
    "zero denominator": lambda df, kw, d: (_set(df, _row(d, df), "n", 0), kw),
    "infinite count": lambda df, kw, d: (_set(df, _row(d, df), "x", np.inf), kw),
    "negative count": lambda df, kw, d: (_set(df, _row(d, df), "x", -1), kw),
    "text quintiles": lambda df, kw, d: (df.assign(imd_quintile=["one", "two", "three", "four", "five"]), kw),
    "numerator above denominator": lambda df, kw, d: (_set(df, _row(d, df), "x", 10**6), {**kw, "measure": "proportion"}),
}


@pytest.mark.parametrize("how", list(GAP_BAD))
@refusal(10, df=quintile_tables(), data=st.data())
def test_quintile_gap_refuses_bad_input(how, df, data):
    bad, kw = GAP_BAD[how](df, {"x": "x", "n": "n", "measure": "rate"}, data)
    expect_pceval_error(lambda: ineq.quintile_gap(bad, **kw))


def test_inequality_bare_string_group_by_is_one_column():
    # group_by documents "a single name is one column": the bare string is the API, not a mistake
    df = pd.DataFrame({"area": ["a", "a", "b"], "x": [3, 4, 5], "n": [10, 20, 30]})
    pd.testing.assert_frame_equal(ineq.rate(df, "x", "n", by="area"),
                                  ineq.rate(df, "x", "n", by=["area"]))


# ------------------------------------------------------------------------------------------------
# DiD: did2x2, twfe, att_gt
# ------------------------------------------------------------------------------------------------

@st.composite
def did_panels(draw, poisson: bool = False) -> pd.DataFrame:
    n_t, n_c = draw(st.integers(2, 6)), draw(st.integers(2, 6))
    periods = draw(st.sampled_from([(0, 1), (0, 0, 1, 1), (0, 1, 1)]))
    rows = []
    for i in range(n_t + n_c):
        for k, post in enumerate(periods):
            y = draw(st.integers(0, 30)) if poisson else draw(finite)
            rows.append({"unit": i * 7 + 3, "period": k, "treated": int(i < n_t), "post": post,
                         "y": y, "months": draw(st.floats(0.5, 12)) if poisson else 1.0,
                         "age": draw(st.floats(20, 90))})
    df = pd.DataFrame(rows)
    if poisson:  # every treatment x period cell has some events, or the rate ratio is undefined
        cells = df.groupby(["treated", "post"])["y"].transform("sum")
        df.loc[(cells == 0).to_numpy() & ~df.duplicated(["treated", "post"]).to_numpy(), "y"] = 1
    return df


def _with_str_ids(df: pd.DataFrame, col: str) -> pd.DataFrame:
    return df.assign(**{col: "u" + df[col].astype(str)})


def _did_kw(poisson: bool) -> dict:
    kw = {"outcome": "y", "treatment": "treated", "unit": "unit", "post": "post"}
    if poisson:
        kw.update(model="poisson", exposure="months", exposure_unit="month")
    return kw


def _drop_design(frame: pd.DataFrame, cols: tuple[str, ...] = ("se_type", "cluster")) -> pd.DataFrame:
    return frame.drop(columns=[c for c in cols if c in frame])


def _counterfactual_mean(df: pd.DataFrame) -> float:
    """The linear 2x2's treated post-period mean without the effect (saturated OLS = cell means)."""
    m = df.groupby(["treated", "post"])["y"].mean()
    return float(m[(1, 0)] + m[(0, 1)] - m[(0, 0)])



@cases(10)
@example(df=pd.DataFrame({"unit": [3, 3, 10, 10, 17, 17, 24, 24], "period": [0, 1] * 4,
                          "treated": [1, 1, 1, 1, 0, 0, 0, 0], "post": [0, 1] * 4, "y": 0.0}))
@given(df=did_panels())
def test_did2x2_zero_counterfactual_mean(df):
    """A valid panel whose counterfactual mean is 0: a result (with a NaN ratio) or a PcevalError."""
    df = df.assign(y=0.0)
    try:
        res = did.did2x2(df, **_did_kw(False))
    except PcevalError:
        return
    assert_protocol(res, "did2x2")


@cases(30)
@given(poisson=st.booleans(), data=st.data())
def test_did2x2_valid(poisson, data):
    df = data.draw(did_panels(poisson))
    if not poisson:
        # a treated counterfactual mean of exactly 0 is the defect in
        # test_did2x2_zero_counterfactual_mean; the other properties are checked on the rest
        assume(abs(_counterfactual_mean(df)) > 1e-9 * max(1.0, df["y"].abs().max()))
    kw = _did_kw(poisson)
    frozen = Frozen(df)
    res = did.did2x2(df, **kw)
    frozen.check()
    frame = assert_protocol(res, "did2x2")
    assert list(frame["scale"]) == ["absolute", "relative"]
    rel = frame.loc[frame["scale"] == "relative", "estimate"].to_numpy(float)
    assert (rel[np.isfinite(rel)] > 0).all()
    assert res.n_units == df["unit"].nunique() and res.n_obs == len(df)
    same_frame(did.did2x2(df, **kw).to_frame(), frame, exact=True)
    again = did.did2x2(shuffled(df, data.draw(perm_of(len(df)))), **kw)
    same_frame(again.to_frame(), frame)
    as_str = did.did2x2(_with_str_ids(df, "unit"), **kw)
    same_frame(as_str.to_frame(), frame)


@st.composite
def staggered_panels(draw, n_periods: int = 4) -> pd.DataFrame:
    sizes = {0: draw(st.integers(2, 5)), 3: draw(st.integers(1, 4)), 4: draw(st.integers(0, 4))}
    rows, uid = [], 0
    for g, k in sizes.items():
        for _ in range(k):
            uid += draw(st.integers(1, 9))  # ids with gaps and of varying width (1, 10, 100...)
            for t in range(1, n_periods + 1):
                rows.append({"unit": uid, "time": t, "g": g, "y": draw(finite)})
    return pd.DataFrame(rows)


@cases(40)
@given(df=staggered_panels(), by_group=st.booleans(), data=st.data())
def test_twfe_valid(df, by_group, data):
    df = df.assign(d=((df["g"] > 0) & (df["time"] >= df["g"])).astype(int))
    kw = {"outcome": "y", "unit": "unit", "time": "time"} | (
        {"group": "g"} if by_group else {"treatment": "d"})
    frozen = Frozen(df)
    res = did.twfe(df, **kw)
    frozen.check()
    frame = assert_protocol(res, "twfe")
    same_frame(did.twfe(df, **kw).to_frame(), frame, exact=True)
    again = did.twfe(shuffled(df, data.draw(perm_of(len(df)))), **kw)
    same_frame(again.to_frame(), frame)
    as_str = did.twfe(_with_str_ids(df, "unit"), **kw)
    same_frame(_drop_design(as_str.to_frame()), _drop_design(frame))


def _att_gt_checks(res: Any, df: pd.DataFrame, n_boot: int) -> pd.DataFrame:
    frame = assert_protocol(res, "att_gt")
    tab = res.table
    assert_within(tab["ci_lower"], tab["estimate"], tab["ci_upper"], "att_gt pointwise CI")
    if n_boot:
        assert_within(tab["band_lower"], tab["estimate"], tab["band_upper"], "att_gt uniform band")
    assert (tab["n_treated"] >= 0).all() and (tab["n_comparison"] >= 0).all()
    assert res.n_units == df["unit"].nunique()
    for kind in ("simple", "dynamic", "group", "calendar"):
        assert_protocol(res.aggregate(kind), f"att_gt.aggregate({kind!r})")
    return frame


@cases(30)
@given(df=staggered_panels(), data=st.data())
def test_att_gt_valid_without_bootstrap(df, data):
    kw = {"outcome": "y", "unit": "unit", "time": "time", "group": "g", "n_boot": 0}
    frozen = Frozen(df)
    res = did.att_gt(df, **kw)
    frozen.check()
    frame = _att_gt_checks(res, df, 0)
    same_frame(did.att_gt(df, **kw).to_frame(), frame, exact=True)
    again = did.att_gt(shuffled(df, data.draw(perm_of(len(df)))), **kw)
    same_frame(again.to_frame(), frame)
    as_str = did.att_gt(_with_str_ids(df, "unit"), **kw)
    same_frame(as_str.to_frame(), frame)


@cases(30)
@given(df=staggered_panels(), seed=st.integers(0, 2**31 - 1), data=st.data())
def test_att_gt_valid_with_bootstrap(df, seed, data):
    kw = {"outcome": "y", "unit": "unit", "time": "time", "group": "g", "n_boot": 99, "seed": seed}
    frozen = Frozen(df)
    res = did.att_gt(df, **kw)
    frozen.check()
    frame = _att_gt_checks(res, df, 99)
    # the same seed gives the same band; the rows' order does not change it
    same_frame(did.att_gt(df, **kw).to_frame(), frame, exact=True)
    again = did.att_gt(shuffled(df, data.draw(perm_of(len(df)))), **kw)
    same_frame(again.to_frame(), frame)



@cases(30)
@given(df=staggered_panels(), seed=st.integers(0, 2**31 - 1))
def test_att_gt_bootstrap_band_does_not_depend_on_how_ids_are_written(df, seed):
    kw = {"outcome": "y", "unit": "unit", "time": "time", "group": "g", "n_boot": 99, "seed": seed}
    res = did.att_gt(df, **kw)
    as_str = did.att_gt(df.assign(unit=df["unit"].astype(str)), **kw)
    same_frame(as_str.to_frame(), res.to_frame())


DID_BAD = {
    "missing column": lambda df, kw, d: (df, {**kw, "outcome": "yy"}),
    "infinite outcome": lambda df, kw, d: (_set(df, _row(d, df), "y", d.draw(st.sampled_from([np.inf, -np.inf]))), kw),
    "missing outcome": lambda df, kw, d: (_set(df, _row(d, df), "y", np.nan), kw),
    "text outcome": lambda df, kw, d: (df.assign(y=df["y"].astype(str)), kw),
    "treatment not 0/1": lambda df, kw, d: (_set(df, _row(d, df), "treated", 2), kw),
    "post not 0/1": lambda df, kw, d: (_set(df, _row(d, df), "post", -1), kw),
    "treatment as text": lambda df, kw, d: (df.assign(treated=np.where(df["treated"] == 1, "yes", "no")), kw),
    "misspelt model": lambda df, kw, d: (df, {**kw, "model": "possion"}),
    "negative weight": lambda df, kw, d: (_set(df.assign(w=1.0), _row(d, df), "w", -1.0), {**kw, "weights": "w"}),
    "missing weight": lambda df, kw, d: (_set(df.assign(w=1.0), _row(d, df), "w", np.nan), {**kw, "weights": "w"}),
    "infinite covariate": lambda df, kw, d: (_set(df, _row(d, df), "age", np.inf), {**kw, "covariates": ["age"]}),
    "misspelt covariate": lambda df, kw, d: (df, {**kw, "covariates": ["ag"]}),
    "confidence as a percentage": lambda df, kw, d: (df, {**kw, "confidence": 95}),
    "poisson without exposure unit": lambda df, kw, d: (df.assign(y=df["y"].abs().round()), {
        **kw, "model": "poisson", "exposure": "months"}),
    "poisson negative count": lambda df, kw, d: (_set(df.assign(y=df["y"].abs().round()), _row(d, df), "y", -2.0), {
        **kw, "model": "poisson", "exposure": "months", "exposure_unit": "month"}),
    "poisson zero exposure": lambda df, kw, d: (_set(df.assign(y=df["y"].abs().round()), _row(d, df), "months", 0.0), {
        **kw, "model": "poisson", "exposure": "months", "exposure_unit": "month"}),
    "misspelt exposure unit": lambda df, kw, d: (df.assign(y=df["y"].abs().round()), {
        **kw, "model": "poisson", "exposure": "months", "exposure_unit": "months"}),
    "not a table": lambda df, kw, d: (df.to_dict("list"), kw),
}


def _not_a_table(f: str, example: str) -> dict[str, str]:
    """A dict of columns where a table goes was a raw narwhals TypeError (fixed: an InputError)."""
    return {}


DID_XFAIL = _not_a_table("did2x2", "4 units (2 treated), one pre and one post row each, y 0.0")


@pytest.mark.parametrize("how", _params(list(DID_BAD), DID_XFAIL))
@refusal(10, df=did_panels(), data=st.data())
def test_did2x2_refuses_bad_input(how, df, data):
    bad, kw = DID_BAD[how](df, _did_kw(False), data)
    expect_pceval_error(lambda: did.did2x2(bad, **kw))


def _vary_group(df: pd.DataFrame, d: st.DataObject) -> pd.DataFrame:
    first = df["unit"].iloc[0]
    rows = df.index[df["unit"] == first]
    out = df.copy()
    out.loc[rows[-1], "g"] = 3 if out.loc[rows[0], "g"] != 3 else 0
    return out


STAGGERED_BAD = {
    "missing column": lambda df, kw, d: (df, {**kw, "outcome": "yy"}),
    "infinite outcome": lambda df, kw, d: (_set(df, _row(d, df), "y", np.inf), kw),
    "text outcome": lambda df, kw, d: (df.assign(y=df["y"].astype(str)), kw),
    "text time": lambda df, kw, d: (df.assign(time="t" + df["time"].astype(str)), kw),
    "group varies within a unit": lambda df, kw, d: (_vary_group(df, d), kw),
    "negative weight": lambda df, kw, d: (df.assign(w=np.where(df["unit"] == df["unit"].iloc[0], -1.0, 1.0)),
                                          {**kw, "weights": "w"}),
    "infinite weight": lambda df, kw, d: (df.assign(w=np.where(df["unit"] == df["unit"].iloc[0], np.inf, 1.0)),
                                          {**kw, "weights": "w"}),
    "misspelt covariate": lambda df, kw, d: (df, {**kw, "covariates": ["ag"]}),
    "confidence as a percentage": lambda df, kw, d: (df, {**kw, "confidence": 95}),
    "duplicated unit-period": lambda df, kw, d: (pd.concat([df, df.iloc[[_row(d, df)]]], ignore_index=True), kw),
    "not a table": lambda df, kw, d: (df.to_dict("list"), kw),
}
ATT_GT_BAD = {
    **STAGGERED_BAD,
    "misspelt control group": lambda df, kw, d: (df, {**kw, "control_group": "not_yet"}),
    "misspelt method": lambda df, kw, d: (df, {**kw, "method": "doubly robust"}),
    "negative n_boot": lambda df, kw, d: (df, {**kw, "n_boot": -1}),
    "seed as text": lambda df, kw, d: (df, {**kw, "seed": "abc"}),
    "negative anticipation": lambda df, kw, d: (df, {**kw, "anticipation": -1}),
}
TWFE_BAD = {
    **STAGGERED_BAD,
    "treatment and group both given": lambda df, kw, d: (df.assign(d=0), {**kw, "treatment": "d"}),
    "treatment not 0/1": lambda df, kw, d: (df.assign(d=2), {k: v for k, v in kw.items() if k != "group"} | {"treatment": "d"}),
}


STAGGERED_XFAIL = "2 never-treated units and 1 unit first treated in period 3, periods 1-4, y 0.0"


@pytest.mark.parametrize("how", _params(list(TWFE_BAD), _not_a_table("twfe", STAGGERED_XFAIL)))
@refusal(10, df=staggered_panels(), data=st.data())
def test_twfe_refuses_bad_input(how, df, data):
    bad, kw = TWFE_BAD[how](df, {"outcome": "y", "unit": "unit", "time": "time", "group": "g"}, data)
    expect_pceval_error(lambda: did.twfe(bad, **kw))


@pytest.mark.parametrize("how", _params(list(ATT_GT_BAD), _not_a_table("att_gt", STAGGERED_XFAIL)))
@refusal(10, df=staggered_panels(), data=st.data())
def test_att_gt_refuses_bad_input(how, df, data):
    kw = {"outcome": "y", "unit": "unit", "time": "time", "group": "g", "n_boot": 0}
    bad, bad_kw = ATT_GT_BAD[how](df, kw, data)
    expect_pceval_error(lambda: did.att_gt(bad, **bad_kw))


def test_did_bare_string_covariates():
    rng = np.random.default_rng(3)
    n = 20
    df = pd.DataFrame({"unit": np.repeat(np.arange(n), 2), "post": np.tile([0, 1], n),
                       "treated": np.repeat(np.arange(n) % 2, 2), "y": rng.normal(size=2 * n),
                       "age": np.repeat(rng.normal(50, 10, n), 2)})
    kw = {"outcome": "y", "treatment": "treated", "unit": "unit", "post": "post"}
    one_name_or_refused(lambda: did.did2x2(df, covariates="age", **kw),
                        lambda: did.did2x2(df, covariates=["age"], **kw),
                        lambda a, b: same_frame(a.to_frame(), b.to_frame()))
    st_df = pd.DataFrame([{"unit": i, "time": t, "g": [0, 3, 4][i % 3], "y": float(rng.normal()),
                           "age": float(i % 5)} for i in range(30) for t in range(1, 5)])
    kw = {"outcome": "y", "unit": "unit", "time": "time", "group": "g", "n_boot": 0}
    one_name_or_refused(lambda: did.att_gt(st_df, covariates="age", **kw),
                        lambda: did.att_gt(st_df, covariates=["age"], **kw),
                        lambda a, b: same_frame(a.to_frame(), b.to_frame()))
    one_name_or_refused(lambda: did.twfe(st_df, "y", "unit", "time", group="g", covariates="age"),
                        lambda: did.twfe(st_df, "y", "unit", "time", group="g", covariates=["age"]),
                        lambda a, b: same_frame(a.to_frame(), b.to_frame()))


# ------------------------------------------------------------------------------------------------
# balance_table, match, estimate_effect
# ------------------------------------------------------------------------------------------------

@st.composite
def people_tables(draw, min_t: int = 2, max_t: int = 10, max_c: int = 20, min_c: int = 2) -> pd.DataFrame:
    """People with continuous covariates drawn from a seeded generator (no ties), a binary one,
    a text one and an outcome."""
    n_t, n_c = draw(st.integers(min_t, max_t)), draw(st.integers(min_c, max_c))
    n = n_t + n_c
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    t = np.r_[np.ones(n_t, int), np.zeros(n_c, int)]
    t = t[draw(perm_of(n))]
    return pd.DataFrame({
        "pid": np.arange(n) * 3 + 1, "t": t,
        "age": np.round(rng.normal(60, 12, n) + 3 * t, 6),
        "ltcs": rng.integers(0, 2, n), "sex": rng.choice(["f", "m"], n),
        "y": np.round(rng.normal(5, 2, n) + t, 6),
        "w": np.round(rng.uniform(0.5, 2.0, n), 6),
    })


@cases(50)
@given(df=people_tables(), weighted=st.booleans(), estimand=st.sampled_from(["ATT", "ATC", "ATE"]),
       data=st.data())
def test_balance_table_valid(df, weighted, estimand, data):
    kw = {"treatment": "t", "covariates": ["age", "ltcs", "sex"], "estimand": estimand,
          "weights": "w" if weighted else None}
    frozen = Frozen(df)
    res = pceval.balance_table(df, **kw)
    frozen.check()
    frame = assert_protocol(res, "balance_table")
    for c in ("ks", "ecdf_mean", "ecdf_max"):
        v = frame[c].to_numpy(float)
        assert ((v[np.isfinite(v)] >= 0) & (v[np.isfinite(v)] <= 1 + 1e-12)).all(), c
    vr = frame["var_ratio"].to_numpy(float)
    assert (vr[~np.isnan(vr)] >= 0).all()
    assert not np.isinf(frame[["smd", "mean_treated", "mean_control"]].to_numpy(float)).any()
    same_frame(pceval.balance_table(df, **kw).to_frame(), frame, exact=True)
    again = pceval.balance_table(shuffled(df, data.draw(perm_of(len(df)))), **kw)
    same_frame(again.to_frame(), frame)


BALANCE_BAD = {
    "missing covariate": lambda df, kw, d: (df, {**kw, "covariates": ["agee"]}),
    "treatment not 0/1": lambda df, kw, d: (_set(df, _row(d, df), "t", 2), kw),
    "treatment as text": lambda df, kw, d: (df.assign(t=np.where(df["t"] == 1, "yes", "no")), kw),
    "missing treatment": lambda df, kw, d: (_set(df, _row(d, df), "t", np.nan), kw),
    "infinite covariate": lambda df, kw, d: (_set(df, _row(d, df), "age", d.draw(st.sampled_from([np.inf, -np.inf]))), kw),
    "negative weight": lambda df, kw, d: (_set(df, _row(d, df), "w", -1.0), {**kw, "weights": "w"}),
    "missing weight": lambda df, kw, d: (_set(df, _row(d, df), "w", np.nan), {**kw, "weights": "w"}),
    "weights of the wrong length": lambda df, kw, d: (df, {**kw, "weights": np.ones(len(df) + 1)}),
    "misspelt estimand": lambda df, kw, d: (df, {**kw, "estimand": "ATTT"}),
    "negative threshold": lambda df, kw, d: (df, {**kw, "thresholds": {"smd": -1}}),
    "unknown threshold": lambda df, kw, d: (df, {**kw, "thresholds": {"smdd": 0.1}}),
    "no covariates": lambda df, kw, d: (df, {**kw, "covariates": []}),
    "only one group": lambda df, kw, d: (df.assign(t=1), kw),
    "not a table": lambda df, kw, d: (df.to_dict("list"), kw),
}


@pytest.mark.parametrize("how", list(BALANCE_BAD))
@refusal(10, df=people_tables(), data=st.data())
def test_balance_table_refuses_bad_input(how, df, data):
    bad, kw = BALANCE_BAD[how](df, {"treatment": "t", "covariates": ["age", "sex"]}, data)
    expect_pceval_error(lambda: pceval.balance_table(bad, **kw))


def _match(df: pd.DataFrame, *args: Any, **kw: Any) -> Any:
    """pceval.match, with tables whose propensity model separates the groups set aside: the
    EstimationError saying so is the documented answer for them, not what these properties test."""
    try:
        return pceval.match(df, *args, **kw)
    except EstimationError as exc:
        if "separation" in str(exc):
            reject()
        raise


def _pairs(m: Any, df: pd.DataFrame) -> set[tuple[int, ...]]:
    """Matched sets as (treated pid, sorted control pids), independent of row positions."""
    pid = df["pid"].to_numpy()
    out = set()
    for focal, ctrls in zip(m.focal_rows, m.match_matrix, strict=True):
        out.add((int(pid[focal]), *sorted(int(pid[c]) for c in ctrls if c >= 0)))
    return out


@cases(40)
@given(df=people_tables(min_t=4, min_c=8, max_c=25), replace=st.booleans(), ratio=st.sampled_from([1, 2]),
       caliper=st.sampled_from([None, 0.5, 2.0]), data=st.data())
def test_match_valid(df, replace, ratio, caliper, data):
    kw = {"treatment": "t", "covariates": ["age", "ltcs"], "replace": replace, "ratio": ratio,
          "caliper": caliper}
    frozen = Frozen(df)
    m = _match(df, **kw)
    frozen.check()
    w = m.weights
    assert np.isfinite(w).all() and (w >= 0).all()
    t = df["t"].to_numpy()
    assert set(np.unique(w[t == 1])) <= {0.0, 1.0}
    assert m.n_matched["treated"] <= (t == 1).sum() and m.n_matched["control"] <= (t == 0).sum()
    if m.distance is not None:
        assert ((m.distance >= 0) & (m.distance <= 1)).all()
    md = m.matched_data()
    assert np.isfinite(md["weights"]).all() and (md["weights"] > 0).all()
    if not replace:  # a control is used at most once
        ctrls = m.match_matrix[m.match_matrix >= 0]
        assert len(ctrls) == len(np.unique(ctrls))
    assert_protocol(m, "match")
    perm = data.draw(perm_of(len(df)))
    again = _match(shuffled(df, perm), **kw)
    assert _pairs(again, shuffled(df, perm)) == _pairs(m, df)


@cases(25)
@given(df=people_tables(min_t=4, min_c=8, max_c=25), seed=st.integers(0, 2**31 - 1))
def test_match_same_seed_same_pairs(df, seed):
    kw = {"treatment": "t", "covariates": ["age", "ltcs"], "m_order": "random", "seed": seed}
    a, b = _match(df, **kw), pceval.match(df, **kw)
    assert _pairs(a, df) == _pairs(b, df)
    np.testing.assert_array_equal(a.weights, b.weights)


MATCH_BAD = {
    "missing covariate": lambda df, kw, d: (df, {**kw, "covariates": ["agee"]}),
    "treatment not 0/1": lambda df, kw, d: (_set(df, _row(d, df), "t", 2), kw),
    "treatment as text": lambda df, kw, d: (df.assign(t=np.where(df["t"] == 1, "yes", "no")), kw),
    "infinite covariate": lambda df, kw, d: (_set(df, _row(d, df), "age", np.inf), kw),
    "missing covariate value": lambda df, kw, d: (_set(df, _row(d, df), "age", np.nan), kw),
    "misspelt method": lambda df, kw, d: (df, {**kw, "method": "nearest neighbour"}),
    "misspelt distance": lambda df, kw, d: (df, {**kw, "distance": "glmm"}),
    "negative caliper": lambda df, kw, d: (df, {**kw, "caliper": -0.2}),
    "infinite caliper": lambda df, kw, d: (df, {**kw, "caliper": np.nan}),
    "ratio 0": lambda df, kw, d: (df, {**kw, "ratio": 0}),
    "misspelt estimand": lambda df, kw, d: (df, {**kw, "estimand": "att"}),
    "misspelt exact column": lambda df, kw, d: (df, {**kw, "exact": ["sexx"]}),
    "misspelt m_order": lambda df, kw, d: (df, {**kw, "m_order": "biggest"}),
    "score column not finite": lambda df, kw, d: (_set(df.assign(ps=0.5), _row(d, df), "ps", d.draw(st.sampled_from(BAD_NUMBERS))), {**kw, "distance": "ps"}),
    "not a table": lambda df, kw, d: (df.to_dict("list"), kw),
}


PEOPLE_XFAIL = "12 people (4 treated) with age, ltcs, sex, y"


@pytest.mark.parametrize("how", _params(list(MATCH_BAD), _not_a_table("match", PEOPLE_XFAIL)))
@refusal(8, df=people_tables(min_t=4, min_c=8), data=st.data())
def test_match_refuses_bad_input(how, df, data):
    bad, kw = MATCH_BAD[how](df, {"treatment": "t", "covariates": ["age", "ltcs"]}, data)
    expect_pceval_error(lambda: pceval.match(bad, **kw))


@cases(30)
@given(df=people_tables(min_t=4, min_c=8, max_c=25), covs=st.sampled_from([None, ["age"], ["age", "sex"]]),
       data=st.data())
def test_estimate_effect_valid(df, covs, data):
    m = _match(df, "t", ["age", "ltcs"])
    frozen = Frozen(df)
    res = pceval.estimate_effect(m, "y", covariates=covs)
    frozen.check()
    frame = assert_protocol(res, "estimate_effect")
    assert list(frame["scale"]) == ["absolute", "relative"]
    assert frame["n_treated"].iloc[0] == m.n_matched["treated"]
    same_frame(pceval.estimate_effect(m, "y", covariates=covs).to_frame(), frame, exact=True)
    # the matched table gives the same answer, whatever its row order
    md = m.matched_data()
    frozen_md = Frozen(md)
    tab = pceval.estimate_effect(md, "y", treatment="t", covariates=covs)
    frozen_md.check()
    same_frame(tab.to_frame(), frame)
    perm = data.draw(perm_of(len(md)))
    again = pceval.estimate_effect(shuffled(md, perm), "y", treatment="t", covariates=covs)
    same_frame(again.to_frame(), frame)


EFFECT_BAD = {
    "missing outcome column": lambda md, kw, d: (md, {**kw, "outcome": "yy"}),
    "infinite outcome": lambda md, kw, d: (_set(md, _row(d, md), "y", np.inf), kw),
    "missing outcome value": lambda md, kw, d: (_set(md, _row(d, md), "y", np.nan), kw),
    "text outcome": lambda md, kw, d: (md.assign(y=md["y"].astype(str)), kw),
    "misspelt model": lambda md, kw, d: (md, {**kw, "model": "logit"}),
    "logistic outcome not 0/1": lambda md, kw, d: (md, {**kw, "model": "logistic"}),
    "poisson negative count": lambda md, kw, d: (md.assign(y=-1), {**kw, "model": "poisson"}),
    "misspelt vcov": lambda md, kw, d: (md, {**kw, "vcov": "HC4"}),
    "misspelt covariate": lambda md, kw, d: (md, {**kw, "covariates": ["agee"]}),
    "treatment given as a list": lambda md, kw, d: (md, {**kw, "treatment": ["t"]}),
    "treatment not 0/1": lambda md, kw, d: (_set(md, _row(d, md), "t", 3), kw),
    "negative weight": lambda md, kw, d: (_set(md, _row(d, md), "weights", -1.0), kw),
    "infinite covariate": lambda md, kw, d: (_set(md, _row(d, md), "age", np.inf), {**kw, "covariates": ["age"]}),
    "confidence as a percentage": lambda md, kw, d: (md, {**kw, "confidence": 95}),
    "not a table": lambda md, kw, d: (md.to_dict("list"), kw),
}


@pytest.mark.parametrize("how", _params(list(EFFECT_BAD), _not_a_table(
    "estimate_effect", "the matched_data() of " + PEOPLE_XFAIL)))
@refusal(8, df=people_tables(min_t=4, min_c=8), data=st.data())
def test_estimate_effect_refuses_bad_input(how, df, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        md = _match(df, "t", ["age", "ltcs"]).matched_data().reset_index(drop=True)
    bad, kw = EFFECT_BAD[how](md, {"outcome": "y", "treatment": "t"}, data)
    expect_pceval_error(lambda: pceval.estimate_effect(bad, **kw))


def test_matching_bare_string_covariates():
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"t": np.r_[np.ones(10, int), np.zeros(20, int)], "age": rng.normal(60, 10, 30),
                       "y": rng.normal(size=30)})
    one_name_or_refused(lambda: pceval.balance_table(df, "t", "age"),
                        lambda: pceval.balance_table(df, "t", ["age"]),
                        lambda a, b: same_frame(a.to_frame(), b.to_frame(), exact=True))
    one_name_or_refused(lambda: pceval.match(df, "t", "age"), lambda: pceval.match(df, "t", ["age"]),
                        lambda a, b: same_frame(a.to_frame(), b.to_frame(), exact=True))
    m = pceval.match(df, "t", ["age"])
    one_name_or_refused(lambda: pceval.estimate_effect(m, "y", covariates="age"),
                        lambda: pceval.estimate_effect(m, "y", covariates=["age"]),
                        lambda a, b: same_frame(a.to_frame(), b.to_frame(), exact=True))


# ------------------------------------------------------------------------------------------------
# build_panel on tiny event tables
# ------------------------------------------------------------------------------------------------

DAY0 = pd.Timestamp("2019-09-01")


@st.composite
def event_tables(draw) -> tuple[pd.DataFrame, pd.DataFrame]:
    people = draw(st.lists(st.integers(1, 30), min_size=1, max_size=4, unique=True))
    idx_days = [draw(st.integers(120, 240)) for _ in people]
    ends = [draw(st.one_of(st.none(), st.integers(-40, 200))) for _ in people]
    index = pd.DataFrame({
        "person_id": people,
        "index_date": [DAY0 + pd.Timedelta(days=d) for d in idx_days],
        "end_date": pd.to_datetime([None if e is None else DAY0 + pd.Timedelta(days=d + e)
                                    for d, e in zip(idx_days, ends, strict=True)]),
    })
    n_ev = draw(st.integers(1, 12))
    others = people + [draw(st.integers(31, 40))]  # some events belong to no indexed person
    events = pd.DataFrame({
        "person_id": [draw(st.sampled_from(others)) for _ in range(n_ev)],
        "date": [DAY0 + pd.Timedelta(days=draw(st.integers(0, 420))) for _ in range(n_ev)],
        "type": [draw(st.sampled_from(["adm", "gp"])) for _ in range(n_ev)],
        "bed_days": [float(draw(st.integers(0, 9))) for _ in range(n_ev)],
    })
    return events, index


def _month(ts: pd.Timestamp) -> int:
    return ts.year * 12 + ts.month - 1


def _oracle(events: pd.DataFrame, index: pd.DataFrame, before: int, after: int) -> pd.DataFrame:
    """The panel by hand: months at risk (end date inclusive) and events in them."""
    rows = []
    for _, p in index.iterrows():
        m0 = _month(p["index_date"])
        for rel in range(-before, after + 1):
            m = m0 + rel
            start = pd.Timestamp(year=m // 12, month=m % 12 + 1, day=1)
            nxt = start + pd.offsets.MonthBegin(1)
            last = nxt - pd.Timedelta(days=1)
            stop = last if pd.isna(p["end_date"]) else min(last, p["end_date"])
            days = (stop - start).days + 1
            if days <= 0:
                continue
            ev = events[(events["person_id"] == p["person_id"]) & (events["date"] >= start)
                        & (events["date"] <= stop)]
            row = {"person_id": p["person_id"], "rel_period": rel,
                   "calendar_period": (m // 12) * 100 + m % 12 + 1,
                   "person_time": days / (nxt - start).days}
            for k in ("adm", "gp"):
                row[k] = int((ev["type"] == k).sum())
            rows.append(row)
    return pd.DataFrame(rows, columns=["person_id", "rel_period", "calendar_period", "person_time",
                                       "adm", "gp"])


def _panel_norm(p: pd.DataFrame, kinds: list[str]) -> pd.DataFrame:
    cols = ["person_id", "rel_period", "calendar_period", "person_time", *kinds]
    out = p[cols].sort_values(["person_id", "rel_period"]).reset_index(drop=True)
    return out.astype({c: "int64" for c in cols if c not in ("person_id", "person_time")})


@cases(25)
@given(tables=event_tables(), before=st.integers(0, 3), after=st.integers(0, 3), data=st.data())
def test_build_panel_valid(tables, before, after, data):
    events, index = tables
    kinds = sorted(events["type"].unique())  # `kinds` must all occur in `events`
    kw = {"before": before, "after": after, "kinds": kinds}
    frozen = Frozen(events, index)
    panel, flow = pceval.build_panel(events, index, return_flow=True, **kw)
    frozen.check()
    assert panel.attrs["pceval_time_units"] == {"person_time": "month"}
    pt = panel["person_time"].to_numpy(float)
    assert ((pt > 0) & (pt <= 1 + 1e-12)).all()
    for k in kinds:
        assert (panel[k] >= 0).all() and pd.api.types.is_integer_dtype(panel[k])
        assert panel[k].sum() <= (events["type"] == k).sum()
    assert panel["rel_period"].between(-before, after).all()
    assert not panel.duplicated(["person_id", "rel_period"]).any()
    assert set(panel["person_id"]) <= set(index["person_id"])
    for table, n in (("events", len(events)), ("index", len(index))):
        assert flow.loc[flow["table"] == table, "n"].sum() == n
    got = _panel_norm(panel, kinds)
    # the hand-computed panel
    expected = _oracle(events, index, before, after)
    if len(expected):
        expected = _panel_norm(expected.astype({"person_id": panel["person_id"].dtype}), kinds)
        same_frame(got, expected)
    else:
        assert len(got) == 0
    # row order, ids written as text and ISO dates written as text do not matter
    ev2 = shuffled(events, data.draw(perm_of(len(events))))
    ix2 = shuffled(index, data.draw(perm_of(len(index))))
    same_frame(_panel_norm(pceval.build_panel(ev2, ix2, **kw), kinds), got)
    as_str = pceval.build_panel(events.assign(person_id=events["person_id"].astype(str)),
                                index.assign(person_id=index["person_id"].astype(str)), **kw)
    back = as_str.assign(person_id=as_str["person_id"].astype(int))
    same_frame(_panel_norm(back, kinds), got)
    iso = pceval.build_panel(events.assign(date=events["date"].dt.strftime("%Y-%m-%d")), index, **kw)
    same_frame(_panel_norm(iso, kinds), got)


def _ev(f: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable:
    return lambda ev, ix, kw, d: (f(ev), ix, kw)


def _ix(f: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable:
    return lambda ev, ix, kw, d: (ev, f(ix), kw)


def _kw(**extra: Any) -> Callable:
    return lambda ev, ix, kw, d: (ev, ix, {**kw, **extra})


PANEL_BAD = {
    "events missing a column": _kw(date="event_date"),
    "index missing a column": _kw(index_date="index"),
    "misspelt end date column": _kw(end_date="end"),
    "misspelt kind": _kw(kinds=["adm", "GP visit"]),
    "dates as text": _ev(lambda ev: ev.assign(date=ev["date"].dt.strftime("%d/%m/%Y"))),
    "index dates as ambiguous text": _ix(lambda ix: ix.assign(index_date=ix["index_date"].dt.strftime("%m/%d/%Y"))),
    "int ids beside str ids": _ix(lambda ix: ix.assign(person_id=ix["person_id"].astype(str))),
    "duplicated person in index": _ix(lambda ix: pd.concat([ix, ix.iloc[[0]]], ignore_index=True)),
    "missing index date": _ix(lambda ix: ix.assign(index_date=pd.NaT)),
    "negative value": _ev(lambda ev: ev.assign(bed_days=-1.0)),
    "infinite value": _ev(lambda ev: ev.assign(bed_days=np.inf)),
    "text value": _ev(lambda ev: ev.assign(bed_days="3")),
    "misspelt period": _kw(period="months"),
    "negative window": _kw(before=-1),
    "window as text": _kw(after="2"),
    "not a table": _ev(lambda ev: ev.to_dict("list")),
}


PANEL_XFAIL: dict[str, str] = {}  # an infinite value was accepted (fixed, issue 16)


@pytest.mark.parametrize("how", _params(list(PANEL_BAD), PANEL_XFAIL))
@refusal(6, tables=event_tables(), data=st.data())
def test_build_panel_refuses_bad_input(how, tables, data):
    events, index = tables
    kw = {"before": 1, "after": 1, "value": "bed_days"}
    ev, ix, bad_kw = PANEL_BAD[how](events, index, kw, data)
    expect_pceval_error(lambda: pceval.build_panel(ev, ix, **bad_kw))


def test_build_panel_bare_string_kinds():
    events = pd.DataFrame({"person_id": [1, 1], "date": pd.to_datetime(["2020-01-05", "2020-02-03"]),
                           "type": ["adm", "gp"]})
    index = pd.DataFrame({"person_id": [1], "index_date": pd.to_datetime(["2020-02-01"]),
                          "end_date": pd.NaT})
    kw = {"before": 1, "after": 1}
    one_name_or_refused(lambda: pceval.build_panel(events, index, kinds="adm", **kw),
                        lambda: pceval.build_panel(events, index, kinds=["adm"], **kw),
                        lambda a, b: same_frame(a, b, exact=True))
