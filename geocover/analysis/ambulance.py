"""Ambulance service radius (急救半径) and response time, per population cell by its urban/rural class.

The plans set a radius per area: urban at most 5 km, rural 10–20 km (both ends reported).
A cell is urban when the zone holding its centre (of the scenario's first zone level) is
urban, or when the built-up share at the cell (``builtup_raster``) reaches
``urban_builtup_percent``; otherwise rural. Each cell is measured three ways:

- straight line in the network's metric CRS, with the number of stations within reach
  (covered once, and by two or more);
- along the roads, in km (the ambulance's road distance from the station: one-way streets
  respected, the off-road legs counted);
- response minutes: the station's dispatch delay plus the drive in ``ambulance`` mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
from scipy.spatial import cKDTree

from geocover.config import AmbulanceConfig
from geocover.io.population import PopulationGrid
from geocover.network.graph import Network
from geocover.network.snapping import Snap
from geocover.schema import ZONE_KEYS
from geocover.travel.cells import cell_accessibility, snap_cells


@dataclass
class AmbulanceCells:
    """Per valid cell of the grid (row-major order of ``grid.valid``).

    Attributes
    ----------
    urban : numpy.ndarray of bool
    straight_km : numpy.ndarray
        To the nearest station in a straight line.
    stations_within : dict
        Radius label (``urban_5km``, ``rural_10km``…) to the number of stations within it, straight line.
    road_km : numpy.ndarray
        Road distance from the nearest station, ``inf`` unreachable.
    response_minutes : numpy.ndarray
        Dispatch delay plus drive from the nearest station, ``inf`` unreachable.
    """

    urban: np.ndarray
    straight_km: np.ndarray
    stations_within: dict[str, np.ndarray]
    road_km: np.ndarray
    response_minutes: np.ndarray


def radius_labels(config: AmbulanceConfig) -> dict[str, tuple[bool, float]]:
    """Label (``urban_5km``) to (urban?, km) for every radius of the config."""
    labels = {f"urban_{config.urban_km:g}km": (True, config.urban_km)}
    labels.update({f"rural_{km:g}km": (False, km) for km in config.rural_km})
    return labels


def ambulance_cells(
    config: AmbulanceConfig,
    stations: gpd.GeoDataFrame,
    grid: PopulationGrid,
    cell_urban: np.ndarray,
    drive: Network,
    ambulance: Network,
    snap_max_m: float,
    offroad_kmh: float,
    cell_snap: Snap | None = None,
) -> AmbulanceCells:
    """Straight-line, road and response measures from the stations to every valid cell.

    Parameters
    ----------
    config : AmbulanceConfig
    stations : geopandas.GeoDataFrame
        The ambulance stations (any CRS).
    grid : PopulationGrid
    cell_urban : numpy.ndarray of bool
        Urban class per valid cell.
    drive, ambulance : Network
        Drive network (for road km) and ambulance network (for minutes), same CRS.
    snap_max_m, offroad_kmh : float
    cell_snap : Snap, optional
        The cells snapped to ``drive`` (the ambulance network has the same segments, so it serves both).

    Returns
    -------
    AmbulanceCells
    """
    to_metric = pyproj.Transformer.from_crs(grid.crs, drive.crs, always_xy=True)
    cx, cy = to_metric.transform(*grid.centres())
    points = stations.geometry.to_crs(drive.crs)
    sx, sy = points.x.to_numpy(), points.y.to_numpy()
    n_cells = len(cx)
    if len(sx):
        tree = cKDTree(np.column_stack([sx, sy]))
        cells_xy = np.column_stack([cx, cy])
        straight = tree.query(cells_xy)[0] / 1000.0
        within = {label: tree.query_ball_point(cells_xy, km * 1000.0, return_length=True)
                  for label, (_, km) in radius_labels(config).items()}
    else:
        straight = np.full(n_cells, np.inf)
        within = {label: np.zeros(n_cells, dtype=int) for label in radius_labels(config)}
    if cell_snap is None:
        cell_snap = snap_cells(drive, grid, snap_max_m)
    road = cell_accessibility(drive.by_distance(), stations, grid, snap_max_m, offroad_kmh=60.0,
                              direction="from", cell_snap=cell_snap)
    response = cell_accessibility(ambulance, stations, grid, snap_max_m, offroad_kmh, direction="from",
                                  cell_snap=cell_snap, delay_minutes=_delays(config, stations))
    return AmbulanceCells(
        urban=cell_urban,
        straight_km=straight,
        stations_within=within,
        road_km=road.minutes[grid.valid],
        response_minutes=response.minutes[grid.valid],
    )


def _delays(config: AmbulanceConfig, stations: gpd.GeoDataFrame) -> np.ndarray:
    if config.dispatch_column is not None and config.dispatch_column in stations.columns:
        values = pd.to_numeric(stations[config.dispatch_column], errors="coerce")
        return values.fillna(config.dispatch_minutes).to_numpy(dtype=np.float64)
    return np.full(len(stations), config.dispatch_minutes)


def ambulance_columns(
    config: AmbulanceConfig, cells: AmbulanceCells, grid: PopulationGrid, zones: gpd.GeoDataFrame
) -> pd.DataFrame:
    """Per zone: urban and rural people, people within each radius (straight and by road),
    covered by two or more stations, and within each response time.

    Columns ``pop_urban``, ``pop_rural``; for each radius label ``<area>_<km>km``:
    ``pop_within_radius_<label>`` (straight line, people of that class), ``pop_within_radius_<label>_2plus``
    and ``pop_within_road_radius_<label>``; for each response target ``m``:
    ``pop_within_response_<m>min``; and ``mean_response_minutes`` (population-weighted, reachable people).
    """
    people = grid.population[grid.valid]
    out = zones[ZONE_KEYS].reset_index(drop=True)
    columns: dict[str, np.ndarray] = {}
    for level, level_zones in zones.groupby("zone_level", sort=False):
        label_of_cell = grid.labels(level_zones)[grid.valid]
        rows = np.flatnonzero((zones["zone_level"] == level).to_numpy())

        def total(mask: np.ndarray, rows=rows, labels=label_of_cell) -> np.ndarray:
            sums = np.bincount(labels[mask], weights=people[mask], minlength=len(rows) + 1)
            return sums[1:]

        values = {"pop_urban": total(cells.urban), "pop_rural": total(~cells.urban)}
        for label, (urban, km) in radius_labels(config).items():
            of_class = cells.urban if urban else ~cells.urban
            count = cells.stations_within[label]
            values[f"pop_within_radius_{label}"] = total(of_class & (count >= 1))
            values[f"pop_within_radius_{label}_2plus"] = total(of_class & (count >= 2))
            values[f"pop_within_road_radius_{label}"] = total(of_class & (cells.road_km <= km))
        reachable = np.isfinite(cells.response_minutes)
        for minutes in config.response_minutes:
            values[f"pop_within_response_{minutes:g}min"] = total(reachable & (cells.response_minutes <= minutes))
        weighted = np.bincount(label_of_cell[reachable], weights=(people * cells.response_minutes)[reachable],
                               minlength=len(rows) + 1)[1:]
        reach_people = total(reachable)
        with np.errstate(invalid="ignore", divide="ignore"):
            values["mean_response_minutes"] = np.where(reach_people > 0, weighted / reach_people, np.nan)
        for name, value in values.items():
            columns.setdefault(name, np.full(len(zones), np.nan))[rows] = value
    return pd.concat([out, pd.DataFrame(columns)], axis=1)


def ambulance_sufficiency(table: pd.DataFrame, statistics: pd.DataFrame, per_people: float = 30_000.0) -> pd.DataFrame:
    """Ambulances needed as the Shanxi plan counts them, ``ceil(population / 30,000)``, against the fleet.

    Parameters
    ----------
    table : pandas.DataFrame
        The zone table (``zone_id``, ``population``).
    statistics : pandas.DataFrame
        Indexed by code, with ``ambulances`` (the fleet) and optionally ``population`` (常住人口,
        preferred over the grid's).
    per_people : float

    Returns
    -------
    pandas.DataFrame
        ``ambulances``, ``ambulances_needed``, ``ambulances_to_add`` (0 when the fleet suffices), NaN
        where the statistics table has no fleet for the zone.
    """
    fleet = statistics["ambulances"].reindex(table["zone_id"]).to_numpy(dtype=np.float64)
    official = (statistics["population"].reindex(table["zone_id"]).to_numpy(dtype=np.float64)
                if "population" in statistics.columns else np.full(len(table), np.nan))
    people = np.where(np.isfinite(official), official, table["population"].to_numpy(dtype=np.float64))
    needed = np.ceil(people / per_people)
    known = np.isfinite(fleet)
    return pd.DataFrame({
        "ambulances": fleet,
        "ambulances_needed": np.where(known, needed, np.nan),
        "ambulances_to_add": np.where(known, np.maximum(needed - fleet, 0.0), np.nan),
    }, index=table.index)
