import numpy as np
import pandas as pd
import pytest

from pceval._checks import check_choice, check_frame, check_int, check_number
from pceval.errors import InputError, PcevalError


def people():
    return pd.DataFrame(
        {
            "person_id": [1, 2, 3],
            "age": [30, 45, 80],
            "treat": [0, 1, 1],
            "when": ["2020-01-01", "2020-02-03", None],
        }
    )


def test_input_error_is_a_pceval_error_and_value_error():
    assert issubclass(InputError, PcevalError)
    assert issubclass(InputError, ValueError)


def test_missing_column_is_named():
    with pytest.raises(InputError, match=r"`people` is missing required column\(s\) \['sex'\]"):
        check_frame(people(), "people", required=["person_id", "sex"])


def test_duplicate_ids_show_values():
    df = pd.concat([people(), people().iloc[[1]]])
    with pytest.raises(InputError, match=r"'person_id' must be unique.*\[2\]"):
        check_frame(df, "people", unique=["person_id"])


def test_dates_are_parsed_without_mutating_input():
    df = people()
    before = df.copy()
    out = check_frame(df, "people", dates=["when"])
    assert pd.api.types.is_datetime64_any_dtype(out["when"])
    pd.testing.assert_frame_equal(df, before)


def test_unparseable_dates_are_shown():
    df = people().assign(when=["2020-01-01", "not a date", "2020-13-45"])
    with pytest.raises(InputError, match=r"'when' must hold dates; 2 value\(s\).*'not a date'"):
        check_frame(df, "people", dates=["when"])


def test_range_and_at_most_five_values_shown():
    df = pd.DataFrame({"x": np.arange(-10, 0)})
    with pytest.raises(InputError) as exc:
        check_frame(df, "data", ranges={"x": (0, None)})
    msg = str(exc.value)
    assert "'x' must lie in [0, inf]" in msg and "10 value(s)" in msg and "(5 more)" in msg


def test_numeric_binary_allowed_notnull():
    df = pd.DataFrame({"a": ["x", "y"], "b": [0, 2], "c": ["F", "Q"], "d": [1.0, np.nan]})
    with pytest.raises(InputError, match="'a' must be numeric"):
        check_frame(df, "d", numeric=["a"])
    with pytest.raises(InputError, match=r"'b' must be 0/1.*\[2\]"):
        check_frame(df, "d", binary=["b"])
    with pytest.raises(InputError, match=r"'c' has 1 value\(s\) outside.*'Q'"):
        check_frame(df, "d", allowed={"c": {"F", "M"}})
    with pytest.raises(InputError, match=r"'d' has 1 missing"):
        check_frame(df, "d", not_null=["d"])


def test_empty_table_rejected_unless_allowed():
    empty = people().iloc[:0]
    with pytest.raises(InputError, match="has no rows"):
        check_frame(empty, "people")
    assert check_frame(empty, "people", allow_empty=True).empty


def test_scalar_checks():
    assert check_int(3, "n", low=1) == 3
    with pytest.raises(InputError, match="`n` must be at least 1"):
        check_int(0, "n", low=1)
    with pytest.raises(InputError, match="`n` must be a whole number"):
        check_int(2.5, "n")
    with pytest.raises(InputError, match="`level` must be < 1"):
        check_number(1.0, "level", low=0, high=1, high_open=True)
    with pytest.raises(InputError, match="`method` must be one of"):
        check_choice("foo", "method", {"a", "b"})
