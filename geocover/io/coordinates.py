"""Coordinate systems met in Chinese facility lists, converted to WGS84 longitude/latitude.

Covers the datums and the obfuscated systems of Chinese web maps:

- WGS84 (GPS) and CGCS2000 (EPSG:4490, the national datum; it differs from WGS84 by a few
  centimetres, below anything that matters for travel times, so it is taken as identical);
- GCJ-02 (Amap/Gaode, Tencent, Google China): WGS84 shifted by the published GCJ-02 formula
  inside China, identical to WGS84 outside;
- BD-09 (Baidu): GCJ-02 shifted once more;
- projected X/Y in any EPSG system, and CGCS2000 3-degree Gauss-Krüger eastings with the zone
  number prefixed (``38 500 000`` m is the central meridian of zone 38, EPSG:4526), with
  surveyors' X = northing, Y = easting detected by magnitude.

All functions take and return numpy arrays (scalars and lists are accepted) in degrees.
"""

from __future__ import annotations

import re

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

__all__ = [
    "GEOGRAPHIC_SYSTEMS",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "gk3_to_wgs84",
    "gk3_zone_epsg",
    "is_geographic",
    "normalize_system",
    "out_of_china",
    "parse_degrees",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 formula.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0

_ALIASES = {
    "wgs84": "wgs84", "wgs-84": "wgs84", "wgs 84": "wgs84", "gps": "wgs84", "epsg:4326": "wgs84",
    "cgcs2000": "cgcs2000", "cgcs-2000": "cgcs2000", "epsg:4490": "cgcs2000",
    "gcj02": "gcj02", "gcj-02": "gcj02", "amap": "gcj02", "gaode": "gcj02", "tencent": "gcj02",
    "qq": "gcj02", "高德": "gcj02", "腾讯": "gcj02", "火星": "gcj02",
    "bd09": "bd09", "bd-09": "bd09", "baidu": "bd09", "百度": "bd09",
    "gk3": "gk3", "gauss-kruger": "gk3", "gauss-krüger": "gk3",
}

#: Systems whose coordinates are longitude/latitude in degrees.
GEOGRAPHIC_SYSTEMS = frozenset({"wgs84", "cgcs2000", "gcj02", "bd09"})

_GK3_FIRST_ZONE, _GK3_LAST_ZONE, _GK3_FIRST_EPSG = 25, 45, 4513
_ZONE_FACTOR = 1_000_000.0
_DMS_RE = re.compile(
    r"^(?P<deg>\d+(?:\.\d+)?)[°度](?:(?P<min>\d+(?:\.\d+)?)['′’分])?"
    r"(?:(?P<sec>\d+(?:\.\d+)?)(?:[\"″”秒]|'')?)?$"
)
_HEMISPHERE_RE = re.compile(r"^(东经|北纬|西经|南纬|[NSEW])|([NSEW])$", re.IGNORECASE)


def parse_degrees(value: object) -> float | None:
    """Number from a coordinate cell, including degrees-minutes-seconds.

    Parameters
    ----------
    value : object
        A number, or text such as ``"116.397"``, ``"116°23′45.6″"``, ``"东经116度23分"``,
        ``"39°54'N"``; 西经/南纬/W/S make it negative.

    Returns
    -------
    float or None
        Degrees (or the number as written, e.g. metres); ``None`` for an empty cell.

    Raises
    ------
    ValueError
        When the text is not a number.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if not isinstance(value, str):
        return float(value)  # type: ignore[arg-type]
    text = re.sub(r"\s", "", value)
    if not text:
        return None
    sign = 1.0
    match = _HEMISPHERE_RE.search(text)
    if match:
        sign = -1.0 if (match.group(1) or match.group(2)).upper() in ("西经", "南纬", "S", "W") else 1.0
        text = _HEMISPHERE_RE.sub("", text)
    try:
        return sign * float(text)
    except ValueError:
        pass
    dms = _DMS_RE.match(text)
    if dms is None:
        raise ValueError(f"{value!r} is not a number")
    deg, minutes, seconds = (float(dms.group(g) or 0.0) for g in ("deg", "min", "sec"))
    return sign * (deg + minutes / 60.0 + seconds / 3600.0)


def _arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Whether points lie outside the rough bounding box in which GCJ-02 shifts coordinates.

    Parameters
    ----------
    lon, lat : array_like
        Longitude and latitude in degrees.

    Returns
    -------
    numpy.ndarray of bool
        True where the GCJ-02 formula is the identity (lon outside 72.004–137.8347 E or lat
        outside 0.8293–55.8271 N, the box used by the public implementations).
    """
    lon, lat = _arrays(lon, lat)
    return ~((lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271))


def _gcj02_delta(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    x, y = lon - 105.0, lat - 35.0
    xp, yp = x * np.pi, y * np.pi
    common = (20.0 * np.sin(6.0 * xp) + 20.0 * np.sin(2.0 * xp)) * 2.0 / 3.0
    dlat = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
        + common
        + (20.0 * np.sin(yp) + 40.0 * np.sin(yp / 3.0)) * 2.0 / 3.0
        + (160.0 * np.sin(yp / 12.0) + 320.0 * np.sin(yp / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
        + common
        + (20.0 * np.sin(xp) + 40.0 * np.sin(xp / 3.0)) * 2.0 / 3.0
        + (150.0 * np.sin(xp / 12.0) + 300.0 * np.sin(xp / 30.0)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = dlon * 180.0 / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """Shift WGS84 longitude/latitude (degrees) to GCJ-02 (identity outside China)."""
    lon, lat = _arrays(lon, lat)
    dlon, dlat = _gcj02_delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, tol: float = 1e-9, max_iter: int = 30
) -> tuple[NDArray, NDArray]:
    """Invert the GCJ-02 shift by fixed-point iteration.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitude and latitude in degrees.
    tol : float
        Stop when the forward shift of the estimate reproduces the input within ``tol`` degrees
        (1e-9 degrees is about 0.1 mm; the result is well inside 1e-7 degrees).
    max_iter : int
        Upper bound on iterations; the map is a contraction and converges in 3–5 steps.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitude and latitude in degrees.
    """
    lon, lat = _arrays(lon, lat)
    wlon, wlat = lon.copy(), lat.copy()
    for _ in range(max_iter):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = glon - lon, glat - lat
        wlon, wlat = wlon - elon, wlat - elat
        if np.all(np.abs(elon) < tol) and np.all(np.abs(elat) < tol):
            break
    return wlon, wlat


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """Shift GCJ-02 longitude/latitude (degrees) to Baidu BD-09."""
    x, y = _arrays(lon, lat)
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """Shift Baidu BD-09 longitude/latitude (degrees) back to GCJ-02 (the published formula)."""
    lon, lat = _arrays(lon, lat)
    x, y = lon - 0.0065, lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """Shift WGS84 longitude/latitude (degrees) to BD-09 via GCJ-02."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """Shift BD-09 longitude/latitude (degrees) to WGS84 via GCJ-02."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def normalize_system(system: str) -> str:
    """Canonical name of a coordinate system, or raise ``ValueError`` naming the accepted ones.

    Parameters
    ----------
    system : str
        ``"wgs84"``, ``"cgcs2000"``, ``"gcj02"`` (also ``"amap"``, ``"gaode"``, ``"tencent"``),
        ``"bd09"`` (also ``"baidu"``), ``"gk3"`` (CGCS2000 3-degree Gauss-Krüger with zone
        prefix) or ``"EPSG:nnnn"`` for any system pyproj knows.

    Returns
    -------
    str
        One of ``wgs84, cgcs2000, gcj02, bd09, gk3`` or ``"EPSG:nnnn"``.
    """
    key = str(system).strip().lower().replace("_", "")
    if key in _ALIASES:
        return _ALIASES[key]
    match = re.fullmatch(r"epsg:?\s*(\d+)", key)
    if match is None:
        raise ValueError(
            f"unknown coordinate system {system!r}: use wgs84, cgcs2000, gcj02 (Amap, Tencent), "
            "bd09 (Baidu), gk3 (Gauss-Krüger 3-degree with zone prefix) or EPSG:nnnn"
        )
    code = f"EPSG:{match.group(1)}"
    try:
        CRS.from_user_input(code)
    except CRSError as exc:
        raise ValueError(f"unknown coordinate system {system!r}: {code} is not in the EPSG "
                         "database") from exc
    return code


def is_geographic(system: str) -> bool:
    """Whether a normalised system holds longitude/latitude in degrees."""
    if system in GEOGRAPHIC_SYSTEMS:
        return True
    return system.startswith("EPSG:") and CRS.from_user_input(system).is_geographic


def gk3_zone_epsg(zone: int) -> str:
    """EPSG code of the CGCS2000 3-degree Gauss-Krüger zone with zone-prefixed eastings.

    Parameters
    ----------
    zone : int
        Zone number, 25 (central meridian 75 E) to 45 (135 E).

    Returns
    -------
    str
        ``"EPSG:4513"`` for zone 25 up to ``"EPSG:4533"`` for zone 45.
    """
    if not _GK3_FIRST_ZONE <= zone <= _GK3_LAST_ZONE:
        raise ValueError(
            f"3-degree Gauss-Krüger zone {zone} is not a zone of China (25-45)"
        )
    return f"EPSG:{_GK3_FIRST_EPSG + zone - _GK3_FIRST_ZONE}"


def _looks_like_gk3_easting(value: NDArray[np.float64]) -> NDArray[np.bool_]:
    zone = np.floor(value / _ZONE_FACTOR)
    return (zone >= _GK3_FIRST_ZONE) & (zone <= _GK3_LAST_ZONE)


def gk3_to_wgs84(x: ArrayLike, y: ArrayLike) -> tuple[NDArray, NDArray]:
    """Convert zone-prefixed CGCS2000 3-degree Gauss-Krüger coordinates to longitude/latitude.

    Parameters
    ----------
    x, y : array_like
        Metres. Either order is accepted per point: the value between 25 000 000 and
        45 999 999 is the zone-prefixed easting, the other the northing, so both the
        mathematical (x = easting) and the surveyors' convention (X = northing, Y = easting)
        work.

    Returns
    -------
    tuple of numpy.ndarray
        Longitude and latitude in degrees; NaN where neither value is a zone-prefixed
        easting (those points need an explicit ``EPSG:`` code).
    """
    x, y = _arrays(x, y)
    x_is_easting = _looks_like_gk3_easting(x) & ~_looks_like_gk3_easting(y)
    y_is_easting = _looks_like_gk3_easting(y) & ~_looks_like_gk3_easting(x)
    easting = np.where(x_is_easting, x, np.where(y_is_easting, y, np.nan))
    northing = np.where(x_is_easting, y, np.where(y_is_easting, x, np.nan))
    lon = np.full(easting.shape, np.nan)
    lat = np.full(easting.shape, np.nan)
    zones = np.floor(easting / _ZONE_FACTOR)
    for zone in np.unique(zones[np.isfinite(zones)]):
        sel = zones == zone
        transformer = Transformer.from_crs(gk3_zone_epsg(int(zone)), "EPSG:4326", always_xy=True)
        lon[sel], lat[sel] = transformer.transform(easting[sel], northing[sel])
    return lon, lat


def to_wgs84(lon: ArrayLike, lat: ArrayLike, system: str) -> tuple[NDArray, NDArray]:
    """Convert coordinates in ``system`` to WGS84 longitude/latitude.

    Parameters
    ----------
    lon, lat : array_like
        Longitude/latitude in degrees for geographic systems, or x (easting) / y (northing)
        in the system's units for projected ones (see :func:`gk3_to_wgs84` for ``"gk3"``).
    system : str
        Any name accepted by :func:`normalize_system`.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitude and latitude in degrees.
    """
    name = normalize_system(system)
    lon, lat = _arrays(lon, lat)
    if name in ("wgs84", "cgcs2000"):
        return lon.copy(), lat.copy()
    if name == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if name == "bd09":
        return bd09_to_wgs84(lon, lat)
    if name == "gk3":
        return gk3_to_wgs84(lon, lat)
    transformer = Transformer.from_crs(name, "EPSG:4326", always_xy=True)
    out_lon, out_lat = transformer.transform(lon, lat)
    out_lon, out_lat = np.asarray(out_lon, dtype=float), np.asarray(out_lat, dtype=float)
    bad = ~(np.isfinite(out_lon) & np.isfinite(out_lat))
    return np.where(bad, np.nan, out_lon), np.where(bad, np.nan, out_lat)


def _inside_area_of_use(lon: NDArray, lat: NDArray, system: str, margin_deg: float = 1.0) -> NDArray[np.bool_]:
    area = CRS.from_user_input(system).area_of_use
    if area is None:
        return np.isfinite(lon) & np.isfinite(lat)
    return ((lon >= area.west - margin_deg) & (lon <= area.east + margin_deg)
            & (lat >= area.south - margin_deg) & (lat <= area.north + margin_deg))


def projected_swapped(x: ArrayLike, y: ArrayLike, system: str) -> bool:
    """Whether projected x/y were written in surveyors' order (X = northing first) in every row.

    True when, as given, no point falls within the area of use of ``system`` (an ``EPSG:nnnn``
    projected CRS, 1 degree of margin) and, exchanged, every point does: with EPSG:4547 a
    northing of 4,200,000 read as an easting lands in the Pacific.
    """
    if not system.startswith("EPSG:"):
        return False
    x, y = _arrays(x, y)
    filled = np.isfinite(x) & np.isfinite(y)
    if not filled.any():
        return False
    given = _inside_area_of_use(*to_wgs84(x[filled], y[filled], system), system)
    exchanged = _inside_area_of_use(*to_wgs84(y[filled], x[filled], system), system)
    return not given.any() and bool(exchanged.all())
