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

from geocover.network.graph import WALK_SPEED_KMH, Network, ranges
from geocover.network.snapping import Snap
from geocover.travel.nearest import Direction, same_segment_pairs, toward_ends, walk_minutes
from geocover.travel.search_blocks import BLOCK_BYTES, assemble_rows, search_blocks

OFFSET_MINUTES = 2.0**-20
"""Added to every stored value (about 0.06 ms): minutes are ``data - OFFSET_MINUTES``, exact to one ulp."""



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
    for chunk, dist, nodes in search_blocks(network, facilities, limit_minutes, direction, offroad_kmh, chunk_size):
        rows, cols = np.nonzero(dist <= limit_minutes)
        values = dist[rows, cols] + OFFSET_MINUTES
        cols = (cols if nodes is None else nodes[cols]).astype(index_dtype)
        pieces.append((chunk, np.bincount(rows, minlength=len(chunk)), cols, values))
    return assemble_rows(pieces, len(facilities), n)


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
    along_u, along_v = toward_ends(network, sub, leaving=direction == "to")
    walk = walk_minutes(sub.offset_m, offroad_kmh)
    by_node = sp.csc_matrix(node_matrix)
    fac_parts, point_parts, minute_parts = [], [], []
    for ends, along in ((network.u[sub.edge], along_u), (network.v[sub.edge], along_v)):
        counts = np.diff(by_node.indptr)[ends]
        at = ranges(by_node.indptr[ends], counts)
        point = np.repeat(np.arange(len(ok)), counts)
        fac_parts.append(by_node.indices[at])
        point_parts.append(point)
        minute_parts.append(by_node.data[at] - OFFSET_MINUTES + along[point] + walk[point])
    direct, direct_facility, direct_point = same_segment_pairs(
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
    along = toward_ends(network, sub, leaving=direction == "to")
    walk = walk_minutes(sub.offset_m, offroad_kmh)
    ends = network.u[sub.edge], network.v[sub.edge]
    # Pairs on one segment, by facility.
    direct, facility, point = same_segment_pairs(network, sub, facilities, direction, offroad_kmh, None)
    near = np.flatnonzero(direct + walk[point] <= limit_minutes)
    near = near[np.argsort(facility[near], kind="stable")]
    direct, direct_point = direct[near] + walk[point[near]], point[near]
    direct_ptr = np.searchsorted(facility[near], np.arange(len(facilities) + 1))
    reached = np.zeros(network.n_nodes, dtype=bool)
    column = np.full(network.n_nodes, -1, dtype=np.int64)
    for chunk, dist, nodes in search_blocks(network, facilities, limit_minutes, direction, offroad_kmh, merge=True):
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
