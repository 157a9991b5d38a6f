"""Siting models: brute force on small instances, spopt's optimum on its San Francisco matrix, Comoros."""

from __future__ import annotations

import itertools
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import scipy.sparse as sp
import shapely
from affine import Affine
from scipy.optimize import linprog

from geocover.io.population import PopulationGrid
from geocover.network.graph import Network
from geocover.siting import candidates as cands
from geocover.siting import proposed_sites
from geocover.siting.candidates import radius_matrix
from geocover.siting.models import AmbulanceStations, MaximalCovering, PMedian, SetCovering

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "comoros.yaml"
GREEDY_BOUND = 1.0 - 1.0 / np.e


def instance(seed: int, n: int = 9, m: int = 40):
    """Random minutes (candidates × cells), people per cell and cells existing facilities cover."""
    rng = np.random.default_rng(seed)
    minutes = rng.uniform(0.0, 30.0, (n, m))
    weights = rng.integers(0, 100, m).astype(float)
    existing = rng.random(m) < 0.2
    return minutes, weights, existing


def covered_people(reach: np.ndarray, weights: np.ndarray, existing: np.ndarray, subset) -> float:
    """People covered by existing facilities or any site of ``subset`` (dense brute force)."""
    return float(weights[existing | reach[list(subset)].any(axis=0)].sum())


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_mclp_exact_equals_brute_force_and_greedy_within_bound(seed, k):
    minutes, weights, existing = instance(seed)
    reach = minutes <= 10.0
    before = weights[existing].sum()
    best = max(covered_people(reach, weights, existing, s) for s in itertools.combinations(range(9), k)) - before
    exact = MaximalCovering.from_cost_matrix(minutes, weights, 10.0, k=k, existing=existing).solve("exact")
    greedy = MaximalCovering.from_cost_matrix(minutes, weights, 10.0, k=k, existing=existing).solve("greedy")
    assert exact.objective == pytest.approx(best)
    assert exact.status == "Optimal" and exact.gap == pytest.approx(0.0)
    # The table's marginal people add up to the people the chosen sites cover, computed densely.
    assert exact.added.sum() == pytest.approx(covered_people(reach, weights, existing, exact.selected) - before)
    assert greedy.objective >= GREEDY_BOUND * best - 1e-9
    assert greedy.objective == pytest.approx(covered_people(reach, weights, existing, greedy.selected) - before)


def test_existing_as_sparse_matrix_equals_boolean_mask():
    minutes, weights, _ = instance(3)
    existing_minutes = np.random.default_rng(7).uniform(0.0, 30.0, (2, 40))
    mask = (existing_minutes <= 10.0).any(axis=0)
    as_matrix = sp.csr_matrix(np.where(existing_minutes <= 10.0, existing_minutes, 0.0))
    by_mask = MaximalCovering.from_cost_matrix(minutes, weights, 10.0, k=2, existing=mask).solve("exact")
    by_matrix = MaximalCovering.from_cost_matrix(minutes, weights, 10.0, k=2, existing=as_matrix).solve("exact")
    assert by_matrix.population_before == pytest.approx(weights[mask].sum())
    assert by_matrix.objective == pytest.approx(by_mask.objective)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("share", [0.4, 0.6, 0.8, 1.0])
def test_lscp_exact_equals_brute_force(seed, share):
    minutes, weights, existing = instance(seed)
    reach = minutes <= 10.0
    target = share * weights.sum()
    fewest = next((size for size in range(10) if any(
        covered_people(reach, weights, existing, s) >= target - 1e-9
        for s in itertools.combinations(range(9), size))), None)
    model = SetCovering.from_cost_matrix(minutes, weights, 10.0, target_share=share, existing=existing).solve("exact")
    nobody = ~existing & ~reach.any(axis=0)
    assert model.unreachable_population == pytest.approx(weights[nobody].sum())
    if fewest is None:
        assert not model.target_reached
        assert model.achievable_share == pytest.approx(1.0 - weights[nobody].sum() / weights.sum())
        # Everyone a candidate reaches is covered.
        assert model.population_after == pytest.approx(weights.sum() - weights[nobody].sum())
    else:
        assert model.target_reached
        assert model.objective == fewest == len(model.selected)
        assert covered_people(reach, weights, existing, model.selected) >= target - 1e-9
    greedy = SetCovering.from_cost_matrix(minutes, weights, 10.0, target_share=share, existing=existing)
    greedy.solve("greedy")
    assert greedy.objective >= model.objective
    assert covered_people(reach, weights, existing, greedy.selected) == pytest.approx(greedy.population_after)


