"""Snap points to the nearest road segment, keeping their position along it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from geocover.network import Network


@dataclass
class Snap:
    """Where points join the network.

    Attributes
    ----------
    edge : numpy.ndarray of int64
        Segment index, -1 where no segment lies within the snap distance.
    fraction : numpy.ndarray of float64
        Position along the segment from ``u`` (0) to ``v`` (1).
    offset_m : numpy.ndarray of float64
        Off-road distance from the point to the segment in metres, ``inf`` when unsnapped.
    """

    edge: np.ndarray
    fraction: np.ndarray
    offset_m: np.ndarray

    @property
    def snapped(self) -> np.ndarray:
        """Boolean mask of points that reached a segment."""
        return self.edge >= 0

    def __len__(self) -> int:
        return len(self.edge)


def snap_points(network: Network, x: np.ndarray, y: np.ndarray, max_distance_m: float) -> Snap:
    """Snap points to their nearest segment of ``network``.

    Parameters
    ----------
    network : Network
    x, y : numpy.ndarray
        Point coordinates in ``network.crs`` (metres).
    max_distance_m : float
        Points farther than this from every segment stay unsnapped (unreachable).

    Returns
    -------
    Snap
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = len(x)
    edge = np.full(n, -1, dtype=np.int64)
    fraction = np.zeros(n)
    offset = np.full(n, np.inf)
    if n == 0 or network.n_edges == 0:
        return Snap(edge, fraction, offset)
    points = shapely.points(x, y)
    (point_idx, seg_idx), distance = network.tree.query_nearest(
        points, max_distance=max_distance_m, return_distance=True, all_matches=False
    )
    ax, ay = network.x[network.u[seg_idx]], network.y[network.u[seg_idx]]
    bx, by = network.x[network.v[seg_idx]], network.y[network.v[seg_idx]]
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = ((x[point_idx] - ax) * dx + (y[point_idx] - ay) * dy) / length2
    t = np.clip(np.nan_to_num(t, nan=0.0), 0.0, 1.0)
    edge[point_idx] = seg_idx
    fraction[point_idx] = t
    offset[point_idx] = distance
    return Snap(edge, fraction, offset)
