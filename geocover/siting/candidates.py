"""Candidate sites for new facilities, and the rules that exclude some.

Every function returns a GeoDataFrame of points with ``candidate_id`` (1..n),
``rule`` (what made the candidate: ``file``, ``road_node``, ``road_midpoint``,
``cell``, ``gap_cell``, ``seat``) and ``source_id`` (the row, node, segment or
cell it came from). Existing facilities are never candidates: the models keep
them fixed through their coverage. Exclusions drop rows and add the count they
dropped to ``attrs["excluded"]``. :func:`radius_matrix` gives what candidates
reach by straight line.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import scipy.sparse as sp
import shapely
from scipy.spatial import cKDTree

from geocover.io.population import PopulationGrid
from geocover.network.graph import Network

COLUMNS = ["candidate_id", "rule", "source_id"]


def _frame(x: np.ndarray, y: np.ndarray, crs: pyproj.CRS, rule: str, source_id: np.ndarray,
           extra: dict | None = None) -> gpd.GeoDataFrame:
    data = {"candidate_id": np.arange(1, len(x) + 1), "rule": rule, "source_id": np.asarray(source_id)}
    frame = gpd.GeoDataFrame({**data, **(extra or {})}, geometry=gpd.points_from_xy(x, y), crs=crs)
    frame.attrs["excluded"] = {}
    return frame


def _metric(frame: gpd.GeoDataFrame) -> None:
    if frame.crs is None or not frame.crs.is_projected:
        raise ValueError("candidates need a projected (metric) CRS: reproject them first, e.g. to network.crs")


def from_file(source: str | Path | gpd.GeoDataFrame, crs: pyproj.CRS | str | None = None,
              id_column: str | None = None, name_column: str | None = None) -> gpd.GeoDataFrame:
    """Candidates a user lists: a point layer (GeoPackage, shapefile, GeoJSON) or a GeoDataFrame.

    Parameters
    ----------
    source : path or geopandas.GeoDataFrame
        Point geometries with a CRS.
    crs : pyproj.CRS or str, optional
        Reproject to this (metric) CRS, e.g. ``network.crs``.
    id_column, name_column : str, optional
        Columns kept as ``source_id`` (the row number otherwise) and ``name``.

    Returns
    -------
    geopandas.GeoDataFrame
    """
    frame = source if isinstance(source, gpd.GeoDataFrame) else pyogrio.read_dataframe(source)
    if frame.crs is None:
        raise ValueError(f"{source}: the candidate layer has no CRS")
    if not frame.geometry.geom_type.eq("Point").all():
        raise ValueError(f"{source}: candidates must be points")
    if crs is not None:
        frame = frame.to_crs(crs)
    source_id = frame[id_column].to_numpy() if id_column else np.arange(len(frame))
    extra = {"name": frame[name_column].astype(str).to_numpy()} if name_column else None
    return _frame(frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy(), frame.crs, "file", source_id, extra)


def from_network_nodes(network: Network, spacing_m: float | None = None) -> gpd.GeoDataFrame:
    """Road junctions and bends as candidates, ``source_id`` the node index, in ``network.crs``.

    Parameters
    ----------
    network : Network
    spacing_m : float, optional
        Keep at most one node per square of this side, metres (see :func:`thin`).
    """
    frame = _frame(network.x, network.y, network.crs, "road_node", np.arange(network.n_nodes))
    return thin(frame, spacing_m) if spacing_m else frame


def from_segment_midpoints(network: Network, spacing_m: float | None = None) -> gpd.GeoDataFrame:
    """Midpoints of road segments as candidates, ``source_id`` the segment index, in ``network.crs``."""
    x = (network.x[network.u] + network.x[network.v]) / 2.0
    y = (network.y[network.u] + network.y[network.v]) / 2.0
    frame = _frame(x, y, network.crs, "road_midpoint", np.arange(network.n_edges))
    return thin(frame, spacing_m) if spacing_m else frame


def from_cells(grid: PopulationGrid, crs: pyproj.CRS | str, minutes: np.ndarray | None = None,
               target_minutes: float | None = None, min_population: float = 0.0,
               spacing_m: float | None = None) -> gpd.GeoDataFrame:
    """Centres of populated cells as candidates, or only those in gap areas.

    Parameters
    ----------
    grid : PopulationGrid
    crs : pyproj.CRS or str
        Metric CRS of the result (``network.crs``).
    minutes : numpy.ndarray, optional
        Minutes to the nearest facility per valid cell (row-major ``grid.valid`` order) or on
        the grid; with ``target_minutes`` only cells beyond it or unreachable are kept (rule
        ``gap_cell``).
    target_minutes : float, optional
    min_population : float
        Keep cells with more people than this.
    spacing_m : float, optional
        Keep the most populated cell per square of this side, metres.

    Returns
    -------
    geopandas.GeoDataFrame
        ``source_id`` is the cell's position among the valid cells (the matrix column), with
        ``population``.
    """
    people = grid.population[grid.valid]
    keep = people > min_population
    rule = "cell"
    if target_minutes is not None:
        if minutes is None:
            raise ValueError("gap cells need the minutes per cell")
        per_cell = minutes[grid.valid] if np.shape(minutes) == grid.shape else np.asarray(minutes)
        keep &= ~(per_cell <= target_minutes)
        rule = "gap_cell"
    index = np.flatnonzero(keep)
    x, y = grid.centres()
    x, y = pyproj.Transformer.from_crs(grid.crs, crs, always_xy=True).transform(x[index], y[index])
    frame = _frame(np.asarray(x), np.asarray(y), pyproj.CRS.from_user_input(crs), rule, index,
                   {"population": people[index]})
    return thin(frame, spacing_m, by="population") if spacing_m else frame


def from_seats(seats: gpd.GeoDataFrame | None = None, zones: gpd.GeoDataFrame | None = None,
               crs: pyproj.CRS | str | None = None, name_column: str | None = None) -> gpd.GeoDataFrame:
    """Township seats as candidates: a point layer of seats, or else a point inside each zone.

    Parameters
    ----------
    seats : geopandas.GeoDataFrame, optional
        Seat points (e.g. township government locations).
    zones : geopandas.GeoDataFrame, optional
        Zone polygons with ``zone_id``/``zone_name``, used when ``seats`` is not given: each
        zone's representative point (inside the polygon) stands for its seat.
    crs : pyproj.CRS or str, optional
        Metric CRS of the result.
    name_column : str, optional
        Name column of ``seats``.
    """
    if seats is None and zones is None:
        raise ValueError("give township seats or zones")
    if seats is not None:
        frame = from_file(seats, crs, name_column=name_column)
        frame["rule"] = "seat"
        return frame
    points = zones.geometry.representative_point()
    points = points.to_crs(crs) if crs is not None else points
    extra = {"name": zones["zone_name"].astype(str).to_numpy()} if "zone_name" in zones else None
    source = zones["zone_id"].to_numpy() if "zone_id" in zones else np.arange(len(zones))
    return _frame(points.x.to_numpy(), points.y.to_numpy(), points.crs, "seat", source, extra)


def thin(candidates: gpd.GeoDataFrame, spacing_m: float, by: str | None = None) -> gpd.GeoDataFrame:
    """Keep one candidate per square of ``spacing_m`` metres: the first, or the largest ``by``."""
    _metric(candidates)
    order = np.arange(len(candidates)) if by is None else np.argsort(-candidates[by].to_numpy(), kind="stable")
    x = candidates.geometry.x.to_numpy()[order]
    y = candidates.geometry.y.to_numpy()[order]
    squares = np.column_stack([np.floor(x / spacing_m), np.floor(y / spacing_m)])
    _, first = np.unique(squares, axis=0, return_index=True)
    return _drop(candidates, np.sort(order[first]), "thinned")


def _drop(candidates: gpd.GeoDataFrame, keep: np.ndarray, reason: str) -> gpd.GeoDataFrame:
    """Rows ``keep`` (positions or mask), renumbered, with the dropped count under ``reason``."""
    out = candidates.iloc[keep].reset_index(drop=True)
    out["candidate_id"] = np.arange(1, len(out) + 1)
    excluded = dict(candidates.attrs.get("excluded", {}))
    excluded[reason] = excluded.get(reason, 0) + len(candidates) - len(out)
    out.attrs["excluded"] = excluded
    return out


def exclude_near(candidates: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame,
                 min_distance_m: float) -> gpd.GeoDataFrame:
    """Drop candidates closer than ``min_distance_m`` metres (straight line) to an existing facility."""
    _metric(candidates)
    if facilities.empty or min_distance_m <= 0:
        return _drop(candidates, np.arange(len(candidates)), "near_existing")
    points = facilities.geometry.to_crs(candidates.crs)
    tree = cKDTree(np.column_stack([points.x, points.y]))
    distance, _ = tree.query(np.column_stack([candidates.geometry.x, candidates.geometry.y]))
    return _drop(candidates, distance >= min_distance_m, "near_existing")


def keep_in_zones(candidates: gpd.GeoDataFrame, zones: gpd.GeoDataFrame,
                  inside: bool = True) -> gpd.GeoDataFrame:
    """Keep candidates inside the zones' polygons (``inside=False``: drop those inside, e.g. reserves)."""
    area = zones.to_crs(candidates.crs).geometry.union_all()
    within = shapely.contains_xy(area, candidates.geometry.x.to_numpy(), candidates.geometry.y.to_numpy())
    return _drop(candidates, within if inside else ~within, "outside_zone" if inside else "inside_zone")


