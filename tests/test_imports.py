"""What importing pceval loads (issue 20): a test of which modules are imported, not of timings.

``import pceval`` loads no submodule; the path an evaluator takes for a staggered DiD (import,
read a parquet file, ``att_gt`` with the multiplier bootstrap, ``aggregate("dynamic")``) loads
neither scipy.stats nor statsmodels nor plotnine, which take longer to import than the fit takes
on 100,000 units. Each check runs in a fresh interpreter, because this test process has long
since imported everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats

from pceval._distributions import stats

SRC = str(Path(__file__).resolve().parents[1] / "src")
HEAVY = ("scipy", "statsmodels", "plotnine", "matplotlib", "pyspark", "duckdb", "polars",
         "nbconvert", "nbformat", "narwhals", "pyarrow")
NOT_ON_THE_DID_PATH = ("scipy.stats", "statsmodels", "plotnine", "matplotlib", "pyspark",
                       "duckdb", "polars", "nbconvert")


def _loaded_after(code: str) -> set[str]:
    """Top-level and dotted module names in ``sys.modules`` after running ``code`` in a fresh
    interpreter with this checkout's ``src`` first on the path."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env=env, timeout=120, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def _present(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return [n for n in names if n in modules or any(m.startswith(n + ".") for m in modules)]


def test_import_pceval_loads_no_heavy_dependency():
    loaded = _loaded_after(f"import pceval\nassert pceval.__file__.startswith({SRC!r})")
    assert _present(loaded, HEAVY) == []
    # nor any pceval submodule beyond the version
    assert {m for m in loaded if m.startswith("pceval.")} <= {"pceval._version"}


def test_the_staggered_did_path_loads_only_what_it_uses(tmp_path):
    rng = np.random.default_rng(0)
    n, T = 300, 6
    g = np.where(rng.random(n) < 0.5, 0, rng.choice([3, 5], n))
    unit = np.repeat(np.arange(n), T)
    t = np.tile(np.arange(1, T + 1), n)
    x1 = rng.normal(size=n)
    y = rng.normal(size=n * T) + x1[unit] * 0.1 * t + ((g[unit] > 0) & (t >= g[unit])) * 0.5
    path = tmp_path / "panel.parquet"
    import pandas as pd

    pd.DataFrame({"id": unit, "t": t, "g": g[unit], "y": y, "x1": x1[unit]}).to_parquet(path)
    code = f"""
import pandas as pd
from pceval.did import att_gt
df = pd.read_parquet({str(path)!r})
res = att_gt(df, outcome="y", unit="id", time="t", group="g", covariates=["x1"], method="dr",
             n_boot=99)
agg = res.aggregate("dynamic")
assert agg.to_frame()["std_error"].notna().all()
res.summary()
"""
    loaded = _loaded_after(code)
    assert _present(loaded, NOT_ON_THE_DID_PATH) == []
    # and the plot, when asked for, does load plotnine
    assert "plotnine" in _loaded_after(code + "agg.plot()\n")


@pytest.mark.parametrize("code", [
    "import pceval.inequality",
    "from pceval.inequality import sii, quintile_gap, equity_of_effect, plot_sii",
    "from pceval.did import att_gt",
    "from pceval.matching import match",
])
def test_importing_an_area_loads_no_plotting_or_statsmodels(code):
    # plotting functions import plotnine when called; none of these areas needs statsmodels
    loaded = _loaded_after(code)
    assert _present(loaded, ("plotnine", "matplotlib", "statsmodels")) == []


def test_an_inequality_plot_loads_plotnine_when_drawn():
    code = """
import pandas as pd
from pceval.inequality import plot_gap_over_time
df = pd.DataFrame({"year": [2020, 2021, 2022], "estimate": [0.1, 0.2, 0.15],
                   "lower": [0.0, 0.1, 0.05], "upper": [0.2, 0.3, 0.25]})
plot_gap_over_time(df, "year")
"""
    assert "plotnine" in _loaded_after(code)


# --- the scipy.stats stand-in gives scipy.stats' numbers --------------------------------------

Q = np.array([0, 1e-300, 1e-10, 0.025, 0.3, 0.5, 0.75, 0.975, 1 - 1e-12, 1, -0.1, 1.5, np.nan])
X = np.array([-np.inf, -40, -5, -1.96, -0.1, 0, 0.1, 1.96, 5, 40, np.inf, np.nan])
DFS = [0.5, 1, 2, 3.5, 10, 57, 1e6, np.inf, 0, -1, np.nan]


def _same(a, b) -> None:
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))  # NaN equals NaN here


def test_normal_functions_equal_scipy_stats_bit_for_bit():
    _same(stats.norm.ppf(Q), scipy_stats.norm.ppf(Q))
    _same(stats.norm.isf(Q), scipy_stats.norm.isf(Q))
    _same(stats.norm.cdf(X), scipy_stats.norm.cdf(X))
    _same(stats.norm.sf(X), scipy_stats.norm.sf(X))
    assert type(stats.norm.ppf(0.975)) is type(scipy_stats.norm.ppf(0.975))
    assert stats.norm.ppf(0.975) == pytest.approx(1.959963984540054, rel=1e-15)


@pytest.mark.parametrize("df", DFS)
def test_t_and_chi2_functions_equal_scipy_stats_bit_for_bit(df):
    _same(stats.t.ppf(Q, df), scipy_stats.t.ppf(Q, df))
    _same(stats.t.isf(Q, df), scipy_stats.t.isf(Q, df))
    _same(stats.t.cdf(X, df), scipy_stats.t.cdf(X, df))
    _same(stats.t.sf(X, df), scipy_stats.t.sf(X, df))
    if df != np.inf:  # a chi-squared with infinite df is meaningless
        x = np.sign(X) * X**2
        _same(stats.chi2.sf(x, df), scipy_stats.chi2.sf(x, df))
        _same(stats.chi2.cdf(x, df), scipy_stats.chi2.cdf(x, df))
        _same(stats.chi2.ppf(Q, df), scipy_stats.chi2.ppf(Q, df))
        _same(stats.chi2.isf(Q, df), scipy_stats.chi2.isf(Q, df))


def test_known_values():
    # closed forms: chi2(2) sf = exp(-x/2); t(1) is Cauchy, ppf(q) = tan(pi (q - 1/2))
    assert stats.chi2.sf(3.0, 2) == pytest.approx(np.exp(-1.5), rel=1e-14)
    assert stats.t.ppf(0.9, 1) == pytest.approx(np.tan(np.pi * 0.4), rel=1e-12)
    assert stats.norm.sf(1.959963984540054) == pytest.approx(0.025, rel=1e-14)
