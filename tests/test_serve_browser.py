"""The planning workspace in a real headless Chromium with the network blocked, against a live server.

The server runs as ``geocover serve`` in a subprocess on a free port; every request from the page to
anywhere else is aborted and recorded, so the page must work with nothing from the network.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.request

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml

from geocover.api import demo_config
from geocover.config import load_config
from geocover.pipeline import run_scenario
from geocover.serve.state import Workspace
from tests.conftest import ROOT
from tests.test_map_browser import _chromium
from tests.test_serve_api import gap_point

playwright = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture()
def server(tmp_path):
    """``geocover serve`` of the demo (absolute paths, outputs in tmp) on a free port: (url, config path)."""
    config = load_config(demo_config())
    data = config.model_dump(mode="json", exclude_none=True, exclude={"source"})
    data["output_dir"] = str(tmp_path / "out")
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "geocover.cli", "serve", str(path), "--port", str(port),
                                "--no-browser"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(url + "api/workspace", timeout=2)
            break
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                process.kill()
                pytest.fail(f"the server did not start: {process.stdout.read().decode(errors='replace')[-2000:]}")
            time.sleep(0.3)
    yield url, path
    process.terminate()
    process.wait(timeout=10)


def _number(text: str) -> float:
    return float(re.match(r"[\d,.]+", text.strip()).group(0).replace(",", ""))


def _edits(url: str) -> list:
    with urllib.request.urlopen(url + "api/scenarios/baseline") as answer:
        return pd.read_json(answer, typ="series")["edits"]


def test_add_close_undo_export_reload_in_chromium(server, tmp_path):
    url, config_path = server
    config = load_config(config_path)
    reference = Workspace(config, tmp_path / "reference")
    lon, lat = gap_point(reference)
    base = reference.get("baseline").facilities
    added = gpd.GeoDataFrame({"facility_id": ["x"], "name": ["x"], "tier": ["clinic"]},
                             geometry=[shapely.Point(lon, lat)], crs="EPSG:4326")
    expected = run_scenario(config, progress=False, polygons=False,
                            facilities=gpd.GeoDataFrame(pd.concat([base, added], ignore_index=True), crs="EPSG:4326"))
    table = expected.table
    zone = table.loc[table["pop_within_15"].sub(reference.zone_rows("baseline")["pop_within_15"]).abs().idxmax()]
    blocked = []
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})

        def guard(route):
            if route.request.url.startswith(url):
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        page.route("**", guard)
        page.goto(url)
        page.wait_for_selector("#zones tr[data-zone]")
        figure = page.locator("#figures tr").nth(1).locator("td").nth(2)
        before = _number(figure.inner_text())
        page.select_option("#tier", "clinic")
        page.click("#add")
        x, y = page.evaluate("([lat, lon]) => { const p = window.gcMap.latLngToContainerPoint([lat, lon]);"
                             " return [p.x, p.y]; }", [lat, lon])
        box = page.locator("#map").bounding_box()
        page.mouse.click(box["x"] + x, box["y"] + y)
        page.wait_for_function(f"() => document.querySelector('#figures tr:nth-child(2) td:nth-child(3)')"
                               f".innerText.trim() !== {figure.inner_text().strip()!r}")
        # The key figure and the most changed zone's row equal a full run with the clinic added (rounded to people).
        assert _number(figure.inner_text()) == pytest.approx(round(table["pop_within_15"].sum()), abs=1)
        assert _number(figure.inner_text()) > before
        row = page.locator(f"#zones tr[data-zone='{zone['zone_id']}'] td")
        shown = [_number(row.nth(i).inner_text()) for i in range(2, 9)]
        wanted = [zone[c] for c in ("population", "pop_within_5", "pop_within_10", "pop_within_15", "pop_beyond_15",
                                    "pop_unreachable", "facilities")]
        np.testing.assert_allclose(shown, np.round(wanted), atol=1)
        # Close a facility from its popup, then undo that.
        page.locator(".leaflet-marker-icon").first.click()
        page.locator(".leaflet-popup button").click()
        page.wait_for_function("() => !document.querySelector('#undo').disabled")
        deadline = time.time() + 10
        while len(_edits(url)) != 2 and time.time() < deadline:
            page.wait_for_timeout(200)  # lets Playwright route the page's requests meanwhile
        assert [e["op"] for e in _edits(url)] == ["add", "remove"]
        page.click("#undo")
        deadline = time.time() + 10
        while len(_edits(url)) != 1 and time.time() < deadline:
            page.wait_for_timeout(200)  # lets Playwright route the page's requests meanwhile
        assert [e["op"] for e in _edits(url)] == ["add"]
        shown_after_undo = page.locator(f"#zones tr[data-zone='{zone['zone_id']}']").inner_text()
        # Export, and rerun the exported config.
        page.click("#export")
        page.wait_for_selector("#exported li", timeout=120_000)
        links = page.locator("#exported a").all_inner_texts()
        assert {"config.yaml", "facilities.gpkg", "facilities.xlsx", "outputs/coverage_by_zone.csv"} <= set(links)
        exported = config.output_folder() / "workspace" / "export" / "baseline"
        rerun = run_scenario(exported / "config.yaml", progress=False, polygons=False).table
        np.testing.assert_allclose(rerun["pop_within_15"], table["pop_within_15"], rtol=1e-9)
        # Reload: the scenario and its figures are still there.
        page.reload()
        page.wait_for_selector("#zones tr[data-zone]")
        page.wait_for_function("() => document.querySelector('#undo') && !document.querySelector('#undo').disabled")
        assert page.locator(f"#zones tr[data-zone='{zone['zone_id']}']").inner_text() == shown_after_undo
        # Drag a facility 60 px east: a move to where it was dropped.
        marker = page.locator(".leaflet-marker-icon").nth(1).bounding_box()
        start_x, start_y = marker["x"] + marker["width"] / 2, marker["y"] + marker["height"] / 2
        page.mouse.move(start_x, start_y)
        page.mouse.down()
        page.mouse.move(start_x + 60, start_y, steps=8)
        page.mouse.up()
        deadline = time.time() + 10
        while len(_edits(url)) != 2 and time.time() < deadline:
            page.wait_for_timeout(200)  # lets Playwright route the page's requests meanwhile
        move = _edits(url)[-1]
        assert move["op"] == "move"
        dropped = page.evaluate("([x, y]) => { const p = window.gcMap.containerPointToLatLng([x, y]);"
                                " return [p.lat, p.lng]; }", [start_x + 60 - box["x"], start_y - box["y"]])
        assert (move["lat"], move["lon"]) == pytest.approx(tuple(dropped), abs=1e-3)
        browser.close()
    assert blocked == []
