"""gc.travel_time_matrix: GeoDataFrames in, a labelled sparse matrix out, equal to NetworkX pair by pair."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from geocover.network.graph import Network
from geocover.network.snapping import Snap
from geocover.siting.models import MaximalCovering
from geocover.travel.cells import snap_facilities
from geocover.travel.od_matrix import travel_time_matrix
from tests.reference import reference_minutes
from tests.synthetic import CRS, street_grid


def _points(rng: np.random.Generator, count: int, labels: str) -> gpd.GeoDataFrame:
    xy = rng.uniform(-100, 1900, (count, 2))
    return gpd.GeoDataFrame({"name": [f"{labels}{i}" for i in range(count)]},
                            geometry=gpd.points_from_xy(*xy.T), crs=CRS,
                            index=[f"{labels}{i}" for i in range(count)])


def _reference(network: Network, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> np.ndarray:
    """Minutes origin -> destination by NetworkX, one single-source search per origin on a split graph."""
    origin_snap = snap_facilities(network, origins, 150.0)
    destination_snap = snap_facilities(network, destinations, 150.0)
    rows = []
    for i in range(len(origins)):
        alone = np.arange(len(origins)) == i
        one = Snap(np.where(alone, origin_snap.edge, -1), origin_snap.fraction, origin_snap.offset_m)
        rows.append(reference_minutes(network, one, destination_snap, direction="from"))
    return np.array(rows)


@pytest.mark.parametrize(("n_origins", "n_destinations"), [(4, 30), (30, 4)])
def test_matrix_equals_networkx_from_either_side(n_origins, n_destinations):
    network = street_grid()
    rng = np.random.default_rng(n_origins)
    origins, destinations = _points(rng, n_origins, "o"), _points(rng, n_destinations, "d")
    # Origin 2 and destination 1 on the same road node, no off-road leg: 0 minutes, stored.
    node = network.u[0]
    origins.loc["o2", "geometry"] = destinations.loc["d1", "geometry"] = Point(network.x[node], network.y[node])
    limit = 6.0
    result = travel_time_matrix(network, origins, destinations, limit, snap_max_m=150.0)
    expected = _reference(network, origins, destinations)
    assert result.matrix.shape == (n_origins, n_destinations)
    assert (result.origin_index == origins.index).all() and (result.destination_index == destinations.index).all()
    got = np.full(expected.shape, np.inf)
    coo = result.matrix.tocoo()
    got[coo.row, coo.col] = coo.data
    assert got[2, 1] == 0.0 and result.matrix.nnz == np.count_nonzero(np.isfinite(got))
    near_limit = np.abs(expected - limit) < 1e-9
    np.testing.assert_array_equal(np.isfinite(got)[~near_limit], (expected <= limit)[~near_limit])
    within = (expected <= limit) & ~near_limit
    assert within.sum() >= 10 and (~np.isfinite(got)).sum() >= 10  # the limit cuts, the matrix is not empty
    np.testing.assert_allclose(got[within], expected[within], rtol=1e-9, atol=1e-9)
    frame = result.to_frame()
    assert len(frame) == result.matrix.nnz
    row = frame[(frame["origin"] == "o2") & (frame["destination"] == "d1")]
    assert row["minutes"].tolist() == [got[2, 1]]


def test_matrix_feeds_the_siting_models():
    network = street_grid(seed=6)
    rng = np.random.default_rng(6)
    cells, candidates = _points(rng, 40, "c"), _points(rng, 6, "s")
    people = rng.integers(1, 100, len(cells)).astype(float)
    # Candidates in degrees: any CRS in, the network's used inside.
    result = travel_time_matrix(network, cells, candidates.to_crs("EPSG:4326"), 4.0, snap_max_m=150.0)
    model = MaximalCovering(result.matrix.T, people, k=2).solve(method="exact")
    # Brute force: every pair of candidates, people of the cells within 4 minutes of either.
    reach = _reference(network, cells, candidates) <= 4.0
    best = max(people[reach[:, list(pair)].any(axis=1)].sum() for pair in itertools.combinations(range(6), 2))
    assert model.population_after == pytest.approx(best)
    assert 0 < best < people.sum()


def test_bad_inputs_are_named():
    network = street_grid()
    points = _points(np.random.default_rng(1), 3, "p")
    with pytest.raises(ValueError, match="origins must be points"):
        travel_time_matrix(network, points.set_geometry(points.buffer(5.0)), points, 5.0)
    with pytest.raises(ValueError, match="costed in km"):
        travel_time_matrix(network.by_distance(), points, points, 5.0)
