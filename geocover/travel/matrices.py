"""Per-facility travel times within a cut-off, as sparse matrices.

A row per facility (or candidate site), a column per node or per point, a stored entry for every
pair within ``limit_minutes``: never a dense facilities × nodes array (40,000 × 3,000,000 would
not fit). Facilities join the network as virtual nodes exactly as in
:func:`geocover.travel.nearest.nearest_facility_nodes`, and are searched in chunks with
``scipy.sparse.csgraph.dijkstra(indices=chunk, limit=limit_minutes)``.

Each chunk is searched on a pruned subgraph: no path of ``limit_minutes`` leaves the disc of radius
``limit_minutes`` × the fastest straight-line speed of any segment around the facility, so the
facilities of one square tile are searched on the nodes of that tile and of the tiles around it,
which gives the same minutes as the whole network within the limit. When the disc covers most of
the network, the whole network is searched.

:func:`facility_point_totals` sums weights of points (people) within bands of each facility straight
from each search, without a matrix.

Stored values are ``minutes + OFFSET_MINUTES``, so a pair at exactly 0 minutes (a facility on a
node) is a stored non-zero entry that no SciPy operation drops. Read minutes as
``matrix.data - OFFSET_MINUTES`` and the reach as the stored pattern (``matrix.indices``); a
missing entry means beyond the limit or unreachable, not 0 minutes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from geocover.network.graph import WALK_SPEED_KMH, Network, ranges
from geocover.network.snapping import Snap
from geocover.travel.nearest import Direction, _facility_graph, _same_segment_pairs, _toward_ends, _walk_minutes

OFFSET_MINUTES = 2.0**-20
"""Added to every stored value (about 0.06 ms): minutes are ``data - OFFSET_MINUTES``, exact to one ulp."""

BLOCK_BYTES = 2**23
"""Largest dense block one ``dijkstra`` call may return (chunk × searched nodes × 8 bytes), 8 MiB.

Small blocks stay in the allocator's heap and in cache: 8 MiB searched 3x faster than 256 MiB here."""

_MAX_TILES_PER_AXIS = 1024


def facility_node_matrix(
    network: Network,
    facilities: Snap,
    limit_minutes: float,
    direction: Direction = "to",
    offroad_kmh: float = WALK_SPEED_KMH,
    chunk_size: int = 256,
) -> sp.csr_matrix:
    """Minutes between every facility and every node within ``limit_minutes``.

    Parameters
    ----------
    network : Network
    facilities : Snap
        Snapped facilities (or candidate sites); unsnapped ones get an empty row.
    limit_minutes : float
        Cut-off in minutes; pairs farther apart are not stored.
    direction : {"to", "from"}
        ``"to"``: from the node to the facility (reverse search); ``"from"``: from the facility out.
    offroad_kmh : float
        Walking speed on the facility's off-road leg, km/h.
    chunk_size : int
        Facilities per ``dijkstra`` call; fewer when one call's dense block
        (chunk × searched nodes × 8 bytes) would exceed :data:`BLOCK_BYTES`.

    Returns
    -------
    scipy.sparse.csr_matrix
        Shape ``(len(facilities), network.n_nodes)``, float64, sorted column indices; stored
        value = minutes + :data:`OFFSET_MINUTES` for every pair within the limit.
    """
    n = network.n_nodes
    index_dtype = np.int32 if n < 2**31 else np.int64
    pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for chunk, dist, nodes in _search_blocks(network, facilities, limit_minutes, direction, offroad_kmh, chunk_size):
        rows, cols = np.nonzero(dist <= limit_minutes)
        values = dist[rows, cols] + OFFSET_MINUTES
        cols = (cols if nodes is None else nodes[cols]).astype(index_dtype)
        pieces.append((chunk, np.bincount(rows, minlength=len(chunk)), cols, values))
    return _assemble(pieces, len(facilities), n)


