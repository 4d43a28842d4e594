"""Rolling entry: candidate index periods plus baseline covariates, wall time and peak memory.

Run: ``.venv/bin/python benchmarks/bench_rolling.py [--quick] [--engine pandas|polars|duckdb]``.
Each size runs in a fresh subprocess (peak resident memory is the child's ru_maxrss). The data are
the synthetic generator's (default scenario); candidates are monthly (``period="month"``) for
every adult, as in notebook 2, and covariates use 3- and 12-month lookbacks.
``process`` is the child's whole wall time (start-up, imports, reading the parquet files and the
two calls). Times are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
engine, folder, lookback = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
import pandas as pd
from pceval.cohort import baseline_covariates, candidate_index_periods
people = pd.read_parquet(f"{folder}/people.parquet")
events = pd.read_parquet(f"{folder}/events.parquet")
if engine == "polars":
    import polars as pl
    people, events = pl.from_pandas(people), pl.from_pandas(events)
elif engine == "duckdb":
    import duckdb
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    people, events = con.from_df(people), con.read_parquet(f"{folder}/events.parquet")
t0 = time.perf_counter()
cand = candidate_index_periods(people, period="month", start_date="registration_start", end_date="end_date")
t1 = time.perf_counter()
out = baseline_covariates(cand, events, lookback=lookback)
n = len(out) if hasattr(out, "__len__") and not hasattr(out, "fetchone") else None
if n is None:
    n = out.aggregate("count(*)").fetchone()[0] if engine == "duckdb" else out.count()
t2 = time.perf_counter()
print(json.dumps({"rows": int(n), "candidates_s": t1 - t0, "covariates_s": t2 - t1,
                  "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}))
"""


def _data(folder: Path, n_people: int) -> None:
    import pandas as pd

    from pceval import synthetic
    from pceval.cohort import index_dates

    d = synthetic.generate(n_people=n_people, seed=2019)
    ppl = d.people.assign(end_date=d.people[["registration_end", "death_date"]].min(axis=1))
    ix = index_dates(ppl, d.interventions, which="social_prescribing")
    ix = ix[ix["age"] >= 18]
    pd.DataFrame(ix).to_parquet(folder / "people.parquet", index=False)
    d.events.to_parquet(folder / "events.parquet", index=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="10,000 people only")
    ap.add_argument("--engine", default="pandas", choices=["pandas", "polars", "duckdb"])
    ap.add_argument("--sizes", default=None, help="comma-separated numbers of people")
    ap.add_argument("--lookback", default="[3, 12]", help="JSON int or list, e.g. 12 or [3, 12]")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else ([10_000] if args.quick else [10_000, 100_000])
    print(f"{'people':>9} {'engine':>7} {'rows':>10} {'candidates':>11} {'covariates':>11} {'process':>8} "
          f"{'peak':>8}")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            _data(folder, n)
            start = time.perf_counter()
            res = subprocess.run([sys.executable, "-c", CHILD, args.engine, str(folder), args.lookback],
                                 capture_output=True, text=True)
            wall = time.perf_counter() - start
            if res.returncode:
                print(f"{n:>9,} {args.engine:>7} failed: {res.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(res.stdout.strip().splitlines()[-1])
            print(f"{n:>9,} {args.engine:>7} {r['rows']:>10,} {r['candidates_s']:>10.1f}s "
                  f"{r['covariates_s']:>10.1f}s {wall:>7.1f}s {r['peak_gb']:>6.2f}GB")


if __name__ == "__main__":
    main()
