"""Off-road legs: each cell takes the road that gives it the shortest total time, not only its nearest one.

The rule (#18): a cell's time is the minimum, over every road segment within ``offroad_max_m`` whose
straight leg from the cell crosses no water (:mod:`geocover.io.water`), of the walk to the
segment's nearest point plus the network time from that point. It depends on the facilities only
through the network times, which a subset of facilities never lowers: a subset never gives a shorter
time (monotone), so a tier or a service is never faster than all facilities.

The search is exact and pruned by a sound bound. With ``LB_j`` the smallest network time on segment
``j`` (at its ends, or a facility on it), a segment at distance ``d_j`` can only beat a known total
``B`` when ``d_j + v LB_j < v B`` (``v`` the walking speed). Every segment has a sample of the
snapping index (:func:`geocover.network.snapping.sample_index`, ``s`` apart) within ``d_j + s/2``,
and ``sqrt(a² + b²) <= a + b``, so all candidates lie in the ball of radius ``v B + s/2`` around
``(x, y, 0)`` in a KD-tree of the samples at ``(x, y, v LB)``; a fourth coordinate, the land region
times a distance far beyond any leg, keeps other islands out. ``B`` starts from the nearest road
(or, when that reaches nothing or crosses water, the nearest sample reaching a facility on the
cell's land region).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from geocover.io.water import END_CELLS, WaterMask
from geocover.network.graph import Network, ranges
from geocover.network.snapping import Snap, _project, sample_index
from geocover.travel.nearest import NodeTimes, _facility_leg, point_minutes

_APART_M = 1e7
"""Distance between land regions in the KD-tree's fourth coordinate, far beyond any off-road leg."""

_FIRST_K = 16
"""Samples fetched per cell when looking for a first road that reaches a facility (4 times more each round)."""


def segment_lower_minutes(network: Network, nodes: NodeTimes, facilities: Snap, offroad_kmh: float,
                          delay_minutes: np.ndarray | None) -> np.ndarray:
    """Smallest network minutes anywhere on each segment: at either end, or at a facility snapped to it."""
    lower = np.minimum(nodes.minutes[network.u], nodes.minutes[network.v])
    ok = np.flatnonzero(facilities.snapped)
    np.minimum.at(lower, facilities.edge[ok], _facility_leg(facilities, ok, offroad_kmh, delay_minutes))
    return lower


def best_legs(network: Network, nodes: NodeTimes, facilities: Snap, x: np.ndarray, y: np.ndarray, nearest: Snap,
              limit_m: float, offroad_kmh: float, delay_minutes: np.ndarray | None = None,
              water: WaterMask | None = None) -> tuple[Snap, np.ndarray, np.ndarray]:
    """The best road of each point (see the module text), its minutes and nearest facility.

    Parameters
    ----------
    network : Network
    nodes : NodeTimes
        Network minutes from :func:`geocover.travel.nearest.nearest_facility_nodes` for ``facilities``.
    facilities : Snap
    x, y : numpy.ndarray
        Points (cell centres) in ``network.crs``, metres.
    nearest : Snap
        The points' nearest segments (:func:`geocover.network.snapping.snap_points`), cut at ``limit_m``.
    limit_m : float
        Longest off-road leg, metres.
    offroad_kmh : float
        Walking speed on the off-road legs, km/h.
    delay_minutes : numpy.ndarray, optional
        Per-facility delay, as given to the node search.
    water : WaterMask, optional
        Water no leg crosses.

    Returns
    -------
    snap : Snap
        The road each point joins (-1 none).
    minutes : numpy.ndarray
        Total minutes, the off-road leg included; ``inf`` when no road within reach reaches a facility.
    facility : numpy.ndarray of int64
        Nearest facility (index into ``facilities``), -1 when none.
    """
    speed = offroad_kmh * 1000.0 / 60.0
    search = _Search(network, nodes, facilities, x, y, limit_m, offroad_kmh, delay_minutes, water)
    minutes, _ = point_minutes(network, nodes, nearest, facilities, offroad_kmh, delay_minutes)
    ok = np.flatnonzero(np.isfinite(minutes))
    wet = search.crosses(ok, nearest.edge[ok], nearest.fraction[ok])
    minutes[ok[wet]] = np.inf
    bound = minutes.copy()
    point, region = search.regions()
    open_ = np.flatnonzero(~np.isfinite(bound[point]))
    if len(open_):
        first = search.first_reaching(point[open_], region[open_])
        np.minimum.at(bound, point[open_], first)
    ask = np.isfinite(bound[point])
    point, region = point[ask], region[ask]
    hits = search.tree.query_ball_point(
        np.column_stack([x[point], y[point], np.zeros(len(point)), region * _APART_M]),
        speed * bound[point] + search.index.spacing_m / 2.0 + search.slack, return_sorted=False)
    sizes = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
    rows = np.repeat(point, sizes)
    samples = search.sample_of[np.concatenate(hits).astype(np.int64)] if sizes.sum() else np.zeros(0, np.int64)
    edge, fraction, offset, total, facility = search.choose(rows, samples, len(x))
    return Snap(edge, fraction, offset), total, facility


