"""Off-road legs: a cell reaches the network at the nearest dry point of each connected piece of road.

The rule (#18): the candidate roads of a cell are, for every connected component of the network
(roads joined by nodes, whatever the direction of travel), its nearest point whose straight leg from
the cell crosses no water (:mod:`geocover.io.water`) within ``offroad_max_m``. The cell's time is the
minimum over those candidates of the walk plus the network time from there. The candidates depend
on the roads and the water only, never on the facilities, so a subset of the facilities (a tier, a
service) never gives a shorter time: the times are monotone. An isolated track nearer than a
connected road does not make a cell unreachable; a lake or the sea between a cell and its nearest
road sends it to the nearest road on its own side. Within one component the nearest dry point is
taken even when a farther road of the same component would be faster from there.

The search is pruned by a sound bound: component ``c`` is tried for a cell only when the distance to
its bounding box plus the walking-equivalent of its smallest network time ``LB_c`` is under the best
total found. Its nearest dry point comes from a KD-tree of the component's snapping samples (at most
``s`` apart along every segment) at ``(x, y, land region)``, the region coordinate far apart so that a
cell never looks at roads of another island: rounds of ``k`` nearest samples (4 times more each round)
until the nearest dry segment found is nearer than the ``k``-th sample minus ``s/2``, or
:data:`MAX_SAMPLES` samples were looked at.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from geocover.io.water import END_CELLS, WaterMask
from geocover.network.graph import Network
from geocover.network.snapping import Snap, project, sample_index
from geocover.travel.nearest import NodeTimes, facility_leg, point_minutes

_APART_M = 1e7
"""Distance between land regions in the KD-trees' third coordinate, far beyond any off-road leg."""

_FIRST_K = 8
"""Samples fetched per cell in the first round of a component's search."""

MAX_SAMPLES = 1024
"""Most samples of a component looked at per cell: when water blocks the legs to all of them, the nearest dry
point is the best found among them (or none)."""


def segment_lower_minutes(network: Network, nodes: NodeTimes, facilities: Snap, offroad_kmh: float,
                          delay_minutes: np.ndarray | None) -> np.ndarray:
    """Smallest network minutes anywhere on each segment: at either end, or at a facility snapped to it."""
    lower = np.minimum(nodes.minutes[network.u], nodes.minutes[network.v])
    ok = np.flatnonzero(facilities.snapped)
    np.minimum.at(lower, facilities.edge[ok], facility_leg(facilities, ok, offroad_kmh, delay_minutes))
    return lower


def segment_components(network: Network) -> np.ndarray:
    """Connected component of each segment (nodes joined by segments in either direction); cached."""
    if "segment_components" not in network._cache:
        n = network.n_nodes
        graph = coo_matrix((np.ones(network.n_edges), (network.u, network.v)), shape=(n, n))
        labels = connected_components(graph, directed=False)[1]
        network._cache["segment_components"] = labels[network.u].astype(np.int64)
    return network._cache["segment_components"]


