"""Nearest-facility minutes on the Comoros drive network: geocover vs NetworkX vs a bare SciPy call.

Measures :func:`geocover.travel.nearest.nearest_facility_nodes`: every node's minutes to (and from) its
nearest hospital, clinic or doctor, and which one. The peers search the same arcs (the network plus
one virtual node per facility with arcs to the two ends of its segment: the off-road leg and the part
of the segment travelled): NetworkX ``multi_source_dijkstra_path_length`` on a ``DiGraph`` of those
arcs, and one bare ``scipy.sparse.csgraph.dijkstra(min_only=True)`` call on the prebuilt CSR arrays.
geocover searches the junction graph (runs of shape points contracted, :mod:`geocover.network.chains`, built once
per network and direction and cached like the CSR) and fills in the shape points. The minutes are
checked equal to 1e-9 minutes (the largest absolute difference is printed) before the ratios; the
script exits with status 1 when they differ.

Run from the repository root: ``python benchmarks/nearest_facility_comoros.py [--repeats 15]``.
"""

from __future__ import annotations

import argparse
import time

import networkx as nx
import numpy as np
from _common import Timed, comoros_drive, fail, median_seconds, networkx_graph, table
from scipy.sparse.csgraph import dijkstra

from geocover.network.chains import chains
from geocover.network.graph import Network
from geocover.network.snapping import Snap
from geocover.travel.nearest import Direction, facility_graph, nearest_facility_nodes

OFFROAD_KMH = 5.0


def compare(network: Network, facilities: Snap, direction: Direction, repeats: int) -> dict[str, Timed]:
    """Time the three searches in one direction, check their answers, print a table and return the timings."""
    n = network.n_nodes
    ok = np.flatnonzero(facilities.snapped)
    graph = facility_graph(network, facilities, ok, direction, OFFROAD_KMH, None)
    virtual = n + np.arange(len(ok))
    start = time.perf_counter()
    found = chains(network, direction)
    print(f'direction "{direction}": junction graph of {len(found.junctions):,} junctions built once in '
          f"{time.perf_counter() - start:.3f} s and cached (not timed below)")
    start = time.perf_counter()
    nx_graph = networkx_graph(graph, network)
    print(f'direction "{direction}": NetworkX DiGraph of the same {graph.nnz:,} arcs built in '
          f"{time.perf_counter() - start:.2f} s (not timed below)")
    timed = median_seconds(
        {
            "geocover": lambda: nearest_facility_nodes(network, facilities, direction, OFFROAD_KMH),
            "bare": lambda: dijkstra(graph, directed=True, indices=virtual, min_only=True, return_predecessors=True),
            "minutes": lambda: dijkstra(graph, directed=True, indices=virtual, min_only=True),
            "networkx": lambda: nx.multi_source_dijkstra_path_length(nx_graph, virtual.tolist(), weight="time"),
        },
        repeats,
    )
    nodes = timed["geocover"].result
    bare_minutes, _, source = timed["bare"].result
    lengths = timed["networkx"].result
    expected = np.array([lengths.get(i, np.inf) for i in range(n)])
    reached = np.isfinite(expected)
    if not np.array_equal(np.isfinite(nodes.minutes), reached):
        fail(f'"{direction}": geocover and networkx reach different nodes')
    worst_nx = float(np.max(np.abs(nodes.minutes[reached] - expected[reached])))
    worst_bare = float(np.max(np.abs(nodes.minutes[reached] - bare_minutes[:n][reached])))
    if worst_nx > 1e-9 or worst_bare > 1e-9:
        fail(f'"{direction}": minutes differ by up to {worst_nx:.3g} (networkx), {worst_bare:.3g} (bare scipy)')
    if not np.array_equal(nodes.facility[reached], ok[source[:n][reached] - n]):
        fail(f'"{direction}": geocover and bare scipy name different nearest facilities')
    print(f"answers equal: {reached.sum():,} of {n:,} nodes reach a facility; max abs difference in minutes "
          f"vs networkx {worst_nx:.2g}, vs bare scipy {worst_bare:.2g}; nearest facility identical to scipy's")
    ours, ours_cpu = timed["geocover"].seconds, timed["geocover"].cpu_seconds
    rows = [
        ["geocover nearest_facility_nodes (minutes + facility)", "geocover"],
        ["bare scipy dijkstra(min_only, return_predecessors)", "bare"],
        ["bare scipy dijkstra(min_only), minutes only", "minutes"],
        ["networkx multi_source_dijkstra_path_length", "networkx"],
    ]
    print(f"median of {repeats} interleaved rounds; memory = peak RSS during the call above the RSS before it")
    print(table(["search", "wall ms", "CPU ms", "wall / geocover", "CPU / geocover", "peak extra MiB"],
                [[label, timed[key].seconds * 1e3, timed[key].cpu_seconds * 1e3, timed[key].seconds / ours,
                  timed[key].cpu_seconds / ours_cpu, timed[key].extra_mib] for label, key in rows]))
    print()
    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="rounds of every search; the median is reported")
    args = parser.parse_args()
    network, facilities = comoros_drive()
    print(f"Comoros drive network: {network.n_nodes:,} nodes, {network.n_edges:,} segments, "
          f"{len(facilities)} hospitals, clinics and doctors ({facilities.snapped.sum()} snapped within 1 km)")
    start = time.perf_counter()
    network.csr(reverse=True), network.csr(reverse=False)
    print(f"network CSR built once per direction and cached: {time.perf_counter() - start:.3f} s (not timed below)\n")
    results = {direction: compare(network, facilities, direction, args.repeats) for direction in ("to", "from")}
    for direction, timed in results.items():
        for clock in ("seconds", "cpu_seconds"):
            ours = getattr(timed["geocover"], clock)
            faster = getattr(timed["networkx"], clock) / ours
            overhead = [ours / getattr(timed[key], clock) for key in ("bare", "minutes")]
            print(f'"{direction}", {"wall" if clock == "seconds" else "CPU"} time: geocover {faster:.1f}x faster '
                  f'than networkx (goal >= 30x: {"met" if faster >= 30 else "NOT met"}); {overhead[0]:.2f}x the '
                  f"bare scipy call with predecessors, {overhead[1]:.2f}x the minutes-only call "
                  f'(goal <= 2x: {"met" if max(overhead) <= 2 else "NOT met"})')


if __name__ == "__main__":
    main()
