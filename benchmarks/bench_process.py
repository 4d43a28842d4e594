"""Benchmark, whole process: a staggered DiD as an evaluator runs it, pceval beside its peers.

Each run is one fresh Python process that imports the package, reads a parquet panel, fits the
Callaway & Sant'Anna group-time ATTs (doubly robust, one covariate) and aggregates them into an
event study (``dynamic``), with analytic SEs or with a 999-draw multiplier bootstrap. pceval,
csdid and diff-diff run in turn on the same file in the same run (see ``_process.py``), so the
ratios are paired. ``bench_attgt.py`` times the fitting call alone; this times what a user waits
for. Data: ``n`` units x 20 periods, half never treated, the rest in six cohorts first treated
in periods 5, 7, ..., 15 (114 group-time cells), one covariate that shifts uptake and trends.

    .venv/bin/python benchmarks/bench_process.py --quick   # 10,000 and 100,000 units, 5 runs each
    .venv/bin/python benchmarks/bench_process.py           # also 1,000,000 units (pceval, diff-diff)
    .venv/bin/python benchmarks/bench_process.py --sizes 100000 --runs 7 --modes boot
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from _process import compare, load_average, summary

# each tool's script: argv = path, n_boot; prints the event-time-0 ATT and its SE
SCRIPTS = {
    "pceval": r"""
import sys
import pandas as pd
from pceval.did import att_gt
path, n_boot = sys.argv[1], int(sys.argv[2])
df = pd.read_parquet(path)
res = att_gt(df, outcome="y", unit="id", time="t", group="g", covariates=["x1"], method="dr",
             n_boot=n_boot, seed=1)
es = res.aggregate("dynamic").table.set_index("event_time")
print(f"{es.loc[0, 'estimate']:.6f} {es.loc[0, 'std_error']:.6f}")
""",
    "csdid": r"""
import sys, warnings
warnings.simplefilter("ignore")
import pandas as pd
from csdid.att_gt import ATTgt
path, n_boot = sys.argv[1], int(sys.argv[2])
df = pd.read_parquet(path)
o = ATTgt(yname="y", tname="t", idname="id", gname="g", data=df, xformla="~x1")
o = o.fit(est_method="dr", bstrap=n_boot > 0)
o.aggte(typec="dynamic", bstrap=n_boot > 0)
a = o.atte
e = list(a["egt"]).index(0)
print(f"{float(a['att_egt'][e]):.6f} {float(a['se_egt'][e]):.6f}")
""",
    "diff-diff": r"""
import sys, warnings
warnings.simplefilter("ignore")
import pandas as pd
from diff_diff import CallawaySantAnna
path, n_boot = sys.argv[1], int(sys.argv[2])
df = pd.read_parquet(path)
cs = CallawaySantAnna(estimation_method="dr", n_bootstrap=n_boot, seed=1)
res = cs.fit(df, outcome="y", unit="id", time="t", first_treat="g", covariates=["x1"],
             aggregate="event_study")
e0 = res.event_study_effects[0]
print(f"{e0['effect']:.6f} {e0['se']:.6f}")
""",
}
COHORTS = np.array([5, 7, 9, 11, 13, 15])


def make_data(n: int, T: int = 20, seed: int = 1) -> pd.DataFrame:
    """``n`` units x ``T`` periods; true effect ``0.1 (e + 1)`` at event time ``e >= 0``."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    treated = rng.random(n) < 0.65 / (1 + np.exp(-(0.2 + 0.5 * x1))) * 1.3
    g = np.where(treated, COHORTS[rng.integers(0, len(COHORTS), n)], 0)
    unit = np.repeat(np.arange(1, n + 1), T)
    t = np.tile(np.arange(1, T + 1), n)
    gi = g[unit - 1]
    e = t - gi
    effect = np.where((gi > 0) & (e >= 0), 0.1 * (e + 1), 0.0)
    y = (rng.normal(size=n)[unit - 1] + (0.05 + 0.03 * x1[unit - 1]) * t + effect
         + rng.normal(0, 0.5, n * T))
    return pd.DataFrame({"id": unit, "t": t, "g": gi, "y": y, "x1": x1[unit - 1]})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="10,000 and 100,000 units only")
    ap.add_argument("--sizes", type=int, nargs="*", help="numbers of units (default 10k, 100k, 1M)")
    ap.add_argument("--modes", nargs="*", default=["analytic", "boot"], choices=["analytic", "boot"])
    ap.add_argument("--tools", nargs="*", default=list(SCRIPTS), choices=list(SCRIPTS))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=900)
    args = ap.parse_args()
    sizes = args.sizes or ([10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000])
    print(f"whole process, att_gt (dr, 1 covariate) + dynamic aggregation; "
          f"{platform.machine()}, {os.cpu_count()} cores, BLAS 1 thread, Python "
          f"{platform.python_version()}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = str(Path(tmp) / f"panel_{n}.parquet")
            make_data(n).to_parquet(path)
            for mode in args.modes:
                n_boot = 999 if mode == "boot" else 0
                tools = [t for t in args.tools if not (t == "csdid" and (n_boot or n > 100_000))]
                if n >= 1_000_000:
                    tools = [t for t in tools if t in ("pceval", "diff-diff")]
                runs = args.runs if n < 1_000_000 else max(1, args.runs // 2)
                cmds = {t: [sys.executable, "-c", SCRIPTS[t], path, str(n_boot)] for t in tools}
                before = load_average()
                res = compare(cmds, runs=runs, timeout=args.timeout)
                for r in summary(res, base="pceval"):
                    r.update(units=n, mode=mode, load=f"{before} -> {load_average()}")
                    rows.append(r)
                    print(f"  {n:>9,} {mode:8s} {r['tool']:10s} "
                          + (f"min {r['wall_min']:7.2f} s  median {r['wall_median']:7.2f} s  "
                             f"cpu {r['cpu_median']:7.2f} s  {r['peak_gb']:5.2f} GB  "
                             f"x pceval {r['x_base']:5.2f} "
                             f"({r['x_base_min']:.2f}-{r['x_base_max']:.2f}; cpu {r['x_base_cpu']:.2f})  "
                             f"e=0: {r['output']}  load {r['load']}" if "wall_min" in r
                             else r.get("note", "")), flush=True)
    tab = pd.DataFrame(rows)
    cols = ["units", "mode", "tool", "runs", "wall_min", "wall_median", "cpu_median", "peak_gb",
            "x_base", "x_base_cpu",
            "x_base_min", "x_base_max", "output", "load", "note"]
    print()
    print(tab.reindex(columns=cols).to_string(index=False, float_format=lambda v: f"{v:.2f}",
                                              na_rep=""))


if __name__ == "__main__":
    main()
