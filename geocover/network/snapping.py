"""Snap points to the nearest road segment, keeping their position along it."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np
from pykdtree.kdtree import KDTree
from threadpoolctl import ThreadpoolController

from geocover.network.graph import Network, ranges

_SORT_POINTS = 10_000
"""Inputs this large are queried in spatial order (:func:`_spatial_order`)."""

_FIRST_K = 3
"""Vertices fetched per point in the first round."""

_GROWTH = 2
"""Factor of ``k`` from one round to the next, for the points whose candidates may lie beyond the ``k``-th sample."""

_BLOCK = 1_000_000
"""Candidates (points x ``k``) per block of a round, which bounds the arrays held in memory."""

_THREADED_POINTS = 50_000
"""KD-tree queries of fewer points run on one thread; larger ones on OpenMP's threads (``OMP_NUM_THREADS``).
Starting the threads costs more than it saves on small queries: milliseconds per call when the cores are busy."""

_LEAF_SIZE = 16
"""Vertices per leaf of the KD-tree."""

_ROUNDING = 1e-6
"""Pieces a segment is cut into are ``ceil(length / spacing - _ROUNDING)``: a lattice of equal streets, lengths
differing by rounding errors only, keeps one piece per street, slightly longer than the mean."""

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
    """Points along every segment, for the off-road legs and for snapping.

    * **Samples** (for :mod:`geocover.travel.legs`): each segment cut into ``ceil(length / spacing_m)`` equal
      pieces (at least one), the midpoint of each piece a sample of that one segment. Every point of a segment
      lies within ``spacing_m / 2`` of one of its samples.
    * **Vertices** (for :func:`snap_points`): every node that ends a segment, and the points cutting the
      segments longer than ``spacing_m`` into those pieces, each listing the segments it lies on. Every point
      of a segment lies within ``spacing_m / 2``, along the segment, of one of its vertices; the vertices are
      in a KD-tree.

    Attributes
    ----------
    points : numpy.ndarray of float64, shape (n, 2)
        The samples, metres.
    segment : numpy.ndarray of int64, shape (n,)
        The segment each sample lies on.
    spacing_m : float
        Largest length of a piece, metres (the spacing asked for, or up to a millionth more).
    geometry : numpy.ndarray of float64, shape (5, m)
        Per segment: start ``ax, ay``, extent ``dx, dy`` (metres) and squared length ``dx * dx + dy * dy``.
    extent_m : float
        Largest absolute node coordinate, metres (the scale of rounding errors).
    vertices : numpy.ndarray of float64, shape (p, 2)
        The vertices, metres: the nodes first, then the cut points.
    vertex_start, vertex_segment : numpy.ndarray of int64
        Vertex ``i`` lies on the segments ``vertex_segment[vertex_start[i]:vertex_start[i + 1]]``.
    vertex_pair : numpy.ndarray of int64, shape (2, p)
        The first two of those segments (the first twice on a vertex of one segment).
    vertex_more : numpy.ndarray of int64
        The number of segments of each vertex beyond those two (negative when fewer).
    tree : pykdtree.kdtree.KDTree
        KD-tree of ``vertices`` (rebuilt with ``vertex_pair`` and ``vertex_more``, not pickled, when the index is
        copied to another process).
    """

    points: np.ndarray
    segment: np.ndarray
    spacing_m: float
    geometry: np.ndarray
    extent_m: float
    vertices: np.ndarray
    vertex_start: np.ndarray
    vertex_segment: np.ndarray
    vertex_pair: np.ndarray = field(init=False, repr=False)
    vertex_more: np.ndarray = field(init=False, repr=False)
    tree: KDTree = field(init=False, repr=False)

    def __post_init__(self) -> None:
        first = self.vertex_start[:-1]
        second = np.where(np.diff(self.vertex_start) > 1, first + 1, first)
        self.vertex_pair = np.stack([self.vertex_segment[first], self.vertex_segment[second]])
        self.vertex_more = np.diff(self.vertex_start) - 2
        self.tree = KDTree(self.vertices, leafsize=_LEAF_SIZE)

    def __getstate__(self) -> dict:
        derived = ("tree", "vertex_pair", "vertex_more")
        return {name: value for name, value in self.__dict__.items() if name not in derived}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__post_init__()


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
    nominal_m = spacing_m if spacing_m is not None else float(length.mean()) if length.any() else 1.0
    pieces = np.maximum(np.ceil(length / nominal_m - _ROUNDING), 1.0).astype(np.int64)
    spacing = float((length / pieces).max(initial=0.0))
    segment = np.repeat(np.arange(m, dtype=np.int64), pieces)
    step = ranges(np.zeros(m, dtype=np.int64), pieces)
    t = (step + 0.5) / pieces[segment]
    points = np.column_stack([ax[segment] + t * dx[segment], ay[segment] + t * dy[segment]])
    extent = max(np.abs(network.x).max(initial=0.0), np.abs(network.y).max(initial=0.0))
    cut = step > 0  # the points between two pieces of a segment
    vertices, vertex_start, vertex_segment = _vertices(network, segment[cut], step[cut] / pieces[segment[cut]])
    index = SampleIndex(points, segment, spacing, np.stack([ax, ay, dx, dy, dx * dx + dy * dy]), float(extent),
                        vertices, vertex_start, vertex_segment)
    if spacing_m is None:
        network._cache["snap_samples"] = index
    return index


def _vertices(
    network: Network, cut_segment: np.ndarray, cut_t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The vertices of :class:`SampleIndex`: the nodes ending segments (each with its segments), then the cut
    points at ``cut_t`` along ``cut_segment`` (each on that one segment)."""
    segments = np.arange(network.n_edges, dtype=np.int64)
    loop = network.u == network.v  # listed once on its node
    ends = np.concatenate([network.u, network.v[~loop]])
    on = np.concatenate([segments, segments[~loop]])[np.argsort(ends, kind="stable")]
    node_count = np.bincount(ends, minlength=network.n_nodes)
    nodes = np.flatnonzero(node_count)
    node_count = node_count[nodes]
    start_x, start_y = network.x[network.u[cut_segment]], network.y[network.u[cut_segment]]
    cut_x = start_x + cut_t * (network.x[network.v[cut_segment]] - start_x)
    cut_y = start_y + cut_t * (network.y[network.v[cut_segment]] - start_y)
    vertices = np.column_stack([np.r_[network.x[nodes], cut_x], np.r_[network.y[nodes], cut_y]])
    count = np.r_[node_count, np.ones(len(cut_segment), dtype=np.int64)]
    return vertices, np.r_[0, np.cumsum(count)], np.r_[on, cut_segment].astype(np.int64)


