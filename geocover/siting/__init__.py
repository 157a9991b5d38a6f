"""Where the next clinics and ambulance stations should go.

:func:`site` takes a scenario result, builds candidate sites, the candidate × cell
matrix of minutes within the threshold (bounded searches with
:mod:`geocover.travel.matrices`), solves a model of :mod:`geocover.siting.models` and
returns the proposed sites with before/after coverage. The pieces work alone on
your own matrices and GeoDataFrames.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp

from geocover.config import SitingConfig
from geocover.network.graph import Network
from geocover.network.snapping import snap_points
from geocover.pipeline import ScenarioResult
from geocover.siting import candidates as cands
from geocover.siting.candidates import radius_matrix
from geocover.siting.models import AmbulanceStations, MaximalCovering, PMedian, SetCovering, SitingModel
from geocover.travel import matrices

__all__ = [
    "AmbulanceStations", "MaximalCovering", "PMedian", "SetCovering", "SitingModel", "SitingResult",
    "coverage_totals", "people_after", "proposed_sites", "radius_matrix", "site", "urban_cells",
    "MODELS", "CANDIDATE_RULES",
]

_DEFAULTS = SitingConfig()
"""The defaults of every siting option: the config's, so the config, the CLI and Python agree."""
MODELS: tuple[str, ...] = get_args(SitingConfig.model_fields["model"].annotation)
CANDIDATE_RULES: tuple[str, ...] = get_args(SitingConfig.model_fields["candidate_rule"].annotation)
URBAN_DENSITY_PER_KM2 = 1500.0
"""Cells at least this dense count as urban when zones carry no urban/rural class (people per km²)."""


@dataclass
class SitingResult:
    """What :func:`site` returns.

    Attributes
    ----------
    sites : geopandas.GeoDataFrame
        The proposed sites (see :func:`proposed_sites`).
    totals : pandas.DataFrame
        Before/after coverage: a row ``zone_level="all"`` then one per zone, with ``population``,
        ``covered_before``, ``covered_after``, ``added`` (people) and ``share_before``,
        ``share_after`` (0–1).
    model : SitingModel
        The solved model (status, gap, objective, and for set covering ``target_reached``).
    candidates : geopandas.GeoDataFrame
        Every candidate considered (row ``j`` is matrix row ``j``); ``attrs["excluded"]`` counts
        those dropped by each rule.
    """

    sites: gpd.GeoDataFrame
    totals: pd.DataFrame
    model: SitingModel
    candidates: gpd.GeoDataFrame


def people_after(model: SitingModel) -> np.ndarray:
    """People covered per cell after the new sites."""
    if isinstance(model, PMedian):
        return np.where(model.minutes_after <= model.limit_minutes, model.weights, 0.0)
    return np.where(model.covered_before, model.weights, model.assigned)


