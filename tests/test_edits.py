"""Incremental facility edits equal a full cell_accessibility of the edited facility table after every edit."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geocover.io.population import PopulationGrid
from geocover.network.graph import Network
from geocover.travel.cells import Accessibility, cell_accessibility
from geocover.travel.edits import add_facility, move_facility, remove_facility, retier_facility

CRS = "EPSG:32633"
SNAP_M = 400.0


def random_network(rng: np.random.Generator, n_nodes: int) -> Network:
    """Nodes in a 5 km square joined to their 3 nearest neighbours, some one-way, some closed, speeds varying."""
    x, y = rng.uniform(0, 5000, n_nodes), rng.uniform(0, 5000, n_nodes)
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    near = np.argsort(d, axis=1)[:, 1:4]
    pairs = {tuple(sorted((i, int(j)))) for i in range(n_nodes) for j in near[i]}
    u, v = np.array(sorted(pairs)).T
    length = np.hypot(x[u] - x[v], y[u] - y[v])
    minutes = length / rng.uniform(100, 1000, len(u))
    back = np.where(rng.random(len(u)) < 0.2, np.inf, minutes * rng.uniform(1.0, 1.5, len(u)))
    return Network(x=x, y=y, u=u, v=v, minutes_uv=minutes, minutes_vu=back, crs=CRS, mode="drive")


def random_grid(rng: np.random.Generator) -> PopulationGrid:
    """A 25 x 25 grid of 200 m cells over the square, a tenth of the cells without data."""
    shape = (25, 25)
    return PopulationGrid(population=rng.uniform(0, 50, shape), valid=rng.random(shape) > 0.1,
                          transform=Affine(200.0, 0, 0, 0, -200.0, 5000.0), crs=CRS)


def points(xy: list[tuple[float, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=shapely.points(np.array(xy, dtype=float).reshape(-1, 2)), crs=CRS)


def assert_same(edited: Accessibility, full: Accessibility, network: Network, facilities: list, direction: str) -> None:
    """Same minutes per cell and node; each cell's facility reaches it in its minutes (ties may differ)."""
    np.testing.assert_allclose(edited.minutes, full.minutes, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(edited.nodes.minutes, full.nodes.minutes, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(edited.facility_snap.edge, full.facility_snap.edge)
    np.testing.assert_array_equal(edited.facility >= 0, full.facility >= 0)
    for row in np.unique(edited.facility[edited.facility >= 0]):
        alone = cell_accessibility(network, points([facilities[row]]), edited.grid, SNAP_M, direction=direction,
                                   cell_snap=edited.cell_snap)
        mine = edited.facility == row
        np.testing.assert_allclose(alone.minutes[mine], edited.minutes[mine], rtol=1e-9, atol=1e-9)


def run_edits(seed: int, n_edits: int, direction: str) -> None:
    rng = np.random.default_rng(seed)
    network = random_network(rng, int(rng.integers(8, 60)))
    grid = random_grid(rng)
    facilities = [tuple(rng.uniform(0, 5000, 2)) for _ in range(int(rng.integers(0, 4)))]
    access = cell_accessibility(network, points(facilities), grid, SNAP_M, direction=direction)
    for _ in range(n_edits):
        before = access.minutes.copy()
        kind = rng.choice(["add", "remove", "move"]) if facilities else "add"
        if kind == "add":
            facilities.append(tuple(rng.uniform(-500, 5500, 2)))
            access = add_facility(access, network, *facilities[-1], SNAP_M, direction=direction)
        elif kind == "remove":
            row = int(rng.integers(len(facilities)))
            facilities.pop(row)
            previous = access
            access = remove_facility(access, network, row, direction=direction)
            assert len(previous.facility_snap) == len(facilities) + 1  # the input is left as it was
        else:
            row = int(rng.integers(len(facilities)))
            facilities[row] = tuple(rng.uniform(0, 5000, 2))
            access = move_facility(access, network, row, *facilities[row], SNAP_M, direction=direction)
        full = cell_accessibility(network, points(facilities), grid, SNAP_M, direction=direction,
                                  cell_snap=access.cell_snap)
        assert_same(access, full, network, facilities, direction)
        assert before.shape == access.minutes.shape


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), direction=st.sampled_from(["to", "from"]))
def test_random_edit_sequences_equal_a_full_recomputation(seed, direction):
    run_edits(seed, n_edits=8, direction=direction)


