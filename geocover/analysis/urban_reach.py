"""Urban residents within each travel-time band, counted per cell, for rules limited to urban areas.

A plan's urban 15-minute circle (Shanxi T1 城区 15 分钟服务圈, Linfen S1 市区) is about urban people,
who also live in zones that are not urban as a whole. As the ambulance radius does, each cell is
urban or rural by itself (:func:`cell_urban`: by its zone and its built-up share);
per zone this gives ``pop_urban`` and ``pop_urban_within_<b>`` (urban people within ``b`` minutes),
and per service ``<service>_pop_urban_within_<b>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from geocover.analysis.urban_rural import builtup_at
from geocover.config import ScenarioConfig
from geocover.io.population import PopulationGrid
from geocover.schema import ZONE_KEYS, within_column


def cell_urban(grid: PopulationGrid, zones: gpd.GeoDataFrame, config: ScenarioConfig) -> np.ndarray:
    """Urban class per valid cell: urban when the first zone level's zone holding its centre is urban,
    or when the built-up share (percent) at the cell reaches ``config.urban_builtup_percent``; otherwise rural."""
    first = zones[zones["zone_level"] == zones["zone_level"].iloc[0]].reset_index(drop=True)
    labels = grid.labels(first)[grid.valid]
    urban = np.r_[False, (first["urban_rural"] == "urban").to_numpy()][labels]
    if config.builtup_raster is not None:
        urban |= builtup_at(config.builtup_raster, grid) >= config.urban_builtup_percent
    return urban


def urban_reach(
    grid: PopulationGrid,
    cell_urban: np.ndarray,
    zones: gpd.GeoDataFrame,
    minutes: Mapping[str, tuple[np.ndarray, Sequence[float]]],
) -> pd.DataFrame:
    """Urban people and urban people within each band, per zone.

    Parameters
    ----------
    grid : PopulationGrid
    cell_urban : numpy.ndarray of bool
        Per valid cell (row-major): urban.
    zones : geopandas.GeoDataFrame
        ``zone_level``, ``zone_id``, ``zone_name``; a cell counts for the zone of each level holding its centre.
    minutes : mapping
        Column prefix (``""`` for the main analysis, ``"<service>_"`` for a service) to the per-cell
        minutes (shape ``grid.shape``, ``inf`` unreachable) and the bands, minutes.

    Returns
    -------
    pandas.DataFrame
        :data:`~geocover.schema.ZONE_KEYS`, ``pop_urban`` and ``<prefix>pop_urban_within_<b>``.
    """
    people = grid.population[grid.valid]
    columns: dict[str, np.ndarray] = {"pop_urban": np.full(len(zones), np.nan)}
    for level, level_zones in zones.groupby("zone_level", sort=False):
        labels = grid.labels(level_zones)[grid.valid]
        rows = np.flatnonzero((zones["zone_level"] == level).to_numpy())

        def total(mask: np.ndarray, labels=labels, rows=rows) -> np.ndarray:
            return np.bincount(labels[mask], weights=people[mask], minlength=len(rows) + 1)[1:]

        columns["pop_urban"][rows] = total(cell_urban)
        for prefix, (cell_minutes, bands) in minutes.items():
            reach = cell_minutes[grid.valid]
            for band in bands:
                name = prefix + within_column(band, "pop_urban")
                columns.setdefault(name, np.full(len(zones), np.nan))[rows] = total(cell_urban & (reach <= band))
    return pd.concat([zones[ZONE_KEYS].reset_index(drop=True), pd.DataFrame(columns)], axis=1)
