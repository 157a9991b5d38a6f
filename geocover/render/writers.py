"""Write a scenario's outputs as one set (see :mod:`geocover.output_folder`): all into a stage folder first, then
swapped in as a whole, with ``manifest.json``.

A run that fails leaves the output folder as it was: no half-written file, no mix of two runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import rasterio
from tqdm.auto import tqdm

from geocover.errors import InputError, Problem
from geocover.io.coordinates import gk3_zone_epsg
from geocover.output_folder import MANIFEST, staged_outputs
from geocover.pipeline import ScenarioResult
from geocover.render.print_map import write_static_map
from geocover.render.report import write_report
from geocover.render.tables import write_csv, write_workbook
from geocover.standards import write_audit

FIXED_GPKG_DATE = "2000-01-01T00:00:00Z"
"""GeoPackage timestamps are set to this, so the same run writes the same file."""

UNREACHABLE_MINUTES = -1.0
NODATA_MINUTES = -9999.0
OUTPUT_STEPS = ("tables written", "GeoPackage written", "travel-time raster written", "map and audit written",
                "print map and report written", "outputs in place")
"""The steps :func:`write_outputs` advances a progress bar by, in order."""

MORE_THAN_CODE = -2.0
"""``travel_time.tif`` value of cells more than ``more_than_minutes`` from every facility (a batch run)."""


def write_travel_time(result: ScenarioResult, path: Path, more_than_minutes: float | None = None) -> None:
    """GeoTIFF of minutes to the nearest facility per population cell (float32), band 1.

    Cells with no facility reachable hold -1; cells outside the data or the study
    area hold the nodata value -9999; with ``more_than_minutes`` (a batch run, whose cells beyond it
    have no exact time), cells beyond it hold -2. Band 2, when the run snapped every cell itself,
    holds the off-road part of band 1: the minutes walked from the cell centre to its road at
    ``offroad_kmh`` (-1 where the cell joins no road).
    """
    grid = result.access.grid
    minutes = result.access.minutes
    description, tags = "minutes to nearest facility (-1: none reachable)", {}
    if more_than_minutes is not None:
        minutes = np.where(np.isfinite(minutes) & (minutes > more_than_minutes), MORE_THAN_CODE, minutes)
        description = f"minutes to nearest facility (-1: none reachable; -2: more than {more_than_minutes:g})"
        tags = {"more_than": str(MORE_THAN_CODE)}
    minutes = np.where(np.isfinite(minutes), minutes, UNREACHABLE_MINUTES)
    bands = [np.where(grid.valid, minutes, NODATA_MINUTES).astype(np.float32)]
    snap = result.access.cell_snap
    if snap is not None and len(snap) == int(grid.valid.sum()):
        walk = np.where(snap.snapped, snap.offset_m / (result.access.offroad_kmh * 1000.0 / 60.0), UNREACHABLE_MINUTES)
        bands.append(grid.to_grid(walk, NODATA_MINUTES).astype(np.float32))
    profile = {
        "driver": "GTiff", "height": grid.shape[0], "width": grid.shape[1], "count": len(bands),
        "dtype": "float32", "crs": grid.crs.to_wkt(), "transform": grid.transform,
        "nodata": NODATA_MINUTES, "compress": "deflate",
    }
    with rasterio.open(path, "w", **profile) as dst:
        for band, values in enumerate(bands, start=1):
            dst.write(values, band)
        dst.set_band_description(1, description)
        if len(bands) == 2:
            dst.set_band_description(2, "off-road minutes: walk from the cell centre to its road (-1: none)")
        dst.update_tags(mode=result.config.mode, unreachable=str(UNREACHABLE_MINUTES), **tags)


def network_layers(result: ScenarioResult) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The network as ``network_nodes`` and ``network_edges`` layers, EPSG:4326.

    Nodes: ``node_id`` (OSM), ``minutes`` to the nearest facility, ``facility_id``.
    Edges: one row per open direction, ``u``, ``v`` (OSM node ids), ``length_m``, ``minutes``.
    """
    network = result.network
    nodes = result.access.nodes
    facility_ids = result.facilities["facility_id"].to_numpy()
    node_layer = gpd.GeoDataFrame(
        {
            "node_id": network.node_id,
            "minutes": np.where(np.isfinite(nodes.minutes), nodes.minutes, np.nan),
            "facility_id": np.where(nodes.facility >= 0, facility_ids[np.maximum(nodes.facility, 0)], None),
        },
        geometry=gpd.points_from_xy(network.x, network.y),
        crs=network.crs,
    ).to_crs("EPSG:4326")
    tail, head, minutes = network.arcs()
    open_uv = np.isfinite(network.minutes_uv)
    length = np.concatenate([network.length_m[open_uv], network.length_m[np.isfinite(network.minutes_vu)]])
    segments = network.segments
    geometry = np.concatenate([segments[open_uv], segments[np.isfinite(network.minutes_vu)]])
    edge_layer = gpd.GeoDataFrame(
        {"u": network.node_id[tail], "v": network.node_id[head], "length_m": length, "minutes": minutes},
        geometry=geometry,
        crs=network.crs,
    ).to_crs("EPSG:4326")
    return node_layer, edge_layer