def facility_point_matrix(
    network: Network,
    node_matrix: sp.csr_matrix,
    points: Snap,
    facilities: Snap,
    limit_minutes: float,
    offroad_kmh: float = WALK_SPEED_KMH,
    direction: Direction = "to",
) -> sp.csr_matrix:
    """Minutes between every facility and every snapped point within ``limit_minutes``.

    A point is reached through either end of its segment, or directly along the segment when
    the facility is snapped to the same one (as :func:`geocover.travel.nearest.point_minutes` does for
    the nearest facility); the point's off-road leg is walked.

    Parameters
    ----------
    network : Network
    node_matrix : scipy.sparse.csr_matrix
        Output of :func:`facility_node_matrix` for the same facilities and ``direction``, with a
        limit of at least ``limit_minutes``.
    points : Snap
        Snapped points (population cells); unsnapped points get an empty column.
    facilities : Snap
    limit_minutes : float
        Cut-off in minutes.
    offroad_kmh : float
        Walking speed on off-road legs, km/h.
    direction : {"to", "from"}
        The direction ``node_matrix`` was built with.

    Returns
    -------
    scipy.sparse.csr_matrix
        Shape ``(len(facilities), len(points))``, float64, sorted column indices; stored value =
        minutes + :data:`OFFSET_MINUTES` for every pair within the limit.
    """
    ok = np.flatnonzero(points.snapped)
    sub = points.take(ok)
    along_u, along_v = _toward_ends(network, sub, leaving=direction == "to")
    walk = _walk_minutes(sub.offset_m, offroad_kmh)
    by_node = sp.csc_matrix(node_matrix)
    fac_parts, point_parts, minute_parts = [], [], []
    for ends, along in ((network.u[sub.edge], along_u), (network.v[sub.edge], along_v)):
        counts = np.diff(by_node.indptr)[ends]
        at = ranges(by_node.indptr[ends], counts)
        point = np.repeat(np.arange(len(ok)), counts)
        fac_parts.append(by_node.indices[at])
        point_parts.append(point)
        minute_parts.append(by_node.data[at] - OFFSET_MINUTES + along[point] + walk[point])
    direct, direct_facility, direct_point = _same_segment_pairs(
        network, sub, facilities, direction, offroad_kmh, None
    )
    fac_parts.append(direct_facility)
    point_parts.append(direct_point)
    minute_parts.append(direct + walk[direct_point])
    minutes = np.concatenate(minute_parts)
    keep = minutes <= limit_minutes
    shape = (len(facilities), len(points))
    if not keep.any():
        return sp.csr_matrix(shape)
    # One key per (facility, point) pair, sorted: rows in order, columns ascending within a row.
    key = np.concatenate(fac_parts)[keep].astype(np.int64) * len(ok) + np.concatenate(point_parts)[keep]
    order = np.argsort(key, kind="stable")
    key, minutes = key[order], minutes[keep][order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    best = np.minimum.reduceat(minutes, first)
    rows, cols = np.divmod(key[first], len(ok))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(facilities)))])
    return sp.csr_matrix((best + OFFSET_MINUTES, ok[cols], indptr), shape=shape)


