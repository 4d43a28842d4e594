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
    tiles = _tiles(headline_numbers, preset)
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
        if not np.isfinite(v):
            return "", True
        size = abs(float(v))
        if size >= 0.5 * 10 ** -digits or size < 1e-9:  # below 1e-9: floating-point noise, shown as 0
            return f"{0.0 if size < 1e-9 else float(v):,.{digits}f}", True
        # a number that would show as 0 keeps three significant digits, written out (never e-notation)
        return np.format_float_positional(float(v), precision=3, fractional=False, trim="-"), True
    return html.escape(str(v)), False


#: Words for the column names that results and tables share (``ci_lower`` -> "CI lower" ...).
HEADER_WORDS: dict[str, str] = {
    "estimate": "estimate", "std_error": "standard error", "statistic": "test statistic", "p_value": "p-value",
    "ci_lower": "CI lower", "ci_upper": "CI upper", "scale": "scale", "imd_quintile": "IMD quintile",
    "imd_decile": "IMD decile", "person_years": "person-years", "n_treated": "treated (people)",
    "n_comparison": "comparison (people)", "smd": "standardised difference", "var_ratio": "variance ratio",
    "ecdf_mean": "eCDF mean difference", "ecdf_max": "eCDF max difference", "ks": "Kolmogorov-Smirnov",
    "mean_treated": "mean, treated", "mean_control": "mean, controls", "std_pair_dist": "pair distance (SD)",
    "age_band": "age band", "event_time": "event time", "per_1000": "per 1,000",
    "n_before": "people before", "n_removed": "people removed", "n_after": "people after",
}


def header_words(column: Any) -> str:
    """A column name as a reader would write it: :data:`HEADER_WORDS`, else underscores to spaces."""
    name = str(column)
    return HEADER_WORDS.get(name, name.replace("_", " "))


def quintile_label(q: Any, n: int = 5) -> str:
    """``1`` -> ``"1 (most deprived)"``, ``n`` -> ``"n (least deprived)"``, others as they are."""
    try:
        k = int(q)
    except (TypeError, ValueError):
        return str(q)
    if str(k) != str(q).strip() and k != q:
        return str(q)
    return f"{k} (most deprived)" if k == 1 else f"{k} (least deprived)" if k == n else str(k)


def table_html(data: pd.DataFrame, caption: str = "", counts: Sequence[str] = (), preset: str = DEFAULT_PRESET,
               note: str | None = None, digits: int = 2) -> str:
    """HTML for an already-protected table, marked with the preset that protected it."""
    p = get_preset(preset)
    head = "".join(f'<th scope="col">{html.escape(header_words(c))}</th>' for c in data.columns)
    body = []
    count_set = set(counts)
    quintile_cols = {c for c in data.columns if str(c) == "imd_quintile" and c not in count_set}
    for row in data.itertuples(index=False):
        cells = []
        for col, v in zip(data.columns, row, strict=True):
            if col in quintile_cols:
                cells.append(f"<td>{html.escape(quintile_label(v))}</td>")
                continue
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
    # the caption sits above the scrolling box (a <caption> would scroll away with a wide table on a phone)
    cap = f'<div class="pceval-caption">{html.escape(caption)}</div>' if caption else ""
    label = html.escape(caption or "table", quote=True)
    return (f'<div class="pceval-table-block">{cap}'
            f'<div class="pceval-table-wrap" role="region" tabindex="0" aria-label="{label}">'
            f'<table class="pceval-table" {PROTECTED_ATTR}="{p.name}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>{note_html}</div>')


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


#: Width and height (inches) of the phone version of every plotnine figure: about 400 CSS pixels,
#: so that its text keeps nearly its full size on a 390-pixel screen.
PHONE_FIGURE_SIZE: tuple[float, float] = (4.2, 4.4)
#: Pixel density of embedded figures: 2 image pixels per CSS pixel (sharp on phones and in print).
FIGURE_SCALE = 2
_CSS_DPI = 96


def _png(plot: Any, dpi: float) -> tuple[bytes, int]:
    """PNG bytes of a plotnine/matplotlib figure and its width in CSS pixels."""
    buf = io.BytesIO()
    if hasattr(plot, "save"):
        plot.save(buf, format="png", dpi=dpi, verbose=False)
    elif hasattr(plot, "savefig"):
        plot.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    else:
        raise InputError(f"`plot` must be a plotnine ggplot or matplotlib figure, got {type(plot).__name__}")
    data = buf.getvalue()
    width_px = int.from_bytes(data[16:20], "big")  # the PNG IHDR width
    return data, round(width_px * _CSS_DPI / dpi)


