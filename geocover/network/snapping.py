"""Snap points to the nearest road segment, keeping their position along it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from geocover.network.graph import Network, ranges

_CHUNK = 200_000
"""Points per chunk, which bounds the candidate arrays held in memory (chunk x k)."""

_SORT_POINTS = 10_000
"""Inputs this large are queried in spatial order (:func:`_spatial_order`)."""

_FIRST_K = 8
"""Samples fetched per point in the first round; points whose candidates may lie beyond take 4 times more."""

_SLACK = 1e-9
"""Widening of the candidate radius, relative to the largest coordinate, far above any rounding error."""


@dataclass
class Snap:
    """Where points join the network.

    Attributes
    ----------
    edge : numpy.ndarray of int64
        Segment index, -1 where no segment lies within the snap distance.
    fraction : numpy.ndarray of float64
        Position along the segment from ``u`` (0) to ``v`` (1).
    offset_m : numpy.ndarray of float64
        Off-road distance from the point to the segment in metres, ``inf`` when unsnapped.
    """

    edge: np.ndarray
    fraction: np.ndarray
    offset_m: np.ndarray

    @property
    def snapped(self) -> np.ndarray:
        """Boolean mask of points that reached a segment."""
        return self.edge >= 0

    def __len__(self) -> int:
        return len(self.edge)

    def take(self, index: np.ndarray) -> Snap:
        """The snaps of the points at ``index`` (positions or a boolean mask)."""
        return Snap(self.edge[index], self.fraction[index], self.offset_m[index])


@dataclass
class SampleIndex:
    """Points along every segment, at most ``spacing_m`` apart, in a KD-tree: the network's nodes and
    points inside segments longer than the spacing.

    Attributes
    ----------
    tree : scipy.spatial.cKDTree
    start, count : numpy.ndarray of int64
        The segments of sample ``i`` are ``segments[start[i]:start[i] + count[i]]``: those meeting at
        a node, or the one segment an inner sample lies on.
    segments : numpy.ndarray of int64
    spacing_m : float
        Largest distance between consecutive samples of a segment, metres.
    """

    tree: cKDTree
    start: np.ndarray
    count: np.ndarray
    segments: np.ndarray
    spacing_m: float


def sample_index(network: Network, spacing_m: float | None = None) -> SampleIndex:
    """The :class:`SampleIndex` of ``network``, samples at most ``spacing_m`` apart along each segment.

    The default spacing is the mean segment length; that index is built once and cached on ``network``.
    """
    if spacing_m is None and "snap_samples" in network._cache:
        return network._cache["snap_samples"]
    m = network.n_edges
    ax, ay = network.x[network.u], network.y[network.u]
    dx, dy = network.x[network.v] - ax, network.y[network.v] - ay
    length = np.hypot(dx, dy)
    spacing = spacing_m if spacing_m is not None else float(length.mean()) if length.any() else 1.0
    ends = np.concatenate([network.u, network.v])
    order = np.argsort(ends, kind="stable")
    node, first = np.unique(ends[order], return_index=True)
    node_segments = np.concatenate([np.arange(m), np.arange(m)])[order]
    pieces = np.maximum(np.ceil(length / spacing), 1.0).astype(np.int64)
    inner = np.repeat(np.arange(m, dtype=np.int64), pieces - 1)
    t = (ranges(np.ones(m, dtype=np.int64), pieces - 1) / pieces[inner]) if len(inner) else np.zeros(0)
    points = np.column_stack([np.concatenate([network.x[node], ax[inner] + t * dx[inner]]),
                              np.concatenate([network.y[node], ay[inner] + t * dy[inner]])])
    start = np.concatenate([first, len(node_segments) + np.arange(len(inner))]).astype(np.int64)
    count = np.concatenate([np.diff(np.append(first, len(node_segments))), np.ones(len(inner), dtype=np.int64)])
    index = SampleIndex(cKDTree(points), start, count.astype(np.int64),
                        np.concatenate([node_segments, inner]).astype(np.int64), spacing)
    if spacing_m is None:
        network._cache["snap_samples"] = index
    return index


def snap_points(network: Network, x: np.ndarray, y: np.ndarray, max_distance_m: float | None = None) -> Snap:
    """Snap points to their nearest segment of ``network``, however far from it.

    The result is that of a brute force over all segments: each point joins the segment at the
    smallest distance, computed in NumPy by one formula (:func:`_project`) for every candidate, so
    that equal inputs give bit-identical distances. Ties (a point nearest to a node shared by
    several segments, or midway between parallel streets) go to the **lowest segment index**, so
    that a network whose segments are a subset of another's, in the same relative order, snaps a
    point to the same segment whenever that segment is in both.

    The candidates come from a KD-tree of points sampled along the segments at most ``s`` apart
    (:func:`sample_index`): if the nearest sample lies at ``d``, the nearest segment lies at
    ``D <= d`` and has a sample within ``D + s/2 <= d + s/2``, so every segment at the minimum
    distance, ties included, has a sample among those within ``d + s/2`` (plus a slack far above
    rounding errors). The ``k`` nearest samples of each point are fetched (8, then 4 times more
    for the few points where the ``k``-th still lies within that radius). A point at ``d`` from a
    smooth road has about ``2 sqrt(d / s)`` samples within ``d + s/2``: the cost grows with the
    square root of the distance, not with the area around the point. Large inputs are queried in
    spatial order, by chunks of 200,000 points.

    Parameters
    ----------
    network : Network
    x, y : numpy.ndarray
        Point coordinates in ``network.crs`` (metres).
    max_distance_m : float, optional
        Opt-in cut-off: points farther than this from every segment stay unsnapped (unreachable);
        a point exactly at this distance snaps. ``None`` (the default): every point snaps.

    Returns
    -------
    Snap
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n = len(x)
    edge, fraction, offset = np.full(n, -1, dtype=np.int64), np.zeros(n), np.full(n, np.inf)
    if n == 0 or network.n_edges == 0:
        return Snap(edge, fraction, offset)
    index = sample_index(network)
    scale = max(np.abs(network.x).max(), np.abs(network.y).max(), np.abs(x).max(), np.abs(y).max())
    slack = _SLACK * (1.0 + scale)
    order = _spatial_order(x, y, index.spacing_m) if n >= _SORT_POINTS else np.arange(n)
    for start in range(0, n, _CHUNK):
        part = order[start:start + _CHUNK]
        edge[part], fraction[part], offset[part] = _snap_chunk(network, index, x[part], y[part], slack)
    if max_distance_m is not None:
        far = offset > max_distance_m
        edge[far], fraction[far], offset[far] = -1, 0.0, np.inf
    return Snap(edge, fraction, offset)


