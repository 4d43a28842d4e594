"""Rendered reports in a real headless browser (Debian chromium)."""

import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from pceval import synthetic
from pceval.report import CHROMIUM_FLAGS, chromium_path, render_reports
from report_helpers import tiny_notebook

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM = chromium_path()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (apt-get install chromium)")


def _browse(html_path: Path, screenshot: Path) -> tuple[str, str]:
    """Load the page; return (DOM after scripts ran, browser log)."""
    with tempfile.TemporaryDirectory() as profile:
        common = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr",
                  "--v=0", "--virtual-time-budget=5000"]
        dom = subprocess.run([*common, "--dump-dom", html_path.resolve().as_uri()],
                             capture_output=True, text=True, timeout=120)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1200,2400",
                        f"--screenshot={screenshot}", html_path.resolve().as_uri()],
                       capture_output=True, text=True, timeout=120)
    return dom.stdout, dom.stderr


def _console_errors(log: str) -> list[str]:
    """Console messages from the page. Headless Chromium logs every level as INFO:CONSOLE, and a
    report has no script but the self-check (silent unless a figure is broken), so any console
    message (an uncaught error, a failed resource, a broken figure) counts as an error."""
    return [line for line in log.splitlines() if ":CONSOLE" in line]


def check_report(html_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"{html_path.stem}.png"
    dom, log = _browse(html_path, shot)
    assert not _console_errors(log), _console_errors(log)
    assert 'id="pceval-summary"' in dom
    n_fig = int(re.search(r'data-pceval-figures="(\d+)"', dom).group(1))
    n_broken = int(re.search(r'data-pceval-broken-figures="(\d+)"', dom).group(1))
    assert n_fig == dom.count('class="pceval-figure"') and n_fig > 0
    assert n_broken == 0
    assert shot.exists() and shot.stat().st_size > 10_000


def test_tiny_report_in_browser(tmp_path):
    data = tmp_path / "data"
    synthetic.generate(n_people=2_000, months=12, seed=1).write(data)
    nb = tiny_notebook(tmp_path / "tiny_browser.ipynb")
    (html,) = render_reports([nb], data_dir=data, out_dir=tmp_path / "out", progress=False)
    check_report(html)


def test_broken_figure_is_caught(tmp_path):
    page = tmp_path / "broken.html"
    from pceval.report import _SELF_CHECK

    page.write_text('<html><body><figure class="pceval-figure"><img src="data:image/png;base64,AAAA"/>'
                    f'</figure>{_SELF_CHECK}</body></html>')
    dom, log = _browse(page, tmp_path / "broken.png")
    assert 'data-pceval-broken-figures="1"' in dom
    assert _console_errors(log)


SHIPPED = sorted((Path(__file__).resolve().parents[1] / "reports").glob("*.html"))


@pytest.mark.parametrize("html_path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_reports_in_browser(html_path):
    check_report(html_path)


def test_pdf_beside_html(tmp_path):
    from pceval.report import html_to_pdf

    page = tmp_path / "page.html"
    page.write_text("<html><body><h1>PDF</h1></body></html>")
    pdf = html_to_pdf(page, tmp_path / "page.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
