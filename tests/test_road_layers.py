"""OSM and local road layers together (network.combine): hand-built layers with a known answer, the config
and up-front checks, and the Comoros PBF with a village road drawn where OSM has none."""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import networkx as nx
import numpy as np
import pyproj
import pytest
from scipy.sparse.csgraph import dijkstra
from shapely import LineString

from geocover.io.road_lines import GRADE_SPEEDS_KMH
from geocover.network.combine import combine_roads
from geocover.network.graph import DRIVE_SPEEDS_KMH, build_network
from geocover.network.segments import RoadSegments

CRS = "EPSG:32631"  # UTM 31N: combine_roads and the networks here measure in the same metres as the layers
PRIMARY_M_PER_MIN = DRIVE_SPEEDS_KMH["primary"] * 1000.0 / 60.0
VILLAGE_M_PER_MIN = GRADE_SPEEDS_KMH["village"] * 1000.0 / 60.0


def layer(lines: list[list[tuple[float, float]]], highway: str, **per_line: list) -> RoadSegments:
    """Segments of hand-drawn lines in metres (UTM 31N), with per-line ``bridge``, ``tunnel`` or ``layer``."""
    frame = gpd.GeoDataFrame({"highway": [highway] * len(lines)}, geometry=[LineString(c) for c in lines], crs=CRS)
    segments = RoadSegments.from_gdf(frame)
    return replace(segments, **{name: np.asarray(values)[segments.way_id - 1] for name, values in per_line.items()})


def drive_minutes(segments: RoadSegments, start: tuple[float, float], end: tuple[float, float]) -> float:
    """Shortest drive minutes between the nodes at two points (within 1 cm), by scipy on the built network."""
    network = build_network(segments, "drive", CRS)
    nodes = [int(np.flatnonzero(np.hypot(network.x - x, network.y - y) < 0.01)[0]) for x, y in (start, end)]
    return float(dijkstra(network.csr(), indices=nodes[0])[nodes[1]])


def reference_minutes(edges: list[tuple[tuple, tuple, float]], start: tuple, end: tuple) -> float:
    """NetworkX Dijkstra on the graph drawn by hand: ``(a, b, metres per minute)``, lengths by Pythagoras."""
    graph = nx.Graph()
    for a, b, speed in edges:
        graph.add_edge(a, b, minutes=np.hypot(b[0] - a[0], b[1] - a[1]) / speed)
    try:
        return nx.shortest_path_length(graph, start, end, weight="minutes")
    except nx.NetworkXNoPath:
        return np.inf


W, E = (500000.0, 100000.0), (501000.0, 100000.0)
OSM = [[W, E]]


def test_a_line_end_within_tolerance_joins_the_osm_road_at_the_foot():
    # A village road ending 3 m south of a 1 km primary road: joined at the foot (500400, 100000).
    village = [[(500400.0, 99997.0), (500400.0, 99500.0)]]
    combined, report = combine_roads({"OSM": layer(OSM, "primary"), "村道": layer(village, "village")}, join_m=5)
    assert report.junctions == 1 and report.duplicate_segments == {"OSM": 0, "村道": 0}
    assert report.km["OSM"] == pytest.approx(1.0, abs=1e-6)
    assert report.km["村道"] == pytest.approx(0.5, abs=1e-6)  # 499.997... m drawn, 500 m once on the OSM road
    assert len(combined.u) == 3 and np.bincount(combined.source).tolist() == [2, 1]
    foot, far = (500400.0, 100000.0), (500400.0, 99500.0)
    edges = [(W, foot, PRIMARY_M_PER_MIN), (foot, E, PRIMARY_M_PER_MIN), (foot, far, VILLAGE_M_PER_MIN)]
    for end in (W, E):
        expected = reference_minutes(edges, far, end)
        assert drive_minutes(combined, far, end) == pytest.approx(expected, rel=1e-6)
    assert drive_minutes(combined, far, W) == pytest.approx(500 / VILLAGE_M_PER_MIN + 400 / PRIMARY_M_PER_MIN, rel=1e-6)
    assert {1, 2} <= set(combined.node_id)  # the OSM node ids are kept


def test_a_line_end_near_an_osm_node_joins_that_node_without_a_split():
    osm = [[W, (500400.0, 100000.0), E]]
    village = [[(500402.0, 99997.0), (500402.0, 99500.0)]]
    combined, report = combine_roads({"OSM": layer(osm, "primary"), "村道": layer(village, "village")}, join_m=5)
    assert report.junctions == 1 and len(combined.u) == 3
    expected = np.hypot(2.0, 500.0) / VILLAGE_M_PER_MIN + 400 / PRIMARY_M_PER_MIN
    assert drive_minutes(combined, (500402.0, 99500.0), W) == pytest.approx(expected, rel=1e-6)


