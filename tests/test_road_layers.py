"""OSM and local road layers together (network.combine): hand-built layers with a known answer, the config
and up-front checks, and the Comoros PBF with a village road drawn where OSM has none."""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import networkx as nx
import numpy as np
import pyproj
import pytest
import rasterio
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra
from shapely import LineString, Point, box

from geocover.cli import main
from geocover.config import load_config
from geocover.io.osm import load_segments, read_road_segments, save_segments
from geocover.io.population import read_population
from geocover.io.road_lines import GRADE_SPEEDS_KMH, read_road_lines
from geocover.network.combine import combine_roads
from geocover.network.graph import DRIVE_SPEEDS_KMH, build_network
from geocover.network.segments import RoadSegments
from geocover.network.snapping import Snap
from geocover.prepare import load_roads
from geocover.travel.cells import cell_accessibility, snap_facilities
from tests.reference import reference_minutes as reference_minutes_nx
from tests.test_bad_inputs import CONFIG, check, shapefile, write_pbf, write_raster

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
    assert "1 segment, 1.0 km dropped as duplicates" in report.notes()[0]


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


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_crossings_equal_shapely_noding_of_random_layers(seed):
    # East-west OSM-like roads and north-south local ones, random in place and extent, none crossing its own
    # kind: combined with a 1 mm tolerance (no line end joins) the network is shapely's noding of all lines.
    rng = np.random.default_rng(seed)

    def roads(n: int, vertical: bool) -> list[list[tuple[float, float]]]:
        drawn = []
        for _ in range(n):
            at, start, length_m = rng.uniform(0, 2000), rng.uniform(0, 1000), rng.uniform(300, 1500)
            stops = np.sort(np.r_[start, start + length_m, rng.uniform(start, start + length_m, rng.integers(0, 3))])
            drawn.append([(500000.0 + at, 100000.0 + s) if vertical else (500000.0 + s, 100000.0 + at) for s in stops])
        return drawn

    osm, village = roads(8, vertical=False), roads(8, vertical=True)
    combined, report = combine_roads({"OSM": layer(osm, "primary"), "村道": layer(village, "village")},
                                     join_m=0.001, duplicate_m=0)
    noded = shapely.get_parts(shapely.node(shapely.MultiLineString([LineString(c) for c in osm + village])))
    graph = nx.Graph()
    for piece in noded:
        coords = [tuple(xy) for xy in np.round(shapely.get_coordinates(piece), 4)]
        for a, b in zip(coords[:-1], coords[1:], strict=True):
            graph.add_edge(a, b, length_m=np.hypot(b[0] - a[0], b[1] - a[1]))
    drawn = {tuple(xy) for line in osm + village for xy in np.round(line, 4)}
    network = build_network(combined, "walk", CRS)
    assert report.junctions == len(set(graph.nodes) - drawn) > 0  # every crossing, each one node
    assert (network.n_nodes, network.n_edges) == (graph.number_of_nodes(), graph.number_of_edges())
    assert network.length_m.sum() == pytest.approx(sum(p.length for p in noded), abs=1e-3)  # vertices kept to 1e-9°
    ends = [line[0] for line in osm + village]
    index = [int(np.argmin(np.hypot(network.x - x, network.y - y))) for x, y in ends]
    lengths = sp.csr_matrix((network.length_m, (network.u, network.v)), shape=(network.n_nodes,) * 2)
    ours = dijkstra(lengths, directed=False, indices=index)[:, index]
    for i, a in enumerate(ends):
        reached = nx.single_source_dijkstra_path_length(graph, tuple(np.round(a, 4)), weight="length_m")
        theirs = [reached.get(tuple(np.round(b, 4)), np.inf) for b in ends]
        np.testing.assert_allclose(ours[i], theirs, rtol=1e-6, atol=1e-3)


# --- the config: pbf and line layers in a county scenario, run and checked from the command line -------------

