"""Networks from and to GeoDataFrames and OSMnx / NetworkX graphs: minutes equal NetworkX's shortest paths."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx
import pytest
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString

from geocover.network.graph import Network, build_network
from geocover.network.segments import RoadSegments
from geocover.network.storage import load_network

# A 3 x 3 block of streets near the equator (about 110 m spacing): a one-way street (way 3), a bent
# residential street drawn through four shape nodes (way 5, simplified by OSMnx into one curved edge),
# a maxspeed tag and a footway OSMnx's "all" network keeps.
STREETS_XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
  <node id="1" version="1" lat="0.000" lon="0.000"/>
  <node id="2" version="1" lat="0.000" lon="0.001"/>
  <node id="3" version="1" lat="0.000" lon="0.002"/>
  <node id="4" version="1" lat="0.001" lon="0.000"/>
  <node id="5" version="1" lat="0.001" lon="0.001"/>
  <node id="6" version="1" lat="0.001" lon="0.002"/>
  <node id="7" version="1" lat="0.002" lon="0.000"/>
  <node id="8" version="1" lat="0.002" lon="0.001"/>
  <node id="9" version="1" lat="0.002" lon="0.002"/>
  <node id="21" version="1" lat="0.0013" lon="0.0003"/>
  <node id="22" version="1" lat="0.0018" lon="0.0004"/>
  <node id="23" version="1" lat="0.0021" lon="0.0007"/>
  <way id="1" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="primary"/>
    <tag k="maxspeed" v="30"/></way>
  <way id="2" version="1"><nd ref="4"/><nd ref="5"/><nd ref="6"/><tag k="highway" v="secondary"/></way>
  <way id="3" version="1"><nd ref="7"/><nd ref="8"/><nd ref="9"/><tag k="highway" v="tertiary"/>
    <tag k="oneway" v="yes"/></way>
  <way id="4" version="1"><nd ref="1"/><nd ref="4"/><nd ref="7"/><tag k="highway" v="residential"/></way>
  <way id="5" version="1"><nd ref="4"/><nd ref="21"/><nd ref="22"/><nd ref="23"/><nd ref="8"/>
    <tag k="highway" v="residential"/></way>
  <way id="6" version="1"><nd ref="3"/><nd ref="6"/><nd ref="9"/><tag k="highway" v="residential"/></way>
  <way id="7" version="1"><nd ref="2"/><nd ref="5"/><nd ref="8"/><tag k="highway" v="footway"/></way>
</osm>
"""


@pytest.fixture(scope="module")
def osmnx_graph(tmp_path_factory) -> nx.MultiDiGraph:
    """The streets as OSMnx builds them offline, with its own speeds and travel times."""
    path = tmp_path_factory.mktemp("osm") / "streets.osm"
    path.write_text(STREETS_XML, encoding="utf-8")
    graph = osmnx.graph_from_xml(path, simplify=True, retain_all=True)
    graph = osmnx.add_edge_speeds(graph, hwy_speeds={"footway": 5, "residential": 20})
    return osmnx.add_edge_travel_times(graph)


def _networkx_minutes(graph: nx.MultiDiGraph, nodes: list[int]) -> np.ndarray:
    """All-pairs minutes by NetworkX's Dijkstra on ``travel_time`` (seconds)."""
    table = np.full((len(nodes), len(nodes)), np.inf)
    for i, source in enumerate(nodes):
        reached = nx.single_source_dijkstra_path_length(graph, source, weight="travel_time")
        table[i] = [reached.get(target, np.inf) / 60.0 for target in nodes]
    return table


def _geocover_minutes(network: Network, nodes: list[int]) -> np.ndarray:
    """All-pairs minutes between the nodes with ids ``nodes`` by SciPy on the network's CSR matrix."""
    position = {node: i for i, node in enumerate(network.node_id)}
    index = [position[node] for node in nodes]
    return dijkstra(network.csr(), indices=index)[:, index]


