"""Service-area and gap polygons traced from the per-cell travel times.

Polygons are the outlines of grid cells, so they follow the road network and
the coast, never bridge water (sea cells have no data) and agree with the zone
table cell for cell.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
import shapely
from scipy import ndimage

from geocover.io.population import PopulationGrid
from geocover.io.utm import utm_crs


def trace_polygons(grid: PopulationGrid, labels: np.ndarray) -> gpd.GeoDataFrame:
    """Dissolved polygons of each positive label of ``labels`` (4-connected cells).

    Parameters
    ----------
    grid : PopulationGrid
        Grid whose transform and CRS place the cells.
    labels : numpy.ndarray of int, shape ``grid.shape``
        Label per cell; cells labelled 0 or less belong to no polygon.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per positive label, sorted by ``label``, in the grid's CRS: the
        label's (Multi)Polygon, one part per 4-connected group of its cells.
    """
    shapes = rasterio.features.shapes(
        labels.astype(np.int32), mask=labels > 0, connectivity=4, transform=grid.transform
    )
    values, polygons = _polygons_from_shapes(shapes)
    if not len(values):
        return gpd.GeoDataFrame({"label": []}, geometry=[], crs=grid.crs)
    label, geometry = _dissolve_parts(values, polygons)
    return gpd.GeoDataFrame({"label": label}, geometry=geometry, crs=grid.crs)


def _polygons_from_shapes(shapes: Iterable[tuple[dict, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Labels and shapely Polygons of the GeoJSON-like polygons of ``rasterio.features.shapes``.

    Every ring's coordinates are gathered into one array and the polygons built at once.

    Parameters
    ----------
    shapes : iterable of (dict, float)
        GeoJSON-like polygon and its label value.

    Returns
    -------
    values : numpy.ndarray of int64
    polygons : numpy.ndarray of shapely.Polygon
    """
    values = []
    polygon_rings = []
    for geometry, value in shapes:
        values.append(value)
        polygon_rings.append(geometry["coordinates"])
    rings = list(chain.from_iterable(polygon_rings))
    ring_sizes = np.fromiter(map(len, rings), np.int64, len(rings))
    polygon_sizes = np.fromiter(map(len, polygon_rings), np.int64, len(polygon_rings))
    coords = np.fromiter(
        chain.from_iterable(chain.from_iterable(rings)), np.float64, 2 * int(ring_sizes.sum())
    ).reshape(-1, 2)
    offsets = (np.concatenate([[0], np.cumsum(ring_sizes)]), np.concatenate([[0], np.cumsum(polygon_sizes)]))
    polygons = shapely.from_ragged_array(shapely.GeometryType.POLYGON, coords, offsets)
    return np.asarray(values, dtype=np.int64), polygons