@pytest.fixture()
def county(tmp_path):
    """The small county of test_bad_inputs (a street along the equator from 0 to 0.02 degrees east, two GBK
    townships, a clinic), with a village road (GeoPackage) ending 2 m south of the street at 0.01 degrees east
    and a county road (GBK Shapefile, no .cpg) crossing it at 0.005 degrees east."""
    write_pbf(tmp_path / "roads.pbf")
    shapefile(tmp_path / "towns.shp", [box(0.0, -0.001, 0.01, 0.001), box(0.01, -0.001, 0.02, 0.001)],
              [b"DM", b"MC"], [[b"140100001000", "城关镇".encode("gbk")], [b"140100002000", "河西乡".encode("gbk")]])
    (tmp_path / "clinics.csv").write_text("名称,经度,纬度\n城关镇卫生院,0.012,0.0001\n", encoding="gbk")
    write_raster(tmp_path / "people.tif", np.ones(20))
    gpd.GeoDataFrame({"grade": ["村道"]}, geometry=[LineString([(0.01, -0.000018), (0.01, -0.009)])],
                     crs="EPSG:4326").to_file(tmp_path / "villages.gpkg", layer="roads")
    shapefile(tmp_path / "县道.shp", [LineString([(0.005, -0.004), (0.005, 0.004)])], ["等级".encode("gbk")],
              [["县道".encode("gbk")]])
    return tmp_path


TWO_LAYERS = """roads:
  pbf: roads.pbf
  lines:
    - {path: villages.gpkg, layer: roads, grade_column: grade}
    - {path: 县道.shp, grade_column: 等级}
"""


def write_config(folder, roads: str):
    path = folder / "county.yaml"
    path.write_text(CONFIG.replace("roads: {pbf: roads.pbf}\n", roads), encoding="utf-8")
    return path


def test_pbf_and_two_layers_run_with_the_combination_in_the_notes(county, capsys):
    config = load_config(write_config(county, TWO_LAYERS))
    assert [lines.path.name for lines in config.roads.line_layers] == ["villages.gpkg", "县道.shp"]
    notes: list[str] = []
    segments = load_roads(config, None, notes)
    # Both junctions fall on street nodes (one every 0.001 degree): the street stays whole, the county road is cut.
    assert np.bincount(segments.source).tolist() == [20, 1, 2]
    geod = pyproj.Geod(ellps="WGS84")
    km = [geod.line_length([0, 0.02], [0, 0]), geod.line_length([0.01, 0.01], [0, -0.009]),
          geod.line_length([0.005, 0.005], [-0.004, 0.004])]
    note = notes[0]
    assert note.startswith("roads combined from 3 sources: OSM roads.pbf ")
    shown = [float(part.split(" km")[0].rsplit(" ", 1)[1]) for part in note.split(";")[:3]]
    np.testing.assert_allclose(shown, np.round(np.array(km) / 1000, 1), atol=0.051)
    assert "2 junctions joined" in note
    assert main(["validate", str(county / "county.yaml")]) == 0
    assert "villages.gpkg (1 segments); " in capsys.readouterr().out
    assert main(["run", str(county / "county.yaml"), "--out", str(county / "out"), "--quiet"]) == 0
    assert f"note: {note}" in capsys.readouterr().out


def test_the_single_layer_keys_still_read_one_layer(county):
    config = load_config(write_config(county, "roads: {lines: 县道.shp, grade_column: 等级}\n"))
    [lines] = config.roads.line_layers
    assert lines.grade_column == "等级" and lines.path == county / "县道.shp"
    notes: list[str] = []
    segments = load_roads(config, None, notes)
    assert notes == [] and segments.highway.tolist() == ["county"]  # GBK read as GBK, not mojibake


def test_join_and_duplicate_tolerances_and_the_pbf_cache_come_from_the_config(county):
    # A 村道 drawn 8 m north of the street over its first 0.005 degrees (557 m): a duplicate at the default
    # duplicate_m (15 m), kept with duplicate_m: 0; its ends join the street only when join_m reaches 8 m.
    gpd.GeoDataFrame({"grade": ["村道"]}, geometry=[LineString([(0.0, 0.0000723), (0.005, 0.0000723)])],
                     crs="EPSG:4326").to_file(county / "beside.gpkg")
    found = []
    for keys in ("", "duplicate_m: 0, ", "duplicate_m: 0, join_m: 10, "):
        lines = "lines: [{path: beside.gpkg, grade_column: grade}]"
        config = load_config(write_config(county, f"roads: {{pbf: roads.pbf, cache_dir: cache, {keys}{lines}}}\n"))
        notes: list[str] = []
        segments = load_roads(config, None, notes)
        found.append((np.bincount(segments.source, minlength=2).tolist(), notes[0]))
    assert found[0][0] == [20, 0] and "1 segment, 0.6 km dropped as duplicates" in found[0][1]
    assert found[1][0] == [20, 1] and "0 junctions" in found[1][1]
    assert found[2][0] == [20, 1] and "2 junctions" in found[2][1]
    assert len(list((county / "cache").glob("roads.pbf.*.segments.npz"))) == 1  # the PBF parsed once, then read


