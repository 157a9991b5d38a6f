"""The optional analyses on the map: ambulance radius and response, service circles, audit, proposed sites."""

from __future__ import annotations

import json
import re

import geopandas as gpd
from shapely.geometry import Point

from geocover.pipeline import run_scenario
from geocover.render.assets import render
from geocover.render.folium_map import coverage_map
from tests.test_ambulance import _stations, corridor  # noqa: F401  (fixture)


def _layers(page: str) -> dict[str, list[dict]]:
    """Layer name -> GeoJSON features of every folium GeoJson layer in a rendered page."""
    names = {var: json.loads(name) for var, name in
             re.findall(r'\{layer: (geo_json_[0-9a-f]+), name: ("[^"\n]*"),', page)}
    calls = re.findall(r"^\s*(geo_json_[0-9a-f]+)_add\((\{.*\})\);$", page, flags=re.M)
    return {names[var]: json.loads(data)["features"] for var, data in calls if var in names}


def test_ambulance_and_site_layers_carry_the_table_figures(corridor):  # noqa: F811
    _stations(corridor, [0.002])
    config = corridor.parent / "with_service.yaml"
    config.write_text(corridor.read_text(encoding="utf-8") + (
        "services: [{name: stations, tiers: [emergency_station], mode: drive, bands_minutes: [5, 10],"
        " target_minutes: 10}]\n"), encoding="utf-8")
    result = run_scenario(config, progress=False)
    result.sites = gpd.GeoDataFrame({"rank": [1], "population_added": [1234.0]}, geometry=[Point(0.1, 0.0)],
                                    crs="EPSG:4326")
    page = render(coverage_map(result, tiles="none"))
    for name in ("Ambulance radius, straight line (urban 5 km, rural 10 km)",
                 "Ambulance radius, straight line (urban 5 km, rural 20 km)",
                 "Ambulance radius, by road (urban 5 km, rural 10 km)",
                 "Ambulance radius, by road (urban 5 km, rural 20 km)",
                 "Ambulance response within 10 min", "Ambulance response within 15 min",
                 "Emergency station within 10 min (drive)", "Proposed sites"):
        assert name in page
    assert "Proposed site 1: adds 1,234 people" in page
    assert '"html": "\\u003cdiv class=\\"gc-site\\"\\u003e1\\u003c/div\\u003e"' in page, "rank on the marker"
    layers = _layers(page)
    table = result.table
    for rural_km in (10, 20):
        straight = table["pop_within_radius_urban_5km"].sum() + table[f"pop_within_radius_rural_{rural_km}km"].sum()
        (feature,) = layers[f"Ambulance radius, straight line (urban 5 km, rural {rural_km} km)"]
        assert feature["properties"]["population"] == f"{straight:,.0f}"
    (feature,) = layers["Ambulance response within 15 min"]
    assert feature["properties"]["population"] == f"{table['pop_within_response_15min'].sum():,.0f}"
    (feature,) = layers["Emergency station within 10 min (drive)"]
    assert feature["properties"]["population"] == f"{table['stations_pop_within_10'].sum():,.0f}"