def proposed_sites(model: SitingModel, candidates: gpd.GeoDataFrame,
                   zones: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """The chosen sites as a table and a layer.

    Parameters
    ----------
    model : SitingModel
        A solved model whose matrix rows are ``candidates``' rows.
    candidates : geopandas.GeoDataFrame
        Candidate points (metric CRS).
    zones : geopandas.GeoDataFrame, optional
        Zone polygons with ``zone_level``, ``zone_id``, ``zone_name``: each site gets the smallest
        zone that contains it.

    Returns
    -------
    geopandas.GeoDataFrame
        In ``candidates``' CRS, one row per site in rank order: ``rank``, ``candidate_id``,
        ``rule``, ``source_id``, ``x``, ``y`` (metres), ``lon``, ``lat``, ``zone_level``,
        ``zone_id``, ``zone_name`` (with ``zones``), ``population_added`` (people each site adds
        given those ranked before it), ``cumulative_population`` (existing coverage included),
        ``cumulative_share`` (0–1); p-median adds ``minutes_saved`` (person-minutes) and
        capacitated models ``capacity``.
    """
    if len(candidates) != model.matrix.shape[0]:
        raise ValueError(f"{len(candidates)} candidates for a matrix of {model.matrix.shape[0]} rows")
    rows = candidates.iloc[model.selected].reset_index(drop=True)
    keep = [c for c in ("candidate_id", "rule", "source_id", "name") if c in rows]
    out = gpd.GeoDataFrame(rows[keep], geometry=rows.geometry.to_numpy(), crs=candidates.crs)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out["x"], out["y"] = out.geometry.x.to_numpy(), out.geometry.y.to_numpy()
    lonlat = out.geometry.to_crs("EPSG:4326")
    out["lon"], out["lat"] = lonlat.x.to_numpy(), lonlat.y.to_numpy()
    if zones is not None:
        out = _finest_zone(out, zones)
    out["population_added"] = model.added
    out["cumulative_population"] = model.population_before + np.cumsum(model.added)
    out["cumulative_share"] = out["cumulative_population"] / model.population_total if model.population_total else 0.0
    if isinstance(model, PMedian):
        out["minutes_saved"] = model.saved
    if getattr(model, "capacity", None) is not None:
        out["capacity"] = model.capacity[model.selected]
    return out


def _finest_zone(sites: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    polygons = zones[["zone_level", "zone_id", "zone_name", "geometry"]].to_crs(sites.crs)
    polygons["area"] = polygons.geometry.area
    joined = gpd.sjoin(sites[["geometry"]], polygons, predicate="within", how="left")
    joined = joined.sort_values("area", kind="stable")
    finest = joined[~joined.index.duplicated(keep="first")].sort_index()
    for column in ("zone_level", "zone_id", "zone_name"):
        sites[column] = finest[column].to_numpy()
    return sites


def coverage_totals(model: SitingModel, result: ScenarioResult) -> pd.DataFrame:
    """People covered before and after, for all cells and per zone of ``result.zones``."""
    grid = result.access.grid
    before = np.where(model.covered_before, model.weights, 0.0)
    after = people_after(model)
    rows = [("all", "all", "all", model.weights.sum(), before.sum(), after.sum())]
    for level, zones in result.zones.groupby("zone_level", sort=False):
        label = grid.labels(zones)[grid.valid]
        count = len(zones) + 1
        sums = [np.bincount(label, weights=v, minlength=count)[1:] for v in (model.weights, before, after)]
        rows += list(zip([level] * len(zones), zones["zone_id"], zones["zone_name"], *sums, strict=True))
    table = pd.DataFrame(rows, columns=["zone_level", "zone_id", "zone_name", "population", "covered_before",
                                        "covered_after"])
    table["added"] = table["covered_after"] - table["covered_before"]
    with np.errstate(invalid="ignore", divide="ignore"):
        table["share_before"] = table["covered_before"] / table["population"]
        table["share_after"] = table["covered_after"] / table["population"]
    return table


def urban_cells(result: ScenarioResult, density_per_km2: float = URBAN_DENSITY_PER_KM2) -> np.ndarray:
    """Urban valid cells: by the class of the smallest zone holding them, else by population density.

    Zones with an ``urban_rural`` column (``"urban"``/``"rural"``) decide for their cells; other
    cells are urban when at least ``density_per_km2`` people live per km².
    """
    grid = result.access.grid
    people = grid.population[grid.valid]
    cell_km2 = abs(grid.transform.a * grid.transform.e) / 1e6 if grid.crs.is_projected else _cell_km2(grid)
    urban = people / cell_km2 >= density_per_km2
    if "urban_rural" in result.zones:
        zones = result.zones[result.zones["urban_rural"].isin(["urban", "rural"])]
        zones = zones.assign(area=zones.to_crs(result.network.crs).area).sort_values("area", ascending=False)
        for _, zone in zones.iterrows():
            inside = grid.labels(gpd.GeoDataFrame([zone], crs=result.zones.crs))[grid.valid] > 0
            urban[inside] = zone["urban_rural"] == "urban"
    return urban


def _cell_km2(grid) -> np.ndarray:
    """Area of each valid cell of a geographic grid, km²."""
    _, y = grid.centres()
    metres = 111_320.0
    return abs(grid.transform.a * grid.transform.e) * metres * metres * np.cos(np.radians(y)) / 1e6


def _candidates(result: ScenarioResult, rule: str, source, spacing_m: float | None) -> gpd.GeoDataFrame:
    network, access = result.network, result.access
    if rule == "cells":
        return cands.from_cells(access.grid, network.crs, min_population=0.0, spacing_m=spacing_m)
    if rule == "gap_cells":
        return cands.from_cells(access.grid, network.crs, access.minutes, result.config.target_minutes,
                                spacing_m=spacing_m)
    if rule == "nodes":
        return cands.from_network_nodes(network, spacing_m)
    if rule == "midpoints":
        return cands.from_segment_midpoints(network, spacing_m)
    if rule == "seats":
        if source is not None:
            return cands.from_seats(_read(source), crs=network.crs)
        return cands.from_seats(zones=result.zones[result.zones["zone_level"] == result.zones["zone_level"].iloc[-1]],
                                crs=network.crs)
    if rule == "file":
        if source is None:
            raise ValueError("candidate_rule 'file' needs candidates (a point file or GeoDataFrame)")
        return cands.from_file(_read(source), crs=network.crs)
    raise ValueError(f"candidate_rule must be one of {CANDIDATE_RULES}, got {rule!r}")


def _read(source: gpd.GeoDataFrame | str | Path) -> gpd.GeoDataFrame:
    return source if isinstance(source, gpd.GeoDataFrame) else gpd.read_file(source)


def _matrix(result: ScenarioResult, snap, limit: float, direction: str, network: Network | None = None,
            offroad_kmh: float | None = None) -> sp.csr_matrix:
    """Source × valid-cell matrix of minutes (or km on a km network) within ``limit``, explicit zeros kept."""
    network = network or result.network
    offroad = result.config.offroad_kmh if offroad_kmh is None else offroad_kmh
    nodes = matrices.facility_node_matrix(network, snap, limit, direction=direction, offroad_kmh=offroad)
    matrix = matrices.facility_point_matrix(network, nodes, result.access.cell_snap, snap, limit,
                                            offroad_kmh=offroad, direction=direction)
    matrix.data = np.maximum(matrix.data - matrices.OFFSET_MINUTES, 0.0)
    return matrix


def site(  # noqa: PLR0913 - the keywords of SitingConfig, one each, as the notebook API
    result: ScenarioResult,
    model: str = _DEFAULTS.model,
    k: int | None = _DEFAULTS.k,
    target_share: float | None = _DEFAULTS.target_share,
    threshold_minutes: float | None = _DEFAULTS.threshold_minutes,
    candidate_rule: str = _DEFAULTS.candidate_rule,
    *,
    candidates: gpd.GeoDataFrame | str | Path | None = None,
    spacing_m: float | None = _DEFAULTS.spacing_m,
    min_distance_m: float = _DEFAULTS.min_distance_m,
    inside_zones: bool = _DEFAULTS.inside_zones,
    method: str = _DEFAULTS.method,
    time_limit_s: float = _DEFAULTS.time_limit_s,
    mip_gap: float = _DEFAULTS.mip_gap,
    penalty_minutes: float | None = _DEFAULTS.penalty_minutes,
    capacity: float | None = _DEFAULTS.capacity,
    ambulance_metric: str = _DEFAULTS.ambulance_metric,
    urban_limit: float = _DEFAULTS.urban_limit,
    rural_limit: float = _DEFAULTS.rural_limit,
    urban_density_per_km2: float = URBAN_DENSITY_PER_KM2,
) -> SitingResult:
    """Propose new sites for a scenario.

    Parameters
    ----------
    result : ScenarioResult
        A run scenario; its facilities are existing sites, always kept.
    model : {"mclp", "lscp", "pmedian", "ambulance"}
        Maximal covering with ``k`` sites; fewest sites to ``target_share``; p-median with ``k``
        sites (people beyond the threshold counted at ``penalty_minutes``); ambulance stations
        (``k`` or ``target_share``) under the urban/rural rule.
    k : int, optional
        Number of new sites (mclp, pmedian, ambulance).
    target_share : float, optional
        Share of the population (0–1) to cover (lscp, ambulance).
    threshold_minutes : float, optional
        Travel time within which a site covers a cell, minutes; the scenario's ``target_minutes``
        when omitted. Residents travel to the site (bounded searches on the reversed network).
    candidate_rule : {"cells", "gap_cells", "nodes", "midpoints", "seats", "file"}
        Populated cell centres, cell centres beyond the scenario's target, road nodes, segment
        midpoints, township seats (``candidates`` points, else a point inside each zone of the last
        zone level), or the points in ``candidates``; default ``"gap_cells"`` as in the config.
    candidates : geopandas.GeoDataFrame or path, optional
        Points for ``"file"`` and ``"seats"``.
    spacing_m : float, optional
        Thin cell, node and midpoint candidates to one per square of this side, metres.
    min_distance_m : float
        Drop candidates closer than this to an existing facility, metres.
    inside_zones : bool
        Keep only candidates inside the reporting zones.
    method : {"auto", "exact", "greedy"}
    time_limit_s : float
        HiGHS time limit, seconds.
    mip_gap : float
        HiGHS relative gap (0: proven optimal).
    penalty_minutes : float, optional
        p-median: minutes counted beyond the threshold (default twice the threshold).
    capacity : float, optional
        People each new site can serve (mclp, lscp, ambulance).
    ambulance_metric : {"straight", "road", "minutes"}
        Ambulance coverage by straight-line km, road km, or response minutes (driving out).
    urban_limit, rural_limit : float
        Ambulance limits for urban and rural cells: km (5 and 10–20 by the rule) or minutes.
    urban_density_per_km2 : float
        Urban cells by density where zones carry no urban/rural class, people per km².

    Returns
    -------
    SitingResult
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    config, network, access = result.config, result.network, result.access
    threshold = config.target_minutes if threshold_minutes is None else threshold_minutes
    grid = access.grid
    weights = grid.population[grid.valid]
    found = _candidates(result, candidate_rule, candidates, spacing_m if candidate_rule != "file" else None)
    if inside_zones:
        found = cands.keep_in_zones(found, result.zones)
    found = cands.exclude_near(found, result.facilities, min_distance_m)
    found = cands.keep_on_road(found, network, config.snap_limit_m)
    snap = snap_points(network, found.geometry.x.to_numpy(), found.geometry.y.to_numpy(), config.snap_limit_m)
    minutes = access.minutes[grid.valid]
    if model == "ambulance":
        solved = _ambulance(result, found, snap, weights, k, target_share, capacity, ambulance_metric,
                            urban_cells(result, urban_density_per_km2), urban_limit, rural_limit)
    elif model == "pmedian":
        if k is None:
            raise ValueError("p-median needs k")
        penalty = 2.0 * threshold if penalty_minutes is None else penalty_minutes
        solved = PMedian(_matrix(result, snap, threshold, "to"), weights, k, threshold, penalty, minutes)
    else:
        matrix = _matrix(result, snap, threshold, "to")
        existing = minutes <= threshold
        solved = (MaximalCovering(matrix, weights, k, existing, capacity) if model == "mclp"
                  else SetCovering(matrix, weights, 1.0 if target_share is None else target_share, existing, capacity))
    solved.solve(method, time_limit_s, mip_gap)
    return SitingResult(proposed_sites(solved, found, result.zones), coverage_totals(solved, result), solved, found)


def _ambulance(result: ScenarioResult, found: gpd.GeoDataFrame, snap, weights: np.ndarray, k, target_share,
               capacity, metric: str, urban: np.ndarray, urban_limit: float, rural_limit: float) -> AmbulanceStations:
    """Ambulance model with the scenario's facilities as existing stations."""
    options = {"k": k, "target_share": target_share, "capacity": capacity}
    if k is None and target_share is None:
        options["target_share"] = 1.0
    network, grid = result.network, result.access.grid
    if metric == "straight":
        x, y = pyproj.Transformer.from_crs(grid.crs, network.crs, always_xy=True).transform(*grid.centres())
        existing = result.facilities.geometry.to_crs(network.crs)
        return AmbulanceStations.from_points(
            np.column_stack([found.geometry.x, found.geometry.y]), np.column_stack([x, y]), weights, urban,
            urban_limit, rural_limit, existing_xy=np.column_stack([existing.x, existing.y]), **options)
    if metric not in ("road", "minutes"):
        raise ValueError(f"ambulance_metric must be 'straight', 'road' or 'minutes', got {metric!r}")
    limit = max(urban_limit, rural_limit)
    on = network.by_distance() if metric == "road" else network
    offroad = 60.0 if metric == "road" else None
    matrix = _matrix(result, snap, limit, "from", on, offroad)
    existing = _matrix(result, result.access.facility_snap, limit, "from", on, offroad)
    return AmbulanceStations.from_matrix(matrix, weights, urban, urban_limit, rural_limit, existing=existing,
                                         **options)
