"""Minutes of a batch unit in batch coding, and the zone table and gaps drawn from them.

Within a unit's halo, minutes up to the largest band ``N`` are exact; beyond, a cell is "more than N
minutes" (:data:`MORE_THAN_MINUTES`), "more than N or no facility at all" (:data:`NOT_FOUND_MINUTES`)
or certainly unreachable (``inf``). See :mod:`geocover.batch.unit` for why.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

from geocover.analysis.polygons import gap_polygons
from geocover.analysis.zone_table import weighted_quantile, zone_table
from geocover.config import ScenarioConfig
from geocover.io.population import PopulationGrid
from geocover.network.graph import Network
from geocover.network.snapping import Snap
from geocover.schema import ZONE_KEYS

MORE_THAN_MINUTES = 1e9
"""Minutes standing for "more than N minutes" (and reachable) in the per-cell arrays of a batch run."""
NOT_FOUND_MINUTES = 2e9
"""Minutes standing for "more than N minutes, or no facility at all" in the per-cell arrays."""



def road_speed_m_per_min(network: Network) -> float:
    """The fastest speed of any open direction of ``network``, metres per minute."""
    speeds = [network.length_m[(m > 0) & np.isfinite(m)] / m[(m > 0) & np.isfinite(m)]
              for m in (network.minutes_uv, network.minutes_vu)]
    joined = np.concatenate(speeds)
    return float(joined.max()) if joined.size else 0.0


def halo_radius_m(config: ScenarioConfig, networks: dict[str, Network]) -> float:
    """The halo radius ``R`` in metres: at most the pipeline's (its speeds are over every road read)."""
    radius = max(road_speed_m_per_min(networks[mode]) * minutes for mode, minutes in config.reach_minutes().items())
    if config.ambulance is not None:
        radius = max(radius, 1000.0 * max(config.ambulance.rural_km))
    return radius


def certainly_unreachable(network: Network, snap: Snap, area: gpd.GeoSeries, snap_max_m: float,
                          halo_m: float) -> np.ndarray:
    """Per snapped point: True when it cannot reach any facility of the whole area either.

    That is when it joined no road and ``snap_max_m <= halo_m`` (a road of the whole area within the
    snap distance would be in the halo), or when its road component (weakly connected) has all its
    nodes farther than ``snap_max_m`` inside the halo's edge, so that no road nor facility outside
    the halo joins it.
    """
    open_edge = np.isfinite(network.minutes_uv) | np.isfinite(network.minutes_vu)
    n = network.n_nodes
    graph = sp.coo_matrix((np.ones(int(open_edge.sum())), (network.u[open_edge], network.v[open_edge])), shape=(n, n))
    count, component = connected_components(graph, directed=True, connection="weak")
    core = area.to_crs(network.crs).buffer(-snap_max_m).iloc[0]
    closed = np.ones(count, dtype=bool)
    closed[component[~shapely.contains_xy(core, network.x, network.y)]] = False
    out = np.full(len(snap), snap_max_m <= halo_m)
    snapped = snap.snapped
    out[snapped] = closed[component[network.u[snap.edge[snapped]]]]
    return out


def coded_minutes(minutes: np.ndarray, limit: float, unreachable: np.ndarray) -> np.ndarray:
    """Minutes per cell in batch coding: exact up to ``limit``, :data:`MORE_THAN_MINUTES` beyond it;
    where no facility was found, ``inf`` if ``unreachable`` else :data:`NOT_FOUND_MINUTES`. NaN stays NaN."""
    out = np.where(np.isfinite(minutes) & (minutes > limit), MORE_THAN_MINUTES, minutes)
    return np.where(np.isposinf(minutes) & ~unreachable, NOT_FOUND_MINUTES, out)


def capped_zone_table(
    grid: PopulationGrid,
    minutes: np.ndarray,
    zones: gpd.GeoDataFrame,
    bands_minutes: list[float],
    target_minutes: float,
    limit: float,
    facilities: gpd.GeoDataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`geocover.analysis.zone_table.zone_table` of batch-coded minutes, in ``zones`` order, with the
    mean, median and p90 set to NaN where people more than ``limit`` minutes away could change them.

    The median and p90 stand when they come out the same whether the people not found are reachable
    (more than ``limit``) or not, and at most ``limit``.

    Returns
    -------
    table : pandas.DataFrame
    beyond : pandas.DataFrame
        Per zone: ``more_than`` (people more than ``limit`` minutes away or not found) and
        ``mean_at_least`` (the mean minutes when those found are ``limit`` minutes away: a lower bound).
    """
    table = zone_table(grid, minutes, zones, bands_minutes, target_minutes, facilities)
    table = pd.DataFrame(zones[ZONE_KEYS]).merge(table, on=ZONE_KEYS, how="left")
    beyond = pd.DataFrame({"more_than": np.zeros(len(zones)), "mean_at_least": table["mean_minutes"].to_numpy()})
    far = np.isfinite(minutes) & (minutes >= MORE_THAN_MINUTES)
    known = np.isfinite(minutes) & ~far
    levels = zones["zone_level"].to_numpy()
    for level in pd.unique(levels):
        rows = np.flatnonzero(levels == level)
        labels = grid.labels(zones.iloc[rows])
        more = np.bincount(labels[far], weights=grid.population[far], minlength=len(rows) + 1)[1:]
        beyond.loc[rows, "more_than"] = more
        for number in np.flatnonzero(more > 0) + 1:
            row = rows[number - 1]
            inside = labels == number
            m, w = minutes[inside & known], grid.population[inside & known]
            found = float(grid.population[inside & (minutes == MORE_THAN_MINUTES)].sum())
            total = w.sum() + found
            beyond.loc[row, "mean_at_least"] = ((m * w).sum() + limit * found) / total if total > 0 else np.nan
            table.loc[row, "mean_minutes"] = np.nan
            for column, q in (("median_minutes", 0.5), ("p90_minutes", 0.9)):
                low = weighted_quantile(np.append(m, MORE_THAN_MINUTES), np.append(w, found), q)
                if not (table.loc[row, column] <= limit and low == table.loc[row, column]):
                    table.loc[row, column] = np.nan
    return table, beyond


def batch_gaps(grid: PopulationGrid, minutes: np.ndarray, target_minutes: float) -> gpd.GeoDataFrame:
    """Gap polygons of batch-coded minutes: ``max_minutes`` NaN where a gap holds people more than N away."""
    gaps = gap_polygons(grid, minutes, target_minutes)
    gaps["max_minutes"] = gaps["max_minutes"].where(gaps["max_minutes"] < MORE_THAN_MINUTES)
    return gaps