def person_minutes(minutes, weights, base, limit, subset) -> float:
    """p-median objective by brute force: least of base and the sites within the cut-off."""
    current = base.copy()
    for j in subset:
        current = np.minimum(current, np.where(minutes[j] <= limit, minutes[j], np.inf))
    return float((weights * current).sum())


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_pmedian_exact_equals_brute_force(seed, k):
    minutes, weights, existing = instance(seed)
    existing_minutes = np.where(existing, np.random.default_rng(seed + 100).uniform(0.0, 20.0, 40), np.inf)
    limit, penalty = 10.0, 45.0
    base = np.where(existing_minutes <= limit, existing_minutes, penalty)
    best = min(person_minutes(minutes, weights, base, limit, s) for s in itertools.combinations(range(9), k))
    exact = PMedian(minutes, weights, k, limit, penalty, existing_minutes).solve("exact")
    greedy = PMedian(minutes, weights, k, limit, penalty, existing_minutes).solve("greedy")
    assert exact.objective == pytest.approx(best)
    assert exact.objective == pytest.approx(person_minutes(minutes, weights, base, limit, exact.selected))
    assert exact.saved.sum() == pytest.approx((weights * base).sum() - best)
    # The reduction of person-minutes is submodular: greedy keeps at least (1 - 1/e) of the best saving.
    saving = (weights * base).sum() - best
    assert (weights * base).sum() - greedy.objective >= GREEDY_BOUND * saving - 1e-6
    assert greedy.mean_minutes_after == pytest.approx(greedy.objective / weights.sum())


def capacitated_best(minutes, weights, existing, capacity, limit, subset) -> float:
    """People served by ``subset`` with capacities, by linear programming (a transport problem)."""
    pairs = [(a, i) for a, j in enumerate(subset) for i in range(len(weights)) if minutes[j, i] <= limit
             and not existing[i]]
    if not pairs:
        return 0.0
    n = len(pairs)
    people = np.array([weights[i] for _, i in pairs])
    rows = []
    for i in range(len(weights)):
        rows.append([1.0 if cell == i else 0.0 for _, cell in pairs])
    for a in range(len(subset)):
        rows.append([weights[i] if site == a else 0.0 for site, i in pairs])
    bounds = np.r_[np.ones(len(weights)), capacity[list(subset)]]
    result = linprog(-people, A_ub=np.array(rows), b_ub=bounds, bounds=[(0, 1)] * n, method="highs")
    return -result.fun


@pytest.mark.parametrize("seed", range(6))
def test_capacitated_mclp_equals_brute_force(seed):
    minutes, weights, existing = instance(seed, n=7, m=25)
    capacity = np.random.default_rng(seed).uniform(50.0, 250.0, 7)
    best = max(capacitated_best(minutes, weights, existing, capacity, 10.0, s)
               for s in itertools.combinations(range(7), 2))
    model = MaximalCovering.from_cost_matrix(minutes, weights, 10.0, k=2, existing=existing, capacity=capacity)
    model.solve("exact")
    assert model.objective == pytest.approx(best, rel=1e-6)
    assert model.assigned.sum() == pytest.approx(best, rel=1e-6)
    assert (model.added <= capacity[model.selected] + 1e-6).all()
    greedy = MaximalCovering.from_cost_matrix(minutes, weights, 10.0, k=2, existing=existing, capacity=capacity)
    greedy.solve("greedy")
    assert greedy.objective <= best + 1e-6
    assert greedy.assigned.sum() == pytest.approx(greedy.objective)


