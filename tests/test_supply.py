"""Capacity coverage and 2SFCA wired into scenarios, worked by hand on a straight road."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point

from geocover.pipeline import run_scenario
from tests.test_ambulance import corridor  # noqa: F401  (fixture)


def test_capacity_and_two_step_per_zone(corridor):  # noqa: F811
    # Clinic A (5 people) at 0.02, clinic B (3 people) at 0.1 east on a 60 km/h road; a person per 0.01 degree.
    gpd.GeoDataFrame({"name": ["甲卫生院", "乙卫生院"], "beds": [5, 3]},
                     geometry=[Point(0.02, 0.0), Point(0.1, 0.0)], crs="EPSG:4326").to_file(
        corridor.parent / "stations.geojson")
    config = corridor.parent / "supply.yaml"
    config.write_text(corridor.read_text(encoding="utf-8")
                      + "capacity: {column: beds, limit_minutes: 10}\nfca: {max_minutes: 10}\n", encoding="utf-8")
    result = run_scenario(config, progress=False)
    table = result.table.set_index("zone_id")
    # A first (larger): 1-minute zones hold 2 (0.015, 0.025), 2 (0.005, 0.035), 1 (0.045) people: all 5 taken.
    # B: 2 people in its first minute, then 1 of the next 2 (0.085, 0.115), split evenly: 3 taken.
    assert table.loc["A", "pop_covered_capacity"] == pytest.approx(5)
    assert table.loc["B", "pop_covered_capacity"] == pytest.approx(3)
    assert table.loc["B", "pct_covered_capacity"] == pytest.approx(100 * 3 / 15)
    assert list(result.allocation["covered"]) == pytest.approx([5, 3])
    # 2SFCA, 1 per clinic within 10 min (10 km): A reaches 11 people (0.005..0.105), B 18 (0.015..0.185).
    # Zone A: the cell at 0.005 reaches A only, the four others A and B.
    expected = (1 / 11 + 4 * (1 / 11 + 1 / 18)) / 5
    assert table.loc["A", "access_2sfca"] == pytest.approx(expected)
