"""The detour rule (#18): a cell's time is the best over the nearest point of every connected piece of road within
reach, against a brute force over all segments; a subset of the facilities never gives a shorter time."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from affine import Affine

from geocover.io.population import PopulationGrid
from geocover.network.graph import Network
from geocover.network.snapping import Snap, project
from geocover.travel.cells import cell_accessibility
from geocover.travel.nearest import nearest_facility_nodes, point_minutes
from tests.test_offroad_legs import CRS, X0, Y0

WALK_KMH = 5.0


def _random_network(seed: int) -> Network:
    """Roads of several components: random straight pieces, some fast, some slow, some one-way."""
    rng = np.random.default_rng(seed)
    points, u, v = [], [], []
    for _ in range(12):  # twelve roads of 1 to 4 segments, each its own component unless they share a node
        start = rng.uniform(0, 3000, 2)
        chain = [start + np.cumsum(rng.normal(0, 300, (k, 2)), axis=0) for k in [rng.integers(2, 6)]][0]
        base = len(points)
        points.extend(chain.tolist())
        u.extend(range(base, base + len(chain) - 1))
        v.extend(range(base + 1, base + len(chain)))
    joins = rng.choice(len(points), (6, 2))  # a few links join some roads into larger components
    u.extend(joins[:, 0].tolist())
    v.extend(joins[:, 1].tolist())
    xy = np.array(points)
    x, y, u, v = X0 + xy[:, 0], Y0 + xy[:, 1], np.array(u), np.array(v)
    speed_kmh = rng.choice([10.0, 30.0, 80.0], len(u))
    minutes = np.hypot(x[v] - x[u], y[v] - y[u]) / (speed_kmh * 1000.0 / 60.0)
    back = np.where(rng.random(len(u)) < 0.15, np.inf, minutes)
    return Network(x=x, y=y, u=u, v=v, minutes_uv=minutes, minutes_vu=back, crs=CRS)


def _cells(seed: int, n: int = 60) -> tuple[PopulationGrid, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed + 1000)
    px, py = X0 + rng.uniform(-500, 3500, n), Y0 + rng.uniform(-500, 3500, n)
    grid = PopulationGrid(np.ones((n, 1)), np.ones((n, 1), dtype=bool), Affine(1.0, 0, 0, 0, -1.0, 0), CRS)
    grid.centres = lambda: (px, py)
    return grid, px, py


def _facilities(seed: int, k: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed + 2000)
    return gpd.GeoDataFrame(geometry=shapely.points(X0 + rng.uniform(0, 3000, k), Y0 + rng.uniform(0, 3000, k)),
                            crs=CRS)


def _pieces(network: Network) -> np.ndarray:
    """Connected piece of each segment, by NetworkX on the same segments (undirected)."""
    graph = nx.Graph()
    graph.add_edges_from(zip(network.u.tolist(), network.v.tolist(), strict=True))
    label = {node: k for k, nodes in enumerate(nx.connected_components(graph)) for node in nodes}
    return np.array([label[int(a)] for a in network.u])


def brute_minutes(network: Network, facility_snap: Snap, px: np.ndarray, py: np.ndarray, limit_m: float,
                  direction: str = "to", delay: np.ndarray | None = None) -> np.ndarray:
    """Per point: the minimum, over every connected piece with a segment within ``limit_m``, of the walk to the
    piece's nearest segment (ties to the lowest index) plus the network time from there."""
    nodes = nearest_facility_nodes(network, facility_snap, direction, WALK_KMH, delay_minutes=delay, contract=False)
    seg = np.arange(network.n_edges)
    piece = _pieces(network)
    out = np.full(len(px), np.inf)
    for i in range(len(px)):
        t, d2 = project(network, np.full(len(seg), px[i]), np.full(len(seg), py[i]), seg)
        d = np.sqrt(d2)
        for c in np.unique(piece):
            mine = np.flatnonzero((piece == c) & (d <= limit_m))
            if len(mine):
                j = mine[np.argmin(d[mine])]
                snap = Snap(seg[[j]], t[[j]], d[[j]])
                out[i] = min(out[i], point_minutes(network, nodes, snap, facility_snap, WALK_KMH, delay)[0][0])
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("limit_m", [300.0, 5000.0])
def test_cell_minutes_equal_the_brute_force_over_all_segments(seed, limit_m):
    network = _random_network(seed)
    grid, px, py = _cells(seed)
    facilities = _facilities(seed, 3)
    direction = "from" if seed % 2 else "to"
    delay = np.array([0.0, 2.0, 5.0]) if seed % 3 == 0 else None
    access = cell_accessibility(network, facilities, grid, offroad_kmh=WALK_KMH, offroad_max_m=limit_m,
                                direction=direction, delay_minutes=delay)
    expected = brute_minutes(network, access.facility_snap, px, py, limit_m, direction, delay)
    got = access.minutes[:, 0]
    assert np.array_equal(np.isfinite(got), np.isfinite(expected))
    np.testing.assert_allclose(got[np.isfinite(got)], expected[np.isfinite(expected)], rtol=1e-9, atol=1e-9)
    # The road reported is the one walked to, and the walk is within the limit.
    snapped = access.cell_snap.snapped
    assert np.array_equal(snapped, np.isfinite(got))
    assert (access.cell_snap.offset_m[snapped] <= limit_m).all()
    if limit_m > 1000:
        assert np.isfinite(got).sum() > len(got) // 2  # the case is not vacuous


