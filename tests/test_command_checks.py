"""``audit``, ``compare``, ``site`` and ``batch`` check their config and every input in one pass: several
mistakes at once exit 2 listing every one (file, row, column or key, what to do), before any computation."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import box

from geocover import api
from geocover.cli import main
from tests.conftest import ROOT

DEMO = f"""name: checks
mode: walk
bands_minutes: [5, 10, 15]
target_minutes: 15
roads: {{pbf: {ROOT}/data/roads/helsinki.osm.pbf}}
facilities: {{path: {{facilities}}, id_column: osm_id, name_column: name, tier_column: amenity}}
population: {{raster: {{raster}}}}
zones: [{{level: grid_500m, path: {ROOT}/data/boundaries/helsinki_grid_500m.geojson, id_column: zone_id,
         name_column: zone_name}}]
"""


@pytest.fixture()
def no_computing(monkeypatch):
    """Any computation fails the test: the checks must refuse before it."""
    def computed(*args, **kwargs):
        pytest.fail("computed before refusing")

    for name in ("run_scenario", "compare_plan", "site_scenario"):
        monkeypatch.setattr(api, name, computed)
    monkeypatch.setattr("geocover.batch.driver.run_batch", computed)


def _scenario(tmp_path, extra: str = "", facilities: str | None = None, raster_ok: bool = False):
    """The demo with a broken population raster (an HTML page saved as .tif) unless ``raster_ok``."""
    raster = tmp_path / "people.tif"
    if raster_ok:
        raster = ROOT / "data" / "population" / "helsinki_population.tif"
    else:
        raster.write_text("<html><body>404 Not Found</body></html>", encoding="utf-8")
    facilities = facilities or str(ROOT / "data" / "facilities" / "helsinki_care.geojson")
    path = tmp_path / "scenario.yaml"
    path.write_text(DEMO.replace("{facilities}", facilities).replace("{raster}", str(raster)) + extra,
                    encoding="utf-8")
    return path


def _refused(argv, capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_audit_lists_the_plan_the_parent_plan_and_the_inputs(tmp_path, capsys, no_computing):
    config = _scenario(tmp_path, "standards: {plan: no_such_plan}\n", facilities=str(tmp_path / "gone.csv"))
    err = _refused(["audit", str(config), "--parent-plan", "no_such_parent", "--quiet"], capsys)
    assert "4 problem(s)" in err and "standards preset 'no_such_plan': no such plan preset" in err
    assert "standards preset 'no_such_parent': no such plan preset" in err
    assert "facilities.path: file not found" in err and "gone.csv" in err
    assert "people.tif" in err and "use one of" in err


def test_audit_without_standards_says_so_with_the_other_problems(tmp_path, capsys, no_computing):
    err = _refused(["audit", str(_scenario(tmp_path)), "--quiet"], capsys)
    assert "key 'standards': no plan to audit against" in err
    assert "people.tif" in err


def test_compare_lists_unknown_ids_bad_added_rows_and_the_inputs(tmp_path, capsys, no_computing):
    added = tmp_path / "new_clinics.csv"
    added.write_text("name,lon,lat\nnew one,24.94,60.17\nnew two,abc,60.17\n", encoding="utf-8")
    plan = (f"plan: {{name: p, add: {{path: {added}, lon_column: lon, lat_column: lat, name_column: name}}, "
            "close: [no_such_id], upgrade: {also_missing: hospital}}\n")
    err = _refused(["compare", str(_scenario(tmp_path, plan)), "--quiet"], capsys)
    assert "key 'plan.close': no facility with id 'no_such_id'" in err
    assert "key 'plan.upgrade': no facility with id 'also_missing'" in err
    assert "new_clinics.csv, row 3, column 'lon'" in err
    assert "people.tif" in err


def test_compare_without_a_plan_says_so_with_the_other_problems(tmp_path, capsys, no_computing):
    err = _refused(["compare", str(_scenario(tmp_path)), "--quiet"], capsys)
    assert "key 'plan': nothing to compare" in err and "people.tif" in err


def test_site_lists_its_options_its_candidate_file_and_the_inputs(tmp_path, capsys, no_computing):
    areas = tmp_path / "areas.geojson"
    gpd.GeoDataFrame(geometry=[box(24.93, 60.16, 24.94, 60.17)], crs=4326).to_file(areas)
    err = _refused(["site", str(_scenario(tmp_path)), "--model", "pmedian", "--candidates", "file",
                    "--candidates-file", str(areas), "--quiet"], capsys)
    assert "key 'siting.k': model pmedian needs k" in err
    assert "areas.geojson: candidates must be points, not Polygon" in err
    assert "people.tif" in err


def test_site_refuses_a_missing_candidate_file(tmp_path, capsys, no_computing):
    err = _refused(["site", str(_scenario(tmp_path, raster_ok=True)), "--k", "1", "--candidates", "file",
                    "--candidates-file", str(tmp_path / "nowhere.gpkg"), "--quiet"], capsys)
    assert "key 'siting.candidates': file not found" in err and "nowhere.gpkg" in err


def test_batch_lists_its_section_its_units_its_state_folder_and_the_inputs(tmp_path, capsys, no_computing):
    state = tmp_path / "state"
    state.write_text("a file where the state folder goes", encoding="utf-8")
    extra = f"isochrones: true\nbatch: {{unit_level: county, state_dir: {state}}}\n"
    config = _scenario(tmp_path, extra, facilities=str(tmp_path / "gone.geojson"))
    err = _refused(["batch", str(config), "--quiet", "--out", str(tmp_path / "out")], capsys)
    assert "key 'isochrones': batch units do not draw per-facility isochrones" in err
    assert "key 'batch.unit_level': no zones of level 'county'" in err and "grid_500m" in err
    assert "key 'batch.state_dir'" in err and "is a file, not a folder" in err
    assert "facilities.path: file not found" in err and "people.tif" in err
    assert not (tmp_path / "out").exists()


def test_batch_without_a_batch_section_says_so_with_the_other_problems(tmp_path, capsys, no_computing):
    err = _refused(["batch", str(_scenario(tmp_path)), "--quiet"], capsys)
    assert "key 'batch': no batch section" in err and "people.tif" in err


def test_the_checks_pass_a_good_scenario(tmp_path):
    from geocover.checks import audit_problems, batch_problems, compare_problems, site_problems
    from geocover.config import load_config

    config = load_config(_scenario(tmp_path, "standards: {plan: shanxi_2023_2025}\nplan: {name: p, close: []}\n"
                                   "batch: {unit_level: grid_500m}\n", raster_ok=True))
    assert audit_problems(config) == compare_problems(config) == site_problems(config, k=1) == []
    assert batch_problems(config, tmp_path / "out") == []


def test_site_names_a_missing_configured_candidate_file_once(tmp_path, capsys, no_computing):
    extra = f"siting: {{k: 1, candidate_rule: file, candidates: {tmp_path / 'gone.gpkg'}}}\n"
    err = _refused(["site", str(_scenario(tmp_path, extra, raster_ok=True)), "--quiet"], capsys)
    assert "1 problem(s)" in err and "gone.gpkg" in err
