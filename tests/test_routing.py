"""Routing equals NetworkX Dijkstra on the same network with the points inserted as nodes."""

from __future__ import annotations

import numpy as np
import pytest

from geocover.network.graph import Network
from geocover.network.snapping import Snap, snap_points
from geocover.travel.nearest import nearest_facility_nodes, point_minutes
from tests.reference import reference_minutes

WALK_M_PER_MIN = 5000.0 / 60.0


def _line_network() -> Network:
    """A 3 km straight street A-B walked both ways, with a 1 km spur B-C."""
    minutes = np.array([3000.0, 1000.0]) / WALK_M_PER_MIN
    return Network(
        x=[0.0, 3000.0, 3000.0], y=[0.0, 0.0, 1000.0], u=[0, 1], v=[1, 2],
        minutes_uv=minutes, minutes_vu=minutes, crs="EPSG:32633",
    )


def _solve(network, fx, fy, px, py, direction="to", snap_m=500.0):
    facilities = snap_points(network, np.asarray(fx, float), np.asarray(fy, float), snap_m)
    points = snap_points(network, np.asarray(px, float), np.asarray(py, float), snap_m)
    nodes = nearest_facility_nodes(network, facilities, direction=direction)
    minutes, facility = point_minutes(network, nodes, points, facilities)
    return facilities, points, minutes, facility


def test_cell_50m_from_clinic_on_a_3km_edge_gets_the_short_time():
    network = _line_network()
    _, _, minutes, facility = _solve(network, [1000.0], [10.0], [1050.0], [20.0])
    # Hand-worked: walk 20 m off-road, 50 m along the street, 10 m off-road = 80 m at 5 km/h.
    assert minutes[0] == pytest.approx(80.0 / WALK_M_PER_MIN)
    assert facility[0] == 0


def test_points_beyond_the_snap_distance_are_unreachable_not_dropped():
    network = _line_network()
    _, points, minutes, facility = _solve(network, [1000.0], [0.0], [1500.0, 1500.0], [0.0, 900.0])
    assert len(minutes) == 2
    assert not points.snapped[1]
    assert np.isinf(minutes[1]) and facility[1] == -1
    assert minutes[0] == pytest.approx(500.0 / WALK_M_PER_MIN)


def _one_way_network() -> Network:
    """A square block: the top street 1->2 is one-way eastwards, the rest two-way."""
    x = [0.0, 0.0, 1000.0, 1000.0]
    y = [0.0, 1000.0, 1000.0, 0.0]
    u = [0, 1, 2, 3]
    v = [1, 2, 3, 0]
    minutes = np.full(4, 1.0)  # 1 km in 1 minute: 60 km/h
    back = minutes.copy()
    back[1] = np.inf
    return Network(x=x, y=y, u=u, v=v, minutes_uv=minutes, minutes_vu=back, crs="EPSG:32633", mode="drive")


def test_one_way_street_to_and_from_differ():
    network = _one_way_network()
    # Facility on the top street near its east end, a cell on the same street near its west end.
    _, _, to_minutes, _ = _solve(network, [900.0], [1000.0], [100.0], [1000.0], direction="to")
    _, _, from_minutes, _ = _solve(network, [900.0], [1000.0], [100.0], [1000.0], direction="from")
    # To the facility: east along the one-way street, 0.8 km = 0.8 min.
    assert to_minutes[0] == pytest.approx(0.8)
    # From the facility: on east to node 2, round the block 2->3->0->1, then 0.1 km = 3.2 min.
    assert from_minutes[0] == pytest.approx(0.1 + 3.0 + 0.1)