def test_every_problem_of_every_layer_at_once(county, capsys):
    gpd.GeoDataFrame({"名称": ["a", "b"]}, geometry=[LineString([(0, 0), (0.01, 0)]), Point(0.01, 0)],
                     crs="EPSG:4326").to_file(county / "no_grade.gpkg")
    shapefile(county / "bad.shp", [LineString([(0, 0), (0.01, 0)]), LineString([(0.01, 0), (0.02, 0)])],
              ["等级".encode("gbk")], [["机耕路".encode("gbk")], ["村道".encode("gbk")]], prj=False)
    shapefile(county / "big5.shp", [LineString([(0, 0), (0.01, 0)])], ["名稱".encode("big5")],
              [["鄉道".encode("big5")]])
    roads = """roads:
  pbf: roads.pbf
  lines:
    - {path: no_grade.gpkg, grade_column: 等级}
    - {path: bad.shp, grade_column: 等级}
    - {path: missing.shp, grade_column: 等级}
    - {path: big5.shp, grade_column: 名稱}
"""
    check(["validate", str(write_config(county, roads))], capsys,
          "no_grade.gpkg", "column '等级'", "column not found",
          "row 2", "a Point, not a line", "bad.shp", "no CRS", "unknown road grade '机耕路'",
          "missing.shp", "big5.shp", "Big5", count=6)


def test_a_list_of_layers_takes_its_keys_per_layer(county, capsys):
    roads = "roads:\n  lines: [{path: 县道.shp, grade_column: 等级}]\n  grade_column: 等级\n"
    check(["validate", str(write_config(county, roads))], capsys, "key 'roads'",
          "with a list of 'lines', give 'grade_column' in each layer")
    roads = "roads:\n  lines: [{path: 县道.shp}]\n"
    check(["validate", str(write_config(county, roads))], capsys, "roads.lines", "grade_column",
          "required key is missing")


def test_osm_bridge_tunnel_and_layer_tags_are_kept(tmp_path):
    nodes = "".join(f'<node id="{i}" version="1" lat="0" lon="{i * 0.001:.3f}"/>' for i in range(1, 6))
    ways = "".join(f'<way id="{10 + i}" version="1"><nd ref="{i}"/><nd ref="{i + 1}"/><tag k="highway" '
                   f'v="primary"/>{tags}</way>' for i, tags in enumerate([
                       '<tag k="bridge" v="viaduct"/><tag k="layer" v="2"/>', '<tag k="tunnel" v="yes"/>',
                       '<tag k="tunnel" v="building_passage"/>', '<tag k="bridge" v="no"/><tag k="layer" v="x"/>'],
                       start=1))
    (tmp_path / "hand.osm").write_text(f"<?xml version='1.0'?><osm version='0.6'>{nodes}{ways}</osm>",
                                       encoding="utf-8")
    segments = read_road_segments(tmp_path / "hand.osm")
    order = np.argsort(segments.way_id)
    assert segments.bridge[order].tolist() == [True, False, False, False]
    assert segments.tunnel[order].tolist() == [False, True, False, False]
    assert segments.layer[order].tolist() == [2, 0, 0, 0]
    save_segments(segments, tmp_path / "roads.npz")
    loaded = load_segments(tmp_path / "roads.npz")
    for name in ("bridge", "tunnel", "layer", "source"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(segments, name))


# --- the Comoros PBF and a village road it lacks ------------------------------------------------------------

COMOROS_UTM = "EPSG:32738"
VILLAGE = (43.667062, -12.401271)
"""WorldPop people on Mwali 5.7 km from any OSM road (about 2,000 in 2 km around): a village the PBF misses."""
ROAD_END = 4571600260
"""The OSM node nearest to it, at (43.6737026, -12.3579656): the end of an unclassified road."""


