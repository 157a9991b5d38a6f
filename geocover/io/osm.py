"""Read roads, admin boundaries and health POIs from a local OSM PBF file.

Roads are streamed once with pyosmium (node locations kept in memory, ways filtered on the
``highway`` key, their coordinates taken from C++ in bulk), optionally keeping only the ways that
reach a box, so a province is cut out of a national file without an intermediate extract.
Boundaries and points are read with GDAL's OSM driver through pyogrio.
"""

from __future__ import annotations

import re
from array import array
from dataclasses import fields
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import osmium.geom
import pyogrio
import shapely

from geocover.errors import Problem, raise_if_any
from geocover.io.sniff import pbf_problems
from geocover.network.segments import RoadSegments
from geocover.output_folder import save_npz

SEGMENTS_LAYOUT = 3
"""Layout of the ``.npz`` written by :func:`save_segments` (2: uncompressed, ``highway`` as codes; 3: with
``bridge``, ``tunnel``, ``layer`` and ``source``)."""

_MPH = 1.609344
_FLUSH_REFS = 1_000_000
"""Node references buffered before a batch of ways is tested against the box and kept as arrays."""
_WKB_HEADER = 18
"""Hex digits before the coordinates of a WKB linestring: byte order (1 byte), type and point count (4 each)."""


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


def _grade_separation(tags: osmium.osm.TagList) -> tuple[bool, bool, int]:
    """``bridge``, ``tunnel`` (any value but ``no``; a building passage is no tunnel) and ``layer`` (0 when
    untagged or not a whole number) of a way."""
    layer = tags.get("layer", "0").strip()
    level = int(layer) if layer.lstrip("+-").isdigit() else 0
    return (tags.get("bridge", "no") != "no", tags.get("tunnel", "no") not in ("no", "building_passage"),
            max(-5, min(5, level)))


