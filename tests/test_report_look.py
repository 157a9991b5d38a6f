"""What a planner reads in the report and the map, checked against hand counts and in Chromium at 1280x720: the
plan's baseline statements counted apart, staff per residents read as staff, unnamed facilities named by tier
and id, the walk to the road explained with its figures, the plan's title, a table of contents, names in Arabic
script kept in their order, the map's legend saying the minutes include the walk."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import geopandas as gpd
import matplotlib
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely

from geocover.render.assets import render
from geocover.render.folium_map import coverage_map
from geocover.render.i18n import label
from geocover.render.methods import LONG_WALK_MINUTES, walk_figures
from geocover.render.print_map import cjk_rc, draw_static_map
from geocover.render.report import plan_title, report_html
from geocover.render.report_tables import audit_count, facility_rows
from geocover.render.summary import ISOLATE, POP_ISOLATE, audit_by_rule
from geocover.render.tables import write_workbook
from geocover.render.values import measure_text, value_text
from geocover.standards.scenario_audit import scenario_audit
from tests.test_map_browser import browser  # noqa: F401 - fixture
from tests.test_map_size import comoros_result

VIEWPORT = {"width": 1280, "height": 720}


@pytest.fixture(scope="module")
def comoros_audited():
    result = comoros_result()
    return dataclasses.replace(result, audit=scenario_audit(result), notes=list(result.notes))


def _audit(statuses: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"rule_id": ["S1"] * len(statuses), "measure": ["% of residents within 15 min"] * len(statuses),
                         "unit_name": [f"u{i}" for i in range(len(statuses))], "status": statuses,
                         "to_add": np.arange(len(statuses), dtype=float)})


def test_baseline_statements_are_neither_met_nor_not_evaluable():
    audit = _audit(["pass", "fail", "fail", "not evaluable", "not specified by this plan", "baseline", "baseline",
                    "baseline"])
    assert audit_count(audit, "en") == ("1 checks met, 2 not met, 2 not evaluable or not set by the plan. "
                                        "3 state the plan's baseline, not a target.")
    assert audit_count(audit, "zh") == ("达标 1 项，未达标 2 项，无法评估或规划未规定 2 项。"
                                        "另有 3 项为规划的现状表述（非目标）。")
    row = audit_by_rule(audit, "en").iloc[0]
    assert (row["count_met"], row["count_not_met"], row["count_other"], row["count_baseline"]) == (1, 2, 2, 3)
    without = _audit(["pass", "fail"])
    assert audit_count(without, "en") == "1 checks met, 1 not met, 0 not evaluable or not set by the plan."
    assert "count_baseline" not in audit_by_rule(without, "en").columns


def test_staff_per_residents_read_as_staff_and_tiers_still_as_facilities():
    assert measure_text("doctors per 1,000 residents", "zh") == "每千居民执业（助理）医师数"  # was 每千居民诊所数
    assert measure_text("facilities (hospital or doctors)", "zh") == "医院或诊所机构数"
    assert measure_text("family_doctors per 10,000 residents", "zh") == "每万居民家庭医生数"


def test_an_unnamed_facility_reads_as_its_tier_and_id():
    facilities = gpd.GeoDataFrame({"facility_id": ["n1", "n2", "n3"], "name": ["Hôpital", None, "  "],
                                   "tier": ["hospital", "clinic", "hospital"]},
                                  geometry=[shapely.Point(0, 0)] * 3, crs=4326)
    result = SimpleNamespace(facilities=facilities)
    assert facility_rows(result, "en")["name"].tolist() == ["Hôpital", "clinic n2", "hospital n3"]
    assert facility_rows(result, "zh")["name"].tolist() == ["Hôpital", "门诊部（编号 n2）", "医院（编号 n3）"]


def _walk_result(walk_minutes: np.ndarray, people: np.ndarray) -> SimpleNamespace:
    grid = SimpleNamespace(valid=np.ones(walk_minutes.shape, dtype=bool), population=people)
    access = SimpleNamespace(grid=grid, cell_snap=list(range(walk_minutes.size)), offroad_minutes=walk_minutes)
    return SimpleNamespace(access=access)


def test_walk_figures_equal_those_of_every_person_listed_one_by_one():
    rng = np.random.default_rng(7)
    walk_minutes = rng.uniform(0, 25, size=(9, 11))
    walk_minutes[0, :3] = np.inf  # cells that join no road: no walk
    people = rng.integers(0, 40, size=walk_minutes.shape).astype(float)
    people[1, 1] += 1 - people.sum() % 2  # an odd number of people: one middle person
    median, long_walk, pct = walk_figures(_walk_result(walk_minutes, people))
    everyone = np.repeat(walk_minutes.ravel(), people.ravel().astype(int))
    everyone = everyone[np.isfinite(everyone)]
    if everyone.size % 2 == 0:  # the unreachable cells' people made the count even: drop the last person
        everyone = np.sort(everyone)[:-1]
        people[np.unravel_index(np.argmax(np.where(np.isfinite(walk_minutes), walk_minutes, -1)), people.shape)] -= 1
        median, long_walk, pct = walk_figures(_walk_result(walk_minutes, people))
    assert median == pytest.approx(float(np.median(everyone)))
    assert long_walk == int((everyone > LONG_WALK_MINUTES).sum())
    assert pct == pytest.approx(100 * (everyone > LONG_WALK_MINUTES).mean())
    batch = _walk_result(walk_minutes, people)
    batch.access.cell_snap = batch.access.cell_snap[:-1]  # a batch run: no walk per cell
    assert walk_figures(batch) is None


def test_the_report_names_the_plan_by_its_title(comoros_audited):
    assert plan_title(comoros_audited, "zh") == "乐山市市中区“十四五”卫生健康发展规划（征求意见稿）"
    page = report_html(comoros_audited, "zh", map_file=None)
    assert "规划标准（《乐山市市中区“十四五”卫生健康发展规划（征求意见稿）》）" in page
    assert "leshan_shizhong_14th_fyp" not in page


def _open(browser, html_text: str, tmp_path, name: str):  # noqa: F811
    path = tmp_path / name
    path.write_text(html_text, encoding="utf-8")
    context = browser.new_context(viewport=VIEWPORT)
    context.route("http*://**", lambda route: route.abort())
    page = context.new_page()
    page.goto(path.as_uri(), wait_until="load")
    return page


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_contents_link_every_section_and_the_walk_is_explained(browser, comoros_audited, tmp_path,  # noqa: F811
                                                                       lang):
    page = _open(browser, report_html(comoros_audited, lang, map_file=None), tmp_path, f"report_{lang}.html")
    targets = page.evaluate("""() => [...document.querySelectorAll('nav.contents a')].map(a => {
        const h = document.querySelector(a.getAttribute('href'));
        return [a.textContent, h ? h.textContent : null, h ? h.getBoundingClientRect().height : 0]; })""")
    assert len(targets) == 8 and all(text == heading and height > 0 for text, heading, height in targets), targets
    method = page.locator("p.method").all_inner_texts()
    median, long_walk, pct = walk_figures(comoros_audited)
    assert "travel_time.tif" in method[0] and f"{pct:.1f}%" in method[1] and f"{long_walk:,.0f}" in method[1]
    assert (f"{median:.1f} min" if lang == "en" else f"{median:.1f} 分钟") in method[1]
    caption = page.locator("#map ~ figure figcaption").inner_text()
    assert caption == label("report_map_caption", lang, mode="drive" if lang == "en" else "驾车", minutes=15.0)
    page.context.close()


_ORDER = """() => {
  const cell = document.querySelector('table.audit-by-rule tbody td:last-child');
  const node = cell.firstChild, text = node.textContent;
  const left = word => { const r = document.createRange(), i = text.indexOf(word);
    r.setStart(node, i); r.setEnd(node, i + word.length); return r.getBoundingClientRect().left; };
  return [left('الكبرى'), left('موهيلي')];
}"""


def test_names_in_arabic_script_keep_their_order_in_a_list(browser, tmp_path):  # noqa: F811
    """Ngazidja القمر الكبرى, موهيلي Mwali: the first name's Arabic words stay left of the second's."""
    audit = pd.DataFrame({"rule_id": ["S2", "S2"], "measure": ["% of residents within 15 min"] * 2,
                          "unit_name": ["Ngazidja القمر الكبرى", "موهيلي Mwali"], "status": ["fail", "fail"],
                          "to_add": [2.0, 1.0]})
    from geocover.render.report_tables import html_table

    table = html_table(audit_by_rule(audit, "en"), "en", 15.0, "audit-by-rule")
    page = _open(browser, f'<html lang="en"><body>{table}</body></html>', tmp_path, "isolated.html")
    first, second = page.evaluate(_ORDER)
    assert first < second
    page.context.close()
    # Without the isolates the browser reads "القمر الكبرى, موهيلي" as one right-to-left run: the check can fail.
    plain = table.replace(ISOLATE, "").replace(POP_ISOLATE, "")
    page = _open(browser, f'<html lang="en"><body>{plain}</body></html>', tmp_path, "plain.html")
    first, second = page.evaluate(_ORDER)
    assert first > second
    page.context.close()


def test_map_legend_says_the_minutes_include_the_walk_and_fits_at_1280x720(browser, comoros_audited,  # noqa: F811
                                                                            tmp_path):
    page = _open(browser, render(coverage_map(comoros_audited, lang="zh", tiles="none")), tmp_path, "map_zh.html")
    page.wait_for_timeout(300)
    legend = page.locator(".gc-legend")
    assert "含步行到道路的时间（5公里/小时）" in legend.inner_text()
    box = legend.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"]
    assert page.evaluate("() => { const l = document.querySelector('.gc-legend'); "
                         "return l.scrollHeight <= l.clientHeight + 1; }")  # nothing hidden behind a scroll bar
    page.context.close()


def test_a_chinese_workbook_has_chinese_headers_with_the_keys_and_codes_as_text(tmp_path):
    table = pd.DataFrame({"zone_id": ["521123000000"], "zone_name": ["城关镇"], "pop_within_15": [12345.4],
                          "pct_within_15": [81.04], "pop_urban_within_15": [10.0], "catchment_exclusive_30": [7.0],
                          "offroad_minutes": [3.26], "custom_field": ["travel_time"]})
    write_workbook({"zones": table}, tmp_path / "zh.xlsx", lang="zh")
    write_workbook({"zones": table}, tmp_path / "en.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "zh.xlsx")["zones"]
    assert [cell.value for cell in sheet[1]] == [
        "代码（zone_id）", "区域（zone_name）", "15分钟内人口（pop_within_15）",
        "15分钟内人口占比（%）（pct_within_15）",
        "15分钟内城镇人口（pop_urban_within_15）", "其30分钟内以其为最近机构的人口（catchment_exclusive_30）",
        "离路步行时间（分钟）（offroad_minutes）", "custom_field"]
    assert [cell.value for cell in sheet[2]] == ["521123000000", "城关镇", 12345, 81.0, 10, 7, 3.3, "travel_time"]
    assert sheet["A2"].data_type == "s" and sheet["A2"].number_format == "@"
    english = openpyxl.load_workbook(tmp_path / "en.xlsx")["zones"]
    assert [cell.value for cell in english[1]] == list(table.columns)


def test_missing_facility_fields_read_in_chinese_with_the_field_to_add():
    assert value_text("missing", "facilities.has_tcm_hall", "zh") == "机构图层字段“中医馆”（has_tcm_hall）"
    assert value_text("missing", "facilities.has_geriatrics_department, facilities.hospital_type", "zh") == \
        "机构图层字段“老年医学科”（has_geriatrics_department）、facilities.hospital_type"
    assert value_text("missing", "facilities.has_tcm_hall", "en") == "facilities.has_tcm_hall"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_print_map_says_its_minutes_include_the_walk(comoros_audited, lang):
    with matplotlib.rc_context(cjk_rc()):
        figure, _ = draw_static_map(comoros_audited, lang)
    texts = [text.get_text() for text in figure.texts]
    walk = label("legend_walk", lang, kmh="5")
    assert sum(walk in text for text in texts) == 1, texts
    assert walk == ("incl. the walk to the road (5 km/h)" if lang == "en" else "含步行到道路的时间（5公里/小时）")