@pytest.mark.parametrize("seed", range(4))
def test_a_subset_of_the_facilities_never_gives_a_shorter_time(seed):
    network = _random_network(seed)
    grid, _, _ = _cells(seed, 80)
    facilities = _facilities(seed, 5)
    every = cell_accessibility(network, facilities, grid, offroad_kmh=WALK_KMH, offroad_max_m=2000.0)
    for subset in ([0], [1, 3], [2, 4], [0, 1, 2, 3]):
        part = cell_accessibility(network, facilities.iloc[subset], grid, offroad_kmh=WALK_KMH, offroad_max_m=2000.0)
        assert (part.minutes >= every.minutes - 1e-9).all()
        finite = np.isfinite(part.minutes)
        assert (np.isfinite(every.minutes) | ~finite).all()
    single = [cell_accessibility(network, facilities.iloc[[k]], grid, offroad_kmh=WALK_KMH, offroad_max_m=2000.0)
              for k in range(5)]
    # The all-facility time is the best of the single-facility times (the rule is the same minimum).
    np.testing.assert_allclose(every.minutes, np.min([s.minutes for s in single], axis=0), rtol=1e-12)


def test_within_one_piece_the_nearest_point_is_taken_even_when_a_farther_road_is_faster():
    """100 m from a slow track joined to a fast road 400 m away: one piece, so the track (the stated rule)."""
    x = X0 + np.array([0.0, 3000.0, 0.0, 3000.0])
    y = Y0 + np.array([100.0, 100.0, -400.0, -400.0])
    u, v = np.array([0, 2, 0]), np.array([1, 3, 2])
    length = np.hypot(x[v] - x[u], y[v] - y[u])
    minutes = length / (np.array([5.0, 60.0, 5.0]) * 1000.0 / 60.0)  # the track and its link at 5 km/h, road 60
    network = Network(x=x, y=y, u=u, v=v, minutes_uv=minutes, minutes_vu=minutes.copy(), crs=CRS)
    grid, _, _ = _cells(0, 1)
    grid.centres = lambda: (np.array([X0 + 3000.0]), np.array([Y0]))
    facilities = gpd.GeoDataFrame(geometry=[shapely.Point(X0 + 0.0, Y0 - 400.0)], crs=CRS)
    speed = WALK_KMH * 1000 / 60
    joined = cell_accessibility(network, facilities, grid, offroad_kmh=WALK_KMH)
    np.testing.assert_allclose(joined.minutes[0, 0], (100.0 + 3000.0 + 500.0) / speed, rtol=1e-12)
    assert joined.cell_snap.edge[0] == 0
    # Cut the link: the track is a piece of its own that reaches nothing, and the fast road is taken.
    apart = Network(x=x, y=y, u=u[:2], v=v[:2], minutes_uv=minutes[:2], minutes_vu=minutes[:2].copy(), crs=CRS)
    cut = cell_accessibility(apart, facilities, grid, offroad_kmh=WALK_KMH)
    np.testing.assert_allclose(cut.minutes[0, 0], 400.0 / speed + 3000.0 / 1000.0, rtol=1e-12)
    assert cut.cell_snap.edge[0] == 1
    assert np.isinf(cell_accessibility(apart, facilities, grid, 1000.0, offroad_kmh=WALK_KMH).minutes[0, 0])
