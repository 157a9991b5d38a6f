"""Merge the units of a batch run into the outputs of one run: one zone table, one facility table,
one grid of minutes, and the polygons traced from it; plus the table saying what is exact.

Zones inside a unit take their row from that unit. Zones spanning several units (a city or
province rolled up from counties) are computed from the merged cells: band, beyond and unreachable
counts, minutes, facility counts, flags, official population and the service circles; their other
columns (weights, ambulance coverage, 2SFCA, per-tier minutes) are NaN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from affine import Affine

from geocover.analysis.ambulance import ambulance_sufficiency
from geocover.analysis.fca import zone_mean
from geocover.analysis.polygons import catchment_polygons, service_areas
from geocover.analysis.services import ServiceResult, service_rows
from geocover.analysis.urban_reach import cell_urban, urban_reach
from geocover.analysis.zone_table import gap_flags
from geocover.batch.codes import batch_gaps, capped_zone_table
from geocover.batch.unit import UnitResult
from geocover.config import ScenarioConfig
from geocover.errors import InputError, Problem
from geocover.io.population import PopulationGrid
from geocover.io.spreadsheets import SOURCE_ROW
from geocover.io.utm import utm_crs
from geocover.io.zones import ZONE_COLUMNS, lie_within
from geocover.network.graph import Network
from geocover.network.snapping import Snap
from geocover.pipeline import ScenarioResult
from geocover.schema import ZONE_KEYS, service_column
from geocover.standards.plans import people_per_ambulance
from geocover.travel.cells import Accessibility
from geocover.travel.nearest import NodeTimes

_SUMMED = ("population_nearest", "population_within_target")
_TIER_STATS = ("minutes_mean", "minutes_median", "minutes_p90", "pop_unreachable")


@dataclass
class MergedCells:
    """The units' own cells on one grid.

    Attributes
    ----------
    grid : PopulationGrid
        Valid where a unit holds the cell's centre.
    minutes : numpy.ndarray
        Batch-coded minutes (see :func:`geocover.batch.unit.coded_minutes`), NaN outside the units.
    nearest : numpy.ndarray of int64
        Row of the nearest facility in the merged facility table within the largest band, else -1.
    services : dict
        Service name to its batch-coded minutes.
    scores : dict
        ``access_2sfca`` (or ``access_e2sfca``) per cell, with ``fca``.
    """

    grid: PopulationGrid
    minutes: np.ndarray
    nearest: np.ndarray
    services: dict[str, np.ndarray]
    scores: dict[str, np.ndarray]


def merge_facilities(units: list[UnitResult]) -> gpd.GeoDataFrame:
    """One facility table: each facility's row from the unit holding it (else the first unit that has
    it), its people summed over every unit's own cells, in the order of the facility file."""
    joined = pd.concat([unit.facilities for unit in units], ignore_index=True)
    summed = [c for c in joined.columns if c in _SUMMED or c.startswith("catchment_exclusive_")]
    totals = joined.groupby("facility_id", sort=False)[summed].sum()
    rows = joined.sort_values("batch_owned", ascending=False, kind="stable").drop_duplicates("facility_id")
    rows = rows.sort_values(SOURCE_ROW if SOURCE_ROW in rows.columns else "facility_id", kind="stable")
    rows[summed] = totals.reindex(rows["facility_id"]).to_numpy()
    return gpd.GeoDataFrame(rows.drop(columns="batch_owned").reset_index(drop=True), crs=joined.crs)


