"""Bad inputs as a county analyst has them: each exits 2 naming the file and key, all at once, no traceback.

A small valid scenario is built in ``tmp_path`` (a GBK township Shapefile without ``.cpg``, a hand-made
PBF, a CSV of clinics, a population GeoTIFF); each test spoils one or more of its files.
"""

from __future__ import annotations

import struct

import geopandas as gpd
import numpy as np
import osmium
import pyogrio
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer
from shapely.geometry import LineString, Point, box

from geocover.cli import main
from geocover.config import load_config
from geocover.errors import InputError
from geocover.io.facilities import read_facilities
from geocover.io.road_lines import read_road_lines
from geocover.io.sniff import pbf_problems
from geocover.io.vectors import dbf_encoding, dbf_problems
from geocover.io.zones import read_zones
from geocover.pipeline import run_scenario

TOWNSHIPS = ["城关镇", "河西乡"]
CONFIG = """name: county
mode: walk
bands_minutes: [15, 30]
target_minutes: 15
roads: {pbf: roads.pbf}
facilities: {path: clinics.csv}
population: {raster: people.tif}
zones: [{level: township, path: towns.shp, id_column: DM, name_column: MC}]
"""


def write_dbf(path, fields: list[bytes], rows: list[list[bytes]], width: int = 40) -> None:
    """A dBASE III file of text fields holding raw bytes, as Chinese GIS software writes them."""
    header_len = 32 + 32 * len(fields) + 1
    out = bytearray(struct.pack("<BBBBIHH20x", 3, 124, 1, 1, len(rows), header_len, 1 + width * len(fields)))
    for name in fields:
        out += name.ljust(11, b"\0")[:11] + b"C" + b"\0" * 4 + bytes([width, 0]) + b"\0" * 14
    out += b"\r"
    for row in rows:
        out += b" " + b"".join(value.ljust(width, b" ")[:width] for value in row)
    path.write_bytes(bytes(out) + b"\x1a")


def shapefile(path, geometries, fields: list[bytes], rows: list[list[bytes]], prj: bool = True) -> None:
    """A Shapefile whose DBF holds exactly ``rows`` (raw bytes) and no ``.cpg``."""
    gpd.GeoDataFrame({"x": range(len(geometries))}, geometry=geometries, crs=4326).to_file(path)
    write_dbf(path.with_suffix(".dbf"), fields, rows)
    path.with_suffix(".cpg").unlink(missing_ok=True)
    if not prj:
        path.with_suffix(".prj").unlink()


def write_pbf(path) -> None:
    """A street along the equator from 0 to 0.02 degrees east, as an OSM PBF."""
    with osmium.SimpleWriter(str(path)) as writer:
        for i, lon in enumerate(np.linspace(0.0, 0.02, 21)):
            writer.add_node(osmium.osm.mutable.Node(id=i + 1, location=(float(lon), 0.0), version=1))
        writer.add_way(osmium.osm.mutable.Way(id=1, nodes=list(range(1, 22)), tags={"highway": "residential"},
                                              version=1))


def write_raster(path, values, west: float = 0.0, nodata: float = -1.0) -> None:
    values = np.asarray(values, dtype=np.float32).reshape(1, 1, -1)
    with rasterio.open(path, "w", driver="GTiff", height=1, width=values.shape[2], count=1, dtype="float32",
                       crs="EPSG:4326", transform=Affine(0.001, 0, west, 0, -0.001, 0.0005), nodata=nodata) as dst:
        dst.write(values)


@pytest.fixture()
def scenario(tmp_path):
    write_pbf(tmp_path / "roads.pbf")
    shapefile(tmp_path / "towns.shp", [box(0.0, -0.001, 0.01, 0.001), box(0.01, -0.001, 0.02, 0.001)],
              [b"DM", b"MC"], [[b"140100001000", TOWNSHIPS[0].encode("gbk")],
                               [b"140100002000", TOWNSHIPS[1].encode("gbk")]])
    (tmp_path / "clinics.csv").write_text("名称,经度,纬度\n城关镇卫生院,0.012,0.0001\n", encoding="gbk")
    write_raster(tmp_path / "people.tif", np.ones(20))
    config = tmp_path / "county.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    return config


def check(args, capsys, *expected: str, count: int | None = None) -> str:
    """Run the command line; assert exit 2, every expected text in the message and no traceback."""
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for text in expected:
        assert text in err, f"{text!r} not in {err}"
    if count is not None:
        assert f"{count} problem(s)" in err, err
    return err


