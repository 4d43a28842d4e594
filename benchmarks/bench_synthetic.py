"""Benchmark: synthetic data generation at several sizes (wall time and peak memory).

Each size runs in a fresh subprocess so that peak resident memory (ru_maxrss) is its own.
There is no peer package that generates this kind of data, so the table shows pceval alone;
the growth of cost with size is the point.

    .venv/bin/python benchmarks/bench_synthetic.py            # 100k, 300k, 1M people x 72 months
    .venv/bin/python benchmarks/bench_synthetic.py --quick    # 20k, 100k people
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
from pceval import synthetic
n = int(sys.argv[1]); months = int(sys.argv[2])
t0 = time.perf_counter()
d = synthetic.generate(n_people=n, months=months, seed=1)
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
print(json.dumps({"people": n, "months": months, "events": len(d.events), "wall_s": wall, "peak_gb": peak}))
"""


def run(n: int, months: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(months)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sizes", type=int, nargs="*")
    args = ap.parse_args()
    sizes = args.sizes or ([20_000, 100_000] if args.quick else [100_000, 300_000, 1_000_000])
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}")
    print(f"{'people':>10} {'months':>6} {'events':>12} {'wall (s)':>9} {'peak RSS (GB)':>14}")
    for n in sizes:
        r = run(n, 72)
        print(f"{r['people']:>10,} {r['months']:>6} {r['events']:>12,} {r['wall_s']:>9.1f} {r['peak_gb']:>14.2f}")


if __name__ == "__main__":
    main()
