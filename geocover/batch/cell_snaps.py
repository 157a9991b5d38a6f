"""Population cells snapped to the roads once per batch, instead of again in every unit whose halo holds them.

A county's halo is about four times the county: run alone, each unit would snap its neighbours' cells
too. Before the units run, the batch snaps every cell of the population raster around the units to
the **whole** network of each travel mode, by bands of raster rows on the workers (:func:`snap_rows`),
into memory-mapped arrays keyed by the OSM ids of each segment's ends. A unit then takes its cells'
snaps from them (:meth:`CellSnaps.for_grid`):

- a cell whose nearest segment of the whole network is one of the unit's gets it, as the unit's own
  search would give (ties go to the lowest segment index, in the same order in both networks: see
  :func:`geocover.network.snapping.snap_points`), with the same position and offset (same CRS, same nodes);
- a cell whose nearest segment is not among the unit's roads lies at the fringe of the halo (the
  segment's ends are outside the study area's box, more than the halo radius ``R`` from the unit):
  any trip between it and the unit runs more than ``R`` on the roads, longer than every band, so it is
  left unsnapped in the unit (on its own, the unit would have snapped it to a farther road of its own);
- a unit in another UTM zone than its snaps, or whose grid is not the raster's lattice, snaps its cells
  itself.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import rasterio
from affine import Affine
from rasterio.errors import WindowError
from rasterio.warp import transform_bounds
from rasterio.windows import Window, from_bounds

from geocover.config import ScenarioConfig
from geocover.io.osm import RoadSegments
from geocover.io.population import PopulationGrid
from geocover.io.utm import utm_crs_at
from geocover.network.graph import Network, build_network
from geocover.network.snapping import Snap
from geocover.prepare import with_access_rules
from geocover.prepared_inputs import network_modes, study_reach_m
from geocover.travel.cells import snap_cells

SNAPS_FOLDER = "snaps"
"""Folder of the batch state keeping the snapped cells."""

BAND_CELLS = 4_000_000
"""Raster cells per band of rows snapped in one task, about at most (1.5 GB of work memory); at least two bands
per worker, shared among the regions by their cells."""

_UNSNAPPED, _NOT_YET = -1, -2
"""``u`` array values: no segment within ``snap_max_m``; not snapped (outside the bands)."""

_PAIR = np.dtype([("u", "<i8"), ("v", "<i8")])
_ARRAYS = {"u": np.int64, "v": np.int64, "fraction": np.float64, "offset_m": np.float64}
_COMPLETE = "complete.json"


@dataclass(frozen=True)
class CellSnaps:
    """The raster cells of one region snapped to the whole network of each mode, in one metric CRS.

    Attributes
    ----------
    folder : Path
        Holds ``<mode>.<u|v|fraction|offset_m>.npy``, one value per cell of the region: the OSM ids of the
        ends of the nearest segment (``u`` -1 when none lies within ``snap_max_m``), the position along it
        and the off-road metres, as :class:`geocover.network.snapping.Snap` has them.
    crs : str
        WKT of the network CRS (a UTM zone).
    raster_crs : str
        WKT of the population raster's CRS.
    transform : tuple of float
        Affine transform (6 terms) of the region, a window of the raster.
    shape : tuple of int
        ``(rows, cols)`` of the region.
    modes : tuple of str
    snap_max_m : float
    """

    folder: Path
    crs: str
    raster_crs: str
    transform: tuple[float, ...]
    shape: tuple[int, int]
    modes: tuple[str, ...]
    snap_max_m: float

    @property
    def complete(self) -> bool:
        """All bands snapped (a rerun reuses them)."""
        return (self.folder / _COMPLETE).is_file()

    def array(self, mode: str, name: str, writable: bool = False) -> np.ndarray:
        """The memory-mapped array ``name`` of ``mode``, shape :attr:`shape`."""
        return np.load(self.folder / f"{mode}.{name}.npy", mmap_mode="r+" if writable else "r")

    def for_grid(self, network: Network, grid: PopulationGrid) -> Snap | None:
        """The valid cells of ``grid`` (row-major) snapped to ``network``, or None when these snaps
        cannot give them (another CRS or mode, another lattice, cells outside the region).

        A cell keeps the snap of the whole network when that segment is in ``network``, and is
        unsnapped otherwise (see the module docstring).
        """
        if (network.mode not in self.modes or pyproj.CRS(network.crs) != pyproj.CRS(self.crs)
                or pyproj.CRS(grid.crs) != pyproj.CRS(self.raster_crs)):
            return None
        ref, own = Affine(*self.transform), grid.transform
        shift = np.array([(own.c - ref.c) / ref.a, (own.f - ref.f) / ref.e])
        if (not math.isclose(own.a, ref.a, rel_tol=1e-9) or not math.isclose(own.e, ref.e, rel_tol=1e-9)
                or own.b or own.d or np.abs(shift - np.round(shift)).max() > 1e-6):
            return None
        col_off, row_off = (int(k) for k in np.round(shift))
        rows, cols = np.nonzero(grid.valid)
        if not len(rows):
            return Snap(np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0))
        top, left = row_off + rows.min(), col_off + cols.min()
        bottom, right = row_off + rows.max() + 1, col_off + cols.max() + 1
        if top < 0 or left < 0 or bottom > self.shape[0] or right > self.shape[1]:
            return None
        at = rows + row_off - top, cols + col_off - left
        values = {name: self.array(network.mode, name)[top:bottom, left:right][at] for name in _ARRAYS}
        if (values["u"] == _NOT_YET).any():
            return None
        edges = np.empty(network.n_edges, dtype=_PAIR)
        edges["u"], edges["v"] = network.node_id[network.u], network.node_id[network.v]
        cells = np.empty(len(rows), dtype=_PAIR)
        cells["u"], cells["v"] = values["u"], values["v"]
        order = np.argsort(edges, kind="stable")
        found = np.minimum(np.searchsorted(edges, cells, sorter=order), max(network.n_edges - 1, 0))
        edge = order[found] if network.n_edges else np.zeros(len(cells), dtype=np.int64)
        hit = (values["u"] >= 0) & (network.n_edges > 0)
        hit[hit] = edges[edge[hit]] == cells[hit]
        return Snap(np.where(hit, edge, -1), np.where(hit, values["fraction"], 0.0),
                    np.where(hit, values["offset_m"], np.inf))


def plan_cell_snaps(config: ScenarioConfig, unit_zones: gpd.GeoDataFrame, segments: RoadSegments, folder: Path,
                    workers: int) -> list[tuple[CellSnaps, list[tuple[int, int]]]]:
    """The regions to snap, one per UTM zone of the units, each with its bands of rows still to snap.

    A region is the window of the population raster around its units' study areas (their box widened
    by the halo radius, :func:`geocover.prepared_inputs.study_reach_m`). Nothing is planned without a
    population raster. A region already complete in ``folder`` is returned with no bands.
    """
    raster = config.population.raster
    if raster is None or unit_zones.empty:
        return []
    reach_m = study_reach_m(config, segments) + config.snap_limit_m
    units = unit_zones.to_crs("EPSG:4326")
    bounds = units.geometry.bounds.to_numpy()
    crs_of = [utm_crs_at((west + east) / 2, (south + north) / 2) for west, south, east, north in bounds]
    modes = tuple(network_modes(config))
    plans = []
    with rasterio.open(raster) as src:
        whole = Window(0, 0, src.width, src.height)
        for k, crs in enumerate(dict.fromkeys(crs_of)):
            group = units[[c == crs for c in crs_of]]
            west, south, east, north = transform_bounds("EPSG:4326", crs.to_wkt(), *group.total_bounds,
                                                        densify_pts=21)
            box = transform_bounds(crs.to_wkt(), src.crs, west - reach_m, south - reach_m, east + reach_m,
                                   north + reach_m, densify_pts=21)
            window = from_bounds(*box, transform=src.transform).round_offsets(op="floor").round_lengths(op="ceil")
            try:
                window = window.intersection(whole)
            except WindowError:
                continue
            snaps = CellSnaps(folder / f"crs{k}", crs.to_string(), pyproj.CRS(src.crs).to_string(),
                              tuple(src.window_transform(window))[:6], (int(window.height), int(window.width)),
                              modes, config.snap_limit_m)
            if not snaps.complete:
                _create(snaps)
            plans.append(snaps)
    cells = [snaps.shape[0] * snaps.shape[1] for snaps in plans]
    tasks = max(2 * workers, math.ceil(sum(cells) / BAND_CELLS))
    bands = []
    for snaps, count in zip(plans, cells, strict=True):
        parts = min(snaps.shape[0], max(1, round(tasks * count / max(sum(cells), 1))))
        edges = np.linspace(0, snaps.shape[0], parts + 1).round().astype(int)
        bands.append([] if snaps.complete else [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)
                                                if b > a])
    return list(zip(plans, bands, strict=True))


def _create(snaps: CellSnaps) -> None:
    """Empty arrays of the region (``u`` marked not snapped yet)."""
    snaps.folder.mkdir(parents=True, exist_ok=True)
    for mode in snaps.modes:
        for name, dtype in _ARRAYS.items():
            array = np.lib.format.open_memmap(snaps.folder / f"{mode}.{name}.npy", mode="w+", dtype=dtype,
                                              shape=snaps.shape)
            array[:] = _NOT_YET if name == "u" else 0
            array.flush()
            del array


def mark_complete(snaps: CellSnaps) -> None:
    """Record that every band of ``snaps`` is written."""
    temporary = snaps.folder / f".{_COMPLETE}.{os.getpid()}"
    temporary.write_text(json.dumps({"shape": snaps.shape, "modes": snaps.modes}), encoding="utf-8")
    os.replace(temporary, snaps.folder / _COMPLETE)


def snap_rows(snaps: CellSnaps, rows: tuple[int, int], config: ScenarioConfig, segments: RoadSegments) -> int:
    """Snap the cells with data of rows ``rows`` of the region to each mode's network, written in place.

    Each mode's network holds every segment whose box comes within ``snap_max_m`` of the band (so the
    nearest segment of the whole network is among them), built as a run builds it.

    Returns
    -------
    int
        Cells snapped.
    """
    top, bottom = rows
    region = Affine(*snaps.transform)
    transform = region @ Affine.translation(0, top)
    with rasterio.open(config.population.raster) as src:
        col_off, row_off = (int(round(k)) for k in ~src.transform @ (region.c, region.f))
        data = src.read(1, window=Window(col_off, row_off + top, snaps.shape[1], bottom - top), masked=True)
    valid = ~np.ma.getmaskarray(data) & np.isfinite(data.filled(np.nan))
    grid = PopulationGrid(np.zeros(valid.shape), valid, transform, pyproj.CRS(snaps.raster_crs))
    height, width = valid.shape
    corners = transform @ (0, 0), transform @ (width, height)
    box = transform_bounds(grid.crs, snaps.crs, *np.min(corners, axis=0), *np.max(corners, axis=0),
                           densify_pts=21)
    margin = 1.01 * snaps.snap_max_m + 100.0
    box = (box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin)
    near = with_access_rules(segments.near(transform_bounds(snaps.crs, "EPSG:4326", *box, densify_pts=21)), config)
    roads = config.roads
    for mode in snaps.modes:
        network = build_network(near, mode, snaps.crs, roads.speeds_kmh, roads.use_maxspeed, roads.speed_factor,
                                closed_kinds=roads.closed_to(mode))
        values = {"u": np.full(int(valid.sum()), _UNSNAPPED), "v": np.full(int(valid.sum()), _UNSNAPPED),
                  "fraction": np.zeros(int(valid.sum())), "offset_m": np.full(int(valid.sum()), np.inf)}
        if network.n_edges:
            snap = snap_cells(network, grid, snaps.snap_max_m)
            edge = snap.edge[snap.snapped]
            values["u"][snap.snapped] = network.node_id[network.u[edge]]
            values["v"][snap.snapped] = network.node_id[network.v[edge]]
            values["fraction"], values["offset_m"] = snap.fraction, snap.offset_m
        for name, value in values.items():
            array = snaps.array(mode, name, writable=True)
            band = np.full(valid.shape, _UNSNAPPED if name == "u" else 0, dtype=_ARRAYS[name])
            band[valid] = value
            array[top:bottom] = band
            array.flush()
            del array
    return int(valid.sum())


def first_snaps(snaps: Sequence[CellSnaps], network: Network, grid: PopulationGrid) -> Snap | None:
    """The cells of ``grid`` snapped to ``network`` by the first of ``snaps`` that can give them, else None."""
    for region in snaps:
        found = region.for_grid(network, grid)
        if found is not None:
            return found
    return None
