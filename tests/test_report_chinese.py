"""The Chinese report is Chinese throughout: no English word left in any table header or cell except
ids, codes, units and names from the data; no header or cell of either language is cut short."""

from __future__ import annotations

import dataclasses
import re

import pytest

from geocover.render.i18n import label, level_name
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


def test_statistics_fields_read_as_the_yearbook_headers():
    from geocover.render.values import measure_text, statistics_name

    assert statistics_name("beds") == "床位" and statistics_name("doctors") == "执业(助理)医师"
    assert statistics_name("not_a_field") == "not_a_field"
    assert value_text("missing", "statistics.beds", "zh") == "统计表“床位”列"
    assert value_text("missing", "statistics.gps", "en") == "statistics.gps"
    assert measure_text("gps per 10,000 residents", "zh") == "每万居民全科医生数"
    assert measure_text("ambulances per population", "zh") == "救护车配置（按人口）"
    assert measure_text("travel-time service circle (e.g. 15 minutes)", "zh") == "出行时间服务圈（如15分钟）"


@pytest.fixture(scope="module")
def shanxi_audit():
    import pandas as pd

    from geocover.standards import audit, load_preset

    zones = pd.DataFrame({"zone_id": ["140100000000", "140105000000"], "zone_name": ["太原市", "小店区"],
                          "zone_level": ["city", "county"], "population": [4_000_000, 800_000]})
    return audit(load_preset("shanxi_13th_fyp"), zones)


def _audit_html(table, lang: str) -> str:
    from types import SimpleNamespace

    from geocover.render.report_tables import audit_section

    return audit_section(SimpleNamespace(audit=table, config=SimpleNamespace(target_minutes=15.0)), lang)


def test_a_shanxi_audit_reads_in_chinese_with_the_plan_files_chinese_notes(shanxi_audit):
    page = _audit_html(shanxi_audit, "zh")
    parser = _Tables()
    parser.feed(page)
    names = {str(v) for column in ("unit_name", "unit_id", "rule_id") for v in shanxi_audit[column].dropna()}
    assert [cell for row in parser.tables["audit"] for cell in row if english_words(cell, names)] == []
    assert "statistics." not in page and "统计表“床位”列" in page
    notes = [note.replace(label("notes_in_csv", "zh"), "") for note in re.findall(r"<li>(.*?)</li>", page)]
    assert [note for note in notes if english_words(note, names)] == []
    # T4/T5 carry note_zh in the plan file; T16.centres has none, so the plan's words stand in for its note
    assert any("全省目标，按提取文件 T4/T5 的要求同样用于各市、县" in note for note in notes)
    assert any("规划原文：“全省90%以上的社区卫生服务中心和乡镇卫生院" in note for note in notes)
    english = re.findall(r"<li>(.*?)</li>", _audit_html(shanxi_audit, "en"))
    assert any("province-wide target" in note for note in english)
    assert not any("全省目标" in note or "规划原文" in note for note in english)


def test_the_comoros_chinese_audit_notes_are_chinese(comoros_audited):
    page = report_html(comoros_audited, "zh", map_file=None)
    names = {str(v) for column in ("unit_name", "unit_id", "rule_id") for v in comoros_audited.audit[column].dropna()}
    appendix = page.split('id="appendix"')[1].split('id="sources"')[0]
    notes = [note.replace(label("notes_in_csv", "zh"), "") for note in re.findall(r"<li>(.*?)</li>", appendix)]
    assert notes and [note for note in notes if english_words(note, names)] == []
