"""Commissioner reports: notebooks executed and rendered to self-contained HTML.

A notebook becomes a report for a commissioner: code hidden, a plain-English summary box with the headline
numbers at the top, tables and figures, then a technical appendix. Everything is embedded in one HTML file
(figures as base64 PNG, the NHS-style stylesheet inline, no external resources or fonts).

Conventions a notebook follows (see ``docs/reports.md``):

* Cell tags: ``summary`` -- its output goes in the summary box at the top; ``appendix`` -- moved to the
  technical appendix at the end; ``remove`` -- not shown at all (imports, set-up). Code is never shown.
* Show things with this module's helpers: :func:`summary_box`, :func:`show_table`, :func:`show_figure`,
  and :func:`count` for a count written into prose. :func:`show_table` passes every declared count column
  through :mod:`pceval.disclosure` and marks the table as protected (``data-pceval-protected``).
* :func:`render_reports` refuses to publish (``DisclosureError``) any table that did not come through
  :func:`show_table`, e.g. a DataFrame left as a cell's last expression.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import html
import io
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pceval.disclosure import DEFAULT_PRESET, DisclosureLog, count, get_preset, protect
from pceval.errors import DisclosureError, InputError

PROTECTED_ATTR = "data-pceval-protected"
SUPPRESSED = "*"
_LOG = DisclosureLog()


def disclosure_log() -> pd.DataFrame:
    """What disclosure control did to the tables shown so far in this session."""
    return _LOG.to_frame()


def _display_html(markup: str) -> None:
    try:
        from IPython.display import HTML, display
    except ImportError:  # pragma: no cover - IPython ships with ipykernel
        print(markup)
        return
    display(HTML(markup))


def _markdown(text: str) -> str:
    import mistune

    return str(mistune.html(text))


def summary_box(text: str, headline_numbers: Mapping[str, Any] | None = None,
                preset: str = DEFAULT_PRESET) -> None:
    """Show the plain-English summary box (markdown ``text``) with headline numbers as tiles.

    Integer headline numbers are treated as counts and protected with :func:`count`; other numbers
    (rates, ratios) are shown as given. Compute every number in the notebook; never type one.
    """
    tiles = []
    for label, value in (headline_numbers or {}).items():
        if isinstance(value, (bool, np.bool_)):
            shown = "yes" if value else "no"
        elif isinstance(value, (int, np.integer)):
            shown = count(int(value), preset)
        elif isinstance(value, (float, np.floating)):
            shown = f"{value:,.3g}" if abs(float(value)) < 1000 else f"{value:,.0f}"
        else:
            shown = str(value)
        tiles.append(f'<div class="pceval-headline"><div class="value">{html.escape(shown)}</div>'
                     f'<div class="label">{html.escape(str(label))}</div></div>')
    markup = (f'<div class="pceval-summary" id="pceval-summary"><h2>Summary</h2>'
              f'<div class="pceval-headlines">{"".join(tiles)}</div>{_markdown(text)}</div>')
    _display_html(markup)


def _format_cell(v: Any, is_count: bool, digits: int) -> tuple[str, bool]:
    """Return (text, numeric?) for one table cell."""
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return (SUPPRESSED if is_count else ""), True
    if isinstance(v, (bool, np.bool_)):
        return ("yes" if v else "no"), False
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}", True
    if isinstance(v, (float, np.floating)):
        return (f"{v:,.{digits}f}" if abs(float(v)) >= 1e-3 or v == 0 else f"{v:.2e}"), True
    return html.escape(str(v)), False


def table_html(data: pd.DataFrame, caption: str = "", counts: Sequence[str] = (), preset: str = DEFAULT_PRESET,
               note: str | None = None, digits: int = 2) -> str:
    """HTML for an already-protected table, marked with the preset that protected it."""
    p = get_preset(preset)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in data.columns)
    body = []
    count_set = set(counts)
    for row in data.itertuples(index=False):
        cells = []
        for col, v in zip(data.columns, row, strict=True):
            text, numeric = _format_cell(v, col in count_set, digits)
            cells.append(f'<td class="num">{text}</td>' if numeric else f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    notes = []
    if counts:
        rule = f"{SUPPRESSED} = {p.threshold} or fewer (suppressed)"
        if p.base > 1:
            rule += f"; other counts rounded to the nearest {p.base}"
        notes.append(f"{rule}. Disclosure control: {p.source}.")
    if note:
        notes.append(html.escape(note))
    note_html = f'<div class="pceval-note">{" ".join(notes)}</div>' if notes else ""
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (f'<table class="pceval-table" {PROTECTED_ATTR}="{p.name}">{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>{note_html}')


def show_table(data: pd.DataFrame, caption: str = "", counts: Sequence[str] | None = None,
               preset: str = DEFAULT_PRESET, rates: Mapping[str, tuple[str, str, float]] | None = None,
               note: str | None = None, digits: int = 2) -> None:
    """Protect the declared ``counts`` (and recompute ``rates``) and show the table.

    Returns nothing, so that a notebook cannot echo the unprotected table by accident; use
    :func:`pceval.disclosure.protect` to get the protected copy.

    Declare every column holding counts of people or events (and their denominators) in ``counts``;
    rates built from them go in ``rates`` as ``{rate: (numerator, denominator, multiplier)}``.
    """
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"`data` must be a pandas DataFrame, got {type(data).__name__}")
    counts = list(counts or [])
    protected = protect(data, counts, preset, rates=rates, table=caption or "table", log=_LOG)
    _display_html(table_html(protected, caption, counts, preset, note, digits))


def figure_html(plot: Any, alt: str = "", dpi: int = 110) -> str:
    """HTML ``<figure>`` with the plotnine (or matplotlib) figure embedded as a base64 PNG."""
    buf = io.BytesIO()
    if hasattr(plot, "save"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plot.save(buf, format="png", dpi=dpi, verbose=False)
    elif hasattr(plot, "savefig"):
        plot.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    else:
        raise InputError(f"`plot` must be a plotnine ggplot or matplotlib figure, got {type(plot).__name__}")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    title = alt or _plot_title(plot)
    return (f'<figure class="pceval-figure"><img alt="{html.escape(title)}" '
            f'src="data:image/png;base64,{data}"/></figure>')


def _plot_title(plot: Any) -> str:
    with contextlib.suppress(Exception):
        return str(plot.labels.get("title") or "")  # plotnine < 0.14
    with contextlib.suppress(Exception):
        return str(plot.labels.title or "")
    return ""


def show_figure(plot: Any, alt: str = "") -> None:
    """Show a figure so that it is embedded in the rendered report."""
    _display_html(figure_html(plot, alt))


# --------------------------------------------------------------------------------------- rendering
_SELF_CHECK = """<script>
window.addEventListener('load', function () {
  var imgs = document.querySelectorAll('figure.pceval-figure img');
  var broken = 0;
  imgs.forEach(function (img) { if (!img.complete || img.naturalWidth === 0) { broken += 1; } });
  document.body.setAttribute('data-pceval-figures', String(imgs.length));
  document.body.setAttribute('data-pceval-broken-figures', String(broken));
  if (broken > 0) { console.error('pceval: ' + broken + ' figure(s) failed to load'); }
});
</script>"""


def _tags(cell: Any) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def _output_html(out: Any, where: str) -> str:
    kind = out.get("output_type")
    if kind == "stream":
        if out.get("name") == "stderr":
            return ""
        return f"<pre>{html.escape(out.get('text', ''))}</pre>"
    if kind == "error":
        raise DisclosureError(f"{where}: the notebook raised {out.get('ename')}: {out.get('evalue')}")
    data = out.get("data", {})
    if "text/html" in data:
        markup = data["text/html"]
        markup = "".join(markup) if isinstance(markup, list) else markup
        if "<table" in markup and PROTECTED_ATTR not in markup:
            raise DisclosureError(
                f"{where}: a table was displayed without disclosure control; show tables with "
                "pceval.report.show_table(df, counts=[...]) so that small counts are protected")
        return markup
    if "image/png" in data:
        return f'<figure class="pceval-figure"><img alt="" src="data:image/png;base64,{data["image/png"]}"/></figure>'
    if "image/svg+xml" in data:
        return f'<figure class="pceval-figure">{data["image/svg+xml"]}</figure>'
    if "text/markdown" in data:
        return _markdown(data["text/markdown"])
    if "text/plain" in data:
        text = data["text/plain"]
        if re.match(r"^<(plotnine|Figure|ggplot)", text):
            return ""  # the repr of a figure object that was shown another way
        return f"<pre>{html.escape(text)}</pre>"
    return ""


def notebook_to_html(nb: Any, name: str = "report") -> str:
    """Render an executed notebook (nbformat) as a self-contained commissioner report."""
    from pceval._version import __version__

    intro: list[str] = []
    summary: list[str] = []
    body: list[str] = []
    appendix: list[str] = []
    title = name
    first_markdown_done = False
    for i, cell in enumerate(nb.cells):
        tags = _tags(cell)
        if "remove" in tags:
            continue
        where = f"{name}, cell {i + 1}"
        if cell.cell_type == "markdown":
            chunk = _markdown(cell.source)
            if not first_markdown_done:
                m = re.search(r"^#\s+(.+)$", cell.source, flags=re.M)
                title = m.group(1).strip() if m else name
                intro.append(chunk)
                first_markdown_done = True
                continue
        elif cell.cell_type == "code":
            chunk = "".join(_output_html(o, where) for o in cell.get("outputs", []))
        else:
            continue
        target = summary if "summary" in tags else appendix if "appendix" in tags else body
        target.append(chunk)
    if not summary:
        raise InputError(f"`{name}`: a report needs a cell tagged 'summary' that calls "
                         "pceval.report.summary_box(...)")
    css = resources.files("pceval").joinpath("report_assets/nhs.css").read_text()
    presets = sorted(set(re.findall(PROTECTED_ATTR + r'="([^"]+)"', "".join(summary + body + appendix))))
    stamp = _dt.datetime.now().strftime("%d %B %Y")
    appendix_html = ""
    if appendix:
        appendix_html = ('<section class="pceval-appendix"><h2>Technical appendix</h2>'
                         + "".join(appendix) + "</section>")
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>{html.escape(title)}</title>
<style>{css}</style>
</head>
<body>
<header class="pceval-banner"><div class="brand">pceval &middot; evaluation report</div></header>
<main>
{"".join(intro)}
{"".join(summary)}
{"".join(body)}
{appendix_html}
</main>
<footer>Generated by pceval {__version__} on {stamp} from <code>{html.escape(name)}</code>.
Counts protected under: {", ".join(presets) or "no tables"}. Model estimates are not rounded.</footer>
{_SELF_CHECK}
</body>
</html>
"""


