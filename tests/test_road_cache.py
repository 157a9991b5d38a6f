"""The parsed-roads cache (``roads.cache_dir``) and the roads streamed around the zones (``roads.extract``)."""

from __future__ import annotations

import zipfile
from dataclasses import fields
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

import geocover.prepare
from geocover.config import ScenarioConfig
from geocover.io.osm import SEGMENTS_LAYOUT, RoadSegments, load_segments, read_road_segments, save_segments
from geocover.prepare import extract_box, load_roads, roads_cache_file


def _assert_same(a: RoadSegments, b: RoadSegments) -> None:
    for field in fields(RoadSegments):
        left, right = getattr(a, field.name), getattr(b, field.name)
        assert left.dtype == right.dtype, field.name
        np.testing.assert_array_equal(left, right, err_msg=field.name)


@pytest.fixture()
def pbf(tmp_path) -> Path:
    import osmium
    from osmium.osm.mutable import Node, Way

    path = tmp_path / "roads.osm.pbf"
    with osmium.SimpleWriter(str(path)) as writer:
        for node_id, location in {1: (0.5, 0.5), 2: (0.6, 0.5), 3: (1.5, 0.5), 4: (3.0, 3.0), 5: (3.1, 3.0)}.items():
            writer.add_node(Node(id=node_id, location=location))
        writer.add_way(Way(id=10, nodes=[1, 2], tags={"highway": "motorway_link", "maxspeed": "80"}))
        writer.add_way(Way(id=11, nodes=[2, 3], tags={"highway": "residential", "oneway": "-1"}))
        writer.add_way(Way(id=12, nodes=[4, 5, 4], tags={"highway": "motorway_link", "foot": "no"}))
    return path


def _config(pbf: Path, cache_dir: Path | None = None, extract: bool = False) -> ScenarioConfig:
    return ScenarioConfig.model_validate({
        "name": "cache", "bands_minutes": [0.1], "target_minutes": 0.1,
        "roads": {"pbf": pbf, "cache_dir": cache_dir, "extract": extract},
        "facilities": {"path": "facilities.gpkg"}, "population": {"raster": "people.tif"},
        "zones": [{"level": "zone", "path": "zones.gpkg", "id_column": "id"}],
    })


def test_saved_segments_load_identical_and_uncompressed(pbf, tmp_path):
    segments = read_road_segments(pbf)
    assert segments.highway.tolist() == ["motorway_link", "residential", "motorway_link", "motorway_link"]
    path = save_segments(segments, tmp_path / "roads.npz")
    loaded = load_segments(path)
    _assert_same(loaded, segments)
    assert all(type(value) is str for value in loaded.highway)
    with zipfile.ZipFile(path) as archive:
        assert {member.compress_type for member in archive.infolist()} == {zipfile.ZIP_STORED}
    assert [p.name for p in tmp_path.iterdir() if p.suffix != ".pbf"] == ["roads.npz"]  # no temporary left
    empty = read_road_segments(pbf, (10.0, 10.0, 11.0, 11.0))
    _assert_same(load_segments(save_segments(empty, tmp_path / "empty.npz")), empty)


def test_the_cache_is_written_once_and_a_cache_of_the_old_layout_is_ignored(pbf, tmp_path, monkeypatch):
    config = _config(pbf, tmp_path / "cache")
    cached = roads_cache_file(config)
    assert f".v{SEGMENTS_LAYOUT}.segments.npz" in cached.name
    # Layout 1: compressed, highway as fixed-width strings, and a name without the layout.
    stat = pbf.stat()
    old = tmp_path / "cache" / f"{pbf.name}.{stat.st_size}.{int(stat.st_mtime)}.segments.npz"
    old.parent.mkdir()
    np.savez_compressed(old, highway=np.array(["primary"]))
    segments = load_roads(config, zones=None)
    assert segments.way_id.tolist() == [10, 11, 12, 12]  # not the old cache's one "primary" segment
    assert segments.highway.tolist() == ["motorway_link", "residential", "motorway_link", "motorway_link"]
    _assert_same(load_segments(cached), segments)
    assert cached.is_file() and old.is_file()

    def parse_again(*args, **kwargs):
        raise AssertionError("the PBF was parsed again")

    monkeypatch.setattr(geocover.prepare, "read_road_segments", parse_again)
    _assert_same(load_roads(config, zones=None), segments)


def test_extract_keeps_the_ways_reaching_the_zones_box(pbf):
    config = _config(pbf, extract=True)
    zones = gpd.GeoDataFrame({"zone_id": ["a"]}, geometry=[box(0.45, 0.45, 0.55, 0.55)], crs="EPSG:4326")
    west, south, east, north = extract_box(config, zones)
    # The margin: 150 km/h x 0.1 minute = 250 m, in degrees at the equator (longitude at 0.5°N).
    lon_m, lat_m = 111_320.0 * np.cos(np.radians(0.5)), 110_574.0
    np.testing.assert_allclose([west, south, east, north], [0.45 - 250 / lon_m, 0.45 - 250 / lat_m,
                                                            0.55 + 250 / lon_m, 0.55 + 250 / lat_m], atol=1e-5)
    segments = load_roads(config, zones)
    _assert_same(segments, read_road_segments(pbf, (west, south, east, north)))
    # Way 10 has node 1 in the box; way 11 only nodes beyond it; way 12 is far away.
    assert segments.way_id.tolist() == [10] and segments.node_id.tolist() == [1, 2]


def test_highway_classes_from_the_file_and_a_box_match_the_segments(pbf, tmp_path):
    """Speeds are looked up per class through ``highway_classes`` (read from the cache, kept by ``within``):
    the classes must give back every segment's ``highway``, and the speeds those of a fresh parse."""
    from geocover.network.graph import build_network

    parsed = read_road_segments(pbf)
    loaded = load_segments(save_segments(parsed, tmp_path / "roads.npz"))
    for segments in (loaded, loaded.within((0.0, 0.0, 1.0, 1.0)), parsed.within((0.0, 0.0, 1.0, 1.0))):
        codes, classes = segments.highway_classes
        np.testing.assert_array_equal(classes[codes], segments.highway)
    assert len(loaded.within((0.0, 0.0, 1.0, 1.0)).highway) == 2
    for mode in ("drive", "walk"):
        fresh, cached = build_network(parsed, mode, "EPSG:32738"), build_network(loaded, mode, "EPSG:32738")
        np.testing.assert_array_equal(fresh.minutes_uv, cached.minutes_uv)
        np.testing.assert_array_equal(fresh.minutes_vu, cached.minutes_vu)
    assert np.isinf(build_network(loaded, "walk", "EPSG:32738").minutes_uv).sum() == 0


def test_a_segment_without_highway_class_stays_without_one_in_the_cache(pbf, tmp_path):
    from dataclasses import replace

    parsed = read_road_segments(pbf)
    missing = replace(parsed, highway=np.array(["residential", None, "residential", "track"], dtype=object))
    loaded = load_segments(save_segments(missing, tmp_path / "roads.npz"))
    assert loaded.highway.tolist() == ["residential", None, "residential", "track"]
    codes, classes = loaded.highway_classes
    assert codes.tolist() == [0, -1, 0, 1] and classes.tolist() == ["residential", "track"]
