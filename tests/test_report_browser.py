"""Rendered reports in a real headless browser (Debian chromium)."""

import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
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


# ------------------------------------------------------------------ inside the printed PDF itself
A4_PT = (210 / 25.4 * 72, 297 / 25.4 * 72)  # A4 in PDF points
MARGIN_PT = (12 / 25.4 * 72, 14 / 25.4 * 72)  # the @page margins (12 mm sides, 14 mm top and bottom)


class _Cells(HTMLParser):
    """The text of every <td>/<th> of an HTML page (tags inside a cell are dropped)."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self._depth, self._buf = 0, []

    def handle_starttag(self, tag, attrs):
        if tag in ("td", "th"):
            self._depth, self._buf = self._depth + 1, []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._depth:
            self._depth -= 1
            self.cells.append("".join(self._buf))

    def handle_data(self, data):
        if self._depth:
            self._buf.append(data)


def table_cells(html_text: str) -> list[str]:
    parser = _Cells()
    parser.feed(html_text)
    return [c.strip() for c in parser.cells if c.strip()]


def _tokens(text: str) -> list[str]:
    """Words, split at white space and after a hyphen (where a browser may break a line)."""
    return [t for t in re.split(r"\s+|(?<=-)", text.replace("\u2212", "-")) if t]


def pdf_text_boxes(pdf: Path) -> list[dict]:
    """Every line of text in the PDF with its page, page size and box (PDF points; pdfminer.six)."""
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTTextContainer, LTTextLine

    lines = []
    for number, page in enumerate(extract_pages(str(pdf)), start=1):
        for element in page:
            if isinstance(element, LTTextContainer):
                for line in element:
                    if isinstance(line, LTTextLine) and line.get_text().strip():
                        lines.append({"page": number, "size": (page.width, page.height), "bbox": line.bbox,
                                      "text": line.get_text().strip()})
    return lines


def check_pdf(html_text: str, pdf: Path, tol: float = 1.0) -> dict[str, list]:
    """What a reader of the printed report would miss: table cells whose words are not in the PDF's text
    (cut off, or a number split over two lines), text boxes outside the printable area of the page, and
    pages that are not A4."""
    lines = pdf_text_boxes(pdf)
    words = {t for line in lines for t in _tokens(line["text"])}
    missing = [c for c in table_cells(html_text) if any(t not in words for t in _tokens(c))]
    (w, h), (mx, my) = A4_PT, MARGIN_PT
    outside = [(x["page"], x["text"][:40], tuple(round(v) for v in x["bbox"])) for x in lines
               if x["bbox"][0] < mx - tol or x["bbox"][2] > w - mx + tol
               or x["bbox"][1] < my - tol or x["bbox"][3] > h - my + tol]
    not_a4 = sorted({x["page"] for x in lines if abs(x["size"][0] - w) > 2 or abs(x["size"][1] - h) > 2})
    return {"missing": missing, "outside": outside, "not_a4": not_a4}


@pytest.mark.parametrize("html_path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_printed_tables_fit_the_page(html_path, tmp_path):
    """On A4 no table is wider than the page (print rules applied at the page width less margins), and in
    the PDF Chromium prints: every table cell's words are in the PDF's text (none cut off, no number
    split over two lines) and no text lies outside the printable area. PDF and its first pages (PNG)
    are kept in test-artifacts/."""
    got = layout(as_printed(html_path, tmp_path), A4_CSS_PX, tmp_path, height=1100)
    assert got["tables-scrolling"] == 0, f"{got['tables-scrolling']} table(s) wider than an A4 page"
    assert got["page-width"] <= A4_CSS_PX, got
    from pceval.report import html_to_pdf

    ARTIFACTS.mkdir(exist_ok=True)
    pdf = html_to_pdf(html_path, ARTIFACTS / f"{html_path.stem}.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    found = check_pdf(html_path.read_text(encoding="utf-8"), pdf)
    assert not found["not_a4"], f"pages not A4: {found['not_a4']}"
    assert not found["outside"], f"text outside the printable area: {found['outside'][:5]}"
    assert not found["missing"], f"table cells not in the PDF as written: {found['missing'][:10]}"
    gs = shutil.which("gs")
    if gs:  # ghostscript renders the first two pages for a human to look at
        subprocess.run([gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=png16m", "-r60", "-dFirstPage=1",
                        "-dLastPage=2", f"-sOutputFile={ARTIFACTS / (html_path.stem + '-print-p%d.png')}", str(pdf)],
                       capture_output=True, timeout=120)


def test_pdf_check_catches_cut_and_split_cells(tmp_path):
    """The PDF check itself: a table cell pushed off the page and a number broken over two lines are
    found; a table that fits passes."""
    from pceval.report import html_to_pdf

    style = "<style>@page { size: A4; margin: 14mm 12mm; } body { margin: 0; font: 10pt sans-serif }</style>"
    ok = (f"<html><head>{style}</head><body><table><tr><th>term</th><th>value</th></tr>"
          "<tr><td>admissions avoided</td><td>2,595.43</td></tr></table></body></html>")
    bad = (f"<html><head>{style}</head><body><div style='overflow:hidden;width:100%'><table><tr>"
           "<td style='padding-left:180mm;white-space:nowrap'>offpage 12.5</td></tr></table></div>"
           "<table style='table-layout:fixed;width:12mm'><tr><td style='overflow-wrap:anywhere'>987654.321</td></tr>"
           "</table></body></html>")
    for name, page in (("ok", ok), ("bad", bad)):
        (tmp_path / f"{name}.html").write_text(page, encoding="utf-8")
    good = check_pdf(ok, html_to_pdf(tmp_path / "ok.html", tmp_path / "ok.pdf"))
    assert good == {"missing": [], "outside": [], "not_a4": []}
    found = check_pdf(bad, html_to_pdf(tmp_path / "bad.html", tmp_path / "bad.pdf"))
    assert "987654.321" in found["missing"]          # split over lines
    # cut at the page edge: either not printed at all, or printed outside the printable area
    assert "offpage 12.5" in found["missing"] or any("offpage" in o[1] for o in found["outside"])


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