def merge_cells(units: list[UnitResult], numbers: list[int], unit_zones: gpd.GeoDataFrame,
                facilities: gpd.GeoDataFrame) -> MergedCells:
    """Put the units' own cells on one grid; a cell claimed by two units goes to the one that holds its
    centre when all unit polygons are burnt together (the last, as in the zone table).

    Parameters
    ----------
    units : list of UnitResult
    numbers : list of int
        1-based row of each unit in ``unit_zones``.
    unit_zones : geopandas.GeoDataFrame
        Every unit polygon, finished or not.
    facilities : geopandas.GeoDataFrame
        The merged facility table (:func:`merge_facilities`).

    Raises
    ------
    InputError
        When the unit grids do not share one lattice (population points gridded in different UTM zones).
    """
    ref = Affine(*units[0].cells.transform)
    crs = pyproj.CRS.from_wkt(units[0].cells.crs)
    offsets = []
    for unit in units:
        own = Affine(*unit.cells.transform)
        shift = np.array([(own.c - ref.c) / ref.a, (own.f - ref.f) / ref.e])
        if (pyproj.CRS.from_wkt(unit.cells.crs) != crs or not np.isclose(own.a, ref.a, rtol=1e-9)
                or not np.isclose(own.e, ref.e, rtol=1e-9) or np.abs(shift - np.round(shift)).max() > 1e-6):
            raise InputError([Problem(f"unit {unit.unit_id}", "its population grid is not on the other units' grid",
                                      "use a population raster (the units read windows of it), not points "
                                      "gridded across UTM zones")])
        offsets.append(np.round(shift).astype(np.int64))
    rows = [unit.cells.rows + dy for unit, (_, dy) in zip(units, offsets, strict=True)]
    cols = [unit.cells.cols + dx for unit, (dx, _) in zip(units, offsets, strict=True)]
    top, left = min(r.min(initial=0) for r in rows), min(c.min(initial=0) for c in cols)
    shape = (max(r.max(initial=0) for r in rows) - top + 1, max(c.max(initial=0) for c in cols) - left + 1)
    transform = ref @ Affine.translation(left, top)
    grid = PopulationGrid(np.zeros(shape), np.zeros(shape, dtype=bool), transform, crs)
    labels = grid.labels(unit_zones)
    minutes = np.full(shape, np.nan)
    nearest = np.full(shape, -1, dtype=np.int64)
    services = {name: np.full(shape, np.nan) for name in units[0].cells.services}
    scores = {name: np.full(shape, np.nan) for name in units[0].cells.scores}
    index = pd.Index(facilities["facility_id"])
    for unit, number, r, c in zip(units, numbers, rows, cols, strict=True):
        keep = labels[r - top, c - left] == number
        at = (r[keep] - top, c[keep] - left)
        cells = unit.cells
        grid.population[at] = cells.population[keep]
        grid.valid[at] = True
        minutes[at] = cells.minutes[keep]
        ids = unit.facilities["facility_id"].to_numpy()[np.maximum(cells.nearest[keep], 0)]
        nearest[at] = np.where(cells.nearest[keep] >= 0, index.get_indexer(ids), -1)
        for name, values in cells.services.items():
            services[name][at] = values[keep]
        for name, values in cells.scores.items():
            scores[name][at] = values[keep]
    return MergedCells(grid, minutes, nearest, services, scores)


def _regroup(columns: list[str], group: list[str]) -> list[str]:
    """Move the columns of ``group`` together, in its order, where the first of them stands."""
    present = [c for c in group if c in columns]
    if not present:
        return columns
    at = min(columns.index(c) for c in present)
    rest = [c for c in columns if c not in present]
    return rest[:at] + present + rest[at:]


def column_order(frames: list[pd.DataFrame]) -> list[str]:
    """The zone-table columns of a whole run from unit tables that each hold only the tiers they saw."""
    columns = list(dict.fromkeys(c for frame in frames for c in frame.columns))
    counted = sorted(c for c in columns if c.startswith("facilities_") and not c.endswith("_per_10k"))
    per_10k = [f"{c}_per_10k" for c in ["facilities", *counted]]
    columns = _regroup(columns, counted + per_10k)
    tiers = sorted(c.removeprefix("minutes_mean_") for c in columns if c.startswith("minutes_mean_"))
    return _regroup(columns, [f"{stat}_{tier}" for tier in tiers for stat in _TIER_STATS])


