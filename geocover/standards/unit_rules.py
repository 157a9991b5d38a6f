"""Evaluate the rules that count per unit (used by :mod:`.audit`).

Facilities per unit (``one_per_unit``), a numerator per residents (``ratio_per_population``),
a count set by the unit's population band (``count_by_population_band``) and the share of
facilities with an attribute (``share_with_attribute``); rows as :mod:`.evaluate` makes them.
"""

from __future__ import annotations

import math

import pandas as pd

from geocover.standards.evaluate import (
    FAIL,
    NOT_EVALUABLE,
    PASS,
    Context,
    ceil_count,
    count_value,
    facility_units,
    filter_facilities,
    flag,
    key,
    meets,
    number,
    population,
    row,
    select_units,
    unit_fields,
)
from geocover.standards.schema import Rule


def evaluate_one_per_unit(rule: Rule, ctx: Context) -> list[dict]:  # noqa: C901 - one status per reading of the rule
    """Facilities of the rule's tiers per unit (townships without a township health centre…)."""
    out: list[dict] = []
    p, tiers = rule.params, rule.scope.tiers
    by_attribute = rule.scope.ownership != "any" or bool(p.where) or p.min_grade is not None
    measure = f"facilities ({' or '.join(tiers)})"
    candidates: list[dict] = []
    counts: dict[str, pd.Series | str] = {}
    layer = ctx.facilities
    absent = (f"the layer has no {' or '.join(tiers)} facilities" if layer is not None and "tier" in layer.columns
              and not layer["tier"].isin(tiers).any() else None)
    for level, unit in select_units(rule, ctx, out, measure=measure):
        fields = {**unit_fields(level, unit), "measure": measure, "target": p.min_count, "target_max": p.max_count}
        if p.min_population is not None:
            people, _ = population(ctx, unit)
            if people is None:
                out.append(row(rule, **fields, status=NOT_EVALUABLE, missing="population (statistics or zones)"))
                continue
            if people < p.min_population:
                continue
        if p.exclude_county_seat:
            seat = flag(unit.get("is_county_seat"))
            if seat is None:
                out.append(row(rule, **fields, status=NOT_EVALUABLE, missing="zones.is_county_seat"))
                continue
            if seat:
                continue
        count, missing, note = _facility_count(rule, ctx, level, unit, by_attribute, counts)
        if absent and rule.obligation == "priority":
            note = "; ".join(n for n in (note, f"{absent}: every qualifying unit is a candidate") if n)
        elif absent:
            count, missing = None, absent
        if count is None:
            out.append(row(rule, **fields, status=NOT_EVALUABLE, missing=missing))
            continue
        ok = count >= p.min_count and (p.max_count is None or count <= p.max_count)
        to_add = p.min_count - count if count < p.min_count else (p.max_count - count if not ok else 0)
        record = row(rule, **fields, value=count, status=PASS if ok else FAIL, to_add=to_add,
                     to_add_unit=" or ".join(tiers), note=note)
        out.append(record)
        candidates.append(record)
        record["_minutes"] = number(unit, p.rank_by) if p.rank_by else None
    if p.rank_by:
        ranked = sorted((r for r in candidates if r["_minutes"] is not None), key=lambda r: r["_minutes"],
                        reverse=p.rank_descending)
        for rank, record in enumerate(ranked, start=1):
            record["rank"] = rank
            record["note"] = "; ".join(n for n in (record["note"], f"{record['_minutes']:g} min to the county seat "
                                       f"(rank 1 = {'farthest' if p.rank_descending else 'nearest'})") if n)
        for record in candidates:
            if record["_minutes"] is None:
                record["note"] = "; ".join(n for n in (record["note"], "unranked: zones.minutes_to_county_seat "
                                                       "is missing") if n)
    for record in candidates:
        record.pop("_minutes")
    return out


