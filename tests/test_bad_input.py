"""Bad input to the estimators and balance gives a PcevalError naming the argument or column,
never a raw KeyError / LinAlgError / OverflowError / ArrowTypeError, and never a silent NaN.

The cases are the ones found by trying the public API as a new user would (issue 16); the
inequality measures have their own file (test_inequality_bad_input.py) and the data steps theirs.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import pceval
from pceval import did
from pceval._checks import check_frame
from pceval.errors import InputError


def _panel(n=200, seed=1):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"u": np.repeat(np.arange(n), 2), "p": np.tile([0, 1], n),
                         "t": np.repeat(np.arange(n) % 2, 2), "y": rng.normal(5, 1, 2 * n),
                         "w": 1.0})


def _people(n=300, seed=2):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"t": (rng.random(n) < 0.4).astype(int), "age": rng.normal(50, 10, n),
                         "x": rng.integers(0, 3, n).astype(float)})


def _staggered(n=60):
    rows = [{"u": i, "time": s, "g": [0, 3, 4][i % 3], "y": float(i % 7 + s)}
            for i in range(n) for s in range(1, 6)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_did2x2_infinite_outcome(value):
    df = _panel()
    df.loc[3, "y"] = value
    with pytest.raises(InputError, match="'y' has 1 infinite value"):
        did.did2x2(df, "y", "t", "u", "p")


def test_did2x2_zero_weight_for_every_treated_unit():
    df = _panel().assign(w=lambda d: np.where(d["t"] == 1, 0.0, 1.0))
    with pytest.raises(InputError, match="positive weight in all four cells"):
        did.did2x2(df, "y", "t", "u", "p", weights="w")


def test_did2x2_huge_values_are_refused_not_overflowed():
    df = _panel().assign(y=lambda d: d["y"] * 1e300)
    with pytest.raises(InputError, match="beyond 1e100"):
        did.did2x2(df, "y", "t", "u", "p")


def test_did2x2_person_time_without_its_unit():
    df = _panel().assign(events=1, years=1.0)
    with pytest.raises(InputError, match="exposure_unit"):
        did.did2x2(df, "events", "t", "u", "p", model="poisson", exposure="years")
    df.attrs["pceval_time_units"] = {"years": "year"}  # as build_panel records it
    res = did.did2x2(df, "events", "t", "u", "p", model="poisson", exposure="years")
    assert res.settings["exposure_unit"] == "year"
    with pytest.raises(InputError, match="records `years` in years"):
        did.did2x2(df, "events", "t", "u", "p", model="poisson", exposure="years",
                   exposure_unit="month")


def test_twfe_refuses_a_group_that_varies_within_a_unit():
    df = _staggered()
    df.loc[0, "g"] = 4  # unit 0 is never treated in every other row
    with pytest.raises(InputError, match="varies within 1 unit"):
        did.twfe(df, "y", "u", "time", group="g")
    with pytest.raises(InputError, match="varies within 1 unit"):
        did.event_study(df, "y", "u", "time", "g")


def test_twfe_refuses_negative_weights():
    df = _staggered().assign(w=1.0)
    df.loc[5, "w"] = -1.0
    with pytest.raises(InputError, match="must be non-negative"):
        did.twfe(df, "y", "u", "time", group="g", weights="w")


def test_balance_with_no_weighted_controls():
    df = _people()
    df["w"] = np.where(df["t"] == 1, 1.0, 0.0)
    with pytest.raises(InputError, match="0 for every comparison row"):
        pceval.balance_table(df, "t", ["age"], weights="w")


def test_match_balance_unknown_extra_covariate_and_bad_threshold():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = pceval.match(_people(), "t", ["age", "x"])
    with pytest.raises(InputError, match="did you mean 'age'"):
        m.balance(addl=["agee"])
    with pytest.raises(InputError, match="thresholds"):
        m.balance(thresholds={"smd": -1})


def test_a_string_where_a_list_is_expected_is_one_name():
    df = _people()
    one = pceval.balance_table(df, "t", "age").to_frame()
    assert set(one["covariate"]) == {"age"}  # not 'a', 'g', 'e'
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = pceval.match(df, "t", "age")
    assert m.covariates == ("age",)


def test_exact_matching_refuses_missing_covariates():
    df = _people()
    df.loc[:5, "x"] = np.nan
    with pytest.raises(InputError, match="'x' has 6 missing"):
        pceval.match(df, "t", ["x"], method="exact")


@pytest.mark.parametrize("dtype", ["Int64", "int64[pyarrow]", "boolean", "bool[pyarrow]",
                                   "Float64", "double[pyarrow]"])
def test_nullable_and_arrow_dtypes_pass_the_shared_check(dtype):
    df = pd.DataFrame({"a": pd.array([0, 1, 1], dtype=dtype)})
    out = check_frame(df, "data", numeric=["a"], binary=["a"], not_null=["a"])
    assert out is df  # nothing to change, the caller's frame is returned untouched


def test_arrow_backed_treatment_column_matches():
    df = _people()
    df["t"] = df["t"].astype("int64[pyarrow]")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = pceval.match(df, "t", ["age"])
    assert m.n_matched["treated"] == int((df["t"] == 1).sum())


def test_att_gt_refuses_calendar_labels_as_time():
    # yyyyq labels: 20204 is followed by 20211, so time - group would count 7 "periods"
    rows = [{"u": i, "q": q, "g": [0, 20203][i % 2], "y": float(i % 5)}
            for i in range(40) for q in (20201, 20202, 20203, 20204, 20211, 20212)]
    with pytest.raises(InputError, match="not equally spaced.*first_treated_period"):
        did.att_gt(pd.DataFrame(rows), outcome="y", unit="u", time="q", group="g")
