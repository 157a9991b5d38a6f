"""The map in a real headless Chromium with the network blocked: it draws, it is safe, it speaks Chinese.

Every request to the network is aborted and recorded, so "nothing failed" means nothing was asked
for; with a base map only tile requests may fail.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import re
import shutil
import time

import numpy as np
import pandas as pd
import pyproj
import pytest
from PIL import Image

from geocover.cli import main
from geocover.pipeline import run_scenario
from geocover.render.assets import render
from geocover.render.folium_map import coverage_map
from geocover.render.print_map import GAP_COLOUR, class_colours
from tests.conftest import ROOT
from tests.test_map_size import comoros_result, synthetic_result

HOSTILE = """<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> O'Brien "quoted\""""
CHINESE = "解放路社区卫生服务站"
NETWORK = re.compile(r"^(https?|wss?)://")
OSM_TILE = re.compile(r"^https://tile\.openstreetmap\.org/\d+/\d+/\d+\.png$")

_MAP = "Object.values(window).find(v => v instanceof L.Map)"
_OVERLAYS = "() => (" + _MAP + ").gcEntries"  # the layer control's entries: {name, group, keys, layer}
_ALL_ON = "() => { const map = " + _MAP + "; map.gcEntries.forEach(e => map.addLayer(e.layer)); }"


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        message = "Debian's chromium is not installed (apt-get install chromium); .ci/run installs it"
        if os.environ.get("GEOCOVER_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The demo with a hostile and a Chinese facility name: its result and its maps in three variants."""
    folder = tmp_path_factory.mktemp("hostile")
    facilities = json.loads((ROOT / "data" / "facilities" / "helsinki_care.geojson").read_text(encoding="utf-8"))
    facilities["features"][0]["properties"]["name"] = HOSTILE
    facilities["features"][1]["properties"]["name"] = CHINESE
    facilities["features"][2]["properties"]["name"] = None
    (folder / "care.geojson").write_text(json.dumps(facilities, ensure_ascii=False), encoding="utf-8")
    config = (ROOT / "configs" / "demo.yaml").read_text(encoding="utf-8")
    config = config.replace("../data/facilities/helsinki_care.geojson", str(folder / "care.geojson"))
    config = config.replace("../data/", f"{ROOT / 'data'}/").replace("  attribution:", "  tiles: none\n  attribution:")
    config = config.replace("  - level: grid_500m\n", "  - level: grid_500m\n    label: 500 m square\n"
                            "    label_zh: 500米网格\n")
    config = config.replace("map:\n", "map:\n  title_zh: 赫尔辛基中心步行就医时间\n")
    (folder / "hostile.yaml").write_text(config, encoding="utf-8")
    assert main(["run", str(folder / "hostile.yaml"), "--out", str(folder / "en"), "--quiet"]) == 0
    result = run_scenario(folder / "hostile.yaml", progress=False)
    maps = {"en": folder / "en" / "map.html", "zh": folder / "zh.html", "osm": folder / "osm.html"}
    maps["zh"].write_text(render(coverage_map(result, lang="zh")), encoding="utf-8")
    maps["osm"].write_text(render(coverage_map(result, tiles="OpenStreetMap")), encoding="utf-8")
    return result, maps


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


def _open(browser, path, wait: bool = True):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    failed: list[str] = []
    context.route(NETWORK, lambda route: (failed.append(route.request.url), route.abort()))
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.failed_requests, page.console_errors = failed, errors
    page.goto(path.as_uri(), wait_until="commit" if not wait else "load")
    if wait:
        page.wait_for_timeout(300)
    return page


@pytest.fixture(scope="module")
def page(browser, hostile):
    page = _open(browser, hostile[1]["en"])
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def page_zh(browser, hostile):
    page = _open(browser, hostile[1]["zh"])
    yield page
    page.context.close()


def test_leaflet_is_inline_and_nothing_is_fetched(page):
    assert page.evaluate("typeof window.L") == "object"
    assert page.evaluate("document.querySelectorAll('script[src], link[href]').length") == 0
    assert page.failed_requests == []
    assert page.console_errors == []


def test_with_a_base_map_only_tiles_fail(browser, hostile):
    page = _open(browser, hostile[1]["osm"])
    page.wait_for_timeout(500)
    assert page.failed_requests, "the OpenStreetMap tiles were requested"
    assert [url for url in page.failed_requests if not OSM_TILE.match(url)] == []
    assert [e for e in page.console_errors if "net::ERR_FAILED" not in e] == []
    page.context.close()


def _labels(page) -> list[str]:
    """The layer control's lines, group headings included, in order."""
    return [text.strip() for text in
            page.locator(".leaflet-control-layers-overlays > *").all_text_contents()]


def test_layer_control_lists_the_configured_layers_by_group(page):
    assert _labels(page) == [
        "Travel time", "Travel time surface (walk)", "Within 15 min (walk)", "Within 10 min (walk)",
        "Within 5 min (walk)", "% of people within 15 min, by 500 m square", "Gaps: people beyond 15 min",
        "Base data", "Facilities: clinic", "Facilities: doctors",
    ]
    assert page.locator(".leaflet-control-layers-expanded").count() == 0, "the layer control starts collapsed"


def test_chinese_labels_render_in_a_cjk_font(page_zh):
    assert page_zh.evaluate("document.documentElement.lang") == "zh-CN"
    assert page_zh.title() == "赫尔辛基中心步行就医时间"
    labels = _labels(page_zh)
    assert labels == [
        "出行时间", "出行时间面（步行）", "15分钟内可达（步行）", "10分钟内可达（步行）", "5分钟内可达（步行）",
        "15分钟内人口占比（按500米网格）", "服务空白区：15分钟以外人口", "基础数据", "医疗机构：门诊部",
        "医疗机构：诊所",
    ]
    assert not re.search("[A-Za-z]", "".join(labels)), "no English left in the layer names"
    legend = page_zh.locator(".gc-legend").inner_text()
    assert not re.search("[A-Za-z]", legend.replace(page_zh.title(), "")), legend
    cdp = page_zh.context.new_cdp_session(page_zh)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    page_zh.hover(".leaflet-control-layers")
    nodes = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": ".leaflet-control-layers-overlays span span"})
    text = "".join(page_zh.locator(".leaflet-control-layers-overlays span span").all_text_contents()).strip()
    glyphs: dict[str, int] = {}
    for node in nodes["nodeIds"]:
        for font in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]:
            glyphs[font["familyName"]] = glyphs.get(font["familyName"], 0) + font["glyphCount"]
    # Every character of the labels (Han, digits, full-width colons) was drawn from Noto Sans CJK SC.
    assert glyphs.get("Noto Sans CJK SC", 0) >= len(text.replace(" ", "")) > 50


