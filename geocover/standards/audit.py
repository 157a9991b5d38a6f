"""Compliance audit: every rule evaluated for every unit it applies to.

Inputs
------
Zone table (one row per zone, as :func:`geocover.analysis.zone_table.zone_table` and the rest of
geocover produce it; any absent column makes the rules that need it "not evaluable"):

- ``zone_level`` (province, city, county, township, street, village, community),
  ``zone_id`` (statistical division code where available), ``zone_name``, ``parent_id``,
  ``urban_rural`` (``urban``/``rural``);
- ``population`` (residents), ``pop_within_<m>`` and ``pct_within_<m>`` (people and % of
  residents within ``m`` minutes, e.g. ``pct_within_15``), ``pop_beyond_<target>``,
  ``pop_unreachable``, ``mean_minutes``, ``p90_minutes``;
- ``facilities`` and ``facilities_<tier>`` (counts; tiers ``township_health_centre``,
  ``central_township_health_centre``, ``community_health_centre``,
  ``community_health_station``, ``village_clinic``, ``hospital``, ``emergency_centre``,
  ``emergency_station``, ``other``);
- ``pop_urban``, ``pop_rural``, ``pop_within_radius_urban_5km``,
  ``pop_within_radius_rural_10km``, ``pop_within_radius_rural_20km`` (residents within the
  ambulance radius, ``pop_within_radius_<area>_<km>km`` in general);
- ``is_county_seat`` (bool) and ``minutes_to_county_seat``.

Statistics table (optional, one row per unit keyed by ``zone_id``; with a ``year`` column
the latest year of each unit is used): ``population`` (常住人口, preferred over the zone
table's), ``beds``, ``doctors`` (执业(助理)医师), ``nurses``, ``gps`` (全科医生),
``ambulances``, ``infectious_beds``, and for the other ratio rules ``public_health_staff``,
``pharmacists``, ``psychiatric_beds``, ``public_tcm_beds``, ``tcm_doctors``,
``childcare_places``, ``family_doctors``, ``psychiatrists``, ``health_inspectors``,
``health_education_staff``, ``village_doctors``, ``tertiary_general_hospitals``,
``beds_city_public``, ``beds_county_grassroots``, ``beds_other_public`` (read from the Chinese
yearbook headers by :func:`geocover.io.statistics.read_statistics`, which also passes any other
numeric column through for custom rules); ``population_base`` (常住人口 / 户籍人口) is named in
the note of every ratio row.

Facilities (optional GeoDataFrame or DataFrame): ``tier``; ``township_code`` (12-digit
code of the facility's township, used to place it in province/city/county/township units
when the zone table has no per-tier counts; ``village_code`` likewise at village level;
else geometries of zones and facilities); ``ownership`` (government/public/private or
政府办/公立/民营…); ``grade`` (1–3 or 一级/二级/三级甲等); ``hospital_type`` (general,
tcm…); and the boolean attribute columns the rules name (``has_tcm_hall`` …; true/false,
1/0, 是/否, 有/无).

Output
------
One row per (rule, unit): ``rule_id``, ``kind``, ``measure`` (what ``value`` is),
``unit_level``, ``unit_id``, ``unit_name``, ``value``, ``target``, ``target_max``,
``direction``, ``status`` (``pass``, ``fail``, ``not evaluable``, ``not specified by this
plan``; as the plan means it: ``baseline`` for a status the plan claims, ``option`` for 可,
``candidate`` for a unit on a 优先支持 list, ``above guideline: no new beds`` for a guideline
already exceeded), ``missing`` (the missing column, layer or table), ``to_add`` (beds, ambulances,
doctors, facilities or residents to reach the target, rounded up; negative: excess over a
ceiling), ``to_add_unit``, ``rank`` (central township health centre candidates),
``approximately`` (左右), ``conflicts_with``, ``origin`` (plan, scenario, override),
``note``, and the provenance of the rule: ``quote_zh`` (the plan's words), ``seed_line`` and
``section`` (where they stand in the plan text), ``target_year``, ``binding`` (约束性 /
预期性 where the plan says) and the plan's ``baseline``.
"""

from __future__ import annotations

