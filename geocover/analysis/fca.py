"""Two-step floating catchment area (2SFCA) and its enhanced form (E2SFCA).

Inputs are travel times between supply points (facilities) and demand points
(population cells) given as pairs, so a sparse matrix within the catchment is
enough. The definitions are those of Luo & Wang (2003) and Luo & Qi (2009), as
implemented by the ``access`` package (Saxon et al.):

- step 1, per facility ``j``: ``R_j = S_j / sum_k P_k W(t_kj)`` over cells ``k``
  with ``t_kj <= max_minutes``;
- step 2, per cell ``k``: ``A_k = sum_j R_j W(t_kj)`` over the same pairs;

with ``W = 1`` for 2SFCA and a step weight per travel-time band for E2SFCA.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def band_weights(minutes: np.ndarray, weights: Mapping[float, float]) -> np.ndarray:
    """Step weights: the weight of the first band whose upper limit is at or above the time.

    Parameters
    ----------
    minutes : numpy.ndarray
    weights : mapping
        Band upper limit in minutes to weight, e.g. ``{10: 1.0, 20: 0.68, 30: 0.22}``.

    Returns
    -------
    numpy.ndarray
        0 beyond the last band.
    """
    limits = np.array(sorted(weights), dtype=np.float64)
    values = np.array([weights[limit] for limit in sorted(weights)], dtype=np.float64)
    band = np.searchsorted(limits, minutes, side="left")
    return np.where(band < len(limits), values[np.minimum(band, len(limits) - 1)], 0.0)


def floating_catchment(
    supply_index: np.ndarray,
    demand_index: np.ndarray,
    minutes: np.ndarray,
    supply: np.ndarray,
    demand: np.ndarray,
    max_minutes: float,
    weights: Mapping[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """2SFCA (``weights=None``) or E2SFCA accessibility per demand point.

    Parameters
    ----------
    supply_index, demand_index, minutes : numpy.ndarray
        One entry per reachable (facility, cell) pair and its travel time in minutes.
    supply : numpy.ndarray
        Capacity per facility (beds, doctors, or 1 per facility).
    demand : numpy.ndarray
        People per demand point.
    max_minutes : float
        Catchment size.
    weights : mapping, optional
        Band weights for E2SFCA (see :func:`band_weights`).

    Returns
    -------
    access : numpy.ndarray
        Supply per person reachable from each demand point (``A_k``).
    ratio : numpy.ndarray
        Supply-to-demand ratio per facility (``R_j``); NaN where no one is in its catchment.
    """
    keep = minutes <= max_minutes
    j, k, t = supply_index[keep], demand_index[keep], minutes[keep]
    w = np.ones(len(t)) if weights is None else band_weights(t, weights)
    weighted_demand = np.bincount(j, weights=demand[k] * w, minlength=len(supply))
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(weighted_demand > 0, supply / weighted_demand, np.nan)
    contribution = np.where(np.isfinite(ratio[j]), ratio[j], 0.0) * w
    access = np.bincount(k, weights=contribution, minlength=len(demand))
    return access, ratio


def zone_mean(values: np.ndarray, population: np.ndarray, zone: np.ndarray, n_zones: int) -> np.ndarray:
    """Population-weighted mean of ``values`` per zone (``zone`` 1-based, 0 outside), NaN for empty zones."""
    inside = zone > 0
    total = np.bincount(zone[inside], weights=population[inside], minlength=n_zones + 1)[1:]
    weighted = np.bincount(zone[inside], weights=(values * population)[inside], minlength=n_zones + 1)[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, weighted / total, np.nan)
