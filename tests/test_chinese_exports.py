"""Files as Chinese offices export them: registry tables, Amap/Baidu POIs, census tables, township boundaries.

Each works (compared with values written by hand or converted independently with pyproj / the published
GCJ-02 formulas) or fails with exit 2 and a message naming file, row, column and what to do.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from openpyxl import Workbook
from pyproj import Transformer
from shapely.geometry import Point, box

from geocover.errors import InputError
from geocover.io.coordinates import wgs84_to_bd09, wgs84_to_gcj02
from geocover.io.facilities import read_facilities
from geocover.io.statistics import read_statistics
from geocover.io.vectors import dbf_encoding, read_vector
from geocover.pipeline import run_scenario
from tests.test_bad_inputs import CONFIG, TOWNSHIPS, check, scenario, shapefile  # noqa: F401

LON, LAT = np.array([112.55, 112.60]), np.array([37.85, 37.90])


def problems_of(call, *args, **kwargs) -> list:
    with pytest.raises(InputError) as excinfo:
        call(*args, **kwargs)
    return excinfo.value.problems


def test_amap_poi_download_with_location_column(tmp_path):
    lon, lat = wgs84_to_gcj02(LON, LAT)
    path = tmp_path / "高德POI_医疗保健服务.csv"
    path.write_text("name,type,location,pname,cityname\n" + "".join(
        f"卫生院{i},医疗保健服务;综合医院,{x:.6f},{y:.6f},山西省,太原市\n".replace(f"{x:.6f},", f"\"{x:.6f},")
        .replace(f"{y:.6f},山西", f"{y:.6f}\",山西") for i, (x, y) in enumerate(zip(lon, lat, strict=True))),
        encoding="utf-8-sig")
    out = read_facilities(path, coord_system="gcj02")
    assert out.geometry.x.to_numpy() == pytest.approx(LON, abs=2e-6)
    assert out.geometry.y.to_numpy() == pytest.approx(LAT, abs=2e-6)


def test_baidu_poi_download_bd09(tmp_path):
    lon, lat = wgs84_to_bd09(LON, LAT)
    path = tmp_path / "百度POI.csv"
    path.write_text("名称,lng,lat\n" + "".join(f"医院{i},{x:.6f},{y:.6f}\n" for i, (x, y) in
                                             enumerate(zip(lon, lat, strict=True))), encoding="gbk")
    out = read_facilities(path, coord_system="baidu")
    assert out.geometry.x.to_numpy() == pytest.approx(LON, abs=2e-6)


def test_amap_poi_read_as_wgs84_is_not_silently_shifted(tmp_path):
    """Without coord_system the values are taken as they are: the GCJ-02 offset (hundreds of metres) stays."""
    lon, lat = wgs84_to_gcj02(LON, LAT)
    path = tmp_path / "poi.csv"
    path.write_text("名称,经度,纬度\n" + "".join(f"医院{i},{x},{y}\n" for i, (x, y) in
                                             enumerate(zip(lon, lat, strict=True))), encoding="utf-8")
    assert read_facilities(path).geometry.x.to_numpy() == pytest.approx(lon)


def test_registry_xlsx_with_title_rows_and_total(tmp_path):
    path = tmp_path / "卫生机构名录.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(["2023年医疗卫生机构名录"])
    ws.append(["填报单位：某县卫健委"])
    ws.append(["机构名称", "机构类别代码", "经度", "纬度"])
    ws.append(["城关镇卫生院", "B100", 112.55, 37.85])
    ws.append(["合计", None, None, None])
    ws.append(["注：坐标为WGS84", None, None, None])
    wb.save(path)
    out = read_facilities(path)
    assert out["name"].tolist() == ["城关镇卫生院"] and out["source_row"].tolist() == [4]


def test_registry_with_fullwidth_comma_in_one_column(tmp_path):
    path = tmp_path / "名录.csv"
    path.write_text("机构名称,经纬度\n城关镇卫生院,112.55，37.85\n", encoding="gb18030")
    out = read_facilities(path)
    assert (out.geometry.x.iat[0], out.geometry.y.iat[0]) == pytest.approx((112.55, 37.85))


def test_registry_with_degrees_minutes_seconds(tmp_path):
    path = tmp_path / "名录.csv"
    path.write_text("机构名称,经度,纬度\n城关镇卫生院,112°33'00\",37°51'00\"\n", encoding="utf-8")
    out = read_facilities(path)
    assert (out.geometry.x.iat[0], out.geometry.y.iat[0]) == pytest.approx((112.55, 37.85))


def test_surveyed_gauss_kruger_with_zone_prefix(tmp_path):
    east, north = Transformer.from_crs(4326, 4525, always_xy=True).transform(LON, LAT)  # CGCS2000 GK zone 37
    path = tmp_path / "测绘成果.csv"
    path.write_text("名称,X坐标,Y坐标\n" + "".join(f"卫生院{i},{e:.3f},{n:.3f}\n" for i, (e, n) in
                                                enumerate(zip(east, north, strict=True))), encoding="gbk")
    out = read_facilities(path, coord_system="cgcs2000")
    assert out.geometry.x.to_numpy() == pytest.approx(LON, abs=1e-7)


def test_swapped_lon_lat_in_every_row(tmp_path):
    path = tmp_path / "名录.csv"
    path.write_text("名称,经度,纬度\n甲,37.85,112.55\n乙,37.90,112.60\n", encoding="utf-8")
    [problem] = problems_of(read_facilities, path)
    assert "swapped in every row" in problem.message


def test_zero_zero_placeholder_row(tmp_path):
    path = tmp_path / "名录.csv"
    path.write_text("名称,经度,纬度\n甲,112.55,37.85\n乙,0,0\n", encoding="utf-8")
    [problem] = problems_of(read_facilities, path)
    assert problem.row == 3 and "placeholder" in problem.message


def test_census_table_codes_as_numbers_and_wan_ren(tmp_path):
    path = tmp_path / "七普乡镇.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(["第七次全国人口普查乡镇街道人口"])
    ws.append(["统计用区划代码", "乡镇街道", "常住人口(万人)"])
    ws.append([140105001000, "城关镇", 3.25])
    ws.append([140105002000, "河西乡", 1.5])
    wb.save(path)
    table = read_statistics(path)
    assert table.loc["140105001000", "population"] == pytest.approx(32_500)
    assert table.loc["140105002000", "population"] == pytest.approx(15_000)


def test_census_table_duplicate_row_names_both_rows(tmp_path):
    path = tmp_path / "七普.csv"
    path.write_text("区划代码,名称,常住人口\n140105001000,城关镇,100\n140105002000,河西乡,50\n"
                    "140105001000,城关镇,100\n", encoding="gbk")
    [problem] = problems_of(read_statistics, path)
    assert "140105001000 appears more than once (rows 2, 4)" in problem.message


def test_census_table_with_a_footnote_number(tmp_path):
    path = tmp_path / "七普.csv"
    path.write_text("区划代码,名称,常住人口\n140105001000,城关镇,3万\n", encoding="gbk")
    [problem] = problems_of(read_statistics, path)
    assert (problem.row, problem.column) == (2, "常住人口") and "'3万' is not a number" in problem.message


def test_missing_census_rows_are_stated(scenario):  # noqa: F811
    (scenario.parent / "stats.csv").write_text("区划代码,常住人口\n140100001000,10\n", encoding="gbk")
    scenario.write_text(CONFIG + "statistics: {path: stats.csv}\n", encoding="utf-8")
    notes = run_scenario(scenario, progress=False).notes
    assert any("1 township zone(s) have no row in the statistics table" in n and "140100002000" in n
               for n in notes), notes


def test_missing_census_row_for_rescale_is_an_error(scenario, capsys):  # noqa: F811
    (scenario.parent / "stats.csv").write_text("区划代码,常住人口\n140100001000,10\n", encoding="gbk")
    text = CONFIG.replace("population: {raster: people.tif}", "population: {raster: people.tif, "
                          "rescale_level: township}")
    scenario.write_text(text + "statistics: {path: stats.csv}\n", encoding="utf-8")
    check(["run", str(scenario), "--quiet", "--out", str(scenario.parent / "out")], capsys,
          "stats.csv", "no population for 140100002000")


def test_tianditu_township_geojson_in_cgcs2000(tmp_path):
    path = tmp_path / "乡镇界.geojson"
    gpd.GeoDataFrame({"XZQDM": ["140105001000"], "XZQMC": ["城关镇"]}, geometry=[box(112.5, 37.8, 112.6, 37.9)],
                     crs="EPSG:4490").to_file(path)
    frame = read_vector(path)
    assert frame.crs.to_epsg() == 4490 and frame["XZQMC"].tolist() == ["城关镇"]


def test_bureau_shapefile_gbk_with_uppercase_extensions(tmp_path):
    path = tmp_path / "XZQ.shp"
    shapefile(path, [box(112.5, 37.8, 112.6, 37.9)], [b"XZQDM", b"XZQMC"],
              [[b"140105001000", "城关镇".encode("gbk")]])
    for suffix in (".shp", ".shx", ".dbf", ".prj"):
        path.with_suffix(suffix).rename(path.with_suffix(suffix.upper()))
    upper = path.with_suffix(".SHP")
    assert dbf_encoding(upper) == "GBK"
    assert read_vector(upper)["XZQMC"].tolist() == ["城关镇"]


def test_bureau_shapefile_in_a_projected_crs_without_prj_takes_crs_key(tmp_path):
    east, north = Transformer.from_crs(4326, 4546, always_xy=True).transform(112.55, 37.85)  # GK CM 111E
    path = tmp_path / "乡镇.shp"
    shapefile(path, [Point(east, north).buffer(500)], [b"XZQMC"], [["城关镇".encode("gbk")]], prj=False)
    assert problems_of(read_vector, path)[0].fix.startswith("copy its .prj")
    frame = read_vector(path, crs="EPSG:4546").to_crs(4326)
    centre = frame.geometry.iat[0].centroid
    assert (centre.x, centre.y) == pytest.approx((112.55, 37.85), abs=1e-6)


def test_shapefile_missing_its_dbf(tmp_path):
    path = tmp_path / "乡镇.shp"
    shapefile(path, [box(0, 0, 1, 1)], [b"MC"], [[b"x"]])
    path.with_suffix(".shx").unlink()
    [problem] = problems_of(read_vector, path)
    assert "cannot be read" in problem.message and ".shx" in problem.fix


def test_zip_of_a_shapefile_given_as_zones(scenario, capsys):  # noqa: F811
    (scenario.parent / "乡镇界.zip").write_bytes(b"PK\x03\x04" + b"\0" * 200)
    scenario.write_text(CONFIG.replace("towns.shp", "乡镇界.zip"), encoding="utf-8")
    check(["validate", str(scenario)], capsys, "乡镇界.zip")


def test_road_layer_of_the_transport_bureau_with_route_codes(tmp_path):
    from shapely.geometry import LineString

    from geocover.io.road_lines import read_road_lines

    path = tmp_path / "农村公路.shp"
    shapefile(path, [LineString([(0, 0), (0.01, 0)]), LineString([(0.01, 0), (0.02, 0)]),
                     LineString([(0.02, 0), (0.03, 0)])],
              ["路线编码".encode("gbk")], [[b"X001"], [b"Y102"], [b"C003"]])
    assert read_road_lines(path, "路线编码").highway.tolist() == ["county", "township", "village"]


def test_gbk_statistics_codes_of_nine_digits_are_padded(tmp_path):
    path = tmp_path / "人口.csv"
    path.write_text("行政区划代码,常住人口\n140105001,100\n", encoding="gbk")
    assert read_statistics(path).index.tolist() == ["140105001000"]


def test_facility_layer_from_gis_in_gbk_without_cpg_names_tiers(tmp_path):
    path = tmp_path / "医疗机构.shp"
    shapefile(path, [Point(112.55, 37.85), Point(112.60, 37.90)], ["机构名称".encode("gbk")],
              [["城关镇卫生院".encode("gbk")], ["李家庄村卫生室".encode("gbk")]])
    out = read_facilities(path)
    assert out["name"].tolist() == ["城关镇卫生院", "李家庄村卫生室"]
    assert out["tier"].tolist() == ["township_health_centre", "village_clinic"]



def test_village_points_in_gbk_without_cpg_as_population(scenario):  # noqa: F811
    shapefile(scenario.parent / "村委会.shp", [Point(0.0025, 0.0), Point(0.0125, 0.0)],
              ["村名".encode("gbk"), "常住人口".encode("gbk")],
              [["李家庄村".encode("gbk"), b"120"], ["河西村".encode("gbk"), b"80"]])
    scenario.write_text(CONFIG.replace("population: {raster: people.tif}",
                                       "population: {points: 村委会.shp, count_column: 常住人口, cell_m: 100}"),
                        encoding="utf-8")
    table = run_scenario(scenario, progress=False).table.set_index("zone_name")
    assert table.loc["城关镇", "population"] == pytest.approx(120)
    assert table.loc["河西乡", "population"] == pytest.approx(80)


def test_big5_csv_from_a_traditional_chinese_system_is_read_as_big5(tmp_path):
    path = tmp_path / "醫療機構.csv"
    path.write_text("機構名稱,經度,緯度\n臺北市立聯合醫院,121.52,25.04\n新竹縣衛生局,121.01,24.83\n", encoding="big5")
    out = read_facilities(path, name_column="機構名稱", lon_column="經度", lat_column="緯度")
    assert out["name"].tolist() == ["臺北市立聯合醫院", "新竹縣衛生局"]


def test_gbk_csv_of_real_names_stays_gbk(tmp_path):
    from geocover.io.encodings import detect_encoding

    text = "机构名称,经度,纬度\n" + "".join(f"{n}卫生院,112.5,37.8\n" for n in TOWNSHIPS + ["杏花岭", "小店", "晋源"])
    assert detect_encoding(text.encode("gbk")) == "gbk"
