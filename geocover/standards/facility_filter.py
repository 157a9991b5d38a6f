"""Which facilities a rule or a service is about: tiers, hospital grade, column values and names.

One home for the facility filters of travel-time rules (Linfen's five named tertiary hospitals,
Leshan's TCM-capable facilities) and of the configured services that compute their travel
times, so a rule is evaluated on a service exactly when both name the same facilities.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

_TRUE = {"true", "yes", "y", "1", "是", "有", "t"}
_FALSE = {"false", "no", "n", "0", "否", "无", "f"}


def flag(value: Any) -> bool | None:
    """Truth of a facility attribute cell (bool, 1/0, yes/no, 是/否, 有/无); ``None`` when blank."""
    if isinstance(value, bool):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def grade(value: Any) -> int | None:
    """Hospital grade 1–3 from 3, "三级甲等", "二级", "III"; ``None`` when unreadable."""
    text = str(value).strip().upper()
    match = re.match(r"^(\d)|^([一二三])|^(III|II|I)(?![A-Z])", text)
    if not match:
        return None
    digit, chinese, roman = match.groups()
    return int(digit) if digit else "一二三".index(chinese) + 1 if chinese else len(roman)


def accepted(value: Any, options: Sequence[Any]) -> bool:
    """Whether a cell is one of ``options`` (booleans read with :func:`flag`, text case-insensitively)."""
    for option in options:
        if isinstance(option, bool):
            if flag(value) is option:
                return True
        elif str(value).strip().lower() == str(option).strip().lower():
            return True
    return False


def describe_filter(
    min_grade: int | None, where: Mapping[str, Sequence[Any]], names: Sequence[str] = (), ids: Sequence[str] = ()
) -> str | None:
    """The narrowing in words (``None`` when there is none); equal words mean the same facilities."""
    parts = [f"grade {min_grade} or above"] if min_grade else []
    parts += [f"{column} in {', '.join(map(str, values))}" for column, values in sorted(where.items())]
    parts += [f"the facilities {', '.join(sorted(names))}"] if names else []
    parts += [f"the facility ids {', '.join(sorted(map(str, ids)))}"] if ids else []
    return "; ".join(parts) or None


def filter_mask(
    facilities: pd.DataFrame,
    tiers: Sequence[str] | None,
    min_grade: int | None = None,
    where: Mapping[str, Sequence[Any]] | None = None,
    names: Sequence[str] = (),
    ids: Sequence[str] = (),
) -> tuple[pd.Series, list[str]]:
    """Facilities of ``tiers`` (any when None or empty) narrowed by grade, column values, names and ids.

    Returns
    -------
    (pandas.Series of bool, list of str)
        The mask over ``facilities`` and the columns it lacks (``facilities.<column>``); with
        a column missing the mask is all false.
    """
    where = where or {}
    needed = ["tier"] * bool(tiers) + ["grade"] * bool(min_grade) + list(where) + ["name"] * bool(names)
    needed += ["facility_id"] * bool(ids)
    missing = [f"facilities.{c}" for c in dict.fromkeys(needed) if c not in facilities.columns]
    if missing:
        return pd.Series(False, index=facilities.index), missing
    keep = facilities["tier"].astype(str).isin(tiers) if tiers else pd.Series(True, index=facilities.index)
    if min_grade:
        keep &= facilities["grade"].map(grade).fillna(0) >= min_grade
    for column, options in where.items():
        keep &= facilities[column].map(lambda v, opts=options: accepted(v, opts)).astype(bool)
    if names:
        keep &= facilities["name"].astype(str).str.strip().isin([n.strip() for n in names])
    if ids:
        keep &= facilities["facility_id"].astype(str).isin([str(i) for i in ids])
    return keep, []
