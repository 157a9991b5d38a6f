"""A batch writes the plan tables of the single run (emergency chain, county referral, villages), row for row.

The reference is the whole-area run (``geocover run`` on the same config). The province is the one of
:mod:`tests.test_batch` with bands of 1 and 2 minutes (a halo of about 3 km), so that the chain's trips, the
cells' nearest hospitals and the villages' nearest care lie beyond the units' halos: a per-unit answer would
differ.
"""

from __future__ import annotations

import pandas as pd
import pytest

from geocover import api
from geocover.pipeline import run_scenario
from geocover.render.writers import write_outputs
from geocover.standards.scenario_audit import scenario_audit
from tests.test_batch import COUNTY_H, COUNTY_W, SOUTH, WEST, build_counties

PLAN_TABLES = ("emergency_chain.csv", "county_referral.csv", "villages.csv", "villages_by_township.csv")
SORT_KEYS = {"emergency_chain.csv": "facility_id", "county_referral.csv": "zone_id", "villages.csv": "village_code",
             "villages_by_township.csv": "township_code"}
CODES = {"facility_id": str, "county_code": str, "central_thc_id": str, "emergency_centre_id": str, "zone_id": str,
         "village_code": str, "township_code": str}
BANDS = (1, 2)


def _township(county: int, east: bool) -> str:
    return f"4201{county:02d}{'101000' if east else '001000'}"


def _corner(county: int) -> tuple[float, float]:
    """South-west corner of county 1..6 (3 columns, 2 rows), degrees."""
    row, col = divmod(county - 1, 3)
    return WEST + col * COUNTY_W, SOUTH + row * COUNTY_H


def _facilities() -> str:
    """A township health centre in each township (central ones in counties 1, 3, 5; one without a township
    code), emergency centres in counties 1, 2 and 4 only, graded hospitals in counties 1, 4 and 5 (and a grade I
    one in county 2, which does not count), village clinics with and without their village code."""
    rows = ["机构名称,经度,纬度,村代码,乡镇代码,等级"]
    for county in range(1, 7):
        x0, y0 = _corner(county)
        for east in (False, True):
            x = x0 + (0.75 if east else 0.25) * COUNTY_W
            central = county in (1, 3, 5) and not east
            kind = "中心卫生院" if central else "卫生院"
            code = "" if (county, east) == (6, True) else _township(county, east)
            rows.append(f"{county}县{'东' if east else '西'}{kind},{x:.5f},{y0 + 0.5 * COUNTY_H:.5f},,{code},")
        if county in (1, 2, 4):
            rows.append(f"{county}县急救中心,{x0 + 0.5 * COUNTY_W:.5f},{y0 + 0.3 * COUNTY_H:.5f},,"
                        f"{_township(county, False)},")
    hospitals = [(1, "县人民医院", "二级甲等"), (4, "县人民医院", "二级"), (5, "市中心医院", "三级甲等"),
                 (2, "县医院", "一级")]
    for county, name, grade in hospitals:
        x0, y0 = _corner(county)
        rows.append(f"{county}{name},{x0 + 0.45 * COUNTY_W:.5f},{y0 + 0.7 * COUNTY_H:.5f},,"
                    f"{_township(county, False)},{grade}")
    x0, y0 = _corner(2)
    rows.append(f"东村卫生室,{x0 + 0.1 * COUNTY_W:.5f},{y0 + 0.2 * COUNTY_H:.5f},{_township(2, False)[:9]}201,"
                f"{_township(2, False)},")
    rows.append(f"无码卫生室,{x0 + 0.8 * COUNTY_W:.5f},{y0 + 0.8 * COUNTY_H:.5f},,{_township(2, True)},")
    return "\n".join(rows) + "\n"


