"""Rolling entry: candidate index periods plus baseline covariates, wall time and peak memory.

Run: ``.venv/bin/python benchmarks/bench_rolling.py [--quick] [--engine pandas|polars|duckdb]``.
Each size runs in a fresh subprocess (peak resident memory is the child's ru_maxrss). The data are
the synthetic generator's (default scenario); candidates are monthly (``period="month"``) for
every adult, as in notebook 2, and covariates use 3- and 12-month lookbacks.
``process`` is the child's whole wall time (start-up, imports, reading the parquet files, the
two calls and ``--then``). Times are printed, never asserted.

On DuckDB the result is a lazy relation: the work runs in ``--then``, what a user does next with it:
``count`` (its number of rows), ``parquet`` (write every column to a parquet file through the engine)
or ``narrow`` (collect to pandas only the columns matching needs: id, index date, treatment, IMD
quintile, age and the 3- and 12-month counts). ``--memory-limit 4GB`` sets DuckDB's ``memory_limit``
on the benchmark's connection (spilling to a temporary directory beyond it); by default DuckDB
allows itself 80% of the machine's memory, and takes it when a query can use it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
engine, folder, lookback, then, limit = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4], sys.argv[5]
import pandas as pd
from pceval.cohort import baseline_covariates, candidate_index_periods
people = pd.read_parquet(f"{folder}/people.parquet")
events = pd.read_parquet(f"{folder}/events.parquet") if engine != "duckdb" else None  # DuckDB reads the file
if engine == "polars":
    import polars as pl
    people, events = pl.from_pandas(people), pl.from_pandas(events)
elif engine == "duckdb":
    import duckdb
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    if limit:
        con.execute(f"SET memory_limit = '{limit}'")
        con.execute(f"SET temp_directory = '{folder}/duckdb_spill'")
    people, events = con.from_df(people), con.read_parquet(f"{folder}/events.parquet")
t0 = time.perf_counter()
cand = candidate_index_periods(people, period="month", start_date="registration_start", end_date="end_date")
t1 = time.perf_counter()
out = baseline_covariates(cand, events, lookback=lookback)
narrow = ["person_id", "index_date", "treated", "imd_quintile", "age_at_index"] + [
    c for c in out.columns if c.startswith("prior_")]
if then == "count":
    n = len(out)  # a DuckDB relation counts in the engine
elif then == "parquet":
    if engine == "duckdb":
        out.write_parquet(f"{folder}/result.parquet")
    elif engine == "polars":
        out.write_parquet(f"{folder}/result.parquet")
    else:
        out.to_parquet(f"{folder}/result.parquet")
    n = pd.read_parquet(f"{folder}/result.parquet", columns=["person_id"]).shape[0]
else:
    small = out.select(", ".join(narrow)).df() if engine == "duckdb" else out[narrow]
    n = len(small)
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
    ap.add_argument("--then", default="count", choices=["count", "parquet", "narrow"],
                    help="what is done with the result (on DuckDB, where the work runs)")
    ap.add_argument("--data", default=None, help="a folder already holding people.parquet and events.parquet "
                    "from an earlier run (written with --keep); --sizes then only labels the row")
    ap.add_argument("--keep", default=None, help="write the generated data to this folder and keep it")
    ap.add_argument("--memory-limit", default="", help="DuckDB memory_limit, e.g. 4GB (default: DuckDB's own)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else ([10_000] if args.quick else [10_000, 100_000])
    print(f"{'people':>9} {'engine':>7} {'rows':>10} {'candidates':>11} {'covariates':>11} {'process':>8} "
          f"{'peak':>8}   (then={args.then}, memory_limit={args.memory_limit or 'default'})")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            if args.data:
                for name in ("people.parquet", "events.parquet"):
                    (folder / name).symlink_to(Path(args.data).resolve() / name)
            else:
                _data(folder, n)
                if args.keep:
                    Path(args.keep).mkdir(parents=True, exist_ok=True)
                    for name in ("people.parquet", "events.parquet"):
                        shutil.copy(folder / name, Path(args.keep) / name)
            start = time.perf_counter()
            res = subprocess.run([sys.executable, "-c", CHILD, args.engine, str(folder), args.lookback, args.then,
                                  args.memory_limit],
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
