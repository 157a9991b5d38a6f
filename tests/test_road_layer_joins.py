"""One local road layer joined to itself (network.combine.join_layer), its bridge, tunnel and layer columns
(io.road_lines) and the note in runs and batch runs: hand-drawn layers against NetworkX on the hand-drawn
graph and against shapely's noding. Helpers and the county fixture come from test_road_layers."""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from shapely import LineString

from geocover import api
from geocover.config import load_config
from geocover.io.road_lines import read_road_lines
from geocover.network.combine import combine_roads, join_layer
from geocover.network.graph import build_network
from geocover.prepare import load_roads
from tests.test_bad_inputs import check, shapefile
from tests.test_batch import province  # noqa: F401 - the synthetic province of the batch tests
from tests.test_road_layers import (  # noqa: F401 - county is a fixture
    CRS,
    VILLAGE_M_PER_MIN,
    county,
    drive_minutes,
    layer,
    reference_minutes,
    write_config,
)

TOWNSHIP_M_PER_MIN = 30.0 * 1000.0 / 60.0  # 乡道, GRADE_SPEEDS_KMH["township"]
W, E = (500000.0, 100000.0), (501000.0, 100000.0)
SOUTH = (500400.0, 99500.0)


def township_and_village(village: list[list[tuple[float, float]]], **per_line: list):
    """One layer: a 1 km 乡道 from W to E (line 1) and the village roads drawn (lines 2, ...), all graded
    ``township`` then ``village`` by their speeds."""
    segments = layer([[W, E], *village], "township", **per_line)
    return replace(segments, highway=np.where(segments.way_id == 1, "township", "village").astype(object))


@pytest.mark.parametrize(("short_m", "join_m", "joined"),
                         [(1.0, 5.0, True), (8.0, 5.0, False), (8.0, 10.0, True), (-1.0, 5.0, True)])
def test_a_village_road_ending_short_of_a_township_road_joins_it_at_the_foot(short_m, join_m, joined):
    # A 村道 ending short_m south of the 乡道 (-1: 1 m past it), far from its vertices: joined at the foot
    # (500400, 100000), splitting the 乡道, when within join_m; the 村道's end moves there (the 1 m past it
    # is gone), the 乡道 keeps its geometry.
    segments = township_and_village([[(500400.0, 100000.0 - short_m), SOUTH]])
    joined_segments, junctions = join_layer(segments, join_m)
    assert junctions == int(joined) and len(joined_segments.u) == (3 if joined else 2)
    foot = (500400.0, 100000.0)
    edges = [(W, E, TOWNSHIP_M_PER_MIN), (SOUTH, (500400.0, 100000.0 - short_m), VILLAGE_M_PER_MIN)]
    if joined:
        edges = [(W, foot, TOWNSHIP_M_PER_MIN), (foot, E, TOWNSHIP_M_PER_MIN), (SOUTH, foot, VILLAGE_M_PER_MIN)]
    for end in (W, E):
        assert drive_minutes(joined_segments, SOUTH, end) == pytest.approx(reference_minutes(edges, SOUTH, end),
                                                                           rel=1e-6)
    if joined:
        assert drive_minutes(joined_segments, SOUTH, W) == pytest.approx(500 / VILLAGE_M_PER_MIN
                                                                          + 400 / TOWNSHIP_M_PER_MIN, rel=1e-6)


def test_a_road_drawn_in_two_pieces_with_a_gap_is_joined_across_it():
    # A 乡道 broken at a township border: two lines, a 2 m gap between their ends (each end is the other's foot).
    middle = (500500.0, 100000.0)
    segments = layer([[W, middle], [(500502.0, 100000.0), E]], "township")
    joined, junctions = join_layer(segments, 5.0)
    assert junctions == 1 and len(joined.u) == 2
    edges = [(W, middle, TOWNSHIP_M_PER_MIN), (middle, E, TOWNSHIP_M_PER_MIN)]  # within 2 m of the one drawn
    assert drive_minutes(joined, W, E) == pytest.approx(reference_minutes(edges, W, E), abs=2.0 / TOWNSHIP_M_PER_MIN)
    assert join_layer(segments, 1.0)[1] == 0


def test_an_end_near_a_vertex_joins_that_vertex_without_a_split():
    segments = layer([[W, (500400.0, 100000.0), E], [(500402.0, 99998.0), SOUTH]], "township")
    joined, junctions = join_layer(segments, 5.0)
    assert junctions == 1 and len(joined.u) == 3
    network = build_network(joined, "drive", CRS)
    assert network.n_nodes == 4  # the 村道's end merged into the 乡道's vertex


