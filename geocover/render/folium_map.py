"""The interactive Folium map of a scenario.

Layers, grouped in the layer control (:mod:`geocover.render.legend`): travel time (the surface,
on at first; one per travel-time band; a choropleth per zone level of the percent within the
target; the gaps, outlined), base data (the facilities of each tier), standards, ambulance
and siting. Layer names, popups and legend are in English or
Chinese (:mod:`geocover.render.i18n`). Every text taken from the data or the config (facility and
zone names, grades, zone levels, tiers) is HTML-escaped before it reaches the page, so a
facility named ``<script>…`` shows as text (Leaflet writes layer names as HTML). Base maps:
OpenStreetMap, Tianditu (a user key), Amap (GCJ-02: every overlay is shifted to line up
with its tiles) or none.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from PIL import Image
from rasterio.transform import array_bounds
from rasterio.warp import Resampling, calculate_default_transform, reproject

from geocover.analysis.polygons import repaired
from geocover.io.coordinates import wgs84_to_gcj02
from geocover.pipeline import ScenarioResult
from geocover.render.assets import Attribution, Tools, self_contained
from geocover.render.i18n import Lang, attribution_text, label, mode_name, tier_name, title, zone_level_label
from geocover.render.legend import GROUPS, LayersAndLegend, Legend, heading, swatch_row
from geocover.render.map_layers import Light, ambulance_layers, audit_layer, service_layers, sites_layer
from geocover.render.print_map import (
    GAP_COLOUR,
    NO_CLASS,
    NO_PEOPLE_COLOUR,
    PERCENT_RAMP,
    TIER_SYMBOLS,
    class_colours,
    class_labels,
    percent_colour,
    ramp_colour,
    surface_classes,
    tier_symbol,
)

#: Columns read as a facility's capacity, first found first (beds in Chinese statistics).
CAPACITY_COLUMNS = ("capacity", "beds", "床位数", "实有床位", "编制床位", "床位")
#: Most pixels of the travel-time image; a larger grid is drawn coarser.
MAX_SURFACE_PIXELS = 4_000_000
NO_TILES_BACKGROUND = "#f2f0eb"

_TIANDITU = ("https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
             "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"
             "&tk={key}")
_AMAP = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
_OSM = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"

Shift = Callable[[np.ndarray], np.ndarray]


def _gcj02(coords: np.ndarray) -> np.ndarray:
    """WGS84 (lon, lat) rows shifted to GCJ-02, for overlays on Amap tiles."""
    lon, lat = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])


def _light(frame: gpd.GeoDataFrame, tolerance_deg: float, shift: Shift | None) -> gpd.GeoDataFrame:
    """Reproject to EPSG:4326, shift if asked, simplify to ``tolerance_deg`` and round to about 1 m."""
    out = frame.to_crs("EPSG:4326")
    geometry = out.geometry.to_numpy()
    if shift is not None:
        geometry = shapely.transform(geometry, shift)
    geometry = repaired(shapely.simplify(geometry, tolerance_deg, preserve_topology=True))
    out = out.set_geometry(shapely.set_precision(geometry, 1e-5), crs="EPSG:4326")
    return out[~out.geometry.is_empty & out.geometry.notna()]


def _text(value: object, digits: int = 0) -> str:
    """A table cell as escaped text: numbers rounded with thousands separators, empty for missing."""
    if value is None or value is pd.NA or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return "✓" if value else "✗"
    if isinstance(value, int | float | np.integer | np.floating):
        return f"{value:,.{digits}f}"
    return html.escape(str(value))


def _properties(frame: gpd.GeoDataFrame, columns: dict[str, int]) -> gpd.GeoDataFrame:
    """Keep ``columns`` (name to decimals) as escaped text, and the geometry."""
    out = gpd.GeoDataFrame({c: [_text(v, d) for v in frame[c]] for c, d in columns.items()},
                           geometry=frame.geometry.to_numpy(), crs=frame.crs)
    return out


def _tolerance_deg(result: ScenarioResult) -> float:
    """Half a population cell, in degrees: what the polygons (cell outlines) can lose."""
    tolerance = abs(result.access.grid.transform.a) / 2.0
    return tolerance / 111_000.0 if result.access.grid.crs.is_projected else tolerance


def symbol_svg(shape: str, colour: str, size: int = 16) -> str:
    """An inline SVG of a facility symbol (see :data:`geocover.render.print_map.TIER_SYMBOLS`)."""
    c, r = size / 2, size / 2 - 1.5
    angles = {"triangle": (-90, 30, 150), "triangle_down": (90, 210, 330), "diamond": (-90, 0, 90, 180),
              "pentagon": tuple(-90 + 72 * i for i in range(5)), "hexagon": tuple(30 + 60 * i for i in range(6)),
              "star": tuple(-90 + 36 * i for i in range(10))}
    if shape in angles:
        radii = [r if i % 2 == 0 or shape != "star" else r * 0.45 for i in range(len(angles[shape]))]
        points = " ".join(f"{c + rr * np.cos(np.radians(a)):.1f},{c + rr * np.sin(np.radians(a)):.1f}"
                          for a, rr in zip(angles[shape], radii, strict=True))
        body = f'<polygon points="{points}"/>'
    elif shape == "square":
        body = f'<rect x="2.5" y="2.5" width="{size - 5}" height="{size - 5}"/>'
    elif shape in ("plus", "cross"):
        arm, w = r, r * 0.35
        plus = f"M{c - w},{c - arm}h{2 * w}v{arm - w}h{arm - w}v{2 * w}h{w - arm}v{arm - w}h{-2 * w}v{w - arm}" \
               f"h{w - arm}v{-2 * w}h{arm - w}z"
        turn = f' transform="rotate(45 {c} {c})"' if shape == "cross" else ""
        body = f'<path d="{plus}"{turn}/>'
    else:
        body = f'<circle cx="{c}" cy="{c}" r="{r - 1}"/>'
    return (f'<svg width="{size}" height="{size}" viewBox="0 0 {size} {size}" fill="{colour}" stroke="#000" '
            f'stroke-width="1">{body}</svg>')


def surface_image(result: ScenarioResult, shift: Shift | None = None) -> tuple[bytes, list[list[float]]]:
    """The travel-time classes of every cell as a PNG in Web Mercator, and its bounds.

    The grid is reprojected to EPSG:3857 first (nearest neighbour, so each pixel keeps a
    cell's class), because Leaflet stretches an image linearly between its corners on a
    Web Mercator map. Colours are :func:`geocover.render.print_map.class_colours`; cells outside
    the data and cells without people are transparent.

    Returns
    -------
    png : bytes
    bounds : list
        ``[[south, west], [north, east]]`` in degrees (GCJ-02 when ``shift`` is given).
    """
    grid = result.access.grid
    classes = surface_classes(result)
    rows, cols = grid.shape
    transform, width, height = calculate_default_transform(grid.crs, "EPSG:3857", cols, rows,
                                                           *array_bounds(rows, cols, grid.transform))
    scale = max(1.0, np.sqrt(width * height / MAX_SURFACE_PIXELS))
    if scale > 1.0:
        width, height = int(width / scale), int(height / scale)
        transform = transform @ transform.scale(scale, scale)
    image = np.full((height, width), NO_CLASS, dtype=np.uint8)
    reproject(classes, image, src_transform=grid.transform, src_crs=grid.crs, src_nodata=NO_CLASS,
              dst_transform=transform, dst_crs="EPSG:3857", dst_nodata=NO_CLASS, resampling=Resampling.nearest)
    colours = class_colours(result.config.bands_minutes)
    palette = np.zeros((256, 3), dtype=np.uint8)
    for i, colour in enumerate(colours):
        palette[i] = [int(colour[k:k + 2], 16) for k in (1, 3, 5)]
    png = Image.fromarray(image, mode="P")
    png.putpalette(palette.ravel().tolist())
    alpha = bytes([255] * len(colours) + [0] * (256 - len(colours)))
    buffer = io.BytesIO()
    png.save(buffer, format="PNG", transparency=alpha, optimize=True)
    x0, y1 = transform @ (0, 0)
    x1, y0 = transform @ (width, height)
    lon, lat = pyproj.Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True).transform([x0, x1], [y0, y1])
    corners = np.column_stack([lon, lat])
    if shift is not None:
        corners = shift(corners)
    return buffer.getvalue(), [[float(corners[0, 1]), float(corners[0, 0])], [float(corners[1, 1]),
                                                                           float(corners[1, 0])]]


def _base_map(fmap: folium.Map, tiles: str, key: str | None, lang: Lang) -> None:
    """Add the chosen base map (no layer-control entry: the overlays are what it lists)."""
    if tiles == "OpenStreetMap":
        folium.TileLayer(_OSM, attr='&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
                         "contributors", name=label("base_osm", lang), max_zoom=19, control=False).add_to(fmap)
    elif tiles == "tianditu":
        attr = "&copy; 天地图 Tianditu (国家地理信息公共服务平台)"
        for layer in ("vec", "cva" if lang == "zh" else "eva"):
            folium.TileLayer(_TIANDITU.replace("{layer}", layer).replace("{key}", html.escape(key or "")),
                             attr=attr, name=f"{label('base_tianditu', lang)} {layer}", subdomains="01234567",
                             max_zoom=18, control=False, overlay=layer != "vec").add_to(fmap)
    elif tiles == "amap":
        folium.TileLayer(_AMAP, attr="&copy; 高德地图 AutoNavi (GCJ-02)", name=label("base_amap", lang),
                         subdomains="1234", max_zoom=18, control=False).add_to(fmap)


def _minutes_section(legend: Legend, result: ScenarioResult, lang: Lang, present: np.ndarray) -> None:
    """Travel-time classes that some people fall in (``present``: one flag per class)."""
    config = result.config
    rows = [swatch_row(f"background:{colour}", text) for colour, text, shown in
            zip(class_colours(config.bands_minutes), class_labels(config.bands_minutes, lang), present, strict=True)
            if shown]
    walk = label("legend_walk", lang, kmh=f"{result.access.offroad_kmh:g}")
    legend.section(heading(label("legend_minutes", lang, mode=mode_name(config.mode, lang)))
                   + f'<div class="gc-note">{html.escape(walk)}</div>' + "".join(rows), ["minutes"])


def _percent_section(legend: Legend, lang: Lang, target: float, any_empty: bool) -> None:
    stops = ", ".join(f"{ramp_colour(PERCENT_RAMP, v / 100)} {v}%" for v in (0, 50, 100))
    body = (heading(label("legend_percent", lang, minutes=target))
            + f'<div style="width:180px;height:10px;border:1px solid #555;background:linear-gradient(to right, '
              f'{stops})"></div><div style="width:182px;display:flex;justify-content:space-between"><span>0</span>'
              "<span>50</span><span>100</span></div>")
    if any_empty:
        body += swatch_row(f"background:{NO_PEOPLE_COLOUR}", label("legend_no_people", lang))
    legend.section(body, ["percent"])


def facility_name(row: pd.Series, lang: Lang) -> str:
    """The facility's name, or its tier and id when it has none."""
    name = row.get("name")
    if isinstance(name, str) and name.strip():
        return name
    return label("unnamed", lang, tier=tier_name(str(row["tier"]), lang), id=str(row.get("facility_id", "")))


def _facility_fields(points: gpd.GeoDataFrame, lang: Lang, target: float) -> list[tuple[str, str, str]]:
    """Popup fields that ``points`` has: (column, property name, escaped label)."""
    capacity = next((c for c in CAPACITY_COLUMNS if c in points.columns), "capacity")
    fields = [("name", "name", "name"), ("tier_label", "tier", "tier"), ("grade", "grade", "grade"),
              (capacity, "capacity", "capacity"), ("population_within_target", "catchment", "catchment")]
    return [
        (column, prop, html.escape(label(key, lang, minutes=target)))
        for column, prop, key in fields
        if column in points.columns and points[column].notna().any()
    ]


def _facility_layers(fmap: folium.Map, result: ScenarioResult, lang: Lang, legend: Legend, light: Light) -> None:
    """One layer per tier, in :data:`TIER_SYMBOLS` order, each with its legend row."""
    points = light(result.facilities)
    points = points.assign(tier=points["tier"].fillna("other").astype(str))
    points["name"] = [facility_name(row, lang) for _, row in points.iterrows()]
    points["tier_label"] = [tier_name(t, lang) for t in points["tier"]]
    target = float(result.config.target_minutes)
    order = {tier: i for i, tier in enumerate(TIER_SYMBOLS)}
    tiers = sorted(points["tier"].unique(), key=lambda t: (order.get(t, len(order)), t))
    rows = []
    for tier in tiers:
        group = points[points["tier"] == tier]
        fields = _facility_fields(group, lang, target)
        data = gpd.GeoDataFrame({prop: [_text(v) for v in group[column]] for column, prop, _ in fields},
                                geometry=group.geometry.to_numpy(), crs="EPSG:4326")
        icon = folium.DivIcon(html=symbol_svg(*tier_symbol(tier)), icon_size=(16, 16), icon_anchor=(8, 8),
                              class_name="gc-facility")
        name = label("layer_facilities", lang, tier=tier_name(tier, lang))
        layer = folium.GeoJson(
            data, name=html.escape(name), marker=folium.Marker(icon=icon),
            popup=folium.GeoJsonPopup([prop for _, prop, _ in fields], aliases=[alias for _, _, alias in fields]),
            tooltip=folium.GeoJsonTooltip(["name"], labels=False),
        ).add_to(fmap)
        legend.add(layer, html.escape(name), "group_base", [f"tier_{tier}"])
        rows.append((f'<div class="gc-row">{symbol_svg(*tier_symbol(tier), size=14)}'
                     f"{html.escape(tier_name(tier, lang))}</div>", f"tier_{tier}"))
    legend.section(heading(label("legend_facilities", lang)), [key for _, key in rows])
    for row, key in rows:
        legend.section(row, [key])


def _zone_layers(fmap: folium.Map, result: ScenarioResult, lang: Lang, legend: Legend, light: Light,
                 show: bool) -> None:
    """A choropleth of the percent within the target per zone level (shown when there is no surface)."""
    config = result.config
    target = float(config.target_minutes)
    pct = f"pct_within_{config.target_minutes:g}".replace(".", "_")
    columns = {"zone_name": 0, "population": 0, pct: 1, "pop_unreachable": 0, "mean_minutes": 1}
    aliases = [label(key, lang, minutes=target) for key in
               ("zone_name", "population", "pct_within", "pop_unreachable", "mean_minutes")]
    for level, zones in result.zones.groupby("zone_level", sort=False):
        zones = light(zones)
        data = _properties(zones, columns).assign(fill=[percent_colour(p) for p in zones[pct]])
        name = html.escape(label("layer_zones", lang, level=zone_level_label(config, str(level), lang),
                                 minutes=target))
        layer = folium.GeoJson(
            data, name=name, show=show,
            style_function=lambda feature: {"fillColor": feature["properties"]["fill"], "color": "#555555",
                                            "weight": 1, "fillOpacity": 0.75},
            tooltip=folium.GeoJsonTooltip(list(columns), aliases=[html.escape(a) for a in aliases]),
        ).add_to(fmap)
        legend.add(layer, name, "group_travel", ["percent"])
        show = False
    _percent_section(legend, lang, target, bool(result.zones[pct].isna().any()))


def _travel_layers(fmap: folium.Map, result: ScenarioResult, lang: Lang, legend: Legend, light: Light,
                   shift: Shift | None) -> None:
    """The travel-time surface (on), the bands (off) and the percent choropleths (off), each in the legend."""
    config = result.config
    mode = mode_name(config.mode, lang)
    classes = surface_classes(result)
    present = np.isin(np.arange(len(config.bands_minutes) + 2), classes)
    png, bounds = surface_image(result, shift)
    name = html.escape(label("layer_surface", lang, mode=mode))
    surface = folium.raster_layers.ImageOverlay(
        "data:image/png;base64," + base64.b64encode(png).decode("ascii"), bounds=bounds, opacity=1.0,
        name=name, className="gc-surface",
    ).add_to(fmap)
    legend.add(surface, name, "group_travel", ["minutes"])
    _minutes_section(legend, result, lang, present)
    bands = light(result.service_areas).sort_values("band_minutes")
    colours = dict(zip(sorted(config.bands_minutes), class_colours(config.bands_minutes)[:-2], strict=True))
    for band in bands.iloc[::-1].itertuples(index=False):
        colour = colours.get(band.band_minutes, colours[max(colours)])
        minutes = float(band.band_minutes)
        data = gpd.GeoDataFrame({"population": [_text(band.population)]}, geometry=[band.geometry], crs=4326)
        name = html.escape(label("layer_band", lang, minutes=minutes, mode=mode))
        layer = folium.GeoJson(
            data, name=name, show=False,
            style_function=lambda _, c=colour: {"fillColor": c, "color": c, "weight": 0.5, "fillOpacity": 0.85},
            tooltip=folium.GeoJsonTooltip(["population"],
                                          aliases=[html.escape(label("pop_within", lang, minutes=minutes))]),
        ).add_to(fmap)
        legend.add(layer, name, "group_travel", ["minutes"])
    _zone_layers(fmap, result, lang, legend, light, show=False)


def _gap_layer(fmap: folium.Map, result: ScenarioResult, lang: Lang, legend: Legend, light: Light) -> None:
    """The gaps, outlined (dashed) so the surface stays readable underneath."""
    if not len(result.gaps):
        return
    target = float(result.config.target_minutes)
    gap_columns = {"gap_id": 0, "population": 0, "unreachable_population": 0}
    name = html.escape(label("layer_gaps", lang, minutes=target))
    layer = folium.GeoJson(
        _properties(light(result.gaps), gap_columns), name=name,
        style_function=lambda _: {"fill": True, "fillOpacity": 0, "color": GAP_COLOUR, "weight": 1.5,
                                  "dashArray": "4 3"},
        tooltip=folium.GeoJsonTooltip(list(gap_columns), aliases=[html.escape(label(k, lang)) for k in gap_columns]),
    ).add_to(fmap)
    legend.add(layer, name, "group_travel", ["gaps"])
    legend.section(swatch_row(f"border:2px dashed {GAP_COLOUR};background:transparent",
                              label("legend_gaps", lang, minutes=target)), ["gaps"])


def coverage_map(result: ScenarioResult, lang: Lang | None = None, tiles: str | None = None) -> folium.Map:
    """A self-contained Folium map of ``result``: every layer, legend, scale, full screen, ruler.

    The first view shows one message: the travel-time surface, the gaps outlined and the
    facilities; every other layer is off, listed by group in the collapsed layer control.

    Parameters
    ----------
    result : ScenarioResult
    lang : {"en", "zh"}, optional
        Labels' language; ``config.map.lang`` when omitted.
    tiles : {"OpenStreetMap", "tianditu", "amap", "none"}, optional
        Base map; ``config.map.tiles`` when omitted (pass ``"none"`` for ``--offline``).

    Returns
    -------
    folium.Map
        Render it with :func:`geocover.render.assets.render`.
    """
    config = result.config
    lang = lang or config.map.lang
    tiles = tiles or config.map.tiles
    shift = _gcj02 if tiles == "amap" else None
    tolerance = _tolerance_deg(result)
    fmap = folium.Map(tiles=None, control_scale=False, prefer_canvas=False, zoom_snap=0.25)
    self_contained(fmap, background=NO_TILES_BACKGROUND if tiles == "none" else None, lang=lang,
                   title=title(config, lang))
    _base_map(fmap, tiles, config.map.tianditu_key, lang)

    def light(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        return _light(frame, tolerance, shift)

    west, south, east, north = light(result.zones).total_bounds
    legend = Legend(title(config, lang))
    _travel_layers(fmap, result, lang, legend, light, shift)
    _gap_layer(fmap, result, lang, legend, light)
    service_layers(fmap, result, lang, light, legend)
    ambulance_layers(fmap, result, lang, light, legend)
    audit_layer(fmap, result, lang, light, legend)
    sites_layer(fmap, result.sites, lang, light, legend)
    _facility_layers(fmap, result, lang, legend, light)
    groups = {key: label(key, lang) for key in GROUPS}
    LayersAndLegend(legend, groups, label("layers", lang), label("legend", lang),
                    [[float(south), float(west)], [float(north), float(east)]]).add_to(fmap)
    Tools(label("fullscreen", lang), label("measure_tool", lang), label("measure_hint", lang)).add_to(fmap)
    Attribution(html.escape(attribution_text(config, lang))).add_to(fmap)
    return fmap
