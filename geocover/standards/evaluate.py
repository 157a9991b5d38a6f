"""Evaluate one rule against the zone table, statistics and facilities (used by :mod:`.audit`).

Each ``evaluate_<kind>`` function returns audit rows (dicts with the keys of
:data:`COLUMNS`). A value that cannot be computed because a column, layer or table is
missing gives status ``not evaluable`` with ``missing`` naming it, never ``pass``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from geocover.schema import CODE_DIGITS, UNIT_CODE_DIGITS
from geocover.standards.facility_filter import filter_mask, flag, grade
from geocover.standards.schema import Rule

__all__ = ["flag", "grade"]

PASS, FAIL, NOT_EVALUABLE, NOT_SPECIFIED = "pass", "fail", "not evaluable", "not specified by this plan"
BASELINE, OPTION, CANDIDATE = "baseline", "option", "candidate"
ABOVE_GUIDELINE = "above guideline: no new beds"
COLUMNS = (
    "rule_id", "kind", "measure", "unit_level", "unit_id", "unit_name", "value", "target", "target_max",
    "direction", "status", "missing", "to_add", "to_add_unit", "rank", "approximately", "conflicts_with",
    "origin", "note", "note_zh", "quote_zh", "seed_line", "section", "target_year", "binding", "baseline",
)
_STREET = ("街道", "街道办事处", "街道办", "街办")
_COMMUNITY = ("社区", "居委会", "居民委员会")
_OWNERS = {
    "government": {"government", "政府办", "政府举办", "公办"},
    "public": {"public", "government", "公立", "政府办", "政府举办", "公办", "国有", "集体"},
    "private": {"private", "民营", "社会办", "私立", "个体", "非公立"},
}


@dataclass
class Context:
    """Inputs shared by the evaluators."""

    zones: pd.DataFrame
    statistics: dict[str, pd.Series]
    facilities: pd.DataFrame | None
    travel_mode: str | None
    reach_tiers: frozenset[str] | None
    radius_measure: str | None
    radius_tiers: frozenset[str] | None = None
    reach_filter: str | None = None


def key(value: Any) -> str:
    """A zone id as text: ``140105001000.0`` and ``140105001000`` both give ``"140105001000"``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def number(record: Any, column: str) -> float | None:
    """``record[column]`` as a float; ``None`` when absent, blank or not a number."""
    if record is None or column not in record.index:
        return None
    value = record[column]
    if isinstance(value, str):
        value = value.replace(",", "").strip()
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(result) else result


def row(rule: Rule | None, **fields: Any) -> dict[str, Any]:
    """An audit row; rule fields fill the identity columns."""
    base: dict[str, Any] = dict.fromkeys(COLUMNS)
    if rule is not None:
        base.update(
            rule_id=rule.uid, kind=rule.kind, direction=rule.direction, approximately=rule.approximately,
            conflicts_with=", ".join(rule.conflicts_with) or None, origin=rule.origin, note_zh=rule.note_zh,
            quote_zh=rule.quote_zh,
            seed_line=rule.source.line, section=rule.source.section, target_year=rule.target_year,
            binding={True: "约束性", False: "预期性"}.get(rule.binding), baseline=rule.baseline,
        )
    base.update(fields)
    notes = [n for n in ([*_rule_notes(rule)] if rule else []) + [fields.get("note")] if n]
    if rule is not None and base["status"] in (PASS, FAIL):
        base["status"], reading = _reading(rule, base)
        notes += [reading] if reading else []
    base["note"] = "; ".join(notes) or None
    return base


def _reading(rule: Rule, base: dict[str, Any]) -> tuple[str, str | None]:
    """The status as the plan means it: a baseline claim, an option (可), a priority list, a guideline."""
    met = base["status"] == PASS
    if rule.baseline_claim:
        return BASELINE, "the claim holds in the data" if met else "the claim does not hold in the data"
    if rule.obligation == "option":
        return OPTION, "the option is taken" if met else "the option is not taken (the plan says 可: may)"
    if rule.obligation == "priority" and not met:
        return CANDIDATE, "a priority candidate (优先支持), not an obligation"
    value, target = base.get("value"), base.get("target")
    if rule.guideline and met and rule.direction == "at_least" and value is not None and target is not None and (
        value > target * (1 + 1e-9)
    ):
        return ABOVE_GUIDELINE, f"{value:.2f} is above the guideline {target:g}: the plan adds no new beds here"
    return base["status"], None


