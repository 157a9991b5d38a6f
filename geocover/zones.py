"""Reporting zones and the study area around them."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geocover.config import ZoneLayerConfig
from geocover.errors import InputError, Problem
from geocover.osm import read_admin_boundaries


def read_zones(layers: list[ZoneLayerConfig], pbf: Path | None) -> gpd.GeoDataFrame:
    """Read every configured zone level into one GeoDataFrame.

    Parameters
    ----------
    layers : list of ZoneLayerConfig
        OSM admin levels (read from ``pbf``) or polygon files.
    pbf : Path
        OSM file used for ``osm_admin_level`` layers.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``zone_level, zone_id, zone_name`` and polygons, EPSG:4326; invalid
        polygons are repaired (``make_valid``) and counted in ``attrs["repaired"]``.
    """
    frames = []
    problems = []
    repaired = 0
    for layer in layers:
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
        frame.insert(0, "zone_level", layer.level)
        frames.append(frame.to_crs("EPSG:4326"))
    if problems:
        raise InputError(problems)
    zones = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
    zones.attrs["repaired"] = repaired
    return zones


def _read_zone_file(layer: ZoneLayerConfig) -> tuple[gpd.GeoDataFrame | None, list[Problem]]:
    path = layer.path
    if path is None or not path.exists():
        return None, [Problem(str(path), "zone file not found", "check the path in the config")]
    frame = pyogrio.read_dataframe(path, layer=layer.layer)
    problems = []
    for key, column in (("id_column", layer.id_column), ("name_column", layer.name_column)):
        if column is not None and column not in frame.columns:
            problems.append(Problem(
                str(path), f"column named by {key} not found", f"use one of {list(frame.columns)}",
                column=column,
            ))
    if problems:
        return None, problems
    if frame.crs is None:
        return None, [Problem(str(path), "the layer has no CRS", "save it with its CRS (.prj)")]
    ids = frame[layer.id_column].astype(str) if layer.id_column else pd.Series(
        [f"{layer.level}-{i}" for i in range(1, len(frame) + 1)], index=frame.index
    )
    duplicated = ids[ids.duplicated()]
    if len(duplicated):
        return None, [Problem(str(path), f"zone id {value!r} is used twice", "make ids unique",
                              row=int(index) + 1, column=layer.id_column)
                      for index, value in duplicated.items()]
    names = frame[layer.name_column].astype(str) if layer.name_column else ids
    zones = gpd.GeoDataFrame(
        {"zone_id": ids.to_numpy(), "zone_name": names.to_numpy()},
        geometry=frame.geometry.to_numpy(), crs=frame.crs,
    )
    return zones, []


def study_area(zones: gpd.GeoDataFrame, buffer_m: float) -> gpd.GeoSeries:
    """The zones' union buffered by ``buffer_m`` metres (in a local UTM CRS), EPSG:4326.

    Roads, facilities and population are taken within it, so a zone at the edge
    is served by a facility across its border.
    """
    metric = zones.to_crs(zones.estimate_utm_crs())
    area = metric.geometry.union_all().buffer(buffer_m)
    return gpd.GeoSeries([area], crs=metric.crs).to_crs("EPSG:4326")