def test_valid_scenario_and_gbk_townships_without_cpg(scenario, capsys):
    assert main(["validate", str(scenario)]) == 0
    assert "township 2" in capsys.readouterr().out
    zones = read_zones(load_config(scenario).zones, None)
    assert zones["zone_name"].tolist() == TOWNSHIPS  # not '³Ç¹ØÕò'


def test_gbk_road_lines_without_cpg_read_grades(tmp_path):
    path = tmp_path / "农村公路.shp"
    shapefile(path, [LineString([(0, 0), (0.01, 0)]), LineString([(0.01, 0), (0.02, 0)])],
              ["等级".encode("gbk"), "名称".encode("gbk")],
              [["县道".encode("gbk"), "城关路".encode("gbk")], ["村道".encode("gbk"), "河西路".encode("gbk")]])
    assert dbf_encoding(path) == "GBK"
    segments = read_road_lines(path, "等级")
    assert sorted(set(segments.highway)) == ["county", "village"]


def test_gb18030_rare_characters_in_a_village_layer(tmp_path):
    path = tmp_path / "villages.shp"
    names = ["㙟头村", "李家庄村", "河西村"]  # 㙟 is outside GBK
    shapefile(path, [Point(0.001 * i, 0) for i in range(3)], ["村名".encode("gb18030")],
              [[n.encode("gb18030")] for n in names])
    assert dbf_encoding(path) == "GB18030"
    assert pyogrio.read_dataframe(path, encoding=dbf_encoding(path))["村名"].tolist() == names


def test_latin1_and_utf8_dbf_are_not_taken_for_chinese(tmp_path):
    latin = tmp_path / "latin.shp"
    shapefile(latin, [Point(43.2, -11.7)] * 2, [b"name"], [["Hôpital Général".encode("latin-1")],
                                                          ["Médecine à Moroni".encode("latin-1")]])
    assert dbf_encoding(latin) is None and dbf_problems(latin) == []
    utf8 = tmp_path / "utf8.shp"
    shapefile(utf8, [Point(0, 0)], ["名称".encode()], [["城关镇".encode()]])
    assert dbf_encoding(utf8) == "UTF-8"


def test_many_real_township_names_in_gbk_are_not_big5(tmp_path):
    names = [
        "城关镇", "河西乡", "东关街道", "西关街道", "南关街道", "北关街道", "杏花岭街道", "小店街道",
        "晋源镇", "阳曲镇", "清徐镇", "古交市", "尧都区", "曲沃县", "翼城县", "襄汾县",
        "洪洞县", "古县", "安泽县", "浮山县", "吉县", "乡宁县", "大宁县", "隰县",
        "永和县", "蒲县", "汾西县", "侯马市", "霍州市", "市中区", "沙湾区", "五通桥区",
        "金口河区", "犍为县", "井研县", "夹江县", "沐川县", "峨边彝族自治县",
    ]
    path = tmp_path / "towns.shp"
    shapefile(path, [Point(0, 0)] * len(names), ["名称".encode("gbk")], [[n.encode("gbk")] for n in names])
    assert dbf_encoding(path) == "GBK" and dbf_problems(path) == []


def test_big5_townships_are_an_error(scenario, capsys):
    shapefile(scenario.parent / "towns.shp", [box(0.0, -0.001, 0.01, 0.001)], [b"DM", b"MC"],
              [[b"140100001000", "城關鎮".encode("big5")]])
    check(["validate", str(scenario)], capsys, "towns.shp", "Big5", ".cpg")


def test_big5_with_a_cpg_reads(tmp_path):
    path = tmp_path / "towns.shp"
    shapefile(path, [Point(0, 0)], [b"MC"], [["臺北市".encode("big5")]])
    path.with_suffix(".cpg").write_text("BIG5", encoding="ascii")
    assert dbf_problems(path) == []
    assert pyogrio.read_dataframe(path)["MC"].tolist() == ["臺北市"]


def test_field_name_cut_mid_character(scenario, capsys):
    cut = "乡镇名称代码".encode("gbk")[:9] + b"\0"  # 4.5 characters: the 10-byte limit cut one in half
    shapefile(scenario.parent / "towns.shp", [box(0.0, -0.001, 0.01, 0.001)], [b"DM", b"MC", cut],
              [[b"140100001000", "城关镇".encode("gbk"), b"x"]])
    check(["validate", str(scenario)], capsys, "towns.shp", "cut in the middle of a character", "乡镇名称")


