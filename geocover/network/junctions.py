"""Where roads meet: line ends and crossings found near other roads, segments split there and nodes merged.

The machinery under :func:`~geocover.network.combine.combine_roads` (roads of different sources) and
:func:`~geocover.network.combine.join_layer` (the lines of one local layer): segments as Shapely LineStrings in
metres, the open ends to join and each one's nearest joinable segment, the crossings of two segments at one
point, and the joining itself (a point within ``join_m`` of a segment's end node is that node, else a new node
splits the segment; merged nodes take the position of the one of lowest rank: the earliest source's, or within
one layer the node of the line joined to). Nothing is joined to or across a bridge or tunnel, nor between
segments whose ``layer`` differs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pyproj
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geocover.io.utm import utm_crs_at
from geocover.network.segments import RoadSegments


def metric_transformer(segments: RoadSegments) -> pyproj.Transformer:
    """Lon/lat to metres in the UTM zone at the centre of the segments' nodes."""
    west, east = (float(segments.lon.min()), float(segments.lon.max())) if len(segments.lon) else (0.0, 0.0)
    south, north = (float(segments.lat.min()), float(segments.lat.max())) if len(segments.lat) else (0.0, 0.0)
    return pyproj.Transformer.from_crs("EPSG:4326", utm_crs_at((west + east) / 2, (south + north) / 2),
                                       always_xy=True)


