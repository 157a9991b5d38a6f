"""The zone-table schema has one home (:mod:`geocover.schema`) and every module uses it."""

import re
from pathlib import Path

import numpy as np
import pytest

from geocover import schema
from geocover.io.facility_labels import classify_tier
from geocover.standards.schema import NUMERATORS
from geocover.standards.schema import TIERS as STANDARD_TIERS

PACKAGE = Path(__file__).resolve().parents[1] / "geocover"


@pytest.mark.parametrize(("minutes", "label"), [(15, "15"), (7.5, "7_5"), (60.0, "60"), (0.25, "0_25")])
def test_band_labels_by_hand(minutes, label):
    assert schema.band_label(minutes) == label
    assert schema.within_column(minutes) == f"pop_within_{label}"
    assert schema.within_column(minutes, "women") == f"women_within_{label}"
    assert schema.pct_within_column(minutes) == f"pct_within_{label}"
    assert schema.beyond_column(minutes) == f"pop_beyond_{label}"
    assert schema.service_column("maternity", f"pop_within_{label}") == f"maternity_pop_within_{label}"


def test_zone_table_writes_the_schema_columns():
    """Two cells of 10 and 30 people at 5 and 7.5 minutes in one zone: counts by hand."""
    import geopandas as gpd
    import pyproj
    from affine import Affine
    from shapely.geometry import box

    from geocover.analysis.zone_table import zone_table
    from geocover.io.population import PopulationGrid

    grid = PopulationGrid(np.array([[10.0, 30.0]]), np.array([[True, True]]), Affine(1.0, 0.0, 0.0, 0.0, -1.0, 0.0),
                          pyproj.CRS("EPSG:32638"))
    zones = gpd.GeoDataFrame({"zone_level": ["township"], "zone_id": ["1"], "zone_name": ["A"]},
                             geometry=[box(0, -1, 2, 0)], crs="EPSG:32638")
    table = zone_table(grid, np.array([[5.0, 7.5]]), zones, [5, 7.5], 5)
    row = table.iloc[0]
    assert list(table.columns[:3]) == schema.ZONE_KEYS
    assert row[schema.within_column(5)] == 10 and row[schema.within_column(7.5)] == 40
    assert row[schema.pct_within_column(5)] == pytest.approx(25.0)
    assert row[schema.beyond_column(5)] == 30


def test_one_tier_list():
    """The plans' tiers are the facility reader's tiers, clinic and doctors included."""
    assert STANDARD_TIERS is schema.TIERS
    assert {"clinic", "doctors"} <= set(schema.TIERS)
    assert {f"facilities_{tier}" for tier in schema.TIERS} <= set(NUMERATORS)
    for tier in schema.TIERS:
        assert classify_tier(tier) == tier
    assert set(schema.REFERRAL) <= set(schema.TIERS)
    assert {target for target, _ in schema.REFERRAL.values()} <= set(schema.TIERS)


def test_unit_code_digits_extend_zone_code_digits():
    assert schema.UNIT_CODE_DIGITS.items() >= schema.CODE_DIGITS.items()
    assert schema.UNIT_CODE_DIGITS["street"] == schema.CODE_DIGITS["township"]
    assert schema.UNIT_CODE_DIGITS["community"] == schema.CODE_DIGITS["village"]


@pytest.mark.parametrize("pattern", [
    r'\["zone_level", "zone_id", "zone_name"\]',
    r'f"pop_within_\{[^}]*:g\}"\.replace',
    r'^TIERS = ',
    r'^(_)?CODE_DIGITS = ',
    r'^REFERRAL = ',
])
def test_no_copies_outside_the_schema(pattern):
    copies = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py") if path != PACKAGE / "schema.py"
              and re.search(pattern, path.read_text(encoding="utf-8"), re.M)]
    assert copies == []
