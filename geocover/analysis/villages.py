"""Village-level rules: a village clinic and a village doctor in every administrative village (#15).

From the village list (:func:`geocover.io.villages.read_villages`), without village polygons. Village
clinics are matched to villages by the 12-digit village code of the facility (``clinic_code_column``),
else to the nearest village (straight line) of the clinic's township (its ``township_code``). The plans
exempt villages that are remote, scattered and small (偏远、居住分散且常住人口少): with
``remote_population_max`` and ``remote_minutes_min`` set, a village without a clinic of at most that
many residents, at least that many minutes from the nearest facility of ``remote_tiers``, is "served by
itinerant care" (巡诊), not failing.

Outputs ``villages.csv`` (one row per village) and ``villages_by_township.csv`` (one row per township).
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd

from geocover.config.sections import VillagesConfig
from geocover.network.graph import Network
from geocover.standards.evaluate import FAIL, NOT_EVALUABLE, PASS
from geocover.travel.points import nearest_minutes

ITINERANT = "served by itinerant care"
#: Worst first: the verdict of a village is the worst of its clinic and doctor statuses.
_ORDER = (FAIL, NOT_EVALUABLE, ITINERANT, PASS)
VILLAGE_COLUMNS = (
    "village_code", "village_name", "township_code", "township_name", "population", "clinics", "clinic_match",
    "doctors", "minutes_to_care", "remote", "clinic_status", "doctor_status", "verdict", "note",
)
TOWNSHIP_COLUMNS = (
    "township_code", "township_name", "villages", "population", "clinics", "villages_pass",
    "villages_itinerant_care", "villages_fail", "villages_not_evaluable", "pop_in_failing_villages",
)


def _digits(value: object, n: int) -> str | None:
    text = re.sub(r"\D", "", str(value)) if value is not None and not pd.isna(value) else ""
    return text[:n] if len(text) >= n else None


def match_clinics(villages: pd.DataFrame, clinics: gpd.GeoDataFrame, code_column: str) -> tuple[np.ndarray, list[str]]:
    """Village row (-1: unmatched) of each clinic, and how each was matched (``code``, ``nearest in township``, "").

    Parameters
    ----------
    villages : pandas.DataFrame
        ``village_code``, ``township_code``, ``lon``, ``lat`` (NaN without a point).
    clinics : geopandas.GeoDataFrame
        Village clinics, with ``code_column`` and/or ``township_code`` (12 digits).
    code_column : str
        The clinics' village-code column.
    """
    row_of = {code: i for i, code in enumerate(villages["village_code"])}
    codes = clinics[code_column] if code_column in clinics.columns else pd.Series(None, index=clinics.index)
    village = np.array([row_of.get(_digits(c, 12), -1) for c in codes], dtype=int)
    how = ["code" if v >= 0 else "" for v in village]
    located = villages["lon"].notna().to_numpy()
    if (village < 0).any() and located.any():
        points = gpd.GeoSeries(gpd.points_from_xy(villages["lon"], villages["lat"]), crs="EPSG:4326")
        metric = points[located].estimate_utm_crs()
        xy = np.column_stack([points.to_crs(metric).x, points.to_crs(metric).y])
        at = clinics.geometry.to_crs(metric)
        townships = villages["township_code"].to_numpy()
        clinic_townships = clinics["township_code"] if "township_code" in clinics.columns else codes
        for k in np.flatnonzero(village < 0):
            township = _digits(clinic_townships.iloc[k], 9)
            candidates = np.flatnonzero(located & (np.char.startswith(townships.astype(str), township or "-")))
            if len(candidates):
                d = np.hypot(xy[candidates, 0] - at.iloc[k].x, xy[candidates, 1] - at.iloc[k].y)
                village[k], how[k] = candidates[np.argmin(d)], "nearest in township"
    return village, how


def village_verdicts(
    villages: pd.DataFrame,
    facilities: gpd.GeoDataFrame,
    network: Network,
    config: VillagesConfig,
    snap_max_m: float,
    offroad_kmh: float,
    zones: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per village the clinic and doctor verdicts, and the summary per township.

    Parameters
    ----------
    villages : pandas.DataFrame
        :func:`geocover.io.villages.read_villages`.
    facilities : geopandas.GeoDataFrame
        With ``tier``; village clinics are tier ``village_clinic``.
    network : Network
        The network whose minutes decide remoteness (the scenario's mode).
    config : VillagesConfig
    snap_max_m, offroad_kmh : float
    zones : pandas.DataFrame, optional
        Zones with ``zone_id`` and ``zone_name``: the townships' names.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        :data:`VILLAGE_COLUMNS` per village and :data:`TOWNSHIP_COLUMNS` per township.
    """
    clinics = facilities[facilities["tier"].astype(str) == "village_clinic"]
    village, how = match_clinics(villages, clinics, config.clinic_code_column)
    counts = np.bincount(village[village >= 0], minlength=len(villages))
    matched = pd.Series(how, dtype=object).groupby(village).agg(lambda h: ", ".join(sorted(set(h))))
    minutes = np.full(len(villages), np.nan)
    located = villages["lon"].notna().to_numpy()
    remote_rule = config.remote_population_max is not None
    if remote_rule and located.any():
        origins = gpd.GeoDataFrame(geometry=gpd.points_from_xy(villages["lon"][located], villages["lat"][located]),
                                   crs="EPSG:4326")
        targets = facilities[facilities["tier"].astype(str).isin(config.remote_tiers)]
        minutes[located], _ = nearest_minutes(network, origins, targets, snap_max_m, offroad_kmh)
    townships = None if zones is None else zones[zones["zone_level"].isin(["township", "street"])]
    names = {} if townships is None else {_digits(z, 9): n for z, n in zip(
        townships["zone_id"], townships["zone_name"], strict=True) if _digits(z, 12)}
    rows = []
    for i, village_row in villages.reset_index(drop=True).iterrows():
        people, found = village_row["population"], int(counts[i])
        remote, notes = None, []
        if remote_rule and not np.isnan(minutes[i]):  # inf: no care reached at all, which is remote too
            remote = bool(people <= config.remote_population_max and minutes[i] >= config.remote_minutes_min)
        if found:
            clinic = PASS
        elif not remote_rule or people > config.remote_population_max:
            clinic = FAIL
        elif remote is None:
            clinic = NOT_EVALUABLE
            notes.append("no point: remoteness cannot be measured")
        else:
            clinic = ITINERANT if remote else FAIL
        if remote and not found:
            notes.append(f"{people:,.0f} residents ≤ {config.remote_population_max:g} and {minutes[i]:.1f} min ≥ "
                         f"{config.remote_minutes_min:g} min from care: exempt (偏远、居住分散且常住人口少)")
        doctors = village_row["doctors"]
        if pd.isna(doctors):
            doctor = NOT_EVALUABLE
            notes.append("no village doctors column")
        else:
            doctor = PASS if doctors >= 1 else ITINERANT if clinic == ITINERANT else FAIL
        rows.append({
            "village_code": village_row["village_code"], "village_name": village_row["village_name"],
            "township_code": village_row["township_code"], "township_name": names.get(village_row["township_code"][:9]),
            "population": people, "clinics": found, "clinic_match": matched.get(i), "doctors": doctors,
            "minutes_to_care": minutes[i], "remote": remote, "clinic_status": clinic, "doctor_status": doctor,
            "verdict": min((clinic, doctor), key=_ORDER.index), "note": "; ".join(notes) or None,
        })
    table = pd.DataFrame(rows, columns=list(VILLAGE_COLUMNS))
    return table, township_summary(table)


def township_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per township: villages, residents, clinics and villages by verdict (:data:`TOWNSHIP_COLUMNS`)."""
    groups = table.groupby("township_code", sort=True)
    verdict = table["verdict"]
    out = pd.DataFrame({
        "township_name": groups["township_name"].first(), "villages": groups.size(),
        "population": groups["population"].sum(), "clinics": groups["clinics"].sum(),
        "villages_pass": (verdict == PASS).groupby(table["township_code"]).sum(),
        "villages_itinerant_care": (verdict == ITINERANT).groupby(table["township_code"]).sum(),
        "villages_fail": (verdict == FAIL).groupby(table["township_code"]).sum(),
        "villages_not_evaluable": (verdict == NOT_EVALUABLE).groupby(table["township_code"]).sum(),
        "pop_in_failing_villages": table["population"].where(verdict == FAIL, 0).groupby(table["township_code"]).sum(),
    }).reset_index()
    return out[list(TOWNSHIP_COLUMNS)]
