"""Reports 1-4 put money on their findings: each must say which unit-cost table it used, its price year and
that the costs are indicative, both in the bottom-line box and in the appendix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pceval.costs import default_unit_costs

REPORTS = Path(__file__).resolve().parents[1] / "reports"
WITH_MONEY = ["01_care_planning_and_the_gap", "02_social_prescribing_and_regression_to_the_mean",
              "03_staggered_rollout", "04_measuring_inequality"]


def _box_and_appendix(text: str) -> tuple[str, str]:
    box = re.search(r'<div class="pceval-summary pceval-bottom-line" id="pceval-summary">(.*?)</dl>(.*?)</div></div>',
                    text, re.S)
    assert box, "no bottom-line box"
    appendix = text[text.index('class="pceval-appendix"'):]
    return box.group(0), appendix


@pytest.mark.parametrize("name", WITH_MONEY)
def test_report_states_the_unit_cost_table_its_year_and_indicative(name):
    text = (REPORTS / f"{name}.html").read_text(encoding="utf-8")
    box, appendix = _box_and_appendix(text)
    citation = default_unit_costs().citation
    for part in (box, appendix):
        assert "pceval-unit-costs" in box
        assert "indicative" in part and "2023/24 prices" in part
        assert "National Cost Collection 2023/24" in part
    assert citation.replace("&", "&amp;") in appendix
    assert "illustrative, not NHS figures" not in text   # the example table is gone from the reports
    assert "Unit costs used" in appendix and "National Schedule of NHS Costs" in appendix
