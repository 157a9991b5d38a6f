"""Evaluate the rules about reach (used by :mod:`.audit`): travel time, ambulance radius and response time.

Rows as :mod:`.evaluate` makes them; a travel-time rule is evaluated only on travel times to exactly
its facilities (tiers, grade, ``where``, names: :mod:`.facility_filter`) and by its mode.
"""

from __future__ import annotations

import pandas as pd

from geocover.schema import band_label
from geocover.standards.evaluate import (
    FAIL,
    NOT_EVALUABLE,
    PASS,
    Context,
    ceil_count,
    meets,
    number,
    row,
    select_units,
    unit_fields,
)
from geocover.standards.facility_filter import describe_filter
from geocover.standards.schema import Rule


def _reach_missing(rule: Rule, ctx: Context) -> tuple[str | None, str | None]:
    """(missing, note) about the facilities the zone table's travel times were computed to."""
    tiers = set(rule.scope.tiers)
    narrowed = _narrowed(rule)
    if narrowed != ctx.reach_filter:
        if narrowed:
            return f"travel times to {narrowed} only (configure a service with exactly these facilities)", None
        return f"travel times to every facility of the tiers (the zone table's reach {ctx.reach_filter} only)", None
    if not tiers:
        return None, None
    if ctx.reach_tiers is None:
        return f"tiers the travel times were computed to (rule: {', '.join(sorted(tiers))})", None
    extra = ctx.reach_tiers - tiers
    if extra:
        return (f"travel times to {', '.join(sorted(tiers))} only (the zone table's also reach "
                f"{', '.join(sorted(extra))})"), None
    fewer = tiers - ctx.reach_tiers
    return None, (f"travel times reach {', '.join(sorted(ctx.reach_tiers))} only, not "
                  f"{', '.join(sorted(fewer))}: coverage may be understated") if fewer else None


def _narrowed(rule: Rule) -> str | None:
    """The facilities a travel-time rule narrows its tiers to (grade, column values, names), in words."""
    p = rule.params
    return describe_filter(getattr(p, "min_grade", None), getattr(p, "where", {}), getattr(p, "facility_names", []))


def _mode_missing(rule: Rule, ctx: Context) -> tuple[str | None, str]:
    mode = rule.params.mode
    if mode == "unspecified":
        return None, f"the plan sets no travel mode; the zone table is by {ctx.travel_mode or 'an unstated mode'}"
    if ctx.travel_mode != mode:
        return f"travel times by {mode} (zone table: {ctx.travel_mode or 'mode not stated'})", ""
    return None, ""


def _area_counts(unit: pd.Series, area: str, m: str) -> tuple[float, float] | None:
    """(people of ``area`` within the band, people of ``area``) from the per-cell urban counts; None when absent."""
    urban, urban_within = number(unit, "pop_urban"), number(unit, f"pop_urban_within_{m}")
    if urban is None or urban_within is None:
        return None
    if area == "urban":
        return urban_within, urban
    people, within = number(unit, "population"), number(unit, f"pop_within_{m}")
    return None if people is None or within is None else (within - urban_within, people - urban)


def evaluate_travel_time(rule: Rule, ctx: Context) -> list[dict]:
    """Share of residents within ``minutes``: ``pct_within_<m>`` (or ``pop_within_<m>``/``population``).

    A rule limited to urban (rural) areas counts the urban (rural) people of every unit, cell by cell
    (``pop_urban_within_<m>`` / ``pop_urban``), when the zone table has them; otherwise only the zones
    that are urban (rural) as a whole. Either way the rule gets at least one row.
    """
    out: list[dict] = []
    p, m, area = rule.params, band_label(rule.params.minutes), rule.scope.area
    reach, reach_note = _reach_missing(rule, ctx)
    mode, mode_note = _mode_missing(rule, ctx)
    per_cell = area != "all" and {"pop_urban", f"pop_urban_within_{m}"} <= set(ctx.zones.columns)
    measure = f"% of {'residents' if area == 'all' else area + ' residents'} within {p.minutes:g} min"
    for level, unit in select_units(rule, ctx, out, area_filter=not per_cell, measure=measure):
        fields = {**unit_fields(level, unit), "measure": measure, "target": p.target_pct}
        pct, within, pop = number(unit, f"pct_within_{m}"), number(unit, f"pop_within_{m}"), number(unit, "population")
        counts = _area_counts(unit, area, m) if per_cell else None
        if counts is not None:
            within, pop = counts
            if pop == 0:
                continue
            pct = 100.0 * within / pop
        elif pct is None and within is not None and pop:
            pct = 100.0 * within / pop
        if reach or mode or pct is None or (per_cell and counts is None):
            missing = reach or mode or (f"zones.pop_urban_within_{m}" if per_cell else
                                        f"zones.pct_within_{m} (or pop_within_{m} and population)")
            out.append(row(rule, **fields, status=NOT_EVALUABLE, missing=missing))
            continue
        if within is None and pop is not None:
            within = pct / 100.0 * pop
        to_add = max(0, ceil_count(p.target_pct / 100.0 * pop - within)) if pop is not None else None
        out.append(row(rule, **fields, value=pct, status=PASS if meets(pct, p.target_pct, "at_least", rule.strict)
                       else FAIL, to_add=to_add, to_add_unit=f"{'' if area == 'all' else area + ' '}residents to "
                       "bring within reach", note="; ".join(n for n in (mode_note, reach_note) if n)))
    if not out:
        missing = (f"{area} residents (no cell of the units is {area})" if per_cell else
                   f"{area} zones (no zone is {area} as a whole, and no per-cell counts zones.pop_urban_within_{m})")
        out.append(row(rule, measure=measure, target=p.target_pct, status=NOT_EVALUABLE, missing=missing))
    return out


