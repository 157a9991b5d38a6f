"""The facility table on a straight road, worked out by hand from the UTM distances."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
from shapely.geometry import Point

from geocover.analysis.facility_table import facility_table
from geocover.pipeline import run_scenario
from tests.test_ambulance import corridor  # noqa: F401  (fixture)

NAMES = ["甲村卫生室", "乙村卫生室", "某乡卫生院", "县人民医院"]
LONS = [0.02, 0.05, 0.1, 0.15]


def test_catchments_neighbours_and_referrals(corridor):  # noqa: F811
    gpd.GeoDataFrame({"name": NAMES}, geometry=[Point(lon, 0.0) for lon in LONS], crs="EPSG:4326").to_file(
        corridor.parent / "stations.geojson")
    config = corridor.parent / "table.yaml"
    config.write_text(corridor.read_text(encoding="utf-8").replace("bands_minutes: [15]", "bands_minutes: [5, 15]"),
                      encoding="utf-8")
    result = run_scenario(config, progress=False)
    table = result.facilities.set_index("name")
    assert list(table["tier"]) == ["village_clinic", "village_clinic", "township_health_centre", "hospital"]
    utm = pyproj.Transformer.from_crs("EPSG:4326", result.network.crs, always_xy=True)
    x_fac = np.asarray(utm.transform(LONS, [0.0] * 4)[0])
    x_cells = np.asarray(utm.transform(np.arange(0.005, 0.2, 0.01), np.zeros(20))[0])
    km_per_min = 1.0  # primary road, 60 km/h
    # Total catchment: every cell (1 person each, on the road) within the band of the facility.
    for i, name in enumerate(NAMES):
        for band in (5, 15):
            expected = (np.abs(x_cells - x_fac[i]) / 1000.0 / km_per_min <= band).sum()
            assert table.loc[name, f"catchment_total_{band}"] == expected
    # Exclusive catchments: each cell to its nearest facility, so they add up to the people within the band.
    for band in (5, 15):
        assert table[f"catchment_exclusive_{band}"].sum() == result.table[f"pop_within_{band}"].sum()
        assert (table[f"catchment_exclusive_{band}"] <= table[f"catchment_total_{band}"]).all()
    # Same tier: the two village clinics are 0.03 degrees apart; the others have no peer.
    gap = abs(x_fac[1] - x_fac[0]) / 1000.0
    assert table.loc["甲村卫生室", "nearest_same_tier_minutes"] == pytest.approx(gap, rel=1e-6)
    assert np.isnan(table.loc["某乡卫生院", "nearest_same_tier_minutes"])
    # Referral: village clinic -> township health centre -> hospital; a hospital refers to no one here.
    assert table.loc["甲村卫生室", "referral_tier"] == "township_health_centre"
    assert table.loc["甲村卫生室", "referral_minutes"] == pytest.approx((x_fac[2] - x_fac[0]) / 1000.0, rel=1e-6)
    assert table.loc["某乡卫生院", "referral_minutes"] == pytest.approx((x_fac[3] - x_fac[2]) / 1000.0, rel=1e-6)
    assert pd.isna(table.loc["县人民医院", "referral_tier"])
    assert np.isnan(table.loc["县人民医院", "referral_minutes"])


def test_rows_of_selected_facilities_only(corridor):  # noqa: F811
    gpd.GeoDataFrame({"name": NAMES}, geometry=[Point(lon, 0.0) for lon in LONS], crs="EPSG:4326").to_file(
        corridor.parent / "stations.geojson")
    result = run_scenario(corridor, progress=False)
    config, facilities = result.config, result.facilities
    whole = facility_table(result.network, facilities, result.access, config.bands_minutes,
                           config.offroad_kmh)
    # Only the first village clinic: its neighbour, the other clinic, is still searched for as a target.
    first = facility_table(result.network, facilities, result.access, config.bands_minutes,
                           config.offroad_kmh, rows=np.array([0]))
    pd.testing.assert_frame_equal(first.iloc[:1], whole.iloc[:1], check_exact=True)
    assert first.loc[0, "nearest_same_tier_minutes"] > 0 and first.loc[0, "referral_minutes"] > 0
    assert first.iloc[1:].drop(columns=["catchment_exclusive_15", "referral_tier"]).isna().all().all()
    assert first["referral_tier"].iloc[1:].isna().all()
    assert (first["catchment_exclusive_15"] == whole["catchment_exclusive_15"]).all()
