"""Snap points to the nearest road segment, keeping their position along it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from geocover.network.graph import Network, ranges

_CHUNK = 500_000
"""Points per chunk, which bounds the candidate pairs held in memory."""

_PILOT_POINTS = 256
"""Sample size of the pilot query that plans the rounds (see :func:`_plan`)."""

_PILOT_MIN_POINTS = 16_384
"""Smaller inputs skip the pilot and go straight to the nearest-neighbour query."""

# Estimated costs, in units of one candidate pair of a ``dwithin`` round (about 0.3 us with
# GEOS 3.14): measured on lattice and sparse synthetic networks (benchmarks/snapping.py) with one
# ``dwithin`` query per point; the binned rounds cost less per point, the plan's choice still holds.
_ROUND_COST = 1.5
"""Cost of one point in one ``dwithin`` round, its pairs aside."""

_FALLBACK_COST = 27.0
"""Cost of the nearest-neighbour query and the query of ties for a point that snaps."""

_EMPTY_COST = 1.5
"""Cost of the nearest-neighbour query for a point that snaps nowhere."""

_BIN_POINTS = 8
"""Points per bin aimed at by the binned rounds (:func:`_binned_pairs`)."""

_BIN_MAX_RADII = 4.0
"""Largest bin side, in round radii: wider bins would gather many segments for each point."""

_BIN_CHUNK = 100_000
"""Points per binned query, which bounds its candidate pairs."""

_SLACK = 1e-9
"""Widening of GEOS queries, relative to the largest coordinate, far above the rounding error of any distance."""


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


def snap_points(network: Network, x: np.ndarray, y: np.ndarray, max_distance_m: float) -> Snap:
    """Snap points to their nearest segment of ``network``.

    The result is that of a brute force over all segments: each point joins the segment at the
    smallest distance, computed in NumPy by one formula (:func:`_project`) for every candidate, so
    that equal inputs give bit-identical distances. Ties (a point nearest to a node shared by
    several segments, or midway between parallel streets) go to the **lowest segment index**, so
    that a network whose segments are a subset of another's, in the same relative order, snaps a
    point to the same segment whenever that segment is in both.

    GEOS only proposes candidates, through queries widened by a slack far above rounding errors,
    so that no segment at the minimum distance is left out. Rounds take the segments within a radius
    (a superset of them: those whose envelope meets the box of a small bin of points widened by the
    radius, one query per bin, see :func:`_binned_pairs`) and settle the points whose nearest one
    lies within it; the points left after
    the last round take a nearest-neighbour query limited to ``max_distance_m``, then a ``dwithin``
    query at the distance found, to see every segment tied with it. The radii come from a pilot
    sample of the points (see :func:`_plan`): one round about as wide as the distance from most
    points to the road in a dense network, or a single round at ``max_distance_m`` where roads are
    sparse. They change the time only, never the result. Points go by chunks of 500,000.

    Parameters
    ----------
    network : Network
    x, y : numpy.ndarray
        Point coordinates in ``network.crs`` (metres).
    max_distance_m : float
        Points farther than this from every segment stay unsnapped (unreachable); a point exactly
        at this distance snaps.

    Returns
    -------
    Snap
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n = len(x)
    edge, fraction, offset = np.full(n, -1, dtype=np.int64), np.zeros(n), np.full(n, np.inf)
    if n == 0 or network.n_edges == 0:
        return Snap(edge, fraction, offset)
    scale = max(np.abs(network.x).max(), np.abs(network.y).max(), np.abs(x).max(), np.abs(y).max())
    slack = _SLACK * (1.0 + scale)
    radii = _plan(network, x, y, max_distance_m, slack)
    for start in range(0, n, _CHUNK):
        part = slice(start, start + _CHUNK)
        edge[part], offset[part] = _snap_chunk(network, x[part], y[part], max_distance_m, radii, slack)
    snapped = np.flatnonzero(edge >= 0)
    fraction[snapped] = _project(network, x[snapped], y[snapped], edge[snapped])[0]
    return Snap(edge, fraction, offset)


