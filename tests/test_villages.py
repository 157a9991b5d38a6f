"""Village clinics and doctors per administrative village, with the remoteness exemption (#15), hand-worked."""

from __future__ import annotations

import pandas as pd
import pytest

from geocover.cli import main
from geocover.config.sections import VillagesConfig
from geocover.errors import InputError
from geocover.io.villages import read_villages
from geocover.pipeline import run_scenario
from tests.test_zones import counties  # noqa: F401  (fixture)

# The fixture's road runs along y = 0.005° from x = 0 to 0.04°; townships are 0.01° wide.
VILLAGES = ("村名,统计用区划代码,常住人口,乡村医生,经度,纬度\n"
            "东村,130102001201,800,2,0.002,0.005\n"      # its clinic carries its code
            "西村,130102001202,300,1,0.008,0.005\n"      # the uncoded clinic of its township is nearest to it
            "南村,130102002203,150,0,0.015,0.0095\n"     # 150 ≤ 200 residents, ~500 m walk to the road: remote
            "北村,130102002204,500,1,0.016,0.005\n"      # 500 > 200 residents: no exemption
            "中村,130103001205,100,,,\n"                 # no point: remoteness cannot be measured
            "小村,130103001206,120,1,0.025,0.0052\n")    # small, but next to 李家镇卫生院: not remote
FACILITIES = ("机构名称,经度,纬度,村代码,乡镇代码\n"
              "东村卫生室,0.0021,0.005,130102001201,130102001000\n"
              "西头卫生室,0.0079,0.005,,130102001000\n"
              "李家镇卫生院,0.025,0.005,,130103001000\n"
              "无码卫生室,0.030,0.005,,\n")                   # neither code: counted in no village, and said so
SECTION = ("villages: {path: villages.csv, clinic_code_column: 村代码, remote_population_max: 200,"
           " remote_minutes_min: 3}\n")


def _config(counties, villages: str = VILLAGES):  # noqa: F811
    folder = counties.parent
    (folder / "villages.csv").write_bytes(villages.encode("gbk"))
    (folder / "facilities.csv").write_bytes(FACILITIES.encode("gbk"))
    path = folder / "villages.yaml"
    path.write_text(counties.read_text(encoding="utf-8").replace(
        "facilities: {path: clinics.geojson, name_column: name}", "facilities: {path: facilities.csv}") + SECTION,
        encoding="utf-8")
    return path


def test_village_verdicts_by_hand(counties):  # noqa: F811
    result = run_scenario(_config(counties), progress=False)
    table = result.tables["villages.csv"].set_index("village_name")
    assert table.loc["东村", "clinic_match"] == "code" and table.loc["西村", "clinic_match"] == "nearest in township"
    assert table["clinics"].to_dict() == {"东村": 1, "西村": 1, "南村": 0, "北村": 0, "中村": 0, "小村": 0}
    assert table["verdict"].to_dict() == {
        "东村": "pass", "西村": "pass", "南村": "served by itinerant care", "北村": "fail", "中村": "not evaluable",
        "小村": "fail"}
    assert table.loc["南村", "doctor_status"] == "served by itinerant care"
    assert table.loc["南村", "minutes_to_care"] > 5  # about 500 m on foot to the road alone
    assert table.loc["小村", "minutes_to_care"] < 1 and not table.loc["小村", "remote"]
    assert "no point" in table.loc["中村", "note"] and table.loc["中村", "doctor_status"] == "not evaluable"
    assert table.loc["东村", "township_code"] == "130102001000" and table.loc["东村", "township_name"] == "东城街道"
    summary = result.tables["villages_by_township.csv"].set_index("township_code")
    assert summary.loc["130102001000", ["villages", "villages_pass", "clinics"]].tolist() == [2, 2, 2]
    assert summary.loc["130102002000", ["villages_itinerant_care", "villages_fail", "pop_in_failing_villages"]
                       ].tolist() == [1, 1, 500]
    assert summary.loc["130103001000", ["villages_fail", "villages_not_evaluable"]].tolist() == [1, 1]
    assert any(note.startswith("1 village clinic(s) of 3 match no village") for note in result.notes)


