"""The off-road answer's shortcuts (#21) against the plain computations they replace, on random cases.

Water legs tested in rounds after a box check, land regions from filtered label ranges, legs searched by
growing rank batches, the smallest minutes per piece of road, and the cell centres kept on the grid.
"""

from __future__ import annotations

import pickle

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from affine import Affine

import geocover.io.water as water_module
from geocover.io.population import PopulationGrid
from geocover.io.water import END_CELLS, WaterMask
from geocover.network.graph import Network
from geocover.network.snapping import Snap, project
from geocover.travel.cells import cell_accessibility, cell_points
from geocover.travel.edits import add_facility, move_facility, remove_facility, retier_facility
from geocover.travel.legs import _piece_minimum, _Pieces, segment_components

CRS = pyproj.CRS("EPSG:32633")
X0, Y0 = 500_000.0, 4_000_000.0


def _mask(rng: np.random.Generator, shape: tuple[int, int], share: float) -> WaterMask:
    """Random water: blobs (a coarse random field blown up) plus scattered single cells."""
    coarse = rng.random((shape[0] // 4 + 1, shape[1] // 4 + 1)) < share
    water = np.kron(coarse, np.ones((4, 4), dtype=bool))[: shape[0], : shape[1]] | (rng.random(shape) < share / 10)
    return WaterMask(water, Affine(10.0, 0.0, X0, 0.0, -10.0, Y0 + 10.0 * shape[0]), CRS)


def _blocked_by_every_sample(mask: WaterMask, x0, y0, x1, y1, start_cells: float) -> np.ndarray:
    """The rule of :meth:`WaterMask.blocked` leg by leg: every sample, half a cell apart, tested."""
    out = np.zeros(len(x0), dtype=bool)
    for i in range(len(x0)):
        c, r = mask.pixels(np.array([x0[i], x1[i]]), np.array([y0[i], y1[i]]), CRS)
        length = np.hypot(c[1] - c[0], r[1] - r[0])
        if not length > start_cells + END_CELLS:
            continue
        count = int(np.ceil(2.0 * length)) + 1
        t = np.arange(count) / max(count - 1, 1)
        along = t * length
        tested = (along >= start_cells) & (length - along >= END_CELLS)
        t = t[tested]
        out[i] = mask.is_water(c[0] + t * (c[1] - c[0]), r[0] + t * (r[1] - r[0])).any()
    return out


@pytest.mark.parametrize("seed", range(6))
def test_blocked_equals_testing_every_sample_of_every_leg(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    mask = _mask(rng, (60, 80), share=[0.05, 0.2, 0.5][seed % 3])
    n = 400
    # legs inside, across the edge and wholly outside the grid; short ones (never tested) and long ones (many rounds)
    x0 = X0 + rng.uniform(-200, 1000, n)
    y0 = Y0 + rng.uniform(-200, 800, n)
    angle, length = rng.uniform(0, 2 * np.pi, n), rng.choice([5.0, 30.0, 150.0, 900.0], n) * rng.random(n)
    angle[::3] = rng.integers(0, 4, len(angle[::3])) * np.pi / 2 + rng.normal(0, 1e-3, len(angle[::3]))  # along a row
    x1, y1 = x0 + length * np.cos(angle), y0 + length * np.sin(angle)
    if seed % 2:
        monkeypatch.setattr(water_module, "_SAMPLES", 50)  # many small rounds: the memory bound
    for start_cells in (END_CELLS, 3.5):
        expected = _blocked_by_every_sample(mask, x0, y0, x1, y1, start_cells)
        assert 0 < expected.sum() < n or seed % 3 == 0
        np.testing.assert_array_equal(mask.blocked(x0, y0, x1, y1, CRS, start_cells), expected)


def test_blocked_without_any_water_and_with_no_legs():
    mask = WaterMask(np.zeros((10, 10), dtype=bool), Affine(10.0, 0.0, X0, 0.0, -10.0, Y0 + 100.0), CRS)
    x = X0 + np.array([5.0, 95.0])
    assert not mask.blocked(x, Y0 + np.array([5.0, 5.0]), x[::-1], Y0 + np.array([95.0, 95.0]), CRS).any()
    assert mask.blocked(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0), CRS).shape == (0,)


def _regions_every_window(mask: WaterMask, col, row, radius: int) -> list[set]:
    """The land regions of every cell of the clipped square window around each position, point by point; with no
    land in it, those of the nearest land cells (any of them when several are as near)."""
    labels = mask.labels
    land = np.argwhere(labels > 0)
    out = []
    for c, r in zip(col, row, strict=True):
        cc = int(np.clip(np.floor(c) + 1, 0, labels.shape[1] - 1))
        rr = int(np.clip(np.floor(r) + 1, 0, labels.shape[0] - 1))
        window = labels[max(rr - radius, 0): rr + radius + 1, max(cc - radius, 0): cc + radius + 1]
        if (window > 0).any():
            out.append({frozenset(np.unique(window[window > 0]).tolist())})
        else:
            d = np.hypot(land[:, 0] - rr, land[:, 1] - cc)
            out.append({frozenset([labels[tuple(cell)]]) for cell in land[d == d.min()]})
    return out


@pytest.mark.parametrize("seed", range(4))
def test_regions_near_equals_looking_at_every_cell_of_the_window(seed):
    rng = np.random.default_rng(100 + seed)
    mask = _mask(rng, (50, 70), share=[0.3, 0.6, 0.85, 0.95][seed])
    col, row = rng.uniform(-5, 75, 300), rng.uniform(-5, 55, 300)
    for radius in (1, 2, 5):
        point, region = mask.regions_near(col, row, radius)
        assert np.all(np.diff(point) >= 0) and np.all((np.diff(region) > 0) | (np.diff(point) > 0))  # sorted, unique
        expected = _regions_every_window(mask, col, row, radius)
        for i in range(len(col)):
            assert frozenset(region[point == i].tolist()) in expected[i]


def _random_roads(rng: np.random.Generator, n_nodes: int, n_segments: int) -> Network:
    x, y = X0 + rng.uniform(0, 800, n_nodes), Y0 + rng.uniform(0, 600, n_nodes)
    half = n_nodes // 2  # the lower half of the nodes isolated: labels with no segment below those of the roads
    u, v = rng.integers(half, n_nodes, n_segments), rng.integers(half, n_nodes, n_segments)
    v = np.where(u == v, half + (v - half + 1) % (n_nodes - half), v)
    minutes = np.hypot(x[v] - x[u], y[v] - y[u]) / 500.0
    return Network(x=x, y=y, u=u, v=v, minutes_uv=minutes, minutes_vu=minutes.copy(), crs=CRS)


def test_piece_minimum_equals_the_minimum_per_piece():
    rng = np.random.default_rng(7)
    network = _random_roads(rng, 80, 30)
    values = rng.random(network.n_edges)
    expected = np.full(segment_components(network).max() + 1, np.inf)
    np.minimum.at(expected, segment_components(network), values)
    np.testing.assert_array_equal(_piece_minimum(network, values), expected)
    assert np.isinf(expected).any()  # labels of isolated nodes hold no segment


@pytest.mark.parametrize("seed", range(3))
def test_first_dry_equals_checking_each_row_in_order(seed):
    rng = np.random.default_rng(200 + seed)
    network = _random_roads(rng, 60, 50)
    mask = _mask(rng, (60, 80), share=0.3)
    pieces = _Pieces(network, mask)
    n = 40
    x, y = X0 + rng.uniform(0, 800, n), Y0 + rng.uniform(0, 600, n)
    row = np.repeat(np.arange(n), rng.integers(1, 30, n))  # up to 29 candidate roads per point, in preference order
    seg = rng.integers(0, network.n_edges, len(row))
    t = project(network, x[row], y[row], seg)[0]
    pair = np.arange(len(row)) * 3
    crossing = np.array([pieces.crosses(x[r:r + 1], y[r:r + 1], seg[k:k + 1], t[k:k + 1])[0]
                         for k, r in enumerate(row)])
    expected = []
    for r in range(n):
        for k in np.flatnonzero(row == r):
            if not crossing[k]:
                expected.append(pair[k])
                break
    assert 0 < len(expected) < n
    found, checked, wet = pieces._first_dry(x, y, row, seg, t, pair, pieces.pixels(x, y))
    np.testing.assert_array_equal(found, expected)
    np.testing.assert_array_equal(wet, crossing[checked])
    np.testing.assert_array_equal(pieces._first_dry(x, y, row, seg, t, pair)[0], expected)
    # legs known from an earlier round are not checked again, and give the same choice
    known = np.where(rng.random(len(row)) < 0.5, crossing.astype(np.int8), -1).astype(np.int8)
    found, checked, wet = pieces._first_dry(x, y, row, seg, t, pair, None, known)
    np.testing.assert_array_equal(found, expected)
    assert (known[checked] == -1).all()
    np.testing.assert_array_equal(wet, crossing[checked])


def _grid() -> PopulationGrid:
    valid = np.zeros((4, 5), dtype=bool)
    valid[1:3, 1:4] = True
    return PopulationGrid(np.ones((4, 5)), valid, Affine(100.0, 0.0, X0, 0.0, -100.0, Y0 + 400.0), CRS)


def _centres(grid: PopulationGrid, crs: pyproj.CRS) -> tuple[np.ndarray, np.ndarray]:
    return pyproj.Transformer.from_crs(grid.crs, crs, always_xy=True).transform(*grid.centres())


def test_cell_points_are_kept_and_made_again_when_the_cells_change():
    grid = _grid()
    utm, other = _random_roads(np.random.default_rng(1), 4, 2), _random_roads(np.random.default_rng(1), 4, 2)
    other.crs = pyproj.CRS("EPSG:32632")
    first = cell_points(utm, grid)
    assert cell_points(utm, grid)[0] is first[0]  # kept
    assert not first[0].flags.writeable
    np.testing.assert_array_equal(cell_points(other, grid), _centres(grid, other.crs))  # another CRS, its own
    grid.valid[0, 0] = True  # changed in place (a batch merge does)
    np.testing.assert_array_equal(cell_points(utm, grid), _centres(grid, CRS))
    assert len(cell_points(utm, grid)[0]) == 7
    grid.transform = Affine(50.0, 0.0, X0, 0.0, -50.0, Y0 + 200.0)
    np.testing.assert_array_equal(cell_points(utm, grid), _centres(grid, CRS))
    grid.valid = np.ones((4, 5), dtype=bool)
    np.testing.assert_array_equal(cell_points(utm, grid), _centres(grid, CRS))
    copy = pickle.loads(pickle.dumps(grid))
    assert "_derived" not in copy.__dict__ and np.array_equal(copy.valid, grid.valid)
    np.testing.assert_array_equal(cell_points(utm, copy), _centres(grid, CRS))


def test_pieces_leg_checks_from_kept_pixels_equal_those_from_coordinates():
    rng = np.random.default_rng(3)
    network = _random_roads(rng, 40, 30)
    pieces = _Pieces(network, _mask(rng, (60, 80), share=0.3))
    x, y = X0 + rng.uniform(0, 800, 200), Y0 + rng.uniform(0, 600, 200)
    edge = rng.integers(0, network.n_edges, 200)
    fraction = project(network, x, y, edge)[0]
    np.testing.assert_array_equal(pieces.crosses(x, y, edge, fraction, pieces.pixels(x, y)),
                                  pieces.crosses(x, y, edge, fraction))
    assert Snap(edge, fraction, np.zeros(200)).snapped.all()


def _state(access) -> list[np.ndarray]:
    return [access.minutes.copy(), access.facility.copy(), access.cell_snap.edge.copy(), access.nodes.minutes.copy()]


def test_off_road_edits_update_their_own_copies_and_never_the_input():
    """Moves, closes and retiers under off-road legs over water (the grids updated in place are the edit's own):
    every input stays as it was and every result equals a full recomputation."""
    rng = np.random.default_rng(11)
    network = _random_roads(rng, 60, 70)
    water = np.zeros((30, 40), dtype=bool)
    water[12:15, 5:35] = True  # a lake across the middle
    transform = Affine(20.0, 0.0, X0, 0.0, -20.0, Y0 + 600.0)
    grid = PopulationGrid(np.ones((30, 40)), rng.random((30, 40)) > 0.2, transform, CRS,
                          water=WaterMask(water, transform, CRS))
    xy = [tuple(rng.uniform([X0, Y0], [X0 + 800, Y0 + 600])) for _ in range(3)] + [(X0 + 50_000.0, Y0)]
    access = cell_accessibility(network, _facility_points(xy), grid)
    for step in range(10):
        before, kept = access, _state(access)
        row = 3 if step == 0 else int(rng.integers(len(xy)))  # first the facility out of reach, serving no one
        if step % 3 == 0:
            xy[row] = tuple(rng.uniform([X0, Y0], [X0 + 800, Y0 + 600]))
            access = move_facility(access, network, row, *xy[row], 5000.0)
        elif step % 3 == 1:
            access = remove_facility(access, network, row)
            xy.pop(row)
            xy.append(tuple(rng.uniform([X0, Y0], [X0 + 800, Y0 + 600])))
            access = add_facility(access, network, *xy[-1], 5000.0)
        else:
            access = retier_facility(retier_facility(access, network, row, False), network, row, True, *xy[row], 5000.0)
        for old, now in zip(kept, _state(before), strict=True):
            np.testing.assert_array_equal(old, now)
        full = cell_accessibility(network, _facility_points(xy), grid, cell_snap=access.cell_nearest)
        np.testing.assert_allclose(access.minutes, full.minutes, rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(np.isfinite(access.minutes), np.isfinite(full.minutes))


def _facility_points(xy: list[tuple[float, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=[shapely.Point(x, y) for x, y in xy], crs=CRS)


@pytest.mark.parametrize("segments", [[(0, 2), (0, 1), (3, 4)], [(0, 1), (0, 2), (3, 4)]])
def test_nearest_dry_breaks_equal_distances_by_the_lowest_segment(segments):
    """A point whose nearest point is a node shared by two segments: the lower segment index wins."""
    x, y = X0 + np.array([0.0, 100.0, 0.0, 300.0, 400.0]), Y0 + np.array([0.0, 0.0, 100.0, 300.0, 300.0])
    u, v = np.array([s[0] for s in segments]), np.array([s[1] for s in segments])
    minutes = np.hypot(x[v] - x[u], y[v] - y[u]) / 500.0
    network = Network(x=x, y=y, u=u, v=v, minutes_uv=minutes, minutes_vu=minutes.copy(), crs=CRS)
    pieces = _Pieces(network, None)
    px, py = np.array([X0 - 50.0, X0 - 30.0]), np.array([Y0 - 50.0, Y0 - 30.0])
    edge, fraction, offset = pieces.nearest_dry(int(segment_components(network)[0]), px, py, np.zeros(2),
                                                np.array([1000.0, 1000.0]))
    np.testing.assert_array_equal(edge, [0, 0])
    np.testing.assert_allclose(offset, np.hypot(px - X0, py - Y0))
