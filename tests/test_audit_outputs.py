"""What a planner reads of the audit and the workbooks: every audit row names its indicator (en and zh),
audit.csv is rounded like the other tables, and ``--lang zh`` gives Chinese workbook headers with the key kept."""

from __future__ import annotations

import re

import openpyxl
import pandas as pd
import pytest

from geocover.pipeline import run_scenario
from geocover.render.values import measure_text
from geocover.render.writers import write_outputs
from geocover.standards import list_presets, load_preset
from geocover.standards.audit import audit, write_audit
from tests.conftest import ROOT

_CJK = re.compile(r"[\u4e00-\u9fff]")


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value) or not str(value).strip()


def test_every_plan_gives_every_audit_row_an_indicator_in_both_languages():
    # Two townships and nothing else: street, village, community units are missing, rules name absent zones.
    zones = pd.DataFrame({"zone_id": ["130102001000", "130102002000"], "zone_name": ["城关镇", "李家镇"],
                          "zone_level": ["township", "township"], "population": [12000.0, 8000.0]})
    for name in list_presets():
        table = audit(load_preset(name), zones)
        specified = table[table["rule_id"].notna()]
        blank = specified[specified["measure"].map(_blank)]
        assert blank.empty, (name, blank[["rule_id", "unit_level", "missing"]].to_dict("records"))
        for measure in specified["measure"].unique():
            assert measure_text(measure, "en").strip() and _CJK.search(measure_text(measure, "zh")), measure


def test_a_missing_unit_level_keeps_the_rules_measure():
    plan = next(load_preset(n) for n in list_presets() if any(
        r.kind == "one_per_unit" and "street" in r.scope.unit_levels for r in load_preset(n).rules))
    rule = next(r for r in plan.rules if r.kind == "one_per_unit" and "street" in r.scope.unit_levels)
    zones = pd.DataFrame({"zone_id": ["130102001000"], "zone_name": ["城关镇"], "zone_level": ["township"]})
    rows = audit([rule], zones)
    street = rows[rows["unit_level"] == "street"].iloc[0]
    assert street["missing"] == "zones at level 'street'"
    assert street["measure"] == f"facilities ({' or '.join(rule.scope.tiers)})"  # as the evaluated units read


def test_audit_csv_is_rounded_and_audit_xlsx_speaks_chinese(tmp_path):
    # As the audit holds them: shares, counts and blanks in one column of Python objects.
    table = pd.DataFrame({"rule_id": ["T1", "T2", "T3"], "measure": ["% of residents within 15 min"] * 3,
                          "unit_id": ["130102001000"] * 3,
                          "value": pd.Series([53.328101471122324, 3, None], dtype=object),
                          "target": [90.0, 1.0, 2.0]})
    write_audit(table, tmp_path / "audit.csv", tmp_path / "audit.xlsx", lang="zh")
    text = (tmp_path / "audit.csv").read_bytes()
    assert text.startswith(b"\xef\xbb\xbf") and b"53.3281," in text and b"53.32810" not in text
    assert b",3,1.0" in text  # a count stays whole
    assert pd.read_csv(tmp_path / "audit.csv", dtype={"unit_id": str})["unit_id"][0] == "130102001000"
    headers = [c.value for c in openpyxl.load_workbook(tmp_path / "audit.xlsx")["audit"][1]]
    assert headers[0] == "rule_id" or headers[0].endswith("（rule_id）")
    assert headers[1] == "指标（measure）" and headers[3] == "现状值（value）"
    write_audit(table, tmp_path / "audit.csv", tmp_path / "audit.xlsx")
    assert [c.value for c in openpyxl.load_workbook(tmp_path / "audit.xlsx")["audit"][1]] == list(table.columns)


@pytest.fixture(scope="module")
def demo():
    return run_scenario(ROOT / "configs" / "demo.yaml", progress=False)


@pytest.mark.parametrize("lang", ["zh", None])
def test_coverage_xlsx_headers_follow_the_language(demo, tmp_path, lang):
    write_outputs(demo, tmp_path, lang=lang)
    book = openpyxl.load_workbook(tmp_path / "coverage.xlsx")
    headers = [c.value for c in book["zones"][1]]
    keys = list(pd.read_csv(tmp_path / "coverage_by_zone.csv", encoding="utf-8-sig", nrows=1).columns)
    if lang is None:
        assert headers == keys
        return
    assert len(headers) == len(keys) and "15分钟内人口（pop_within_15）" in headers
    for header, column in zip(headers, keys, strict=True):
        assert header == column or (header.endswith(f"（{column}）") and _CJK.search(header)), (header, column)
    assert sum(header != column for header, column in zip(headers, keys, strict=True)) > len(keys) / 2


def test_comoros_audit_csv_is_rounded_and_names_every_indicator(comoros_outputs):
    table = pd.read_csv(comoros_outputs / "audit.csv", encoding="utf-8-sig", dtype=str)
    digits = table["value"].dropna().str.replace(r"[-.]", "", regex=True).str.lstrip("0")
    assert len(digits) and digits.str.len().max() <= 6, table["value"][digits.str.len() > 6].tolist()
    rules = table[table["rule_id"].notna()]
    assert not rules["measure"].map(_blank).any(), rules[rules["measure"].map(_blank)]["rule_id"].tolist()
    assert {"S4.street", "S4.village", "S7", "E4.maoqiao_grade_ii"} <= set(rules["rule_id"])  # the rows once blank
