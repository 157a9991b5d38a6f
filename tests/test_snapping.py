"""Snapping equals a brute force over all segments, with ties to the lowest segment index."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from geocover.network import snapping
from geocover.network.graph import Network
from geocover.network.snapping import _snap_chunk, sample_index, snap_points

X0, Y0 = 500_000.0, 4_000_000.0  # UTM-sized coordinates, where rounding errors are the largest


def _network(x, y, u, v) -> Network:
    ones = np.ones(len(u))
    return Network(x=x, y=y, u=np.asarray(u, dtype=np.int64), v=np.asarray(v, dtype=np.int64),
                   minutes_uv=ones, minutes_vu=ones, crs="EPSG:32633")


def _lattice(n: int, spacing: float, order: np.ndarray | None = None, aspect: float = 1.0) -> Network:
    """Streets on ``n`` x ``n`` nodes, ``spacing`` apart (``aspect`` times that along y), segments in ``order``."""
    gx, gy = np.meshgrid(X0 + np.arange(n) * spacing, Y0 + np.arange(n) * spacing * aspect)
    ids = np.arange(n * n).reshape(n, n)
    u = np.r_[ids[:, :-1].ravel(), ids[:-1, :].ravel()]
    v = np.r_[ids[:, 1:].ravel(), ids[1:, :].ravel()]
    if order is not None:
        u, v = u[order], v[order]
    return _network(gx.ravel(), gy.ravel(), u, v)


def _distances(network: Network, px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Clipped projection parameters and squared distances of every point (rows) to every segment."""
    ax, ay = network.x[network.u], network.y[network.u]
    dx, dy = network.x[network.v] - ax, network.y[network.v] - ay
    qx, qy = px[:, None], py[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = ((qx - ax) * dx + (qy - ay) * dy) / (dx * dx + dy * dy)
    t = np.clip(np.nan_to_num(t, nan=0.0), 0.0, 1.0)
    ex, ey = ax + t * dx - qx, ay + t * dy - qy
    return t, ex * ex + ey * ey


def _brute(network: Network, px: np.ndarray, py: np.ndarray, max_distance_m: float):
    """Nearest segment over all segments (first index on ties), its fraction and distance."""
    edge, fraction, offset = [], [], []
    for start in range(0, len(px), 2000):
        t, d2 = _distances(network, px[start:start + 2000], py[start:start + 2000])
        best = np.argmin(d2, axis=1)
        rows = np.arange(len(best))
        edge.append(best)
        fraction.append(t[rows, best])
        offset.append(np.sqrt(d2[rows, best]))
    edge, fraction, offset = np.concatenate(edge), np.concatenate(fraction), np.concatenate(offset)
    far = offset > max_distance_m
    edge[far], fraction[far], offset[far] = -1, 0.0, np.inf
    return edge, fraction, offset


def _check(
    network: Network, px: np.ndarray, py: np.ndarray, max_distance_m: float | None, spacing_m: float
) -> np.ndarray:
    """Assert snap_points, and the search on a sample index of another spacing, equal the brute force.

    Returns the segments."""
    edge, fraction, offset = _brute(network, px, py, np.inf if max_distance_m is None else max_distance_m)
    snap = snap_points(network, px, py, max_distance_m)
    assert snap.edge.dtype == np.int64
    np.testing.assert_array_equal(snap.edge, edge)
    np.testing.assert_allclose(snap.fraction, fraction, rtol=0.0, atol=1e-12)
    np.testing.assert_allclose(snap.offset_m, offset, rtol=0.0, atol=1e-9)
    slack = 1e-9 * (1.0 + max(np.abs(network.x).max(), np.abs(network.y).max(), np.abs(px).max(), np.abs(py).max()))
    all_edge, all_fraction, all_offset = _brute(network, px, py, np.inf)
    spaced_edge, spaced_fraction, spaced_offset = _snap_chunk(sample_index(network, spacing_m), px, py, slack)
    np.testing.assert_array_equal(spaced_edge, all_edge, err_msg=f"spacing {spacing_m}")
    np.testing.assert_allclose(spaced_fraction, all_fraction, rtol=0.0, atol=1e-12)
    np.testing.assert_allclose(spaced_offset, all_offset, rtol=0.0, atol=1e-9)
    return snap.edge


@pytest.mark.parametrize("seed", range(6))
def test_random_networks_equal_the_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_nodes = 60
    x, y = X0 + rng.uniform(0, 1000, n_nodes), Y0 + rng.uniform(0, 1000, n_nodes)
    x[1], y[1] = x[0], y[0]  # two nodes at one place: a zero-length segment 0-1
    u, v = rng.integers(0, n_nodes, 150), rng.integers(0, n_nodes, 150)
    u[:3], v[:3] = [0, 5, 7], [1, 5, 7]  # zero-length segments, also as loops on one node
    network = _network(x, y, u, v)
    px, py = X0 + rng.uniform(-400, 1400, 600), Y0 + rng.uniform(-400, 1400, 600)
    px[:20], py[:20] = x[:20], y[:20]  # on nodes: ties between the segments meeting there
    _check(network, px, py, 150.0, 25.0)


def test_ties_go_to_the_lowest_index_also_in_a_subset_network():
    order = np.random.default_rng(1).permutation(2 * 6 * 5)
    network = _lattice(6, 100.0, order, aspect=0.6)  # blocks 100 m wide, 60 m tall
    nodes = np.array([7, 8, 14, 21, 27])
    # On interior nodes (4 segments at distance 0); at block centres, midway between two parallel
    # streets (2 segments at 30 m).
    px = np.r_[network.x[nodes], X0 + np.array([150.0, 250.0, 350.0, 50.0, 450.0])]
    py = np.r_[network.y[nodes], Y0 + np.array([90.0, 150.0, 210.0, 30.0, 270.0])]
    edge = _check(network, px, py, 500.0, 10.0)
    d2 = _distances(network, px, py)[1]
    tied = d2 == d2.min(axis=1, keepdims=True)
    assert (tied.sum(axis=1) >= 2).all()
    np.testing.assert_array_equal(edge, np.argmax(tied, axis=1))  # the first of the tied segments
    keep = np.ones(network.n_edges, dtype=bool)
    others = np.setdiff1d(np.arange(network.n_edges), edge)
    keep[others[::2]] = False
    kept = np.flatnonzero(keep)  # same relative order
    subset = _network(network.x, network.y, network.u[kept], network.v[kept])
    sub_edge = _check(subset, px, py, 500.0, 10.0)
    np.testing.assert_array_equal(kept[sub_edge], edge)


def test_a_point_exactly_at_the_snap_distance_snaps_and_one_just_beyond_does_not():
    network = _network([X0, X0 + 10.0], [Y0, Y0], [0], [1])
    beyond = np.nextafter(Y0 + 5.0, np.inf)
    px, py = np.array([X0 + 3.0, X0 + 3.0, X0 + 13.0]), np.array([Y0 + 5.0, beyond, Y0 + 4.0])
    snap = snap_points(network, px, py, 5.0)
    np.testing.assert_array_equal(snap.edge, [0, -1, 0])
    np.testing.assert_array_equal(snap.offset_m, [5.0, np.inf, 5.0])
    np.testing.assert_array_equal(snap.fraction, [0.3, 0.0, 1.0])
    _check(network, px, py, 5.0, 1.0)


def test_dense_and_sparse_inputs_without_cut_off():
    dense = _lattice(12, 100.0)
    gx, gy = np.meshgrid(X0 - 200 + np.arange(130) * 12.0, Y0 - 200 + np.arange(130) * 12.0)
    _check(dense, gx.ravel(), gy.ravel(), None, 7.0)
    # Three long roads cut into 50 m segments across 10 km; points every 75 m, most beyond 300 m.
    s = np.linspace(0.0, 1.0, 201)
    roads = [((0, 1000), (10_000, 9000)), ((0, 6000), (10_000, 2000)), ((5000, 0), (5500, 10_000))]
    x = np.concatenate([X0 + a[0] + s * (b[0] - a[0]) for a, b in roads])
    y = np.concatenate([Y0 + a[1] + s * (b[1] - a[1]) for a, b in roads])
    u = np.concatenate([k * 201 + np.arange(200) for k in range(3)])
    sparse = _network(x, y, u, u + 1)
    gx, gy = np.meshgrid(X0 + np.arange(133) * 75.0, Y0 + np.arange(133) * 75.0)
    px, py = gx.ravel(), gy.ravel()
    edge = _check(sparse, px, py, 300.0, 500.0)
    assert 0.05 < (edge >= 0).mean() < 0.5
    assert (_check(sparse, px, py, None, 20.0) >= 0).all()


def test_points_far_out_at_sea_snap_exactly():
    """A curved coast road of 2,000 short segments; points 5 to 80 km out (one equidistant from both ends),
    where many samples are nearly as far."""
    angle = np.linspace(0.0, np.pi, 2001)
    x, y = X0 + 20_000.0 * np.cos(angle), Y0 + 20_000.0 * np.sin(angle)
    network = _network(x, y, np.arange(2000), np.arange(1, 2001))
    rng = np.random.default_rng(5)
    radius = rng.uniform(25_000.0, 100_000.0, 3000)
    heading = rng.uniform(0.0, 2.0 * np.pi, 3000)
    px, py = X0 + radius * np.cos(heading), Y0 + radius * np.sin(heading)
    px[:3], py[:3] = X0 + np.array([0.0, 50_000.0, -70_000.0]), Y0 + np.array([-50_000.0, 0.0, 0.0])
    edge = _check(network, px, py, None, 31.4)
    assert (edge >= 0).all()
    _check(network, px, py, None, 5_000.0)  # samples far apart: more rounds, same answer


def test_a_network_of_one_segment_and_duplicate_segments():
    one = _network([X0, X0 + 100.0], [Y0, Y0], [0], [1])
    px = X0 + np.array([-50_000.0, 0.0, 50.0, 100.0, 30.0])
    py = Y0 + np.array([50_000.0, 0.0, 0.0, 0.0, -7.0])
    edge = _check(one, px, py, None, 10.0)
    np.testing.assert_array_equal(edge, 0)
    # The same street listed three times, and a zero-length segment on its end: the first one listed wins.
    dup = _network([X0, X0 + 100.0], [Y0, Y0], [1, 0, 1, 0, 1], [1, 1, 0, 1, 1])
    edge = _check(dup, px, py, None, 10.0)
    np.testing.assert_array_equal(edge, [1, 1, 1, 0, 1])
    zero = _network([X0, X0], [Y0, Y0], [0], [1])  # only a zero-length segment
    np.testing.assert_array_equal(_check(zero, px, py, None, 1.0), 0)


def test_empty_inputs():
    network = _lattice(3, 100.0)
    snap = snap_points(network, np.array([]), np.array([]), 100.0)
    assert len(snap) == 0 and snap.edge.dtype == np.int64
    no_roads = _network([X0], [Y0], [], [])
    snap = snap_points(no_roads, np.array([X0, X0 + 1.0]), np.array([Y0, Y0]), 100.0)
    np.testing.assert_array_equal(snap.edge, [-1, -1])
    np.testing.assert_array_equal(snap.offset_m, [np.inf, np.inf])
    np.testing.assert_array_equal(snap.fraction, [0.0, 0.0])


def test_small_rounds_and_blocks_equal_the_brute_force(monkeypatch):
    """One sample in the first round and blocks of a few points: every point takes several rounds and
    blocks, on a street lattice with points on nodes, on sample positions and midway between streets."""
    monkeypatch.setattr(snapping, "_FIRST_K", 1)
    monkeypatch.setattr(snapping, "_BLOCK", 7)
    network = _lattice(7, 100.0, np.random.default_rng(3).permutation(2 * 7 * 6), aspect=0.7)
    index = sample_index(network, 30.0)
    rng = np.random.default_rng(4)
    midway_x = X0 + 50.0 + 100.0 * np.arange(6)
    px = np.r_[network.x[:10], index.points[:40, 0], X0 + rng.uniform(-3000, 3600, 300), midway_x]
    py = np.r_[network.y[:10], index.points[:40, 1], Y0 + rng.uniform(-3000, 3600, 300), np.full(6, Y0 + 35.0)]
    _check(network, px, py, None, 30.0)
    _check(network, px, py, 2000.0, 7.0)


def test_the_index_survives_pickling():
    """A network sent to another process (a batch worker) carries its index; the KD-tree is rebuilt there."""
    network = _lattice(5, 100.0)
    px, py = X0 + np.array([10.0, 250.0, -900.0]), Y0 + np.array([3.0, 170.0, 40.0])
    before = snap_points(network, px, py)
    copy = pickle.loads(pickle.dumps(network))
    assert "snap_samples" in copy._cache
    after = snap_points(copy, px, py)
    np.testing.assert_array_equal(after.edge, before.edge)
    np.testing.assert_array_equal(after.offset_m, before.offset_m)
    np.testing.assert_array_equal(after.fraction, before.fraction)


def test_every_point_of_a_segment_lies_within_half_the_spacing_of_one_of_its_samples():
    """The invariant behind the candidate radius, checked on 50 points along every segment."""
    rng = np.random.default_rng(8)
    x, y = X0 + rng.uniform(0, 3000, 80), Y0 + rng.uniform(0, 3000, 80)
    network = _network(x, y, rng.integers(0, 80, 200), rng.integers(0, 80, 200))
    for spacing in (None, 40.0, 333.0):
        index = sample_index(network, spacing)
        s = np.linspace(0.0, 1.0, 50)
        ax, ay = network.x[network.u], network.y[network.u]
        dx, dy = network.x[network.v] - ax, network.y[network.v] - ay
        for seg in range(network.n_edges):
            own = index.points[index.segment == seg]
            px, py = ax[seg] + s * dx[seg], ay[seg] + s * dy[seg]
            gap = np.hypot(px[:, None] - own[:, 0], py[:, None] - own[:, 1]).min(axis=1)
            assert gap.max() <= index.spacing_m / 2 + 1e-6


def test_equal_streets_keep_one_sample_each():
    """Street lengths equal up to rounding errors (a lattice read back from degrees): one sample per street."""
    network = _lattice(8, 150.0)
    network.x[:] += np.random.default_rng(9).uniform(-1e-9, 1e-9, network.n_nodes)
    index = sample_index(network)
    assert len(index.segment) == network.n_edges
    assert 150.0 - 1e-8 < index.spacing_m < 150.0 * (1 + 1e-6)
    rng = np.random.default_rng(10)
    _check(network, X0 + rng.uniform(-500, 1500, 400), Y0 + rng.uniform(-500, 1500, 400), None, 150.0)


def test_points_without_coordinates_stay_unsnapped():
    network = _lattice(4, 100.0)
    px, py = np.array([np.nan, X0 + 20.0, np.inf, X0]), np.array([Y0, Y0 + 3.0, Y0, -np.inf])
    snap = snap_points(network, px, py)
    np.testing.assert_array_equal(snap.snapped, [False, True, False, False])
    np.testing.assert_array_equal(snap.offset_m[[0, 2, 3]], np.inf)
    _check(network, px[1:2], py[1:2], None, 30.0)
    assert snap.offset_m[1] == 3.0


def test_the_projection_is_the_textbook_formula_bit_for_bit():
    """The in-place projection gives the same bits as the plain formula (ties depend on it), zero-length
    segments and points on nodes included; the brute forces of the benchmarks call it."""
    rng = np.random.default_rng(11)
    x, y = X0 + rng.uniform(0, 500, 40), Y0 + rng.uniform(0, 500, 40)
    x[1], y[1] = x[0], y[0]
    network = _network(x, y, np.r_[0, rng.integers(0, 40, 99)], np.r_[1, rng.integers(0, 40, 99)])
    px, py = np.r_[x[:10], X0 + rng.uniform(-200, 700, 300)], np.r_[y[:10], Y0 + rng.uniform(-200, 700, 300)]
    t, d2 = snapping.project(network, px[:, None], py[:, None], np.arange(network.n_edges)[None, :])
    expected_t, expected_d2 = _distances(network, px, py)
    np.testing.assert_array_equal(t, expected_t)
    np.testing.assert_array_equal(d2, expected_d2)


def test_a_hub_of_many_streets_and_one_long_street():
    """Twelve streets meeting at one node (the hub point ties all of them) beside one 10 km street cut
    into many pieces; points on the hub, on piece boundaries and up to 50 km away."""
    angle = np.arange(12) * np.pi / 6
    x = np.r_[X0, X0 + 80.0 * np.cos(angle), X0 - 5000.0, X0 + 5000.0]
    y = np.r_[Y0, Y0 + 80.0 * np.sin(angle), Y0 + 300.0, Y0 + 300.0]
    network = _network(x, y, np.r_[np.zeros(12, dtype=np.int64), 13], np.r_[np.arange(1, 13), 14])
    rng = np.random.default_rng(12)
    heading, radius = rng.uniform(0, 2 * np.pi, 300), rng.uniform(0, 50_000, 300)
    px = np.r_[X0, X0 - 5000.0 + 250.0 * np.arange(41), X0 + radius * np.cos(heading)]
    py = np.r_[Y0, np.full(41, Y0 + 300.0), Y0 + radius * np.sin(heading)]
    edge = _check(network, px, py, None, 250.0)
    assert edge[0] == 0
    _check(network, px, py, None, 60.0)


def test_every_point_of_a_segment_lies_within_half_the_spacing_along_it_of_one_of_its_vertices():
    """The invariant behind the snapping radius ``sqrt(D^2 + (s/2)^2)``: every point of a segment lies within
    ``s/2`` of one of the vertices listed on that segment, and each vertex lies on the segments it lists."""
    rng = np.random.default_rng(13)
    x, y = X0 + rng.uniform(0, 3000, 80), Y0 + rng.uniform(0, 3000, 80)
    network = _network(x, y, rng.integers(0, 80, 200), rng.integers(0, 80, 200))
    for spacing in (None, 40.0, 333.0):
        index = sample_index(network, spacing)
        owner = np.repeat(np.arange(len(index.vertices)), np.diff(index.vertex_start))
        t, d2 = snapping.project(network, index.vertices[owner, 0], index.vertices[owner, 1], index.vertex_segment)
        assert d2.max() <= 1e-12  # each vertex on each of its segments
        s = np.linspace(0.0, 1.0, 50)
        ax, ay = network.x[network.u], network.y[network.u]
        dx, dy = network.x[network.v] - ax, network.y[network.v] - ay
        for seg in range(network.n_edges):
            own = index.vertices[owner[index.vertex_segment == seg]]
            px, py = ax[seg] + s * dx[seg], ay[seg] + s * dy[seg]
            gap = np.hypot(px[:, None] - own[:, 0], py[:, None] - own[:, 1]).min(axis=1)
            assert gap.max() <= index.spacing_m / 2 + 1e-6
        ends = np.concatenate([network.u, network.v])
        for node in np.unique(ends)[:20]:  # a node lists every segment ending on it, once
            listed = index.vertex_segment[index.vertex_start[node_row := np.flatnonzero(
                (index.vertices[:, 0] == network.x[node]) & (index.vertices[:, 1] == network.y[node]))[0]]:
                index.vertex_start[node_row + 1]]
            expected = np.flatnonzero((network.u == node) | (network.v == node))
            assert set(expected) <= set(listed.tolist()) and len(listed) == len(set(listed.tolist()))


def test_far_points_settle_in_the_first_round(monkeypatch):
    """Snapping work does not grow with the distance to the road: points 25 to 100 km off a curved coast road
    of 2,000 short segments, and points beside it, are settled by the first ``k`` nearest vertices."""
    asked = []
    query = snapping._query
    monkeypatch.setattr(snapping, "_query", lambda tree, points, k: (asked.append((len(points), k)),
                                                                     query(tree, points, k))[1])
    angle = np.linspace(0.0, np.pi, 2001)
    network = _network(X0 + 20_000.0 * np.cos(angle), Y0 + 20_000.0 * np.sin(angle), np.arange(2000),
                       np.arange(1, 2001))
    rng = np.random.default_rng(14)
    for low, high in ((20_050.0, 20_300.0), (25_000.0, 100_000.0)):
        radius, heading = rng.uniform(low, high, 2000), rng.uniform(0.05, np.pi - 0.05, 2000)
        px, py = X0 + radius * np.cos(heading), Y0 + radius * np.sin(heading)
        asked.clear()
        snap_points(network, px, py)
        assert asked[0] == (2000, snapping._FIRST_K)
        assert sum(n for n, _ in asked[1:]) <= 20, asked  # a few points near a tie take another round
        _check(network, px, py, None, 31.4)
