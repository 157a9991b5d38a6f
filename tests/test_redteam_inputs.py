"""Red-team regressions: inputs as a 卫健委 analyst gives them, each defect found by mutating a small scenario.

Each test spoils one thing and asserts the exit code (or the InputError of the reader), the key words of the
message (file, row, column or key, what to do) and that no traceback or mojibake reaches the user. The scenario
is the one of ``tests/test_bad_inputs.py``: a GBK township Shapefile without ``.cpg``, a hand-made PBF, a GBK
CSV of clinics and a population GeoTIFF.
"""

from __future__ import annotations

import json
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from shapely.geometry import Point, box

from geocover.checks import batch_problems, site_problems
from geocover.config import load_config
from geocover.errors import InputError
from geocover.io.facilities import read_facilities
from geocover.io.sniff import pbf_problems, raster_problems
from geocover.io.spreadsheets import read_table
from geocover.io.statistics import read_statistics
from geocover.io.vectors import dbf_problems, read_vector, vector_problems
from geocover.io.zones import read_zones
from geocover.prepare import tier_name_problems
from geocover.standards.plans import load_plan
from tests.conftest import ROOT
from tests.test_bad_inputs import CONFIG, TOWNSHIPS, check, shapefile, write_pbf, write_raster

ROOT_ROWS = [[b"140100001000", TOWNSHIPS[0].encode("gbk")], [b"140100002000", TOWNSHIPS[1].encode("gbk")]]
TOWN_BOXES = [box(0.0, -0.001, 0.01, 0.001), box(0.01, -0.001, 0.02, 0.001)]


@pytest.fixture()
def county(tmp_path):
    """The valid scenario of tests/test_bad_inputs.py; returns the config path."""
    write_pbf(tmp_path / "roads.pbf")
    shapefile(tmp_path / "towns.shp", TOWN_BOXES, [b"DM", b"MC"], ROOT_ROWS)
    (tmp_path / "clinics.csv").write_text("名称,经度,纬度\n城关镇卫生院,0.012,0.0001\n", encoding="gbk")
    write_raster(tmp_path / "people.tif", np.ones(20))
    config = tmp_path / "county.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    return config


def edit(config, old: str, new: str) -> None:
    text = config.read_text(encoding="utf-8")
    assert old in text
    config.write_text(text.replace(old, new), encoding="utf-8")


def problems_of(action) -> str:
    """The message of the InputError ``action()`` raises (it must raise one)."""
    with pytest.raises(InputError) as excinfo:
        action()
    return str(excinfo.value)


