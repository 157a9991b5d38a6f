"""The embedded demo and the command line: exit codes, messages, nothing half-written."""

from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio

from geocover import __version__
from geocover.cli import main
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out), "--quiet"]) == 0
    return out


def test_demo_writes_a_table_that_adds_up_to_the_population_raster(demo_out):
    table = pd.read_csv(demo_out / "coverage_by_zone.csv", encoding="utf-8-sig")
    with rasterio.open(ROOT / "data" / "population" / "helsinki_population.tif") as src:
        total = src.read(1, masked=True).sum()
    # Every populated cell lies in one 500 m square, so the zones hold the whole raster (people written as
    # whole numbers: each zone's count within half a person).
    assert abs(table["population"].sum() - total) <= 0.5 * len(table)
    balance = table["pop_within_15"] + table["pop_beyond_15"] + table["pop_unreachable"]
    np.testing.assert_allclose(balance, table["population"], atol=1.5)
    assert (table["pct_within_5"] <= table["pct_within_10"] + 0.1).all()
    assert (table["pct_within_10"] <= table["pct_within_15"] + 0.1).all()


def test_demo_shows_at_least_one_gap(demo_out):
    gaps = gpd.read_file(demo_out / "results.gpkg", layer="gaps")
    assert len(gaps) >= 1 and gaps["population"].max() > 0
    html = (demo_out / "map.html").read_text(encoding="utf-8")
    assert "Gaps: people beyond 15 min" in html and "Within 5 min (walk)" in html


def test_version_and_help():
    completed = subprocess.run([sys.executable, "-m", "geocover.cli", "--version"], capture_output=True, text=True)
    assert completed.stdout.strip() == f"geocover {__version__}"
    completed = subprocess.run([sys.executable, "-m", "geocover.cli", "--help"], capture_output=True, text=True)
    for verb in ("run", "demo", "validate"):
        assert verb in completed.stdout


def test_validate_summarises_every_layer(capsys):
    assert main(["validate", str(ROOT / "configs" / "demo.yaml")]) == 0
    printed = capsys.readouterr().out
    assert "zones: grid_500m 14" in printed
    assert "facilities: 6" in printed
    assert "population: 60 x 100 cells" in printed


def test_bad_config_exits_2_naming_every_key_and_writes_nothing(tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text(
        (ROOT / "configs" / "demo.yaml").read_text(encoding="utf-8")
        .replace("mode: walk", "mode: fly\nspeed_limit: 3")
        .replace("snap_max_m: 200", "snap_max_m: far"),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert str(config) in err
    assert "speed_limit" in err and "unknown key" in err
    assert "'mode'" in err and "fly" in err
    assert "'snap_max_m'" in err and "far" in err
    assert not out.exists()


def test_missing_input_file_exits_2_and_keeps_earlier_outputs(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "coverage_by_zone.csv").write_text("earlier run", encoding="utf-8")
    config = tmp_path / "missing.yaml"
    config.write_text(
        (ROOT / "configs" / "demo.yaml").read_text(encoding="utf-8")
        .replace("../data/", f"{ROOT / 'data'}/")
        .replace("helsinki_population.tif", "nope.tif")
        .replace("helsinki_care.geojson", "nope.geojson"),
        encoding="utf-8",
    )
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "2 problem(s)" in err and "nope.tif" in err and "nope.geojson" in err
    assert (out / "coverage_by_zone.csv").read_text(encoding="utf-8") == "earlier run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["missing.yaml", "out"]