def test_greedy_order_marginals_and_capacity_nearest_first():
    # Candidate 0 reaches cells 0-2 (60 people), 1 reaches 2-3 (70), 2 reaches 3-4 (90).
    weights = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    minutes = np.full((3, 5), np.inf)
    minutes[0, :3] = [1.0, 2.0, 3.0]
    minutes[1, 2:4] = [1.0, 1.0]
    minutes[2, 3:] = [2.0, 1.0]
    model = MaximalCovering.from_cost_matrix(minutes, weights, 10.0, k=2).solve("greedy")
    assert model.selected.tolist() == [2, 0]
    assert model.added.tolist() == [90.0, 60.0]
    full = SetCovering.from_cost_matrix(minutes, weights, 10.0, target_share=1.0).solve("exact")
    assert sorted(full.selected.tolist()) == [0, 2] and full.objective == 2
    # With a capacity of 25, candidate 0 serves its nearest cell (10) then 15 of the next 20.
    capped = MaximalCovering.from_cost_matrix(minutes[:1], weights, 10.0, k=1, capacity=25.0).solve("greedy")
    np.testing.assert_allclose(capped.assigned, [10.0, 15.0, 0.0, 0.0, 0.0])


def test_radius_matrix_and_ambulance_rule_equal_dense_distances():
    rng = np.random.default_rng(5)
    stations = rng.uniform(0.0, 40_000.0, (12, 2))
    cells = rng.uniform(0.0, 40_000.0, (300, 2))
    urban = rng.random(300) < 0.4
    weights = rng.integers(1, 50, 300).astype(float)
    distance = np.hypot(*(stations[:, None, :] - cells[None, :, :]).transpose(2, 0, 1))
    radius = np.where(urban, 5_000.0, 15_000.0)
    matrix = radius_matrix(stations, cells, radius)
    np.testing.assert_array_equal(matrix.toarray() > 0, distance <= radius)
    np.testing.assert_allclose(matrix.toarray()[distance <= radius], distance[distance <= radius])
    reach = distance <= radius
    none = np.zeros(300, bool)
    coverable = weights[reach.any(axis=0)].sum()
    fewest = next(size for size in range(13) if any(
        covered_people(reach, weights, none, s) >= coverable - 1e-9 for s in itertools.combinations(range(12), size)))
    model = AmbulanceStations.from_points(stations, cells, weights, urban, 5.0, 15.0, target_share=1.0).solve("exact")
    assert model.target_reached == (coverable == weights.sum())
    assert model.objective == fewest
    by_km = AmbulanceStations.from_matrix(distance / 1000.0, weights, urban, 5.0, 15.0, k=3).solve("exact")
    best = max(covered_people(reach, weights, none, s) for s in itertools.combinations(range(12), 3))
    assert by_km.objective == pytest.approx(best)


def line_network() -> Network:
    """Three nodes on a straight road along y = 0 at x = 0, 1000, 2000 m, 1 minute per segment."""
    return Network(x=np.array([0.0, 1000.0, 2000.0]), y=np.zeros(3), u=np.array([0, 1]), v=np.array([1, 2]),
                   minutes_uv=np.ones(2), minutes_vu=np.ones(2), crs="EPSG:32633")