def test_every_vector_layer_drew_paths(browser, hostile):
    result = hostile[0]
    page = _open(browser, hostile[1]["en"])
    page.evaluate(_ALL_ON)
    drawn = page.evaluate(f"""() => ({_OVERLAYS})().map(entry => {{
        let paths = 0, markers = 0;
        const visit = layer => {{
            if (layer._path && layer._path.getAttribute("d")) paths += 1;
            if (layer._icon && layer._icon.querySelector("svg")) markers += 1;
            if (layer.eachLayer) layer.eachLayer(visit);
        }};
        visit(entry.layer);
        return [entry.name.trim(), paths, markers];
    }})""")
    counts = {name: (paths, markers) for name, paths, markers in drawn}
    for minutes in (5, 10, 15):
        assert counts[f"Within {minutes} min (walk)"] == (1, 0)
    assert counts["% of people within 15 min, by 500 m square"] == (len(result.zones), 0)
    assert counts["Gaps: people beyond 15 min"] == (len(result.gaps), 0)
    tiers = result.facilities["tier"].value_counts()
    assert counts["Facilities: clinic"] == (0, tiers["clinic"])
    assert counts["Facilities: doctors"] == (0, tiers["doctors"])
    page.context.close()


def _click_facility(page, name: str) -> str:
    page.keyboard.press("Escape")
    point = page.evaluate("""(name) => {
        const map = """ + _MAP + """;
        let found = null;
        const text = (content) => {  // an inert template: nothing in it loads or runs
            const t = document.createElement("template");
            t.innerHTML = typeof content === "string" ? content : content.outerHTML;
            return t.content.textContent.trim();
        };
        map.eachLayer(layer => {
            if (layer instanceof L.Marker && layer.feature && text(layer.feature.properties.name) === name) {
                found = layer;
            }
        });
        map.setView(found.getLatLng(), map.getZoom(), {animate: false});
        const p = map.latLngToContainerPoint(found.getLatLng());
        const box = map.getContainer().getBoundingClientRect();
        return {x: box.left + p.x, y: box.top + p.y};
    }""", name)
    page.wait_for_timeout(300)
    page.mouse.click(point["x"], point["y"])
    page.wait_for_selector(".leaflet-popup-content")
    return page.locator(".leaflet-popup-content").last.inner_text()


