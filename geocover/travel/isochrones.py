"""Service-area polygons of the OSMnx isochrone recipe: the reached segments buffered and unioned, fast.

:func:`isochrones` gives them per facility and per cut-off as a GeoDataFrame (``gc.isochrones``, and the
``isochrones`` layer of ``results.gpkg`` with ``isochrones: true`` in a config). The reach comes from a
facility × node matrix of :mod:`geocover.travel.matrices`; the unions of the buffers are shared between
facilities through a quadtree of tiles (see :func:`reach_polygons`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from geocover.network.graph import WALK_SPEED_KMH, Network, ranges
from geocover.network.snapping import Snap, snap_points
from geocover.travel.matrices import OFFSET_MINUTES, facility_node_matrix
from geocover.travel.nearest import Direction
from geocover.travel.reach_tiles import ReachTiles
from geocover.travel.search_blocks import snapped_positions


def isochrones(
    network: Network,
    facilities: gpd.GeoDataFrame,
    minutes: Sequence[float],
    snap_max_m: float = 500.0,
    buffer_m: float = 25.0,
    direction: Direction = "to",
    offroad_kmh: float = WALK_SPEED_KMH,
    workers: int = 1,
) -> gpd.GeoDataFrame:
    """Network isochrones of every facility: the roads it reaches within each cut-off, buffered.

    Parameters
    ----------
    network : Network
    facilities : geopandas.GeoDataFrame
        Points, any CRS.
    minutes : sequence of float
        Cut-offs, minutes (e.g. ``[5, 10, 15]``).
    snap_max_m : float
        Facilities farther from every road, metres, get empty polygons.
    buffer_m : float
        Half-width of the reached roads, metres (see :func:`reach_polygons`).
    direction : {"to", "from"}
        ``"to"``: the roads from which the facility is reached (residents travelling to care);
        ``"from"``: the roads reached from it (an ambulance driving out).
    offroad_kmh : float
        Walking speed on the facility's off-road leg, km/h.
    workers : int
        Threads building the polygons.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per facility and cut-off, ordered by facility then cut-off: ``facility`` (the label of
        its row in ``facilities``), ``minutes`` and the (Multi)Polygon, empty when nothing is reached,
        in ``network.crs``.
    """
    bands = sorted(float(m) for m in minutes)
    points = facilities.geometry.to_crs(network.crs)
    snap = snap_points(network, points.x.to_numpy(), points.y.to_numpy(), snap_max_m)
    reach = facility_node_matrix(network, snap, bands[-1], direction=direction, offroad_kmh=offroad_kmh)
    polygons = np.empty((len(facilities), len(bands)), dtype=object)
    for j, band in enumerate(bands):
        within = reach.copy()
        within.data[within.data - OFFSET_MINUTES > band] = 0.0  # stored values are never 0: drop these
        within.eliminate_zeros()
        polygons[:, j] = reach_polygons(network, within, snap, buffer_m, workers=workers, cache=True)
    return gpd.GeoDataFrame(
        {"facility": np.repeat(np.asarray(facilities.index), len(bands)), "minutes": np.tile(bands, len(facilities))},
        geometry=polygons.ravel(), crs=network.crs, index=pd.RangeIndex(polygons.size),
    )


def reach_polygons(
    network: Network,
    node_matrix: sp.csr_matrix,
    facilities: Snap,
    buffer_m: float = 25.0,
    quad_segs: int = 16,
    *,
    tile_m: float | None = None,
    workers: int = 1,
    cache: bool = False,
) -> np.ndarray:
    """Service-area polygons: the reached segments buffered and unioned (the OSMnx isochrone recipe).

    A segment is reached when both its ends are; the facility's own segment counts from the
    facility's position to each reached end. The result equals the union of the reached segments'
    own buffers up to the polygonal approximation of their round ends (runs of segments through
    nodes of degree 2 are buffered as one line, with round joins where the segments had round caps).

    The network is cut into a quadtree of square tiles, ``tile_m`` on a side at the bottom. Each run
    of passable segments through nodes of degree 2 is homed in the smallest tile that holds it with
    its buffer, so the buffers of runs homed in two tiles of which neither holds the other never
    meet. The union of all that
    is homed in a tile (and below) is built once, the first time a facility reaches all of it, and
    shared with every other facility that does: a facility's polygon is one overlay of the unions
    of the largest tiles it reaches whole (disjoint, so taken as they are) with the union of the
    rest, the few segments along the middle lines of the tiles it reaches in part.

    Parameters
    ----------
    network : Network
    node_matrix : scipy.sparse.csr_matrix
        Output of :func:`facility_node_matrix`.
    facilities : Snap
        The facilities of ``node_matrix``.
    buffer_m : float
        Buffer distance in metres, in ``network.crs``.
    quad_segs : int
        Segments per quarter circle of the buffers (16, as GeoPandas' default). Fewer is faster and
        loses the area between the round ends and their polygons: at 25 m on the Comoros drive
        network, 8 is about 1.3x faster and smaller by 5e-4 of the area, 4 by 2e-3.
    tile_m : float, optional
        Side of the smallest tiles, metres; ``20 * buffer_m`` when omitted. Only the speed depends on it.
    workers : int
        Threads that build the facilities' polygons, sharing the tiles (GEOS runs outside the GIL).
    cache : bool
        Keep the tiles and their unions on the network (``network._cache``) for later calls with the
        same ``buffer_m``, ``quad_segs`` and ``tile_m``: about as many vertices as all the returned
        polygons together (1.1 million, 17 MB as WKB, for the 39 Comoros facilities).

    Returns
    -------
    numpy.ndarray of shapely geometries
        One (Multi)Polygon per facility, empty where the facility reaches no segment.
    """
    polygons = np.empty(node_matrix.shape[0], dtype=object)
    if network.n_nodes == 0:
        for row in range(len(polygons)):
            polygons[row] = shapely.Polygon()
        return polygons
    size = float(tile_m) if tile_m is not None else max(20.0 * float(buffer_m), 1.0)
    key = ("reach_tiles", float(buffer_m), int(quad_segs), size)
    tiles = network._cache.get(key) if cache else None
    if tiles is None:
        tiles = ReachTiles(network, float(buffer_m), int(quad_segs), size)
        if cache:
            network._cache[key] = tiles
    n = network.n_nodes
    by_u = np.argsort(network.u, kind="stable")
    u_ptr = np.searchsorted(network.u[by_u], np.arange(n + 1))
    xy = np.column_stack([network.x, network.y])
    px, py = snapped_positions(network, facilities)
    scratch = threading.local()

    def polygon(row: int) -> shapely.Geometry:
        reached = getattr(scratch, "reached", None)
        if reached is None:
            reached = scratch.reached = np.zeros(n, dtype=bool)
        nodes = node_matrix.indices[node_matrix.indptr[row]:node_matrix.indptr[row + 1]]
        reached[nodes] = True
        edges = by_u[ranges(u_ptr[nodes], u_ptr[nodes + 1] - u_ptr[nodes])]
        edges = edges[reached[network.v[edges]] & tiles.passable[edges]]
        own = facilities.edge[row]
        ends = np.array([network.u[own], network.v[own]]) if own >= 0 else np.empty(0, dtype=np.int64)
        ends = ends[reached[ends]]
        if len(ends) == 2 and tiles.passable[own]:
            ends = ends[:0]  # the facility's own segment is reached whole: it covers both spurs
        reached[nodes] = False
        spurs = shapely.linestrings(np.stack([np.tile([px[row], py[row]], (len(ends), 1)), xy[ends]], axis=1))
        return tiles.polygon(edges, spurs)

    rows = range(node_matrix.shape[0])
    if workers > 1 and len(rows) > 1:
        with ThreadPoolExecutor(min(workers, len(rows))) as pool:
            for row, geometry in zip(rows, pool.map(polygon, rows), strict=True):
                polygons[row] = geometry
    else:
        for row in rows:
            polygons[row] = polygon(row)
    return polygons
