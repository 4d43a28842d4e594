"""Run every benchmark script in this folder and print their tables.

    .venv/bin/python benchmarks/run_all.py           # full sizes (minutes)
    .venv/bin/python benchmarks/run_all.py --quick   # small sizes (about a minute each)

Each ``bench_*.py`` prints its own table of wall time and peak memory, pceval beside its peers.
BLAS threads are pinned to one so that figures are comparable between runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    status = 0
    for script in sorted(Path(__file__).parent.glob("bench_*.py")):
        print(f"\n=== {script.name} {'(quick)' if quick else ''}", flush=True)
        cmd = [sys.executable, str(script)] + (["--quick"] if quick else [])
        status |= subprocess.run(cmd, env=env).returncode
    return status


if __name__ == "__main__":
    raise SystemExit(main())
