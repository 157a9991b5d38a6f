"""Water that off-road legs may not cross: the sea, lakes and rivers wider than a footbridge.

A :class:`WaterMask` is a boolean raster (its own grid and CRS, usually the population raster's):
the population raster's nodata inside its extent (WorldPop leaves the sea and large lakes without
data), OSM ``natural=water`` and ``waterway=riverbank`` polygons (cells whose centre they hold) and
``natural=coastline`` lines (every cell they touch). A straight off-road leg is sampled every half
cell; it is blocked when a sample falls on water, except within the population cell it starts from
and one water cell of the road (a coastal road or a riverside village whose own cell is partly water
is still reached). Outside the raster
nothing is known: no water.

The land cells form connected regions (8-neighbours): a leg that is not blocked stays on one of
them, which :mod:`geocover.travel.legs` uses to search only the roads of the cell's own island.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import rasterio.features
import rasterio.warp
import scipy.ndimage as ndi
from affine import Affine

END_CELLS = 1.0
"""Cells at either end of a leg where water does not block it."""

_SAMPLES = 2_000_000
"""Leg samples tested at once, which bounds the memory of :meth:`WaterMask.blocked`."""

_KEPT = ("_transformers", "_sums", "_label_ranges")
"""Attributes a :class:`WaterMask` keeps once made (not fields: not compared, copied or pickled)."""

_STRIDE = 8
_STRIDE_ORDER = (0, 4, 2, 6, 1, 5, 3, 7)
"""The rounds of :meth:`WaterMask.blocked`: every ``_STRIDE``-th sample of each leg (4 cells apart) from these
offsets in turn, a leg leaving at the first wet one: a bay or a lake wider than 4 cells is met in the first round."""


@dataclass
class WaterMask:
    """Water cells on a north-up grid.

    Attributes
    ----------
    water : numpy.ndarray of bool, shape (rows, cols)
        Never changed in place: its land regions, label ranges and summed-area table are kept once made.
    transform : affine.Affine
        Grid to CRS coordinates (cell corners).
    crs : pyproj.CRS
    """

    water: np.ndarray
    transform: Affine
    crs: pyproj.CRS
    _labels: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict:
        return {name: value for name, value in self.__dict__.items() if name not in _KEPT}

    def pixels(self, x: np.ndarray, y: np.ndarray, crs: pyproj.CRS) -> tuple[np.ndarray, np.ndarray]:
        """Fractional ``(col, row)`` positions of points given in ``crs``."""
        transformers = self.__dict__.setdefault("_transformers", {})
        kept = transformers.get(id(crs))
        if kept is None or kept[0] is not crs:  # str(crs) costs 0.07 ms: the transformer is kept per CRS object
            kept = transformers[id(crs)] = (crs, _transformer(str(crs), str(self.crs)))
        gx, gy = kept[1].transform(x, y)
        gx, gy = np.asarray(gx, dtype=np.float64), np.asarray(gy, dtype=np.float64)
        inverse = ~self.transform
        return inverse.a * gx + inverse.b * gy + inverse.c, inverse.d * gx + inverse.e * gy + inverse.f

    def is_water(self, col: np.ndarray, row: np.ndarray) -> np.ndarray:
        """Whether the cells holding fractional positions ``(col, row)`` are water (outside: no)."""
        c, r = np.floor(col).astype(np.int64), np.floor(row).astype(np.int64)
        inside = (r >= 0) & (r < self.water.shape[0]) & (c >= 0) & (c < self.water.shape[1])
        out = np.zeros(len(c), dtype=bool)
        out[inside] = self.water[r[inside], c[inside]]
        return out

    def blocked(self, x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray, crs: pyproj.CRS,
                start_cells: float = END_CELLS) -> np.ndarray:
        """Whether each straight leg ``(x0, y0) -> (x1, y1)`` (in ``crs``) crosses water.

        The leg is sampled at most half a cell apart; samples within ``start_cells`` cells of its start
        (a population cell larger than the mask's: half its diagonal) and :data:`END_CELLS` of its end are
        not tested.
        """
        n = len(x0)
        if n == 0:
            return np.zeros(0, dtype=bool)
        c, r = self.pixels(np.concatenate([x0, x1]), np.concatenate([y0, y1]), crs)
        return self.blocked_cells(c[:n], r[:n], c[n:], r[n:], start_cells)

    def blocked_cells(self, c0: np.ndarray, r0: np.ndarray, c1: np.ndarray, r1: np.ndarray,
                      start_cells: float = END_CELLS) -> np.ndarray:
        """:meth:`blocked` of legs given by the fractional ``(col, row)`` positions of their ends (:meth:`pixels`)."""
        n = len(c0)
        length = np.hypot(c1 - c0, r1 - r0)
        count = np.where(length > start_cells + END_CELLS, np.ceil(2.0 * length).astype(np.int64) + 1, 0)
        out = np.zeros(n, dtype=bool)
        legs = np.flatnonzero(count)
        legs = legs[self._water_in_box(c0[legs], r0[legs], c1[legs], r1[legs])]
        if not len(legs):
            return out
        first = np.maximum(np.floor(start_cells * (count[legs] - 1) / length[legs]) - 2.0, 0.0).astype(np.int64)
        samples = np.cumsum(count[legs] - first)
        ends = np.searchsorted(samples, np.arange(1, int(samples[-1]) // _SAMPLES + 2) * _SAMPLES)
        for lo, hi in zip(np.r_[0, ends[:-1]], ends, strict=True):  # legs by chunks of about _SAMPLES samples
            part, start = legs[lo:hi], first[lo:hi]
            for offset in _STRIDE_ORDER:  # every _STRIDE-th sample from the first tested one, then those between
                take = np.maximum((count[part] - start - offset + _STRIDE - 1) // _STRIDE, 0)
                wet = self._wet(c0, r0, c1, r1, length, count, start_cells, part, start + offset, take)
                out[part[wet]] = True
                part, start = part[~wet], start[~wet]
        return out

    def _water_in_box(self, c0: np.ndarray, r0: np.ndarray, c1: np.ndarray, r1: np.ndarray) -> np.ndarray:
        """Whether any water cell lies within one cell of the box of each leg (finite ends; a summed-area table):
        a leg without is dry, its samples never leave the box."""
        if "_sums" not in self.__dict__:
            self._sums = np.pad(self.water.cumsum(axis=0, dtype=np.int64).cumsum(axis=1), ((1, 0), (1, 0)))
        rows, cols = self.water.shape
        left = np.clip(np.floor(np.minimum(c0, c1)) - 1.0, 0, cols).astype(np.int64)
        right = np.clip(np.floor(np.maximum(c0, c1)) + 2.0, 0, cols).astype(np.int64)
        top = np.clip(np.floor(np.minimum(r0, r1)) - 1.0, 0, rows).astype(np.int64)
        bottom = np.clip(np.floor(np.maximum(r0, r1)) + 2.0, 0, rows).astype(np.int64)
        sums = self._sums
        return sums[bottom, right] - sums[top, right] - sums[bottom, left] + sums[top, left] > 0

    def _wet(self, c0: np.ndarray, r0: np.ndarray, c1: np.ndarray, r1: np.ndarray, length: np.ndarray,
             count: np.ndarray, start_cells: float, legs: np.ndarray, first: np.ndarray,
             take: np.ndarray) -> np.ndarray:
        """Whether samples ``first``, ``first + _STRIDE``… (``take`` of them; of ``count``, evenly along the leg) of
        each of ``legs`` (given in cells), tested as :meth:`blocked` tests them, fall on water."""
        group = np.repeat(np.arange(len(legs)), take)
        leg = legs[group]
        step = first[group] + _STRIDE * (np.arange(len(group)) - np.repeat(np.cumsum(take) - take, take))
        t = step / np.maximum(count[leg] - 1, 1)
        along = t * length[leg]
        tested = (along >= start_cells) & (length[leg] - along >= END_CELLS)
        leg, t, group = leg[tested], t[tested], group[tested]
        wet = self.is_water(c0[leg] + t * (c1[leg] - c0[leg]), r0[leg] + t * (r1[leg] - r0[leg]))
        return np.bincount(group[wet], minlength=len(legs)) > 0

    @property
    def labels(self) -> np.ndarray:
        """Land region of every cell (8-neighbours), 0 on water; the land beyond the grid's edge is region 1."""
        if self._labels is None:
            land = np.pad(~self.water, 1, constant_values=True)
            self._labels = ndi.label(land, structure=np.ones((3, 3), dtype=bool))[0]
        return self._labels

    def cells_across(self, transform: Affine, crs: pyproj.CRS, row: int = 0, col: int = 0) -> float:
        """Half the diagonal of cell ``(row, col)`` of another grid, in cells of this mask: how far from a
        centre of that grid water does not count."""
        cols, rows = np.array([col + 0.5, col]), np.array([row + 0.5, row])
        x = transform.a * cols + transform.b * rows + transform.c
        y = transform.d * cols + transform.e * rows + transform.f
        c, r = self.pixels(x, y, crs)
        return float(np.hypot(c[1] - c[0], r[1] - r[0]))

    def regions_near(self, col: np.ndarray, row: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """Land regions within ``radius`` cells (square) of each position: ``(point, region)`` pairs, no repeats,
        by point then region.

        A point with no land that near is paired with the region of the nearest land beyond.
        """
        labels = self.labels
        c = np.clip(np.floor(col).astype(np.int64) + 1, 0, labels.shape[1] - 1)
        r = np.clip(np.floor(row).astype(np.int64) + 1, 0, labels.shape[0] - 1)
        lowest, highest = self._label_range(radius)
        low, high = lowest[r, c], highest[r, c]
        one = np.flatnonzero(low == high)  # one region, or no land (0)
        point, region = [one[high[one] > 0]], [high[one][high[one] > 0]]
        none = one[high[one] == 0]
        if len(none):
            nearest = ndi.distance_transform_edt(labels == 0, return_distances=False, return_indices=True)
            point.append(none)
            region.append(labels[nearest[0][r[none], c[none]], nearest[1][r[none], c[none]]])
        many = np.flatnonzero(low != high)
        if len(many):
            offsets = np.arange(-radius, radius + 1)
            dr, dc = (a.ravel() for a in np.meshgrid(offsets, offsets, indexing="ij"))
            rr = np.clip(r[many, None] + dr[None, :], 0, labels.shape[0] - 1)
            cc = np.clip(c[many, None] + dc[None, :], 0, labels.shape[1] - 1)
            found = np.sort(labels[rr, cc], axis=1)
            first = np.ones(found.shape, dtype=bool)
            first[:, 1:] = found[:, 1:] != found[:, :-1]
            keep = first & (found > 0)
            point.append(many[np.nonzero(keep)[0]])
            region.append(found[keep])
        point, region = np.concatenate(point), np.concatenate(region)
        order = np.lexsort((region, point))
        return point[order], region[order]

    def _label_range(self, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """Smallest region (0 only without land) and largest label within ``radius`` cells of every cell of
        :attr:`labels` (the window clipped at the edges, as :meth:`regions_near` clips it); kept per radius."""
        ranges = self.__dict__.setdefault("_label_ranges", {})
        if radius not in ranges:
            size, labels = 2 * radius + 1, self.labels
            top = np.iinfo(labels.dtype).max
            lowest = ndi.minimum_filter(np.where(labels > 0, labels, top), size=size, mode="nearest")
            ranges[radius] = (np.where(lowest == top, 0, lowest), ndi.maximum_filter(labels, size=size, mode="nearest"))
        return ranges[radius]


@lru_cache(maxsize=32)
def _transformer(source: str, target: str) -> pyproj.Transformer:
    """The ``always_xy`` transformer between two CRS (by their definitions), made once per pair."""
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


def with_water_shapes(mask: WaterMask, shapes: gpd.GeoDataFrame) -> WaterMask:
    """``mask`` with water polygons (cells whose centre they hold) and coastlines (cells they touch) added.

    Parameters
    ----------
    mask : WaterMask
    shapes : geopandas.GeoDataFrame
        Polygons and lines, e.g. from :func:`geocover.io.osm.read_water`, any CRS.

    Returns
    -------
    WaterMask
    """
    water = mask.water.copy()
    if len(shapes):
        geometry = shapes.geometry.to_crs(mask.crs)
        areas = [g for g in geometry if g.geom_type in ("Polygon", "MultiPolygon")]
        lines = [g for g in geometry if g.geom_type in ("LineString", "MultiLineString")]
        for found, touched in ((areas, False), (lines, True)):
            if found:
                water |= rasterio.features.rasterize([(g, 1) for g in found], out_shape=water.shape,
                                                     transform=mask.transform, all_touched=touched,
                                                     dtype="uint8").astype(bool)
    return WaterMask(water, mask.transform, mask.crs)


def with_blocked_cells(mask: WaterMask, factor_raster: str | Path) -> WaterMask:
    """``mask`` with the cells a land-cover speed-factor raster blocks (factor 0: water, as
    ``offroad.landcover_factor`` reads it) added, the raster read onto the mask's grid (nearest pixel).

    Parameters
    ----------
    mask : WaterMask
    factor_raster : str or Path
        Speed factors (1 open ground, 0 blocked), any CRS; its nodata blocks nothing.

    Returns
    -------
    WaterMask
    """
    factor = np.full(mask.water.shape, np.nan, dtype=np.float64)
    with rasterio.open(factor_raster) as src:
        rasterio.warp.reproject(rasterio.band(src, 1), factor, dst_transform=mask.transform, dst_crs=mask.crs,
                                dst_nodata=np.nan, resampling=rasterio.warp.Resampling.nearest)
    return WaterMask(mask.water | (factor == 0.0), mask.transform, mask.crs)