def _cells(text: str) -> dict[str, str]:
    rows = [line.split("\t") for line in text.splitlines() if "\t" in line]
    return {key.strip(): value.strip() for key, value in rows}


def test_clicking_a_facility_opens_its_popup_with_the_hostile_name_as_text(page, hostile):
    facility = hostile[0].facilities.set_index("name").loc[HOSTILE]
    cells = _cells(_click_facility(page, HOSTILE))
    assert cells["Name"] == HOSTILE
    assert cells["Tier"] == "doctors"
    served = cells["People within 15 min, nearest facility"]
    assert served == f"{facility['population_within_target']:,.0f}"
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".leaflet-popup-content img, .leaflet-popup-content script").count() == 0


def test_chinese_popup_fields_and_names(page_zh, hostile):
    facility = hostile[0].facilities.set_index("name").loc[CHINESE]
    cells = _cells(_click_facility(page_zh, CHINESE))
    assert cells["名称"] == CHINESE
    assert cells["类别"] == {"clinic": "门诊部", "doctors": "诊所"}[facility["tier"]]
    assert cells["15分钟内服务人口（最近机构）"] == f"{facility['population_within_target']:,.0f}"


def _legend_lines(page) -> list[str]:
    return [line.strip() for line in page.locator(".gc-legend").inner_text().splitlines() if line.strip()]


def test_default_view_is_surface_gaps_and_facilities_and_the_legend_shows_only_their_keys(page, hostile):
    on = page.evaluate(f"() => ({_OVERLAYS})().filter(e => ({_MAP}).hasLayer(e.layer)).map(e => e.name)")
    assert on == ["Travel time surface (walk)", "Gaps: people beyond 15 min", "Facilities: clinic",
                  "Facilities: doctors"]
    result = hostile[0]
    people = result.access.grid.population[result.access.grid.valid] > 0
    unreachable = bool(np.isposinf(result.access.minutes[result.access.grid.valid][people]).any())
    assert _legend_lines(page) == [
        "Legend", "Central Helsinki - walking time to a doctor or clinic", "Travel time (walk, min)",
        f"incl. the walk to the road ({result.access.offroad_kmh:g} km/h)", "≤ 5", "5–10", "10–15", "> 15",
        *(["no facility reachable"] if unreachable else []),
        "Gap: people beyond 15 min", "Facilities", "clinic", "doctors"]
    attribution = page.locator(".leaflet-control-attribution").inner_text()
    assert hostile[0].config.map.attribution in attribution
    assert page.locator(".leaflet-control-scale-line").all_inner_texts()[0].endswith(" m") or \
        page.locator(".leaflet-control-scale-line").all_inner_texts()[0].endswith(" km")
    assert page.locator(".leaflet-control-scale-line").count() == 1, "metric only"


