"""Networks in and out as GeoDataFrames and NetworkX / OSMnx graphs, for notebooks.

A :class:`~geocover.network.graph.Network` is made of straight segments. An edge drawn with a
curved ``geometry`` (as OSMnx keeps after simplification) is cut at its vertices into straight
pieces, its minutes and length shared out by the pieces' lengths, so the minutes between the
graph's nodes are unchanged and points snap to the road as drawn. The vertices become nodes with
negative ids (-1, -2, …, below any negative id given), shared by the edges joining the same two
nodes (both directions of a two-way street). NetworkX is only imported here, to convert; every
search runs on CSR matrices.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geocover.io.utm import utm_crs
from geocover.network.graph import Network, merge_parallel

if TYPE_CHECKING:
    import networkx as nx

_VERTEX_DECIMALS = 6
"""Vertices of edges between the same two nodes are one node when equal to this many decimals of the CRS unit."""


def network_from_gdfs(
    nodes: gpd.GeoDataFrame,
    edges: gpd.GeoDataFrame | pd.DataFrame,
    crs: pyproj.CRS | str | None = None,
    speed_kmh: float | None = None,
    mode: str = "custom",
) -> Network:
    """A network from OSMnx-style node and edge tables.

    Parameters
    ----------
    nodes : geopandas.GeoDataFrame
        One point per node, indexed by node id (OSM ids in OSMnx), with a CRS.
    edges : geopandas.GeoDataFrame or pandas.DataFrame
        One row per directed edge: its end node ids as the first two levels of a MultiIndex
        ``(u, v, key)`` or as columns ``u`` and ``v``; ``length`` in metres (the drawn or straight
        length when absent); the cost as ``travel_time`` in seconds, or ``speed_kph`` (both as OSMnx's
        ``add_edge_speeds`` / ``add_edge_travel_times`` add them); an optional ``geometry`` in the
        nodes' CRS. A two-way road is two rows, as in OSMnx.
    crs : pyproj.CRS or str, optional
        Metric CRS of the network; the UTM zone of the nodes when omitted and the nodes are in degrees.
    speed_kmh : float, optional
        One speed for every edge (walking at 5 km/h), instead of the edges' costs.
    mode : str
        Label of the network (see :class:`~geocover.network.graph.Network`).

    Returns
    -------
    Network
        Parallel edges keep the fastest time in each direction.
    """
    if nodes.crs is None:
        raise ValueError("nodes have no CRS: set one with nodes.set_crs(...)")
    if crs is None:
        crs = utm_crs(nodes) if nodes.crs.is_geographic else nodes.crs
    crs = pyproj.CRS.from_user_input(crs)
    if crs.is_geographic:
        raise ValueError(f"the network needs a metric CRS, got {crs.to_string()}")
    if not pd.api.types.is_integer_dtype(nodes.index):
        raise ValueError(f"node ids must be integers (as OSM ids are), got {nodes.index.dtype}")
    ends = _edge_ends(edges)
    position = pd.Index(nodes.index)
    tail, head = position.get_indexer(ends["u"]), position.get_indexer(ends["v"])
    if (tail < 0).any() or (head < 0).any():
        unknown = ends.loc[(tail < 0) | (head < 0), ["u", "v"]].head(5).to_numpy().tolist()
        raise ValueError(f"edges join nodes missing from the node table, e.g. {unknown}")
    points = nodes.geometry.to_crs(crs)
    x, y = points.x.to_numpy(), points.y.to_numpy()
    lines = _edge_lines(edges, nodes.crs, crs, x, y, tail, head)
    drawn_m = shapely.length(lines)
    length_m = ends["length"].to_numpy(float) if "length" in ends else drawn_m
    minutes = _edge_minutes(ends, length_m, speed_kmh)
    return _from_lines(x, y, np.asarray(nodes.index), tail, head, lines, minutes, length_m, crs, mode)


def _edge_ends(edges: pd.DataFrame) -> pd.DataFrame:
    """``edges`` with columns ``u`` and ``v`` (taken from a MultiIndex when they are not columns)."""
    if {"u", "v"} <= set(edges.columns):
        return edges
    if edges.index.nlevels < 2:
        raise ValueError("edges need columns u and v or a MultiIndex (u, v, key) as OSMnx gives them")
    frame = edges.reset_index(drop=True)
    frame["u"], frame["v"] = edges.index.get_level_values(0), edges.index.get_level_values(1)
    return frame


def _edge_lines(edges: pd.DataFrame, source_crs: pyproj.CRS, crs: pyproj.CRS, x: np.ndarray, y: np.ndarray,
                tail: np.ndarray, head: np.ndarray) -> np.ndarray:
    """Each edge's line in ``crs``: its ``geometry`` where present, else straight from tail to head."""
    straight = shapely.linestrings(np.stack([np.column_stack([x[tail], y[tail]]),
                                             np.column_stack([x[head], y[head]])], axis=1))
    if "geometry" not in edges.columns:
        return straight
    drawn = gpd.GeoSeries(edges["geometry"].to_numpy(), crs=getattr(edges, "crs", None) or source_crs).to_crs(crs)
    drawn = drawn.to_numpy()
    lines = np.where(shapely.is_missing(drawn) | shapely.is_empty(drawn), straight, drawn)
    first = shapely.get_point(lines, 0)
    backwards = shapely.distance(first, shapely.points(x[head], y[head])) < shapely.distance(
        first, shapely.points(x[tail], y[tail]))
    lines[backwards] = shapely.reverse(lines[backwards])
    return lines