def test_osmnx_graph_minutes_equal_networkx(osmnx_graph):
    curved = [data for _, _, data in osmnx_graph.edges(data=True) if "geometry" in data]
    assert curved, "the bent street should reach the network as a curved edge"
    network = Network.from_networkx(osmnx_graph)
    nodes = sorted(osmnx_graph.nodes)
    expected = _networkx_minutes(osmnx_graph, nodes)
    assert np.isinf(expected).sum() == 0
    np.testing.assert_allclose(_geocover_minutes(network, nodes), expected, rtol=1e-9)
    # The shape vertices of curved edges (the bent street's, the corners OSMnx simplified away) became nodes
    # with negative ids, one per vertex of each street whichever direction drew it: snapping follows the road.
    inner = {(min(u, v), max(u, v), tuple(np.round(xy, 9))) for u, v, data in osmnx_graph.edges(data=True)
             if "geometry" in data for xy in data["geometry"].coords[1:-1]}
    assert (network.node_id < 0).sum() == len(inner) >= 3
    assert network.crs.to_epsg() == 32631
    assert network.length_m.sum() == pytest.approx(
        sum(d["length"] for u, v, d in osmnx_graph.edges(data=True) if u < v or not osmnx_graph.has_edge(v, u)),
        rel=1e-9)


def test_one_way_stays_one_way(osmnx_graph):
    network = Network.from_networkx(osmnx_graph)
    minutes = _geocover_minutes(network, [7, 8])
    direct = osmnx_graph.edges[7, 8, 0]["travel_time"] / 60.0
    assert minutes[0, 1] == pytest.approx(direct)
    assert minutes[1, 0] > direct  # back round the block: 8 -> 7 is closed
    assert not osmnx_graph.has_edge(8, 7)


def test_from_gdfs_equals_from_networkx_and_round_trips(osmnx_graph, tmp_path):
    nodes, edges = osmnx.graph_to_gdfs(osmnx_graph)
    network = Network.from_gdfs(nodes, edges)
    ids = sorted(osmnx_graph.nodes)
    expected = _networkx_minutes(osmnx_graph, ids)
    np.testing.assert_allclose(_geocover_minutes(network, ids), expected, rtol=1e-9)

    # Back to GeoDataFrames and to a NetworkX graph: NetworkX on the exported graph gives the same minutes.
    out_nodes, out_edges = network.to_gdfs()
    assert out_nodes.index.name == "osmid" and out_edges.index.names == ["u", "v", "key"]
    assert len(out_edges) == np.isfinite(network.minutes_uv).sum() + np.isfinite(network.minutes_vu).sum()
    np.testing.assert_allclose(out_edges["travel_time"], out_edges["minutes"] * 60.0)
    exported = network.to_networkx()
    np.testing.assert_allclose(_networkx_minutes(exported, ids), expected, rtol=1e-9)
    rebuilt = osmnx.graph_from_gdfs(out_nodes, out_edges)  # OSMnx reads the tables as its own
    np.testing.assert_allclose(_networkx_minutes(rebuilt, ids), expected, rtol=1e-9)
    again = Network.from_gdfs(out_nodes, out_edges)
    np.testing.assert_allclose(_geocover_minutes(again, ids), expected, rtol=1e-9)

    # Saved and loaded: the same arrays, mode and cost unit.
    loaded = load_network(network.save(tmp_path / "net.npz"))
    np.testing.assert_array_equal(loaded.minutes_vu, network.minutes_vu)
    assert (loaded.mode, loaded.cost_unit) == ("custom", "minutes")


