"""One unit of a batch run (a county, or any zone), computed with its halo on a Dask worker.

A unit run is :func:`geocover.pipeline.run_scenario` on the inputs of ``unit=(level, zone_id)``
(:func:`geocover.prepared_inputs.prepare_inputs`): roads, facilities
and people are taken within the halo of ``R`` metres around the unit, ``R`` being the fastest speed
of each mode times its largest band (and the ambulance radius and response). What follows from it:

- **Exact.** A trip of at most ``R / v`` minutes from a cell of the unit (``v`` the mode's fastest
  road, or the off-road walk if faster) cannot leave the halo, so minutes up to the largest band
  ``N`` are the whole-area run's, and so are every band column, the ambulance radius and response
  counts, facility counts and flags. 2SFCA (``fca``) is exact too: the halo reaches twice its catchment
  (:meth:`geocover.config.ScenarioConfig.reach_minutes`; each facility's ratio needs the people within
  the catchment of the facility).
- **More than N minutes.** A cell whose minutes exceed ``N`` is "more than N minutes" (coded
  :data:`~geocover.batch.codes.MORE_THAN_MINUTES`): reachable, counted beyond the target, its exact time unknown. A cell
  whose search found no facility in a road component reaching the edge of the halo is coded
  :data:`~geocover.batch.codes.NOT_FOUND_MINUTES`: more than N minutes or no facility at all, counted beyond the target
  too. A cell is certainly
  unreachable (as in the whole run) when no road lies within ``snap_max_m`` (with ``snap_max_m <= R``)
  or its road component lies wholly inside the halo and holds no reachable facility; with ``offroad``
  walking, no cell is certainly unreachable (a walk may start outside the halo).
- Per zone, mean minutes are exact when nobody is more than N minutes away, else NaN (and a lower
  bound is given); the median and 90th percentile are exact whenever the people beyond N cannot move
  them, else NaN. The same holds
  for every service circle, the per-tier minutes and the ambulance response mean; minutes to the county
  seat and per-facility neighbour and referral minutes are kept up to ``R / v`` and NaN beyond (the
  searches stop there). Facility catchments (``catchment_total_<b>``) are searched in the unit holding the
  facility only (and in every unit for a facility inside none): NaN in the other units' rows.
- Cells are snapped once per batch to the whole network (:mod:`geocover.batch.cell_snaps`): a halo cell whose
  nearest road lies beyond the unit's roads is more than ``R`` on the roads from the unit and is left
  unsnapped there; it could not count in any band of the unit's facilities.
- Capacity allocation needs a global pass: it is left out of batch runs (``geocover run`` computes it).
- The plan tables (emergency chain, county referral, villages) are not computed in units: the batch computes
  them once on the whole area (:mod:`geocover.batch.plan` says why).
"""

from __future__ import annotations

import inspect
import resource
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geocover.analysis.facility_table import facility_table
from geocover.analysis.plan_tables import plan_tables
from geocover.analysis.polygons import service_areas
from geocover.batch.cell_snaps import CellSnaps, first_snaps
from geocover.batch.codes import (
    batch_gaps,
)
from geocover.batch.halo import Halo, unit_table
from geocover.config import ScenarioConfig
from geocover.io.osm import load_segments
from geocover.io.population import PopulationGrid
from geocover.pipeline import ScenarioResult, run_scenario
from geocover.prepared_inputs import prepare_inputs
from geocover.render.assets import render
from geocover.render.folium_map import coverage_map

TABLE_LIMIT_MINUTES: float = inspect.signature(facility_table).parameters["limit_minutes"].default
"""The cap of a whole run's neighbour and referral searches
(:func:`geocover.analysis.facility_table.facility_table`)."""

