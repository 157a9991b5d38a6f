"""A plan file as data: the plan's identity, its rules, the standards it cannot check and its other numbers.

``configs/standards/<plan>.yaml`` holds ``plan:`` (:class:`PlanInfo`), ``rules:`` (see
:mod:`geocover.standards.schema`), ``not_evaluable:`` and ``not_standards:``; files are loaded by
:mod:`geocover.standards.plans`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from geocover.standards.schema import Kind, Rule, StrictModel, UnitLevel


class PlanInfo(StrictModel):
    """Identity of a plan."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title_zh: str
    title_en: str
    document_number: str | None = None
    issuer_zh: str | None = None
    status: Literal["issued", "draft", "unknown"]
    seed_file: str
    extraction_file: str
    jurisdiction_zh: str
    jurisdiction_en: str
    jurisdiction_level: UnitLevel
    start_year: int
    end_year: int
    baseline_year: int | None = None
    note: str | None = None


class NotEvaluable(StrictModel):
    """A standard of the plan the audit cannot check, with the reason."""

    id: str = Field(min_length=1)
    part: str | None = Field(default=None, pattern=r"^[a-z0-9_]+$")
    quote_zh: str | None = Field(default=None, description="none only when the extraction row has no Chinese")
    reason: str = Field(min_length=1)
    covers: list[str] = Field(default_factory=list)


class NotAStandard(StrictModel):
    """A number in the plan text that sets no standard (a baseline, an outcome, a restated target)."""

    line: int = Field(ge=1, description="line of the seed text")
    quote_zh: str = Field(min_length=1, description="the words around the number, as in the seed text")
    reason: str = Field(min_length=1, description="why it is no rule: baseline, outcome, restates <rule uid>…")


class Plan(StrictModel):
    """One plan: metadata, checkable rules, the standards that cannot be checked and the other numbers."""

    plan: PlanInfo
    rules: list[Rule] = Field(default_factory=list)
    not_evaluable: list[NotEvaluable] = Field(default_factory=list)
    not_standards: list[NotAStandard] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Plan:
        keys = [r.uid for r in self.rules] + [f"{n.id}.{n.part}" if n.part else n.id for n in self.not_evaluable]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise ValueError(f"duplicate id/part: {', '.join(duplicates)}")
        uids = {r.uid for r in self.rules}
        for rule in self.rules:
            if not rule.quote_zh:
                raise ValueError(f"rule {rule.uid}: quote_zh is required in a plan file")
            unknown = [c for c in rule.conflicts_with if c not in uids]
            if unknown:
                raise ValueError(f"rule {rule.uid}: conflicts_with names unknown rules {unknown}")
            one_sided = [c for c in rule.conflicts_with if rule.uid not in self.rule(c).conflicts_with]
            if one_sided:
                raise ValueError(f"rule {rule.uid}: conflicts_with {one_sided} must be listed on both rules")
            if rule.source.plan is None:
                rule.source.plan = self.plan.id
        return self

    def rule(self, uid: str) -> Rule:
        """The rule with ``uid`` (``id`` or ``id.part``); KeyError when absent."""
        for rule in self.rules:
            if rule.uid == uid:
                return rule
        raise KeyError(uid)

    def rules_for(
        self,
        kind: Kind,
        *,
        unit_level: str | None = None,
        tier: str | None = None,
        area: str | None = None,
        numerator: str | None = None,
    ) -> list[Rule]:
        """Rules of ``kind`` matching the filters; an empty list when the plan sets none."""
        return [rule for rule in self.rules if rule_matches(rule, kind, unit_level, tier, area, numerator)]

    def rule_for(self, kind: Kind, **filters: str | None) -> Rule | None:
        """The first rule of ``kind`` matching ``filters`` (see :meth:`rules_for`), or ``None``.

        ``None`` means the plan does not specify this standard; callers report "not specified
        by this plan" and never substitute another plan's number.
        """
        found = self.rules_for(kind, **filters)
        return found[0] if found else None

    def conflicts(self) -> list[tuple[str, str]]:
        """Pairs of rule uids whose targets conflict inside this plan (each pair once)."""
        return sorted({tuple(sorted((r.uid, c))) for r in self.rules for c in r.conflicts_with})

    def extraction_ids(self) -> set[str]:
        """Every extraction id the file accounts for (rules, not_evaluable and their covers)."""
        entries: list[Any] = [*self.rules, *self.not_evaluable]
        return {e.id for e in entries} | {c for e in entries for c in e.covers}


def rule_matches(
    rule: Rule,
    kind: Kind,
    unit_level: str | None = None,
    tier: str | None = None,
    area: str | None = None,
    numerator: str | None = None,
) -> bool:
    """Whether ``rule`` is of ``kind`` and matches the optional filters (``None`` = any)."""
    scope = rule.scope
    return (
        rule.kind == kind
        and (unit_level is None or not scope.unit_levels or unit_level in scope.unit_levels)
        and (tier is None or not scope.tiers or tier in scope.tiers)
        and (area is None or scope.area in ("all", area))
        and (numerator is None or getattr(rule.params, "numerator", None) == numerator)
    )
