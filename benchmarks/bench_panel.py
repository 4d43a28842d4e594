"""Benchmark: a 24-month person-month panel from events, on DuckDB, polars, pandas and Spark.

The same ``pceval.build_panel`` call on each engine, same data (synthetic events drawn with numpy:
person ids uniform, dates uniform over 2019-2022, four event types). Each engine runs in its own
subprocess so that peak resident memory (ru_maxrss, which includes DuckDB's and polars' native
memory, unlike tracemalloc) is its own; the data are written once to parquet and each engine reads
it natively. Times include reading the parquet and producing the full panel (DuckDB: written to
parquet; others: materialised).

    .venv/bin/python benchmarks/bench_panel.py --quick            # 200k people / 5M events
    .venv/bin/python benchmarks/bench_panel.py                    # also 2M people / 50M events
    .venv/bin/python benchmarks/bench_panel.py --quick --process 3 --engines duckdb polars pandas

``--process N`` times whole processes (start Python, import, read, build the panel), each engine
N times in turn after a warm-up round, with paired ratios to DuckDB (``_process.py``).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

CHILD = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
engine, folder = sys.argv[1], sys.argv[2]
from pceval.panel import build_panel
t0 = time.perf_counter()
if engine == "duckdb":
    import duckdb
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    ev = con.read_parquet(f"{folder}/events.parquet"); ix = con.read_parquet(f"{folder}/index.parquet")
    out = build_panel(ev, ix, before=12, after=11)
    out.write_parquet(f"{folder}/panel_duckdb.parquet")
    rows = con.execute(f"select count(*) from read_parquet('{folder}/panel_duckdb.parquet')").fetchone()[0]
elif engine == "polars":
    import polars as pl
    ev = pl.read_parquet(f"{folder}/events.parquet"); ix = pl.read_parquet(f"{folder}/index.parquet")
    out = build_panel(ev, ix, before=12, after=11); rows = out.height
elif engine == "pandas":
    import pandas as pd
    ev = pd.read_parquet(f"{folder}/events.parquet"); ix = pd.read_parquet(f"{folder}/index.parquet")
    out = build_panel(ev, ix, before=12, after=11); rows = len(out)
else:
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.driver.memory", "6g").config("spark.sql.session.timeZone", "UTC").getOrCreate())
    ev = spark.read.parquet(f"{folder}/events.parquet"); ix = spark.read.parquet(f"{folder}/index.parquet")
    out = build_panel(ev, ix, before=12, after=11)
    rows = out.count()
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
if engine == "spark":
    peak = float("nan")  # the JVM's memory is not in this process
print(json.dumps({"engine": engine, "rows": rows, "wall_s": wall, "peak_gb": peak}))
"""


def make_data(folder: Path, n_people: int, n_events: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2019-01-01")
    days = (np.datetime64("2023-01-01") - start).astype(int)
    ev = pd.DataFrame({
        "person_id": rng.integers(1, n_people + 1, n_events, dtype=np.int64),
        "date": (start + rng.integers(0, days, n_events).astype("timedelta64[D]")).astype("datetime64[us]"),
        "type": pd.Categorical.from_codes(rng.integers(0, 4, n_events).astype(np.int8),
                                          ["emergency_admission", "ae_attendance", "gp_appointment",
                                           "outpatient_attendance"]).astype(str),
    })
    ev.to_parquet(folder / "events.parquet", index=False)
    idx_days = rng.integers(365, 2 * 365, n_people)
    end = np.where(rng.random(n_people) < 0.1, idx_days + rng.integers(0, 365, n_people), -1)
    ix = pd.DataFrame({
        "person_id": np.arange(1, n_people + 1, dtype=np.int64),
        "index_date": (start + idx_days.astype("timedelta64[D]")).astype("datetime64[us]"),
        "end_date": pd.to_datetime(np.where(end >= 0, (start + end.astype("timedelta64[D]")).astype("datetime64[us]"),
                                            np.datetime64("NaT"))),
    })
    ix.to_parquet(folder / "index.parquet", index=False)


def run(engine: str, folder: Path) -> dict:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD, engine, str(folder)], capture_output=True, text=True,
                         timeout=3600)
    if out.returncode != 0:
        return {"engine": engine, "rows": 0, "wall_s": float("nan"), "peak_gb": float("nan"),
                "error": out.stderr.strip().splitlines()[-1][:120]}
    # process_s: the whole child process, start-up and imports included
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "process_s": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--engines", nargs="*", default=None)
    ap.add_argument("--process", type=int, default=0, metavar="N",
                    help="time whole processes instead, N paired runs per engine")
    args = ap.parse_args()
    sizes = [(200_000, 5_000_000)] if args.quick else [(200_000, 5_000_000), (2_000_000, 50_000_000)]
    if args.process:
        sys.path.insert(0, str(Path(__file__).parent))
        from _process import print_compare

        print("whole process, build_panel (24-month window)")
        for n_people, n_events in sizes:
            engines = args.engines or ["duckdb", "polars", "pandas"]
            with tempfile.TemporaryDirectory() as tmp:
                make_data(Path(tmp), n_people, n_events)
                cmds = {e: [sys.executable, "-c", CHILD, e, tmp] for e in engines}
                print_compare(cmds, base=engines[0], label=f"{n_people:,} / {n_events:,}",
                              runs=args.process, timeout=3600)
        return
    print(f"machine: {platform.machine()}, python {platform.python_version()}; 24-month window (-12..11)")
    print(f"{'people':>10} {'events':>11} {'engine':>8} {'panel rows':>11} {'wall (s)':>9} {'process (s)':>11} "
          f"{'peak RSS (GB)':>14}")
    for n_people, n_events in sizes:
        engines = args.engines or (["duckdb", "polars", "pandas", "spark"] if n_people <= 200_000
                                   else ["duckdb", "polars", "pandas"])
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            make_data(folder, n_people, n_events)
            for engine in engines:
                r = run(engine, folder)
                note = f"  ({r['error']})" if "error" in r else ""
                print(f"{n_people:>10,} {n_events:>11,} {engine:>8} {r['rows']:>11,} {r['wall_s']:>9.1f} "
                      f"{r.get('process_s', float('nan')):>11.1f} {r['peak_gb']:>14.2f}{note}", flush=True)


if __name__ == "__main__":
    main()