def keep_on_road(candidates: gpd.GeoDataFrame, network: Network, snap_max_m: float) -> gpd.GeoDataFrame:
    """Keep candidates within ``snap_max_m`` metres of a road segment of ``network``."""
    points = candidates.geometry.to_crs(network.crs).to_numpy()
    hits, _ = network.tree.query_nearest(points, max_distance=snap_max_m, return_distance=True)
    near = np.zeros(len(candidates), dtype=bool)
    near[hits[0]] = True
    return _drop(candidates, near, "off_road")


def combine(*frames: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Candidates of several rules in one frame (the CRS of the first), renumbered, exclusions summed."""
    if not frames:
        raise ValueError("nothing to combine")
    crs = frames[0].crs
    out = gpd.GeoDataFrame(pd.concat([f.to_crs(crs) for f in frames], ignore_index=True), crs=crs)
    out["candidate_id"] = np.arange(1, len(out) + 1)
    excluded: dict[str, int] = {}
    for frame in frames:
        for reason, count in frame.attrs.get("excluded", {}).items():
            excluded[reason] = excluded.get(reason, 0) + count
    out.attrs["excluded"] = excluded
    return out


def radius_matrix(source_xy: np.ndarray, cell_xy: np.ndarray, radius_m: np.ndarray | float) -> sp.csr_matrix:
    """Straight-line distances (m) from sources to the cells within each cell's radius.

    Parameters
    ----------
    source_xy, cell_xy : numpy.ndarray, shape (n, 2)
        Metric coordinates, metres.
    radius_m : float or numpy.ndarray
        Radius per cell, metres.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_sources, n_cells)
        Metres; explicit zeros kept.
    """
    source_xy = np.asarray(source_xy, dtype=np.float64).reshape(-1, 2)
    cell_xy = np.asarray(cell_xy, dtype=np.float64).reshape(-1, 2)
    radius = np.broadcast_to(np.asarray(radius_m, dtype=np.float64), (len(cell_xy),))
    shape = (len(source_xy), len(cell_xy))
    if not len(source_xy) or not len(cell_xy):
        return sp.csr_matrix(shape)
    pairs = cKDTree(cell_xy).sparse_distance_matrix(cKDTree(source_xy), float(radius.max()), output_type="ndarray")
    keep = pairs["v"] <= radius[pairs["i"]]
    pairs = pairs[keep]
    return sp.csr_matrix((pairs["v"], (pairs["j"], pairs["i"])), shape=shape)