def _rule_notes(rule: Rule) -> Iterator[str]:
    if rule.baseline_claim:
        yield "baseline claim of the plan, not a target"
    if rule.approximately:
        yield "the plan's target is approximate (左右)"
    if rule.conflicts_with:
        yield f"conflicting target in this plan: {', '.join(rule.conflicts_with)}"
    if rule.note:
        yield rule.note


def unit_fields(level: str, unit: pd.Series) -> dict[str, Any]:
    """The unit columns of an audit row for zone ``unit`` audited at ``level``."""
    return {"unit_level": level, "unit_id": key(unit["zone_id"]), "unit_name": unit.get("zone_name")}


def level_mask(zones: pd.DataFrame, level: str) -> pd.Series:
    """Zones of a rule's unit level; 乡级 and 村级 zone levels are split by name (街道, 社区)."""
    lvl = zones["zone_level"].astype(str).str.strip().str.lower()
    name = zones["zone_name"].fillna("").astype(str).str.strip()
    street, community = name.str.endswith(_STREET), name.str.endswith(_COMMUNITY)
    masks = {
        "township": (lvl == "township") & ~street,
        "street": (lvl == "street") | ((lvl == "township") & street),
        "township_or_street": lvl.isin(["township", "street"]),
        "village": (lvl == "village") & ~community,
        "community": (lvl == "community") | ((lvl == "village") & community),
        "village_or_community": lvl.isin(["village", "community"]),
    }
    return masks.get(level, lvl == level)


def select_units(rule: Rule, ctx: Context, out: list[dict], area_filter: bool = True,
                 measure: str | None = None) -> list[tuple[str, pd.Series]]:
    """Units a rule applies to, as (level, zone row); problems go to ``out`` as not-evaluable rows, each with the
    rule's ``measure`` (the indicator the audit table shows)."""
    start = len(out)
    picked = _select_units(rule, ctx, out, area_filter)
    for entry in out[start:]:
        entry["measure"] = entry["measure"] or measure
    return picked


def _select_units(rule: Rule, ctx: Context, out: list[dict], area_filter: bool) -> list[tuple[str, pd.Series]]:
    zones = ctx.zones
    absent = [c for c in ("zone_level", "zone_id", "zone_name") if c not in zones.columns]
    if absent:
        out.append(row(rule, status=NOT_EVALUABLE, missing=", ".join(f"zones.{c}" for c in absent)))
        return []
    picked: list[tuple[str, pd.Series]] = []
    for level in rule.scope.unit_levels or [None]:
        chosen = zones if level is None else zones[level_mask(zones, level)]
        if chosen.empty:
            missing = f"zones at level '{level}'" if level else "zones (the zone table is empty)"
            out.append(row(rule, unit_level=level, status=NOT_EVALUABLE, missing=missing))
        picked += [(level or str(unit["zone_level"]), unit) for _, unit in chosen.iterrows()]
    if rule.scope.units:
        wanted = {_bare(u) for u in rule.scope.units}
        found = {_bare(unit["zone_name"]) for _, unit in picked} | {_bare(unit["zone_id"]) for _, unit in picked}
        picked = [(lv, u) for lv, u in picked if {_bare(u["zone_name"]), _bare(u["zone_id"])} & wanted]
        out += [row(rule, unit_name=u, status=NOT_EVALUABLE, missing=f"zone '{u}' at level "
                    f"{'/'.join(rule.scope.unit_levels)}") for u in rule.scope.units if _bare(u) not in found]
    if rule.scope.within:
        prefixes = {entry: _prefix(entry, zones) for entry in rule.scope.within}
        picked = [(lv, u) for lv, u in picked if any(p and key(u["zone_id"]).startswith(p) for p in prefixes.values())]
        out += [row(rule, unit_name=entry, status=NOT_EVALUABLE, missing=f"zone '{entry}' (scope.within): give its "
                    "code prefix or add the zone") for entry, prefix in prefixes.items() if prefix is None]
    if not area_filter or rule.scope.area == "all":
        return picked
    kept = []
    for level, unit in picked:
        area = str(unit.get("urban_rural", "")).strip().lower() if pd.notna(unit.get("urban_rural")) else ""
        if area not in ("urban", "rural"):
            out.append(row(rule, **unit_fields(level, unit), status=NOT_EVALUABLE, missing="zones.urban_rural"))
        elif area == rule.scope.area:
            kept.append((level, unit))
    return kept


def _prefix(entry: str, zones: pd.DataFrame) -> str | None:
    """The code prefix of an enclosing unit: the digits given, or the code of the zone so named cut to its level."""
    if entry.isdigit():
        return entry
    for _, zone in zones[zones["zone_name"].map(_bare) == _bare(entry)].iterrows():
        digits = CODE_DIGITS.get(str(zone["zone_level"]).strip().lower())
        code = _code(zone["zone_id"], digits) if digits else None
        if code:
            return code
    return None