def execute_notebook(path: Path, data_dir: Path, timeout: int = 1800) -> Any:
    """Execute a notebook in its own folder with ``PCEVAL_DATA`` pointing at ``data_dir``."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    old = os.environ.get("PCEVAL_DATA")
    os.environ["PCEVAL_DATA"] = str(Path(data_dir).resolve())
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent.resolve())}}).execute()
    finally:
        if old is None:
            os.environ.pop("PCEVAL_DATA", None)
        else:
            os.environ["PCEVAL_DATA"] = old
    return nb


def chromium_path() -> str | None:
    """The Chromium binary, if installed (Debian package ``chromium``)."""
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]


def html_to_pdf(html_path: Path, pdf_path: Path) -> Path:
    """Print a report to PDF with headless Chromium."""
    import tempfile

    exe = chromium_path()
    if exe is None:
        raise InputError("`pdf=True` needs Chromium (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
                        f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri()],
                       check=True, capture_output=True, timeout=120)
    return pdf_path


def render_reports(notebooks: Sequence[Path] | None = None, data_dir: Path = Path("synthetic_data"),
                   out_dir: Path = Path("reports"), progress: bool = True, pdf: bool = False,
                   timeout: int = 1800) -> list[Path]:
    """Execute each notebook and write ``out_dir/<notebook>.html`` (and ``.pdf`` if asked).

    ``notebooks=None`` renders every ``notebooks/*.ipynb`` in name order.
    """
    if notebooks is None:
        notebooks = sorted(Path("notebooks").glob("*.ipynb"))
    paths = [Path(n) for n in notebooks]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise InputError(f"`notebooks`: not found: {missing}")
    if not paths:
        raise InputError("`notebooks`: no notebooks to render")
    if not (Path(data_dir) / "metadata.json").exists():
        raise InputError(f"`data_dir`: no synthetic data in {str(data_dir)!r}; run `make data`")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    iterator: Any = paths
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(paths, desc="rendering reports", unit="notebook")
    written = []
    for path in iterator:
        nb = execute_notebook(path, Path(data_dir), timeout)
        target = out_dir / f"{path.stem}.html"
        target.write_text(notebook_to_html(nb, path.name), encoding="utf-8")
        written.append(target)
        if pdf:
            written.append(html_to_pdf(target, target.with_suffix(".pdf")))
    return written


__all__ = ["summary_box", "show_table", "show_figure", "count", "table_html", "figure_html",
           "disclosure_log", "notebook_to_html", "execute_notebook", "render_reports", "html_to_pdf",
           "chromium_path", "CHROMIUM_FLAGS"]
