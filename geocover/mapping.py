"""The interactive Folium map of a scenario.

Every text taken from the data (facility and zone names) is HTML-escaped before
it reaches the page, so a facility named ``<script>…`` shows as text.
"""

from __future__ import annotations

import html

import branca.colormap
import branca.element
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geocover.pipeline import ScenarioResult

_BAND_COLOURS = ["#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59", "#d73027"]
_TIER_COLOURS = {
    "hospital": "#b2182b", "clinic": "#2166ac", "doctors": "#5aae61", "other": "#542788",
}


def _escaped(frame: gpd.GeoDataFrame, columns: list[str]) -> gpd.GeoDataFrame:
    """Keep ``columns``, escape text, round numbers, so the GeoJSON is safe and light."""
    out = frame[columns + ["geometry"]].copy()
    for column in columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].astype(str).map(html.escape)
        elif pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].round(1)
    return out


def _light(frame: gpd.GeoDataFrame, tolerance_deg: float) -> gpd.GeoDataFrame:
    """Simplify to ``tolerance_deg`` and round coordinates to about 1 m."""
    out = frame.to_crs("EPSG:4326")
    geometry = out.geometry.simplify(tolerance_deg, preserve_topology=True)
    out["geometry"] = shapely.set_precision(geometry.to_numpy(), 1e-5)
    return out[~out.geometry.is_empty & out.geometry.notna()]


def _legend(colormap: branca.colormap.LinearColormap, result: ScenarioResult) -> str:
    """A plain HTML legend (Branca's own needs d3 from a CDN)."""
    stops = ", ".join(f"{colormap(v)} {v}%" for v in (0, 50, 100))
    title = html.escape(result.config.map.title or result.config.name)
    return (
        '<div style="position:absolute;bottom:24px;right:10px;z-index:1000;background:#fff;padding:6px 8px;'
        'font:12px sans-serif;border-radius:4px;box-shadow:0 0 4px rgba(0,0,0,.4)">'
        f"<b>{title}</b><br>{html.escape(colormap.caption)}"
        f'<div style="width:180px;height:10px;background:linear-gradient(to right, {stops})"></div>'
        '<div style="display:flex;justify-content:space-between"><span>0</span><span>50</span><span>100</span></div>'
        "</div>"
    )


def coverage_map(result: ScenarioResult) -> folium.Map:
    """A Folium map: facilities, nested bands, zone choropleths, gaps and a layer control.

    Parameters
    ----------
    result : ScenarioResult

    Returns
    -------
    folium.Map
    """
    config = result.config
    target = f"{config.target_minutes:g}".replace(".", "_")
    west, south, east, north = result.zones.to_crs("EPSG:4326").total_bounds
    tiles = None if config.map.tiles == "none" else "OpenStreetMap"
    fmap = folium.Map(tiles=tiles, attr=config.map.attribution, control_scale=True)
    fmap.fit_bounds([[south, west], [north, east]])
    tolerance = abs(result.access.grid.transform.a) / 2.0
    if result.access.grid.crs.is_projected:
        tolerance /= 111_000.0

    bands = _light(result.service_areas, tolerance).sort_values("band_minutes")
    bands["colour"] = _BAND_COLOURS[: len(bands)] + ["#d73027"] * max(0, len(bands) - len(_BAND_COLOURS))
    for band in bands.iloc[::-1].itertuples(index=False):
        colour = band.colour
        layer = folium.FeatureGroup(name=f"Within {band.band_minutes:g} min ({config.mode})")
        folium.GeoJson(
            gpd.GeoDataFrame({"population": [round(band.population)]}, geometry=[band.geometry], crs=4326),
            style_function=lambda _, c=colour: {"fillColor": c, "color": c, "weight": 0.5, "fillOpacity": 0.45},
            tooltip=folium.GeoJsonTooltip(["population"], aliases=[f"People within {band.band_minutes:g} min"]),
        ).add_to(layer)
        layer.add_to(fmap)

    colormap = branca.colormap.LinearColormap(
        ["#d73027", "#fee08b", "#1a9850"], vmin=0, vmax=100,
        caption=f"% of people within {config.target_minutes:g} min",
    )
    for level, zones in result.zones.groupby("zone_level", sort=False):
        columns = ["zone_name", "population", f"pct_within_{target}", "pop_unreachable", "mean_minutes"]
        data = _escaped(_light(zones, tolerance), columns)
        pct = f"pct_within_{target}"
        folium.GeoJson(
            data,
            name=f"{level}: % within {config.target_minutes:g} min",
            style_function=lambda feature, p=pct: {
                "fillColor": "#999999" if feature["properties"][p] is None
                else colormap(feature["properties"][p]),
                "color": "#333333", "weight": 1, "fillOpacity": 0.6,
            },
            tooltip=folium.GeoJsonTooltip(columns),
        ).add_to(fmap)
    fmap.get_root().html.add_child(branca.element.Element(_legend(colormap, result)), name="legend")

    if len(result.gaps):
        gaps = _escaped(_light(result.gaps, tolerance), ["gap_id", "population", "unreachable_population"])
        folium.GeoJson(
            gaps,
            name=f"Gaps: people beyond {config.target_minutes:g} min",
            style_function=lambda _: {"fillColor": "#000000", "color": "#000000", "weight": 1,
                                      "fillOpacity": 0.35, "dashArray": "4"},
            tooltip=folium.GeoJsonTooltip(["gap_id", "population", "unreachable_population"]),
        ).add_to(fmap)

    layer = folium.FeatureGroup(name="Facilities")
    points = result.facilities.to_crs("EPSG:4326")
    for row in points.itertuples(index=False):
        name = html.escape(str(row.name))
        tier = html.escape(str(row.tier))
        served = int(np.round(row.population_within_target))
        popup = (f"<b>{name}</b><br>tier: {tier}<br>"
                 f"people within {config.target_minutes:g} min, nearest: {served:,}")
        folium.CircleMarker(
            [row.geometry.y, row.geometry.x], radius=6, weight=1, color="#000000", fill=True,
            fill_color=_TIER_COLOURS.get(str(row.tier), _TIER_COLOURS["other"]), fill_opacity=0.9,
            popup=folium.Popup(popup, max_width=300), tooltip=name,
        ).add_to(layer)
    layer.add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    return fmap