@pytest.fixture(scope="module")
def comoros_village(comoros_dir, tmp_path_factory):
    """OSM roads alone and with a 村道 drawn from 2 m off :data:`ROAD_END` over a bend to :data:`VILLAGE`
    (a GeoPackage in EPSG:32738), the drawn vertices in metres, and the combination's report."""
    folder = tmp_path_factory.mktemp("comoros_village")
    osm = read_road_segments(comoros_dir / "comores-latest.osm.pbf")
    to_metric = pyproj.Transformer.from_crs("EPSG:4326", COMOROS_UTM, always_xy=True)
    node = int(np.flatnonzero(osm.node_id == ROAD_END)[0])
    end = np.array(to_metric.transform(osm.lon[node], osm.lat[node]))
    village = np.array(to_metric.transform(*VILLAGE))
    bend = (end + village) / 2 + [400.0, 0.0]
    path = folder / "village_road.gpkg"
    gpd.GeoDataFrame({"等级": ["村道"]}, geometry=[LineString([end - [0.0, 2.0], bend, village])],
                     crs=COMOROS_UTM).to_file(path)
    local = read_road_lines(path, "等级")
    combined, report = combine_roads({"OSM": osm, "village_road.gpkg": local})
    return osm, combined, report, (end, bend, village)


def test_comoros_village_road_is_joined_and_counted(comoros_village):
    osm, combined, report, (end, bend, village) = comoros_village
    drawn_m = np.hypot(*(bend - end)) + np.hypot(*(village - bend))  # from the OSM node, where the 2 m gap closed
    assert report.junctions == 1 and report.duplicate_segments["village_road.gpkg"] == 0
    assert report.km["village_road.gpkg"] * 1000 == pytest.approx(drawn_m, abs=1e-3)
    to_metric = pyproj.Transformer.from_crs("EPSG:4326", COMOROS_UTM, always_xy=True)
    x, y = to_metric.transform(osm.lon, osm.lat)
    assert report.km["OSM"] * 1000 == pytest.approx(np.hypot(x[osm.v] - x[osm.u], y[osm.v] - y[osm.u]).sum(), rel=1e-9)
    assert len(combined.u) == len(osm.u) + 2  # OSM untouched, the two drawn segments added


def test_comoros_village_cells_get_times_through_the_new_road(comoros_village, comoros_dir):
    osm, combined, _, (end, bend, village) = comoros_village
    facilities = gpd.read_file(comoros_dir / "health.gpkg")
    facilities = facilities[facilities["amenity"].isin(["hospital", "clinic", "doctors"])]
    area = gpd.GeoSeries([Point(village).buffer(2500.0)], crs=COMOROS_UTM).to_crs("EPSG:4326")
    grid = read_population(comoros_dir / "population.tif", area)
    before, after = (cell_accessibility(build_network(segments, "drive", COMOROS_UTM), facilities, grid,
                                        snap_max_m=1000.0, offroad_kmh=5.0) for segments in (osm, combined))
    valid = grid.valid
    assert np.isinf(before.minutes[valid]).all()  # every cell is beyond 1 km of an OSM road
    reached = valid & np.isfinite(after.minutes)
    assert grid.population[reached].sum() > 500
    # Independent reference: NetworkX on the OSM network alone gives the time from the road end; the drawn
    # road adds its length at the 村道 speed.
    network = build_network(osm, "drive", COMOROS_UTM)
    node = int(np.flatnonzero(network.node_id == ROAD_END)[0])
    edge = int(np.flatnonzero((network.u == node) | (network.v == node))[0])
    at_end = Snap(np.array([edge]), np.array([0.0 if network.u[edge] == node else 1.0]), np.array([0.0]))
    osm_snap = snap_facilities(network, facilities, 1000.0)
    from_end = reference_minutes_nx(network, osm_snap, at_end, offroad_kmh=5.0)[0]
    drawn_m = np.hypot(*(bend - end)) + np.hypot(*(village - bend))
    combined_network = build_network(combined, "drive", COMOROS_UTM)
    village_node = int(np.argmin(np.hypot(combined_network.x - village[0], combined_network.y - village[1])))
    assert np.isfinite(from_end)
    assert after.nodes.minutes[village_node] == pytest.approx(from_end + drawn_m / VILLAGE_M_PER_MIN, rel=1e-6)
    # The cell holding the village's end is reached from it: a walk of at most 1 km and the node's time.
    row, col = rasterio.transform.rowcol(grid.transform, *VILLAGE)
    assert after.nodes.minutes[village_node] <= after.minutes[row, col] <= (
        after.nodes.minutes[village_node] + 2 * 1000.0 / (5.0 * 1000 / 60))