def _facility_count(
    rule: Rule, ctx: Context, level: str, unit: pd.Series, by_attribute: bool, counts: dict[str, pd.Series | str]
) -> tuple[int | None, str | None, str | None]:
    """(count, missing, note) of a unit's facilities: zone-table counts, else the facility layer.

    An absent ``facilities_<tier>`` column is unknown, not zero: it only does not matter when
    the other tiers already reach ``min_count``. ``counts`` caches the facility layer's counts
    per level (or what is missing to get them).
    """
    tiers, p = rule.scope.tiers, rule.params
    if not by_attribute:
        values = {t: number(unit, f"facilities_{t}") for t in tiers}
        known = int(sum(v for v in values.values() if v is not None))
        unknown = [f"zones.facilities_{t}" for t, v in values.items() if v is None]
        if not unknown or (known >= p.min_count and p.max_count is None):
            return known, None, f"{', '.join(unknown)} absent: not needed to pass" if unknown else None
        if ctx.facilities is None:
            return None, ", ".join(unknown), None
    if level not in counts:
        counts[level] = _layer_counts(rule, ctx, level)
    found = counts[level]
    if isinstance(found, str):
        return None, found, None
    return int(found.get(key(unit["zone_id"]), 0)), None, "counted from the facility layer"


def _layer_counts(rule: Rule, ctx: Context, level: str) -> pd.Series | str:
    """Facilities of the rule per zone id at ``level``, or what is missing to count them."""
    if ctx.facilities is None:
        return "facilities layer (tier, ownership, grade or the where columns)"
    chosen, missing = filter_facilities(rule, ctx.facilities)
    if missing:
        return ", ".join(missing)
    placed = facility_units(ctx, chosen, level)
    if placed is None:
        return "facilities.township_code or village_code (or geometries of zones and facilities)"
    return placed.dropna().value_counts()


def evaluate_ratio(rule: Rule, ctx: Context) -> list[dict]:
    """Numerator per ``per`` residents; ``to_add`` = ceil(target × population / per) − numerator."""
    out: list[dict] = []
    p = rule.params
    measure = f"{p.numerator} per {p.per:,} residents"
    for level, unit in select_units(rule, ctx, out, measure=measure):
        fields = {**unit_fields(level, unit), "measure": measure, "target": p.target, "target_max": p.target_max}
        count, count_source = count_value(ctx, unit, p.numerator)
        people, people_source = population(ctx, unit)
        missing = [m for m, v in ((f"statistics.{p.numerator}", count), ("population (statistics or zones)",
                                                                         people)) if v is None]
        if missing or not people:
            out.append(row(rule, **fields, status=NOT_EVALUABLE, missing=", ".join(missing) or "population > 0"))
            continue
        value = count / people * p.per
        low_ok = rule.direction == "at_most" or meets(value, p.target, "at_least", rule.strict)
        high = p.target if rule.direction == "at_most" else p.target_max
        high_ok = high is None or meets(value, high, "at_most", rule.strict)
        to_add = 0
        if not low_ok:
            needed = p.target * people / p.per
            to_add = (math.floor(round(needed, 9)) + 1 if rule.strict else ceil_count(needed)) - math.floor(count)
        elif not high_ok:
            allowed = high * people / p.per
            to_add = (ceil_count(allowed) - 1 if rule.strict else math.floor(round(allowed, 9))) - math.ceil(count)
        note = f"{p.numerator} from the {count_source}; population from the {people_source}" + (
            "" if p.population == "resident" else f"; the plan counts {p.population} population")
        out.append(row(rule, **fields, value=value, status=PASS if low_ok and high_ok else FAIL, to_add=to_add,
                       to_add_unit=p.numerator, note=note))
    return out


