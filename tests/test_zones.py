"""Urban/rural per zone with its reason, and roll-up by 12-digit code to county and city."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from shapely.geometry import Point, Polygon, box

from geocover.analysis.urban_rural import classify_urban_rural
from geocover.pipeline import run_scenario

ROAD_XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
  <node id="1" version="1" lat="0.005" lon="0.0"/>
  <node id="2" version="1" lat="0.005" lon="0.04"/>
  <way id="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="primary"/></way>
</osm>
"""


def test_classification_order_and_reasons():
    zones = gpd.GeoDataFrame(
        {
            "zone_name": ["东城街道", "城关镇", "李家镇", "王家乡", "赵家镇", "新区"],
            "code": [None, None, None, 111, None, 220],
            "label": [None, None, None, None, None, "城镇"],
        },
        geometry=[box(i, 0, i + 1, 1) for i in range(6)],
        crs="EPSG:4326",
    )
    builtup = np.array([5.0, 5.0, 45.0, 5.0, 12.0, 80.0])
    got = classify_urban_rural(zones, "z.gpkg", "code", "label", builtup=builtup, urban_builtup_percent=30)
    assert got["urban_rural"].tolist() == ["urban", "urban", "urban", "urban", "rural", "rural"]
    assert got["urban_rural_source"].tolist() == [
        "street (街道)", "county seat", "town (镇), built-up 45.0% >= 30%", "code 111", "default: rural", "code 220",
    ]
    assert got["is_county_seat"].tolist() == [False, True, False, False, False, False]


@pytest.fixture()
def counties(tmp_path):
    (tmp_path / "roads.osm").write_text(ROAD_XML, encoding="utf-8")
    # Four townships of 0.01 x 0.01 degrees in two counties (130102, 130103) of one city (1301).
    townships = gpd.GeoDataFrame(
        {
            "code": ["130102001000", "130102002000", "130103001000", "130103100000"],
            "name": ["东城街道", "城关镇", "李家镇", "王家乡"],
        },
        geometry=[box(0.01 * i, 0.0, 0.01 * (i + 1), 0.01) for i in range(4)],
        crs="EPSG:4326",
    )
    townships.to_file(tmp_path / "townships.gpkg")
    gpd.GeoDataFrame({"name": ["卫生院"]}, geometry=[Point(0.005, 0.005)], crs="EPSG:4326").to_file(
        tmp_path / "clinics.geojson")
    # Population: 1 person per 0.001-degree cell, 40 x 10 cells; built-up 50% in the third township only.
    transform = Affine(0.001, 0, 0.0, 0, -0.001, 0.01)
    with rasterio.open(tmp_path / "people.tif", "w", driver="GTiff", height=10, width=40, count=1,
                       dtype="float32", crs="EPSG:4326", transform=transform, nodata=-1) as dst:
        dst.write(np.ones((1, 10, 40), dtype=np.float32))
    builtup = np.zeros((1, 10, 40), dtype=np.float32)
    builtup[:, :, 20:30] = 50
    with rasterio.open(tmp_path / "builtup.tif", "w", driver="GTiff", height=10, width=40, count=1,
                       dtype="float32", crs="EPSG:4326", transform=transform) as dst:
        dst.write(builtup)
    config = tmp_path / "counties.yaml"
    config.write_text(
        "name: counties\nmode: drive\nbands_minutes: [1, 2]\ntarget_minutes: 2\nsnap_max_m: 2000\n"
        "roads: {pbf: roads.osm}\nfacilities: {path: clinics.geojson, name_column: name}\n"
        "population: {raster: people.tif}\nbuiltup_raster: builtup.tif\n"
        "zones: [{level: township, path: townships.gpkg, id_column: code, name_column: name,"
        " rollup: [county, city]}]\n",
        encoding="utf-8",
    )
    return config