def segment_lines(segments: RoadSegments, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Shapely LineStrings of the segments in metres."""
    return shapely.linestrings(np.stack([np.column_stack([x[segments.u], y[segments.u]]),
                                         np.column_stack([x[segments.v], y[segments.v]])], axis=1))


def touched_nodes(segments: RoadSegments, n_nodes: int) -> np.ndarray:
    """Whether each node is an end of one of the segments."""
    touched = np.zeros(n_nodes, dtype=bool)
    touched[segments.u] = True
    touched[segments.v] = True
    return touched


def open_ends(segments: RoadSegments, n_nodes: int, exposed: np.ndarray, join_m: float,
              duplicate_m: float) -> tuple[np.ndarray, np.ndarray]:
    """The nodes to join to another source's road and each one's tolerance (m): line ends (of one segment,
    not a bridge or tunnel) within ``join_m``, ends left open by dropped duplicates within ``duplicate_m``."""
    degree = np.bincount(np.concatenate([segments.u, segments.v]), minlength=n_nodes)
    level = ~segments.bridge & ~segments.tunnel
    on_level = np.zeros(n_nodes, dtype=bool)
    on_level[np.concatenate([segments.u[level], segments.v[level]])] = True
    exposed = exposed[on_level[exposed]]
    dangling = np.setdiff1d(np.flatnonzero((degree == 1) & on_level), exposed)
    ends = np.concatenate([dangling, exposed])
    return ends, np.concatenate([np.full(len(dangling), join_m), np.full(len(exposed), max(join_m, duplicate_m))])


def end_joins(segments: RoadSegments, x: np.ndarray, y: np.ndarray,
              index: tuple[np.ndarray, np.ndarray, shapely.STRtree], ends: np.ndarray, tolerance_m: np.ndarray,
              allowed: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each end's nearest joinable segment of the same layer within its tolerance that ``allowed(end nodes,
    segments)`` admits (another source's, another line's): the end nodes, the segments and the foot of the
    perpendicular as a fraction of the segment from ``u``.

    ``index`` is ``(lines, joinable, tree)``: every segment's LineString in metres, the joinable segments (no
    bridge or tunnel) and an STRtree of their lines."""
    lines, joinable, tree = index
    node_layer = np.zeros(len(x), dtype=np.int8)
    node_layer[segments.u], node_layer[segments.v] = segments.layer, segments.layer
    points = shapely.points(x[ends], y[ends])
    which, found = tree.query(points, predicate="dwithin", distance=tolerance_m)
    found = joinable[found]
    other = allowed(ends[which], found) & (segments.layer[found] == node_layer[ends[which]])
    which, found = which[other], found[other]
    distance_m = shapely.distance(points[which], lines[found])
    order = np.lexsort((found, distance_m, which))
    nearest = order[np.r_[True, which[order][1:] != which[order][:-1]]] if len(order) else order
    which, found = which[nearest], found[nearest]
    t = np.nan_to_num(shapely.line_locate_point(lines[found], points[which], normalized=True))
    return ends[which], found, t


def source_crossings(segments: RoadSegments, index: tuple[np.ndarray, np.ndarray, shapely.STRtree],
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of joinable segments of different sources and the same layer that cross at one point: the
    later source's segment, the earlier's, and the crossing as a fraction of each from its ``u`` (``index``
    as for :func:`end_joins`)."""
    lines, joinable, tree = index
    later = joinable[segments.source[joinable] > 0]
    which, found = tree.query(lines[later], predicate="intersects")
    first, second = later[which], joinable[found]
    keep = (segments.source[second] < segments.source[first]) & (segments.layer[second] == segments.layer[first])
    return crossing_points(lines, first[keep], second[keep])


def crossing_points(lines: np.ndarray, first: np.ndarray, second: np.ndarray,
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The pairs of segments whose lines meet at one point, and that point as a fraction of each from ``u``."""
    crossing = shapely.intersection(lines[first], lines[second])
    point = shapely.get_type_id(crossing) == 0
    first, second, crossing = first[point], second[point], crossing[point]
    t_first = np.nan_to_num(shapely.line_locate_point(lines[first], crossing, normalized=True))
    t_second = np.nan_to_num(shapely.line_locate_point(lines[second], crossing, normalized=True))
    return first, second, t_first, t_second


def join_at(segments: RoadSegments, x: np.ndarray, y: np.ndarray, rank: tuple[np.ndarray, np.ndarray], join_m: float,
            ends: tuple[np.ndarray, np.ndarray, np.ndarray],
            crossings: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> tuple[RoadSegments, int]:
    """The segments split and their nodes merged at every junction, and the number of junctions.

    ``ends`` are ``(node, segment, t)``: a line end and the point at fraction ``t`` of a segment from its
    ``u``; ``crossings`` are ``(segment, segment, t, t)`` (see :func:`source_crossings`). A point within ``join_m``
    of its segment's nearer end node is that node; else a new node there splits the segment. The two sides'
    nodes are merged into the one of the lowest rank: ``rank`` is ``(of each node, of each segment)``, a new
    node taking its segment's.
    """
    end_nodes, end_segments, end_t = ends
    first, second, first_t, second_t = crossings
    n_nodes, n_ends, n_crossings = len(x), len(end_nodes), len(first)
    length_m = np.hypot(x[segments.v] - x[segments.u], y[segments.v] - y[segments.u])
    segment = np.concatenate([end_segments, first, second]).astype(np.intp)
    t = np.concatenate([end_t, first_t, second_t])
    along_m = t * length_m[segment]
    node = np.where(along_m <= length_m[segment] - along_m, segments.u[segment], segments.v[segment])
    new = np.minimum(along_m, length_m[segment] - along_m) > join_m
    node[new] = n_nodes + np.arange(int(new.sum()))
    first_node = np.concatenate([end_nodes, node[n_ends:n_ends + n_crossings]])
    second_node = np.concatenate([node[:n_ends], node[n_ends + n_crossings:]])
    split_segment, split_t, split_node = segment[new], t[new], node[new]
    lon_u, lon_v = segments.lon[segments.u[split_segment]], segments.lon[segments.v[split_segment]]
    lat_u, lat_v = segments.lat[segments.u[split_segment]], segments.lat[segments.v[split_segment]]
    lon = np.concatenate([segments.lon, lon_u + split_t * (lon_v - lon_u)])
    lat = np.concatenate([segments.lat, lat_u + split_t * (lat_v - lat_u)])
    node_rank = np.concatenate([rank[0], rank[1][split_segment]])
    below = min(0, int(segments.node_id.min(initial=0)))
    node_id = np.concatenate([segments.node_id, below - np.arange(1, len(split_node) + 1, dtype=np.int64)])
    pieces = _split(segments, split_segment, split_t, split_node)
    representative = _representatives(len(lon), first_node, second_node, node_rank)
    u, v = representative[pieces.u], representative[pieces.v]
    keep = u != v
    used = np.zeros(len(lon), dtype=bool)
    used[u[keep]] = used[v[keep]] = True
    position = np.cumsum(used) - 1
    joined = replace(pieces.take(keep), node_id=node_id[used], lon=lon[used], lat=lat[used])
    joined.u, joined.v = position[u[keep]], position[v[keep]]
    return joined, len(np.unique(representative[first_node]))


def _representatives(n_nodes: int, first: np.ndarray, second: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """The node each node becomes when ``first[i]`` and ``second[i]`` are merged: of each group of merged
    nodes, the one of the lowest ``rank`` (the earliest source), then of the lowest index."""
    representative = np.arange(n_nodes)
    linked, inverse = np.unique(np.concatenate([first, second]), return_inverse=True)
    if not len(linked):
        return representative
    links = coo_matrix((np.ones(len(first)), (inverse[:len(first)], inverse[len(first):])),
                       shape=(len(linked), len(linked)))
    _, label = connected_components(links, directed=False)
    order = np.lexsort((linked, rank[linked]))
    _, first_of_label = np.unique(label[order], return_index=True)
    representative[linked] = linked[order[first_of_label][label]]
    return representative


def _split(segments: RoadSegments, segment: np.ndarray, t: np.ndarray, node: np.ndarray) -> RoadSegments:
    """The segments with each ``segment`` cut at fraction ``t`` by ``node`` (several cuts of one in order)."""
    order = np.lexsort((t, segment))
    segment, node = segment[order], node[order]
    starts = np.r_[True, segment[1:] != segment[:-1]] if len(segment) else np.zeros(0, dtype=bool)
    last = np.r_[segment[1:] != segment[:-1], True] if len(segment) else np.zeros(0, dtype=bool)
    before = np.where(starts, segments.u[segment], np.roll(node, 1))
    cut = np.zeros(len(segments.u), dtype=bool)
    cut[segment] = True
    whole = np.flatnonzero(~cut)
    parent = np.concatenate([whole, segment, segment[last]])
    pieces = segments.take(parent)
    pieces.u = np.concatenate([segments.u[whole], before, node[last]])
    pieces.v = np.concatenate([segments.v[whole], node, segments.v[segment[last]]])
    return pieces