def _bare(name: Any) -> str:
    text = key(name)
    return text[:-1] if len(text) > 2 and text[-1] in "省市县区镇乡" else text


def population(ctx: Context, unit: pd.Series) -> tuple[float | None, str]:
    """Residents of a unit: statistics ``population`` (常住人口) first, else the zone table's."""
    record = ctx.statistics.get(key(unit["zone_id"]))
    value = number(record, "population")
    if value is not None:
        base = record.get("population_base")
        return value, _stats_source(record) + (f", {base}" if isinstance(base, str) and base else "")
    return number(unit, "population"), "zone table"


def count_value(ctx: Context, unit: pd.Series, column: str) -> tuple[float | None, str]:
    """A statistics column of a unit, else the zone table column of the same name."""
    record = ctx.statistics.get(key(unit["zone_id"]))
    value = number(record, column)
    return (value, _stats_source(record)) if value is not None else (number(unit, column), "zone table")


def _stats_source(record: pd.Series) -> str:
    year = number(record, "year")
    return f"statistics of {year:g}" if year is not None else "statistics"


def meets(value: float, target: float, direction: str, strict: bool) -> bool:
    """Whether ``value`` is on the right side of ``target``.

    A relative tolerance of 1e-9 absorbs float noise: 7230 beds per 1,000,000 people is 7.23
    per 1,000, which is at most 7.23 but not below it.
    """
    slack = 1e-9 * max(1.0, abs(target))
    if direction == "at_most":
        return value < target - slack if strict else value <= target + slack
    return value > target + slack if strict else value >= target - slack


def ceil_count(value: float) -> int:
    """Round a count up, ignoring float noise (3.0000000001 gives 3)."""
    return math.ceil(round(value, 9))


def filter_facilities(rule: Rule, facilities: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Facilities of the rule's tiers, ownership, grade and ``where`` values; or the missing columns."""
    params = rule.params
    needed = ["tier"] + ["ownership"] * (rule.scope.ownership != "any")
    needed += [params.attribute] if hasattr(params, "attribute") else []
    missing = [f"facilities.{c}" for c in needed if c not in facilities.columns]
    keep, absent = filter_mask(facilities, rule.scope.tiers, getattr(params, "min_grade", None),
                               getattr(params, "where", {}))
    missing += [m for m in absent if m not in missing]
    if missing:
        return facilities.iloc[0:0], missing
    if rule.scope.ownership != "any":
        owners = _OWNERS[rule.scope.ownership]
        keep &= facilities["ownership"].astype(str).str.strip().str.lower().isin(owners)
    return facilities[keep], []


def facility_units(ctx: Context, facilities: pd.DataFrame, level: str) -> pd.Series | None:
    """Zone id (as :func:`key`) of each facility at ``level``, or ``None`` when it cannot be told.

    Uses the facilities' 12-digit ``township_code`` (统计用区划代码) when present: its first 2/4/6/9
    digits are the province/city/county/township codes, matched against the zones' ``zone_id``
    (9- or 12-digit codes); at village level the 12-digit ``village_code``; else a spatial join
    when zones and facilities have geometries.
    """
    zones = ctx.zones[level_mask(ctx.zones, level)]
    digits = UNIT_CODE_DIGITS.get(level)
    column = "village_code" if digits == 12 else "township_code"
    if digits and column in facilities.columns:
        lookup = {_code(z, digits): key(z) for z in zones["zone_id"] if _code(z, digits)}
        return facilities[column].map(lambda c: lookup.get(_code(c, digits)))
    if "geometry" in zones.columns and "geometry" in facilities.columns and hasattr(facilities, "sjoin"):
        import geopandas as gpd

        polygons = gpd.GeoDataFrame(zones[["zone_id", "geometry"]], geometry="geometry", crs=getattr(
            ctx.zones, "crs", None))
        points = facilities.to_crs(polygons.crs) if polygons.crs and facilities.crs else facilities
        joined = gpd.sjoin(points[["geometry"]], polygons, predicate="within", how="left")
        joined = joined[~joined.index.duplicated(keep="last")]
        return joined["zone_id"].map(lambda z: key(z) if pd.notna(z) else None).reindex(facilities.index)
    return None


def _code(value: Any, digits: int) -> str | None:
    text = re.sub(r"\D", "", key(value))
    return text[:digits] if len(text) >= digits else None


Evaluator = Callable[[Rule, Context], list[dict]]