def unit_config(config: ScenarioConfig) -> tuple[ScenarioConfig, list[str]]:
    """The config the unit runs use, and notes on what it leaves out.

    Network-Voronoi zone levels (``seats``) and capacity allocation need a global pass and are left out.
    """
    unit = config.model_copy(deep=True)
    notes = []
    seats = [zone.level for zone in unit.zones if zone.seats is not None]
    if seats:
        unit.zones = [zone for zone in unit.zones if zone.seats is None]
        notes.append(f"zone levels {', '.join(seats)} (network Voronoi from seats) need a global pass: "
                     "left out of batch runs, computed by `geocover run`")
    if unit.capacity is not None:
        unit.capacity = None
        notes.append("capacity allocation needs a global pass: its columns are NaN here, computed by `geocover run`")
    return unit, notes


@dataclass
class UnitCells:
    """The cells of one unit (centres inside it), on its grid.

    Attributes
    ----------
    transform : tuple of float
        The unit grid's affine transform (6 terms), in ``crs``.
    crs : str
        WKT of the grid's CRS.
    rows, cols : numpy.ndarray of int64
        Cell positions on the unit grid.
    population : numpy.ndarray of float64
        People per cell.
    minutes : numpy.ndarray of float64
        Minutes to the nearest facility, ``inf`` certainly unreachable, :data:`~geocover.batch.codes.MORE_THAN_MINUTES`
        more than the largest band, :data:`~geocover.batch.codes.NOT_FOUND_MINUTES` more than it or unreachable.
    nearest : numpy.ndarray of int64
        Row of the nearest facility in :attr:`UnitResult.facilities` within the largest band, else -1.
    services : dict
        Service name to its minutes per cell, coded like ``minutes``.
    scores : dict
        ``access_2sfca`` (or ``access_e2sfca``) per cell, with ``fca``.
    """

    transform: tuple[float, ...]
    crs: str
    rows: np.ndarray
    cols: np.ndarray
    population: np.ndarray
    minutes: np.ndarray
    nearest: np.ndarray
    services: dict[str, np.ndarray]
    scores: dict[str, np.ndarray]


@dataclass
class UnitResult:
    """What a unit task returns.

    Attributes
    ----------
    unit_id, unit_name : str
    table : pandas.DataFrame
        Zone-table rows of the zones lying inside the unit (the unit's own row first of its level).
    beyond : pandas.DataFrame
        Per row of ``table``: ``more_than`` (people more than ``limits[""]`` minutes away, or not found)
        and ``mean_at_least`` (a lower bound of the mean minutes), see :func:`capped_zone_table`.
    facilities : geopandas.GeoDataFrame
        The unit run's facilities; ``population_nearest``, ``population_within_target`` and
        ``catchment_exclusive_<b>`` hold the people of the unit's own cells only; ``batch_owned`` is
        True for facilities inside the unit.
    cells : UnitCells
    area : shapely.Geometry
        The unit's study area (unit plus halo), EPSG:4326.
    limits : dict
        ``N`` per service (``""`` the main one): minutes are exact up to it (the largest band).
    halo_m : float
        ``R``, the halo radius in metres used for the exactness rules.
    notes : list of str
    seconds : float
        Wall time of the task, s.
    peak_mb : float
        Peak resident memory of the worker process so far, MB.
    map_html : str or None
        The unit's map (its own cells, zones and facilities).
    """

    unit_id: str
    unit_name: str
    table: pd.DataFrame
    beyond: pd.DataFrame
    facilities: gpd.GeoDataFrame
    cells: UnitCells
    area: shapely.Geometry
    limits: dict[str, float]
    halo_m: float
    notes: list[str]
    seconds: float
    peak_mb: float
    map_html: str | None


def _own_cells(result: ScenarioResult, level: str, unit_id: str) -> tuple[shapely.Geometry, np.ndarray]:
    """The unit's polygon and its valid cells (centre inside it) on the unit grid."""
    zones = result.zones
    polygon = zones.geometry[(zones["zone_level"] == level) & (zones["zone_id"].astype(str) == unit_id)].iloc[0]
    grid = result.access.grid
    own = grid.labels(gpd.GeoDataFrame(geometry=[polygon], crs=zones.crs)) == 1
    return polygon, own & grid.valid


