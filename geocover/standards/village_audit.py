"""The plans' village-level rules on the village list (``villages:``), with the remoteness exemption.

Villages have no polygons, so they are not zones; for the audit each village of ``villages.csv``
(:mod:`geocover.analysis.villages`) becomes a unit of level ``village``: ``facilities_village_clinic``
its matched clinics, ``population`` and ``village_doctors`` its 常住人口 and village doctors. A village
rule failing where the plan's exemption (偏远、居住分散且常住人口少) applies reads "served by itinerant
care" instead, with the thresholds in the note (Shanxi P2 for the clinic, P7 for the doctor).
"""

from __future__ import annotations

import pandas as pd

from geocover.analysis.villages import ITINERANT
from geocover.standards.evaluate import FAIL, NOT_EVALUABLE
from geocover.standards.schema import Rule

#: The village levels of a plan's rules that the village list answers.
VILLAGE_LEVELS = ("village", "village_or_community")


def village_units(zone_table: pd.DataFrame, villages: pd.DataFrame | None) -> pd.DataFrame:
    """``zone_table`` with a row per village (when it has no village rows of its own)."""
    if villages is None or zone_table["zone_level"].isin(VILLAGE_LEVELS).any():
        return zone_table
    rows = pd.DataFrame({"zone_level": "village", "zone_id": villages["village_code"],
                         "zone_name": villages["village_name"], "parent_id": villages["township_code"],
                         "population": villages["population"], "facilities_village_clinic": villages["clinics"]})
    return pd.concat([zone_table, rows], ignore_index=True)


def village_statistics(statistics: pd.DataFrame | None, villages: pd.DataFrame | None) -> pd.DataFrame | None:
    """``statistics`` (keyed by ``zone_id``) with each village's 常住人口 and ``village_doctors``."""
    if villages is None:
        return statistics
    rows = pd.DataFrame({"zone_id": villages["village_code"], "population": villages["population"],
                         "village_doctors": villages["doctors"]})
    return rows if statistics is None else pd.concat([statistics, rows], ignore_index=True)


def exempt(audit: pd.DataFrame, rules: list[Rule], villages: pd.DataFrame | None) -> pd.DataFrame:
    """Failing village rows of exempt villages as "served by itinerant care" (and "not evaluable" where the
    exemption cannot be measured): clinic rules by the village's ``clinic_status``, village-doctor rules by
    its ``doctor_status``."""
    if villages is None or audit.empty:
        return audit
    kinds = {r.uid: ("doctor" if getattr(r.params, "numerator", None) == "village_doctors" else "clinic"
                     if "village_clinic" in r.scope.tiers else None) for r in rules}
    status = villages.set_index("village_code")[["clinic_status", "doctor_status", "note"]]
    out = audit.copy()
    for index, entry in out[(out["status"] == FAIL) & out["unit_level"].isin(VILLAGE_LEVELS)].iterrows():
        kind = kinds.get(entry["rule_id"])
        if kind is None or entry["unit_id"] not in status.index:
            continue
        village = status.loc[entry["unit_id"]]
        if village[f"{kind}_status"] == ITINERANT:
            out.at[index, "status"] = ITINERANT
            out.at[index, "note"] = "; ".join(n for n in (entry["note"], village["note"]) if isinstance(n, str))
        elif village[f"{kind}_status"] == NOT_EVALUABLE:
            out.at[index, "status"] = NOT_EVALUABLE
            out.at[index, "missing"] = "the village's point (villages.lon_column/lat_column): small enough for the "\
                "remoteness exemption, its distance to care is unknown"
    return out
