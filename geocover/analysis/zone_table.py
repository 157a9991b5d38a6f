"""Coverage per zone from the per-cell travel times of the population grid.

Every figure derives from the same cells: a cell belongs to the zone that
contains its centre; its people are within a band when its minutes to the
nearest facility are at most the band, beyond when reachable but slower than
the target, unreachable when no facility can be reached (or the cell is too
far from any road). Per zone ``within target + beyond + unreachable = population``.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from geocover.io.population import PopulationGrid
from geocover.schema import CODE_DIGITS, band_label


def weighted_quantile(minutes: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The smallest value such that at least share ``q`` of the weight is at or below it.

    Parameters
    ----------
    minutes : numpy.ndarray
        Finite values.
    weights : numpy.ndarray
        Non-negative weights (people).
    q : float
        Share in [0, 1], e.g. 0.9 for the 90th percentile.

    Returns
    -------
    float
        NaN when the total weight is zero.
    """
    keep = weights > 0
    minutes, weights = minutes[keep], weights[keep]
    if len(minutes) == 0:
        return float("nan")
    order = np.argsort(minutes, kind="stable")
    cumulative = np.cumsum(weights[order])
    index = np.searchsorted(cumulative, q * cumulative[-1] * (1 - 1e-12), side="left")
    return float(minutes[order][min(index, len(order) - 1)])


def zone_table(
    grid: PopulationGrid,
    minutes: np.ndarray,
    zones: gpd.GeoDataFrame,
    bands_minutes: Sequence[float],
    target_minutes: float,
    facilities: gpd.GeoDataFrame | None = None,
    offroad_m: np.ndarray | None = None,
    offroad_report_m: float = 1000.0,
) -> pd.DataFrame:
    """Population by travel-time band for each zone.

    Parameters
    ----------
    grid : PopulationGrid
    minutes : numpy.ndarray, shape ``grid.shape``
        Minutes to the nearest facility per cell; ``inf`` or NaN when unreachable.
    zones : geopandas.GeoDataFrame
        Columns ``zone_level``, ``zone_id``, ``zone_name``; zones of one level should not
        overlap (where they do, a cell counts for the last one).
    bands_minutes : sequence of float
        Band limits in minutes.
    target_minutes : float
        The standard (e.g. 15): splits reachable people into within and beyond.
    facilities : geopandas.GeoDataFrame, optional
        Counted per zone (column ``facilities``), and per ``tier`` when present.
    offroad_m : numpy.ndarray, shape ``grid.shape``, optional
        Off-road leg per cell in metres (``inf`` when no road within the cut-off): adds
        ``pop_offroad_over_<offroad_report_m>``, the people whose leg is longer.
    offroad_report_m : float
        Threshold of that column, metres.

    Returns
    -------
    pandas.DataFrame
        One row per zone: ``zone_level, zone_id, zone_name, population,
        pop_within_<b>, pct_within_<b>`` for each band, ``pop_beyond_<target>,
        pop_unreachable, mean_minutes, median_minutes, p90_minutes`` (population-weighted, over
        reachable people), ``facilities`` and ``facilities_<tier>``, and each of these per
        10,000 residents (``…_per_10k``).
    """
    population = grid.population
    reachable = np.isfinite(minutes)
    rows = []
    for level, level_zones in zones.groupby("zone_level", sort=False):
        labels = grid.labels(level_zones)
        for number, zone in enumerate(level_zones.itertuples(index=False), start=1):
            inside = labels == number
            people = population[inside]
            zone_minutes = minutes[inside]
            ok = reachable[inside]
            row: dict[str, object] = {
                "zone_level": level,
                "zone_id": zone.zone_id,
                "zone_name": zone.zone_name,
                "population": float(people.sum()),
            }
            for band in bands_minutes:
                within = float(people[ok & (zone_minutes <= band)].sum())
                row[f"pop_within_{band_label(band)}"] = within
                row[f"pct_within_{band_label(band)}"] = _percent(within, row["population"])
            row[f"pop_beyond_{band_label(target_minutes)}"] = float(
                people[ok & (zone_minutes > target_minutes)].sum()
            )
            row["pop_unreachable"] = float(people[~ok].sum())
            if offroad_m is not None:
                row[f"pop_offroad_over_{band_label(offroad_report_m)}"] = float(
                    people[offroad_m[inside] > offroad_report_m].sum()
                )
            reach_people = people[ok]
            total = reach_people.sum()
            row["mean_minutes"] = (
                float((zone_minutes[ok] * reach_people).sum() / total) if total > 0 else float("nan")
            )
            row["median_minutes"] = weighted_quantile(zone_minutes[ok], reach_people, 0.5)
            row["p90_minutes"] = weighted_quantile(zone_minutes[ok], reach_people, 0.9)
            rows.append(row)
    table = pd.DataFrame(rows)
    if facilities is not None and not table.empty:
        table = table.join(_facility_counts(zones, facilities), on=["zone_level", "zone_id"])
        count_columns = [c for c in table.columns if c.startswith("facilities")]
        table[count_columns] = table[count_columns].fillna(0).astype(int)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_10k = table[count_columns].div(table["population"], axis=0) * 10_000.0
        table = pd.concat([table, per_10k.where(table["population"] > 0).add_suffix("_per_10k")], axis=1)
    return table


