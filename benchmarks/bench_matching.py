"""Benchmark: 1:1 nearest-neighbour propensity-score matching with a caliper, no replacement.

pceval (``pceval.match``) against R MatchIt (Debian's ``r-cran-matchit``, run through
``Rscript``) and psmpy (``pip install psmpy``; not a pceval dependency) on the same synthetic
cohort: treated people are older, sicker and more deprived than the pool; six covariates (age,
sex, IMD quintile, prior admissions, long-term conditions, a continuous frailty score). Every
run includes the propensity-score fit and uses a 0.2 SD caliper. Each tool runs in its own
subprocess so that its peak resident memory (``ru_maxrss`` / ``/usr/bin/time``) is its own;
the data are written once (parquet for Python, CSV for R) and reading them is not timed (but is
in the peak memory, for every tool alike). BLAS threads are pinned to one. ``x pceval`` is the
tool's wall time divided by pceval's at the same size.

psmpy's caliper is absolute on the logit scale (pceval and MatchIt: 0.2 SD of the score), so
matched counts differ. Peers are skipped with a note when they are not installed. psmpy runs only at small sizes (it
needs minutes and gigabytes at 5,000 / 50,000); MatchIt up to 100,000 / 1,000,000 unless
``--full``. Note: Debian's MatchIt is 4.5.1, whose caliper has an upstream bug (fixed in 4.5.4),
so its matched counts differ; pceval's correctness is checked against MatchIt 4.7.2 in the tests.

    .venv/bin/python benchmarks/bench_matching.py --quick  # pceval to 100k/1M, MatchIt to 10k/100k
    .venv/bin/python benchmarks/bench_matching.py          # + pceval 1M/10M, MatchIt 100k/1M (~10 min)
    .venv/bin/python benchmarks/bench_matching.py --full   # + psmpy 5k/50k, MatchIt 1M/10M
    .venv/bin/python benchmarks/bench_matching.py --process 3  # whole processes, 3 paired runs

``--process N`` times whole processes instead (start Python or R, import, read the data, match),
each tool N times in turn after a warm-up round, with paired ratios (``_process.py``), at the
sizes where every installed peer finishes in reasonable time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

COVS = ["age", "female", "imd", "prior_adm", "ltc", "frailty"]

PCEVAL_CHILD = r"""
import json, resource, sys, time, warnings
import pandas as pd
warnings.simplefilter("ignore")
from pceval.matching import match
df = pd.read_parquet(sys.argv[1])
covs = sys.argv[2].split(",")
t0 = time.perf_counter()
m = match(df, "treat", covs, method="nearest", ratio=1, replace=False, caliper=0.2)
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
print(json.dumps({"wall_s": wall, "peak_gb": peak, "matched": m.n_matched["treated"]}))
"""

PSMPY_CHILD = r"""
import json, resource, sys, time, warnings
import pandas as pd
warnings.simplefilter("ignore")
from psmpy import PsmPy
df = pd.read_parquet(sys.argv[1])
t0 = time.perf_counter()
psm = PsmPy(df, treatment="treat", indx="pid", exclude=[])
psm.logistic_ps(balance=False)
psm.kdtree_matched(matcher="propensity_logit", replacement=False, caliper=0.2)
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
print(json.dumps({"wall_s": wall, "peak_gb": peak, "matched": int(len(psm.matched_ids))}))
"""

R_CHILD = r"""
suppressPackageStartupMessages(library(MatchIt))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
f <- as.formula(paste("treat ~", gsub(",", " + ", args[2])))
t0 <- proc.time()[["elapsed"]]
m <- matchit(f, data = d, method = "nearest", distance = "glm", ratio = 1, replace = FALSE,
             caliper = 0.2)
wall <- proc.time()[["elapsed"]] - t0
cat(sprintf('{"wall_s": %.4f, "matched": %d, "version": "%s"}\n', wall,
            sum(m$weights > 0 & m$treat == 1), as.character(packageVersion("MatchIt"))))