def test_undirected_graph_and_one_speed():
    graph = nx.Graph(crs="EPSG:32631")
    graph.add_node(1, x=0.0, y=0.0)
    graph.add_node(2, x=300.0, y=400.0)
    graph.add_node(3, x=300.0, y=0.0)
    graph.add_edge(1, 2, geometry=LineString([(300, 400), (300, 0), (0, 0)]))  # drawn from 2 to 1, 700 m
    graph.add_edge(2, 3)
    network = Network.from_networkx(graph, speed_kmh=6.0)  # 100 m a minute
    relabelled = Network.from_networkx(nx.relabel_nodes(graph, {3: -1}), speed_kmh=6.0)
    assert sorted(relabelled.node_id) == [-2, -1, 1, 2]  # the shape vertex does not take the given id -1
    minutes = _geocover_minutes(network, [1, 2, 3])
    # 1 -> 2 along its drawn 700 m (7 min); its shape vertex lies on node 3 but is not joined to it.
    np.testing.assert_allclose(minutes, [[0, 7, 11], [7, 0, 4], [11, 4, 0]])
    assert network.crs.to_epsg() == 32631 and network.n_nodes == 4


def test_roads_gdf_to_segments_matches_hand_built():
    roads = gpd.GeoDataFrame(
        {"highway": ["primary", "residential"], "oneway": ["yes", "no"], "maxspeed": [30.0, np.nan]},
        geometry=[LineString([(0, 0), (0.001, 0)]), LineString([(0.001, 0), (0.001, 0.001), (0.002, 0.001)])],
        crs="EPSG:4326",
    )
    segments = RoadSegments.from_gdf(roads, oneway="oneway", maxspeed_kmh="maxspeed")
    assert len(segments.u) == 3 and len(segments.node_id) == 4
    assert segments.oneway.tolist() == [1, 0, 0]
    drive = build_network(segments, "drive", "EPSG:32631")
    # 111.32 m at 30 km/h (maxspeed) one way; the residential street at 25 km/h both ways.
    first = drive.minutes_uv[0] if np.isfinite(drive.minutes_uv[0]) else drive.minutes_vu[0]
    assert first == pytest.approx(drive.length_m[0] / (30 * 1000 / 60))
    assert np.isinf(drive.minutes_uv).sum() + np.isinf(drive.minutes_vu).sum() == 1
    with pytest.raises(KeyError, match="'grade'"):
        RoadSegments.from_gdf(roads, highway="grade")


def test_by_distance_counts_kilometres(osmnx_graph):
    network = Network.from_networkx(osmnx_graph)
    km = network.by_distance()
    assert km.cost_unit == "km"
    expected = dict(nx.single_source_dijkstra_path_length(osmnx_graph, 4, weight="length"))
    got = _geocover_minutes(km, [4, *expected])[0, 1:]
    np.testing.assert_allclose(got, np.array(list(expected.values())) / 1000.0, rtol=1e-9)
    with pytest.raises(ValueError, match="cost_unit"):
        Network(x=[0.0], y=[0.0], u=[], v=[], minutes_uv=[], minutes_vu=[], crs="EPSG:32631", cost_unit="s")


def test_bad_tables_say_what_is_wrong():
    nodes = gpd.GeoDataFrame(index=[1, 2], geometry=gpd.points_from_xy([0.0, 100.0], [0.0, 0.0]), crs="EPSG:32631")
    edges = gpd.GeoDataFrame({"u": [1], "v": [3], "length": [100.0], "travel_time": [60.0]})
    with pytest.raises(ValueError, match=r"missing from the node table, e\.g\. \[\[1, 3\]\]"):
        Network.from_gdfs(nodes, edges)
    with pytest.raises(ValueError, match="travel_time .s. or speed_kph"):
        Network.from_gdfs(nodes, edges.assign(v=2).drop(columns="travel_time"))
    with pytest.raises(ValueError, match="node ids must be integers"):
        Network.from_gdfs(nodes.set_axis(["a", "b"]), edges)
    with pytest.raises(ValueError, match="no CRS"):
        Network.from_gdfs(nodes.set_crs(None, allow_override=True), edges)
    one = Network.from_gdfs(nodes, edges.assign(v=2))
    assert one.minutes_uv.tolist() == [1.0] and np.isinf(one.minutes_vu).all()  # one row: one direction
