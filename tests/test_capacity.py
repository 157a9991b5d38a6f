"""AccessMod's geographic coverage cases A-E (issue #349 of unige-geohealth/accessmod) and invariants."""

from __future__ import annotations

import numpy as np
import pytest

from geocover.analysis.capacity import capacity_coverage

# Cumulative population by time zone 0..4 in AccessMod's table; capacity 10, time limit 4.
CUMULATIVE = {
    "A": [1, 3, 5, 9, 15],
    "B": [11, 13, 20, 25, 50],
    "C": [1, 3, 4, 5, 6],
    "D": [2, 4, 9, 10, 11],
}
# inner, outer, residual, catchment reaches the split zone ("out") or stops inside ("in").
EXPECTED = {
    "A": (9, 1, 0, 4.0),
    "B": (0, 10, 0, 0.0),
    "C": (6, 0, 4, 4.0),
    "D": (10, 0, 0, 3.0),
}


def _one_facility(case: str):
    per_zone = np.diff([0, *CUMULATIVE[case]]).astype(float)
    cells = np.arange(5)
    return np.zeros(5, dtype=int), cells, cells.astype(float), per_zone


@pytest.mark.parametrize("case", ["A", "B", "C", "D"])
def test_accessmod_cases(case):
    f, cells, minutes, population = _one_facility(case)
    result = capacity_coverage(f, cells, minutes, population, np.array([10.0]), limit_minutes=4)
    row = result.table.iloc[0]
    inner, outer, residual, reach = EXPECTED[case]
    assert (row["inner"], row["outer"], row["residual"]) == pytest.approx((inner, outer, residual))
    assert row["catchment_minutes"] == reach
    assert result.covered.sum() == pytest.approx(inner + outer)
    assert (result.covered <= population + 1e-12).all()


def test_case_a_splits_the_last_zone_evenly_over_its_cells():
    # Zone 4 of case A (6 people) as two cells of 2 and 4: the 1 person left is taken as 1/6 of each.
    f = np.zeros(6, dtype=int)
    cells = np.arange(6)
    minutes = np.array([0, 1, 2, 3, 3.6, 4.0])
    population = np.array([1, 2, 2, 4, 2, 4], dtype=float)
    result = capacity_coverage(f, cells, minutes, population, np.array([10.0]), limit_minutes=4)
    np.testing.assert_allclose(result.covered, [1, 2, 2, 4, 2 / 6, 4 / 6])
    assert result.table.iloc[0]["partial_share"] == pytest.approx(1 / 6)


def test_case_e_ignores_capacity():
    f, cells, minutes, population = _one_facility("A")
    result = capacity_coverage(f, cells, minutes, population, None, limit_minutes=4)
    assert result.covered.sum() == 15
    result = capacity_coverage(f, cells, minutes, population, None, limit_minutes=2)
    assert result.covered.sum() == 5


def test_covered_people_are_removed_before_the_next_facility():
    # Two facilities share cell 1 (10 people); the first in the order takes it.
    f = np.array([0, 0, 1, 1])
    cells = np.array([0, 1, 1, 2])
    minutes = np.array([1.0, 2.0, 1.0, 2.0])
    population = np.array([5.0, 10.0, 3.0])
    first = capacity_coverage(f, cells, minutes, population, np.array([100.0, 100.0]), 5, order=[0, 1])
    assert list(first.table["covered"]) == [15.0, 3.0]
    second = capacity_coverage(f, cells, minutes, population, np.array([100.0, 100.0]), 5, order=[1, 0])
    assert list(second.table["covered"]) == [13.0, 5.0]
    # With capacity the order matters for who is covered; the total here does not exceed the people.
    assert first.covered.sum() == second.covered.sum() == 18.0


def test_without_capacity_coverage_never_falls_when_a_facility_or_minutes_are_added():
    rng = np.random.default_rng(3)
    n_facilities, n_cells = 6, 200
    f, cells = np.nonzero(rng.random((n_facilities, n_cells)) < 0.3)
    minutes = rng.uniform(0, 30, len(f))
    population = rng.uniform(0, 100, n_cells)
    totals = [capacity_coverage(f[f < m], cells[f < m], minutes[f < m], population, None, 15).covered.sum()
              for m in range(1, n_facilities + 1)]
    assert all(b >= a - 1e-9 for a, b in zip(totals, totals[1:], strict=False))
    by_limit = [capacity_coverage(f, cells, minutes, population, None, limit).covered.sum() for limit in (5, 10, 20)]
    assert by_limit[0] <= by_limit[1] <= by_limit[2]