class _Search:
    """The KD-trees and candidate evaluation of one :func:`best_legs` call."""

    def __init__(self, network: Network, nodes: NodeTimes, facilities: Snap, x: np.ndarray, y: np.ndarray,
                 limit_m: float, offroad_kmh: float, delay_minutes: np.ndarray | None,
                 water: WaterMask | None) -> None:
        self.network, self.nodes, self.facilities = network, nodes, facilities
        self.x, self.y, self.limit_m, self.offroad_kmh = x, y, limit_m, offroad_kmh
        self.delay_minutes, self.water = delay_minutes, water
        self.index = sample_index(network)
        data = self.index.tree.data
        scale = max(np.abs(data).max(initial=0.0), np.abs(x).max(initial=0.0), np.abs(y).max(initial=0.0))
        self.slack = 1e-9 * (1.0 + scale)
        lower = segment_lower_minutes(network, nodes, facilities, offroad_kmh, delay_minutes)
        sample_lower = np.minimum.reduceat(lower[self.index.segments], self.index.start)
        sample, region = self._sample_regions()
        keep = np.isfinite(sample_lower[sample])
        self.sample_of, self.region = sample[keep], region[keep]
        speed = offroad_kmh * 1000.0 / 60.0
        self.tree = cKDTree(np.column_stack([data[self.sample_of], speed * sample_lower[self.sample_of],
                                             self.region * _APART_M]), balanced_tree=False, compact_nodes=False)
        self._flat: cKDTree | None = None

    @property
    def flat(self) -> cKDTree:
        """KD-tree of the samples that reach a facility at ``(x, y, region)``, built when first needed."""
        if self._flat is None:
            self._flat = cKDTree(np.column_stack([self.index.tree.data[self.sample_of], self.region * _APART_M]),
                                 balanced_tree=False, compact_nodes=False)
        return self._flat

    def _sample_regions(self) -> tuple[np.ndarray, np.ndarray]:
        """``(sample, land region)`` pairs: the regions a dry leg ending within ``s/2`` of each sample may come
        from; cached on the network for the last water mask."""
        n = self.index.tree.n
        if self.water is None:
            return np.arange(n), np.zeros(n)
        cached = self.network._cache.get("water_regions")
        if cached is None or cached[0] is not self.water:
            data = self.index.tree.data
            col, row = self.water.pixels(data[:, 0], data[:, 1], self.network.crs)
            radius = int(np.ceil(END_CELLS + self._cells(self.index.spacing_m / 2.0))) + 1
            sample, region = self.water.regions_near(col, row, radius)
            cached = self.network._cache["water_regions"] = (self.water, sample, region.astype(np.float64))
        return cached[1], cached[2]

    def _cells(self, metres: float) -> float:
        """``metres`` in cells of the water grid, at the study area (the smaller side of a cell)."""
        cx, cy = np.median(self.network.x), np.median(self.network.y)
        col, row = self.water.pixels(np.array([cx, cx + 1.0, cx]), np.array([cy, cy, cy + 1.0]), self.network.crs)
        per_m = max(np.hypot(col[1] - col[0], row[1] - row[0]), np.hypot(col[2] - col[0], row[2] - row[0]))
        return metres * per_m

    def regions(self) -> tuple[np.ndarray, np.ndarray]:
        """``(point, land region)`` pairs of the points: those within reach of their centre."""
        n = len(self.x)
        if self.water is None:
            return np.arange(n), np.zeros(n)
        col, row = self.water.pixels(self.x, self.y, self.network.crs)
        point, region = self.water.regions_near(col, row, int(np.ceil(END_CELLS)) + 1)
        return point, region.astype(np.float64)

    def crosses(self, point: np.ndarray, edge: np.ndarray, fraction: np.ndarray) -> np.ndarray:
        """Whether the legs from ``point`` to ``fraction`` along ``edge`` cross water."""
        if self.water is None or len(point) == 0:
            return np.zeros(len(point), dtype=bool)
        net = self.network
        ex = net.x[net.u[edge]] + fraction * (net.x[net.v[edge]] - net.x[net.u[edge]])
        ey = net.y[net.u[edge]] + fraction * (net.y[net.v[edge]] - net.y[net.u[edge]])
        return self.water.blocked(self.x[point], self.y[point], ex, ey, net.crs)

    def first_reaching(self, point: np.ndarray, region: np.ndarray) -> np.ndarray:
        """A first total (minutes) for each ``(point, region)``: the best dry leg among the nearest samples that
        reach a facility, by rounds of 4 times more; ``inf`` when none lies within ``limit_m``."""
        out = np.full(len(point), np.inf)
        rest, k = np.arange(len(point)), min(_FIRST_K, self.flat.n)
        reach = self.limit_m + self.index.spacing_m / 2.0 + self.slack
        while len(rest) and k:
            p = point[rest]
            distance, found = self.flat.query(np.column_stack([self.x[p], self.y[p], region[rest] * _APART_M]), k=k)
            distance, found = distance.reshape(len(rest), k), found.reshape(len(rest), k)
            near = distance <= reach
            rows = np.repeat(rest, near.sum(axis=1))
            *_, total, _ = self.choose(point[rows], self.sample_of[found[near]], len(self.x))
            best = np.full(len(point), np.inf)
            np.minimum.at(best, rows, total[point[rows]])
            out[rest] = best[rest]
            more = ~np.isfinite(out[rest]) & near[:, -1] & (k < self.flat.n)
            rest, k = rest[more], min(4 * k, self.flat.n)
        return out

    def choose(self, rows: np.ndarray, samples: np.ndarray, n: int):
        """The best dry candidate of each point among the segments of ``samples`` (paired with points ``rows``).

        Returns per point (``n`` of them) edge, fraction, offset, minutes and facility (-1 and ``inf`` when none).
        """
        size = self.index.count[samples]
        pair_row = np.repeat(rows, size)
        pair_seg = self.index.segments[ranges(self.index.start[samples], size)]
        key = np.unique(pair_row * np.int64(self.network.n_edges) + pair_seg)
        pair_row, pair_seg = key // self.network.n_edges, key % self.network.n_edges
        t, d2 = _project(self.network, self.x[pair_row], self.y[pair_row], pair_seg)
        offset = np.sqrt(d2)
        keep = offset <= self.limit_m
        pair_row, pair_seg, t, offset = pair_row[keep], pair_seg[keep], t[keep], offset[keep]
        total, facility = point_minutes(self.network, self.nodes, Snap(pair_seg, t, offset), self.facilities,
                                        self.offroad_kmh, self.delay_minutes)
        edge, fraction, off = np.full(n, -1, dtype=np.int64), np.zeros(n), np.full(n, np.inf)
        minutes, nearest = np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
        alive = np.isfinite(total)
        while alive.any():
            live = np.flatnonzero(alive)
            order = live[np.lexsort((pair_seg[live], total[live], pair_row[live]))]
            first = order[np.r_[True, pair_row[order][1:] != pair_row[order][:-1]]]
            wet = self.crosses(pair_row[first], pair_seg[first], t[first])
            alive[first[wet]] = False
            dry = first[~wet]
            r = pair_row[dry]
            edge[r], fraction[r], off[r], minutes[r], nearest[r] = pair_seg[dry], t[dry], offset[dry], total[dry], \
                facility[dry]
            alive[np.isin(pair_row, r)] = False
        return edge, fraction, off, minutes, nearest