def test_legend_follows_the_layers_toggled(browser, hostile):
    page = _open(browser, hostile[1]["en"])
    page.hover(".leaflet-control-layers")
    page.get_by_label("% of people within 15 min, by 500 m square").check()
    assert "% of people within 15 min" in _legend_lines(page)
    page.get_by_label("Travel time surface (walk)").uncheck()
    assert "Travel time (walk, min)" not in _legend_lines(page)
    page.get_by_label("Within 5 min (walk)").check()
    assert "Travel time (walk, min)" in _legend_lines(page)
    page.get_by_label("Facilities: clinic").uncheck()
    lines = _legend_lines(page)
    assert "clinic" not in lines and "doctors" in lines
    page.locator(".gc-legend summary").click()
    assert _legend_lines(page) == ["Legend"], "the legend folds away"
    page.context.close()


def test_full_screen_button_puts_the_map_in_full_screen(page):
    page.keyboard.press("Escape")
    page.locator(".gc-fullscreen a").click()
    page.wait_for_function("document.fullscreenElement !== null")
    assert page.evaluate(f"document.fullscreenElement === {_MAP}.getContainer()")
    page.locator(".gc-fullscreen a").click()
    page.wait_for_function("document.fullscreenElement === null")


def test_ruler_measures_great_circle_distance(page):
    page.keyboard.press("Escape")
    page.locator(".gc-measure a").click()
    box = page.locator(".leaflet-container").bounding_box()
    clicks = [(box["x"] + 60, box["y"] + 400), (box["x"] + 60, box["y"] + 700), (box["x"] + 300, box["y"] + 700)]
    for x, y in clicks:
        page.mouse.click(x, y)
    shown = page.locator(".gc-measure-output").inner_text()
    points = page.evaluate("""(clicks) => {
        const map = """ + _MAP + """;
        const box = map.getContainer().getBoundingClientRect();
        return clicks.map(([x, y]) => map.containerPointToLatLng([x - box.left, y - box.top]));
    }""", clicks)
    page.locator(".gc-measure a").click()

    def haversine(a, b):  # Leaflet's Earth radius, 6,371 km
        la1, la2 = math.radians(a["lat"]), math.radians(b["lat"])
        h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin(
            math.radians(b["lng"] - a["lng"]) / 2) ** 2
        return 2 * 6_371_000 * math.asin(math.sqrt(h))

    metres = haversine(points[0], points[1]) + haversine(points[1], points[2])
    expected = f"{metres / 1000:.2f} km" if metres >= 1000 else f"{round(metres)} m"
    assert shown == expected
    assert page.locator(".gc-measuring").count() == 0


def test_travel_time_surface_shows_each_cells_class(page, hostile):
    result = hostile[0]
    page.wait_for_function("document.querySelector('img.gc-surface') && "
                           "document.querySelector('img.gc-surface').naturalWidth > 0")
    url, bounds = page.evaluate(f"""() => {{
        let found = null;
        {_MAP}.eachLayer(layer => {{ if (layer instanceof L.ImageOverlay) found = layer; }});
        const b = found.getBounds();
        return [found._url, [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()]];
    }}""")
    image = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGBA"))
    to_mercator = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    (x0, x1), (y0, y1) = to_mercator.transform([bounds[1], bounds[3]], [bounds[0], bounds[2]])
    grid, minutes = result.access.grid, result.access.minutes
    # The class of each cell, computed here from its minutes: 0 (≤5), 1 (5–10), 2 (10–15), 3 (>15), 4 (none).
    expected = np.full(grid.shape, -1)
    for k, (low, high) in enumerate([(-1, 5), (5, 10), (10, 15), (15, np.inf)]):
        expected[(minutes > low) & (minutes <= high)] = k
    expected[np.isposinf(minutes)] = 4
    expected[~grid.valid | ~(np.nan_to_num(grid.population) > 0)] = -1  # no people: transparent
    colours = class_colours([5, 10, 15])
    rows, cols = np.nonzero(expected >= 0)
    to_lonlat = pyproj.Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    checked = matched = 0
    for row, col in zip(rows, cols, strict=True):
        x, y = grid.transform @ (col + 0.5, row + 0.5)
        mx, my = to_mercator.transform(*to_lonlat.transform(x, y))
        px = int((mx - x0) / (x1 - x0) * image.shape[1])
        py = int((y1 - my) / (y1 - y0) * image.shape[0])
        colour = colours[expected[row, col]]
        matched += tuple(image[py, px]) == (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16), 255)
        checked += 1
    # A cell's centre may fall in its neighbour's pixel after reprojection, rarely.
    assert checked > 100 and matched >= 0.97 * checked
    outside = np.argwhere(~grid.valid)
    assert image[0, 0, 3] == 0 or len(outside) == 0