def _wrap_labels(plot: Any, width: int, axis_width: int | None = None) -> Any:
    """The plot with its title wrapped to ``width`` characters and its axis titles to ``axis_width``
    (default ``width``) (phone version: an axis title is centred on the panel, which long category
    labels make narrow)."""
    import textwrap

    from plotnine import labs

    wrapped = {}
    for key in ("title", "subtitle", "x", "y", "caption"):
        text = None
        with contextlib.suppress(Exception):
            text = getattr(plot.labels, key, None)
        if text is None:
            with contextlib.suppress(Exception):
                text = plot.labels.get(key)
        limit = axis_width if (axis_width and key in ("x", "y")) else width
        if isinstance(text, str) and len(text) > limit:
            wrapped[key] = textwrap.fill(text, limit)
    return plot + labs(**wrapped) if wrapped else plot


def _phone_version(plot: Any) -> Any | None:
    """A narrower copy of a plotnine figure for phone screens (legend below), or None."""
    try:
        from plotnine import ggplot, theme
    except ImportError:  # pragma: no cover - plotnine is a dependency
        return None
    if not isinstance(plot, ggplot):
        return None
    w, h = PHONE_FIGURE_SIZE
    legend = "bottom"
    with contextlib.suppress(Exception):
        fw, fh = plot.theme.getp("figure_size")
        h = max(3.2, min(h * 1.25, fh * w / fw * 1.6))
    with contextlib.suppress(Exception):
        if plot.theme.getp("legend_position") == "none":  # a plot without a legend keeps none
            legend = "none"
    # the title starts at the figure's left edge, not the panel's, so long category labels cannot push it off
    return _wrap_labels(plot, 32, 24) + theme(figure_size=(w, h), legend_position=legend, legend_box="vertical",
                                              legend_direction="vertical", plot_title_position="plot")


def figure_html(plot: Any, alt: str = "", dpi: int | None = None, phone: bool = True) -> str:
    """HTML ``<figure>`` with the plotnine (or matplotlib) figure embedded as PNG at twice the CSS
    pixel density, plus (for plotnine, ``phone=True``) a narrower version shown on screens up to
    600 pixels wide, so that the text stays legible on a phone.

    ``alt`` should state the finding the figure shows ("Admissions fell most in quintile 1"),
    not only what it is; without it the plot title is used.
    """
    import warnings

    dpi = dpi or _CSS_DPI * FIGURE_SCALE
    with warnings.catch_warnings():
        # plotnine's own messages about figure saving (file size, dpi) are not findings
        warnings.filterwarnings("ignore", module="plotnine")
        data, width = _png(plot, dpi)
        small = _phone_version(plot) if phone else None
        phone_png = _png(small, dpi)[0] if small is not None else None
    title = alt or _plot_title(plot)
    src = base64.b64encode(data).decode("ascii")
    img = (f'<img alt="{html.escape(title)}" width="{width}" '
           f'src="data:image/png;base64,{src}"/>')
    if phone_png is not None:
        small_src = base64.b64encode(phone_png).decode("ascii")
        img = (f'<picture><source media="screen and (max-width: 600px)" '
               f'srcset="data:image/png;base64,{small_src}"/>{img}</picture>')
    return f'<figure class="pceval-figure">{img}</figure>'


def _plot_title(plot: Any) -> str:
    with contextlib.suppress(Exception):
        return str(plot.labels.get("title") or "")  # plotnine < 0.14
    with contextlib.suppress(Exception):
        return str(plot.labels.title or "")
    return ""


def show_figure(plot: Any, alt: str = "", phone: bool = True) -> None:
    """Show a figure so that it is embedded in the rendered report (see :func:`figure_html`)."""
    _display_html(figure_html(plot, alt, phone=phone))


