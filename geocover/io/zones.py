"""Reporting zones, their urban/rural class and roll-up by code, and the study area around them."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geocover.analysis.seat_zones import network_voronoi
from geocover.analysis.urban_rural import builtup_percent, classify_urban_rural
from geocover.config import ZoneLayerConfig
from geocover.errors import InputError, Problem
from geocover.io.facility_labels import cell_text
from geocover.io.osm import read_admin_boundaries
from geocover.io.population import PopulationGrid
from geocover.io.utm import utm_crs
from geocover.io.vectors import read_vector
from geocover.network.graph import Network
from geocover.network.snapping import Snap
from geocover.schema import CODE_DIGITS

ZONE_COLUMNS = ["zone_level", "zone_id", "zone_name", "parent_id", "urban_rural", "urban_rural_source",
                "is_county_seat"]


def read_zones(
    layers: list[ZoneLayerConfig],
    pbf: Path | None,
    builtup_raster: Path | None = None,
    urban_builtup_percent: float = 30.0,
) -> gpd.GeoDataFrame:
    """Read every configured zone level into one GeoDataFrame.

    Parameters
    ----------
    layers : list of ZoneLayerConfig
        OSM admin levels (read from ``pbf``) or polygon files; a file level may roll up
        to county, city and province by its 12-digit codes.
    pbf : Path or None
        OSM file used for ``osm_admin_level`` layers.
    builtup_raster : Path, optional
        Built-up share in percent, for deriving urban towns (see :mod:`geocover.analysis.urban_rural`).
    urban_builtup_percent : float

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`ZONE_COLUMNS` and polygons, EPSG:4326; invalid polygons are
        repaired (``make_valid``) and counted in ``attrs["repaired"]``.
    """
    frames = []
    problems = []
    repaired = 0
    for layer in layers:
        if layer.seats is not None:
            continue
        if layer.osm_admin_level is not None:
            frame = read_admin_boundaries(pbf, layer.osm_admin_level)
            source = f"{pbf} (admin_level={layer.osm_admin_level})"
        else:
            frame, layer_problems = _read_zone_file(layer)
            problems += layer_problems
            source = str(layer.path)
            if frame is None:
                continue
        if frame.empty:
            problems.append(Problem(source, f"no zones found for level '{layer.level}'",
                                    "check the admin level or the file"))
            continue
        invalid = ~frame.geometry.is_valid
        repaired += int(invalid.sum())
        frame.loc[invalid, "geometry"] = frame.geometry[invalid].make_valid()
        frame = frame.to_crs("EPSG:4326")
        builtup = builtup_percent(frame, builtup_raster) if builtup_raster is not None else None
        try:
            classes = classify_urban_rural(
                frame, source, layer.urban_rural_code_column, layer.urban_rural_column,
                layer.county_seat_column, builtup, urban_builtup_percent,
            )
        except InputError as error:
            problems += error.problems
            continue
        frame = pd.concat([frame, classes], axis=1)
        frame["zone_level"] = layer.level
        frame["parent_id"] = [_parent_code(code, layer.rollup) for code in frame["zone_id"]]
        frames.append(gpd.GeoDataFrame(frame[ZONE_COLUMNS + ["geometry"]], crs="EPSG:4326"))
        frames += [_roll_up(frame, level, layer.rollup) for level in layer.rollup]
    if problems:
        raise InputError(problems)
    zones = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
    zones.attrs["repaired"] = repaired
    return zones


def seat_zones(
    layer: ZoneLayerConfig,
    zones: gpd.GeoDataFrame,
    network: Network,
    grid: PopulationGrid,
    snap_max_m: float,
    offroad_kmh: float,
    cell_snap: Snap | None = None,
    builtup_raster: Path | None = None,
    urban_builtup_percent: float = 30.0,
) -> gpd.GeoDataFrame:
    """The zones of a ``seats:`` level, derived by network Voronoi inside its parent level.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`ZONE_COLUMNS` and polygons, EPSG:4326.
    """
    source = str(layer.seats)
    points = read_vector(layer.seats, layer.layer, layer.crs)
    problems = [Problem(source, f"column named by {key} not found", f"use one of {list(points.columns)}",
                        column=column)
                for key, column in (("id_column", layer.id_column), ("name_column", layer.name_column))
                if column is not None and column not in points.columns]
    if problems:
        raise InputError(problems)
    ids = points[layer.id_column].astype(str) if layer.id_column else pd.Series(
        [f"{layer.level}-{i}" for i in range(1, len(points) + 1)], index=points.index)
    seats = gpd.GeoDataFrame({"zone_id": ids, "zone_name": points[layer.name_column].astype(str)
                              if layer.name_column else ids}, geometry=points.geometry, crs=points.crs)
    parents = zones[zones["zone_level"] == layer.parent_level].reset_index(drop=True)
    frame = network_voronoi(network, seats, grid, parents, snap_max_m, offroad_kmh, cell_snap)
    builtup = builtup_percent(frame, builtup_raster) if builtup_raster is not None else None
    frame = pd.concat([frame, classify_urban_rural(frame, source, builtup=builtup,
                                                   urban_builtup_percent=urban_builtup_percent)], axis=1)
    frame["zone_level"] = layer.level
    return gpd.GeoDataFrame(frame[ZONE_COLUMNS + ["geometry"]], crs="EPSG:4326")


def _parent_code(code: str, rollup: list[str]) -> str | None:
    """Code of the next level up that is reported, or None."""
    if not rollup:
        return None
    level = min(rollup, key=lambda name: -CODE_DIGITS[name])
    return _prefix_code(code, level)


def _prefix_code(code: str, level: str) -> str:
    digits = CODE_DIGITS[level]
    return str(code)[:digits].ljust(12, "0")


def _roll_up(frame: pd.DataFrame, level: str, rollup: list[str]) -> gpd.GeoDataFrame:
    """Zones of ``level`` dissolved from ``frame`` by code prefix; urban if any part is urban; never a seat."""
    parts = gpd.GeoDataFrame(frame, crs="EPSG:4326")
    parts["zone_id"] = [_prefix_code(code, level) for code in parts["zone_id"]]
    merged = parts.dissolve(by="zone_id", as_index=False, aggfunc={"urban_rural": lambda v: (
        "urban" if (v == "urban").any() else "rural")})
    merged["is_county_seat"] = False
    higher = [name for name in rollup if CODE_DIGITS[name] < CODE_DIGITS[level]]
    merged["zone_level"] = level
    merged["zone_name"] = merged["zone_id"]
    merged["parent_id"] = [_parent_code(code, higher) for code in merged["zone_id"]]
    merged["urban_rural_source"] = "roll-up: urban if any part is urban"
    return gpd.GeoDataFrame(merged[ZONE_COLUMNS + ["geometry"]], crs="EPSG:4326")


def _read_zone_file(layer: ZoneLayerConfig) -> tuple[gpd.GeoDataFrame | None, list[Problem]]:
    path = layer.path
    try:
        frame = read_vector(path, layer.layer, layer.crs)
    except InputError as error:
        return None, error.problems
    problems = []
    for key in ("id_column", "name_column", "urban_rural_code_column", "urban_rural_column", "county_seat_column"):
        column = getattr(layer, key)
        if column is not None and column not in frame.columns:
            problems.append(Problem(
                str(path), f"column named by {key} not found", f"use one of {list(frame.columns)}",
                column=column,
            ))
    if not isinstance(frame, gpd.GeoDataFrame):
        return None, [Problem(str(path), "the layer has no geometry (a table, not zone polygons)",
                              "give the township boundary layer (polygons)")]
    kinds = frame.geometry.geom_type.to_numpy()
    for row in np.flatnonzero(frame.geometry.isna().to_numpy() | frame.geometry.is_empty.to_numpy()):
        problems.append(Problem(str(path), "the zone has no geometry", "draw its boundary or delete the row",
                                row=int(row) + 1))
    for row in np.flatnonzero(frame.geometry.notna().to_numpy() & ~frame.geometry.is_empty.to_numpy()
                              & ~np.isin(kinds, ("Polygon", "MultiPolygon"))):
        problems.append(Problem(str(path), f"a {kinds[row]}, not a polygon: zones are areas",
                                "give the boundary polygons (points of seats go under seats:)", row=int(row) + 1))
    if problems:
        return None, problems
    ids = pd.Series([cell_text(v) for v in frame[layer.id_column]] if layer.id_column else
                    [f"{layer.level}-{i}" for i in range(1, len(frame) + 1)], index=frame.index, dtype=object)
    if ids.isna().any():
        return None, [Problem(str(path), "the zone has no id", "fill in its code", row=int(index) + 1,
                              column=layer.id_column) for index in ids.index[ids.isna()]]
    duplicated = ids[ids.duplicated()]
    if len(duplicated):
        return None, [Problem(str(path), f"zone id {value!r} is used twice", "make ids unique",
                              row=int(index) + 1, column=layer.id_column)
                      for index, value in duplicated.items()]
    bad_codes = ids[~ids.str.fullmatch(r"\d{12}")] if layer.rollup else ids.iloc[:0]
    if len(bad_codes):
        return None, [Problem(str(path), f"{value!r} is not a 12-digit administrative code", "roll-up needs them",
                              row=int(index) + 1, column=layer.id_column)
                      for index, value in bad_codes.items()]
    names = frame[layer.name_column].map(lambda v: cell_text(v) or "") if layer.name_column else ids
    zones = frame.drop(columns=frame.geometry.name).assign(zone_id=ids.to_numpy(), zone_name=names.to_numpy())
    return gpd.GeoDataFrame(zones, geometry=frame.geometry.to_numpy(), crs=frame.crs), []


def zone_file_problems(layer: ZoneLayerConfig) -> list[Problem]:
    """Every problem of a zone file, read as a run reads it: unreadable, no CRS, missing columns, rows without
    an id or a polygon, ids used twice or (with ``rollup``) not 12-digit codes."""
    return _read_zone_file(layer)[1]


def lie_within(shapes: np.ndarray, container: shapely.Geometry) -> np.ndarray:
    """Per shape: True when its area outside ``container`` is below 1e-9 of its area (shared borders
    digitised alike differ by rounding only)."""
    return shapely.area(shapely.difference(shapes, container)) <= 1e-9 * np.maximum(shapely.area(shapes), 1e-30)


def zones_of_unit(zones: gpd.GeoDataFrame, level: str, zone_id: str) -> gpd.GeoDataFrame:
    """The zone ``(level, zone_id)`` and the zones of other levels lying inside it.

    A zone lies inside when its area outside the unit is below 1e-9 of its area (:func:`lie_within`). A zone
    of a higher level holding the unit (its city) is left out, even when its representative point falls in the
    unit: a batch computes such zones from the merged units, and taking them in would widen the unit's study
    area to the whole of them.

    Raises
    ------
    InputError
        When there is no such zone.
    """
    chosen = zones[(zones["zone_level"] == level) & (zones["zone_id"].astype(str) == str(zone_id))]
    if chosen.empty:
        raise InputError([Problem(f"unit {level}:{zone_id}", "no such zone", "use a zone_level and zone_id")])
    boundary = chosen.geometry.iloc[0]
    shapes = zones.geometry.to_numpy()
    candidate = shapely.within(shapely.point_on_surface(shapes), boundary) & (zones["zone_level"] != level).to_numpy()
    inside = np.zeros(len(zones), dtype=bool)
    inside[candidate] = lie_within(shapes[candidate], boundary)
    return zones[inside | zones.index.isin(chosen.index)].reset_index(drop=True)


def study_area(zones: gpd.GeoDataFrame, buffer_m: float) -> gpd.GeoSeries:
    """The zones' union buffered by ``buffer_m`` metres (in a local UTM CRS), EPSG:4326.

    Roads, facilities and population are taken within it, so a zone at the edge
    is served by a facility across its border.
    """
    metric = zones.to_crs(utm_crs(zones))
    area = metric.geometry.union_all().buffer(buffer_m)
    return gpd.GeoSeries([area], crs=metric.crs).to_crs("EPSG:4326")