def test_a_line_end_beyond_tolerance_stays_apart():
    village = [[(500400.0, 99992.0), (500400.0, 99500.0)]]  # 8 m short
    combined, report = combine_roads({"OSM": layer(OSM, "primary"), "村道": layer(village, "village")}, join_m=5)
    assert report.junctions == 0 and len(combined.u) == 2
    assert drive_minutes(combined, (500400.0, 99500.0), W) == np.inf


@pytest.mark.parametrize(("tags", "joined"), [
    ({}, True),
    ({"bridge": [True]}, False),
    ({"tunnel": [True]}, False),
    ({"layer": [1]}, False),
])
def test_a_crossing_is_joined_unless_grade_separated(tags, joined):
    village = [[(500500.0, 99500.0), (500500.0, 100500.0)]]
    combined, report = combine_roads({"OSM": layer(OSM, "primary", **tags), "村道": layer(village, "village")})
    south, cross = (500500.0, 99500.0), (500500.0, 100000.0)
    edges = [(W, cross, PRIMARY_M_PER_MIN), (cross, E, PRIMARY_M_PER_MIN), (south, cross, VILLAGE_M_PER_MIN),
             (cross, (500500.0, 100500.0), VILLAGE_M_PER_MIN)] if joined else [(W, E, PRIMARY_M_PER_MIN)]
    assert report.junctions == int(joined) and len(combined.u) == (4 if joined else 2)
    assert report.km == pytest.approx({"OSM": 1.0, "村道": 1.0}, abs=1e-6)
    expected = reference_minutes(edges, south, W) if joined else np.inf
    assert drive_minutes(combined, south, W) == pytest.approx(expected, rel=1e-6)


def test_a_local_road_along_osm_is_dropped_and_its_open_end_joined():
    # 1 km drawn 8 m beside the OSM road (a duplicate), then 500 m north from its east end.
    village = [[(500000.0, 100008.0), (501000.0, 100008.0), (501000.0, 100500.0)]]
    combined, report = combine_roads({"OSM": layer(OSM, "primary"), "村道": layer(village, "village")})
    assert report.duplicate_segments == {"OSM": 0, "村道": 1}
    assert report.duplicate_km["村道"] == pytest.approx(1.0, abs=1e-6)
    assert report.km == pytest.approx({"OSM": 1.0, "村道": 0.5}, abs=1e-6)  # now from the OSM end node E
    assert report.junctions == 1
    expected = 500 / VILLAGE_M_PER_MIN + 1000 / PRIMARY_M_PER_MIN
    assert drive_minutes(combined, (501000.0, 100500.0), W) == pytest.approx(expected, rel=1e-6)
    assert "1 segments, 1.0 km dropped as duplicates" in report.notes()[0]


def test_a_local_road_only_partly_along_osm_is_kept():
    # OSM has the first and last 200 m only: both ends of the local segment lie near OSM, its middle does not.
    osm = [[W, (500200.0, 100000.0)], [(500800.0, 100000.0), E]]
    village = [[(500000.0, 100008.0), (501000.0, 100008.0)]]
    combined, report = combine_roads({"OSM": layer(osm, "primary"), "村道": layer(village, "village")})
    assert report.duplicate_segments["村道"] == 0
    assert report.km["村道"] == pytest.approx(1.0, abs=1e-3)


def test_an_osm_dead_end_joins_a_local_road_which_bends_to_it():
    osm = [[W, (500400.0, 99997.0)]]  # an OSM track ending 3 m north of a local road
    village = [[(500000.0, 99994.0), (501000.0, 99994.0)]]
    combined, report = combine_roads({"OSM": layer(osm, "track"), "村道": layer(village, "village")})
    assert report.junctions == 1
    dead_end = (500400.0, 99997.0)
    to_metric = pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    x, y = to_metric.transform(combined.lon, combined.lat)
    assert np.hypot(x - dead_end[0], y - dead_end[1]).min() < 1e-3  # the OSM node stays where OSM has it
    edges = [((500000.0, 99994.0), dead_end, VILLAGE_M_PER_MIN), (dead_end, (501000.0, 99994.0), VILLAGE_M_PER_MIN)]
    expected = reference_minutes(edges, (501000.0, 99994.0), (500000.0, 99994.0))
    assert drive_minutes(combined, (501000.0, 99994.0), (500000.0, 99994.0)) == pytest.approx(expected, rel=1e-6)


def test_two_local_layers_cross_and_the_first_listed_wins_a_duplicate():
    county = [[(500000.0, 99000.0), (501000.0, 99000.0)]]
    village = [[(500500.0, 98500.0), (500500.0, 99500.0)], [(500000.0, 99004.0), (500300.0, 99004.0)]]
    combined, report = combine_roads({"OSM": layer(OSM, "primary"), "县道": layer(county, "county"),
                                      "村道": layer(village, "village")})
    assert report.junctions == 1 and report.duplicate_segments == {"OSM": 0, "县道": 0, "村道": 1}
    assert report.km == pytest.approx({"OSM": 1.0, "县道": 1.0, "村道": 1.0}, abs=1e-6)