def _dissolve_parts(values: np.ndarray, polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One geometry per label from polygons that never overlap nor share an edge.

    The parts of one label traced with 4-connectivity touch at most at corners
    (or lie in one another's holes), so their union is the MultiPolygon of the
    parts, built here without any overlay.

    Parameters
    ----------
    values : numpy.ndarray of int
        Label of each polygon.
    polygons : numpy.ndarray of shapely.Polygon

    Returns
    -------
    labels : numpy.ndarray of int
        Distinct labels, ascending.
    geometries : numpy.ndarray of shapely geometry
        The Polygon of each single-part label, the MultiPolygon of the others.
    """
    order = np.argsort(values, kind="stable")
    values, polygons = values[order], polygons[order]
    labels, first, counts = np.unique(values, return_index=True, return_counts=True)
    geometries = polygons[first]
    several = counts > 1
    if several.any():
        parts = np.repeat(several, counts)
        groups = np.repeat(np.arange(several.sum()), counts[several])
        geometries[several] = shapely.multipolygons(polygons[parts], indices=groups)
    return labels, geometries


def repaired(geometry: np.ndarray) -> np.ndarray:
    """The geometries with the invalid ones made valid, polygons kept polygonal.

    Cell outlines are valid in the grid's CRS, but reprojected (or shifted to GCJ-02) a hole that
    touches its shell at one corner can cross it by a rounding error, which GEOS then refuses.
    """
    geometry = np.asarray(geometry, dtype=object).copy()
    bad = ~shapely.is_valid(geometry) & ~shapely.is_missing(geometry)
    if bad.any():
        geometry[bad] = shapely.make_valid(geometry[bad], method="structure", keep_collapsed=False)
    return geometry


def reprojected(frame: gpd.GeoDataFrame, crs: object = "EPSG:4326") -> gpd.GeoDataFrame:
    """Traced polygons ``frame`` reprojected to ``crs`` with their geometries :func:`repaired`."""
    out = frame.to_crs(crs)
    return out.set_geometry(repaired(out.geometry.to_numpy()), crs=out.crs)


def service_areas(
    grid: PopulationGrid, minutes: np.ndarray, bands_minutes: Sequence[float]
) -> gpd.GeoDataFrame:
    """Nested polygons of the cells within each band of the nearest facility.

    Parameters
    ----------
    grid : PopulationGrid
    minutes : numpy.ndarray, shape ``grid.shape``
        Minutes to the nearest facility; NaN or ``inf`` where unreachable.
    bands_minutes : sequence of float

    Returns
    -------
    geopandas.GeoDataFrame
        One row per band (``band_minutes``, ``population``, ``area_km2``), EPSG:4326.
    """
    rows = []
    with np.errstate(invalid="ignore"):
        for band in sorted(bands_minutes):
            inside = grid.valid & (minutes <= band)
            polygons = trace_polygons(grid, inside.astype(np.int32))
            # One label: its row is already the dissolved area of the band.
            geometry = polygons.geometry.iloc[0] if len(polygons) else None
            rows.append({
                "band_minutes": float(band),
                "population": float(grid.population[inside].sum()),
                "cells": int(inside.sum()),
                "geometry": geometry,
            })
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=grid.crs)
    frame["area_km2"] = _area_km2(frame)
    return reprojected(frame)


def gap_polygons(grid: PopulationGrid, minutes: np.ndarray, target_minutes: float) -> gpd.GeoDataFrame:
    """Connected areas of populated cells beyond the target or unreachable.

    Parameters
    ----------
    grid : PopulationGrid
    minutes : numpy.ndarray, shape ``grid.shape``
    target_minutes : float

    Returns
    -------
    geopandas.GeoDataFrame
        One row per 4-connected gap, largest population first: ``gap_id``,
        ``population``, ``unreachable_population``, ``cells``, ``max_minutes``
        (over its reachable cells), ``area_km2``, EPSG:4326.
    """
    with np.errstate(invalid="ignore"):
        unreachable = grid.valid & ~np.isfinite(minutes)
        gap = grid.valid & (grid.population > 0) & (unreachable | (minutes > target_minutes))
    labels, count = ndimage.label(gap)
    if count == 0:
        return gpd.GeoDataFrame(
            {"gap_id": [], "population": [], "unreachable_population": [], "cells": [],
             "max_minutes": [], "area_km2": []},
            geometry=[], crs="EPSG:4326",
        )
    index = np.arange(1, count + 1)
    population = ndimage.sum(grid.population, labels, index)
    lost = ndimage.sum(np.where(unreachable, grid.population, 0.0), labels, index)
    cells = ndimage.sum(gap, labels, index)
    finite = np.where(np.isfinite(minutes), minutes, -np.inf)
    worst = ndimage.maximum(finite, labels, index)
    polygons = trace_polygons(grid, labels).set_index("label").reindex(index)
    frame = gpd.GeoDataFrame(
        {
            "population": population,
            "unreachable_population": lost,
            "cells": cells.astype(int),
            "max_minutes": np.where(np.isfinite(worst), worst, np.nan),
        },
        geometry=polygons.geometry.to_numpy(),
        crs=grid.crs,
    )
    frame["area_km2"] = _area_km2(frame)
    frame = frame.sort_values("population", ascending=False, kind="stable").reset_index(drop=True)
    frame.insert(0, "gap_id", np.arange(1, len(frame) + 1))
    return reprojected(frame)


def _area_km2(frame: gpd.GeoDataFrame) -> np.ndarray:
    if frame.empty or frame.geometry.isna().all():
        return np.zeros(len(frame))
    metric = frame.to_crs(utm_crs(frame))
    return metric.geometry.area.fillna(0.0).to_numpy() / 1e6


def catchment_polygons(
    grid: PopulationGrid, minutes: np.ndarray, nearest: np.ndarray, bands_minutes: Sequence[float],
    facility_ids: np.ndarray,
) -> gpd.GeoDataFrame:
    """Each facility's own service area per band: the cells within the band whose nearest it is.

    The areas of one band partition the band's dissolved service area (no overlap, no convex hull).

    Parameters
    ----------
    grid : PopulationGrid
    minutes : numpy.ndarray, shape ``grid.shape``
    nearest : numpy.ndarray of int, shape ``grid.shape``
        Row of the nearest facility, -1 for none.
    bands_minutes : sequence of float
    facility_ids : numpy.ndarray
        ``facility_id`` per facility row.

    Returns
    -------
    geopandas.GeoDataFrame
        ``facility_id``, ``band_minutes``, ``population`` and polygons, EPSG:4326.
    """
    frames = []
    with np.errstate(invalid="ignore"):
        for band in sorted(bands_minutes):
            inside = grid.valid & (nearest >= 0) & (minutes <= band)
            labels = np.where(inside, nearest + 1, 0)
            traced = trace_polygons(grid, labels)
            if traced.empty:
                continue
            people = np.bincount(labels[inside], weights=grid.population[inside], minlength=len(facility_ids) + 1)
            rows = traced["label"].to_numpy() - 1
            frames.append(gpd.GeoDataFrame({"facility_id": facility_ids[rows], "band_minutes": float(band),
                                            "population": people[rows + 1]}, geometry=traced.geometry.to_numpy(),
                                           crs=grid.crs))
    if not frames:
        return gpd.GeoDataFrame({"facility_id": [], "band_minutes": [], "population": []}, geometry=[],
                                crs="EPSG:4326")
    return reprojected(gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=grid.crs))
