"""A static map for print (PNG and PDF) drawn with Matplotlib, no tiles needed.

Also the colours and symbols every map of geocover shares: the travel-time classes, the
percent ramp of the choropleths and one symbol per facility tier, so the interactive
map, this map and the report's charts agree.

Chinese text is set in Noto Sans CJK SC from the ``noto-cjk-sans-otc`` package (PyPI,
SIL Open Font License 1.1); without it, Matplotlib's font manager looks for an installed
CJK font (Debian ``fonts-noto-cjk``, or Source Han Sans, WenQuanYi, Microsoft YaHei).
"""

from __future__ import annotations

import functools
import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import matplotlib.colors
import matplotlib.font_manager as font_manager
import numpy as np
import pyproj
from affine import Affine
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from rasterio.transform import array_bounds
from rasterio.warp import Resampling, calculate_default_transform, reproject

from geocover.io.utm import utm_crs
from geocover.pipeline import ScenarioResult
from geocover.render.i18n import Lang, attribution_text, label, mode_name, tier_name, title, zone_level_label
from geocover.render.summary import sites_effect

PERCENT_RAMP = ("#7a0177", "#f768a1", "#fde0dd")
"""Colours of 0 %, 50 % and 100 % of people within the target (ColorBrewer RdPu, reversed: low stands out)."""
BAND_RAMP = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
"""Colours from the first travel-time band to beyond the last (ColorBrewer YlGnBu, colour-blind safe)."""
NO_PEOPLE_COLOUR = "#d9d9d9"
UNREACHABLE_COLOUR = "#000000"
GAP_COLOUR = "#e6550d"
"""Outline of the gaps (people beyond the target): orange, off both fill ramps."""
NO_CLASS = 255
"""Travel-time class of cells outside the data (sea, outside the study area)."""

#: Symbol (shape) and colour of each facility tier; tiers not listed draw as ``other``.
TIER_SYMBOLS: dict[str, tuple[str, str]] = {  # colours kept off the red-yellow-green ramps of the fills
    "hospital": ("square", "#e31a1c"),
    "central_township_health_centre": ("pentagon", "#6a51a3"),
    "township_health_centre": ("diamond", "#2c7fb8"),
    "community_health_centre": ("hexagon", "#c51b7d"),
    "community_health_station": ("triangle_down", "#de77ae"),
    "village_clinic": ("circle", "#ffffff"),
    "emergency_centre": ("star", "#8c510a"),
    "emergency_station": ("plus", "#bf812d"),
    "clinic": ("triangle", "#ff7f00"),
    "doctors": ("circle", "#111111"),
    "other": ("cross", "#636363"),
}
MPL_MARKERS = {"square": "s", "pentagon": "p", "diamond": "D", "hexagon": "h", "triangle_down": "v",
               "circle": "o", "star": "*", "plus": "P", "triangle": "^", "cross": "X"}

_CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei",
                 "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC")


def tier_symbol(tier: str) -> tuple[str, str]:
    """Shape name and colour of a tier (``other`` for tiers of a user's own ``tier_map``)."""
    return TIER_SYMBOLS.get(tier, TIER_SYMBOLS["other"])


def ramp_colour(stops: Sequence[str], fraction: float) -> str:
    """Colour at ``fraction`` (0–1) along the evenly spaced colours ``stops``, as ``#rrggbb``."""
    rgb = np.array([matplotlib.colors.to_rgb(stop) for stop in stops])
    position = np.clip(fraction, 0.0, 1.0) * (len(stops) - 1)
    low = min(int(position), len(stops) - 2)
    mixed = rgb[low] + (rgb[low + 1] - rgb[low]) * (position - low)
    return matplotlib.colors.to_hex(mixed)


def percent_colour(pct: float | None) -> str:
    """Choropleth colour of a percent of people within the target (grey when no one lives there)."""
    if pct is None or not np.isfinite(pct):
        return NO_PEOPLE_COLOUR
    return ramp_colour(PERCENT_RAMP, pct / 100.0)


