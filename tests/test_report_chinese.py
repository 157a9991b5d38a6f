"""The Chinese report is Chinese throughout: no English word left in any table header or cell except
ids, codes, units and names from the data; no header or cell of either language is cut short."""

from __future__ import annotations

import dataclasses
import re

import pytest

from geocover.render.i18n import level_name
from geocover.render.report import report_html
from geocover.render.values import value_text
from geocover.standards.scenario_audit import scenario_audit
from tests.test_map_size import comoros_result
from tests.test_static_report import _Tables

UNITS = {"km", "min", "m"}


@pytest.fixture(scope="module")
def comoros_audited():
    result = comoros_result()
    return dataclasses.replace(result, audit=scenario_audit(result), notes=list(result.notes))


def _tables(result, lang: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(report_html(result, lang, map_file=None))
    return parser.tables


def english_words(cell: str, names: set[str]) -> list[str]:
    """Words of ``cell`` in Latin letters that are not a name from the data, an id or code (holding ``_``,
    ``.`` or a digit) or a unit."""
    for name in sorted(names, key=len, reverse=True):
        cell = cell.replace(name, " ")
    cell = re.sub(r"[\w.]*[_.\d][\w.]*", " ", cell)
    return [word for word in re.findall(r"[A-Za-z]+", cell) if word not in UNITS]


def test_english_words_are_found():
    assert english_words("15分钟内人口 rural", set()) == ["rural"]
    assert english_words("Moroni：facilities.has_tcm_hall 5 km", {"Moroni"}) == []


def test_chinese_report_tables_hold_no_english_words(comoros_audited):
    result = comoros_audited
    names = {str(v) for column in ("zone_name", "zone_id", "parent_id") for v in result.table[column].dropna()}
    names |= {str(v) for v in result.facilities["name"].dropna()}
    names |= {str(v) for column in ("unit_name", "unit_id", "rule_id") for v in result.audit[column].dropna()}
    tables = _tables(result, "zh")
    assert {"key-figures", "most-beyond", "audit-by-rule", "zones", "facilities", "audit"} <= set(tables)
    left = {(name, cell) for name, rows in tables.items() for row in rows for cell in row
            if english_words(cell, names)}
    assert left == set()
    cells = [cell for rows in tables.values() for row in rows for cell in row]
    assert "农村" in cells and "rural" not in cells  # urban/rural values
    assert "未达标" in cells  # audit statuses


def test_no_header_or_cell_is_cut_short(comoros_audited):
    for lang in ("en", "zh"):
        cells = [cell for rows in _tables(comoros_audited, lang).values() for row in rows for cell in row]
        assert [cell for cell in cells if cell.rstrip().endswith(("…", "..."))] == []


def test_config_words_without_a_chinese_label_read_as_chinese():
    assert level_name("grid_500m", "zh") == "区域（grid_500m）"
    assert level_name("township", "zh") == "乡镇"
    assert value_text("urban_rural", "urban", "zh") == "城镇"
    assert value_text("urban_rural_source", "town (镇), built-up 23.5% >= 15%", "zh") == "镇，建成区占比 23.5% ≥ 15%"
    note = "baseline claim of the plan, not a target; some words written for one rule"
    assert value_text("note", note, "zh") == "规划的现状表述，不是目标；（其余说明为英文，见 audit.csv 的 note 列）"