def _owned(facilities: gpd.GeoDataFrame, polygon: shapely.Geometry) -> np.ndarray:
    """Per facility: True when the unit's polygon (EPSG:4326) holds it."""
    return facilities.geometry.to_crs("EPSG:4326").within(polygon).to_numpy()


def _with_facility_table(result: ScenarioResult, polygon: shapely.Geometry, unowned: Collection[str],
                         limit_minutes: float) -> gpd.GeoDataFrame:
    """The unit's facilities with the columns of :func:`geocover.analysis.facility_table.facility_table`.

    Neighbour and referral searches stop at ``limit_minutes`` (the minutes a batch keeps exact; a whole
    run's cap if lower). Searches start only from the facilities whose row the merge keeps: those inside
    the unit, and those inside no unit (ids in ``unowned``); the others' columns are NaN.
    """
    config, facilities = result.config, result.facilities
    traced = _owned(facilities, polygon) | facilities["facility_id"].astype(str).isin(set(unowned)).to_numpy()
    columns = facility_table(result.network, facilities, result.access, config.bands_minutes,
                             config.offroad_kmh, min(limit_minutes, TABLE_LIMIT_MINUTES), rows=traced)
    return gpd.GeoDataFrame(pd.concat([facilities, columns], axis=1), crs=facilities.crs)


def _facility_rows(result: ScenarioResult, own: np.ndarray, polygon: shapely.Geometry,
                   limit: float) -> gpd.GeoDataFrame:
    """The facility table with its people counted over the unit's own cells only."""
    config, grid = result.config, result.access.grid
    facilities = result.facilities.copy()
    n = len(facilities)
    nearest = result.access.facility[own]
    minutes = result.access.minutes[own]
    people = grid.population[own]

    def people_of(within: float) -> np.ndarray:
        mask = (nearest >= 0) & (minutes <= within)
        return np.bincount(nearest[mask], weights=people[mask], minlength=n)[:n]

    facilities["population_nearest"] = people_of(limit)
    facilities["population_within_target"] = people_of(config.target_minutes)
    for band in config.bands_minutes:
        column = "catchment_exclusive_" + f"{band:g}".replace(".", "_")
        if column in facilities.columns:
            facilities[column] = people_of(band)
    facilities["batch_owned"] = _owned(facilities, polygon)
    return facilities


def _unit_map(result: ScenarioResult, own: np.ndarray, coded: dict[str, np.ndarray], table: pd.DataFrame,
              polygon: shapely.Geometry, lang: str | None, tiles: str | None) -> str:
    """The map of the unit's own cells and zones, its facilities and those nearest to one of its cells,
    drawn by :func:`geocover.render.folium_map.coverage_map`."""
    grid = result.access.grid
    shown = _owned(result.facilities, polygon).copy()
    nearest = result.access.facility[own]
    shown[nearest[nearest >= 0]] = True
    own_grid = PopulationGrid(grid.population, own, grid.transform, grid.crs)
    minutes = np.where(own, coded[""], np.nan)
    services = {}
    for name, service in result.services.items():
        areas = service_areas(own_grid, np.where(own, coded[name], np.nan), service.config.bands_minutes)
        areas.insert(0, "service", name)
        services[name] = replace(service, service_areas=areas)
    zones = gpd.GeoDataFrame(table.assign(geometry=result.zones.geometry.to_numpy()), crs=result.zones.crs)
    view = replace(
        result, table=table, zones=zones, access=replace(result.access, grid=own_grid, minutes=minutes),
        service_areas=service_areas(own_grid, minutes, result.config.bands_minutes),
        gaps=batch_gaps(own_grid, minutes, result.config.target_minutes), services=services,
        ambulance=None, catchments=None, audit=None, sites=None, facilities=result.facilities[shown],
    )
    return render(coverage_map(view, lang=lang, tiles=tiles))


