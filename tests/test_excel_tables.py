"""Tables for Excel: whole people, short decimals, codes as text, byte-identical workbooks, the totals explained."""

from __future__ import annotations

import contextlib
import io
import re
import time
import zipfile

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import rasterio

from geocover.cli import main
from geocover.render.tables import write_csv, write_workbook
from geocover.standards import write_audit
from tests.conftest import ROOT

TABLE = pd.DataFrame({
    "zone_id": ["521123000000", "521123100000"],
    "parent_id": [521123000000.0, np.nan],
    "zone_name": ["城关镇", "龙场镇"],
    "population": [12345.4999, 0.5001],
    "pop_within_15": [10000.6, 0.0],
    "pct_within_15": [81.00911111111, 0.0],
    "mean_minutes": [12.345678, np.nan],
    "snap_distance_m": [123.456, 0.04],
    "facilities_per_10k": [0.81004567891234, 0.0],
    "lon": [104.1234567, 104.7654321],
})


def test_csv_and_xlsx_read_back_with_whole_people_short_decimals_and_text_codes(tmp_path):
    write_csv(TABLE, tmp_path / "t.csv")
    write_workbook({"zones": TABLE}, tmp_path / "t.xlsx")
    text = (tmp_path / "t.csv").read_text(encoding="utf-8-sig").splitlines()
    assert text[1] == "521123000000,521123000000,城关镇,12345,10001,81.0,12.3,123.5,0.810046,104.1234567"
    assert text[2] == "521123100000,,龙场镇,1,0,0.0,,0.0,0.0,104.7654321"
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx")["zones"]
    header = [cell.value for cell in sheet[1]]
    rows = {name: [sheet.cell(row=r, column=header.index(name) + 1) for r in (2, 3)] for name in header}
    for code in ("zone_id", "parent_id"):
        assert rows[code][0].data_type == "s" and rows[code][0].value == "521123000000"
        assert rows[code][0].number_format == "@"
    assert [c.value for c in rows["population"]] == [12345, 1]
    assert [c.value for c in rows["pct_within_15"]] == [81.0, 0.0]
    assert rows["mean_minutes"][0].value == 12.3 and rows["mean_minutes"][1].value is None
    back = pd.read_csv(tmp_path / "t.csv", encoding="utf-8-sig", dtype={"zone_id": str, "parent_id": str})
    assert back["zone_id"].tolist() == TABLE["zone_id"].tolist()


def _core(path) -> str:
    with zipfile.ZipFile(path) as book:
        return book.read("docProps/core.xml").decode("utf-8")


def test_workbooks_of_two_identical_runs_are_byte_identical(tmp_path):
    audit = pd.DataFrame({"rule": ["a", "b"], "status": ["pass", "fail"], "value": [1.5, 2.25]})
    for run in ("one", "two"):
        (tmp_path / run).mkdir()
        write_workbook({"zones": TABLE}, tmp_path / run / "coverage.xlsx")
        write_audit(audit, tmp_path / run / "audit.csv", tmp_path / run / "audit.xlsx")
        time.sleep(1.1)  # the creation time has one-second resolution
    for name in ("coverage.xlsx", "audit.xlsx", "audit.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    assert re.search(r"<dcterms:created[^>]*>2000-01-01T00:00:00Z<", _core(tmp_path / "one" / "audit.xlsx"))


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo_totals") / "out"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main(["demo", "--out", str(out), "--quiet"]) == 0
    return out, stdout.getvalue()


def _figure(text: str, pattern: str) -> float:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in {text}"
    return float(match.group(1).replace(",", ""))


def test_the_summary_and_report_explain_each_population_total(demo_run):
    out, summary = demo_run
    table = pd.read_csv(out / "coverage_by_zone.csv", encoding="utf-8-sig")
    gaps = gpd.read_file(out / "results.gpkg", layer="gaps")
    with rasterio.open(ROOT / "data" / "population" / "helsinki_population.tif") as source:
        data = source.read(1, masked=True).filled(0.0)
    raster = data[data > 0].sum()
    study = _figure(summary, r"travel is computed\): ([\d,]+) people")
    inside = _figure(summary, r"people, ([\d,]+) inside the grid_500m zones")
    assert study == pytest.approx(raster, abs=0.5)
    assert inside == pytest.approx(table["population"].sum(), abs=0.5 * len(table))
    assert _figure(summary, r"the other ([\d,]+) live outside") == pytest.approx(study - inside, abs=1)
    assert _figure(summary, r"gaps: \d+ areas, ([\d,]+) people beyond 15 min") == pytest.approx(
        gaps["population"].sum(), abs=0.5)
    beyond = table["pop_beyond_15"].sum() + table["pop_unreachable"].sum()
    assert _figure(summary, r"([\d,]+) of them inside the grid_500m zones") == pytest.approx(beyond, abs=len(table))
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "live outside every grid 500m zone (beyond the reporting area)" in report  # the level as labelled


def test_the_progress_bar_reaches_100_percent_only_once_the_outputs_are_in_place(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "out")]) == 0
    states = [s for s in re.split(r"[\r\n]", capsys.readouterr().err) if "step" in s]
    first_full = next(s for s in states if "100%" in s)
    assert "outputs in place" in first_full
    labels = [m.group(1).strip() for s in states if (m := re.search(r"step/s, ([^\]]+)\]", s))]
    for label in ("computed", "map drawn", "tables written", "GeoPackage written", "print map and report written"):
        assert label in labels
    assert labels.index("computed") < labels.index("tables written") < labels.index("outputs in place")