def _edge_minutes(edges: pd.DataFrame, length_m: np.ndarray, speed_kmh: float | None) -> np.ndarray:
    """Minutes per edge from one speed, ``travel_time`` (s) or ``speed_kph``."""
    if speed_kmh is not None:
        return length_m / (speed_kmh * 1000.0 / 60.0)
    if "travel_time" in edges:
        return edges["travel_time"].to_numpy(float) / 60.0
    if "speed_kph" in edges:
        return length_m / (edges["speed_kph"].to_numpy(float) * 1000.0 / 60.0)
    raise ValueError("edges need travel_time (s) or speed_kph (osmnx.add_edge_speeds, add_edge_travel_times), "
                     "or pass speed_kmh")


def _from_lines(x: np.ndarray, y: np.ndarray, node_id: np.ndarray, tail: np.ndarray, head: np.ndarray,
                lines: np.ndarray, minutes: np.ndarray, length_m: np.ndarray, crs: pyproj.CRS,
                mode: str) -> Network:
    """Cut each directed edge's line into straight pieces and merge the pieces into segments."""
    coords, edge_of = shapely.get_coordinates(lines, return_index=True)
    starts = np.searchsorted(edge_of, np.arange(len(lines)))
    last = np.r_[starts[1:], len(coords)] - 1
    vertex = np.full(len(coords), -1, dtype=np.int64)
    vertex[starts], vertex[last] = tail, head
    inner = np.flatnonzero(vertex < 0)
    lo, hi = np.minimum(tail, head)[edge_of[inner]], np.maximum(tail, head)[edge_of[inner]]
    keys = pd.MultiIndex.from_arrays([lo, hi, *np.round(coords[inner], _VERTEX_DECIMALS).T])
    codes, unique = pd.factorize(keys)
    n_nodes = len(x)
    vertex[inner] = n_nodes + codes
    x = np.concatenate([x, unique.get_level_values(2).to_numpy(float)])
    y = np.concatenate([y, unique.get_level_values(3).to_numpy(float)])
    below = min(0, int(node_id.min())) if len(node_id) else 0  # new ids clash with no given (negative) id
    node_id = np.concatenate([node_id, below - np.arange(1, len(unique) + 1)]).astype(np.int64)
    piece = np.flatnonzero(edge_of[:-1] == edge_of[1:])
    piece_m = np.hypot(*(coords[piece + 1] - coords[piece]).T)
    edge = edge_of[piece]
    total_m = np.bincount(edge, weights=piece_m, minlength=len(lines))
    share = np.where(total_m[edge] > 0, piece_m / np.where(total_m[edge] > 0, total_m[edge], 1.0), 1.0)
    u, v = vertex[piece], vertex[piece + 1]
    keep = u != v
    u, v, share, edge = u[keep], v[keep], share[keep], edge[keep]
    fwd = minutes[edge] * share
    merged = merge_parallel(u, v, fwd, np.full(len(u), np.inf), length_m[edge] * share)
    return Network(x=x, y=y, u=merged[0], v=merged[1], minutes_uv=merged[2], minutes_vu=merged[3], crs=crs,
                   length_m=merged[4], node_id=node_id, mode=mode)


