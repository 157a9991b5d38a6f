"""Load a scenario's inputs as configured: roads, facilities, population and statistics."""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geocover.config import ScenarioConfig
from geocover.config.sections import RoadLinesConfig, SitingConfig
from geocover.errors import InputError, Problem, raise_if_any
from geocover.io.facilities import VECTOR_SUFFIXES, read_facilities
from geocover.io.osm import SEGMENTS_LAYOUT, RoadSegments, load_segments, read_road_segments, read_water, save_segments
from geocover.io.population import (
    PopulationGrid,
    aggregate,
    population_from_points,
    read_population,
    rescale_to_totals,
)
from geocover.io.road_lines import read_road_lines, road_lines_problems
from geocover.io.sniff import pbf_problems, raster_problems
from geocover.io.statistics import read_statistics
from geocover.io.vectors import read_vector, vector_problems
from geocover.io.villages import read_villages
from geocover.io.water import WaterMask, with_blocked_cells, with_water_shapes
from geocover.io.zones import study_area, zone_file_problems
from geocover.network.combine import combine_roads
from geocover.schema import TIERS

EXTRACT_MARGIN_KMH = 150.0
"""With ``roads.extract``, roads are kept within the zones plus this speed times the largest band."""


def check_inputs(config: ScenarioConfig) -> list[Problem]:
    """Every problem of every input file, found in one pass before any computation.

    Missing files; road, raster and vector files that are not what they claim or cannot be read
    (a cut-off PBF, an HTML page saved as one, a damaged or all-nodata GeoTIFF, a missing layer,
    Big5 or damaged DBF text); and the rows of the facility and statistics tables. Nothing is
    computed; the problems of all files come together.
    """
    problems = config.missing_files()
    roads = config.roads

    def present(path: Path | None) -> bool:
        return path is not None and Path(path).exists()

    if present(roads.pbf):
        problems += pbf_problems(roads.pbf)
    problems += [p for lines in roads.line_layers if present(lines.path) for p in road_layer_problems(lines)]
    for zone in config.zones:
        if present(zone.path):
            problems += zone_file_problems(zone)
        if present(zone.seats):
            problems += vector_problems(zone.seats, zone.layer)
    rasters = [(config.population.raster, "population raster", True), (config.builtup_raster, "built-up raster", False)]
    rasters += [(path, f"weight raster '{name}'", True) for name, path in config.population.weights.items()]
    if config.offroad is not None:
        rasters += [(config.offroad.dem, "elevation raster", False),
                    (config.offroad.landcover_factor, "land-cover raster", False)]
    problems += [p for path, what, people in rasters if present(path)
                 for p in raster_problems(path, what=what, people=people)]
    if present(config.population.points):
        problems += vector_problems(config.population.points)
    if config.siting is not None and present(config.siting.candidates):
        problems += vector_problems(config.siting.candidates)
    problems += tier_name_problems(config)
    loaders = [(config.facilities.path, lambda: load_facilities(config))]
    if config.statistics is not None:
        loaders.append((config.statistics.path, lambda: load_statistics(config)))
    if config.villages is not None:
        loaders.append((config.villages.path, lambda: read_villages(config.villages)))
    for path, loader in loaders:
        if not present(path):
            continue
        if Path(path).suffix.lower() in VECTOR_SUFFIXES and (found := vector_problems(path, config.facilities.layer)):
            problems += found
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                loader()
        except InputError as error:
            problems += error.problems
    return problems


def tier_name_problems(config: ScenarioConfig) -> list[Problem]:
    """Tiers named by ``services`` and ``ambulance`` that no facility can have (a misspelling would leave the
    service without facilities): a tier is one of :data:`~geocover.schema.TIERS`, a ``tier_map`` value, a
    plan's upgrade or the tier of proposed sites."""
    known = {*TIERS, *(config.facilities.tier_map or {}).values(), SitingConfig().tier}
    known |= {config.siting.tier} if config.siting is not None else set()
    if config.plan is not None:
        added = config.plan.add.tier_map if config.plan.add is not None else None
        known |= {*config.plan.upgrade.values(), *(added or {}).values()}
    named = [(f"services[{service.name}].tiers", service.tiers or []) for service in config.services]
    named += [("ambulance.tiers", config.ambulance.tiers)] if config.ambulance is not None else []
    return [Problem(str(config.source or config.name), f"key '{key}': no facility has tier '{tier}'",
                    f"use one of {', '.join(sorted(known))} (or map labels to it with facilities.tier_map)")
            for key, tiers in named for tier in tiers if tier not in known]


