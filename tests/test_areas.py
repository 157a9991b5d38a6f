"""Polygons traced from label rasters, checked against the union-based tracing they replace."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import rasterio.features
import shapely
from affine import Affine
from scipy import ndimage

from geocover.analysis.polygons import catchment_polygons, gap_polygons, service_areas, trace_polygons
from geocover.io.population import PopulationGrid

CRS = pyproj.CRS("EPSG:32633")


def _reference_trace_polygons(grid: PopulationGrid, labels: np.ndarray) -> gpd.GeoDataFrame:
    """The former implementation: GeoJSON features, then ``dissolve`` (a union per label)."""
    shapes = rasterio.features.shapes(
        labels.astype(np.int32), mask=labels > 0, connectivity=4, transform=grid.transform
    )
    features = [
        {"type": "Feature", "geometry": geom, "properties": {"label": int(value)}} for geom, value in shapes
    ]
    frame = gpd.GeoDataFrame.from_features(features, crs=grid.crs)
    if frame.empty:
        return gpd.GeoDataFrame({"label": []}, geometry=[], crs=grid.crs)
    return frame.dissolve(by="label", as_index=False)


def _grid(shape: tuple[int, int]) -> PopulationGrid:
    transform = Affine(100.0, 0.0, 500000.0, 0.0, -100.0, 1000000.0 + 100.0 * shape[0])
    return PopulationGrid(np.ones(shape), np.ones(shape, dtype=bool), transform, CRS)


def _assert_same_polygons(traced: gpd.GeoDataFrame, reference: gpd.GeoDataFrame) -> None:
    """Same columns, labels, order and CRS; per label the same point set and a valid geometry."""
    assert list(traced.columns) == list(reference.columns)
    assert traced.geometry.name == reference.geometry.name
    assert traced.crs == reference.crs
    pd.testing.assert_index_equal(traced.index, reference.index)
    pd.testing.assert_series_equal(traced["label"], reference["label"])
    mine, theirs = traced.geometry.to_numpy(), reference.geometry.to_numpy()
    assert shapely.equals(mine, theirs).all()
    assert list(shapely.get_type_id(mine)) == list(shapely.get_type_id(theirs))
    assert shapely.is_valid(mine).all()
    np.testing.assert_array_equal(shapely.area(mine), shapely.area(theirs))


def _check(labels: np.ndarray) -> gpd.GeoDataFrame:
    grid = _grid(labels.shape)
    traced = trace_polygons(grid, labels)
    _assert_same_polygons(traced, _reference_trace_polygons(grid, labels))
    return traced


def test_parts_touching_at_corners_form_one_valid_multipolygon():
    labels = np.array([
        [1, 0, 1],
        [0, 1, 0],
        [1, 0, 2],
    ])
    traced = _check(labels)
    one = traced.geometry.iloc[0]
    assert one.geom_type == "MultiPolygon" and len(one.geoms) == 4
    assert one.area == pytest.approx(4 * 100.0 * 100.0)


def test_part_inside_the_hole_of_another_part_of_the_same_label():
    labels = np.array([
        [3, 3, 3, 3, 3],
        [3, 0, 0, 0, 3],
        [3, 0, 3, 0, 3],
        [3, 0, 0, 2, 3],
        [3, 3, 3, 3, 3],
    ])
    traced = _check(labels)
    two, three = traced.geometry
    assert two.geom_type == "Polygon"
    assert three.geom_type == "MultiPolygon" and len(three.geoms) == 2
    assert three.area == pytest.approx(17 * 100.0 * 100.0)


def test_hole_touching_its_shell_and_a_part_touching_the_hole_at_corners():
    labels = np.array([
        [0, 0, 0, 0, 0, 0],
        [0, 1, 1, 1, 1, 0],
        [0, 1, 0, 0, 1, 0],
        [0, 1, 0, 1, 0, 0],
        [0, 1, 1, 0, 1, 0],
        [0, 0, 0, 1, 0, 0],
    ])
    _check(labels)


def test_all_zero_raster_gives_an_empty_frame():
    traced = _check(np.zeros((4, 3), dtype=int))
    assert traced.empty


@pytest.mark.parametrize("value", [0, -1, 7])
def test_one_cell_raster(value):
    traced = _check(np.array([[value]]))
    assert len(traced) == (value > 0)


@pytest.mark.parametrize("seed", range(12))
def test_random_label_rasters_match_the_dissolved_union(seed):
    rng = np.random.default_rng(seed)
    rows, cols = rng.integers(1, 40, size=2)
    labels = rng.integers(0, rng.integers(2, 6), size=(rows, cols))
    if seed % 3 == 0:
        # Blocky labels with negative no-data cells: larger parts, holes, many parts per label.
        labels = np.kron(labels, np.ones((2, 3), dtype=int))
        labels[rng.random(labels.shape) < 0.1] = -1
    _check(labels)


def test_voronoi_like_catchments_with_many_parts_per_label():
    rng = np.random.default_rng(5)
    sites = rng.integers(0, 60, size=(40, 2))
    rows, cols = np.mgrid[0:60, 0:60]
    distance = np.hypot(rows[..., None] - sites[:, 0], cols[..., None] - sites[:, 1])
    labels = np.argmin(distance, axis=2) + 1
    labels[rng.random(labels.shape) < 0.3] = 0
    traced = _check(labels)
    assert (traced.geom_type == "MultiPolygon").any()


def test_service_areas_catchments_and_gaps_keep_their_geometry():
    rng = np.random.default_rng(11)
    shape = (30, 30)
    grid = PopulationGrid(rng.integers(0, 5, size=shape).astype(float), rng.random(shape) > 0.1,
                          _grid(shape).transform, CRS)
    minutes = ndimage.uniform_filter(rng.random(shape) * 40.0, size=3)
    minutes[rng.random(shape) < 0.05] = np.inf
    nearest = np.where(np.isfinite(minutes), rng.integers(0, 6, size=shape), -1)
    ids = np.array([f"f{k}" for k in range(6)])

    areas = service_areas(grid, minutes, [15, 20])
    catchments = catchment_polygons(grid, minutes, nearest, [15, 20], ids)
    gaps = gap_polygons(grid, minutes, 18)
    assert len(gaps) > 1 and (catchments.geom_type == "MultiPolygon").any()
    with np.errstate(invalid="ignore"):
        for band, area in zip(areas["band_minutes"], areas.geometry, strict=True):
            inside = (grid.valid & (minutes <= band)).astype(int)
            expected = shapely.union_all(_reference_trace_polygons(grid, inside).geometry.to_numpy())
            assert area.is_valid
            assert area.equals(gpd.GeoSeries([expected], crs=CRS).to_crs("EPSG:4326").iloc[0])
        for band in (15.0, 20.0):
            inside = grid.valid & (nearest >= 0) & (minutes <= band)
            reference = _reference_trace_polygons(grid, np.where(inside, nearest + 1, 0)).to_crs("EPSG:4326")
            mine = catchments[catchments["band_minutes"] == band]
            assert list(mine["facility_id"]) == list(ids[reference["label"] - 1])
            assert shapely.equals(mine.geometry.to_numpy(), reference.geometry.to_numpy()).all()
            for facility, people in zip(mine["facility_id"], mine["population"], strict=True):
                k = int(facility[1:])
                assert people == pytest.approx(sum(grid.population[inside & (nearest == k)]))
    assert shapely.is_valid(gaps.geometry.to_numpy()).all()
    # Each gap: one 4-connected group of populated cells beyond 18 minutes, its outline and its people.
    with np.errstate(invalid="ignore"):
        beyond = grid.valid & (grid.population > 0) & ~(minutes <= 18)
    groups, count = ndimage.label(beyond)
    assert len(gaps) == count and list(gaps["population"]) == sorted(gaps["population"], reverse=True)
    for k in range(1, count + 1):
        outline = _reference_trace_polygons(grid, (groups == k).astype(int)).to_crs("EPSG:4326").geometry.iloc[0]
        row = gaps[shapely.equals(gaps.geometry.to_numpy(), outline)]
        assert len(row) == 1
        assert row["population"].iloc[0] == pytest.approx(grid.population[groups == k].sum())
        assert row["cells"].iloc[0] == (groups == k).sum()


def test_repaired_makes_a_hole_crossing_its_shell_valid_and_keeps_polygons():
    """A reprojected cell outline whose hole touched its shell at a corner can cross it by a rounding
    error (seen on a province-size service area): such geometries are made valid, polygonal."""
    from geocover.analysis.polygons import repaired

    shell = [(0, 0), (4, 0), (4, 4), (0, 4)]
    crossing = shapely.Polygon(shell, [[(3, 3), (4.000001, 3.5), (3, 3.5)]])
    fine = shapely.box(10, 10, 11, 11)
    assert not shapely.is_valid(crossing)
    out = repaired(np.array([crossing, fine, None], dtype=object))
    assert shapely.is_valid(out[:2]).all() and out[2] is None and out[1] is fine
    assert shapely.get_type_id(out[0]) in (3, 6) and abs(out[0].area - 15.75) < 1e-3