# --------------------------------------------------------------------------------------- the bottom line
def minimum_detectable_effect(std_error: float, confidence: float = 0.95, power: float = 0.8) -> float:
    """The smallest true effect a design detects with probability ``power`` (two-sided test).

    ``MDE = (z_{(1+confidence)/2} + z_{power}) * SE``, with ``SE`` the standard error of the
    estimate on its own (absolute) scale (Bloom 1995, "Minimum detectable effects", Evaluation
    Review 19:547). With a 95% test and 80% power the multiplier is 1.96 + 0.84 = 2.80.

    >>> round(minimum_detectable_effect(10.0), 1)
    28.0
    """
    from scipy import stats

    if not (np.isfinite(std_error) and std_error > 0):
        raise InputError(f"`std_error` must be a positive number, got {std_error!r}")
    if not (0 < confidence < 1 and 0 < power < 1):
        raise InputError(f"`confidence` and `power` must lie between 0 and 1, got {confidence!r}, {power!r}")
    return float((stats.norm.ppf(0.5 + confidence / 2) + stats.norm.ppf(power)) * std_error)


def power_table(std_error: float, effects: Sequence[float], confidence: float = 0.95,
                power: float = 0.8) -> pd.DataFrame:
    """The power calculation behind :func:`minimum_detectable_effect`, for the appendix.

    Power to detect a true effect ``d`` with a two-sided Wald test at level ``1 - confidence``:
    ``Phi(|d|/SE - z) + Phi(-|d|/SE - z)``, ``z = z_{(1+confidence)/2}``. The last row is the MDE.
    """
    from scipy import stats

    mde = minimum_detectable_effect(std_error, confidence, power)
    d = np.abs(np.asarray([*effects, mde], dtype=float))
    z = stats.norm.ppf(0.5 + confidence / 2)
    pw = stats.norm.cdf(d / std_error - z) + stats.norm.cdf(-d / std_error - z)
    return pd.DataFrame({"true effect (size)": d, "standard error": std_error, "power": pw,
                         "note": [""] * (len(d) - 1) + [f"minimum detectable effect ({power:.0%} power)"]})


def _num(x: float, digits: int = 0) -> str:
    return f"{abs(x):,.{digits}f}"


def how_sure(row: Mapping[str, Any] | pd.Series, *, units: str, fewer: str = "fewer", more: str = "more",
             mde: float | None = None, digits: int = 0, n: float | None = None, min_n: float = 0) -> str:
    """How sure, in plain words, from the interval of ``row`` (an absolute-scale result row).

    The words come from :func:`pceval.verdict` of the same row, so they cannot contradict it:
    "between 1 and 90 fewer per 1,000 people a year; it could be almost none" (whole interval on
    one side of 0, one end near 0), "anywhere from 40 fewer to 20 more ...: the data cannot tell
    a change from none" (interval across 0), or "too few people to tell" with the minimum
    detectable effect ``mde``.
    """
    from pceval._results import verdict

    v = verdict(row, n=n, min_n=min_n)
    lo, hi, est = float(row["ci_lower"]), float(row["ci_upper"]), float(row["estimate"])
    conf = row.get("confidence", 0.95) if hasattr(row, "get") else 0.95
    level = f"{float(conf):.0%} confidence interval" if pd.notna(conf) else "confidence interval"
    detect = (f" With {_num(mde, digits)} {units} or more, this design would have found a change "
              f"with 80% power." if mde is not None else "")
    if v == "too few to tell":
        return ("Too few people to tell." + (f" The smallest change this design could have detected is "
                                              f"{_num(mde, digits)} {units} (80% power, 5% significance; "
                                              "the calculation is in the appendix)." if mde is not None else ""))
    if v == "no evidence either way":
        return (f"Anywhere from {_num(lo, digits)} {fewer} to {_num(hi, digits)} {more} {units} ({level}): "
                f"the data cannot tell a change from none.{detect}")
    near, far = (hi, lo) if v == "lower" else (lo, hi)
    word = fewer if v == "lower" else more
    small = abs(near) < 0.25 * abs(est)
    tail = ("it could be almost none." if small else
            f"it could be as small as {_num(near, digits)}.")
    return f"Between {_num(near, digits)} and {_num(far, digits)} {word} {units} ({level}); {tail}"


