"""Map layers of the optional analyses: service circles per tier, ambulance radius and response,
standards audit per zone, and proposed sites. Each appears only when its analysis ran.

All polygons are traced from the same population cells as the tables, so map and tables agree.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import branca.element
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from jinja2 import Template

from geocover.analysis.polygons import trace_polygons
from geocover.pipeline import ScenarioResult
from geocover.render.i18n import Lang, label, mode_name, service_label
from geocover.render.legend import Legend, swatch_row

Light = Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame]

_AMBULANCE_COLOURS = {"straight": "#2166ac", "road": "#762a83", "response": "#b2182b"}
_AUDIT_FAIL, _AUDIT_PASS = "#b2182b", "#4393c3"


def _cells_polygon(result: ScenarioResult, mask: np.ndarray) -> gpd.GeoDataFrame:
    """One (multi)polygon of the valid cells where ``mask`` (in ``grid.valid`` order) holds, EPSG:4326."""
    grid = result.access.grid
    labels = np.zeros(grid.shape, dtype=np.int32)
    labels[grid.valid] = mask.astype(np.int32)
    traced = trace_polygons(grid, labels)
    people = float(grid.population[grid.valid][mask].sum())
    return gpd.GeoDataFrame({"population": [f"{people:,.0f}"]}, geometry=traced.geometry.to_numpy()[:1],
                            crs=grid.crs).to_crs("EPSG:4326")


def _area_layer(fmap: folium.Map, data: gpd.GeoDataFrame, name: str, colour: str, alias: str,
                legend: Legend, group: str) -> None:
    """An area layer (off at first) in ``group``, with a legend row of its colour and name."""
    if data.empty:
        return
    layer = folium.GeoJson(
        data, name=html.escape(name), show=False,
        style_function=lambda _, c=colour: {"fillColor": c, "color": c, "weight": 1, "fillOpacity": 0.25},
        tooltip=folium.GeoJsonTooltip(["population"], aliases=[html.escape(alias)]),
    ).add_to(fmap)
    key = f"area_{len(legend.entries)}"
    legend.add(layer, html.escape(name), group, [key])
    legend.section(swatch_row(f"background:{colour}40;border:1px solid {colour}", name), [key])


def service_layers(fmap: folium.Map, result: ScenarioResult, lang: Lang, light: Light, legend: Legend) -> None:
    """The target band of each service circle (per-tier mode and minutes)."""
    for service in result.services.values():
        config = service.config
        areas = service.service_areas
        band = light(areas[areas["band_minutes"] == config.target_minutes])
        data = band.assign(population=[f"{p:,.0f}" for p in band["population"]])[["population", "geometry"]]
        title = label("layer_service", lang, service=service_label(config, lang), minutes=config.target_minutes,
                      mode=mode_name(config.mode, lang))
        _area_layer(fmap, data, title, "#1b7837", label("pop_within", lang, minutes=config.target_minutes),
                    legend, "group_travel")


def ambulance_layers(fmap: folium.Map, result: ScenarioResult, lang: Lang, light: Light, legend: Legend) -> None:
    """Cells within the ambulance radius of their class (straight line, by road), one layer per rural
    radius the plan sets, and within each response time."""
    cells = result.ambulance
    if cells is None:
        return
    config = result.config.ambulance
    urban_km = config.urban_km
    for rural_km in sorted(config.rural_km):
        radius = np.where(cells.urban, urban_km, rural_km)
        for measure, km in (("straight", cells.straight_km), ("road", cells.road_km)):
            title = label(f"layer_ambulance_{measure}", lang, urban=urban_km, rural=rural_km)
            _area_layer(fmap, light(_cells_polygon(result, km <= radius)), title, _AMBULANCE_COLOURS[measure],
                        label("population", lang), legend, "group_ambulance")
    for minutes in sorted(config.response_minutes):
        title = label("layer_ambulance_response", lang, minutes=minutes)
        _area_layer(fmap, light(_cells_polygon(result, cells.response_minutes <= minutes)), title,
                    _AMBULANCE_COLOURS["response"], label("population", lang), legend, "group_ambulance")


def audit_layer(fmap: folium.Map, result: ScenarioResult, lang: Lang, light: Light, legend: Legend) -> None:
    """Zones coloured by the number of standards they fail, with the failing rules as tooltip."""
    audit = result.audit
    if audit is None or audit.empty:
        return
    judged = audit[audit["status"].isin(["pass", "fail"]) & audit["unit_id"].notna()]
    if judged.empty:
        return
    per_unit = judged.groupby("unit_id").agg(
        failed=("status", lambda s: int((s == "fail").sum())), judged=("status", "size"),
        rules=("rule_id", lambda r: ", ".join(sorted(set(r[judged.loc[r.index, "status"] == "fail"])))),
    )
    zones = result.zones.drop_duplicates("zone_id").set_index("zone_id")
    zones = zones[zones.index.isin(per_unit.index)]
    if zones.empty:
        return
    shown = light(gpd.GeoDataFrame(zones[["zone_name"]], geometry=zones.geometry, crs=zones.crs))
    rows = per_unit.loc[shown.index]
    data = gpd.GeoDataFrame({
        "zone_name": [html.escape(str(n)) for n in shown["zone_name"]],
        "failed": [f"{f} / {j}" for f, j in zip(rows["failed"], rows["judged"], strict=True)],
        "rules": [html.escape(r) for r in rows["rules"]],
        "share": (rows["failed"] / rows["judged"]).to_numpy(),
    }, geometry=shown.geometry.to_numpy(), crs="EPSG:4326")
    name = html.escape(label("layer_audit", lang))
    layer = folium.GeoJson(
        data, name=name, show=False,
        style_function=lambda feature: {"fillColor": _AUDIT_FAIL if feature["properties"]["share"] > 0 else _AUDIT_PASS,
                                        "color": "#333333", "weight": 1, "fillOpacity": 0.6},
        tooltip=folium.GeoJsonTooltip(["zone_name", "failed", "rules"], aliases=[
            html.escape(label(k, lang)) for k in ("zone_name", "audit_failed", "audit_rules")]),
    ).add_to(fmap)
    legend.add(layer, name, "group_standards", ["audit"])
    legend.section(swatch_row(f"background:{_AUDIT_FAIL}99", label("legend_audit_fail", lang))
                   + swatch_row(f"background:{_AUDIT_PASS}99", label("legend_audit_pass", lang)), ["audit"])


class _TextPopup(branca.element.MacroElement):
    """A popup of escaped HTML bound to its parent marker (Folium's ``Popup`` needs jQuery)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.bindPopup({{ this.text|tojson }});
        {% endmacro %}
    """)

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "TextPopup"
        self.text = text


def site_icon(rank: int) -> folium.DivIcon:
    """A white disc with the site's rank, as drawn on the map and in the legend."""
    return folium.DivIcon(html=f'<div class="gc-site">{rank}</div>', icon_size=(20, 20), icon_anchor=(10, 10),
                          class_name="gc-facility")


def sites_layer(fmap: folium.Map, sites: pd.DataFrame | None, lang: Lang, light: Light, legend: Legend) -> None:
    """Proposed sites, their rank drawn on the marker, with the population each adds (popup and tooltip)."""
    if sites is None or len(sites) == 0:
        return
    points = light(gpd.GeoDataFrame(sites, crs=getattr(sites, "crs", "EPSG:4326")))
    name = html.escape(label("layer_sites", lang))
    group = folium.FeatureGroup(name=name).add_to(fmap)
    for point, rank, people in zip(points.geometry, points["rank"], points["population_added"], strict=True):
        text = html.escape(label("site_popup", lang, rank=int(rank), people=f"{float(people):,.0f}"))
        marker = folium.Marker([point.y, point.x], icon=site_icon(int(rank)), tooltip=folium.Tooltip(text))
        marker.add_child(_TextPopup(text)).add_to(group)
    legend.add(group, name, "group_siting", ["sites"])
    legend.section('<div class="gc-row"><span class="gc-site gc-site-swatch">1</span>'
                   f"{html.escape(label('legend_sites', lang))}</div>", ["sites"])
