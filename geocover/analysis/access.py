"""One path from facilities to per-cell minutes, taken by the main analysis, every service and every tier.

The scenario's off-road rules (:class:`AccessRules`: the opt-in snap cut-off, the walking speed, the
longest off-road leg and the walk across the terrain) apply the same way to all of them, so a service
or a tier, being a subset of the facilities, never reports a shorter time than all the facilities do.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import pyproj

from geocover.config import OffroadConfig, ScenarioConfig
from geocover.io.population import PopulationGrid
from geocover.network.graph import Network
from geocover.network.snapping import Snap
from geocover.travel.cells import OFFROAD_MAX_M, Accessibility, cell_accessibility
from geocover.travel.offroad import cell_graph, sample_raster, walk_on


@dataclass(frozen=True)
class AccessRules:
    """How people and facilities reach the roads.

    Attributes
    ----------
    snap_max_m : float or None
        Opt-in cut-off, metres: a cell farther from every road is unreachable. None: off-road legs.
    offroad_kmh : float
        Walking speed on the off-road legs, km/h.
    offroad_max_m : float
        Longest off-road leg, metres.
    offroad : OffroadConfig or None
        The walk across the terrain (DEM, land cover) after the roads, when configured.
    """

    snap_max_m: float | None = None
    offroad_kmh: float = 5.0
    offroad_max_m: float = OFFROAD_MAX_M
    offroad: OffroadConfig | None = None

    @classmethod
    def of(cls, config: ScenarioConfig) -> AccessRules:
        """The rules of a scenario config."""
        return cls(config.snap_max_m, config.offroad_kmh, config.offroad_max_m, config.offroad)


def facility_access(
    network: Network,
    facilities: gpd.GeoDataFrame,
    grid: PopulationGrid,
    rules: AccessRules,
    cell_snap: Snap | None = None,
    rows: np.ndarray | None = None,
) -> Accessibility:
    """Minutes from every cell to the nearest of ``facilities`` (or of its rows ``rows``) under ``rules``.

    Parameters
    ----------
    network : Network
    facilities : geopandas.GeoDataFrame
    grid : PopulationGrid
    rules : AccessRules
    cell_snap : Snap, optional
        The grid's cells snapped to ``network`` (:func:`geocover.travel.cells.snap_cells`).
    rows : numpy.ndarray, optional
        Only these rows of ``facilities`` (a service, a tier); the result's ``facility`` then still
        holds rows of ``facilities``.

    Returns
    -------
    Accessibility
    """
    chosen = facilities if rows is None else facilities.iloc[rows]
    access = cell_accessibility(network, chosen, grid, rules.snap_max_m, rules.offroad_kmh, cell_snap=cell_snap,
                                offroad_max_m=rules.offroad_max_m)
    if rules.offroad is not None:
        access = walk_off_road(access, rules.offroad, network.crs)
    if rows is not None and len(rows):
        access = replace(access, facility=np.where(access.facility >= 0, rows[np.maximum(access.facility, 0)], -1))
    return access


def walk_off_road(access: Accessibility, offroad: OffroadConfig, metric_crs: pyproj.CRS | str) -> Accessibility:
    """A new access with every cell's minutes improved by walking on across the terrain
    (:mod:`geocover.travel.offroad`); ``access`` is left as it was."""
    grid = access.grid
    elevation = sample_raster(offroad.dem, grid)
    factor = sample_raster(offroad.landcover_factor, grid) if offroad.landcover_factor is not None else None
    graph = cell_graph(grid, elevation, metric_crs, factor)
    seed = access.minutes[grid.valid]
    minutes, origin = walk_on(graph, np.where(np.isfinite(seed), seed, np.inf), offroad.max_minutes)
    nearest = access.facility[grid.valid]
    facility = np.full(grid.shape, -1, dtype=np.int64)
    facility[grid.valid] = np.where(origin >= 0, nearest[np.maximum(origin, 0)], -1)
    return replace(access, minutes=grid.to_grid(minutes), facility=facility)
