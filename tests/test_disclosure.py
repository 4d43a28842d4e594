import numpy as np
import pandas as pd
import pytest

from pceval.disclosure import (
    DisclosureLog,
    check_published,
    count,
    protect,
    protect_flow,
    rebuild_totals,
)
from pceval.errors import DisclosureError, InputError

VALUES = np.arange(0, 21)


def _protected(preset):
    df = pd.DataFrame({"n": VALUES})
    return protect(df, ["n"], preset)["n"]


def test_opensafely_redacts_7_or_fewer_and_rounds_to_5():
    out = _protected("opensafely")
    assert out[:8].isna().all()  # 0..7 redacted (zero too)
    expected = {8: 10, 9: 10, 10: 10, 11: 10, 12: 10, 13: 15, 14: 15, 15: 15, 17: 15, 18: 20, 20: 20}
    for raw, shown in expected.items():
        assert out[raw] == shown, raw


def test_nhs_hes_shows_true_zero_and_suppresses_1_to_7():
    out = _protected("nhs_hes")
    assert out[0] == 0
    assert out[1:8].isna().all()
    assert out[8] == 10 and out[13] == 15


def test_threshold10_suppresses_1_to_9_without_rounding():
    out = _protected("threshold10")
    assert out[0] == 0 and out[1:10].isna().all()
    assert out[10:].tolist() == list(range(10, 21))


def test_rates_recomputed_from_protected_counts_and_blank_when_suppressed():
    df = pd.DataFrame({"events": [3, 123], "py": [100.0, 1000.0], "rate": [30.0, 123.0]})
    out = protect(df, ["events"], rates={"rate": ("events", "py", 1000)})
    assert np.isnan(out["rate"][0])
    assert out["rate"][1] == pytest.approx(125.0)


def test_input_never_mutated_and_log_records():
    df = pd.DataFrame({"n": [3, 40, 41]})
    before = df.copy()
    log = DisclosureLog()
    out = protect(df, ["n"], log=log, table="t")
    pd.testing.assert_frame_equal(df, before)
    assert out.attrs["pceval_protected"] == "opensafely"
    row = log.to_frame().iloc[0]
    assert (row["table"], row["column"], row["suppressed"], row["rounded"]) == ("t", "n", 1, 1)


def test_totals_rebuilt_from_protected_parts():
    df = protect(pd.DataFrame({"group": ["a", "b", "c"], "n": [5, 12, 13]}), ["n"])
    tot = rebuild_totals(df, ["n"], by="group")
    assert tot["n"].iloc[-1] == 25  # 0 (suppressed) + 10 + 15, not the raw 30
    assert tot["group"].iloc[-1] == "Total"


def test_flow_boxes_protected():
    flow = pd.DataFrame({"step": [1, 2], "label": ["adults", "registered 12 months"],
                         "n_before": [1003, 998], "n_removed": [5, 120], "n_after": [998, 878]})
    out = protect_flow(flow)
    assert out["n_removed"].isna().tolist() == [True, False]
    assert out["n_after"].tolist() == [1000, 880]


def test_check_published_refuses_small_or_unrounded_counts():
    with pytest.raises(DisclosureError, match="'n' would publish unprotected counts"):
        check_published(pd.DataFrame({"n": [3, 100]}), ["n"])
    with pytest.raises(DisclosureError):
        check_published(pd.DataFrame({"n": [12, 100]}), ["n"])
    check_published(protect(pd.DataFrame({"n": [3, 12, 100]}), ["n"]), ["n"])


def test_bad_input():
    with pytest.raises(InputError, match="missing required column"):
        protect(pd.DataFrame({"n": [1]}), ["people"])
    with pytest.raises(InputError, match="non-negative whole numbers"):
        protect(pd.DataFrame({"n": [1.5]}), ["n"])
    with pytest.raises(InputError, match="`preset` must be one of"):
        protect(pd.DataFrame({"n": [1]}), ["n"], preset="lax")


# ---- bad input and the gaps found by trying (issue 16) ----------------------------------------

def test_infinite_counts_are_refused_not_overflowed():
    with pytest.raises(InputError, match="infinite values"):
        protect(pd.DataFrame({"n": [12.0, np.inf]}), ["n"])
    with pytest.raises(InputError, match="finite non-negative whole number"):
        count(float("inf"))
    with pytest.raises(InputError, match="finite non-negative whole number"):
        count(-3)


@pytest.mark.parametrize("preset", ["opensafely", "nhs_hes", "threshold10"])
def test_a_total_of_suppressed_parts_is_not_shown_as_zero(preset):
    # every part is small: the total is unknown, not a true zero
    df = protect(pd.DataFrame({"group": ["a", "b", "c"], "n": [3, 6, 5]}), ["n"], preset)
    tot = rebuild_totals(df, ["n"], by="group", preset=preset)
    assert pd.isna(tot["n"].iloc[-1])


def test_a_small_sum_beside_suppressed_parts_is_suppressed():
    # threshold10 shows true zeros; 0 + a suppressed 1-9 would add up to a "total" of 0
    df = protect(pd.DataFrame({"group": ["a", "b"], "n": [0, 4]}), ["n"], "threshold10")
    assert df["n"].iloc[0] == 0 and pd.isna(df["n"].iloc[1])
    tot = rebuild_totals(df, ["n"], by="group", preset="threshold10")
    assert pd.isna(tot["n"].iloc[-1])
    # with nothing suppressed a true zero total is shown
    zeros = protect(pd.DataFrame({"group": ["a", "b"], "n": [0, 0]}), ["n"], "threshold10")
    assert rebuild_totals(zeros, ["n"], by="group", preset="threshold10")["n"].iloc[-1] == 0


def test_totals_refuse_parts_that_were_never_protected():
    with pytest.raises(DisclosureError, match="unprotected counts"):
        rebuild_totals(pd.DataFrame({"group": ["a", "b"], "n": [3, 12]}), ["n"], by="group")


def test_check_published_reads_any_engine():
    import polars as pl  # a dev dependency: installed by make test, never skipped
    with pytest.raises(DisclosureError):
        check_published(pl.DataFrame({"n": [3, 100]}), ["n"])
    check_published(pl.DataFrame({"n": [10, 100]}), ["n"])
