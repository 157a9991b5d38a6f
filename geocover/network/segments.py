"""Road segments: the reader-neutral form every road source becomes before a network is built.

OSM extracts (:func:`geocover.io.osm.read_road_segments`), Chinese road line layers
(:func:`geocover.io.road_lines.read_road_lines`) and any GeoDataFrame of lines
(:meth:`RoadSegments.from_gdf`) all give :class:`RoadSegments`; :func:`geocover.network.graph.build_network`
turns them into the network of one travel mode. Nothing here needs pyosmium.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely


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
    bridge, tunnel : numpy.ndarray of bool, optional
        OSM ``bridge`` or ``tunnel`` set (to anything but ``no``; ``tunnel=building_passage`` is not a
        tunnel): the way crosses others at another level. False everywhere when omitted.
    layer : numpy.ndarray of int8, optional
        OSM ``layer`` (0 when untagged or omitted): ways of different layers cross without meeting.
    source : numpy.ndarray of int8, optional
        Which road source each segment comes from, an index into the sources given to
        :func:`geocover.network.combine.combine_roads` (0 for a single source, the default).
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
    bridge: np.ndarray | None = None
    tunnel: np.ndarray | None = None
    layer: np.ndarray | None = None
    source: np.ndarray | None = None

    def __post_init__(self) -> None:
        n_segments = len(self.u)
        for name, dtype in (("bridge", bool), ("tunnel", bool), ("layer", np.int8), ("source", np.int8)):
            value = getattr(self, name)
            setattr(self, name, np.zeros(n_segments, dtype=dtype) if value is None else np.asarray(value, dtype))

    @classmethod
    def from_gdf(
        cls,
        roads: gpd.GeoDataFrame,
        highway: str = "highway",
        oneway: str | None = None,
        maxspeed_kmh: str | None = None,
    ) -> RoadSegments:
        """Segments of a GeoDataFrame of road lines (any CRS), e.g. roads drawn or edited in a notebook.

        Parameters
        ----------
        roads : geopandas.GeoDataFrame
            (Multi)LineStrings with a CRS.
        highway : str
            Column of the road class: an OSM ``highway`` value (``"primary"``, ``"footway"``) or a grade
            key of :data:`geocover.io.road_lines.GRADE_SPEEDS_KMH`.
        oneway : str, optional
            Column read by :func:`oneway_flags` (``yes``/``1``/``True`` along the drawing, ``-1`` against it);
            every road both ways when omitted.
        maxspeed_kmh : str, optional
            Column of speed limits in km/h (NaN where unknown).

        Returns
        -------
        RoadSegments
            See :func:`segments_from_lines`.
        """
        missing = [c for c in (highway, oneway, maxspeed_kmh) if c is not None and c not in roads.columns]
        if missing:
            raise KeyError(f"roads have no column {', '.join(map(repr, missing))}; columns: {list(roads.columns)}")
        if roads.crs is None:
            raise ValueError("roads have no CRS: set one with roads.set_crs(...)")
        return segments_from_lines(
            roads.geometry, roads[highway].to_numpy(dtype=object),
            oneway=None if oneway is None else oneway_flags(roads[oneway].to_numpy(dtype=object)),
            maxspeed_kmh=None if maxspeed_kmh is None else pd.to_numeric(roads[maxspeed_kmh]).to_numpy(float),
        )

    @cached_property
    def highway_classes(self) -> tuple[np.ndarray, np.ndarray]:
        """``highway`` as ``(codes, classes)``, ``classes[codes] == highway`` (code -1 where missing): one
        lookup per class instead of per segment. Filled from the file by :func:`geocover.io.osm.load_segments`."""
        codes, classes = pd.factorize(self.highway)
        return codes, np.asarray(classes, dtype=object)

    def within(self, bounds: tuple[float, float, float, float]) -> RoadSegments:
        """Segments with at least one end inside ``(west, south, east, north)`` degrees."""
        west, south, east, north = bounds
        inside = (self.lon >= west) & (self.lon <= east) & (self.lat >= south) & (self.lat <= north)
        return self.take(inside[self.u] | inside[self.v])

    def near(self, bounds: tuple[float, float, float, float]) -> RoadSegments:
        """Segments whose bounding box (of their ends) meets ``(west, south, east, north)`` degrees: with
        :meth:`within`'s, the long ones passing across the box."""
        west, south, east, north = bounds
        lon_u, lon_v, lat_u, lat_v = self.lon[self.u], self.lon[self.v], self.lat[self.u], self.lat[self.v]
        return self.take((np.minimum(lon_u, lon_v) <= east) & (np.maximum(lon_u, lon_v) >= west)
                            & (np.minimum(lat_u, lat_v) <= north) & (np.maximum(lat_u, lat_v) >= south))

    def take(self, keep: np.ndarray) -> RoadSegments:
        """The segments selected by ``keep`` (a boolean mask or indices, repeats allowed), on the same nodes."""
        codes, classes = self.highway_classes
        part = replace(self, **{name: getattr(self, name)[keep] for name in SEGMENT_ARRAYS})
        part.highway_classes = codes[keep], classes
        return part


