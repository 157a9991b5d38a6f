"""The population grid: the one denominator of every table, map and gap polygon."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import rasterio
import rasterio.errors
import rasterio.features
import rasterio.windows
from affine import Affine
from rasterio.warp import transform_bounds

from geocover.errors import InputError, Problem
from geocover.io.utm import utm_crs
from geocover.io.water import WaterMask


@dataclass
class PopulationGrid:
    """People per cell on a regular grid.

    Attributes
    ----------
    population : numpy.ndarray of float64, shape (rows, cols)
        People per cell, 0 where the source had no data.
    valid : numpy.ndarray of bool
        Cells that hold data (land) and lie in the study area; only these are routed.
    transform : affine.Affine
        Grid to CRS coordinates (cell corners).
    crs : pyproj.CRS
    water : WaterMask, optional
        Water no off-road leg crosses (:mod:`geocover.io.water`): the raster's nodata, OSM water.
    """

    population: np.ndarray
    valid: np.ndarray
    transform: Affine
    crs: pyproj.CRS
    water: WaterMask | None = None

    def derived(self, key: str, make: Callable[[], Any]) -> Any:
        """``make()``, a value computed from the valid cells (e.g. their centres in another CRS), kept under ``key``.

        Made again when :attr:`valid` (compared by content: it may be changed in place), :attr:`transform`,
        :attr:`crs` or :attr:`water` (by identity) changed since it was kept. The values are not pickled.
        """
        derived = self.__dict__.setdefault("_derived", {})  # not a field: no copy, comparison or pickle holds it
        kept = derived.get(key)
        if (kept is None or kept[0] != self.transform or kept[1] is not self.crs or kept[2] is not self.water
                or not np.array_equal(kept[3], self.valid)):
            kept = derived[key] = (self.transform, self.crs, self.water, self.valid.copy(), make())
        return kept[4]

    def __getstate__(self) -> dict:
        return {name: value for name, value in self.__dict__.items() if name != "_derived"}

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)``."""
        return self.population.shape

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates of the centres of the valid cells, in :attr:`crs`, row-major order."""
        rows, cols = np.nonzero(self.valid)
        return cell_centres(self.transform, rows, cols)

    def to_grid(self, values: np.ndarray, fill: float = np.nan) -> np.ndarray:
        """Spread one value per valid cell (in :meth:`centres` order) back onto the grid."""
        grid = np.full(self.shape, fill, dtype=np.float64)
        grid[self.valid] = values
        return grid

    def labels(self, zones: gpd.GeoDataFrame) -> np.ndarray:
        """Zone number (1-based row of ``zones``) of each cell by its centre, 0 outside all zones."""
        if zones.empty:
            return np.zeros(self.shape, dtype=np.int32)
        shapes = zip(zones.to_crs(self.crs).geometry, range(1, len(zones) + 1), strict=True)
        return rasterio.features.rasterize(
            shapes, out_shape=self.shape, transform=self.transform, fill=0, dtype="int32"
        )


def cell_centres(transform: Affine, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CRS coordinates of the centres of cells ``(rows, cols)`` of a north-up grid."""
    if transform.b or transform.d:
        raise ValueError("rotated rasters are not supported: warp the raster north-up first")
    return transform.c + transform.a * (cols + 0.5), transform.f + transform.e * (rows + 0.5)


def read_population(
    path: str | Path, study_area: gpd.GeoSeries | None = None
) -> PopulationGrid:
    """Read a population GeoTIFF over the study area.

    Parameters
    ----------
    path : str or Path
        GeoTIFF of people per cell, any CRS, nodata honoured (WorldPop uses -99999).
    study_area : geopandas.GeoSeries, optional
        Area to read, any CRS: the window around it is read and cells whose centre
        lies outside it are left out of routing. The whole raster when omitted.

    Returns
    -------
    PopulationGrid
    """
    path = Path(path)
    if not path.is_file():
        raise InputError([Problem(str(path), "population raster not found", "check the path in the config")])
    with rasterio.open(path) as src:
        if src.crs is None:
            raise InputError([Problem(str(path), "the raster has no CRS", "assign one (gdal_edit -a_srs)")])
        window = rasterio.windows.Window(0, 0, src.width, src.height)
        if study_area is not None:
            bounds = transform_bounds(study_area.crs, src.crs, *study_area.total_bounds, densify_pts=21)
            try:
                window = (
                    rasterio.windows.from_bounds(*bounds, transform=src.transform)
                    .round_offsets(op="floor")
                    .round_lengths(op="ceil")
                    .intersection(window)
                )
            except rasterio.errors.WindowError:
                covers = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
                wanted = study_area.to_crs(4326).total_bounds
                raise InputError([Problem(
                    str(path), "the raster does not overlap the zones: it covers lon {:.3f} to {:.3f}, lat {:.3f} "
                    "to {:.3f}; the study area lies at lon {:.3f} to {:.3f}, lat {:.3f} to {:.3f}".format(
                        *covers, *wanted),
                    "use the population raster of this place (e.g. WorldPop of this country)",
                )]) from None
        data = src.read(1, window=window, masked=True).astype(np.float64)
        transform = src.window_transform(window)
        crs = pyproj.CRS.from_user_input(src.crs)
    valid = ~np.ma.getmaskarray(data) & np.isfinite(data.filled(np.nan))
    water = WaterMask(~valid, transform, crs)
    population = np.where(valid, data.filled(0.0), 0.0)
    if (population < 0).any():
        row, col = np.argwhere(population < 0)[0]
        raise InputError([Problem(
            str(path), f"negative population {population[row, col]} at row {row}, column {col}",
            "set the nodata value of the raster (WorldPop: -99999) or fix the cells",
        )])
    if study_area is not None:
        inside = rasterio.features.geometry_mask(
            study_area.to_crs(crs), out_shape=population.shape, transform=transform, invert=True
        )
        valid &= inside
    return PopulationGrid(population=population, valid=valid, transform=transform, crs=crs, water=water)


