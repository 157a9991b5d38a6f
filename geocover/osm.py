"""Read roads, admin boundaries and health POIs from a local OSM PBF file.

Roads are streamed with pyosmium (node locations kept in memory, ways filtered
on the ``highway`` key), so a provincial extract is read once without building
Python objects per node. Boundaries and points are read with GDAL's OSM driver
through pyogrio.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, fields, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import pyogrio

from geocover.errors import InputError, Problem

_MPH = 1.609344


@dataclass
class RoadSegments:
    """Straight road segments between consecutive OSM way nodes.

    Attributes
    ----------
    node_id : numpy.ndarray of int64
        OSM id of every node used by a segment, one entry per node index.
    lon, lat : numpy.ndarray of float64
        Node coordinates in degrees (EPSG:4326).
    u, v : numpy.ndarray of int64
        Node indices of each segment, in the way's drawing direction.
    way_id : numpy.ndarray of int64
        OSM id of the way each segment belongs to.
    highway : numpy.ndarray of object
        OSM ``highway`` value of the way.
    oneway : numpy.ndarray of int8
        1 one-way along u->v, -1 one-way along v->u, 0 both ways (for driving).
    maxspeed_kmh : numpy.ndarray of float64
        Parsed OSM ``maxspeed`` in km/h, NaN where untagged or unparsable.
    foot_forbidden, motor_forbidden : numpy.ndarray of bool
        Access tags that close the way to walkers or to motor vehicles.
    """

    node_id: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    u: np.ndarray
    v: np.ndarray
    way_id: np.ndarray
    highway: np.ndarray
    oneway: np.ndarray
    maxspeed_kmh: np.ndarray
    foot_forbidden: np.ndarray
    motor_forbidden: np.ndarray

    def within(self, bounds: tuple[float, float, float, float]) -> RoadSegments:
        """Segments with at least one end inside ``(west, south, east, north)`` degrees."""
        west, south, east, north = bounds
        inside = (self.lon >= west) & (self.lon <= east) & (self.lat >= south) & (self.lat <= north)
        keep = inside[self.u] | inside[self.v]
        return replace(
            self, u=self.u[keep], v=self.v[keep], way_id=self.way_id[keep], highway=self.highway[keep],
            oneway=self.oneway[keep], maxspeed_kmh=self.maxspeed_kmh[keep],
            foot_forbidden=self.foot_forbidden[keep], motor_forbidden=self.motor_forbidden[keep],
        )


def parse_maxspeed(value: str | None) -> float:
    """Parse an OSM ``maxspeed`` value into km/h.

    Parameters
    ----------
    value : str or None
        Tag value such as ``"50"``, ``"30 mph"`` or ``"50;70"`` (the first is used).

    Returns
    -------
    float
        Speed in km/h, NaN when the value holds no number (``"signals"``, ``"none"``).
    """
    if not value:
        return float("nan")
    match = re.match(r"\s*(\d+(?:\.\d+)?)\s*(mph)?", value.split(";")[0])
    if match is None:
        return float("nan")
    speed = float(match.group(1))
    return speed * _MPH if match.group(2) else speed


def _oneway_flag(tags: osmium.osm.TagList) -> int:
    value = tags.get("oneway", "")
    if value in ("yes", "true", "1"):
        return 1
    if value == "-1":
        return -1
    if value == "no":
        return 0
    if tags.get("junction") in ("roundabout", "circular") or tags.get("highway") == "motorway":
        return 1
    return 0


def read_road_segments(path: str | Path) -> RoadSegments:
    """Stream every ``highway=*`` way of a PBF file into straight segments.

    Parameters
    ----------
    path : str or Path
        OSM PBF (or XML) file.

    Returns
    -------
    RoadSegments
    """
    path = Path(path)
    if not path.is_file():
        raise InputError([Problem(str(path), "road file not found", "check the path in the config")])
    node_ids: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    point_way: list[int] = []
    way_attrs: dict[int, tuple[str, int, float, bool, bool]] = {}
    processor = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    for way in processor:
        tags = way.tags
        access = tags.get("access", "")
        way_attrs[way.id] = (
            tags.get("highway"),
            _oneway_flag(tags),
            parse_maxspeed(tags.get("maxspeed")),
            tags.get("foot", access) in ("no", "private"),
            tags.get("motor_vehicle", tags.get("vehicle", access)) in ("no", "private"),
        )
        for node in way.nodes:
            if node.location.valid():
                node_ids.append(node.ref)
                lons.append(node.location.lon)
                lats.append(node.location.lat)
                point_way.append(way.id)
    ids = np.asarray(node_ids, dtype=np.int64)
    way_of_point = np.asarray(point_way, dtype=np.int64)
    first = np.flatnonzero(way_of_point[:-1] == way_of_point[1:])
    unique_ids, point_of_node, inverse = np.unique(ids, return_index=True, return_inverse=True)
    u, v = inverse[first], inverse[first + 1]
    keep = u != v
    u, v, seg_ways = u[keep], v[keep], way_of_point[first][keep]
    attrs = pd.DataFrame.from_dict(
        way_attrs, orient="index", columns=["highway", "oneway", "maxspeed", "foot_no", "motor_no"]
    ).reindex(seg_ways)
    return RoadSegments(
        node_id=unique_ids,
        lon=np.asarray(lons)[point_of_node],
        lat=np.asarray(lats)[point_of_node],
        u=u,
        v=v,
        way_id=seg_ways,
        highway=attrs["highway"].to_numpy(dtype=object),
        oneway=attrs["oneway"].to_numpy(dtype=np.int8),
        maxspeed_kmh=attrs["maxspeed"].to_numpy(dtype=np.float64),
        foot_forbidden=attrs["foot_no"].to_numpy(dtype=bool),
        motor_forbidden=attrs["motor_no"].to_numpy(dtype=bool),
    )


def read_admin_boundaries(path: str | Path, admin_level: int) -> gpd.GeoDataFrame:
    """Read OSM administrative boundary relations of one level.

    Parameters
    ----------
    path : str or Path
        OSM PBF file.
    admin_level : int
        OSM ``admin_level`` (4 for Comoros islands, 8 for communes; in China 6
        is a county and 8 a township).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``zone_id`` (``"r<relation id>"``), ``zone_name`` and geometry,
        EPSG:4326; only relations, never the closed ways that repeat them.
    """
    frame = pyogrio.read_dataframe(
        str(path),
        layer="multipolygons",
        columns=["osm_id", "name", "admin_level", "boundary"],
        where=f"admin_level = '{int(admin_level)}' AND boundary = 'administrative'",
    )
    frame = frame[frame["osm_id"].notna()]
    zones = gpd.GeoDataFrame(
        {
            "zone_id": "r" + frame["osm_id"].astype(str),
            "zone_name": frame["name"].fillna("").astype(str),
        },
        geometry=frame.geometry.make_valid().to_numpy(),
        crs="EPSG:4326",
    )
    return zones.reset_index(drop=True)


def save_segments(segments: RoadSegments, path: str | Path) -> Path:
    """Write parsed road segments to one compressed ``.npz``, through a temporary file."""
    path = Path(path)
    arrays = {f.name: getattr(segments, f.name) for f in fields(RoadSegments)}
    arrays["highway"] = np.asarray(arrays["highway"], dtype=str)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez_compressed(file, **arrays)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def load_segments(path: str | Path) -> RoadSegments:
    """Read road segments written by :func:`save_segments`."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {f.name: data[f.name] for f in fields(RoadSegments)}
    arrays["highway"] = arrays["highway"].astype(object)
    return RoadSegments(**arrays)
