"""Benchmark: static two-way fixed-effects DiD with standard errors clustered by unit.

pceval's ``did.twfe`` (its own within transformation, CR1 as in fixest) against pyfixest's
``feols("y ~ d | id + t", vcov={"CRV1": "id"})`` and linearmodels' ``PanelOLS`` with entity and
time effects (``cov_type="clustered"``), on the same balanced panel in the same run. Each tool
runs in its own subprocess with BLAS pinned to one thread (ru_maxrss is its own); imports, data
reading and a warm-up fit on 500 units (pyfixest compiles numba kernels on first use) are not timed. Every tool must give the same coefficient and, for pyfixest, the
same SE (linearmodels' small-sample correction differs slightly; its SE is shown for reference).

    .venv/bin/python benchmarks/bench_twfe.py --quick    # 10,000 and 100,000 units x 20 periods
    .venv/bin/python benchmarks/bench_twfe.py            # also 1,000,000 units x 20 periods
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
if tool == "pceval":
    from pceval.did import twfe
elif tool == "pyfixest":
    import pyfixest as pf
elif tool == "linearmodels":
    from linearmodels.panel import PanelOLS
def fit(df):
    if tool == "pceval":
        r = twfe(df, "y", "id", "t", treatment="d").to_frame().iloc[0]
        return float(r["estimate"]), float(r["std_error"])
    if tool == "pyfixest":
        f = pf.feols("y ~ d | id + t", data=df, vcov={"CRV1": "id"})
        return float(f.coef()["d"]), float(f.se()["d"])
    d = df.set_index(["id", "t"])
    f = PanelOLS(d["y"], d[["d"]], entity_effects=True, time_effects=True).fit(
        cov_type="clustered", cluster_entity=True)
    return float(f.params["d"]), float(f.std_errors["d"])
fit(df[df["id"] <= 500])  # warm-up, not timed: pyfixest compiles its numba kernels on first use
t0 = time.perf_counter()
est, se = fit(df)
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
print(json.dumps({"tool": tool, "wall_s": wall, "peak_gb": peak, "estimate": est, "se": se}))
"""


def make_data(n: int, T: int, seed: int = 1) -> pd.DataFrame:
    """Balanced panel: unit and period effects, 40% never treated, adoption staggered over
    periods 3..T, a constant effect of 0.5 (so TWFE is unbiased here)."""
    rng = np.random.default_rng(seed)
    g = np.where(rng.random(n) < 0.6, rng.integers(3, T + 1, n), 0)
    unit = np.repeat(np.arange(1, n + 1), T)
    t = np.tile(np.arange(1, T + 1), n)
    gi = g[unit - 1]
    d = ((gi > 0) & (t >= gi)).astype(np.int8)
    y = rng.normal(size=n)[unit - 1] + 0.1 * t + 0.5 * d + rng.normal(0, 1, n * T)
    return pd.DataFrame({"id": unit, "t": t, "d": d, "y": y})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--timeout", type=float, default=900)
    args = ap.parse_args()
    every = ["pceval", "pyfixest", "linearmodels"]
    # linearmodels needs about 23 GB at 1M x 20 (2.3 GB at 100k): left out of the largest size
    sizes = [(10_000, 20, every), (100_000, 20, every)]
    if not args.quick:
        sizes.append((1_000_000, 20, ["pceval", "pyfixest"]))
    tab = time_tools(CHILD, sizes, make_data, args.timeout, results=("estimate", "se"))
    print(f"\nTWFE with unit-clustered SEs on {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, BLAS 1 thread")
    cols = ["units", "periods", "tool", "wall_s", "process_s", "peak_gb", "x_pceval_time", "estimate",
            "se", "note"]
    print(tab.reindex(columns=cols).to_string(index=False, float_format=lambda v: f"{v:.4g}", na_rep=""))


if __name__ == "__main__":
    main()
