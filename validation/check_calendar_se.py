"""Exploratory check (not part of `make validate`): are the analytic SEs of att_gt aggregations right
on a clean simulated panel? Independent units, staggered groups (30% never treated), no effect, with and
without random drop-out, 600 replications. Prints the mean model SE over the SD of the estimates (1 is
right) and the coverage of the 95% intervals, by panel mode and aggregation.

    .venv/bin/python validation/check_calendar_se.py
"""

import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

warnings.simplefilter("ignore")


def one(args):
    """One replication: every aggregation's estimate and SE, by panel mode."""
    seed, attr = args
    from pceval.did import att_gt
    rng = np.random.default_rng(seed)
    n, T = 3000, 12
    g = rng.choice([0, 4, 6, 8, 10], n, p=[0.3, 0.175, 0.175, 0.175, 0.175])
    u = np.repeat(np.arange(n), T)
    t = np.tile(np.arange(1, T + 1), n)
    gi = g[u]
    y = rng.normal(0, 1, n)[u] + 0.1 * t + rng.poisson(0.3, n * T)
    df = pd.DataFrame({"id": u, "t": t, "g": gi, "y": y.astype(float)})
    if attr:  # random drop-out: each unit leaves after a uniform period (MCAR)
        last = rng.integers(6, T + 8, n)
        df = df[df["t"] <= last[df["id"]]]
    out = []
    for mode in (["pairwise", "balance"] if attr else ["balance"]):
        r = att_gt(df, outcome="y", unit="id", time="t", group="g", control_group="not_yet_treated",
                   unbalanced=mode, n_boot=0)
        for kind in ("simple", "group", "calendar", "dynamic"):
            a = r.aggregate(kind, n_boot=0).overall
            out.append((seed, attr, mode, kind, a["estimate"], a["std_error"]))
    return out


if __name__ == "__main__":
    jobs = [(s, a) for s in range(600) for a in (False, True)]
    with ProcessPoolExecutor(2) as ex:
        rows = [r for rs in ex.map(one, jobs, chunksize=20) for r in rs]
    d = pd.DataFrame(rows, columns=["seed", "attrition", "mode", "kind", "est", "se"])
    g = d.groupby(["attrition", "mode", "kind"]).agg(sd=("est", "std"), mean_se=("se", "mean"))
    g["ratio"] = g["mean_se"] / g["sd"]
    g["coverage"] = d.assign(c=d.est.abs() <= 1.96 * d.se).groupby(["attrition", "mode", "kind"])["c"].mean()
    print(g)