def test_candidate_rules_and_exclusions():
    network = line_network()
    nodes = cands.from_network_nodes(network)
    assert nodes["rule"].tolist() == ["road_node"] * 3 and nodes["candidate_id"].tolist() == [1, 2, 3]
    middle = cands.from_segment_midpoints(network)
    assert middle.geometry.x.tolist() == [500.0, 1500.0]
    assert len(cands.thin(nodes, 1500.0)) == 2  # squares [0, 1500) and [1500, 3000)
    facility = gpd.GeoDataFrame(geometry=[shapely.Point(0.0, 100.0)], crs="EPSG:32633")
    near = cands.exclude_near(nodes, facility, 1000.0)
    assert near["source_id"].tolist() == [1, 2] and near.attrs["excluded"]["near_existing"] == 1
    zone = gpd.GeoDataFrame(geometry=[shapely.box(900.0, -10.0, 3000.0, 10.0)], crs="EPSG:32633")
    assert cands.keep_in_zones(nodes, zone)["source_id"].tolist() == [1, 2]
    assert cands.keep_in_zones(nodes, zone, inside=False)["source_id"].tolist() == [0]
    points = cands.from_file(gpd.GeoDataFrame(
        {"code": ["a", "b"]}, geometry=[shapely.Point(500.0, 300.0), shapely.Point(500.0, 3000.0)], crs="EPSG:32633"
    ), id_column="code")
    assert cands.keep_on_road(points, network, 500.0)["source_id"].tolist() == ["a"]
    both = cands.combine(near, points)
    assert both["candidate_id"].tolist() == [1, 2, 3, 4] and both.attrs["excluded"]["near_existing"] == 1


def test_cell_and_seat_candidates():
    # A 2 × 3 grid of 100 m cells; minutes per cell, the target 15.
    population = np.array([[5.0, 0.0, 8.0], [3.0, 9.0, 1.0]])
    grid = PopulationGrid(population, np.ones((2, 3), bool), Affine(100.0, 0, 0, 0, -100.0, 200.0),
                          pyproj.CRS("EPSG:32633"))
    minutes = np.array([[5.0, 20.0, np.inf], [30.0, 10.0, 16.0]])
    cells = cands.from_cells(grid, "EPSG:32633")
    assert cells["source_id"].tolist() == [0, 2, 3, 4, 5]  # populated cells, valid order
    gaps = cands.from_cells(grid, "EPSG:32633", minutes, 15.0)
    assert gaps["source_id"].tolist() == [2, 3, 5] and set(gaps["rule"]) == {"gap_cell"}
    assert gaps.geometry.x.tolist() == [250.0, 50.0, 250.0]
    thinned = cands.from_cells(grid, "EPSG:32633", spacing_m=300.0)
    assert thinned["source_id"].tolist() == [4]  # the most populated cell of the one square
    zones = gpd.GeoDataFrame({"zone_id": ["z"], "zone_name": ["Z"]},
                             geometry=[shapely.Polygon([(0, 0), (10, 0), (10, 10), (9, 10), (9, 1), (0, 1)])],
                             crs="EPSG:32633")
    seats = cands.from_seats(zones=zones)
    assert seats["rule"].tolist() == ["seat"] and zones.geometry.iloc[0].contains(seats.geometry.iloc[0])


def test_proposed_sites_table():
    weights = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    minutes = np.full((3, 5), np.inf)
    minutes[0, :3] = 1.0
    minutes[1, 2:4] = 1.0
    minutes[2, 3:] = 1.0
    model = MaximalCovering.from_cost_matrix(minutes, weights, 10.0, k=2, existing=np.array([1, 0, 0, 0, 0], bool))
    model.solve("exact")
    sites = gpd.GeoDataFrame({"candidate_id": [1, 2, 3], "rule": "file", "source_id": [7, 8, 9]},
                             geometry=[shapely.Point(500_000.0 + 100 * j, 0.0) for j in range(3)], crs="EPSG:32633")
    boxes = [shapely.box(499_000, -1000, 501_000, 1000), shapely.box(500_150, -10, 500_250, 10)]
    zones = gpd.GeoDataFrame({"zone_level": ["county", "township"], "zone_id": ["c", "t"], "zone_name": ["C", "T"]},
                             geometry=boxes, crs="EPSG:32633")
    table = proposed_sites(model, sites, zones)
    # Candidate 2 (index 2) adds 90, then candidate 0 adds cells 1 and 2 (50); cell 0 was covered before.
    assert table["candidate_id"].tolist() == [3, 1]
    assert table["population_added"].tolist() == [90.0, 50.0]
    assert table["cumulative_population"].tolist() == [100.0, 150.0]
    assert table["cumulative_share"].tolist() == pytest.approx([100 / 150, 1.0])
    assert table["zone_id"].tolist() == ["t", "c"]  # the smallest zone holding the site
    assert table["lon"].iloc[0] == pytest.approx(15.0 + 0.2 / 111.3, abs=1e-3)