def decision_words(verdict: str, *, benefit: str, action: str, mde_text: str = "") -> str:
    """The decision a verdict supports, in words, for an ``action`` such as "keep funding care planning".

    ``benefit`` is the verdict that means the intervention helps ("lower" for admissions, "higher"
    for wellbeing). Evidence of benefit supports the action; evidence of harm argues against it;
    no evidence either way (or too few to tell) supports neither, and says what would settle it.
    """
    if benefit not in ("lower", "higher"):
        raise InputError(f"`benefit` must be 'lower' or 'higher', got {benefit!r}")
    harm = "higher" if benefit == "lower" else "lower"
    if verdict == benefit:
        return f"The evidence supports the decision to {action}."
    if verdict == harm:
        return f"The evidence argues against the decision to {action}: the effect went the wrong way."
    return (f"The evidence neither supports nor rules out the decision to {action}. Decide on other grounds "
            f"(cost, what people say about it) or collect more data{(': ' + mde_text) if mde_text else ''}.")


def bottom_line_box(answer: str, *, questions: Mapping[str, str], headline_numbers: Mapping[str, Any] | None = None,
                    consequences: Any = None, consequences_key: str = "Admissions and money",
                    truth: str | None = None, preset: str = DEFAULT_PRESET, unit_costs: Any = None) -> None:
    """Show the bottom line first: one answer, headline tiles, then the questions a commissioner asks.

    ``answer``: one sentence (markdown) built from the verdicts. ``questions``: ``{"Did it work?":
    text, "For whom?": ..., "Did the gap narrow?": ..., "Admissions and money": ..., "How sure?": ...,
    "What it supports": ...}``, each text built from computed values (see :func:`how_sure`,
    :func:`decision_words` and :func:`pceval.verdict`). ``consequences``: a
    :class:`pceval.costs` result; its ``bottom_line()`` sentences are added under "Admissions and
    money" (or ``consequences_key``), with the unit-cost table's citation. ``headline_numbers`` as in :func:`summary_box`; a
    value may be ``(estimate, lower, upper)`` to show the interval under the number. ``truth``:
    the synthetic truth, in a note at the end. ``unit_costs``: the :class:`pceval.costs.UnitCosts` table
    behind money quoted in the questions without ``consequences``; its citation becomes the footnote.
    """
    q = dict(questions)
    footnote = ""
    if unit_costs is not None:
        footnote = f'<div class="pceval-note pceval-unit-costs">{html.escape(unit_costs.citation)}</div>'
    if consequences is not None:
        lines = consequences.bottom_line()
        lines = [lines] if isinstance(lines, str) else list(lines)
        money = " ".join(line.strip() for line in lines)
        citation = consequences.unit_costs.citation
        money = money.replace(citation, "").strip()  # the table and its year go in the footnote
        q[consequences_key] = (q.get(consequences_key, "") + " " + money).strip()
        footnote = f'<div class="pceval-note pceval-unit-costs">{html.escape(citation)}</div>'
    tiles = _tiles(headline_numbers, preset)
    rows = "".join(f"<dt>{html.escape(k)}</dt><dd>{_markdown(v)}</dd>" for k, v in q.items() if v)
    truth_html = f'<div class="pceval-truth">{_markdown(truth)}</div>' if truth else ""
    markup = (f'<div class="pceval-summary pceval-bottom-line" id="pceval-summary"><h2>The bottom line</h2>'
              f'<div class="pceval-answer">{_markdown(answer)}</div>'
              f'<div class="pceval-headlines">{"".join(tiles)}</div><dl class="pceval-qa">{rows}</dl>'
              f'{footnote}{truth_html}</div>')
    _display_html(markup)


def _tiles(headline_numbers: Mapping[str, Any] | None, preset: str) -> list[str]:
    tiles = []
    for label, value in (headline_numbers or {}).items():
        ci = ""
        if isinstance(value, tuple) and len(value) == 3:
            value, lo, hi = value
            d = _decimals(value)
            ci = f'<div class="ci">95% CI {float(lo):,.{d}f} to {float(hi):,.{d}f}</div>'
        if isinstance(value, (bool, np.bool_)):
            shown = "yes" if value else "no"
        elif isinstance(value, (int, np.integer)):
            shown = count(int(value), preset)
        elif isinstance(value, (float, np.floating)):
            shown = _short(value)
        else:
            shown = str(value)
        tiles.append(f'<div class="pceval-headline"><div class="value">{html.escape(shown)}</div>{ci}'
                     f'<div class="label">{html.escape(str(label))}</div></div>')
    return tiles


