"""All 15-minute service areas with polygons on the Comoros drive network: geocover vs the OSMnx recipe.

For every hospital, clinic and doctor: the nodes that reach it within 15 minutes and a polygon of
the reached network (every edge with both ends reached, buffered 25 m, unioned). geocover builds the sparse
facility × node matrix (:func:`geocover.travel.matrices.facility_node_matrix`) and the polygons from it
(:func:`geocover.travel.isochrones.reach_polygons`, 16 segments per quarter circle as GeoPandas, on 2 threads,
its tiles built afresh in every call); the peer is the OSMnx isochrone recipe, ``nx.ego_graph`` per
facility on a NetworkX ``MultiDiGraph`` with the same arcs, then the edges of the ego graph buffered
with GeoPandas and unioned. Also timed: ``reach_polygons`` on one thread, with 8 segments per quarter
circle, and with its tiles kept on the network by an earlier call (``cache=True``). The reached node
sets and the polygons are checked equal before the ratio is printed; the script exits with status 1
when they differ. The peer runs on every facility (about two minutes a round).

Run from the repository root: ``python benchmarks/service_areas_comoros.py [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import os
import time

import geopandas as gpd
import networkx as nx
import numpy as np
import scipy.sparse as sp
import shapely
from _common import comoros_drive, fail, median_seconds, networkx_graph, table
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString, Point

from geocover.network.graph import WALK_SPEED_KMH
from geocover.travel.isochrones import reach_polygons
from geocover.travel.matrices import OFFSET_MINUTES, facility_node_matrix
from geocover.travel.nearest import facility_graph
from geocover.travel.search_blocks import search_groups, snapped_positions

LIMIT_MINUTES = 15.0
BUFFER_M = 25.0
DIRECTION = "to"
WORKERS = 2


def osmnx_isochrone(graph: nx.MultiDiGraph, centre: int, radius: float) -> tuple[set[int], shapely.Geometry, float]:
    """The OSMnx example's isochrone: ego graph by travel time, reached edges buffered and unioned.

    Returns the reached nodes, the polygon and the seconds spent in ``nx.ego_graph``.
    """
    start = time.perf_counter()
    subgraph = nx.ego_graph(graph, centre, radius=radius, distance="time")
    search = time.perf_counter() - start
    node_points = [Point((data["x"], data["y"])) for _, data in subgraph.nodes(data=True)]
    nodes_gdf = gpd.GeoDataFrame({"id": list(subgraph.nodes)}, geometry=node_points).set_index("id")
    edge_lines = []
    for tail, head in subgraph.edges():
        start_point, stop_point = nodes_gdf.loc[tail].geometry, nodes_gdf.loc[head].geometry
        edge_lines.append(graph.get_edge_data(tail, head)[0].get("geometry", LineString([start_point, stop_point])))
    polygon = gpd.GeoSeries(edge_lines).buffer(BUFFER_M).union_all()
    return set(subgraph.nodes), polygon, search


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="rounds of both; the median is reported")
    args = parser.parse_args()
    network, facilities = comoros_drive()
    n = network.n_nodes
    ok = np.flatnonzero(facilities.snapped)
    print(f"Comoros drive network: {n:,} nodes, {len(ok)} facilities, {LIMIT_MINUTES:g}-minute service areas "
          f'(direction "{DIRECTION}"), edges buffered {BUFFER_M:g} m')
    # The peer's graph: the same arcs geocover searches, virtual facility nodes placed where they snapped.
    start = time.perf_counter()
    graph = facility_graph(network, facilities, ok, DIRECTION, WALK_SPEED_KMH, None)
    peer_graph = networkx_graph(graph, network, multi=True)
    fx, fy = snapped_positions(network, facilities)
    for k, f in enumerate(ok):
        peer_graph.nodes[n + k].update(x=float(fx[f]), y=float(fy[f]))
    print(f"NetworkX MultiDiGraph of the same arcs built in {time.perf_counter() - start:.2f} s (not timed below)")

    def ours() -> tuple[sp.csr_matrix, np.ndarray]:
        matrix = facility_node_matrix(network, facilities, LIMIT_MINUTES, direction=DIRECTION)
        return matrix, reach_polygons(network, matrix, facilities, BUFFER_M, workers=WORKERS)

    fixed = facility_node_matrix(network, facilities, LIMIT_MINUTES, direction=DIRECTION)
    reach_polygons(network, fixed, facilities, BUFFER_M, cache=True)  # tiles kept on the network, not timed
    load = os.getloadavg()[0]
    timed = median_seconds(
        {
            "geocover": ours,
            "matrix": lambda: facility_node_matrix(network, facilities, LIMIT_MINUTES, direction=DIRECTION),
            "one thread": lambda: reach_polygons(network, fixed, facilities, BUFFER_M),
            "quad_segs 8": lambda: reach_polygons(network, fixed, facilities, BUFFER_M, quad_segs=8),
            "cached": lambda: reach_polygons(network, fixed, facilities, BUFFER_M, cache=True),
            "peer": lambda: [osmnx_isochrone(peer_graph, n + k, LIMIT_MINUTES) for k in range(len(ok))],
        },
        args.repeats,
    )
    matrix, polygons = timed["geocover"].result
    areas = timed["peer"].result
    worst = dict.fromkeys(("geocover", "quad_segs 8"), (0.0, 0.0))
    for k, f in enumerate(ok):
        nodes, polygon, _ = areas[k]
        reached = matrix.indices[matrix.indptr[f]:matrix.indptr[f + 1]]
        if set(reached.tolist()) != nodes - {n + k}:
            fail(f"facility {f}: the reached node sets differ")
        for name, ours_polygons in (("geocover", polygons), ("quad_segs 8", timed["quad_segs 8"].result)):
            ours_polygon = ours_polygons[f]
            if not ours_polygon.is_valid:
                fail(f"facility {f}: the {name} polygon is not valid")
            worst[name] = (max(worst[name][0], shapely.symmetric_difference(ours_polygon, polygon).area / polygon.area),
                           max(worst[name][1], abs(ours_polygon.area - polygon.area) / polygon.area))
        for name in ("one thread", "cached"):
            if shapely.symmetric_difference(timed[name].result[f], polygons[f]).area > 1e-9 * polygons[f].area:
                fail(f"facility {f}: reach_polygons ({name}) differs from the 2-thread call")
    # Equal up to the polygonal round ends (geocover buffers merged runs of segments, the recipe each edge);
    # with 8 segments per quarter circle the polygons lie inside the recipe's by the arcs' sagitta.
    for name, limit in (("geocover", 1e-4), ("quad_segs 8", 1e-3)):
        if worst[name][0] > limit:
            fail(f"the {name} polygons differ by {worst[name][0]:.2e} of their area")
    # The minutes of the pruned per-tile searches against one unpruned search of the whole network.
    whole = dijkstra(graph, directed=True, indices=n + np.arange(len(ok)), limit=LIMIT_MINUTES)[:, :n]
    dense = matrix.toarray()[ok]
    if not np.array_equal(dense > 0, whole <= LIMIT_MINUTES):
        fail("the pruned search reaches other nodes than the unpruned one")
    diff = float(np.max(np.abs(dense - OFFSET_MINUTES - whole)[whole <= LIMIT_MINUTES]))
    if diff > 1e-9:
        fail(f"the pruned search's minutes differ from the unpruned one by {diff:.3g}")
    pruned = next(search_groups(network, facilities, ok, LIMIT_MINUTES))[0] is not None
    print(f"answers equal: reached node sets identical for all {len(ok)} facilities ({matrix.nnz:,} facility-node "
          f"pairs); polygons differ by at most {worst['geocover'][0]:.1e} of their area (symmetric difference / "
          f"area; areas by at most {worst['geocover'][1]:.1e}); with quad_segs=8 by {worst['quad_segs 8'][0]:.1e} "
          f"(areas {worst['quad_segs 8'][1]:.1e}); on one thread and with cached tiles the same polygons")
    print(f"geocover's {'pruned (per tile)' if pruned else 'whole-network'} search vs one unpruned scipy dijkstra: "
          f"same reach, max abs difference {diff:.1g} minutes")
    print(f"median of {args.repeats} interleaved rounds; memory = peak RSS during the call above the RSS before it; "
          f"load average {load:.2f} before, {os.getloadavg()[0]:.2f} after (2 cores)\n")
    ego_s = sum(area[2] for area in areas)
    ours_s, ours_cpu = timed["geocover"].seconds, timed["geocover"].cpu_seconds
    rows = [[label, item.seconds, item.cpu_seconds, item.seconds / ours_s, item.cpu_seconds / ours_cpu, item.extra_mib]
            for label, item in (
                (f"geocover facility_node_matrix + reach_polygons ({WORKERS} threads)", timed["geocover"]),
                ("  facility_node_matrix alone", timed["matrix"]),
                ("  reach_polygons alone, 1 thread", timed["one thread"]),
                ("  reach_polygons alone, 1 thread, quad_segs=8", timed["quad_segs 8"]),
                ("  reach_polygons alone, 1 thread, tiles cached by an earlier call", timed["cached"]),
                ("OSMnx recipe: ego_graph + buffered edges union", timed["peer"]),
            )]
    rows.append(["  of which nx.ego_graph (wall, last round)", ego_s, "", ego_s / ours_s, "", ""])
    print(table(["method", "wall s", "CPU s", "wall / geocover", "CPU / geocover", "peak extra MiB"], rows))
    print()
    for clock in ("seconds", "cpu_seconds"):
        ratio = getattr(timed["peer"], clock) / getattr(timed["geocover"], clock)
        print(f'{"wall" if clock == "seconds" else "CPU"} time: geocover {ratio:.1f}x faster than the OSMnx recipe '
              f'(goal >= 50x: {"met" if ratio >= 50 else "NOT met"})')
    single = timed["matrix"].seconds + timed["one thread"].seconds
    print(f"on one thread (facility_node_matrix + reach_polygons, wall): {timed['peer'].seconds / single:.1f}x")
    print(f"the search alone: facility_node_matrix {ego_s / timed['matrix'].seconds:.0f}x faster than "
          "nx.ego_graph per facility (wall)")


if __name__ == "__main__":
    main()
