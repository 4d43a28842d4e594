"""Exploratory check (not part of `make validate`): are the roll-out design's standard errors right,
and does clustering by PCN or adjusting for covariates change that?

The roll-out design of `validation/monte_carlo.py` (care and support planning, *no effect*, adults
with a long-term condition, `att_gt` by PCN go-live quarter, not-yet-treated comparisons,
`unbalanced="pairwise"`) is run on 240 synthetic ICBs (seeds 2-241, which the Monte Carlo study
does not use) in three versions of the generator:

* ``real``: the generator as shipped (20 PCNs of about 1,000 people, each PCN a couple of LSOAs of
  similar deprivation; admissions follow season, trend and COVID multiplicatively);
* ``flat``: the same, with the season, trend and COVID multipliers set to 1;
* ``unsorted``: the same, with LSOAs allocated to PCNs at random (PCNs alike in deprivation).

and with three standard errors: person-level (the default), clustered by PCN, and the outcome
regression on age, IMD decile, long-term conditions and frailty (``method="reg"``; ``"dr"`` fails
here because a PCN's IMD deciles can separate it from its comparison PCNs). It prints, by version
and aggregation, the SD of the estimates, the mean SE, their ratio (1 is right) and the coverage of
the 95% intervals (the truth is 0). About 20 minutes on 2 cores.

    .venv/bin/python validation/check_rollout_se.py [first_seed last_seed]
"""

from __future__ import annotations

import dataclasses
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

warnings.simplefilter("ignore")
KINDS = ("simple", "group", "calendar", "dynamic")
COVARIATES = ["age", "imd_decile", "ltc_count", "frailty_index"]
PER_1000_PY = 4000  # per person-quarter -> per 1,000 person-years


def _panel(data) -> pd.DataFrame:
    """The Monte Carlo's roll-out panel, with the covariates and the PCN attached."""
    from monte_carlo import rollout_panel

    panel = rollout_panel(data, data.people, data.events, "pcsp")
    return panel.merge(data.people[["person_id", "pcn_id", *COVARIATES]], on="person_id")


def _generate(seed: int, version: str):
    """A null-scenario synthetic ICB from the shipped generator or one of its two variants (made
    by temporarily replacing the generator's season/trend/COVID multipliers or its geography)."""
    import pceval.synthetic.activity as act
    import pceval.synthetic.population as pop
    from pceval import synthetic

    saved = (act._season, act._covid, dict(act.OUTCOME_MODELS), pop.make_geography)
    if version == "flat":
        act._season = lambda amplitude, month: 1.0
        act._covid = lambda mult, year, month: 1.0
        act.OUTCOME_MODELS["emergency_admission"] = dataclasses.replace(
            act.OUTCOME_MODELS["emergency_admission"], trend=0.0)
    elif version == "unsorted":
        def geography(rng, *args, **kwargs):
            geo = saved[3](rng, *args, **kwargs)
            return dataclasses.replace(geo, lsoa_pcn=rng.permutation(geo.lsoa_pcn))
        pop.make_geography = geography
    try:
        return synthetic.generate(n_people=20_000, scenario="null", seed=seed, people_per_pcn=1_000)
    finally:
        act._season, act._covid, pop.make_geography = saved[0], saved[1], saved[3]
        act.OUTCOME_MODELS.clear()
        act.OUTCOME_MODELS.update(saved[2])


def one(seed: int) -> list[tuple]:
    from pceval.did import att_gt

    out = []
    for version in ("real", "flat", "unsorted"):
        panel = _panel(_generate(seed, version))
        fits = {"person": {}, "pcn_cluster": {"cluster": "pcn_id"}}
        if version == "real":
            fits["reg_covariates"] = {"method": "reg", "covariates": COVARIATES}
        for name, kw in fits.items():
            try:
                res = att_gt(panel, outcome="emergency_admission", unit="person_id", time="quarter",
                             group="group", control_group="not_yet_treated", unbalanced="pairwise",
                             n_boot=0, **kw)
            except Exception as exc:  # noqa: BLE001 - counted and printed below the table
                out.append((seed, version, name, f"failed: {type(exc).__name__}: {exc}"[:150], np.nan, np.nan))
                continue
            for kind in KINDS:
                a = res.aggregate(kind, n_boot=0).overall
                out.append((seed, version, name, kind, a["estimate"] * PER_1000_PY, a["std_error"] * PER_1000_PY))
    return out


def table(d: pd.DataFrame) -> pd.DataFrame:
    d = d.assign(covered=(d["est"].abs() <= 1.96 * d["se"]))
    g = d.dropna().groupby(["version", "fit", "kind"]).agg(
        reps=("est", "size"), sd=("est", "std"), mean_se=("se", "mean"), coverage=("covered", "mean"))
    g["se_ratio"] = g["mean_se"] / g["sd"]
    g["coverage"] *= 100
    return g.round(3)


if __name__ == "__main__":
    first, last = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) == 3 else (2, 241)
    with ProcessPoolExecutor(2) as ex:
        rows = [r for rs in ex.map(one, range(first, last + 1)) for r in rs]
    d = pd.DataFrame(rows, columns=["seed", "version", "fit", "kind", "est", "se"])
    print(table(d).to_string())
    failed = d[d["kind"].str.startswith("failed")]
    print(f"failed fits ({len(failed)}):")
    print(failed.groupby(["version", "fit", "kind"]).size().to_string() if len(failed) else "none")