def _decimals(value: Any) -> int:
    """Decimal places of a number as the notebook rounded it (``round(x, 1)`` -> 1), at most 3."""
    text = repr(float(value))
    return 0 if "e" in text or "." not in text or text.endswith(".0") else min(3, len(text.split(".")[1]))


def _short(value: Any) -> str:
    if isinstance(value, str):
        return value
    v = float(value)
    return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"


def show_flow(cohort: Any, caption: str = "Cohort flow: people remaining after each step",
              preset: str = DEFAULT_PRESET, alt: str = "") -> None:
    """The cohort flow diagram and, beside it, the same counts as a table (protected counts)."""
    from pceval.disclosure import protect_flow

    fl = cohort.flow()
    cols = [c for c in ("n_before", "n_removed", "n_after") if c in fl]
    shown = protect_flow(fl, preset, columns=cols, log=_LOG)
    out = shown[["label", *cols]].rename(columns={"label": "step"})
    if not alt:
        start, end = count(int(fl["n_after"].iloc[0]), preset), count(int(fl["n_after"].iloc[-1]), preset)
        alt = f"Cohort flow diagram: {start} people at the start, {end} after {len(fl) - 1} steps (table below)"
    _display_html(figure_html(cohort.flow_plot(preset), alt, phone=False)
                  + table_html(out, caption, cols, preset))


def data_quality(data: Any) -> pd.DataFrame:
    """Counts of the data-quality problems of a synthetic (or similarly shaped) extract.

    ``data`` has ``events`` (person_id, date) and ``people`` (person_id, registration_start,
    registration_end). Returns one row per problem with the number of events and how pceval's
    person-time steps treat it.
    """
    ev = data.events[["person_id", "date"]]
    reg = data.people.set_index("person_id")[["registration_start", "registration_end"]]
    start = ev["person_id"].map(reg["registration_start"])
    stop = ev["person_id"].map(reg["registration_end"])
    rows = [
        ("Events without a date", int(ev["date"].isna().sum()),
         "Not counted: an event without a date cannot be placed in a period."),
        ("Events after the person left the practice (deregistration or death)", int((ev["date"] > stop).sum()),
         "Not counted: follow-up ends at deregistration or death, so they fall outside the time at risk."),
        ("Events before the person registered", int((ev["date"] < start).sum()),
         "Not counted: they fall before the time at risk starts."),
    ]
    return pd.DataFrame(rows, columns=["problem", "events", "how it was handled"])


def software_versions(packages: Sequence[str] = ("pceval", "numpy", "pandas", "scipy", "statsmodels",
                                                 "narwhals", "plotnine", "matplotlib")) -> pd.DataFrame:
    """Python and package versions, and the git commit of the pceval source (if it is a checkout)."""
    import platform
    from importlib import metadata

    rows = [("Python", platform.python_version())]
    for name in packages:
        try:
            rows.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            rows.append((name, "not installed"))
    rows.append(("pceval source commit", _git_commit()))
    return pd.DataFrame(rows, columns=["software", "version"])


def _git_commit() -> str:
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        # uncommitted changes to the pceval source itself (not to rendered reports or notebooks)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "."], cwd=here,
                               capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "not a git checkout"
    return sha + (" (with uncommitted changes)" if dirty else "")


def unit_costs_table(unit_costs: Any, activities: Sequence[str] | None = None) -> pd.DataFrame:
    """The rows of a :class:`pceval.costs.UnitCosts` table a report used, in words: activity, unit
    cost, price year, what one unit is, label and source (publication, table, rows)."""
    tab = unit_costs.table
    if activities is not None:
        tab = tab[tab["activity"].isin(list(activities))]
    unit = tab["unit"] if "unit" in tab else pd.Series("", index=tab.index)
    return pd.DataFrame({"activity": tab["activity"].str.replace("_", " ").to_numpy(),
                         "unit cost (£)": tab["unit_cost"].round(2).to_numpy(),
                         "price year": tab["currency_year"].to_numpy(),
                         "unit": unit.fillna("").to_numpy(),
                         "label": unit_costs.label,
                         "source": tab["source"].to_numpy()})