def test_without_the_exemption_small_remote_villages_fail(counties):  # noqa: F811
    path = _config(counties)
    path.write_text(path.read_text(encoding="utf-8").replace(", remote_population_max: 200, remote_minutes_min: 3",
                                                             ""), encoding="utf-8")
    table = run_scenario(path, progress=False).tables["villages.csv"].set_index("village_name")
    assert table.loc["南村", "verdict"] == "fail" and table.loc["中村", "clinic_status"] == "fail"


def test_every_problem_of_the_village_list_at_once(counties, capsys):  # noqa: F811
    bad = ("村名,统计用区划代码,常住人口,经度,纬度\n"
           "东村,13010200120,800,0.002,0.005\n"          # 11 digits
           "西村,130102001202,约300,0.008,0.005\n"       # not a number
           "南村,130102001202,150,0.015,\n"              # repeated code, one coordinate
           "北村,130102002204,500,东经,0.005\n")         # unreadable coordinate
    (counties.parent / "bad.csv").write_bytes(bad.encode("gbk"))
    with pytest.raises(InputError) as error:
        read_villages(VillagesConfig(path=counties.parent / "bad.csv"))
    text = str(error.value)
    for expected in ("row 2, column '统计用区划代码': village code '13010200120' is not 12 digits",
                     "row 3, column '常住人口'", "row 4, column '统计用区划代码': village code 130102001202 repeats "
                     "row 3", "row 4, column '纬度'", "row 5, column '经度'"):
        assert expected in text, text
    assert len(error.value.problems) == 5
    missing = "村名,人口数\n东村,800\n"
    (counties.parent / "villages.csv").write_bytes(missing.encode("gbk"))
    path = _config(counties, missing)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "no code column" in err and "no population column" in err and "villages.code_column" in err
    assert "Traceback" not in err and "村名" in err


def test_codes_stay_text_and_the_population_is_the_resident_one(tmp_path):
    (tmp_path / "v.csv").write_bytes("村委会名称,村代码,户籍人口,常住人口\n甲村,010203004005,900,800\n".encode("gbk"))
    table = read_villages(VillagesConfig(path=tmp_path / "v.csv"))
    assert table.loc[0, "village_code"] == "010203004005" and table.loc[0, "township_code"] == "010203004000"
    assert table.loc[0, "population"] == 800 and pd.isna(table.loc[0, "lon"])


def test_the_village_tables_are_written_with_the_run(counties, tmp_path):  # noqa: F811
    from geocover.render.writers import write_outputs

    result = run_scenario(_config(counties), progress=False)
    outputs = write_outputs(result, tmp_path / "out")
    for name in ("villages.csv", "villages_by_township.csv"):
        assert outputs[name].exists()
    written = pd.read_csv(outputs["villages.csv"], encoding="utf-8-sig", dtype={"village_code": str})
    assert written["village_code"].tolist()[0] == "130102001201" and written["village_name"].tolist()[0] == "东村"
    assert written["verdict"].tolist() == result.tables["villages.csv"]["verdict"].tolist()


def test_the_plans_village_rules_are_audited_on_the_village_list(counties):  # noqa: F811
    from geocover.standards.scenario_audit import scenario_audit

    path = _config(counties)
    path.write_text(path.read_text(encoding="utf-8") + "standards: {plan: shanxi_2023_2025}\n", encoding="utf-8")
    audit = scenario_audit(run_scenario(path, progress=False))
    clinics = audit[audit["rule_id"] == "P2"].set_index("unit_name")
    doctors = audit[audit["rule_id"] == "P7"].set_index("unit_name")
    # P2 (a village clinic per administrative village) and P7 (at least one village doctor) per village.
    assert clinics["status"].to_dict() == {"东村": "pass", "西村": "pass", "南村": "served by itinerant care",
                                           "北村": "fail", "中村": "not evaluable", "小村": "fail"}
    assert "exempt" in clinics.loc["南村", "note"]
    assert doctors.loc["南村", "status"] == "served by itinerant care" and doctors.loc["东村", "status"] == "pass"
    assert doctors.loc["中村", "status"] == "not evaluable"  # no doctors figure for 中村
    assert clinics.loc["北村", "to_add"] == 1 and "point" in clinics.loc["中村", "missing"]
    # Only the rules about villages see the villages: no other rule gets a row per village.
    from geocover.standards import load_preset

    village_rules = {r.uid for r in load_preset("shanxi_2023_2025").rules if "village" in r.scope.unit_levels}
    assert set(audit.loc[audit["unit_level"] == "village", "rule_id"]) == village_rules
