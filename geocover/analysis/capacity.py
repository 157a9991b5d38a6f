"""Capacity-aware geographic coverage, as AccessMod 5's geographic coverage analysis.

The rules, stated:

1. **Facility order.** Facilities are processed one after another in the order
   given (AccessMod: by a user-chosen attribute, e.g. capacity descending).
2. **Time cut-off.** A facility reaches only cells within ``limit_minutes``.
3. **Time zones.** A facility's reached cells are grouped into zones of
   ``zone_minutes`` (zone ``z`` holds times in ``((z-1)·step, z·step]``, zone 0
   exactly 0), taken from the nearest zone outwards.
4. **Absorption.** While a whole zone's remaining population fits in the
   remaining capacity it is covered entirely. The first zone that does not fit
   is covered **in part**: every cell of it gives the same share, ``remaining
   capacity / zone population`` (AccessMod's "out ratio"), and the facility's
   catchment stops there. Covered people are removed from the population before
   the next facility.
5. Without capacity (``capacity=None``), every facility covers all remaining
   people within the cut-off (AccessMod's "ignore capacity", case E).

With capacity, coverage may fall when a facility is added before others in the
order; that monotonicity holds only without capacity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class CapacityCoverage:
    """Result of :func:`capacity_coverage`.

    Attributes
    ----------
    covered : numpy.ndarray
        People covered per cell (at most the cell's population).
    table : pandas.DataFrame
        Per facility, in processing order: ``facility`` (row), ``capacity``,
        ``inner`` (people in wholly covered zones), ``outer`` (people taken from the
        partly covered zone), ``covered`` (inner + outer), ``residual`` (capacity
        left), ``catchment_minutes`` (upper time of the last zone reached),
        ``partial_share`` (share taken from the last zone; 1 when none was split).
    """

    covered: np.ndarray
    table: pd.DataFrame


def capacity_coverage(
    facility_index: np.ndarray,
    cell_index: np.ndarray,
    minutes: np.ndarray,
    population: np.ndarray,
    capacity: np.ndarray | None,
    limit_minutes: float,
    order: np.ndarray | None = None,
    zone_minutes: float = 1.0,
) -> CapacityCoverage:
    """Allocate people to facilities in order, within capacity and a travel-time cut-off.

    Parameters
    ----------
    facility_index, cell_index, minutes : numpy.ndarray
        One entry per reachable (facility, cell) pair: travel time in minutes
        (e.g. the entries of a sparse facility × cell matrix).
    population : numpy.ndarray
        People per cell.
    capacity : numpy.ndarray or None
        People each facility can serve; ``None`` ignores capacity.
    limit_minutes : float
        Travel-time cut-off.
    order : numpy.ndarray, optional
        Facility rows in processing order; by row when omitted.
    zone_minutes : float
        Width of the time zones within which absorption is split evenly.

    Returns
    -------
    CapacityCoverage
    """
    n_facilities = int(facility_index.max()) + 1 if len(facility_index) else 0
    if capacity is not None:
        n_facilities = max(n_facilities, len(capacity))
    order = np.arange(n_facilities) if order is None else np.asarray(order)
    remaining = np.asarray(population, dtype=np.float64).copy()
    keep = minutes <= limit_minutes
    pairs = pd.DataFrame({"f": facility_index[keep], "cell": cell_index[keep], "t": minutes[keep]})
    pairs["zone"] = np.ceil(pairs["t"] / zone_minutes).astype(np.int64)
    by_facility = dict(tuple(pairs.groupby("f")))
    rows = []
    for f in order:
        cap = np.inf if capacity is None else float(capacity[f])
        reached = by_facility.get(f)
        inner = outer = 0.0
        last_zone = np.nan
        share = 1.0
        if reached is not None:
            for zone, cells in reached.groupby("zone", sort=True):
                idx = cells["cell"].to_numpy()
                people = remaining[idx]
                zone_total = people.sum()
                last_zone = zone * zone_minutes
                left = cap - inner
                if zone_total <= left:
                    inner += zone_total
                    remaining[idx] = 0.0
                    if zone_total == left:
                        break
                    continue
                share = left / zone_total
                outer = left
                remaining[idx] = people * (1.0 - share)
                break
        rows.append({
            "facility": int(f), "capacity": cap, "inner": inner, "outer": outer, "covered": inner + outer,
            "residual": cap - inner - outer, "catchment_minutes": last_zone, "partial_share": share,
        })
    covered = np.asarray(population, dtype=np.float64) - remaining
    return CapacityCoverage(covered=covered, table=pd.DataFrame(rows))
