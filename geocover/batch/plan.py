"""The plan tables of a batch run (``emergency_chain.csv``, ``county_referral.csv``, ``villages.csv``,
``villages_by_township.csv``: :mod:`geocover.analysis.plan_tables`), computed once on the whole area.

**Why not per unit.** Each of them rests on a nearest search without a bound in minutes, which a unit's halo
(``R`` metres, exact up to the largest band) cannot hold:

- the emergency chain takes each township health centre to its *nearest* central one and to its county's
  emergency centre, however far: a centre near a unit's border may find them beyond the halo, and a unit of
  level township does not even hold its county's emergency centre;
- the county referral share takes each cell to its *nearest* grade II+ hospital, however far, and needs whole
  counties: a township unit holds part of one, and a cell's nearest hospital may lie beyond any halo;
- the village audit measures each village's minutes to the *nearest* care for the remoteness exemption, and
  matches uncoded clinics to the nearest village of their township (one township may lie in two units' halos).

So the batch computes them on one more Dask task, as the whole-area run does: the roads parsed once, the
facilities and zones read once, the cells snapped once (:mod:`geocover.batch.cell_snaps`), one network of the
whole area for the drive (and the scenario's) mode. The tables are then those of ``geocover run`` row for row.
The task runs only when the config and inputs give one of the tables
(:func:`geocover.analysis.plan_tables.plan_tables_wanted`), and its result is recorded in the state folder
(``plan/tables.pkl``, same fingerprint as the units), so a rerun reuses it. Zone levels derived from seats
(network Voronoi) are left out of the batch: they are not the county or township zones of these tables.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import pandas as pd

from geocover.analysis.plan_tables import plan_tables_of
from geocover.batch.cell_snaps import CellSnaps, first_snaps
from geocover.config import ScenarioConfig
from geocover.io.osm import load_segments
from geocover.prepared_inputs import prepare_inputs

PLAN_STATE = Path("plan", "tables.pkl")
"""File of the state folder recording the plan tables (a folder of its own: the state's ``*.pkl`` are units)."""


class PlanTables(NamedTuple):
    """The plan tables by output file name, and the notes on them."""

    tables: dict[str, pd.DataFrame]
    notes: list[str]


def whole_area_plan_tables(config: ScenarioConfig, facilities: gpd.GeoDataFrame, zones: gpd.GeoDataFrame,
                           roads_file: Path | None, snaps: list[CellSnaps]) -> PlanTables:
    """The plan tables of the whole area, as ``geocover run`` computes them (see the module docstring).

    Parameters
    ----------
    config : ScenarioConfig
        The unit config (roads parsed once, see :func:`geocover.batch.roads.parse_roads_once`).
    facilities, zones : geopandas.GeoDataFrame
        The facility layer and the zones, read once for every unit.
    roads_file : Path, optional
        The road line layer parsed once; the configured roads are read when None.
    snaps : list of CellSnaps
        The cells snapped once; cells they cannot give are snapped here.
    """
    segments = load_segments(roads_file) if roads_file is not None else None
    inputs = prepare_inputs(config, facilities, None, zones, segments, partial(first_snaps, snaps) if snaps else None)
    tables, notes = plan_tables_of(config, inputs, inputs.facilities)
    return PlanTables(tables, notes)