@pytest.mark.parametrize(("content", "expected"), [
    (b"", "empty"),
    (b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "HTML page"),
    (b"II*\0" + b"\0" * 100, "TIFF"),
    (b"PK\x03\x04" + b"\0" * 100, "ZIP"),
    (b"\0\0\0\x0ehello world!!!" * 4, "not an OSM PBF"),
])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_pbf(scenario, capsys, content, expected, command):
    (scenario.parent / "roads.pbf").write_bytes(content)
    check([command, str(scenario), "--quiet"] if command == "run" else [command, str(scenario)], capsys,
          "roads.pbf", expected)


def test_cut_off_pbf(scenario, capsys):
    pbf = scenario.parent / "roads.pbf"
    data = pbf.read_bytes()
    assert pbf_problems(pbf) == []
    pbf.write_bytes(data[: len(data) - 10])
    check(["validate", str(scenario)], capsys, "roads.pbf", "cut off")


def test_cut_off_osm_xml(scenario, capsys):
    (scenario.parent / "roads.osm").write_text("<?xml version='1.0'?>\n<osm version='0.6'>\n<node id='1'",
                                               encoding="utf-8")
    scenario.write_text(CONFIG.replace("roads.pbf", "roads.osm"), encoding="utf-8")
    check(["validate", str(scenario)], capsys, "roads.osm", "</osm>")


@pytest.mark.parametrize(("make", "expected"), [
    (lambda p: p.write_text("lon,lat,people\n0.001,0,5\n", encoding="utf-8"), "cannot be read as a population"),
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.write_text("<html>404</html>", encoding="utf-8"), "HTML page"),
    (lambda p: write_raster(p, np.full(20, -1.0)), "every cell"),
    (lambda p: write_raster(p, np.full(20, np.nan), nodata=np.nan), "every cell"),
])
def test_bad_population_raster(scenario, capsys, make, expected):
    make(scenario.parent / "people.tif")
    check(["validate", str(scenario)], capsys, "people.tif", expected)


def test_corrupt_geotiff(scenario, capsys):
    raster = scenario.parent / "people.tif"
    write_raster(raster, np.arange(4000.0))
    raster.write_bytes(raster.read_bytes()[:-5000])
    check(["validate", str(scenario)], capsys, "people.tif", "cannot be read")


def test_raster_of_another_place(scenario, capsys):
    write_raster(scenario.parent / "people.tif", np.ones(20), west=110.0)
    check(["validate", str(scenario)], capsys, "people.tif", "does not overlap the zones", "lon 110.000")
    check(["run", str(scenario), "--quiet", "--out", str(scenario.parent / "out")], capsys, "does not overlap")


def test_every_bad_file_at_once_from_run(scenario, capsys):
    folder = scenario.parent
    (folder / "roads.pbf").write_text("<html></html>", encoding="utf-8")
    (folder / "people.tif").write_text("not a raster", encoding="utf-8")
    shapefile(folder / "towns.shp", [box(0, 0, 1, 1)], [b"MC"], [["城關鎮".encode("big5")]])
    for command in (["validate", str(scenario)], ["run", str(scenario), "--quiet"]):
        check(command, capsys, "roads.pbf", "people.tif", "towns.shp", count=3)
    assert not (folder / "maps").exists()


def test_missing_layer_name(scenario, capsys):
    gpd.read_file(scenario.parent / "towns.shp").to_file(scenario.parent / "towns.gpkg", layer="乡镇")
    scenario.write_text(CONFIG.replace("path: towns.shp,", "path: towns.gpkg, layer: 街道,"), encoding="utf-8")
    check(["validate", str(scenario)], capsys, "towns.gpkg", "no layer '街道'", "乡镇")


def test_shapefile_without_prj_needs_crs_key(scenario, capsys):
    (scenario.parent / "towns.prj").unlink()
    check(["validate", str(scenario)], capsys, "towns.shp", "no CRS", "crs:")
    scenario.write_text(CONFIG.replace("path: towns.shp,", "path: towns.shp, crs: 'EPSG:4326',"), encoding="utf-8")
    assert main(["validate", str(scenario)]) == 0


def test_crs_key_contradicting_the_prj(scenario, capsys):
    scenario.write_text(CONFIG.replace("path: towns.shp,", "path: towns.shp, crs: 'EPSG:4547',"), encoding="utf-8")
    check(["validate", str(scenario)], capsys, "towns.shp", "EPSG:4547", ".prj")


