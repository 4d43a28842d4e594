"""The report's building blocks: the bottom-line words, the power calculation, table formatting, palette."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pceval import verdict
from pceval.errors import InputError
from pceval.plots import IMD_QUINTILE_COLOURS, ORDERED_COLOURS, contrast_ratio
from pceval.report import (
    decision_words,
    header_words,
    how_sure,
    minimum_detectable_effect,
    power_table,
    quintile_label,
    table_html,
)


def test_mde_closed_form():
    # (z_0.975 + z_0.8) * SE = (1.959964 + 0.841621) * SE
    assert minimum_detectable_effect(10.0) == pytest.approx(28.01585, abs=1e-4)
    assert minimum_detectable_effect(1.0, confidence=0.9, power=0.9) == pytest.approx(1.644854 + 1.281552, abs=1e-5)
    with pytest.raises(InputError, match="std_error"):
        minimum_detectable_effect(0.0)


def test_power_at_the_mde_is_the_power_asked_for():
    tab = power_table(5.0, effects=[0.0, 5.0])
    assert tab["power"].iloc[-1] == pytest.approx(0.8, abs=1e-3)  # the far tail adds ~1e-6
    assert tab["power"].iloc[0] == pytest.approx(0.05)  # no effect: the test's size
    # by simulation: the share of Wald tests that reject when the true effect is the MDE
    rng = np.random.default_rng(1)
    est = rng.normal(tab["true effect (size)"].iloc[-1], 5.0, 200_000)
    assert np.mean(np.abs(est / 5.0) > stats.norm.ppf(0.975)) == pytest.approx(0.8, abs=0.005)


ROWS = {
    "clear benefit, one end near none": {"estimate": -45.3, "ci_lower": -90.0, "ci_upper": -1.0},
    "clear benefit": {"estimate": -45.0, "ci_lower": -60.0, "ci_upper": -30.0},
    "no evidence": {"estimate": -10.0, "ci_lower": -40.0, "ci_upper": 20.0},
    "harm": {"estimate": 12.0, "ci_lower": 4.0, "ci_upper": 20.0},
    "not estimable": {"estimate": np.nan, "ci_lower": np.nan, "ci_upper": np.nan},
}


@pytest.mark.parametrize("name", ROWS)
def test_how_sure_agrees_with_the_verdict_of_its_row(name):
    row = pd.Series({**ROWS[name], "scale": "absolute", "confidence": 0.95})
    text = how_sure(row, units="per 1,000 people a year", mde=28.0)
    v = verdict(row)
    if v == "lower":
        assert text.startswith("Between") and "fewer" in text and "more" not in text
    elif v == "higher":
        assert text.startswith("Between") and "more" in text and "fewer" not in text
    elif v == "no evidence either way":
        assert text.startswith("Anywhere from 40 fewer to 20 more") and "cannot tell" in text and "28" in text
    else:
        assert text.startswith("Too few people to tell") and "28" in text
    if name == "clear benefit, one end near none":
        assert text == ("Between 1 and 90 fewer per 1,000 people a year (95% confidence interval); "
                        "it could be almost none.")


def test_decision_follows_the_verdict():
    assert "supports the decision" in decision_words("lower", benefit="lower", action="keep funding it")
    assert "argues against" in decision_words("higher", benefit="lower", action="keep funding it")
    assert "neither supports nor rules out" in decision_words("no evidence either way", benefit="lower",
                                                              action="keep funding it")
    assert "supports the decision" in decision_words("higher", benefit="higher", action="fund it")
    with pytest.raises(InputError, match="benefit"):
        decision_words("lower", benefit="fewer", action="x")


def test_tables_speak_words_not_column_names_or_e_notation():
    df = pd.DataFrame({"imd_quintile": [1, 3, 5], "ci_lower": [-6.95e-05, 0.5, 1234.5], "std_pair_dist": [0.1, 0.2, 0.3]})
    out = table_html(df, "t")
    assert "e-05" not in out and "-0.0000695" in out
    for raw in ("ci_lower", "std_pair_dist", "imd_quintile"):
        assert f">{raw}<" not in out
    assert "CI lower" in out and "IMD quintile" in out
    assert "1 (most deprived)" in out and "5 (least deprived)" in out and "<td>3</td>" in out
    assert '<div class="pceval-table-wrap"' in out  # wide tables scroll in their own box
    assert header_words("person_years") == "person-years" and header_words("some_new_column") == "some new column"
    assert quintile_label(1) == "1 (most deprived)" and quintile_label("Q2") == "Q2"


def test_palette_meets_wcag_graphics_contrast_and_is_ordered():
    for c in (*IMD_QUINTILE_COLOURS, *ORDERED_COLOURS):
        assert contrast_ratio(c) >= 3.0, c
    # ordered: each quintile lighter than the one before (so it stays ordered without hue, e.g. in
    # grey print or for colour-blind readers)
    lum = [contrast_ratio(c, "#000000") for c in IMD_QUINTILE_COLOURS]
    assert all(a < b for a, b in zip(lum, lum[1:], strict=False))
    assert contrast_ratio("#000000") == pytest.approx(21.0)
    assert contrast_ratio("#A7D8F0") == pytest.approx(1.53, abs=0.01)  # the old Q5 colour the issue measured
    assert len({c.upper() for c in IMD_QUINTILE_COLOURS}) == 5


def test_warnings_reach_the_appendix_with_their_counts_protected():
    import nbformat

    from pceval.report import notebook_to_html

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# T"),
                nbformat.v4.new_code_cell("x", metadata={"tags": ["summary"]})]
    nb.cells[1].outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": "<div>box</div>"}),
        nbformat.v4.new_output("stream", name="stderr", text=(
            "/x/panel.py:10: PcevalWarning: excluded events (missing date: 19, outside follow-up: 3) of 1,234 "
            "people on 2019-01-01\n  warnings.warn(\n"
            "/y/tqdm.py:5: TqdmWarning: IProgress not found. See https://example.org\n"))]
    out = notebook_to_html(nb, "t.ipynb")
    assert "Warnings raised while the report ran" in out
    assert "missing date: 20, outside follow-up: 7 or fewer) of 1,235 people on 2019-01-01" in out
    assert "TqdmWarning" not in out and "https://" not in out


def test_docs_reports_code_blocks_run():
    import re
    import textwrap
    from pathlib import Path

    doc = Path(__file__).resolve().parents[1] / "docs" / "reports.md"
    blocks = [textwrap.dedent(b) for b in re.findall(r"^ *```python\n(.*?)^ *```", doc.read_text(),
                                                      flags=re.S | re.M)]
    ns: dict = {}
    exec(compile(blocks[1], str(doc), "exec"), ns)  # noqa: S102 (block 0 is a sketch with placeholders)
    assert round(ns["mde"], 1) == 63.3
    assert ns["sure"].startswith("Between 1 and 90 fewer") and "supports the decision" in ns["decision"]


def test_data_quality_counts_equal_the_generators_own_record(tmp_path):
    from pceval import synthetic
    from pceval.report import data_quality, software_versions

    data = synthetic.generate(n_people=3_000, months=24, seed=5)
    got = data_quality(data).set_index("problem")["events"].tolist()
    q = data.params["quirks"]
    assert got == [q["events_missing_date"], q["events_after_registration_end"],
                   q["events_before_registration_start"]]
    sw = software_versions().set_index("software")["version"]
    assert {"Python", "pceval", "numpy", "pceval source commit"} <= set(sw.index)


def test_phone_version_is_narrow_and_keeps_a_hidden_legend_hidden():
    from plotnine import aes, geom_col, ggplot, labs, theme

    from pceval.plots import theme_nhs
    from pceval.report import PHONE_FIGURE_SIZE, _phone_version, figure_html

    df = pd.DataFrame({"q": ["1", "2"], "n": [1, 2]})
    base = ggplot(df, aes("q", "n", fill="q")) + geom_col() + theme_nhs()
    long_title = "A title far too long to fit on the narrow screen of a phone in one line"
    small = _phone_version(base + labs(title=long_title))
    assert small.theme.getp("figure_size")[0] == PHONE_FIGURE_SIZE[0]
    assert small.theme.getp("legend_position") == "bottom"
    assert _phone_version(base + theme(legend_position="none")).theme.getp("legend_position") == "none"
    out = figure_html(base, alt="finding")
    assert out.count("data:image/png;base64,") == 2 and 'media="screen and (max-width: 600px)"' in out
    assert 'width="720"' in out  # 7.5 in x 96 CSS px, drawn at twice that many pixels


def test_floating_point_noise_shows_as_zero_not_a_long_decimal():
    out = table_html(pd.DataFrame({"ks": [5.02e-17, -3e-12, 6.95e-05]}), "t", digits=3)
    assert "0.0000000000000000502" not in out and "<td class=\"num\">0.000</td>" in out
    assert "0.0000695" in out  # a small real number keeps three significant digits


def test_bottom_line_box_footnotes_the_unit_cost_table_and_appendix_lists_it(monkeypatch):
    from pceval import report
    from pceval.costs import consequences, default_unit_costs

    shown = []
    monkeypatch.setattr(report, "_display_html", shown.append)
    uc = default_unit_costs()
    effect = pd.Series({"term": "ATT", "estimate": -20.0, "std_error": 8.0, "statistic": -2.5, "p_value": 0.01,
                        "ci_lower": -35.7, "ci_upper": -4.3, "scale": "absolute",
                        "measure": "difference in rate per 1,000 person-years"})
    cons = consequences(effect, population=1000, activity="emergency_admission", unit_costs=uc, intervention_cost=50.0)
    report.bottom_line_box("**It worked.**", questions={"Did it work?": "yes"}, consequences=cons)
    box = shown[-1]
    note = box[box.index("pceval-unit-costs"):]
    assert "indicative" in note and "2023/24 prices" in note and "National Cost Collection 2023/24" in note
    assert box.count("National Cost Collection 2023/24") == 1  # the citation once, in the footnote
    report.bottom_line_box("**Gap.**", questions={"Money": "£1"}, unit_costs=uc)
    assert "pceval-unit-costs" in shown[-1]
    tab = report.unit_costs_table(uc, ["emergency_admission"])
    assert list(tab["price year"]) == ["2023/24"] and list(tab["label"]) == ["indicative"]
    assert tab["unit cost (£)"].iloc[0] == pytest.approx(uc.cost("emergency_admission"), abs=0.005)
