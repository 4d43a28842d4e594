"""No number typed by hand: every validation figure a report quotes equals validation/results/.

Reports quote results through :func:`pceval.report.quoted_figure`, which tags the text with the file,
filter, column, aggregate and format it came from. This test reads every shipped report, recomputes each
tagged figure from the CSV in validation/results/ and compares the text; and it checks that the notebook
sources that quote the validation study hold no coverage figure typed into prose.
"""

import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from pceval.errors import InputError
from pceval.report import SOURCE_ATTR, quoted_figure

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "validation" / "results"
REPORTS = sorted((ROOT / "reports").glob("*.html"))
SPAN = re.compile(SOURCE_ATTR + r'="([^"]+)">([^<]*)</span>')


def quoted(path: Path) -> list[tuple[dict, str]]:
    return [(json.loads(html.unescape(spec)), html.unescape(text)) for spec, text in SPAN.findall(path.read_text())]


def recompute(spec: dict) -> str:
    frame = pd.read_csv(RESULTS / spec["file"], keep_default_na=False, na_values=[""], low_memory=False)
    for col, val in spec["where"].items():
        frame = frame[frame[col].astype(str) == str(val)]
    values = frame[spec["column"]]
    value = values.iloc[0] if spec["agg"] == "first" else getattr(values, spec["agg"])()
    return spec["fmt"].format(value)


@pytest.mark.parametrize("path", REPORTS, ids=[p.stem for p in REPORTS])
def test_every_quoted_figure_equals_the_results_file(path):
    for spec, text in quoted(path):
        assert recompute(spec) == text, (path.name, spec, text)


def test_reports_quoting_the_validation_study_do_so_through_quoted_figure():
    by_name = {p.stem: p for p in REPORTS}
    for stem in ("03_staggered_rollout", "05_validation_study"):
        assert len(quoted(by_name[stem])) >= 3, f"{stem} quotes no tagged validation figures"
    # the roll-out coverage quoted in report 3 is the one in report 5 (same file, same rows)
    q3 = {json.dumps(s, sort_keys=True): t for s, t in quoted(by_name["03_staggered_rollout"])}
    q5 = {json.dumps(s, sort_keys=True): t for s, t in quoted(by_name["05_validation_study"])}
    shared = set(q3) & set(q5)
    assert shared and all(q3[k] == q5[k] for k in shared)


def test_no_coverage_typed_into_the_notebook_prose():
    # a percentage with a decimal (e.g. "93.6-94.6%") in a source's text is a typed result
    for name in ("nb03_staggered.py", "nb05_validation_study.py"):
        text = (ROOT / "notebooks" / "sources" / name).read_text()
        assert not re.search(r"\b\d{2}\.\d\s*(?:-|to)\s*\d{2}\.\d\s*%", text), name
        assert "500 simulated" not in text and "20,000 people" not in text, name


def test_quoted_figure_recomputes_and_refuses_a_wrong_filter(tmp_path):
    csv = tmp_path / "r.csv"
    pd.DataFrame({"design": ["a", "a", "b"], "coverage": [0.94, 0.951, 0.9]}).to_csv(csv, index=False)
    out = quoted_figure(csv, "coverage", "max", "{:.1%}", design="a")
    assert out.endswith(">95.1%</span>") and SOURCE_ATTR in out
    with pytest.raises(InputError, match="no rows"):
        quoted_figure(csv, "coverage", "max", design="c")
    with pytest.raises(InputError, match="not a column"):
        quoted_figure(csv, "cover", "max", design="a")
