"""The print map (PNG, PDF) and the report (HTML, PDF): colours where they belong, tables equal to the result."""

from __future__ import annotations

import dataclasses
import re
import warnings
from html.parser import HTMLParser

import matplotlib.colors
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from PIL import Image

from geocover.pipeline import run_scenario
from geocover.render.charts import class_population
from geocover.render.print_map import nice_length, write_static_map
from geocover.render.report import write_report
from geocover.render.summary import audit_by_rule, key_figures, most_beyond
from geocover.render.values import measure_text
from tests.conftest import ROOT

HOSTILE = '<script>window.__pwned=1</script> "Dr. O\'Brien"'
# The travel-time classes restated: ColorBrewer YlGnBu for 5, 10, 15 and beyond, black for unreachable.
CLASS_COLOURS = ["#ffffcc", "#81ceb9", "#3391bc", "#253494", "#000000"]  # 0, 1/3, 2/3, 1 along the ramp
TIER_COLOURS = {"clinic": "#ff7f00", "doctors": "#111111"}


@pytest.fixture(scope="module")
def demo():
    return run_scenario(ROOT / "configs" / "demo.yaml", progress=False)


@pytest.fixture(scope="module")
def static(demo, tmp_path_factory):
    folder = tmp_path_factory.mktemp("static")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        maps = {lang: write_static_map(demo, folder / f"map_{lang}.png", lang) for lang in ("en", "zh")}
    return maps, [str(w.message) for w in caught]


def test_each_cell_with_people_is_drawn_in_the_colour_of_its_travel_time(demo, static):
    made = static[0]["en"]
    image = np.asarray(Image.open(made.png).convert("RGB")).astype(int)
    grid, minutes = demo.access.grid, demo.access.minutes
    keep_off = shapely.union_all(np.concatenate([
        demo.gaps.to_crs(made.crs).boundary.buffer(30).to_numpy(),
        demo.zones.to_crs(made.crs).boundary.buffer(30).to_numpy(),
        demo.facilities.to_crs(made.crs).buffer(80).to_numpy()]))
    to_map = pyproj.Transformer.from_crs(grid.crs, made.crs, always_xy=True)
    checked = matched = 0
    for row, col in zip(*np.nonzero(grid.valid & (np.nan_to_num(grid.population) > 0)), strict=True):
        x, y = to_map.transform(*(grid.transform @ (col + 0.5, row + 0.5)))
        if keep_off.contains(shapely.Point(x, y)):
            continue
        value = minutes[row, col]
        k = 4 if np.isposinf(value) else int(np.searchsorted([5, 10, 15], value, side="left"))
        px, py = made.to_pixel @ (x, y)
        expected = np.round(255 * np.array(matplotlib.colors.to_rgb(CLASS_COLOURS[k])))
        matched += bool(np.abs(image[int(py), int(px)] - expected).max() <= 3)
        checked += 1
    # Inside gaps the light hatch crosses some cell centres; every other cell shows its class.
    assert checked > 100 and matched >= 0.85 * checked, (matched, checked)


def test_each_facility_carries_its_tier_colour(demo, static):
    made = static[0]["en"]
    image = np.asarray(Image.open(made.png).convert("RGB")).astype(int)
    points = demo.facilities.to_crs(made.crs)
    for facility in points.itertuples():
        col, row = made.to_pixel @ (facility.geometry.x, facility.geometry.y)
        expected = np.round(255 * np.array(matplotlib.colors.to_rgb(TIER_COLOURS[facility.tier])))
        np.testing.assert_allclose(image[int(round(row)), int(round(col))], expected, atol=3)


def test_static_maps_set_chinese_in_a_cjk_font_and_write_a_pdf(static):
    maps, caught = static
    assert [message for message in caught if "missing from font" in message] == []
    for made in maps.values():
        pdf = made.pdf.read_bytes()
        assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
    assert b"NotoSansCJK" in maps["zh"].pdf.read_bytes()
    with Image.open(maps["zh"].png) as png:
        assert png.size == (2338, 1654)  # A4 landscape at 200 dpi


