"""What every siting model shares: the candidate × cell matrix, the people, what existing facilities cover, the
choice of solver, and covering with ``k`` sites or to a target share (see :mod:`geocover.siting.models`)."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import scipy.sparse as sp

from geocover.siting import solvers
from geocover.siting.solvers import TOLERANCE, Solution

EXACT_MAX_ENTRIES = 100_000
"""``method="auto"`` solves covering exactly up to this many entries of the matrix whose cells reached by
the same candidates are merged (what HiGHS sees), greedily beyond. On the Comoros drive network 31,000
merged entries solve in 4 s and 311,000 in 80 s."""


def as_matrix(matrix: sp.spmatrix | np.ndarray, threshold: float | None = None) -> sp.csr_matrix:
    """A candidate × cell CSR matrix; from a dense array, the entries within ``threshold`` (finite ones).

    Explicit zeros are kept: zero minutes means "at the site".
    """
    if sp.issparse(matrix):
        out = sp.csr_matrix(matrix, dtype=np.float64)
        if threshold is not None:
            out = entries_where(out, out.data <= threshold)
        return out
    dense = np.asarray(matrix, dtype=np.float64)
    keep = np.isfinite(dense) & (dense <= (np.inf if threshold is None else threshold))
    rows, cols = np.nonzero(keep)
    return sp.csr_matrix((dense[rows, cols], (rows, cols)), shape=dense.shape)


def entries_where(matrix: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
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
    exact_max_entries = EXACT_MAX_ENTRIES
    """``method="auto"`` solves exactly up to this many entries of the integer programme, greedily beyond."""

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
            return "exact" if self._exact_entries() <= self.exact_max_entries else "greedy"
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


class CoveringModel(SitingModel):
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
