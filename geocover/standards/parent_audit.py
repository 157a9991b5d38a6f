"""Each unit against both plans side by side: the plan's own target and verdict and the parent plan's.

A city plan's audit (Taiyuan) gains, per unit and measure, the target and verdict of the plan
above it (Shanxi) evaluated on the same data. Rows match by unit and measure: ratio rules by
numerator, their targets restated per the child's number of residents (Shanxi's 1 ambulance per
30,000 is 0.333 per 10,000 next to Taiyuan's per-10,000 target); other rules by the measure they
report (``% of residents within 15 min``). A measure only the parent sets gets a row of its own
whose own status is "not specified by this plan".
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from geocover.standards.evaluate import FAIL, NOT_SPECIFIED, PASS, row
from geocover.standards.schema import Rule

PARENT_COLUMNS = ("parent_plan", "parent_rule_id", "parent_target", "parent_status", "parent_note")


def _keys(table: pd.DataFrame, rules: dict[str, Rule]) -> pd.Series:
    """Match key of each audit row: (unit_id, numerator) for ratios, (unit_id, kind, measure) otherwise."""
    def one(entry: pd.Series) -> tuple | None:
        rule = rules.get(entry["rule_id"])
        if rule is None or entry["unit_id"] is None or pd.isna(entry["unit_id"]):
            return None
        if rule.kind == "ratio_per_population":
            return str(entry["unit_id"]), "ratio", rule.params.numerator
        return str(entry["unit_id"]), rule.kind, entry["measure"]
    return table.apply(one, axis=1) if len(table) else pd.Series(dtype=object)


def _per(rule: Rule | None) -> float | None:
    return float(rule.params.per) if rule is not None and rule.kind == "ratio_per_population" else None


def side_by_side(
    child: pd.DataFrame, parent: pd.DataFrame, child_rules: Sequence[Rule], parent_rules: Sequence[Rule],
    parent_plan: str,
) -> pd.DataFrame:
    """The child's audit with the parent's target and verdict per unit and measure.

    Parameters
    ----------
    child, parent : pandas.DataFrame
        Audits (:func:`geocover.standards.audit`) of the two plans on the same zone table.
    child_rules, parent_rules : sequence of Rule
        The rules behind them.
    parent_plan : str
        The parent plan's id.

    Returns
    -------
    pandas.DataFrame
        ``child`` with :data:`PARENT_COLUMNS` added (empty where the parent sets no such measure),
        and one row per (unit, measure) only the parent sets. Where several parent rules match, the
        first evaluated one gives the target and the verdict, the others are named in ``parent_note``.
    """
    own = {r.uid: r for r in child_rules}
    theirs = {r.uid: r for r in parent_rules}
    child_keys, parent_keys = _keys(child, own), _keys(parent, theirs)
    matches: dict[tuple, list[int]] = {}
    for index, found in parent_keys.items():
        if found is not None:
            matches.setdefault(found, []).append(index)
    out = child.copy()
    for column in PARENT_COLUMNS:
        out[column] = None
    used: set[tuple] = set()
    for index, found in child_keys.items():
        if found is None or found not in matches:
            continue
        used.add(found)
        _fill(out, index, parent.loc[matches[found]], _per(own.get(child.at[index, "rule_id"])), theirs, parent_plan)
    only_parent = [(found, rows) for found, rows in matches.items() if found not in used]
    if not only_parent:
        return out
    added = pd.DataFrame([row(None, **{c: parent.at[rows[0], c] for c in ("kind", "measure", "unit_level", "unit_id",
                                                                          "unit_name")},
                              status=NOT_SPECIFIED, origin="plan", note=f"this plan sets no such target; "
                              f"{parent_plan} does") for _, rows in only_parent], columns=list(child.columns))
    for column in PARENT_COLUMNS:
        added[column] = None
    for position, (_, rows) in enumerate(only_parent):
        _fill(added, position, parent.loc[rows], None, theirs, parent_plan)
    out = pd.concat([out, added], ignore_index=True)
    return out


def _fill(out: pd.DataFrame, index: int, rows: pd.DataFrame, per: float | None, rules: dict[str, Rule],
          parent_plan: str) -> None:
    """Put the parent's target and verdict from ``rows`` (its matching audit rows) on ``out.loc[index]``."""
    evaluated = rows[rows["status"].isin([PASS, FAIL]) | rows["status"].str.startswith(("option", "baseline",
                                                                                         "candidate", "above"))]
    first = (evaluated if len(evaluated) else rows).iloc[0]
    rule = rules[first["rule_id"]]
    target = first["target_max"] if rule.direction == "range" and pd.notna(first["target_max"]) else first["target"]
    scale = per / _per(rule) if per is not None and _per(rule) else 1.0
    others = [r for r in rows["rule_id"].unique() if r != first["rule_id"]]
    notes = [f"target per {per:,.0f} residents (the parent's is per {_per(rule):,.0f})"] if scale != 1.0 else []
    notes += [f"also {', '.join(others)}"] if others else []
    out.at[index, "parent_plan"] = parent_plan
    out.at[index, "parent_rule_id"] = first["rule_id"]
    out.at[index, "parent_target"] = None if target is None or pd.isna(target) else float(target) * scale
    out.at[index, "parent_status"] = first["status"]
    out.at[index, "parent_note"] = "; ".join(notes) or None
