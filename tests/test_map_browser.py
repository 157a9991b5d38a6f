"""The map in a real headless Chromium with the network blocked: it draws, it is safe, it is the same twice."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from geocover.cli import main
from tests.conftest import ROOT

HOSTILE = """<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> O'Brien "quoted\""""
CHINESE = "解放路社区卫生服务站"


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        message = "Debian's chromium is not installed (apt-get install chromium); .ci/run installs it"
        if os.environ.get("GEOCOVER_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def hostile_map(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    facilities = json.loads((ROOT / "data" / "facilities" / "helsinki_care.geojson").read_text(encoding="utf-8"))
    facilities["features"][0]["properties"]["name"] = HOSTILE
    facilities["features"][1]["properties"]["name"] = CHINESE
    (folder / "care.geojson").write_text(json.dumps(facilities, ensure_ascii=False), encoding="utf-8")
    config = (ROOT / "configs" / "demo.yaml").read_text(encoding="utf-8")
    config = config.replace("../data/facilities/helsinki_care.geojson", str(folder / "care.geojson"))
    config = config.replace("../data/", f"{ROOT / 'data'}/").replace("  attribution:", "  tiles: none\n  attribution:")
    (folder / "hostile.yaml").write_text(config, encoding="utf-8")
    out = folder / "out"
    assert main(["run", str(folder / "hostile.yaml"), "--out", str(out), "--quiet"]) == 0
    return out / "map.html"


@pytest.fixture(scope="module")
def page(hostile_map):
    executable = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        failed: list[str] = []
        context.route("http*://**", lambda route: (failed.append(route.request.url), route.abort()))
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(hostile_map.as_uri())
        page.wait_for_timeout(500)
        page.failed_requests = failed
        page.console_errors = errors
        yield page
        browser.close()


def test_leaflet_is_inline_and_nothing_is_fetched(page):
    assert page.evaluate("typeof window.L") == "object"
    assert page.failed_requests == []
    assert page.console_errors == []


def test_layer_control_lists_the_configured_layers(page):
    labels = [label.strip() for label in page.locator(".leaflet-control-layers-overlays label").all_inner_texts()]
    assert labels == [
        "Within 15 min (walk)", "Within 10 min (walk)", "Within 5 min (walk)",
        "grid_500m: % within 15 min", "Gaps: people beyond 15 min", "Facilities",
    ]


def test_every_vector_layer_drew_paths(page):
    drawn = page.evaluate("""() => {
        const map = Object.values(window).find(v => v instanceof L.Map);
        const counts = {};
        map.eachLayer(layer => {
            if (layer instanceof L.Path && layer._path) {
                const kind = layer instanceof L.CircleMarker ? "marker" : "polygon";
                counts[kind] = (counts[kind] || 0) + 1;
            }
        });
        return counts;
    }""")
    # Six facilities as circle markers; 3 bands + 14 zones + at least one gap as polygons.
    assert drawn["marker"] == 6
    assert drawn["polygon"] >= 3 + 14 + 1


def _click_facility(page, name: str) -> str:
    point = page.evaluate("""(name) => {
        const map = Object.values(window).find(v => v instanceof L.Map);
        let found = null;
        const text = (content) => {  // an inert template: nothing in it loads or runs
            const t = document.createElement("template");
            t.innerHTML = typeof content === "string" ? content : content.outerHTML;
            return t.content.textContent.trim();
        };
        map.eachLayer(layer => {
            if (layer instanceof L.CircleMarker && layer.getTooltip() &&
                text(layer.getTooltip().getContent()) === name) { found = layer; }
        });
        const p = map.latLngToContainerPoint(found.getLatLng());
        const box = map.getContainer().getBoundingClientRect();
        return {x: box.left + p.x, y: box.top + p.y};
    }""", name)
    page.mouse.click(point["x"], point["y"])
    page.wait_for_selector(".leaflet-popup-content")
    return page.locator(".leaflet-popup-content").last.inner_text()


def test_clicking_a_facility_opens_its_popup_with_the_hostile_name_as_text(page):
    text = _click_facility(page, HOSTILE)
    assert HOSTILE in text
    assert "tier: doctors" in text
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".leaflet-popup-content img").count() == 0


def test_chinese_names_render(page):
    text = _click_facility(page, CHINESE)
    assert CHINESE in text