def road_layer_problems(lines: RoadLinesConfig) -> list[Problem]:
    """Every problem of one road line layer: unreadable or Big5/damaged text, no CRS, missing columns, rows
    with an unknown grade or a geometry that is not a line (see :func:`geocover.io.road_lines.road_lines_problems`)."""
    found = vector_problems(lines.path, lines.layer)
    if found:
        return found
    try:
        frame = read_vector(lines.path, lines.layer, lines.crs, require_crs=False)
    except InputError as error:
        return error.problems
    return road_lines_problems(frame, str(lines.path), lines.grade_column, lines.oneway_column,
                               **lines.structure_columns)


def load_facilities(config: ScenarioConfig) -> gpd.GeoDataFrame:
    """Read the scenario's facility layer as configured."""
    options = config.facilities.model_dump(exclude={"path"})
    return read_facilities(config.facilities.path, **options)


def facilities_in_area(
    facilities: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, area: gpd.GeoSeries, file: str, report: bool = True
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The facilities inside the study area, and notes on what the run leaves out or cannot match.

    Every facility outside the study area (a file of another place, or coordinates in the wrong system)
    is an error naming the file; some outside, tier labels not recognised (set to ``other``) and township
    codes that match no zone are stated in the notes. With ``report`` False (a batch unit), only kept.
    """
    inside = facilities.within(area.iloc[0]).to_numpy()
    if not report:  # a batch unit: the province's facilities, most of them elsewhere
        return facilities[inside].reset_index(drop=True), []
    if len(facilities) and not inside.any():
        west, south, east, north = facilities.total_bounds
        raise InputError([Problem(
            file, f"every facility lies outside the study area: they span lon {west:.3f} to {east:.3f}, lat "
            f"{south:.3f} to {north:.3f}; the zones and their reach lie at lon {area.total_bounds[0]:.3f} to "
            f"{area.total_bounds[2]:.3f}, lat {area.total_bounds[1]:.3f} to {area.total_bounds[3]:.3f}",
            "check coord_system (gcj02 for Amap, bd09 for Baidu, EPSG:nnnn for metres) and that the file is of "
            "this place")])
    notes = []
    if not inside.all():
        names = facilities["name"].where(facilities["name"].notna(), facilities["facility_id"])[~inside]
        notes.append(f"{int((~inside).sum())} facilities outside the study area left out: "
                     + "; ".join(map(str, names.tolist()[:20])) + (" …" if (~inside).sum() > 20 else ""))
    unknown = facilities.attrs.get("unknown_tier_labels") or {}
    if unknown:
        notes.append(f"{sum(unknown.values())} facilities with labels not recognised were set to tier 'other': "
                     + ", ".join(f"'{label}' ({n})" for label, n in list(unknown.items())[:20])
                     + " (map them with facilities.tier_map)")
    if "township_code" in facilities.columns:
        codes = facilities["township_code"].dropna().astype(str)
        stray = sorted(set(codes) - set(zones["zone_id"].astype(str)))
        if stray:
            notes.append(f"{int(codes.isin(stray).sum())} facilities give a township code that matches no zone "
                         f"(they are placed by their coordinates): {', '.join(stray[:20])}")
    kept = facilities[inside].reset_index(drop=True)
    kept.attrs.update(facilities.attrs)
    return kept, notes


def load_statistics(config: ScenarioConfig) -> pd.DataFrame | None:
    """The statistics table keyed by code, or None when the scenario has none."""
    if config.statistics is None:
        return None
    return read_statistics(config.statistics.path, config.statistics.sheet, config.statistics.year)


def statistics_gaps(statistics: pd.DataFrame | None, zones: gpd.GeoDataFrame) -> list[str]:
    """Notes on the zones of a level the statistics table covers (some of its codes match) that have no row.

    Their official figures (常住人口, beds…) are left empty in the outputs; the note says which.
    """
    if statistics is None:
        return []
    notes = []
    for level, ids in zones.groupby("zone_level", sort=False)["zone_id"]:
        codes = ids.astype(str)
        missing = codes[~codes.isin(statistics.index)]
        if len(missing) and len(missing) < len(codes):
            notes.append(f"{len(missing)} {level} zone(s) have no row in the statistics table (official figures "
                         f"left empty): {', '.join(missing.tolist()[:20])}")
    return notes


def roads_cache_file(config: ScenarioConfig) -> Path | None:
    """The ``.npz`` under ``roads.cache_dir`` that keeps the parsed PBF, named after the file, its size,
    modification time and the layout of :func:`~geocover.io.osm.save_segments` (a cache of another layout is
    never read); None when the roads are not cached (no ``cache_dir``, no PBF, or ``extract``). Only the PBF
    is cached: line layers are read and joined to it on every run."""
    roads = config.roads
    if roads.cache_dir is None or roads.pbf is None or roads.extract:
        return None
    stat = Path(roads.pbf).stat()
    name = f"{Path(roads.pbf).name}.{stat.st_size}.{int(stat.st_mtime)}.v{SEGMENTS_LAYOUT}.segments.npz"
    return Path(roads.cache_dir) / name


def load_roads(config: ScenarioConfig, zones: gpd.GeoDataFrame, notes: list[str] | None = None) -> RoadSegments:
    """Road segments from the configured sources: the PBF, the line layers, or both joined where they meet.

    With ``roads.extract``, only the PBF's ways around the zones (see :func:`extract_box`), kept while the
    PBF is streamed once. With ``roads.cache_dir``, a parsed PBF is kept there as one ``.npz`` (see
    :func:`roads_cache_file`) and read back in a fraction of the parsing time: a province is parsed once.
    With several sources, they are combined by :func:`geocover.network.combine.combine_roads` (the PBF first,
    then the layers as listed; ``roads.join_m``, ``roads.duplicate_m``) and its report, kilometres per source,
    duplicates dropped and junctions joined, is appended to ``notes`` when given. Each line layer's own lines
    are joined where they meet without a shared vertex (:func:`geocover.network.combine.join_layer`), a single
    layer too (a note only when some were).
    """
    roads = config.roads
    sources: dict[str, RoadSegments] = {}
    if roads.pbf is not None:
        sources[f"OSM {Path(roads.pbf).name}"] = _osm_roads(config, zones)
    problems = []
    for number, lines in enumerate(roads.line_layers, start=1):
        name = Path(lines.path).name + (f" ({lines.layer})" if lines.layer else "")
        try:
            segments = read_road_lines(lines.path, lines.grade_column, lines.oneway_column, lines.layer, lines.crs,
                                       **lines.structure_columns)
        except InputError as error:
            problems += error.problems
            continue
        sources[name if name not in sources else f"{name} #{number}"] = segments
    raise_if_any(problems)
    if roads.pbf is not None and len(sources) == 1:
        return next(iter(sources.values()))
    layers = list(sources)[roads.pbf is not None:]  # the line layers' own lines are joined too, never OSM's
    segments, combined = combine_roads(sources, roads.join_m, roads.duplicate_m, join_own=layers)
    if notes is not None:
        notes += combined.notes()
    return segments


def _osm_roads(config: ScenarioConfig, zones: gpd.GeoDataFrame) -> RoadSegments:
    """The PBF's road segments: from the cache when there is one, else streamed (around the zones with
    ``roads.extract``)."""
    roads = config.roads
    cached = roads_cache_file(config)
    if cached is None:
        return read_road_segments(roads.pbf, extract_box(config, zones) if roads.extract else None)
    if cached.is_file():
        return load_segments(cached)
    segments = read_road_segments(roads.pbf)
    cached.parent.mkdir(parents=True, exist_ok=True)
    save_segments(segments, cached)
    return segments


def with_access_rules(segments: RoadSegments, config: ScenarioConfig) -> RoadSegments:
    """The segments as the networks see them: unchanged by default; with ``roads.respect_access: false`` no
    ``access``, ``foot``, ``vehicle`` or ``motor_vehicle`` tag closes a way (the road kind still does)."""
    if config.roads.respect_access:
        return segments
    open_ways = np.zeros(len(segments.foot_forbidden), dtype=bool)
    return replace(segments, foot_forbidden=open_ways, motor_forbidden=open_ways.copy())


def extract_box(config: ScenarioConfig, zones: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    """The box ``roads.extract`` streams out of the PBF, ``(west, south, east, north)`` degrees: the zones
    plus :data:`EXTRACT_MARGIN_KMH` times the longest minutes (or the largest ambulance radius)."""
    margin_m = EXTRACT_MARGIN_KMH * 1000.0 / 60.0 * max(config.reach_minutes().values())
    if config.ambulance is not None:
        margin_m = max(margin_m, 1000.0 * max(config.ambulance.rural_km))
    return tuple(float(b) for b in study_area(zones, margin_m).total_bounds)


def load_population(
    config: ScenarioConfig, zones: gpd.GeoDataFrame, area: gpd.GeoSeries, statistics: pd.DataFrame | None
) -> PopulationGrid:
    """The population grid over the study area, rescaled to official totals when configured.

    With neither a raster nor points, the official count of each zone of ``rescale_level``
    is spread evenly over the zone's cells of a ``cell_m`` grid. With off-road legs (no ``snap_max_m``)
    and an OSM PBF, the grid's water (the raster's nodata) gains the OSM lakes and riverbanks (and the
    coastlines when the grid has no raster nodata to tell the sea), and the cells a land-cover factor
    raster (``offroad.landcover_factor``) blocks with factor 0.
    """
    population = config.population
    if population.raster is not None:
        grid = aggregate(read_population(population.raster, area), population.aggregate)
    elif population.points is None:
        grid = population_from_points(gpd.GeoDataFrame({"people": []}, geometry=[], crs="EPSG:4326"), "people",
                                      area, population.cell_m)
    else:
        points = read_vector(population.points)
        if population.count_column not in points.columns:
            raise InputError([Problem(str(population.points), "column not found", f"use one of {list(points.columns)}",
                                      column=population.count_column)])
        grid = population_from_points(points, population.count_column, area, population.cell_m)
    if population.rescale_level is not None:
        level = zones[zones["zone_level"] == population.rescale_level]
        if "population" not in statistics.columns:
            raise InputError([Problem(str(config.statistics.path), "no population column (常住人口)",
                                      "add one to rescale the grid")])
        totals = statistics["population"].reindex(level["zone_id"]).to_numpy(dtype=np.float64)
        if np.isnan(totals).any():
            raise InputError([Problem(str(config.statistics.path), f"no population for {code}",
                                      f"add a row for every {population.rescale_level} to rescale the grid",
                                      column="population") for code in level["zone_id"][np.isnan(totals)]])
        rescale_to_totals(grid, level, totals)
    if config.snap_max_m is None and config.roads.pbf is not None:  # off-road legs: the water they never cross
        shapes = read_water(config.roads.pbf, tuple(area.to_crs(4326).total_bounds))
        if grid.water is not None:  # the raster's nodata is the sea already: its coastline would only cut the shore
            shapes = shapes[shapes["kind"] != "coastline"]
        water = grid.water or WaterMask(np.zeros(grid.shape, dtype=bool), grid.transform, grid.crs)
        grid = replace(grid, water=with_water_shapes(water, shapes))
    if config.snap_max_m is None and config.offroad is not None and config.offroad.landcover_factor is not None:
        water = grid.water or WaterMask(np.zeros(grid.shape, dtype=bool), grid.transform, grid.crs)
        grid = replace(grid, water=with_blocked_cells(water, config.offroad.landcover_factor))
    return grid


def load_weights(config: ScenarioConfig, grid: PopulationGrid, area: gpd.GeoSeries) -> dict[str, PopulationGrid]:
    """Extra weight grids (age groups…) on the same cells as the population grid."""
    weights = {}
    problems = []
    for name, path in config.population.weights.items():
        weight = read_population(path, area)
        if weight.shape != grid.shape or not weight.transform.almost_equals(grid.transform):
            problems.append(Problem(str(path), f"weight '{name}' is not on the population raster's grid",
                                    "use rasters of the same extent, cell size and CRS (e.g. WorldPop age groups)"))
            continue
        weight.valid = grid.valid
        weights[name] = weight
    if problems:
        raise InputError(problems)
    return weights