@pytest.mark.parametrize(("per_line", "split"), [({}, True), ({"bridge": [False, True]}, False),
                                                 ({"tunnel": [True, False]}, False), ({"layer": [0, 1]}, False)])
def test_an_at_grade_crossing_is_split_unless_grade_separated(per_line, split):
    north = (500400.0, 100500.0)
    segments = township_and_village([[SOUTH, north]], **per_line)
    joined, junctions = join_layer(segments, 5.0)
    assert junctions == int(split) and len(joined.u) == (4 if split else 2)
    cross = (500400.0, 100000.0)
    edges = [(W, cross, TOWNSHIP_M_PER_MIN), (cross, E, TOWNSHIP_M_PER_MIN), (SOUTH, cross, VILLAGE_M_PER_MIN),
             (cross, north, VILLAGE_M_PER_MIN)] if split else [(W, E, TOWNSHIP_M_PER_MIN), (SOUTH, north, 1.0)]
    assert drive_minutes(joined, SOUTH, W) == pytest.approx(reference_minutes(edges, SOUTH, W), rel=1e-6)


def test_a_line_is_not_joined_to_itself_nor_are_shared_vertices_doubled():
    # A 村道 with a vertex every metre (its end lies within 5 m of its own segments) and a 乡道 sharing its
    # first vertex exactly: read_road_lines' noding already joins them, nothing more is joined.
    dense = [(500000.0 + i, 99000.0) for i in range(11)]
    segments = layer([dense, [dense[0], (500000.0, 98000.0)]], "village")
    joined, junctions = join_layer(segments, 5.0)
    assert junctions == 0 and len(joined.u) == len(segments.u) == 11
    assert build_network(joined, "walk", CRS).n_nodes == 12


@pytest.mark.parametrize("seed", [0, 1])
def test_crossings_within_a_layer_equal_shapely_noding(seed):
    # Random straight lines of one layer crossing each other anywhere: with a 1 mm tolerance (no end joins)
    # the joined layer's network is shapely's noding of the lines.
    rng = np.random.default_rng(seed)
    drawn = [[tuple(p) for p in rng.uniform(0, 2000, (2, 2)) + [500000.0, 99000.0]] for _ in range(12)]
    joined, junctions = join_layer(layer(drawn, "village"), 0.001)
    noded = shapely.get_parts(shapely.node(shapely.MultiLineString([LineString(c) for c in drawn])))
    graph = nx.Graph()
    for piece in noded:
        a, b = (tuple(xy) for xy in np.round(shapely.get_coordinates(piece), 3))
        graph.add_edge(a, b, length_m=np.hypot(b[0] - a[0], b[1] - a[1]))
    network = build_network(joined, "walk", CRS)
    ends = {tuple(xy) for line in drawn for xy in np.round(line, 3)}
    assert junctions == len(set(graph.nodes) - ends) > 0
    assert (network.n_nodes, network.n_edges) == (graph.number_of_nodes(), graph.number_of_edges())
    assert network.length_m.sum() == pytest.approx(sum(p.length for p in noded), abs=1e-3)


def test_osm_is_never_joined_to_itself_and_the_note_names_the_layer_junctions():
    # OSM roads crossing without a shared node stay apart (OSM's topology is authoritative); the local layer's
    # own crossing is split and counted in the note.
    osm = layer([[(500000.0, 101000.0), (501000.0, 101000.0)], [(500500.0, 100900.0), (500500.0, 101100.0)]],
                "primary")
    local = township_and_village([[SOUTH, (500400.0, 100500.0)]])
    combined, report = combine_roads({"OSM": osm, "乡村道.shp": local}, join_own=["乡村道.shp"])
    assert report.own_junctions == {"乡村道.shp": 1} and report.junctions == 0
    assert np.bincount(combined.source).tolist() == [2, 4]
    assert ("within the local layers, line ends and crossings joined: 乡村道.shp 1 junction (within 5 m"
            in report.notes()[0])


# --- bridge, tunnel and layer columns of a layer file, in a config -------------------------------------------

def write_crossing(folder, fields: list[bytes], bridge: list[bytes]) -> None:
    """县道.shp (GBK, no .cpg): a 县道 north-south across a 村道 east-west at (0.005, 0), no shared vertex."""
    shapefile(folder / "县道.shp", [LineString([(0.005, -0.004), (0.005, 0.004)]),
                                    LineString([(0.0, 0.0), (0.01, 0.0)])],
              fields, [["县道".encode("gbk"), bridge[0]], ["村道".encode("gbk"), bridge[1]]])


@pytest.mark.parametrize(("bridge", "joined"), [(("是", "否"), False), (("1", "0"), False), (("Y", ""), False),
                                                (("桥梁", "隧道"), False), (("否", "否"), True)])
