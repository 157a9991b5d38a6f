"""Facility labels: tier, hospital grade, ownership and township code, from Chinese data and OSM tags."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from geocover.schema import TIERS

__all__ = [
    "TIERS", "cell_text", "classify_ownership", "classify_tier", "normalize_grade", "split_words", "township_code",
]



def split_words(text: str) -> tuple[str, ...]:
    """The space-separated words of ``text``."""
    return tuple(text.split())


# WS 218 health-institution category codes (卫生机构分类代码) by letter and first digit; the
# A1-A5 hospitals are general, traditional Chinese, integrated, ethnic and specialist ones.
_CODE_TIERS = {"A1": "hospital", "A2": "hospital", "A3": "hospital", "A4": "hospital",
               "A5": "hospital", "B1": "community_health_centre", "B2": "community_health_station",
               "C1": "township_health_centre", "D4": "village_clinic", "E1": "emergency_centre",
               "E2": "emergency_station"}
_NAME_TIERS = (("社区卫生服务中心", "community_health_centre"), ("社区卫生服务站", "community_health_station"),
               ("中心卫生院", "central_township_health_centre"), ("卫生院", "township_health_centre"),
               ("卫生室", "village_clinic"), ("急救中心", "emergency_centre"), ("急救分站", "emergency_station"),
               ("急救站", "emergency_station"), ("医院", "hospital"), ("诊所", "other"), ("门诊部", "other"),
               ("医务室", "other"))
_OSM_TIERS = {"hospital": "hospital", "clinic": "clinic", "centre": "clinic", "doctors": "doctors",
              "doctor": "doctors"} | dict.fromkeys(split_words(
    "pharmacy dentist laboratory optometrist physiotherapist alternative rehabilitation "
    "blood_donation nursing_home psychotherapist veterinary"), "other")
_OWNERSHIP = (  # checked in this order: 非公立 is private, 国有企业 other public
    ("private", split_words("非公 私 民营 民办 个人 个体 股份 联营 外资 合资 港澳台 社会资本 private ngo "
                       "religious charit")),
    ("other_public", split_words("集体 企业 事业 社会办 社会团体 军 部队 武警 community")),
    ("government", split_words("政府 卫生健康 卫健 卫生行政 国有 公立 公办 government public state")),
)
_GRADE_RE = re.compile(r"^([一二三123])级?([特甲乙丙])?等?$")


def cell_text(value: Any) -> str | None:
    """Stripped text of a cell, ``None`` when empty; whole floats lose their ``.0``."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() or None


def classify_tier(label: Any) -> str | None:
    """Tier of a facility label: a category code, an OSM tag value, a Chinese name or a tier.

    Parameters
    ----------
    label : object
        ``"B100"``, ``"C121"``, ``"hospital"``, ``"XX镇中心卫生院"``, ``"community_health_centre"`` …

    Returns
    -------
    str or None
        One of :data:`TIERS`; ``"other"`` for known labels of no particular tier (code D200,
        amenity=pharmacy, 诊所); ``None`` when the label is not recognised.
    """
    text = cell_text(label)
    if text is None:
        return None
    lower = text.lower()
    if lower in TIERS:
        return lower
    code = re.match(r"^([A-Z])(\d)(\d\d)?\b", text.upper())
    if code:
        if code.group(0).startswith("C121"):
            return "central_township_health_centre"
        return _CODE_TIERS.get(code.group(1) + code.group(2), "other")
    if lower in _OSM_TIERS:
        return _OSM_TIERS[lower]
    return next((tier for word, tier in _NAME_TIERS if word in text), None)


def normalize_grade(value: Any) -> str | None:
    """Hospital grade in short form: 三级甲等 → 三甲, 2级 → 二级; other text kept as given."""
    text = cell_text(value)
    if text is None:
        return None
    match = _GRADE_RE.match(re.sub(r"\s", "", text))
    if match is None:
        return text
    level = match.group(1).translate(str.maketrans("123", "一二三"))
    return level + (match.group(2) or "级")


def classify_ownership(value: Any) -> str | None:
    """``government``, ``other_public`` or ``private`` from 主办单位/经济类型 text or OSM tags."""
    text = (cell_text(value) or "").lower()
    if not text:
        return None
    return next((kind for kind, words in _OWNERSHIP if any(w in text for w in words)), None)


def township_code(value: Any) -> str | None:
    """12-digit township code from a 9-digit township or 12-digit village code; 6-digit → None."""
    text = cell_text(value)
    if text is None:
        return None
    if not text.isdigit() or len(text) not in (6, 9, 12):
        raise ValueError(text)
    return None if len(text) == 6 else text[:9] + "000"
