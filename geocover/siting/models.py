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

from functools import cached_property

import numpy as np
import scipy.sparse as sp

from geocover.siting import solvers
from geocover.siting.candidates import radius_matrix
from geocover.siting.solvers import TOLERANCE, Solution

URBAN_KM = 5.0
"""Ambulance coverage radius in urban areas, km."""

RURAL_KM = (10.0, 20.0)
"""Range of the ambulance coverage radius in rural areas, km (the rule allows 10 to 20)."""

EXACT_MAX_ENTRIES = 100_000
"""``method="auto"`` solves covering exactly up to this many entries of the matrix whose cells reached by
the same candidates are merged (what HiGHS sees), greedily beyond. On the Comoros drive network 31,000
merged entries solve in 4 s and 311,000 in 80 s."""

EXACT_MAX_ENTRIES_MEDIAN = 200_000
"""``method="auto"`` solves p-median exactly up to this many matrix entries (one variable each)."""


def as_matrix(matrix: sp.spmatrix | np.ndarray, threshold: float | None = None) -> sp.csr_matrix:
    """A candidate × cell CSR matrix; from a dense array, the entries within ``threshold`` (finite ones).

    Explicit zeros are kept: zero minutes means "at the site".
    """
    if sp.issparse(matrix):
        out = sp.csr_matrix(matrix, dtype=np.float64)
        if threshold is not None:
            out = _entries_where(out, out.data <= threshold)
        return out
    dense = np.asarray(matrix, dtype=np.float64)
    keep = np.isfinite(dense) & (dense <= (np.inf if threshold is None else threshold))
    rows, cols = np.nonzero(keep)
    return sp.csr_matrix((dense[rows, cols], (rows, cols)), shape=dense.shape)


def _entries_where(matrix: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
    coo = matrix.tocoo()
    return sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=matrix.shape)


def existing_cover(existing: np.ndarray | sp.spmatrix | None, n_cells: int) -> np.ndarray:
    """Cells covered before new sites, from a boolean per cell or a sparse existing × cell matrix."""
    if existing is None:
        return np.zeros(n_cells, dtype=bool)
    sparse = sp.issparse(existing)
    covered = np.diff(sp.csc_matrix(existing).indptr) > 0 if sparse else np.asarray(existing, dtype=bool)
    if covered.shape != (n_cells,):
        raise ValueError(f"existing coverage has {covered.shape[0]} cells, the matrix {n_cells}")
    return covered


class SitingModel:
    """Common inputs and results of the siting models.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix, shape (n_candidates, n_cells)
    weights : numpy.ndarray
        People per cell.
    covered_before : numpy.ndarray of bool
        Cells covered by existing facilities.
    solution : Solution
        Set by :meth:`solve`.
    selected : numpy.ndarray of int64
        Chosen candidate rows in rank order (greedy order, or the exact solution re-ranked greedily).
    added : numpy.ndarray
        People each chosen site adds, in rank order (marginal, given the sites ranked before it).
    population_total, population_before, population_after : float
        People in all cells, covered before and after the new sites.
    objective, status, gap, bound, method, seconds
        From :class:`Solution`.
    """

    name = "model"

    def __init__(self, matrix: sp.spmatrix | np.ndarray, weights: np.ndarray,
                 existing: np.ndarray | sp.spmatrix | None = None) -> None:
        self.matrix = as_matrix(matrix)
        self.weights = np.asarray(weights, dtype=np.float64)
        if self.weights.shape != (self.matrix.shape[1],):
            raise ValueError(f"{len(self.weights)} weights for {self.matrix.shape[1]} cells")
        if (self.weights < 0).any() or not np.isfinite(self.weights).all():
            raise ValueError("weights must be finite and non-negative")
        self.covered_before = existing_cover(existing, self.matrix.shape[1])
        self.population_total = float(self.weights.sum())
        self.population_before = float(self.weights[self.covered_before].sum())

    def _choose(self, method: str) -> str:
        if method not in ("auto", "exact", "greedy"):
            raise ValueError(f"method must be 'auto', 'exact' or 'greedy', got {method!r}")
        if method == "auto":
            limit = EXACT_MAX_ENTRIES_MEDIAN if isinstance(self, PMedian) else EXACT_MAX_ENTRIES
            return "exact" if self._exact_entries() <= limit else "greedy"
        return method

    def _exact_entries(self) -> int:
        """Size of the integer programme, in matrix entries."""
        return self.matrix.nnz

    def _store(self, solution: Solution) -> None:
        self.solution = solution
        self.selected = solution.selected
        self.objective, self.status, self.gap = solution.objective, solution.status, solution.gap
        self.bound, self.method, self.seconds = solution.bound, solution.method, solution.seconds

    @property
    def share_before(self) -> float:
        """Share of the population covered before new sites."""
        return self.population_before / self.population_total if self.population_total else 0.0

    @property
    def share_after(self) -> float:
        """Share of the population covered after the new sites."""
        return self.population_after / self.population_total if self.population_total else 0.0