class _WayBatches:
    """``highway`` ways streamed in batches of about :data:`_FLUSH_REFS` node references.

    Each full batch becomes NumPy arrays, its ways without a node in ``bounds`` are dropped, and only
    the kept ways' points and tags stay in memory, so a national file can be cut to a province.

    Parameters
    ----------
    bounds : tuple of float or None
        ``(west, south, east, north)`` in degrees, edges included; None keeps every way.
    """

    _COLUMNS = (np.int64, np.int64, object, np.int8, np.float64, bool, bool, bool, bool, np.int8)
    """Types of a way's row: id, located nodes, highway, oneway, maxspeed (km/h), foot and motor closed, bridge,
    tunnel, layer."""

    def __init__(self, bounds: tuple[float, float, float, float] | None) -> None:
        self.bounds = bounds
        self.kept_ways = 0
        self.points: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.tags: list[list[np.ndarray]] = []
        self._wkb = osmium.geom.WKBFactory()
        self._start()

    def _start(self) -> None:
        self.refs = array("q")
        self.coords: list[str] = []
        self.ways: list[tuple[int, int, str, int, float, bool, bool, bool, bool, int]] = []

    def add(self, way: osmium.osm.Way) -> None:
        """Buffer one way, its located nodes and its tags; flush when the batch is full."""
        try:
            # One call into C++ for all the coordinates: after the header, (lon, lat) doubles in native order.
            self.coords.append(self._wkb.create_linestring(way, use_nodes=osmium.geom.ALL)[_WKB_HEADER:])
            refs = [node.ref for node in way.nodes]
        except (osmium.InvalidLocationError, RuntimeError):  # a node missing from the file, or < 2 nodes
            nodes = [node for node in way.nodes if node.location.valid()]
            refs = [node.ref for node in nodes]
            self.coords.append(np.array([(node.lon, node.lat) for node in nodes], dtype=np.float64).tobytes().hex())
        self.refs.extend(refs)
        tags = way.tags
        access = tags.get("access", "")
        self.ways.append((
            way.id, len(refs), tags.get("highway"), _oneway_flag(tags), parse_maxspeed(tags.get("maxspeed")),
            tags.get("foot", access) in ("no", "private"),
            tags.get("motor_vehicle", tags.get("vehicle", access)) in ("no", "private"),
            *_grade_separation(tags),
        ))
        if len(self.refs) >= _FLUSH_REFS:
            self.flush()

    def flush(self) -> None:
        """Keep the buffered ways with a node inside ``bounds`` (all of them without bounds) as arrays."""
        rows = list(zip(*self.ways, strict=True)) or [()] * len(self._COLUMNS)
        columns = [np.asarray(column, dtype=dtype) for column, dtype in zip(rows, self._COLUMNS, strict=True)]
        counts = columns[1]
        lonlat = np.frombuffer(bytes.fromhex("".join(self.coords)), dtype=np.float64).reshape(-1, 2)
        if self.bounds is None:
            keep = np.ones(len(counts), dtype=bool)
        else:
            west, south, east, north = self.bounds
            lon, lat = lonlat[:, 0], lonlat[:, 1]
            inside = (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
            located = counts > 0
            keep = np.zeros(len(counts), dtype=bool)
            keep[located] = np.logical_or.reduceat(inside, (np.cumsum(counts) - counts)[located])
        on_kept = np.repeat(keep, counts)
        kept = int(keep.sum())
        way_index = np.repeat(np.arange(self.kept_ways, self.kept_ways + kept), counts[keep])
        self.points.append((np.frombuffer(self.refs, dtype=np.int64)[on_kept], lonlat[on_kept], way_index))
        self.tags.append([column[keep] for column in columns])
        self.kept_ways += kept
        self._start()

    def segments(self) -> RoadSegments:
        """The kept ways as segments between consecutive located nodes, nodes shared by id."""
        self.flush()
        ids, lonlat, way_index = (np.concatenate(parts) for parts in zip(*self.points, strict=True))
        way_id, _, highway, oneway, maxspeed, foot_no, motor_no, bridge, tunnel, layer = (
            np.concatenate(parts) for parts in zip(*self.tags, strict=True)
        )
        first = np.flatnonzero(way_index[:-1] == way_index[1:])
        unique_ids, point_of_node, inverse = np.unique(ids, return_index=True, return_inverse=True)
        u, v = inverse[first], inverse[first + 1]
        keep = u != v
        u, v, way = u[keep], v[keep], way_index[first][keep]
        return RoadSegments(
            node_id=unique_ids, lon=lonlat[point_of_node, 0], lat=lonlat[point_of_node, 1], u=u, v=v,
            way_id=way_id[way], highway=highway[way], oneway=oneway[way], maxspeed_kmh=maxspeed[way],
            foot_forbidden=foot_no[way], motor_forbidden=motor_no[way], bridge=bridge[way], tunnel=tunnel[way],
            layer=layer[way],
        )


def read_road_segments(path: str | Path, bounds: tuple[float, float, float, float] | None = None) -> RoadSegments:
    """Stream the ``highway=*`` ways of a PBF file into straight segments, in one pass.

    Parameters
    ----------
    path : str or Path
        OSM PBF (or XML) file.
    bounds : tuple of float, optional
        ``(west, south, east, north)`` in degrees: keep only the ways with a node inside the box
        (edges included), each with all its nodes. Memory then holds the kept ways and one batch of
        :data:`_FLUSH_REFS` node references, so a national file can be cut to a province.

    Returns
    -------
    RoadSegments
        Nodes missing from the file are skipped, their neighbours joined by one segment.
    """
    path = Path(path)
    raise_if_any(pbf_problems(path))
    batches = _WayBatches(bounds)
    try:
        processor = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for way in processor:
            batches.add(way)
    except RuntimeError as exc:  # libosmium's io and format errors
        raise_if_any([Problem(str(path), f"the OSM file is damaged ({exc})",
                              "download the .osm.pbf again (e.g. from download.geofabrik.de)")])
    return batches.segments()


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
    """Write parsed road segments to one uncompressed ``.npz``, through a temporary file.

    ``highway`` is stored as small signed integer codes into its distinct values, -1 where missing (layout
    :data:`SEGMENTS_LAYOUT`), so that a province's millions of segments load in a fraction of a second.

    Parameters
    ----------
    segments : RoadSegments
    path : str or Path
        The ``.npz`` to write; replaced only once complete.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    arrays = {f.name: getattr(segments, f.name) for f in fields(RoadSegments) if f.name != "highway"}
    codes, values = segments.highway_classes
    arrays["highway_values"] = np.asarray(values, dtype=str)
    arrays["highway_codes"] = codes.astype(np.promote_types(np.int8, np.min_scalar_type(len(values))))
    return save_npz(path, **arrays)


def load_segments(path: str | Path) -> RoadSegments:
    """Read road segments written by :func:`save_segments` (layout :data:`SEGMENTS_LAYOUT`).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    RoadSegments
        ``highway`` as an object array of str, as :func:`read_road_segments` gives it.
    """
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    classes, codes = arrays.pop("highway_values").astype(object), arrays.pop("highway_codes").astype(np.intp)
    segments = RoadSegments(highway=np.where(codes >= 0, classes[codes] if len(classes) else None, None), **arrays)
    segments.highway_classes = codes, classes
    return segments


WATER_TAGS = (("natural", "water"), ("waterway", "riverbank"), ("natural", "coastline"))
"""OSM tags of the water no off-road leg crosses: lakes and rivers as areas, the sea by its coastline."""


def read_water(path: str | Path, bounds: tuple[float, float, float, float] | None = None) -> gpd.GeoDataFrame:
    """Read OSM water: ``natural=water`` and ``waterway=riverbank`` areas and ``natural=coastline`` lines.

    Parameters
    ----------
    path : str or Path
        OSM PBF (or XML) file.
    bounds : tuple of float, optional
        ``(west, south, east, north)`` in degrees: keep only the shapes that reach the box.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``kind`` (``"area"`` or ``"coastline"``) and geometry (polygons, or the coastline ways as
        lines), EPSG:4326. The closed coastline ways of small islands come as lines only, so that the
        land they enclose is never taken for water.
    """
    path = Path(path)
    raise_if_any(pbf_problems(path))
    wkb = osmium.geom.WKBFactory()
    tags = osmium.filter.TagFilter(*WATER_TAGS)
    kinds, shapes = [], []
    try:
        for item in osmium.FileProcessor(str(path)).with_areas(tags).with_filter(tags):
            coastline = item.tags.get("natural") == "coastline"
            if item.is_area() and not coastline:
                kinds.append("area")
                shapes.append(wkb.create_multipolygon(item))
            elif item.is_way() and coastline:
                try:
                    shapes.append(wkb.create_linestring(item))
                except (osmium.InvalidLocationError, RuntimeError):  # a node missing from an extract
                    continue
                kinds.append("coastline")
    except RuntimeError as exc:
        raise_if_any([Problem(str(path), f"the OSM file is damaged ({exc})",
                              "download the .osm.pbf again (e.g. from download.geofabrik.de)")])
    water = gpd.GeoDataFrame({"kind": kinds}, geometry=gpd.GeoSeries.from_wkb(shapes, crs="EPSG:4326"))
    if bounds is not None:
        water = water[water.intersects(shapely.box(*bounds))].reset_index(drop=True)
    return water