def _project(network: Network, px: np.ndarray, py: np.ndarray, seg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Clipped projection parameter along ``u -> v`` and squared distance of points to segments."""
    ax, ay = network.x[network.u[seg]], network.y[network.u[seg]]
    dx, dy = network.x[network.v[seg]] - ax, network.y[network.v[seg]] - ay
    with np.errstate(invalid="ignore", divide="ignore"):
        t = ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)
    t = np.clip(np.nan_to_num(t, nan=0.0), 0.0, 1.0)
    ex, ey = ax + t * dx - px, ay + t * dy - py
    return t, ex * ex + ey * ey


def _nearest(
    network: Network, px: np.ndarray, py: np.ndarray, pair_point: np.ndarray, pair_seg: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest candidate segment of each point (lowest index on ties) and its distance; -1 and inf if none."""
    d2 = _project(network, px[pair_point], py[pair_point], pair_seg)[1]
    best = np.full(len(px), np.inf)
    np.minimum.at(best, pair_point, d2)
    tied = d2 == best[pair_point]
    edge = np.full(len(px), np.iinfo(np.int64).max)
    np.minimum.at(edge, pair_point[tied], pair_seg[tied])
    edge[np.isinf(best)] = -1
    return edge, np.sqrt(best)


def _settle(
    network: Network, x: np.ndarray, y: np.ndarray, rest: np.ndarray, pairs: tuple[np.ndarray, np.ndarray],
    limit: float, edge: np.ndarray, offset: np.ndarray,
) -> np.ndarray:
    """Snap the points ``rest`` whose nearest candidate segment lies within ``limit``.

    ``pairs``: (position into ``rest``, segment) candidate pairs holding every segment within ``limit``
    of each point. Writes the points' segment and distance into ``edge`` and ``offset``; returns the
    points left over.
    """
    near, distance = _nearest(network, x[rest], y[rest], *pairs)
    found = distance <= limit
    edge[rest[found]], offset[rest[found]] = near[found], distance[found]
    return rest[~found]


def _binned_pairs(
    network: Network, x: np.ndarray, y: np.ndarray, distance: float
) -> tuple[np.ndarray, np.ndarray]:
    """(point, segment) pairs holding every segment within ``distance`` of each point, from one envelope
    query per square bin of points (the bin's points' box widened by ``distance``) instead of one
    ``dwithin`` query per point: population cells come about :data:`_BIN_POINTS` to a bin."""
    n = len(x)
    x0, y0 = x.min(), y.min()
    extent = max(x.max() - x0, y.max() - y0, 1e-9)
    side = min(max(extent * np.sqrt(_BIN_POINTS / n), distance), _BIN_MAX_RADII * distance, 2.0 * extent)
    n_x = int(extent // side) + 2
    key = ((y - y0) // side).astype(np.int64) * n_x + ((x - x0) // side).astype(np.int64)
    order = np.argsort(key, kind="stable")
    starts = np.flatnonzero(np.r_[True, key[order][1:] != key[order][:-1]])
    counts = np.diff(np.r_[starts, n])
    bx, by = x[order], y[order]
    boxes = shapely.box(np.minimum.reduceat(bx, starts) - distance, np.minimum.reduceat(by, starts) - distance,
                        np.maximum.reduceat(bx, starts) + distance, np.maximum.reduceat(by, starts) + distance)
    pair_bin, pair_seg = network.tree.query(boxes)
    size = counts[pair_bin]
    return order[ranges(starts[pair_bin], size)], np.repeat(pair_seg, size)


def _snap_chunk(
    network: Network, x: np.ndarray, y: np.ndarray, max_distance_m: float, radii: tuple[float, ...], slack: float
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest segment and distance of each point: rounds at ``radii``, then the fallback."""
    edge, offset = np.full(len(x), -1, dtype=np.int64), np.full(len(x), np.inf)
    rest = np.arange(len(x))
    for radius in radii:
        for start in range(0, len(rest), _BIN_CHUNK):
            part = rest[start:start + _BIN_CHUNK]
            _settle(network, x, y, part, _binned_pairs(network, x[part], y[part], radius + slack), radius, edge, offset)
        rest = rest[edge[rest] < 0]
    if not radii or radii[-1] < max_distance_m:
        points = shapely.points(x[rest], y[rest])
        (hit, _), reach = network.tree.query_nearest(
            points, max_distance=max_distance_m + slack, return_distance=True, all_matches=False
        )
        pairs = network.tree.query(points[hit], predicate="dwithin", distance=reach + 2.0 * slack)
        _settle(network, x, y, rest[hit], pairs, max_distance_m, edge, offset)
    return edge, offset


def _plan(network: Network, x: np.ndarray, y: np.ndarray, max_distance_m: float, slack: float) -> tuple[float, ...]:
    """Radii of the ``dwithin`` rounds, by the least estimated cost on a pilot sample of the points.

    The sample's candidate pairs within ``max_distance_m`` tell, for a first radius ``r`` among
    the sample's nearest distances and ``max_distance_m``, how many pairs the round computes and
    which points miss it. Those then take either the nearest-neighbour query, cheap for a point
    far from every road but costly for one near a dense network (plan ``(r,)``), or a second
    round at ``max_distance_m``, whose cost is the number of their pairs (plan
    ``(r, max_distance_m)``). Small inputs, and an infinite ``max_distance_m``, skip the pilot and
    the rounds: ``()``.
    """
    if len(x) < _PILOT_MIN_POINTS or not np.isfinite(max_distance_m):
        return ()
    step = len(x) // _PILOT_POINTS
    px, py = x[::step][:_PILOT_POINTS], y[::step][:_PILOT_POINTS]
    pair_point, pair_seg = network.tree.query(
        shapely.points(px, py), predicate="dwithin", distance=max_distance_m + slack
    )
    pair_distance = np.sort(np.sqrt(_project(network, px[pair_point], py[pair_point], pair_seg)[1]))
    nearest = _nearest(network, px, py, pair_point, pair_seg)[1]
    order = np.argsort(nearest)
    nearest = nearest[order]
    second_round = np.bincount(pair_point, minlength=len(px))[order] + _ROUND_COST
    snapped = np.searchsorted(nearest, max_distance_m, side="right")
    radii = np.append(nearest[:snapped], max_distance_m)
    settled = np.searchsorted(nearest, radii, side="right")
    first = len(px) * _ROUND_COST + np.searchsorted(pair_distance, radii, side="right")
    fallback = (_FALLBACK_COST * (snapped - settled) + _EMPTY_COST * (len(px) - snapped)) * (radii < max_distance_m)
    twice = np.append(np.cumsum(second_round[::-1])[::-1], 0.0)[settled]
    cost = np.concatenate([first + fallback, first + twice])
    best = int(np.argmin(cost))
    radius = float(radii[best % len(radii)])
    return (radius,) if best < len(radii) or radius == max_distance_m else (radius, float(max_distance_m))