def test_roll_up_by_code_adds_up_and_keeps_the_reason(counties):
    table = run_scenario(counties, progress=False).table.set_index("zone_id")
    assert table["zone_level"].tolist() == ["township"] * 4 + ["county"] * 2 + ["city"]
    assert table.loc["130102001000", "parent_id"] == "130102000000"
    assert table.loc["130102000000", "parent_id"] == "130100000000"
    assert table.loc["130100000000", "parent_id"] is None
    # 100 cells per township: counties hold 200 people each, the city 400.
    assert table.loc["130102000000", "population"] == 200
    assert table.loc["130100000000", "population"] == 400
    for column in ("population", "pop_within_1", "pop_within_2", "pop_beyond_2", "pop_unreachable"):
        for county, members in (("130102000000", ["130102001000", "130102002000"]),
                                ("130103000000", ["130103001000", "130103100000"])):
            assert table.loc[county, column] == pytest.approx(table.loc[members, column].sum())
    assert table.loc["130103001000", "urban_rural"] == "urban"
    assert table.loc["130103001000", "urban_rural_source"] == "town (镇), built-up 50.0% >= 30%"
    assert table.loc["130103100000", "urban_rural"] == "rural"
    assert table.loc["130103000000", "urban_rural"] == "urban"
    assert bool(table.loc["130102002000", "is_county_seat"]) and not table.loc["130102000000", "is_county_seat"]


def test_facilities_counted_by_township_code_before_location(counties):
    folder = counties.parent
    # The clinic stands in 东城街道 (130102001) but its code says 李家镇 (130103001): the code wins.
    (folder / "clinics.csv").write_text("机构名称,经度,纬度,乡镇代码\n李家镇卫生院,0.005,0.005,130103001\n",
                                        encoding="utf-8")
    config = folder / "coded.yaml"
    config.write_text(counties.read_text(encoding="utf-8").replace(
        "facilities: {path: clinics.geojson, name_column: name}", "facilities: {path: clinics.csv}"), encoding="utf-8")
    table = run_scenario(config, progress=False).table.set_index("zone_id")
    assert table.loc["130103001000", "facilities_township_health_centre"] == 1
    assert table.loc["130102001000", "facilities"] == 0
    assert table.loc["130103000000", "facilities"] == 1 and table.loc["130102000000", "facilities"] == 0


