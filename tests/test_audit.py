"""The compliance audit on small hand-built tables: every rule kind, with answers worked out by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geocover.standards import (
    ABOVE_GUIDELINE,
    BASELINE,
    CANDIDATE,
    COLUMNS,
    FAIL,
    NOT_EVALUABLE,
    NOT_SPECIFIED,
    OPTION,
    PASS,
    audit,
    list_presets,
    load_preset,
    resolve_rules,
    write_audit,
)
from geocover.standards.schema import RULE_ADAPTER


def make_rule(**fields):
    base = {"id": "X1", "text_en": "test rule", "quote_zh": "测试"}
    return RULE_ADAPTER.validate_python({**base, **fields})


def by_unit(table: pd.DataFrame, rule_id: str) -> dict[str, pd.Series]:
    rows = table[table["rule_id"] == rule_id]
    return {r["unit_name"]: r for _, r in rows.iterrows()}


# --- travel time ---------------------------------------------------------------------------------------

def test_share_within_15_minutes_leshan_needs_100_percent() -> None:
    rule = load_preset("leshan_shizhong_14th_fyp").rule("S2")
    zones = pd.DataFrame({
        "zone_level": ["township"] * 3,
        "zone_id": ["511102001", "511102002", "511102003"],
        "zone_name": ["苏稽镇", "茅桥镇", "全福街道"],
        "population": [1000.0, 2000.0, 500.0],
        "pop_within_15": [1000.0, 1500.0, np.nan],
        "pct_within_15": [100.0, 75.0, np.nan],
    })
    result = by_unit(audit([rule], zones, report_unspecified=False), "S2")
    # 苏稽镇: 1000 of 1000 = 100% ≥ 100% → pass, nobody to add.
    assert result["苏稽镇"]["status"] == PASS and result["苏稽镇"]["to_add"] == 0
    # 茅桥镇: 1500 of 2000 = 75% < 100% → fail; 2000 − 1500 = 500 residents to bring within 15 min.
    assert result["茅桥镇"]["status"] == FAIL
    assert result["茅桥镇"]["value"] == pytest.approx(75.0) and result["茅桥镇"]["to_add"] == 500
    # 全福街道: no travel times → not evaluable, never pass.
    assert result["全福街道"]["status"] == NOT_EVALUABLE
    assert "pct_within_15" in result["全福街道"]["missing"]


def test_share_within_minutes_from_people_when_no_percent_column() -> None:
    rule = make_rule(kind="travel_time", params={"minutes": 30, "target_pct": 90})
    zones = pd.DataFrame({"zone_level": ["county"], "zone_id": ["1"], "zone_name": ["A"],
                          "population": [4000.0], "pop_within_30": [3700.0]})
    row = audit([rule], zones, report_unspecified=False).iloc[0]
    # 3700 / 4000 = 92.5% ≥ 90% → pass.
    assert row["status"] == PASS and row["value"] == pytest.approx(92.5)


def test_travel_time_to_some_tiers_needs_to_know_the_run_s_facilities() -> None:
    rule = load_preset("shanxi_2023_2025").rule("T1")  # urban, stations and centres
    zones = pd.DataFrame({"zone_level": ["street", "township"], "zone_id": ["1", "2"],
                          "zone_name": ["柳巷街道", "东山乡"], "urban_rural": ["urban", "rural"],
                          "population": [100.0, 100.0], "pct_within_15": [100.0, 10.0]})
    unknown = audit([rule], zones, report_unspecified=False)
    # Only the urban unit is audited; the tiers reached are unknown → not evaluable.
    assert list(unknown["unit_name"]) == ["柳巷街道"]
    assert unknown.iloc[0]["status"] == NOT_EVALUABLE
    wider = audit([rule], zones, reach_tiers=["community_health_station", "hospital"], report_unspecified=False)
    assert wider.iloc[0]["status"] == NOT_EVALUABLE and "hospital" in wider.iloc[0]["missing"]
    ok = audit([rule], zones, reach_tiers=["community_health_station"], report_unspecified=False)
    assert ok.iloc[0]["status"] == PASS and "understated" in ok.iloc[0]["note"]


def test_travel_mode_named_by_the_rule_must_match() -> None:
    rule = make_rule(kind="travel_time", params={"minutes": 15, "mode": "walk"})
    zones = pd.DataFrame({"zone_level": ["township"], "zone_id": ["1"], "zone_name": ["A"],
                          "population": [10.0], "pct_within_15": [100.0]})
    assert audit([rule], zones, travel_mode="drive", report_unspecified=False).iloc[0]["status"] == NOT_EVALUABLE
    assert audit([rule], zones, travel_mode="walk", report_unspecified=False).iloc[0]["status"] == PASS


# --- ambulance radius -------------------------------------------------------------------------------------

def test_urban_and_rural_population_inside_the_ambulance_radius() -> None:
    plan = load_preset("shanxi_2023_2025")
    urban, rural = plan.rule("E1.urban"), plan.rule("E1.rural")
    zones = pd.DataFrame({
        "zone_level": ["county", "county"], "zone_id": ["140105", "140106"], "zone_name": ["小店区", "娄烦县"],
        "pop_urban": [10000.0, 0.0], "pop_within_radius_urban_5km": [9000.0, 0.0],
        "pop_rural": [20000.0, 5000.0], "pop_within_radius_rural_10km": [15000.0, np.nan],
        "pop_within_radius_rural_20km": [20000.0, np.nan],
    })
    table = audit([urban, rural], zones, report_unspecified=False)
    u, r = by_unit(table, "E1.urban"), by_unit(table, "E1.rural")
    # Urban: 9000 of 10000 = 90% within 5 km < 100% → fail, 1000 urban residents uncovered.
    assert u["小店区"]["status"] == FAIL and u["小店区"]["value"] == pytest.approx(90.0)
    assert u["小店区"]["to_add"] == 1000
    # 娄烦县 has no urban residents: the urban rule does not apply there.
    assert "娄烦县" not in u
    # Rural, checked at the range's outer 20 km: 20000 of 20000 → pass; 15000/20000 = 75.0% within 10 km.
    assert r["小店区"]["status"] == PASS and "within 10 km: 75.0%" in r["小店区"]["note"]
    # 娄烦县: rural residents but no radius counts → not evaluable.
    assert r["娄烦县"]["status"] == NOT_EVALUABLE
    assert r["娄烦县"]["missing"] == "zones.pop_within_radius_rural_20km"


# --- one per unit -----------------------------------------------------------------------------------------

TOWNSHIPS = pd.DataFrame({
    "zone_level": ["township", "township", "township"],
    "zone_id": ["140121100000", "140121200000", "140121001000"],
    "zone_name": ["东于镇", "西谷乡", "城关街道"],
    "population": [30000.0, 8000.0, 45000.0],
})


def test_townships_without_a_township_health_centre() -> None:
    plan = load_preset("shanxi_2023_2025")
    rules = [plan.rule("P1.township"), plan.rule("P1.street")]
    zones = TOWNSHIPS.assign(facilities_township_health_centre=[1, 0, 0],
                             facilities_central_township_health_centre=[0, 0, 0],
                             facilities_community_health_centre=[0, 0, 2])
    table = audit(rules, zones, report_unspecified=False)
    towns, streets = by_unit(table, "P1.township"), by_unit(table, "P1.street")
    # 街道 names go to the street rule, not the township rule.
    assert set(towns) == {"东于镇", "西谷乡"} and set(streets) == {"城关街道"}
    assert towns["东于镇"]["status"] == PASS and towns["东于镇"]["to_add"] == 0
    assert towns["西谷乡"]["status"] == FAIL and towns["西谷乡"]["to_add"] == 1
    assert streets["城关街道"]["status"] == PASS and streets["城关街道"]["value"] == 2


def test_absent_tier_column_is_unknown_not_zero() -> None:
    rule = load_preset("shanxi_2023_2025").rule("P1.township")  # THC or central THC
    zones = TOWNSHIPS.assign(facilities_township_health_centre=[1, 0, 0])
    towns = by_unit(audit([rule], zones, report_unspecified=False), "P1.township")
    # 东于镇 has 1 THC: enough whatever the central-THC count is.
    assert towns["东于镇"]["status"] == PASS
    # 西谷乡 has 0 THC and an unknown number of central THCs → not evaluable, never a guess.
    assert towns["西谷乡"]["status"] == NOT_EVALUABLE
    assert towns["西谷乡"]["missing"] == "zones.facilities_central_township_health_centre"


def test_townships_counted_from_facility_township_codes() -> None:
    rule = load_preset("shanxi_2023_2025").rule("P1.township")
    facilities = pd.DataFrame({
        "tier": ["township_health_centre", "central_township_health_centre", "village_clinic"],
        "township_code": ["140121100000", "140121100000", "140121200000"],
    })
    towns = by_unit(audit([rule], TOWNSHIPS, facilities=facilities, report_unspecified=False), "P1.township")
    # 东于镇 (code 140121100): a THC and a central THC = 2; 西谷乡 (140121200): only a village clinic = 0.
    assert towns["东于镇"]["value"] == 2 and towns["东于镇"]["status"] == PASS
    assert towns["西谷乡"]["value"] == 0 and towns["西谷乡"]["status"] == FAIL


def test_government_only_rule_is_not_evaluable_from_zone_counts() -> None:
    rule = load_preset("shanxi_13th_fyp").rule("R1.street")  # government-run CHS institution per street
    zones = TOWNSHIPS.assign(facilities_community_health_centre=[0, 0, 1],
                             facilities_community_health_station=[0, 0, 0])
    row = audit([rule], zones, report_unspecified=False).iloc[0]
    # The zone table counts private centres too: ownership unknown → not evaluable, never pass.
    assert row["status"] == NOT_EVALUABLE and "facilities layer" in row["missing"]
    facilities = pd.DataFrame({"tier": ["community_health_centre"], "ownership": ["民营"],
                               "township_code": ["140121001000"]})
    row = audit([rule], zones, facilities=facilities, report_unspecified=False).iloc[0]
    assert row["status"] == FAIL and row["value"] == 0


def test_central_township_health_centre_candidates() -> None:
    rule = load_preset("shanxi_2023_2025").rule("P3")
    zones = pd.DataFrame({
        "zone_level": ["township"] * 5,
        "zone_id": ["1", "2", "3", "4", "5"],
        "zone_name": ["甲镇", "乙镇", "丙镇", "丁镇", "戊镇"],
        "population": [120000.0, 150000.0, 200000.0, 90000.0, 110000.0],
        "is_county_seat": [False, False, True, False, np.nan],
        "minutes_to_county_seat": [45.0, 30.0, 0.0, 60.0, 20.0],
        "facilities_central_township_health_centre": [0, 1, 0, 0, 0],
    })
    result = by_unit(audit([rule], zones, report_unspecified=False), "P3")
    # 丙镇 is the county seat and 丁镇 has under 100,000 residents: not candidates.
    assert set(result) == {"甲镇", "乙镇", "戊镇"}
    # Candidates ranked by minutes to the county seat, farthest first: 甲镇 45 min, 乙镇 30 min.
    # 优先支持: towns without a central centre are candidates, not failures.
    assert result["甲镇"]["rank"] == 1 and result["甲镇"]["status"] == CANDIDATE and result["甲镇"]["to_add"] == 1
    assert result["乙镇"]["rank"] == 2 and result["乙镇"]["status"] == PASS
    # 戊镇: county-seat flag missing → not evaluable.
    assert result["戊镇"]["status"] == NOT_EVALUABLE and result["戊镇"]["missing"] == "zones.is_county_seat"


# --- ratios per population --------------------------------------------------------------------------------

CITIES = pd.DataFrame({"zone_level": ["city", "city", "city"], "zone_id": ["140100", "140200", "140300"],
                       "zone_name": ["太原市", "大同市", "阳泉市"], "population": [1.0, 1.0, 1.0]})


def test_ambulances_per_30000_per_city() -> None:
    rule = load_preset("shanxi_2023_2025").rule("E5")
    statistics = pd.DataFrame({"zone_id": ["140100", "140200"], "population": [100000, 90000],
                               "ambulances": [3, 3]})
    result = by_unit(audit([rule], CITIES, statistics, report_unspecified=False), "E5")
    # 太原市: needed = ceil(100000 / 30000) = ceil(3.33) = 4; has 3 → fail, add 1; value 3 / 100000 × 30000 = 0.9.
    assert result["太原市"]["status"] == FAIL and result["太原市"]["to_add"] == 1
    assert result["太原市"]["value"] == pytest.approx(0.9)
    # 大同市: 90000 / 30000 = 3 needed exactly; has 3 → pass.
    assert result["大同市"]["status"] == PASS and result["大同市"]["to_add"] == 0
    # 阳泉市: no statistics row → the zone table has no ambulances → not evaluable.
    assert result["阳泉市"]["status"] == NOT_EVALUABLE and "statistics.ambulances" in result["阳泉市"]["missing"]


def test_beds_against_the_city_targets_of_table_3() -> None:
    plan = load_preset("shanxi_2023_2025")
    rules = [r for r in plan.rules if r.id == "Table 3"]
    statistics = pd.DataFrame({"zone_id": ["140100", "140200"], "population": [5_000_000, 3_000_000],
                               "beds": [50_000, 23_000]})
    table = audit(rules, CITIES, statistics, report_unspecified=False)
    # Only the three cities in the zone table are audited; the 8 others are named as missing zones.
    assert (table["status"] == NOT_EVALUABLE).sum() == 8 + 1
    taiyuan = table[table["rule_id"] == "Table 3.taiyuan"].iloc[0]
    # 太原市: 50000 / 5,000,000 × 1000 = 10.0 < 11.00 → fail; needed 11 × 5000 = 55000 → add 5000 beds.
    assert taiyuan["status"] == FAIL and taiyuan["value"] == pytest.approx(10.0) and taiyuan["to_add"] == 5000
    datong = table[table["rule_id"] == "Table 3.datong"].iloc[0]
    # 大同市: 23000 / 3,000,000 × 1000 = 7.667 > 7.50, a guideline (指导标准) already exceeded → no new beds.
    assert datong["status"] == ABOVE_GUIDELINE and datong["value"] == pytest.approx(7.6667, abs=1e-4)
    assert "no new beds" in datong["note"]
    yangquan = table[table["rule_id"] == "Table 3.yangquan"].iloc[0]
    assert yangquan["status"] == NOT_EVALUABLE and "statistics.beds" in yangquan["missing"]


def test_doctors_nurses_per_1000_and_gps_per_10000() -> None:
    plan = load_preset("linfen_14th_fyp_public_health")
    rules = [plan.rule("T12.doctors"), plan.rule("T12.nurses"), plan.rule("T12.gps")]
    zones = pd.DataFrame({"zone_level": ["city"], "zone_id": ["141000"], "zone_name": ["临汾市"]})
    statistics = pd.DataFrame({"zone_id": ["141000"], "population": [3_976_500], "doctors": [12_600],
                               "nurses": [15_200], "gps": [370]})
    table = audit(rules, zones, statistics, report_unspecified=False)
    # The rules also apply to counties, absent here: one "zones at level 'county'" row each.
    assert table.loc[table["unit_level"] == "county", "missing"].eq("zones at level 'county'").sum() == 3
    table = table[table["unit_name"] == "临汾市"].set_index("rule_id")
    # Doctors: 12600 / 3,976,500 × 1000 = 3.1686 < 3.8 → fail; needed ceil(3.8 × 3976.5) = ceil(15110.7) = 15111.
    assert table.loc["T12.doctors", "status"] == FAIL and table.loc["T12.doctors", "to_add"] == 15111 - 12600
    # Nurses: 15200 / 3976.5 = 3.8225 ≥ 3.8 → pass.
    assert table.loc["T12.nurses", "status"] == PASS
    # GPs: 370 / 397.65 = 0.930 per 10,000 < 1.5 → fail; needed ceil(1.5 × 397.65) = ceil(596.475) = 597.
    assert table.loc["T12.gps", "value"] == pytest.approx(0.9305, abs=1e-4)
    assert table.loc["T12.gps", "to_add"] == 597 - 370


def test_strict_ceiling_on_beds_taiyuan() -> None:
    rule = load_preset("taiyuan_14th_fyp").rule("T7")  # beds per 1,000 below 7.23 (strict ceiling)
    zones = pd.DataFrame({"zone_level": ["city", "county"], "zone_id": ["140100", "140121"],
                          "zone_name": ["太原市", "清徐县"]})
    statistics = pd.DataFrame({"zone_id": ["140100", "140121"], "population": [1_000_000, 100_000],
                               "beds": [7_230, 700]})
    result = by_unit(audit([rule], zones, statistics, report_unspecified=False), "T7")
    # 太原市: 7230 / 1000 = 7.23, not below 7.23 → fail; at most 7229 beds allowed → to_add −1.
    assert result["太原市"]["status"] == FAIL and result["太原市"]["to_add"] == -1
    # 清徐县: 700 / 100 = 7.0 < 7.23 → pass.
    assert result["清徐县"]["status"] == PASS and result["清徐县"]["to_add"] == 0


def test_latest_statistics_year_is_used() -> None:
    rule = load_preset("shanxi_2023_2025").rule("E5")
    statistics = pd.DataFrame({"zone_id": ["140100", "140100"], "year": [2022, 2020],
                               "population": [60000, 60000], "ambulances": [2, 1]})
    row = audit([rule], CITIES.iloc[:1], statistics, report_unspecified=False).iloc[0]
    # 2022: 2 ambulances for 60000 people = needed ceil(2.0) = 2 → pass (2020 would fail).
    assert row["status"] == PASS and "statistics of 2022" in row["note"]


def test_range_of_health_inspectors() -> None:
    rule = load_preset("linfen_14th_fyp_public_health").rule("R3")  # 1.0–1.5 per 10,000
    zones = pd.DataFrame({"zone_level": ["county"] * 3, "zone_id": ["1", "2", "3"], "zone_name": ["A", "B", "C"]})
    statistics = pd.DataFrame({"zone_id": ["1", "2", "3"], "population": [100_000] * 3,
                               "health_inspectors": [8, 12, 20]})
    result = by_unit(audit([rule], zones, statistics, report_unspecified=False), "R3")
    # A: 0.8 < 1.0 → add 10 − 8 = 2. B: 1.2 in range → pass. C: 2.0 > 1.5 → at most 15 → to_add −5.
    assert (result["A"]["status"], result["A"]["to_add"]) == (FAIL, 2)
    assert (result["B"]["status"], result["B"]["to_add"]) == (PASS, 0)
    assert (result["C"]["status"], result["C"]["to_add"]) == (FAIL, -5)


# --- count by population band ---------------------------------------------------------------------------

def test_linfen_infectious_beds_by_county_population_band() -> None:
    rule = load_preset("linfen_14th_fyp_public_health").rule("S10")
    zones = pd.DataFrame({"zone_level": ["county"] * 4, "zone_id": ["1", "2", "3", "4"],
                          "zone_name": ["吉县", "洪洞县", "尧都区", "乡宁县"]})
    statistics = pd.DataFrame({"zone_id": ["1", "2", "3", "4"], "population": [250_000, 300_000, 1_200_000, 600_000],
                               "infectious_beds": [20, 40, 100, np.nan]})
    result = by_unit(audit([rule], zones, statistics, report_unspecified=False), "S10")
    # 吉县 250,000 < 300,000 → at least 20; has 20 → pass.
    assert (result["吉县"]["status"], result["吉县"]["target"]) == (PASS, 20)
    # 洪洞县 exactly 300,000 → the 300,000–500,000 band → 50; has 40 → add 10.
    assert (result["洪洞县"]["status"], result["洪洞县"]["target"], result["洪洞县"]["to_add"]) == (FAIL, 50, 10)
    # 尧都区 1,200,000 → at least 100; has 100 → pass.
    assert (result["尧都区"]["status"], result["尧都区"]["target"]) == (PASS, 100)
    # 乡宁县: beds unknown → not evaluable.
    assert result["乡宁县"]["status"] == NOT_EVALUABLE and result["乡宁县"]["missing"] == "statistics.infectious_beds"


# --- share of facilities with an attribute ---------------------------------------------------------------

FACILITIES = pd.DataFrame({
    "tier": ["township_health_centre"] * 3 + ["community_health_centre", "village_clinic"],
    "township_code": ["511102001000", "511102001000", "511102002000", "511102002000", "511102002000"],
    "has_tcm_hall": ["是", "否", True, 1, np.nan],
})


def test_share_of_centres_with_a_tcm_hall() -> None:
    rule = load_preset("leshan_shizhong_14th_fyp").rule("S5.tcm_hall")  # 100% of THC/CHC
    row = audit([rule], TOWNSHIPS, facilities=FACILITIES, report_unspecified=False).iloc[0]
    # THC 是, THC 否, THC True, CHC 1 → 3 of 4 = 75% < 100% → fail; 1 more centre needs a hall.
    # The village clinic (blank) is not one of the rule's tiers.
    assert row["status"] == FAIL and row["value"] == pytest.approx(75.0) and row["to_add"] == 1


def test_blank_attributes_decide_only_when_they_cannot_change_the_answer() -> None:
    facilities = FACILITIES.assign(has_tcm_hall=["是", "是", np.nan, "否", np.nan])
    strict = load_preset("leshan_shizhong_14th_fyp").rule("S5.tcm_hall")
    row = audit([strict], TOWNSHIPS, facilities=facilities, report_unspecified=False).iloc[0]
    # 2 yes, 1 no, 1 blank of 4: between 50% and 75%, below 100% either way → fail.
    assert row["status"] == FAIL
    lenient = make_rule(kind="share_with_attribute", scope={"tiers": ["township_health_centre"]},
                        params={"attribute": "has_tcm_hall", "target_pct": 60})
    row = audit([lenient], TOWNSHIPS, facilities=facilities, report_unspecified=False).iloc[0]
    # THCs only: 2 yes and 1 blank of 3: 66.7% at worst ≥ 60% → pass.
    assert row["status"] == PASS
    middle = make_rule(kind="share_with_attribute", scope={"tiers": ["township_health_centre"]},
                       params={"attribute": "has_tcm_hall", "target_pct": 90})
    row = audit([middle], TOWNSHIPS, facilities=facilities, report_unspecified=False).iloc[0]
    # 66.7%–100% straddles 90% → not evaluable.
    assert row["status"] == NOT_EVALUABLE and "has_tcm_hall for 1 facilities" in row["missing"]


def test_share_per_county_and_missing_attribute() -> None:
    rule = load_preset("shanxi_13th_fyp").rule("R1.township_standardised")  # 100% per county
    zones = pd.DataFrame({"zone_level": ["county", "county"], "zone_id": ["511102", "140121"],
                          "zone_name": ["市中区", "清徐县"]})
    facilities = FACILITIES.assign(standardised=[True, True, True, True, False])
    result = by_unit(audit([rule], zones, facilities=facilities, report_unspecified=False),
                     "R1.township_standardised")
    # 市中区: its 3 THCs are all standardised → pass; 清徐县 has none → not evaluable (nothing to share).
    assert result["市中区"]["status"] == PASS and result["市中区"]["value"] == pytest.approx(100.0)
    assert result["清徐县"]["status"] == NOT_EVALUABLE
    row = audit([rule], zones, facilities=FACILITIES, report_unspecified=False).iloc[0]
    assert row["status"] == NOT_EVALUABLE and row["missing"] == "facilities.standardised"
    row = audit([rule], zones, report_unspecified=False).iloc[0]
    assert row["status"] == NOT_EVALUABLE and row["missing"] == "facilities layer"


# --- plans as a whole ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list_presets())
def test_missing_data_is_never_a_pass(name: str) -> None:
    """Zones with names and population only, no statistics or facilities: nothing can pass."""
    levels = ["province", "city", "county", "township", "township", "village", "village"]
    names = ["山西省", "临汾市", "市中区", "苏稽镇", "通江街道", "张村", "和平社区"]
    zones = pd.DataFrame({"zone_level": levels, "zone_id": [str(i) for i in range(len(levels))],
                          "zone_name": names, "population": [1000.0] * len(levels)})
    table = audit(load_preset(name), zones)
    assert list(table.columns) == list(COLUMNS)
    assert set(table["status"]) <= {NOT_EVALUABLE, NOT_SPECIFIED}
    evaluable = table[table["status"] == NOT_EVALUABLE]
    assert evaluable["missing"].notna().all()


def test_taiyuan_sets_no_15_minute_circle_and_no_ambulance_radius() -> None:
    zones = pd.DataFrame({"zone_level": ["city"], "zone_id": ["140100"], "zone_name": ["太原市"],
                          "population": [100.0], "pct_within_15": [100.0], "pop_urban": [100.0],
                          "pop_within_radius_urban_5km": [100.0]})
    table = audit(load_preset("taiyuan_14th_fyp"), zones)
    unspecified = table[table["status"] == NOT_SPECIFIED]
    assert {"travel_time", "radius"} <= set(unspecified["kind"])
    # No travel-time or radius row is evaluated with another plan's number.
    assert not table[table["kind"].isin(["travel_time", "radius"]) & (table["status"] != NOT_SPECIFIED)].shape[0]
    shanxi = audit(load_preset("shanxi_2023_2025"), zones)
    assert not ((shanxi["kind"] == "radius") & (shanxi["status"] == NOT_SPECIFIED)).any()


def test_conflicting_targets_are_flagged_in_the_audit() -> None:
    zones = pd.DataFrame({"zone_level": ["city"], "zone_id": ["140100"], "zone_name": ["太原市"]})
    statistics = pd.DataFrame({"zone_id": ["140100"], "population": [4_460_000], "gps": [1_200]})
    table = audit(load_preset("taiyuan_14th_fyp"), zones, statistics)
    table = table[table["unit_name"] == "太原市"].set_index("rule_id")
    # 1200 / 446 = 2.69 GPs per 10,000: passes 2.2, fails 3.4; both rows say they conflict.
    assert table.loc["T8.gps_section_3", "status"] == PASS
    assert table.loc["T8.gps_indicator_table", "status"] == FAIL
    assert table.loc["T8.gps_indicator_table", "conflicts_with"] == "T8.gps_section_3"
    assert "conflicting target" in table.loc["T8.gps_section_3", "note"]


def test_scenario_override_changes_the_audit() -> None:
    plan = load_preset("taiyuan_14th_fyp")
    rules = resolve_rules(plan, add=[{"id": "scenario-15", "kind": "travel_time", "text_en": "local circle",
                                      "source": {"plan": "scenario"}, "params": {"minutes": 15}}])
    zones = pd.DataFrame({"zone_level": ["city"], "zone_id": ["140100"], "zone_name": ["太原市"],
                          "population": [100.0], "pct_within_15": [100.0]})
    table = audit(rules, zones)
    assert table.loc[table["rule_id"] == "scenario-15", "status"].item() == PASS
    assert table.loc[table["rule_id"] == "scenario-15", "origin"].item() == "scenario"
    assert "travel_time" not in set(table.loc[table["status"] == NOT_SPECIFIED, "kind"])


# --- writer ------------------------------------------------------------------------------------------------

def _small_audit() -> pd.DataFrame:
    zones = pd.DataFrame({"zone_level": ["city"], "zone_id": ["140100"], "zone_name": ["太原市"]})
    return audit(load_preset("taiyuan_14th_fyp"), zones)


def test_write_audit_csv_with_bom_and_xlsx(tmp_path: Path) -> None:
    table = _small_audit()
    csv, xlsx = tmp_path / "out" / "audit.csv", tmp_path / "out" / "audit.xlsx"
    write_audit(table, csv, xlsx)
    assert csv.read_bytes().startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(csv, encoding="utf-8-sig")
    assert list(back.columns) == list(COLUMNS) and len(back) == len(table)
    assert "太原市" in set(back["unit_name"].dropna())
    sheet = pd.read_excel(xlsx, sheet_name="audit", engine="openpyxl")
    assert len(sheet) == len(table)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["audit.csv", "audit.xlsx"]


def test_failed_write_leaves_no_partial_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_excel", broken)
    with pytest.raises(OSError, match="disk full"):
        write_audit(_small_audit(), tmp_path / "audit.csv", tmp_path / "audit.xlsx")
    assert list(tmp_path.iterdir()) == []


# --- every rule can be checked once the data is there ---------------------------------------------------

SHANXI_CITIES = ["太原市", "大同市", "朔州市", "忻州市", "吕梁市", "晋中市", "阳泉市", "长治市", "晋城市", "临汾市",
                 "运城市"]


def complete_inputs(plan) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Zones at every level with every column, statistics for every unit, a facility of every tier everywhere."""
    from geocover.standards.schema import NUMERATORS, TIERS

    units = [("province", "14", "山西省", 3.5e7)]
    units += [("city", f"14{i:02d}00", name, 3.0e6) for i, name in enumerate(SHANXI_CITIES, start=1)]
    units += [("county", "511102", "市中区", 6.0e5), ("county", "140105", "小店区", 8.0e5),
              ("township", "511102001000", "苏稽镇", 1.5e5),
              ("township", "511102002000", "通江街道", 6.0e4), ("township", "511102003000", "茅桥镇", 5.0e4),
              ("village", "511102001001", "张村", 2.0e3),
              ("village", "511102002001", "和平社区", 3.0e3)]
    zones = pd.DataFrame(units, columns=["zone_level", "zone_id", "zone_name", "population"])
    zones = zones.assign(urban_rural=(["urban", "rural"] * 10)[:len(zones)], is_county_seat=False,
                         minutes_to_county_seat=25.0, pct_within_15=100.0, pop_within_15=zones["population"],
                         p90_minutes=10.0, pop_urban=100.0, pop_rural=100.0, pop_within_radius_urban_5km=100.0,
                         pop_within_radius_rural_10km=100.0, pop_within_radius_rural_20km=100.0,
                         **{f"facilities_{tier}": 1 for tier in TIERS})
    statistics = zones[["zone_id", "population"]].assign(**{n: 1000.0 for n in NUMERATORS})
    attributes = {r.params.attribute for r in plan.rules if r.kind == "share_with_attribute"}
    values = {c: accepted[0] for r in plan.rules for c, accepted in getattr(r.params, "where", {}).items()
              if c not in ("hospital_type", "grade")}
    rows = [{"tier": tier, "township_code": code[:9] + "000", "village_code": code, "ownership": "government",
             "grade": grade, "hospital_type": kind, **dict.fromkeys(attributes, True), **values}
            for tier in TIERS for code in ("511102001001", "511102002001") for kind in ("general", "tcm")
            for grade in ("三级甲等", "二级甲等")]
    return zones, statistics, pd.DataFrame(rows)


