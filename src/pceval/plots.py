"""The NHS-style look shared by every pceval figure (plotnine).

Colours follow the NHS identity guidelines' palette (NHS Blue #005EB8 and friends). IMD quintiles use an
ordered palette from dark (1 = most deprived) to light (5 = least deprived), so that deprivation reads the
same way in every chart. The quintile colours are five points of viridis (0 to 0.58 of the scale), which is
ordered in lightness and readable by people with red-green colour blindness, and each has at least WCAG's
3:1 contrast for graphics against the white background (checked in tests/test_plots.py). Adjacent
quintiles differ in lightness by less than 3:1 (five colours cannot all differ by 3:1 from each other and
from white), so every quintile also has its own marker shape and line type: colour is never the only cue.

>>> from plotnine import ggplot, aes, geom_col
>>> import pandas as pd
>>> df = pd.DataFrame({"q": ["1", "2", "3", "4", "5"], "rate": [9, 8, 6, 5, 4]})
>>> p = ggplot(df, aes("q", "rate", fill="q")) + geom_col() + scale_fill_imd() + theme_nhs()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from plotnine import (
    element_blank,
    element_line,
    element_rect,
    element_text,
    scale_colour_manual,
    scale_fill_manual,
    scale_linetype_manual,
    scale_shape_manual,
    theme,
    theme_minimal,
)

if TYPE_CHECKING:
    import pandas as pd
    from plotnine import ggplot

NHS_COLOURS: dict[str, str] = {
    "blue": "#005EB8",
    "dark_blue": "#003087",
    "bright_blue": "#0072CE",
    "light_blue": "#41B6E6",
    "aqua_green": "#00A499",
    "dark_grey": "#425563",
    "mid_grey": "#768692",
    "pale_grey": "#E8EDEE",
    "warm_yellow": "#FFB81C",
    "orange": "#ED8B00",
    "dark_red": "#8A1538",
    "dark_orange": "#B35C00",  # orange dark enough for 3:1 on white (truth markers)
    "green": "#009639",
}

IMD_QUINTILE_COLOURS: tuple[str, ...] = ("#440154", "#443A83", "#31678E", "#24868E", "#20A386")
#: Marker shapes and line types per quintile (1..5), so that colour is never the only cue.
IMD_QUINTILE_SHAPES: tuple[str, ...] = ("o", "s", "^", "D", "v")
IMD_QUINTILE_LINETYPES: tuple[str | tuple[int, tuple[int, ...]], ...] = ("solid", "dashed", "dotted", "dashdot", (0, (5, 1, 1, 1, 1, 1)))
#: An ordered sequence for years or other ordered categories (viridis 0 to 0.6), all at least 3:1
#: on white; "never" or "missing" categories take :data:`NEVER_COLOUR`.
ORDERED_COLOURS: tuple[str, ...] = ("#440154", "#472A7A", "#3C4F8A", "#2E6F8E", "#228B8D", "#20A386")
NEVER_COLOUR = "#BFC5C9"
IMD_QUINTILE_LABELS: tuple[str, ...] = (
    "1 (most deprived)", "2", "3", "4", "5 (least deprived)",
)


def theme_nhs(base_size: float = 11) -> theme:
    """A clean theme in the NHS style: white background, light grid, dark-grey text, DejaVu Sans."""
    return theme_minimal(base_size=base_size, base_family="DejaVu Sans") + theme(
        plot_title=element_text(colour=NHS_COLOURS["dark_blue"], weight="bold", size=base_size + 2),
        axis_title=element_text(colour=NHS_COLOURS["dark_grey"]),
        axis_text=element_text(colour=NHS_COLOURS["dark_grey"]),
        panel_grid_major=element_line(colour=NHS_COLOURS["pale_grey"]),
        panel_grid_minor=element_blank(),
        strip_text=element_text(colour=NHS_COLOURS["dark_blue"], weight="bold"),
        legend_position="right",
        plot_background=element_rect(fill="white", colour="white"),
        figure_size=(7.5, 4.2),
        dpi=96,
    )


def _imd_values(n: int = 5) -> dict[str, str]:
    values = {str(i + 1): IMD_QUINTILE_COLOURS[i] for i in range(n)}
    values.update({IMD_QUINTILE_LABELS[i]: IMD_QUINTILE_COLOURS[i] for i in range(n)})
    return values


def _imd_by_level(values: tuple) -> dict[str, object]:
    out = {str(i + 1): values[i] for i in range(5)}
    out.update({IMD_QUINTILE_LABELS[i]: values[i] for i in range(5)})
    return out


def scale_colour_imd(**kwargs: Any) -> scale_colour_manual:
    """Ordered colours for IMD quintiles '1'..'5' (1 = most deprived = darkest)."""
    return scale_colour_manual(values=_imd_values(), breaks=[str(i) for i in range(1, 6)],
                               labels=list(IMD_QUINTILE_LABELS), **kwargs)


def scale_shape_imd(**kwargs: Any) -> scale_shape_manual:
    """One marker shape per IMD quintile '1'..'5' (use with :func:`scale_colour_imd`, same name)."""
    return scale_shape_manual(values=_imd_by_level(IMD_QUINTILE_SHAPES), breaks=[str(i) for i in range(1, 6)],
                              labels=list(IMD_QUINTILE_LABELS), **kwargs)


def scale_linetype_imd(**kwargs: Any) -> scale_linetype_manual:
    """One line type per IMD quintile '1'..'5' (use with :func:`scale_colour_imd`, same name)."""
    return scale_linetype_manual(values=_imd_by_level(IMD_QUINTILE_LINETYPES),
                                 breaks=[str(i) for i in range(1, 6)], labels=list(IMD_QUINTILE_LABELS), **kwargs)


def contrast_ratio(colour: str, background: str = "#FFFFFF") -> float:
    """WCAG 2.x contrast ratio ``(L1 + 0.05) / (L2 + 0.05)`` of two colours (relative luminance L).

    >>> round(contrast_ratio("#000000"), 1)
    21.0
    """
    import numpy as np

    def lum(c: str) -> float:
        h = c.lstrip("#")
        if len(h) != 6:
            raise ValueError(f"colours are '#RRGGBB' hex strings, got {c!r}")
        x = np.array([int(h[i:i + 2], 16) for i in (0, 2, 4)]) / 255
        x = np.where(x <= 0.03928, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
        return float(0.2126 * x[0] + 0.7152 * x[1] + 0.0722 * x[2])

    a, b = sorted((lum(colour), lum(background)))
    return (b + 0.05) / (a + 0.05)


def scale_fill_imd(**kwargs: Any) -> scale_fill_manual:
    """Ordered fills for IMD quintiles '1'..'5' (1 = most deprived = darkest)."""
    return scale_fill_manual(values=_imd_values(), breaks=[str(i) for i in range(1, 6)],
                             labels=list(IMD_QUINTILE_LABELS), **kwargs)


def plot_estimates(frame: pd.DataFrame, title: str = "", label: str = "term") -> ggplot:
    """Point-and-interval plot of any result's ``to_frame()``: one panel per scale, with the
    no-effect line at 0 (absolute) or 1 (relative). ``label`` names the column on the x axis."""
    import numpy as np
    from plotnine import aes, facet_wrap, geom_hline, geom_pointrange, ggplot, labs

    df = frame.copy()
    df["no_effect"] = np.where(df["scale"] == "relative", 1.0, 0.0)
    words = df["measure"] if "measure" in df else df["scale"]
    df["panel"] = df["scale"] + ": " + words.astype(str)
    df["_x"] = df[label].astype(str)
    return (ggplot(df, aes(x="_x", y="estimate", ymin="ci_lower", ymax="ci_upper"))
            + geom_hline(aes(yintercept="no_effect"), linetype="dashed", colour=NHS_COLOURS["mid_grey"])
            + geom_pointrange(colour=NHS_COLOURS["blue"])
            + facet_wrap("~panel", scales="free")
            + labs(x="", y="estimate (interval)", title=title)
            + theme_nhs())


def plot_estimates_with_truth(frame: pd.DataFrame, x: str, truth: str, title: str = "", xlab: str = "",
                              ylab: str = "effect per 1,000 people a year", estimate_label: str = "estimate (95% CI)",
                              truth_label: str = "true effect (synthetic data)") -> ggplot:
    """Estimates with their intervals beside the synthetic truth, one x position per row of ``frame``.

    ``frame`` has ``estimate, ci_lower, ci_upper``, the ``x`` column (shown as text, in its order,
    wrapped to short lines so that it fits a phone) and the ``truth`` column. The no-effect line is
    at 0. Estimates are blue circles with bars; the truth is an orange diamond beside each, so the
    two differ in shape as well as colour.
    """
    import textwrap

    import pandas as pd
    from plotnine import (
        aes,
        geom_hline,
        geom_point,
        geom_pointrange,
        ggplot,
        labs,
        position_nudge,
        scale_colour_manual,
        scale_shape_manual,
    )

    df = frame.copy()
    text = [textwrap.fill(str(v), 10) for v in df[x]]
    order = list(dict.fromkeys(text))
    df["_x"] = pd.Categorical(text, order)
    est = df.assign(what=estimate_label)
    tru = df.assign(what=truth_label, estimate=df[truth])
    colours = {estimate_label: NHS_COLOURS["blue"], truth_label: NHS_COLOURS["dark_orange"]}
    shapes = {estimate_label: "o", truth_label: "D"}
    return (ggplot(est, aes(x="_x", colour="what", shape="what"))
            + geom_hline(yintercept=0, linetype="dashed", colour=NHS_COLOURS["mid_grey"])
            + geom_pointrange(aes(y="estimate", ymin="ci_lower", ymax="ci_upper"), size=0.6)
            + geom_point(tru, aes(y="estimate"), size=3.2, position=position_nudge(x=0.25))
            + scale_colour_manual(values=colours, breaks=[estimate_label, truth_label])
            + scale_shape_manual(values=shapes, breaks=[estimate_label, truth_label])
            + labs(x=xlab, y=ylab, title=title)
            + theme_nhs() + theme(legend_position="bottom", legend_title=element_blank()))


__all__ = ["plot_estimates", "plot_estimates_with_truth", "NHS_COLOURS", "IMD_QUINTILE_COLOURS",
           "IMD_QUINTILE_LABELS", "IMD_QUINTILE_SHAPES", "IMD_QUINTILE_LINETYPES", "ORDERED_COLOURS",
           "NEVER_COLOUR", "theme_nhs", "scale_colour_imd", "scale_fill_imd", "scale_shape_imd",
           "scale_linetype_imd", "contrast_ratio"]