def best_legs(network: Network, nodes: NodeTimes, facilities: Snap, x: np.ndarray, y: np.ndarray, nearest: Snap,
              limit_m: float, offroad_kmh: float, delay_minutes: np.ndarray | None = None,
              water: WaterMask | None = None, start_cells: float = END_CELLS) -> tuple[Snap, np.ndarray, np.ndarray]:
    """The road each point joins under the rule of the module text, its minutes and nearest facility.

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
    start_cells : float
        Cells of ``water`` around each point where water does not count (its own population cell).

    Returns
    -------
    snap : Snap
        The road each point joins; -1 when it reaches no facility.
    minutes : numpy.ndarray
        Total minutes, the off-road leg included; ``inf`` when unreachable.
    facility : numpy.ndarray of int64
        Nearest facility (index into ``facilities``), -1 when none.
    """
    pieces = _Pieces(network, water, start_cells)
    minutes, facility = point_minutes(network, nodes, nearest, facilities, offroad_kmh, delay_minutes)
    ok = np.flatnonzero(nearest.snapped)
    origin = pieces.pixels(x, y)
    wet = np.zeros(len(x), dtype=bool)
    wet[ok] = pieces.crosses(x[ok], y[ok], nearest.edge[ok], nearest.fraction[ok], _at(origin, ok))
    minutes[wet] = np.inf
    edge, fraction, offset = nearest.edge.copy(), nearest.fraction.copy(), nearest.offset_m.copy()
    own = np.where(nearest.snapped & ~wet, pieces.component[np.maximum(nearest.edge, 0)], -1)
    piece_lower = _piece_minimum(network, segment_lower_minutes(network, nodes, facilities, offroad_kmh,
                                                                delay_minutes))
    speed = offroad_kmh * 1000.0 / 60.0
    point, region = pieces.regions(x, y, origin)
    ask = nearest.snapped[point]  # some road within limit_m
    point, region = point[ask], region[ask]
    by_x = np.argsort(x[point], kind="stable")
    sorted_x, wide_m = x[point][by_x], limit_m * (1.0 + 1e-9) + 1e-6
    for c in np.flatnonzero(np.isfinite(piece_lower))[np.argsort(piece_lower[np.isfinite(piece_lower)])]:
        west, south, east, north = pieces.box(c)
        within = slice(np.searchsorted(sorted_x, west - wide_m), np.searchsorted(sorted_x, east + wide_m, "right"))
        near_x = np.sort(by_x[within])  # only points within limit_m of the box along x can try it
        px, py = x[point[near_x]], y[point[near_x]]
        box_m = np.hypot(np.maximum(np.maximum(west - px, px - east), 0.0),
                         np.maximum(np.maximum(south - py, py - north), 0.0))
        try_ = near_x[(own[point[near_x]] != c) & (box_m <= limit_m)
                      & (box_m + speed * piece_lower[c] < speed * minutes[point[near_x]])]
        if not len(try_):
            continue
        p, r = point[try_], region[try_]
        reach_m = np.minimum(limit_m, speed * (minutes[p] - piece_lower[c]))  # farther cannot beat the best
        e, f, o = pieces.nearest_dry(c, x[p], y[p], r, reach_m, _at(origin, p))
        found = e >= 0
        p, e, f, o = p[found], e[found], f[found], o[found]
        total, near = point_minutes(network, nodes, Snap(e, f, o), facilities, offroad_kmh, delay_minutes)
        order = np.lexsort((total, p))
        first = order[np.r_[True, p[order][1:] != p[order][:-1]]] if len(order) else order
        better = first[total[first] < minutes[p[first]]]
        q = p[better]
        edge[q], fraction[q], offset[q], minutes[q], facility[q] = e[better], f[better], o[better], total[better], \
            near[better]
    unreachable = ~np.isfinite(minutes)
    edge[unreachable], fraction[unreachable], offset[unreachable], facility[unreachable] = -1, 0.0, np.inf, -1
    return Snap(edge, fraction, offset), minutes, facility



def dry_snaps(network: Network, water: WaterMask | None, x: np.ndarray, y: np.ndarray, snap: Snap, limit_m: float,
              start_cells: float = END_CELLS) -> Snap:
    """``snap`` (points' nearest roads, e.g. facilities') with every leg that crosses ``water`` replaced by the
    nearest dry point of any road within ``limit_m``, or unsnapped when there is none; other legs kept.

    Parameters
    ----------
    network : Network
    water : WaterMask or None
        None: ``snap`` unchanged.
    x, y : numpy.ndarray
        The points in ``network.crs``, metres.
    snap : Snap
        Their nearest segments (:func:`geocover.network.snapping.snap_points`).
    limit_m : float
        Longest off-road leg, metres.
    start_cells : float
        Cells of ``water`` around each point where water does not count.
    """
    if water is None or not snap.snapped.any():
        return snap
    pieces = _Pieces(network, water, start_cells)
    ok = np.flatnonzero(snap.snapped)
    wet = ok[pieces.crosses(x[ok], y[ok], snap.edge[ok], snap.fraction[ok])]
    if not len(wet):
        return snap
    edge, fraction, offset = snap.edge.copy(), snap.fraction.copy(), snap.offset_m.copy()
    edge[wet], fraction[wet], offset[wet] = -1, 0.0, np.inf
    boxes = component_boxes(network)
    point, region = pieces.regions(x[wet], y[wet])
    for p, r in zip(wet[point], region, strict=True):
        box_m = np.hypot(np.maximum.reduce([boxes[0] - x[p], x[p] - boxes[2], np.zeros(len(boxes[0]))]),
                         np.maximum.reduce([boxes[1] - y[p], y[p] - boxes[3], np.zeros(len(boxes[0]))]))
        for c in np.argsort(box_m, kind="stable"):
            if box_m[c] > min(limit_m, offset[p]):
                break
            e, f, o = pieces.nearest_dry(int(c), x[p:p + 1], y[p:p + 1], np.array([r]),
                                         np.array([min(limit_m, offset[p])]))
            if e[0] >= 0 and (o[0], e[0]) < (offset[p], edge[p] if edge[p] >= 0 else np.iinfo(np.int64).max):
                edge[p], fraction[p], offset[p] = e[0], f[0], o[0]
    return Snap(edge, fraction, offset)