SEGMENT_ARRAYS = ("u", "v", "way_id", "highway", "oneway", "maxspeed_kmh", "foot_forbidden", "motor_forbidden",
                  "bridge", "tunnel", "layer", "source")
"""The :class:`RoadSegments` fields holding one value per segment (the others hold one per node)."""

ONEWAY_ALONG = frozenset({"1", "yes", "true", "y", "是", "单向", "正向"})
"""Values of a oneway column meaning one way in the drawing direction (compared lower-cased)."""
ONEWAY_AGAINST = frozenset({"-1", "reverse", "逆向", "反向"})
"""Values of a oneway column meaning one way against the drawing direction."""


def oneway_flags(values: np.ndarray) -> np.ndarray:
    """1 (along), -1 (against) or 0 (both ways) per value of a oneway column, see :data:`ONEWAY_ALONG`."""
    text = pd.Series(values, dtype=object).astype(str).str.strip().str.lower().to_numpy()
    flags = np.where(np.isin(text, list(ONEWAY_ALONG)), 1, np.where(np.isin(text, list(ONEWAY_AGAINST)), -1, 0))
    return flags.astype(np.int8)


def segments_from_lines(
    lines: gpd.GeoSeries,
    highway: np.ndarray,
    oneway: np.ndarray | None = None,
    maxspeed_kmh: np.ndarray | None = None,
) -> RoadSegments:
    """Straight segments between consecutive vertices of (multi)lines, nodes joined where vertices coincide.

    Parameters
    ----------
    lines : geopandas.GeoSeries
        LineStrings or MultiLineStrings with a CRS.
    highway : numpy.ndarray
        Road class of each line (an OSM ``highway`` value or a grade key of
        :data:`geocover.io.road_lines.GRADE_SPEEDS_KMH`).
    oneway : numpy.ndarray of int, optional
        Per line: 1 one-way in drawing direction, -1 against it, 0 both ways (default).
    maxspeed_kmh : numpy.ndarray of float, optional
        Per line speed limit in km/h, NaN where unknown (default).

    Returns
    -------
    RoadSegments
        Node ids are 1-based numbers of the distinct vertices (rounded to 1e-9 degrees); ``way_id`` is the
        1-based position of the line in ``lines``.
    """
    n_lines = len(lines)
    oneway = np.zeros(n_lines, dtype=np.int8) if oneway is None else np.asarray(oneway, dtype=np.int8)
    maxspeed_kmh = np.full(n_lines, np.nan) if maxspeed_kmh is None else np.asarray(maxspeed_kmh, dtype=np.float64)
    wgs84 = gpd.GeoSeries(lines.to_numpy(), crs=lines.crs).to_crs("EPSG:4326").explode(index_parts=False)
    rows = wgs84.index.to_numpy()
    coords, line_of_vertex = shapely.get_coordinates(wgs84.to_numpy(), return_index=True)
    first = np.flatnonzero(line_of_vertex[:-1] == line_of_vertex[1:])
    unique, inverse = np.unique(np.round(coords, 9), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    u, v = inverse[first], inverse[first + 1]
    source = rows[line_of_vertex[first]]
    keep = u != v
    u, v, source = u[keep], v[keep], source[keep]
    return RoadSegments(
        node_id=np.arange(1, len(unique) + 1, dtype=np.int64), lon=unique[:, 0], lat=unique[:, 1], u=u, v=v,
        way_id=source.astype(np.int64) + 1, highway=np.asarray(highway, dtype=object)[source],
        oneway=oneway[source], maxspeed_kmh=maxspeed_kmh[source],
        foot_forbidden=np.zeros(len(u), dtype=bool), motor_forbidden=np.zeros(len(u), dtype=bool),
    )