def _facility_counts(zones: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame) -> pd.DataFrame:
    """Facilities per zone: by the facility's 12-digit township code where it has one and the
    zone level is an administrative level keyed by codes, else by point in polygon."""
    points = facilities.to_crs(zones.crs)
    joined = gpd.sjoin(points, zones[["zone_level", "zone_id", "geometry"]], predicate="within")
    joined = pd.DataFrame(joined.drop(columns=["geometry", "index_right"]))
    if "township_code" in points.columns and points["township_code"].notna().any():
        coded = points["township_code"].notna().to_numpy()
        by_code = []
        for level, digits in CODE_DIGITS.items():
            ids = zones.loc[zones["zone_level"] == level, "zone_id"].astype(str)
            if ids.empty or not ids.str.fullmatch(r"\d{12}").all():
                continue
            keys = points.loc[coded, "township_code"].astype(str).str[:digits].str.ljust(12, "0")
            match = keys[keys.isin(set(ids))]
            by_code.append(points.loc[match.index].assign(zone_level=level, zone_id=match.to_numpy()))
            joined = joined[~((joined["zone_level"] == level) & joined.index.isin(points.index[coded]))]
        joined = pd.concat([joined, *[pd.DataFrame(part.drop(columns="geometry")) for part in by_code]])
    counts = joined.groupby(["zone_level", "zone_id"]).size().rename("facilities").to_frame()
    if "tier" in joined.columns:
        per_tier = joined.pivot_table(
            index=["zone_level", "zone_id"], columns="tier", values="facility_id", aggfunc="count"
        )
        per_tier.columns = [f"facilities_{tier}" for tier in per_tier.columns]
        counts = counts.join(per_tier)
    return counts


def _percent(part: float, total: object) -> float:
    return 100.0 * part / float(total) if float(total) > 0 else float("nan")


def gap_flags(table: pd.DataFrame, target_minutes: float, target_percent: float) -> pd.DataFrame:
    """Flags per zone: a township (乡/镇) without a township health centre, a street (街道) without a
    community health service centre, and a share within the target below ``target_percent``.

    A flag is NA where it does not apply (a street has no township flag) or the count is unknown.
    """
    names = table["zone_name"].fillna("").astype(str)
    street = names.str.endswith("街道") | names.str.endswith("街道办事处")
    township = (names.str.endswith("乡") | names.str.endswith("镇")) & ~street

    def count(*tiers: str) -> pd.Series:
        present = [f"facilities_{tier}" for tier in tiers if f"facilities_{tier}" in table.columns]
        total = table[present].sum(axis=1) if present else pd.Series(0, index=table.index)
        return total.where(table.get("facilities", pd.Series(0, index=table.index)).notna())

    centres = count("township_health_centre", "central_township_health_centre")
    community = count("community_health_centre")
    out = pd.DataFrame(index=table.index)
    out["flag_no_township_health_centre"] = (centres == 0).where(township).astype("boolean")
    out["flag_no_community_health_centre"] = (community == 0).where(street).astype("boolean")
    pct = table[f"pct_within_{band_label(target_minutes)}"]
    out["flag_below_target"] = (pct < target_percent).where(pct.notna()).astype("boolean")
    return out
