"""Road networks as NumPy arrays: one straight segment per edge, minutes per direction.

A :class:`Network` is what every search runs on. Each undirected segment ``e``
joins nodes ``u[e]`` and ``v[e]`` and carries the travel time in minutes from
``u`` to ``v`` and from ``v`` to ``u`` (``inf`` where the direction is closed,
as on a one-way street). Routing builds SciPy CSR matrices from these arrays
(:meth:`Network.csr`) and searches them with ``scipy.sparse.csgraph``. Networks come
from road segments (:func:`build_network`), from GeoDataFrames or NetworkX / OSMnx graphs
(:mod:`geocover.network.interchange`) or from a saved file (:mod:`geocover.network.storage`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyproj
import scipy.sparse as sp
import shapely

from geocover.io.road_lines import GRADE_SPEEDS_KMH
from geocover.network.segments import RoadSegments

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx

WALK_SPEED_KMH = 5.0
BIKE_SPEED_KMH = 15.0
AMBULANCE_FACTOR = 1.2
"""Ambulances drive this much faster than the speed table (an assumption: set your own)."""

DRIVE_SPEEDS_KMH: dict[str, float] = {
    "motorway": 100.0,
    "motorway_link": 60.0,
    "trunk": 80.0,
    "trunk_link": 50.0,
    "primary": 60.0,
    "primary_link": 40.0,
    "secondary": 50.0,
    "secondary_link": 40.0,
    "tertiary": 40.0,
    "tertiary_link": 30.0,
    "unclassified": 30.0,
    "road": 30.0,
    "residential": 25.0,
    "living_street": 10.0,
    "service": 15.0,
    "track": 15.0,
}

_NOT_WALKABLE = (
    "motorway", "motorway_link", "construction", "proposed", "abandoned",
    "raceway", "bus_guideway", "escape", "platform", "no",
)

CLOSED_KINDS: dict[str, tuple[str, ...]] = {"walk": _NOT_WALKABLE, "bike": (*_NOT_WALKABLE, "steps"), "drive": ()}
"""OSM ``highway`` kinds closed to each mode by default (``roads.closed_kinds``); ambulances take drive's.
Driving is also closed on every kind without a drive speed (footway, path, steps…)."""

MODES = ("walk", "bike", "drive", "ambulance")
COST_UNITS = ("minutes", "km")


@dataclass
class Network:
    """A directed road network stored as arrays of undirected segments.

    Parameters
    ----------
    x, y : numpy.ndarray of float64
        Node coordinates in ``crs`` (metres).
    u, v : numpy.ndarray of int64
        End nodes of each segment.
    minutes_uv, minutes_vu : numpy.ndarray of float64
        Cost of the segment in each direction, in ``cost_unit`` (travel minutes for every network
        geocover builds); ``inf`` when closed.
    crs : pyproj.CRS
        A metric CRS.
    length_m : numpy.ndarray of float64, optional
        Segment length in metres; the straight distance between the end nodes when omitted.
    node_id : numpy.ndarray of int64, optional
        External (OSM) node ids; ``0 .. n-1`` when omitted.
    mode : str
        The travel mode it was built for (one of :data:`MODES`), or a label such as ``"custom"`` for
        a network from GeoDataFrames or a graph; it names the network in reports and in saved files.
    cost_unit : {"minutes", "km"}
        Unit of ``minutes_uv`` and ``minutes_vu``: ``"km"`` only for :meth:`by_distance`, whose searches
        give road kilometres; every travel-time function expects ``"minutes"``.
    """

    x: np.ndarray
    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    minutes_uv: np.ndarray
    minutes_vu: np.ndarray
    crs: pyproj.CRS
    length_m: np.ndarray | None = None
    node_id: np.ndarray | None = None
    mode: str = "walk"
    cost_unit: str = "minutes"
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.crs = pyproj.CRS.from_user_input(self.crs)
        self.u = np.asarray(self.u, dtype=np.int64)
        self.v = np.asarray(self.v, dtype=np.int64)
        self.x = np.asarray(self.x, dtype=np.float64)
        self.y = np.asarray(self.y, dtype=np.float64)
        if self.length_m is None:
            self.length_m = np.hypot(self.x[self.v] - self.x[self.u], self.y[self.v] - self.y[self.u])
        if self.node_id is None:
            self.node_id = np.arange(len(self.x), dtype=np.int64)
        if self.cost_unit not in COST_UNITS:
            raise ValueError(f"cost_unit must be one of {COST_UNITS}, got {self.cost_unit!r}")

    @classmethod
    def from_gdfs(cls, nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, crs: pyproj.CRS | str | None = None,
                  speed_kmh: float | None = None, mode: str = "custom") -> Network:
        """A network from OSMnx-style node and edge GeoDataFrames: see
        :func:`geocover.network.interchange.network_from_gdfs`."""
        from geocover.network.interchange import network_from_gdfs

        return network_from_gdfs(nodes, edges, crs=crs, speed_kmh=speed_kmh, mode=mode)

    @classmethod
    def from_networkx(cls, graph: nx.Graph, crs: pyproj.CRS | str | None = None, speed_kmh: float | None = None,
                      mode: str = "custom") -> Network:
        """A network from a NetworkX / OSMnx graph: see :func:`geocover.network.interchange.network_from_networkx`."""
        from geocover.network.interchange import network_from_networkx

        return network_from_networkx(graph, crs=crs, speed_kmh=speed_kmh, mode=mode)

    def to_gdfs(self) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
        """``(nodes, edges)`` GeoDataFrames in OSMnx's layout: see
        :func:`geocover.network.interchange.network_to_gdfs`."""
        from geocover.network.interchange import network_to_gdfs

        return network_to_gdfs(self)

    def to_networkx(self) -> nx.MultiDiGraph:
        """A NetworkX MultiDiGraph in OSMnx's layout: see :func:`geocover.network.interchange.network_to_networkx`."""
        from geocover.network.interchange import network_to_networkx

        return network_to_networkx(self)

    def save(self, path: str | Path) -> Path:
        """Write the network to one ``.npz`` file, read back by :func:`geocover.network.storage.load_network`."""
        from geocover.network.storage import save_network

        return save_network(self, path)

    def by_distance(self) -> Network:
        """The same roads costed in road kilometres (``cost_unit="km"``), closed directions kept closed.

        Searched with ``offroad_kmh=60`` (one km per cost unit of a minute), off-road legs count in km too.
        """
        km = self.length_m / 1000.0
        return Network(x=self.x, y=self.y, u=self.u, v=self.v,
                       minutes_uv=np.where(np.isfinite(self.minutes_uv), km, np.inf),
                       minutes_vu=np.where(np.isfinite(self.minutes_vu), km, np.inf),
                       crs=self.crs, length_m=self.length_m, node_id=self.node_id, mode=self.mode, cost_unit="km")

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.x)

    @property
    def n_edges(self) -> int:
        """Number of undirected segments."""
        return len(self.u)

    def arcs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Directed arcs ``(tail, head, minutes)`` of every open direction."""
        open_uv = np.isfinite(self.minutes_uv)
        open_vu = np.isfinite(self.minutes_vu)
        tail = np.concatenate([self.u[open_uv], self.v[open_vu]])
        head = np.concatenate([self.v[open_uv], self.u[open_vu]])
        minutes = np.concatenate([self.minutes_uv[open_uv], self.minutes_vu[open_vu]])
        return tail, head, minutes

    def csr(self, reverse: bool = False) -> sp.csr_matrix:
        """The network as a CSR matrix of minutes (rows are tails, or heads when ``reverse``)."""
        key = ("csr", reverse)
        if key not in self._cache:
            tail, head, minutes = self.arcs()
            rows, cols = (head, tail) if reverse else (tail, head)
            self._cache[key] = sp.csr_matrix(
                (minutes, (rows, cols)), shape=(self.n_nodes, self.n_nodes)
            )
        return self._cache[key]

    @cached_property
    def segments(self) -> np.ndarray:
        """Shapely LineStrings of the segments, in ``crs``."""
        coords = np.stack(
            [
                np.column_stack([self.x[self.u], self.y[self.u]]),
                np.column_stack([self.x[self.v], self.y[self.v]]),
            ],
            axis=1,
        )
        return shapely.linestrings(coords)

    @cached_property
    def tree(self) -> shapely.STRtree:
        """Spatial index over :attr:`segments`."""
        return shapely.STRtree(self.segments)


def _speeds_for_mode(
    segments: RoadSegments,
    mode: str,
    speeds_kmh: dict[str, float] | None,
    use_maxspeed: bool,
    speed_factor: float | None = None,
    closed_kinds: Collection[str] | None = None,
) -> np.ndarray:
    """Speed in km/h per segment, NaN where the mode may not use it."""
    which, classes = segments.highway_classes
    overrides = speeds_kmh or {}
    if closed_kinds is None:
        closed_kinds = CLOSED_KINDS["drive" if mode == "ambulance" else mode]
    closed = np.append(np.isin(classes, list(closed_kinds)), False)[which]
    if mode in ("walk", "bike"):
        allowed = ~closed & ~segments.foot_forbidden
        default = WALK_SPEED_KMH if mode == "walk" else BIKE_SPEED_KMH
        return np.where(allowed, overrides.get(mode, default) * (speed_factor or 1.0), np.nan)
    table = {**DRIVE_SPEEDS_KMH, **GRADE_SPEEDS_KMH, **overrides}
    speed = np.append([table.get(h, np.nan) for h in classes], np.nan)[which]
    if use_maxspeed:
        tagged = np.isfinite(segments.maxspeed_kmh) & np.isfinite(speed)
        speed[tagged] = segments.maxspeed_kmh[tagged]
    speed[segments.motor_forbidden | closed] = np.nan
    factor = speed_factor if speed_factor is not None else (AMBULANCE_FACTOR if mode == "ambulance" else 1.0)
    return speed * factor


def build_network(
    segments: RoadSegments,
    mode: str,
    crs: pyproj.CRS | str,
    speeds_kmh: dict[str, float] | None = None,
    use_maxspeed: bool = True,
    speed_factor: float | None = None,
    segment_factor: np.ndarray | None = None,
    closed_kinds: Collection[str] | None = None,
) -> Network:
    """Build the network of one travel mode from OSM road segments.

    Parameters
    ----------
    segments : RoadSegments
        Output of :func:`geocover.io.osm.read_road_segments`.
    mode : {"walk", "bike", "drive", "ambulance"}
        Walking uses every footpath and street both ways at one speed; cycling
        the same but steps, at :data:`BIKE_SPEED_KMH`, respecting one-way streets;
        driving uses the speed table per ``highway`` class (``maxspeed`` where
        tagged) and respects one-way streets; an ambulance drives the same roads
        :data:`AMBULANCE_FACTOR` times faster.
    crs : pyproj.CRS or str
        Metric CRS for node coordinates and lengths.
    speeds_kmh : dict, optional
        Overrides of :data:`DRIVE_SPEEDS_KMH` per highway class (or of
        :data:`geocover.io.road_lines.GRADE_SPEEDS_KMH` per Chinese road grade), or ``{"walk": kmh}``,
        ``{"bike": kmh}``.
    use_maxspeed : bool
        Use OSM ``maxspeed`` tags where present (drive and ambulance).
    speed_factor : float, optional
        Multiplies every speed (default 1, or :data:`AMBULANCE_FACTOR` for ``"ambulance"``).
    segment_factor : numpy.ndarray, optional
        Multiplies the speed of each segment (e.g. urban or rural factors, see
        :func:`urban_rural_factors`); same length as ``segments.u``.
    closed_kinds : collection of str, optional
        OSM ``highway`` kinds closed to ``mode``; :data:`CLOSED_KINDS` of the mode when omitted.

    Returns
    -------
    Network
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    speed = _speeds_for_mode(segments, mode, speeds_kmh, use_maxspeed, speed_factor, closed_kinds)
    if segment_factor is not None and mode in ("drive", "ambulance"):
        speed = speed * segment_factor
    keep = np.isfinite(speed) & (speed > 0)
    u, v, speed = segments.u[keep], segments.v[keep], speed[keep]
    oneway = segments.oneway[keep] if mode != "walk" else np.zeros(len(u), dtype=np.int8)
    used, inverse = np.unique(np.concatenate([u, v]), return_inverse=True)
    u, v = inverse[: len(u)], inverse[len(u):]
    to_metric = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = to_metric.transform(segments.lon[used], segments.lat[used])
    length_m = np.hypot(x[v] - x[u], y[v] - y[u])
    minutes = length_m / (speed * 1000.0 / 60.0)
    minutes_uv = np.where(oneway >= 0, minutes, np.inf)
    minutes_vu = np.where(oneway <= 0, minutes, np.inf)
    u, v, minutes_uv, minutes_vu, length_m = merge_parallel(u, v, minutes_uv, minutes_vu, length_m)
    return Network(
        x=x, y=y, u=u, v=v, minutes_uv=minutes_uv, minutes_vu=minutes_vu, crs=crs,
        length_m=length_m, node_id=segments.node_id[used], mode=mode,
    )


