"""The searches behind :mod:`geocover.travel.matrices`: facilities grouped by tile, each group searched by
``scipy.sparse.csgraph.dijkstra`` on the subgraph its limit can reach, in blocks of at most :data:`BLOCK_BYTES`.

No path of ``limit_minutes`` leaves the disc of radius ``limit_minutes`` × the fastest straight-line speed of any
segment around its facility (:func:`reach_m`), so the facilities of one square tile are searched on the nodes of
that tile and of the tiles around it (:func:`search_groups`), which gives the minutes of the whole network.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from geocover.network.graph import Network, ranges
from geocover.network.snapping import Snap
from geocover.travel.nearest import Direction, facility_graph

BLOCK_BYTES = 2**23
"""Largest dense block one ``dijkstra`` call may return (chunk × searched nodes × 8 bytes), 8 MiB.

Small blocks stay in the allocator's heap and in cache: 8 MiB searched 3x faster than 256 MiB here."""

_MAX_TILES_PER_AXIS = 1024


def snapped_positions(network: Network, snap: Snap) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of snapped positions along their segments, NaN where unsnapped."""
    e = np.where(snap.snapped, snap.edge, 0)
    t = np.where(snap.snapped, snap.fraction, np.nan)
    u, v = network.u[e], network.v[e]
    return network.x[u] + t * (network.x[v] - network.x[u]), network.y[u] + t * (network.y[v] - network.y[u])


def reach_m(network: Network, limit_minutes: float) -> float:
    """Straight-line metres no path of ``limit_minutes`` can exceed: the limit × the fastest segment."""
    if not np.isfinite(limit_minutes):
        return np.inf
    straight = np.hypot(network.x[network.v] - network.x[network.u], network.y[network.v] - network.y[network.u])
    fastest = 0.0
    for minutes in (network.minutes_uv, network.minutes_vu):
        use = np.isfinite(minutes) & (straight > 0)
        if use.any():
            with np.errstate(divide="ignore"):
                fastest = max(fastest, float(np.max(straight[use] / minutes[use])))
    return limit_minutes * fastest * (1.0 + 1e-9) + 1e-6


def search_groups(
    network: Network, facilities: Snap, ok: np.ndarray, limit_minutes: float
) -> Iterator[tuple[np.ndarray | None, np.ndarray]]:
    """Yield ``(nodes, group)``: sorted node ids to search (None: all) and positions into ``ok``.

    Facilities are grouped by the square tile holding their snapped position; a group is searched
    on the nodes of its tile and of every tile within the reach of the limit.
    """
    reach = reach_m(network, limit_minutes)
    x0, y0 = network.x.min(), network.y.min()
    extent = max(network.x.max() - x0, network.y.max() - y0)
    if not np.isfinite(reach) or 4.0 * reach >= extent:
        yield None, np.arange(len(ok))
        return
    size = max(reach, extent / _MAX_TILES_PER_AXIS)
    ring = int(np.ceil(reach / size))
    n_x = int((network.x.max() - x0) // size) + 1
    n_y = int((network.y.max() - y0) // size) + 1
    node_tile = ((network.y - y0) // size).astype(np.int64) * n_x + ((network.x - x0) // size).astype(np.int64)
    order = np.argsort(node_tile, kind="stable")
    tile_ptr = np.searchsorted(node_tile[order], np.arange(n_x * n_y + 1))
    px, py = snapped_positions(network, facilities.take(ok))
    fx = np.clip((px - x0) // size, 0, n_x - 1).astype(np.int64)
    fy = np.clip((py - y0) // size, 0, n_y - 1).astype(np.int64)
    by_tile = np.argsort(fy * n_x + fx, kind="stable")
    tiles = (fy * n_x + fx)[by_tile]
    bounds = np.flatnonzero(np.r_[True, tiles[1:] != tiles[:-1], True])
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        ty, tx = divmod(int(tiles[lo]), n_x)
        x_lo, x_hi = max(tx - ring, 0), min(tx + ring, n_x - 1)
        rows = np.arange(max(ty - ring, 0), min(ty + ring, n_y - 1) + 1)
        starts, stops = tile_ptr[rows * n_x + x_lo], tile_ptr[rows * n_x + x_hi + 1]
        yield np.sort(order[ranges(starts, stops - starts)]), by_tile[lo:hi]


def search_blocks(
    network: Network, facilities: Snap, limit_minutes: float, direction: Direction, offroad_kmh: float,
    chunk_size: int = 256, merge: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    """Yield ``(chunk, dist, nodes)`` per ``dijkstra`` call over the snapped facilities, each once.

    ``chunk``: the facilities searched (indices into ``facilities``); ``dist``: their minutes to the
    searched nodes, ``inf`` beyond the limit (chunk × nodes, within :data:`BLOCK_BYTES` unless one
    facility alone is more); ``nodes``: the ids of the searched nodes, sorted (None: all nodes).
    ``merge``: search neighbouring groups together while their block fits (fewer calls on short limits).
    """
    n = network.n_nodes
    ok = np.flatnonzero(facilities.snapped)
    if not len(ok) or not n:
        return
    graph = facility_graph(network, facilities, ok, direction, offroad_kmh, None)
    scratch = np.full(graph.shape[0], -1, dtype=np.int64)
    groups = search_groups(network, facilities, ok, limit_minutes)
    for nodes, group in merged_groups(groups, BLOCK_BYTES // 8, n) if merge else groups:
        if nodes is None:
            sub, n_real = graph, n
            sources = n + group
        else:
            sub, n_real = induced_subgraph(graph, np.concatenate([nodes, n + group]), scratch), len(nodes)
            sources = n_real + np.arange(len(group))
        step = max(1, min(chunk_size, BLOCK_BYTES // (8 * sub.shape[0])))
        for start in range(0, len(group), step):
            dist = dijkstra(sub, directed=True, indices=sources[start:start + step], limit=limit_minutes)
            yield ok[group[start:start + step]], dist[:, :n_real], nodes


def merged_groups(
    groups: Iterator[tuple[np.ndarray | None, np.ndarray]], budget: int, n_nodes: int
) -> Iterator[tuple[np.ndarray | None, np.ndarray]]:
    """Consecutive ``(nodes, group)`` of :func:`search_groups` united while nodes × facilities <= ``budget``."""
    mark = np.zeros(n_nodes, dtype=bool)
    size, united = 0, []
    for nodes, group in groups:
        if nodes is None:
            yield nodes, group
            continue
        new = int(np.count_nonzero(~mark[nodes]))
        if united and (size + new) * (sum(map(len, united)) + len(group)) > budget:
            union = np.flatnonzero(mark)
            mark[union] = False
            yield union, np.concatenate(united)
            size, united, new = 0, [], len(nodes)
        mark[nodes] = True
        size += new
        united.append(group)
    if united:
        yield np.flatnonzero(mark), np.concatenate(united)


def induced_subgraph(graph: sp.csr_matrix, keep: np.ndarray, scratch: np.ndarray) -> sp.csr_matrix:
    """The subgraph on nodes ``keep``, renumbered ``0 .. len(keep) - 1`` in that order.

    ``scratch`` is an int64 array of -1 over all nodes of ``graph``, left as it was found.
    """
    scratch[keep] = np.arange(len(keep))
    counts = graph.indptr[keep + 1] - graph.indptr[keep]
    at = ranges(graph.indptr[keep], counts)
    cols = scratch[graph.indices[at]]
    scratch[keep] = -1
    inside = cols >= 0
    rows = np.repeat(np.arange(len(keep)), counts)[inside]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(keep)))])
    return sp.csr_matrix((graph.data[at][inside], cols[inside], indptr), shape=(len(keep), len(keep)))


def assemble_rows(
    pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]], n_rows: int, n_cols: int
) -> sp.csr_matrix:
    """One CSR matrix from ``(rows, counts, cols, values)`` pieces, each row in one piece, freed as used."""
    counts = np.zeros(n_rows, dtype=np.int64)
    for rows, row_counts, _, _ in pieces:
        counts[rows] = row_counts
    indptr = np.concatenate([[0], np.cumsum(counts)])
    index_dtype = np.int32 if max(int(indptr[-1]), n_cols) < 2**31 else np.int64
    indices = np.empty(int(indptr[-1]), dtype=index_dtype)
    data = np.empty(int(indptr[-1]))
    while pieces:
        rows, row_counts, cols, values = pieces.pop()
        at = ranges(indptr[rows], row_counts)
        indices[at] = cols
        data[at] = values
    return sp.csr_matrix((data, indices, indptr.astype(index_dtype)), shape=(n_rows, n_cols))
