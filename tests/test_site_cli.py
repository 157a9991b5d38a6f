"""``geocover site``: proposed sites, and before/after tables that equal full scenario runs with the sites added."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest

from geocover.cli import main
from geocover.config import SitingConfig, load_config
from geocover.errors import InputError
from geocover.pipeline import run_scenario
from geocover.siting import site
from geocover.siting.scenario import site_scenario, with_sites
from tests.conftest import ROOT

DEMO = ROOT / "configs" / "demo.yaml"
COMOROS = ROOT / "configs" / "comoros.yaml"


@pytest.fixture(scope="module")
def demo_run():
    return site_scenario(load_config(DEMO), progress=False, model="mclp", k=2)


def _within(table: pd.DataFrame, column: str) -> float:
    finest = table["zone_level"].iloc[-1]
    return float(table.loc[table["zone_level"] == finest, column].sum())


def test_the_after_run_covers_exactly_what_the_model_says(demo_run):
    model = demo_run.siting.model
    assert len(demo_run.siting.sites) == 2
    assert _within(demo_run.current.table, "pop_within_15") == pytest.approx(model.population_before, rel=1e-9)
    assert _within(demo_run.after.table, "pop_within_15") == pytest.approx(model.population_after, rel=1e-9)
    assert model.population_after > model.population_before
    sites = demo_run.siting.sites
    assert list(sites["rank"]) == [1, 2]
    assert sites["population_added"].sum() == pytest.approx(model.population_after - model.population_before)
    assert sites["population_added"].is_monotonic_decreasing
    assert sites["cumulative_population"].iloc[-1] == pytest.approx(model.population_after)
    zones = demo_run.zones
    np.testing.assert_allclose(zones["pop_within_15_change"],
                               zones["pop_within_15_after"] - zones["pop_within_15_current"])
    assert (demo_run.after.facilities["tier"] == "proposed").sum() == 2


def test_one_site_is_the_best_of_every_candidate_run_through_the_whole_pipeline():
    config = load_config(DEMO)
    current = run_scenario(config, progress=False)
    found = site(current, "mclp", k=1, method="exact")
    candidates = found.candidates
    assert len(candidates) >= 2
    covered = []
    for j in range(len(candidates)):
        one = gpd.GeoDataFrame({"rank": [1]}, geometry=candidates.geometry.iloc[[j]].to_numpy(), crs=candidates.crs)
        after = run_scenario(config, progress=False, facilities=with_sites(current.facilities, one, "proposed"))
        covered.append(_within(after.table, "pop_within_15"))
    assert found.model.population_after == pytest.approx(max(covered), rel=1e-9)
    chosen = candidates.index.get_loc(candidates.index[found.model.selected[0]])
    assert covered[chosen] == pytest.approx(max(covered), rel=1e-9)


def test_cli_writes_the_sites_table_layer_map_and_before_after_tables(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["site", str(DEMO), "--k", "2", "--out", str(out), "--quiet", "--offline"]) == 0
    printed = capsys.readouterr().out
    assert "mclp: 2 site(s)" in printed and "proposed_sites.csv" in printed
    sites = pd.read_csv(out / "proposed_sites.csv", encoding="utf-8-sig")
    assert list(sites["rank"]) == [1, 2]
    for column in ("lon", "lat", "zone_id", "population_added", "cumulative_population", "cumulative_share"):
        assert sites[column].notna().all(), column
    layer = gpd.read_file(out / "results.gpkg", layer="proposed_sites")
    assert len(layer) == 2 and layer.crs.to_epsg() == 4326
    np.testing.assert_allclose(layer.geometry.x, sites["lon"])
    book = pd.read_excel(out / "proposed_sites.xlsx", sheet_name=None)
    assert set(book) == {"sites", "coverage", "zones"}
    overall = book["coverage"].iloc[0]
    assert overall["covered_after"] == pytest.approx(sites["cumulative_population"].iloc[-1])
    zones = pd.read_csv(out / "zones_before_after.csv", encoding="utf-8-sig")
    assert zones["pop_within_15_change"].sum() == pytest.approx(sites["population_added"].sum())
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "Proposed sites" in html and "Proposed site 1: adds" in html
    assert "proposed_sites" in pyogrio.list_layers(out / "results.gpkg")[:, 0]


def test_set_covering_from_the_config_section():
    config = load_config(DEMO)
    config.siting = SitingConfig(model="lscp", target_share=0.97)
    run = site_scenario(config, progress=False)
    model = run.siting.model
    assert model.name == "lscp" and model.target_reached
    assert model.share_after >= 0.97 - 1e-9
    assert _within(run.after.table, "pop_within_15") / model.population_total >= 0.97 - 1e-9
    # one site fewer never reaches the target: the count is minimal
    fewer = site(run.current, "mclp", k=len(run.siting.sites) - 1, method="exact")
    assert fewer.model.share_after < 0.97


def test_missing_options_are_all_reported_and_nothing_is_written(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["site", str(DEMO), "--model", "pmedian", "--candidates", "file", "--out", str(out), "--quiet"])
    assert code == 2
    error = capsys.readouterr().err
    assert "siting.k" in error and "siting.candidates" in error
    assert not out.exists()
    with pytest.raises(InputError, match="siting"):
        site_scenario(load_config(DEMO), progress=False, model="mclp", k=2, target_share=1.5)


def test_unknown_siting_key_names_the_key(tmp_path, capsys):
    config = tmp_path / "demo.yaml"
    text = DEMO.read_text(encoding="utf-8").replace("name: demo", "name: demo\nsiting: {modle: lscp}", 1)
    config.write_text(text, encoding="utf-8")
    assert main(["site", str(config), "--quiet"]) == 2
    assert "modle" in capsys.readouterr().err


def test_ambulance_stations_on_comoros_with_the_audit_before_and_after(comoros_dir, tmp_path):
    run = site_scenario(load_config(COMOROS), progress=False, model="ambulance", k=3,
                       candidate_rule="gap_cells", spacing_m=3000.0)
    assert len(run.siting.sites) == 3
    audit = run.audit
    assert audit is not None and {"status_before", "status_after", "value_before", "value_after"} <= set(audit)
    before = run.current.audit
    assert len(audit) >= len(before)
    people = audit[audit["rule_id"] == "S1"]
    assert (people["value_after"] >= people["value_before"] - 1e-9).all()


def test_site_reads_and_prepares_the_inputs_once(monkeypatch):
    import geocover.pipeline as pipeline
    import geocover.siting.scenario as scenario

    calls = {"prepare_inputs": 0, "run_scenario": 0, "main_analysis": 0, "polygons": []}

    def counted(name, function):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            if name == "run_scenario":
                calls["polygons"].append(kwargs.get("polygons", True))
            return function(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(scenario, "prepare_inputs", counted("prepare_inputs", scenario.prepare_inputs))
    monkeypatch.setattr(scenario, "run_scenario", counted("run_scenario", scenario.run_scenario))
    monkeypatch.setattr(pipeline, "main_analysis", counted("main_analysis", pipeline.main_analysis))
    monkeypatch.setattr(pipeline, "prepare_inputs", counted("prepare_inputs", pipeline.prepare_inputs))
    run = site_scenario(load_config(DEMO), progress=False, model="mclp", k=2)
    # read once; analysed before and after the sites, only the current run tracing polygons
    assert calls == {"prepare_inputs": 1, "run_scenario": 2, "main_analysis": 2, "polygons": [True, False]}
    full = run_scenario(load_config(DEMO), progress=False, facilities=with_sites(run.current.facilities,
                                                                                 run.siting.sites, "proposed"))
    pd.testing.assert_frame_equal(run.after.table, full.table)
    pd.testing.assert_frame_equal(run.after.facilities.drop(columns="geometry"),
                                  full.facilities.drop(columns="geometry"))