def _piece_minimum(network: Network, per_segment: np.ndarray) -> np.ndarray:
    """Smallest value of each connected piece of road (``inf`` for a label with no segment)."""
    if "segment_component_order" not in network._cache:
        component = segment_components(network)
        order = np.argsort(component, kind="stable")
        first = np.flatnonzero(np.r_[True, component[order][1:] != component[order][:-1]]) if len(order) else order
        network._cache["segment_component_order"] = (order, first, component[order][first])
    order, first, piece = network._cache["segment_component_order"]
    out = np.full(segment_components(network).max(initial=-1) + 1, np.inf)
    if len(order):
        out[piece] = np.minimum.reduceat(per_segment[order], first)
    return out


def component_boxes(network: Network) -> np.ndarray:
    """Bounding box (west, south, east, north rows; metres) of every connected piece of road; cached."""
    if "component_boxes" not in network._cache:
        component = segment_components(network)
        n = component.max(initial=-1) + 1
        boxes = np.vstack([np.full(n, np.inf), np.full(n, np.inf), np.full(n, -np.inf), np.full(n, -np.inf)])
        for ends in (network.u, network.v):
            np.minimum.at(boxes[0], component, network.x[ends])
            np.minimum.at(boxes[1], component, network.y[ends])
            np.maximum.at(boxes[2], component, network.x[ends])
            np.maximum.at(boxes[3], component, network.y[ends])
        network._cache["component_boxes"] = boxes
    return network._cache["component_boxes"]