def class_colours(bands_minutes: Sequence[float]) -> list[str]:
    """Colours of the travel-time classes: each band, beyond the last band, unreachable."""
    n = len(bands_minutes)
    return [ramp_colour(BAND_RAMP, i / n) for i in range(n + 1)] + [UNREACHABLE_COLOUR]


def class_labels(bands_minutes: Sequence[float], lang: Lang) -> list[str]:
    """Legend labels of the classes of :func:`class_colours`, in minutes."""
    bands = sorted(bands_minutes)
    labels = [label("band_upto", lang, minutes=float(bands[0]))]
    labels += [label("band_between", lang, low=f"{a:g}", high=f"{b:g}") for a, b in itertools.pairwise(bands)]
    return labels + [label("band_beyond", lang, minutes=float(bands[-1])), label("unreachable", lang)]


def travel_time_classes(minutes: np.ndarray, bands_minutes: Sequence[float]) -> np.ndarray:
    """Class of every cell: ``i`` within band ``i``, ``len(bands)`` beyond the last band.

    Parameters
    ----------
    minutes : numpy.ndarray
        Minutes to the nearest facility; ``inf`` unreachable, NaN outside the data.
    bands_minutes : sequence of float

    Returns
    -------
    numpy.ndarray of uint8
        ``len(bands) + 1`` where unreachable, :data:`NO_CLASS` where NaN.
    """
    bands = np.sort(np.asarray(bands_minutes, dtype=float))
    classes = np.searchsorted(bands, np.nan_to_num(minutes, nan=0.0, posinf=0.0), side="left")
    classes = np.where(np.isposinf(minutes), len(bands) + 1, classes)
    return np.where(np.isnan(minutes), NO_CLASS, classes).astype(np.uint8)


@functools.cache
def cjk_family() -> str | None:
    """Name of the CJK font family Matplotlib sets Chinese in, registering the package's font first.

    Returns
    -------
    str or None
        ``"Noto Sans CJK SC"`` when ``noto-cjk-sans-otc`` (or Debian ``fonts-noto-cjk``) is
        installed; another installed CJK family otherwise; ``None`` with a warning when there
        is none (Chinese text then shows as boxes).
    """
    try:
        import noto_cjk_sans_otc
    except ImportError:
        noto_cjk_sans_otc = None
    if noto_cjk_sans_otc is not None:
        font_manager.fontManager.addfont(str(noto_cjk_sans_otc.FONT_PATH))
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    family = next((name for name in _CJK_FAMILIES if name in installed), None)
    if family is None:
        warnings.warn("no CJK font found: pip install noto-cjk-sans-otc (or apt-get install fonts-noto-cjk)",
                      stacklevel=2)
    return family


def cjk_rc() -> dict[str, object]:
    """Matplotlib settings that set text in :func:`cjk_family`, falling back per glyph to DejaVu Sans
    (Latin, Arabic…); SVG text as paths, so the SVG needs no font."""
    family = cjk_family()
    return {"font.family": [family, "DejaVu Sans"] if family else ["DejaVu Sans"],
            "svg.fonttype": "path", "svg.hashsalt": "geocover"}


def bold() -> dict[str, object]:
    """Keywords of Matplotlib text for headings: ``weight="bold"`` where the CJK family has a bold face, else
    none (Noto Sans CJK from ``noto-cjk-sans-otc`` is regular only: asking it for bold makes Matplotlib print
    "findfont: Failed to find font weight bold" and set the text regular anyway). No outline effect: it would
    draw the text as paths, which a PDF reader can no longer search or copy."""
    family = cjk_family()
    weights = {font_manager.weight_dict.get(entry.weight, entry.weight) for entry in font_manager.fontManager.ttflist
               if entry.name == family}
    return {"weight": "bold"} if family is None or any(isinstance(w, int) and w >= 600 for w in weights) else {}