def _spatial_order(x: np.ndarray, y: np.ndarray, spacing_m: float) -> np.ndarray:
    """Points ordered by square bins of 64 sample spacings, row by row: neighbouring queries then walk
    the same branches of the KD-tree (scattered points of a large input otherwise miss the cache)."""
    side = 64.0 * spacing_m
    col = ((x - x.min()) // side).astype(np.int64)
    return np.argsort(((y - y.min()) // side).astype(np.int64) * (int(col.max()) + 1) + col, kind="stable")


def _project(network: Network, px: np.ndarray, py: np.ndarray, seg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Clipped projection parameter along ``u -> v`` and squared distance of points to segments."""
    ax, ay = network.x[network.u[seg]], network.y[network.u[seg]]
    dx, dy = network.x[network.v[seg]] - ax, network.y[network.v[seg]] - ay
    with np.errstate(invalid="ignore", divide="ignore"):
        t = ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)
    t = np.clip(np.nan_to_num(t, nan=0.0), 0.0, 1.0)
    ex, ey = ax + t * dx - px, ay + t * dy - py
    return t, ex * ex + ey * ey


def _snap_chunk(
    network: Network, index: SampleIndex, x: np.ndarray, y: np.ndarray, slack: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest segment, fraction and distance of each point, by rounds of growing ``k``."""
    n_samples = len(index.start)
    edge, fraction, offset = np.full(len(x), -1, dtype=np.int64), np.zeros(len(x)), np.full(len(x), np.inf)
    rest, k = np.arange(len(x)), min(_FIRST_K, n_samples)
    while len(rest):
        distance, sample = index.tree.query(np.column_stack([x[rest], y[rest]]), k=k)
        distance, sample = distance.reshape(len(rest), k), sample.reshape(len(rest), k)
        reach = distance[:, 0] + 0.5 * index.spacing_m + slack
        done = (distance[:, -1] > reach) | (k == n_samples)
        if done.any():
            _settle(network, index, x, y, rest[done], distance[done], sample[done], reach[done],
                    (edge, fraction, offset))
        rest, k = rest[~done], min(4 * k, n_samples)
    return edge, fraction, offset


def _settle(
    network: Network, index: SampleIndex, x: np.ndarray, y: np.ndarray, rows: np.ndarray, distance: np.ndarray,
    sample: np.ndarray, reach: np.ndarray, out: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """Write into ``out`` (edge, fraction, offset) the nearest of the candidate segments of points ``rows``:
    those of their samples within ``reach``; ties to the lowest segment index."""
    edge, fraction, offset = out
    near = distance <= reach[:, None]
    sample_row = np.repeat(np.arange(len(rows)), near.sum(axis=1))
    hit = sample[near]
    size = index.count[hit]
    pair_row = np.repeat(sample_row, size)
    pair_seg = index.segments[ranges(index.start[hit], size)]
    t, d2 = _project(network, x[rows][pair_row], y[rows][pair_row], pair_seg)
    group = np.flatnonzero(np.r_[True, pair_row[1:] != pair_row[:-1]])
    best = np.minimum.reduceat(d2, group)
    tied = d2 == best[pair_row]
    chosen = np.minimum.reduceat(np.where(tied, pair_seg, np.iinfo(np.int64).max), group)
    pick = tied & (pair_seg == chosen[pair_row])
    edge[rows], offset[rows] = chosen, np.sqrt(best)
    fraction[rows[pair_row[pick]]] = t[pick]