class _Covering(SitingModel):
    """Covering with ``k`` sites (maximal) or to a target share (fewest sites); optional capacity."""

    def __init__(self, matrix, weights, existing=None, k: int | None = None, target_share: float | None = None,
                 capacity: np.ndarray | float | None = None) -> None:
        super().__init__(matrix, weights, existing)
        if (k is None) == (target_share is None):
            raise ValueError("give exactly one of k and target_share")
        if k is not None and k < 0:
            raise ValueError(f"k must be non-negative, got {k}")
        if target_share is not None and not 0.0 <= target_share <= 1.0:
            raise ValueError(f"target_share must lie in [0, 1], got {target_share}")
        self.k, self.target_share = k, target_share
        self.capacity = None if capacity is None else np.broadcast_to(
            np.asarray(capacity, dtype=np.float64), (self.matrix.shape[0],)).copy()
        self.residual = np.where(self.covered_before, 0.0, self.weights)
        reachable = np.diff(self.matrix.tocsc().indptr) > 0
        self.unreached = ~self.covered_before & ~reachable & (self.weights > 0)
        self.unreachable_population = float(self.weights[self.unreached].sum())

    @cached_property
    def _open_cells(self) -> tuple:
        return solvers.merge_open_cells(self.matrix, self.residual)

    def _exact_entries(self) -> int:
        return self._open_cells[1].nnz

    @classmethod
    def from_cost_matrix(cls, cost: sp.spmatrix | np.ndarray, weights: np.ndarray, threshold: float, **options):
        """Build from a candidate × cell matrix of minutes (or km), keeping the entries within ``threshold``."""
        return cls(as_matrix(cost, threshold), weights, **options)

    def solve(self, method: str = "auto", time_limit_s: float = 60.0, mip_gap: float = 0.0):
        """Choose the sites.

        Parameters
        ----------
        method : {"auto", "exact", "greedy"}
            ``"exact"``: integer programme in HiGHS; ``"greedy"``: lazy greedy on residual
            population; ``"auto"``: exact up to :data:`EXACT_MAX_ENTRIES` merged matrix entries
            (:data:`EXACT_MAX_ENTRIES_MEDIAN` matrix entries for p-median).
        time_limit_s : float
            HiGHS time limit, seconds; the best solution found is kept and :attr:`gap` says how far
            from optimal it may be.
        mip_gap : float
            Relative optimality gap at which HiGHS stops.

        Returns
        -------
        self
        """
        method = self._choose(method)
        k, need = self.k, None
        if self.target_share is not None:
            need = self.target_share * self.population_total - self.population_before
            coverable = self.population_total - self.population_before - self.unreachable_population
            self.target_reached = need <= coverable * (1.0 + TOLERANCE) + TOLERANCE
            self.achievable_share = 1.0 - self.unreachable_population / max(self.population_total, TOLERANCE)
            need = min(need, coverable)
        if need is not None and need <= 0:
            empty = np.empty(0, dtype=np.int64)
            solution = Solution(empty, np.empty(0), 0.0, "target met by existing facilities", 0.0, 0.0, 0.0, method,
                                np.zeros_like(self.weights))
        elif method == "greedy":
            solution = solvers.greedy_cover(self.matrix, self.residual, k, need, self.capacity)
        else:
            solution = solvers.exact_cover(self.matrix, self.residual, k, need, self.capacity, time_limit_s, mip_gap,
                                           self._open_cells)
        if self.target_share is not None:
            solution.objective = float(len(solution.selected))
        self._store(solution)
        self.added = solution.gains
        self.assigned = solution.assigned
        self.population_after = self.population_before + float(solution.gains.sum())
        return self


class MaximalCovering(_Covering):
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


class SetCovering(_Covering):
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


class AmbulanceStations(_Covering):
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
    return _entries_where(matrix, matrix.data <= np.asarray(limit)[matrix.indices])


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
