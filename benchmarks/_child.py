"""Run one tool of a benchmark in its own Python subprocess, so that its peak memory is its own.

The child script is given ``tool`` and ``path`` as arguments and prints one JSON line with at
least ``tool``, ``wall_s`` and ``peak_gb``. BLAS and other thread pools are pinned to one thread so
that figures are comparable between tools and runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "NUMBA_NUM_THREADS": "1", "POLARS_MAX_THREADS": "1"}


def run_child(child: str, tool: str, path: str, timeout: float) -> dict:
    """The child's JSON result; on a timeout or an error, a row with NaN figures and the reason
    in ``note`` (so a peer that fails is shown, not dropped)."""
    failed = {"tool": tool, "wall_s": float("nan"), "peak_gb": float("nan")}
    try:
        out = subprocess.run([sys.executable, "-c", child, tool, path], capture_output=True,
                             text=True, timeout=timeout, env={**os.environ, **ONE_THREAD})
    except subprocess.TimeoutExpired:
        return {**failed, "note": f"stopped after {timeout:.0f} s"}
    if out.returncode != 0:
        return {**failed, "note": (out.stderr.strip().splitlines() or ["failed"])[-1][:80]}
    return json.loads(out.stdout.strip().splitlines()[-1])
