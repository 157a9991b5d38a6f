"""The figures the report leads with: key figures per zone level, the zones with most people beyond
the target, and the standards audit summarised by rule.

Each is a table whose columns are keys of :data:`geocover.render.i18n.LABELS` (or zone-table
columns), so the report's table writer gives them headers in the report's language.
"""

from __future__ import annotations

import pandas as pd

from geocover.pipeline import ScenarioResult
from geocover.render.i18n import Lang, zone_level_label
from geocover.render.values import measure_text

#: Zones listed as those with the most people beyond the target.
TOP_ZONES = 5
#: Units named per rule as those furthest from the standard.
WORST_UNITS = 3
#: Unicode isolates (FSI, PDI) around each name of a list, so a name in Arabic script does not reorder its
#: neighbours (``Ngazidja القمر الكبرى, موهيلي Mwali`` read right to left across the comma).
ISOLATE, POP_ISOLATE = "\u2068", "\u2069"


def _key(result: ScenarioResult) -> str:
    return f"{float(result.config.target_minutes):g}".replace(".", "_")


def key_figures(result: ScenarioResult, lang: Lang) -> pd.DataFrame:
    """One row per zone level: zones, people, percent within the target, people beyond it, unreachable.

    The percent is people within the target over all people of the level (not a mean of the zones').
    """
    key = _key(result)
    rows = []
    for level, table in result.table.groupby("zone_level", sort=False):
        people = float(table["population"].sum())
        within = float(table[f"pop_within_{key}"].sum())
        rows.append({"zone_level_label": zone_level_label(result.config, str(level), lang), "zones_count": len(table),
                     "population": people, f"pct_within_{key}": 100.0 * within / people if people else float("nan"),
                     f"pop_beyond_{key}": float(table[f"pop_beyond_{key}"].sum()),
                     "pop_unreachable": float(table["pop_unreachable"].sum())})
    return pd.DataFrame(rows)


def most_beyond(result: ScenarioResult, lang: Lang, n: int = TOP_ZONES) -> pd.DataFrame:
    """The ``n`` zones of the finest level with the most people beyond the target, most first."""
    key = _key(result)
    levels = list(dict.fromkeys(result.table["zone_level"]))
    table = result.table[result.table["zone_level"] == levels[-1]]
    top = table.sort_values([f"pop_beyond_{key}", "zone_name"], ascending=[False, True], kind="stable").head(n)
    return pd.DataFrame({"zone_name": top["zone_name"].to_numpy(), "population": top["population"].to_numpy(),
                         f"pct_within_{key}": top[f"pct_within_{key}"].to_numpy(),
                         f"pop_beyond_{key}": top[f"pop_beyond_{key}"].to_numpy(),
                         "pop_unreachable": top["pop_unreachable"].to_numpy()})


def audit_by_rule(audit: pd.DataFrame, lang: Lang) -> pd.DataFrame:
    """Per rule: its measure in plain words, units met, not met and not evaluable, and the units not
    met that have the most to add; rules with most units not met first."""
    frame = pd.DataFrame(audit)
    rows = []
    for rule, checks in frame.groupby("rule_id", sort=False):
        failed = checks[checks["status"] == "fail"]
        if "to_add" in failed.columns:
            failed = failed.sort_values("to_add", ascending=False, kind="stable")
        names = [str(n) for n in failed.get("unit_name", pd.Series(dtype=object)).dropna()][:WORST_UNITS]
        measure = measure_text(checks["measure"].iloc[0], lang) if "measure" in checks else ""
        rows.append({"rule_id": rule, "measure": measure,
                     "count_met": int((checks["status"] == "pass").sum()),
                     "count_not_met": len(failed),
                     "count_other": int((~checks["status"].isin(["pass", "fail", "baseline"])).sum()),
                     "count_baseline": int((checks["status"] == "baseline").sum()),
                     "worst_units": ", ".join(f"{ISOLATE}{name}{POP_ISOLATE}" for name in names)})
    out = pd.DataFrame(rows, columns=["rule_id", "measure", "count_met", "count_not_met", "count_other",
                                      "count_baseline", "worst_units"])
    if not out["count_baseline"].any():
        out = out.drop(columns="count_baseline")
    return out.sort_values(["count_not_met"], ascending=False, kind="stable").reset_index(drop=True)


def sites_table(sites: pd.DataFrame) -> pd.DataFrame:
    """Proposed sites in rank order: zone, coordinates, people each adds and people covered after it."""
    frame = pd.DataFrame(sites).sort_values("rank")
    return pd.DataFrame({
        "rank": frame["rank"].to_numpy(),
        "zone_name": frame["zone_name"].to_numpy() if "zone_name" in frame else [""] * len(frame),
        "coordinates": [f"{lat:.5f}, {lon:.5f}" for lat, lon in zip(frame["lat"], frame["lon"], strict=True)],
        "population_added": frame["population_added"].to_numpy(),
        "cumulative_population": frame["cumulative_population"].to_numpy(),
    })


def sites_before_after(sites: pd.DataFrame) -> tuple[float, float]:
    """People covered before the proposed sites and after all of them (the sites table's own figures)."""
    frame = pd.DataFrame(sites).sort_values("rank")
    after = float(frame["cumulative_population"].iloc[-1])
    return after - float(frame["population_added"].sum()), after


def sites_effect(result: ScenarioResult, lang: Lang) -> pd.DataFrame | None:
    """Per zone level, people within the target and people who reach no facility, before and after the
    proposed sites (the zone tables of the two runs); None without ``result.table_with_sites``."""
    after = getattr(result, "table_with_sites", None)
    if after is None:
        return None
    key = _key(result)
    rows = []
    for level, before in result.table.groupby("zone_level", sort=False):
        then = after[after["zone_level"] == level]
        rows.append({"zone_level_label": zone_level_label(result.config, str(level), lang),
                     "population": float(before["population"].sum()),
                     f"pop_within_{key}_before": float(before[f"pop_within_{key}"].sum()),
                     f"pop_within_{key}_after": float(then[f"pop_within_{key}"].sum()),
                     "pop_unreachable_before": float(before["pop_unreachable"].sum()),
                     "pop_unreachable_after": float(then["pop_unreachable"].sum())})
    return pd.DataFrame(rows)
