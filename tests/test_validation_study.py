"""The Monte Carlo validation study runs end to end (a couple of replications; `make validate` runs 500)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "validation"))
from monte_carlo import one_rep, run, summarise  # noqa: E402


def test_one_replication_has_every_design_and_the_null_truth():
    rows = pd.DataFrame(one_rep("null", seed=7, n_people=12_000))
    designs = set(rows["design"])
    assert {"matched_did_poisson", "matched_did_linear", "matched_cohort_effect", "att_gt_rollout",
            "naive_before_after (biased)", "unmatched_did (biased)"} <= designs
    # the roll-out design's truth is exactly zero too, and its band row carries its own coverage flag
    roll = rows[rows["design"] == "att_gt_rollout"]
    assert (roll["truth"].dropna() == 0.0).all() and roll["covered"].notna().sum() == 1
    main = rows[rows["design"] == "matched_did_poisson"].set_index("estimand")
    # under the null scenario the truth is exactly no effect
    assert main.loc["rate ratio", "truth"] == 1.0
    assert main.loc["difference per 1,000 PY", "truth"] == 0.0
    assert (main["ci_lower"] < main["ci_upper"]).all()


def test_summary_computes_bias_rmse_and_coverage():
    res = pd.DataFrame({"scenario": "s", "design": "d", "estimand": "e", "estimate": [1.0, 3.0],
                        "ci_lower": [0.0, 2.5], "ci_upper": [2.0, 3.5], "truth": [2.0, 2.0]})
    s = summarise(res).iloc[0]
    assert s["bias"] == 0.0 and s["rmse"] == 1.0 and s["coverage"] == 0.5 and s["reps"] == 2
    assert np.isclose(s["coverage_mc_se"], 0.5 / np.sqrt(2))
    # a joint statement (uniform band) has no estimate but its own coverage flag
    band = pd.DataFrame({"scenario": "s", "design": "b", "estimand": "band", "estimate": np.nan,
                         "ci_lower": np.nan, "ci_upper": np.nan, "truth": np.nan, "covered": [True, False, True]})
    sb = summarise(pd.concat([res, band], ignore_index=True)).set_index("design").loc["b"]
    assert sb["reps"] == 3 and np.isclose(sb["coverage"], 2 / 3)


def test_run_with_two_workers(tmp_path):
    res = run(reps=1, n_people=10_000, workers=2, scenarios=["null", "care_planning_harm"], progress=False)
    assert set(res["scenario"]) == {"null", "care_planning_harm"}
    harm = res[(res["scenario"] == "care_planning_harm") & (res["estimand"] == "rate ratio")
               & (res["design"] == "matched_did_poisson")]
    assert harm["truth"].iloc[0] > 1.0


def test_extra_rollout_replications_run_that_design_alone():
    res = run(reps=1, n_people=10_000, workers=1, scenarios=["null"], progress=False, first_seed=7,
              rollout_reps=2)
    roll = res[res["design"] == "att_gt_rollout"]
    assert sorted(roll["seed"].unique()) == [7, 8]
    assert set(res.loc[res["design"] != "att_gt_rollout", "seed"]) == {7}
    # the extra seed's rows are exactly what the full replication gives for that seed
    full = one_rep("null", 8, 10_000)
    full = pd.DataFrame(full)
    full = full[full["design"] == "att_gt_rollout"].reset_index(drop=True)
    pd.testing.assert_frame_equal(roll[roll["seed"] == 8].reset_index(drop=True), full)
