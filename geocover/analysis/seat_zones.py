"""Zones derived from seat points (township governments) by network Voronoi, where polygons are missing.

The rule: inside each parent zone (a county), every population cell belongs to the seat
of that parent it reaches first over the road network (the scenario's mode); a cell no
seat reaches goes to the nearest seat of the parent in a straight line. The cells of
each seat, traced as polygons and clipped to the parent's boundary, are its zone.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
from scipy.spatial import cKDTree

from geocover.analysis.polygons import reprojected, trace_polygons
from geocover.io.population import PopulationGrid
from geocover.network.graph import Network
from geocover.network.snapping import Snap
from geocover.travel.cells import cell_accessibility


def network_voronoi(
    network: Network,
    seats: gpd.GeoDataFrame,
    grid: PopulationGrid,
    parents: gpd.GeoDataFrame,
    snap_max_m: float,
    offroad_kmh: float,
    cell_snap: Snap | None = None,
) -> gpd.GeoDataFrame:
    """Zones of the seats by network Voronoi inside their parents.

    Parameters
    ----------
    network : Network
    seats : geopandas.GeoDataFrame
        Points with ``zone_id`` and ``zone_name``.
    grid : PopulationGrid
    parents : geopandas.GeoDataFrame
        Parent zones (``zone_id``, polygons); a seat belongs to the parent holding it.
    snap_max_m, offroad_kmh : float
    cell_snap : Snap, optional
        The grid's cells snapped to ``network``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``zone_id``, ``zone_name``, ``parent_id`` and polygons in EPSG:4326, one row per seat that got cells.
    """
    seats = seats.to_crs(parents.crs).reset_index(drop=True)
    parent_of_seat = gpd.sjoin(seats, parents[["zone_id", "geometry"]].rename(columns={"zone_id": "parent_id"}),
                               predicate="within").groupby(level=0)["parent_id"].first()
    seats["parent_id"] = parent_of_seat.reindex(seats.index)
    parent_labels = grid.labels(parents)[grid.valid]
    owner = np.full(int(grid.valid.sum()), -1, dtype=np.int64)
    x, y = pyproj.Transformer.from_crs(grid.crs, network.crs, always_xy=True).transform(*grid.centres())
    for number, parent in enumerate(parents.itertuples(index=False), start=1):
        mine = np.flatnonzero(seats["parent_id"] == parent.zone_id)
        cells = parent_labels == number
        if len(mine) == 0 or not cells.any():
            continue
        access = cell_accessibility(network, seats.iloc[mine], grid, snap_max_m, offroad_kmh, cell_snap=cell_snap)
        nearest = access.facility[grid.valid][cells]
        unreached = nearest < 0
        if unreached.any():
            points = seats.geometry.iloc[mine].to_crs(network.crs)
            tree = cKDTree(np.column_stack([points.x, points.y]))
            nearest[unreached] = tree.query(np.column_stack([x[cells][unreached], y[cells][unreached]]))[1]
        owner[cells] = mine[nearest]
    labels = np.zeros(grid.shape, dtype=np.int64)
    labels[grid.valid] = owner + 1
    traced = reprojected(trace_polygons(grid, labels), parents.crs).set_index("label")
    rows = []
    for label, polygon in traced.geometry.items():
        seat = seats.iloc[int(label) - 1]
        boundary = parents.loc[parents["zone_id"] == seat["parent_id"], "geometry"].iloc[0]
        rows.append({"zone_id": seat["zone_id"], "zone_name": seat["zone_name"], "parent_id": seat["parent_id"],
                     "geometry": polygon.intersection(boundary)})
    frame = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["zone_id", "zone_name", "parent_id", "geometry"]),
                             geometry="geometry", crs=parents.crs)
    return frame.to_crs("EPSG:4326")