def population_from_points(
    points: gpd.GeoDataFrame, count_column: str, study_area: gpd.GeoSeries, cell_m: float
) -> PopulationGrid:
    """A population grid from point counts (village committees, residential compounds).

    The rule: a grid of ``cell_m`` metres in the study area's local UTM CRS, aligned to
    multiples of ``cell_m``; each point's count goes to the cell that holds it, so the
    grid total equals the points' total. Every cell in the study area is routed.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
    count_column : str
        People per point.
    study_area : geopandas.GeoSeries
    cell_m : float
        Cell size in metres.

    Returns
    -------
    PopulationGrid
    """
    crs = utm_crs(study_area)
    area = study_area.to_crs(crs)
    west, south, east, north = area.total_bounds
    west, south = np.floor(west / cell_m) * cell_m, np.floor(south / cell_m) * cell_m
    cols, rows = int(np.ceil((east - west) / cell_m)), int(np.ceil((north - south) / cell_m))
    transform = Affine(cell_m, 0.0, west, 0.0, -cell_m, south + rows * cell_m)
    located = points.to_crs(crs)
    col = np.floor((located.geometry.x.to_numpy() - west) / cell_m).astype(int)
    row = np.floor((transform.f - located.geometry.y.to_numpy()) / cell_m).astype(int)
    inside = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
    population = np.zeros((rows, cols))
    np.add.at(population, (row[inside], col[inside]), points[count_column].to_numpy(dtype=np.float64)[inside])
    valid = rasterio.features.geometry_mask(area, out_shape=(rows, cols), transform=transform, invert=True)
    return PopulationGrid(population=population, valid=valid | (population > 0), transform=transform,
                          crs=pyproj.CRS.from_user_input(crs))


def rescale_to_totals(grid: PopulationGrid, zones: gpd.GeoDataFrame, totals: np.ndarray) -> np.ndarray:
    """Scale the people of each zone's cells so the zone sums to an official total.

    Parameters
    ----------
    grid : PopulationGrid
    zones : geopandas.GeoDataFrame
        Zones of one level.
    totals : numpy.ndarray
        Official residents per zone (常住人口); NaN leaves the zone as it is. A zone
        with no people on the grid but an official total gets it spread evenly over
        its valid cells.

    Returns
    -------
    numpy.ndarray
        The factor applied per zone.
    """
    labels = grid.labels(zones)
    factors = np.ones(len(zones))
    for number, total in enumerate(totals, start=1):
        if not np.isfinite(total):
            continue
        inside = labels == number
        current = grid.population[inside].sum()
        if current > 0:
            factors[number - 1] = total / current
            grid.population[inside] *= factors[number - 1]
        elif (inside & grid.valid).any():
            cells = inside & grid.valid
            grid.population[cells] = total / cells.sum()
            factors[number - 1] = np.inf
    return factors


def aggregate(grid: PopulationGrid, factor: int) -> PopulationGrid:
    """Sum blocks of ``factor`` x ``factor`` cells into one: fewer cells, the same people.

    A block is valid when any of its cells is; edge blocks are padded with empty cells.
    """
    if factor == 1:
        return grid
    rows, cols = grid.shape
    pad = ((0, -rows % factor), (0, -cols % factor))
    people = np.pad(grid.population, pad)
    valid = np.pad(grid.valid, pad)
    shape = (people.shape[0] // factor, factor, people.shape[1] // factor, factor)
    return PopulationGrid(
        population=people.reshape(shape).sum(axis=(1, 3)),
        valid=valid.reshape(shape).any(axis=(1, 3)),
        transform=grid.transform * Affine.scale(factor),
        crs=grid.crs,
        water=grid.water,
    )