def spopt_san_francisco():
    """spopt's San Francisco test instance, read from the installed spopt package."""
    spopt = pytest.importorskip("spopt")
    data = Path(spopt.__file__).parent / "tests" / "test_locate" / "data"
    if not data.is_dir():
        pytest.skip(f"{data} not in the installed spopt")
    distance = pd.read_csv(data / "SF_network_distance_candidateStore_16_censusTract_205_new.csv")
    cost = distance.pivot_table(values="distance", index="DestinationName", columns="name")
    demand = pd.read_csv(data / "SF_demand_205_centroid_uniform_weight.csv").sort_values("NAME")
    assert (cost.index.to_numpy() == demand["NAME"].to_numpy()).all()
    return cost.to_numpy(), demand["POP2000"].to_numpy(dtype=float)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_spopt_san_francisco_mclp_lscp_pmedian_objectives():
    cost, weights = spopt_san_francisco()
    import pulp
    from spopt.locate import LSCP, MCLP
    from spopt.locate import PMedian as SpoptPMedian

    # CBC, as spopt's own tests: a solver independent of the HiGHS geocover uses.
    solver = pulp.PULP_CBC_CMD(msg=False) if "PULP_CBC_CMD" in pulp.listSolvers(True) else pulp.HiGHS(msg=False)
    theirs = MCLP.from_cost_matrix(cost, weights, 5000.0, 4).solve(solver)
    ours = MaximalCovering.from_cost_matrix(cost.T, weights, 5000.0, k=4).solve("exact")
    assert ours.objective == pytest.approx(pulp.value(theirs.problem.objective))
    assert MaximalCovering.from_cost_matrix(cost.T, weights, 5000.0, k=4).solve("greedy").objective >= (
        GREEDY_BOUND * ours.objective)
    theirs = LSCP.from_cost_matrix(cost, 5000.0).solve(solver)
    ours = SetCovering.from_cost_matrix(cost.T, weights, 5000.0, target_share=1.0).solve("exact")
    assert ours.target_reached and ours.objective == pulp.value(theirs.problem.objective)
    theirs = SpoptPMedian.from_cost_matrix(cost, weights, 4).solve(solver)
    limit = float(cost.max())  # no cut-off: the classic p-median
    ours = PMedian(cost.T, weights, 4, limit, limit).solve("exact")
    assert ours.objective == pytest.approx(pulp.value(theirs.problem.objective))


@pytest.fixture(scope="module")
def comoros(comoros_dir):
    from geocover.pipeline import run_scenario
    from geocover.siting import site

    result = run_scenario(CONFIG, progress=False)
    return result, site(result, "mclp", k=10, candidate_rule="cells", spacing_m=2000.0, method="exact")


def test_comoros_matrix_rows_equal_single_site_searches(comoros):
    from geocover.network.snapping import Snap, snap_points
    from geocover.travel.nearest import nearest_facility_nodes, point_minutes

    result, out = comoros
    network, config = result.network, result.config
    candidates = out.candidates
    snap = snap_points(network, candidates.geometry.x.to_numpy(), candidates.geometry.y.to_numpy(), config.snap_max_m)
    for j in np.random.default_rng(0).choice(len(candidates), 5, replace=False):
        one = Snap(snap.edge[j:j + 1], snap.fraction[j:j + 1], snap.offset_m[j:j + 1])
        nodes = nearest_facility_nodes(network, one, "to", config.offroad_kmh)
        minutes, _ = point_minutes(network, nodes, result.access.cell_snap, one, config.offroad_kmh)
        within = np.flatnonzero(minutes <= config.target_minutes)
        row = out.model.matrix[j]
        assert row.indices.tolist() == sorted(within.tolist())
        np.testing.assert_allclose(row.data[np.argsort(row.indices)], minutes[within], rtol=1e-9)


