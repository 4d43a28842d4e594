"""Whole-process timing: run commands as an evaluator meets them (start Python, import, read the
data, fit, summarise), several times each, in turn, and report wall time and peak memory.

Each run is a fresh process. Its wall time is measured from just before it is started to when it
has been reaped, and its peak resident memory is the kernel's ``ru_maxrss`` for that process
(``os.wait4``). Commands are run in turn (A B C A B C ...) after one warm-up round that is not
counted, so that a drift in the machine's speed touches every command alike; ratios are taken run
by run within a round and summarised by their median. BLAS and other thread pools are pinned to
one thread, and bytecode is written and used (see :func:`child_env`). ``/usr/bin/time -v
python -c ...`` gives the same figures for a single run.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from dataclasses import dataclass, field

ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "NUMBA_NUM_THREADS": "1", "POLARS_MAX_THREADS": "1", "RAYON_NUM_THREADS": "1"}



def child_env() -> dict[str, str]:
    """The environment of a timed run: BLAS on one thread, and Python free to write bytecode, so
    that every package runs from its compiled ``.pyc`` files after the warm-up, as an installed
    package does (with ``PYTHONDONTWRITEBYTECODE`` set, a package run from a source checkout would
    be compiled again in every run, while installed peers would not)."""
    env = {**os.environ, **ONE_THREAD}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


@dataclass
class Runs:
    """The counted runs of one command: wall and CPU (user + system) seconds, peak resident
    GiB, and its last output."""

    name: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    peak_gb: list[float] = field(default_factory=list)
    failed: str = ""
    output: str = ""


HELPER = r"""
import json, resource, subprocess, sys, time
argv, timeout = json.loads(sys.argv[1]), float(sys.argv[2])
t0 = time.perf_counter()
try:
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                       timeout=timeout)
    code, out = p.returncode, p.stdout
except subprocess.TimeoutExpired:
    code, out = -9, ""
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "peak_gb": ru.ru_maxrss / 1024**2,
                  "code": code, "out": out}))
"""


def run_isolated(argv: list[str], timeout: float) -> tuple[float, float, float, int, str]:
    """``(wall_s, cpu_s, peak_gb, exit_code, stdout)`` of one run of ``argv`` under a small
    helper process, so that the CPU time and peak memory read are this run's alone; the wall
    time is measured by the helper around the run."""
    import json

    helper = subprocess.run([sys.executable, "-c", HELPER, json.dumps(argv), str(timeout)],
                            capture_output=True, text=True, env=child_env(),
                            timeout=timeout + 60)
    r = json.loads(helper.stdout.strip().splitlines()[-1])
    return r["wall"], r["cpu"], r["peak_gb"], r["code"], r["out"]


def compare(commands: dict[str, list[str]], runs: int = 5, warmup: int = 1,
            timeout: float = 600) -> dict[str, Runs]:
    """Run every command ``warmup + runs`` times, in turn; return the counted runs."""
    results = {name: Runs(name) for name in commands}
    for i in range(warmup + runs):
        for name, argv in commands.items():
            r = results[name]
            if r.failed:
                continue
            wall, cpu, peak, code, out = run_isolated(argv, timeout)
            if code != 0:
                r.failed = "timed out" if code == -9 else f"exit {code}"
                continue
            r.output = out
            if i >= warmup:
                r.wall.append(wall)
                r.cpu.append(cpu)
                r.peak_gb.append(peak)
    return results


def summary(results: dict[str, Runs], base: str) -> list[dict]:
    """A row per command: min and median wall, median CPU and peak, and the median over rounds of
    the command's wall (and CPU) time divided by ``base``'s in the same round."""
    rows = []
    b = results[base].wall
    for name, r in results.items():
        if r.failed or not r.wall:
            rows.append({"tool": name, "note": r.failed or "no runs"})
            continue
        ratios = [w / bw for w, bw in zip(r.wall, b, strict=False)] if b else []
        rows.append({"tool": name, "runs": len(r.wall), "wall_min": min(r.wall),
                     "wall_median": statistics.median(r.wall),
                     "cpu_median": statistics.median(r.cpu),
                     "peak_gb": statistics.median(r.peak_gb),
                     "x_base": statistics.median(ratios) if ratios else float("nan"),
                     "x_base_min": min(ratios) if ratios else float("nan"),
                     "x_base_max": max(ratios) if ratios else float("nan"),
                     "x_base_cpu": statistics.median(
                         [c / bc for c, bc in zip(r.cpu, results[base].cpu, strict=False)]
                     ) if results[base].cpu else float("nan"),
                     "output": r.output.strip().splitlines()[-1] if r.output.strip() else ""})
    return rows


def load_average() -> str:
    try:
        return " ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def print_compare(commands: dict[str, list[str]], *, base: str, label: str, runs: int,
                  timeout: float = 600) -> list[dict]:
    """Whole-process mode of a benchmark: run ``commands`` (tool -> argv) ``runs`` times each,
    in turn, after one warm-up round (:func:`compare`), print a line per tool (wall min and
    median, CPU median, peak, median paired ratio to ``base``, the load average before and
    after) and return the rows."""
    before = load_average()
    rows = summary(compare(commands, runs=runs, timeout=timeout), base=base)
    after = load_average()
    for r in rows:
        r.update(label=label, load=f"{before} -> {after}")
        if "wall_min" not in r:
            print(f"  {label} {r['tool']:12s} {r.get('note', '')}", flush=True)
            continue
        print(f"  {label} {r['tool']:12s} runs {r['runs']}  wall min {r['wall_min']:7.2f} s  "
              f"median {r['wall_median']:7.2f} s  cpu {r['cpu_median']:7.2f} s  "
              f"{r['peak_gb']:5.2f} GB  x {base} {r['x_base']:5.2f} "
              f"({r['x_base_min']:.2f}-{r['x_base_max']:.2f}; cpu {r['x_base_cpu']:.2f})  "
              f"load {r['load']}", flush=True)
    return rows
