"""Benchmark: slope index of inequality with 100,000 simulations for 1,000 areas x 10 deciles.

``pceval.inequality.sii`` on synthetic life-expectancy-like data (value_type "normal", standard
errors given) and rate data (value_type "rate": PHE's per-decile log-normal draws without
transform, and the log-transformed regression). Each configuration runs in a fresh subprocess so
that peak resident memory (ru_maxrss) is its own; times include building the output table.

For scale, the last row runs PHE's algorithm as written in R -- per area, draw every decile's value
``reps`` times and refit the regression -- in plain numpy, looping over areas, on a subset of areas
(the time for all areas is extrapolated linearly and marked so).

    .venv/bin/python benchmarks/bench_sii.py            # 1,000 areas x 10 deciles x 100,000 reps
    .venv/bin/python benchmarks/bench_sii.py --quick    # 100 areas
    .venv/bin/python benchmarks/bench_sii.py --quick --process 3  # whole processes, paired

``--process N`` times whole processes (start Python, import, build the data, compute), each
pceval case N times in turn after a warm-up round (``_process.py``); ratios are to the
``normal`` case. No peer computes the SII with simulated limits (PHE's tool is an R/Excel loop,
shown here by the numpy loop in the call-only mode).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time, warnings
import numpy as np, pandas as pd
areas, reps, case = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(1)
dec = np.tile(np.arange(1, 11), areas)
pop = rng.integers(5_000, 30_000, areas * 10).astype(float)
if case == "normal":
    value = 75 + 0.8 * dec + rng.normal(0, 0.5, dec.size)
    df = pd.DataFrame({"area": np.repeat(np.arange(areas), 10), "decile": dec, "pop": pop,
                       "le": value, "se": rng.uniform(0.3, 1.5, dec.size)})
    kw = dict(value="le", se="se")
else:
    rate = np.exp(6 - 0.05 * dec + rng.normal(0, 0.05, dec.size))
    df = pd.DataFrame({"area": np.repeat(np.arange(areas), 10), "decile": dec, "pop": pop,
                       "rate": rate, "lcl": rate * 0.9, "ucl": rate * 1.1})
    kw = dict(value="rate", lower="lcl", upper="ucl", value_type="rate", transform=case == "rate_log")
from pceval.inequality import sii  # imported before timing starts
t0 = time.perf_counter()
if case == "phe_loop":
    # PHE's algorithm, one area at a time: draw each decile's value, refit, take percentiles
    n_loop = int(sys.argv[4])
    out = []
    for a in range(n_loop):
        sub = df[df.area == a]
        share = sub["pop"].to_numpy() / sub["pop"].sum()
        x = np.cumsum(share) - share / 2
        se = (np.log(sub.ucl) - np.log(sub.lcl)).to_numpy() / (2 * 1.959964)
        y = np.exp(np.log(sub.rate.to_numpy()) + se * rng.standard_normal((reps, 10)))
        X = np.c_[np.sqrt(share), x * np.sqrt(share)]
        coef = np.linalg.lstsq(X, (y * np.sqrt(share)).T, rcond=None)[0]
        out.append((np.quantile(coef[1], [0.025, 0.975]),                      # SII
                    np.quantile((coef[0] + coef[1]) / coef[0], [0.025, 0.975])))  # RII
    rows = n_loop
else:
    res = sii(df, quantile="decile", population="pop", by="area", n_boot=reps, seed=1, **kw)
    rows = len(res)
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
print(json.dumps({"case": case, "rows": rows, "wall_s": wall, "peak_gb": peak}))
"""

CASES = [
    ("normal", "pceval sii, value_type normal (se given)"),
    ("rate", "pceval sii, rate: per-decile log-normal draws (PHE, no transform)"),
    ("rate_log", "pceval sii, rate: log-transformed regression"),
    ("phe_loop", "PHE algorithm, numpy loop over areas (rate, no transform; SII+RII)"),
]


def run(areas: int, reps: int, case: str, n_loop: int) -> dict:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD, str(areas), str(reps), case, str(n_loop)],
                         capture_output=True, text=True, timeout=7200)
    if out.returncode != 0:
        return {"case": case, "rows": 0, "wall_s": float("nan"), "peak_gb": float("nan"),
                "error": out.stderr.strip().splitlines()[-1][:120]}
    # process_s: the whole child process, start-up and imports included
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "process_s": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="100 areas instead of 1,000")
    ap.add_argument("--areas", type=int, default=None)
    ap.add_argument("--reps", type=int, default=100_000)
    ap.add_argument("--loop-areas", type=int, default=20, help="areas timed for the PHE loop")
    ap.add_argument("--process", type=int, default=0, metavar="N",
                    help="time whole processes instead, N paired runs per case")
    args = ap.parse_args()
    areas = args.areas or (100 if args.quick else 1_000)
    if args.process:
        sys.path.insert(0, str(Path(__file__).parent))
        from _process import print_compare

        print(f"whole process, sii: {areas:,} areas x 10 deciles, {args.reps:,} simulations")
        cmds = {case: [sys.executable, "-c", CHILD, str(areas), str(args.reps), case, "0"]
                for case, _ in CASES if case != "phe_loop"}
        print_compare(cmds, base="normal", label=f"{areas:,} areas", runs=args.process)
        return
    print(f"machine: {platform.machine()}, python {platform.python_version()}; "
          f"{areas:,} areas x 10 deciles, {args.reps:,} simulations each, 95% limits")
    print(f"{'method':<68} {'areas':>6} {'wall (s)':>9} {'process (s)':>11} {'peak RSS (GB)':>14}")
    for case, label in CASES:
        n_loop = min(args.loop_areas, areas)
        r = run(areas, args.reps, case, n_loop)
        note = f"  ({r['error']})" if "error" in r else ""
        wall = r["wall_s"]
        shown = f"{wall:>9.1f}"
        if case == "phe_loop":
            shown = f"{wall * areas / n_loop:>8.0f}*"
            note += f"  (* measured {wall:.1f} s on {n_loop} areas, scaled to {areas:,})"
        print(f"{label:<68} {areas:>6,} {shown} {r.get('process_s', float('nan')):>11.1f} "
              f"{r['peak_gb']:>14.2f}{note}", flush=True)


if __name__ == "__main__":
    main()
