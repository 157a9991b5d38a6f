"""``geocover site``: the report and the print map show the proposed sites and the people before and after them,
with the figures of the sites CSV and the before/after zone table."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from geocover.cli import main
from tests.conftest import ROOT
from tests.test_static_report import _Tables

pypdf = pytest.importorskip("pypdf")
DEMO = ROOT / "configs" / "demo.yaml"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sites")
    assert main(["site", str(DEMO), "--k", "2", "--out", str(folder / "site"), "--quiet", "--offline"]) == 0
    assert main(["run", str(DEMO), "--out", str(folder / "plain"), "--quiet", "--offline"]) == 0
    return folder / "site", folder / "plain"


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def test_report_lists_the_sites_as_the_csv_does(runs):
    site, _ = runs
    sites = pd.read_csv(site / "proposed_sites.csv", encoding="utf-8-sig")
    parser = _Tables()
    parser.feed((site / "report.html").read_text(encoding="utf-8"))
    header, *rows = parser.tables["sites"]
    assert [int(row[header.index("Rank")]) for row in rows] == list(sites["rank"])
    assert [_number(row[header.index("People it adds")]) for row in rows] == \
        [round(v) for v in sites["population_added"]]
    assert [_number(row[header.index("People covered with it")]) for row in rows] == \
        [round(v) for v in sites["cumulative_population"]]
    before = sites["cumulative_population"].iloc[-1] - sites["population_added"].sum()
    found = re.search(r"rise from ([\d,]+) to ([\d,]+)", " ".join(parser.texts))
    assert found is not None
    assert _number(found.group(1)) == pytest.approx(before, abs=1.01)  # the CSV holds whole people
    assert _number(found.group(2)) == sites["cumulative_population"].iloc[-1]


def test_report_and_print_map_show_people_before_and_after_as_the_zone_table(runs):
    site, _ = runs
    zones = pd.read_csv(site / "zones_before_after.csv", encoding="utf-8-sig")
    first = zones[zones["zone_level"] == zones["zone_level"].iloc[0]]
    within = (first["pop_within_15_current"].sum(), first["pop_within_15_after"].sum())
    unreachable = (first["pop_unreachable_current"].sum(), first["pop_unreachable_after"].sum())
    assert within[1] > within[0]
    parser = _Tables()
    parser.feed((site / "report.html").read_text(encoding="utf-8"))
    header, row, *_ = parser.tables["sites-effect"]
    figures = dict(zip(header, row, strict=True))
    whole = len(first) / 2 + 0.01  # the CSV holds each zone in whole people
    assert _number(figures["People within 15 min, now"]) == pytest.approx(within[0], abs=whole)
    assert _number(figures["People within 15 min, with the sites"]) == pytest.approx(within[1], abs=whole)
    assert _number(figures["People who reach no facility, now"]) == pytest.approx(unreachable[0], abs=whole)
    assert _number(figures["People who reach no facility, with the sites"]) == \
        pytest.approx(unreachable[1], abs=whole)
    text = re.sub(r"\s+", " ", "".join(page.extract_text() for page in pypdf.PdfReader(site / "map.pdf").pages))
    box = re.search(r"People within 15 min: ([\d,]+) → ([\d,]+) People who reach no facility: ([\d,]+) → ([\d,]+)",
                    text)
    assert box is not None, text
    assert [_number(v) for v in box.groups()] == pytest.approx([*within, *unreachable], abs=whole)
    cover = pypdf.PdfReader(site / "report.pdf").pages[0].extract_text()
    assert "Proposed sites" in cover and "with the sites" in cover


def test_the_site_report_is_not_the_plain_runs(runs):
    site, plain = runs
    assert (site / "report.pdf").read_bytes() != (plain / "report.pdf").read_bytes()
    assert "Proposed sites" not in (plain / "report.html").read_text(encoding="utf-8")
    assert "People within 15 min:" not in pypdf.PdfReader(plain / "map.pdf").pages[0].extract_text()
