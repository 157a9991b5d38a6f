"""Catchment sums and same-tier neighbours from bounded searches, against the matrix path and NetworkX."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine

from geocover.analysis.facility_table import _same_tier, facility_table
from geocover.io.population import PopulationGrid
from geocover.network.snapping import Snap, snap_points
from geocover.travel import matrices, search_blocks
from geocover.travel.cells import cell_accessibility, snap_facilities
from geocover.travel.matrices import OFFSET_MINUTES, facility_node_matrix, facility_point_matrix, facility_point_totals
from geocover.travel.nearest import nearest_facility_nodes, point_minutes
from tests.reference import reference_minutes
from tests.test_matrices import _dense_reference, _facilities, _grid_network, _one_way_block

OFFROAD_KMH = 5.0


def _minutes_of(matrix):
    """The minutes of a matrices.py matrix (its stored values less the offset)."""
    out = matrix.copy()
    out.data = out.data - OFFSET_MINUTES
    return out


def _matrix_totals(network, facilities, points, weights, bands, direction):
    """The old way: the facilities × points matrix within the widest band, thresholded, times the weights."""
    nodes = facility_node_matrix(network, facilities, max(bands), direction, OFFROAD_KMH)
    minutes = _minutes_of(facility_point_matrix(network, nodes, points, facilities, max(bands), OFFROAD_KMH,
                                                direction))
    columns = []
    for band in bands:
        within = minutes.copy()
        within.data = np.where(within.data <= band, 1.0, 0.0)
        columns.append(within @ weights)
    return np.column_stack(columns)


def _case(seed, n_side=9):
    """A street grid with one-way streets; facilities (one on a node, one unsnapped); points around them."""
    network = _grid_network(seed, n_side)
    rng = np.random.default_rng(300 + seed)
    facilities, fx, fy = _facilities(network, rng, 8)
    facilities.edge[-1], facilities.offset_m[-1] = -1, np.inf
    px, py = rng.uniform(-400, network.x.max() + 400, (2, 400))  # some beyond the snap distance
    # On the facilities' segments on both sides, and on the node of facility 0 (0 minutes).
    px = np.concatenate([px, fx + 40.0, fx - 40.0, [network.x[network.u[0]]]])
    py = np.concatenate([py, fy + 5.0, fy - 5.0, [network.y[network.u[0]]]])
    points = snap_points(network, px, py, 150.0)
    weights = rng.gamma(0.7, 13.0, len(points))  # fractional people: the order of the sums shows
    return network, facilities, points, weights


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("direction", ["to", "from"])
def test_totals_equal_the_thresholded_matrix_bit_for_bit(seed, direction):
    network, facilities, points, weights = _case(seed)
    assert (~points.snapped).sum() >= 10 and np.isin(points.edge, facilities.edge[:-1]).sum() >= 10
    nodes = facility_node_matrix(network, facilities, 3.2, direction, OFFROAD_KMH)
    stored = _minutes_of(facility_point_matrix(network, nodes, points, facilities, 3.2, OFFROAD_KMH, direction)).data
    # Band edges on pair minutes exactly (ties), the widest one being the search limit; 0 catches 0 minutes.
    bands = [0.0, float(np.quantile(stored, 0.3, method="lower")), float(np.quantile(stored, 0.8, method="lower"))]
    got = facility_point_totals(network, facilities, points, weights, bands, OFFROAD_KMH, direction)
    expected = _matrix_totals(network, facilities, points, weights, bands, direction)
    np.testing.assert_array_equal(got, expected)
    assert got[0, 0] >= weights[-1] > 0  # the point on facility 0's node, at 0 minutes
    assert (got[-1] == 0).all() and (got[:, 1] < got[:, 2]).any()


@pytest.mark.parametrize("seed", [4, 5])
@pytest.mark.parametrize("direction", ["to", "from"])
def test_totals_equal_networkx_searches(seed, direction):
    network, facilities, points, weights = _case(seed)
    bands = [0.8, 1.9, 3.1]
    got = facility_point_totals(network, facilities, points, weights, bands, OFFROAD_KMH, direction)
    dense = _dense_reference(network, facilities, points, direction)
    for j, band in enumerate(bands):
        # Pairs within a rounding error of the band edge may fall either way.
        low = (np.where(dense <= band - 1e-9, weights, 0.0)).sum(axis=1)
        high = (np.where(dense <= band + 1e-9, weights, 0.0)).sum(axis=1)
        assert ((got[:, j] >= low - 1e-9) & (got[:, j] <= high + 1e-9)).all()
    assert (got[:, 0] > 0).sum() >= 2 and (got[:, 2] > got[:, 0]).sum() >= 4


def test_pruned_merged_and_capped_searches_give_the_same_totals(monkeypatch):
    network, facilities, points, weights = _case(7, n_side=16)
    ok = np.flatnonzero(facilities.snapped)
    groups = list(search_blocks.search_groups(network, facilities, ok, 1.4))
    assert all(nodes is not None for nodes, _ in groups) and len(groups) > 1
    merged = list(search_blocks.merged_groups(iter(groups), search_blocks.BLOCK_BYTES // 8, network.n_nodes))
    assert len(merged) < len(groups)
    bands = [0.6, 1.4]
    whole = facility_point_totals(network, facilities, points, weights, bands)
    np.testing.assert_array_equal(whole, _matrix_totals(network, facilities, points, weights, bands, "to"))
    monkeypatch.setattr(matrices, "BLOCK_BYTES", 64)  # one facility per search, a few points per block
    np.testing.assert_array_equal(facility_point_totals(network, facilities, points, weights, bands), whole)


def test_totals_with_nothing_to_search_are_zero():
    network, facilities, points, weights = _case(1)
    none = Snap(np.full(3, -1), np.zeros(3), np.full(3, np.inf))
    assert (facility_point_totals(network, none, points, weights, [5.0]) == 0).all()
    assert facility_point_totals(network, facilities, none, np.ones(3), [5.0, 9.0]).shape == (len(facilities), 2)
    assert (facility_point_totals(network, facilities, none, np.ones(3), [5.0, 9.0]) == 0).all()


def _old_same_tier(network, facilities, snap_max_m, offroad_kmh, limit):
    """The same-tier search before it was searched out of each facility: every facility searched to ``limit``."""
    result = np.full(len(facilities), np.nan)
    tiers = facilities["tier"].to_numpy()
    for tier in pd.unique(tiers):
        rows = np.flatnonzero(tiers == tier)
        if len(rows) < 2:
            continue
        sub = snap_facilities(network, facilities.iloc[rows], snap_max_m)
        nodes = facility_node_matrix(network, sub, limit, offroad_kmh=offroad_kmh)
        # Rows: the neighbour reached; columns: the facility travelling to it.
        pair = _minutes_of(facility_point_matrix(network, nodes, sub, sub, limit, offroad_kmh)).tocoo()
        other = pair.row != pair.col
        best = pd.Series(pair.data[other]).groupby(pair.col[other]).min()
        result[rows[best.index.to_numpy()]] = best.to_numpy()
    return result


def _tiered_facilities(network, seed, count=40):
    """Facilities of three tiers and one alone in its tier: two on one node, four on one segment, some off-road."""
    rng = np.random.default_rng(seed)
    extent = network.x.max()
    x, y = rng.uniform(-300, extent + 300, (2, count))
    x[:2], y[:2] = network.x[17], network.y[17]
    u, v, share = network.u[5], network.v[5], np.array([0.1, 0.3, 0.6, 0.9])
    x[2:6] = network.x[u] + share * (network.x[v] - network.x[u])
    y[2:6] = network.y[u] + share * (network.y[v] - network.y[u])
    tiers = rng.choice(["village_clinic", "township_health_centre", "hospital"], count, p=[0.6, 0.3, 0.1])
    tiers[:6], tiers[-1] = "village_clinic", "clinic"
    return gpd.GeoDataFrame({"tier": tiers}, geometry=shapely.points(x, y), crs=network.crs)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("limit", [0.4, 1.3, 120.0])
def test_same_tier_equals_the_search_from_every_facility(seed, limit):
    network = _grid_network(seed, 12)
    facilities = _tiered_facilities(network, 40 + seed)
    snap = snap_facilities(network, facilities, 150.0)
    assert 0 < (~snap.snapped).sum() < len(facilities) // 2
    expected = _old_same_tier(network, facilities, 150.0, OFFROAD_KMH, limit)
    tiers = facilities["tier"].to_numpy()
    got = _same_tier(network, tiers, snap, np.ones(len(tiers), dtype=bool), OFFROAD_KMH, limit)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert got[0] == got[1] == 0.0
    if limit < 1.0:
        assert np.isnan(got[snap.snapped]).sum() >= 3  # some with no neighbour within the limit
    # Searched out of a few facilities only: the same minutes there, their neighbours still every facility.
    wanted = np.zeros(len(tiers), dtype=bool)
    wanted[::3] = True
    some = _same_tier(network, tiers, snap, wanted, OFFROAD_KMH, limit)
    np.testing.assert_array_equal(some[wanted], got[wanted])
    assert np.isnan(some[~wanted]).all()


def test_same_tier_minutes_run_from_the_facility_to_its_neighbour_on_a_one_way_street():
    network = _one_way_block()  # the top street, 1 km from node 1 to node 2, is one-way eastwards
    facilities = gpd.GeoDataFrame({"tier": ["clinic", "clinic"]}, geometry=shapely.points([200.0, 800.0], [1000.0] * 2),
                                  crs=network.crs)
    snap = snap_facilities(network, facilities, 10.0)
    got = _same_tier(network, facilities["tier"].to_numpy(), snap, np.ones(2, dtype=bool), OFFROAD_KMH, 5.0)
    # East along the street 0.6 min; back west round the block: 0.2 + 1 + 1 + 1 + 0.2 minutes.
    np.testing.assert_allclose(got, [0.6, 3.4], rtol=1e-12)
    np.testing.assert_allclose(_old_same_tier(network, facilities, 10.0, OFFROAD_KMH, 5.0), got, rtol=1e-12)
    assert np.isnan(_same_tier(network, facilities["tier"].to_numpy(), snap, np.ones(2, dtype=bool), OFFROAD_KMH,
                               3.0)[1])


def _old_table(network, facilities, access, bands, snap_max_m, offroad_kmh, limit):
    """The facility table as computed before: matrix catchments, searches from every facility."""
    grid = access.grid
    people, nearest, minutes = (a[grid.valid] for a in (grid.population, access.facility, access.minutes))
    n = len(facilities)
    out = pd.DataFrame(index=facilities.index)
    totals = _matrix_totals(network, access.facility_snap, access.cell_snap, people, sorted(bands), "to")
    for j, band in enumerate(sorted(bands)):
        label = f"{band:g}".replace(".", "_")
        out[f"catchment_total_{label}"] = totals[:, j]
        mine = (nearest >= 0) & (minutes <= band)
        out[f"catchment_exclusive_{label}"] = np.bincount(nearest[mine], weights=people[mine], minlength=n)[:n]
    out["nearest_same_tier_minutes"] = _old_same_tier(network, facilities, snap_max_m, offroad_kmh, limit)
    tiers = facilities["tier"].astype(str).to_numpy()
    up = {"village_clinic": ("township_health_centre", "central_township_health_centre"),
          "township_health_centre": ("hospital",), "clinic": ("hospital",)}
    out["referral_tier"] = [(up[t][0] if t in up else None) for t in tiers]
    referral = np.full(n, np.nan)
    for members in set(up.values()):
        sources = np.flatnonzero([t in up and up[t] == members for t in tiers])
        target_snap = snap_facilities(network, facilities[np.isin(tiers, members)], snap_max_m)
        nodes = nearest_facility_nodes(network, target_snap, "to", offroad_kmh, limit_minutes=limit)
        found, _ = point_minutes(network, nodes, snap_facilities(network, facilities.iloc[sources], snap_max_m),
                                 target_snap, offroad_kmh)
        referral[sources] = np.where(found <= limit, found, np.nan)
    out["referral_minutes"] = referral
    return out


def test_table_equals_the_old_table_and_rows_only_fill_the_selected():
    network = _grid_network(6, 12)
    facilities = _tiered_facilities(network, 66)
    # 100 m cells over the network and 300 m around it: some beyond the snap distance.
    extent = network.x.max() + 600
    shape = (int(extent // 100), int(extent // 100))
    population = np.random.default_rng(6).gamma(0.5, 9.0, shape)
    grid = PopulationGrid(population, np.ones(shape, dtype=bool), Affine(100, 0, -300, 0, -100, extent - 300),
                          network.crs)
    access = cell_accessibility(network, facilities, grid, 150.0, OFFROAD_KMH)
    bands, limit = [2.5, 1.0], 3.0
    table = facility_table(network, facilities, access, bands, OFFROAD_KMH, limit)
    old = _old_table(network, facilities, access, bands, 150.0, OFFROAD_KMH, limit)
    assert list(table.columns) == list(old.columns) and (table.dtypes == old.dtypes).all()
    same_tier = "nearest_same_tier_minutes"
    pd.testing.assert_frame_equal(table.drop(columns=same_tier), old.drop(columns=same_tier), check_exact=True)
    np.testing.assert_allclose(table[same_tier], old[same_tier], rtol=1e-12, atol=1e-12)
    assert table["referral_minutes"].notna().sum() >= 5 and table[same_tier].notna().sum() >= 5
    # Independently: exclusive catchments by a loop over the cells, referrals by NetworkX.
    for band in bands:
        expected = np.zeros(len(facilities))
        for k, f, m in zip(grid.population[grid.valid], access.facility[grid.valid], access.minutes[grid.valid],
                           strict=True):
            if f >= 0 and m <= band:
                expected[f] += k
        np.testing.assert_allclose(table[f"catchment_exclusive_{band:g}".replace(".", "_")], expected, rtol=1e-12)
    tiers = facilities["tier"].astype(str).to_numpy()
    up = {"village_clinic": ("township_health_centre", "central_township_health_centre"),
          "township_health_centre": ("hospital",), "clinic": ("hospital",)}
    referral = np.full(len(facilities), np.nan)
    for members in set(up.values()):
        sources = np.flatnonzero([up.get(t) == members for t in tiers])
        found = reference_minutes(network, snap_facilities(network, facilities[np.isin(tiers, members)], 150.0),
                                  snap_facilities(network, facilities.iloc[sources], 150.0), "to", OFFROAD_KMH)
        referral[sources] = np.where(found <= limit, found, np.nan)
    np.testing.assert_allclose(table["referral_minutes"], referral, rtol=1e-9)
    wanted = np.zeros(len(facilities), dtype=bool)
    wanted[[0, 3, 7, 8, 20, 31]] = True
    some = facility_table(network, facilities, access, bands, OFFROAD_KMH, limit, rows=wanted)
    pd.testing.assert_frame_equal(some[wanted], table[wanted], check_exact=True)
    exclusive = [c for c in table.columns if c.startswith("catchment_exclusive_")]
    pd.testing.assert_frame_equal(some[exclusive], table[exclusive], check_exact=True)
    others = some.loc[~wanted].drop(columns=exclusive + ["referral_tier"])
    assert others.isna().all().all() and some.loc[~wanted, "referral_tier"].isna().all()
    by_position = facility_table(network, facilities, access, bands, OFFROAD_KMH, limit,
                                 rows=np.flatnonzero(wanted))
    pd.testing.assert_frame_equal(by_position, some, check_exact=True)