def _load_times(browser, html_path, expected_paths: int) -> tuple[float, float]:
    start = time.perf_counter()
    page = _open(browser, html_path, wait=False)
    page.wait_for_function("typeof window.L === 'object'", timeout=60_000)
    leaflet = time.perf_counter() - start
    page.wait_for_function("window.L && (() => { const m = " + _MAP + "; return m && m.gcEntries; })()",
                           timeout=60_000, polling=50)
    page.evaluate(_ALL_ON)
    page.wait_for_function(f"document.querySelectorAll('.leaflet-overlay-pane path').length >= {expected_paths}",
                           timeout=60_000, polling=50)
    drawn = time.perf_counter() - start
    assert page.failed_requests == [] and page.console_errors == []
    page.context.close()
    return leaflet, drawn


@pytest.mark.parametrize("name", ["comoros", "synthetic"])
def test_large_maps_load_and_draw_every_path_in_seconds(browser, tmp_path, name):
    result = comoros_result() if name == "comoros" else synthetic_result()
    path = tmp_path / "map.html"
    path.write_text(render(coverage_map(result, tiles="none")), encoding="utf-8")
    paths = int((~result.service_areas.geometry.is_empty).sum()) + len(result.zones) + len(result.gaps)
    leaflet, drawn = _load_times(browser, path, paths)
    print(f"{name}: {path.stat().st_size / 1e6:.2f} MB, window.L after {leaflet:.2f} s, "
          f"{paths} paths drawn after {drawn:.2f} s")
    assert leaflet < 10 and drawn < 30


def test_proposed_sites_show_with_their_rank_legend_and_the_people_each_adds(browser, tmp_path):
    out = tmp_path / "site"
    assert main(["site", str(ROOT / "configs" / "demo.yaml"), "--k", "2", "--out", str(out), "--quiet",
                 "--offline"]) == 0
    sites = pd.read_csv(out / "proposed_sites.csv", encoding="utf-8-sig")
    report = (out / "report.html").read_text(encoding="utf-8")
    before = sites["cumulative_population"].iloc[-1] - sites["population_added"].sum()
    said = re.search(rf"With the {len(sites)} proposed sites, the people covered in the study area rise from "
                     r"([\d,]+) to ([\d,]+) \(proposed_sites\.csv\)\.", report)
    assert said is not None
    # the CSV holds whole people per site: the sum of its rounded figures may differ by half a person per site
    assert float(said[1].replace(",", "")) == pytest.approx(before, abs=len(sites) / 2 + 0.5)
    assert float(said[2].replace(",", "")) == pytest.approx(sites["cumulative_population"].iloc[-1], abs=0.5)
    for site in sites.itertuples():
        assert f"{site.lat:.5f}, {site.lon:.5f}" in report and f"{site.population_added:,.0f}" in report
    page = _open(browser, out / "map.html")
    assert "Siting" in _labels(page) and "Proposed sites" in _labels(page)
    assert "Proposed site (number = rank)" in _legend_lines(page)
    found = page.evaluate(f"""() => {{
        const entry = ({_OVERLAYS})().find(e => e.name.trim() === "Proposed sites");
        const found = [];
        entry.layer.eachLayer(layer => found.push([layer._icon.textContent.trim(),
                                                   layer.getPopup().getContent()]));
        return found;
    }}""")
    expected = [[str(r.rank), f"Proposed site {r.rank}: adds {r.population_added:,.0f} people"]
                for r in sites.itertuples()]
    assert sorted(found) == sorted(expected), "each marker carries its rank and its popup the people it adds"
    point = page.evaluate(f"""() => {{
        const map = {_MAP};
        const entry = ({_OVERLAYS})().find(e => e.name.trim() === "Proposed sites");
        const first = entry.layer.getLayers().find(layer => layer._icon.textContent.trim() === "1");
        map.setView(first.getLatLng(), map.getZoom(), {{animate: false}});
        const p = map.latLngToContainerPoint(first.getLatLng());
        const box = map.getContainer().getBoundingClientRect();
        return {{x: box.left + p.x, y: box.top + p.y}};
    }}""")
    page.wait_for_timeout(300)
    page.mouse.click(point["x"], point["y"])
    page.wait_for_selector(".leaflet-popup-content")
    assert page.locator(".leaflet-popup-content").last.inner_text().strip() == expected[0][1]
    assert page.console_errors == [] and page.failed_requests == []
    page.context.close()


