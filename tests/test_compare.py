"""Current against a plan: the planned run equals a scenario built by hand with the planned facilities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geocover.analysis.compare import compare
from geocover.cli import main
from geocover.config import load_config
from geocover.errors import InputError
from geocover.pipeline import run_scenario
from tests.test_zones import counties  # noqa: F401  (fixture)

CURRENT = "机构名称,经度,纬度\n城关镇卫生院,0.005,0.005\n东城社区卫生服务站,0.012,0.005\n"
ADDED = "机构名称,经度,纬度\n王家乡卫生院,0.035,0.005\n"


def _configs(counties, plan: str):  # noqa: F811
    folder = counties.parent
    (folder / "clinics.csv").write_text(CURRENT, encoding="utf-8")
    (folder / "new.csv").write_text(ADDED, encoding="utf-8")
    base = counties.read_text(encoding="utf-8").replace(
        "facilities: {path: clinics.geojson, name_column: name}", "facilities: {path: clinics.csv}")
    config = folder / "plan.yaml"
    config.write_text(base + plan, encoding="utf-8")
    return folder, base, config


def test_plan_adds_closes_and_upgrades(counties, capsys):  # noqa: F811
    plan = "plan: {name: p2025, add: {path: new.csv}, close: ['3'], upgrade: {'2': central_township_health_centre}}\n"
    folder, base, config = _configs(counties, plan)
    current, planned, table = compare(load_config(config), progress=False)
    assert sorted(planned.facilities["name"]) == ["城关镇卫生院", "王家乡卫生院"]
    assert planned.facilities.set_index("name").loc["城关镇卫生院", "tier"] == "central_township_health_centre"
    # By hand: the same scenario with the planned facilities as its layer.
    (folder / "by_hand.csv").write_text("机构名称,经度,纬度\n城关镇中心卫生院,0.005,0.005\n王家乡卫生院,0.035,0.005\n",
                                        encoding="utf-8")
    (folder / "by_hand.yaml").write_text(base.replace("clinics.csv", "by_hand.csv"), encoding="utf-8")
    expected = run_scenario(folder / "by_hand.yaml", progress=False).table
    for column in ("pop_within_1", "pop_within_2", "pop_unreachable", "mean_minutes"):
        np.testing.assert_allclose(table[f"{column}_p2025"], expected[column])
        np.testing.assert_allclose(table[f"{column}_current"], current.table[column])
        np.testing.assert_allclose(table[f"{column}_change"], expected[column] - current.table[column])
    east = table.set_index("zone_id").loc["130103100000"]
    assert east["pop_within_2_change"] > 0
    assert main(["compare", str(config), "--out", str(folder / "out"), "--quiet"]) == 0
    assert "township: within 2 min" in capsys.readouterr().out
    written = pd.read_csv(folder / "out" / "comparison.csv", encoding="utf-8-sig")
    assert written["pop_within_2_change"].sum() == pytest.approx(table["pop_within_2_change"].sum())


def test_unknown_ids_in_a_plan_are_all_reported(counties):  # noqa: F811
    _, _, config = _configs(counties, "plan: {close: ['99'], upgrade: {'98': hospital}}\n")
    with pytest.raises(InputError) as error:
        compare(load_config(config), progress=False)
    text = str(error.value)
    assert "plan.close" in text and "'99'" in text and "plan.upgrade" in text and "'98'" in text