def nice_length(span_m: float) -> float:
    """A round scale-bar length (1, 2 or 5 × 10^k metres) of about a fifth of ``span_m``."""
    target = span_m / 5.0
    power = 10.0 ** np.floor(np.log10(target))
    return float(max(step * power for step in (1.0, 2.0, 5.0) if step * power <= target))


def _scale_bar(ax, lang: Lang) -> None:
    """A two-segment scale bar in the lower left of ``ax`` (whose units are metres), in the empty band
    :func:`draw_static_map` leaves below the data."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = nice_length(x1 - x0)
    left, bottom, height = x0 + 0.03 * (x1 - x0), y0 + 0.03 * (y1 - y0), 0.008 * (y1 - y0)
    for i, colour in enumerate(("#000000", "#ffffff")):
        ax.add_patch(Rectangle((left + i * length / 2, bottom), length / 2, height, facecolor=colour,
                               edgecolor="#000000", linewidth=0.6, zorder=6))
    text = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(left + length / 2, bottom + 2.2 * height, text, ha="center", va="bottom", fontsize=8, zorder=6)


def _north_arrow(figure: Figure, lang: Lang) -> None:
    """A north arrow beside the map, below the legend (the map is in UTM: north is up)."""
    ax = figure.add_axes((0.75, 0.08, 0.04, 0.10))
    ax.set_axis_off()
    ax.annotate(label("north", lang), xy=(0.5, 1.0), xytext=(0.5, 0.25), ha="center", va="center", fontsize=10,
                xycoords="axes fraction", arrowprops={"arrowstyle": "-|>", "color": "#000000", "linewidth": 1.2})


def surface_classes(result: ScenarioResult) -> np.ndarray:
    """Travel-time class of every cell of the grid; cells without people (or outside the data) ``NO_CLASS``."""
    grid = result.access.grid
    people = grid.valid & (np.nan_to_num(grid.population) > 0)
    return travel_time_classes(np.where(people, result.access.minutes, np.nan), result.config.bands_minutes)


def _draw_surface(ax, result: ScenarioResult, crs: pyproj.CRS) -> np.ndarray:
    """Draw the travel-time classes, reprojected (nearest) to ``crs``; returns a flag per class drawn."""
    grid = result.access.grid
    rows, cols = grid.shape
    transform, width, height = calculate_default_transform(grid.crs, crs, cols, rows,
                                                           *array_bounds(rows, cols, grid.transform))
    image = np.full((height, width), NO_CLASS, dtype=np.uint8)
    reproject(surface_classes(result), image, src_transform=grid.transform, src_crs=grid.crs, src_nodata=NO_CLASS,
              dst_transform=transform, dst_crs=crs, dst_nodata=NO_CLASS, resampling=Resampling.nearest)
    colours = class_colours(result.config.bands_minutes)
    rgba = np.zeros((height, width, 4))
    for i, colour in enumerate(colours):
        rgba[image == i] = matplotlib.colors.to_rgba(colour)
    x0, y1 = transform @ (0, 0)
    x1, y0 = transform @ (width, height)
    ax.imshow(rgba, extent=(x0, x1, y0, y1), interpolation="nearest", zorder=1)
    return np.isin(np.arange(len(colours)), image)


def _draw_sites(ax, result: ScenarioResult, crs: pyproj.CRS, lang: Lang) -> list:
    """Proposed sites as white discs with their rank; their legend entry (none without sites)."""
    sites = getattr(result, "sites", None)
    if sites is None or len(sites) == 0:
        return []
    points = sites.to_crs(crs)
    for point, rank in zip(points.geometry, points["rank"], strict=True):
        ax.text(point.x, point.y, str(int(rank)), ha="center", va="center", fontsize=7, zorder=7, **bold(),
                bbox={"boxstyle": "circle,pad=0.25", "facecolor": "#ffffff", "edgecolor": "#000000", "linewidth": 1})
    return [Line2D([], [], linestyle="none", marker="o", markersize=9, markerfacecolor="#ffffff",
                   markeredgecolor="#000000", label=label("legend_sites", lang))]


def _sites_box(figure: Figure, result: ScenarioResult, lang: Lang) -> None:
    """After ``geocover site``: people within the target and people who reach no facility, now → with the
    proposed sites, in the first level's zones, boxed under the legend."""
    effect = sites_effect(result, lang)
    if effect is None or len(result.sites) == 0:
        return
    row, key = effect.iloc[0], f"{float(result.config.target_minutes):g}".replace(".", "_")
    lines = [label("report_sites_box", lang, n=len(result.sites), level=row["zone_level_label"]),
             label("sites_within", lang, minutes=float(result.config.target_minutes),
                   before=f"{row[f'pop_within_{key}_before']:,.0f}", after=f"{row[f'pop_within_{key}_after']:,.0f}"),
             label("sites_unreachable", lang, before=f"{row['pop_unreachable_before']:,.0f}",
                   after=f"{row['pop_unreachable_after']:,.0f}")]
    figure.text(0.745, 0.22, "\n".join(lines), fontsize=8.5, va="bottom", ha="left", linespacing=1.6,
                bbox={"boxstyle": "round,pad=0.5", "facecolor": "#ffffff", "edgecolor": "#000000", "linewidth": 0.8})