def test_unnamed_facility_popup_names_its_tier_and_id(page, hostile):
    facilities = hostile[0].facilities
    unnamed = facilities[facilities["name"].isna() | (facilities["name"].astype(str).str.strip() == "")]
    assert len(unnamed) >= 1
    row = unnamed.iloc[0]
    name = f"{row['tier']} {row['facility_id']}"
    cells = _cells(_click_facility(page, name))
    assert cells["Name"] == name and cells["Tier"] == row["tier"]


def _rects(page, selector: str, frame=None) -> list[dict]:
    target = frame or page
    return target.evaluate(f"""() => Array.from(document.querySelectorAll({json.dumps(selector)}))
        .map(e => e.getBoundingClientRect()).filter(r => r.width > 0 && r.height > 0)
        .map(r => ({{left: r.left, top: r.top, right: r.right, bottom: r.bottom}}))""")


def _overlap(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


def _check_layout(target, zones) -> None:
    """Layer control and legend apart; every zone's centroid inside the map and under no control."""
    (layers,) = _rects(None, ".leaflet-control-layers", target)
    (legend,) = _rects(None, ".gc-legend", target)
    assert not _overlap(layers, legend)
    controls = _rects(None, ".leaflet-control", target)
    points = zones.to_crs(3857).geometry.centroid.to_crs(4326)
    pixels = target.evaluate("""(points) => {
        const map = """ + _MAP + """;
        const box = map.getContainer().getBoundingClientRect();
        return [points.map(([lat, lon]) => { const p = map.latLngToContainerPoint([lat, lon]);
                                             return {x: box.left + p.x, y: box.top + p.y}; }),
                {left: box.left, top: box.top, right: box.right, bottom: box.bottom}];
    }""", [[p.y, p.x] for p in points])
    centroids, box = pixels
    for point in centroids:
        assert box["left"] <= point["x"] <= box["right"] and box["top"] <= point["y"] <= box["bottom"]
        dot = {"left": point["x"], "right": point["x"] + 0.1, "top": point["y"], "bottom": point["y"] + 0.1}
        assert not any(_overlap(dot, control) for control in controls), point


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_at_1280x720_controls_leave_every_zone_centroid_visible(browser, hostile, lang):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.route(NETWORK, lambda route: route.abort())
    page = context.new_page()
    page.goto(hostile[1][lang].as_uri())
    page.wait_for_timeout(500)
    _check_layout(page, hostile[0].zones)
    context.close()


def test_in_the_reports_iframe_controls_leave_every_zone_centroid_visible(browser, hostile):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.route(NETWORK, lambda route: route.abort())
    page = context.new_page()
    page.goto((hostile[1]["en"].parent / "report.html").as_uri())
    page.locator("iframe").scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    frame = next(f for f in page.frames if f.url.endswith("map.html"))
    _check_layout(frame, hostile[0].zones)
    context.close()


def test_default_view_draws_only_legend_colours(browser, hostile):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.route(NETWORK, lambda route: route.abort())
    page = context.new_page()
    page.goto(hostile[1]["en"].as_uri())
    page.wait_for_timeout(500)
    swatches = page.evaluate("""() => Array.from(document.querySelectorAll('.gc-legend .gc-swatch'))
        .filter(e => e.offsetParent !== null).map(e => getComputedStyle(e).backgroundColor)""")
    legend = {tuple(int(v) for v in re.findall(r"\d+", colour)[:3]) for colour in swatches
              if not colour.startswith("rgba(0, 0, 0, 0)")}
    controls = _rects(page, ".leaflet-control")
    page.evaluate("() => document.querySelectorAll('.leaflet-marker-pane, .leaflet-control-container')"
                  ".forEach(e => e.style.visibility = 'hidden')")
    shot = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB")).astype(int)
    mask = np.ones(shot.shape[:2], dtype=bool)
    for rect in controls:
        mask[int(rect["top"]):int(rect["bottom"]) + 1, int(rect["left"]):int(rect["right"]) + 1] = False
    background = np.array([0xf2, 0xf0, 0xeb])
    pixels = shot[mask & (np.abs(shot - background).max(axis=2) > 2)]
    gap = np.array([int(GAP_COLOUR[i:i + 2], 16) for i in (1, 3, 5)])
    pixels = pixels[np.abs(pixels - gap).max(axis=1) > 40]  # the gaps' outline (and its antialiased edge)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    exact = sum(count for colour, count in zip(colours, counts, strict=True)
                if any(np.abs(colour - np.array(c)).max() <= 2 for c in legend))
    # Cell edges are smoothed when the browser scales the image; everything else is a legend colour.
    assert len(pixels) > 1000 and exact >= 0.9 * len(pixels), (exact, len(pixels))
    top = colours[np.argsort(counts)[::-1][:3]]
    assert all(any(np.abs(colour - np.array(c)).max() <= 2 for c in legend) for colour in top)
    context.close()


