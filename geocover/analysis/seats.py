"""Travel time from each zone to the seat of its county (县城), for central township health centre siting.

Each zone is represented by a point inside it (its representative point); the county seat is
the zone of the same parent marked ``is_county_seat`` (城关镇, or a ``county_seat_column``).
The minutes are those of a resident of the zone's point driving to the seat's point.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geocover.network.graph import Network
from geocover.network.snapping import snap_points
from geocover.travel.nearest import nearest_facility_nodes, point_minutes


def minutes_to_county_seat(
    zones: gpd.GeoDataFrame, network: Network, snap_max_m: float, offroad_kmh: float
) -> pd.Series:
    """Minutes from every zone with a parent to its parent's seat zone.

    Parameters
    ----------
    zones : geopandas.GeoDataFrame
        With ``parent_id`` and ``is_county_seat``.
    network : Network
        Usually the drive network.
    snap_max_m, offroad_kmh : float

    Returns
    -------
    pandas.Series
        Indexed like ``zones``; NaN where the zone has no parent with a seat, ``inf`` if unreachable.
    """
    out = pd.Series(np.nan, index=zones.index)
    points = zones.geometry.representative_point().to_crs(network.crs)
    snap = snap_points(network, points.x.to_numpy(), points.y.to_numpy(), snap_max_m)
    positions = pd.Series(np.arange(len(zones)), index=zones.index)
    for _, children in zones[zones["parent_id"].notna()].groupby("parent_id"):
        seat = children.index[children["is_county_seat"].astype(bool)]
        if len(seat) == 0:
            continue
        k = positions[seat[:1]].to_numpy()
        seat_snap = snap.take(k)
        nodes = nearest_facility_nodes(network, seat_snap, "to", offroad_kmh)
        rows = positions[children.index].to_numpy()
        child_snap = snap.take(rows)
        minutes, _ = point_minutes(network, nodes, child_snap, seat_snap, offroad_kmh)
        out[children.index] = minutes
    return out