def test_points_and_empty_geometries_as_zones(scenario, capsys):
    gpd.GeoDataFrame({"DM": ["1", "2"], "MC": TOWNSHIPS}, geometry=[Point(0.005, 0), box(0.01, -0.001, 0.02, 0.001)],
                     crs=4326).to_file(scenario.parent / "seats.gpkg")
    scenario.write_text(CONFIG.replace("towns.shp", "seats.gpkg"), encoding="utf-8")
    check(["validate", str(scenario)], capsys, "seats.gpkg, row 1", "Point, not a polygon")
    gpd.GeoDataFrame({"DM": ["1", "2"], "MC": TOWNSHIPS}, geometry=[box(0, -0.001, 0.01, 0.001), None],
                     crs=4326).to_file(scenario.parent / "towns.gpkg")
    scenario.write_text(CONFIG.replace("towns.shp", "towns.gpkg"), encoding="utf-8")
    check(["validate", str(scenario)], capsys, "towns.gpkg, row 2", "no geometry")


def test_config_saved_in_gbk_reads(scenario, capsys):
    text = CONFIG.replace("name: county", "name: 城关镇").replace("clinics.csv", "卫生院.csv")
    (scenario.parent / "clinics.csv").rename(scenario.parent / "卫生院.csv")
    scenario.write_bytes(text.encode("gbk"))
    assert main(["validate", str(scenario)]) == 0
    assert "城关镇" in capsys.readouterr().out


def test_config_in_no_known_encoding(scenario, capsys):
    scenario.write_bytes(CONFIG.encode() + "# 說明\n".encode("big5") + b"\xff\xfe\xfd\n")
    check(["validate", str(scenario)], capsys, "county.yaml", "UTF-8")


def test_five_mistakes_in_one_report(scenario, capsys):
    text = (CONFIG.replace("target_minutes: 15\n", "").replace("mode: walk", "mode: boat")
            .replace("roads.pbf", "no_roads.pbf") + "snap_max_m: -5\nextra_key: 1\n")
    scenario.write_text(text, encoding="utf-8")
    check(["validate", str(scenario)], capsys, "target_minutes", "'mode'", "snap_max_m", "extra_key",
          "roads.pbf: file not found: no_roads.pbf", count=5)
    text = CONFIG.replace("roads.pbf", "no_roads.pbf").replace("people.tif", "no_people.tif")
    scenario.write_text(text.replace("clinics.csv", "none.csv").replace("towns.shp", "none.shp"), encoding="utf-8")
    err = check(["validate", str(scenario)], capsys, "no_roads.pbf", "no_people.tif", "none.csv", "none.shp")
    assert err.count("file not found") >= 4


def test_missing_target_minutes_is_an_error(scenario, capsys):
    scenario.write_text(CONFIG.replace("target_minutes: 15\n", ""), encoding="utf-8")
    check(["validate", str(scenario)], capsys, "key 'target_minutes'", "required", count=1)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("bands_minutes: [15, 30]", "bands_minutes: [-15, 15, 30]", "bands_minutes.0"),
    ("bands_minutes: [15, 30]", "bands_minutes: [15, 15, 30]", "15 more than once"),
    ("target_minutes: 15", "target_minutes: .nan", "target_minutes"),
    ("target_minutes: 15", "target_minutes: 20", "target_minutes 20 must be one of bands_minutes"),
])
def test_bands_and_target(scenario, capsys, old, new, expected):
    scenario.write_text(CONFIG.replace(old, new), encoding="utf-8")
    check(["validate", str(scenario)], capsys, expected, count=1)


def test_cross_field_error_names_keys_without_a_dump(scenario, capsys):
    scenario.write_text(CONFIG.replace("roads: {pbf: roads.pbf}", "roads: {speed_factor: 2}"), encoding="utf-8")
    err = check(["validate", str(scenario)], capsys, "key 'roads'", "'pbf' or 'lines'")
    assert "got {" not in err and "Value error" not in err


def test_validate_reads_statistics(scenario, capsys):
    (scenario.parent / "stats.csv").write_text("区划代码,常住人口\n140100001000,abc\n", encoding="gbk")
    scenario.write_text(CONFIG + "statistics: {path: stats.csv}\n", encoding="utf-8")
    check(["validate", str(scenario)], capsys, "stats.csv", "'abc' is not a number")