def _random_network(seed: int, n_side: int = 7) -> Network:
    rng = np.random.default_rng(seed)
    ix, iy = np.meshgrid(np.arange(n_side), np.arange(n_side))
    x = ix.ravel() * 400.0 + rng.uniform(-60, 60, ix.size)
    y = iy.ravel() * 400.0 + rng.uniform(-60, 60, ix.size)
    node = np.arange(ix.size).reshape(n_side, n_side)
    u = np.concatenate([node[:, :-1].ravel(), node[:-1, :].ravel()])
    v = np.concatenate([node[:, 1:].ravel(), node[1:, :].ravel()])
    keep = rng.random(len(u)) > 0.15
    u, v = u[keep], v[keep]
    length = np.hypot(x[v] - x[u], y[v] - y[u])
    minutes = length / (rng.choice([15.0, 30.0, 50.0], len(u)) * 1000 / 60)
    oneway = rng.random(len(u))
    minutes_uv = np.where(oneway < 0.15, np.inf, minutes)
    minutes_vu = np.where(oneway > 0.85, np.inf, minutes)
    return Network(x=x, y=y, u=u, v=v, minutes_uv=minutes_uv, minutes_vu=minutes_vu, crs="EPSG:32633")


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("direction", ["to", "from"])
def test_equals_networkx_with_points_inserted(seed, direction):
    network = _random_network(seed)
    rng = np.random.default_rng(100 + seed)
    fx, fy = rng.uniform(-100, 2500, 6), rng.uniform(-100, 2500, 6)
    px, py = rng.uniform(-100, 2500, 300), rng.uniform(-100, 2500, 300)
    # Put some points on the same segments as the facilities, on both sides of them.
    px = np.concatenate([px, fx + 30.0, fx - 30.0])
    py = np.concatenate([py, fy + 5.0, fy - 5.0])
    facilities, points, minutes, facility = _solve(network, fx, fy, px, py, direction, snap_m=150.0)
    expected = reference_minutes(network, facilities, points, direction)
    np.testing.assert_allclose(minutes, expected, rtol=1e-9, atol=1e-9)
    # The facility reported is one that achieves the minimum.
    for i in np.flatnonzero(np.isfinite(minutes))[:60]:
        alone = Snap(*(np.where(np.arange(len(facilities)) == facility[i], arr, fill)
                       for arr, fill in ((facilities.edge, -1), (facilities.fraction, 0.0),
                                         (facilities.offset_m, np.inf))))
        assert reference_minutes(network, alone, Snap(points.edge[[i]], points.fraction[[i]],
                                                      points.offset_m[[i]]), direction)[0] == \
            pytest.approx(minutes[i])


def test_a_facility_on_one_component_serves_no_one_on_another():
    minutes = np.array([1.0, 1.0])
    network = Network(x=[0, 1000, 50_000, 51_000], y=[0, 0, 0, 0], u=[0, 2], v=[1, 3],
                      minutes_uv=minutes, minutes_vu=minutes, crs="EPSG:32633")
    _, _, got, facility = _solve(network, [500.0], [0.0], [200.0, 50_500.0], [0.0, 0.0])
    assert got[0] == pytest.approx(0.3)
    assert np.isinf(got[1]) and facility[1] == -1


@pytest.mark.parametrize("direction", ["to", "from"])
def test_dispatch_delay_gives_response_minutes(direction):
    network = _random_network(9)
    rng = np.random.default_rng(9)
    fx, fy = rng.uniform(0, 2400, 5), rng.uniform(0, 2400, 5)
    px, py = rng.uniform(0, 2400, 200), rng.uniform(0, 2400, 200)
    px, py = np.concatenate([px, fx + 20.0]), np.concatenate([py, fy])
    delay = np.array([0.0, 3.0, 1.5, 10.0, 0.5])
    facilities = snap_points(network, fx, fy, 150.0)
    points = snap_points(network, px, py, 150.0)
    nodes = nearest_facility_nodes(network, facilities, direction=direction, delay_minutes=delay)
    minutes, facility = point_minutes(network, nodes, points, facilities, delay_minutes=delay)
    expected = reference_minutes(network, facilities, points, direction, delay_minutes=delay)
    np.testing.assert_allclose(minutes, expected, rtol=1e-9)
    # Without the delay every point is at least as close; with it, some change their station.
    plain = point_minutes(network, nearest_facility_nodes(network, facilities, direction), points, facilities)
    assert (plain[0] <= minutes + 1e-12).all()
    assert (plain[1] != facility).any()


def test_dispatch_delay_by_hand():
    network = _line_network()
    # Station 100 m along the street with a 2-minute dispatch delay; the call 500 m further.
    _, _, minutes, _ = _solve_delay(network, [100.0], [0.0], [600.0], [0.0], [2.0])
    assert minutes[0] == pytest.approx(2.0 + 500.0 / WALK_M_PER_MIN)


def _solve_delay(network, fx, fy, px, py, delay):
    facilities = snap_points(network, np.asarray(fx, float), np.asarray(fy, float), 500.0)
    points = snap_points(network, np.asarray(px, float), np.asarray(py, float), 500.0)
    delay = np.asarray(delay, float)
    nodes = nearest_facility_nodes(network, facilities, direction="from", delay_minutes=delay)
    minutes, facility = point_minutes(network, nodes, points, facilities, delay_minutes=delay)
    return facilities, points, minutes, facility


def test_a_facility_exactly_on_a_node_keeps_its_zero_minute_arc():
    # A clinic exactly on node B (3,000 m along A-B); a cell 400 m up the spur B-C. The arc from the
    # clinic's virtual node to B weighs 0 minutes: dropping it (as sparse addition does with explicit
    # zeros) would force a detour through the far end of its segment.
    network = _line_network()
    _, _, minutes, facility = _solve(network, [3000.0], [0.0], [3000.0], [400.0])
    assert minutes[0] == pytest.approx(400.0 / WALK_M_PER_MIN)
    assert facility[0] == 0
