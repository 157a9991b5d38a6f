"""A plan audited against the plan above it: each measure both set, stricter, looser, equal or different.

A city or county plan must not set looser targets than its provincial plan. Ratio rules are
matched by numerator; a parent rule applies to the child's jurisdiction when it names no
units or names the child's (Shanxi Table 3 names each city), the named one first. Targets are
compared per the same number of residents (Shanxi's 1 ambulance per 30,000 is 0.333 per
10,000).
"""

from __future__ import annotations

import pandas as pd

from geocover.standards.plan_file import Plan
from geocover.standards.schema import Rule

STRICTER, LOOSER, EQUAL, DIFFERENT = "stricter", "looser", "equal", "different measure"
CONFLICT_COLUMNS = (
    "measure", "unit_level", "rule_id", "target", "direction", "target_year", "quote_zh", "parent_plan",
    "parent_rule_id", "parent_target", "parent_direction", "parent_target_year", "parent_quote_zh", "comparison",
)


def _names(plan: Plan) -> set[str]:
    """The jurisdiction's names: 山西省太原市, 太原市 and 太原, and the English name."""
    info = plan.plan
    local = info.jurisdiction_zh.split("省", 1)[-1] or info.jurisdiction_zh
    return {info.jurisdiction_zh, local, local.removesuffix("市"), info.jurisdiction_en}


def _applies(rule: Rule, child: Plan) -> int:
    """2 when ``rule`` names the child's jurisdiction, 1 when it names no unit, 0 otherwise."""
    units = set(rule.scope.units)
    return 2 if units & _names(child) else 1 if not units else 0


def compare(child: float, child_direction: str, parent: float, parent_direction: str) -> str:
    """How a child target stands against the parent's, both per the same residents.

    A floor (at_least) is stricter when higher, a ceiling (at_most) when lower; a child ceiling
    below the parent's floor is looser (the child aims lower than the parent requires).
    """
    if abs(child - parent) <= 1e-9 * max(1.0, abs(parent)):
        return EQUAL if child_direction == parent_direction else DIFFERENT
    if child_direction == parent_direction == "at_least":
        return STRICTER if child > parent else LOOSER
    if child_direction == parent_direction == "at_most":
        return STRICTER if child < parent else LOOSER
    if child_direction == "at_most" and parent_direction == "at_least" and child < parent:
        return LOOSER
    return DIFFERENT


def plan_conflicts(child: Plan, parent: Plan) -> pd.DataFrame:
    """Each ratio measure both plans set, with both targets and quotes and the comparison.

    Parameters
    ----------
    child : Plan
        The city or county plan audited.
    parent : Plan
        The plan above it (the provincial plan).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CONFLICT_COLUMNS`; targets per the child's ``per`` residents.
    """
    rows = []
    for rule in child.rules:
        if rule.kind != "ratio_per_population" or rule.baseline_claim:
            continue
        p = rule.params
        matches = [(r, _applies(r, child)) for r in parent.rules if r.kind == "ratio_per_population"
                   and r.params.numerator == p.numerator and not r.baseline_claim]
        best = max((score for _, score in matches), default=0)
        for other, score in matches:
            if score == 0 or score < best:
                continue
            q = other.params
            upper = rule.direction == "range"
            child_target, parent_target = p.target_max if upper else p.target, q.target * p.per / q.per
            rows.append({
                "measure": f"{p.numerator} per {p.per:,} residents", "unit_level": child.plan.jurisdiction_level,
                "rule_id": rule.uid, "target": child_target, "direction": rule.direction,
                "target_year": rule.target_year, "quote_zh": rule.quote_zh, "parent_plan": parent.plan.id,
                "parent_rule_id": other.uid, "parent_target": parent_target, "parent_direction": other.direction,
                "parent_target_year": other.target_year, "parent_quote_zh": other.quote_zh,
                "comparison": compare(p.target, "at_least" if upper else rule.direction, parent_target,
                                      "at_least" if other.direction == "range" else other.direction),
            })
    return pd.DataFrame(rows, columns=list(CONFLICT_COLUMNS))
