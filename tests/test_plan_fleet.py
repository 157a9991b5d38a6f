"""The zone table's ambulances_needed follows the audited plan, never another plan's number."""

from __future__ import annotations

from geocover.pipeline import run_scenario
from tests.test_ambulance import _stations, corridor  # noqa: F401  (fixture)


def test_ambulances_needed_by_the_plan_of_the_scenario(corridor):  # noqa: F811
    _stations(corridor, [0.002])
    (corridor.parent / "stats.csv").write_text("区划代码,常住人口,救护车\nA,65000,2\nB,30000,1\n", encoding="utf-8")
    config = corridor.parent / "linfen.yaml"
    base = corridor.read_text(encoding="utf-8") + "statistics: {path: stats.csv}\n"
    config.write_text(base + "standards: {plan: linfen_14th_fyp_public_health}\n", encoding="utf-8")
    table = run_scenario(config, progress=False).table.set_index("zone_id")
    # Linfen 0.30 per 10,000: ceil(65,000 × 0.30 / 10,000) = ceil(1.95) = 2 against 2 (Shanxi's count would say 3).
    assert (table.loc["A", "ambulances_needed"], table.loc["A", "ambulances_to_add"]) == (2, 0)
    assert table.loc["B", "ambulances_needed"] == 1
    config.write_text(base + "standards: {plan: taiyuan_14th_fyp}\n", encoding="utf-8")
    # Taiyuan sets no fleet ratio: no ambulances_needed column at all.
    assert "ambulances_needed" not in run_scenario(config, progress=False).table.columns
