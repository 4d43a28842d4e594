"""Benchmark: Callaway-Sant'Anna group-time ATTs with covariates (doubly robust), analytic SEs.

pceval's ``att_gt`` against the Python peers on the same data in the same run: csdid, diff-diff
(``CallawaySantAnna``), differences (``ATTgt``) and moderndid. Each runs in its own subprocess
with BLAS pinned to one thread, so that peak resident memory (ru_maxrss) is its own. Times
include the estimation of all ATT(g,t) with analytic standard errors (no bootstrap) and the
simple aggregation. Data: ``n`` units x ``T`` periods, 30% never treated, the rest first treated
uniformly in periods 3..T, two time-invariant covariates (one continuous, one binary) that
shift both uptake and trends.

    .venv/bin/python benchmarks/bench_attgt.py --quick     # 10,000 and 100,000 units x 20 periods
    .venv/bin/python benchmarks/bench_attgt.py             # also 1,000,000 units x 24 (pceval only)
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np
import pandas as pd
from _child import time_tools

CHILD = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
tool, path = sys.argv[1], sys.argv[2]
import numpy as np, pandas as pd
df = pd.read_parquet(path)
# imports are not timed
if tool == "pceval":
    from pceval.did import att_gt
elif tool == "csdid":
    from csdid.att_gt import ATTgt
elif tool == "diff-diff":
    from diff_diff import CallawaySantAnna
elif tool == "differences":
    from differences import ATTgt
elif tool == "moderndid":
    import moderndid
t0 = time.perf_counter()
if tool == "pceval":
    r = att_gt(df, outcome="y", unit="id", time="t", group="g", covariates=["x1", "x2"],
               method="dr", n_boot=0)
    est = r.aggregate("simple", n_boot=0).overall["estimate"]
elif tool == "csdid":
    o = ATTgt(yname="y", tname="t", idname="id", gname="g", data=df, xformla="~x1+x2")
    o = o.fit(est_method="dr", bstrap=False)
    o.aggte(typec="simple", bstrap=False)
    est = float(o.atte["overall_att"])
elif tool == "diff-diff":
    cs = CallawaySantAnna(estimation_method="dr", n_bootstrap=0)
    res = cs.fit(df, outcome="y", unit="id", time="t", first_treat="g", covariates=["x1", "x2"])
    est = float(res.overall_att)
elif tool == "differences":
    d = df.assign(g=df["g"].where(df["g"] > 0)).set_index(["id", "t"])
    a = ATTgt(data=d, cohort_column="g")
    a.fit(formula="y ~ x1 + x2", est_method="dr", progress_bar=False)
    est = float(a.aggregate("simple").iloc[0, 0])
elif tool == "moderndid":
    res = moderndid.att_gt(data=df, yname="y", tname="t", idname="id", gname="g",
                           xformla="~x1+x2", est_method="dr", boot=False)
    agg = moderndid.aggte(res, type="simple")
    est = float(agg.overall_att)
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
print(json.dumps({"tool": tool, "wall_s": wall, "peak_gb": peak, "att": est}))
"""


def make_data(n: int, T: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = (rng.random(n) < 0.4).astype(float)
    treated = rng.random(n) < 1 / (1 + np.exp(-(0.3 + 0.5 * x1 - 0.3 * x2))) * 0.9
    g = np.where(treated, rng.integers(3, T + 1, n), 0)
    unit = np.repeat(np.arange(1, n + 1), T)
    t = np.tile(np.arange(1, T + 1), n)
    gi = g[unit - 1]
    e = t - gi
    effect = np.where((gi > 0) & (e >= 0), 0.1 * (e + 1), 0.0)
    y = (rng.normal(size=n)[unit - 1] + (0.05 + 0.03 * x1[unit - 1] - 0.02 * x2[unit - 1]) * t
         + effect + rng.normal(0, 0.5, n * T))
    return pd.DataFrame({"id": unit, "t": t, "g": gi, "y": y, "x1": x1[unit - 1], "x2": x2[unit - 1]})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    sizes = [(10_000, 20, ["pceval", "csdid", "diff-diff", "differences", "moderndid"]),
             (100_000, 20, ["pceval", "csdid", "diff-diff", "differences", "moderndid"])]
    if not args.quick:
        sizes.append((1_000_000, 24, ["pceval", "diff-diff"]))
    tab = time_tools(CHILD, sizes, make_data, args.timeout, results=("att",))
    print(f"\natt_gt (dr, 2 covariates, analytic SEs) on {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, BLAS 1 thread")
    cols = ["units", "periods", "tool", "wall_s", "process_s", "peak_gb", "x_pceval_time", "att",
            "note"]
    print(tab.reindex(columns=cols).to_string(index=False, float_format=lambda v: f"{v:.3f}",
                                               na_rep=""))


if __name__ == "__main__":
    main()
