"""A scenario's inputs prepared for analysis: zones, facilities, statistics, roads, networks, grid, weights, snaps.

:func:`prepare_inputs` reads and prepares everything a run analyses, in one place and once;
:func:`geocover.pipeline.run_scenario` analyses a :class:`PreparedInputs` (building one when not given).
A batch unit prepares its own with the inputs read once for every unit (zones, facilities, roads, cell snaps).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import geopandas as gpd
import pandas as pd

from geocover.config import ScenarioConfig
from geocover.errors import InputError, Problem, raise_if_any
from geocover.io.osm import RoadSegments
from geocover.io.population import PopulationGrid
from geocover.io.utm import utm_crs
from geocover.io.zones import read_zones, seat_zones, study_area, zones_of_unit
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
from geocover.travel.cells import snap_cells

PREPARE_STEPS = 3
"""Steps :func:`prepare_inputs` advances a progress bar by (of :data:`geocover.pipeline.PIPELINE_STEPS`)."""

CellSnapsOf = Callable[[Network, PopulationGrid], Snap | None]
"""``cell_snaps_of(network, grid)``: the valid cells of ``grid`` already snapped to ``network``, or None."""


@dataclass(frozen=True)
class PreparedInputs:
    """Everything a scenario analyses, read and prepared from its config.

    Attributes
    ----------
    zones : geopandas.GeoDataFrame
        The configured zones (of the unit only, with ``unit``), then the zones derived from seats.
    facilities : geopandas.GeoDataFrame
        The facilities inside the study area.
    statistics : pandas.DataFrame or None
        The statistics table keyed by code (see :func:`geocover.io.statistics.read_statistics`).
    segments : RoadSegments
        The road segments within the study area's bounds, with the configured access rules.
    study_area : geopandas.GeoSeries
        The zones plus the reach of the longest search (:func:`study_reach_m`), EPSG:4326.
    networks : dict
        Mode to :class:`~geocover.network.graph.Network`, one per mode used (:func:`network_modes`).
    grid : PopulationGrid
        People per cell over the study area.
    weights : dict
        Extra weight grids (age groups…) on the cells of ``grid``.
    cell_snaps : dict
        Mode to the valid cells of ``grid`` snapped to that mode's network.
    notes : tuple of str
        Inputs repaired, skipped, dropped or left out.
    unit : tuple of str or None
        ``(zone_level, zone_id)`` of a batch unit, None for a whole run.
    """

    zones: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    statistics: pd.DataFrame | None
    segments: RoadSegments
    study_area: gpd.GeoSeries
    networks: dict[str, Network]
    grid: PopulationGrid
    weights: dict[str, PopulationGrid]
    cell_snaps: dict[str, Snap]
    notes: tuple[str, ...]
    unit: tuple[str, str] | None = None


def prepare_inputs(  # noqa: PLR0913 - the inputs a caller may have read already, each optional
    config: ScenarioConfig,
    facilities: gpd.GeoDataFrame | None = None,
    unit: tuple[str, str] | None = None,
    zones: gpd.GeoDataFrame | None = None,
    segments: RoadSegments | None = None,
    cell_snaps_of: CellSnapsOf | None = None,
    step: Callable[[str], None] | None = None,
) -> PreparedInputs:
    """Read and prepare a scenario's inputs; nothing given is changed.

    Parameters
    ----------
    config : ScenarioConfig
    facilities : geopandas.GeoDataFrame, optional
        Facilities to use instead of the configured layer (a plan's set: see :mod:`geocover.analysis.compare`).
    unit : tuple of str, optional
        ``(zone_level, zone_id)``: report only this zone and the zones of other levels inside it
        (see :func:`geocover.io.zones.zones_of_unit`), e.g. one county of a province for a batch task. Roads,
        facilities and people are still taken within the buffer around it, so its figures equal those of the
        whole-area run (the empty cells outside the reported zones are dropped: they count only through their
        people).
    zones : geopandas.GeoDataFrame, optional
        The configured zones already read (:func:`geocover.io.zones.read_zones`), e.g. once for every unit of
        a batch; read here when omitted.
    segments : RoadSegments, optional
        The configured roads already read (:func:`geocover.prepare.load_roads`), e.g. parsed once for every
        unit of a batch; read here when omitted.
    cell_snaps_of : callable, optional
        ``cell_snaps_of(network, grid)``: the valid cells of ``grid`` already snapped to ``network`` (a batch
        snaps every cell once: :meth:`geocover.batch.cell_snaps.CellSnaps.for_grid`), or None to snap them here.
    step : callable, optional
        ``step(label)`` after each of the :data:`PREPARE_STEPS` steps (a progress bar).

    Returns
    -------
    PreparedInputs
    """
    step = step or (lambda label: None)
    raise_if_any(config.missing_files())
    if zones is None:
        zones = read_zones(config.zones, config.roads.pbf, config.builtup_raster, config.urban_builtup_percent)
    if unit is not None:
        zones = zones_of_unit(zones, *unit)
    facilities = load_facilities(config) if facilities is None else facilities
    notes = _input_notes(zones, facilities)
    statistics = load_statistics(config)
    notes += statistics_gaps(statistics, zones)
    step("zones and facilities read")
    segments = load_roads(config, zones, notes) if segments is None else segments
    area = study_area(zones, study_reach_m(config, segments))
    segments = with_access_rules(segments.within(tuple(area.total_bounds)), config)
    networks = _networks(config, segments, zones, area)
    step(f"network built: {networks[config.mode].n_nodes:,} nodes")
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
        derived = seat_zones(layer, zones, networks[config.mode], grid, config.snap_limit_m, config.offroad_kmh,
                             cell_snaps[config.mode], config.builtup_raster, config.urban_builtup_percent)
        zones = gpd.GeoDataFrame(pd.concat([zones, derived], ignore_index=True), crs="EPSG:4326")
    return PreparedInputs(zones=zones, facilities=facilities, statistics=statistics, segments=segments,
                          study_area=area, networks=networks, grid=grid, weights=weights, cell_snaps=cell_snaps,
                          notes=tuple(notes), unit=unit)


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
        max_speed_kmh(segments, mode, roads.speeds_kmh, roads.use_maxspeed, roads.speed_factor, roads.closed_to(mode))
        * minutes
        for mode, minutes in config.reach_minutes().items()
    ) * 1000.0 / 60.0
    if config.ambulance is not None:
        reach_m = max(reach_m, 1000.0 * max(config.ambulance.rural_km))
    return reach_m


def _networks(config: ScenarioConfig, segments: RoadSegments, zones: gpd.GeoDataFrame,
              area: gpd.GeoSeries) -> dict[str, Network]:
    """One network per mode used, with the urban and rural speed factors; an error names every mode without roads."""
    roads = config.roads
    factors = None
    if (roads.urban_factor, roads.rural_factor) != (1.0, 1.0):
        first = zones[zones["zone_level"] == zones["zone_level"].iloc[0]]
        urban = first[first["urban_rural"] == "urban"].geometry.union_all() if (first["urban_rural"] == "urban").any() \
            else None
        factors = urban_rural_factors(segments, urban, roads.urban_factor, roads.rural_factor)
    crs = utm_crs(zones)
    networks = {
        mode: build_network(segments, mode, crs, roads.speeds_kmh, roads.use_maxspeed, roads.speed_factor, factors,
                            roads.closed_to(mode))
        for mode in network_modes(config)
    }
    empty = [mode for mode, net in networks.items() if net.n_nodes == 0]
    if empty:
        where = str(roads.pbf or roads.lines)
        raise InputError([Problem(where, f"no road open to {mode} within the study area "
                                  f"({', '.join(map(str, area.total_bounds.round(4)))})",
                                  "check that the road file covers the zones") for mode in empty])
    return networks


def _reported_or_peopled(grid: PopulationGrid, zones: gpd.GeoDataFrame) -> PopulationGrid:
    """The grid with the empty cells outside the reported ``zones`` dropped: beyond them, cells count
    only through their people (catchments, 2SFCA), so a unit run need not snap nor search them."""
    keep = grid.valid & ((grid.population > 0) | (grid.labels(zones) > 0))
    return replace(grid, valid=keep)


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
