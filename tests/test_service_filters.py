"""Services with facility filters (#15): a plan's circle of named, graded or TCM-capable facilities."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point

from geocover.analysis.services import service_rows
from geocover.config import ServiceConfig
from geocover.errors import InputError
from geocover.pipeline import run_scenario
from geocover.standards.scenario_audit import scenario_audit
from tests.test_zones import counties  # noqa: F401  (fixture)

FACILITIES = ("机构名称,经度,纬度,医院等级,provides_tcm\n"
              "镇医院,0.005,0.005,二级,否\n县中医医院,0.015,0.005,二级甲等,是\n县人民医院,0.035,0.005,三级甲等,否\n")
RULES = """
standards:
  plan: taiyuan_14th_fyp
  add:
    - id: X2
      kind: travel_time
      quote_zh: 三级医院15分钟就医圈
      text_en: The named tertiary hospital within 2 minutes.
      scope: {tiers: [hospital]}
      params: {minutes: 2, mode: drive, min_grade: 3, facility_names: [县人民医院]}
    - id: X3
      kind: travel_time
      quote_zh: 中医服务15分钟可及圈
      text_en: A TCM-capable facility within 2 minutes.
      params: {minutes: 2, mode: drive, where: {provides_tcm: [true]}}
"""
SERVICES = (
    "services:\n"
    "  - {name: tertiary, tiers: [hospital], min_grade: 3, facility_names: [县人民医院], mode: drive,"
    " bands_minutes: [1, 2], target_minutes: 2}\n"
    "  - {name: tcm, where: {provides_tcm: [true]}, mode: drive, bands_minutes: [1, 2], target_minutes: 2}\n"
)


def _config(counties, facilities: str, extra: str, name: str):  # noqa: F811
    folder = counties.parent
    (folder / f"{name}.csv").write_text(facilities, encoding="utf-8")
    text = counties.read_text(encoding="utf-8").replace(
        "facilities: {path: clinics.geojson, name_column: name}", f"facilities: {{path: {name}.csv}}")
    path = folder / f"{name}.yaml"
    path.write_text(text + extra, encoding="utf-8")
    return path


def test_filtered_services_equal_runs_on_only_those_facilities_and_carry_the_rules(counties):  # noqa: F811
    result = run_scenario(_config(counties, FACILITIES, SERVICES + RULES, "all"), progress=False)
    table = result.table.set_index("zone_id")
    # Independent: the main analysis of a layer holding only the named hospital, only the TCM one.
    only = {"tertiary": FACILITIES.splitlines()[3], "tcm": FACILITIES.splitlines()[2]}
    audit = scenario_audit(result).set_index(["rule_id", "unit_id"])
    for service, line in only.items():
        alone = run_scenario(_config(counties, FACILITIES.splitlines()[0] + "\n" + line + "\n", "", service),
                             progress=False).table.set_index("zone_id")
        for column in ("pop_within_1", "pop_within_2", "pct_within_2"):
            assert table[f"{service}_{column}"].tolist() == pytest.approx(alone[column].tolist())
        rule = {"tertiary": "X2", "tcm": "X3"}[service]
        for zone_id in table.index:
            row = audit.loc[(rule, zone_id)]
            assert row["value"] == pytest.approx(alone.loc[zone_id, "pct_within_2"])
            assert row["status"] == ("pass" if alone.loc[zone_id, "pct_within_2"] >= 100 else "fail")
    # The hospitals differ, so the two circles differ: the test can tell one from the other.
    assert table["tertiary_pct_within_2"].tolist() != table["tcm_pct_within_2"].tolist()


def test_without_a_matching_service_the_filtered_rules_are_not_evaluable(counties):  # noqa: F811
    unfiltered = ("services: [{name: hospital, tiers: [hospital], mode: drive, bands_minutes: [1, 2],"
                  " target_minutes: 2}]\n")
    result = run_scenario(_config(counties, FACILITIES, unfiltered + RULES, "plain"), progress=False)
    audit = scenario_audit(result)
    for rule, words in (("X2", "县人民医院"), ("X3", "provides_tcm")):
        rows = audit[audit["rule_id"] == rule]
        assert len(rows) and (rows["status"] == "not evaluable").all()
        assert rows["missing"].str.contains(words).all()


def test_service_filters_name_every_missing_column_and_facility_at_once():
    layer = gpd.GeoDataFrame({"facility_id": ["a", "b"], "name": ["县人民医院", "镇医院"], "tier": ["hospital"] * 2,
                              "grade": ["三甲", "二级"]}, geometry=[Point(0, 0), Point(1, 1)], crs="EPSG:4326")
    ok = ServiceConfig(name="tertiary", tiers=["hospital"], min_grade=3, bands_minutes=[15], target_minutes=15)
    assert service_rows(ok, layer).tolist() == [0]
    bad = ServiceConfig(name="tcm", where={"provides_tcm": [True]}, facility_names=["县人民医院", "市中医院"],
                        facility_ids=["z"], bands_minutes=[15], target_minutes=15)
    with pytest.raises(InputError) as error:
        service_rows(bad, layer)
    text = str(error.value)
    assert "services[tcm]" in text and "'provides_tcm'" in text and "'市中医院'" in text and "'z'" in text
    assert "'县人民医院'" not in text
    assert len(error.value.problems) == 3


def test_validate_names_a_misspelt_facility_of_a_service(counties, capsys):  # noqa: F811
    from geocover.cli import main

    misspelt = SERVICES.replace("[县人民医院]", "[县人民医院, 县第一人民医院]")
    assert main(["validate", str(_config(counties, FACILITIES, misspelt, "check"))]) == 2
    err = capsys.readouterr().err
    assert "services[tertiary]" in err and "'县第一人民医院'" in err and "Traceback" not in err
    assert main(["validate", str(_config(counties, FACILITIES, SERVICES, "good"))]) == 0
    out = capsys.readouterr().out
    assert "service tertiary: 1 facilities" in out and "service tcm: 1 facilities" in out
