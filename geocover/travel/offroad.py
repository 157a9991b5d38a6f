"""Off-road travel across the population grid, as AccessMod does: a friction surface from the terrain.

Cells far from any road get a real time instead of "unreachable": from every cell the
network reaches, people walk on across neighbouring cells (8 directions) at the speed of
Tobler's hiking function on the slope between the two cell centres,

    v = 6 exp(-3.5 |dh/dx + 0.05|) km/h,

so walking uphill is slower than downhill, optionally times a land-cover factor per cell.
One multi-source Dijkstra over the directed cell graph, seeded with each reached cell's
network minutes, gives every cell the better of its network time and the walk.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyproj
import rasterio
import rasterio.transform
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from geocover.io.population import PopulationGrid

_STEPS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def tobler_kmh(slope: np.ndarray) -> np.ndarray:
    """Walking speed in km/h on a slope (rise over run, signed: positive uphill)."""
    return 6.0 * np.exp(-3.5 * np.abs(slope + 0.05))


def sample_raster(path: str | Path, grid: PopulationGrid) -> np.ndarray:
    """Value of a raster (any CRS) at every valid cell centre of ``grid`` (the pixel holding it; NaN outside)."""
    with rasterio.open(path) as src:
        x, y = pyproj.Transformer.from_crs(grid.crs, src.crs, always_xy=True).transform(*grid.centres())
        rows, cols = (np.asarray(a) for a in rasterio.transform.rowcol(src.transform, x, y))
        data = src.read(1, masked=True).astype(np.float64).filled(np.nan)
    inside = (rows >= 0) & (rows < data.shape[0]) & (cols >= 0) & (cols < data.shape[1])
    out = np.full(len(rows), np.nan)
    out[inside] = data[rows[inside], cols[inside]]
    return out


def cell_graph(
    grid: PopulationGrid, elevation_m: np.ndarray, metric_crs: pyproj.CRS, factor: np.ndarray | None = None
) -> sp.csr_matrix:
    """Directed 8-neighbour graph of the valid cells, weighted by Tobler walking minutes.

    Parameters
    ----------
    grid : PopulationGrid
    elevation_m : numpy.ndarray
        Elevation per valid cell (``grid.valid`` order); NaN cells are impassable.
    metric_crs : pyproj.CRS
        CRS in which horizontal distances are measured (metres).
    factor : numpy.ndarray, optional
        Speed factor per valid cell (land cover: 1 open ground, 0.5 forest…, 0 impassable),
        applied as the mean of the two cells.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``n_valid × n_valid`` minutes; arcs only between passable cells.
    """
    index = np.full(grid.shape, -1, dtype=np.int64)
    index[grid.valid] = np.arange(int(grid.valid.sum()))
    x, y = pyproj.Transformer.from_crs(grid.crs, metric_crs, always_xy=True).transform(*grid.centres())
    rows, cols = np.nonzero(grid.valid)
    tails, heads, weights = [], [], []
    for dr, dc in _STEPS:
        r, c = rows + dr, cols + dc
        ok = (r >= 0) & (r < grid.shape[0]) & (c >= 0) & (c < grid.shape[1])
        head = np.full(len(rows), -1, dtype=np.int64)
        head[ok] = index[r[ok], c[ok]]
        tail = np.flatnonzero(head >= 0)
        head = head[tail]
        run = np.hypot(x[head] - x[tail], y[head] - y[tail])
        slope = (elevation_m[head] - elevation_m[tail]) / run
        speed = tobler_kmh(slope)
        if factor is not None:
            speed = speed * (factor[tail] + factor[head]) / 2.0
        good = np.isfinite(speed) & (speed > 0)
        tails.append(tail[good])
        heads.append(head[good])
        weights.append(run[good] / (speed[good] * 1000.0 / 60.0))
    n = len(rows)
    return sp.csr_matrix((np.concatenate(weights), (np.concatenate(tails), np.concatenate(heads))), shape=(n, n))


def walk_on(
    graph: sp.csr_matrix, seed_minutes: np.ndarray, limit_minutes: float = np.inf
) -> tuple[np.ndarray, np.ndarray]:
    """Minutes per cell: the best of its own seed and walking from any seeded cell.

    Parameters
    ----------
    graph : scipy.sparse.csr_matrix
        From :func:`cell_graph`.
    seed_minutes : numpy.ndarray
        Network minutes per cell; ``inf`` where the network does not reach.
    limit_minutes : float
        Stop the search here; cells farther stay ``inf``.

    Returns
    -------
    minutes : numpy.ndarray
    origin : numpy.ndarray of int
        The seeded cell each walk starts from (the cell itself when its own seed is best), -1 if none.
    """
    n = graph.shape[0]
    seeded = np.flatnonzero(np.isfinite(seed_minutes))
    if len(seeded) == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    # A super-source with an arc to every seeded cell, weighted by its minutes; appended to the
    # CSR arrays so that arcs of 0 minutes stay arcs.
    indptr = np.concatenate([graph.indptr, [graph.indptr[-1] + len(seeded)]])
    indices = np.concatenate([graph.indices, seeded])
    data = np.concatenate([graph.data, seed_minutes[seeded]])
    full = sp.csr_matrix((data, indices, indptr), shape=(n + 1, n + 1))
    minutes, predecessor = dijkstra(full, directed=True, indices=n, limit=limit_minutes, return_predecessors=True)
    parent = predecessor[:n].astype(np.int64)
    parent = np.where(parent == n, np.arange(n), parent)  # started here, from the super-source
    parent = np.where(parent < 0, -1, parent)
    reached = parent >= 0
    origin = np.where(reached, parent, 0)
    for _ in range(int(np.ceil(np.log2(n + 1))) + 1):  # pointer jumping to the walk's first cell
        origin = origin[origin]
    return minutes[:n], np.where(reached, origin, -1)
