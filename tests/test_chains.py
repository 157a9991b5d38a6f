"""The junction-graph search gives every node the minutes and facility of a search of the whole network."""

from __future__ import annotations

import numpy as np
import pytest

from geocover.network.chains import chains
from geocover.network.graph import Network
from geocover.network.snapping import Snap
from geocover.travel.nearest import nearest_facility_nodes


def _chain_network(seed: int) -> Network:
    """Junctions joined by runs of shape points (loops back to one junction too), a ring of shape points
    alone, one-way and slower-back segments."""
    rng = np.random.default_rng(seed)
    x, y = list(rng.uniform(0, 10_000, 30)), list(rng.uniform(0, 10_000, 30))
    u, v = [], []
    for _ in range(60):
        a, b = rng.integers(0, 30, 2)
        previous = a
        for _ in range(rng.integers(0, 6)):
            x.append(rng.uniform(0, 10_000))
            y.append(rng.uniform(0, 10_000))
            u.append(previous)
            v.append(len(x) - 1)
            previous = len(x) - 1
        if previous != b:
            u.append(previous)
            v.append(b)
    ring = list(range(len(x), len(x) + 5))
    x += list(rng.uniform(0, 10_000, 5))
    y += list(rng.uniform(0, 10_000, 5))
    u += ring
    v += ring[1:] + ring[:1]
    u, v = np.array(u), np.array(v)
    _, first = np.unique(np.minimum(u, v) * 10**6 + np.maximum(u, v), return_index=True)
    u, v = u[np.sort(first)], v[np.sort(first)]
    x, y = np.array(x), np.array(y)
    minutes = (np.hypot(x[u] - x[v], y[u] - y[v]) + 1.0) / 500.0
    draw = rng.random(len(u))
    return Network(x=x, y=y, u=u, v=v, minutes_uv=np.where(draw < 0.1, np.inf, minutes),
                   minutes_vu=np.where(draw > 0.9, np.inf, minutes * rng.uniform(0.8, 1.2, len(u))), crs="EPSG:32631")


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("direction", ["to", "from"])
def test_contracted_search_equals_the_whole_network_search(seed, direction):
    network = _chain_network(seed)
    rng = np.random.default_rng(1000 + seed)
    count = int(rng.integers(1, 6))
    facilities = Snap(rng.integers(0, network.n_edges, count), rng.choice([0.0, 0.3, 0.5, 0.9, 1.0], count),
                      rng.uniform(0, 50, count))
    delay = rng.uniform(0, 3, count)
    for limit in (np.inf, 15.0):
        fast = nearest_facility_nodes(network, facilities, direction, limit_minutes=limit, delay_minutes=delay)
        whole = nearest_facility_nodes(network, facilities, direction, limit_minutes=limit, delay_minutes=delay,
                                       contract=False)
        np.testing.assert_array_equal(np.isinf(fast.minutes), np.isinf(whole.minutes))
        reached = np.isfinite(whole.minutes)
        np.testing.assert_allclose(fast.minutes[reached], whole.minutes[reached], rtol=1e-12, atol=1e-9)
        np.testing.assert_array_equal(fast.facility, whole.facility)


def test_shape_points_are_most_nodes_and_rings_get_a_junction():
    network = _chain_network(0)
    found = chains(network, "to")
    on_chain = found.chain >= 0
    assert on_chain.sum() + len(found.junctions) == network.n_nodes
    assert on_chain.sum() > len(found.junctions)
    ring = np.arange(network.n_nodes - 5, network.n_nodes)
    assert (found.index[ring] >= 0).sum() == 1  # its lowest node stands as a junction


def test_a_facility_midway_along_a_chain_reaches_both_sides_directly():
    # dead end 5 - shape points 0 .. 4 - dead end 6: one chain, 1 minute per segment both ways
    x = np.array([0.0, 1000, 2000, 3000, 4000, -1000, 5000])
    y = np.zeros(7)
    u, v = np.array([0, 1, 2, 3, 5, 4]), np.array([1, 2, 3, 4, 0, 6])
    network = Network(x=x, y=y, u=u, v=v, minutes_uv=np.ones(6), minutes_vu=np.ones(6), crs="EPSG:32631")
    facility = Snap(np.array([1]), np.array([0.5]), np.array([0.0]))  # midway between nodes 1 and 2
    times = nearest_facility_nodes(network, facility, "to", offroad_kmh=5.0)
    np.testing.assert_allclose(times.minutes, [1.5, 0.5, 0.5, 1.5, 2.5, 2.5, 3.5])
    np.testing.assert_array_equal(chains(network, "to").junctions, [5, 6])
