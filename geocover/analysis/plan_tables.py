"""The optional plan analyses of a run, each a table of its own (``ScenarioResult.tables``).

- ``emergency_chain.csv`` (:mod:`.emergency_chain`): township health centres to their central one and
  their county's emergency centre, by drive (the run's mode without a drive network);
- ``county_referral.csv`` (:mod:`.county_referral`): residents whose nearest grade II+ hospital is in
  their own county;
- ``villages.csv`` and ``villages_by_township.csv`` (:mod:`.villages`): village clinics and doctors per
  administrative village, with ``villages:``.

Each is present when its inputs are (the tiers, the county zones, the village list).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from geocover.analysis.county_referral import MIN_GRADE, county_referral
from geocover.analysis.emergency_chain import CENTRE_TIERS, emergency_chain
from geocover.analysis.villages import village_verdicts
from geocover.config import ScenarioConfig
from geocover.io.villages import read_villages
from geocover.standards.facility_filter import filter_mask

if TYPE_CHECKING:  # the pipeline registers this analysis, so it cannot be imported here at run time
    from geocover.pipeline import ScenarioResult
    from geocover.prepared_inputs import PreparedInputs


def plan_tables(config: ScenarioConfig, inputs: PreparedInputs, result: ScenarioResult) -> ScenarioResult:
    """``result`` with ``tables``: output file name to table, for the plan analyses whose inputs the run has.

    Parameters
    ----------
    config : ScenarioConfig
    inputs : PreparedInputs
        Networks, cell snaps, grid and zones of the run.
    result : ScenarioResult
        The facilities with their columns.

    Raises
    ------
    InputError
        Every problem of the village list (``villages.path``).
    """
    tables, notes = plan_tables_of(config, inputs, result.facilities)
    return replace(result, notes=[*result.notes, *notes], tables={**result.tables, **tables})


def plan_tables_of(config: ScenarioConfig, inputs: PreparedInputs,
                   facilities: gpd.GeoDataFrame) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """The plan tables by output file name (those whose inputs the run has) and the notes on them.

    Parameters
    ----------
    config : ScenarioConfig
    inputs : PreparedInputs
        Networks, cell snaps, grid and zones of a whole-area run.
    facilities : geopandas.GeoDataFrame
        The facilities of the run (``facility_id``, ``name``, ``tier``, ``grade``, ``township_code``).

    Raises
    ------
    InputError
        Every problem of the village list (``villages.path``).
    """
    networks, zones = inputs.networks, inputs.zones
    drive = "drive" if "drive" in networks else config.mode
    snap_m, walk_kmh = config.snap_limit_m, config.offroad_kmh
    tables = {
        "emergency_chain.csv": emergency_chain(networks[drive], facilities, snap_m, walk_kmh),
        "county_referral.csv": county_referral(networks[drive], facilities, inputs.grid, zones, snap_m, walk_kmh,
                                               inputs.cell_snaps[drive]),
    }
    notes = []
    if config.villages is not None:
        tables["villages.csv"], tables["villages_by_township.csv"] = village_verdicts(
            read_villages(config.villages), facilities, networks[config.mode], config.villages, snap_m, walk_kmh,
            zones)
        clinics = int((facilities["tier"].astype(str) == "village_clinic").sum())
        unmatched = clinics - int(tables["villages.csv"]["clinics"].sum())
        if unmatched:
            notes.append(f"{unmatched:,} village clinic(s) of {clinics:,} match no village of {config.villages.path}: "
                         f"no 12-digit village code in '{config.villages.clinic_code_column}' and no located village "
                         "of their township; they count in no village (give them the village code)")
    return {name: table for name, table in tables.items() if table is not None}, notes


def plan_tables_wanted(config: ScenarioConfig, facilities: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> bool:
    """Whether :func:`plan_tables_of` gives any table for these facilities and zones: a village list, township
    health centres with central ones or emergency centres, or county zones with hospitals of grade II and above.
    """
    tiers = facilities["tier"].astype(str)
    chain = tiers.isin(CENTRE_TIERS).any() and tiers.isin(["central_township_health_centre", "emergency_centre"]).any()
    hospitals, missing = filter_mask(facilities, ["hospital"], MIN_GRADE)
    referral = (zones["zone_level"] == "county").any() and not missing and bool(hospitals.any())
    return config.villages is not None or bool(chain) or bool(referral)