def network_to_gdfs(network: Network) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Node and edge tables of ``network`` in OSMnx's layout.

    Returns
    -------
    nodes : geopandas.GeoDataFrame
        Indexed by ``osmid`` (the node ids), columns ``x``, ``y`` and point geometry in ``network.crs``.
    edges : geopandas.GeoDataFrame
        One row per open direction of each segment, indexed by ``(u, v, key)`` node ids (key 0), columns
        ``length`` (m), ``minutes``, ``travel_time`` (s) and the straight geometry.
    """
    nodes = gpd.GeoDataFrame({"x": network.x, "y": network.y},
                             index=pd.Index(network.node_id, name="osmid"),
                             geometry=gpd.points_from_xy(network.x, network.y), crs=network.crs)
    tail, head, minutes = network.arcs()
    segment = np.concatenate([np.flatnonzero(np.isfinite(network.minutes_uv)),
                              np.flatnonzero(np.isfinite(network.minutes_vu))])
    index = pd.MultiIndex.from_arrays([network.node_id[tail], network.node_id[head], np.zeros(len(tail), int)],
                                      names=["u", "v", "key"])
    geometry = shapely.linestrings(np.stack([np.column_stack([network.x[tail], network.y[tail]]),
                                             np.column_stack([network.x[head], network.y[head]])], axis=1))
    edges = gpd.GeoDataFrame({"length": network.length_m[segment], "minutes": minutes,
                              "travel_time": minutes * 60.0}, index=index, geometry=geometry, crs=network.crs)
    return nodes, edges


def network_from_networkx(
    graph: nx.Graph, crs: pyproj.CRS | str | None = None, speed_kmh: float | None = None, mode: str = "custom"
) -> Network:
    """A network from a NetworkX graph as OSMnx builds it.

    Parameters
    ----------
    graph : networkx.MultiDiGraph or networkx.Graph
        Nodes with ``x`` and ``y`` in ``graph.graph["crs"]`` (EPSG:4326 when unset); edges with the
        attributes :func:`network_from_gdfs` reads (``length``, ``travel_time`` or ``speed_kph``,
        ``geometry``). An undirected graph's edges are open both ways.
    crs, speed_kmh, mode
        As in :func:`network_from_gdfs`.

    Returns
    -------
    Network
    """
    node_ids, attributes = zip(*graph.nodes(data=True), strict=True) if len(graph) else ((), ())
    nodes = gpd.GeoDataFrame(
        index=pd.Index(node_ids), crs=graph.graph.get("crs", "EPSG:4326"),
        geometry=gpd.points_from_xy([a["x"] for a in attributes], [a["y"] for a in attributes]),
    )
    rows = [{**data, "u": u, "v": v} for u, v, data in graph.edges(data=True)]
    if not graph.is_directed():
        rows += [{**row, "u": row["v"], "v": row["u"],
                  **({"geometry": row["geometry"].reverse()} if row.get("geometry") is not None else {})}
                 for row in rows]
    edges = pd.DataFrame(rows, columns=sorted({key for row in rows for key in row} | {"u", "v"}))
    return network_from_gdfs(nodes, edges, crs=crs, speed_kmh=speed_kmh, mode=mode)


def network_to_networkx(network: Network) -> nx.MultiDiGraph:
    """``network`` as a NetworkX MultiDiGraph laid out as OSMnx's (``graph["crs"]``, node ``x``/``y``, edge
    ``length`` in m, ``minutes``, ``travel_time`` in s and ``geometry``), for reference and interchange."""
    import networkx as nx

    nodes, edges = network_to_gdfs(network)
    graph = nx.MultiDiGraph(crs=network.crs)
    graph.add_nodes_from((node, {"x": x, "y": y}) for node, x, y in zip(nodes.index, nodes["x"], nodes["y"],
                                                                         strict=True))
    records = edges.reset_index().to_dict("records")
    graph.add_edges_from((row.pop("u"), row.pop("v"), row.pop("key"), row) for row in records)
    return graph