def run_unit(
    config: ScenarioConfig, level: str, unit_id: str, unit_name: str, lang: str | None = None,
    tiles: str | None = None, with_map: bool = True, facilities: gpd.GeoDataFrame | None = None,
    unowned: Collection[str] = (), zones: gpd.GeoDataFrame | None = None, roads_file: Path | None = None,
    snaps: Sequence[CellSnaps] = (),
) -> UnitResult:
    """Run one unit with its halo and put its results in batch terms (see the module docstring).

    Parameters
    ----------
    config : ScenarioConfig
        The unit config (see :func:`unit_config`).
    level, unit_id, unit_name : str
        The unit zone.
    lang, tiles : str, optional
        Language and base map of the unit's map.
    with_map : bool
        Render the unit's map.
    facilities : geopandas.GeoDataFrame, optional
        The configured facility layer, read once for every unit (:func:`geocover.prepare.load_facilities`);
        read here when omitted.
    unowned : collection of str
        Ids of the facilities that no unit holds: their facility-table row is complete in every unit.
    zones : geopandas.GeoDataFrame, optional
        The configured zones, read once for every unit (:func:`geocover.io.zones.read_zones`); read here when
        omitted.
    roads_file : Path, optional
        The configured road line layer parsed once for every unit (:func:`geocover.io.osm.save_segments`);
        read from the configured layer when omitted.
    snaps : sequence of CellSnaps
        The cells snapped once for every unit (:mod:`geocover.batch.cell_snaps`); the unit snaps those they
        cannot give.

    Returns
    -------
    UnitResult
    """
    start = time.perf_counter()
    segments = load_segments(roads_file) if roads_file is not None else None
    run_config = config.model_copy(update={"facility_table": False})
    inputs = prepare_inputs(run_config, facilities, (level, unit_id), zones, segments,
                            partial(first_snaps, snaps) if snaps else None)
    result = run_scenario(run_config, progress=False, polygons=False, inputs=inputs, skip=[plan_tables])
    polygon, own = _own_cells(result, level, unit_id)
    halo = Halo(result)
    if config.facility_table:
        result = replace(result, facilities=_with_facility_table(result, polygon, unowned,
                                                                 halo.exact_up_to(config.mode)))
    result = replace(result, config=config)
    coded, limits = {}, {}
    coded[""], limits[""] = halo.coded(result.access.minutes, config.mode, result.access.cell_snap,
                                       config.bands_minutes)
    for name, service in result.services.items():
        coded[name], limits[name] = halo.coded(service.access.minutes, service.config.mode, service.access.cell_snap,
                                               service.config.bands_minutes)
    table, beyond = unit_table(result, halo, coded, limits)
    facilities = _facility_rows(result, own, polygon, limits[""])
    nearest = result.access.facility[own]
    rows, cols = np.nonzero(own)
    cells = UnitCells(
        transform=tuple(result.access.grid.transform)[:6], crs=result.access.grid.crs.to_wkt(), rows=rows, cols=cols,
        population=result.access.grid.population[own], minutes=coded[""][own],
        nearest=np.where(coded[""][own] <= limits[""], nearest, -1),
        services={name: values[own] for name, values in coded.items() if name != ""},
        scores={name: result.access.grid.to_grid(values)[own] for name, values in result.scores.items()},
    )
    notes = list(result.notes)
    if limits[""] < max(config.bands_minutes):
        notes.append(f"unit {unit_id}: minutes exact up to {limits[''] :g} only (off-road walking faster than roads)")
    map_html = _unit_map(result, own, coded, table, polygon, lang, tiles) if with_map else None
    return UnitResult(
        unit_id=unit_id, unit_name=unit_name, table=table, beyond=beyond, facilities=facilities, cells=cells,
        area=result.study_area.iloc[0], limits=limits,
        halo_m=halo.radius, notes=notes,
        seconds=time.perf_counter() - start, peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        map_html=map_html,
    )