class _Pieces:
    """The connected components of a network, their bounding boxes and KD-trees of samples; cached on the
    network for the last water mask (they depend on the roads and the water, not on the facilities)."""

    def __init__(self, network: Network, water: WaterMask | None, start_cells: float = END_CELLS) -> None:
        self.network, self.water, self.start_cells = network, water, max(start_cells, END_CELLS)
        self.index = sample_index(network)
        self.component = segment_components(network)
        cached = network._cache.get("leg_pieces")
        if cached is None or cached[0] is not water:
            slack = 1e-9 * (1.0 + np.abs(self.index.points).max(initial=0.0))
            cached = network._cache["leg_pieces"] = (water, *self._sample_regions(), {}, slack)
        _, self.sample, self.region, self.trees, self.slack = cached

    def _sample_regions(self) -> tuple[np.ndarray, np.ndarray]:
        """``(sample, land region)`` pairs: the regions a dry leg ending within ``s/2`` of each sample may
        come from (every sample in region 0 without water)."""
        n = len(self.index.points)
        if self.water is None:
            return np.arange(n), np.zeros(n)
        data = self.index.points
        col, row = self.water.pixels(data[:, 0], data[:, 1], self.network.crs)
        radius = int(np.ceil(END_CELLS + self._cells(self.index.spacing_m / 2.0))) + 1
        sample, region = self.water.regions_near(col, row, radius)
        return sample, region.astype(np.float64)

    def _cells(self, metres: float) -> float:
        """``metres`` in cells of the water grid at the middle of the network (the larger count of the two axes)."""
        cx, cy = np.median(self.network.x), np.median(self.network.y)
        col, row = self.water.pixels(np.array([cx, cx + 1.0, cx]), np.array([cy, cy, cy + 1.0]), self.network.crs)
        return metres * max(np.hypot(col[1] - col[0], row[1] - row[0]), np.hypot(col[2] - col[0], row[2] - row[0]))

    def pixels(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Fractional ``(col, row)`` positions of points in the water grid, None without water: made once for
        points whose legs are tested many times (the transform costs more than the test)."""
        return None if self.water is None else self.water.pixels(x, y, self.network.crs)

    def regions(self, x: np.ndarray, y: np.ndarray,
                origin: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(point, land region)`` pairs: the regions within reach of each point's centre (``origin``: the
        points' :meth:`pixels`)."""
        if self.water is None:
            return np.arange(len(x)), np.zeros(len(x))
        col, row = self.water.pixels(x, y, self.network.crs) if origin is None else origin
        point, region = self.water.regions_near(col, row, int(np.ceil(self.start_cells)) + 1)
        return point, region.astype(np.float64)

    def crosses(self, x: np.ndarray, y: np.ndarray, edge: np.ndarray, fraction: np.ndarray,
                origin: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Whether the legs from ``(x, y)`` (``origin``: their :meth:`pixels`) to ``fraction`` along ``edge`` cross
        water."""
        if self.water is None or len(x) == 0:
            return np.zeros(len(x), dtype=bool)
        net = self.network
        ex = net.x[net.u[edge]] + fraction * (net.x[net.v[edge]] - net.x[net.u[edge]])
        ey = net.y[net.u[edge]] + fraction * (net.y[net.v[edge]] - net.y[net.u[edge]])
        if origin is None:
            return self.water.blocked(x, y, ex, ey, net.crs, self.start_cells)
        return self.water.blocked_cells(*origin, *self.water.pixels(ex, ey, net.crs), self.start_cells)

    def box(self, c: int) -> tuple[float, float, float, float]:
        """Bounding box of component ``c`` in the network's CRS (the roads' own extent, not the samples')."""
        return tuple(component_boxes(self.network)[:, c])

    def _piece(self, c: int) -> tuple[cKDTree, np.ndarray]:
        """The KD-tree of component ``c``'s samples at ``(x, y, land region)``, and the samples; built when asked."""
        if c not in self.trees:
            first = self.index.segment[self.sample]
            mine = self.component[first] == c
            data = self.index.points[self.sample[mine]]
            tree = cKDTree(np.column_stack([data, self.region[mine] * _APART_M]), balanced_tree=False,
                           compact_nodes=False)
            self.trees[c] = (tree, self.sample[mine])
        return self.trees[c]

    def nearest_dry(self, c: int, x: np.ndarray, y: np.ndarray, region: np.ndarray, reach_m: np.ndarray,
                    origin: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest segment of component ``c`` with a dry leg from each point (``origin``: their :meth:`pixels`) of
        land ``region``, within ``reach_m`` of it, among its :data:`MAX_SAMPLES` nearest samples.

        Returns edge (-1 none), fraction and offset in metres; ties go to the lowest segment index.
        """
        tree, samples = self._piece(c)
        n = len(x)
        edge, fraction, offset = np.full(n, -1, dtype=np.int64), np.zeros(n), np.full(n, np.inf)
        half = self.index.spacing_m / 2.0 + self.slack
        rest, k = np.arange(n), min(_FIRST_K, tree.n)
        cap = min(MAX_SAMPLES, tree.n)
        seen, seen_wet = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)  # legs checked in earlier rounds
        while len(rest):
            distance, found = tree.query(np.column_stack([x[rest], y[rest], region[rest] * _APART_M]), k=k)
            distance, found = distance.reshape(len(rest), k), found.reshape(len(rest), k)
            limit_m = reach_m[rest]
            near = distance <= limit_m[:, None] + half
            rows = np.repeat(np.arange(len(rest)), near.sum(axis=1))
            hit = samples[found[near]]
            pair_row, pair_seg = rows, self.index.segment[hit]
            key = np.sort(pair_row * np.int64(self.network.n_edges) + pair_seg)
            key = key[np.r_[True, key[1:] != key[:-1]]] if len(key) else key
            pair_row, pair_seg = key // self.network.n_edges, key % self.network.n_edges
            t, d2 = project(self.network, x[rest][pair_row], y[rest][pair_row], pair_seg)
            d = np.sqrt(d2)
            ok = np.flatnonzero(d <= limit_m[pair_row])
            ok = ok[np.lexsort((d[ok], pair_row[ok]))]  # stable: equal distances stay by segment, as the keys were
            leg = rest[pair_row[ok]] * np.int64(self.network.n_edges) + pair_seg[ok]
            at = np.minimum(np.searchsorted(seen, leg), max(len(seen) - 1, 0))
            known = np.where(seen[at] == leg, seen_wet[at].astype(np.int8), -1) if len(seen) else None
            best, checked, wet = self._first_dry(x[rest], y[rest], pair_row[ok], pair_seg[ok], t[ok], ok,
                                                 _at(origin, rest), known)
            seen, seen_wet = np.concatenate([seen, leg[checked]]), np.concatenate([seen_wet, wet])
            order = np.argsort(seen, kind="stable")
            seen, seen_wet = seen[order], seen_wet[order]
            best_d = np.full(len(rest), np.inf)
            best_d[pair_row[best]] = d[best]
            last = distance[:, -1]
            done = (best_d + half < last) | (last > limit_m + half) | (k == cap)
            settled = best[done[pair_row[best]]]
            r = rest[pair_row[settled]]
            edge[r], fraction[r], offset[r] = pair_seg[settled], t[settled], d[settled]
            rest, k = rest[~done], min(4 * k, cap)
        return edge, fraction, offset

    def _first_dry(self, x: np.ndarray, y: np.ndarray, row: np.ndarray, seg: np.ndarray, t: np.ndarray,
                   pair: np.ndarray, origin: tuple[np.ndarray, np.ndarray] | None = None,
                   known: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The first entry of ``pair`` of each ``row`` (sorted by row, then preference) whose leg is dry (``origin``:
        the :meth:`pixels` of ``x, y``; ``known``: per entry 1 wet, 0 dry, -1 not known, from an earlier call).

        The legs are checked by ranks within each row, 1, 7, 56… at a time (8 times more each round: a leg that
        crosses water costs little, a call much), until each row has a dry one.

        Returns
        -------
        chosen : numpy.ndarray
            The entries of ``pair`` chosen, by row.
        checked, wet : numpy.ndarray
            Positions of the entries whose legs were checked here, and whether they cross water.
        """
        none = np.zeros(0, dtype=np.int64)
        if len(pair) == 0:
            return pair, none, none.astype(bool)
        start = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
        rank = np.arange(len(row)) - np.repeat(start, np.diff(np.append(start, len(row))))
        if self.water is None:
            return pair[rank == 0], none, none.astype(bool)
        known = np.full(len(pair), -1, dtype=np.int8) if known is None else known
        chosen, checked, wet, open_rows, low = [], [], [], np.ones(row.max() + 1, dtype=bool), 0
        while low <= rank.max():
            high = max(1, 8 * low)
            batch = np.flatnonzero((rank >= low) & (rank < high) & open_rows[row])
            if len(batch) == 0:
                break
            ask = batch[known[batch] < 0]
            crossing = self.crosses(x[row[ask]], y[row[ask]], seg[ask], t[ask], _at(origin, row[ask]))
            checked.append(ask)
            wet.append(crossing)
            dry = np.sort(np.concatenate([batch[known[batch] == 0], ask[~crossing]]))
            first = dry[np.r_[True, row[dry][1:] != row[dry][:-1]]] if len(dry) else dry
            chosen.append(first)
            open_rows[row[first]] = False
            low = high
        if not chosen:
            return pair[:0], none, none.astype(bool)
        return pair[np.sort(np.concatenate(chosen))], np.concatenate(checked), np.concatenate(wet)


def _at(origin: tuple[np.ndarray, np.ndarray] | None, index: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The pixel positions ``origin`` (or None) of the points ``index``."""
    return None if origin is None else (origin[0][index], origin[1][index])
