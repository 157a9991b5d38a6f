"""A whole scenario: inputs to zone table, polygons and per-cell minutes."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from geocover.accessibility import Accessibility, cell_accessibility
from geocover.areas import gap_polygons, service_areas
from geocover.config import ScenarioConfig, load_config
from geocover.coverage import zone_table
from geocover.errors import raise_if_any
from geocover.facilities import read_facilities
from geocover.network import Network, build_network, max_speed_kmh
from geocover.osm import RoadSegments, read_road_segments
from geocover.population import read_population
from geocover.roads import extract_roads, read_road_lines
from geocover.zones import ZONE_COLUMNS, read_zones, study_area

EXTRACT_MARGIN_KMH = 150.0
"""With ``roads.extract``, roads are kept within the zones plus this speed times the largest band."""


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
        The zone table (see :func:`geocover.coverage.zone_table`).
    service_areas, gaps : geopandas.GeoDataFrame
    network : Network
    access : Accessibility
    study_area : geopandas.GeoSeries
    """

    config: ScenarioConfig
    facilities: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    table: pd.DataFrame
    service_areas: gpd.GeoDataFrame
    gaps: gpd.GeoDataFrame
    network: Network
    access: Accessibility
    study_area: gpd.GeoSeries


def load_facilities(config: ScenarioConfig) -> gpd.GeoDataFrame:
    """Read the scenario's facility layer as configured."""
    options = config.facilities.model_dump(exclude={"path"})
    return read_facilities(config.facilities.path, **options)


def run_scenario(config: ScenarioConfig | str | Path, progress: bool = True) -> ScenarioResult:
    """Run a scenario end to end.

    Parameters
    ----------
    config : ScenarioConfig or path
        A validated config, or the path of a YAML file.
    progress : bool
        Show a progress bar of the steps.

    Returns
    -------
    ScenarioResult
    """
    if not isinstance(config, ScenarioConfig):
        config = load_config(config)
    raise_if_any(config.missing_files())
    steps = tqdm(total=7, desc="geocover", disable=not progress, unit="step")

    def step(label: str) -> None:
        steps.set_postfix_str(label)
        steps.update(1)

    zones = read_zones(config.zones, config.roads.pbf, config.builtup_raster, config.urban_builtup_percent)
    facilities = load_facilities(config)
    step("zones and facilities read")
    roads = config.roads
    segments = _read_roads(config, zones)
    speed = max_speed_kmh(segments, config.mode, roads.speeds_kmh, roads.use_maxspeed, roads.speed_factor)
    area = study_area(zones, speed * 1000.0 / 60.0 * max(config.bands_minutes))
    segments = segments.within(tuple(area.total_bounds))
    network = build_network(
        segments, config.mode, zones.estimate_utm_crs(), roads.speeds_kmh, roads.use_maxspeed, roads.speed_factor
    )
    step(f"network built: {network.n_nodes:,} nodes")
    facilities = facilities[facilities.within(area.iloc[0])].reset_index(drop=True)
    grid = read_population(config.population.raster, area)
    step(f"population read: {int(grid.valid.sum()):,} cells")
    access = cell_accessibility(network, facilities, grid, config.snap_max_m, config.offroad_kmh)
    step("travel times computed")
    facilities = _facility_columns(facilities, access, config.target_minutes)
    table = zone_table(grid, access.minutes, zones, config.bands_minutes, config.target_minutes, facilities)
    table = pd.DataFrame(zones[ZONE_COLUMNS]).merge(table, on=["zone_level", "zone_id", "zone_name"], how="left")
    step("zone table")
    bands = service_areas(grid, access.minutes, config.bands_minutes)
    gaps = gap_polygons(grid, access.minutes, config.target_minutes)
    step("polygons traced")
    zone_layer = gpd.GeoDataFrame(table.assign(geometry=zones.geometry.to_numpy()), crs=zones.crs)
    step("done")
    steps.close()
    return ScenarioResult(
        config=config, facilities=facilities, zones=zone_layer, table=table,
        service_areas=bands, gaps=gaps, network=network, access=access, study_area=area,
    )


def _read_roads(config: ScenarioConfig, zones: gpd.GeoDataFrame) -> RoadSegments:
    """Road segments from the configured source, streamed out of a large PBF first if asked."""
    roads = config.roads
    if roads.lines is not None:
        return read_road_lines(roads.lines, roads.grade_column, roads.oneway_column, roads.layer)
    if not roads.extract:
        return read_road_segments(roads.pbf)
    margin = study_area(zones, EXTRACT_MARGIN_KMH * 1000.0 / 60.0 * max(config.bands_minutes))
    with tempfile.TemporaryDirectory() as folder:
        extract = extract_roads(roads.pbf, Path(folder) / "roads.osm.pbf", tuple(margin.total_bounds))
        return read_road_segments(extract)


def _facility_columns(
    facilities: gpd.GeoDataFrame, access: Accessibility, target_minutes: float
) -> gpd.GeoDataFrame:
    """Snap results and the people for whom each facility is the nearest."""
    out = facilities.copy()
    snap = access.facility_snap
    out["snapped"] = snap.snapped
    out["snap_distance_m"] = np.where(snap.snapped, snap.offset_m, np.nan)
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
