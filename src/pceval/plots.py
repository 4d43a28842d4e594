"""The NHS-style look shared by every pceval figure (plotnine).

Colours follow the NHS identity guidelines' palette (NHS Blue #005EB8 and friends). IMD quintiles use an
ordered palette from dark (1 = most deprived) to light (5 = least deprived), so that deprivation reads the
same way in every chart.

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
    "green": "#009639",
}

IMD_QUINTILE_COLOURS: tuple[str, ...] = ("#003087", "#005EB8", "#0072CE", "#41B6E6", "#A7D8F0")
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
        dpi=110,
    )


def _imd_values(n: int = 5) -> dict[str, str]:
    values = {str(i + 1): IMD_QUINTILE_COLOURS[i] for i in range(n)}
    values.update({IMD_QUINTILE_LABELS[i]: IMD_QUINTILE_COLOURS[i] for i in range(n)})
    return values


def scale_colour_imd(**kwargs: Any) -> scale_colour_manual:
    """Ordered colours for IMD quintiles '1'..'5' (1 = most deprived = darkest)."""
    return scale_colour_manual(values=_imd_values(), breaks=[str(i) for i in range(1, 6)],
                               labels=list(IMD_QUINTILE_LABELS), **kwargs)


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


__all__ = ["plot_estimates", "NHS_COLOURS", "IMD_QUINTILE_COLOURS", "IMD_QUINTILE_LABELS", "theme_nhs",
           "scale_colour_imd", "scale_fill_imd"]
