"""The planning workspace's JSON API (FastAPI TestClient) on the embedded Helsinki demo."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient

from geocover.api import demo_config
from geocover.cli import main
from geocover.config import load_config
from geocover.errors import InputError
from geocover.pipeline import run_scenario
from geocover.render.assets import _leaflet_file
from geocover.serve.app import app_from_env, create_app
from geocover.serve.page import TEXTS
from geocover.serve.state import UNDO_IN_MEMORY, Workspace

BASE = "http://127.0.0.1:8765"


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    loaded = load_config(demo_config())
    loaded.output_dir = tmp_path_factory.mktemp("demo_out")
    return loaded


@pytest.fixture()
def client(config, tmp_path):
    workspace = Workspace(config, tmp_path / "workspace")
    with TestClient(create_app(workspace), base_url=BASE) as test_client:
        test_client.workspace = workspace
        yield test_client


def post(client, url, body):
    return client.post(url, json=body, headers={"Origin": BASE})


def gap_point(workspace: Workspace) -> tuple[float, float]:
    """The centre of the valid cell farthest (in minutes) from every facility, in degrees."""
    access = workspace.get("baseline").access
    minutes = np.where(np.isfinite(access.minutes), access.minutes, -1)
    row, col = np.unravel_index(np.nanargmax(minutes), minutes.shape)
    x, y = access.grid.transform * (col + 0.5, row + 0.5)
    point = gpd.GeoSeries([shapely.Point(x, y)], crs=access.grid.crs).to_crs(4326).iloc[0]
    return point.x, point.y


def full_run(config, facilities: gpd.GeoDataFrame) -> pd.DataFrame:
    return run_scenario(config, progress=False, facilities=facilities, polygons=False).table


def test_adding_a_clinic_in_a_gap_matches_a_full_run(client, config):
    workspace = client.workspace
    lon, lat = gap_point(workspace)
    answer = post(client, "/api/scenarios/baseline/edits", {"op": "add", "lon": lon, "lat": lat, "tier": "clinic"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    added = gpd.GeoDataFrame({"facility_id": ["x"], "name": ["x"], "tier": ["clinic"]},
                             geometry=[shapely.Point(lon, lat)], crs="EPSG:4326")
    base = workspace._fresh("reference").facilities
    expected = full_run(config, gpd.GeoDataFrame(pd.concat([base, added], ignore_index=True), crs="EPSG:4326"))
    before = full_run(config, base)
    assert expected["pop_within_15"].sum() > before["pop_within_15"].sum()  # the gap was a gap
    zones = pd.DataFrame(body["zones"]).set_index("zone_id")
    for column in ("population", "pop_within_5", "pop_within_10", "pop_within_15", "pop_beyond_15", "pop_unreachable",
                   "facilities"):
        np.testing.assert_allclose(zones.loc[expected["zone_id"], column].astype(float), expected[column], rtol=1e-9)
    figure = body["key_figures"][0]
    assert figure["pop_within_target"] == pytest.approx(expected["pop_within_15"].sum())
    assert figure["pop_unreachable"] == pytest.approx(expected["pop_unreachable"].sum())


def test_close_move_retier_undo_and_restart(client, config, tmp_path):
    workspace = client.workspace
    first = workspace.get("baseline").facilities["facility_id"].astype(str).iloc[0]
    lon, lat = gap_point(workspace)
    assert post(client, "/api/scenarios", {"name": "plan B", "copy_of": "baseline"}).status_code == 200
    assert post(client, "/api/scenarios/plan B/edits", {"op": "remove", "facility_id": first}).status_code == 200
    second = workspace.get("plan B").facilities["facility_id"].astype(str).iloc[0]
    moved = post(client, "/api/scenarios/plan B/edits", {"op": "move", "facility_id": second, "lon": lon, "lat": lat})
    assert moved.status_code == 200
    retier = post(client, "/api/scenarios/plan B/edits", {"op": "retier", "facility_id": second, "tier": "doctors"})
    assert retier.json()["facilities"][0]["tier"] == "doctors"
    edited = workspace.get("plan B").facilities
    expected = full_run(config, edited)
    zones = pd.DataFrame(retier.json()["zones"])
    np.testing.assert_allclose(zones["pop_within_10"], expected["pop_within_10"], rtol=1e-9)
    undone = post(client, "/api/scenarios/plan B/undo", {}).json()
    assert [e["op"] for e in undone["edits"]] == ["remove", "move"]
    comparison = client.get("/api/compare", params={"before": "baseline", "after": "plan B"}).json()["rows"]
    assert {"pop_within_15_current", "pop_within_15_plan B", "pop_within_15_change"} <= set(comparison[0])
    # A server restart replays the saved edits: the same zone table.
    again = Workspace(config, workspace.state_dir)
    assert list(again.scenarios) == ["baseline", "plan B"]
    replayed = again.zone_rows("plan B")["pop_within_10"]
    np.testing.assert_allclose(replayed, pd.DataFrame(undone["zones"])["pop_within_10"])
    np.testing.assert_allclose(again.get("plan B").access.minutes, workspace.get("plan B").access.minutes)


@pytest.mark.parametrize("edit, words", [
    ({"op": "add", "lon": 0.0, "lat": 0.0, "tier": "clinic"}, "outside the study area"),
    ({"op": "add", "lon": 24.94, "lat": 60.17, "tier": "castle"}, "unknown tier 'castle'"),
    ({"op": "add", "lon": "east", "lat": 60.17, "tier": "castle"}, "not numbers"),
    ({"op": "remove", "facility_id": "nope"}, "no facility 'nope'"),
    ({"op": "teleport"}, "'teleport' is not one of"),
    ({"op": "add", "lon": 24.94, "lat": 60.17, "tier": "clinic", "facility_id": "4716514959"}, "is taken"),
    ({"op": "move", "facility_id": "nope"}, "key 'lon': missing"),
])
def test_bad_edits_are_refused_with_every_problem_and_change_nothing(client, edit, words):
    before = client.get("/api/scenarios/baseline").json()
    answer = post(client, "/api/scenarios/baseline/edits", edit)
    assert answer.status_code == 400
    assert any(words in problem for problem in answer.json()["problems"]), answer.json()
    assert client.get("/api/scenarios/baseline").json() == before
    both = post(client, "/api/scenarios/baseline/edits", {"op": "add", "lon": 0.0, "lat": 0.0, "tier": "castle"})
    assert len(both.json()["problems"]) == 2


def test_malformed_and_cross_origin_requests_are_refused(client):
    url = "/api/scenarios/baseline/edits"
    edit = {"op": "add", "lon": 24.94, "lat": 60.17, "tier": "clinic"}
    assert client.post(url, content=b"{not json", headers={"Content-Type": "application/json"}).status_code == 400
    assert client.post(url, json=[1, 2]).status_code == 400
    assert client.post(url, data={"op": "add"}).status_code == 415  # a cross-site form post
    assert client.post(url, json=edit, headers={"Origin": "http://evil.example"}).status_code == 403
    assert client.get("/api/workspace", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/api/scenarios/baseline").json()["edits"] == []
    assert client.get("/api/scenarios/nowhere").status_code == 400
    for name in ("../../etc", "..", ".hidden", "a/b", ""):
        assert post(client, "/api/scenarios", {"name": name}).status_code == 400, name
    assert post(client, "/api/scenarios/baseline/suggest", {"k": "many"}).status_code == 400


def test_downloads_stay_inside_the_export(client):
    for tail in ("../../scenarios.json", "%2e%2e/x", "/etc/passwd", "%2e%2e%2f%2e%2e%2fscenarios.json"):
        path = f"/api/scenarios/baseline/export/{tail}"
        answer = client.get(path)
        assert answer.status_code in (400, 404) and "problems" in answer.json()


def test_export_reruns_to_the_same_table(client, config):
    workspace = client.workspace
    lon, lat = gap_point(workspace)
    edit = {"op": "add", "lon": lon, "lat": lat, "tier": "clinic", "name": "新诊所"}
    assert post(client, "/api/scenarios/baseline/edits", edit).status_code == 200
    edit = {"op": "add", "lon": lon + 0.001, "lat": lat, "tier": "proposed"}
    assert post(client, "/api/scenarios/baseline/edits", edit).status_code == 200
    files = post(client, "/api/scenarios/baseline/export", {"run": False}).json()["files"]
    assert files == ["config.yaml", "facilities.gpkg", "facilities.xlsx"]
    layer = client.get("/api/scenarios/baseline/export/facilities.xlsx")
    assert layer.status_code == 200
    exported = Path(workspace.state_dir) / "export" / "baseline"
    sheet = pd.read_excel(exported / "facilities.xlsx")
    assert {"osm_id", "amenity", "name", "lon", "lat"} <= set(sheet.columns)  # the input's own columns
    assert "新诊所" in set(sheet["name"])
    rerun = run_scenario(exported / "config.yaml", progress=False, polygons=False)
    live = pd.DataFrame(client.get("/api/scenarios/baseline").json()["zones"])
    np.testing.assert_allclose(rerun.table["pop_within_15"], live["pop_within_15"], rtol=1e-9)
    assert list(rerun.facilities["tier"]) == list(workspace.get("baseline").facilities["tier"])
    assert list(rerun.facilities["name"]) == list(workspace.get("baseline").facilities["name"])


def test_suggestions_come_from_the_edited_state(client):
    sites = post(client, "/api/scenarios/baseline/suggest", {"k": 2}).json()
    assert [s["rank"] for s in sites["sites"]] == [1, 2]
    best = sites["sites"][0]
    accepted = post(client, "/api/scenarios/baseline/edits",
                    {"op": "add", "lon": best["lon"], "lat": best["lat"], "tier": sites["tier"]})
    assert accepted.status_code == 200
    again = post(client, "/api/scenarios/baseline/suggest", {"k": 1}).json()["sites"][0]
    assert (again["lon"], again["lat"]) != (best["lon"], best["lat"])


def test_page_is_offline_and_bilingual(client):
    page = client.get("/?lang=zh").text
    leaflet = _leaflet_file("leaflet.js").read_text(encoding="utf-8")
    assert leaflet in page
    page = page.replace(leaflet, "")  # its attribution link is text, not a load
    assert "规划工作台" in page and "L.map" in page
    assert re.search(r"(src|href|url)\s*[=(]\s*[\"']?(https?:)?//", page) is None  # nothing loaded from elsewhere
    assert "<link" not in page
    assert "Planning workspace" in client.get("/").text


def test_a_saved_state_that_no_longer_fits_is_a_clear_input_error(config, tmp_path):
    folder = tmp_path / "workspace"
    folder.mkdir()
    (folder / "scenarios.json").write_text(json.dumps({"scenarios": {"baseline": [
        {"op": "remove", "facility_id": "gone"}, {"op": "add", "lon": 0, "lat": 0, "tier": "clinic"}]}}),
        encoding="utf-8")
    with pytest.raises(InputError) as error:
        Workspace(config, folder)
    text = str(error.value)
    assert "scenarios.json" in text and "edit 1" in text and "edit 2" in text and "outside the study area" in text
    (folder / "scenarios.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(InputError, match="not a saved workspace"):
        Workspace(config, folder)


def test_cli_serve_reports_a_bad_config_with_exit_code_2(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "missing.yaml"), "--no-browser"]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_comoros_edits_match_a_full_run_services_included(comoros_workspace):
    """A clinic in a gap, a clinic retiered to hospital, a hospital moved: the main and the services' columns."""
    workspace = comoros_workspace
    workspace.create("comoros gap")
    lon, lat = gap_point(workspace)
    facilities = workspace.get("comoros gap").facilities
    clinic = str(facilities.loc[facilities["tier"] == "clinic", "facility_id"].iloc[0])
    hospital = str(facilities.loc[facilities["tier"] == "hospital", "facility_id"].iloc[0])
    with TestClient(create_app(workspace), base_url=BASE) as client:
        for edit in ({"op": "add", "lon": lon, "lat": lat, "tier": "clinic"},
                     {"op": "retier", "facility_id": clinic, "tier": "hospital"},
                     {"op": "move", "facility_id": hospital, "lon": lon + 0.01, "lat": lat}):
            answer = post(client, "/api/scenarios/comoros gap/edits", edit)
            assert answer.status_code == 200, answer.text
    facilities = workspace.get("comoros gap").facilities
    expected = run_scenario(workspace.config, progress=False, facilities=facilities, polygons=False).table
    zones = pd.DataFrame(answer.json()["zones"])
    columns = ["pop_within_15", "pop_within_30", "pop_beyond_15", "pop_unreachable", "facilities_clinic",
               "facilities_hospital", "hospital_pop_within_30", "hospital_pop_unreachable",
               "primary_walk_pop_within_60", "primary_walk_pop_beyond_60"]
    for column in columns:
        np.testing.assert_allclose(zones[column].astype(float), expected[column], rtol=1e-9, err_msg=column)
    baseline = workspace.zone_rows("baseline")
    assert (baseline["hospital_pop_within_30"] != zones["hospital_pop_within_30"]).any()  # the edits changed it
    assert answer.json()["audit"]["judged"] > 0