def merge_parallel(
    u: np.ndarray, v: np.ndarray, minutes_uv: np.ndarray, minutes_vu: np.ndarray, length_m: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Keep one segment per node pair, with the fastest time in each direction."""
    swap = u > v
    lo, hi = np.where(swap, v, u), np.where(swap, u, v)
    fwd, bwd = np.where(swap, minutes_vu, minutes_uv), np.where(swap, minutes_uv, minutes_vu)
    order = np.lexsort((hi, lo))
    lo, hi, fwd, bwd, length_m = lo[order], hi[order], fwd[order], bwd[order], length_m[order]
    if len(lo) == 0:
        return lo, hi, fwd, bwd, length_m
    starts = np.flatnonzero(np.r_[True, (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])])
    return (
        lo[starts], hi[starts],
        np.minimum.reduceat(fwd, starts), np.minimum.reduceat(bwd, starts),
        np.minimum.reduceat(length_m, starts),
    )


def max_speed_kmh(
    segments: RoadSegments,
    mode: str,
    speeds_kmh: dict[str, float] | None = None,
    use_maxspeed: bool = True,
    speed_factor: float | None = None,
    closed_kinds: Collection[str] | None = None,
) -> float:
    """The fastest speed any segment gets in ``mode``, km/h: the reach of a study-area buffer."""
    speed = _speeds_for_mode(segments, mode, speeds_kmh, use_maxspeed, speed_factor, closed_kinds)
    return float(np.nanmax(speed)) if np.isfinite(speed).any() else 0.0


def urban_rural_factors(
    segments: RoadSegments, urban_areas: shapely.Geometry | None, urban_factor: float, rural_factor: float
) -> np.ndarray:
    """Speed factor per segment: ``urban_factor`` where its midpoint lies in ``urban_areas`` (EPSG:4326), else
    ``rural_factor`` (drive speeds in towns are lower than the table's free-flow speeds)."""
    lon = (segments.lon[segments.u] + segments.lon[segments.v]) / 2.0
    lat = (segments.lat[segments.u] + segments.lat[segments.v]) / 2.0
    urban = shapely.contains_xy(urban_areas, lon, lat) if urban_areas is not None else np.zeros(len(lon), bool)
    return np.where(urban, urban_factor, rural_factor)


def ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(start, start + count)`` for each start and count."""
    counts = np.asarray(counts, dtype=np.int64)
    offsets = np.cumsum(counts) - counts
    return np.repeat(np.asarray(starts, dtype=np.int64) - offsets, counts) + np.arange(int(counts.sum()))
