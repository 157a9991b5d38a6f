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
``note`` (``note_zh``: the rule's note in Chinese where the plan file gives one), and the provenance of
the rule: ``quote_zh`` (the plan's words), ``seed_line`` and
``section`` (where they stand in the plan text), ``target_year``, ``binding`` (约束性 /
预期性 where the plan says) and the plan's ``baseline``.
"""

from __future__ import annotations

import datetime
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from geocover.output_folder import give_user_mode
from geocover.render.tables import write_csv, write_workbook
from geocover.standards.evaluate import (
    COLUMNS,
    FAIL,
    NOT_EVALUABLE,
    NOT_SPECIFIED,
    PASS,
    Context,
    Evaluator,
    key,
    row,
)
from geocover.standards.plan_file import Plan, PlanInfo, rule_matches
from geocover.standards.reach_rules import evaluate_radius, evaluate_response_time, evaluate_travel_time
from geocover.standards.schema import Rule
from geocover.standards.unit_rules import evaluate_band, evaluate_one_per_unit, evaluate_ratio, evaluate_share

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
    reach_filter: str | None = None,
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
    reach_filter : str, optional
        The narrowing of the facilities the travel times were computed to, in the words of
        :func:`geocover.standards.facility_filter.describe_filter` (a service's grade, ``where``,
        names); a travel-time rule is evaluable only on travel times to exactly its facilities.
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
        reach_filter=reach_filter,
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
    conflicts: pd.DataFrame | None = None, lang: str = "en",
) -> None:
    """Write the audit as CSV (:func:`geocover.render.tables.write_csv`: UTF-8 with BOM, rounded) and optionally
    XLSX, its headers in ``lang`` (``"zh"``: Chinese with the column key kept).

    ``conflicts`` (:func:`geocover.standards.conflicts.plan_conflicts`) is written beside the
    audit as ``plan_conflicts.csv`` and as the sheet ``plan_conflicts`` of the XLSX.

    Each file is written to a temporary file beside it and moved into place only when every
    file is complete, so no half-written output is left behind.
    """
    targets = [(Path(path_csv), lambda p: write_csv(table, p))]
    if conflicts is not None:
        targets.append((Path(path_csv).with_name("plan_conflicts.csv"), lambda p: write_csv(conflicts, p)))
    if path_xlsx is not None:
        sheets = {"audit": table} | ({} if conflicts is None else {"plan_conflicts": conflicts})
        targets.append((Path(path_xlsx), lambda p: write_workbook(sheets, p, lang)))
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


EVALUATORS: dict[str, Evaluator] = {
    "travel_time": evaluate_travel_time,
    "radius": evaluate_radius,
    "response_time": evaluate_response_time,
    "one_per_unit": evaluate_one_per_unit,
    "ratio_per_population": evaluate_ratio,
    "count_by_population_band": evaluate_band,
    "share_with_attribute": evaluate_share,
}
