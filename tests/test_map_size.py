"""Map size and content without a browser: light geometry, size limits, the same bytes twice, Amap's shift.

The large case is a synthetic scenario near Chengdu built from files, as a user's would be:
a road grid (OSM XML), 1,000 facilities of every tier with grades and beds, 1,000 townships
with wavy borders (Voronoi cells bent by a smooth field, so shared borders stay shared) and a
population raster.
"""

from __future__ import annotations

import functools
import re
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from shapely.geometry import MultiPoint, box

from geocover.io.coordinates import wgs84_to_gcj02
from geocover.io.facility_labels import TIERS
from geocover.pipeline import ScenarioResult, run_scenario
from geocover.render.assets import render
from geocover.render.folium_map import coverage_map
from tests.conftest import ROOT, need_shared

MB = 1_000_000
BOX = (104.0, 30.4, 104.6, 30.9)  # west, south, east, north: near Chengdu, inside GCJ-02's area
GRADES = ["三甲", "三乙", "二甲", "一级", None]


def _roads_xml(step: float = 0.01) -> str:
    west, south, east, north = BOX
    lons = np.round(np.arange(west - 0.05, east + 0.05 + 1e-9, step), 4)
    lats = np.round(np.arange(south - 0.05, north + 0.05 + 1e-9, step), 4)
    ids = np.arange(1, lons.size * lats.size + 1).reshape(lons.size, lats.size)
    nodes = [f'<node id="{ids[i, j]}" version="1" lat="{lat}" lon="{lon}"/>'
             for i, lon in enumerate(lons) for j, lat in enumerate(lats)]
    ways = [f'<way id="{i + 1}">' + "".join(f'<nd ref="{n}"/>' for n in ids[i, :])
            + '<tag k="highway" v="secondary"/></way>' for i in range(lons.size)]
    ways += [f'<way id="{lons.size + j + 1}">' + "".join(f'<nd ref="{n}"/>' for n in ids[:, j])
             + '<tag k="highway" v="residential"/></way>' for j in range(lats.size)]
    return "<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\">\n" + "\n".join(nodes + ways) + "\n</osm>\n"


def _bend(coords: np.ndarray) -> np.ndarray:
    """A smooth displacement of at most 0.0015 degrees (gradient < 1, so polygons stay valid)."""
    x, y = coords[:, 0], coords[:, 1]
    dx = 0.0015 * np.sin(2 * np.pi * y / 0.02) * np.cos(2 * np.pi * x / 0.031)
    dy = 0.0015 * np.sin(2 * np.pi * x / 0.023) * np.cos(2 * np.pi * y / 0.029)
    return np.column_stack([x + dx, y + dy])


def build_synthetic(folder: Path, n_facilities: int = 1000, n_townships: int = 1000, seed: int = 8) -> Path:
    """Write a synthetic scenario's files into ``folder``; return its config path."""
    rng = np.random.default_rng(seed)
    west, south, east, north = BOX
    (folder / "roads.osm").write_text(_roads_xml(), encoding="utf-8")
    seeds = np.column_stack([rng.uniform(west, east, n_townships), rng.uniform(south, north, n_townships)])
    cells = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=box(*BOX))
    cells = shapely.intersection(np.asarray(cells.geoms), box(*BOX))
    bent = shapely.transform(shapely.segmentize(cells, 0.001), _bend)
    codes = [f"510100{i:03d}000" for i in range(len(bent))]
    gpd.GeoDataFrame({"code": codes, "name": [f"第{i}镇" for i in range(len(bent))]}, geometry=bent,
                     crs="EPSG:4326").to_file(folder / "townships.geojson")
    points = gpd.points_from_xy(rng.uniform(west, east, n_facilities), rng.uniform(south, north, n_facilities))
    tiers = [TIERS[i % len(TIERS)] for i in range(n_facilities)]
    gpd.GeoDataFrame({"name": [f"第{i}号医疗机构" for i in range(n_facilities)], "category": tiers,
                      "grade": [GRADES[i % len(GRADES)] for i in range(n_facilities)],
                      "床位数": rng.integers(0, 800, n_facilities)},
                     geometry=points, crs="EPSG:4326").to_file(folder / "facilities.geojson")
    cell = 0.0025
    cols, rows = int(round((east - west + 0.1) / cell)), int(round((north - south + 0.1) / cell))
    people = rng.gamma(2.0, 40.0, (rows, cols)).astype(np.float32)
    with rasterio.open(folder / "people.tif", "w", driver="GTiff", height=rows, width=cols, count=1,
                       dtype="float32", crs="EPSG:4326", nodata=-1,
                       transform=Affine(cell, 0, west - 0.05, 0, -cell, north + 0.05)) as dst:
        dst.write(people, 1)
    config = folder / "synthetic.yaml"
    config.write_text(
        "name: synthetic\nmode: drive\nbands_minutes: [5, 10, 15]\ntarget_minutes: 15\nsnap_max_m: 1000\n"
        "roads: {pbf: roads.osm}\nfacilities: {path: facilities.geojson, name_column: name, tier_column: category}\n"
        "population: {raster: people.tif}\n"
        "zones: [{level: township, path: townships.geojson, id_column: code, name_column: name}]\n"
        "map: {title: 合成情景 1000 个机构 1000 个乡镇, tiles: none, lang: zh}\n",
        encoding="utf-8",
    )
    return config


