"""Planning standards of the seed plans as data, and the compliance audit.

- :mod:`geocover.standards.schema`: the rule and plan models;
- :mod:`geocover.standards.plans`: plan files, presets, scenario overrides;
- :mod:`geocover.standards.audit`: evaluation per unit and the CSV/XLSX writer.
"""

from geocover.standards.audit import COLUMNS, CORE_CHECKS, FAIL, NOT_EVALUABLE, NOT_SPECIFIED, PASS, audit, write_audit
from geocover.standards.evaluate import ABOVE_GUIDELINE, BASELINE, CANDIDATE, OPTION
from geocover.standards.plan_file import NotEvaluable, Plan, PlanInfo, rule_matches
from geocover.standards.plans import list_presets, load_plan, load_preset, presets_dir, resolve_rules
from geocover.standards.schema import Rule, Scope, Source

__all__ = [
    "ABOVE_GUIDELINE", "BASELINE", "CANDIDATE", "COLUMNS", "CORE_CHECKS", "FAIL", "NOT_EVALUABLE", "NOT_SPECIFIED",
    "OPTION", "PASS", "NotEvaluable", "Plan", "PlanInfo", "Rule", "Scope", "Source", "audit", "list_presets",
    "load_plan", "load_preset", "presets_dir", "resolve_rules", "rule_matches", "write_audit",
]
