"""Zone tables, service areas and gaps on hand-built grids, worked out by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
from affine import Affine
from shapely.geometry import box

from geocover.analysis.polygons import gap_polygons, service_areas
from geocover.analysis.zone_table import weighted_quantile, zone_table
from geocover.io.population import PopulationGrid

CRS = pyproj.CRS("EPSG:32633")


def _grid() -> tuple[PopulationGrid, np.ndarray]:
    """A 2 x 4 grid of 100 m cells with origin (500000, 1000200).

    population      minutes
    10 20  0  5      2   8  12  inf
    30 40 50 60      4  20  nan  16     (nan: no data, population 0 there)
    """
    population = np.array([[10, 20, 0, 5], [30, 40, 0, 60]], dtype=float)
    valid = np.array([[True, True, True, True], [True, True, False, True]])
    minutes = np.array([[2, 8, 12, np.inf], [4, 20, np.nan, 16]], dtype=float)
    transform = Affine(100.0, 0.0, 500000.0, 0.0, -100.0, 1000200.0)
    return PopulationGrid(population, valid, transform, CRS), minutes


def _zones() -> gpd.GeoDataFrame:
    # West: the two left columns; east: the two right columns.
    return gpd.GeoDataFrame(
        {"zone_level": ["block", "block"], "zone_id": ["W", "E"], "zone_name": ["west", "east"]},
        geometry=[box(500000, 1000000, 500200, 1000200), box(500200, 1000000, 500400, 1000200)],
        crs=CRS,
    )


def test_weighted_quantile_by_hand():
    # People 1, 1, 8 at 3, 5, 9 minutes: 90% of 10 people is 9 -> reached only at 9 minutes.
    assert weighted_quantile(np.array([5.0, 3.0, 9.0]), np.array([1.0, 1.0, 8.0]), 0.9) == 9.0
    # Half of the people are at 3 minutes: the median is 3.
    assert weighted_quantile(np.array([3.0, 7.0]), np.array([5.0, 5.0]), 0.5) == 3.0
    assert np.isnan(weighted_quantile(np.array([1.0]), np.array([0.0]), 0.5))


def test_zone_table_by_hand():
    grid, minutes = _grid()
    table = zone_table(grid, minutes, _zones(), [5, 15], 15).set_index("zone_id")
    west, east = table.loc["W"], table.loc["E"]
    # West: 10@2, 20@8, 30@4, 40@20 -> total 100, within 5: 40, within 15: 60, beyond 15: 40.
    assert west["population"] == 100
    assert west["pop_within_5"] == 40 and west["pct_within_5"] == pytest.approx(40.0)
    assert west["pop_within_15"] == 60 and west["pop_beyond_15"] == 40
    assert west["pop_unreachable"] == 0
    assert west["mean_minutes"] == pytest.approx((10 * 2 + 20 * 8 + 30 * 4 + 40 * 20) / 100)
    # Sorted: 2 (10), 4 (30), 8 (20), 20 (40); 90 people are reached only at 20 minutes.
    assert west["p90_minutes"] == 20
    # East: 0@12, 5@inf, 0@nan, 60@16 -> total 65, within 15: 0, beyond: 60, unreachable: 5.
    assert east["population"] == 65
    assert east["pop_within_15"] == 0 and east["pop_beyond_15"] == 60 and east["pop_unreachable"] == 5
    assert east["mean_minutes"] == pytest.approx(16.0)
    balance = table["pop_within_15"] + table["pop_beyond_15"] + table["pop_unreachable"]
    np.testing.assert_allclose(balance, table["population"])


def test_facilities_counted_per_zone_and_tier():
    grid, minutes = _grid()
    facilities = gpd.GeoDataFrame(
        {"facility_id": ["a", "b", "c"], "tier": ["clinic", "clinic", "hospital"]},
        geometry=gpd.points_from_xy([500050, 500150, 500350], [1000150, 1000050, 1000050]),
        crs=CRS,
    )
    table = zone_table(grid, minutes, _zones(), [15], 15, facilities).set_index("zone_id")
    assert table.loc["W", "facilities"] == 2 and table.loc["W", "facilities_clinic"] == 2
    assert table.loc["E", "facilities"] == 1 and table.loc["E", "facilities_hospital"] == 1
    assert table.loc["W", "facilities_hospital"] == 0
    # Per 10,000 residents: west has 100 people, east 65.
    assert table.loc["W", "facilities_per_10k"] == pytest.approx(200.0)
    assert table.loc["E", "facilities_hospital_per_10k"] == pytest.approx(10_000 / 65)


def test_service_areas_are_nested_and_cover_exactly_the_cells_within_each_band():
    grid, minutes = _grid()
    areas = service_areas(grid, minutes, [5, 15]).set_index("band_minutes")
    # Within 5: cells (0,0) and (1,0); within 15: also (0,1) and (0,2).
    assert areas.loc[5.0, "cells"] == 2 and areas.loc[5.0, "population"] == 40
    assert areas.loc[15.0, "cells"] == 4 and areas.loc[15.0, "population"] == 60
    assert areas.loc[5.0, "area_km2"] == pytest.approx(0.02, rel=1e-3)
    assert areas.loc[15.0, "area_km2"] == pytest.approx(0.04, rel=1e-3)
    assert areas.loc[15.0, "geometry"].contains(areas.loc[5.0, "geometry"].buffer(-1e-7))


def test_gap_polygons_are_the_populated_cells_beyond_the_target():
    grid, minutes = _grid()
    gaps = gap_polygons(grid, minutes, 15)
    # Beyond 15 or unreachable and populated: (1,1) 40 people; (0,3) 5 unreachable and (1,3) 60 -> one gap.
    assert list(gaps["population"]) == [65, 40]
    assert list(gaps["unreachable_population"]) == [5, 0]
    assert list(gaps["max_minutes"]) == [16, 20]
    assert list(gaps["gap_id"]) == [1, 2]
    assert gaps.crs.to_epsg() == 4326


def test_gap_flags_by_hand():
    import pandas as pd

    from geocover.analysis.zone_table import gap_flags

    table = pd.DataFrame({
        "zone_name": ["东城街道", "西城街道", "李家镇", "王家乡", "Fomboni"],
        "facilities": [1, 0, 2, 0, 3],
        "facilities_community_health_centre": [1, 0, 0, 0, 0],
        "facilities_township_health_centre": [0, 0, 1, 0, 0],
        "pct_within_15": [100.0, 90.0, 99.9, np.nan, 100.0],
    })
    flags = gap_flags(table, 15, 100)
    assert flags["flag_no_community_health_centre"].tolist() == [False, True, pd.NA, pd.NA, pd.NA]
    assert flags["flag_no_township_health_centre"].tolist() == [pd.NA, pd.NA, False, True, pd.NA]
    assert flags["flag_below_target"].tolist() == [False, True, True, pd.NA, False]
