"""The rural emergency chain 县级急救中心 → 中心乡镇卫生院 → 乡镇卫生院 (Shanxi, #15).

For each township health centre: the minutes to its nearest central township health centre and to
its county's emergency centre (the emergency centre of the same 6-digit county code when the
facilities carry ``township_code``; the nearest one otherwise). A trip leaves the township health
centre, walks to its road at ``offroad_kmh``, follows the network (one-way streets respected) and
walks off the road at the other end, as every travel time of geocover: one multi-source search per
target set (:func:`geocover.travel.points.nearest_minutes`), never a graph library.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geocover.network.graph import WALK_SPEED_KMH, Network
from geocover.travel.points import nearest_minutes

CENTRE_TIERS = ("township_health_centre", "central_township_health_centre")
COLUMNS = (
    "facility_id", "name", "tier", "county_code", "central_thc_id", "central_thc_name", "minutes_to_central_thc",
    "emergency_centre_id", "emergency_centre_name", "minutes_to_emergency_centre", "emergency_centre_scope",
)


def _county(facilities: gpd.GeoDataFrame) -> pd.Series:
    """The 6-digit county code of each facility from ``township_code``; None where unknown."""
    if "township_code" not in facilities.columns:
        return pd.Series(None, index=facilities.index, dtype=object)
    digits = facilities["township_code"].astype(str).str.replace(r"\D", "", regex=True)
    return digits.where(digits.str.len() >= 6).str[:6]


def emergency_chain(
    network: Network,
    facilities: gpd.GeoDataFrame,
    snap_max_m: float,
    offroad_kmh: float = WALK_SPEED_KMH,
) -> pd.DataFrame | None:
    """Minutes from every township health centre to its central one and to its county emergency centre.

    Parameters
    ----------
    network : Network
        Costed in minutes, usually the drive network.
    facilities : geopandas.GeoDataFrame
        With ``facility_id``, ``name``, ``tier`` and optionally ``township_code`` (12 digits).
    snap_max_m : float
        Facilities farther from every road, metres, reach nothing.
    offroad_kmh : float
        Walking speed of the off-road legs, km/h.

    Returns
    -------
    pandas.DataFrame or None
        One row per township health centre (central ones included: 0 minutes to themselves), columns
        :data:`COLUMNS`; minutes are ``inf`` when unreachable, ids None when none is reached. None when
        the layer has no township health centre, or neither central ones nor emergency centres.
    """
    tiers = facilities["tier"].astype(str)
    centres = facilities[tiers.isin(CENTRE_TIERS)]
    central = facilities[tiers == "central_township_health_centre"]
    emergency = facilities[tiers == "emergency_centre"]
    if centres.empty or (central.empty and emergency.empty):
        return None
    county = _county(facilities)
    out = pd.DataFrame({"facility_id": centres["facility_id"].to_numpy(), "name": centres["name"].to_numpy(),
                        "tier": centres["tier"].to_numpy(), "county_code": county[centres.index].to_numpy()})
    minutes, row = nearest_minutes(network, centres, central, snap_max_m, offroad_kmh)
    itself = (out["tier"] == "central_township_health_centre").to_numpy()
    minutes[itself], row[itself] = 0.0, central.index.get_indexer(centres.index[itself])
    _assign(out, "central_thc", np.arange(len(centres)), minutes, row, central)
    out["minutes_to_central_thc"] = minutes
    by_county = county[emergency.index].notna().any()
    codes = out["county_code"].where(by_county & out["county_code"].notna(), "")
    out["minutes_to_emergency_centre"] = np.inf
    out["emergency_centre_scope"] = np.where(codes != "", "same county", "nearest")
    for code, rows in out.groupby(codes).groups.items():
        rows = np.asarray(rows)
        targets = emergency[county[emergency.index] == code] if code else emergency
        minutes, row = nearest_minutes(network, centres.iloc[rows], targets, snap_max_m, offroad_kmh)
        out.loc[rows, "minutes_to_emergency_centre"] = minutes
        _assign(out, "emergency_centre", rows, minutes, row, targets)
    return out[list(COLUMNS)]


def _assign(out: pd.DataFrame, prefix: str, rows: np.ndarray, minutes: np.ndarray, row: np.ndarray,
            targets: gpd.GeoDataFrame) -> None:
    """Id and name of the target reached from ``rows`` of ``out`` (None where none is)."""
    for column in ("id", "name"):
        values = targets["facility_id" if column == "id" else "name"].to_numpy(dtype=object)
        reached = np.isfinite(minutes) & (row >= 0)
        found = np.where(reached, values[np.clip(row, 0, max(len(values) - 1, 0))] if len(values) else None, None)
        if f"{prefix}_{column}" not in out.columns:
            out[f"{prefix}_{column}"] = None
        out.loc[rows, f"{prefix}_{column}"] = found
