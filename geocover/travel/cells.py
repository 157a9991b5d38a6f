"""Minutes from every population cell to its nearest facility."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pyproj

from geocover.io.population import PopulationGrid
from geocover.network.graph import WALK_SPEED_KMH, Network
from geocover.network.snapping import Snap, snap_points
from geocover.travel.nearest import Direction, NodeTimes, nearest_facility_nodes, point_minutes


@dataclass
class Accessibility:
    """Per-cell travel times on the population grid, and the searches behind them.

    Attributes
    ----------
    grid : PopulationGrid
    minutes : numpy.ndarray, shape ``grid.shape``
        Minutes to the nearest facility; ``inf`` unreachable, NaN outside the valid cells.
    facility : numpy.ndarray of int64, shape ``grid.shape``
        Row of the nearest facility in the facility table, -1 when none.
    nodes : NodeTimes
        Minutes and nearest facility per network node.
    facility_snap, cell_snap : Snap
        Where facilities and valid cells joined the network.
    """

    grid: PopulationGrid
    minutes: np.ndarray
    facility: np.ndarray
    nodes: NodeTimes
    facility_snap: Snap
    cell_snap: Snap


def _to_network_crs(network: Network, crs: pyproj.CRS, x: np.ndarray, y: np.ndarray):
    transformer = pyproj.Transformer.from_crs(crs, network.crs, always_xy=True)
    return transformer.transform(x, y)


def snap_facilities(network: Network, facilities: gpd.GeoDataFrame, snap_max_m: float) -> Snap:
    """Snap facility points (any CRS) to the network.

    Parameters
    ----------
    network : Network
    facilities : geopandas.GeoDataFrame
        Point geometries.
    snap_max_m : float
        Facilities farther from every road stay unsnapped and serve no one.

    Returns
    -------
    Snap
    """
    points = facilities.geometry.to_crs(network.crs)
    return snap_points(network, points.x.to_numpy(), points.y.to_numpy(), snap_max_m)


def snap_cells(network: Network, grid: PopulationGrid, snap_max_m: float) -> Snap:
    """Snap the centres of the valid cells of ``grid`` to ``network`` (row-major order)."""
    x, y = _to_network_crs(network, grid.crs, *grid.centres())
    return snap_points(network, x, y, snap_max_m)


def cell_accessibility(
    network: Network,
    facilities: gpd.GeoDataFrame,
    grid: PopulationGrid,
    snap_max_m: float,
    offroad_kmh: float = WALK_SPEED_KMH,
    direction: Direction = "to",
    cell_snap: Snap | None = None,
    delay_minutes: np.ndarray | None = None,
) -> Accessibility:
    """Minutes between every valid cell centre of ``grid`` and its nearest facility.

    Parameters
    ----------
    network : Network
    facilities : geopandas.GeoDataFrame
        Facility points, any CRS.
    grid : PopulationGrid
    snap_max_m : float
        Snap distance in metres for cells and facilities; beyond it they are unreachable.
    offroad_kmh : float
        Walking speed on the off-road legs, km/h.
    direction : {"to", "from"}
        Residents travelling to care, or care (an ambulance) travelling out.
    cell_snap : Snap, optional
        The cells already snapped to ``network`` by :func:`snap_cells` (it is the costly part:
        pass it when several facility sets are searched on one network).
    delay_minutes : numpy.ndarray, optional
        Minutes added per facility before travel, e.g. an ambulance station's dispatch delay.

    Returns
    -------
    Accessibility
    """
    facility_snap = snap_facilities(network, facilities, snap_max_m)
    nodes = nearest_facility_nodes(network, facility_snap, direction=direction, offroad_kmh=offroad_kmh,
                                   delay_minutes=delay_minutes)
    if cell_snap is None:
        cell_snap = snap_cells(network, grid, snap_max_m)
    minutes, nearest = point_minutes(network, nodes, cell_snap, facility_snap, offroad_kmh=offroad_kmh,
                                     delay_minutes=delay_minutes)
    facility_grid = np.full(grid.shape, -1, dtype=np.int64)
    facility_grid[grid.valid] = nearest
    return Accessibility(
        grid=grid,
        minutes=grid.to_grid(minutes),
        facility=facility_grid,
        nodes=nodes,
        facility_snap=facility_snap,
        cell_snap=cell_snap,
    )
