"""The interactive Folium map of a scenario.

Layers, in the layer control's order: the travel-time surface (an image, off at first), one
per travel-time band, a choropleth per zone level of the percent within the target, the
gaps, and the facilities of each tier. Layer names, popups and legend are in English or
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
from geocover.render.assets import Attribution, HtmlControl, Tools, self_contained
from geocover.render.i18n import Lang, label, level_name, mode_name, tier_name
from geocover.render.map_layers import ambulance_layers, audit_layer, service_layers, sites_layer
from geocover.render.print_map import (
    NO_CLASS,
    PERCENT_RAMP,
    TIER_SYMBOLS,
    class_colours,
    class_labels,
    percent_colour,
    ramp_colour,
    tier_symbol,
    travel_time_classes,
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
    the data are transparent.

    Returns
    -------
    png : bytes
    bounds : list
        ``[[south, west], [north, east]]`` in degrees (GCJ-02 when ``shift`` is given).
    """
    grid = result.access.grid
    classes = travel_time_classes(np.where(grid.valid, result.access.minutes, np.nan), result.config.bands_minutes)
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


def legend_html(result: ScenarioResult, lang: Lang, tiers: list[str]) -> str:
    """The legend: percent ramp, travel-time classes, gaps and facility symbols, escaped."""
    config = result.config
    target = float(config.target_minutes)
    stops = ", ".join(f"{ramp_colour(PERCENT_RAMP, v / 100)} {v}%" for v in (0, 50, 100))
    parts = [f"<b>{html.escape(config.map.title or config.name)}</b>",
             f"<h4>{html.escape(label('legend_percent', lang, minutes=target))}</h4>",
             f'<div style="width:180px;height:10px;background:linear-gradient(to right, {stops})"></div>',
             '<div style="width:180px;display:flex;justify-content:space-between"><span>0</span><span>50</span>'
             "<span>100</span></div>",
             f"<h4>{html.escape(label('legend_minutes', lang, mode=mode_name(config.mode, lang)))}</h4>"]
    for colour, text in zip(class_colours(config.bands_minutes), class_labels(config.bands_minutes, lang), strict=True):
        parts.append(f'<div class="gc-row"><span class="gc-swatch" style="background:{colour}"></span>'
                     f"{html.escape(text)}</div>")
    parts.append('<div class="gc-row"><span class="gc-swatch" style="background:repeating-linear-gradient('
                 '45deg,#000 0 2px,#fff 2px 5px)"></span>'
                 f"{html.escape(label('legend_gaps', lang, minutes=target))}</div>")
    parts.append(f"<h4>{html.escape(label('legend_facilities', lang))}</h4>")
    for tier in tiers:
        parts.append(f'<div class="gc-row">{symbol_svg(*tier_symbol(tier), size=14)}'
                     f"{html.escape(tier_name(tier, lang))}</div>")
    return "".join(parts)


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


def _facility_layers(fmap: folium.Map, result: ScenarioResult, lang: Lang, tolerance: float,
                     shift: Shift | None) -> list[str]:
    """One layer per tier, in :data:`TIER_SYMBOLS` order; returns the tiers drawn."""
    points = _light(result.facilities, tolerance, shift)
    points = points.assign(tier=points["tier"].fillna("other").astype(str))
    points["tier_label"] = [tier_name(t, lang) for t in points["tier"]]
    target = float(result.config.target_minutes)
    order = {tier: i for i, tier in enumerate(TIER_SYMBOLS)}
    tiers = sorted(points["tier"].unique(), key=lambda t: (order.get(t, len(order)), t))
    for tier in tiers:
        group = points[points["tier"] == tier]
        fields = _facility_fields(group, lang, target)
        data = gpd.GeoDataFrame({prop: [_text(v) for v in group[column]] for column, prop, _ in fields},
                                geometry=group.geometry.to_numpy(), crs="EPSG:4326")
        icon = folium.DivIcon(html=symbol_svg(*tier_symbol(tier)), icon_size=(16, 16), icon_anchor=(8, 8),
                              class_name="gc-facility")
        folium.GeoJson(
            data, name=html.escape(label("layer_facilities", lang, tier=tier_name(tier, lang))),
            marker=folium.Marker(icon=icon),
            popup=folium.GeoJsonPopup([prop for _, prop, _ in fields], aliases=[alias for _, _, alias in fields]),
            tooltip=folium.GeoJsonTooltip(["name"], labels=False),
        ).add_to(fmap)
    return tiers