def draw_static_map(result: ScenarioResult, lang: Lang = "en") -> tuple[Figure, pyproj.CRS]:
    """The print map of ``result`` as a Matplotlib figure (A4 landscape) in the zones' UTM zone.

    Call it, and save the figure, inside ``matplotlib.rc_context(cjk_rc())``.

    The travel-time class of every cell with people is the main layer; zones are outlined, level
    after level in the config's order (coarse zones with thicker lines); gaps are hatched lightly
    above; facilities carry their tier's symbol. The legend lists only what is drawn; scale bar
    and north arrow sit clear of the data.

    Returns
    -------
    figure : matplotlib.figure.Figure
    crs : pyproj.CRS
        The projected CRS of the map axes (metres).
    """
    config = result.config
    target = float(config.target_minutes)
    crs = utm_crs(result.zones)
    zones = result.zones.to_crs(crs)
    levels = list(dict.fromkeys(zones["zone_level"]))
    figure = Figure(figsize=(11.69, 8.27))
    FigureCanvasAgg(figure)
    ax = figure.add_axes((0.02, 0.05, 0.70, 0.85))
    ax.set_axis_off()
    present = _draw_surface(ax, result, crs)
    widths = np.linspace(1.2, 0.4, len(levels)) if len(levels) > 1 else [0.5]
    for level, width in zip(levels, widths, strict=True):
        zones[zones["zone_level"] == level].plot(ax=ax, facecolor="none", edgecolor="#333333", linewidth=width,
                                                 zorder=2)
    if len(result.gaps):
        result.gaps.to_crs(crs).plot(ax=ax, facecolor="none", edgecolor="#00000059", hatch="//", linewidth=0.2,
                                     zorder=3)
    handles: list = [Patch(facecolor=colour, edgecolor="#555555", label=text) for colour, text, shown in
                     zip(class_colours(config.bands_minutes), class_labels(config.bands_minutes, lang), present,
                         strict=True) if shown]
    if len(result.gaps):
        handles.append(Patch(facecolor="none", edgecolor="#00000080", hatch="//",
                             label=label("legend_gaps", lang, minutes=target)))
    facilities = result.facilities.to_crs(crs)
    size = 7.0 if len(facilities) <= 200 else 4.0
    for tier, group in facilities.groupby("tier", sort=True):
        shape, colour = tier_symbol(str(tier))
        ax.plot(group.geometry.x, group.geometry.y, linestyle="none", marker=MPL_MARKERS[shape], markersize=size,
                markerfacecolor=colour, markeredgecolor="#000000", markeredgewidth=0.5, zorder=5)
        handles.append(Line2D([], [], linestyle="none", marker=MPL_MARKERS[shape], markersize=7,
                              markerfacecolor=colour, markeredgecolor="#000000", markeredgewidth=0.5,
                              label=f"{tier_name(str(tier), lang)} ({len(group)})"))
    handles += _draw_sites(ax, result, crs, lang)
    west, south, east, north = zones.total_bounds
    pad = 0.03 * max(east - west, north - south)
    ax.set_xlim(west - pad, east + pad)
    ax.set_ylim(south - pad - 0.10 * (north - south), north + pad)
    ax.set_aspect("equal", adjustable="box")
    _scale_bar(ax, lang)
    _north_arrow(figure, lang)
    legend_ax = figure.add_axes((0.74, 0.22, 0.25, 0.68))
    legend_ax.set_axis_off()
    legend_ax.legend(handles=handles, loc="upper left", frameon=False, fontsize=8, alignment="left",
                     title=label("legend_minutes", lang, mode=mode_name(config.mode, lang)), title_fontsize=9)
    _sites_box(figure, result, lang)
    figure.text(0.02, 0.95, title(config, lang), fontsize=14, va="bottom", **bold())
    levels_text = ("、" if lang == "zh" else ", ").join(zone_level_label(config, level, lang) for level in levels)
    walk = label("legend_walk", lang, kmh=f"{result.access.offroad_kmh:g}")
    subtitle = (f"{label('legend_minutes', lang, mode=mode_name(config.mode, lang))}{'，' if lang == 'zh' else ', '}"
                f"{walk} · "
                f"{label('legend_gaps', lang, minutes=target)} · {levels_text}")
    figure.text(0.02, 0.925, subtitle, fontsize=9, va="bottom", color="#333333")
    figure.text(0.02, 0.02, attribution_text(config, lang), fontsize=7, color="#333333", va="bottom")
    return figure, crs


