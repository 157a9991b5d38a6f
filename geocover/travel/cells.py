"""Minutes from every population cell to its nearest facility."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from geocover.io.population import PopulationGrid
from geocover.network.graph import WALK_SPEED_KMH, Network
from geocover.network.snapping import Snap, snap_points
from geocover.travel.legs import best_legs, dry_snaps
from geocover.travel.nearest import Direction, NodeTimes, nearest_facility_nodes, point_minutes

OFFROAD_MAX_M = 5000.0
"""Default longest off-road leg, metres (``offroad_max_m``): no walk across the sea between islands."""


@dataclass
class Accessibility:
    """Per-cell travel times on the population grid, and the searches behind them.

    Attributes
    ----------
    grid : PopulationGrid
    minutes : numpy.ndarray, shape ``grid.shape``
        Minutes to the nearest facility, the cell's off-road leg included; ``inf`` unreachable, NaN
        outside the valid cells.
    facility : numpy.ndarray of int64, shape ``grid.shape``
        Row of the nearest facility in the facility table, -1 when none.
    nodes : NodeTimes
        Minutes and nearest facility per network node.
    facility_snap, cell_snap : Snap
        Where facilities and valid cells joined the network (a cell joins the road that gives it the
        shortest time, see :func:`cell_accessibility`).
    offroad_kmh : float
        Walking speed on the off-road legs, km/h.
    cell_nearest : Snap or None
        With off-road legs (no ``snap_max_m``): each valid cell's nearest road, cut at ``limit_m``, from
        which :func:`answer_cells` chooses again when the facilities change (a facility added, moved, closed).
    limit_m : float
        Longest off-road leg of the run, metres.
    """

    grid: PopulationGrid
    minutes: np.ndarray
    facility: np.ndarray
    nodes: NodeTimes
    facility_snap: Snap
    cell_snap: Snap
    offroad_kmh: float = WALK_SPEED_KMH
    cell_nearest: Snap | None = None
    limit_m: float = OFFROAD_MAX_M

    @property
    def offroad_minutes(self) -> np.ndarray:
        """Minutes walked from each cell centre to its road, shape ``grid.shape``; ``inf`` unsnapped, NaN outside."""
        return self.grid.to_grid(self.cell_snap.offset_m / (self.offroad_kmh * 1000.0 / 60.0))

    @property
    def facility_offroad_minutes(self) -> np.ndarray:
        """Minutes walked between each facility and its road (facility table order), ``inf`` unsnapped."""
        return self.facility_snap.offset_m / (self.offroad_kmh * 1000.0 / 60.0)


def cut_off_m(snap_max_m: float | None, offroad_max_m: float = OFFROAD_MAX_M) -> float:
    """Longest off-road leg, metres: ``offroad_max_m``, or the opt-in ``snap_max_m`` when shorter."""
    return min(offroad_max_m, np.inf if snap_max_m is None else snap_max_m)


def _to_network_crs(network: Network, crs: pyproj.CRS, x: np.ndarray, y: np.ndarray):
    return _transformer(str(crs), str(network.crs)).transform(x, y)


@lru_cache(maxsize=32)
def _transformer(source: str, target: str) -> pyproj.Transformer:
    """The ``always_xy`` transformer between two CRS (by their definitions), made once: 0.4 ms a call otherwise."""
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


def snap_facilities(network: Network, facilities: gpd.GeoDataFrame, snap_max_m: float | None = None,
                    grid: PopulationGrid | None = None) -> Snap:
    """Snap facility points (any CRS) to the network.

    Parameters
    ----------
    network : Network
    facilities : geopandas.GeoDataFrame
        Point geometries.
    snap_max_m : float, optional
        Facilities farther from every road stay unsnapped and serve no one; ``None``: no cut-off.
    grid : PopulationGrid, optional
        With off-road legs, the grid whose water no facility's leg crosses (:func:`facility_points_snap`).

    Returns
    -------
    Snap
    """
    if facilities.crs is None:  # GeoPandas' error: naive geometries
        facilities.geometry.to_crs(network.crs)
    points = facilities.geometry.values
    located = ~(shapely.is_missing(points) | shapely.is_empty(points))
    x, y = np.full(len(points), np.nan), np.full(len(points), np.nan)
    x[located], y[located] = _to_network_crs(network, facilities.crs, shapely.get_x(points[located]),
                                             shapely.get_y(points[located]))
    return facility_points_snap(network, x, y, snap_max_m, grid)


def facility_points_snap(network: Network, x: np.ndarray, y: np.ndarray, snap_max_m: float | None = None,
                         grid: PopulationGrid | None = None) -> Snap:
    """Facility points (``network.crs``) snapped to their nearest road; with a ``grid`` holding water, a leg that
    crosses water is replaced by the nearest dry point of any road (:func:`geocover.travel.legs.dry_snaps`)."""
    snap = snap_points(network, x, y, snap_max_m)
    if grid is not None and grid.water is not None and len(x):
        snap = dry_snaps(network, grid.water, x, y, snap, np.inf if snap_max_m is None else snap_max_m,
                         grid.water.cells_across(grid.transform, grid.crs))
    return snap


def snap_cells(network: Network, grid: PopulationGrid, snap_max_m: float | None = None) -> Snap:
    """Snap the centres of the valid cells of ``grid`` to ``network`` (row-major order)."""
    return snap_points(network, *cell_points(network, grid), snap_max_m)


def cell_accessibility(
    network: Network,
    facilities: gpd.GeoDataFrame,
    grid: PopulationGrid,
    snap_max_m: float | None = None,
    offroad_kmh: float = WALK_SPEED_KMH,
    direction: Direction = "to",
    cell_snap: Snap | None = None,
    delay_minutes: np.ndarray | None = None,
    offroad_max_m: float = OFFROAD_MAX_M,
) -> Accessibility:
    """Minutes between every valid cell centre of ``grid`` and its nearest facility.

    Parameters
    ----------
    network : Network
    facilities : geopandas.GeoDataFrame
        Facility points, any CRS.
    grid : PopulationGrid
    snap_max_m : float, optional
        Opt-in snap cut-off in metres for cells and facilities; beyond it they are unreachable.
    offroad_kmh : float
        Walking speed on the off-road legs, km/h.
    direction : {"to", "from"}
        Residents travelling to care, or care (an ambulance) travelling out.
    cell_snap : Snap, optional
        The cells already snapped to ``network`` by :func:`snap_cells` (it is the costly part:
        pass it when several facility sets are searched on one network); the cut-off applies to it.
    delay_minutes : numpy.ndarray, optional
        Minutes added per facility before travel, e.g. an ambulance station's dispatch delay.
    offroad_max_m : float
        Longest off-road leg in metres, for cells and facilities alike (islands stay apart).

    Every facility joins its nearest road. Without ``snap_max_m``, a cell's candidate roads are the
    nearest point of every connected piece of the network within ``offroad_max_m`` whose straight leg
    from the cell centre crosses no water (``grid.water``: the population raster's nodata, OSM water),
    and its time is the best of them, walk included (:mod:`geocover.travel.legs`): an isolated track
    nearer than a connected road does not decide it, and a lake sends it to a road on its own side.
    The candidates do not depend on the facilities, so a subset of the facilities (a tier, a service)
    never gives a shorter time. With ``snap_max_m`` (the old definition) cells keep their nearest road
    and water is not looked at.

    Returns
    -------
    Accessibility
    """
    limit_m = cut_off_m(snap_max_m, offroad_max_m)
    facility_snap = snap_facilities(network, facilities, limit_m, grid if snap_max_m is None else None)
    nodes = nearest_facility_nodes(network, facility_snap, direction=direction, offroad_kmh=offroad_kmh,
                                   delay_minutes=delay_minutes)
    if cell_snap is None:
        cell_snap = snap_cells(network, grid, limit_m)
    elif np.any(cell_snap.offset_m > limit_m):
        far = cell_snap.offset_m > limit_m
        cell_snap = Snap(np.where(far, -1, cell_snap.edge), np.where(far, 0.0, cell_snap.fraction),
                         np.where(far, np.inf, cell_snap.offset_m))
    nearest_snap = cell_snap if snap_max_m is None else None
    cell_snap, minutes, facility_grid = answer_cells(network, nodes, facility_snap, grid, cell_snap, nearest_snap,
                                                     limit_m, offroad_kmh, delay_minutes)
    return Accessibility(
        grid=grid,
        minutes=minutes,
        facility=facility_grid,
        nodes=nodes,
        facility_snap=facility_snap,
        cell_snap=cell_snap,
        offroad_kmh=offroad_kmh,
        cell_nearest=nearest_snap,
        limit_m=limit_m,
    )


def answer_cells(
    network: Network,
    nodes: NodeTimes,
    facility_snap: Snap,
    grid: PopulationGrid,
    cell_snap: Snap,
    nearest: Snap | None,
    limit_m: float,
    offroad_kmh: float,
    delay_minutes: np.ndarray | None = None,
) -> tuple[Snap, np.ndarray, np.ndarray]:
    """Every valid cell's road, minutes and nearest facility from the node minutes of ``facility_snap``.

    With ``nearest`` (off-road legs), each cell chooses again among the roads within ``limit_m``
    (:func:`choose_roads`); without it, cells keep ``cell_snap``.

    Returns
    -------
    (Snap, numpy.ndarray, numpy.ndarray)
        The cells' roads (valid-cell order), minutes and nearest facility row, both of ``grid.shape``.
    """
    if nearest is not None:
        cell_snap, minutes, facility = choose_roads(network, nodes, facility_snap, grid, nearest, limit_m,
                                                    offroad_kmh, delay_minutes=delay_minutes)
    else:
        minutes, facility = point_minutes(network, nodes, cell_snap, facility_snap, offroad_kmh=offroad_kmh,
                                          delay_minutes=delay_minutes)
    facility_grid = np.full(grid.shape, -1, dtype=np.int64)
    facility_grid[grid.valid] = facility
    return cell_snap, grid.to_grid(minutes), facility_grid


def cell_points(network: Network, grid: PopulationGrid) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the valid cells of ``grid`` (row-major order) in ``network.crs``, metres; made once per network
    CRS while the grid's cells stay the same (:meth:`~geocover.io.population.PopulationGrid.derived`), read-only."""
    target = network.crs.srs or network.crs.to_wkt()
    return grid.derived(f"cell_points {target}", lambda: _read_only(*_to_network_crs(network, grid.crs,
                                                                                      *grid.centres())))


def _read_only(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    for array in arrays:
        array.flags.writeable = False
    return arrays


def choose_roads(
    network: Network,
    nodes: NodeTimes,
    facility_snap: Snap,
    grid: PopulationGrid,
    nearest: Snap,
    limit_m: float,
    offroad_kmh: float,
    cells: np.ndarray | None = None,
    delay_minutes: np.ndarray | None = None,
) -> tuple[Snap, np.ndarray, np.ndarray]:
    """The road each valid cell (or each of ``cells``, positions in valid-cell order) joins under off-road
    legs (:func:`geocover.travel.legs.best_legs`), its minutes and nearest facility row, one per cell.

    ``nearest`` holds every valid cell's nearest road, cut at ``limit_m``.
    """
    x, y = cell_points(network, grid)
    if cells is not None:
        x, y, nearest = x[cells], y[cells], nearest.take(cells)
    start = 0.0 if grid.water is None else grid.water.cells_across(grid.transform, grid.crs)
    return best_legs(network, nodes, facility_snap, x, y, nearest, limit_m, offroad_kmh, delay_minutes, grid.water,
                     start)
