"""The UTM zone of an area, found without GeoPandas' database lookup, is the one GeoPandas estimates."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
from shapely.geometry import box

from geocover.io.utm import utm_crs, utm_crs_at


def test_the_zone_by_longitude_is_geopandas_estimate_everywhere_even_on_zone_edges():
    rng = np.random.default_rng(3)
    lons = np.r_[rng.uniform(-180, 180, 40), 114.0, 108.0, -180.0, 180.0, 113.9999999, 43.25]
    lats = np.r_[rng.uniform(-80, 84, 40), 36.0, 0.0, 10.0, -10.0, 35.0, -11.7]
    for lon, lat in zip(lons, lats, strict=True):
        point = gpd.GeoSeries(gpd.points_from_xy([lon], [lat]), crs="EPSG:4326")
        assert utm_crs_at(lon, lat) == point.estimate_utm_crs(), (lon, lat)


def test_a_frame_gets_the_zone_of_the_centre_of_its_bounds_in_any_crs():
    # The first box lies in zone 49 (108-114°E); the centre of both boxes' bounds, 115.25°E, in zone 50.
    frame = gpd.GeoDataFrame(geometry=[box(110.5, 35.1, 111.0, 36.0), box(119.0, 36.5, 120.0, 37.0)], crs="EPSG:4326")
    assert utm_crs(frame) == pyproj.CRS.from_epsg(32650)
    assert utm_crs(frame.to_crs("EPSG:3857")) == pyproj.CRS.from_epsg(32650)
    south = gpd.GeoSeries([box(43.2, -12.5, 44.6, -11.3)], crs="EPSG:4326")  # Comoros
    assert utm_crs(south) == pyproj.CRS.from_epsg(32738)
