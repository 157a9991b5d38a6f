"""Batch runs on Dask: exact at county borders, resumable, the same tables whatever the worker count.

The reference is always the whole-area run (``geocover run`` on the same config).
"""

from __future__ import annotations

import json
import os

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from shapely.geometry import LineString, Point, box

from geocover import api
from geocover.cli import main
from geocover.pipeline import run_scenario

WEST, SOUTH, CELL = 110.0, 30.0, 0.001
COUNTY_W, COUNTY_H = 0.06, 0.05
N_COLS, N_ROWS = 3, 2
BANDS, TARGET, SNAP_M = (3, 6, 9), 6, 300.0
LIMIT = max(BANDS)
_STATS = ("mean_minutes", "median_minutes", "p90_minutes")


def _line_positions(start: float, stop: float, step: float, rng: np.random.Generator) -> np.ndarray:
    """Road positions about ``step`` apart, jittered so that no cell centre is equidistant from two roads."""
    base = np.arange(start, stop + step / 2, step)
    return base + rng.uniform(-0.15, 0.15, len(base)) * step


def build_counties(folder):
    """Six counties (3 x 2, each 0.06 x 0.05 degrees) of two townships each, in one city; a road grid
    crossing every border; clinics placed so that cells near borders are served across them.

    Also: an isolated road (people on it reach nothing), cells farther than ``SNAP_M`` from every road
    (unreachable), a corner more than ``LIMIT`` minutes from every clinic, and one county seat per county.
    """
    rng = np.random.default_rng(7)
    east, north = WEST + N_COLS * COUNTY_W, SOUTH + N_ROWS * COUNTY_H
    xs = _line_positions(WEST - 0.03, east + 0.03, 0.007, rng)
    ys = _line_positions(SOUTH - 0.03, north + 0.03, 0.0058, rng)
    lines, grades = [], []
    for i, y in enumerate(ys):
        lines.append(LineString([(x, y) for x in xs]))
        grades.append("省道" if i == len(ys) // 2 else "县道")
    for x in xs:
        lines.append(LineString([(x, y) for y in ys]))
        grades.append("县道")
    # An isolated road between two grid lines in the middle county of the top row, east of the north-south
    # one at 110.0896 (a road crossing it would be joined to it there, see network.combine.join_layer).
    x0 = WEST + 1.5 * COUNTY_W
    y0 = (ys[ys < SOUTH + 1.5 * COUNTY_H].max() + ys[ys > SOUTH + 1.5 * COUNTY_H].min()) / 2
    lines.append(LineString([(x0 + 0.0005, y0), (x0 + 0.0035, y0)]))
    grades.append("村道")
    gpd.GeoDataFrame({"grade": grades}, geometry=lines, crs="EPSG:4326").to_file(folder / "roads.gpkg")

    codes, names, shapes = [], [], []
    for row in range(N_ROWS):
        for col in range(N_COLS):
            county = 1 + row * N_COLS + col
            left = WEST + col * COUNTY_W
            bottom = SOUTH + row * COUNTY_H
            for half, (suffix, name) in enumerate((("001000", "城关镇"), ("101000", "李家乡"))):
                codes.append(f"4201{county:02d}{suffix}")
                names.append(f"{county}县{name}")
                shapes.append(box(left + half * COUNTY_W / 2, bottom, left + (half + 1) * COUNTY_W / 2,
                                  bottom + COUNTY_H))
    gpd.GeoDataFrame({"code": codes, "name": names}, geometry=shapes, crs="EPSG:4326").to_file(
        folder / "townships.gpkg")

    # Clinics: one near the middle of each township but the two of the top-right county, one just beside
    # two county borders, and a hospital serving across one.
    clinics = [(0.25 * COUNTY_W + 0.5 * COUNTY_W * (i % 6) + 0.003 * (i % 3),
                (0.45 + (i // 6)) * COUNTY_H + 0.002 * (i % 4), "村卫生室" if i % 2 else "卫生院")
               for i in range(12) if i not in (10, 11)]
    clinics += [(1.0 * COUNTY_W + 0.002, 0.9 * COUNTY_H, "卫生院"), (2.0 * COUNTY_W - 0.002, 1.05 * COUNTY_H, "卫生院"),
                (1.97 * COUNTY_W, 1.6 * COUNTY_H, "县医院")]
    gpd.GeoDataFrame({"name": [f"{i}号{kind}" for i, (_, _, kind) in enumerate(clinics)]},
                     geometry=[Point(WEST + x, SOUTH + y) for x, y, _ in clinics], crs="EPSG:4326").to_file(
        folder / "clinics.geojson")

    height, width = round(N_ROWS * COUNTY_H / CELL), round(N_COLS * COUNTY_W / CELL)
    people = rng.integers(1, 20, size=(1, height, width)).astype(np.float32)
    people[rng.random(people.shape) < 0.3] = 0.0  # empty cells: unit runs drop those of their halo
    with rasterio.open(folder / "people.tif", "w", driver="GTiff", height=height, width=width, count=1,
                       dtype="float32", crs="EPSG:4326", transform=Affine(CELL, 0, WEST, 0, -CELL, north),
                       nodata=-1) as dst:
        dst.write(people)
    config = folder / "province.yaml"
    config.write_text(
        f"name: province\nmode: drive\nbands_minutes: {list(BANDS)}\ntarget_minutes: {TARGET}\nsnap_max_m: {SNAP_M}\n"
        "roads: {lines: roads.gpkg, grade_column: grade, speeds_kmh: {county: 50}}\n"
        "facilities: {path: clinics.geojson, name_column: name}\n"
        "population: {raster: people.tif}\n"
        "zones: [{level: township, path: townships.gpkg, id_column: code, name_column: name,"
        " rollup: [county, city]}]\n"
        "batch: {unit_level: county, workers: 2}\n",
        encoding="utf-8",
    )
    return config


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    """The synthetic province's config file."""
    return build_counties(tmp_path_factory.mktemp("province"))


@pytest.fixture(scope="module")
def whole(province):
    """The reference: the whole-area run, and the folder of its outputs."""
    from geocover.render.writers import write_outputs

    result = run_scenario(province, progress=False)
    write_outputs(result, province.parent / "whole")
    return result, province.parent / "whole"


@pytest.fixture(scope="module")
def batch_out(province):
    """A batch run on two workers (threads, to keep the test fast)."""
    out = province.parent / "batch"
    _, summary, failed = api.batch(province, out=out, workers=2, progress=False, offline=True, processes=False,
                                   report=False)
    assert failed == {} and "6 computed" in summary
    return out


def _csv(path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype={"zone_id": str, "parent_id": str, "facility_id": str,
                                                          "unit_id": str})


def _people_by_zone(result, keep: np.ndarray) -> pd.Series:
    """People of the cells where ``keep`` holds, per zone of the whole run (indexed by zone_id)."""
    grid = result.access.grid
    out = {}
    for _, zones in result.zones.groupby("zone_level", sort=False):
        labels = grid.labels(zones)
        for number, zone_id in enumerate(zones["zone_id"], start=1):
            out[zone_id] = float(grid.population[(labels == number) & keep].sum())
    return pd.Series(out)


def _batch_raster(batch_out, whole_out) -> tuple[np.ndarray, np.ndarray]:
    """The batch travel-time grid and the whole run's cells under it."""
    with rasterio.open(batch_out / "travel_time.tif") as b, rasterio.open(whole_out / "travel_time.tif") as w:
        col = round((b.transform.c - w.transform.c) / w.transform.a)
        row = round((b.transform.f - w.transform.f) / w.transform.e)
        mine = b.read(1)
        return mine, w.read(1)[row:row + mine.shape[0], col:col + mine.shape[1]]


def test_cells_near_borders_are_served_across_them_and_covered_in_both_runs(whole, batch_out):
    result, whole_out = whole
    grid = result.access.grid
    counties = result.zones[result.zones["zone_level"] == "county"].reset_index(drop=True)
    cell_county = grid.labels(counties)
    clinic_county = grid.labels(counties)[rasterio.transform.rowcol(
        grid.transform, *np.array([(p.x, p.y) for p in result.facilities.geometry]).T)]
    nearest = result.access.facility
    across = (nearest >= 0) & (result.access.minutes <= TARGET) & (cell_county > 0) & (
        cell_county != clinic_county[np.maximum(nearest, 0)])
    assert grid.population[across].sum() > 1000
    mine, reference = _batch_raster(batch_out, whole_out)
    assert mine.shape == grid.shape  # the raster holds the zones only, so the grids coincide
    np.testing.assert_array_equal(mine[across], reference[across])
    assert (mine[across] <= TARGET).all()


def test_travel_times_are_the_whole_runs_up_to_the_largest_band(whole, batch_out):
    _, whole_out = whole
    mine, reference = _batch_raster(batch_out, whole_out)
    cells = mine != -9999
    exact = cells & (reference >= 0) & (reference <= LIMIT)
    np.testing.assert_array_equal(mine[exact], reference[exact])
    np.testing.assert_array_equal(mine[cells & (reference > LIMIT)], -2)
    np.testing.assert_array_equal(mine[cells & (reference == -1)], -1)
    assert (cells & (reference > LIMIT)).sum() > 100 and (cells & (reference == -1)).sum() > 10


def test_batch_zone_table_equals_the_whole_run(whole, batch_out):
    result, whole_out = whole
    reference, mine = _csv(whole_out / "coverage_by_zone.csv"), _csv(batch_out / "coverage_by_zone.csv")
    assert list(mine.columns) == list(reference.columns)
    assert mine["zone_id"].tolist() == reference["zone_id"].tolist()
    assert mine["zone_level"].value_counts().to_dict() == {"township": 12, "county": 6, "city": 1}
    # People more than LIMIT minutes away, counted independently from the whole run's cells.
    info = _csv(batch_out / "batch_zones.csv").set_index("zone_id")
    minutes = result.access.minutes
    with np.errstate(invalid="ignore"):
        far = _people_by_zone(result, np.isfinite(minutes) & (minutes > LIMIT))
    np.testing.assert_array_equal(info.loc[mine["zone_id"], f"pop_more_than_{LIMIT}min"], far[mine["zone_id"]])
    near = far[mine["zone_id"]].to_numpy() == 0
    assert 0 < near.sum() < len(mine)

    capped = [*_STATS, "minutes_to_county_seat"]
    pd.testing.assert_frame_equal(mine.drop(columns=capped), reference.drop(columns=capped), check_exact=False,
                                  rtol=1e-12)
    assert reference["pop_unreachable"].sum() > 0 and reference["pop_within_6"].sum() > 0
    # Mean minutes: exact where nobody is beyond LIMIT; otherwise NaN, with a lower bound in batch_zones.csv.
    np.testing.assert_allclose(mine.loc[near, "mean_minutes"], reference.loc[near, "mean_minutes"], rtol=1e-9)
    assert mine.loc[~near, "mean_minutes"].isna().all()
    bound = info.loc[mine.loc[~near, "zone_id"], "mean_minutes_at_least"].to_numpy()
    assert (bound <= reference.loc[~near, "mean_minutes"].to_numpy() + 0.05).all()  # the CSV has one decimal
    # Median and p90: exact wherever given; given wherever nobody is beyond LIMIT.
    for column in ("median_minutes", "p90_minutes"):
        given = mine[column].notna()
        assert (given | ~near).all() and given.sum() > near.sum()
        np.testing.assert_allclose(mine.loc[given, column], reference.loc[given, column], rtol=1e-9)
        assert (reference.loc[given, column] <= LIMIT).all()
    # Minutes to the county seat: exact within the halo's reach (9 km at 60 km/h: 9 minutes), NaN beyond.
    seat, seat_ref = mine["minutes_to_county_seat"], reference["minutes_to_county_seat"]
    inside = seat_ref <= LIMIT
    np.testing.assert_allclose(seat[inside], seat_ref[inside], rtol=1e-9)
    assert seat[~inside].isna().all() and inside.sum() >= 6


def test_batch_facility_table_equals_the_whole_run(whole, batch_out):
    result, whole_out = whole
    reference, mine = _csv(whole_out / "coverage_by_facility.csv"), _csv(batch_out / "coverage_by_facility.csv")
    assert list(mine.columns) == list(reference.columns)
    assert mine["facility_id"].tolist() == reference["facility_id"].tolist()
    limited = ["population_nearest", "nearest_same_tier_minutes", "referral_minutes"]
    pd.testing.assert_frame_equal(mine.drop(columns=limited), reference.drop(columns=limited), check_exact=False,
                                  rtol=1e-12)
    # People for whom each facility is the nearest, within LIMIT minutes, from the whole run's cells.
    nearest, minutes, people = result.access.facility, result.access.minutes, result.access.grid.population
    with np.errstate(invalid="ignore"):
        served = (nearest >= 0) & (minutes <= LIMIT)
    expected = np.bincount(nearest[served], weights=people[served], minlength=len(reference))
    np.testing.assert_array_equal(mine["population_nearest"], expected)
    assert (mine["population_nearest"] < reference["population_nearest"]).any()
    for column in ("nearest_same_tier_minutes", "referral_minutes"):
        inside = reference[column] <= LIMIT
        np.testing.assert_allclose(mine.loc[inside, column], reference.loc[inside, column], rtol=1e-9)
        assert mine.loc[~inside, column].isna().all()


def test_exactness_is_stated_for_every_column(batch_out):
    notes = _csv(batch_out / "batch_exactness.csv")
    table = _csv(batch_out / "coverage_by_zone.csv")
    assert set(notes.loc[notes["table"] == "zones", "column"]) == set(table.columns)
    status = notes.set_index("column")["status"]
    assert status["pop_within_6"] == "exact" and status["mean_minutes"] == "exact or NaN"
    assert status["N (minutes)"] == "9"


def test_fingerprint_changes_with_an_input_file(province):
    import os

    from geocover.batch.driver import fingerprint
    from geocover.config import load_config

    config = load_config(province)
    before = fingerprint(config, "en", None)
    assert fingerprint(config, "en", None) == before and fingerprint(config, "zh", None) != before
    raster = province.parent / "people.tif"
    stat = raster.stat()
    os.utime(raster, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    try:
        assert fingerprint(config, "en", None) != before
    finally:
        os.utime(raster, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_a_failed_unit_is_reported_the_others_kept_and_reruns_resume(province, batch_out, monkeypatch, capsys):
    import dask.distributed

    import geocover.batch.unit

    out = province.parent / "resumed"
    failing = "420103000000"
    calls, broken = [], {failing}
    real_prepare, real_cluster = geocover.batch.unit.prepare_inputs, dask.distributed.LocalCluster

    def flaky(config, facilities, unit, *given):
        calls.append(unit[1])
        if unit[1] in broken:
            raise RuntimeError("disk full while reading the roads")
        return real_prepare(config, facilities, unit, *given)

    monkeypatch.setattr(geocover.batch.unit, "prepare_inputs", flaky)
    monkeypatch.setattr(dask.distributed, "LocalCluster", lambda **kw: real_cluster(**{**kw, "processes": False}))
    assert main(["batch", str(province), "--out", str(out), "--quiet", "--offline", "--no-report"]) == 1
    assert f"1 unit(s) failed: {failing}" in capsys.readouterr().err
    assert "disk full while reading the roads" in (out / "INCOMPLETE.txt").read_text(encoding="utf-8")
    assert len(list((out / ".batch").glob("*.pkl"))) == 5
    units = _csv(out / "batch_units.csv").set_index("unit_id")
    assert units.loc[failing, "status"] == "failed" and (units["status"] == "computed").sum() == 5
    partial, complete = _csv(out / "coverage_by_zone.csv"), _csv(batch_out / "coverage_by_zone.csv")
    kept = complete["zone_id"].str.startswith(("420101", "420102", "420104", "420105", "420106")) & (
        complete["zone_level"] != "city")
    pd.testing.assert_frame_equal(partial, complete[kept].reset_index(drop=True))

    calls.clear()
    broken.clear()
    _, summary, failed = api.batch(province, out=out, progress=False, offline=True, report=False)
    assert failed == {} and calls == [failing] and "5 reused" in summary
    assert not (out / "INCOMPLETE.txt").exists()
    for name in ("coverage_by_zone.csv", "coverage_by_facility.csv", "batch_zones.csv", "results.gpkg"):
        assert (out / name).read_bytes() == (batch_out / name).read_bytes(), name

    # --force reruns every unit, here on one worker process: the same files as two threads.
    monkeypatch.setattr(dask.distributed, "LocalCluster", real_cluster)
    assert main(["batch", str(province), "--out", str(out), "--quiet", "--offline", "--no-report", "--force",
                 "--workers", "1"]) == 0
    assert (_csv(out / "batch_units.csv")["status"] == "computed").all()
    for name in ("coverage_by_zone.csv", "coverage_by_facility.csv", "batch_zones.csv", "results.gpkg",
                 "travel_time.tif"):
        assert (out / name).read_bytes() == (batch_out / name).read_bytes(), name


_HIGHWAY = {"省道": "primary", "县道": "secondary", "村道": "residential"}


def _write_pbf(lines: gpd.GeoDataFrame, path) -> None:
    """The road lines as OSM ways (``highway`` from the grade), a node per distinct vertex."""
    import osmium
    from osmium.osm.mutable import Node, Way

    ids: dict[tuple[float, float], int] = {}
    ways = [[ids.setdefault(xy, len(ids) + 1) for xy in line.coords] for line in lines.geometry]
    writer = osmium.SimpleWriter(str(path), overwrite=True)
    for (lon, lat), node_id in ids.items():
        writer.add_node(Node(id=node_id, location=(lon, lat)))
    for way_id, (refs, grade) in enumerate(zip(ways, lines["grade"], strict=True), start=1):
        writer.add_way(Way(id=way_id, nodes=refs, tags={"highway": _HIGHWAY[grade]}))
    writer.close()


def test_the_batch_parses_the_pbf_once_and_units_keep_the_whole_runs_figures(tmp_path, monkeypatch):
    import geocover.prepare
    from geocover.render.writers import write_outputs

    config = build_counties(tmp_path)
    _write_pbf(gpd.read_file(tmp_path / "roads.gpkg"), tmp_path / "roads.osm.pbf")
    text = config.read_text(encoding="utf-8").replace(
        "roads: {lines: roads.gpkg, grade_column: grade, speeds_kmh: {county: 50}}",
        "roads: {pbf: roads.osm.pbf, extract: true}")
    config.write_text(text, encoding="utf-8")
    write_outputs(run_scenario(config, progress=False), tmp_path / "whole")

    parsed = []
    real_read = geocover.prepare.read_road_segments
    monkeypatch.setattr(geocover.prepare, "read_road_segments",
                        lambda path, bounds=None: parsed.append(bounds) or real_read(path, bounds))
    out = tmp_path / "batch"
    _, summary, failed = api.batch(config, out=out, workers=2, progress=False, offline=True, processes=False,
                                   report=False)
    assert failed == {} and "6 computed" in summary
    # Streamed around the zones once, in the driver; each of the six units loads the parsed roads.
    assert len(parsed) == 1 and parsed[0] is not None
    assert len(list((out / ".batch" / "roads").glob("extract-*/roads.osm.pbf.*.segments.npz"))) == 1
    _, summary, _ = api.batch(config, out=out, workers=2, progress=False, offline=True, processes=False,
                              report=False, force=True)
    assert "6 computed" in summary and len(parsed) == 1

    reference, mine = _csv(tmp_path / "whole" / "coverage_by_zone.csv"), _csv(out / "coverage_by_zone.csv")
    assert mine["zone_id"].tolist() == reference["zone_id"].tolist()
    exact = [c for c in reference.columns if c.startswith(("pop_within_", "pct_within_", "pop_beyond_"))]
    pd.testing.assert_frame_equal(mine[["population", *exact]], reference[["population", *exact]])
    assert reference["pop_within_6"].sum() > 0
    mine_tt, reference_tt = _batch_raster(out, tmp_path / "whole")
    cells = (mine_tt != -9999) & (reference_tt >= 0) & (reference_tt <= LIMIT)
    np.testing.assert_array_equal(mine_tt[cells], reference_tt[cells])
    facilities = _csv(out / "coverage_by_facility.csv")
    whole_facilities = _csv(tmp_path / "whole" / "coverage_by_facility.csv")
    totals = [c for c in whole_facilities.columns if c.startswith("catchment_total_")]
    pd.testing.assert_frame_equal(facilities[totals], whole_facilities[totals])


def test_batch_2sfca_equals_the_whole_run_because_the_halo_reaches_twice_the_catchment(tmp_path, monkeypatch):
    """2SFCA needs the people within the catchment of every facility within the catchment of a cell: a
    halo of twice the catchment (16 minutes here, beyond the 9-minute bands). With the bands' halo only,
    the units near borders get other figures: the test can fail."""
    from geocover.config import ScenarioConfig

    config = build_counties(tmp_path)
    config.write_text(config.read_text(encoding="utf-8") + "fca: {max_minutes: 8}\n", encoding="utf-8")
    reference = run_scenario(config, progress=False).table
    table = {}
    for name in ("twice", "bands"):
        if name == "bands":
            monkeypatch.setattr(ScenarioConfig, "reach_minutes", lambda self: {self.mode: max(self.bands_minutes)})
        api.batch(config, out=tmp_path / name, workers=2, progress=False, offline=True, processes=False,
                  report=False)
        table[name] = _csv(tmp_path / name / "coverage_by_zone.csv")
    assert reference["access_2sfca"].notna().all() and reference["access_2sfca"].nunique() > 6
    # The CSV keeps six significant digits.
    np.testing.assert_allclose(table["twice"]["access_2sfca"], reference["access_2sfca"], rtol=5e-6)
    assert not np.allclose(table["bands"]["access_2sfca"], reference["access_2sfca"], rtol=1e-6)


def test_a_road_line_layer_is_read_once_for_all_units(province, batch_out, monkeypatch):
    import geocover.prepare

    calls = []
    real_read = geocover.prepare.read_road_lines
    monkeypatch.setattr(geocover.prepare, "read_road_lines",
                        lambda *args, **kwargs: calls.append(args) or real_read(*args, **kwargs))
    out = province.parent / "lines_once"
    _, summary, failed = api.batch(province, out=out, workers=2, progress=False, offline=True, processes=False,
                                   report=False)
    assert failed == {} and "6 computed" in summary and len(calls) == 1
    assert len(list((out / ".batch" / "roads").glob("lines-*.npz"))) == 1
    pd.testing.assert_frame_equal(_csv(out / "coverage_by_zone.csv"), _csv(batch_out / "coverage_by_zone.csv"))


def test_local_workers_run_without_the_glibc_trim_setting_that_slows_unit_runs():
    import dask
    from dask.distributed import Client

    from geocover.batch.tasks import local_cluster

    assert dask.config.get("distributed.nanny.pre-spawn-environ")["MALLOC_TRIM_THRESHOLD_"] is not None
    with local_cluster(1) as cluster, Client(cluster) as client:
        environ = next(iter(client.run(lambda: dict(os.environ)).values()))
    assert "MALLOC_TRIM_THRESHOLD_" not in environ
    assert environ["OMP_NUM_THREADS"] == "1"


def test_units_take_their_cells_snapped_once_and_give_the_tables_of_units_snapping_them(province, batch_out,
                                                                                      monkeypatch):
    import geocover.batch.driver
    import geocover.prepared_inputs

    calls = []
    real_snap = geocover.prepared_inputs.snap_cells
    monkeypatch.setattr(geocover.prepared_inputs, "snap_cells", lambda *a, **k: calls.append(1) or real_snap(*a, **k))
    out = province.parent / "snapped_once"
    _, _, failed = api.batch(province, out=out, workers=2, progress=False, offline=True, processes=False,
                             report=False)
    assert failed == {} and calls == []
    assert len(list((out / ".batch" / "snaps").glob("*/crs0/complete.json"))) == 1
    monkeypatch.setattr(geocover.batch.driver, "plan_cell_snaps", lambda *a, **k: [])
    alone = province.parent / "snapped_in_units"
    _, _, failed = api.batch(province, out=alone, workers=2, progress=False, offline=True, processes=False,
                             report=False)
    assert failed == {} and len(calls) == 6
    for name in ("coverage_by_zone.csv", "coverage_by_facility.csv"):
        pd.testing.assert_frame_equal(_csv(out / name), _csv(alone / name))


def test_the_workbook_written_by_another_process_is_the_one_written_here(whole, tmp_path):
    from concurrent.futures import ProcessPoolExecutor

    from geocover.render.writers import workbook_sheets, write_outputs, write_workbook

    result, here = whole
    (tmp_path / "there").mkdir()
    with ProcessPoolExecutor(1) as pool:
        sheets = workbook_sheets(result.table, result.facilities) | {"written there": pd.DataFrame({"x": [1]})}
        workbook = pool.submit(write_workbook, sheets, tmp_path / "w.xlsx")
        written = write_outputs(result, tmp_path / "there", workbook=workbook)
    assert not (tmp_path / "w.xlsx").exists()
    assert "written there" in pd.ExcelFile(tmp_path / "there" / "coverage.xlsx").sheet_names
    assert "coverage.xlsx" in written
    for sheet in ("zones", "facilities"):
        pd.testing.assert_frame_equal(pd.read_excel(tmp_path / "there" / "coverage.xlsx", sheet_name=sheet),
                                      pd.read_excel(here / "coverage.xlsx", sheet_name=sheet))


def test_roads_parsed_from_earlier_inputs_are_dropped_from_the_state_folder(province, tmp_path):
    from geocover.batch.driver import parse_roads_once
    from geocover.config import load_config
    from geocover.io.zones import read_zones

    config = load_config(province)
    zones = read_zones(config.zones, None)
    _, first = parse_roads_once(config, zones, tmp_path)
    stat = os.stat(config.roads.lines)
    os.utime(config.roads.lines, ns=(1_000_000_000, 1_000_000_000))
    try:
        _, second = parse_roads_once(config, zones, tmp_path)
    finally:
        os.utime(config.roads.lines, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert first != second and first.parent == second.parent
    assert sorted(p.name for p in second.parent.iterdir()) == [second.name]


def test_a_unit_map_shows_its_facilities_and_those_nearest_to_its_cells_only(whole, batch_out):
    result, _ = whole
    grid = result.access.grid
    counties = result.zones[result.zones["zone_level"] == "county"].reset_index(drop=True)
    labels = grid.labels(counties)
    inside = gpd.sjoin(result.facilities.to_crs(counties.crs), counties[["zone_id", "geometry"]], predicate="within")
    names = result.facilities["name"].to_numpy()
    for number, county in enumerate(counties["zone_id"], start=1):
        nearest = result.access.facility[(labels == number) & grid.valid]
        expected = set(names[nearest[nearest >= 0]]) | set(inside.loc[inside["zone_id"] == county, "name"])
        text = next(batch_out.glob(f"map_county_{county}-*.html")).read_text(encoding="utf-8")
        shown = {name for name in names if json.dumps(name) in text}
        assert shown == expected and len(shown) < len(names)
