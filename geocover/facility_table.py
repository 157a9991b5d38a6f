"""The facility table: catchments within each band, nearest same-tier neighbour and referral time.

- ``catchment_total_<b>``: people of the cells within ``b`` minutes of the facility, whether or
  not another facility is nearer (catchments overlap; from a bounded search per facility);
- ``catchment_exclusive_<b>``: the people for whom it is the nearest facility, within ``b``;
- ``nearest_same_tier_minutes``: from the facility to the nearest other facility of its tier;
- ``referral_tier`` and ``referral_minutes``: to the nearest facility of the next tier up
  (village clinic → township health centre → hospital; community health station → community
  health centre → hospital; other primary care → hospital).

Searches are bounded by ``limit_minutes``: a neighbour or referral farther away is NaN
("more than the limit").
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from geocover.accessibility import Accessibility, snap_facilities
from geocover.matrices import OFFSET_MINUTES, facility_node_matrix, facility_point_matrix
from geocover.network import Network
from geocover.routing import nearest_facility_nodes, point_minutes

#: The next tier up for a referral, and the tiers that count as it.
REFERRAL = {
    "village_clinic": ("township_health_centre", ("township_health_centre", "central_township_health_centre")),
    "township_health_centre": ("hospital", ("hospital",)),
    "central_township_health_centre": ("hospital", ("hospital",)),
    "community_health_station": ("community_health_centre", ("community_health_centre",)),
    "community_health_centre": ("hospital", ("hospital",)),
    "clinic": ("hospital", ("hospital",)),
    "doctors": ("hospital", ("hospital",)),
    "other": ("hospital", ("hospital",)),
}


def _minutes(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """The stored minutes of a matrices.py matrix, without its offset (explicit zeros kept)."""
    out = matrix.copy()
    out.data = out.data - OFFSET_MINUTES
    return out


def facility_table(
    network: Network,
    facilities: gpd.GeoDataFrame,
    access: Accessibility,
    bands_minutes: list[float],
    snap_max_m: float,
    offroad_kmh: float,
    limit_minutes: float = 120.0,
) -> pd.DataFrame:
    """Catchments, neighbours and referrals of every facility (see the module docstring).

    Parameters
    ----------
    network : Network
    facilities : geopandas.GeoDataFrame
        With ``tier``; row order of ``access.facility``.
    access : Accessibility
        Nearest-facility minutes of the cells for the same facilities and network.
    bands_minutes : list of float
    snap_max_m, offroad_kmh : float
    limit_minutes : float
        Cap of the neighbour and referral searches.

    Returns
    -------
    pandas.DataFrame
        One row per facility, indexed like ``facilities``.
    """
    grid = access.grid
    people = grid.population[grid.valid]
    nearest = access.facility[grid.valid]
    minutes = access.minutes[grid.valid]
    snap = access.facility_snap
    reach = max(bands_minutes)
    nodes = facility_node_matrix(network, snap, reach, offroad_kmh=offroad_kmh)
    to_cells = _minutes(facility_point_matrix(network, nodes, access.cell_snap, snap, reach, offroad_kmh))
    out = pd.DataFrame(index=facilities.index)
    for band in sorted(bands_minutes):
        within = to_cells.copy()
        within.data = np.where(within.data <= band, 1.0, 0.0)
        label = f"{band:g}".replace(".", "_")
        out[f"catchment_total_{label}"] = within @ people
        mine = (nearest >= 0) & (minutes <= band)
        out[f"catchment_exclusive_{label}"] = np.bincount(nearest[mine], weights=people[mine],
                                                          minlength=len(facilities))[: len(facilities)]
    out["nearest_same_tier_minutes"] = _same_tier(network, facilities, snap, snap_max_m, offroad_kmh, limit_minutes)
    referral_tier, referral_minutes = _referral(network, facilities, snap_max_m, offroad_kmh, limit_minutes)
    out["referral_tier"] = referral_tier
    out["referral_minutes"] = referral_minutes
    return out


def _same_tier(
    network: Network, facilities: gpd.GeoDataFrame, snap, snap_max_m: float, offroad_kmh: float, limit: float
) -> np.ndarray:
    """Minutes from each facility to the nearest other facility of its tier, NaN beyond ``limit``."""
    result = np.full(len(facilities), np.nan)
    tiers = facilities["tier"].to_numpy()
    for tier in pd.unique(tiers):
        rows = np.flatnonzero(tiers == tier)
        if len(rows) < 2:
            continue
        sub = snap_facilities(network, facilities.iloc[rows], snap_max_m)
        nodes = facility_node_matrix(network, sub, limit, offroad_kmh=offroad_kmh)
        # Rows: the neighbour reached; columns: the facility travelling to it.
        pair = _minutes(facility_point_matrix(network, nodes, sub, sub, limit, offroad_kmh)).tocoo()
        other = pair.row != pair.col
        best = pd.Series(pair.data[other]).groupby(pair.col[other]).min()
        result[rows[best.index.to_numpy()]] = best.to_numpy()
    return result


def _referral(
    network: Network, facilities: gpd.GeoDataFrame, snap_max_m: float, offroad_kmh: float, limit: float
) -> tuple[list[str | None], np.ndarray]:
    """The next tier up and the minutes to its nearest facility, for every facility."""
    tiers = facilities["tier"].astype(str).to_numpy()
    up = [REFERRAL.get(t, (None, ()))[0] for t in tiers]
    minutes = np.full(len(facilities), np.nan)
    for target, members in {v for v in REFERRAL.values()}:
        sources = np.flatnonzero([REFERRAL.get(t, (None, ()))[0] == target for t in tiers])
        targets = np.flatnonzero(np.isin(tiers, members))
        if len(sources) == 0 or len(targets) == 0:
            continue
        target_snap = snap_facilities(network, facilities.iloc[targets], snap_max_m)
        nodes = nearest_facility_nodes(network, target_snap, "to", offroad_kmh, limit_minutes=limit)
        source_snap = snap_facilities(network, facilities.iloc[sources], snap_max_m)
        found, _ = point_minutes(network, nodes, source_snap, target_snap, offroad_kmh)
        minutes[sources] = np.where(found <= limit, found, np.nan)
    return up, minutes
