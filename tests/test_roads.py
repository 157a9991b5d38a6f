"""Road line layers by Chinese grade, and streamed OSM extracts."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString

import geocover.io.osm
from geocover.errors import InputError
from geocover.io.osm import RoadSegments, read_road_segments
from geocover.io.road_lines import GRADE_SPEEDS_KMH, read_road_lines, road_grade
from geocover.network.graph import build_network


def test_road_grade_names_and_codes():
    assert road_grade("国道") == "national"
    assert road_grade("G105") == "national"
    assert road_grade("S210") == "provincial"
    assert road_grade("县道X001") == "county"
    assert road_grade("Y002") == "township"
    assert road_grade("村道") == "village"
    assert road_grade("城市道路") == "urban"
    assert road_grade("高速公路") == "expressway"
    assert road_grade("footpath") is None
    assert road_grade(None) is None


@pytest.fixture()
def road_file(tmp_path):
    # Three lines in a local metric CRS (CGCS2000 / 3-degree GK CM 117E) meeting at shared vertices.
    lines = gpd.GeoDataFrame(
        {"等级": ["国道", "村道", "X001"], "单向": ["", "1", "逆向"]},
        geometry=[
            LineString([(500000, 4000000), (501000, 4000000), (502000, 4000000)]),
            LineString([(502000, 4000000), (502000, 4000600)]),
            LineString([(500000, 4000000), (500000, 4000800)]),
        ],
        crs="EPSG:4548",
    )
    path = tmp_path / "roads.gpkg"
    lines.to_file(path, driver="GPKG")
    return path


def test_line_layer_becomes_a_network_with_grade_speeds(road_file):
    segments = read_road_lines(road_file, "等级", "单向")
    assert len(segments.node_id) == 5 and len(segments.u) == 4
    drive = build_network(segments, "drive", "EPSG:4548")
    by_grade = {}
    for e in range(drive.n_edges):
        length = drive.length_m[e]
        by_grade.setdefault(round(length), []).append((drive.minutes_uv[e], drive.minutes_vu[e]))
    # National road: two 1 km pieces at 70 km/h both ways.
    for forward, back in by_grade[1000]:
        assert forward == pytest.approx(1000 / (GRADE_SPEEDS_KMH["national"] * 1000 / 60), rel=1e-6)
        assert back == forward
    # Village road of 600 m, one way along its drawing; county road of 800 m, one way against it.
    (village,) = by_grade[600]
    assert village[0] == pytest.approx(600 / (20 * 1000 / 60), rel=1e-6) and np.isinf(village[1])
    (county,) = by_grade[800]
    assert np.isinf(county[0]) and county[1] == pytest.approx(800 / (40 * 1000 / 60), rel=1e-6)


def test_unknown_grades_are_all_reported(tmp_path):
    lines = gpd.GeoDataFrame(
        {"grade": ["国道", "bridleway", "", "S1"]},
        geometry=[LineString([(0, 0), (1, 0)])] * 4,
        crs="EPSG:4326",
    )
    path = tmp_path / "bad.gpkg"
    lines.to_file(path, driver="GPKG")
    with pytest.raises(InputError) as error:
        read_road_lines(path, "grade")
    rows = [p.row for p in error.value.problems]
    assert rows == [2, 3]
    assert all(p.column == "grade" and str(path) in str(p) for p in error.value.problems)
    with pytest.raises(InputError, match="column not found"):
        read_road_lines(path, "等级")


def _by_id(segments: RoadSegments) -> pd.DataFrame:
    """Segments as rows of node ids, coordinates and way tags, in a fixed order."""
    frame = pd.DataFrame({
        "u": segments.node_id[segments.u], "v": segments.node_id[segments.v],
        "lon_u": segments.lon[segments.u], "lat_u": segments.lat[segments.u],
        "lon_v": segments.lon[segments.v], "lat_v": segments.lat[segments.v],
        **{name: getattr(segments, name) for name in
           ("way_id", "highway", "oneway", "maxspeed_kmh", "foot_forbidden", "motor_forbidden")},
    })
    return frame.sort_values(["way_id", "u", "v"]).reset_index(drop=True)


@pytest.mark.parametrize("flush_refs", [None, 1000])
def test_bounded_read_equals_the_whole_ways_filtered_in_memory(comoros_dir, monkeypatch, flush_refs):
    pbf = comoros_dir / "comores-latest.osm.pbf"
    bounds = (43.2, -11.95, 43.5, -11.65)  # the south of Ngazidja, cut across its roads
    whole = read_road_segments(pbf)
    if flush_refs is not None:
        monkeypatch.setattr(geocover.io.osm, "_FLUSH_REFS", flush_refs)
    south_ngazidja = read_road_segments(pbf, bounds)
    west, south, east, north = bounds
    inside = (whole.lon >= west) & (whole.lon <= east) & (whole.lat >= south) & (whole.lat <= north)
    ways = np.unique(whole.way_id[inside[whole.u] | inside[whole.v]])
    expected = _by_id(whole)[lambda frame: frame["way_id"].isin(ways)].reset_index(drop=True)
    # Every way reaching the box, with all its segments, even those beyond the box.
    pd.testing.assert_frame_equal(_by_id(south_ngazidja), expected)
    assert 0 < len(south_ngazidja.u) < len(whole.u) / 2
    assert not (inside[whole.u] | inside[whole.v])[np.isin(whole.way_id, ways)].all()
    assert set(south_ngazidja.node_id) <= set(whole.node_id)