def _spanning_rows(zones: gpd.GeoDataFrame, cells: MergedCells, config: ScenarioConfig, limits: dict[str, float],
                   facilities: gpd.GeoDataFrame, statistics: pd.DataFrame | None,
                   urban: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Zone-table rows of zones spanning several units, from the merged cells (``urban``: each cell's class)."""
    main, beyond = capped_zone_table(cells.grid, cells.minutes, zones, config.bands_minutes, config.target_minutes,
                                        limits[""], facilities)
    table = pd.DataFrame(zones[ZONE_COLUMNS]).merge(main, on=ZONE_KEYS, how="left")
    table = pd.concat([table, gap_flags(table, config.target_minutes, config.target_percent)], axis=1)
    if statistics is not None and "population" in statistics.columns:
        table["official_population"] = statistics["population"].reindex(table["zone_id"]).to_numpy()
    standards = config.standards
    per_people = people_per_ambulance(standards.plan, standards.path) if standards else 30_000.0
    if config.ambulance is not None and statistics is not None and "ambulances" in statistics.columns and (
        per_people is not None
    ):
        table = pd.concat([table, ambulance_sufficiency(table, statistics, per_people)], axis=1)
    for service in config.services:
        if service.name in cells.services:
            part, _ = capped_zone_table(cells.grid, cells.services[service.name], zones, service.bands_minutes,
                                        service.target_minutes, limits[service.name])
            values = part.drop(columns=ZONE_KEYS + ["population"]).add_prefix(service_column(service.name, ""))
            table = pd.concat([table, values], axis=1)
    grid = cells.grid
    reach = {"": (cells.minutes, config.bands_minutes)} | {service_column(s.name, ""): (
        cells.services[s.name], s.bands_minutes) for s in config.services if s.name in cells.services}
    columns = urban_reach(grid, urban, zones, reach).drop(columns=ZONE_KEYS)
    table = pd.concat([table, columns.drop(columns=[c for c in ("pop_urban",) if c in table])], axis=1)
    for name, values in cells.scores.items():
        table[name] = np.nan
        for level, level_zones in zones.groupby("zone_level", sort=False):
            labels = grid.labels(level_zones)[grid.valid]
            table.loc[(zones["zone_level"] == level).to_numpy(), name] = zone_mean(
                values[grid.valid], grid.population[grid.valid], labels, len(level_zones))
    return table, beyond


def merge_tables(
    units: list[UnitResult], zones: gpd.GeoDataFrame, unit_level: str, cells: MergedCells | None,
    config: ScenarioConfig, facilities: gpd.GeoDataFrame, statistics: pd.DataFrame | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One zone table in the whole run's row order, and per zone where its row came from.

    Zones spanning several units are computed when ``cells`` is given (every unit finished) and
    the units cover them; otherwise they are left out.

    Returns
    -------
    table : pandas.DataFrame
    zones_info : pandas.DataFrame
        ``zone_level, zone_id, unit_id`` (empty for spanning zones), ``source``, ``pop_more_than_<N>min``
        and ``mean_minutes_at_least`` (the mean where nobody is more than N minutes away, else a lower bound).
    """
    frames = [pd.concat([unit.table.assign(unit_id=unit.unit_id), unit.beyond], axis=1) for unit in units]
    if not frames:
        rows = pd.DataFrame(columns=ZONE_KEYS)
    else:
        rows = pd.concat(frames, ignore_index=True).drop_duplicates(ZONE_KEYS[:2])
    rows["source"] = "unit run"
    keys = pd.MultiIndex.from_frame(zones[ZONE_KEYS[:2]].astype({"zone_id": str}))
    have = keys.isin(pd.MultiIndex.from_frame(rows[ZONE_KEYS[:2]].astype({"zone_id": str})))
    if cells is not None and (~have).any():
        units_area = shapely.union_all(zones.geometry[zones["zone_level"] == unit_level].to_numpy())
        spanning = zones[~have]
        shapes = spanning.geometry.to_numpy()
        covered = lie_within(shapes, units_area)
        spanning = spanning[covered].reset_index(drop=True)
        if len(spanning):
            table, beyond = _spanning_rows(spanning, cells, config, units[0].limits, facilities, statistics,
                                           cell_urban(cells.grid, zones, config))
            rows = pd.concat([rows, pd.concat([table.assign(unit_id="", source="merged cells"), beyond], axis=1)],
                             ignore_index=True)
    columns = column_order([unit.table for unit in units])
    if config.capacity is not None:
        columns.insert(next((i for i, c in enumerate(columns) if c.startswith(("access_", "minutes_mean_"))),
                            len(columns)), "pop_covered_capacity")
        columns.insert(next((i for i, c in enumerate(columns) if c.startswith("minutes_mean_")), len(columns)),
                       "pct_covered_capacity")
    rows = rows.set_index(pd.MultiIndex.from_frame(rows[ZONE_KEYS[:2]].astype({"zone_id": str})))
    rows = rows.reindex(keys[keys.isin(rows.index)])
    table = rows.reindex(columns=columns).reset_index(drop=True)
    for column in (c for c in columns if c == "facilities" or c.startswith("facilities_")):
        if column.endswith("_per_10k"):
            table[column] = table[column].where(table[column].notna() | ~(table["population"] > 0), 0.0)
        else:
            table[column] = table[column].fillna(0).astype(np.int64)
    limit = units[0].limits[""] if units else max(config.bands_minutes)
    info = rows[["unit_id", "source", "more_than", "mean_at_least"]].reset_index()
    info = info.rename(columns={"more_than": f"pop_more_than_{limit:g}min".replace(".", "_"),
                                "mean_at_least": "mean_minutes_at_least"})
    return table, info


def merged_result(
    config: ScenarioConfig, units: list[UnitResult], table: pd.DataFrame, zones: gpd.GeoDataFrame,
    cells: MergedCells, facilities: gpd.GeoDataFrame, statistics: pd.DataFrame | None, notes: list[str],
) -> ScenarioResult:
    """A :class:`~geocover.pipeline.ScenarioResult` of the merged units, for the writers and maps.

    Its network is empty (each unit had its own); polygons and the travel-time grid cover the
    units' own cells; minutes more than N are :data:`~geocover.batch.unit.MORE_THAN_MINUTES` or
    :data:`~geocover.batch.unit.NOT_FOUND_MINUTES`.
    """
    grid = cells.grid
    geometry = zones.set_index(pd.MultiIndex.from_frame(zones[ZONE_KEYS[:2]].astype({"zone_id": str}))).geometry
    geometry = geometry.reindex(pd.MultiIndex.from_frame(table[ZONE_KEYS[:2]].astype({"zone_id": str})))
    zone_layer = gpd.GeoDataFrame(table.assign(geometry=geometry.to_numpy()), crs=zones.crs)
    empty = Snap(np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0))
    nodes = NodeTimes(np.zeros(0), np.zeros(0, dtype=np.int64), "to")

    def access(minutes: np.ndarray, nearest: np.ndarray) -> Accessibility:
        return Accessibility(grid=grid, minutes=minutes, facility=nearest, nodes=nodes, facility_snap=empty,
                             cell_snap=empty)

    services = {}
    for service in config.services:
        if service.name in cells.services:
            minutes = cells.services[service.name]
            areas = service_areas(grid, minutes, service.bands_minutes)
            areas.insert(0, "service", service.name)
            services[service.name] = ServiceResult(service, service_rows(service, facilities),
                                                   access(minutes, np.full(grid.shape, -1)), areas)
    ids = facilities["facility_id"].astype(str).to_numpy()
    crs = utm_crs(zones)
    network = Network(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0), crs,
                      mode=config.mode)
    area = gpd.GeoSeries([shapely.union_all([unit.area for unit in units])], crs="EPSG:4326")
    return ScenarioResult(
        config=config, facilities=facilities, zones=zone_layer, table=table,
        service_areas=service_areas(grid, cells.minutes, config.bands_minutes),
        gaps=batch_gaps(grid, cells.minutes, config.target_minutes), network=network,
        access=access(cells.minutes, cells.nearest), study_area=area, statistics=statistics, notes=notes,
        services=services, catchments=catchment_polygons(grid, cells.minutes, cells.nearest, config.bands_minutes, ids),
    )


_EXACT, _BOUNDED, _CAPPED, _UNIT = "exact", "exact, see how", "exact or NaN", "as the unit run"
_ZONE_RULES: list[tuple[str, str, str, bool]] = [
    (r"(zone_level|zone_id|zone_name|parent_id|urban_rural|urban_rural_source|is_county_seat)", _EXACT,
     "zone attributes", True),
    (r"population", _EXACT, "people of the cells whose centre the zone holds", True),
    (r"(\w+_)?(pop|pct)_within_[\d_]+", _EXACT, "bands are at most N minutes: every trip within a band stays "
     "in the unit's halo", True),
    (r"(\w+_)?pop_(beyond_[\d_]+|unreachable)", _BOUNDED, "exact, except people on a road network without any "
     "facility that reaches past the halo: counted beyond the target, more than N minutes", True),
    (r"(\w+_)?mean_minutes", _CAPPED, "exact where nobody in the zone is more than N minutes away, else NaN "
     "(batch_zones.csv counts them)", True),
    (r"(\w+_)?(median|p90)_minutes", _CAPPED, "exact where the people more than N minutes away cannot move it, "
     "else NaN", True),
    (r"facilities(_\w+)?", _EXACT, "counted by location (or township code)", True),
    (r"flag_\w+", _EXACT, "from exact counts and shares", True),
    (r"official_population", _EXACT, "from the statistics table", True),
    (r"ambulances(_needed|_to_add)?", _EXACT, "from the statistics table and the population", True),
    (r"minutes_(mean|median|p90)_\w+|pop_unreachable_\w+", _CAPPED, "per tier: as mean/median/p90_minutes", False),
    (r"mean_response_minutes", _CAPPED, "exact where everyone is within the longest response time, else NaN",
     False),
    (r"pop_(urban|rural|within_radius_\w+|within_road_radius_\w+|within_response_\w+)", _EXACT,
     "the halo covers the largest radius and response time", False),
    (r"minutes_to_county_seat", _CAPPED, "exact up to the halo's reach (R / fastest speed), NaN beyond", False),
    (r"(pop|pct)_covered_capacity", "single run only", "capacity allocation needs a global pass: NaN here; "
     "run `geocover run`", False),
    (r"access_e?2sfca", _EXACT, "the unit runs use a halo of twice the catchment (not exact with "
     "population.rescale_level: halo cells of other units are not rescaled)", False),
]
_FACILITY_RULES: list[tuple[str, str, str]] = [
    (r"population_within_target|catchment_exclusive_[\d_]+", _EXACT, "summed over every unit's own cells"),
    (r"population_nearest", _BOUNDED, "people more than N minutes from every facility are not attributed"),
    (r"catchment_total_[\d_]+", _EXACT, "from the unit holding the facility: its catchment lies in that unit's "
     "halo (not exact with population.rescale_level)"),
    (r"nearest_same_tier_minutes|referral_minutes", _CAPPED, "exact up to the halo's reach (R / fastest speed), "
     "NaN beyond"),
]


def exactness(table: pd.DataFrame, facilities: pd.DataFrame, config: ScenarioConfig, limit: float,
              halo_m: float, notes: list[str]) -> pd.DataFrame:
    """What is exact in a batch run, column by column, and the run's notes: ``table, column, status, how``."""
    rows = []
    weights = {f"{name}{suffix}" for name in config.population.weights for suffix in ("", "_within", "_pct_within")}
    for column in table.columns:
        stem = re.sub(r"_[\d_]+$", "", column)
        rule = (_EXACT, "per extra weight: like the population", False) if column in weights or stem in weights \
            else next(((s, h, span) for pattern, s, h, span in _ZONE_RULES if re.fullmatch(pattern, column)),
                      (_UNIT, "not assessed for batch runs", False))
        how = rule[1] + ("" if rule[2] else "; NaN for zones spanning several units")
        rows.append(("zones", column, rule[0], how))
    for column in facilities.columns.drop("geometry", errors="ignore"):
        rule = next(((s, h) for pattern, s, h in _FACILITY_RULES if re.fullmatch(pattern, column)),
                    (_EXACT, "from the unit holding the facility"))
        rows.append(("facilities", column, *rule))
    rows += [
        ("layers", "service_areas, gaps, catchments, travel_time.tif", _EXACT,
         "traced from the units' own cells (the single run also draws the halo around the zones); "
         f"travel_time.tif: -2 more than {limit:g} minutes, -1 unreachable; gaps.max_minutes NaN where a gap "
         "holds such people"),
        ("run", "N (minutes)", f"{limit:g}", "the largest band: minutes up to N are those of the whole-area run"),
        ("run", "R (halo, m)", f"{halo_m:,.0f}", "the fastest speed of each mode times its largest band"),
        *(("run", "note", "", note) for note in notes),
    ]
    return pd.DataFrame(rows, columns=["table", "column", "status", "how"])