"""


def make_cohort(n1: int, n0: int, seed: int = 2024) -> pd.DataFrame:
    """Synthetic cohort: treated people older, sicker and more deprived than the pool."""
    rng = np.random.default_rng(seed)
    n = n1 + n0
    t = np.r_[np.ones(n1, np.int8), np.zeros(n0, np.int8)]
    age = np.clip(rng.normal(62 + 8 * t, 14), 18, 100).round()
    female = rng.binomial(1, 0.52, n).astype(np.int8)
    imd = np.clip(rng.integers(1, 6, n) - rng.binomial(1, 0.3 * t), 1, 5).astype(np.int8)
    prior = rng.poisson(0.4 + 0.5 * t).astype(np.int16)
    ltc = rng.poisson(1.5 + 0.8 * t).astype(np.int16)
    frailty = np.round(rng.gamma(2 + t, 0.1), 3)
    return pd.DataFrame({"pid": np.arange(n), "treat": t, "age": age, "female": female,
                         "imd": imd, "prior_adm": prior, "ltc": ltc, "frailty": frailty})


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1"}


def run_python(code: str, parquet: Path, timeout: float) -> dict | None:
    t0 = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, "-c", code, str(parquet), ",".join(COVS)],
                             capture_output=True, text=True, env=_env(), timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "process_s": time.perf_counter() - t0}


def run_r(csv: Path, timeout: float) -> dict | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as fh:
        fh.write(R_CHILD)
        script = fh.name
    timer = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    cmd = [rscript, script, str(csv), ",".join(COVS)]
    if timer:
        cmd = [timer, "-f", "MAXRSS_KB=%M", *cmd]
    t0 = time.perf_counter()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    finally:
        os.unlink(script)
    if out.returncode != 0:
        msg = out.stderr.strip().splitlines()
        return {"error": msg[-1] if msg else "failed"}
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["process_s"] = time.perf_counter() - t0
    for line in out.stderr.splitlines():
        if line.startswith("MAXRSS_KB="):
            res["peak_gb"] = int(line.split("=")[1]) / 1024 / 1024
    return res


def r_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    out = subprocess.run(["Rscript", "-e", "cat(requireNamespace('MatchIt', quietly=TRUE))"],
                         capture_output=True, text=True)
    return out.stdout.strip().endswith("TRUE")


def psmpy_available() -> bool:
    out = subprocess.run([sys.executable, "-c", "import psmpy"], capture_output=True)
    return out.returncode == 0


def whole_process(runs: int, quick: bool) -> int:
    """``--process``: whole processes of each installed tool, paired (see ``_process.py``)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from _process import print_compare

    have_r, have_psmpy = r_available(), psmpy_available()
    print(f"# whole process, 1:1 nearest neighbour with caliper; {platform.machine()}, "
          f"{os.cpu_count()} cores, BLAS threads = 1; MatchIt {'found' if have_r else 'not installed'}"
          f", psmpy {'found' if have_psmpy else 'not installed'}", flush=True)
    sizes = [(1_000, 10_000), (10_000, 100_000)] + ([] if quick else [(100_000, 1_000_000)])
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "matchit.R"
        script.write_text(R_CHILD)
        for n1, n0 in sizes:
            df = make_cohort(n1, n0)
            pq, csv = Path(tmp) / f"c_{n1}.parquet", Path(tmp) / f"c_{n1}.csv"
            df.to_parquet(pq)
            cmds = {"pceval": [sys.executable, "-c", PCEVAL_CHILD, str(pq), ",".join(COVS)]}
            if have_psmpy and n0 <= 10_000:
                cmds["psmpy"] = [sys.executable, "-c", PSMPY_CHILD, str(pq), ",".join(COVS)]
            if have_r and n0 <= 100_000:
                df.to_csv(csv, index=False)
                cmds["MatchIt"] = ["Rscript", str(script), str(csv), ",".join(COVS)]
            print_compare(cmds, base="pceval", label=f"{n1:,} / {n0:,}", runs=runs, timeout=1800)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="pceval to 100k/1M, MatchIt to 10k/100k")
    ap.add_argument("--full", action="store_true", help="also psmpy 5k/50k and MatchIt 1M/10M")
    ap.add_argument("--process", type=int, default=0, metavar="N",
                    help="time whole processes instead, N paired runs per tool")
    args = ap.parse_args()
    if args.process:
        return whole_process(args.process, args.quick)

    sizes = [(1_000, 10_000), (10_000, 100_000), (100_000, 1_000_000)]
    if not args.quick:
        sizes.append((1_000_000, 10_000_000))
    psmpy_sizes = {(1_000, 10_000)}
    if not args.quick:
        psmpy_sizes.add((2_000, 20_000))
        sizes.insert(1, (2_000, 20_000))
    if args.full:
        psmpy_sizes.add((5_000, 50_000))
        sizes.insert(2, (5_000, 50_000))
    # Debian's MatchIt 4.5.1 needs about 10 minutes at 100k / 1M
    r_max = 10_000_000 if args.full else 100_000 if args.quick else 1_000_000
    have_r, have_psmpy = r_available(), psmpy_available()
    print(f"# 1:1 nearest neighbour, caliper 0.2 SD, no replacement, propensity fit included; "
          f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          "BLAS threads = 1")
    if not have_r:
        print("# R MatchIt not available (apt-get install r-cran-matchit): skipped")
    if not have_psmpy:
        print("# psmpy not installed (pip install psmpy): skipped")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n1, n0 in sizes:
            df = make_cohort(n1, n0)
            pq = Path(tmp) / f"c_{n1}.parquet"
            df.to_parquet(pq)
            res = {"pceval": run_python(PCEVAL_CHILD, pq, timeout=900)}
            if have_psmpy and (n1, n0) in psmpy_sizes:
                res["psmpy"] = run_python(PSMPY_CHILD, pq, timeout=1800)
            if have_r and n0 <= r_max:
                csv = Path(tmp) / f"c_{n1}.csv"
                df.to_csv(csv, index=False)
                r = run_r(csv, timeout=1800)
                if r is not None:
                    res[f"MatchIt {r.get('version', '')}".strip()] = r
                csv.unlink()
            base = res["pceval"].get("wall_s") if res["pceval"] else None
            for tool, r in res.items():
                if r is None:
                    continue
                row = {"treated": n1, "controls": n0, "tool": tool,
                       "wall_s": r.get("wall_s"), "process_s": r.get("process_s"),
                       "peak_gb": r.get("peak_gb"),
                       "matched_treated": r.get("matched"), "note": r.get("error", "")}
                row["x_pceval"] = (row["wall_s"] / base if base and row["wall_s"] else None)
                rows.append(row)
                print(json.dumps(row), flush=True)
            pq.unlink()
    table = pd.DataFrame(rows)
    print()
    print("| treated | controls | tool | wall (s) | whole process (s) | peak RSS (GB) | x pceval time "
          "| matched treated |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|")
    for _, r in table.iterrows():
        wall = f"{r['wall_s']:.2f}" if pd.notna(r["wall_s"]) else r["note"]
        peak = f"{r['peak_gb']:.2f}" if pd.notna(r["peak_gb"]) else ""
        proc = f"{r['process_s']:.2f}" if pd.notna(r.get("process_s")) else ""
        ratio = f"{r['x_pceval']:.1f}" if pd.notna(r["x_pceval"]) else ""
        matched = f"{int(r['matched_treated']):,}" if pd.notna(r["matched_treated"]) else ""
        print(f"| {r['treated']:,} | {r['controls']:,} | {r['tool']} | {wall} | {proc} | {peak} | "
              f"{ratio} | {matched} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
