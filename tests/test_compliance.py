"""The audit wired to scenarios: values taken from the right table, seed-jurisdiction configs load."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from geocover.cli import main
from geocover.config import load_config
from geocover.pipeline import run_scenario
from geocover.standards import list_presets, load_preset
from geocover.standards.scenario_audit import scenario_audit
from tests.conftest import ROOT
from tests.test_zones import counties  # noqa: F401  (fixture)

RULE = """
standards:
  plan: taiyuan_14th_fyp
  levels: {{}}
  add:
    - id: X1
      kind: travel_time
      quote_zh: 乡镇卫生院15分钟服务圈
      text_en: A township health centre within 15 minutes on foot for everyone.
      source: {{section: scenario, line: 1}}
      scope: {{tiers: [township_health_centre, central_township_health_centre]}}
      params: {{minutes: 2, mode: {mode}, target_pct: 100}}
"""


def test_comoros_audit_takes_the_zone_table_figures(comoros_dir, tmp_path, capsys):
    assert main(["audit", str(ROOT / "configs" / "comoros.yaml"), "--out", str(tmp_path), "--quiet"]) == 0
    assert "standards audit:" in capsys.readouterr().out
    audit = pd.read_csv(tmp_path / "audit.csv", encoding="utf-8-sig")
    table = run_scenario(ROOT / "configs" / "comoros.yaml", progress=False).table.set_index("zone_id")
    s2 = audit[audit["rule_id"] == "S2"].set_index("unit_id")
    assert len(s2) == 9  # 3 islands as counties, 6 communes as townships
    for zone_id, row in s2.iterrows():
        pct = table.loc[zone_id, "pct_within_15"]
        assert row["value"] == pytest.approx(float(f"{pct:.6g}"))  # audit.csv keeps six significant digits
        assert row["status"] == ("pass" if pct >= 100 else "fail")
        missing = table.loc[zone_id, "population"] - table.loc[zone_id, "pop_within_15"]
        assert row["to_add"] == math.ceil(missing - 1e-6)
    # Leshan sets no ambulance radius: said, never borrowed from another plan.
    assert (audit[audit["rule_id"].isna()]["status"] == "not specified by this plan").any()
    assert not (audit["status"] == "pass").any()


def test_a_tier_rule_is_evaluated_on_the_matching_service(counties):  # noqa: F811
    folder = counties.parent
    (folder / "clinics.csv").write_text("机构名称,经度,纬度\n城关镇卫生院,0.005,0.005\n县医院,0.035,0.005\n",
                                        encoding="utf-8")
    base = counties.read_text(encoding="utf-8").replace(
        "facilities: {path: clinics.geojson, name_column: name}", "facilities: {path: clinics.csv}")
    service = ("services: [{name: thc, tiers: [township_health_centre], mode: drive, bands_minutes: [1, 2],"
               " target_minutes: 2}]\n")
    config = folder / "matched.yaml"
    config.write_text(base + service + RULE.format(mode="drive"), encoding="utf-8")
    result = run_scenario(config, progress=False)
    audit = scenario_audit(result)
    rows = audit[audit["rule_id"] == "X1"].set_index("unit_id")
    table = result.table.set_index("zone_id")
    assert len(rows) == len(table)
    for zone_id, row in rows.iterrows():
        assert row["value"] == pytest.approx(table.loc[zone_id, "thc_pct_within_2"])
    # With no service of those tiers, the main table (which also reaches the hospital) is not evaluable.
    config.write_text(base + RULE.format(mode="drive"), encoding="utf-8")
    audit = scenario_audit(run_scenario(config, progress=False))
    rows = audit[audit["rule_id"] == "X1"]
    assert (rows["status"] == "not evaluable").all()
    assert rows["missing"].str.contains("hospital").all()


@pytest.mark.parametrize("name", ["shanxi_province", "taiyuan", "linfen", "leshan_shizhong"])
def test_seed_jurisdiction_configs_load_and_name_their_plan(name):
    config = load_config(ROOT / "configs" / f"{name}.yaml")
    assert config.standards.plan in list_presets()
    assert config.zones[0].id_column is not None


def test_central_township_health_centre_candidates_ranked_by_minutes_to_the_county_seat(counties):  # noqa: F811
    import geopandas as gpd
    from shapely.geometry import box

    folder = counties.parent
    gpd.GeoDataFrame(
        {"code": ["130102001000", "130102002000", "130102003000"], "name": ["张家镇", "城关镇", "李家镇"]},
        geometry=[box(0.0, 0.0, 0.01, 0.01), box(0.01, 0.0, 0.02, 0.01), box(0.02, 0.0, 0.04, 0.01)],
        crs="EPSG:4326",
    ).to_file(folder / "townships.gpkg")
    (folder / "stats.csv").write_text("区划代码,常住人口\n130102001,150000\n130102002,200000\n130102003,120000\n",
                                      encoding="utf-8")
    config = folder / "central.yaml"
    config.write_text(counties.read_text(encoding="utf-8").replace(
        "population: {raster: people.tif}",
        "population: {raster: people.tif, rescale_level: township}\nstatistics: {path: stats.csv}")
        + "standards: {plan: shanxi_2023_2025}\n", encoding="utf-8")
    result = run_scenario(config, progress=False)
    table = result.table.set_index("zone_id")
    # Representative points at 0.005, 0.015 (the seat) and 0.03 east on the road: 李家镇 is farther.
    assert table.loc["130102003000", "minutes_to_county_seat"] > table.loc["130102001000", "minutes_to_county_seat"]
    audit = scenario_audit(result)
    p3 = audit[audit["rule_id"] == "P3"].set_index("unit_id")
    assert set(p3.index) == {"130102001000", "130102003000"}  # 城关镇 is the seat: not a candidate
    assert p3.loc["130102003000", "rank"] == 1 and p3.loc["130102001000", "rank"] == 2
    # On the map: the zones judged, with the rules they fail.
    from geocover.render.assets import render
    from geocover.render.folium_map import coverage_map
    from tests.test_map_layers import _layers

    result.audit = audit
    features = _layers(render(coverage_map(result, tiles="none")))["Standards: zones failing"]
    failing = {f["properties"]["zone_name"]: f["properties"]["rules"] for f in features}
    fails = audit[audit["status"] == "fail"]
    expected = fails.groupby("unit_name")["rule_id"].apply(lambda r: ", ".join(sorted(set(r))))
    assert {name: rules for name, rules in failing.items() if rules} == expected.to_dict()


def test_chinese_templates_reach_the_headline_spatial_standards():
    shanxi = load_config(ROOT / "configs" / "shanxi_province.yaml")
    community = next(s for s in shanxi.services if s.name == "community")
    # Shanxi T1: the urban 15-minute circle of community stations and centres, walking.
    assert set(community.tiers) == {"community_health_station", "community_health_centre"}
    assert (community.mode, community.target_minutes) == ("walk", 15)
    linfen, leshan = (load_config(ROOT / "configs" / f"{n}.yaml") for n in ("linfen", "leshan_shizhong"))
    plans = {n: load_preset(f"{n}_{p}") for n, p in (("linfen", "14th_fyp_public_health"),
                                                      ("leshan_shizhong", "14th_fyp"))}
    # Linfen S1 and Leshan S3: services naming exactly the facilities of the rule, at the rule's minutes.
    for config, plan, rule_id, name in ((linfen, plans["linfen"], "S1", "tertiary"),
                                        (leshan, plans["leshan_shizhong"], "S3", "tcm")):
        service, p = next(s for s in config.services if s.name == name), plan.rule(rule_id).params
        assert (service.min_grade, service.where, service.facility_names) == (p.min_grade, p.where, p.facility_names)
        assert service.target_minutes == p.minutes
    assert shanxi.villages is not None and shanxi.villages.clinic_code_column == "村代码"
    for name in ("shanxi_province", "linfen"):
        ambulance = load_config(ROOT / "configs" / f"{name}.yaml").ambulance
        assert (ambulance.urban_km, ambulance.rural_km) == (5, [10, 20])