def coverage_map(result: ScenarioResult, lang: Lang | None = None, tiles: str | None = None) -> folium.Map:
    """A self-contained Folium map of ``result``: every layer, legend, scale, full screen, ruler.

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
    target = float(config.target_minutes)
    mode = mode_name(config.mode, lang)
    tolerance = _tolerance_deg(result)
    fmap = folium.Map(tiles=None, control_scale=True, prefer_canvas=False)
    self_contained(fmap, background=NO_TILES_BACKGROUND if tiles == "none" else None, lang=lang,
                   title=config.map.title or config.name)
    _base_map(fmap, tiles, config.map.tianditu_key, lang)
    west, south, east, north = _light(result.zones, tolerance, shift).total_bounds
    fmap.fit_bounds([[south, west], [north, east]])

    png, bounds = surface_image(result, shift)
    folium.raster_layers.ImageOverlay(
        "data:image/png;base64," + base64.b64encode(png).decode("ascii"), bounds=bounds, opacity=0.7,
        name=html.escape(label("layer_surface", lang, mode=mode)), show=False, className="gc-surface",
    ).add_to(fmap)

    bands = _light(result.service_areas, tolerance, shift).sort_values("band_minutes")
    colours = dict(zip(sorted(config.bands_minutes), class_colours(config.bands_minutes)[:-2], strict=True))
    for band in bands.iloc[::-1].itertuples(index=False):
        colour = colours.get(band.band_minutes, colours[max(colours)])
        minutes = float(band.band_minutes)
        data = gpd.GeoDataFrame({"population": [_text(band.population)]}, geometry=[band.geometry], crs=4326)
        folium.GeoJson(
            data, name=html.escape(label("layer_band", lang, minutes=minutes, mode=mode)),
            style_function=lambda _, c=colour: {"fillColor": c, "color": c, "weight": 0.5, "fillOpacity": 0.45},
            tooltip=folium.GeoJsonTooltip(["population"],
                                          aliases=[html.escape(label("pop_within", lang, minutes=minutes))]),
        ).add_to(fmap)

    pct = f"pct_within_{config.target_minutes:g}".replace(".", "_")
    columns = {"zone_name": 0, "population": 0, pct: 1, "pop_unreachable": 0, "mean_minutes": 1}
    aliases = [label(key, lang, minutes=target) for key in
               ("zone_name", "population", "pct_within", "pop_unreachable", "mean_minutes")]
    for level, zones in result.zones.groupby("zone_level", sort=False):
        zones = _light(zones, tolerance, shift)
        data = _properties(zones, columns).assign(fill=[percent_colour(p) for p in zones[pct]])
        folium.GeoJson(
            data, name=html.escape(label("layer_zones", lang, level=level_name(str(level), lang), minutes=target)),
            style_function=lambda feature: {"fillColor": feature["properties"]["fill"], "color": "#333333",
                                            "weight": 1, "fillOpacity": 0.6},
            tooltip=folium.GeoJsonTooltip(list(columns), aliases=[html.escape(a) for a in aliases]),
        ).add_to(fmap)

    if len(result.gaps):
        gap_columns = {"gap_id": 0, "population": 0, "unreachable_population": 0}
        folium.GeoJson(
            _properties(_light(result.gaps, tolerance, shift), gap_columns),
            name=html.escape(label("layer_gaps", lang, minutes=target)),
            style_function=lambda _: {"fillColor": "#000000", "color": "#000000", "weight": 1,
                                      "fillOpacity": 0.35, "dashArray": "4"},
            tooltip=folium.GeoJsonTooltip(list(gap_columns),
                                          aliases=[html.escape(label(k, lang)) for k in gap_columns]),
        ).add_to(fmap)

    def light(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        return _light(frame, tolerance, shift)

    service_layers(fmap, result, lang, light)
    ambulance_layers(fmap, result, lang, light)
    audit_layer(fmap, result, lang, light)
    sites_layer(fmap, result.sites, lang, light)
    tiers = _facility_layers(fmap, result, lang, tolerance, shift)
    folium.LayerControl(collapsed=False).add_to(fmap)
    HtmlControl(legend_html(result, lang, tiers)).add_to(fmap)
    Tools(label("fullscreen", lang), label("measure_tool", lang), label("measure_hint", lang)).add_to(fmap)
    Attribution(html.escape(config.map.attribution)).add_to(fmap)
    return fmap
