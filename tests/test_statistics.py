"""Statistics per unit, rescaling to official totals, point populations and extra weights."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from shapely.geometry import Point

from geocover.errors import InputError
from geocover.io.statistics import read_statistics
from geocover.pipeline import run_scenario
from tests.test_zones import counties  # noqa: F401  (fixture)

STATS = (
    "区划代码,名称,年份,常住人口(万人),床位数,执业(助理)医师,注册护士,全科医生,救护车\n"
    "130102001,东城街道,2022,0.05,40,12,15,2,1\n"
    "130102001,东城街道,2023,0.06,42,13,16,2,1\n"
    "130102002,城关镇,2023,0.03,30,9,10,1,1\n"
    "130103001,李家镇,2023,0.01,5,2,2,0,0\n"
    "130103100,王家乡,2023,0.02,8,3,3,1,0\n"
)


def test_read_statistics_in_gbk_with_units_and_years(tmp_path):
    path = tmp_path / "统计.csv"
    path.write_bytes(STATS.encode("gbk"))
    table = read_statistics(path)
    assert list(table.index) == ["130102001000", "130102002000", "130103001000", "130103100000"]
    # 常住人口 in 万人 (10,000 people); the latest year of each unit is kept.
    assert table.loc["130102001000", "population"] == pytest.approx(600)
    assert table.loc["130102001000", "beds"] == 42 and table.loc["130102001000", "doctors"] == 13
    assert table.loc["130102002000", "nurses"] == 10 and table.loc["130103100000", "gps"] == 1
    assert read_statistics(path, year=2022).loc["130102001000", "population"] == pytest.approx(500)


def test_bad_statistics_name_every_cell(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("区划代码,常住人口,床位数\n130102001,abc,1\n130102002,100,十\n130102002,5,5\n", encoding="utf-8")
    with pytest.raises(InputError) as error:
        read_statistics(path)
    messages = [str(p) for p in error.value.problems]
    assert any("row 2" in m and "常住人口" in m and "'abc'" in m for m in messages)
    assert any("row 3" in m and "床位数" in m and "'十'" in m for m in messages)
    path.write_text("名称,人口\n甲,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="no column of administrative codes"):
        read_statistics(path)


def test_grid_rescaled_to_official_totals(counties):  # noqa: F811
    folder = counties.parent
    (folder / "stats.csv").write_bytes(STATS.encode("gbk"))
    config = folder / "rescaled.yaml"
    config.write_text(counties.read_text(encoding="utf-8").replace(
        "population: {raster: people.tif}",
        "population: {raster: people.tif, rescale_level: township}\nstatistics: {path: stats.csv}"),
        encoding="utf-8")
    result = run_scenario(config, progress=False)
    table = result.table.set_index("zone_id")
    official = {"130102001000": 600, "130102002000": 300, "130103001000": 100, "130103100000": 200}
    for code, people in official.items():
        assert table.loc[code, "population"] == pytest.approx(people)
        assert table.loc[code, "official_population"] == pytest.approx(people)
    assert table.loc["130102000000", "population"] == pytest.approx(900)
    assert table.loc["130100000000", "population"] == pytest.approx(1200)
    assert result.statistics.loc["130102002000", "beds"] == 30


def test_point_population_and_age_weights(counties):  # noqa: F811
    folder = counties.parent
    gpd.GeoDataFrame({"常住人口": [120, 80, 50]},
                     geometry=[Point(0.005, 0.005), Point(0.015, 0.002), Point(0.035, 0.008)],
                     crs="EPSG:4326").to_file(folder / "villages.gpkg")
    config = folder / "points.yaml"
    config.write_text(counties.read_text(encoding="utf-8").replace(
        "population: {raster: people.tif}",
        "population: {points: villages.gpkg, count_column: 常住人口, cell_m: 100}"), encoding="utf-8")
    table = run_scenario(config, progress=False).table.set_index("zone_id")
    assert table.loc["130102001000", "population"] == 120
    assert table.loc["130102002000", "population"] == 80
    assert table.loc["130103001000", "population"] == 0
    assert table.loc["130103100000", "population"] == 50
    # Age weights: a raster on the population grid with 0.25 of a person of 65+ per cell.
    with rasterio.open(folder / "people.tif") as src:
        profile = src.profile
    with rasterio.open(folder / "age65.tif", "w", **profile) as dst:
        dst.write(np.full((1, 10, 40), 0.25, dtype=np.float32))
    config.write_text(counties.read_text(encoding="utf-8").replace(
        "population: {raster: people.tif}", "population: {raster: people.tif, weights: {age65: age65.tif}}"),
        encoding="utf-8")
    table = run_scenario(config, progress=False).table.set_index("zone_id")
    assert table.loc["130102001000", "age65"] == pytest.approx(25)
    np.testing.assert_allclose(table["age65_within_2"], table["pop_within_2"] * 0.25)


def test_official_counts_spread_evenly_without_a_raster(counties):  # noqa: F811
    folder = counties.parent
    (folder / "stats.csv").write_bytes(STATS.encode("gbk"))
    config = folder / "counts.yaml"
    config.write_text(counties.read_text(encoding="utf-8").replace(
        "population: {raster: people.tif}",
        "population: {rescale_level: township, cell_m: 100}\nstatistics: {path: stats.csv}"), encoding="utf-8")
    result = run_scenario(config, progress=False)
    table = result.table.set_index("zone_id")
    assert table.loc["130102001000", "population"] == pytest.approx(600)
    assert table.loc["130103100000", "population"] == pytest.approx(200)
    grid = result.access.grid
    labels = grid.labels(result.zones[result.zones.zone_level == "township"])
    inside = grid.population[labels == 1]
    # Evenly: every cell of the zone holds the same share.
    assert np.allclose(inside, inside.mean()) and inside.sum() == pytest.approx(600)


def test_aggregating_the_raster_keeps_every_total(counties):  # noqa: F811
    config = counties.parent / "coarse.yaml"
    config.write_text(counties.read_text(encoding="utf-8").replace(
        "population: {raster: people.tif}", "population: {raster: people.tif, aggregate: 5}"), encoding="utf-8")
    coarse = run_scenario(config, progress=False)
    fine = run_scenario(counties, progress=False)
    assert coarse.access.grid.shape == (2, 8)
    assert coarse.access.grid.population.sum() == fine.access.grid.population.sum() == 400
    np.testing.assert_allclose(coarse.table["population"], fine.table["population"])
