"""Regenerate honestdid_rm.json: relative-magnitudes C-LF confidence sets from the Python port of
HonestDiD (`pip install honestdid`, version 0.1.1; it needs torch and cvxpy) on fixed inputs.

Why stored rather than computed in the test: honestdid takes about a minute per value of Mbar
(1,000 linear programmes per piece for its least-favourable critical value), and two of its code
paths fail under numpy 2 (`float()` of a 1x1 array: the primal branch of its conditional test
and the one-post-period case), so only inputs that take its dual branch are used.

The grid: HonestDiD reports the accepted grid points; to resolve the ends finely, each end is
searched on its own grid of 41 points spaced 0.001 around pceval's end (a first run of pceval
gave the centres), so the stored ends are exact to the grid step of 0.001.

Run from the repository root: python tests/reference/honestdid/make_reference.py
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")


def inputs() -> list[dict]:
    rng = np.random.default_rng(1)
    n = 6
    Lm = rng.normal(size=(n, n))
    sigma = Lm @ Lm.T / n * 0.01 + np.eye(n) * 0.002
    beta = np.r_[0.01, -0.02, 0.015, -0.25, -0.3, -0.28]
    return [{"name": "three pre, three post, first post period", "betahat": beta.tolist(),
             "sigma": sigma.tolist(), "num_pre": 3, "num_post": 3, "l_vec": [1.0, 0.0, 0.0]}]


def main() -> None:
    import honestdid as hd

    from pceval.sensitivity import _honest_core as core

    out = {"package": "honestdid", "version": hd.__version__, "alpha": 0.05, "grid_step": 0.001,
           "cases": []}
    for case in inputs():
        b, S = np.array(case["betahat"]), np.array(case["sigma"])
        lv = np.array(case["l_vec"])
        rows = []
        for mbar in (0.5, 1.0, 1.5):
            lo, hi = core.rm_confidence_set(b, S, case["num_pre"], case["num_post"], lv, mbar, 0.05)
            ends = {}
            for side, centre in (("lower", lo), ("upper", hi)):
                cs = hd.computeConditionalCS_DeltaRM(
                    betahat=b, sigma=S, numPrePeriods=case["num_pre"],
                    numPostPeriods=case["num_post"], l_vec=lv, Mbar=mbar, alpha=0.05,
                    gridPoints=41, grid_lb=centre - 0.02, grid_ub=centre + 0.02)
                acc = cs.loc[cs["accept"] == 1, "grid"]
                ends[side] = float(acc.min() if side == "lower" else acc.max())
            rows.append({"mbar": mbar, **ends})
            print(case["name"], mbar, ends, flush=True)
        out["cases"].append({**case, "results": rows})
    Path(__file__).with_name("honestdid_rm.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()


# honestdid_flci.json (FLCI under smoothness, tests/test_sensitivity_honest.py::test_flci_matches_honestdid)
# was written with honestdid 0.1.1 by:
#   beta, sigma = tests.test_sensitivity_honest._case()
#   hd.find_optimal_flci(betahat=beta, sigma=sigma, numPrePeriods=3, numPostPeriods=3,
#                        l_vec=np.r_[1.0, 0, 0], M=M, alpha=0.05)["FLCI"]  for M in 0, 0.02, 0.05
