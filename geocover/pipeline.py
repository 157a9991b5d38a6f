"""A whole scenario: inputs to zone table, polygons and per-cell minutes.

:func:`run_scenario` analyses inputs prepared once (:func:`geocover.prepared_inputs.prepare_inputs`): the main analysis
(:func:`main_analysis`), then every optional analysis registered in :data:`ZONE_ANALYSES` and
:data:`POLYGON_ANALYSES`, each a function ``(config, inputs, result) -> result`` adding its part to a new result.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from geocover.analysis.access import AccessRules, facility_access
from geocover.analysis.ambulance import AmbulanceCells, ambulance_cells, ambulance_columns, ambulance_sufficiency
from geocover.analysis.facility_table import facility_table
from geocover.analysis.plan_tables import plan_tables
from geocover.analysis.polygons import catchment_polygons, gap_polygons, service_areas
from geocover.analysis.seats import minutes_to_county_seat
from geocover.analysis.services import ServiceResult, offering, run_service, service_columns, tier_columns
from geocover.analysis.supply import supply_columns
from geocover.analysis.urban_reach import cell_urban, urban_reach
from geocover.analysis.zone_table import gap_flags, zone_table
from geocover.config import ScenarioConfig, load_config
from geocover.io.zones import ZONE_COLUMNS
from geocover.network.graph import Network
from geocover.prepared_inputs import PREPARE_STEPS, PreparedInputs, prepare_inputs
from geocover.schema import ZONE_KEYS, pct_within_column, service_column, within_column
from geocover.standards.plans import people_per_ambulance
from geocover.travel.cells import Accessibility
from geocover.travel.isochrones import isochrones

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
    table_with_sites : pandas.DataFrame or None
        The zone table of the same scenario with the proposed sites added, once siting has run.
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
    tables : dict
        Tables of the plan analyses by output file name (``emergency_chain.csv``, ``county_referral.csv``,
        ``villages.csv``, ``villages_by_township.csv``), each present when its inputs are
        (:func:`geocover.analysis.plan_tables.plan_tables`).
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
    table_with_sites: pd.DataFrame | None = None
    allocation: pd.DataFrame | None = None
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    catchments: gpd.GeoDataFrame | None = None
    ambulance: AmbulanceCells | None = None
    isochrones: gpd.GeoDataFrame | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


Analysis = Callable[[ScenarioConfig, PreparedInputs, ScenarioResult], ScenarioResult]
"""An optional analysis: ``analysis(config, inputs, result)`` returns ``result`` with its part added (a new
result; the one given is left as it was), or ``result`` itself when the config does not ask for it."""


def run_scenario(
    config: ScenarioConfig | str | Path,
    progress: bool | tqdm = True,
    facilities: gpd.GeoDataFrame | None = None,
    unit: tuple[str, str] | None = None,
    polygons: bool = True,
    inputs: PreparedInputs | None = None,
    skip: Collection[Analysis] = (),
) -> ScenarioResult:
    """Run a scenario end to end: prepare its inputs, run the main analysis, then every optional one.

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
        ``(zone_level, zone_id)``: report only this zone and the zones inside it (see
        :func:`geocover.prepared_inputs.prepare_inputs`).
    polygons : bool
        Run the :data:`POLYGON_ANALYSES` (service areas, catchments, gaps, isochrones); without them (a batch
        unit, which traces its own cells only) ``service_areas``, ``gaps``, ``catchments`` and ``isochrones``
        are None.
    inputs : PreparedInputs, optional
        The inputs already prepared (:func:`geocover.prepared_inputs.prepare_inputs`, e.g. by a batch unit with what it
        read once for every unit); prepared here from ``config``, ``facilities`` and ``unit`` when omitted.
    skip : collection of Analysis
        Optional analyses not to run (a batch unit skips :func:`~geocover.analysis.plan_tables.plan_tables`, which
        the batch computes once on the whole area).

    Returns
    -------
    ScenarioResult
    """
    if not isinstance(config, ScenarioConfig):
        config = load_config(config)
    if inputs is not None and (facilities is not None or unit is not None):
        raise ValueError("give facilities and unit to prepare_inputs, not with prepared inputs")
    own_bar = not isinstance(progress, tqdm)
    steps = tqdm(total=PIPELINE_STEPS, desc="geocover", disable=not progress, unit="step") if own_bar else progress

    def step(label: str) -> None:
        steps.set_postfix_str(label)
        steps.update(1)

    if inputs is None:
        inputs = prepare_inputs(config, facilities, unit, step=step)
    else:
        steps.update(PREPARE_STEPS)
    result = main_analysis(config, inputs)
    step("travel times computed")
    for analysis in (a for a in ZONE_ANALYSES if a not in skip):
        result = analysis(config, inputs, result)
    step("zone table")
    for analysis in POLYGON_ANALYSES if polygons else ():
        result = analysis(config, inputs, result)
    step("polygons traced")
    zones = inputs.zones
    result = replace(result, zones=gpd.GeoDataFrame(result.table.assign(geometry=zones.geometry.to_numpy()),
                                                    crs=zones.crs))
    step("computed")
    if own_bar:
        steps.close()
    return result


def main_analysis(config: ScenarioConfig, inputs: PreparedInputs) -> ScenarioResult:
    """Minutes from every cell to the nearest facility in the scenario's mode, the facility columns and the
    zone table (bands, target, extra weights, gap flags); the optional analyses add to it."""
    network = inputs.networks[config.mode]
    access = facility_access(network, inputs.facilities, inputs.grid, AccessRules.of(config),
                             inputs.cell_snaps[config.mode])
    facilities = _facility_columns(inputs.facilities, access, config.target_minutes)
    if config.facility_table:
        extra_columns = facility_table(network, facilities, access, config.bands_minutes, config.offroad_kmh)
        facilities = gpd.GeoDataFrame(pd.concat([facilities, extra_columns], axis=1), crs=facilities.crs)
    zones, grid = inputs.zones, inputs.grid
    offroad_m = None if config.offroad_report_m is None else grid.to_grid(access.cell_snap.offset_m, np.inf)
    table = zone_table(grid, access.minutes, zones, config.bands_minutes, config.target_minutes, facilities,
                       offroad_m, config.offroad_report_m or 0.0)
    table = pd.DataFrame(zones[ZONE_COLUMNS]).merge(table, on=ZONE_KEYS, how="left")
    table = _add_weights(table, inputs.weights, access.minutes, zones, config.target_minutes)
    table = pd.concat([table, gap_flags(table, config.target_minutes, config.target_percent)], axis=1)
    return ScenarioResult(
        config=config, facilities=facilities, zones=zones, table=table, service_areas=None, gaps=None,
        network=network, access=access, study_area=inputs.study_area, statistics=inputs.statistics,
        notes=list(inputs.notes), networks=inputs.networks,
    )


def county_seat_minutes(config: ScenarioConfig, inputs: PreparedInputs, result: ScenarioResult) -> ScenarioResult:
    """``minutes_to_county_seat`` per zone (driving when a drive network is built) when the zones name seats."""
    zones = inputs.zones
    if not (zones["is_county_seat"].astype(bool).any() and zones["parent_id"].notna().any()):
        return result
    network = result.networks.get("drive", result.network)
    minutes = minutes_to_county_seat(zones, network, config.snap_limit_m, config.offroad_kmh).to_numpy()
    return replace(result, table=result.table.assign(minutes_to_county_seat=minutes))


def official_population(config: ScenarioConfig, inputs: PreparedInputs, result: ScenarioResult) -> ScenarioResult:
    """``official_population`` per zone when the statistics table has a population column."""
    statistics = inputs.statistics
    if statistics is None or "population" not in statistics.columns:
        return result
    official = statistics["population"].reindex(result.table["zone_id"]).to_numpy()
    return replace(result, table=result.table.assign(official_population=official))


def service_circles(config: ScenarioConfig, inputs: PreparedInputs, result: ScenarioResult) -> ScenarioResult:
    """Each configured service circle (``services``): its per-cell minutes and its prefixed zone-table columns."""
    services = {
        s.name: run_service(s, inputs.networks[s.mode], result.facilities, inputs.grid, AccessRules.of(config),
                            inputs.cell_snaps[s.mode])
        for s in config.services
    }
    table = result.table
    for service in services.values():
        table = table.merge(service_columns(service, inputs.zones), on=ZONE_KEYS, how="left")
    return replace(result, table=table, services=services)


def ambulance_cover(config: ScenarioConfig, inputs: PreparedInputs, result: ScenarioResult) -> ScenarioResult:
    """With ``ambulance``: the per-cell radius and response measures, their zone columns and, with ambulance
    counts in the statistics, the fleet's sufficiency against the plan's people per ambulance."""
    if config.ambulance is None:
        return result
    grid, zones, statistics = inputs.grid, inputs.zones, inputs.statistics
    stations = result.facilities.iloc[offering(result.facilities, config.ambulance.tiers)]
    cells = ambulance_cells(config.ambulance, stations, grid, cell_urban(grid, zones, config),
                            inputs.networks["drive"], inputs.networks["ambulance"], config.snap_limit_m,
                            config.offroad_kmh, inputs.cell_snaps["drive"])
    table = result.table.merge(ambulance_columns(config.ambulance, cells, grid, zones), on=ZONE_KEYS, how="left")
    standards = config.standards
    per_people = people_per_ambulance(standards.plan, standards.path) if standards else 30_000.0
    if statistics is not None and "ambulances" in statistics.columns and per_people is not None:
        table = pd.concat([table, ambulance_sufficiency(table, statistics, per_people)], axis=1)
    return replace(result, table=table, ambulance=cells)


def urban_residents(config: ScenarioConfig, inputs: PreparedInputs, result: ScenarioResult) -> ScenarioResult:
    """``pop_urban`` and ``pop_urban_within_<b>`` (and per service) from each cell's urban class, for rules
    limited to urban areas (:func:`geocover.analysis.urban_reach.urban_reach`)."""
    grid, zones = inputs.grid, inputs.zones
    urban = result.ambulance.urban if result.ambulance is not None else cell_urban(grid, zones, config)
    minutes = {"": (result.access.minutes, config.bands_minutes)} | {
        service_column(name, ""): (s.access.minutes, s.config.bands_minutes) for name, s in result.services.items()}
    columns = urban_reach(grid, urban, zones, minutes)
    columns = columns.drop(columns=[c for c in ("pop_urban",) if c in result.table])
    return replace(result, table=result.table.merge(columns, on=ZONE_KEYS, how="left"))


def supply_and_fca(config: ScenarioConfig, inputs: PreparedInputs, result: ScenarioResult) -> ScenarioResult:
    """With ``capacity`` or ``fca``: the allocation, the 2SFCA scores and their zone columns."""
    if config.capacity is None and config.fca is None:
        return result
    columns, allocation, scores = supply_columns(result.network, result.facilities, result.access, inputs.zones,
                                                 config.capacity, config.fca, config.offroad_kmh, str(config.source))
    return replace(result, table=result.table.merge(columns, on=ZONE_KEYS, how="left"), allocation=allocation,
                   scores=scores)


def tier_minutes(config: ScenarioConfig, inputs: PreparedInputs, result: ScenarioResult) -> ScenarioResult:
    """With ``tier_minutes``: the minutes to the nearest facility of each tier, summarised per zone."""
    if not config.tier_minutes:
        return result
    tiers = tier_columns(result.network, result.facilities, inputs.grid, inputs.zones, AccessRules.of(config),
                         inputs.cell_snaps[config.mode])
    return replace(result, table=result.table.merge(tiers, on=ZONE_KEYS, how="left"))


def areas_and_gaps(config: ScenarioConfig, inputs: PreparedInputs, result: ScenarioResult) -> ScenarioResult:
    """The nested service areas, each facility's catchment per band and the gaps beyond the target."""
    grid, access = inputs.grid, result.access
    ids = result.facilities["facility_id"].astype(str).to_numpy()
    return replace(
        result, service_areas=service_areas(grid, access.minutes, config.bands_minutes),
        catchments=catchment_polygons(grid, access.minutes, access.facility, config.bands_minutes, ids),
        gaps=gap_polygons(grid, access.minutes, config.target_minutes),
    )


def facility_isochrones(config: ScenarioConfig, inputs: PreparedInputs, result: ScenarioResult) -> ScenarioResult:
    """With ``isochrones: true``: each facility's reached roads per band."""
    if not config.isochrones:
        return result
    reach = isochrones(result.network, result.facilities.set_index("facility_id"), config.bands_minutes,
                       config.snap_max_m, offroad_kmh=config.offroad_kmh)
    return replace(result, isochrones=reach)


ZONE_ANALYSES: list[Analysis] = [
    county_seat_minutes,
    official_population,
    service_circles,
    ambulance_cover,
    supply_and_fca,
    tier_minutes,
    urban_residents,
    plan_tables,
]
"""The optional analyses adding zone-table columns, in the order of their columns; register one by adding it."""

POLYGON_ANALYSES: list[Analysis] = [
    areas_and_gaps,
    facility_isochrones,
]
"""The analyses tracing polygons, run unless ``run_scenario(..., polygons=False)``; register one by adding it."""


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