def test_scale_bar_lengths_are_round():
    assert nice_length(7_300) == 1_000
    assert nice_length(120_000) == 20_000
    assert nice_length(2_600) == 500


class _Tables(HTMLParser):
    """Cells of every ``<table class=…>`` of a page, as text."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.texts: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._table = dict(attrs).get("class", "")
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        self.texts.append(data)


def _report(result, folder, lang="en") -> tuple[_Tables, str]:
    paths = write_report(result, folder, lang)
    page = paths["report.html"].read_text(encoding="utf-8")
    parser = _Tables()
    parser.feed(page)
    return parser, page


@pytest.fixture(scope="module")
def report_en(demo, tmp_path_factory):
    folder = tmp_path_factory.mktemp("report_en")
    return (*_report(demo, folder), folder)


def test_zone_table_equals_the_result(demo, report_en):
    tables = report_en[0].tables
    parts = [table for name, table in tables.items() if re.fullmatch(r"zones(-\d+)?", name)]
    assert len(parts) >= 2  # the zone table in groups of columns that fit a page
    assert all(len(part) - 1 == len(demo.table) and part[0][:2] == ["Level", "Zone"] for part in parts)
    rows = [dict(zip(sum((p[0] for p in parts), []), sum((p[i] for p in parts), []), strict=True))
            for i in range(1, len(demo.table) + 1)]
    assert sum(len(p[0]) - 2 for p in parts) == len(demo.table.columns) - 2  # every column once
    for row, (_, zone) in zip(rows, demo.table.iterrows(), strict=True):
        assert row["Zone"] == zone["zone_name"]
        assert int(row["Population"].replace(",", "")) == round(zone["population"])
        pct = 100.0 * zone["pop_within_15"] / zone["population"]
        assert row["% within 15 min"] == f"{pct:.1f}"
        assert int(row["People who reach no facility"].replace(",", "")) == round(zone["pop_unreachable"])


def test_facility_table_equals_the_result(demo, report_en):
    rows = report_en[0].tables["facilities"]
    header = rows[0]
    served = header.index("People within 15 min, nearest facility")
    table = {row[0]: int(row[served].replace(",", "")) for row in rows[1:]}
    assert table == {name: round(value) for name, value in
                     zip(demo.facilities["name"], demo.facilities["population_within_target"], strict=True)}


def test_report_has_charts_map_sources_and_says_there_was_no_audit(demo, report_en):
    parser, page, folder = report_en
    assert "No standards audit in this run." in parser.texts
    assert page.count("<svg") >= 2  # people by travel-time class and percent within 15 min, per zone level
    assert '<iframe src="map.html"' in page and 'src="data:image/png;base64,' in page
    assert demo.config.map.attribution in "".join(parser.texts)
    assert not re.search(r"(src|href)=\"https?://", page)
    assert (folder / "report.pdf").read_bytes().startswith(b"%PDF")


def test_travel_time_classes_add_up_to_each_zones_population(demo):
    classes = class_population(demo.table, [5, 10, 15])
    np.testing.assert_allclose(classes.sum(axis=1), demo.table["population"], rtol=1e-9)
    np.testing.assert_allclose(classes[:, 0], demo.table["pop_within_5"])
    np.testing.assert_allclose(classes[:, 2], demo.table["pop_within_15"] - demo.table["pop_within_10"])
    np.testing.assert_allclose(classes[:, 4], demo.table["pop_unreachable"])


def test_audit_hook_counts_and_lists_failures_first(demo, tmp_path):
    audit = pd.DataFrame({"rule_id": ["T1", "T2", "E5", "P3"], "measure": ["15-min reach"] * 4,
                          "unit_name": ["A", "B", "C", "D"], "status": ["pass", "fail", "not evaluable", "fail"]})
    result = dataclasses.replace(demo)
    result.audit = audit  # what geocover.standards.scenario_audit puts there
    parser, _ = _report(result, tmp_path)
    assert "1 checks met, 2 not met, 1 not evaluable or not set by the plan." in parser.texts
    rows = parser.tables["audit"]
    assert [row[rows[0].index("Status")] for row in rows[1:]] == ["not met", "not met", "met", "not evaluable"]
    assert [row[0] for row in rows[1:]] == ["T2", "P3", "T1", "E5"]


def test_hostile_names_are_text_in_the_report(demo, tmp_path):
    facilities = demo.facilities.copy()
    facilities.loc[0, "name"] = HOSTILE
    _, page = _report(dataclasses.replace(demo, facilities=facilities), tmp_path)
    assert "<script>window.__pwned" not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt; &quot;Dr. O&#x27;Brien&quot;" in page


def test_chinese_report(demo, tmp_path):
    parser, page = _report(demo, tmp_path, "zh")
    assert page.startswith('<!DOCTYPE html>\n<html lang="zh-CN">')
    header = [cell for name, table in parser.tables.items() if name.startswith("zones") for cell in table[0]]
    assert {"区域", "人口", "15分钟内人口占比（%）", "无法到达任何机构的人口"} <= set(header)
    assert "本次运行未进行规划标准审核。" in parser.texts


def test_the_same_result_writes_the_same_report(demo, tmp_path):
    first = write_report(demo, tmp_path / "a", "zh")
    second = write_report(demo, tmp_path / "b", "zh")
    for name in ("report.html", "report.pdf"):
        assert first[name].read_bytes() == second[name].read_bytes()


def test_report_leads_with_key_figures_and_the_zones_most_beyond_then_the_map(demo, tmp_path):
    html_text = write_report(demo, tmp_path, "en", map_file=None)["report.html"].read_text(encoding="utf-8")
    order = [html_text.index(f'id="{anchor}"') for anchor in ("key-figures", "most-beyond", "map", "charts")]
    assert order == sorted(order)
    figures = key_figures(demo, "en").iloc[0]
    table = demo.table
    assert figures["population"] == pytest.approx(table["population"].sum())
    assert figures["pct_within_15"] == pytest.approx(100 * table["pop_within_15"].sum() / table["population"].sum())
    assert f"{table['pop_beyond_15'].sum():,.0f}" in html_text
    beyond = sorted(zip(table["pop_beyond_15"], table["zone_name"], strict=True), key=lambda t: -t[0])[:5]
    assert list(most_beyond(demo, "en")["zone_name"]) == [name for _, name in beyond]


def test_audit_summary_counts_each_rules_units_and_names_the_furthest():
    audit = pd.DataFrame({
        "rule_id": ["S1", "S1", "S1", "S1", "S2", "S2"],
        "measure": ["% within 15 min"] * 4 + ["beds per 1,000"] * 2,
        "unit_name": ["A", "B", "C", "D", "A", "B"],
        "status": ["fail", "fail", "pass", "not evaluable", "pass", "pass"],
        "to_add": [10.0, 30.0, None, None, None, None],
    })
    summary = audit_by_rule(audit, "en").set_index("rule_id")
    assert summary.loc["S1", ["count_met", "count_not_met", "count_other"]].tolist() == [1, 2, 1]
    assert summary.loc["S1", "worst_units"] == "\u2068B\u2069, \u2068A\u2069"  # most to add first, each isolated
    assert summary.loc["S2", ["count_met", "count_not_met", "count_other", "worst_units"]].tolist() == [2, 0, 0, ""]


def test_audit_measures_read_as_plain_words_in_both_languages():
    measure = "% of township_health_centre / central_township_health_centre with has_tcm_hall"
    assert measure_text(measure, "en") == "% of township health centre, central township health centre with a TCM hall"
    assert measure_text(measure, "zh") == "具备中医馆的乡镇卫生院、中心乡镇卫生院占比（%）"
    assert measure_text("beds per 1,000 residents", "zh") == "每千居民床位数"
    assert measure_text("facilities (hospital or other)", "zh") == "医院或其他机构数"
