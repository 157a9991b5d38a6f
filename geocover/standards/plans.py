"""Plan files and presets: loading, validation errors naming file and key, scenario overrides.

Presets live in ``geocover/_bundled/configs/standards`` in an installed wheel, else in
``configs/standards`` of the source tree; each ``<name>.yaml`` is one plan (see
:mod:`geocover.standards.schema` for the format).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

import geocover
from geocover.errors import InputError, Problem, raise_if_any
from geocover.io.yaml_file import read_yaml
from geocover.standards.plan_file import Plan
from geocover.standards.schema import RULE_ADAPTER, Rule

__all__ = ["list_presets", "load_plan", "load_preset", "presets_dir", "resolve_rules"]


def presets_dir() -> Path:
    """Folder of the plan presets: bundled in an installed wheel, else ``configs/standards``."""
    bundled = Path(geocover.__file__).parent / "_bundled" / "configs" / "standards"
    return bundled if bundled.is_dir() else Path(geocover.__file__).parents[1] / "configs" / "standards"


def list_presets() -> list[str]:
    """Names of the plan presets (file names without ``.yaml``), sorted."""
    folder = presets_dir()
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def load_preset(name: str) -> Plan:
    """Load the plan preset ``name`` (see :func:`list_presets`)."""
    path = presets_dir() / f"{name}.yaml"
    if not path.is_file():
        raise InputError([Problem(
            f"standards preset '{name}'", "no such plan preset", f"use one of: {', '.join(list_presets())}"
        )])
    return load_plan(path)


def people_per_ambulance(plan: str | None, path: str | Path | None = None) -> float | None:
    """Residents per ambulance the plan sets (preset ``plan`` or plan file ``path``); ``None`` when it sets none.

    Shanxi: 1 per 30,000 gives 30,000; Linfen: 0.30 per 10,000 gives 33,333; Taiyuan and Leshan
    set no fleet ratio. Without a plan (both ``None``) the zone table keeps Shanxi's 30,000.
    """
    if plan is None and path is None:
        return 30_000.0
    rule = (load_preset(plan) if plan else load_plan(path)).rule_for("ratio_per_population", numerator="ambulances")
    return rule.params.per / rule.params.target if rule is not None else None


def load_plan(path: str | Path) -> Plan:
    """Load and validate a plan file, parsed once while it is unchanged on disk.

    A second call on the same file returns the same :class:`Plan` (treat it as read-only) as long as the
    file's modification time and size are unchanged; a file changed on disk is read and validated again.

    Raises
    ------
    InputError
        Naming the file and every bad key (with the rule id where there is one).
    """
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:  # read_yaml names the missing or unreadable file
        return _parsed_plan(path, None, None, None)
    return _parsed_plan(path, path.resolve(), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=32)
def _parsed_plan(path: Path, resolved: Path | None, mtime_ns: int | None, size_bytes: int | None) -> Plan:
    """The plan file at ``path`` (named so in errors) parsed and validated; cached per (path, absolute path,
    modification time, size), errors never cached."""
    data, twice = read_yaml(path, "plan file")
    if not isinstance(data, dict):
        raise InputError([Problem(str(path), "the file must hold a mapping with plan, rules, not_evaluable")])
    try:
        plan = Plan.model_validate(data)
    except ValidationError as error:
        raise InputError(twice + _problems(str(path), error, data)) from None
    raise_if_any(twice)
    return plan


def resolve_rules(
    plan: Plan,
    add: list[dict[str, Any]] | None = None,
    override: dict[str, dict[str, Any]] | None = None,
    where: str = "scenario config",
) -> list[Rule]:
    """The plan's rules with a scenario's overrides applied and its own rules added.

    Parameters
    ----------
    plan : Plan
    add : list of dict, optional
        Whole rules (same keys as in a plan file); marked ``origin: scenario``.
    override : dict, optional
        Rule uid (``id`` or ``id.part``) -> partial rule; nested mappings are merged, other
        values replaced. Marked ``origin: override``.
    where : str
        Names the config in error messages.

    Returns
    -------
    list of Rule
        In plan order, added rules last.

    Raises
    ------
    InputError
        Naming every unknown uid, duplicate and invalid key at once.
    """
    problems: list[Problem] = []
    override = dict(override or {})
    rules: list[Rule] = []
    for rule in plan.rules:
        patch = override.pop(rule.uid, None)
        if patch is None:
            rules.append(rule)
            continue
        merged = _merge(rule.model_dump(exclude_none=True), {**patch, "origin": "override"})
        try:
            rules.append(RULE_ADAPTER.validate_python(merged))
        except ValidationError as error:
            problems += _problems(where, error, merged, prefix=f"standards.override.{rule.uid}")
    problems += [
        Problem(where, f"key 'standards.override.{uid}': no rule {uid} in plan {plan.plan.id}",
                "use an id (or id.part) of the plan's rules")
        for uid in override
    ]
    known = {r.uid for r in rules}
    for index, item in enumerate(add or []):
        prefix = f"standards.add.{index}"
        try:
            rule = RULE_ADAPTER.validate_python({**item, "origin": "scenario"})
        except ValidationError as error:
            problems += _problems(where, error, item, prefix=prefix)
            continue
        if rule.uid in known:
            problems.append(Problem(where, f"key '{prefix}': rule {rule.uid} already exists",
                                    "override it under standards.override instead, or pick another id/part"))
            continue
        known.add(rule.uid)
        rules.append(rule)
    problems += [
        Problem(where, f"rule {rule.uid}: conflicts_with names unknown rule {c}", "fix the uid")
        for rule in rules for c in rule.conflicts_with if c not in known
    ]
    if problems:
        raise InputError(problems)
    return rules


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in patch.items():
        merged[key] = _merge(merged[key], value) if isinstance(value, dict) and isinstance(
            merged.get(key), dict) else value
    return merged


def _problems(where: str, error: ValidationError, data: Any, prefix: str = "") -> list[Problem]:
    problems = []
    for item in error.errors():
        loc = [str(part) for part in item["loc"]]
        key = ".".join([prefix, *loc] if prefix else loc) or "(top level)"
        rule_id = _rule_id(data, item["loc"])
        label = f"key '{key}'" + (f" (rule {rule_id})" if rule_id else "")
        if item["type"] == "extra_forbidden":
            message, fix = "unknown key", "remove or rename the key (see geocover/standards/schema.py)"
        elif item["type"] == "missing":
            message, fix = "required key is missing", "add the key"
        else:
            message, fix = f"{item['msg']} (got {item.get('input')!r})", "fix the value"
        problems.append(Problem(where, f"{label}: {message}", fix))
    return problems


def _rule_id(data: Any, loc: tuple[Any, ...]) -> str | None:
    if len(loc) >= 2 and loc[0] in ("rules", "not_evaluable") and isinstance(loc[1], int):
        try:
            entry = data[loc[0]][loc[1]]
        except (KeyError, IndexError, TypeError):
            return None
        return str(entry.get("id")) if isinstance(entry, dict) and entry.get("id") else None
    return None