def _villages() -> str:
    """Villages of county 2 (a coded clinic, an uncoded one nearest in its township, small ones near and far
    from care) and of county 6 (no clinic; one without a point)."""
    x2, y2 = _corner(2)
    x6, y6 = _corner(6)
    west, east, far = _township(2, False)[:9], _township(2, True)[:9], _township(6, True)[:9]
    return ("村名,统计用区划代码,常住人口,乡村医生,经度,纬度\n"
            f"东村,{west}201,800,2,{x2 + 0.1 * COUNTY_W:.5f},{y2 + 0.2 * COUNTY_H:.5f}\n"
            f"西村,{west}202,150,0,{x2 + 0.01 * COUNTY_W:.5f},{y2 + 0.02 * COUNTY_H:.5f}\n"
            f"南村,{east}203,300,1,{x2 + 0.8 * COUNTY_W:.5f},{y2 + 0.75 * COUNTY_H:.5f}\n"
            f"北村,{east}204,120,1,{x2 + 0.74 * COUNTY_W:.5f},{y2 + 0.5 * COUNTY_H:.5f}\n"
            f"远村,{far}205,90,0,{x6 + 0.97 * COUNTY_W:.5f},{y6 + 0.97 * COUNTY_H:.5f}\n"
            f"中村,{far}206,100,,,\n")


def _plan_province(folder, villages: bool):
    """The province of :func:`tests.test_batch.build_counties` with the facilities above, bands of 1 and
    2 minutes and, with ``villages``, the village list."""
    config = build_counties(folder)
    (folder / "facilities.csv").write_bytes(_facilities().encode("gbk"))
    (folder / "villages.csv").write_bytes(_villages().encode("gbk"))
    text = config.read_text(encoding="utf-8")
    text = text.replace("facilities: {path: clinics.geojson, name_column: name}", "facilities: {path: facilities.csv}")
    text = text.replace("bands_minutes: [3, 6, 9]\ntarget_minutes: 6",
                        f"bands_minutes: {list(BANDS)}\ntarget_minutes: {max(BANDS)}")
    if villages:
        text += ("villages: {path: villages.csv, clinic_code_column: 村代码, remote_population_max: 200,"
                 " remote_minutes_min: 1.5}\nstandards: {plan: shanxi_2023_2025}\n")
    config.write_text(text, encoding="utf-8")
    return config


def _runs(folder, villages: bool):
    """The whole-area run written to ``whole/`` and the batch written to ``batch/`` (threads, two workers)."""
    config = _plan_province(folder, villages)
    result = run_scenario(config, progress=False)
    result.audit = scenario_audit(result)
    write_outputs(result, folder / "whole")
    _, summary, failed = api.batch(config, out=folder / "batch", workers=2, progress=False, offline=True,
                                   processes=False, report=False)
    assert failed == {} and "6 computed" in summary
    return result, folder / "whole", folder / "batch"


@pytest.fixture(scope="module")
def with_villages(tmp_path_factory):
    return _runs(tmp_path_factory.mktemp("plan_province"), villages=True)


def _read(path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype=CODES)


def test_the_batch_writes_every_plan_table_of_the_single_run_row_for_row(with_villages):
    result, whole, batch = with_villages
    assert set(result.tables) == set(PLAN_TABLES)
    for name in PLAN_TABLES:
        mine, reference = _read(batch / name), _read(whole / name)
        assert list(mine.columns) == list(reference.columns), name
        key = SORT_KEYS[name]
        assert mine[key].is_unique and mine[key].str.fullmatch(r"\d+").all(), name  # codes kept as text
        pd.testing.assert_frame_equal(mine.sort_values(key, ignore_index=True),
                                      reference.sort_values(key, ignore_index=True), obj=name)
        assert mine[key].tolist() == reference[key].tolist(), name  # and in the single run's order