def evaluate_radius(rule: Rule, ctx: Context) -> list[dict]:
    """Share of urban/rural residents within the radius: ``pop_within_radius_<area>_<km>km`` / ``pop_<area>``."""
    out: list[dict] = []
    p, area = rule.params, rule.scope.area
    km = p.km_max or p.km
    column, total_column = f"pop_within_radius_{area}_{km:g}km", f"pop_{area}"
    measured = None if p.measure == "unspecified" or ctx.radius_measure == p.measure else (
        f"{p.measure} distances (zone table: {ctx.radius_measure or 'not stated'})")
    measure = f"% of {area} residents within {p.km:g}" + (f"–{p.km_max:g}" if p.km_max else "") + " km"
    tiers, reach = set(rule.scope.tiers), ctx.radius_tiers
    if tiers and reach is not None and set(reach) != tiers:
        measured = measured or (f"radii from {', '.join(sorted(tiers))} (the zone table's are from "
                                f"{', '.join(sorted(reach)) or 'no tier'})")
    for level, unit in select_units(rule, ctx, out, area_filter=False, measure=measure):
        fields = {**unit_fields(level, unit), "measure": measure, "target": p.target_pct}
        within, total = number(unit, column), number(unit, total_column)
        if total == 0:
            continue
        if measured or within is None or total is None:
            absent = [f"zones.{c}" for c, v in ((column, within), (total_column, total)) if v is None]
            out.append(row(rule, **fields, status=NOT_EVALUABLE, missing=measured or ", ".join(absent)))
            continue
        pct = 100.0 * within / total
        note = "the plan does not say straight-line or network distance" if p.measure == "unspecified" else None
        if p.km_max:
            strict_within = number(unit, f"pop_within_radius_{area}_{p.km:g}km")
            reading = f"{100.0 * strict_within / total:.1f}%" if strict_within is not None else "not in zone table"
            note = "; ".join(n for n in (note, f"checked at the range's outer {km:g} km; within {p.km:g} km: "
                                               f"{reading}") if n)
        out.append(row(rule, **fields, value=pct, status=PASS if meets(pct, p.target_pct, "at_least", False)
                       else FAIL, to_add=max(0, ceil_count(p.target_pct / 100.0 * total - within)),
                       to_add_unit=f"{area} residents to bring within the radius", note=note))
    if not out:
        out.append(row(rule, measure=measure, target=p.target_pct, status=NOT_EVALUABLE,
                       missing=f"{area} residents (zones.{total_column} is 0 in every unit)"))
    return out


def evaluate_response_time(rule: Rule, ctx: Context) -> list[dict]:
    """``mean_minutes`` or ``p90_minutes`` of the zone table against ``minutes`` (at most)."""
    out: list[dict] = []
    p = rule.params
    column = f"{p.statistic}_minutes"
    reach, reach_note = _reach_missing(rule, ctx)
    measure = f"{p.statistic} travel minutes"
    for level, unit in select_units(rule, ctx, out, measure=measure):
        fields = {**unit_fields(level, unit), "measure": measure, "target": p.minutes}
        value = number(unit, column)
        if reach or value is None:
            out.append(row(rule, **fields, status=NOT_EVALUABLE, missing=reach or f"zones.{column}"))
            continue
        out.append(row(rule, **fields, value=value, status=PASS if meets(value, p.minutes, "at_most", rule.strict)
                       else FAIL, note=reach_note))
    return out
