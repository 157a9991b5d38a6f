"""Coordinate conversions, checked against published reference pairs inside China.

Reference pairs:

- WGS84 -> GCJ-02, Shanghai / Shenzhen / Beijing: googollee/eviltransform, ``python/test.py``
  (the same three pairs are in its Go, JavaScript and C tests).
- Beijing 116.404, 39.915 in WGS84 -> GCJ-02, GCJ-02 -> BD-09 and BD-09 -> GCJ-02:
  wandergis/coordtransform, ``test/app.js`` (also asserted by coordtransform-rs and Hutool's
  ``CoordinateUtilTest``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyproj import Transformer

from geocover.io.coordinates import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    gk3_to_wgs84,
    gk3_zone_epsg,
    is_geographic,
    normalize_system,
    out_of_china,
    parse_degrees,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

# (wgs_lon, wgs_lat, gcj_lon, gcj_lat); eviltransform python/test.py
EVILTRANSFORM_PAIRS = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),  # Shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),  # Shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),  # Beijing
]
# wandergis/coordtransform test/app.js, input (116.404, 39.915) in each case
WANDERGIS_WGS_TO_GCJ = (116.41024449916938, 39.91640428150164)
WANDERGIS_GCJ_TO_BD = (116.41036949371029, 39.92133699351021)
WANDERGIS_BD_TO_GCJ = (116.39762729119315, 39.90865673957631)


def metres_apart(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    dx = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2)) * 6371000.0
    dy = math.radians(lat2 - lat1) * 6371000.0
    return math.hypot(dx, dy)


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), EVILTRANSFORM_PAIRS)
def test_wgs84_to_gcj02_matches_published_pairs(wlon, wlat, glon, glat):
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert lon == pytest.approx(glon, abs=1e-9)
    assert lat == pytest.approx(glat, abs=1e-9)
    # the shift is hundreds of metres in these cities, so the test is not vacuous
    assert metres_apart(wlon, wlat, glon, glat) > 300


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), EVILTRANSFORM_PAIRS)
def test_gcj02_to_wgs84_inverts_published_pairs(wlon, wlat, glon, glat):
    lon, lat = gcj02_to_wgs84(glon, glat)
    assert abs(lon - wlon) < 1e-7
    assert abs(lat - wlat) < 1e-7


def test_wandergis_reference_values_beijing():
    assert np.allclose(wgs84_to_gcj02(116.404, 39.915), WANDERGIS_WGS_TO_GCJ, atol=1e-9, rtol=0)
    assert np.allclose(gcj02_to_bd09(116.404, 39.915), WANDERGIS_GCJ_TO_BD, atol=1e-9, rtol=0)
    assert np.allclose(bd09_to_gcj02(116.404, 39.915), WANDERGIS_BD_TO_GCJ, atol=1e-9, rtol=0)


def test_conversions_are_vectorised():
    wlon, wlat, glon, glat = (np.array(v) for v in zip(*EVILTRANSFORM_PAIRS, strict=True))
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert lon.shape == (3,)
    assert np.allclose(lon, glon, atol=1e-9) and np.allclose(lat, glat, atol=1e-9)
    back_lon, back_lat = gcj02_to_wgs84(glon, glat)
    assert np.max(np.abs(back_lon - wlon)) < 1e-7 and np.max(np.abs(back_lat - wlat)) < 1e-7


def test_round_trips_across_china():
    rng = np.random.default_rng(3)
    lon = rng.uniform(75.0, 134.0, 500)
    lat = rng.uniform(18.0, 53.0, 500)
    glon, glat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert np.max(np.abs(glon - lon)) < 1e-7 and np.max(np.abs(glat - lat)) < 1e-7
    blon, blat = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    # the published BD-09 inverse is itself approximate (about 1e-6 degrees, 0.1 m)
    assert np.max(np.abs(blon - lon)) < 1e-5 and np.max(np.abs(blat - lat)) < 1e-5
    bd_lon, bd_lat = gcj02_to_bd09(lon, lat)
    assert np.max(np.hypot(bd_lon - lon, bd_lat - lat)) > 0.005  # Baidu adds ~0.0065 degrees


def test_gcj02_is_identity_outside_china():
    lon = np.array([43.2555, -0.1276, 151.2, 116.4])
    lat = np.array([-11.6950, 51.5072, -33.87, 60.0])  # Comoros, London, Sydney, north of China
    assert out_of_china(lon, lat).all()
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert np.array_equal(glon, lon) and np.array_equal(glat, lat)
    wlon, wlat = gcj02_to_wgs84(lon, lat)
    assert np.array_equal(wlon, lon) and np.array_equal(wlat, lat)
    assert not out_of_china(116.4, 39.9)


def test_to_wgs84_dispatches_on_system():
    wlon, wlat, glon, glat = EVILTRANSFORM_PAIRS[2]
    assert np.allclose(to_wgs84(glon, glat, "GCJ-02"), (wlon, wlat), atol=1e-7)
    assert np.allclose(to_wgs84(glon, glat, "amap"), (wlon, wlat), atol=1e-7)
    blon, blat = wgs84_to_bd09(wlon, wlat)
    assert np.allclose(to_wgs84(blon, blat, "baidu"), (wlon, wlat), atol=1e-5)
    assert np.allclose(to_wgs84(wlon, wlat, "cgcs2000"), (wlon, wlat))
    assert np.allclose(to_wgs84(wlon, wlat, "EPSG:4490"), (wlon, wlat))
    x, y = Transformer.from_crs(4326, 32650, always_xy=True).transform(wlon, wlat)
    assert np.allclose(to_wgs84(x, y, "EPSG:32650"), (wlon, wlat), atol=1e-9)


def test_normalize_system_names_and_errors():
    assert normalize_system("WGS84") == "wgs84"
    assert normalize_system("Baidu") == "bd09"
    assert normalize_system("epsg:4549") == "EPSG:4549"
    assert normalize_system("EPSG:4326") == "wgs84"
    assert normalize_system("EPSG:4490") == "cgcs2000"
    assert is_geographic("EPSG:4258")
    assert not is_geographic("EPSG:4549")
    with pytest.raises(ValueError, match="unknown coordinate system 'mars'.*bd09"):
        normalize_system("mars")
    with pytest.raises(ValueError, match="EPSG:999999 is not in the EPSG database"):
        normalize_system("EPSG:999999")


def test_gk3_zone_codes():
    assert gk3_zone_epsg(25) == "EPSG:4513"
    assert gk3_zone_epsg(38) == "EPSG:4526"
    assert gk3_zone_epsg(45) == "EPSG:4533"
    with pytest.raises(ValueError, match="zone 12 is not a zone of China"):
        gk3_zone_epsg(12)


def test_gk3_zone_prefixed_eastings_in_either_order():
    # Wuhan, 114.30 E 30.59 N, lies in zone 38 (central meridian 114 E)
    lon, lat = 114.30, 30.59
    easting, northing = Transformer.from_crs(4326, 4526, always_xy=True).transform(lon, lat)
    assert 38_500_000 < easting < 38_600_000
    for x, y in ((easting, northing), (northing, easting)):  # maths order, surveyors' order
        glon, glat = gk3_to_wgs84([x], [y])
        assert glon[0] == pytest.approx(lon, abs=1e-8) and glat[0] == pytest.approx(lat, abs=1e-8)
    # on the central meridian the longitude is exactly 3 x zone
    assert gk3_to_wgs84([38_500_000.0], [3_400_000.0])[0][0] == pytest.approx(114.0)
    # two zones in one call; an easting without zone number gives NaN
    lons, _ = gk3_to_wgs84([39_500_000.0, 500_000.0], [3_400_000.0, 3_400_000.0])
    assert lons[0] == pytest.approx(117.0) and np.isnan(lons[1])


def test_parse_degrees():
    assert parse_degrees("116.397") == pytest.approx(116.397)
    assert parse_degrees("116°23′45.6″") == pytest.approx(116 + 23 / 60 + 45.6 / 3600)
    assert parse_degrees("东经116度23分") == pytest.approx(116 + 23 / 60)
    assert parse_degrees("39°54'N") == pytest.approx(39.9)
    assert parse_degrees("西经 12.5") == -12.5
    assert parse_degrees("") is None and parse_degrees(None) is None
    assert parse_degrees(38500000) == 38500000.0
    with pytest.raises(ValueError, match="'abc' is not a number"):
        parse_degrees("abc")