def snap_points(network: Network, x: np.ndarray, y: np.ndarray, max_distance_m: float | None = None) -> Snap:
    """Snap points to their nearest segment of ``network``, however far from it.

    The result is that of a brute force over all segments: each point joins the segment at the
    smallest distance, computed in NumPy by one formula (:func:`project`) for every candidate, so
    that equal inputs give bit-identical distances. Ties (a point nearest to a node shared by
    several segments, or midway between parallel streets) go to the **lowest segment index**, so
    that a network whose segments are a subset of another's, in the same relative order, snaps a
    point to the same segment whenever that segment is in both.

    The candidates come from a KD-tree of the segments' vertices (:class:`SampleIndex`: the nodes, and points
    cutting the segments longer than ``s``, the mean segment length, into pieces of at most ``s``). Every
    segment ``S`` at the minimum distance ``D`` from a point has a vertex within ``sqrt(D^2 + (s/2)^2)`` of it:
    the nearest point of ``S`` is one of its ends (a vertex, at ``D``), or the foot of the perpendicular, at most
    ``s/2`` along ``S`` from a vertex of ``S``. Each point is projected onto every segment of its ``k``
    nearest vertices (4, then twice more, in rounds); the best found, at ``D' >= D``, is the nearest as soon as
    the ``k``-th vertex lies beyond ``sqrt(D'^2 + (s/2)^2)`` (plus a slack far above rounding errors). Far from
    the roads that radius exceeds ``D`` by ``s^2 / 8D`` only: a few vertices settle a point however far it is.
    Large inputs are queried in spatial order.

    Parameters
    ----------
    network : Network
    x, y : numpy.ndarray
        Point coordinates in ``network.crs`` (metres); a point with a NaN or infinite coordinate
        stays unsnapped.
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
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.all():
        snap = snap_points(network, x[finite], y[finite], max_distance_m)
        edge[finite], fraction[finite], offset[finite] = snap.edge, snap.fraction, snap.offset_m
        return Snap(edge, fraction, offset)
    index = sample_index(network)
    scale = max(index.extent_m, np.abs(x).max(), np.abs(y).max())
    slack = _SLACK * (1.0 + scale)
    order = _spatial_order(x, y, index.spacing_m) if n >= _SORT_POINTS else np.arange(n)
    edge[order], fraction[order], offset[order] = _snap_chunk(index, x[order], y[order], slack)
    if max_distance_m is not None:
        far = offset > max_distance_m
        edge[far], fraction[far], offset[far] = -1, 0.0, np.inf
    return Snap(edge, fraction, offset)


def _spatial_order(x: np.ndarray, y: np.ndarray, spacing_m: float) -> np.ndarray:
    """Points in Z-order (Morton order) of square cells one sample spacing wide: neighbouring queries then
    walk the same branches of the KD-tree (scattered points of a large input otherwise miss the cache;
    10^6 random points on the 3x10^6-node lattice: 1.35 s against 1.55 s in rows of 64-spacing bins)."""
    side = spacing_m if spacing_m > 0 else 1.0
    col = ((x - x.min()) // side).astype(np.uint64)
    row = ((y - y.min()) // side).astype(np.uint64)
    return np.argsort(_spread_bits(col) | (_spread_bits(row) << np.uint64(1)), kind="stable")


def _spread_bits(value: np.ndarray) -> np.ndarray:
    """The low 32 bits of ``value`` moved to the even bit positions of a 64-bit integer."""
    value = value & np.uint64(0xFFFFFFFF)
    for shift, mask in ((16, 0x0000FFFF0000FFFF), (8, 0x00FF00FF00FF00FF), (4, 0x0F0F0F0F0F0F0F0F),
                        (2, 0x3333333333333333), (1, 0x5555555555555555)):
        value = (value | (value << np.uint64(shift))) & np.uint64(mask)
    return value


def project(network: Network, px: np.ndarray, py: np.ndarray, seg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Clipped projection parameter along ``u -> v`` and squared distance of points to segments."""
    ax, ay = network.x[network.u[seg]], network.y[network.u[seg]]
    dx, dy = network.x[network.v[seg]] - ax, network.y[network.v[seg]] - ay
    return project_on(px, py, ax, ay, dx, dy, dx * dx + dy * dy)