import datetime
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from geocover.output_folder import give_user_mode
from geocover.render.tables import write_workbook
from geocover.standards.evaluate import (
    COLUMNS,
    FAIL,
    NOT_EVALUABLE,
    NOT_SPECIFIED,
    PASS,
    Context,
    Evaluator,
    ceil_count,
    count_value,
    evaluate_radius,
    evaluate_response_time,
    evaluate_travel_time,
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
from geocover.standards.schema import Plan, PlanInfo, Rule, rule_matches

__all__ = ["CORE_CHECKS", "COLUMNS", "FAIL", "NOT_EVALUABLE", "NOT_SPECIFIED", "PASS", "audit", "write_audit"]

#: Standards every audit reports on: "not specified by this plan" when no rule covers them.
CORE_CHECKS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("travel-time service circle (e.g. 15 minutes)", "travel_time", {}),
    ("ambulance / emergency service radius", "radius", {}),
    ("emergency response time", "response_time", {}),
    ("ambulances per population", "ratio_per_population", {"numerator": "ambulances"}),
    ("beds per 1,000 residents", "ratio_per_population", {"numerator": "beds"}),
    ("doctors per 1,000 residents", "ratio_per_population", {"numerator": "doctors"}),
    ("nurses per 1,000 residents", "ratio_per_population", {"numerator": "nurses"}),
    ("general practitioners per 10,000 residents", "ratio_per_population", {"numerator": "gps"}),
    ("a township health centre in every township", "one_per_unit", {"tier": "township_health_centre"}),
)