def output_crs(result: ScenarioResult) -> pyproj.CRS | None:
    """The extra CRS of the GeoPackage copy: ``output_crs`` of the config, ``gk3`` for the CGCS2000
    3-degree Gauss-Krüger zone (zone number in the easting) of the zones' centre."""
    chosen = result.config.output_crs
    if chosen is None:
        return None
    if chosen.lower() == "gk3":
        lon = result.zones.to_crs("EPSG:4326").union_all().centroid.x
        try:
            return pyproj.CRS.from_user_input(gk3_zone_epsg(int(round(lon / 3.0))))
        except ValueError:
            raise InputError([Problem(str(result.config.source), f"key 'output_crs': gk3 zones cover 75-135°E, "
                                      f"the zones lie at {lon:.2f}°E", "give an EPSG code instead")]) from None
    return pyproj.CRS.from_user_input(chosen)


def workbook_sheets(table: pd.DataFrame, facilities: gpd.GeoDataFrame) -> dict[str, pd.DataFrame]:
    """The sheets of ``coverage.xlsx``: the zone table, and the facility table with ``lon``/``lat`` (WGS84)."""
    wgs84 = facilities if facilities.crs == "EPSG:4326" else facilities.to_crs("EPSG:4326")
    return {"zones": table, "facilities": pd.DataFrame(wgs84.drop(columns="geometry")).assign(
        lon=wgs84.geometry.x.round(7), lat=wgs84.geometry.y.round(7))}


def write_outputs(result: ScenarioResult, out_dir: str | Path, export_network: bool = False,
                  map_html: str | None = None, lang: str | None = None,
                  tables: dict[str, pd.DataFrame | dict[str, pd.DataFrame]] | None = None,
                  workbook: Future | None = None, steps: tqdm | None = None,
                  more_than_minutes: float | None = None) -> dict[str, Path]:
    """Write the table, GeoPackage, travel-time raster and map of a scenario.

    Parameters
    ----------
    result : ScenarioResult
    out_dir : str or Path
        Created if needed; the earlier set in it is replaced as a whole once every file is written
        (:func:`geocover.output_folder.staged_outputs`).
    export_network : bool
        Add the ``network_nodes`` and ``network_edges`` layers to the GeoPackage.
    map_html : str, optional
        The rendered map; ``map.html`` is skipped when omitted.
    lang : {"en", "zh"}, optional
        Language of the print map (``map.png``/``map.pdf``) and report (``report.html``/``report.pdf``), else none;
        also of the ``coverage.xlsx`` and ``audit.xlsx`` headers (English when none).
    tables : dict, optional
        More tables written in the same step, besides ``result.tables``: ``name.csv`` to a DataFrame
        (UTF-8 with BOM), ``name.xlsx`` to a dict of sheet name to DataFrame.
    workbook : future, optional
        ``coverage.xlsx`` already being written into ``out_dir`` by another process (:func:`write_workbook` of
        :func:`workbook_sheets`, pure Python and the slowest output of a province; a batch starts it on a
        worker while merging): waited for instead of written here.
    steps : tqdm, optional
        A progress bar advanced once per output step (:data:`OUTPUT_STEPS`).
    more_than_minutes : float, optional
        ``travel_time.tif`` codes cells beyond it -2 (a batch run: no exact time there).

    Returns
    -------
    dict
        Output name to final path.
    """
    out_dir = Path(out_dir)
    tables = {**result.tables, **(tables or {})}
    extra_crs = output_crs(result)
    names = _output_names(result, extra_crs, map_html is not None, lang is not None, tables)
    with staged_outputs(out_dir, scenario=result.config.name) as stage:
        facilities = result.facilities.to_crs("EPSG:4326")
        _write_coverage_tables(result, facilities, stage, workbook is None, lang or "en")
        _advance(steps, OUTPUT_STEPS[0])
        _write_geopackages(_gpkg_layers(result, facilities, export_network), stage, extra_crs)
        _advance(steps, OUTPUT_STEPS[1])
        write_travel_time(result, stage / "travel_time.tif", more_than_minutes)
        _advance(steps, OUTPUT_STEPS[2])
        _write_map_and_audit(result, stage, map_html, lang or "en")
        _advance(steps, OUTPUT_STEPS[3])
        if lang is not None:
            write_static_map(result, stage / "map.png", lang)
            write_report(result, stage, lang, map_file="map.html" if map_html is not None else None)
        _advance(steps, OUTPUT_STEPS[4])
        for name, table in tables.items():
            _write_table(table, stage / name)
        if workbook is not None:
            os.replace(workbook.result(), stage / "coverage.xlsx")
    _advance(steps, OUTPUT_STEPS[5])
    return {name: out_dir / name for name in names}


