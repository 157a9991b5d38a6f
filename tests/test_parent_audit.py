"""Each unit against both plans side by side (#15): the plan's own target and verdict and its parent's."""

from __future__ import annotations

import pandas as pd
import pytest

from geocover.standards import audit, load_preset
from geocover.standards.parent_audit import side_by_side
from tests.test_zones import counties  # noqa: F401  (fixture)

LINFEN, SHANXI = load_preset("linfen_14th_fyp_public_health"), load_preset("shanxi_2023_2025")
ZONES = pd.DataFrame({"zone_level": ["province", "city", "county"],
                      "zone_id": ["140000000000", "141000000000", "141002000000"],
                      "zone_name": ["山西省", "临汾市", "尧都区"], "population": [1_200_000, 600_000, 300_000]})
# 19 ambulances for 600,000 residents: 0.317 per 10,000 passes Linfen's 0.30 (S5) and fails Shanxi's
# 1 per 30,000 (E5: 0.95 per 30,000, 0.333 per 10,000 in Linfen's terms). Beds 4,200 = 7.0 per 1,000:
# Linfen's T10 asks 6.5, Shanxi's Table 3 row for Linfen 6.5 as well; GPs 1.667 per 10,000 pass Linfen's 1.5.
STATISTICS = pd.DataFrame({"zone_id": ["140000000000", "141000000000", "141002000000"],
                           "population": [1_200_000, 600_000, 300_000], "ambulances": [40, 19, 9],
                           "beds": [9_000, 4_200, 1_000], "gps": [300, 100, 90]})


def _side_by_side() -> pd.DataFrame:
    own = audit(LINFEN, ZONES, STATISTICS, report_unspecified=False)
    parent = audit(SHANXI, ZONES, STATISTICS, report_unspecified=False)
    return side_by_side(own, parent, LINFEN.rules, SHANXI.rules, "shanxi_2023_2025")


def _one(table: pd.DataFrame, rule_id: str | None, unit: str, measure: str = "") -> pd.Series:
    found = table[(table["unit_name"] == unit) & (table["rule_id"].eq(rule_id) if rule_id else table["rule_id"].isna())
                  & table["measure"].fillna("").str.startswith(measure)]
    assert len(found) == 1, found[["rule_id", "unit_name", "measure"]]
    return found.iloc[0]


def test_ambulances_beds_and_gps_of_linfen_against_shanxi_by_hand():
    table = _side_by_side()
    ambulances = _one(table, "S5", "临汾市")
    assert ambulances["value"] == pytest.approx(19 / 60) and ambulances["status"] == "pass"
    assert ambulances["parent_rule_id"] == "E5" and ambulances["parent_status"] == "fail"
    assert ambulances["parent_target"] == pytest.approx(1 / 3)
    assert "per 30,000" in ambulances["parent_note"]
    beds = _one(table, "T10", "临汾市")
    assert (beds["status"], beds["parent_rule_id"], beds["parent_target"], beds["parent_status"]) == (
        "pass", "Table 3.linfen", 6.5, "above guideline: no new beds")  # Table 3 is a planning guideline
    # Shanxi sets GPs province-wide only: no parent figures on Linfen's city and county rows…
    assert _one(table, "T12.gps", "临汾市")["parent_rule_id"] is None
    # …and the province's own GP row, which Linfen does not set, is a row of its own.
    province = _one(table, None, "山西省", "gps")
    assert province["status"] == "not specified by this plan"
    assert (province["parent_rule_id"], province["parent_target"]) == ("Table 1.gps", 3.5)
    assert province["parent_status"] == "fail"  # 300 / 1,200,000 = 2.5 per 10,000 < 3.5
    # Without a parent nothing changes: every row of the plan's own audit is kept as it was.
    own = audit(LINFEN, ZONES, STATISTICS, report_unspecified=False)
    assert table.iloc[:len(own)][list(own.columns)].astype(str).equals(own.astype(str))


def test_audit_command_writes_the_parent_beside_each_unit(counties, tmp_path) -> None:  # noqa: F811
    from geocover.cli import main

    config = counties.parent / "linfen.yaml"
    config.write_text(counties.read_text(encoding="utf-8") + "standards: {plan: linfen_14th_fyp_public_health}\n",
                      encoding="utf-8")
    out = tmp_path / "out"
    assert main(["audit", str(config), "--parent-plan", "shanxi_2023_2025", "--quiet", "--out", str(out)]) == 0
    csv = pd.read_csv(out / "audit.csv", encoding="utf-8-sig")
    assert {"parent_plan", "parent_rule_id", "parent_target", "parent_status"} <= set(csv.columns)
    assert (csv["parent_plan"].dropna() == "shanxi_2023_2025").all() and csv["parent_rule_id"].notna().any()
    assert "parent_status" in pd.read_excel(out / "audit.xlsx", sheet_name="audit").columns