def facility_point_totals(
    network: Network,
    facilities: Snap,
    points: Snap,
    weights: np.ndarray,
    bands_minutes: Sequence[float],
    offroad_kmh: float = WALK_SPEED_KMH,
    direction: Direction = "to",
) -> np.ndarray:
    """Summed weights of the points within each band of every facility, with no facilities × points matrix.

    The minutes of :func:`facility_point_matrix`, from one search per facility bounded by the widest
    band, summed straight from each search's dense block in point order, as the product of the
    thresholded matrix with ``weights`` sums them.

    Parameters
    ----------
    network : Network
    facilities, points : Snap
        Unsnapped facilities get zeros; unsnapped points (population cells) count for none.
    weights : numpy.ndarray
        Per point, e.g. people.
    bands_minutes : sequence of float
        Inclusive cut-offs, minutes.
    offroad_kmh : float
        Walking speed on off-road legs, km/h.
    direction : {"to", "from"}
        ``"to"``: from the point to the facility; ``"from"``: from the facility to the point.

    Returns
    -------
    numpy.ndarray of float64
        Shape ``(len(facilities), len(bands_minutes))``.
    """
    bands = np.asarray(bands_minutes, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    totals = np.zeros((len(facilities), len(bands)))
    limit = float(bands.max())
    for chunk, row, point, minutes in facility_point_pairs(network, facilities, points, limit, offroad_kmh, direction):
        weight = weights[point]
        for j, band in enumerate(bands):
            within = minutes <= band
            totals[chunk, j] = np.bincount(row[within], weights=weight[within], minlength=len(chunk))
    return totals


def facility_point_pairs(
    network: Network, facilities: Snap, points: Snap, limit_minutes: float, offroad_kmh: float,
    direction: Direction,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Every facility-point pair within ``limit_minutes``, one search block at a time, never all at once.

    The minutes of :func:`facility_point_matrix`; only the points with a segment end reached, or on a
    searched facility's segment, are evaluated.

    Parameters
    ----------
    network : Network
    facilities, points : Snap
    limit_minutes : float
        Cut-off in minutes.
    offroad_kmh : float
        Walking speed on off-road legs, km/h.
    direction : {"to", "from"}
        ``"to"``: from the point to the facility; ``"from"``: from the facility to the point.

    Yields
    ------
    chunk : numpy.ndarray of int64
        The facilities of one search (indices into ``facilities``).
    row, point : numpy.ndarray of int64
        Per pair: its facility (index into ``chunk``) and its point (index into ``points``), in point order.
    minutes : numpy.ndarray of float64
        Per pair, minutes.
    """
    ok = np.flatnonzero(points.snapped)
    if not len(ok):
        return
    sub = points.take(ok)
    along = _toward_ends(network, sub, leaving=direction == "to")
    walk = _walk_minutes(sub.offset_m, offroad_kmh)
    ends = network.u[sub.edge], network.v[sub.edge]
    # Pairs on one segment, by facility.
    direct, facility, point = _same_segment_pairs(network, sub, facilities, direction, offroad_kmh, None)
    near = np.flatnonzero(direct + walk[point] <= limit_minutes)
    near = near[np.argsort(facility[near], kind="stable")]
    direct, direct_point = direct[near] + walk[point[near]], point[near]
    direct_ptr = np.searchsorted(facility[near], np.arange(len(facilities) + 1))
    reached = np.zeros(network.n_nodes, dtype=bool)
    column = np.full(network.n_nodes, -1, dtype=np.int64)
    for chunk, dist, nodes in _search_blocks(network, facilities, limit_minutes, direction, offroad_kmh, merge=True):
        # Nodes by facilities, each end's minutes one row; a last row of inf for ends not searched (column -1).
        by_node = np.empty((dist.shape[1] + 1, len(chunk)))
        by_node[:-1], by_node[-1] = dist.T, np.inf
        searched = slice(None) if nodes is None else nodes
        reached[searched] = np.isfinite(dist).any(axis=0)
        counts = direct_ptr[chunk + 1] - direct_ptr[chunk]
        at = ranges(direct_ptr[chunk], counts)
        wanted = reached[ends[0]] | reached[ends[1]]
        wanted[direct_point[at]] = True
        reached[searched] = False
        candidates = np.flatnonzero(wanted)
        column[searched] = np.arange(dist.shape[1])
        local = [column[end[candidates]] for end in ends]
        column[searched] = -1
        direct_row = np.repeat(np.arange(len(chunk)), counts)
        direct_at = np.searchsorted(candidates, direct_point[at])
        direct_minutes = direct[at]
        pieces = []
        step = max(1, BLOCK_BYTES // (8 * len(chunk)))
        for start in range(0, len(candidates), step):
            part = slice(start, start + step)
            block = np.take(by_node, local[0][part], axis=0)
            block += along[0][candidates[part], None]
            other = np.take(by_node, local[1][part], axis=0)
            other += along[1][candidates[part], None]
            np.minimum(block, other, out=block)
            block += walk[candidates[part], None]
            here = (direct_at >= start) & (direct_at < start + step)
            pair = direct_at[here] - start, direct_row[here]
            block[pair] = np.minimum(block[pair], direct_minutes[here])
            within = block <= limit_minutes
            cols, rows = np.nonzero(within)
            pieces.append((rows, ok[candidates[part][cols]], block[within]))
        if pieces:
            yield chunk, *(np.concatenate(p) for p in zip(*pieces, strict=True))


def _positions(network: Network, snap: Snap) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of snapped positions along their segments, NaN where unsnapped."""
    e = np.where(snap.snapped, snap.edge, 0)
    t = np.where(snap.snapped, snap.fraction, np.nan)
    u, v = network.u[e], network.v[e]
    return network.x[u] + t * (network.x[v] - network.x[u]), network.y[u] + t * (network.y[v] - network.y[u])


def _reach_m(network: Network, limit_minutes: float) -> float:
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


def _search_groups(
    network: Network, facilities: Snap, ok: np.ndarray, limit_minutes: float
) -> Iterator[tuple[np.ndarray | None, np.ndarray]]:
    """Yield ``(nodes, group)``: sorted node ids to search (None: all) and positions into ``ok``.

    Facilities are grouped by the square tile holding their snapped position; a group is searched
    on the nodes of its tile and of every tile within the reach of the limit.
    """
    reach = _reach_m(network, limit_minutes)
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
    px, py = _positions(network, facilities.take(ok))
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


def _search_blocks(
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
    graph = _facility_graph(network, facilities, ok, direction, offroad_kmh, None)
    scratch = np.full(graph.shape[0], -1, dtype=np.int64)
    groups = _search_groups(network, facilities, ok, limit_minutes)
    for nodes, group in _merged(groups, BLOCK_BYTES // 8, n) if merge else groups:
        if nodes is None:
            sub, n_real = graph, n
            sources = n + group
        else:
            sub, n_real = _induced(graph, np.concatenate([nodes, n + group]), scratch), len(nodes)
            sources = n_real + np.arange(len(group))
        step = max(1, min(chunk_size, BLOCK_BYTES // (8 * sub.shape[0])))
        for start in range(0, len(group), step):
            dist = dijkstra(sub, directed=True, indices=sources[start:start + step], limit=limit_minutes)
            yield ok[group[start:start + step]], dist[:, :n_real], nodes


def _merged(
    groups: Iterator[tuple[np.ndarray | None, np.ndarray]], budget: int, n_nodes: int
) -> Iterator[tuple[np.ndarray | None, np.ndarray]]:
    """Consecutive ``(nodes, group)`` of :func:`_search_groups` united while nodes × facilities <= ``budget``."""
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


def _induced(graph: sp.csr_matrix, keep: np.ndarray, scratch: np.ndarray) -> sp.csr_matrix:
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


def _assemble(
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