def show_provenance(data: Any, period: str | None = None, validation: str | None = None,
                    preset: str = DEFAULT_PRESET, unit_costs: Any = None,
                    activities: Sequence[str] | None = None) -> None:
    """The appendix tables every report ends with: the data set, its data-quality problems and how
    they were handled, the unit costs used (if any), and the software (versions and commit) that
    produced the report.

    ``period``: the analysis period in words (default: the data window). ``validation``: a note on
    the size of the simulated ICBs behind any coverage the report quotes. ``unit_costs``: the
    :class:`pceval.costs.UnitCosts` table the report's money comes from, shown with its citation
    (restricted to ``activities`` if given).
    """
    params = getattr(data, "params", {}) or {}
    start, end = getattr(data, "data_start", None), getattr(data, "data_end", None)
    window = f"{start:%d %B %Y} to {end:%d %B %Y}" if start is not None else "unknown"
    rows = [("Name", "pceval synthetic ICB (synthetic_data/; nobody in it is real)"),
            ("People", count(int(params.get("n_people", len(data.people))), preset)),
            ("Primary care networks", str(params.get("n_pcns", data.people["pcn_id"].nunique()))),
            ("Seed", str(params.get("seed", "unknown"))),
            ("Scenario", str(params.get("scenario", "unknown"))),
            ("Data window", window),
            ("Analysis period", period or window),
            ("IMD edition", str(params.get("imd_edition", "2019")))]
    if validation:
        rows.append(("Validation ICBs", validation))
    ds = pd.DataFrame(rows, columns=["data set", "value"])
    dq = protect(data_quality(data), ["events"], preset, table="data quality", log=_LOG)
    sw = software_versions()
    _display_html(table_html(ds, "The data set", (), preset)
                  + table_html(dq, "Data-quality problems in the extract and how they were handled",
                               ["events"], preset)
                  + (table_html(unit_costs_table(unit_costs, activities), "Unit costs used. "
                                + unit_costs.citation, (), preset, digits=2) if unit_costs is not None else "")
                  + table_html(sw, "Software that produced this report", (), preset))


# --------------------------------------------------------------------------------------- quoted figures
SOURCE_ATTR = "data-pceval-source"
_AGGREGATES = ("min", "max", "first", "sum", "mean")


def quoted_figure(results: str | Path, column: str, agg: str = "first", fmt: str = "{:.1%}",
                  **where: Any) -> str:
    """A number quoted in prose from a results CSV, tagged with where it came from.

    Reads ``results`` (e.g. ``validation/results/summary.csv``), keeps the rows whose columns equal
    ``where`` (``design="att_gt_rollout"``), takes ``agg`` of ``column`` and formats it with ``fmt``.
    The text is wrapped in ``<span data-pceval-source="...">``, which records the file, filter,
    column, aggregate and format, so that a test can recompute every quoted figure of a rendered
    report from the file (tests/test_report_figures.py): no number is typed by hand.
    """
    import json

    path = Path(results)
    if agg not in _AGGREGATES:
        raise InputError(f"`agg` must be one of {_AGGREGATES}, got {agg!r}")
    value = _quoted_value(path, column, agg, where)
    spec = json.dumps({"file": path.name, "column": column, "agg": agg, "fmt": fmt, "where": where},
                      sort_keys=True)
    return f'<span {SOURCE_ATTR}="{html.escape(spec, quote=True)}">{html.escape(fmt.format(value))}</span>'


def _quoted_value(path: Path, column: str, agg: str, where: Mapping[str, Any]) -> Any:
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""], low_memory=False)
    for col, val in where.items():
        if col not in frame:
            raise InputError(f"`{col}` is not a column of {path.name}: {list(frame.columns)}")
        frame = frame[frame[col].astype(str) == str(val)]
    if column not in frame:
        raise InputError(f"`column` {column!r} is not a column of {path.name}: {list(frame.columns)}")
    if frame.empty:
        raise InputError(f"no rows of {path.name} match {dict(where)}")
    values = frame[column]
    return values.iloc[0] if agg == "first" else getattr(values, agg)()