def audit(
    rules: Plan | Sequence[Rule],
    zones: pd.DataFrame,
    statistics: pd.DataFrame | None = None,
    facilities: pd.DataFrame | None = None,
    *,
    travel_mode: str | None = None,
    reach_tiers: Sequence[str] | None = None,
    radius_measure: str | None = None,
    report_unspecified: bool = True,
    plan_info: PlanInfo | None = None,
    today: datetime.date | None = None,
    radius_tiers: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Evaluate every rule for every unit it applies to.

    Parameters
    ----------
    rules : Plan or sequence of Rule
        A plan, or the rules of :func:`~geocover.standards.plans.resolve_rules`.
    zones : pandas.DataFrame
        The zone table (see the module docstring).
    statistics : pandas.DataFrame, optional
        Per-unit statistics keyed by ``zone_id``.
    facilities : pandas.DataFrame or geopandas.GeoDataFrame, optional
        The facility layer, for attribute rules and counts by ``township_code``.
    travel_mode : str, optional
        Mode of the zone table's travel times (walk, cycle, drive).
    reach_tiers : sequence of str, optional
        Tiers the zone table's travel times were computed to; travel-time rules about
        particular tiers are not evaluable without it.
    radius_measure : str, optional
        ``straight`` or ``network``: how the ``pop_within_radius_*`` columns were measured.
    report_unspecified : bool
        Add a "not specified by this plan" row for each of :data:`CORE_CHECKS` no rule covers.
    radius_tiers : sequence of str, optional
        Tiers the ``pop_within_radius_*`` columns were measured from (the scenario's
        ``ambulance.tiers``); a radius rule about other tiers is not evaluable.
    plan_info : PlanInfo, optional
        The audited plan (taken from ``rules`` when a Plan): a plan whose period ended before
        ``today``'s year gets a warning in the note of every row.
    today : datetime.date, optional
        The date the warning is judged at; today by default.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`, one row per (rule, unit).
    """
    rule_list = list(rules.rules if isinstance(rules, Plan) else rules)
    ctx = Context(
        zones=zones.reset_index(drop=True),
        statistics=_statistics(statistics),
        facilities=facilities,
        travel_mode=travel_mode,
        reach_tiers=frozenset(reach_tiers) if reach_tiers is not None else None,
        radius_measure=radius_measure,
        radius_tiers=frozenset(radius_tiers) if radius_tiers is not None else None,
    )
    rows: list[dict] = []
    for rule in rule_list:
        if rule.kind in ("ratio_per_population", "count_by_population_band") and statistics is not None and (
            "zone_id" not in statistics.columns
        ):
            rows.append(row(rule, status=NOT_EVALUABLE, missing="statistics.zone_id"))
            continue
        rows += EVALUATORS[rule.kind](rule, ctx)
    if report_unspecified:
        rows += [
            row(None, kind=kind, measure=label, status=NOT_SPECIFIED, origin="plan",
                note=f"the plan sets no {label}; geocover does not borrow another plan's number "
                     "(add a rule under standards.add to check one)")
            for label, kind, filters in CORE_CHECKS
            if not any(rule_matches(r, kind, **filters) for r in rule_list)
        ]
    info = rules.plan if isinstance(rules, Plan) else plan_info
    year = (today or datetime.date.today()).year
    if info is not None and info.end_year < year:
        warning = (f"warning: the plan period {info.start_year}–{info.end_year} has ended; "
                   "its targets are those of a past plan")
        for entry in rows:
            if entry["rule_id"] is not None:
                entry["note"] = f"{entry['note']}; {warning}" if entry["note"] else warning
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    for column in ("to_add", "rank"):
        table[column] = table[column].astype("Int64")
    return table


def write_audit(
    table: pd.DataFrame, path_csv: str | Path, path_xlsx: str | Path | None = None,
    conflicts: pd.DataFrame | None = None,
) -> None:
    """Write the audit as CSV (UTF-8 with BOM, opens in Excel) and optionally XLSX.

    ``conflicts`` (:func:`geocover.standards.conflicts.plan_conflicts`) is written beside the
    audit as ``plan_conflicts.csv`` and as the sheet ``plan_conflicts`` of the XLSX.

    Each file is written to a temporary file beside it and moved into place only when every
    file is complete, so no half-written output is left behind.
    """
    targets = [(Path(path_csv), lambda p: table.to_csv(p, index=False, encoding="utf-8-sig"))]
    if conflicts is not None:
        targets.append((Path(path_csv).with_name("plan_conflicts.csv"),
                        lambda p: conflicts.to_csv(p, index=False, encoding="utf-8-sig")))
    if path_xlsx is not None:
        sheets = {"audit": table} | ({} if conflicts is None else {"plan_conflicts": conflicts})
        targets.append((Path(path_xlsx), lambda p: write_workbook(sheets, p)))
    written: list[tuple[str, Path]] = []
    try:
        for path, write in targets:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
            os.close(handle)
            give_user_mode(temporary)
            written.append((temporary, path))
            write(temporary)
        for temporary, path in written:
            os.replace(temporary, path)
    finally:
        for temporary, _ in written:
            if os.path.exists(temporary):
                os.remove(temporary)


def _statistics(statistics: pd.DataFrame | None) -> dict[str, pd.Series]:
    if statistics is None or "zone_id" not in statistics.columns:
        return {}
    table = statistics.sort_values("year", kind="stable") if "year" in statistics.columns else statistics
    return {key(record["zone_id"]): record for _, record in table.iterrows()}


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
    for level, unit in select_units(rule, ctx, out):
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
    for level, unit in select_units(rule, ctx, out):
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
    for level, unit in select_units(rule, ctx, out):
        fields = {**unit_fields(level, unit), "measure": f"{p.numerator} (by population band)"}
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
    """Share of the tiers' facilities whose ``attribute`` is true; blanks count both ways."""
    p = rule.params
    base = {"measure": f"% of {' / '.join(rule.scope.tiers)} with {p.attribute}", "target": p.target_pct}
    if ctx.facilities is None:
        return [row(rule, **base, status=NOT_EVALUABLE, missing="facilities layer")]
    chosen, missing = filter_facilities(rule, ctx.facilities)
    if missing:
        return [row(rule, **base, status=NOT_EVALUABLE, missing=", ".join(missing))]
    if not rule.scope.unit_levels:
        return [_share_row(rule, base | {"unit_name": "all facilities in the layer"}, chosen)]
    out: list[dict] = []
    placements: dict[str, pd.Series | None] = {}
    for level, unit in select_units(rule, ctx, out):
        if level not in placements:
            placements[level] = facility_units(ctx, chosen, level)
        placed = placements[level]
        fields = base | unit_fields(level, unit)
        if placed is None:
            out.append(row(rule, **fields, status=NOT_EVALUABLE, missing="facilities.township_code or village_code "
                           "(or geometries)"))
            continue
        out.append(_share_row(rule, fields, chosen[placed == key(unit["zone_id"])]))
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


EVALUATORS: dict[str, Evaluator] = {
    "travel_time": evaluate_travel_time,
    "radius": evaluate_radius,
    "response_time": evaluate_response_time,
    "one_per_unit": evaluate_one_per_unit,
    "ratio_per_population": evaluate_ratio,
    "count_by_population_band": evaluate_band,
    "share_with_attribute": evaluate_share,
}