def test_app_from_env_serves_the_named_config_to_the_named_hosts(config, tmp_path, monkeypatch):
    monkeypatch.delenv("GEOCOVER_CONFIG", raising=False)
    with pytest.raises(InputError, match="GEOCOVER_CONFIG"):
        app_from_env()
    monkeypatch.setenv("GEOCOVER_CONFIG", str(demo_config()))
    monkeypatch.setenv("GEOCOVER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GEOCOVER_HOSTS", "plan.example.cn")
    with TestClient(app_from_env(), base_url="http://plan.example.cn") as client:
        assert client.get("/api/workspace").json()["name"] == "demo"
        assert post_from(client, "http://plan.example.cn").status_code == 200
        assert client.get("/api/workspace", headers={"Host": "other.example"}).status_code == 400
    assert (tmp_path / "state" / "scenarios.json").is_file()


def post_from(client, origin):
    edit = {"op": "retier", "facility_id": "4716514959", "tier": "doctors"}
    return client.post("/api/scenarios/baseline/edits", json=edit, headers={"Origin": origin})


def test_a_config_with_offroad_is_refused_not_served_wrong(config, tmp_path):
    with_offroad = config.model_copy(update={"offroad": object()})
    with pytest.raises(InputError, match="key 'offroad'"):
        Workspace(with_offroad, tmp_path)


def test_every_interface_text_is_in_both_languages():
    assert all(set(texts) == {"en", "zh"} and all(texts.values()) for texts in TEXTS.values())


def test_undo_beyond_the_states_in_memory_replays_the_edits(client):
    workspace = client.workspace
    lon, lat = gap_point(workspace)
    steps = [workspace.zone_rows("baseline")["pop_within_10"].to_numpy()]
    for number in range(UNDO_IN_MEMORY + 2):
        edit = {"op": "add", "lon": lon + 0.0005 * number, "lat": lat, "tier": "clinic"}
        assert post(client, "/api/scenarios/baseline/edits", edit).status_code == 200
        steps.append(workspace.zone_rows("baseline")["pop_within_10"].to_numpy())
    assert len(workspace.get("baseline").history) == UNDO_IN_MEMORY
    for expected in reversed(steps[:-1]):
        zones = post(client, "/api/scenarios/baseline/undo", {}).json()["zones"]
        np.testing.assert_allclose(pd.DataFrame(zones)["pop_within_10"], expected, rtol=1e-12)
    assert post(client, "/api/scenarios/baseline/undo", {}).status_code == 400
