"""Reading facility lists: formats, coordinate systems, attributes and every bad input."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from openpyxl import Workbook
from pyproj import Transformer
from shapely.geometry import Point, box

from geocover.errors import InputError, Problem
from geocover.io.coordinates import wgs84_to_bd09, wgs84_to_gcj02
from geocover.io.facilities import OUTPUT_COLUMNS, classify_ownership, classify_tier, normalize_grade, read_facilities
from geocover.io.vectors import dbf_encoding
from tests.conftest import need_shared

HEADER = ["机构名称", "机构类别代码", "医院等级", "主办单位", "乡镇代码", "地址", "经度", "纬度"]
GOOD_ROWS = [
    ["XX县人民医院", "A100", "三级甲等", "政府办", "130102001", "城关镇人民路1号", 116.40, 39.90],
    ["城关镇中心卫生院", "C121", "", "政府办", "130102001001", "城关镇", 116.41, 39.91],
    ["东关社区卫生服务站", "B200", "", "个人办", "", "东关街", 116.42, 39.92],
    ["李家村卫生室", "D400", "", "集体", "130102002003", "李家村", 116.43, 39.93],
    ["XX县急救中心", "E100", "二级乙等", "卫生健康部门", "", "", 116.44, 39.94],
]


def csv_file(path: Path, rows: list[list[object]], header: list[str] | None = None,
             encoding: str = "gbk") -> Path:
    lines = [",".join(header or HEADER)] + [",".join("" if v is None else str(v) for v in r) for r in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def find(excinfo: pytest.ExceptionInfo[InputError], text: str, row: int | None = None,
         column: str | None = None) -> Problem:
    """The one problem containing ``text``; checks its message names file, row and column."""
    matches = [p for p in excinfo.value.problems if text in str(p)]
    assert len(matches) == 1, f"{text!r} not once in:\n{excinfo.value}"
    problem = matches[0]
    message = str(problem)
    assert message.startswith(problem.file)
    assert problem.row == row and problem.column == column
    if row is not None:
        assert f"row {row}" in message
    if column is not None:
        assert f"column '{column}'" in message
    assert problem.fix, "every problem says what to do"
    return problem


def test_gbk_csv_with_chinese_headers_and_attributes(tmp_path):
    path = csv_file(tmp_path / "机构.csv", GOOD_ROWS)
    gdf = read_facilities(path)
    assert gdf.crs.to_epsg() == 4326
    assert list(gdf.columns[: len(OUTPUT_COLUMNS)]) == list(OUTPUT_COLUMNS)
    assert gdf["facility_id"].tolist() == ["2", "3", "4", "5", "6"]  # source rows
    assert gdf["name"].iloc[1] == "城关镇中心卫生院"
    assert gdf["tier"].tolist() == ["hospital", "central_township_health_centre",
                                    "community_health_station", "village_clinic", "emergency_centre"]
    assert gdf["grade"].tolist() == ["三甲", None, None, None, "二乙"]
    assert gdf["ownership"].tolist() == ["government", "government", "private", "other_public",
                                         "government"]
    assert gdf["township_code"].tolist() == ["130102001000", "130102001000", None, "130102002000",
                                             None]
    assert gdf["机构类别代码"].tolist()[:2] == ["A100", "C121"]  # original attributes kept
    assert gdf.geometry.x.tolist() == pytest.approx([116.40, 116.41, 116.42, 116.43, 116.44])
    assert gdf.geometry.y.iloc[0] == pytest.approx(39.90)


def test_gcj02_and_bd09_converted_to_wgs84(tmp_path):
    wgs = (116.377817, 39.911954)  # eviltransform's Beijing pair
    glon, glat = wgs84_to_gcj02(*wgs)
    blon, blat = wgs84_to_bd09(*wgs)
    gcj = csv_file(tmp_path / "amap.csv", [["甲医院", glon, glat]], ["名称", "lng", "lat"], "utf-8")
    bd = csv_file(tmp_path / "baidu.csv", [["乙医院", f'"{blon:.8f},{blat:.8f}"']], ["名称", "经纬度"],
                  "utf-8")
    for path, system, tol in ((gcj, "gcj02", 1e-7), (bd, "bd09", 1e-5)):
        point = read_facilities(path, coord_system=system).geometry.iloc[0]
        assert point.x == pytest.approx(wgs[0], abs=tol) and point.y == pytest.approx(wgs[1], abs=tol)


def test_gauss_kruger_surveyor_xy(tmp_path):
    lon, lat = 114.30, 30.59
    easting, northing = Transformer.from_crs(4326, 4526, always_xy=True).transform(lon, lat)
    # surveyors' X is the northing, Y the zone-prefixed easting
    path = csv_file(tmp_path / "gk.csv", [["武汉某医院", f"{northing:.3f}", f"{easting:.3f}"]],
                    ["名称", "X坐标", "Y坐标"], "utf-8-sig")
    for options in ({"xy_columns": ("X坐标", "Y坐标")}, {}):
        point = read_facilities(path, **options).geometry.iloc[0]
        assert point.x == pytest.approx(lon, abs=1e-7) and point.y == pytest.approx(lat, abs=1e-7)


def test_projected_epsg_and_dms(tmp_path):
    x, y = Transformer.from_crs(4326, 4549, always_xy=True).transform(120.15, 30.28)
    path = csv_file(tmp_path / "cm120.csv", [["杭州某医院", x, y]], ["名称", "x", "y"], "utf-8")
    point = read_facilities(path, coord_system="EPSG:4549").geometry.iloc[0]
    assert (point.x, point.y) == pytest.approx((120.15, 30.28), abs=1e-7)
    dms = csv_file(tmp_path / "dms.csv", [["甲医院", "116°24′00″", "39°54′36″"]], ["名称", "经度", "纬度"],
                   "utf-8")
    point = read_facilities(dms).geometry.iloc[0]
    assert (point.x, point.y) == pytest.approx((116.4, 39.91))


def test_xlsx_title_rows_merged_header_totals(tmp_path):
    path = tmp_path / "名录.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(["XX县基层医疗卫生机构一览表"])
    ws.merge_cells("A1:E1")
    ws.append(["编号", "机构名称", "坐标", None, "机构类别"])
    ws.append([None, None, "经度", "纬度", None])
    for col in "ABE":
        ws.merge_cells(f"{col}2:{col}3")
    ws.merge_cells("C2:D2")
    ws.append([101, "城关镇卫生院", 116.40, 39.90, "乡镇卫生院"])
    ws.append(["小计", None, None, None, None])
    ws.append([102, "河西社区卫生服务中心", 116.45, 39.95, "社区卫生服务中心"])
    ws.append(["合计", None, None, None, None])
    wb.save(path)
    gdf = read_facilities(path, id_column="编号")
    assert gdf["facility_id"].tolist() == ["101", "102"]
    assert gdf["source_row"].tolist() == [4, 6]
    assert gdf["tier"].tolist() == ["township_health_centre", "community_health_centre"]
    assert gdf.geometry.x.tolist() == pytest.approx([116.40, 116.45])


def test_gbk_shapefile_without_cpg_is_not_garbled(tmp_path):
    path = tmp_path / "卫生院.shp"
    gdf = gpd.GeoDataFrame({"名称": ["城关镇卫生院", "李家村卫生室"], "类别": ["C120", "D400"]},
                           geometry=[Point(116.4, 39.9), Point(116.5, 39.8)], crs=4326)
    pyogrio.write_dataframe(gdf, path, encoding="GBK")
    path.with_suffix(".cpg").unlink()
    dbf = path.with_suffix(".dbf")
    raw = bytearray(dbf.read_bytes())
    raw[29] = 0  # no language driver id either, as from much Chinese GIS software
    dbf.write_bytes(bytes(raw))
    assert "城关镇卫生院" not in pyogrio.read_dataframe(path).iloc[:, 0].tolist()  # GDAL alone garbles
    assert dbf_encoding(path) == "GBK"
    out = read_facilities(path)
    assert out["name"].tolist() == ["城关镇卫生院", "李家村卫生室"]
    assert out["tier"].tolist() == ["township_health_centre", "village_clinic"]
    assert out["类别"].tolist() == ["C120", "D400"]


def test_geopackage_layer_polygons_and_crs(tmp_path):
    path = tmp_path / "facilities.gpkg"
    x, y = Transformer.from_crs(4326, 3857, always_xy=True).transform(116.4, 39.9)
    buildings = gpd.GeoDataFrame({"name": ["某医院"], "amenity": ["hospital"]},
                                 geometry=[box(x - 50, y - 50, x + 50, y + 50)], crs=3857)
    buildings.to_file(path, layer="buildings", engine="pyogrio")
    points = gpd.GeoDataFrame({"name": ["诊所"]}, geometry=[Point(1, 1)], crs=4326)
    points.to_file(path, layer="points", engine="pyogrio")
    gdf = read_facilities(path, layer="buildings")
    assert gdf["tier"].tolist() == ["hospital"] and gdf["name"].tolist() == ["某医院"]
    assert gdf.geometry.iloc[0].x == pytest.approx(116.4, abs=1e-4)
    assert gdf.geometry.iloc[0].y == pytest.approx(39.9, abs=1e-4)


def test_geojson_gcj02_shift_applied_on_top_of_crs(tmp_path):
    glon, glat = wgs84_to_gcj02(113.912316, 22.543847)
    path = tmp_path / "amap.geojson"
    gpd.GeoDataFrame({"name": ["深圳某医院"]}, geometry=[Point(glon, glat)], crs=4326).to_file(path)
    point = read_facilities(path, coord_system="gcj02").geometry.iloc[0]
    assert (point.x, point.y) == pytest.approx((113.912316, 22.543847), abs=1e-7)


def test_comoros_osm_facilities_with_include():
    path = need_shared("data/comoros/health.gpkg")
    gdf = read_facilities(path, include={"amenity": ["hospital", "clinic", "doctors"]})
    assert len(gdf) == 39
    assert gdf["tier"].value_counts().to_dict() == {"hospital": 28, "clinic": 8, "doctors": 3}
    assert gdf["amenity"].value_counts().to_dict() == {"hospital": 28, "clinic": 8, "doctors": 3}
    assert {"dispensing", "healthcare", "description"} <= set(gdf.columns)
    assert gdf.total_bounds[0] > 43 and gdf.total_bounds[2] < 45  # Comoros, untouched by GCJ-02
    assert len(read_facilities(path, tier_column="amenity")) == 70


def test_tier_map_and_unknown_label_warning(tmp_path):
    path = csv_file(tmp_path / "types.csv", [["甲", "医院", 116.1, 39.1], ["乙", "养老院", 116.2, 39.2],
                                             ["丙", "药店", 116.3, 39.3], ["丁", "药店", 116.4, 39.4]],
                    ["名称", "类型", "经度", "纬度"], "utf-8")
    with pytest.warns(UserWarning, match=r"2 labels not recognised.*tier_map.*'药店' \(2\); '养老院' \(1\)"):
        gdf = read_facilities(path, tier_column="类型")
    assert gdf["tier"].tolist() == ["hospital", "other", "other", "other"]
    assert gdf.attrs["unknown_tier_labels"] == {"养老院": 1, "药店": 2}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gdf = read_facilities(path, tier_column="类型", tier_map={"养老院": "nursing_home", "药店": "other",
                                                                 "医院": "county_hospital"})
    assert gdf["tier"].tolist() == ["county_hospital", "nursing_home", "other", "other"]


def test_address_without_coordinates_skipped_and_listed(tmp_path):
    rows = [*GOOD_ROWS[:2], ["待定位卫生院", "C120", "", "", "", "某乡某村12号", "", ""]]
    with pytest.warns(UserWarning, match="1 facilities have an address but no coordinates"):
        gdf = read_facilities(csv_file(tmp_path / "partial.csv", rows))
    assert len(gdf) == 2
    assert gdf.attrs["skipped"] == ["row 4: 待定位卫生院 (某乡某村12号)"]


def test_classifiers():
    assert classify_tier("B100") == "community_health_centre"
    assert classify_tier("C110") == "township_health_centre"
    assert classify_tier("E200") == "emergency_station"
    assert classify_tier("D200") == "other"
    assert classify_tier("XX镇中心卫生院") == "central_township_health_centre"
    assert classify_tier("120急救分站") == "emergency_station"
    assert classify_tier("doctors") == "doctors" and classify_tier("养老院") is None
    assert normalize_grade("3级甲等") == "三甲" and normalize_grade("二级") == "二级"
    assert normalize_grade("未定级") == "未定级"
    assert classify_ownership("非公立") == "private" and classify_ownership("国有企业") == "other_public"


# ---- bad inputs: each problem names file, row and column and says what to do ------------


def raises(path: Path, **options: object) -> pytest.ExceptionInfo[InputError]:
    """The InputError of reading ``path``; every problem in it names that file."""
    with pytest.raises(InputError) as excinfo:
        read_facilities(path, **options)
    assert all(p.file.startswith(str(path)) for p in excinfo.value.problems)
    return excinfo


def test_every_problem_of_a_file_reported_at_once(tmp_path):
    rows = [
        ["甲医院", "A100", "", "", "", "", "abc", 39.9],  # row 2: not a number
        ["乙医院", "A100", "", "", "", "", 116.4, 95.2],  # row 3: latitude out of range
        ["丙医院", "A100", "", "", "", "", 39.9, 116.4],  # row 4: swapped
        ["丁医院", "A100", "", "", "", "", 0, 0],  # row 5: placeholder
        ["戊医院", "A100", "", "", "", "", 116.4, ""],  # row 6: one coordinate
        ["己医院", "A100", "", "", "", "", "", ""],  # row 7: nothing to locate it by
        ["庚医院", "A100", "", "", "1301", "", 116.4, 39.9],  # row 8: bad township code
        ["辛医院", "A100", "", "", "", "", "116度abc", 39.9],  # row 9: bad DMS
    ]
    path = csv_file(tmp_path / "bad.csv", rows)
    excinfo = raises(path)
    assert len(excinfo.value.problems) == 8
    assert find(excinfo, "'abc' is not a number", 2, "经度").file == str(path)
    find(excinfo, "latitude 95.2 is outside -90..90", 3, "纬度")
    find(excinfo, "longitude 39.9 and latitude 116.4 are swapped", 4, "经度/纬度")
    find(excinfo, "0, 0 is a placeholder", 5, "经度")
    find(excinfo, "only one of the two coordinates", 6, "纬度")
    find(excinfo, "no coordinates and no address", 7, "经度")
    find(excinfo, "'1301' is not a 9- or 12-digit administrative code", 8, "乡镇代码")
    find(excinfo, "'116度abc' is not a number", 9, "经度")
    assert "8 problem(s) in the input" in str(excinfo.value)


def test_lenient_drops_bad_rows_and_lists_them(tmp_path):
    rows = [GOOD_ROWS[0], ["坏医院", "A100", "", "", "", "", "abc", 39.9], GOOD_ROWS[1],
            ["反医院", "A100", "", "", "", "", 39.9, 116.4]]
    with pytest.warns(UserWarning, match="2 rows dropped"):
        gdf = read_facilities(csv_file(tmp_path / "mixed.csv", rows), lenient=True)
    assert gdf["name"].tolist() == ["XX县人民医院", "城关镇中心卫生院"]
    assert len(gdf.attrs["dropped"]) == 2
    assert "row 3, column '经度': 'abc' is not a number" in gdf.attrs["dropped"][0]
    assert "row 5" in gdf.attrs["dropped"][1]


def test_all_rows_swapped_reported_once(tmp_path):
    rows = [["甲卫生室", 39.9, 116.4], ["乙卫生室", 39.8, 116.5], ["丙卫生室", 39.7, 116.6]]
    excinfo = raises(csv_file(tmp_path / "swapped.csv", rows, ["名称", "经度", "纬度"]))
    assert len(excinfo.value.problems) == 1
    problem = find(excinfo, "swapped in every row", None, "经度/纬度")
    assert "lon_column='纬度', lat_column='经度'" in problem.fix


def test_missing_coordinate_columns_lists_columns(tmp_path):
    excinfo = raises(csv_file(tmp_path / "nocoords.csv", [["甲医院", "某路1号"]], ["名称", "地址"]))
    problem = find(excinfo, "no coordinate columns; columns found: 名称, 地址")
    assert "经度/纬度" in problem.fix


@pytest.mark.parametrize(("option", "value", "argument"), [
    ("lon_column", "longitude", "lon_column"),
    ("name_column", "医院名", "name_column"),
    ("id_column", "编号", "id_column"),
    ("tier_column", "类别", "tier_column"),
    ("include", {"amenity": ["hospital"]}, "include"),
])
def test_named_column_missing(tmp_path, option, value, argument):
    path = csv_file(tmp_path / "cols.csv", [["甲医院", 116.4, 39.9]], ["名称", "经度", "纬度"])
    options = {option: value}
    if option == "lon_column":
        options["lat_column"] = "纬度"
    column = value if isinstance(value, str) else "amenity"
    problem = find(raises(path, **options), f"no column '{column}' (given as {argument})", None, column)
    assert "columns found: 名称, 经度, 纬度" in str(problem)


def test_lat_column_alone(tmp_path):
    path = csv_file(tmp_path / "lat.csv", [["甲医院", 116.4, 39.9]], ["名称", "经度", "纬度"])
    find(raises(path, lat_column="纬度"), "lat_column is given without lon_column")


def test_duplicated_and_empty_ids(tmp_path):
    rows = [["A1", "甲卫生院", 116.1, 39.1], ["A2", "乙卫生院", 116.2, 39.2], ["A1", "丙卫生院", 116.3, 39.3],
            ["", "丁卫生院", 116.4, 39.4]]
    excinfo = raises(csv_file(tmp_path / "ids.csv", rows, ["编号", "名称", "经度", "纬度"]), id_column="编号")
    find(excinfo, "id 'A1' is also used in row 2", 4, "编号")
    find(excinfo, "the id is empty", 5, "编号")


def test_empty_and_header_only_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    find(raises(empty), "the file is empty")
    header_only = csv_file(tmp_path / "header.csv", [])
    find(raises(header_only), "no facilities: the file has no data rows")


def test_unknown_coordinate_systems(tmp_path):
    path = csv_file(tmp_path / "sys.csv", GOOD_ROWS[:1])
    problem = find(raises(path, coord_system="mars"), "unknown coordinate system 'mars'")
    assert problem.message.startswith("coord_system:")
    find(raises(path, coord_system="EPSG:999999"), "EPSG:999999 is not in the EPSG database")


def test_bad_lonlat_pair_cell(tmp_path):
    path = csv_file(tmp_path / "pair.csv", [["甲医院", "116.4"], ["乙医院", '"116.4,39.9"']], ["名称", "经纬度"],
                    "utf-8")
    find(raises(path), "'116.4' is not a 'longitude,latitude' pair", 2, "经纬度")


def test_metres_without_zone_number(tmp_path):
    path = csv_file(tmp_path / "cm.csv", [["甲医院", 500123.0, 3400456.0]], ["名称", "X", "Y"], "utf-8")
    problem = find(raises(path, xy_columns=("X", "Y")), "neither is a Gauss-Krüger easting", 2, "X")
    assert "EPSG:4549" in problem.fix
    zone12 = csv_file(tmp_path / "zone12.csv", [["乙医院", 12500000.0, 3400000.0]], ["名称", "X", "Y"])
    find(raises(zone12), "zone number (25-45)", 2, "X")
    find(raises(path, coord_system="gcj02"), "are metres, not gcj02 degrees", 2, "X")


def test_unknown_layer_lists_layers(tmp_path):
    path = tmp_path / "two.gpkg"
    layer = gpd.GeoDataFrame({"name": ["a hospital"], "amenity": ["hospital"]}, geometry=[Point(1, 1)], crs=4326)
    layer.to_file(path, layer="clinics")
    problem = find(raises(path, layer="hospitals"), "has no layer 'hospitals'; its layers are: clinics")
    assert "layer=" in problem.fix


def test_vector_feature_without_geometry(tmp_path):
    path = tmp_path / "nogeom.geojson"
    path.write_text('{"type": "FeatureCollection", "features": ['
                    '{"type": "Feature", "properties": {"name": "甲医院"}, "geometry": '
                    '{"type": "Point", "coordinates": [116.4, 39.9]}},'
                    '{"type": "Feature", "properties": {"name": "乙医院"}, "geometry": null}]}',
                    encoding="utf-8")
    find(raises(path), "no coordinates and no address", 2, "geometry")


def test_missing_and_unsupported_files(tmp_path):
    find(raises(tmp_path / "nowhere.csv"), "file not found")
    drawing = tmp_path / "plan.dwg"
    drawing.write_bytes(b"AC1015")
    problem = find(raises(drawing), "'.dwg' files are not read")
    assert "GeoPackage" in problem.fix


def test_all_inputs_found_in_one_report_across_columns(tmp_path):
    # file-level and row-level problems of one file come together
    rows = [["甲医院", "abc", 39.9]]
    excinfo = raises(csv_file(tmp_path / "both.csv", rows, ["名称", "经度", "纬度"]), id_column="编号",
                     coord_system="mars")
    assert len(excinfo.value.problems) == 3
    find(excinfo, "no column '编号'", None, "编号")
    find(excinfo, "unknown coordinate system")
    find(excinfo, "'abc' is not a number", 2, "经度")


@pytest.mark.parametrize(("encoding", "names", "expected"), [
    ("UTF-8", ["城关镇卫生院"], "UTF-8"),
    ("ISO-8859-1", ["Hôpital Général de Moroni", "Clinique Médicale"], None),
    ("GBK", ["Clinic"], None),
])
def test_dbf_encoding_detection(tmp_path, encoding, names, expected):
    path = tmp_path / "layer.shp"
    gdf = gpd.GeoDataFrame({"name": names}, geometry=[Point(43.2, -11.7)] * len(names), crs=4326)
    pyogrio.write_dataframe(gdf, path, encoding=encoding)
    path.with_suffix(".cpg").unlink(missing_ok=True)
    assert dbf_encoding(path) == expected


def test_include_that_keeps_nothing_lists_values(tmp_path):
    path = csv_file(tmp_path / "osm.csv", [["a", "hospital", 43.2, -11.7], ["b", "pharmacy", 43.3, -11.8]],
                    ["name", "amenity", "lon", "lat"], "utf-8")
    problem = find(raises(path, include={"amenity": ["Hospital"]}), "include= keeps no row", None, "amenity")
    assert "values in this column: hospital, pharmacy" in problem.message


def test_geopackage_attribute_table_with_coordinate_columns(tmp_path):
    path = tmp_path / "table.gpkg"
    pyogrio.write_dataframe(pd.DataFrame({"机构名称": ["甲镇卫生院"], "经度": [116.4], "纬度": [39.9]}), path)
    gdf = read_facilities(path)
    assert gdf["tier"].tolist() == ["township_health_centre"]
    assert (gdf.geometry.x.iloc[0], gdf.geometry.y.iloc[0]) == (116.4, 39.9)
