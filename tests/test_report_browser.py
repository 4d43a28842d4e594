"""Rendered reports in a real headless browser (Debian chromium)."""

import re
import shutil
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


# ------------------------------------------------------------------ layout: phone, desktop and paper
# Headless Chromium will not make a window narrower than 500 px, so the report is measured inside an
# iframe of the exact width: the iframe is the report's viewport (its media queries see 390 px), and
# the report's own self-check script writes its page width and its count of tables wider than their
# box onto its <body>, which the host page copies out for --dump-dom.
A4_CSS_PX = round((210 - 2 * 12) / 25.4 * 96)  # A4 width less the 12 mm side margins of @page, in CSS px
_HOST = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="r" src="{src}" style="border:0;width:{width}px;height:{height}px"></iframe>
<script>
document.getElementById('r').addEventListener('load', function () {{
  setTimeout(function () {{
    var b = document.getElementById('r').contentDocument.body;
    var out = document.createElement('pre'); out.id = 'layout';
    out.textContent = ['page-width', 'window-width', 'tables-scrolling', 'broken-figures'].map(function (k) {{
      return k + '=' + b.getAttribute('data-pceval-' + k); }}).join(';');
    document.body.appendChild(out);
  }}, 500);
}});
</script></body></html>"""


def layout(html_path: Path, width: int, tmp: Path, height: int = 900) -> dict[str, int]:
    """The report's page width, window width and number of tables wider than their box, at ``width`` px."""
    host = tmp / f"host-{html_path.stem}-{width}.html"
    host.write_text(_HOST.format(src=html_path.resolve().as_uri(), width=width, height=height))
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--allow-file-access-from-files",
                              "--virtual-time-budget=15000", "--dump-dom", host.resolve().as_uri()],
                             capture_output=True, text=True, timeout=180).stdout
    found = re.search(r'<pre id="layout">([^<]*)</pre>', dom)
    assert found, f"the layout probe did not run for {html_path.name}"
    return {k: int(v) for k, v in (kv.split("=") for kv in found.group(1).split(";"))}


def as_printed(html_path: Path, tmp: Path) -> Path:
    """A copy of the report whose print rules apply on screen (``@media print`` -> ``@media all``)."""
    text = html_path.read_text(encoding="utf-8")
    assert "@media print" in text, "the stylesheet has no print rules"
    out = tmp / f"{html_path.stem}-as-printed.html"
    out.write_text(text.replace("@media print", "@media all"), encoding="utf-8")
    return out


def screenshot(html_path: Path, shot: Path, width: int, height: int) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--hide-scrollbars",
                        f"--window-size={width},{height}", f"--screenshot={shot}", html_path.resolve().as_uri()],
                       capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("width", [1366, 390])
@pytest.mark.parametrize("html_path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_no_sideways_scroll(html_path, width, tmp_path):
    """No page-level sideways scroll on a laptop or a phone: wide tables scroll inside their own box."""
    got = layout(html_path, width, tmp_path)
    assert got["window-width"] == width
    assert got["page-width"] <= got["window-width"], got
    assert got["broken-figures"] == 0
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"{html_path.stem}-{width}px.png"
    screenshot(html_path, shot, width, 844 if width == 390 else 900)
    assert shot.exists() and shot.stat().st_size > 5_000


@pytest.mark.parametrize("html_path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_printed_tables_fit_the_page(html_path, tmp_path):
    """On A4 (print rules applied, page width less margins) no table is wider than the page; then the
    real PDF is printed and its first pages kept as PNG artifacts."""
    got = layout(as_printed(html_path, tmp_path), A4_CSS_PX, tmp_path, height=1100)
    assert got["tables-scrolling"] == 0, f"{got['tables-scrolling']} table(s) wider than an A4 page"
    assert got["page-width"] <= A4_CSS_PX, got
    from pceval.report import html_to_pdf

    ARTIFACTS.mkdir(exist_ok=True)
    pdf = html_to_pdf(html_path, ARTIFACTS / f"{html_path.stem}.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    gs = shutil.which("gs")
    if gs:  # ghostscript renders the first two pages for a human to look at
        subprocess.run([gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=png16m", "-r60", "-dFirstPage=1",
                        "-dLastPage=2", f"-sOutputFile={ARTIFACTS / (html_path.stem + '-print-p%d.png')}", str(pdf)],
                       capture_output=True, timeout=120)


def test_layout_probe_catches_a_wide_page(tmp_path):
    """The probe itself: a page with a 900 px block scrolls sideways at 390 px, and a table wider than
    its box is counted."""
    from pceval.report import _SELF_CHECK

    page = tmp_path / "wide.html"
    page.write_text('<html><head><meta name="viewport" content="width=device-width"></head><body>'
                    '<div style="width:900px">wide</div><div class="pceval-table-wrap" style="overflow-x:auto">'
                    f'<table><tr><td style="min-width:2000px">x</td></tr></table></div>{_SELF_CHECK}</body></html>')
    got = layout(page, 390, tmp_path)
    assert got["page-width"] > 390 and got["tables-scrolling"] == 1


def test_pdf_beside_html(tmp_path):
    from pceval.report import html_to_pdf

    page = tmp_path / "page.html"
    page.write_text("<html><body><h1>PDF</h1></body></html>")
    pdf = html_to_pdf(page, tmp_path / "page.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
