"""Service circles per facility tier: each with its own mode, bands and target, on the same cells.

A scenario's main analysis covers every facility with ``mode``, ``bands_minutes`` and
``target_minutes``; each entry of ``services`` repeats it for some tiers with their own
mode and bands (walking 5/10/15 minutes to stations and village clinics, driving 15/30
minutes to hospitals), adding columns prefixed with the service's name. With
``tier_minutes``, the minutes to the nearest facility of every tier are summarised
per zone too. All of them use the one population grid, so their tables agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from geocover.analysis.access import AccessRules, facility_access
from geocover.analysis.polygons import service_areas
from geocover.analysis.zone_table import zone_table
from geocover.config import ServiceConfig
from geocover.errors import Problem, raise_if_any
from geocover.io.population import PopulationGrid
from geocover.network.graph import Network
from geocover.network.snapping import Snap
from geocover.schema import ZONE_KEYS, service_column
from geocover.standards.facility_filter import filter_mask
from geocover.travel.cells import Accessibility


@dataclass
class ServiceResult:
    """One service's per-cell minutes and polygons.

    Attributes
    ----------
    config : ServiceConfig
    facility_rows : numpy.ndarray
        Rows of the scenario's facility table that offer the service.
    access : Accessibility
        Its ``facility`` holds rows of the scenario's facility table.
    service_areas : geopandas.GeoDataFrame
        Nested band polygons with a ``service`` column.
    """

    config: ServiceConfig
    facility_rows: np.ndarray
    access: Accessibility
    service_areas: gpd.GeoDataFrame


def offering(facilities: gpd.GeoDataFrame, tiers: list[str] | None) -> np.ndarray:
    """Rows of ``facilities`` whose tier is one of ``tiers`` (all rows when None)."""
    if tiers is None:
        return np.arange(len(facilities))
    return np.flatnonzero(facilities["tier"].isin(tiers).to_numpy())


def service_rows(service: ServiceConfig, facilities: gpd.GeoDataFrame, where: str = "services") -> np.ndarray:
    """Rows of ``facilities`` offering ``service``: its tiers narrowed by grade, ``where``, names and ids.

    Raises
    ------
    InputError
        Every facility column the filters need and the layer lacks, and every named facility
        (``facility_names``, ``facility_ids``) not in the layer, at once.
    """
    mask, missing = filter_mask(facilities, service.tiers, service.min_grade, service.where,
                                service.facility_names, service.facility_ids)
    key = f"{where}[{service.name}]"
    problems = [Problem(key, f"the facility layer has no column '{m.removeprefix('facilities.')}'",
                        "add the column to the facility file or drop the filter", column=m.removeprefix("facilities."))
                for m in missing]
    for column, wanted in (("name", service.facility_names), ("facility_id", service.facility_ids)):
        if wanted and column in facilities.columns:
            present = set(facilities[column].astype(str).str.strip())
            absent = [w for w in wanted if str(w).strip() not in present]
            problems += [Problem(key, f"no facility with {column} '{w}'", "spell it as in the facility layer",
                                 column=f"facility_{'names' if column == 'name' else 'ids'}") for w in absent]
    raise_if_any(problems)
    return np.flatnonzero(mask.to_numpy())


def run_service(
    service: ServiceConfig,
    network: Network,
    facilities: gpd.GeoDataFrame,
    grid: PopulationGrid,
    rules: AccessRules,
    cell_snap: Snap | None = None,
) -> ServiceResult:
    """Nearest-facility minutes per cell for the facilities offering ``service``.

    Parameters
    ----------
    service : ServiceConfig
    network : Network
        The network of ``service.mode``.
    facilities : geopandas.GeoDataFrame
        Every facility of the scenario, with ``tier``.
    grid : PopulationGrid
    rules : AccessRules
        The scenario's off-road rules, as for the main analysis.
    cell_snap : Snap, optional
        The grid's cells snapped to ``network`` (see :func:`geocover.travel.cells.snap_cells`).

    Returns
    -------
    ServiceResult
    """
    rows = service_rows(service, facilities)
    access = facility_access(network, facilities, grid, rules, cell_snap, rows)
    areas = service_areas(grid, access.minutes, service.bands_minutes)
    areas.insert(0, "service", service.name)
    return ServiceResult(service, rows, access, areas)


def service_columns(result: ServiceResult, zones: gpd.GeoDataFrame) -> pd.DataFrame:
    """The zone table of one service, its columns prefixed with the service's name."""
    service = result.config
    table = zone_table(result.access.grid, result.access.minutes, zones, service.bands_minutes,
                       service.target_minutes)
    values = table.drop(columns=ZONE_KEYS + ["population"])
    return pd.concat([table[ZONE_KEYS], values.add_prefix(service_column(service.name, ""))], axis=1)


def tier_columns(
    network: Network,
    facilities: gpd.GeoDataFrame,
    grid: PopulationGrid,
    zones: gpd.GeoDataFrame,
    rules: AccessRules,
    cell_snap: Snap | None = None,
) -> pd.DataFrame:
    """Population-weighted mean, median and 90th percentile minutes to the nearest facility of each tier.

    Returns
    -------
    pandas.DataFrame
        Per zone ``minutes_mean_<tier>``, ``minutes_median_<tier>``, ``minutes_p90_<tier>``
        and ``pop_unreachable_<tier>`` for every tier present.
    """
    out = zones[ZONE_KEYS].reset_index(drop=True)
    for tier in sorted(facilities["tier"].dropna().unique()):
        access = facility_access(network, facilities, grid, rules, cell_snap, offering(facilities, [tier]))
        table = zone_table(grid, access.minutes, zones, [np.inf], np.inf)
        out[f"minutes_mean_{tier}"] = table["mean_minutes"].to_numpy()
        out[f"minutes_median_{tier}"] = table["median_minutes"].to_numpy()
        out[f"minutes_p90_{tier}"] = table["p90_minutes"].to_numpy()
        out[f"pop_unreachable_{tier}"] = table["pop_unreachable"].to_numpy()
    return out
