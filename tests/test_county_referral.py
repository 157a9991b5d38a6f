"""Per county, residents whose nearest secondary or tertiary hospital is in their own county (#15)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geocover.analysis.county_referral import county_shares
from geocover.pipeline import run_scenario
from tests.test_zones import counties  # noqa: F401  (fixture)

# Two counties of the fixture: 130102 (x 0–0.02°) and 130103 (0.02–0.04°), one road along y = 0.005°.
HOSPITALS = ("机构名称,经度,纬度,医院等级\n"
             "东城医院,0.005,0.005,一级\n"          # grade I: does not count
             "李家医院,0.0205,0.005,二级甲等\n"     # just across the border, in 130103
             "王家医院,0.035,0.005,三级甲等\n")


def test_hand_worked_shares():
    people = np.array([10.0, 20.0, 30.0, 40.0, 5.0])
    cell_county = np.array([0, 0, 1, 1, -1])
    nearest = np.array([1, 0, 1, -2, 0])      # cell 3 reaches no hospital; cell 4 lies outside every county
    table = county_shares(people, cell_county, nearest, pd.DataFrame({"zone_id": ["a", "b"], "zone_name": ["A", "B"]}),
                          np.array([1, 1]))
    assert table["population"].tolist() == [30, 70]
    assert table["pop_nearest_hospital_in_county"].tolist() == [20, 30]
    assert table["pop_nearest_hospital_elsewhere"].tolist() == [10, 0]
    assert table["pop_no_hospital_reached"].tolist() == [0, 40]
    assert table["pct_nearest_hospital_in_county"].tolist() == pytest.approx([200 / 3, 100.0])


def test_a_hospital_just_across_the_border_draws_the_whole_county(counties, tmp_path):  # noqa: F811
    (tmp_path / "hospitals.csv").write_text(HOSPITALS, encoding="utf-8")
    config = tmp_path / "referral.yaml"
    config.write_text(counties.read_text(encoding="utf-8").replace(
        "facilities: {path: clinics.geojson, name_column: name}", "facilities: {path: hospitals.csv}"),
        encoding="utf-8")
    result = run_scenario(config, progress=False)
    table = result.tables["county_referral.csv"].set_index("zone_id")
    # Every cell of 130102 is nearer 李家医院 (x 0.0205) than 王家医院; 东城医院 is grade I and does not count.
    assert table.loc["130102000000", "population"] == 200
    assert table.loc["130102000000", "pct_nearest_hospital_in_county"] == 0
    assert table.loc["130102000000", "pop_nearest_hospital_elsewhere"] == 200
    assert table.loc["130103000000", "pct_nearest_hospital_in_county"] == 100
    assert table["hospitals"].tolist() == [0, 2]
    assert "emergency_chain.csv" not in result.tables  # no township health centre in the layer
