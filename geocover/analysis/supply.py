"""Supply-aware measures on the scenario's cells: AccessMod-style capacity coverage and 2SFCA / E2SFCA.

Both read the facility × cell travel times within their cut-off from one bounded search per
facility (:mod:`geocover.travel.matrices`), and report per zone from the same population grid.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geocover.analysis.capacity import capacity_coverage
from geocover.analysis.fca import floating_catchment, zone_mean
from geocover.config import CapacityConfig, FcaConfig
from geocover.errors import InputError, Problem
from geocover.network.graph import Network
from geocover.schema import ZONE_KEYS
from geocover.travel.cells import Accessibility
from geocover.travel.matrices import OFFSET_MINUTES, facility_node_matrix, facility_point_matrix


def _pairs(network: Network, access: Accessibility, limit: float, offroad_kmh: float):
    """(facility, cell, minutes) of every pair within ``limit``, cells in ``grid.valid`` order."""
    nodes = facility_node_matrix(network, access.facility_snap, limit, offroad_kmh=offroad_kmh)
    pairs = facility_point_matrix(network, nodes, access.cell_snap, access.facility_snap, limit, offroad_kmh).tocoo()
    return pairs.row, pairs.col, pairs.data - OFFSET_MINUTES


def _column(facilities: gpd.GeoDataFrame, column: str, where: str) -> np.ndarray:
    if column not in facilities.columns:
        raise InputError([Problem(where, f"facility column '{column}' not found",
                                  f"use one of {list(facilities.columns)}")])
    return pd.to_numeric(facilities[column], errors="coerce").fillna(0.0).to_numpy(dtype=np.float64)


def supply_columns(
    network: Network,
    facilities: gpd.GeoDataFrame,
    access: Accessibility,
    zones: gpd.GeoDataFrame,
    capacity: CapacityConfig | None,
    fca: FcaConfig | None,
    offroad_kmh: float,
    where: str,
) -> tuple[pd.DataFrame, pd.DataFrame | None, dict[str, np.ndarray]]:
    """Zone columns of the capacity coverage and floating-catchment access, the capacity table, and the
    access per cell.

    Returns
    -------
    columns : pandas.DataFrame
        Per zone: ``pop_covered_capacity`` and ``pct_covered_capacity`` (capacity), and the
        population-weighted mean ``access_2sfca`` or ``access_e2sfca`` (supply per person).
    allocation : pandas.DataFrame or None
        Per facility in processing order (see :class:`geocover.analysis.capacity.CapacityCoverage`).
    scores : dict
        ``access_2sfca`` or ``access_e2sfca`` to its value per valid cell (row-major), when ``fca`` is given.
    """
    grid = access.grid
    people = grid.population[grid.valid]
    out = zones[ZONE_KEYS].reset_index(drop=True)
    values: dict[str, np.ndarray] = {}
    allocation = None
    if capacity is not None:
        f, k, t = _pairs(network, access, capacity.limit_minutes, offroad_kmh)
        amount = _column(facilities, capacity.column, where)
        order = np.argsort(-amount if capacity.order == "capacity_descending" else amount, kind="stable")
        result = capacity_coverage(f, k, t, people, amount, capacity.limit_minutes, order, capacity.zone_minutes)
        values["pop_covered_capacity"] = result.covered
        allocation = result.table.assign(facility_id=facilities["facility_id"].to_numpy()[result.table["facility"]])
    if fca is not None:
        f, k, t = _pairs(network, access, fca.max_minutes, offroad_kmh)
        supply = _column(facilities, fca.supply_column, where) if fca.supply_column else np.ones(len(facilities))
        score, _ = floating_catchment(f, k, t, supply, people, fca.max_minutes, fca.weights or None)
        values["access_e2sfca" if fca.weights else "access_2sfca"] = score
    columns: dict[str, np.ndarray] = {name: np.full(len(zones), np.nan) for name in values}
    if "pop_covered_capacity" in values:
        columns["pct_covered_capacity"] = np.full(len(zones), np.nan)
    for level, level_zones in zones.groupby("zone_level", sort=False):
        rows = np.flatnonzero((zones["zone_level"] == level).to_numpy())
        labels = grid.labels(level_zones)[grid.valid]
        for name, per_cell in values.items():
            if name.startswith("access"):
                columns[name][rows] = zone_mean(per_cell, people, labels, len(rows))
            else:
                total = np.bincount(labels, weights=people, minlength=len(rows) + 1)[1:]
                covered = np.bincount(labels, weights=per_cell, minlength=len(rows) + 1)[1:]
                columns[name][rows] = covered
                with np.errstate(invalid="ignore", divide="ignore"):
                    columns["pct_covered_capacity"][rows] = np.where(total > 0, 100.0 * covered / total, np.nan)
    scores = {name: per_cell for name, per_cell in values.items() if name.startswith("access")}
    return pd.concat([out, pd.DataFrame(columns)], axis=1), allocation, scores
