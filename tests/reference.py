"""Independent reference: NetworkX Dijkstra with the snapped points inserted as nodes."""

from __future__ import annotations

from collections import defaultdict

import networkx as nx
import numpy as np

from geocover.network.graph import Network
from geocover.network.snapping import Snap


def reference_minutes(
    network: Network,
    facilities: Snap,
    points: Snap,
    direction: str = "to",
    offroad_kmh: float = 5.0,
    delay_minutes: np.ndarray | None = None,
) -> np.ndarray:
    """Minutes between each point and its nearest facility, by NetworkX on a split graph.

    Every segment holding a facility or a point is cut at their positions; each point and
    facility hangs off its cut by a two-way arc of its walked off-road leg.
    """
    walk_m_per_min = offroad_kmh * 1000.0 / 60.0
    graph = nx.DiGraph()
    graph.add_nodes_from(range(network.n_nodes))
    stops: dict[int, list[tuple[float, tuple]]] = defaultdict(list)
    for kind, snap in (("f", facilities), ("p", points)):
        for i in np.flatnonzero(snap.snapped):
            stops[int(snap.edge[i])].append((float(snap.fraction[i]), (kind, int(i))))
    for e in range(network.n_edges):
        chain = [(0.0, int(network.u[e]))]
        for fraction, label in sorted(stops.get(e, [])):
            chain.append((fraction, ("cut",) + label))
        chain.append((1.0, int(network.v[e])))
        for (f0, a), (f1, b) in zip(chain[:-1], chain[1:], strict=True):
            # Two stops at the same position are one place, whatever the one-way rule.
            if np.isfinite(network.minutes_uv[e]) or f1 == f0:
                _add_min(graph, a, b, (f1 - f0) * np.nan_to_num(network.minutes_uv[e], posinf=0.0))
            if np.isfinite(network.minutes_vu[e]) or f1 == f0:
                _add_min(graph, b, a, (f1 - f0) * np.nan_to_num(network.minutes_vu[e], posinf=0.0))
    for kind, snap in (("f", facilities), ("p", points)):
        for i in np.flatnonzero(snap.snapped):
            leg = float(snap.offset_m[i]) / walk_m_per_min
            if kind == "f" and delay_minutes is not None:
                leg += float(delay_minutes[i])
            _add_min(graph, (kind, int(i)), ("cut", kind, int(i)), leg)
            _add_min(graph, ("cut", kind, int(i)), (kind, int(i)), leg)
    sources = [("f", int(i)) for i in np.flatnonzero(facilities.snapped)]
    search_graph = graph.reverse(copy=False) if direction == "to" else graph
    lengths = nx.multi_source_dijkstra_path_length(search_graph, sources) if sources else {}
    return np.array([lengths.get(("p", i), np.inf) for i in range(len(points))])


def _add_min(graph: nx.DiGraph, a: object, b: object, minutes: float) -> None:
    if graph.has_edge(a, b):
        minutes = min(minutes, graph[a][b]["weight"])
    graph.add_edge(a, b, weight=minutes)
