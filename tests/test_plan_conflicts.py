"""A plan against the plan above it, on the pairs where the five plans disagree (worked out from the texts)."""

from __future__ import annotations

import pytest

from geocover.standards import load_preset
from geocover.standards.conflicts import DIFFERENT, EQUAL, LOOSER, STRICTER, compare, plan_conflicts
from tests.test_zones import counties  # noqa: F401  (fixture)

SHANXI = load_preset("shanxi_2023_2025")


def row(table, rule_id, parent_rule_id):
    found = table[(table["rule_id"] == rule_id) & (table["parent_rule_id"] == parent_rule_id)]
    assert len(found) == 1, (rule_id, parent_rule_id, table[["rule_id", "parent_rule_id"]])
    return found.iloc[0]


def test_taiyuan_against_shanxi() -> None:
    table = plan_conflicts(load_preset("taiyuan_14th_fyp"), SHANXI)
    # Beds: Taiyuan caps at < 7.23 per 1,000; Shanxi's Table 3 asks Taiyuan for 11.00 (it names the city, so
    # it is preferred over the province-wide 7.50).
    beds = row(table, "T7", "Table 3.taiyuan")
    assert (beds["target"], beds["parent_target"], beds["comparison"]) == (7.23, 11.0, LOOSER)
    assert not (table["parent_rule_id"] == "Table 1.beds").any()
    # Nurses 4.27 against 4.50 per 1,000.
    nurses = row(table, "T8.nurses", "Table 1.nurses")
    assert (nurses["target"], nurses["parent_target"], nurses["comparison"]) == (4.27, 4.5, LOOSER)
    assert nurses["quote_zh"].startswith("每千人口注册护士数") and nurses["parent_quote_zh"].endswith("预期性")


def test_linfen_against_shanxi() -> None:
    table = plan_conflicts(load_preset("linfen_14th_fyp_public_health"), SHANXI)
    gps = row(table, "T12.gps", "Table 1.gps")
    assert (gps["target"], gps["parent_target"], gps["comparison"]) == (1.5, 3.5, LOOSER)
    # 0.30 ambulances per 10,000 against 1 per 30,000 = 0.333 per 10,000.
    ambulances = table[(table["measure"].str.startswith("ambulances"))].iloc[0]
    assert ambulances["parent_target"] == pytest.approx(10_000 / 30_000)
    assert ambulances["target"] == 0.30 and ambulances["comparison"] == LOOSER
    # Public-health staff 0.83 per 1,000 in both.
    assert row(table, "T12.public_health_staff", "Table 1.public_health_staff")["comparison"] == EQUAL


def test_compare_by_hand() -> None:
    assert compare(5, "at_least", 4, "at_least") == STRICTER
    assert compare(3, "at_most", 4, "at_most") == STRICTER and compare(5, "at_most", 4, "at_most") == LOOSER
    assert compare(12, "at_most", 11, "at_least") == DIFFERENT


def test_audit_command_writes_plan_conflicts(counties, tmp_path) -> None:  # noqa: F811
    import pandas as pd

    from geocover.cli import main

    config = counties.parent / "taiyuan.yaml"
    config.write_text(counties.read_text(encoding="utf-8") + "standards: {plan: taiyuan_14th_fyp}\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["audit", str(config), "--parent-plan", "shanxi_2023_2025", "--quiet", "--out", str(out)]) == 0
    csv = pd.read_csv(out / "plan_conflicts.csv", encoding="utf-8-sig")
    sheet = pd.read_excel(out / "audit.xlsx", sheet_name="plan_conflicts")
    assert len(csv) == len(sheet) == len(plan_conflicts(load_preset("taiyuan_14th_fyp"), SHANXI)) > 0
    assert set(csv.loc[csv["rule_id"] == "T7", "comparison"]) == {LOOSER}
    assert "quote_zh" in pd.read_excel(out / "audit.xlsx", sheet_name="audit").columns