@pytest.mark.parametrize("name", list_presets())
def test_every_rule_is_checked_when_the_data_is_complete(name: str) -> None:
    plan = load_preset(name)
    zones, statistics, facilities = complete_inputs(plan)
    reach = sorted({t for r in plan.rules if r.kind == "travel_time" for t in r.scope.tiers})
    table = audit(plan, zones, statistics, facilities, reach_tiers=reach or None)
    decided = set(table.loc[table["status"].isin([PASS, FAIL, BASELINE, OPTION, CANDIDATE, ABOVE_GUIDELINE]),
                            "rule_id"])
    # Travel-time rules narrowed to named or graded facilities need travel times to exactly those.
    narrowed = {r.uid for r in plan.rules if r.kind == "travel_time" and (r.params.facility_names or r.params.where
                                                                          or r.params.min_grade)}
    assert {r.uid for r in plan.rules} - decided == narrowed


def test_facilities_placed_by_geometry_when_no_codes() -> None:
    import geopandas as gpd
    from shapely.geometry import Point, box

    zones = gpd.GeoDataFrame({"zone_level": ["township", "township"], "zone_id": ["1", "2"],
                              "zone_name": ["东镇", "西镇"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
                             crs="EPSG:4326")
    facilities = gpd.GeoDataFrame({"tier": ["township_health_centre", "village_clinic"]},
                                  geometry=[Point(0.5, 0.5), Point(1.5, 0.5)], crs="EPSG:4326")
    rule = load_preset("shanxi_2023_2025").rule("P1.township")
    towns = by_unit(audit([rule], zones, facilities=facilities, report_unspecified=False), "P1.township")
    # 东镇 holds the township health centre, 西镇 only a village clinic.
    assert (towns["东镇"]["status"], towns["西镇"]["status"]) == (PASS, FAIL)


def test_taiyuan_day_surgery_counts_each_grade_on_its_own() -> None:
    plan = load_preset("taiyuan_14th_fyp")
    rules = [plan.rule("3.3.day_surgery_tertiary"), plan.rule("3.3.day_surgery_secondary"), plan.rule("3.2.tcm_beds")]
    facilities = pd.DataFrame({
        "tier": ["hospital"] * 5,
        "grade": ["三级甲等", "二级甲等", "二级乙等", "一级", "二级甲等"],
        "hospital_type": ["general", "general", "general", "general", "tcm"],
        "has_day_surgery": [True, True, False, True, False],
        "tcm_beds_at_least_5pct": [True, False, True, False, False],
    })
    table = audit(rules, pd.DataFrame(columns=["zone_level", "zone_id", "zone_name"]), facilities=facilities,
                  report_unspecified=False).set_index("rule_id")
    # Tertiary general: 1 of 1 with day surgery. Grade II general: 1 of 2 = 50 %, the target.
    assert table.loc["3.3.day_surgery_tertiary", "value"] == pytest.approx(100)
    assert table.loc["3.3.day_surgery_secondary", "value"] == pytest.approx(50)
    assert table.loc["3.3.day_surgery_secondary", "status"] == PASS
    # Grade II+ general hospitals (3 of them, not the grade I one nor the TCM hospital): 2 of 3 meet 5 % TCM beds.
    assert table.loc["3.2.tcm_beds", "value"] == pytest.approx(200 / 3)
    assert table.loc["3.2.tcm_beds", "status"] == FAIL


def test_linfen_occupational_disease_diagnosis_needs_two_institutions() -> None:
    rule = load_preset("linfen_14th_fyp_public_health").rule("专栏1.occupational_disease_diagnosis")
    zones = pd.DataFrame({"zone_level": ["city"], "zone_id": ["141000"], "zone_name": ["临汾市"]})
    facilities = pd.DataFrame({"tier": ["hospital", "other", "hospital", "village_clinic"],
                               "township_code": ["141002001000"] * 4,
                               "occupational_disease_diagnosis": [True, "是", False, True]})
    # Two of the hospital/other tiers diagnose occupational disease (the village clinic is not counted): 2 ≥ 2.
    result = audit([rule], zones, facilities=facilities, report_unspecified=False).iloc[0]
    assert (result["value"], result["status"]) == (2, PASS)
    facilities.loc[1, "occupational_disease_diagnosis"] = "否"
    result = audit([rule], zones, facilities=facilities, report_unspecified=False).iloc[0]
    assert (result["value"], result["status"], result["to_add"]) == (1, FAIL, 1)


def test_readings_option_baseline_and_ones_above() -> None:
    option = load_preset("shanxi_2023_2025").rule("U16")
    baseline = load_preset("shanxi_13th_fyp").rule("T16.centres")
    facilities = pd.DataFrame({"tier": ["hospital", "hospital", "township_health_centre", "community_health_centre"],
                               "grade": ["二级甲等", "三级", None, None],
                               "has_blood_storage": [True, False, None, None],
                               "provides_tcm": [None, None, True, True]})
    none = pd.DataFrame(columns=["zone_level", "zone_id", "zone_name"])
    table = audit([option, baseline], none, facilities=facilities, report_unspecified=False).set_index("rule_id")
    # 可 (may): 1 of 2 grade II+ hospitals store blood, 50 % < 100 %: the option is not taken, not a failure.
    assert table.loc["U16", "status"] == OPTION and "not taken" in table.loc["U16", "note"]
    # 90%以上 includes 90 %: 2 of 2 centres (100 %) → the baseline claim holds; its status is baseline.
    assert table.loc["T16.centres", "status"] == BASELINE and "holds" in table.loc["T16.centres", "note"]
    rule = load_preset("shanxi_13th_fyp").rule("T16.centres").model_copy(update={"baseline_claim": False})
    facilities.loc[len(facilities)] = {"tier": "township_health_centre", "provides_tcm": False}
    facilities = pd.concat([facilities] + [facilities.iloc[[2]]] * 7, ignore_index=True)
    # 9 of 10 centres = 90 %: "90%以上" is met at exactly 90 %.
    assert audit([rule], none, facilities=facilities, report_unspecified=False).iloc[0]["status"] == PASS


def test_provenance_columns_and_the_ended_plan_warning() -> None:
    import datetime

    plan = load_preset("shanxi_13th_fyp")
    zones = pd.DataFrame({"zone_level": ["province"], "zone_id": ["14"], "zone_name": ["山西省"]})
    table = audit(plan, zones, report_unspecified=False, today=datetime.date(2026, 1, 1))
    first = table.iloc[0]
    rule = plan.rule(first["rule_id"])
    assert (first["quote_zh"], first["seed_line"], first["section"]) == (
        rule.quote_zh, rule.source.line, rule.source.section)
    assert table["note"].str.contains("plan period 2016–2020 has ended").all()
    assert not audit(plan, zones, report_unspecified=False, today=datetime.date(2020, 6, 1))["note"].fillna(
        "").str.contains("has ended").any()
    gps = audit([load_preset("shanxi_2023_2025").rule("Table 1.gps")], zones, report_unspecified=False).iloc[0]
    assert (gps["binding"], gps["baseline"], gps["target_year"]) == ("约束性", 2.01, 2025)


def test_a_tier_absent_from_the_layer_is_not_evaluable_not_zero() -> None:
    rule = load_preset("shanxi_2023_2025").rule("P1.township")
    zones = pd.DataFrame({"zone_level": ["township"], "zone_id": ["140105001"], "zone_name": ["甲镇"],
                          "facilities_township_health_centre": [0]})
    facilities = pd.DataFrame({"tier": ["village_clinic"], "township_code": ["140105001000"]})
    result = audit([rule], zones, facilities=facilities, report_unspecified=False).iloc[0]
    assert result["status"] == NOT_EVALUABLE
    assert result["missing"] == "the layer has no township_health_centre or central_township_health_centre facilities"
    facilities.loc[1] = {"tier": "township_health_centre", "township_code": "140105002000"}
    # With the tier in the layer, a township without one is a plain fail.
    assert audit([rule], zones, facilities=facilities, report_unspecified=False).iloc[0]["status"] == FAIL


def test_linfen_circle_of_five_tertiary_hospitals_is_not_any_hospital() -> None:
    rule = load_preset("linfen_14th_fyp_public_health").rule("S1")
    zones = pd.DataFrame({"zone_level": ["county"], "zone_id": ["141002"], "zone_name": ["尧都区"],
                          "urban_rural": ["urban"], "population": [1000.0], "pct_within_15": [100.0],
                          "pop_within_15": [1000.0]})
    result = audit([rule], zones, reach_tiers=["hospital"], report_unspecified=False).iloc[0]
    # Travel times to every hospital cannot pass a circle the plan forms of five named tertiary hospitals.
    assert result["status"] == NOT_EVALUABLE
    assert "grade 3 or above" in result["missing"] and "临汾市中心医院" in result["missing"]
    plain = rule.model_copy(update={"params": rule.params.model_copy(update={"min_grade": None, "facility_names": []})})
    assert audit([plain], zones, reach_tiers=["hospital"], report_unspecified=False).iloc[0]["status"] == PASS


def test_shanxi_u11_psychiatric_care_in_cities_over_three_million() -> None:
    rule = load_preset("shanxi_2023_2025").rule("U11")
    zones = pd.DataFrame({"zone_level": ["city"] * 3, "zone_id": ["1401", "1402", "1403"],
                          "zone_name": ["太原市", "大同市", "阳泉市"], "population": [5.4e6, 3.1e6, 1.3e6]})
    facilities = pd.DataFrame({"tier": ["hospital", "hospital"], "township_code": ["140105001000", "140202001000"],
                               "has_psychiatric_department": ["是", "否"]})
    result = by_unit(audit([rule], zones, facilities=facilities, report_unspecified=False), "U11")
    # 阳泉市 has fewer than 3 million residents: not audited. 太原市 has one, 大同市's hospital has no psychiatry.
    assert set(result) == {"太原市", "大同市"}
    assert (result["太原市"]["status"], result["大同市"]["status"]) == (PASS, FAIL)


def test_radius_rules_are_measured_from_their_own_tiers() -> None:
    rule = load_preset("shanxi_2023_2025").rule_for("radius", area="urban")
    zones = pd.DataFrame({"zone_level": ["city"], "zone_id": ["1401"], "zone_name": ["太原市"],
                          "urban_rural": ["urban"], "pop_urban": [100.0], "pop_within_radius_urban_5km": [100.0]})
    # Radii measured from hospitals cannot pass a rule about emergency centres and stations.
    hospitals = audit([rule], zones, radius_tiers=["hospital"], report_unspecified=False).iloc[0]
    assert hospitals["status"] == NOT_EVALUABLE and "radii from emergency_centre" in hospitals["missing"]
    own = audit([rule], zones, radius_tiers=list(rule.scope.tiers), report_unspecified=False).iloc[0]
    assert own["status"] == PASS


def test_a_share_rule_without_unit_levels_is_reported_per_unit_of_every_level_too() -> None:
    rule = load_preset("leshan_shizhong_14th_fyp").rule("S5.tcm_hall")  # 100% of THC/CHC, no unit level
    zones = pd.DataFrame({"zone_level": ["township", "township", "township", "county"],
                          "zone_id": ["511102001000", "511102002000", "511102003000", "511102000000"],
                          "zone_name": ["甲镇", "乙镇", "丙镇", "市中区"]})
    table = audit([rule], zones, facilities=FACILITIES, report_unspecified=False).set_index("unit_name")
    # Whole layer 3 of 4 (75 %); 甲镇 THC 是 + THC 否 = 50 %; 乙镇 THC True + CHC 1 = 100 %; 丙镇 has none;
    # the county holds all four: 75 %.
    assert table.loc["all facilities in the layer", "value"] == pytest.approx(75.0)
    assert "1 units hold none" in table.loc["all facilities in the layer", "note"]
    assert (table.loc["甲镇", "value"], table.loc["甲镇", "status"]) == (pytest.approx(50.0), FAIL)
    assert (table.loc["乙镇", "value"], table.loc["乙镇", "status"]) == (pytest.approx(100.0), PASS)
    assert table.loc["市中区", "value"] == pytest.approx(75.0) and table.loc["市中区", "unit_level"] == "county"
    assert "丙镇" not in table.index and table.loc["甲镇", "to_add"] == 1


def test_u26_hospice_wards_in_every_county_of_taiyuan_and_changzhi_only() -> None:
    rule = load_preset("shanxi_2023_2025").rule("U26")
    zones = pd.DataFrame({"zone_level": ["city", "county", "county", "county", "county"],
                          "zone_id": ["140100000000", "140105000000", "140121000000", "140402000000", "141002000000"],
                          "zone_name": ["太原市", "小店区", "清徐县", "潞州区", "尧都区"]})
    facilities = pd.DataFrame({"tier": ["hospital", "community_health_centre", "hospital", "hospital"],
                               "township_code": ["140105001000", "140121100000", "140402002000", "141002001000"],
                               "has_hospice_ward": ["是", "否", True, True]})
    rows = audit([rule], zones, facilities=facilities, report_unspecified=False).set_index("unit_name")
    # Counties of 1401 (Taiyuan) and 1404 (Changzhi) only: 尧都区 (Linfen) is not asked; 清徐县's centre has no ward.
    assert set(rows.index) == {"小店区", "清徐县", "潞州区"}
    assert rows.loc["小店区", "status"] == PASS and rows.loc["潞州区", "status"] == PASS
    assert rows.loc["清徐县", "status"] == FAIL and rows.loc["清徐县", "to_add"] == 1
    # An enclosing unit named but absent from the zones is said, never silently dropped.
    named = rule.model_copy(update={"scope": rule.scope.model_copy(update={"within": ["长治市", "太原市"]})})
    rows = audit([named], zones, facilities=facilities, report_unspecified=False)
    assert set(rows["unit_name"]) == {"小店区", "清徐县", "长治市"}
    assert "scope.within" in rows.set_index("unit_name").loc["长治市", "missing"]
