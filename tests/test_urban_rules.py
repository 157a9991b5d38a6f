"""Rules limited to urban areas count urban people cell by cell and always give a row (#15)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from shapely.geometry import box

from geocover.pipeline import run_scenario
from geocover.standards import audit
from geocover.standards.scenario_audit import scenario_audit
from tests.test_zones import counties  # noqa: F401  (fixture)

RULE = """
standards:
  plan: taiyuan_14th_fyp
  add:
    - id: U1
      kind: travel_time
      quote_zh: 城区15分钟服务圈
      text_en: Urban residents within 2 minutes of a facility.
      scope: {area: urban}
      params: {minutes: 2, mode: drive, target_pct: 100}
"""


def test_urban_cells_of_zones_that_are_not_urban_as_a_whole(counties):  # noqa: F811
    folder = counties.parent
    gpd.GeoDataFrame({"code": ["130102001000", "130102002000", "130103001000", "130103100000"],
                      "name": ["张家乡", "李家乡", "赵家乡", "王家乡"]},
                     geometry=[box(0.01 * i, 0.0, 0.01 * (i + 1), 0.01) for i in range(4)],
                     crs="EPSG:4326").to_file(folder / "townships.gpkg")
    # Built-up 100 % in two columns of cells (x 0.004–0.006°) of 张家乡 and one (0.031–0.032°) of 王家乡: 30 urban
    # cells, too few for any township to be urban as a whole (30 % of its area).
    builtup = np.zeros((1, 10, 40), dtype=np.float32)
    builtup[:, :, 4:6] = 100
    builtup[:, :, 31] = 100
    with rasterio.open(folder / "builtup.tif", "r+") as dst:
        dst.write(builtup)
    config = folder / "urban.yaml"
    config.write_text(counties.read_text(encoding="utf-8") + RULE, encoding="utf-8")
    result = run_scenario(config, progress=False)
    table = result.table.set_index("zone_id")
    assert not (table["urban_rural"] == "urban").any()
    # Brute force: the urban cells' people within 2 minutes, from the per-cell minutes and the raster itself.
    minutes = result.access.minutes
    urban = builtup[0] >= 30
    near = urban & (minutes <= 2)
    assert table.loc["130102001000", "pop_urban"] == 20 and table.loc["130103100000", "pop_urban"] == 10
    assert table.loc["130102001000", "pop_urban_within_2"] == near[:, :10].sum()
    assert table.loc["130103100000", "pop_urban_within_2"] == near[:, 30:].sum()
    assert table.loc["130100000000", "pop_urban_within_2"] == near.sum()
    assert 0 < near[:, :10].sum() < 20  # the clinic at 0.005° reaches some urban cells in 2 minutes, not all
    rows = scenario_audit(result).query("rule_id == 'U1'").set_index("unit_id")
    assert set(rows.index) == {"130102001000", "130103100000", "130102000000", "130103000000", "130100000000"}
    assert rows.loc["130102001000", "value"] == pytest.approx(100 * near[:, :10].sum() / 20)
    assert rows.loc["130100000000", "value"] == pytest.approx(100 * near.sum() / 30)
    assert rows.loc["130102001000", "measure"] == "% of urban residents within 2 min"


def test_an_urban_rule_always_gives_a_row():
    from geocover.standards.schema import RULE_ADAPTER

    rule = RULE_ADAPTER.validate_python({"id": "U1", "kind": "travel_time", "text_en": "urban circle",
                                         "scope": {"area": "urban"}, "params": {"minutes": 15}})
    zones = pd.DataFrame({"zone_level": ["township"] * 2, "zone_id": ["1", "2"], "zone_name": ["甲乡", "乙乡"],
                          "urban_rural": ["rural", "rural"], "population": [100, 50], "pop_within_15": [80, 35]})
    # No zone urban, no per-cell counts: one row saying so.
    rows = audit([rule], zones, report_unspecified=False)
    assert len(rows) == 1 and rows.loc[0, "status"] == "not evaluable"
    assert "no zone is urban" in rows.loc[0, "missing"]
    # Per-cell counts without urban people: one row saying so.
    rows = audit([rule], zones.assign(pop_urban=0, pop_urban_within_15=0), report_unspecified=False)
    assert len(rows) == 1 and "no cell of the units is urban" in rows.loc[0, "missing"]
    # Urban people in 乙乡 only: its row alone, 30 of 40.
    rows = audit([rule], zones.assign(pop_urban=[0, 40], pop_urban_within_15=[0, 30]), report_unspecified=False)
    assert rows["unit_id"].tolist() == ["2"] and rows.loc[0, "value"] == pytest.approx(75.0)
    assert rows.loc[0, "to_add"] == 10
    # A rural rule: the rest of the people, 80 of 100 in 甲乡 and 35 - 30 = 5 of 50 - 40 = 10 in 乙乡.
    rural = RULE_ADAPTER.validate_python({"id": "R1", "kind": "travel_time", "text_en": "rural circle",
                                          "scope": {"area": "rural"}, "params": {"minutes": 15}})
    rows = audit([rural], zones.assign(pop_urban=[0, 40], pop_urban_within_15=[0, 30]), report_unspecified=False)
    assert rows["value"].tolist() == pytest.approx([80.0, 50.0])


def test_the_urban_measure_in_chinese():
    from geocover.render.values import measure_text

    assert measure_text("% of urban residents within 15 min", "zh") == "15分钟内可达城镇居民占比（%）"
    assert measure_text("% of rural residents within 30 min", "zh") == "30分钟内可达乡村居民占比（%）"


def test_a_radius_rule_always_gives_a_row_too():
    from geocover.standards import load_preset

    rule = load_preset("shanxi_2023_2025").rule("E1.urban")
    zones = pd.DataFrame({"zone_level": ["county"], "zone_id": ["140121"], "zone_name": ["清徐县"],
                          "pop_urban": [0.0], "pop_within_radius_urban_5km": [0.0]})
    rows = audit([rule], zones, radius_measure="straight", report_unspecified=False)
    assert len(rows) == 1 and rows.loc[0, "status"] == "not evaluable" and "pop_urban is 0" in rows.loc[0, "missing"]
