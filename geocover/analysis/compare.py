"""Scenario comparison: the current facilities against a plan that adds, closes or upgrades some.

Both runs share every other input, so the difference in each figure is the plan's effect.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geocover.config import PlanChangesConfig, ScenarioConfig
from geocover.errors import InputError, Problem
from geocover.io.facilities import read_facilities
from geocover.pipeline import ScenarioResult, run_scenario
from geocover.schema import ZONE_KEYS


def planned_facilities(current: gpd.GeoDataFrame, plan: PlanChangesConfig, where: str) -> gpd.GeoDataFrame:
    """The current facilities with the plan's closures, upgrades and additions applied.

    Raises
    ------
    InputError
        Naming every closed or upgraded id that is not a current facility.
    """
    ids = set(current["facility_id"].astype(str))
    problems = [Problem(where, f"key 'plan.{key}': no facility with id {facility_id!r}",
                        "use facility_id values of the facility layer")
                for key, chosen in (("close", plan.close), ("upgrade", list(plan.upgrade)))
                for facility_id in chosen if str(facility_id) not in ids]
    if problems:
        raise InputError(problems)
    out = current[~current["facility_id"].astype(str).isin([str(i) for i in plan.close])].copy()
    for facility_id, tier in plan.upgrade.items():
        out.loc[out["facility_id"].astype(str) == str(facility_id), "tier"] = tier
    if plan.add is not None:
        added = read_facilities(plan.add.path, **plan.add.model_dump(exclude={"path"}))
        added["facility_id"] = f"{plan.name}-" + added["facility_id"].astype(str)
        out = pd.concat([out, added.to_crs(out.crs)], ignore_index=True)
    return gpd.GeoDataFrame(out, crs=current.crs).reset_index(drop=True)


def side_by_side(current: pd.DataFrame, planned: pd.DataFrame, plan_name: str = "plan") -> pd.DataFrame:
    """Every numeric column of two zone tables as ``<col>_current``, ``<col>_<plan>`` and ``<col>_change``."""
    numeric = [c for c in current.columns if c not in ZONE_KEYS and pd.api.types.is_numeric_dtype(current[c])
               and not pd.api.types.is_bool_dtype(current[c])
               and c in planned.columns]
    merged = current[ZONE_KEYS + numeric].merge(planned[ZONE_KEYS + numeric], on=ZONE_KEYS,
                                                suffixes=("_current", f"_{plan_name}"))
    columns = {}
    for column in numeric:
        before, after = merged[f"{column}_current"], merged[f"{column}_{plan_name}"]
        columns[f"{column}_current"] = before
        columns[f"{column}_{plan_name}"] = after
        columns[f"{column}_change"] = after - before
    return pd.concat([merged[ZONE_KEYS], pd.DataFrame(columns)], axis=1)


def compare(config: ScenarioConfig, progress: bool = True) -> tuple[ScenarioResult, ScenarioResult, pd.DataFrame]:
    """Run the current scenario and its plan, and put their zone tables side by side.

    Returns
    -------
    current, planned : ScenarioResult
    comparison : pandas.DataFrame
        See :func:`side_by_side`.
    """
    if config.plan is None:
        raise InputError([Problem(str(config.source), "key 'plan': nothing to compare",
                                  "add plan: {add: ..., close: [...], upgrade: {...}}")])
    current = run_scenario(config, progress=progress)
    planned = run_scenario(config, progress=progress,
                           facilities=planned_facilities(current.facilities, config.plan, str(config.source)))
    comparison = side_by_side(current.table, planned.table, config.plan.name)
    return current, planned, comparison


def changed_zones(comparison: pd.DataFrame, column: str) -> pd.DataFrame:
    """Zones where ``column`` changed, largest change first."""
    change = comparison[f"{column}_change"]
    return comparison[np.abs(change) > 1e-9].sort_values(f"{column}_change", ascending=False, key=np.abs)
