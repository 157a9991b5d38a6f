"""Per county: the share of residents whose nearest secondary or tertiary hospital lies in their own county.

A proxy the plans' 县域就诊率 (county treatment rate, 90 %) targets can be read against: people
whose nearest hospital of grade II or above (二级及以上) is across the county border are likely to
be treated outside it. Each cell belongs to the county containing its centre; each hospital to the
county containing its point (or named by the first 6 digits of its ``township_code``). The
nearest hospital of each cell comes from the same cell search as every travel time of geocover
(:func:`geocover.travel.cells.cell_accessibility`).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geocover.io.population import PopulationGrid
from geocover.network.graph import Network
from geocover.network.snapping import Snap
from geocover.standards.facility_filter import filter_mask
from geocover.travel.cells import cell_accessibility

MIN_GRADE = 2
"""Hospitals of grade II (二级) and above count."""

COLUMNS = (
    "zone_id", "zone_name", "population", "hospitals", "pop_nearest_hospital_in_county",
    "pop_nearest_hospital_elsewhere", "pop_no_hospital_reached", "pct_nearest_hospital_in_county",
)


def hospital_counties(hospitals: gpd.GeoDataFrame, counties: gpd.GeoDataFrame) -> np.ndarray:
    """Row of ``counties`` holding each hospital (-1: none): its ``township_code`` first, else its point."""
    codes = counties["zone_id"].astype(str).str[:6].to_numpy()
    by_code = np.full(len(hospitals), -1)
    if "township_code" in hospitals.columns:
        own = hospitals["township_code"].astype(str).str.replace(r"\D", "", regex=True).str[:6].to_numpy()
        lookup = {code: i for i, code in enumerate(codes)}
        by_code = np.array([lookup.get(code, -1) for code in own], dtype=int)
    joined = gpd.sjoin(hospitals[["geometry"]].to_crs(counties.crs), counties[["geometry"]].reset_index(drop=True),
                       predicate="within", how="left")
    joined = joined[~joined.index.duplicated(keep="first")]
    by_point = joined["index_right"].reindex(hospitals.index).fillna(-1).astype(int).to_numpy()
    return np.where(by_code >= 0, by_code, by_point)


def county_shares(
    population: np.ndarray, cell_county: np.ndarray, nearest_county: np.ndarray, counties: pd.DataFrame,
    hospitals_per_county: np.ndarray,
) -> pd.DataFrame:
    """The per-county table from per-cell people, county (-1 none) and county of the nearest hospital.

    Parameters
    ----------
    population : numpy.ndarray
        People per cell.
    cell_county : numpy.ndarray of int
        Row of ``counties`` holding each cell, -1 outside every county.
    nearest_county : numpy.ndarray of int
        Row of ``counties`` holding each cell's nearest hospital; -1 outside every county, -2 no
        hospital reached.
    counties : pandas.DataFrame
        ``zone_id`` and ``zone_name``.
    hospitals_per_county : numpy.ndarray of int
        Hospitals of grade II and above in each county.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`; ``pct_nearest_hospital_in_county`` is of the people who reach a
        hospital, NaN when none does.
    """
    n = len(counties)
    inside = cell_county >= 0
    weights, owner, target = population[inside], cell_county[inside], nearest_county[inside]
    total = np.bincount(owner, weights, minlength=n)
    own = np.bincount(owner, weights * (target == owner), minlength=n)
    lost = np.bincount(owner, weights * (target == -2), minlength=n)
    reached = total - lost
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(reached > 0, 100.0 * own / reached, np.nan)
    return pd.DataFrame({
        "zone_id": counties["zone_id"].to_numpy(), "zone_name": counties["zone_name"].to_numpy(),
        "population": total, "hospitals": hospitals_per_county, "pop_nearest_hospital_in_county": own,
        "pop_nearest_hospital_elsewhere": reached - own, "pop_no_hospital_reached": lost,
        "pct_nearest_hospital_in_county": pct,
    }, columns=list(COLUMNS))


def county_referral(
    network: Network,
    facilities: gpd.GeoDataFrame,
    grid: PopulationGrid,
    zones: gpd.GeoDataFrame,
    snap_max_m: float,
    offroad_kmh: float,
    cell_snap: Snap | None = None,
) -> pd.DataFrame | None:
    """Per county, residents whose nearest hospital of grade II or above is in their own county.

    Parameters
    ----------
    network : Network
        Usually the drive network.
    facilities : geopandas.GeoDataFrame
        With ``tier`` and ``grade`` (二级, 三甲, 2…); hospitals of grade II and above count.
    grid : PopulationGrid
    zones : geopandas.GeoDataFrame
        The zones of the run; those of ``zone_level`` county are the counties.
    snap_max_m, offroad_kmh : float
    cell_snap : Snap, optional
        The grid's cells already snapped to ``network``.

    Returns
    -------
    pandas.DataFrame or None
        See :func:`county_shares`; None without county zones or without graded hospitals.
    """
    counties = zones[zones["zone_level"] == "county"].reset_index(drop=True)
    mask, missing = filter_mask(facilities, ["hospital"], MIN_GRADE)
    if counties.empty or missing or not mask.any():
        return None
    hospitals = facilities[mask.to_numpy()]
    access = cell_accessibility(network, hospitals, grid, snap_max_m, offroad_kmh, cell_snap=cell_snap)
    where = hospital_counties(hospitals, counties)
    nearest = np.where(access.facility >= 0, where[np.maximum(access.facility, 0)], -2)
    cell_county = grid.labels(counties) - 1
    valid = grid.valid
    return county_shares(grid.population[valid], cell_county[valid], nearest[valid], counties,
                         np.bincount(where[where >= 0], minlength=len(counties)))
