"""Sparse per-facility matrices equal the dense NetworkX computation, facility by facility."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import shapely

from geocover.network.graph import Network
from geocover.network.snapping import Snap, snap_points
from geocover.travel import matrices, search_blocks
from geocover.travel.isochrones import reach_polygons
from geocover.travel.matrices import (
    OFFSET_MINUTES,
    facility_node_matrix,
    facility_point_matrix,
)
from geocover.travel.nearest import nearest_facility_nodes, point_minutes
from tests.reference import reference_minutes
from tests.synthetic import street_grid


def _grid_network(seed: int, n_side: int, spacing: float = 400.0) -> Network:
    return street_grid(seed, n_side, spacing, gap_share=0.15, oneway_share=0.15)


def _alone(snap: Snap, i: int) -> Snap:
    """The snap with every entry but ``i`` unsnapped."""
    other = np.arange(len(snap)) != i
    return Snap(np.where(other, -1, snap.edge), np.where(other, 0.0, snap.fraction),
                np.where(other, np.inf, snap.offset_m))


def _node_points(network: Network) -> Snap:
    """Every node as a point at the end of one of its segments, 0 m off-road (unsnapped if isolated)."""
    edge = np.full(network.n_nodes, -1, dtype=np.int64)
    fraction = np.zeros(network.n_nodes)
    edge[network.v] = np.arange(network.n_edges)
    fraction[network.v] = 1.0
    edge[network.u] = np.arange(network.n_edges)
    fraction[network.u] = 0.0
    return Snap(edge, fraction, np.where(edge >= 0, 0.0, np.inf))


def _dense_reference(network, facilities, points, direction):
    """Facilities × points minutes, one NetworkX single-source search per facility."""
    return np.array([reference_minutes(network, _alone(facilities, f), points, direction)
                     for f in range(len(facilities))]).reshape(len(facilities), len(points))


def _assert_sparse_equals(matrix, dense, limit):
    """Stored pattern = pairs within the limit, stored values = minutes + offset."""
    assert matrix.shape == dense.shape
    matrix = matrix.tocsr()
    assert matrix.has_sorted_indices
    got = np.full(dense.shape, np.inf)
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    got[rows, matrix.indices] = matrix.data - OFFSET_MINUTES
    assert len(np.unique(rows * dense.shape[1] + matrix.indices)) == matrix.nnz
    near_limit = np.abs(dense - limit) < 1e-9
    np.testing.assert_array_equal((got <= limit)[~near_limit], (dense <= limit)[~near_limit])
    within = (dense <= limit) & ~near_limit
    np.testing.assert_allclose(got[within], dense[within], rtol=1e-9, atol=1e-9)


def _facilities(network, rng, count, snap_m=150.0):
    extent = network.x.max()
    fx, fy = rng.uniform(0, extent, count), rng.uniform(0, extent, count)
    facilities = snap_points(network, fx, fy, snap_m)
    # One facility exactly on a node with no off-road leg: 0 minutes there.
    facilities.edge[0], facilities.fraction[0], facilities.offset_m[0] = 0, 0.0, 0.0
    return facilities, fx, fy


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("direction", ["to", "from"])
def test_node_matrix_equals_dense_networkx(seed, direction):
    network = _grid_network(seed, 7)
    facilities, _, _ = _facilities(network, np.random.default_rng(50 + seed), 6)
    limit = 2.7
    matrix = facility_node_matrix(network, facilities, limit, direction=direction)
    dense = _dense_reference(network, facilities, _node_points(network), direction)
    _assert_sparse_equals(matrix, dense, limit)
    assert 0 < matrix.nnz < np.isfinite(dense).sum()  # the limit cuts
    u0 = network.u[0]
    assert matrix[0, u0] == OFFSET_MINUTES  # the facility on a node: 0 minutes, still stored


@pytest.mark.parametrize("direction", ["to", "from"])
def test_pruned_search_equals_dense_networkx(direction):
    network = _grid_network(7, 16)
    # A two-way 50 km/h avenue across the middle: the reach bound of the pruning is nearly tight on it.
    avenue = (network.u // 16 == 8) & (network.v // 16 == 8)
    fast = np.hypot(network.x[network.v] - network.x[network.u], network.y[network.v] - network.y[network.u]) / (
        50_000 / 60
    )
    network.minutes_uv[avenue] = network.minutes_vu[avenue] = fast[avenue]
    facilities, _, _ = _facilities(network, np.random.default_rng(7), 12)
    on_avenue = np.flatnonzero(avenue)[[1, 5, 9, 13]]
    facilities.edge[-4:], facilities.fraction[-4:], facilities.offset_m[-4:] = on_avenue, 0.3, 10.0
    limit = 1.4
    groups = list(search_blocks.search_groups(network, facilities, np.flatnonzero(facilities.snapped), limit))
    assert all(nodes is not None and len(nodes) < network.n_nodes for nodes, _ in groups)
    matrix = facility_node_matrix(network, facilities, limit, direction=direction)
    _assert_sparse_equals(matrix, _dense_reference(network, facilities, _node_points(network), direction), limit)


def test_chunks_and_block_cap_do_not_change_the_answer(monkeypatch):
    network = _grid_network(4, 12)
    facilities, _, _ = _facilities(network, np.random.default_rng(4), 30)
    whole = facility_node_matrix(network, facilities, 3.0, chunk_size=256)
    one_by_one = facility_node_matrix(network, facilities, 3.0, chunk_size=1)
    monkeypatch.setattr(matrices, "BLOCK_BYTES", 1)
    capped = facility_node_matrix(network, facilities, 3.0, chunk_size=256)
    for other in (one_by_one, capped):
        np.testing.assert_array_equal(other.indptr, whole.indptr)
        np.testing.assert_array_equal(other.indices, whole.indices)
        np.testing.assert_array_equal(other.data, whole.data)


def _one_way_block() -> Network:
    """A 1 km square block at 60 km/h: the top street 1->2 is one-way eastwards."""
    minutes = np.ones(4)
    back = minutes.copy()
    back[1] = np.inf
    return Network(x=[0.0, 0.0, 1000.0, 1000.0], y=[0.0, 1000.0, 1000.0, 0.0], u=[0, 1, 2, 3], v=[1, 2, 3, 0],
                   minutes_uv=minutes, minutes_vu=back, crs="EPSG:32633", mode="drive")


@pytest.mark.parametrize(
    ("direction", "expected"),
    [
        # To the facility 900 m along the one-way street: node 2 goes round the block (3.9 min, cut).
        ("to", {1: 0.9, 0: 1.9, 3: 2.9}),
        # From it: on east to node 2, then round; node 1 is 3.1 min away (cut).
        ("from", {2: 0.1, 3: 1.1, 0: 2.1}),
    ],
)
def test_one_way_street_by_hand(direction, expected):
    network = _one_way_block()
    facilities = Snap(np.array([1, -1]), np.array([0.9, 0.0]), np.array([0.0, np.inf]))
    matrix = facility_node_matrix(network, facilities, 3.0, direction=direction)
    assert matrix.shape == (2, 4)
    assert matrix.getrow(1).nnz == 0  # the unsnapped facility reaches nothing
    row = matrix.getrow(0)
    assert dict(zip(row.indices.tolist(), (row.data - OFFSET_MINUTES).tolist(), strict=True)) == pytest.approx(expected)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("direction", ["to", "from"])
def test_point_matrix_equals_dense_networkx_and_its_minimum_equals_routing(seed, direction):
    network = _grid_network(seed, 9)
    rng = np.random.default_rng(200 + seed)
    facilities, fx, fy = _facilities(network, rng, 7)
    px, py = rng.uniform(-100, network.x.max() + 100, (2, 250))
    # Points on the same segments as the facilities, on both sides of them, and one on the node facility.
    px = np.concatenate([px, fx + 40.0, fx - 40.0, [network.x[network.u[0]]]])
    py = np.concatenate([py, fy + 5.0, fy - 5.0, [network.y[network.u[0]]]])
    points = snap_points(network, px, py, 150.0)
    limit = 3.2
    nodes = facility_node_matrix(network, facilities, limit, direction=direction)
    matrix = facility_point_matrix(network, nodes, points, facilities, limit, direction=direction)
    dense = _dense_reference(network, facilities, points, direction)
    _assert_sparse_equals(matrix, dense, limit)
    same_segment = np.isin(points.edge, facilities.edge[facilities.snapped])
    assert same_segment.sum() >= 10
    assert matrix[0, len(points) - 1] == OFFSET_MINUTES
    # Column minimum over facilities = the nearest facility's minutes, where within the limit.
    nearest, _ = point_minutes(network, nearest_facility_nodes(network, facilities, direction), points, facilities)
    by_point = matrix.tocsc()
    has = np.diff(by_point.indptr) > 0
    column_min = np.full(len(points), np.inf)
    column_min[has] = np.minimum.reduceat(by_point.data, by_point.indptr[:-1][has]) - OFFSET_MINUTES
    np.testing.assert_array_equal(has, nearest <= limit)
    np.testing.assert_allclose(column_min[has], nearest[has], rtol=1e-12, atol=1e-12)


def test_no_facility_or_no_point_gives_empty_matrices():
    network = _grid_network(3, 5)
    none = Snap(np.array([-1]), np.zeros(1), np.full(1, np.inf))
    nodes = facility_node_matrix(network, none, 10.0)
    assert nodes.shape == (1, network.n_nodes) and nodes.nnz == 0
    points = snap_points(network, np.array([10.0, 1e6]), np.array([10.0, 1e6]), 100.0)
    assert facility_point_matrix(network, nodes, points, none, 10.0).shape == (1, 2)


def _brute_force_polygon(network, matrix, facilities, f, buffer_m, quad_segs=16):
    """The recipe for facility ``f``: every passable segment with both ends reached (and the facility's
    own segment from its position to each reached end) buffered on its own, then one union."""
    ex, ey = search_blocks.snapped_positions(network, facilities)
    xy = np.column_stack([network.x, network.y])
    reached = set(matrix.getrow(f).indices.tolist())
    passable = np.isfinite(network.minutes_uv) | np.isfinite(network.minutes_vu)
    lines = [shapely.LineString([xy[a], xy[b]])
             for a, b, ok in zip(network.u.tolist(), network.v.tolist(), passable.tolist(), strict=True)
             if ok and a in reached and b in reached]
    if facilities.snapped[f]:
        lines += [shapely.LineString([(ex[f], ey[f]), xy[end]])
                  for end in (network.u[facilities.edge[f]], network.v[facilities.edge[f]]) if end in reached]
    return shapely.union_all([line.buffer(buffer_m, quad_segs=quad_segs) for line in lines]), len(lines)


def test_reach_polygons_equal_the_union_of_the_reached_segments_buffered():
    network = _grid_network(5, 8)
    facilities, _, _ = _facilities(network, np.random.default_rng(5), 5)
    matrix = facility_node_matrix(network, facilities, 5.0)
    polygons = reach_polygons(network, matrix, facilities, buffer_m=25.0)
    assert facilities.snapped.sum() >= 3
    total = 0
    for f in range(len(facilities)):
        if not facilities.snapped[f]:
            assert polygons[f].is_empty
            continue
        expected, count = _brute_force_polygon(network, matrix, facilities, f, 25.0)
        assert count >= 1
        total += count
        # Equal up to the polygonal round ends: merged chains get round joins where segments had round caps.
        assert polygons[f].symmetric_difference(expected).area <= 1e-4 * expected.area
    assert total >= 40


def _tiled_case():
    """A 16 x 16 street grid 40 m apart, so buffers of streets that do not meet overlap, and facilities
    reaching from a few segments to most of it."""
    network = _grid_network(11, 16, spacing=40.0)
    facilities, _, _ = _facilities(network, np.random.default_rng(11), 8, snap_m=30.0)
    # Half the facilities within 0.3 minutes, half within 1.5.
    short, long = facility_node_matrix(network, facilities, 0.3), facility_node_matrix(network, facilities, 1.5)
    return network, facilities, sp.vstack([short[:4], long[4:]]).tocsr()


@pytest.mark.parametrize(
    ("tile_m", "workers", "quad_segs"), [(60.0, 1, 16), (60.0, 2, 16), (120.0, 1, 8), (None, 1, 4)]
)
def test_tiled_reach_polygons_equal_the_brute_force_union(tile_m, workers, quad_segs):
    network, facilities, matrix = _tiled_case()
    polygons = reach_polygons(network, matrix, facilities, 25.0, quad_segs, tile_m=tile_m, workers=workers, cache=True)
    sizes = np.diff(matrix.indptr)
    assert facilities.snapped.all() and sizes.max() > 0.7 * network.n_nodes and 0 < sizes.min() < 15
    assert shapely.is_valid(polygons).all()
    for f in range(len(facilities)):
        expected, _ = _brute_force_polygon(network, matrix, facilities, f, 25.0, quad_segs)
        if expected.is_empty:
            assert polygons[f].is_empty
            continue
        # Round joins where the recipe has round ends: they differ by the arcs' sagitta, as 1 / quad_segs^2.
        tolerance = 1e-4 * (16 / quad_segs) ** 2
        assert polygons[f].symmetric_difference(expected).area <= tolerance * expected.area
        assert abs(polygons[f].area - expected.area) <= tolerance * expected.area
    # The small tiles nest several levels deep, and the facilities took whole tiles of more than one level.
    tiles = network._cache[("reach_tiles", 25.0, quad_segs, tile_m or 500.0)]
    built = tiles.level[[geometry is not None for geometry in tiles.whole_polygons]]
    assert tile_m is None or (tiles.depth >= 3 and len(np.unique(built)) >= 2)


def test_reach_polygons_of_a_facility_reaching_nothing_are_empty():
    network = _grid_network(5, 8)
    long = int(np.argmax(network.length_m))
    # On a segment's middle with a cut-off too short to reach either end; unsnapped; reaching a lone node.
    facilities = Snap(np.array([long, -1, long]), np.array([0.5, 0.0, 0.0]), np.array([0.0, np.inf, 0.0]))
    matrix = facility_node_matrix(network, facilities, 0.01)
    assert np.diff(matrix.indptr).tolist() == [0, 0, 1]
    polygons = reach_polygons(network, matrix, facilities, 25.0)
    assert polygons[0].is_empty and polygons[1].is_empty
    assert polygons[0].geom_type == "Polygon" and polygons[1].geom_type == "Polygon"
    # The facility on a node reaches only that node: its own segment's spur is a point buffered.
    assert abs(polygons[2].area - shapely.Point(0, 0).buffer(25.0).area) < 1e-6 * polygons[2].area
    nothing = facility_node_matrix(network, Snap(np.array([-1]), np.zeros(1), np.full(1, np.inf)), 5.0)
    assert reach_polygons(network, nothing, Snap(np.array([-1]), np.zeros(1), np.full(1, np.inf)))[0].is_empty


def test_tile_cache_and_fresh_tiles_give_the_same_polygons():
    network, facilities, matrix = _tiled_case()
    fresh = reach_polygons(network, matrix, facilities, 25.0, tile_m=60.0)
    assert not network._cache.get(("reach_tiles", 25.0, 16, 60.0))
    first = reach_polygons(network, matrix, facilities, 25.0, tile_m=60.0, cache=True)
    tiles = network._cache[("reach_tiles", 25.0, 16, 60.0)]
    again = reach_polygons(network, matrix, facilities, 25.0, tile_m=60.0, cache=True, workers=2)
    assert network._cache[("reach_tiles", 25.0, 16, 60.0)] is tiles
    one_tile = reach_polygons(network, matrix, facilities, 25.0, tile_m=1e6)
    for f in range(len(facilities)):
        area = max(fresh[f].area, 1.0)
        for other in (first[f], again[f], one_tile[f]):  # the same buffers, united in another order
            assert fresh[f].symmetric_difference(other).area <= 1e-9 * area
