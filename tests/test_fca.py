"""2SFCA and E2SFCA equal the ``access`` package on the same input, and a hand-worked case."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geocover.analysis.fca import band_weights, floating_catchment, zone_mean

access = pytest.importorskip("access", reason="the access package is a test dependency: pip install access")


def test_band_weights():
    weights = {10: 1.0, 20: 0.68, 30: 0.22}
    got = band_weights(np.array([0.0, 10.0, 10.5, 20.0, 29.9, 30.0, 30.1]), weights)
    np.testing.assert_allclose(got, [1.0, 1.0, 0.68, 0.68, 0.22, 0.22, 0.0])


def test_two_step_by_hand():
    # Clinic 0 (2 doctors) reaches cells 0 and 1 (100 and 300 people); clinic 1 (1 doctor) reaches cell 1.
    j = np.array([0, 0, 1])
    k = np.array([0, 1, 1])
    t = np.array([5.0, 12.0, 3.0])
    got, ratio = floating_catchment(j, k, t, np.array([2.0, 1.0]), np.array([100.0, 300.0, 50.0]), 15)
    # R0 = 2 / 400, R1 = 1 / 300; A0 = R0, A1 = R0 + R1, cell 2 reaches nothing.
    np.testing.assert_allclose(ratio, [2 / 400, 1 / 300])
    np.testing.assert_allclose(got, [2 / 400, 2 / 400 + 1 / 300, 0.0])


def _random_case(seed: int):
    rng = np.random.default_rng(seed)
    n_supply, n_demand = 12, 80
    minutes = rng.uniform(0, 40, (n_supply, n_demand))
    reach = rng.random((n_supply, n_demand)) < 0.6
    j, k = np.nonzero(reach)
    return j, k, minutes[j, k], rng.integers(1, 20, n_supply).astype(float), rng.uniform(0, 500, n_demand)


def _with_access(j, k, t, supply, demand, max_minutes, weight_fn=None, enhanced=False):
    demand_df = pd.DataFrame({"cell": range(len(demand)), "pop": demand})
    supply_df = pd.DataFrame({"clinic": range(len(supply)), "doctors": supply})
    cost_df = pd.DataFrame({"cell": k, "clinic": j, "minutes": t})
    model = access.Access(
        demand_df=demand_df, demand_index="cell", demand_value="pop",
        supply_df=supply_df, supply_index="clinic", supply_value="doctors",
        cost_df=cost_df, cost_origin="cell", cost_dest="clinic", cost_name="minutes",
    )
    if enhanced:
        result = model.enhanced_two_stage_fca(max_cost=max_minutes, weight_fn=weight_fn)
    else:
        result = model.two_stage_fca(max_cost=max_minutes)
    return result.iloc[:, 0].reindex(range(len(demand))).fillna(0.0).to_numpy()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_two_step_equals_access(seed):
    j, k, t, supply, demand = _random_case(seed)
    got, _ = floating_catchment(j, k, t, supply, demand, 30)
    np.testing.assert_allclose(got, _with_access(j, k, t, supply, demand, 30), rtol=1e-9)


@pytest.mark.parametrize("seed", [4, 5])
def test_enhanced_two_step_equals_access(seed):
    j, k, t, supply, demand = _random_case(seed)
    weights = {10: 1.0, 20: 0.68, 30: 0.22}
    got, _ = floating_catchment(j, k, t, supply, demand, 30, weights)
    expected = _with_access(j, k, t, supply, demand, 30, access.weights.step_fn(weights), enhanced=True)
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_zone_mean_by_hand():
    values = np.array([1.0, 3.0, 5.0, 7.0])
    population = np.array([1.0, 3.0, 0.0, 2.0])
    zone = np.array([1, 1, 2, 0])
    # Zone 1: (1*1 + 3*3) / 4 = 2.5; zone 2 holds no people; zone 3 holds no cells.
    np.testing.assert_allclose(zone_mean(values, population, zone, 3), [2.5, np.nan, np.nan])