def project_on(
    px: np.ndarray, py: np.ndarray, ax: np.ndarray, ay: np.ndarray, dx: np.ndarray, dy: np.ndarray,
    length2: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`project` onto segments from ``(ax, ay)`` to ``(ax + dx, ay + dy)`` of squared length ``length2``.

    The one formula of every distance: ``t = ((px - ax) dx + (py - ay) dy) / length2`` clipped to [0, 1]
    (0 on a zero-length segment), squared distance ``(ax + t dx - px)^2 + (ay + t dy - py)^2``.
    """
    t = px - ax
    t *= dx
    along_y = py - ay
    along_y *= dy
    t += along_y
    with np.errstate(invalid="ignore", divide="ignore"):
        t /= length2
    np.fmax(t, 0.0, out=t)
    np.fmin(t, 1.0, out=t)
    ex = t * dx
    ex += ax
    ex -= px
    ey = t * dy
    ey += ay
    ey -= py
    ex *= ex
    ey *= ey
    ex += ey
    return t, ex


def _snap_chunk(
    index: SampleIndex, x: np.ndarray, y: np.ndarray, slack: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest segment, fraction and distance of each point, by rounds of growing ``k``.

    Each round projects the point onto every segment of its ``k`` nearest vertices; the best found, at
    ``D``, is the nearest once the ``k``-th vertex lies beyond ``sqrt(D^2 + (s/2)^2)`` (see
    :func:`snap_points`); the other points go to the next round with twice the ``k``.
    """
    n_vertices = len(index.vertices)
    edge, fraction, offset = np.full(len(x), -1, dtype=np.int64), np.zeros(len(x)), np.full(len(x), np.inf)
    quarter_s2 = 0.25 * index.spacing_m * index.spacing_m
    rest, k = np.arange(len(x)), min(_FIRST_K, n_vertices)
    while len(rest):
        unsettled = []
        for start in range(0, len(rest), max(1, _BLOCK // k)):
            rows = rest[start:start + max(1, _BLOCK // k)]
            distance, vertex = _query(index.tree, np.column_stack([x[rows], y[rows]]), k)
            best_edge, best_t, best_d2 = _nearest(index, x[rows], y[rows], vertex.reshape(len(rows), k))
            reach = np.sqrt(best_d2 + quarter_s2) + slack
            done = (distance.reshape(len(rows), k)[:, -1] > reach) | (k == n_vertices)
            settled = rows[done]
            edge[settled], fraction[settled], offset[settled] = best_edge[done], best_t[done], np.sqrt(best_d2[done])
            unsettled.append(rows[~done])
        rest, k = np.concatenate(unsettled), min(_GROWTH * k, n_vertices)
    return edge, fraction, offset


def _nearest(
    index: SampleIndex, x: np.ndarray, y: np.ndarray, vertex: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest segment, fraction along it and squared distance of each point among the segments of its row of
    ``vertex`` (vertex indices); ties to the lowest segment index.

    The first two segments of every vertex are projected as one dense array; the few vertices on more (junctions)
    add the rest as a flat list.
    """
    vertex = np.ascontiguousarray(vertex.T, dtype=np.intp)  # candidates along the first axis: reductions by rows
    seg = np.concatenate([index.vertex_pair[0][vertex], index.vertex_pair[1][vertex]])
    ax, ay, dx, dy, length2 = (values[seg] for values in index.geometry)
    t, d2 = project_on(x[None, :], y[None, :], ax, ay, dx, dy, length2)
    best = d2.min(axis=0)
    more = index.vertex_more[vertex]
    junction = np.flatnonzero(more > 0)
    if len(junction):
        count = more.ravel()[junction]
        extra_row = np.repeat(junction % len(x), count)
        extra_seg = index.vertex_segment[ranges(index.vertex_start[vertex.ravel()[junction]] + 2, count)]
        extra_t, extra_d2 = project_on(x[extra_row], y[extra_row], *(values[extra_seg] for values in index.geometry))
        np.minimum.at(best, extra_row, extra_d2)
    none = np.iinfo(np.int64).max
    tied = d2 == best
    chosen = np.where(tied, seg, none).min(axis=0)
    if len(junction):
        np.minimum.at(chosen, extra_row, np.where(extra_d2 == best[extra_row], extra_seg, none))
    fraction = t[np.argmax(tied & (seg == chosen), axis=0), np.arange(len(x))]
    if len(junction):
        extra_hit = np.flatnonzero((extra_d2 == best[extra_row]) & (extra_seg == chosen[extra_row]))
        fraction[extra_row[extra_hit]] = extra_t[extra_hit]  # the same value where a dense column has it too
    return chosen, fraction, best


def _query(tree: KDTree, points: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Distances and indices of the ``k`` nearest samples of ``points`` (see :data:`_THREADED_POINTS`)."""
    if len(points) >= _THREADED_POINTS or _one_thread():
        return tree.query(points, k=k)
    with _openmp().limit(limits=1):
        return tree.query(points, k=k)


@cache
def _openmp() -> ThreadpoolController:
    """The OpenMP thread pools loaded in this process (pykdtree's among them)."""
    return ThreadpoolController().select(user_api="openmp")


@cache
def _one_thread() -> bool:
    """Whether OpenMP runs one thread anyway here (``OMP_NUM_THREADS=1``): then no limit is set around a query
    (setting and restoring it costs about 60 µs a call)."""
    return all(pool["num_threads"] == 1 for pool in _openmp().info())