def test_comoros_totals_match_zone_table(comoros):
    result, out = comoros
    table = result.table.set_index(["zone_level", "zone_id"])
    zones = out.totals[out.totals["zone_level"] != "all"].set_index(["zone_level", "zone_id"])
    np.testing.assert_allclose(zones["covered_before"], table.loc[zones.index, "pop_within_15"], rtol=1e-9)
    # After = before + the people the sites add, and the sites' cumulative column ends there.
    assert out.totals["covered_after"].iloc[0] == pytest.approx(out.sites["cumulative_population"].iloc[-1])
    grid = result.access.grid
    people = grid.population[grid.valid]
    reached = np.diff(out.model.matrix[out.model.selected].tocsc().indptr) > 0
    before = result.access.minutes[grid.valid] <= 15.0
    assert out.totals["covered_after"].iloc[0] == pytest.approx(people[before | reached].sum())


@pytest.mark.parametrize("k", [3, 5, 10])
def test_comoros_greedy_within_95_percent_of_exact(comoros, k):
    _, out = comoros
    model = out.model
    exact = MaximalCovering(model.matrix, model.weights, k, model.covered_before).solve("exact", time_limit_s=300)
    greedy = MaximalCovering(model.matrix, model.weights, k, model.covered_before).solve("greedy")
    assert exact.status == "Optimal"
    assert exact.objective >= greedy.objective - 1e-6
    assert greedy.objective >= 0.95 * exact.objective


def test_comoros_set_covering_reports_unreachable_people(comoros):
    result, out = comoros
    model = out.model
    lscp = SetCovering(model.matrix, model.weights, 0.9, model.covered_before).solve("greedy")
    unsnapped = ~result.access.cell_snap.snapped
    assert not lscp.target_reached
    assert lscp.unreachable_population >= model.weights[unsnapped].sum()
    assert lscp.population_after == pytest.approx(model.population_total - lscp.unreachable_population)


def test_comoros_ambulance_straight_line_equals_dense_distances(comoros):
    from geocover.siting import site, urban_cells

    result, _ = comoros
    out = site(result, "ambulance", k=3, candidate_rule="cells", spacing_m=4000.0, ambulance_metric="straight",
               urban_limit=5.0, rural_limit=15.0, method="exact")
    grid, crs = result.access.grid, result.network.crs
    x, y = pyproj.Transformer.from_crs(grid.crs, crs, always_xy=True).transform(*grid.centres())
    radius = np.where(urban_cells(result), 5_000.0, 15_000.0)
    facilities = result.facilities.geometry.to_crs(crs)
    before = np.zeros(len(x), dtype=bool)
    for fx, fy in zip(facilities.x, facilities.y, strict=True):
        before |= np.hypot(x - fx, y - fy) <= radius
    people = grid.population[grid.valid]
    assert out.model.population_before == pytest.approx(people[before].sum())
    after = before.copy()
    for point in out.sites.geometry:
        after |= np.hypot(x - point.x, y - point.y) <= radius
    assert out.totals["covered_after"].iloc[0] == pytest.approx(people[after].sum())
    assert out.model.status == "Optimal"


def test_comoros_pmedian_counts_people_beyond_the_cut_off_at_the_penalty(comoros):
    from geocover.siting import site

    result, _ = comoros
    out = site(result, "pmedian", k=3, candidate_rule="cells", spacing_m=4000.0, penalty_minutes=60.0,
               method="greedy")
    grid = result.access.grid
    people = grid.population[grid.valid]
    minutes = result.access.minutes[grid.valid]
    counted = np.where(minutes <= 15.0, minutes, 60.0)
    assert out.model.mean_minutes_before == pytest.approx((people * counted).sum() / people.sum())
    assert (people * counted).sum() - out.model.objective == pytest.approx(out.sites["minutes_saved"].sum())
    assert out.model.mean_minutes_after < out.model.mean_minutes_before
