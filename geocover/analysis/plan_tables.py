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

import geopandas as gpd
import pandas as pd

from geocover.analysis.county_referral import county_referral
from geocover.analysis.emergency_chain import emergency_chain
from geocover.analysis.villages import village_verdicts
from geocover.config import ScenarioConfig
from geocover.io.population import PopulationGrid
from geocover.network.graph import Network
from geocover.network.snapping import Snap


def plan_tables(
    config: ScenarioConfig,
    networks: dict[str, Network],
    cell_snaps: dict[str, Snap],
    facilities: gpd.GeoDataFrame,
    grid: PopulationGrid,
    zones: gpd.GeoDataFrame,
    villages: pd.DataFrame | None,
) -> dict[str, pd.DataFrame]:
    """Output file name to table, for the plan analyses whose inputs the run has.

    Parameters
    ----------
    config : ScenarioConfig
    networks : dict
        Mode to network, as the run built them.
    cell_snaps : dict
        Mode to the grid's cells snapped to that network.
    facilities : geopandas.GeoDataFrame
    grid : PopulationGrid
    zones : geopandas.GeoDataFrame
    villages : pandas.DataFrame or None
        :func:`geocover.io.villages.read_villages` of ``config.villages``.
    """
    drive = "drive" if "drive" in networks else config.mode
    snap_m, walk_kmh = config.snap_limit_m, config.offroad_kmh
    tables = {
        "emergency_chain.csv": emergency_chain(networks[drive], facilities, snap_m, walk_kmh),
        "county_referral.csv": county_referral(networks[drive], facilities, grid, zones, snap_m, walk_kmh,
                                               cell_snaps[drive]),
    }
    if villages is not None:
        tables["villages.csv"], tables["villages_by_township.csv"] = village_verdicts(
            villages, facilities, networks[config.mode], config.villages, snap_m, walk_kmh, zones)
    return {name: table for name, table in tables.items() if table is not None}
