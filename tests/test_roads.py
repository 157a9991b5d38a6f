"""Road line layers by Chinese grade, and streamed OSM extracts."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString

from geocover.errors import InputError
from geocover.network import build_network
from geocover.osm import read_road_segments
from geocover.roads import GRADE_SPEEDS_KMH, extract_roads, read_road_lines, road_grade


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


def test_streamed_extract_equals_the_roads_filtered_in_memory(comoros_dir, tmp_path):
    pbf = comoros_dir / "comores-latest.osm.pbf"
    bounds = (43.6, -12.45, 43.95, -12.2)  # Mwali
    extract = read_road_segments(extract_roads(pbf, tmp_path / "mwali.osm.pbf", bounds))
    whole = read_road_segments(pbf).within(bounds)
    pairs = {tuple(sorted(p)) for p in zip(extract.node_id[extract.u], extract.node_id[extract.v], strict=True)}
    expected = {tuple(sorted(p)) for p in zip(whole.node_id[whole.u], whole.node_id[whole.v], strict=True)}
    # The extract keeps whole ways, so it holds every segment touching the box and a few beyond it.
    assert expected <= pairs
    assert len(pairs) < 1.2 * len(expected)
    assert (tmp_path / "mwali.osm.pbf").stat().st_size < (pbf.stat().st_size / 4)