@functools.cache
def synthetic_result() -> ScenarioResult:
    """The synthetic scenario's result, computed once per test session (its files are then removed)."""
    with tempfile.TemporaryDirectory() as folder:
        return run_scenario(build_synthetic(Path(folder)), progress=False)


@functools.cache
def comoros_result() -> ScenarioResult:
    """The Comoros scenario's result, computed once per test session."""
    need_shared("data/comoros")
    return run_scenario(ROOT / "configs" / "comoros.yaml", progress=False)


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_result()


@pytest.fixture(scope="module")
def demo_result():
    return run_scenario(ROOT / "configs" / "demo.yaml", progress=False)


def _geojson_layers(fmap) -> dict[str, dict]:
    return {child.layer_name: child.data for child in fmap._children.values() if hasattr(child, "data")}


def _flatten(coordinates) -> list[float]:
    if isinstance(coordinates, float | int):
        return [coordinates]
    return [value for item in coordinates for value in _flatten(item)]


def test_synthetic_1000_facilities_1000_townships_map_is_at_most_10_mb(synthetic, tmp_path):
    assert len(synthetic.facilities) == 1000
    assert (synthetic.table["zone_level"] == "township").sum() == 1000
    start = time.perf_counter()
    page = render(coverage_map(synthetic))
    seconds = time.perf_counter() - start
    (tmp_path / "map.html").write_text(page, encoding="utf-8")
    size = (tmp_path / "map.html").stat().st_size
    print(f"synthetic 1000 x 1000 map: {size / MB:.2f} MB, rendered in {seconds:.1f} s")
    assert size <= 10 * MB
    # Each facility is one marker feature carrying its beds (床位数) into the popup.
    assert page.count('"catchment"') >= 1000 and page.count('"capacity"') >= 1000


def test_coordinates_are_rounded_to_five_decimals_and_polygons_simplified(demo_result):
    layers = _geojson_layers(coverage_map(demo_result))
    values = np.array([v for data in layers.values() for f in data["features"]
                       for v in _flatten(f["geometry"]["coordinates"])])
    assert values.size > 1000
    np.testing.assert_allclose(values * 1e5, np.round(values * 1e5), atol=1e-6)
    # The 15-minute band, traced from the population cells, is simplified by at most half a cell (plus rounding).
    band = next(data for name, data in layers.items() if name == "Within 15 min (walk)")
    drawn = shapely.geometry.shape(band["features"][0]["geometry"])
    traced = demo_result.service_areas.geometry.iloc[-1]
    half_cell_deg = abs(demo_result.access.grid.transform.a) / 2.0 / 111_000.0  # 25 m cells in EPSG:3067
    assert shapely.get_num_coordinates(drawn) <= shapely.get_num_coordinates(traced)
    assert 0 < shapely.hausdorff_distance(drawn, traced) <= half_cell_deg + 1e-5


def test_comoros_map_is_at_most_5_mb():
    page = render(coverage_map(comoros_result()))
    size = len(page.encode("utf-8"))
    print(f"Comoros map: {size / MB:.2f} MB")
    assert size <= 5 * MB


def test_the_same_run_writes_the_same_html_twice(demo_result):
    first = render(coverage_map(demo_result, lang="zh"))
    second = render(coverage_map(demo_result, lang="zh"))
    assert first.encode("utf-8") == second.encode("utf-8")
    assert not re.search(r"[0-9a-f]{32}", first)  # Folium's random uuid4 ids are gone


def test_amap_overlays_are_shifted_to_gcj02_and_other_base_maps_are_not(synthetic):
    plain_map = coverage_map(synthetic, tiles="none")
    plain = _geojson_layers(plain_map)
    amap_map = coverage_map(synthetic, tiles="amap")
    shifted = _geojson_layers(amap_map)
    name = next(n for n in plain if n.startswith("医疗机构"))
    before = np.array([f["geometry"]["coordinates"] for f in plain[name]["features"]])
    after = np.array([f["geometry"]["coordinates"] for f in shifted[name]["features"]])
    lon, lat = wgs84_to_gcj02(before[:, 0], before[:, 1])
    # Rounded to 1e-5 degrees (about 1 m) after the shift; near Chengdu GCJ-02 moves points by hundreds of metres.
    np.testing.assert_allclose(after, np.column_stack([lon, lat]), atol=1.1e-5)
    assert np.abs(after - before).max() > 0.001
    overlay = next(c for c in amap_map._children.values() if type(c).__name__ == "ImageOverlay")
    plain_overlay = next(c for c in plain_map._children.values() if type(c).__name__ == "ImageOverlay")
    (south, west), (north, east) = plain_overlay.bounds
    lon, lat = wgs84_to_gcj02([west, east], [south, north])
    np.testing.assert_allclose(np.array(overlay.bounds), [[lat[0], lon[0]], [lat[1], lon[1]]], atol=1e-9)


def test_tianditu_tiles_carry_the_configured_key(demo_result):
    config = demo_result.config.model_copy(deep=True)
    config.map.tiles, config.map.tianditu_key = "tianditu", "my-key-123"
    result = type(demo_result)(**{**demo_result.__dict__, "config": config})
    page = render(coverage_map(result))
    urls = set(re.findall(r'"(https://t\{s\}\.tianditu\.gov\.cn/[^"]+)"', page))
    assert {url.split("/")[3] for url in urls} == {"vec_w", "eva_w"}
    assert all(url.endswith("tk=my-key-123") for url in urls)