def test_python_dash_m_runs_the_command_line():
    done = subprocess.run([sys.executable, "-m", "geocover", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("geocover "), done.stderr


def test_geopackage_of_two_layers_with_none_chosen(county, capsys):
    layer = gpd.GeoDataFrame({"name": ["甲卫生院"]}, geometry=[Point(0.012, 0.0001)], crs=4326)
    path = county.parent / "f.gpkg"
    layer.to_file(path, layer="clinics")
    layer.to_file(path, layer="hospitals")
    found = vector_problems(path)
    assert len(found) == 1 and "2 layers and none is chosen: clinics, hospitals" in found[0].message
    assert vector_problems(path, "hospitals") == []
    edit(county, "{path: clinics.csv}", "{path: f.gpkg}")
    check(["validate", str(county)], capsys, "f.gpkg", "none is chosen", "set layer:")


def test_qgis_layer_styles_table_is_not_a_second_layer(tmp_path):
    path = tmp_path / "z.gpkg"
    gpd.GeoDataFrame({"n": [1]}, geometry=[box(0, 0, 1, 1)], crs=4326).to_file(path, layer="towns")
    pd.DataFrame({"styleName": ["x"]}).pipe(lambda f: gpd.GeoDataFrame(f)).to_file(path, layer="layer_styles")
    assert vector_problems(path) == []


@pytest.mark.parametrize(("cpg", "expected"), [
    ("KLINGON", "names the encoding 'KLINGON', which is not an encoding"),
    ("UTF-8", "says UTF-8 but the attribute text is not UTF-8 (it reads as GBK)"),
    ("ISO-8859-1", "says ISO-8859-1 but the attribute text is not ISO-8859-1: it is Chinese text (GBK)"),
])
def test_cpg_that_does_not_name_the_dbf_text_is_an_error(county, capsys, cpg, expected):
    (county.parent / "towns.cpg").write_text(cpg)
    found = dbf_problems(county.parent / "towns.shp")
    assert [p.message for p in found] == [next(p.message for p in found)] and expected in found[0].message
    err = check(["run", str(county), "--quiet"], capsys, "towns.shp", expected, ".cpg")
    assert "³Ç" not in err


@pytest.mark.parametrize("cpg", ["936", "ANSI 936", "GBK", "cp936"])
def test_cpg_code_pages_read_the_gbk_names(county, cpg):
    (county.parent / "towns.cpg").write_text(cpg)
    assert dbf_problems(county.parent / "towns.shp") == []
    assert read_vector(county.parent / "towns.shp")["MC"].tolist() == TOWNSHIPS


def test_zone_codes_stored_as_real_numbers_keep_their_digits(county):
    towns = read_vector(county.parent / "towns.shp")
    towns["DM"] = towns["DM"].astype(float)
    towns.loc[0, "MC"] = None
    towns.to_file(county.parent / "z.gpkg")
    edit(county, "path: towns.shp", "path: z.gpkg")
    zones = read_zones(load_config(county).zones, None)
    assert zones["zone_id"].tolist() == ["140100001000", "140100002000"]
    assert zones["zone_name"].tolist() == ["", TOWNSHIPS[1]]  # an empty name stays empty, never 'None'


def test_zone_without_id_is_an_error(county, capsys):
    shapefile(county.parent / "towns.shp", TOWN_BOXES, [b"DM", b"MC"], [[b"", ROOT_ROWS[0][1]], ROOT_ROWS[1]])
    check(["validate", str(county)], capsys, "towns.shp, row 1, column 'DM': the zone has no id", "fill in")


def test_zone_columns_are_checked_with_every_other_input(county, capsys):
    edit(county, "id_column: DM", "id_column: CODE, urban_rural_column: 城乡")
    (county.parent / "clinics.csv").write_text("名称,经度,纬度\n甲卫生院,0.012,95\n", encoding="gbk")
    write_raster(county.parent / "people.tif", -np.ones(20))
    check(["run", str(county), "--quiet"], capsys, "column 'CODE': column named by id_column not found",
          "column '城乡': column named by urban_rural_column", "clinics.csv, row 2", "people.tif", count=4)


@pytest.mark.parametrize(("speeds", "expected"), [
    ("{residential: -20}", "key 'roads.speeds_kmh.residential': Input should be greater than 0"),
    ("{residentail: 20}", "'residentail' is no OSM highway kind, road grade or mode"),
])
def test_road_speeds_must_be_positive_and_known(county, capsys, speeds, expected):
    edit(county, "roads: {pbf: roads.pbf}", f"roads: {{pbf: roads.pbf, speeds_kmh: {speeds}}}")
    check(["validate", str(county)], capsys, "county.yaml", expected)


def test_road_speeds_of_grades_and_modes_are_accepted(county):
    edit(county, "roads: {pbf: roads.pbf}", "roads: {pbf: roads.pbf, speeds_kmh: {walk: 4, county: 50, track: 10}}")
    assert load_config(county).roads.speeds_kmh == {"walk": 4.0, "county": 50.0, "track": 10.0}


def test_a_key_given_twice_is_an_error_with_both_lines(county, capsys):
    county.write_text(CONFIG.replace("zones: [{level: township,", "zones: [{level: township, level: town,")
                      + "target_minutes: 30\ncolour: red\n", encoding="utf-8")
    check(["validate", str(county)], capsys, "key 'target_minutes' is given twice, on lines 4 and 9",
          "key 'zones[0].level' is given twice", "key 'colour': unknown key", count=3)


def test_folders_given_for_files_are_named_as_folders(tmp_path, capsys):
    folder = tmp_path / "data.tif"
    folder.mkdir()
    assert "is a folder, not a population raster" in raster_problems(folder, what="population raster")[0].message
    assert "is a folder, not a road file" in pbf_problems(folder)[0].message
    assert "is a folder, not a file" in problems_of(lambda: read_table(folder))
    assert "is a folder, not a file" in problems_of(lambda: read_facilities(folder))
    check(["validate", str(tmp_path)], capsys, "is a folder, not a config file")


@pytest.mark.parametrize("code", ["1.40100002E+11", "140100002000.0"])
def test_township_code_read_as_a_number_is_an_error(tmp_path, code):
    path = tmp_path / "f.csv"
    path.write_text(f"名称,经度,纬度,乡镇代码\n甲卫生院,116.4,39.9,{code}\n", encoding="gbk")
    message = problems_of(lambda: read_facilities(path))
    assert "row 2, column '乡镇代码': the code is read as the number 140100002000" in message
    assert "format the column as text" in message


def test_township_code_in_a_numeric_excel_cell_is_kept(tmp_path):
    path = tmp_path / "f.xlsx"
    pd.DataFrame({"名称": ["甲卫生院"], "经度": [116.4], "纬度": [39.9], "乡镇代码": [140100002000]}).to_excel(
        path, index=False)
    assert read_facilities(path)["township_code"].tolist() == ["140100002000"]


def test_siting_options_name_their_flag_without_a_validation_dump(county):
    found = site_problems(load_config(county), k=0)
    assert [p.message for p in found] == ["key 'siting.k' (--k): Input should be greater than or equal to 1 (got 0)"]
    assert "errors.pydantic.dev" not in str(found[0])


def test_plan_file_saved_in_gbk_is_read(tmp_path):
    preset = ROOT / "configs" / "standards" / "leshan_shizhong_14th_fyp.yaml"
    path = tmp_path / "plan.yaml"
    path.write_bytes(preset.read_text(encoding="utf-8").encode("gb18030"))
    assert load_plan(path) == load_plan(preset)
    path.write_bytes("plan: {name: 我的规划}\nplan: {name: 又一个}\n".encode("gbk"))
    message = problems_of(lambda: load_plan(path))
    assert "UnicodeDecodeError" not in message and "key 'plan' is given twice, on lines 1 and 2" in message


def test_villages_are_checked_with_every_other_input(county, capsys):
    (county.parent / "villages.csv").write_text("村代码,村名,常住人口\n14010000100,甲村,-3\n", encoding="gbk")
    (county.parent / "clinics.csv").write_text("名称,经度,纬度\n甲卫生院,0.012,95\n", encoding="gbk")
    county.write_text(CONFIG + "villages: {path: villages.csv}\n", encoding="utf-8")
    check(["run", str(county), "--quiet"], capsys, "clinics.csv, row 2",
          "villages.csv, row 2, column '村代码': village code '14010000100' is not 12 digits",
          "villages.csv, row 2, column '常住人口'", count=3)


@pytest.mark.parametrize(("table", "year", "expected"), [
    ("区划代码,常住人口\n140100001000,10\n,5\n", None, "row 3, column '区划代码': the row has no code"),
    ("区划代码,常住人口\n1.401E+11,10\n", None,
     "row 2, column '区划代码': the code is read as the number 140100000000"),
    ("区划代码,年份,常住人口\n140100001000,2022,10\n", 2035, "column '年份': no rows of year 2035; years found: 2022"),
    ("名称,常住人口\n城关镇,10\n", None, "no column of administrative codes; columns found: 名称, 常住人口"),
])
def test_statistics_rows_that_would_match_nothing(tmp_path, table, year, expected):
    path = tmp_path / "stats.csv"
    path.write_text(table, encoding="gbk")
    message = problems_of(lambda: read_statistics(path, year=year))
    assert expected in message and "source_row" not in message


def test_rotated_raster_is_an_input_problem(tmp_path):
    path = tmp_path / "people.tif"
    with rasterio.open(path, "w", driver="GTiff", height=2, width=2, count=1, dtype="float32", crs="EPSG:4326",
                       transform=Affine(0.001, 0.0001, 0, 0.0001, -0.001, 0)) as dst:
        dst.write(np.ones((1, 2, 2), np.float32))
    found = raster_problems(path, what="population raster", people=True)
    assert [p.message for p in found] == ["the population raster is rotated (its geotransform has rotation terms)"]


@pytest.mark.parametrize(("value", "expected"), [
    (3.4028235e38, "hold up to 3.40282e+38 people, more than 1e+07 in one cell: an undeclared nodata value"),
    (-5.0, "hold negative people (down to -5)"),
])
def test_population_raster_with_an_undeclared_nodata(county, capsys, value, expected):
    values = np.ones(20, np.float32)
    values[:3] = value
    write_raster(county.parent / "people.tif", values, nodata=None)
    assert raster_problems(county.parent / "people.tif") == []  # any value is fine in an elevation raster
    check(["run", str(county), "--quiet"], capsys, "people.tif", expected, "gdal_edit -a_nodata")


@pytest.mark.parametrize(("content", "expected"), [
    ("名称,经度,纬度\n\"甲卫生院,116.4,39.9\n乙卫生院,116.5,39.9\n".encode("gbk"),
     "row 2: a quote (\") opened on line 2 is never closed"),
    ("名称,经度,纬度\n\"甲\"卫生院,116.4,39.9\n".encode("gbk"), "line 2 has text after a closing quote"),
    ("名称,经度,纬度\n甲卫生院,116.4,39.9\n".encode("gbk") + b"\0\0\n", "it holds NUL characters"),
    ("名称,经度,纬度\n甲卫生院,116.4,39.9\n".encode("gbk") + "乙卫生院,116.5,39.9\n".encode(),
     "row 3: line 3 is UTF-8 while the rest is GBK"),
])
def test_csv_text_that_would_be_misread(tmp_path, content, expected):
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    assert expected in problems_of(lambda: read_table(path))


def test_gbk_csv_with_short_chinese_cells_is_not_taken_for_mixed(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("名称,等级,经度,纬度\n甲卫生院,是,116.4,39.9\n乙,否,116.5,39.9\n", encoding="gbk")
    assert read_table(path)["名称"].tolist() == ["甲卫生院", "乙"]


def test_geojson_not_in_utf8(tmp_path):
    path = tmp_path / "f.geojson"
    point = {"type": "Point", "coordinates": [1, 2]}
    feature = {"type": "Feature", "properties": {"name": "甲卫生院"}, "geometry": point}
    path.write_bytes(json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False).encode("gbk"))
    found = vector_problems(path)
    assert [p.message for p in found] == ["a GeoJSON file must be UTF-8; this one is GBK"]


def test_batch_refuses_zero_workers(county):
    county.write_text(CONFIG + "batch: {unit_level: township}\n", encoding="utf-8")
    found = batch_problems(load_config(county), county.parent / "out", workers=0)
    assert [p.message for p in found] == ["--workers 0: a cluster needs at least 1 worker"]


def test_windows_backslash_path_gets_its_fix(county):
    edit(county, "clinics.csv", "sub\\\\clinics.csv")
    (fix,) = [p.fix for p in load_config(county).missing_files()]
    assert fix == "write / instead of \\ between folders"


def test_include_value_no_row_holds_is_an_error(tmp_path):
    path = tmp_path / "osm.csv"
    path.write_text("name,amenity,lon,lat\na,hospital,43.2,-11.7\nb,clinic,43.3,-11.8\n", encoding="utf-8")
    message = problems_of(lambda: read_facilities(path, include={"amenity": ["hospitl", "clinic"]}))
    assert "column 'amenity': include= keeps no row with 'hospitl'; values in this column: clinic, hospital" in message
    assert "did you mean 'hospital'?" in message
    assert read_facilities(path, include={"amenity": ["clinic"]})["name"].tolist() == ["b"]


def test_include_value_of_a_tier_the_area_lacks_is_a_warning(tmp_path):
    """A template shared by several areas lists tiers one of them lacks: the others are kept, with a warning."""
    path = tmp_path / "osm.csv"
    path.write_text("name,amenity,lon,lat\na,hospital,43.2,-11.7\nb,clinic,43.3,-11.8\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="include= value 'doctors' holds no row"):
        kept = read_facilities(path, include={"amenity": ["hospital", "clinic", "doctors"]})
    assert kept["name"].tolist() == ["a", "b"]


def test_service_and_ambulance_tiers_no_facility_can_have(county, capsys):
    service = "services: [{name: primary, tiers: [clinics], bands_minutes: [15], target_minutes: 15}]\n"
    county.write_text(CONFIG + service + "ambulance: {tiers: [hospitals]}\n", encoding="utf-8")
    check(["validate", str(county)], capsys, "key 'services[primary].tiers': no facility has tier 'clinics'",
          "key 'ambulance.tiers': no facility has tier 'hospitals'", "facilities.tier_map", count=2)
    county.write_text(CONFIG.replace("{path: clinics.csv}", "{path: clinics.csv, tier_map: {城关镇卫生院: clinics}}")
                      + service, encoding="utf-8")
    assert tier_name_problems(load_config(county)) == []


def test_standards_levels_name_zone_levels_and_plan_levels(county, capsys):
    county.write_text(CONFIG + "standards: {plan: leshan_shizhong_14th_fyp, levels: {towns: township, township: "
                      "parish}}\n", encoding="utf-8")
    check(["validate", str(county)], capsys, "key 'standards.levels.towns': no zone level 'towns'",
          "key 'standards.levels.township': 'parish' is no level of a plan", count=2)
