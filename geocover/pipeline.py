"""A whole scenario: inputs to zone table, polygons and per-cell minutes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from geocover.analysis.ambulance import AmbulanceCells, ambulance_cells, ambulance_columns, ambulance_sufficiency
from geocover.analysis.facility_table import facility_table
from geocover.analysis.polygons import catchment_polygons, gap_polygons, service_areas
from geocover.analysis.seats import minutes_to_county_seat
from geocover.analysis.services import ServiceResult, offering, run_service, service_columns, tier_columns
from geocover.analysis.supply import supply_columns
from geocover.analysis.urban_rural import builtup_at
from geocover.analysis.zone_table import gap_flags, zone_table
from geocover.config import OffroadConfig, ScenarioConfig, load_config
from geocover.errors import InputError, Problem, raise_if_any
from geocover.io.osm import RoadSegments
from geocover.io.population import PopulationGrid
from geocover.io.utm import utm_crs
from geocover.io.zones import ZONE_COLUMNS, read_zones, seat_zones, study_area, zones_of_unit
from geocover.network.graph import Network, build_network, max_speed_kmh, urban_rural_factors
from geocover.network.snapping import Snap
from geocover.prepare import (
    facilities_in_area,
    load_facilities,
    load_population,
    load_roads,
    load_statistics,
    load_weights,
    statistics_gaps,
    with_access_rules,
)
from geocover.schema import ZONE_KEYS, pct_within_column, within_column
from geocover.standards.plans import people_per_ambulance
from geocover.travel.cells import Accessibility, cell_accessibility, snap_cells
from geocover.travel.isochrones import isochrones
from geocover.travel.offroad import cell_graph, sample_raster, walk_on

PIPELINE_STEPS = 7
"""Steps :func:`run_scenario` advances a progress bar by."""


@dataclass
class ScenarioResult:
    """Everything a scenario computes.

    Attributes
    ----------
    config : ScenarioConfig
    facilities : geopandas.GeoDataFrame
        Facilities in the study area with ``snapped``, ``snap_distance_m``,
        ``population_nearest`` and ``population_within_target``.
    zones : geopandas.GeoDataFrame
        Zone polygons joined to the zone table.
    table : pandas.DataFrame
        The zone table (see :func:`geocover.analysis.zone_table.zone_table`).
    service_areas, gaps : geopandas.GeoDataFrame or None
        None when not traced (``run_scenario(..., polygons=False)``).
    network : Network
    access : Accessibility
    study_area : geopandas.GeoSeries
    statistics : pandas.DataFrame or None
        The statistics table keyed by code (see :func:`geocover.io.statistics.read_statistics`).
    notes : list of str
        Inputs repaired, skipped or dropped.
    services : dict
        Name to :class:`~geocover.analysis.services.ServiceResult` of each configured service circle.
    networks : dict
        Mode to :class:`~geocover.network.graph.Network`, one per mode used.
    ambulance : AmbulanceCells or None
        Per-cell ambulance radius and response measures when ``ambulance`` is configured.
    audit : pandas.DataFrame or None
        The standards audit, once :func:`geocover.standards.scenario_audit.scenario_audit` has run.
    sites : geopandas.GeoDataFrame or None
        Proposed sites (``rank``, ``population_added``), once siting has run.
    allocation : pandas.DataFrame or None
        With ``capacity``, each facility's covered people in processing order.
    catchments : geopandas.GeoDataFrame or None
        Each facility's own area per band (the cells whose nearest it is), see
        :func:`geocover.analysis.polygons.catchment_polygons`.
    isochrones : geopandas.GeoDataFrame or None
        With ``isochrones: true``: each facility's reached roads per band, see
        :func:`geocover.travel.isochrones.isochrones`.
    scores : dict
        With ``fca``: ``access_2sfca`` (or ``access_e2sfca``) per valid cell, row-major.
    """

    config: ScenarioConfig
    facilities: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    table: pd.DataFrame
    service_areas: gpd.GeoDataFrame | None
    gaps: gpd.GeoDataFrame | None
    network: Network
    access: Accessibility
    study_area: gpd.GeoSeries
    statistics: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    services: dict[str, ServiceResult] = field(default_factory=dict)
    networks: dict[str, Network] = field(default_factory=dict)
    audit: pd.DataFrame | None = None
    sites: gpd.GeoDataFrame | None = None
    allocation: pd.DataFrame | None = None
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    catchments: gpd.GeoDataFrame | None = None
    ambulance: AmbulanceCells | None = None
    isochrones: gpd.GeoDataFrame | None = None


def run_scenario(  # noqa: C901 - one branch per optional analysis, until they become a list (#17)
    config: ScenarioConfig | str | Path,
    progress: bool | tqdm = True,
    facilities: gpd.GeoDataFrame | None = None,
    unit: tuple[str, str] | None = None,
    polygons: bool = True,
    zones: gpd.GeoDataFrame | None = None,
    segments: RoadSegments | None = None,
    cell_snaps_of: Callable[[Network, PopulationGrid], Snap | None] | None = None,
) -> ScenarioResult:
    """Run a scenario end to end.

    Parameters
    ----------
    config : ScenarioConfig or path
        A validated config, or the path of a YAML file.
    progress : bool or tqdm
        Show a progress bar of the steps; a bar given is advanced by :data:`PIPELINE_STEPS` and left open
        (the caller's bar covering its outputs too).
    facilities : geopandas.GeoDataFrame, optional
        Facilities to use instead of the configured layer (a plan's set: see :mod:`geocover.analysis.compare`).
    unit : tuple of str, optional
        ``(zone_level, zone_id)``: report only this zone and the zones of other levels inside it
        (see :func:`geocover.io.zones.zones_of_unit`), e.g. one county of a province for a batch task. Roads,
        facilities and people are still taken within the buffer around it, so its figures equal
        those of the whole-area run (the empty cells outside the reported zones are dropped: they
        count only through their people).
    polygons : bool
        Trace the service-area, catchment and gap polygons; without them (a batch unit, which traces
        its own cells only) ``service_areas``, ``gaps`` and ``catchments`` are None.
    zones : geopandas.GeoDataFrame, optional
        The configured zones already read (:func:`geocover.io.zones.read_zones`), e.g. once for every
        unit of a batch; read here when omitted.
    segments : RoadSegments, optional
        The configured roads already read (:func:`geocover.prepare.load_roads`), e.g. parsed once for
        every unit of a batch; read here when omitted.
    cell_snaps_of : callable, optional
        ``cell_snaps_of(network, grid)``: the valid cells of ``grid`` already snapped to ``network`` (a batch
        snaps every cell once: :meth:`geocover.batch.cell_snaps.CellSnaps.for_grid`), or None to snap them here.

    Returns
    -------
    ScenarioResult
    """
    if not isinstance(config, ScenarioConfig):
        config = load_config(config)
    raise_if_any(config.missing_files())
    own_bar = not isinstance(progress, tqdm)
    steps = tqdm(total=PIPELINE_STEPS, desc="geocover", disable=not progress, unit="step") if own_bar else progress

    def step(label: str) -> None:
        steps.set_postfix_str(label)
        steps.update(1)

    if zones is None:
        zones = read_zones(config.zones, config.roads.pbf, config.builtup_raster, config.urban_builtup_percent)
    if unit is not None:
        zones = zones_of_unit(zones, *unit)
    facilities = load_facilities(config) if facilities is None else facilities
    notes = _input_notes(zones, facilities)
    statistics = load_statistics(config)
    notes += statistics_gaps(statistics, zones)
    step("zones and facilities read")
    roads = config.roads
    segments = load_roads(config, zones) if segments is None else segments
    area = study_area(zones, study_reach_m(config, segments))
    segments = with_access_rules(segments.within(tuple(area.total_bounds)), config)
    crs = utm_crs(zones)
    factors = None
    if (roads.urban_factor, roads.rural_factor) != (1.0, 1.0):
        first = zones[zones["zone_level"] == zones["zone_level"].iloc[0]]
        urban = first[first["urban_rural"] == "urban"].geometry.union_all() if (first["urban_rural"] == "urban").any() \
            else None
        factors = urban_rural_factors(segments, urban, roads.urban_factor, roads.rural_factor)
    networks = {
        mode: build_network(segments, mode, crs, roads.speeds_kmh, roads.use_maxspeed, roads.speed_factor, factors)
        for mode in network_modes(config)
    }
    empty = [mode for mode, net in networks.items() if net.n_nodes == 0]
    if empty:
        where = str(config.roads.pbf or config.roads.lines)
        raise InputError([Problem(where, f"no road open to {mode} within the study area "
                                  f"({', '.join(map(str, area.total_bounds.round(4)))})",
                                  "check that the road file covers the zones") for mode in empty])
    network = networks[config.mode]
    step(f"network built: {network.n_nodes:,} nodes")
    facilities, outside = facilities_in_area(facilities, zones, area, str(config.facilities.path), unit is None)
    notes += outside
    grid = load_population(config, zones, area, statistics)
    if unit is not None:
        grid = _reported_or_peopled(grid, zones)
    weights = load_weights(config, grid, area)
    step(f"population read: {int(grid.valid.sum()):,} cells")
    cell_snaps = {}
    for mode, net in networks.items():
        given = cell_snaps_of(net, grid) if cell_snaps_of is not None else None
        cell_snaps[mode] = given if given is not None else snap_cells(net, grid, config.snap_limit_m)
    for layer in (z for z in config.zones if z.seats is not None):
        derived = seat_zones(layer, zones, network, grid, config.snap_limit_m, config.offroad_kmh,
                             cell_snaps[config.mode], config.builtup_raster, config.urban_builtup_percent)
        zones = gpd.GeoDataFrame(pd.concat([zones, derived], ignore_index=True), crs="EPSG:4326")
    access = cell_accessibility(network, facilities, grid, config.snap_max_m, config.offroad_kmh,
                                cell_snap=cell_snaps[config.mode], offroad_max_m=config.offroad_max_m)
    if config.offroad is not None:
        access = walk_off_road(access, config.offroad, network.crs)
    step("travel times computed")
    facilities = _facility_columns(facilities, access, config.target_minutes)
    if config.facility_table:
        extra_columns = facility_table(network, facilities, access, config.bands_minutes, config.offroad_kmh)
        facilities = gpd.GeoDataFrame(pd.concat([facilities, extra_columns], axis=1), crs=facilities.crs)
    offroad_m = None if config.offroad_report_m is None else grid.to_grid(access.cell_snap.offset_m, np.inf)
    table = zone_table(grid, access.minutes, zones, config.bands_minutes, config.target_minutes, facilities,
                       offroad_m, config.offroad_report_m or 0.0)
    table = pd.DataFrame(zones[ZONE_COLUMNS]).merge(table, on=ZONE_KEYS, how="left")
    table = _add_weights(table, weights, access.minutes, zones, config.target_minutes)
    table = pd.concat([table, gap_flags(table, config.target_minutes, config.target_percent)], axis=1)
    if zones["is_county_seat"].astype(bool).any() and zones["parent_id"].notna().any():
        seat_network = networks.get("drive", network)
        table["minutes_to_county_seat"] = minutes_to_county_seat(
            zones, seat_network, config.snap_limit_m, config.offroad_kmh).to_numpy()
    if statistics is not None and "population" in statistics.columns:
        table["official_population"] = statistics["population"].reindex(table["zone_id"]).to_numpy()
    extra = {
        s.name: run_service(s, networks[s.mode], facilities, grid, config.snap_max_m, config.offroad_kmh,
                            cell_snaps[s.mode])
        for s in config.services
    }
    for service in extra.values():
        table = table.merge(service_columns(service, zones), on=ZONE_KEYS, how="left")
    ambulance = None
    if config.ambulance is not None:
        stations = facilities.iloc[offering(facilities, config.ambulance.tiers)]
        cell_urban = _cell_urban(grid, zones, config)
        ambulance = ambulance_cells(config.ambulance, stations, grid, cell_urban, networks["drive"],
                                    networks["ambulance"], config.snap_limit_m, config.offroad_kmh, cell_snaps["drive"])
        table = table.merge(ambulance_columns(config.ambulance, ambulance, grid, zones), on=ZONE_KEYS, how="left")
        standards = config.standards
        per_people = people_per_ambulance(standards.plan, standards.path) if standards else 30_000.0
        if statistics is not None and "ambulances" in statistics.columns and per_people is not None:
            table = pd.concat([table, ambulance_sufficiency(table, statistics, per_people)], axis=1)
    allocation, scores = None, {}
    if config.capacity is not None or config.fca is not None:
        columns, allocation, scores = supply_columns(network, facilities, access, zones, config.capacity, config.fca,
                                             config.offroad_kmh, str(config.source))
        table = table.merge(columns, on=ZONE_KEYS, how="left")
    if config.tier_minutes:
        tiers = tier_columns(network, facilities, grid, zones, config.snap_max_m, config.offroad_kmh,
                             cell_snaps[config.mode])
        table = table.merge(tiers, on=ZONE_KEYS, how="left")
    step("zone table")
    bands = catchments = gaps = None
    if polygons:
        bands = service_areas(grid, access.minutes, config.bands_minutes)
        catchments = catchment_polygons(grid, access.minutes, access.facility, config.bands_minutes,
                                        facilities["facility_id"].astype(str).to_numpy())
        gaps = gap_polygons(grid, access.minutes, config.target_minutes)
    reach = isochrones(network, facilities.set_index("facility_id"), config.bands_minutes, config.snap_max_m,
                       offroad_kmh=config.offroad_kmh) if polygons and config.isochrones else None
    step("polygons traced")
    zone_layer = gpd.GeoDataFrame(table.assign(geometry=zones.geometry.to_numpy()), crs=zones.crs)
    step("computed")
    if own_bar:
        steps.close()
    return ScenarioResult(
        config=config, facilities=facilities, zones=zone_layer, table=table, service_areas=bands, gaps=gaps,
        network=network, access=access, study_area=area, statistics=statistics, notes=notes,
        services=extra, networks=networks, ambulance=ambulance, allocation=allocation, catchments=catchments,
        scores=scores, isochrones=reach,
    )


def network_modes(config: ScenarioConfig) -> list[str]:
    """The travel modes whose networks a run builds: every service's, and drive and ambulance with ``ambulance``."""
    modes = [config.main_service.mode, *(service.mode for service in config.services)]
    if config.ambulance is not None:
        modes += ["drive", "ambulance"]
    return list(dict.fromkeys(modes))


def study_reach_m(config: ScenarioConfig, segments: RoadSegments) -> float:
    """Metres around the zones within which a run takes roads, facilities and people: the fastest road of
    each mode times the longest time searched in it (:meth:`~geocover.config.ScenarioConfig.reach_minutes`),
    or the largest ambulance radius."""
    roads = config.roads
    reach_m = max(
        max_speed_kmh(segments, mode, roads.speeds_kmh, roads.use_maxspeed, roads.speed_factor) * minutes
        for mode, minutes in config.reach_minutes().items()
    ) * 1000.0 / 60.0
    if config.ambulance is not None:
        reach_m = max(reach_m, 1000.0 * max(config.ambulance.rural_km))
    return reach_m


def _reported_or_peopled(grid: PopulationGrid, zones: gpd.GeoDataFrame) -> PopulationGrid:
    """The grid with the empty cells outside the reported ``zones`` dropped: beyond them, cells count
    only through their people (catchments, 2SFCA), so a unit run need not snap nor search them."""
    keep = grid.valid & ((grid.population > 0) | (grid.labels(zones) > 0))
    return replace(grid, valid=keep)


def walk_off_road(access: Accessibility, offroad: OffroadConfig, metric_crs) -> Accessibility:
    """A new access with every cell's minutes improved by walking on across the terrain (see geocover.travel.offroad);
    ``access`` is left as it was."""
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


def _cell_urban(grid: PopulationGrid, zones: gpd.GeoDataFrame, config: ScenarioConfig) -> np.ndarray:
    """Urban class per valid cell: urban when the first zone level's zone holding its centre is urban,
    or when the built-up share at the cell reaches ``urban_builtup_percent``; otherwise rural."""
    first = zones[zones["zone_level"] == zones["zone_level"].iloc[0]].reset_index(drop=True)
    labels = grid.labels(first)[grid.valid]
    urban = np.r_[False, (first["urban_rural"] == "urban").to_numpy()][labels]
    if config.builtup_raster is not None:
        urban |= builtup_at(config.builtup_raster, grid) >= config.urban_builtup_percent
    return urban


def _input_notes(zones: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame) -> list[str]:
    """What was repaired, skipped or dropped on the way in, for the summary."""
    notes = []
    if zones.attrs.get("repaired"):
        notes.append(f"{zones.attrs['repaired']} invalid zone polygon(s) repaired (make_valid)")
    for key, what in (("skipped", "facility rows without coordinates skipped"),
                      ("dropped", "bad facility rows dropped (--lenient)")):
        rows = facilities.attrs.get(key) or []
        if rows:
            notes.append(f"{len(rows)} {what}: " + "; ".join(map(str, rows[:20])) + (" …" if len(rows) > 20 else ""))
    return notes


def _add_weights(
    table: pd.DataFrame, weights: dict, minutes: np.ndarray, zones: gpd.GeoDataFrame, target_minutes: float
) -> pd.DataFrame:
    """Columns ``<weight>``, ``<weight>_within_<target>`` and ``<weight>_pct_within_<target>`` per extra weight."""
    for name, weight in weights.items():
        part = zone_table(weight, minutes, zones, [target_minutes], target_minutes)
        table[name] = part["population"].to_numpy()
        table[within_column(target_minutes, name)] = part[within_column(target_minutes)].to_numpy()
        table[f"{name}_{pct_within_column(target_minutes)}"] = part[pct_within_column(target_minutes)].to_numpy()
    return table


def _facility_columns(
    facilities: gpd.GeoDataFrame, access: Accessibility, target_minutes: float
) -> gpd.GeoDataFrame:
    """Snap results and the people for whom each facility is the nearest."""
    out = facilities.copy()
    snap = access.facility_snap
    out["snapped"] = snap.snapped
    out["snap_distance_m"] = np.where(snap.snapped, snap.offset_m, np.nan)
    out["offroad_minutes"] = np.where(snap.snapped, access.facility_offroad_minutes, np.nan)
    people = access.grid.population
    nearest = access.facility
    served = nearest >= 0
    out["population_nearest"] = np.bincount(
        nearest[served], weights=people[served], minlength=len(out)
    )[: len(out)]
    with np.errstate(invalid="ignore"):
        within = served & (access.minutes <= target_minutes)
    out["population_within_target"] = np.bincount(
        nearest[within], weights=people[within], minlength=len(out)
    )[: len(out)]
    return out
