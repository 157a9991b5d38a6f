"""Statistics per unit, rescaling to official totals, point populations and extra weights."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from shapely.geometry import Point

from geocover.errors import InputError
from geocover.io.statistics import read_statistics
from geocover.pipeline import run_scenario
from geocover.standards import ABOVE_GUIDELINE, BASELINE, FAIL, PASS, audit, list_presets, load_preset
from geocover.standards.schema import RULE_ADAPTER
from tests.test_audit import complete_inputs
from tests.test_zones import counties  # noqa: F401  (fixture)

STATS = (
    "区划代码,名称,年份,常住人口(万人),床位数,执业(助理)医师,注册护士,全科医生,救护车\n"
    "130102001,东城街道,2022,0.05,40,12,15,2,1\n"
    "130102001,东城街道,2023,0.06,42,13,16,2,1\n"
    "130102002,城关镇,2023,0.03,30,9,10,1,1\n"
    "130103001,李家镇,2023,0.01,5,2,2,0,0\n"
    "130103100,王家乡,2023,0.02,8,3,3,1,0\n"
)


def test_read_statistics_in_gbk_with_units_and_years(tmp_path):
    path = tmp_path / "统计.csv"
    path.write_bytes(STATS.encode("gbk"))
    table = read_statistics(path)
    assert list(table.index) == ["130102001000", "130102002000", "130103001000", "130103100000"]
    # 常住人口 in 万人 (10,000 people); the latest year of each unit is kept.
    assert table.loc["130102001000", "population"] == pytest.approx(600)
    assert table.loc["130102001000", "beds"] == 42 and table.loc["130102001000", "doctors"] == 13
    assert table.loc["130102002000", "nurses"] == 10 and table.loc["130103100000", "gps"] == 1
    assert read_statistics(path, year=2022).loc["130102001000", "population"] == pytest.approx(500)


def test_bad_statistics_name_every_cell(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("区划代码,常住人口,床位数\n130102001,abc,1\n130102002,100,十\n130102002,5,5\n", encoding="utf-8")
    with pytest.raises(InputError) as error:
        read_statistics(path)
    messages = [str(p) for p in error.value.problems]
    assert any("row 2" in m and "常住人口" in m and "'abc'" in m for m in messages)
    assert any("row 3" in m and "床位数" in m and "'十'" in m for m in messages)
    path.write_text("名称,人口\n甲,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="no column of administrative codes"):
        read_statistics(path)


def test_grid_rescaled_to_official_totals(counties):  # noqa: F811
    folder = counties.parent
    (folder / "stats.csv").write_bytes(STATS.encode("gbk"))
    config = folder / "rescaled.yaml"
    config.write_text(counties.read_text(encoding="utf-8").replace(
        "population: {raster: people.tif}",
        "population: {raster: people.tif, rescale_level: township}\nstatistics: {path: stats.csv}"),
        encoding="utf-8")
    result = run_scenario(config, progress=False)
    table = result.table.set_index("zone_id")
    official = {"130102001000": 600, "130102002000": 300, "130103001000": 100, "130103100000": 200}
    for code, people in official.items():
        assert table.loc[code, "population"] == pytest.approx(people)
        assert table.loc[code, "official_population"] == pytest.approx(people)
    assert table.loc["130102000000", "population"] == pytest.approx(900)
    assert table.loc["130100000000", "population"] == pytest.approx(1200)
    assert result.statistics.loc["130102002000", "beds"] == 30


def test_point_population_and_age_weights(counties):  # noqa: F811
    folder = counties.parent
    gpd.GeoDataFrame({"常住人口": [120, 80, 50]},
                     geometry=[Point(0.005, 0.005), Point(0.015, 0.002), Point(0.035, 0.008)],
                     crs="EPSG:4326").to_file(folder / "villages.gpkg")
    config = folder / "points.yaml"
    config.write_text(counties.read_text(encoding="utf-8").replace(
        "population: {raster: people.tif}",
        "population: {points: villages.gpkg, count_column: 常住人口, cell_m: 100}"), encoding="utf-8")
    table = run_scenario(config, progress=False).table.set_index("zone_id")
    assert table.loc["130102001000", "population"] == 120
    assert table.loc["130102002000", "population"] == 80
    assert table.loc["130103001000", "population"] == 0
    assert table.loc["130103100000", "population"] == 50
    # Age weights: a raster on the population grid with 0.25 of a person of 65+ per cell.
    with rasterio.open(folder / "people.tif") as src:
        profile = src.profile
    with rasterio.open(folder / "age65.tif", "w", **profile) as dst:
        dst.write(np.full((1, 10, 40), 0.25, dtype=np.float32))
    config.write_text(counties.read_text(encoding="utf-8").replace(
        "population: {raster: people.tif}", "population: {raster: people.tif, weights: {age65: age65.tif}}"),
        encoding="utf-8")
    table = run_scenario(config, progress=False).table.set_index("zone_id")
    assert table.loc["130102001000", "age65"] == pytest.approx(25)
    np.testing.assert_allclose(table["age65_within_2"], table["pop_within_2"] * 0.25)


def test_official_counts_spread_evenly_without_a_raster(counties):  # noqa: F811
    folder = counties.parent
    (folder / "stats.csv").write_bytes(STATS.encode("gbk"))
    config = folder / "counts.yaml"
    config.write_text(counties.read_text(encoding="utf-8").replace(
        "population: {raster: people.tif}",
        "population: {rescale_level: township, cell_m: 100}\nstatistics: {path: stats.csv}"), encoding="utf-8")
    result = run_scenario(config, progress=False)
    table = result.table.set_index("zone_id")
    assert table.loc["130102001000", "population"] == pytest.approx(600)
    assert table.loc["130103100000", "population"] == pytest.approx(200)
    grid = result.access.grid
    labels = grid.labels(result.zones[result.zones.zone_level == "township"])
    inside = grid.population[labels == 1]
    # Evenly: every cell of the zone holds the same share.
    assert np.allclose(inside, inside.mean()) and inside.sum() == pytest.approx(600)


def test_aggregating_the_raster_keeps_every_total(counties):  # noqa: F811
    config = counties.parent / "coarse.yaml"
    config.write_text(counties.read_text(encoding="utf-8").replace(
        "population: {raster: people.tif}", "population: {raster: people.tif, aggregate: 5}"), encoding="utf-8")
    coarse = run_scenario(config, progress=False)
    fine = run_scenario(counties, progress=False)
    assert coarse.access.grid.shape == (2, 8)
    assert coarse.access.grid.population.sum() == fine.access.grid.population.sum() == 400
    np.testing.assert_allclose(coarse.table["population"], fine.table["population"])


#: Headers as 卫生健康统计 exports and yearbooks print them (full-width brackets, units, 数), written by hand.
YEARBOOK_HEADERS = {
    "beds": "实有床位数(张)", "doctors": "执业（助理）医师(人)", "nurses": "注册护士数(人)", "gps": "全科医生数(人)",
    "ambulances": "救护车(辆)", "infectious_beds": "传染病床位(张)", "public_health_staff": "公共卫生人员数(人)",
    "pharmacists": "药师(士)数(人)", "psychiatric_beds": "精神科床位数(张)",
    "public_tcm_beds": "公立中医医院床位数(张)",
    "tcm_doctors": "中医类别执业（助理）医师(人)", "childcare_places": "托位数(个)", "family_doctors": "家庭医生数(人)",
    "psychiatrists": "精神科执业(助理)医师(人)", "health_inspectors": "卫生监督员(人)",
    "health_education_staff": "健康教育专业人员(人)", "village_doctors": "乡村医生(人)",
    "tertiary_general_hospitals": "三级综合医院数(所)", "beds_city_public": "市办以上公立医院床位(张)",
    "beds_county_grassroots": "县办公立医院及基层医疗卫生机构床位(张)", "beds_other_public": "其他公立医院床位(张)",
    "cdc_staff": "疾病预防控制机构人员数(人)", "rehabilitation_doctors": "康复医师(人)",
    "rehabilitation_therapists": "康复治疗师(人)",
}


@pytest.mark.parametrize("name", list_presets())
def test_every_preset_numerator_read_from_chinese_headers(name, tmp_path):
    plan = load_preset(name)
    zones, _, facilities = complete_inputs(plan)
    zones["zone_id"] = zones["zone_id"].str.ljust(12, "0")  # as read_statistics pads the codes
    used = {r.params.numerator for r in plan.rules if r.kind in ("ratio_per_population", "count_by_population_band")}
    from_layer = {n for n in used if n.startswith("facilities_")}
    assert used - from_layer <= set(YEARBOOK_HEADERS), "a preset numerator has no yearbook header in this test"
    workbook = pd.DataFrame({"区划代码": zones["zone_id"], "户籍人口(万人)": zones["population"] / 2e4,
                             "常住人口(万人)": zones["population"] / 1e4,
                             **{YEARBOOK_HEADERS[n]: 1000 + i for i, n in enumerate(sorted(used - from_layer))}})
    workbook.to_excel(tmp_path / "卫生健康统计.xlsx", index=False)
    statistics = read_statistics(tmp_path / "卫生健康统计.xlsx")
    for i, numerator in enumerate(sorted(used - from_layer)):
        assert (statistics[numerator] == 1000 + i).all()
    # 常住人口 is the base although 户籍人口 comes first; 户籍人口 is kept beside it.
    assert (statistics["population"].to_numpy() == zones["population"].to_numpy()).all()
    assert (statistics["registered_population"].to_numpy() == zones["population"].to_numpy() / 2).all()
    assert set(statistics["population_base"]) == {"常住人口"}
    table = audit(plan, zones, statistics.reset_index(), facilities)
    counted = table[table["kind"].isin(["ratio_per_population", "count_by_population_band"])]
    assert not counted["missing"].fillna("").str.contains("statistics.").any()
    assert set(counted["rule_id"].dropna()) == {r.uid for r in plan.rules if r.kind in (
        "ratio_per_population", "count_by_population_band")}
    assert counted.dropna(subset=["rule_id"])["status"].isin([PASS, FAIL, ABOVE_GUIDELINE, BASELINE]).all()
    assert counted["note"].str.contains("常住人口").any()


def test_registered_population_only_is_named_and_other_columns_pass_through(tmp_path):
    path = tmp_path / "yearbook.csv"
    path.write_text("户籍人口(万人),区划代码,卫生技术人员(万人),备注\n2,141000,0.01,市\n1,141002,0.003,区\n",
                    encoding="utf-8")
    statistics = read_statistics(path)
    assert statistics.loc["141000000000", "population"] == pytest.approx(20_000)
    assert set(statistics["population_base"]) == {"户籍人口"}
    assert statistics.loc["141002000000", "卫生技术人员"] == pytest.approx(30)
    assert "备注" not in statistics.columns
    rule = RULE_ADAPTER.validate_python({
        "id": "C1", "text_en": "health technicians per 1,000", "quote_zh": "卫生技术人员",
        "kind": "ratio_per_population",
        "scope": {"unit_levels": ["city"]}, "params": {"numerator": "卫生技术人员", "per": 1000, "target": 0.4}})
    zones = pd.DataFrame({"zone_level": ["city"], "zone_id": ["141000000000"], "zone_name": ["临汾市"]})
    result = audit([rule], zones, statistics.reset_index(), report_unspecified=False).iloc[0]
    # 100 technicians / 20,000 registered residents × 1,000 = 5 ≥ 0.4.
    assert result["status"] == PASS and result["value"] == pytest.approx(5.0)
    assert "户籍人口" in result["note"]