def run_service_edits(seed: int, n_edits: int) -> None:
    """Edits of a table of tiers "a" and "b", on the travel times of the service of tier "a"."""
    rng = np.random.default_rng(seed)
    network, grid = random_network(rng, int(rng.integers(8, 50))), random_grid(rng)
    rows = [(tuple(rng.uniform(0, 5000, 2)), str(rng.choice(["a", "b"]))) for _ in range(int(rng.integers(1, 5)))]
    access = cell_accessibility(network, points([xy for xy, _ in rows]), grid, SNAP_M)
    closed = [k for k, (_, tier) in enumerate(rows) if tier != "a"]
    for k in closed:
        access = retier_facility(access, network, k, serving=False)
    for _ in range(n_edits):
        kind = rng.choice(["add", "remove", "move", "retier"]) if rows else "add"
        k = int(rng.integers(len(rows))) if rows else 0
        if kind == "add":
            rows.append((tuple(rng.uniform(0, 5000, 2)), str(rng.choice(["a", "b"]))))
            access = add_facility(access, network, *rows[-1][0], SNAP_M, serving=rows[-1][1] == "a")
        elif kind == "remove":
            rows.pop(k)
            access = remove_facility(access, network, k)
        elif kind == "move":
            rows[k] = (tuple(rng.uniform(0, 5000, 2)), rows[k][1])
            if rows[k][1] == "a":
                access = move_facility(access, network, k, *rows[k][0], SNAP_M)
        else:
            rows[k] = (rows[k][0], "b" if rows[k][1] == "a" else "a")
            access = retier_facility(access, network, k, rows[k][1] == "a", *rows[k][0], SNAP_M)
        serving = [k for k, (_, tier) in enumerate(rows) if tier == "a"]
        full = cell_accessibility(network, points([rows[k][0] for k in serving]), grid, SNAP_M,
                                  cell_snap=access.cell_snap)
        np.testing.assert_allclose(access.minutes, full.minutes, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(access.nodes.minutes, full.nodes.minutes, rtol=1e-9, atol=1e-9)
        assert set(np.unique(access.facility[access.facility >= 0])) <= set(serving)
        assert len(access.facility_snap) == len(rows)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_random_edits_of_a_tier_service_equal_a_full_recomputation(seed):
    run_service_edits(seed, n_edits=8)


def test_input_is_not_mutated_and_rows_follow_the_table():
    rng = np.random.default_rng(3)
    network, grid = random_network(rng, 40), random_grid(rng)
    facilities = [(1000.0, 1000.0), (4000.0, 4000.0)]
    access = cell_accessibility(network, points(facilities), grid, SNAP_M)
    kept = access.minutes.copy(), access.facility.copy(), access.nodes.minutes.copy(), access.facility_snap.edge.copy()
    added = add_facility(access, network, 2500.0, 2500.0, SNAP_M)
    removed = remove_facility(added, network, 0)
    for before, after in zip(kept, (access.minutes, access.facility, access.nodes.minutes, access.facility_snap.edge),
                             strict=True):
        np.testing.assert_array_equal(before, after)
    assert len(added.facility_snap) == 3 and len(removed.facility_snap) == 2
    assert removed.facility.max() <= 1
    with pytest.raises(IndexError):
        remove_facility(access, network, 5)


def test_lonlat_point_snaps_like_the_metric_one():
    rng = np.random.default_rng(5)
    network, grid = random_network(rng, 30), random_grid(rng)
    access = cell_accessibility(network, points([]), grid, SNAP_M)
    lon, lat = gpd.GeoSeries(shapely.points([2000.0], [2000.0]), crs=CRS).to_crs(4326).iloc[0].coords[0]
    by_lonlat = add_facility(access, network, lon, lat, SNAP_M, crs="EPSG:4326")
    by_metres = add_facility(access, network, 2000.0, 2000.0, SNAP_M)
    np.testing.assert_allclose(by_lonlat.minutes, by_metres.minutes, rtol=1e-9)


def test_comoros_edit_sequence_equals_full_recomputation(comoros_workspace):
    """Random adds, closes and moves on the real Comoros drive network and population."""
    result = comoros_workspace.result
    network, config = result.network, result.config
    access = result.access
    facilities = result.facilities[["geometry"]].to_crs(network.crs).reset_index(drop=True)
    rng = np.random.default_rng(19)
    grid = access.grid
    rows, cols = np.nonzero(grid.valid)
    for step in range(12):
        kind = ["add", "remove", "move"][step % 3]
        pick = rng.integers(len(rows))
        x, y = grid.transform * (cols[pick] + 0.5, rows[pick] + 0.5)
        x, y = gpd.GeoSeries(shapely.points([x], [y]), crs=grid.crs).to_crs(network.crs).iloc[0].coords[0]
        row = int(rng.integers(len(facilities)))
        if kind == "add":
            access = add_facility(access, network, x, y, config.snap_max_m, config.offroad_kmh)
            facilities = gpd.GeoDataFrame(geometry=[*facilities.geometry, shapely.Point(x, y)], crs=network.crs)
        elif kind == "remove":
            access = remove_facility(access, network, row, config.offroad_kmh)
            facilities = facilities.drop(index=row).reset_index(drop=True)
        else:
            access = move_facility(access, network, row, x, y, config.snap_max_m, config.offroad_kmh)
            facilities.loc[row, "geometry"] = shapely.Point(x, y)
        full = cell_accessibility(network, facilities, grid, config.snap_max_m, config.offroad_kmh,
                                  cell_snap=access.cell_snap)
        np.testing.assert_allclose(access.minutes, full.minutes, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(access.nodes.minutes, full.nodes.minutes, rtol=1e-9, atol=1e-9)
        unique = full.facility == access.facility
        assert unique.mean() > 0.99  # only ties may name another facility