def test_lenient_drops_bad_rows_and_says_which(counties, capsys):
    from geocover.cli import main

    folder = counties.parent
    (folder / "clinics.csv").write_text("机构名称,经度,纬度\n甲卫生院,0.005,0.005\n乙卫生院,abc,0.005\n",
                                        encoding="utf-8")
    config = folder / "lenient.yaml"
    config.write_text(counties.read_text(encoding="utf-8").replace(
        "facilities: {path: clinics.geojson, name_column: name}", "facilities: {path: clinics.csv}"), encoding="utf-8")
    assert main(["run", str(config), "--out", str(folder / "strict"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "row 3" in err and "经度" in err
    assert not (folder / "strict").exists()
    assert main(["run", str(config), "--out", str(folder / "lenient"), "--quiet", "--lenient"]) == 0
    out = capsys.readouterr().out
    assert "1 bad facility rows dropped (--lenient)" in out and "row 3" in out
    assert (folder / "lenient" / "coverage_by_zone.csv").exists()


def test_invalid_zone_polygon_is_repaired_and_reported(counties, capsys):
    from geocover.cli import main

    folder = counties.parent
    bowtie = Polygon([(0.0, 0.0), (0.01, 0.01), (0.01, 0.0), (0.0, 0.01), (0.0, 0.0)])
    zones = gpd.read_file(folder / "townships.gpkg")
    zones.loc[0, "geometry"] = bowtie
    zones.to_file(folder / "townships.gpkg")
    assert main(["run", str(counties), "--out", str(folder / "out"), "--quiet"]) == 0
    assert "1 invalid zone polygon(s) repaired" in capsys.readouterr().out
    table = gpd.read_file(folder / "out" / "results.gpkg", layer="zones").set_index("zone_id")
    # The bow tie's two triangles hold half of the township's 100 cells (their centres off the diagonals).
    assert table.loc["130102001000", "population"] == pytest.approx(45, abs=5)


def test_gauss_kruger_zone_of_the_zones_centre(counties):
    from geocover.errors import InputError
    from geocover.render.writers import output_crs

    result = run_scenario(counties, progress=False)
    result.config.output_crs = "gk3"
    # Longitude 0.02 is outside China's 3-degree zones (25-45, 75-135°E): an error, not a wrong CRS.
    with pytest.raises(InputError, match="gk3 zones cover 75-135"):
        output_crs(result)
    # Shifted to 111°E, the zones' centre is in zone 37 (central meridian 111°E): EPSG:4525.
    result.zones = result.zones.set_geometry(result.zones.geometry.translate(xoff=111.0))
    crs = output_crs(result)
    assert crs.to_epsg() == 4525 and "zone 37" in crs.name


def test_tables_in_xlsx_geopackage_in_cgcs2000_and_the_same_run_the_same_files(counties):
    import openpyxl

    from geocover.cli import main

    folder = counties.parent
    config = folder / "cgcs.yaml"
    config.write_text(counties.read_text(encoding="utf-8") + "output_crs: EPSG:4490\n", encoding="utf-8")
    assert main(["run", str(config), "--out", str(folder / "a"), "--quiet"]) == 0
    assert openpyxl.load_workbook(folder / "a" / "coverage.xlsx").sheetnames == ["zones", "facilities"]
    zones_sheet = pd.read_excel(folder / "a" / "coverage.xlsx", sheet_name="zones", dtype={"zone_id": str})
    csv = pd.read_csv(folder / "a" / "coverage_by_zone.csv", encoding="utf-8-sig", dtype={"zone_id": str})
    np.testing.assert_allclose(zones_sheet["population"], csv["population"])
    facilities = pd.read_csv(folder / "a" / "coverage_by_facility.csv", encoding="utf-8-sig")
    assert list(facilities["name"]) == ["卫生院"] and facilities["lon"].iloc[0] == pytest.approx(0.005)
    cgcs = gpd.read_file(folder / "a" / "results_4490.gpkg", layer="zones")
    wgs = gpd.read_file(folder / "a" / "results.gpkg", layer="zones")
    assert cgcs.crs.to_epsg() == 4490
    np.testing.assert_allclose(cgcs.to_crs(4326).total_bounds, wgs.total_bounds, atol=1e-7)
    assert main(["run", str(config), "--out", str(folder / "b"), "--quiet"]) == 0
    for name in ("results.gpkg", "coverage_by_zone.csv", "map.html"):
        assert (folder / "a" / name).read_bytes() == (folder / "b" / name).read_bytes(), name


def test_a_unit_run_equals_the_whole_run_for_its_zones(counties):
    whole = run_scenario(counties, progress=False).table.set_index("zone_id")
    part = run_scenario(counties, progress=False, unit=("county", "130103000000")).table.set_index("zone_id")
    assert sorted(part.index) == ["130103000000", "130103001000", "130103100000"]
    columns = [c for c in part.columns if c.startswith(("pop_", "pct_", "population"))]
    pd.testing.assert_frame_equal(part[columns], whole.loc[part.index, columns])


def test_minutes_to_the_county_seat(counties):
    import pyproj

    result = run_scenario(counties, progress=False)
    table = result.table.set_index("zone_id")
    # County 130102's seat is 城关镇 (130102002000); 东城街道's point (0.005, 0.005) and the seat's (0.015, 0.005)
    # lie on the primary road (60 km/h = 1 km a minute).
    utm = pyproj.Transformer.from_crs("EPSG:4326", result.networks["drive"].crs, always_xy=True)
    (x0, x1), _ = utm.transform([0.005, 0.015], [0.005, 0.005])
    assert table.loc["130102001000", "minutes_to_county_seat"] == pytest.approx((x1 - x0) / 1000.0, rel=1e-6)
    assert table.loc["130102002000", "minutes_to_county_seat"] == pytest.approx(0, abs=1e-5)
    # County 130103 has no seat among its townships; rolled-up counties are never seats themselves.
    assert np.isnan(table.loc["130103001000", "minutes_to_county_seat"])
    assert np.isnan(table.loc["130102000000", "minutes_to_county_seat"])



def test_zones_of_unit_keeps_the_zones_inside_and_leaves_out_the_city_holding_it():
    from geocover.io.zones import zones_of_unit

    # The city (0..4 x 0..1) holds counties A (0..2.5) and B (2.5..4), and its representative point falls in A.
    shapes = {
        ("city", "C"): box(0, 0, 4, 1), ("county", "A"): box(0, 0, 2.5, 1), ("county", "B"): box(2.5, 0, 4, 1),
        ("township", "a1"): box(0, 0, 1, 1), ("township", "a2"): box(1, 0, 2.5, 1),
        ("township", "straddling"): box(1.8, 0.5, 2.6, 1),  # its representative point lies in A, a part in B
    }
    zones = gpd.GeoDataFrame({"zone_level": [k[0] for k in shapes], "zone_id": [k[1] for k in shapes]},
                             geometry=list(shapes.values()), crs="EPSG:4326")
    for name in ("city", "C"), ("township", "straddling"):
        assert shapes[name].representative_point().within(shapes[("county", "A")])
    kept = zones_of_unit(zones, "county", "A")
    assert list(zip(kept["zone_level"], kept["zone_id"], strict=True)) == [
        ("county", "A"), ("township", "a1"), ("township", "a2")]
