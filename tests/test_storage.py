"""A saved network loads back identical, array for array, and the same searches give the same answer."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest

from geocover.network.graph import Network
from geocover.network.snapping import Snap
from geocover.network.storage import load_network, save_network
from geocover.travel.nearest import nearest_facility_nodes


def _network() -> Network:
    rng = np.random.default_rng(3)
    n = 200
    u = rng.integers(0, n, 500)
    v = (u + rng.integers(1, n, 500)) % n
    minutes = rng.uniform(0.1, 3.0, 500)
    return Network(
        x=rng.uniform(0, 5000, n), y=rng.uniform(0, 5000, n), u=u, v=v,
        minutes_uv=np.where(rng.random(500) < 0.1, np.inf, minutes), minutes_vu=minutes,
        crs="EPSG:32738", length_m=rng.uniform(10, 900, 500),
        node_id=rng.integers(2**40, 2**41, n), mode="ambulance",
    )


def test_round_trip_is_exact(tmp_path):
    network = _network()
    path = save_network(network, tmp_path / "roads.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["roads.npz"]  # no temporary left behind
    loaded = load_network(path)
    for name in ("x", "y", "u", "v", "minutes_uv", "minutes_vu", "length_m", "node_id"):
        original, back = getattr(network, name), getattr(loaded, name)
        assert back.dtype == original.dtype, name
        np.testing.assert_array_equal(back, original, err_msg=name)
    assert loaded.crs == network.crs and loaded.crs.to_epsg() == 32738
    assert loaded.mode == "ambulance"
    assert (loaded.csr() != network.csr()).nnz == 0
    facilities = Snap(np.array([3, 40]), np.array([0.25, 1.0]), np.array([12.0, 0.0]))
    for direction in ("to", "from"):
        np.testing.assert_array_equal(
            nearest_facility_nodes(loaded, facilities, direction).minutes,
            nearest_facility_nodes(network, facilities, direction).minutes,
        )


def test_saving_over_a_file_replaces_it(tmp_path):
    path = tmp_path / "roads.npz"
    first = _network()
    save_network(first, path)
    second = Network(x=[0.0, 1.0], y=[0.0, 0.0], u=[0], v=[1], minutes_uv=[1.0], minutes_vu=[np.inf],
                     crs=pyproj.CRS.from_epsg(4547))
    save_network(second, path)
    loaded = load_network(path)
    assert loaded.n_nodes == 2 and loaded.crs == second.crs and loaded.mode == "walk"
    np.testing.assert_array_equal(loaded.minutes_vu, [np.inf])


def test_a_file_that_is_not_a_network_is_refused(tmp_path):
    path = tmp_path / "other.npz"
    np.savez_compressed(path, x=np.zeros(3))
    with pytest.raises(ValueError, match="not a geocover network"):
        load_network(path)
