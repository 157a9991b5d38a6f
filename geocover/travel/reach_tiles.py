"""The quadtree of reach tiles behind :func:`geocover.travel.isochrones.reach_polygons`: a network's passable
segments merged into runs, buffered once, and their unions shared between facilities tile by tile."""

from __future__ import annotations

import threading

import numpy as np
import shapely

from geocover.network.chains import segment_chains
from geocover.network.graph import Network, ranges

_DISJOINT_SUBSET_UNION = (
    getattr(shapely, "disjoint_subset_union_all", None) if shapely.geos_version >= (3, 12, 0) else None
)
"""Shapely >= 2.1 with GEOS >= 3.12: unions groups of pieces that do not meet one by one."""


class ReachTiles:
    """A network's passable segments in a quadtree of tiles, with the unions of their buffers built as needed.

    Level 0 tiles are ``tile_m`` on a side; a level-``k`` tile holds 2 × 2 tiles of level ``k - 1``.
    A *run* is the passable segments of one chain (see :func:`geocover.network.chains.segment_chains`), merged
    into one line and buffered once; its *home* is the smallest tile holding its bounding box grown by the buffer
    distance (and a hair), so two runs whose homes are not nested have disjoint buffers. Per
    segment: ``home`` and ``run``; per tile: ``level``, ``parent`` (the root's is the tile count),
    ``total`` (passable segments homed in it or below) and ``own_total`` (homed in it).

    The polygons are filled in on first use: ``run_polygons`` (a run's buffer), ``own_polygons``
    (the union of a tile's own runs) and ``whole_polygons`` (the union of everything homed in a tile
    or below). Any number of threads may use one instance; each union is built once.
    """

    def __init__(self, network: Network, buffer_m: float, quad_segs: int, tile_m: float) -> None:
        self.buffer_m, self.quad_segs = buffer_m, quad_segs
        self.passable = np.isfinite(network.minutes_uv) | np.isfinite(network.minutes_vu)
        xy = np.column_stack([network.x, network.y])
        self.lines = shapely.linestrings(np.stack([xy[network.u], xy[network.v]], axis=1))
        segments = np.flatnonzero(self.passable)
        grow = max(buffer_m, 0.0) * (1.0 + 1e-9) + 1e-6
        x0, y0 = network.x.min() - grow - 1.0, network.y.min() - grow - 1.0
        extent = max(network.x.max() - x0, network.y.max() - y0) + grow + 1.0
        tile_m = max(tile_m, extent / 2**20)
        depth = max(0, int(np.ceil(np.log2(extent / tile_m))))
        # A run of segments through nodes of degree 2 (a chain) is homed whole: cut in two, the halves'
        # buffers would meet end to end at the cut, edges all but collinear, which slows the overlays.
        n_chains, chain_of = segment_chains(network)
        chain = chain_of[segments]
        box = _chain_boxes(network, segments, chain, n_chains)
        x_lo = ((box[0] - grow - x0) // tile_m).astype(np.int64)
        y_lo = ((box[1] - grow - y0) // tile_m).astype(np.int64)
        x_hi = ((box[2] + grow - x0) // tile_m).astype(np.int64)
        y_hi = ((box[3] + grow - y0) // tile_m).astype(np.int64)
        level = _common_level((x_lo ^ x_hi) | (y_lo ^ y_hi))
        # Tile codes per level (x << 21 | y), every ancestor of every home included.
        code = ((x_lo >> level) << 21) | (y_lo >> level)
        codes, carry = [], np.empty(0, dtype=np.int64)
        for k in range(depth + 1):
            here = np.unique(np.concatenate([code[level == k], carry]))
            codes.append(here)
            carry = ((here >> 22) << 21) | ((here & (2**21 - 1)) >> 1)
        self.depth = depth
        self.level = np.repeat(np.arange(depth + 1), [len(c) for c in codes])
        keys = (self.level << 42) | np.concatenate(codes)
        self.n_tiles = len(keys)
        self.level_ptr = np.concatenate([[0], np.cumsum([len(c) for c in codes])])
        parent_keys = ((self.level + 1) << 42) | (((keys >> 22) & (2**20 - 1)) << 21) | ((keys & (2**21 - 1)) >> 1)
        self.parent = np.searchsorted(keys, parent_keys)
        self.parent[self.level == depth] = self.n_tiles
        self.home = np.full(network.n_edges, -1, dtype=np.int64)
        self.home[segments] = np.searchsorted(keys, (level << 42) | code)
        self.own_total = np.bincount(self.home[segments], minlength=self.n_tiles)
        self.total = self.own_total.astype(np.float64)
        for k in range(depth):
            lo, hi = self.level_ptr[k], self.level_ptr[k + 1]
            self.total += np.bincount(self.parent[lo:hi], weights=self.total[lo:hi], minlength=self.n_tiles)
        # The root is the last tile (the only one of the top level).
        self.children = np.argsort(self.parent[:-1], kind="stable")
        self.children_ptr = np.searchsorted(self.parent[self.children], np.arange(self.n_tiles + 1))
        run_key = chain.astype(np.int64) * self.n_tiles + self.home[segments]
        unique_keys, run = np.unique(run_key, return_inverse=True)
        self.run = np.full(network.n_edges, -1, dtype=np.int64)
        self.run[segments] = run
        self.run_size = np.bincount(run, minlength=len(unique_keys))
        self.run_segments = segments[np.argsort(run, kind="stable")]
        self.run_ptr = np.concatenate([[0], np.cumsum(self.run_size)])
        self.run_tile = unique_keys % self.n_tiles
        self.tile_runs = np.argsort(self.run_tile, kind="stable")
        self.tile_runs_ptr = np.searchsorted(self.run_tile[self.tile_runs], np.arange(self.n_tiles + 1))
        self.run_polygons = np.empty(len(unique_keys), dtype=object)
        self.run_done = np.zeros(len(unique_keys), dtype=bool)
        self.own_polygons = np.empty(self.n_tiles, dtype=object)
        self.whole_polygons = np.empty(self.n_tiles, dtype=object)
        self._lock = threading.Lock()
        self._pending: dict[tuple[int, int], threading.Event] = {}

    def polygon(self, edges: np.ndarray, spurs: np.ndarray) -> shapely.Geometry:
        """The union of the buffers of the passable ``edges`` and of the lines ``spurs``."""
        homes, counts = np.unique(self.home[edges], return_counts=True)
        tiles, got = self._touched(homes, counts)
        # The largest tiles whose every segment is reached: their unions, built once, are the bulk.
        whole = got == self.total[tiles]
        above = np.minimum(np.searchsorted(tiles, self.parent[tiles]), max(len(tiles) - 1, 0))
        top = tiles[whole & ~((self.parent[tiles] < self.n_tiles) & whole[above])]
        rest = edges[~whole[np.searchsorted(tiles, self.home[edges])]]
        # Tiles reached in part whose own runs (along their middle lines) are all reached: their union.
        complete = homes[(counts == self.own_total[homes]) & ~whole[np.searchsorted(tiles, homes)]]
        rest = rest[~np.isin(self.home[rest], complete)]
        ids, counts = np.unique(self.run[rest], return_counts=True)
        whole_runs, part_runs = ids[counts == self.run_size[ids]], ids[counts < self.run_size[ids]]
        part = rest[~np.isin(self.run[rest], whole_runs)]
        self.runs(self._tile_runs(complete[[self.own_polygons[tile] is None for tile in complete]]))
        runs = np.concatenate([self.runs(whole_runs), self._buffer(self._merged(part_runs, part))])
        # Runs homed in the smallest tiles meet neither the whole tiles' unions nor the runs of other
        # smallest tiles, only runs homed in larger tiles reached in part.
        low = self.level[self.run_tile[np.concatenate([whole_runs, part_runs])]] == 0
        between = np.concatenate([np.array([self.own(tile) for tile in complete], dtype=object), runs[~low],
                                  self._buffer(spurs)])
        disjoint = [self.whole(tile) for tile in top]
        if low.any():
            disjoint.append(_union_pieces(runs[low]))
        return _overlay(disjoint, _union_pieces(between))

    def _touched(self, homes: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The tiles at or above the sorted ``homes`` (sorted), and per tile the sum of ``counts`` below it."""
        found_tiles, found_counts = [], []
        carry_tiles, carry_counts = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        bounds = np.searchsorted(self.level[homes], np.arange(self.depth + 2))
        for k in range(self.depth + 1):
            here = np.concatenate([homes[bounds[k]:bounds[k + 1]], carry_tiles])
            if len(here) == 0:
                continue
            tiles, at = np.unique(here, return_inverse=True)
            sums = np.bincount(at, weights=np.concatenate([counts[bounds[k]:bounds[k + 1]], carry_counts]))
            found_tiles.append(tiles)
            found_counts.append(sums)
            carry_tiles, carry_counts = self.parent[tiles], sums
        if not found_tiles:
            return np.empty(0, dtype=np.int64), np.empty(0)
        return np.concatenate(found_tiles), np.concatenate(found_counts)

    def whole(self, tile: int) -> shapely.Geometry:
        """The union of the buffers of every run homed in ``tile`` or below it."""
        return self._once(self.whole_polygons, tile, self._build)

    def own(self, tile: int) -> shapely.Geometry:
        """The union of the buffers of the runs homed in ``tile``."""
        return self._once(self.own_polygons, tile, self._build_own)

    def runs(self, ids: np.ndarray) -> np.ndarray:
        """The buffers of the runs ``ids`` (sorted, unique), buffered on first use."""
        new = ids[~self.run_done[ids]]
        if len(new):
            self.run_polygons[new] = self._buffer(self._merged(new))
            self.run_done[new] = True
        return self.run_polygons[ids]

    def _tile_runs(self, tiles: list[int]) -> np.ndarray:
        """The runs homed in ``tiles``, sorted."""
        tiles = np.asarray(tiles, dtype=np.int64)
        starts = self.tile_runs_ptr[tiles]
        return np.sort(self.tile_runs[ranges(starts, self.tile_runs_ptr[tiles + 1] - starts)])

    def _build_own(self, tile: int) -> shapely.Geometry:
        # A smallest tile's runs mostly meet (union_all); a larger tile's, along its two middle lines, mostly not.
        united = _union_pieces(self.runs(self._tile_runs([tile])), disjoint=self.level[tile] > 0)
        return shapely.Polygon() if united is None else united

    def _build(self, tile: int) -> shapely.Geometry:
        """The union of everything homed in ``tile`` or below: the largest tiles already built (or the
        smallest tiles) as they are, with the union of the runs homed in the tiles between."""
        if self.level[tile] == 0:
            return self.own(tile)
        tops, between, stack = [], [], [tile]
        while stack:
            at = stack.pop()
            if self.level[at] == 0 or (at != tile and self.whole_polygons[at] is not None):
                tops.append(at)
                continue
            if self.own_total[at]:
                between.append(at)
            stack.extend(self.children[self.children_ptr[at]:self.children_ptr[at + 1]].tolist())
        # Buffer the runs of every tile involved at once, then unite tile by tile.
        self.runs(self._tile_runs([at for at in tops + between if self.own_polygons[at] is None]))
        strips = _union_pieces(np.array([self.own(at) for at in between], dtype=object))
        return _overlay([self.whole(at) for at in tops], strips)

    def _once(self, store: np.ndarray, tile: int, build) -> shapely.Geometry:
        """``store[tile]``, built by ``build(tile)`` in exactly one thread."""
        found = store[tile]
        if found is not None:
            return found
        key = (id(store), tile)
        with self._lock:
            found = store[tile]
            if found is not None:
                return found
            event = self._pending.get(key)
            mine = event is None
            if mine:
                event = self._pending[key] = threading.Event()
        if not mine:
            event.wait()
            return self._once(store, tile, build)
        try:
            store[tile] = build(tile)
        finally:
            with self._lock:
                del self._pending[key]
            event.set()
        return store[tile]

    def _merged(self, ids: np.ndarray, segments: np.ndarray | None = None) -> np.ndarray:
        """One merged line per run in the sorted ``ids``: of all its segments, or only of ``segments``."""
        if segments is None:
            segments = self.run_segments[ranges(self.run_ptr[ids], self.run_size[ids])]
        else:
            segments = segments[np.argsort(self.run[segments], kind="stable")]
        if len(segments) == 0:
            return np.empty(0, dtype=object)
        return shapely.line_merge(
            shapely.multilinestrings(self.lines[segments], indices=np.searchsorted(ids, self.run[segments]))
        )

    def _buffer(self, lines: np.ndarray) -> np.ndarray:
        return shapely.buffer(lines, self.buffer_m, quad_segs=self.quad_segs)


def _union_pieces(pieces: np.ndarray, disjoint: bool = True) -> shapely.Geometry | None:
    """The union of ``pieces``, None when there are none; ``disjoint``: they fall apart into groups that do not meet."""
    if len(pieces) == 0:
        return None
    if len(pieces) == 1:
        return pieces[0]
    if disjoint and _DISJOINT_SUBSET_UNION is not None:
        return _DISJOINT_SUBSET_UNION(pieces)
    return shapely.union_all(pieces)


def _overlay(disjoint: list[shapely.Geometry], other: shapely.Geometry | None) -> shapely.Geometry:
    """The union of polygons known to be pairwise disjoint (combined as they are) and of ``other``."""
    parts = [shapely.get_parts(geometry) for geometry in disjoint]
    parts = np.concatenate(parts) if parts else np.empty(0, dtype=object)
    parts = parts[~shapely.is_empty(parts)]
    if len(parts) == 0:
        return shapely.Polygon() if other is None else other
    combined = parts[0] if len(parts) == 1 else shapely.multipolygons(parts)
    return combined if other is None or other.is_empty else shapely.union(combined, other)


def _chain_boxes(network: Network, segments: np.ndarray, chain: np.ndarray, n_chains: int) -> list[np.ndarray]:
    """Per segment of ``segments``: the bounding box of its whole chain, ``[x_min, y_min, x_max, y_max]``, metres."""
    box = []
    for ends, reduce, start in ((np.minimum, np.minimum, np.inf), (np.maximum, np.maximum, -np.inf)):
        for coordinate in (network.x, network.y):
            per_chain = np.full(n_chains, start)
            reduce.at(per_chain, chain, ends(coordinate[network.u[segments]], coordinate[network.v[segments]]))
            box.append(per_chain[chain])
    return box


def _common_level(differ: np.ndarray) -> np.ndarray:
    """The lowest quadtree level at which two tile indexes differing in the bits ``differ`` share a tile."""
    level = np.zeros(len(differ), dtype=np.int64)
    while True:
        up = (differ >> level) != 0
        if not up.any():
            return level
        level[up] += 1
