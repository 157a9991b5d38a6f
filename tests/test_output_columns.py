"""docs/outputs.md explains every column the Comoros run writes, in English and Chinese, and both READMEs link it."""

from __future__ import annotations

import re

import pandas as pd
import pyogrio
import pytest

from tests.conftest import ROOT

DOC = ROOT / "docs" / "outputs.md"
NUMBER = r"\d+(?:_\d+)?"
NAMED = ("tier", "service", "weight")
"""Placeholders standing for names of the run (its tiers, services, weights), matched only by those names."""


def documented(section: str, names: dict[str, list[str]]) -> dict[str, re.Pattern]:
    """Column name (as written in the doc) to its pattern, for the table under ``## <section>``; ``names`` gives
    the values of the named placeholders (:data:`NAMED`)."""
    text = DOC.read_text(encoding="utf-8")
    part = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]

    def placeholder(match: re.Match) -> str:
        key = match.group(1)
        if key in NAMED:
            return "(?:" + "|".join(map(re.escape, names.get(key, []))) + ")" if names.get(key) else "(?!)"
        return r"(?:urban|rural)" if key == "class" else NUMBER

    rows = {}
    for line in part.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`([^`]+)`", cells[0]) if len(cells) == 4 else None
        if match:
            assert all(cells[1:]) and re.search(r"[\u4e00-\u9fff]", cells[2]), f"{cells[0]} lacks a meaning"
            rows[match.group(1)] = re.compile(re.sub(r"<(\w+)>", placeholder, re.escape(match.group(1))))
    return rows


def undocumented(columns, section: str, **names: list[str]) -> list[str]:
    rows = documented(section, names)
    return [c for c in columns if not any(p.fullmatch(c) for p in rows.values())]


def _names(outputs) -> dict[str, list[str]]:
    tiers = pd.read_csv(outputs / "coverage_by_facility.csv", encoding="utf-8-sig")["tier"].unique().tolist()
    return {"tier": tiers, "service": ["hospital", "primary_walk"]}


def test_every_zone_column_of_the_comoros_run_is_documented(comoros_outputs):
    columns = pd.read_csv(comoros_outputs / "coverage_by_zone.csv", encoding="utf-8-sig", nrows=1).columns
    assert len(columns) > 70
    assert undocumented(columns, "coverage_by_zone.csv", **_names(comoros_outputs)) == []


def test_every_facility_column_is_documented_or_copied_from_the_facility_file(comoros_outputs, comoros_dir):
    columns = pd.read_csv(comoros_outputs / "coverage_by_facility.csv", encoding="utf-8-sig", nrows=1).columns
    copied = set(pyogrio.read_info(comoros_dir / "health.gpkg")["fields"])
    left = undocumented(columns, "coverage_by_facility.csv", **_names(comoros_outputs))
    assert left and set(left) <= copied, left


def test_the_check_fails_on_a_column_missing_from_the_doc():
    columns = ["pop_within_15", "hospital_pop_within_30", "pop_within_radius_rural_10km_2plus", "pct_within_7_5",
               "facilities_clinic", "age65_pct_within_15", "made_up_column", "pop_within_x", "facilities_dentist",
               "dentist_mean_minutes"]
    assert undocumented(columns, "coverage_by_zone.csv", tier=["clinic"], service=["hospital"], weight=["age65"]) == [
        "made_up_column", "pop_within_x", "facilities_dentist", "dentist_mean_minutes"]


@pytest.mark.parametrize("readme", ["README.md", "README.zh.md"])
def test_both_readmes_link_the_column_table(readme):
    assert "docs/outputs.md" in (ROOT / readme).read_text(encoding="utf-8")
