"""Origin × destination travel times within a cut-off, GeoDataFrames in, a labelled sparse matrix out.

The notebook face of :mod:`geocover.travel.matrices`: points are snapped to the network, the side with
fewer points is searched (bounded Dijkstra from each of its points, out from origins or back from
destinations), and the pairs within the limit come back as a SciPy matrix with both indexes. A
matrix of residents' cells to candidate sites feeds the siting models as it is (transposed:
:class:`~geocover.siting.models.MaximalCovering` takes candidates as rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from geocover.network.graph import WALK_SPEED_KMH, Network
from geocover.travel.cells import snap_facilities
from geocover.travel.matrices import OFFSET_MINUTES, facility_node_matrix, facility_point_matrix


@dataclass
class TravelTimeMatrix:
    """Minutes from origins to destinations, for the pairs within a limit.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix, shape (n_origins, n_destinations)
        Minutes from origin ``i`` to destination ``j`` where stored; a pair beyond the limit or
        unreachable is not stored. A pair 0 minutes apart is an explicit zero: do not call
        ``eliminate_zeros``.
    origin_index, destination_index : pandas.Index
        The index of the origins and destinations GeoDataFrames, in row and column order.
    origin_snapped, destination_snapped : numpy.ndarray of bool
        Points within the snap distance of a road; the others have no stored pair.
    limit_minutes : float
    """

    matrix: sp.csr_matrix
    origin_index: pd.Index
    destination_index: pd.Index
    origin_snapped: np.ndarray
    destination_snapped: np.ndarray
    limit_minutes: float

    def to_frame(self) -> pd.DataFrame:
        """One row per stored pair: ``origin``, ``destination`` (index labels) and ``minutes``."""
        coo = self.matrix.tocoo()
        return pd.DataFrame({"origin": self.origin_index[coo.row], "destination": self.destination_index[coo.col],
                             "minutes": coo.data})


def travel_time_matrix(
    network: Network,
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame,
    limit_minutes: float,
    snap_max_m: float = 500.0,
    offroad_kmh: float = WALK_SPEED_KMH,
) -> TravelTimeMatrix:
    """Minutes from every origin to every destination within ``limit_minutes``, as a sparse matrix.

    A trip walks from the origin to its nearest road at ``offroad_kmh``, follows the network (one-way
    streets respected) and walks off the road to the destination, as :func:`geocover.cell_accessibility`
    computes a cell's minutes to its nearest facility.

    Parameters
    ----------
    network : Network
        Costed in minutes (``network.cost_unit == "minutes"``).
    origins, destinations : geopandas.GeoDataFrame
        Points, any CRS.
    limit_minutes : float
        Cut-off in minutes: only the pairs at most this far apart are stored.
    snap_max_m : float
        Points farther from every road, in metres, reach nothing.
    offroad_kmh : float
        Walking speed on the off-road legs, km/h.

    Returns
    -------
    TravelTimeMatrix
    """
    if network.cost_unit != "minutes":
        raise ValueError(f"the network is costed in {network.cost_unit}: travel times need one in minutes")
    for name, frame in (("origins", origins), ("destinations", destinations)):
        kinds = set(frame.geometry.geom_type.dropna())
        if kinds - {"Point"}:
            raise ValueError(f"{name} must be points, got {sorted(kinds)}: use .representative_point() for areas")
    origin_snap = snap_facilities(network, origins, snap_max_m)
    destination_snap = snap_facilities(network, destinations, snap_max_m)
    # Search from the smaller side: out of each origin, or back from each destination (then transposed).
    from_origins = origin_snap.snapped.sum() <= destination_snap.snapped.sum()
    searched, other = (origin_snap, destination_snap) if from_origins else (destination_snap, origin_snap)
    direction = "from" if from_origins else "to"
    nodes = facility_node_matrix(network, searched, limit_minutes, direction=direction, offroad_kmh=offroad_kmh)
    matrix = facility_point_matrix(network, nodes, other, searched, limit_minutes, offroad_kmh=offroad_kmh,
                                   direction=direction)
    matrix.data = np.maximum(matrix.data - OFFSET_MINUTES, 0.0)
    matrix = matrix if from_origins else matrix.T.tocsr()
    matrix.sort_indices()
    return TravelTimeMatrix(matrix=matrix, origin_index=origins.index, destination_index=destinations.index,
                            origin_snapped=origin_snap.snapped, destination_snapped=destination_snap.snapped,
                            limit_minutes=float(limit_minutes))