# --------------------------------------------------------------------------------------- rendering
_SELF_CHECK = """<script>
window.addEventListener('load', function () {
  var imgs = document.querySelectorAll('figure.pceval-figure img');
  var broken = 0;
  imgs.forEach(function (img) { if (!img.complete || img.naturalWidth === 0) { broken += 1; } });
  document.body.setAttribute('data-pceval-figures', String(imgs.length));
  document.body.setAttribute('data-pceval-broken-figures', String(broken));
  // layout measures read by the browser tests: page width against the window, tables wider than their box
  var doc = document.documentElement;
  var scrolling = 0;
  document.querySelectorAll('.pceval-table-wrap').forEach(function (w) {
    if (w.scrollWidth > w.clientWidth + 1) { scrolling += 1; }
  });
  document.body.setAttribute('data-pceval-page-width', String(doc.scrollWidth));
  document.body.setAttribute('data-pceval-window-width', String(window.innerWidth));
  document.body.setAttribute('data-pceval-tables-scrolling', String(scrolling));
  if (broken > 0) { console.error('pceval: ' + broken + ' figure(s) failed to load'); }
});
</script>"""


def _tags(cell: Any) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def _output_html(out: Any, where: str) -> str:
    kind = out.get("output_type")
    if kind == "stream":
        if out.get("name") == "stderr":
            return ""  # warnings are collected for the appendix by _warnings_of
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


_WARNING_LINE = re.compile(r"^\S.*?:\d+: (\w*Warning): (.*)$")


_INTEGER = re.compile(r"(?<![\w.,-])\d{1,3}(?:,\d{3})+(?![\w.,-]\d)|(?<![\w.,-])\d+(?![\w.-]|,\d)")


def _protect_numbers(text: str, preset: str = DEFAULT_PRESET) -> str:
    """Every whole number in a message passed through :func:`count` (counts of people or events in
    a warning are counts a reader sees); decimals are left alone."""
    return _INTEGER.sub(lambda m: count(int(m.group(0).replace(",", "")), preset), text)


def _warnings_of(nb: Any) -> list[tuple[str, str]]:
    """(category, message) of every pceval warning the notebook printed, once each, in order.

    Only pceval's own warnings (``PcevalWarning``) are kept: they say what the analysis did to the
    data (exclusions, unmatched people). Whole numbers in them are protected like any other count.
    """
    seen: dict[tuple[str, str], None] = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = out.get("text", "")
                for line in ("".join(text) if isinstance(text, list) else text).splitlines():
                    m = _WARNING_LINE.match(line)
                    if m and m.group(1) == "PcevalWarning":
                        seen[(m.group(1), _protect_numbers(m.group(2).strip()))] = None
    return list(seen)


def _contents(parts: list[str]) -> tuple[list[str], str]:
    """Give every ``<h2>`` in ``parts`` an id; return the parts and a contents list (3+ headings)."""
    entries: list[tuple[str, str]] = []

    def number(m: re.Match[str]) -> str:
        anchor = f"section-{len(entries) + 1}"
        entries.append((anchor, re.sub(r"<[^>]+>", "", m.group(2))))
        return f'<h2{m.group(1)} id="{anchor}">{m.group(2)}</h2>'

    out = [re.sub(r"<h2((?:\s+(?!id=)[^>]*)?)>(.*?)</h2>", number, p, flags=re.S) for p in parts]
    if len(entries) < 3:
        return out, ""
    items = "".join(f'<li><a href="#{a}">{t}</a></li>' for a, t in entries)
    return out, f'<nav class="pceval-contents" aria-label="Contents"><h2>Contents</h2><ol>{items}</ol></nav>'


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
    warned = _warnings_of(nb)
    if warned:
        items = "".join(f"<li><strong>{html.escape(c)}</strong>: {html.escape(m)}</li>" for c, m in warned)
        appendix.append("<h3>Warnings raised while the report ran</h3>"
                        f'<ul class="pceval-warnings">{items}</ul>')
    appendix_html = ""
    if appendix:
        appendix_html = ('<section class="pceval-appendix"><h2>Technical appendix</h2>'
                         + "".join(appendix) + "</section>")
    (body_html, appendix_html), contents = _contents(["".join(body), appendix_html])
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
{contents}
{body_html}
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


__all__ = ["summary_box", "bottom_line_box", "how_sure", "decision_words", "minimum_detectable_effect",
           "power_table", "quoted_figure", "show_flow", "show_provenance", "unit_costs_table", "data_quality", "software_versions", "header_words",
           "quintile_label", "show_table", "show_figure", "count", "table_html", "figure_html",
           "disclosure_log", "notebook_to_html", "execute_notebook", "render_reports", "html_to_pdf",
           "chromium_path", "CHROMIUM_FLAGS"]
