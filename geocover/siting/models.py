"""Siting models on a sparse candidate × cell matrix, in the style of spopt's ``locate`` models.

A model is built from a matrix (``scipy.sparse`` CSR, one row per candidate site,
one column per population cell; a stored entry means "within the threshold", its
value the minutes or km), the people per cell and what existing facilities already
cover. ``.solve()`` fills the results as attributes. Existing facilities are
always kept: the cells they cover count as covered before any new site.

- :class:`MaximalCovering`: ``k`` new sites covering the most people.
- :class:`SetCovering`: fewest new sites bringing coverage to a target share of the
  population (partial covering below 1); reports when the target cannot be reached.
- :class:`PMedian`: ``k`` new sites minimising person-minutes, people beyond the
  cut-off counted at a stated penalty.
- :class:`AmbulanceStations`: covering with a radius per cell by its urban or rural
  class (5 km urban, 10–20 km rural), by straight line or from a road matrix.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from geocover.siting import solvers
from geocover.siting.base import (
    EXACT_MAX_ENTRIES,
    CoveringModel,
    SitingModel,
    as_matrix,
    entries_where,
    existing_cover,
)
from geocover.siting.candidates import radius_matrix

__all__ = ["EXACT_MAX_ENTRIES", "EXACT_MAX_ENTRIES_MEDIAN", "RURAL_KM", "URBAN_KM", "AmbulanceStations",
           "CoveringModel", "MaximalCovering", "PMedian", "SetCovering", "SitingModel", "as_matrix", "existing_cover",
           "within_limit"]

URBAN_KM = 5.0
"""Ambulance coverage radius in urban areas, km."""

RURAL_KM = (10.0, 20.0)
"""Range of the ambulance coverage radius in rural areas, km (the rule allows 10 to 20)."""

EXACT_MAX_ENTRIES_MEDIAN = 200_000
"""``method="auto"`` solves p-median exactly up to this many matrix entries (one variable each)."""




class MaximalCovering(CoveringModel):
    """Maximal covering location problem: ``k`` new sites covering the most people not yet covered.

    Parameters
    ----------
    matrix : scipy.sparse matrix or numpy.ndarray, shape (n_candidates, n_cells)
        Coverage: a stored entry (dense: a finite value) means the candidate reaches the cell;
        values are minutes or km (used by capacity, nearest first).
    weights : numpy.ndarray
        People per cell.
    k : int
        Number of new sites.
    existing : numpy.ndarray of bool or scipy.sparse matrix, optional
        Cells covered by existing facilities, or an existing × cell coverage matrix.
    capacity : float or numpy.ndarray, optional
        People each new site can serve (one value or one per candidate).

    Attributes
    ----------
    objective : float
        People newly covered by the new sites.
    assigned : numpy.ndarray
        People per cell covered by the new sites.
    """

    name = "mclp"

    def __init__(self, matrix, weights, k: int, existing=None, capacity=None) -> None:
        super().__init__(matrix, weights, existing, k=k, capacity=capacity)


class SetCovering(CoveringModel):
    """Location set covering: fewest new sites bringing coverage to ``target_share`` of the population.

    Below 1 this is partial covering. When existing facilities and every candidate together cannot
    reach the target, :attr:`target_reached` is False, :attr:`achievable_share` says how far
    coverage can go, :attr:`unreached` marks the cells no candidate reaches and
    :attr:`unreachable_population` counts their people; the solution then covers every person any
    candidate reaches.

    Parameters
    ----------
    matrix, weights, existing, capacity
        As :class:`MaximalCovering`.
    target_share : float
        Share of the whole population (0–1) to cover, existing coverage included.

    Attributes
    ----------
    objective : float
        Number of new sites.
    """

    name = "lscp"

    def __init__(self, matrix, weights, target_share: float = 1.0, existing=None, capacity=None) -> None:
        super().__init__(matrix, weights, existing, target_share=target_share, capacity=capacity)


class AmbulanceStations(CoveringModel):
    """Ambulance stations under the urban 5 km / rural 10–20 km rule.

    Each cell is covered by a station within the radius of its class. Build with
    :meth:`from_points` (straight-line distance in a metric CRS) or :meth:`from_matrix` (road km
    or response minutes); then it is maximal covering with ``k`` or set covering to
    ``target_share``.

    Attributes
    ----------
    limit : numpy.ndarray
        Per cell, the distance (km) or minutes within which a station covers it.
    """

    name = "ambulance"

    def __init__(self, matrix, weights, k: int | None = None, target_share: float | None = None,
                 existing=None, capacity=None, limit: np.ndarray | None = None) -> None:
        super().__init__(matrix, weights, existing, k=k, target_share=target_share, capacity=capacity)
        self.limit = limit

    @staticmethod
    def limits(urban: np.ndarray, urban_limit: float = URBAN_KM, rural_limit: float = RURAL_KM[0]) -> np.ndarray:
        """Per cell limit from its class: ``urban_limit`` where ``urban``, else ``rural_limit``."""
        return np.where(np.asarray(urban, dtype=bool), urban_limit, rural_limit)

    @classmethod
    def from_points(cls, candidate_xy: np.ndarray, cell_xy: np.ndarray, weights: np.ndarray, urban: np.ndarray,
                    urban_km: float = URBAN_KM, rural_km: float = RURAL_KM[0], existing_xy: np.ndarray | None = None,
                    **options) -> AmbulanceStations:
        """Coverage by straight-line distance.

        Parameters
        ----------
        candidate_xy, cell_xy : numpy.ndarray, shape (n, 2)
            Coordinates in one metric CRS, metres.
        weights : numpy.ndarray
            People per cell.
        urban : numpy.ndarray of bool
            Urban cells.
        urban_km, rural_km : float
            Coverage radius per class, km.
        existing_xy : numpy.ndarray, optional
            Existing stations, covering under the same rule.
        **options
            ``k`` or ``target_share``, ``capacity``.
        """
        limit = cls.limits(urban, urban_km, rural_km)
        existing = None if existing_xy is None else radius_matrix(existing_xy, cell_xy, limit * 1000.0)
        matrix = radius_matrix(candidate_xy, cell_xy, limit * 1000.0)
        matrix.data /= 1000.0
        return cls(matrix, weights, existing=existing, limit=limit, **options)

    @classmethod
    def from_matrix(cls, matrix: sp.spmatrix | np.ndarray, weights: np.ndarray, urban: np.ndarray,
                    urban_limit: float = URBAN_KM, rural_limit: float = RURAL_KM[0],
                    existing: np.ndarray | sp.spmatrix | None = None, **options) -> AmbulanceStations:
        """Coverage from a candidate × cell matrix of road km or response minutes.

        Parameters
        ----------
        matrix : scipy.sparse matrix or numpy.ndarray
            Road km or response minutes (the ambulance driving out: direction ``"from"``).
        urban : numpy.ndarray of bool
        urban_limit, rural_limit : float
            Limit per class, in the matrix's unit.
        existing : numpy.ndarray of bool or scipy.sparse matrix, optional
            Cells covered by existing stations, or an existing × cell matrix in the same unit
            (its entries beyond the cell's limit are dropped).
        **options
            ``k`` or ``target_share``, ``capacity``.
        """
        limit = cls.limits(urban, urban_limit, rural_limit)
        matrix = within_limit(as_matrix(matrix), limit)
        if existing is not None and sp.issparse(existing):
            existing = within_limit(as_matrix(existing), limit)
        return cls(matrix, weights, existing=existing, limit=limit, **options)


def within_limit(matrix: sp.csr_matrix, limit: np.ndarray) -> sp.csr_matrix:
    """Keep the entries of a source × cell matrix within the limit of their cell."""
    return entries_where(matrix, matrix.data <= np.asarray(limit)[matrix.indices])


class PMedian(SitingModel):
    """p-median on the cut-off matrix: ``k`` new sites minimising person-minutes.

    A cell's minutes are the least of its existing facility (when within the cut-off) and the
    chosen sites; a cell beyond the cut-off of all of them counts at ``penalty_minutes``.

    Parameters
    ----------
    matrix : scipy.sparse matrix or numpy.ndarray, shape (n_candidates, n_cells)
        Minutes from each cell to each candidate; entries beyond ``limit_minutes`` are dropped.
    weights : numpy.ndarray
        People per cell.
    k : int
        Number of new sites.
    limit_minutes : float
        The cut-off, minutes.
    penalty_minutes : float
        Minutes counted for people beyond the cut-off; at least ``limit_minutes``.
    existing_minutes : numpy.ndarray, optional
        Minutes from each cell to its nearest existing facility (``inf`` when none).

    Attributes
    ----------
    objective : float
        Person-minutes after the new sites.
    saved : numpy.ndarray
        Person-minutes each chosen site saves, in rank order.
    minutes_after : numpy.ndarray
        Minutes counted per cell after the new sites.
    mean_minutes_before, mean_minutes_after : float
        Population-weighted mean of the counted minutes.
    """

    name = "pmedian"
    exact_max_entries = EXACT_MAX_ENTRIES_MEDIAN

    def __init__(self, matrix, weights, k: int, limit_minutes: float, penalty_minutes: float,
                 existing_minutes: np.ndarray | None = None) -> None:
        if penalty_minutes < limit_minutes:
            raise ValueError(f"penalty_minutes ({penalty_minutes}) must be at least limit_minutes ({limit_minutes})")
        matrix = as_matrix(matrix, limit_minutes)
        minutes = np.full(matrix.shape[1], np.inf) if existing_minutes is None else np.asarray(existing_minutes)
        super().__init__(matrix, weights, minutes <= limit_minutes)
        self.k, self.limit_minutes, self.penalty_minutes = k, limit_minutes, penalty_minutes
        self.base = np.where(self.covered_before, minutes, penalty_minutes)
        self.mean_minutes_before = _mean(self.base, self.weights)

    def solve(self, method: str = "auto", time_limit_s: float = 60.0, mip_gap: float = 0.0) -> PMedian:
        """Choose the sites; parameters as :meth:`MaximalCovering.solve`."""
        if self._choose(method) == "greedy":
            solution = solvers.greedy_median(self.matrix, self.weights, self.base, self.k)
        else:
            solution = solvers.exact_median(self.matrix, self.weights, self.base, self.k, time_limit_s, mip_gap)
        self._store(solution)
        self.saved = solution.gains
        current = self.base.copy()
        covered = self.covered_before.copy()
        added = []
        for j in solution.selected:
            part = slice(self.matrix.indptr[j], self.matrix.indptr[j + 1])
            cells = self.matrix.indices[part]
            new = cells[~covered[cells]]
            added.append(float(self.weights[new].sum()))
            covered[cells] = True
            current[cells] = np.minimum(current[cells], self.matrix.data[part])
        self.added = np.asarray(added)
        self.minutes_after = current
        self.mean_minutes_after = _mean(current, self.weights)
        self.population_after = float(self.weights[covered].sum())
        return self


def _mean(minutes: np.ndarray, weights: np.ndarray) -> float:
    total = weights.sum()
    return float((minutes * weights).sum() / total) if total else float("nan")