def test_the_plan_tables_reach_beyond_the_units_halos(with_villages):
    """The fixture tests what a per-unit run could not give: trips longer than the largest band (the halo's
    exact reach), emergency centres of other counties unreached, counties whose people go elsewhere."""
    result, _, batch = with_villages
    chain = result.tables["emergency_chain.csv"]
    reached = chain["minutes_to_central_thc"].replace(float("inf"), float("nan"))
    assert reached.max() > 2 * max(BANDS)
    assert (chain["emergency_centre_scope"] == "nearest").sum() == 1
    assert chain.loc[chain["county_code"] == "420103", "emergency_centre_id"].isna().all()
    county_2 = result.tables["county_referral.csv"].set_index("zone_id").loc["420102000000"]
    assert county_2["hospitals"] == 0 and county_2["pop_nearest_hospital_in_county"] == 0
    assert county_2["pop_nearest_hospital_elsewhere"] > 0
    villages = result.tables["villages.csv"].set_index("village_name")
    assert villages.loc["远村", "minutes_to_care"] > max(BANDS)
    assert villages.loc["远村", "verdict"] == "served by itinerant care"
    assert villages.loc["东村", "clinic_match"] == "code"
    assert villages.loc["南村", "clinic_match"] == "nearest in township"
    units = _read(batch / "batch_units.csv")
    assert (units["status"] == "computed").all()


def test_the_village_rules_of_the_audit_read_the_batch_village_table(with_villages):
    result, whole, batch = with_villages
    mine, reference = pd.read_csv(batch / "audit.csv", encoding="utf-8-sig"), pd.read_csv(
        whole / "audit.csv", encoding="utf-8-sig")
    mine, reference = (table[table["unit_level"] == "village"].reset_index(drop=True) for table in (mine, reference))
    assert set(reference["rule_id"]) >= {"P2", "P7"} and len(reference) >= 2 * len(result.tables["villages.csv"])
    pd.testing.assert_frame_equal(mine, reference)


def test_a_rerun_reuses_the_recorded_plan_tables(with_villages, monkeypatch):
    import geocover.batch.plan

    _, _, batch = with_villages
    before = {name: (batch / name).read_bytes() for name in PLAN_TABLES}
    monkeypatch.setattr(geocover.batch.plan, "prepare_inputs", lambda *a, **k: pytest.fail("computed again"))
    _, summary, failed = api.batch(batch.parent / "province.yaml", out=batch, workers=2, progress=False,
                                   offline=True, processes=False, report=False)
    assert failed == {} and "6 reused" in summary
    assert {name: (batch / name).read_bytes() for name in PLAN_TABLES} == before


def test_without_villages_neither_run_writes_village_tables_and_units_compute_no_plan_table(tmp_path, monkeypatch):
    import geocover.analysis.plan_tables

    calls, real = [], geocover.analysis.plan_tables.county_referral
    monkeypatch.setattr(geocover.analysis.plan_tables, "county_referral", lambda *a: calls.append(1) or real(*a))
    _, whole, batch = _runs(tmp_path, villages=False)
    assert len(calls) == 2  # the single run and the batch's whole-area task; none in the six units
    for folder in (whole, batch):
        written = {path.name for path in folder.iterdir()}
        assert {"emergency_chain.csv", "county_referral.csv"} <= written
        assert not {"villages.csv", "villages_by_township.csv"} & written, folder


def test_a_bad_village_list_stops_the_batch_before_any_unit_runs(tmp_path, capsys, monkeypatch):
    import dask.distributed

    from geocover.cli import main

    real_cluster = dask.distributed.LocalCluster
    monkeypatch.setattr(dask.distributed, "LocalCluster", lambda **kw: real_cluster(**{**kw, "processes": False}))
    config = _plan_province(tmp_path, villages=True)
    (tmp_path / "villages.csv").write_bytes("名字,人数\n东村,abc\n".encode("gbk"))
    assert main(["batch", str(config), "--out", str(tmp_path / "batch"), "--quiet", "--offline", "--no-report"]) == 2
    err = capsys.readouterr().err
    assert "villages.csv" in err and "no code column" in err and "no population column" in err
    assert "Traceback" not in err
    assert not list((tmp_path / "batch").rglob("*.pkl")) and not (tmp_path / "batch" / ".batch" / "snaps").exists()
