"""Run one tool of a benchmark in its own Python subprocess, so that its peak memory is its own.

The child script is given ``tool`` and ``path`` as arguments and prints one JSON line with at
least ``tool``, ``wall_s`` (the call it times) and ``peak_gb``; the parent adds ``process_s``, the
wall time of the whole child process (interpreter start-up, imports, reading the data, the call). BLAS and other thread pools are pinned to one thread so
that figures are comparable between tools and runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "NUMBA_NUM_THREADS": "1", "POLARS_MAX_THREADS": "1"}


def run_child(child: str, tool: str, path: str, timeout: float) -> dict:
    """The child's JSON result; on a timeout or an error, a row with NaN figures and the reason
    in ``note`` (so a peer that fails is shown, not dropped)."""
    failed = {"tool": tool, "wall_s": float("nan"), "peak_gb": float("nan")}
    t0 = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, "-c", child, tool, path], capture_output=True,
                             text=True, timeout=timeout, env={**os.environ, **ONE_THREAD})
    except subprocess.TimeoutExpired:
        return {**failed, "note": f"stopped after {timeout:.0f} s"}
    if out.returncode != 0:
        return {**failed, "note": (out.stderr.strip().splitlines() or ["failed"])[-1][:80]}
    # process_s: the whole process as a user meets it (start-up, imports, reading the data)
    return {**json.loads(out.stdout.strip().splitlines()[-1]),
            "process_s": time.perf_counter() - t0}


def time_tools(child: str, sizes: list[tuple[int, int, list[str]]], make_data: Callable[[int, int], pd.DataFrame],
               timeout: float, results: tuple[str, ...]) -> pd.DataFrame:
    """Time each tool of ``sizes`` (units, periods, tools) on the same parquet file per size, printing
    a line per run (with the child's ``results`` fields), and return the table with each tool's time
    over pceval's at the same size (``x_pceval_time``)."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, T, tools in sizes:
            path = str(Path(tmp) / f"panel_{n}.parquet")
            make_data(n, T).to_parquet(path)
            for tool in tools:
                r = run_child(child, tool, path, timeout)
                r.update(units=n, periods=T)
                rows.append(r)
                shown = " ".join(f"{k} {r.get(k, float('nan')):.6f}" for k in results)
                print(f"  {tool:12s} {n:>9,} x {T}: {r['wall_s']:8.2f} s "
                      f"(process {r.get('process_s', float('nan')):7.2f} s) {r['peak_gb']:6.2f} GB "
                      f"{shown} {r.get('note', '')}", flush=True)
    tab = pd.DataFrame(rows)
    base = tab[tab.tool == "pceval"].set_index("units")["wall_s"]
    tab["x_pceval_time"] = tab["wall_s"] / tab["units"].map(base)
    return tab