def test_a_gbk_layer_with_a_chinese_bridge_column(county, bridge, joined):  # noqa: F811 - the fixture
    write_crossing(county, ["等级".encode("gbk"), "是否桥梁".encode("gbk")], [b.encode("gbk") for b in bridge])
    segments = read_road_lines(county / "县道.shp", "等级", bridge_column="是否桥梁")
    assert segments.highway.tolist() == ["county", "village"]
    assert segments.bridge.tolist() == [not joined, False]
    roads = "roads:\n  lines: [{path: 县道.shp, grade_column: 等级, bridge_column: 是否桥梁}]\n"
    notes: list[str] = []
    joined_segments = load_roads(load_config(write_config(county, roads)), None, notes)
    assert len(joined_segments.u) == (4 if joined else 2)
    assert len(notes) == int(joined)
    if joined:
        assert notes[0] == ("roads from 县道.shp 2.0 km; within the local layers, line ends and crossings joined: "
                            "县道.shp 1 junction (within 5 m, none at bridges, tunnels or across layers)")


def test_bridge_tunnel_and_layer_values_not_understood_are_each_named(county, capsys):  # noqa: F811
    write_crossing(county, ["等级".encode("gbk"), "桥".encode("gbk")], ["大概".encode("gbk"), b"2"])
    gpd.GeoDataFrame({"grade": ["村道", "村道"], "tunnel": ["no", "maybe"], "layer": ["1", "up"]},
                     geometry=[LineString([(0, 0), (0.01, 0)]), LineString([(0, 0.001), (0.01, 0.001)])],
                     crs="EPSG:4326").to_file(county / "more.gpkg")
    roads = """roads:
  lines:
    - {path: 县道.shp, grade_column: 等级, bridge_column: 桥}
    - {path: more.gpkg, grade_column: grade, tunnel_column: tunnel, layer_column: layer, bridge_column: 无此列}
"""
    check(["validate", str(write_config(county, roads))], capsys, "县道.shp", "row 1", "column '桥'",
          "bridge value '大概' not understood", "bridge value '2'", "more.gpkg", "tunnel value 'maybe'",
          "layer value 'up'", "column '无此列'", "column not found", count=5)


# --- the note in a batch run ------------------------------------------------------------------------------

def test_the_batch_summary_and_notes_carry_the_combination(province):  # noqa: F811 - the fixture
    # The batch province's grid of roads plus a village layer: a 村道 ending 2 m east of a north-south grid
    # road, mid-segment, and a second one ending 1 m short of the first (joined within the layer).
    grid = gpd.read_file(province.parent / "roads.gpkg").geometry
    verticals = [line for line in grid if line.coords[0][0] == line.coords[-1][0]]
    x, ys = verticals[len(verticals) // 2].coords[0][0], shapely.get_coordinates(verticals[0])[:, 1]
    y = (ys[len(ys) // 2] + ys[len(ys) // 2 + 1]) / 2
    villages = [LineString([(x + 0.00002, y), (x + 0.002, y)]),
                LineString([(x + 0.001, y - 0.000009), (x + 0.001, y - 0.0015)])]
    gpd.GeoDataFrame({"grade": ["村道", "村道"]}, geometry=villages, crs="EPSG:4326").to_file(
        province.parent / "villages.gpkg")
    text = province.read_text(encoding="utf-8").replace(
        "roads: {lines: roads.gpkg, grade_column: grade,",
        "roads: {lines: [{path: roads.gpkg, grade_column: grade}, {path: villages.gpkg, grade_column: grade}],")
    config = province.with_name("villages.yaml")
    config.write_text(text, encoding="utf-8")
    out = province.parent / "villages"
    _, summary, failed = api.batch(config, out=out, workers=2, progress=False, offline=True, processes=False,
                                   report=False)
    assert failed == {}
    [note] = [line for line in summary.splitlines() if line.startswith("note: roads combined")]
    assert note.startswith("note: roads combined from 2 sources: roads.gpkg ")
    assert "1 junction joined between sources" in note
    assert "line ends and crossings joined: roads.gpkg 0 junctions, villages.gpkg 1 junction" in note
    exactness = (out / "batch_exactness.csv").read_text(encoding="utf-8-sig")
    assert note.removeprefix("note: ") in exactness
    _, again, _ = api.batch(config, out=out, workers=2, progress=False, offline=True, processes=False, report=False)
    assert "6 reused" in again and note in again.splitlines()  # every unit reused: the note is kept


def test_join_own_naming_no_source_is_an_error():
    with pytest.raises(ValueError, match=r"join_own names no source: \['村道'\]"):
        combine_roads({"OSM": layer([[W, E]], "primary")}, join_own=["村道"])
