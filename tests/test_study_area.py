"""A zone at a border is served by the clinic across it: the study area is the zones plus a buffer."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely.geometry import LineString, Point, box

from geocover.config import load_config
from geocover.errors import InputError
from geocover.pipeline import run_scenario

ROAD_XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
  {nodes}
  <way id="1">{refs}<tag k="highway" v="residential"/></way>
</osm>
"""


@pytest.fixture()
def border_scenario(tmp_path):
    # A straight street along the equator from 0 to 0.02 degrees east (about 2.2 km).
    lons = np.linspace(0.0, 0.02, 21)
    nodes = "\n  ".join(f'<node id="{i + 1}" version="1" lat="0.0" lon="{lon:.4f}"/>' for i, lon in enumerate(lons))
    refs = "".join(f'<nd ref="{i + 1}"/>' for i in range(len(lons)))
    (tmp_path / "roads.osm").write_text(ROAD_XML.format(nodes=nodes, refs=refs), encoding="utf-8")
    # Zone A covers 0..0.01 east; the clinic stands at 0.012, across its border; another is 1.1 km off-road.
    gpd.GeoDataFrame({"code": ["A"], "name": ["zone A"]}, geometry=[box(0.0, -0.001, 0.01, 0.001)],
                     crs="EPSG:4326").to_file(tmp_path / "zones.geojson")
    gpd.GeoDataFrame({"name": ["across the border", "far from any road"]},
                     geometry=[Point(0.012, 0.0001), Point(0.005, 0.01)],
                     crs="EPSG:4326").to_file(tmp_path / "clinics.geojson")
    # One person per 0.001-degree cell along the street, 20 cells.
    with rasterio.open(tmp_path / "people.tif", "w", driver="GTiff", height=1, width=20, count=1, dtype="float32",
                       crs="EPSG:4326", transform=Affine(0.001, 0, 0.0, 0, -0.001, 0.0005), nodata=-1) as dst:
        dst.write(np.ones((1, 1, 20), dtype=np.float32))
    config = tmp_path / "border.yaml"
    config.write_text(
        "name: border\nmode: walk\nbands_minutes: [15]\ntarget_minutes: 15\nsnap_max_m: 200\n"
        "roads: {pbf: roads.osm}\nfacilities: {path: clinics.geojson, name_column: name}\n"
        "population: {raster: people.tif}\n"
        "zones: [{level: township, path: zones.geojson, id_column: code, name_column: name}]\n",
        encoding="utf-8",
    )
    return config


def test_clinic_across_the_border_serves_the_zone(border_scenario):
    result = run_scenario(border_scenario, progress=False)
    row = result.table.iloc[0]
    # Cells centred at 0.0005 .. 0.0095 east. Walking 5 km/h = 83.3 m/min; 0.001 degree = 111.3 m:
    # the cell at 0.0015 is 0.0105 degrees (1,169 m) + 11 m off-road from the clinic = 14.2 min, within;
    # the cell at 0.0005 is 1,280 m + 11 m = 15.5 min, beyond. So 9 of 10 people are within 15 minutes.
    assert row["population"] == 10
    assert row["pop_within_15"] == 9
    assert row["pop_beyond_15"] == 1
    assert row["pop_unreachable"] == 0
    assert row["facilities"] == 0  # the clinic is not inside the zone, yet it serves it
    far = result.facilities.set_index("name").loc["far from any road"]
    assert not far["snapped"] and far["population_nearest"] == 0
    near = result.facilities.set_index("name").loc["across the border"]
    assert near["snapped"] and near["snap_distance_m"] == pytest.approx(11.1, abs=0.2)


def test_road_line_layer_gives_the_same_answer(border_scenario):
    folder = border_scenario.parent
    gpd.GeoDataFrame({"grade": ["村道"]}, geometry=[LineString([(0.0, 0.0), (0.02, 0.0)])],
                     crs="EPSG:4326").to_file(folder / "roads.gpkg")
    config = folder / "lines.yaml"
    config.write_text(border_scenario.read_text(encoding="utf-8").replace(
        "roads: {pbf: roads.osm}", "roads: {lines: roads.gpkg, grade_column: grade}"), encoding="utf-8")
    row = run_scenario(config, progress=False).table.iloc[0]
    assert (row["pop_within_15"], row["pop_beyond_15"]) == (9, 1)


def test_zones_beyond_every_road_name_the_road_file(border_scenario):
    folder = border_scenario.parent
    gpd.GeoDataFrame({"code": ["B"], "name": ["zone B"]}, geometry=[box(1.0, 1.0, 1.01, 1.01)],
                     crs="EPSG:4326").to_file(folder / "far.geojson")
    config = folder / "far.yaml"
    config.write_text(border_scenario.read_text(encoding="utf-8").replace("zones.geojson", "far.geojson"),
                      encoding="utf-8")
    with pytest.raises(InputError, match="no road open to walk within the study area") as error:
        run_scenario(config, progress=False)
    assert "roads.osm" in str(error.value)


def test_study_area_reaches_as_far_as_the_longest_analysis(border_scenario):
    plain = load_config(border_scenario)
    assert plain.reach_minutes() == {"walk": 15}
    widened = border_scenario.parent / "fca.yaml"
    widened.write_text(border_scenario.read_text(encoding="utf-8") + "fca: {max_minutes: 30}\n", encoding="utf-8")
    assert load_config(widened).reach_minutes() == {"walk": 60}  # a cell's facilities and their own catchments
    width = [run_scenario(c, progress=False).study_area.to_crs("EPSG:32631").total_bounds for c in
             (border_scenario, widened)]
    # walking 5 km/h: 15 minutes reach 1,250 m beyond the zone, 60 minutes 5,000 m
    assert width[0][2] - width[0][0] == pytest.approx(1113 + 2 * 1250, rel=0.01)
    assert width[1][2] - width[1][0] == pytest.approx(1113 + 2 * 5000, rel=0.01)