def test_comoros_at_1280x720_shows_every_island_and_commune_clear_of_the_controls(browser, tmp_path):
    result = comoros_result()
    path = tmp_path / "map.html"
    path.write_text(render(coverage_map(result, tiles="none")), encoding="utf-8")
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.route(NETWORK, lambda route: route.abort())
    page = context.new_page()
    page.goto(path.as_uri())
    page.wait_for_timeout(800)
    _check_layout(page, result.zones)
    context.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_opened_layer_list_lies_above_the_legend(browser, hostile, lang):
    """On a low window the opened layer list reaches the legend: every layer name stays readable on top."""
    context = browser.new_context(viewport={"width": 1280, "height": 460})
    context.route(NETWORK, lambda route: route.abort())
    page = context.new_page()
    page.goto(hostile[1][lang].as_uri())
    page.wait_for_timeout(500)
    page.hover(".leaflet-control-layers")
    page.wait_for_timeout(300)
    (layers,) = _rects(page, ".leaflet-control-layers")
    (legend,) = _rects(page, ".gc-legend")
    assert _overlap(layers, legend)  # the case under test
    hidden = page.evaluate("""() => Array.from(document.querySelectorAll('.leaflet-control-layers label'))
        .map(e => [e, e.getBoundingClientRect()]).filter(([e, r]) => r.height > 0 && r.bottom < innerHeight)
        .filter(([e, r]) => !e.closest('.leaflet-control-layers')
                              .contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2)))
        .map(([e, r]) => e.innerText)""")
    assert hidden == []
    context.close()