def _output_names(result: ScenarioResult, extra_crs: pyproj.CRS | None, with_map: bool, with_report: bool,
                  tables: dict[str, pd.DataFrame | dict[str, pd.DataFrame]]) -> list[str]:
    """The files :func:`write_outputs` writes, the manifest last."""
    names = ["coverage_by_zone.csv", "coverage_by_facility.csv", "coverage.xlsx", "results.gpkg", "travel_time.tif"]
    if extra_crs is not None:
        names.append(f"results_{extra_crs.to_epsg()}.gpkg")
    if with_map:
        names.append("map.html")
    if result.audit is not None:
        names += ["audit.csv", "audit.xlsx"]
    if with_report:
        names += ["map.png", "map.pdf", "report.html", "report.pdf"]
    return [*names, *tables, MANIFEST]


def _write_coverage_tables(result: ScenarioResult, facilities: gpd.GeoDataFrame, stage: Path, workbook: bool,
                           lang: str) -> None:
    """``coverage_by_zone.csv``, ``coverage_by_facility.csv`` and, when ``workbook``, ``coverage.xlsx`` (headers
    in ``lang``)."""
    write_csv(result.table, stage / "coverage_by_zone.csv")
    sheets = workbook_sheets(result.table, facilities)
    write_csv(sheets["facilities"], stage / "coverage_by_facility.csv")
    if workbook:
        write_workbook(sheets, stage / "coverage.xlsx", lang, result.config)


def _gpkg_layers(result: ScenarioResult, facilities: gpd.GeoDataFrame,
                 export_network: bool) -> dict[str, gpd.GeoDataFrame]:
    """The GeoPackage's layers by name: facilities, zones, service areas and gaps, then those the run has."""
    layers = {
        "facilities": facilities,
        "zones": result.zones,
        "service_areas": result.service_areas,
        "gaps": result.gaps,
    }
    if result.catchments is not None:
        layers["catchments"] = result.catchments
    if result.sites is not None:
        layers["proposed_sites"] = result.sites
    if result.isochrones is not None:
        layers["isochrones"] = result.isochrones.to_crs("EPSG:4326")
    for name, service in result.services.items():
        layers[f"service_areas_{name}"] = service.service_areas
    if export_network:
        layers["network_nodes"], layers["network_edges"] = network_layers(result)
    return layers


def _write_map_and_audit(result: ScenarioResult, stage: Path, map_html: str | None, lang: str) -> None:
    """``map.html`` when rendered, ``audit.csv`` and ``audit.xlsx`` (headers in ``lang``) when the run has an
    audit."""
    if map_html is not None:
        (stage / "map.html").write_text(map_html, encoding="utf-8")
    if result.audit is not None:
        write_audit(result.audit, stage / "audit.csv", stage / "audit.xlsx", lang=lang)


def _write_geopackages(layers: dict[str, gpd.GeoDataFrame], stage: Path, extra_crs: pyproj.CRS | None) -> None:
    """``results.gpkg``, and its copy in ``extra_crs`` when given, with every layer (a fixed date, so two runs
    write the same bytes)."""
    with gdal_config(OGR_CURRENT_DATE=FIXED_GPKG_DATE):
        for layer, frame in layers.items():
            frame.to_file(stage / "results.gpkg", layer=layer, driver="GPKG", engine="pyogrio")
            if extra_crs is not None:
                frame.to_crs(extra_crs).to_file(stage / f"results_{extra_crs.to_epsg()}.gpkg", layer=layer,
                                                driver="GPKG", engine="pyogrio")


def _advance(steps: tqdm | None, label: str) -> None:
    if steps is not None:
        steps.set_postfix_str(label)
        steps.update(1)


@contextmanager
def gdal_config(**options: str) -> Iterator[None]:
    """Set GDAL configuration options for the ``with`` block only; the previous values (or none) come back after."""
    previous = {key: pyogrio.get_gdal_config_option(key) for key in options}
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(previous)


def _write_table(table: pd.DataFrame | dict[str, pd.DataFrame], path: Path) -> None:
    if path.suffix == ".csv":
        write_csv(table, path)
        return
    write_workbook(table, path)