def test_validate_reads_road_lines(scenario, capsys):
    shapefile(scenario.parent / "roads.shp", [LineString([(0, 0), (0.02, 0)])], ["等级".encode("gbk")],
              [["机耕路".encode("gbk")]])
    scenario.write_text(CONFIG.replace("{pbf: roads.pbf}", "{lines: roads.shp, grade_column: 等级}"), encoding="utf-8")
    check(["validate", str(scenario)], capsys, "roads.shp", "unknown road grade")


def test_facility_shapefile_in_big5(scenario, capsys):
    shapefile(scenario.parent / "clinics.shp", [Point(0.012, 0)], ["名稱".encode("big5")],
              [["城關鎮衛生院".encode("big5")]])
    scenario.write_text(CONFIG.replace("clinics.csv", "clinics.shp"), encoding="utf-8")
    check(["validate", str(scenario)], capsys, "clinics.shp", "Big5")


def test_every_facility_outside_the_study_area(scenario, capsys):
    (scenario.parent / "clinics.csv").write_text("名称,经度,纬度\n城关镇卫生院,116.4,39.9\n", encoding="utf-8")
    check(["run", str(scenario), "--quiet", "--out", str(scenario.parent / "out")], capsys,
          "clinics.csv", "every facility lies outside the study area", "lon 116.400", "coord_system")
    assert not (scenario.parent / "out").exists()


def test_facilities_partly_outside_and_unmatched_codes_are_noted(scenario):
    (scenario.parent / "clinics.csv").write_text(
        "名称,经度,纬度,类别,乡镇代码\n城关镇卫生院,0.012,0.0001,乡镇卫生院,140100001000\n"
        "北京医院,116.4,39.9,医院,140100001000\n河西站,0.015,0.0001,Z999,140100009000\n", encoding="utf-8")
    notes = run_scenario(scenario, progress=False).notes
    assert any(n.startswith("1 facilities outside the study area left out: 北京医院") for n in notes), notes
    assert any("'河西站' (1)" in n and "tier 'other'" in n for n in notes), notes
    assert any("1 facilities give a township code that matches no zone" in n and "140100009000" in n
               for n in notes), notes


def test_surveyors_xy_order_with_explicit_epsg(tmp_path):
    lon, lat = np.array([114.5, 114.6]), np.array([37.8, 37.9])
    east, north = Transformer.from_crs(4326, 4547, always_xy=True).transform(lon, lat)
    path = tmp_path / "测绘.csv"
    rows = [f"卫生院{i},{n:.2f},{e:.2f}\n" for i, (e, n) in enumerate(zip(east, north, strict=True))]
    path.write_text("名称,X,Y\n" + "".join(rows), encoding="utf-8")
    with pytest.raises(InputError) as excinfo:
        read_facilities(path, lon_column="X", lat_column="Y", coord_system="EPSG:4547")
    [problem] = excinfo.value.problems
    assert "swapped in every row" in problem.message and "lon_column='Y', lat_column='X'" in problem.fix
    out = read_facilities(path, lon_column="Y", lat_column="X", coord_system="EPSG:4547")
    assert out.geometry.x.to_numpy() == pytest.approx(lon, abs=1e-6)
    assert out.geometry.y.to_numpy() == pytest.approx(lat, abs=1e-6)


@pytest.mark.parametrize("value", ["1e400", "inf", "-1e999"])
def test_infinite_coordinates_are_errors(tmp_path, value):
    path = tmp_path / "poi.csv"
    path.write_text(f"名称,经度,纬度\n甲,116.4,39.9\n乙,{value},39.9\n", encoding="utf-8")
    with pytest.raises(InputError) as excinfo:
        read_facilities(path)
    [problem] = excinfo.value.problems
    assert problem.row == 3 and problem.column == "经度" and "not a finite coordinate" in problem.message


def test_lenient_with_every_row_bad(scenario, capsys):
    (scenario.parent / "clinics.csv").write_text("名称,经度,纬度\n甲,abc,39.9\n乙,116.4,xyz\n", encoding="utf-8")
    check(["run", str(scenario), "--quiet", "--lenient"], capsys, "every row is bad", "row 2", "row 3")


def test_value_cut_mid_character_is_damaged_text_not_mojibake(tmp_path):
    path = tmp_path / "towns.shp"
    names = [n.encode("gbk") for n in TOWNSHIPS * 5] + ["城关镇".encode("gbk")[:-1]]
    shapefile(path, [Point(0, 0)] * len(names), [b"MC"], [[n] for n in names])
    [problem] = dbf_problems(path)
    assert "decodes as neither UTF-8 nor GBK" in problem.message and str(path) == problem.file
