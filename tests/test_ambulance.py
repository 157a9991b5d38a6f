"""Ambulance radius per urban/rural cell (straight, road) and response minutes, worked by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import rasterio
from affine import Affine
from shapely.geometry import Point, box

from geocover.pipeline import run_scenario

ROAD = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
  {nodes}
  <way id="1">{refs}<tag k="highway" v="primary"/></way>
</osm>
"""


@pytest.fixture()
def corridor(tmp_path):
    # A primary road along the equator from 0 to 0.2 degrees east (22 km), a cell of 1 person per 0.01 degree.
    lons = np.round(np.arange(0.0, 0.2001, 0.001), 3)
    nodes = "\n  ".join(f'<node id="{i + 1}" version="1" lat="0.0" lon="{lon:.3f}"/>' for i, lon in enumerate(lons))
    refs = "".join(f'<nd ref="{i + 1}"/>' for i in range(len(lons)))
    (tmp_path / "roads.osm").write_text(ROAD.format(nodes=nodes, refs=refs), encoding="utf-8")
    gpd.GeoDataFrame({"code": ["A", "B"], "name": ["东城街道", "王家乡"]},
                     geometry=[box(0.0, -0.01, 0.05, 0.01), box(0.05, -0.01, 0.2, 0.01)],
                     crs="EPSG:4326").to_file(tmp_path / "zones.geojson")
    with rasterio.open(tmp_path / "people.tif", "w", driver="GTiff", height=1, width=20, count=1, dtype="float32",
                       crs="EPSG:4326", transform=Affine(0.01, 0, 0.0, 0, -0.01, 0.005), nodata=-1) as dst:
        dst.write(np.ones((1, 1, 20), dtype=np.float32))
    config = tmp_path / "corridor.yaml"
    config.write_text(
        "name: corridor\nmode: drive\nbands_minutes: [15]\ntarget_minutes: 15\nsnap_max_m: 2000\n"
        "roads: {pbf: roads.osm}\nfacilities: {path: stations.geojson, name_column: name}\n"
        "population: {raster: people.tif}\n"
        "zones: [{level: township, path: zones.geojson, id_column: code, name_column: name}]\n"
        "ambulance: {urban_km: 5, rural_km: [10, 20], response_minutes: [10, 15], dispatch_minutes: 1}\n",
        encoding="utf-8",
    )
    return config


def _stations(config, lons):
    gpd.GeoDataFrame({"name": ["急救站"] * len(lons)}, geometry=[Point(lon, 0.0) for lon in lons],
                     crs="EPSG:4326").to_file(config.parent / "stations.geojson")


def test_radius_and_response_by_hand(corridor):
    _stations(corridor, [0.002])
    result = run_scenario(corridor, progress=False)
    table = result.table.set_index("zone_id")
    a, b = table.loc["A"], table.loc["B"]
    assert (a["urban_rural"], b["urban_rural"]) == ("urban", "rural")
    assert (a["pop_urban"], a["pop_rural"], b["pop_urban"], b["pop_rural"]) == (5, 0, 0, 15)
    # Cells centred 0.003 .. 0.193 degrees (0.33 .. 21.5 km) from the station: urban cells all within 5 km;
    # rural cells within 10 km: 5.9, 7.0, 8.1, 9.2 km; within 20 km: the 13 up to 19.3 km.
    assert a["pop_within_radius_urban_5km"] == 5 and b["pop_within_radius_urban_5km"] == 0
    assert b["pop_within_radius_rural_10km"] == 4 and b["pop_within_radius_rural_20km"] == 13
    # The road runs straight through the cells: the same by road.
    assert a["pop_within_road_radius_urban_5km"] == 5
    assert b["pop_within_road_radius_rural_10km"] == 4 and b["pop_within_road_radius_rural_20km"] == 13
    # Response: 1 minute of dispatch, then 60 km/h x 1.2 = 1.2 km a minute: within 10 min up to 10.8 km
    # (rural cells 0.055 .. 0.095), within 15 min up to 16.8 km (0.055 .. 0.145, ten cells).
    assert (a["pop_within_response_10min"], b["pop_within_response_10min"]) == (5, 5)
    assert (a["pop_within_response_15min"], b["pop_within_response_15min"]) == (5, 10)
    utm = pyproj.Transformer.from_crs("EPSG:4326", result.network.crs, always_xy=True)
    station_x = utm.transform(0.002, 0.0)[0]
    cells_x = utm.transform(np.arange(0.005, 0.05, 0.01), np.zeros(5))[0]
    assert a["mean_response_minutes"] == pytest.approx(1 + np.mean(np.abs(cells_x - station_x)) / 1200.0, rel=1e-6)
    assert b["pop_within_radius_rural_20km_2plus"] == 0


def test_two_stations_cover_twice(corridor):
    _stations(corridor, [0.002, 0.19])
    table = run_scenario(corridor, progress=False).table.set_index("zone_id")
    # Within 20 km of both: every rural cell up to 19.3 km from the first (the second reaches them all).
    assert table.loc["B", "pop_within_radius_rural_20km_2plus"] == 13
    # Within 10 km of both: the first reaches cells to 9.2 km (0.085), the second the ten from 0.105: none twice.
    assert table.loc["B", "pop_within_radius_rural_10km_2plus"] == 0
    assert table.loc["B", "pop_within_radius_rural_10km"] == 4 + 10


def test_ambulances_needed_per_30000_against_the_fleet(corridor):
    _stations(corridor, [0.002])
    (corridor.parent / "stats.csv").write_text("区划代码,常住人口,救护车\nA,65000,2\nB,30000,1\n", encoding="utf-8")
    config = corridor.parent / "fleet.yaml"
    config.write_text(corridor.read_text(encoding="utf-8") + "statistics: {path: stats.csv}\n", encoding="utf-8")
    table = run_scenario(config, progress=False).table.set_index("zone_id")
    # ceil(65,000 / 30,000) = 3 against 2; ceil(30,000 / 30,000) = 1 against 1.
    assert (table.loc["A", "ambulances_needed"], table.loc["A", "ambulances_to_add"]) == (3, 1)
    assert (table.loc["B", "ambulances_needed"], table.loc["B", "ambulances_to_add"]) == (1, 0)


def test_urban_and_rural_speed_factors(corridor):
    _stations(corridor, [0.002])
    plain = run_scenario(corridor, progress=False).networks["drive"]
    config = corridor.parent / "factors.yaml"
    config.write_text(corridor.read_text(encoding="utf-8").replace(
        "roads: {pbf: roads.osm}", "roads: {pbf: roads.osm, urban_factor: 0.5, rural_factor: 0.8}"), encoding="utf-8")
    slowed = run_scenario(config, progress=False).networks["drive"]
    np.testing.assert_array_equal(plain.u, slowed.u)
    # Segments whose midpoint lies in 东城街道 (urban, west of 0.05 degrees) at half speed, the rest at 0.8.
    lon = pyproj.Transformer.from_crs(plain.crs, "EPSG:4326", always_xy=True).transform(
        (plain.x[plain.u] + plain.x[plain.v]) / 2, (plain.y[plain.u] + plain.y[plain.v]) / 2)[0]
    expected = np.where(lon < 0.05, 1 / 0.5, 1 / 0.8)
    np.testing.assert_allclose(slowed.minutes_uv / plain.minutes_uv, expected, rtol=1e-9)
    assert (lon < 0.05).sum() == 50
