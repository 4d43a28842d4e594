import pytest

from pceval import synthetic
from pceval.errors import DisclosureError
from pceval.report import count, render_reports
from report_helpers import tiny_notebook


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("data")
    synthetic.generate(n_people=2_000, months=12, seed=1).write(path)
    return path


def test_count_protects_prose_numbers():
    assert count(1234) == "1,235"
    assert count(5) == "7 or fewer"


def test_render_tiny_report(tmp_path, data_dir):
    nb = tiny_notebook(tmp_path / "tiny.ipynb")
    (out,) = render_reports([nb], data_dir=data_dir, out_dir=tmp_path / "out", progress=False)
    html = out.read_text()
    assert 'id="pceval-summary"' in html
    assert html.index("pceval-summary") < html.index("A table")  # summary at the top
    assert "1,235" in html and "1,234" not in html  # counts protected in table and tiles
    assert "import pandas" not in html  # code hidden
    assert html.count('class="pceval-figure"') == 2
    assert "Technical appendix" in html
    assert "http://" not in html and "https://" not in html  # self-contained


def test_unprotected_table_fails_rendering(tmp_path, data_dir):
    nb = tiny_notebook(tmp_path / "leaky.ipynb", leak=True)
    with pytest.raises(DisclosureError, match="without disclosure control"):
        render_reports([nb], data_dir=data_dir, out_dir=tmp_path / "out", progress=False)
