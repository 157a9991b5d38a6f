"""Minutes from points (health centres, villages) to the nearest of some target points, on the network."""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from geocover.network.graph import WALK_SPEED_KMH, Network
from geocover.travel.cells import snap_facilities
from geocover.travel.nearest import nearest_facility_nodes, point_minutes


def nearest_minutes(
    network: Network,
    origins: gpd.GeoDataFrame,
    targets: gpd.GeoDataFrame,
    snap_max_m: float,
    offroad_kmh: float = WALK_SPEED_KMH,
) -> tuple[np.ndarray, np.ndarray]:
    """Minutes from each origin to its nearest target, in one multi-source search from the targets.

    A trip walks from the origin to its road at ``offroad_kmh``, follows the network (one-way streets
    respected) and walks off the road to the target, as every travel time of geocover.

    Parameters
    ----------
    network : Network
        Costed in minutes.
    origins, targets : geopandas.GeoDataFrame
        Points, any CRS.
    snap_max_m : float
        Points farther from every road, metres, reach nothing.
    offroad_kmh : float
        Walking speed of the off-road legs, km/h.

    Returns
    -------
    minutes : numpy.ndarray of float
        ``inf`` when no target is reached.
    target : numpy.ndarray of int
        Position in ``targets`` of the nearest one, -1 when none.
    """
    if targets.empty or origins.empty:
        return np.full(len(origins), np.inf), np.full(len(origins), -1)
    target_snap = snap_facilities(network, targets, snap_max_m)
    nodes = nearest_facility_nodes(network, target_snap, "to", offroad_kmh)
    return point_minutes(network, nodes, snap_facilities(network, origins, snap_max_m), target_snap, offroad_kmh)