@dataclass
class StaticMap:
    """Where :func:`write_static_map` wrote the map, and where a place lands in the PNG.

    Attributes
    ----------
    png, pdf : Path
    crs : pyproj.CRS
        The projected CRS of the map (metres).
    to_pixel : affine.Affine
        From ``crs`` coordinates to PNG (column, row) pixel coordinates, origin top left.
    """

    png: Path
    pdf: Path
    crs: pyproj.CRS
    to_pixel: Affine


def write_static_map(result: ScenarioResult, path_png: str | Path, lang: Lang = "en", dpi: int = 200) -> StaticMap:
    """Write the print map as PNG and, beside it, PDF (same name, ``.pdf``).

    Parameters
    ----------
    result : ScenarioResult
    path_png : str or Path
    lang : {"en", "zh"}
    dpi : int
        Dots per inch of the PNG (the page is 11.69 × 8.27 in, A4 landscape).

    Returns
    -------
    StaticMap
    """
    path_png = Path(path_png)
    pdf = path_png.with_suffix(".pdf")
    with matplotlib.rc_context(cjk_rc()):
        figure, crs = draw_static_map(result, lang)
        figure.set_dpi(dpi)
        figure.canvas.draw()
        (c0, r0), (c1, r1) = figure.axes[0].transData.transform([(0.0, 0.0), (1.0, 1.0)])
        to_pixel = Affine(c1 - c0, 0.0, c0, 0.0, -(r1 - r0), figure.bbox.height - r0)
        figure.savefig(path_png, dpi=dpi, metadata={"Software": None})
        figure.savefig(pdf, metadata={"Creator": None, "Producer": None, "CreationDate": None})
    return StaticMap(png=path_png, pdf=pdf, crs=crs, to_pixel=to_pixel)

