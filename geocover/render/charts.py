"""The report's charts per zone level: people by travel-time class and percent within the target.

Drawn 7 in wide, a bar per zone, at most :data:`MAX_CHART_ZONES` zones; the report scales them to the
page (two abreast on a landscape A4 page, none taller than the page); people on the axes with thousands
separators.
"""

from __future__ import annotations

import base64
import io
import re

import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from geocover.pipeline import ScenarioResult
from geocover.render.i18n import Lang, label, zone_level_label
from geocover.render.print_map import class_colours, class_labels, percent_colour
from geocover.schema import band_label, within_column

#: Most zones drawn in one chart; beyond it, those with the most people beyond the target.
MAX_CHART_ZONES = 40
#: Chart width, inches, before the report scales it to half a landscape A4 page.
CHART_WIDTH_IN = 7.0
_BAR_IN = 0.26


def class_population(table: pd.DataFrame, bands: list[float]) -> np.ndarray:
    """People per zone (rows) in each travel-time class of :func:`class_colours` (columns).

    Within the first band, between consecutive bands, beyond the last band, unreachable.
    """
    within = [table[within_column(b)].to_numpy(float) for b in sorted(bands)]
    parts = [within[0]] + [b - a for a, b in zip(within, within[1:], strict=False)]
    beyond = table["population"].to_numpy(float) - within[-1] - table["pop_unreachable"].to_numpy(float)
    return np.column_stack(parts + [beyond, table["pop_unreachable"].to_numpy(float)])


def _chart_zones(table: pd.DataFrame, target_key: str) -> pd.DataFrame:
    if len(table) <= MAX_CHART_ZONES:
        return table
    return table.nlargest(MAX_CHART_ZONES, f"pop_beyond_{target_key}").sort_index()


def _figure(zones: int) -> tuple[Figure, object]:
    figure = Figure(figsize=(CHART_WIDTH_IN, 1.3 + _BAR_IN * zones))
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def charts(result: ScenarioResult, lang: Lang) -> list[tuple[str, Figure, str]]:
    """Two charts per zone level: people by travel-time class and percent within the target.

    Call it inside ``matplotlib.rc_context(cjk_rc())``.

    Returns
    -------
    list of (title, figure, caption)
    """
    target = float(result.config.target_minutes)
    key = band_label(target)
    bands = sorted(result.config.bands_minutes)
    colours, names = class_colours(bands), class_labels(bands, lang)
    out = []
    for level, table in result.table.groupby("zone_level", sort=False):
        level_text = zone_level_label(result.config, str(level), lang)
        shown = _chart_zones(table, key)
        caption = "" if len(shown) == len(table) else label("chart_subset", lang, n=len(shown), minutes=target,
                                                              total=len(table))
        zones = [str(name) for name in shown["zone_name"]]
        figure, ax = _figure(len(shown))
        left = np.zeros(len(shown))
        for values, colour, name in zip(class_population(shown, bands).T, colours, names, strict=True):
            ax.barh(zones, values, left=left, color=colour, label=name, edgecolor="white", linewidth=0.3)
            left += values
        ax.invert_yaxis()
        ax.set_xlabel(label("chart_people", lang))
        ax.xaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
        ax.legend(ncols=len(names), loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=7, frameon=False)
        figure.tight_layout()
        out.append((label("chart_bands", lang, level=level_text), figure, caption))

        figure, ax = _figure(len(shown))
        pct = shown[f"pct_within_{key}"].to_numpy(float)
        ax.barh(zones, np.nan_to_num(pct), color=[percent_colour(p) for p in pct], edgecolor="#333333", linewidth=0.3)
        ax.set_xlim(0, 100)
        ax.invert_yaxis()
        ax.set_xlabel(label("pct_within", lang, minutes=target))
        figure.tight_layout()
        out.append((label("chart_percent", lang, minutes=target, level=level_text), figure, caption))
    return out


def svg_text(figure: Figure, prefix: str) -> str:
    """``figure`` as an inline ``<svg>`` element (text drawn as paths, no date), its ids prefixed with
    ``prefix`` so that several charts in one page keep unique ids."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()[buffer.getvalue().index("<svg"):]
    return re.sub(r'(\bid="|url\(#|href="#)', rf"\g<1>{prefix}-", text)


def png_uri(figure: Figure, dpi: int = 130) -> str:
    """``figure`` as a ``data:image/png`` URI."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
