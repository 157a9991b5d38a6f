"""The standards audit of a scenario: its plan's rules on its zone table, statistics and facilities.

Travel-time rules about particular tiers (community health stations within 15 minutes)
are evaluated on the service circle whose facilities are those tiers and whose mode is the
rule's, when the scenario configures one; otherwise on the main analysis, which the audit
reports as not evaluable when it reaches other tiers too.
"""

from __future__ import annotations

import pandas as pd

from geocover.config import ServiceConfig, StandardsConfig
from geocover.pipeline import ScenarioResult
from geocover.schema import service_column
from geocover.standards import audit, load_plan, load_preset, resolve_rules
from geocover.standards.facility_filter import describe_filter
from geocover.standards.parent_audit import side_by_side
from geocover.standards.plan_file import Plan, PlanInfo
from geocover.standards.schema import Rule
from geocover.standards.village_audit import VILLAGE_LEVELS, exempt, village_statistics, village_units


def scenario_plan(standards: StandardsConfig) -> Plan:
    """The plan a scenario's ``standards:`` section names (a preset or a plan file)."""
    return load_preset(standards.plan) if standards.plan else load_plan(standards.path)


def scenario_rules(result: ScenarioResult) -> list[Rule]:
    """The rules of the scenario's plan, with its overrides and additions."""
    standards = result.config.standards
    return resolve_rules(scenario_plan(standards), standards.add, standards.override, where=str(result.config.source))


def _view(result: ScenarioResult, service: ServiceConfig | None) -> tuple[pd.DataFrame, list[str], str]:
    """The zone table as the audit reads it, for the main analysis or one service circle."""
    table = result.table.copy()
    if service is not None:
        prefix = service_column(service.name, "")
        own = {c: c.removeprefix(prefix) for c in table.columns if c.startswith(prefix)}
        table = table.drop(columns=[c for c in own.values() if c in table.columns and c != "population"])
        table = table.rename(columns=own)
        tiers = list(service.tiers or result.facilities["tier"].dropna().unique())
        mode = service.mode
    else:
        tiers = sorted(result.facilities["tier"].dropna().unique())
        mode = result.config.mode
    table["zone_level"] = table["zone_level"].replace(result.config.standards.levels)
    if result.config.ambulance is not None and result.config.ambulance.measure == "road":
        road = [c for c in table.columns if c.startswith("pop_within_road_radius_")]
        table = table.drop(columns=[c.replace("_road_", "_") for c in road], errors="ignore")
        table = table.rename(columns={c: c.replace("_road_", "_") for c in road})
    return table, tiers, mode


def service_filter(service: ServiceConfig | None) -> str | None:
    """A service's narrowing of its tiers (grade, ``where``, names, ids) in words; None for none."""
    if service is None:
        return None
    return describe_filter(service.min_grade, service.where, service.facility_names, service.facility_ids)


def _service_for(rule: Rule, result: ScenarioResult) -> ServiceConfig | None:
    """The configured service whose facilities are the rule's: its tiers among the rule's, the same
    narrowing (grade, ``where``, names) and the rule's mode."""
    tiers = set(rule.scope.tiers)
    if rule.kind != "travel_time":
        return None
    p = rule.params
    narrowed = describe_filter(p.min_grade, p.where, p.facility_names)
    if not tiers and narrowed is None:
        return None
    for service in result.config.services:
        same_tiers = set(service.tiers or ()) <= tiers if tiers else not service.tiers
        if same_tiers and (service.tiers or narrowed) and service_filter(service) == narrowed and (
            p.mode in ("unspecified", service.mode)
        ):
            return service
    return None


def scenario_audit(
    result: ScenarioResult, rules: list[Rule] | None = None, parent_plan: str | None = None
) -> pd.DataFrame | None:
    """Evaluate the scenario's standards; None when the config names no plan.

    Parameters
    ----------
    result : ScenarioResult
    rules : list of Rule, optional
        :func:`scenario_rules` of the result, when already read (the planning workspace audits each edit).
    parent_plan : str, optional
        A preset of the plan above (``standards.parent_plan`` when omitted): its rules are evaluated on
        the same data and each row gains the parent's target and verdict
        (:func:`geocover.standards.parent_audit.side_by_side`).

    Returns
    -------
    pandas.DataFrame or None
        One row per (rule, unit), see :func:`geocover.standards.audit`.
    """
    if result.config.standards is None:
        return None
    rules = scenario_rules(result) if rules is None else rules
    info = scenario_plan(result.config.standards).plan
    table = _audit_rules(result, rules, info)
    unspecified = audit(rules, result.table.iloc[:0], None, None, report_unspecified=True)
    table = pd.concat([p for p in (table, unspecified[unspecified["rule_id"].isna()]) if not p.empty],
                      ignore_index=True)
    parent_plan = parent_plan or result.config.standards.parent_plan
    if parent_plan is None:
        return table
    parent = load_preset(parent_plan)
    return side_by_side(table, _audit_rules(result, parent.rules, parent.plan), rules, parent.rules, parent_plan)


def _audit_rules(result: ScenarioResult, rules: list[Rule], info: PlanInfo) -> pd.DataFrame:
    """The audit rows of ``rules``, each travel-time rule on the service circle of its facilities."""
    villages = result.tables.get("villages.csv")
    statistics = result.statistics.reset_index() if result.statistics is not None else None
    statistics = village_statistics(statistics, villages)
    groups: dict[str | None, list[Rule]] = {}
    for rule in rules:
        service = _service_for(rule, result)
        groups.setdefault(service.name if service else None, []).append(rule)
    services = {s.name: s for s in result.config.services}
    parts = []
    for name, group in groups.items():
        service = services.get(name)
        table, tiers, mode = _view(result, service)
        measure = result.config.ambulance.measure if result.config.ambulance is not None else None
        radius = {"straight": "straight", "road": "network"}.get(measure)
        on_villages = [r for r in group if set(r.scope.unit_levels) & set(VILLAGE_LEVELS)]
        for chosen, zones in (([r for r in group if r not in on_villages], table),
                              (on_villages, village_units(table, villages))):
            if chosen:
                parts.append(audit(chosen, zones, statistics, result.facilities, travel_mode=mode,
                                   reach_tiers=tiers, radius_measure=radius, report_unspecified=False, plan_info=info,
                                   radius_tiers=result.config.ambulance.tiers if result.config.ambulance else None,
                                   reach_filter=service_filter(service)))
    if not parts:
        return audit([], result.table.iloc[:0], report_unspecified=False)
    return exempt(pd.concat(parts, ignore_index=True), rules, villages)
