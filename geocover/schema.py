"""The zone-table schema: the one home of the names every table, audit and report shares.

A zone table (``zones.csv``, one row per zone) is keyed by :data:`ZONE_KEYS`; for each
travel-time band ``b`` (minutes) it holds ``pop_within_<b>`` (residents within ``b`` minutes)
and ``pct_within_<b>`` (percent of the zone's residents), where ``<b>`` is :func:`band_label`
(``15`` for 15 min, ``7_5`` for 7.5 min); ``pop_beyond_<target>`` counts residents reached
later than the target. A configured service adds its own columns prefixed by its name
(:func:`service_column`, e.g. ``maternity_pop_within_30``). Facilities carry a tier from
:data:`TIERS`; a referral goes one tier up by :data:`REFERRAL`. Administrative codes have 12
digits, of which :data:`CODE_DIGITS` name each zone level (the rest are zeros) and
:data:`UNIT_CODE_DIGITS` each unit level a plan's rule may name.
"""

from __future__ import annotations

__all__ = [
    "CODE_DIGITS", "REFERRAL", "TIERS", "UNIT_CODE_DIGITS", "ZONE_KEYS", "band_label", "beyond_column",
    "pct_within_column", "service_column", "within_column",
]

#: Key columns of every zone table: level (``township``…), identifier (str) and name.
ZONE_KEYS = ["zone_level", "zone_id", "zone_name"]

#: Facility tiers, from the national health-institution categories (WS 218) and OSM tags
#: (``clinic`` and ``doctors`` are OSM ``amenity``/``healthcare`` values of no Chinese tier).
TIERS = ("hospital", "central_township_health_centre", "township_health_centre",
         "community_health_centre", "community_health_station", "village_clinic",
         "emergency_centre", "emergency_station", "clinic", "doctors", "other")

#: Per tier: the next tier up for a referral, and the tiers that count as it.
REFERRAL = {
    "village_clinic": ("township_health_centre", ("township_health_centre", "central_township_health_centre")),
    "township_health_centre": ("hospital", ("hospital",)),
    "central_township_health_centre": ("hospital", ("hospital",)),
    "community_health_station": ("community_health_centre", ("community_health_centre",)),
    "community_health_centre": ("hospital", ("hospital",)),
    "clinic": ("hospital", ("hospital",)),
    "doctors": ("hospital", ("hospital",)),
    "other": ("hospital", ("hospital",)),
}

#: Digits of the 12-digit administrative code that name each zone level (the rest are zeros).
CODE_DIGITS = {"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}

#: :data:`CODE_DIGITS` for every unit level a plan's rule may name (streets rank as townships,
#: communities as villages).
UNIT_CODE_DIGITS = CODE_DIGITS | {"street": 9, "township_or_street": 9, "community": 12, "village_or_community": 12}


def band_label(minutes: float) -> str:
    """The label of a travel-time band in column names: ``15`` for 15 min, ``7_5`` for 7.5 min."""
    return f"{minutes:g}".replace(".", "_")


def within_column(minutes: float, prefix: str = "pop") -> str:
    """``<prefix>_within_<band>``: residents (or another weight) within ``minutes`` minutes."""
    return f"{prefix}_within_{band_label(minutes)}"


def pct_within_column(minutes: float) -> str:
    """``pct_within_<band>``: percent of the zone's residents within ``minutes`` minutes."""
    return f"pct_within_{band_label(minutes)}"


def beyond_column(minutes: float) -> str:
    """``pop_beyond_<band>``: residents reached, but later than ``minutes`` minutes."""
    return f"pop_beyond_{band_label(minutes)}"


def service_column(service: str, column: str) -> str:
    """The zone-table column ``column`` of configured service ``service``: ``<service>_<column>``."""
    return f"{service}_{column}"
