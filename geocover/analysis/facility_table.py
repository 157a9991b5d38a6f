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

from geocover.network.graph import Network
from geocover.network.snapping import Snap
from geocover.schema import REFERRAL
from geocover.travel.cells import Accessibility
from geocover.travel.matrices import facility_point_pairs, facility_point_totals
from geocover.travel.nearest import nearest_facility_nodes, point_minutes


def facility_table(
    network: Network,
    facilities: gpd.GeoDataFrame,
    access: Accessibility,
    bands_minutes: list[float],
    offroad_kmh: float,
    limit_minutes: float = 120.0,
    rows: np.ndarray | None = None,
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
        Catchment cut-offs, minutes.
    offroad_kmh : float
        Walking speed on off-road legs, km/h.
    limit_minutes : float
        Cap of the neighbour and referral searches, minutes.
    rows : numpy.ndarray, optional
        The facilities whose rows are wanted, as a boolean mask or positions (default: all). Searches
        start only from them, though every facility can be their neighbour or referral; the other rows
        get NaN (None for ``referral_tier``) except in ``catchment_exclusive_<b>``.

    Returns
    -------
    pandas.DataFrame
        One row per facility, indexed like ``facilities``.
    """
    n = len(facilities)
    wanted = np.ones(n, dtype=bool)
    if rows is not None:
        wanted[:] = False
        wanted[rows] = True
    grid = access.grid
    people = grid.population[grid.valid]
    nearest = access.facility[grid.valid]
    minutes = access.minutes[grid.valid]
    bands = sorted(bands_minutes)
    totals = np.full((n, len(bands)), np.nan)
    totals[wanted] = facility_point_totals(network, access.facility_snap.take(np.flatnonzero(wanted)),
                                           access.cell_snap, people, bands, offroad_kmh)
    out = pd.DataFrame(index=facilities.index)
    for j, band in enumerate(bands):
        label = f"{band:g}".replace(".", "_")
        out[f"catchment_total_{label}"] = totals[:, j]
        mine = (nearest >= 0) & (minutes <= band)
        out[f"catchment_exclusive_{label}"] = np.bincount(nearest[mine], weights=people[mine], minlength=n)[:n]
    tiers = facilities["tier"].to_numpy()
    snap = access.facility_snap
    out["nearest_same_tier_minutes"] = _same_tier(network, tiers, snap, wanted, offroad_kmh, limit_minutes)
    referral_tier, referral_minutes = _referral(network, facilities["tier"].astype(str).to_numpy(), snap, wanted,
                                                offroad_kmh, limit_minutes)
    out["referral_tier"] = referral_tier
    out["referral_minutes"] = referral_minutes
    return out


def _doubling(limit: float) -> list[float]:
    """Search limits in minutes: 1, 2, 4, ... below ``limit``, then ``limit``."""
    return [2.0**k for k in range(16) if 2.0**k < limit] + [limit]


def _same_tier(
    network: Network, tiers: np.ndarray, snap: Snap, wanted: np.ndarray, offroad_kmh: float, limit: float
) -> np.ndarray:
    """Minutes from each wanted facility to the nearest other facility of its tier, NaN beyond ``limit``.

    Searched out of the facility with growing limits (:func:`_doubling`): a facility whose nearest
    neighbour lies within the current limit is done, since a nearer one would lie within it too; the
    others are searched again with the next limit.
    """
    group = np.full(len(tiers), -1)
    for k, tier in enumerate(pd.unique(tiers)):
        members = tiers == tier
        group[members] = k if members.sum() > 1 else -1
    result = np.full(len(tiers), np.nan)
    pending = np.flatnonzero(wanted & snap.snapped & (group >= 0))
    for reach in _doubling(limit):
        if not len(pending):
            break
        found = _nearest_peer(network, snap, pending, group, offroad_kmh, reach)
        done = np.isfinite(found)
        result[pending[done]] = found[done]
        pending = pending[~done]
    return result


def _nearest_peer(
    network: Network, snap: Snap, sources: np.ndarray, group: np.ndarray, offroad_kmh: float, limit: float
) -> np.ndarray:
    """Minutes from facilities ``sources`` to the nearest other facility of their ``group``, inf beyond ``limit``.

    The minutes of :func:`geocover.travel.matrices.facility_point_matrix`, searched out of the sources.
    """
    best = np.full(len(sources), np.inf)
    pairs = facility_point_pairs(network, snap.take(sources), snap, limit, offroad_kmh, "from")
    for chunk, row, point, minutes in pairs:
        own = sources[chunk[row]]
        peer = (point != own) & (group[point] == group[own])
        np.minimum.at(best, chunk[row[peer]], minutes[peer])
    return best


def _referral(
    network: Network, tiers: np.ndarray, snap: Snap, wanted: np.ndarray, offroad_kmh: float, limit: float
) -> tuple[list[str | None], np.ndarray]:
    """The next tier up and the minutes to its nearest facility, for every wanted facility.

    One search spreads out from all facilities of the next tier, and is read at the wanted ones.
    """
    up = pd.Series(tiers).map({tier: target for tier, (target, _) in REFERRAL.items()}).to_numpy(dtype=object)
    up[~wanted | pd.isna(up)] = None
    minutes = np.full(len(tiers), np.nan)
    for target, members in {v for v in REFERRAL.values()}:
        sources = np.flatnonzero(up == target)
        targets = np.flatnonzero(np.isin(tiers, members))
        if len(sources) == 0 or len(targets) == 0:
            continue
        target_snap = snap.take(targets)
        nodes = nearest_facility_nodes(network, target_snap, "to", offroad_kmh, limit_minutes=limit)
        found, _ = point_minutes(network, nodes, snap.take(sources), target_snap, offroad_kmh)
        minutes[sources] = np.where(found <= limit, found, np.nan)
    return up.tolist(), minutes