def evaluate_band(rule: Rule, ctx: Context) -> list[dict]:
    """Numerator against the count set for the unit's population band (Linfen infectious beds)."""
    out: list[dict] = []
    p = rule.params
    measure = f"{p.numerator} (by population band)"
    for level, unit in select_units(rule, ctx, out, measure=measure):
        fields = {**unit_fields(level, unit), "measure": measure}
        count, _ = count_value(ctx, unit, p.numerator)
        people, people_source = population(ctx, unit)
        band = next((b for b in p.bands if people is not None and b.min_population <= people and (
            b.max_population is None or people < b.max_population)), None)
        if count is None or people is None or band is None:
            missing = (f"statistics.{p.numerator}" if count is None else "population (statistics or zones)"
                       if people is None else f"a population band for {people:,.0f}")
            out.append(row(rule, **fields, status=NOT_EVALUABLE, missing=missing))
            continue
        upper = f"{band.max_population:,.0f}" if band.max_population is not None else "and more"
        note = f"population {people:,.0f} ({people_source}) in band {band.min_population:,.0f}–{upper}"
        ok = meets(count, band.count, rule.direction, rule.strict)
        shortfall = band.count - count
        to_add = 0 if ok else ceil_count(shortfall) if rule.direction == "at_least" else math.floor(shortfall)
        out.append(row(rule, **fields, value=count, target=band.count, status=PASS if ok else FAIL, to_add=to_add,
                       to_add_unit=p.numerator, note=note))
    return out


def evaluate_share(rule: Rule, ctx: Context) -> list[dict]:
    """Share of the tiers' facilities whose ``attribute`` is true; blanks count both ways.

    A rule naming no unit level gets a row for all facilities of the layer, then one per unit of every
    zone level holding some of them (per township, county, city…).
    """
    p = rule.params
    base = {"measure": f"% of {' / '.join(rule.scope.tiers)} with {p.attribute}", "target": p.target_pct}
    if ctx.facilities is None:
        return [row(rule, **base, status=NOT_EVALUABLE, missing="facilities layer")]
    chosen, missing = filter_facilities(rule, ctx.facilities)
    if missing:
        return [row(rule, **base, status=NOT_EVALUABLE, missing=", ".join(missing))]
    implicit = not rule.scope.unit_levels
    whole = base | {"unit_name": "all facilities in the layer"}
    out: list[dict] = [_share_row(rule, whole, chosen)] if implicit else []
    placements: dict[str, pd.Series | None] = {}
    unplaced, empty = set(), 0
    for level, unit in select_units(rule, ctx, [] if implicit else out, measure=base["measure"]):
        if level not in placements:
            placements[level] = facility_units(ctx, chosen, level)
        placed = placements[level]
        fields = base | unit_fields(level, unit)
        if placed is None:
            unplaced.add(level)
            if not implicit:
                out.append(row(rule, **fields, status=NOT_EVALUABLE, missing="facilities.township_code or "
                               "village_code (or geometries)"))
            continue
        facilities = chosen[placed == key(unit["zone_id"])]
        if implicit and facilities.empty:
            empty += 1
            continue
        out.append(_share_row(rule, fields, facilities))
    if implicit:
        notes = [f"{empty} units hold none of these facilities"] * bool(empty) + [
            f"no rows per {', '.join(sorted(unplaced))}: facilities.township_code or village_code (or geometries) "
            "needed to place the facilities"] * bool(unplaced)
        out[0]["note"] = "; ".join(n for n in (out[0]["note"], *notes) if n) or None
    return out


def _share_row(rule: Rule, fields: dict, facilities: pd.DataFrame) -> dict:
    p = rule.params
    if facilities.empty:
        return row(rule, **fields, status=NOT_EVALUABLE, missing=f"facilities of tier {', '.join(rule.scope.tiers)}",
                   note="no facility of these tiers in the unit")
    flags = facilities[p.attribute].map(flag)
    total, true, blank = len(flags), int(flags.eq(True).sum()), int(flags.isna().sum())
    low, high = 100.0 * true / total, 100.0 * (true + blank) / total
    at_least = rule.direction == "at_least"
    if meets(low if at_least else high, p.target_pct, rule.direction, rule.strict):
        status = PASS
    elif not meets(high if at_least else low, p.target_pct, rule.direction, rule.strict):
        status = FAIL
    else:
        status = NOT_EVALUABLE
    note = f"{true} of {total} facilities" + (f"; {blank} blank (share {low:.1f}–{high:.1f}%)" if blank else "")
    to_add = max(0, ceil_count(p.target_pct / 100.0 * total) - true) if at_least else None
    return row(rule, **fields, value=low, status=status, to_add=to_add, to_add_unit=f"facilities to give {p.attribute}",
               missing=f"facilities.{p.attribute} for {blank} facilities" if status == NOT_EVALUABLE else None,
               note=note)
