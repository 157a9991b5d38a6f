"""Zones from seat points by network Voronoi equal the argmin of NetworkX times, clipped to the parent."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely.geometry import Point, box

from geocover.network.snapping import Snap, snap_points
from geocover.pipeline import run_scenario
from tests.reference import reference_minutes

ROAD = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
  {nodes}
  <way id="1">{slow}<tag k="highway" v="residential"/></way>
  <way id="2">{fast}<tag k="highway" v="primary"/></way>
</osm>
"""


@pytest.fixture()
def seats_scenario(tmp_path):
    lons = np.round(np.arange(0.0, 0.0401, 0.001), 3)
    nodes = "\n  ".join(f'<node id="{i + 1}" version="1" lat="0.0" lon="{lon:.3f}"/>' for i, lon in enumerate(lons))
    slow = "".join(f'<nd ref="{i + 1}"/>' for i in range(0, 21))
    fast = "".join(f'<nd ref="{i + 1}"/>' for i in range(20, 41))
    (tmp_path / "roads.osm").write_text(ROAD.format(nodes=nodes, slow=slow, fast=fast), encoding="utf-8")
    gpd.GeoDataFrame({"code": ["P"], "name": ["某县"]}, geometry=[box(0.0, -0.002, 0.04, 0.002)],
                     crs="EPSG:4326").to_file(tmp_path / "county.geojson")
    gpd.GeoDataFrame({"code": ["A", "B"], "name": ["甲乡政府", "乙镇政府"]},
                     geometry=[Point(0.005, 0.0), Point(0.035, 0.0)], crs="EPSG:4326").to_file(tmp_path / "seats.gpkg")
    gpd.GeoDataFrame({"name": ["卫生院"]}, geometry=[Point(0.02, 0.0)], crs="EPSG:4326").to_file(
        tmp_path / "clinics.geojson")
    with rasterio.open(tmp_path / "people.tif", "w", driver="GTiff", height=1, width=40, count=1, dtype="float32",
                       crs="EPSG:4326", transform=Affine(0.001, 0, 0.0, 0, -0.001, 0.0005), nodata=-1) as dst:
        dst.write(np.ones((1, 1, 40), dtype=np.float32))
    config = tmp_path / "seats.yaml"
    config.write_text(
        "name: seats\nmode: drive\nbands_minutes: [5]\ntarget_minutes: 5\nsnap_max_m: 300\n"
        "roads: {pbf: roads.osm}\nfacilities: {path: clinics.geojson, name_column: name}\n"
        "population: {raster: people.tif}\n"
        "zones:\n  - {level: county, path: county.geojson, id_column: code, name_column: name}\n"
        "  - {level: township, seats: seats.gpkg, id_column: code, name_column: name, parent_level: county}\n",
        encoding="utf-8",
    )
    return config


def test_network_voronoi_follows_travel_time_not_distance(seats_scenario):
    result = run_scenario(seats_scenario, progress=False)
    network = result.networks["drive"]
    cells = result.access.cell_snap
    seats = gpd.read_file(seats_scenario.parent / "seats.gpkg").to_crs(network.crs)
    seat_snap = snap_points(network, seats.geometry.x.to_numpy(), seats.geometry.y.to_numpy(), 300)
    times = np.column_stack([
        reference_minutes(network, Snap(seat_snap.edge[[k]], seat_snap.fraction[[k]], seat_snap.offset_m[[k]]),
                          cells, "to")
        for k in range(2)
    ])
    owner = times.argmin(axis=1)
    table = result.table.set_index("zone_id")
    assert table.loc["A", "population"] == (owner == 0).sum()
    assert table.loc["B", "population"] == (owner == 1).sum()
    # Seat B's road is faster: its zone reaches past the midpoint (0.02) into the slow road.
    assert (owner == 1).sum() > 20
    assert table.loc["A", "parent_id"] == "P" and table.loc["A", "zone_level"] == "township"
    assert table.loc["A", "population"] + table.loc["B", "population"] == table.loc["P", "population"] == 40
    zones = result.zones.set_index("zone_id")
    assert zones.loc["A", "geometry"].within(zones.loc["P", "geometry"].buffer(1e-9))
