"""Write a notebook from a list of (kind, source, tags) cells: `python notebooks/sources/<name>.py`.

The notebooks are the product; these scripts are how they were typed. Edit either, but keep
them in step (rerun the script after editing it).
"""

from __future__ import annotations

from pathlib import Path

import nbformat


def write(name: str, cells: list[tuple[str, str, list[str] | None]]) -> Path:
    nb = nbformat.v4.new_notebook()
    for kind, src, tags in cells:
        src = src.strip("\n")
        cell = nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src)
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    out = Path(__file__).resolve().parents[1] / f"{name}.ipynb"
    nbformat.write(nb, out)
    return out


# Code shared by the matched-cohort notebooks (01, 02, 06): the covariates in the evaluator's words for the
# Love plot and the balance tables; each notebook's cell gets this text, so the rendered notebook stands alone.
LOVE_PLOT_WORDS = '''# the Love plot in the evaluator's words (covariate name -> what a reader sees)
WORDS = {"age_at_index": "age at index date", "sexF": "female", "sexM": "male",
         "ltc_count": "number of long-term conditions", "frailty_index": "frailty index",
         "prior_emergency_admission": "emergency admissions, prior year",
         "prior_ae_attendance": "A&E attendances, prior year",
         "prior_gp_appointment": "GP appointments, prior year",
         "any_prior_emergency": "any emergency admission, prior year",
         "recent_ae": "A&E attendances, 1-3 months before", "imd_quintile": "IMD quintile",
         "depression": "depression", "pam_score_baseline": "PAM score before",
         "ons4_life_satisfaction_baseline": "life satisfaction (ONS4) before",
         "ons4_anxiety_baseline": "anxiety (ONS4) before", "index_year": "year of index date"}
love_labels = {k: v for k, v in WORDS.items() if k in set(bal["covariate"])}
bal_words = bal.assign(covariate=bal["covariate"].replace({**love_labels, "distance": "propensity score (distance)"}))
'''
