"""Greedy covering and p-median on sparse candidate × cell matrices, and the :class:`Solution` every solver gives.

The greedy solvers pick, one at a time, the candidate that adds the most to the objective given the sites
already picked, with lazy evaluation: a candidate's last computed gain is an upper bound of its current gain
(the objectives are submodular), so only the candidate on top of the heap is re-evaluated.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

TOLERANCE = 1e-9
"""Relative tolerance on people when comparing gains and targets."""


@dataclass
class Solution:
    """What a solver found.

    Attributes
    ----------
    selected : numpy.ndarray of int64
        Chosen candidate rows, in rank order (greedy order; exact solutions re-ranked greedily).
    gains : numpy.ndarray of float64
        What each chosen site adds in that order: people (covering) or person-minutes saved (p-median).
    objective : float
        People covered beyond those already covered (covering), or person-minutes (p-median).
    status : str
        ``"greedy"``, or HiGHS's model status (``"Optimal"``, ``"Time limit reached"``, ...).
    gap : float
        Relative optimality gap reported by HiGHS, NaN for greedy.
    bound : float
        Best bound on the objective reported by HiGHS, NaN for greedy.
    seconds : float
        Wall-clock solve time, seconds.
    method : {"greedy", "exact"}
    assigned : numpy.ndarray of float64, optional
        People served per cell by the new sites (capacitated covering only).
    """

    selected: np.ndarray
    gains: np.ndarray
    objective: float
    status: str
    gap: float
    bound: float
    seconds: float
    method: str
    assigned: np.ndarray | None = None


def _rows(matrix: sp.csr_matrix, j: int) -> slice:
    return slice(matrix.indptr[j], matrix.indptr[j + 1])


def _lazy_greedy(initial: np.ndarray, gain_of, take, stop) -> tuple[np.ndarray, np.ndarray]:
    """Lazy greedy: ``gain_of(j)`` exact current gain, ``take(j)`` commits, ``stop(picked, total)`` ends."""
    heap = [(-float(g), j) for j, g in enumerate(initial) if g > 0]
    heapq.heapify(heap)
    picked: list[int] = []
    gains: list[float] = []
    while heap and not stop(len(picked), float(np.sum(gains))):
        _, j = heapq.heappop(heap)
        gain = gain_of(j)
        if gain <= 0:
            continue
        if heap and (-gain, j) > heap[0]:
            heapq.heappush(heap, (-gain, j))
            continue
        take(j)
        picked.append(j)
        gains.append(gain)
    return np.asarray(picked, dtype=np.int64), np.asarray(gains, dtype=np.float64)


def _stop_rule(k: int | None, need: float | None):
    def stop(count: int, total: float) -> bool:
        if k is not None and count >= k:
            return True
        return need is not None and total >= need * (1.0 - TOLERANCE)
    return stop


def greedy_cover(coverage: sp.csr_matrix, residual: np.ndarray, k: int | None = None, need: float | None = None,
                 capacity: np.ndarray | None = None) -> Solution:
    """Greedy covering on residual population: each step adds the site that covers the most people left.

    Parameters
    ----------
    coverage : scipy.sparse.csr_matrix, shape (n_candidates, n_cells)
        Which cells each candidate reaches; values are minutes (or km), used with ``capacity``.
    residual : numpy.ndarray of float64
        People per cell not yet covered (zero where existing facilities cover).
    k : int, optional
        Stop after ``k`` sites.
    need : float, optional
        Stop once this many people are covered.
    capacity : numpy.ndarray, shape (n_candidates,), optional
        People each site can serve: a chosen site takes people from its nearest cells first, the
        last one in part.

    Returns
    -------
    Solution
        ``objective`` is the people newly covered, ``assigned`` people covered per cell. Sites that
        add no one are never picked.
    """
    start = time.perf_counter()
    left = np.asarray(residual, dtype=np.float64).copy()
    indices = coverage.indices
    pattern = sp.csr_matrix((np.ones(coverage.nnz), indices, coverage.indptr), shape=coverage.shape)
    limit = np.full(coverage.shape[0], np.inf) if capacity is None else np.asarray(capacity, dtype=np.float64)

    def gain_of(j: int) -> float:
        return float(min(limit[j], left[indices[_rows(coverage, j)]].sum()))

    def take(j: int) -> None:
        part = _rows(coverage, j)
        if capacity is None:
            left[indices[part]] = 0.0
            return
        cells = indices[part][np.argsort(coverage.data[part], kind="stable")]
        before = np.cumsum(left[cells]) - left[cells]
        left[cells] -= np.clip(limit[j] - before, 0.0, left[cells])

    selected, gains = _lazy_greedy(np.minimum(limit, pattern @ left), gain_of, take, _stop_rule(k, need))
    return Solution(selected, gains, float(gains.sum()), "greedy", np.nan, np.nan,
                    time.perf_counter() - start, "greedy", assigned=np.asarray(residual) - left)


def greedy_median(cost: sp.csr_matrix, weights: np.ndarray, base: np.ndarray, k: int) -> Solution:
    """Greedy p-median: each site lowers the minutes of the cells it reaches faster than now.

    Parameters
    ----------
    cost : scipy.sparse.csr_matrix, shape (n_candidates, n_cells)
        Minutes from each cell to each candidate within the cut-off.
    weights : numpy.ndarray
        People per cell.
    base : numpy.ndarray
        Minutes per cell before new sites (existing facility within the cut-off, else the penalty).
    k : int
        Number of new sites.

    Returns
    -------
    Solution
        ``objective`` is the total person-minutes after the new sites; ``gains`` the person-minutes
        each site saves.
    """
    start = time.perf_counter()
    current = np.asarray(base, dtype=np.float64).copy()
    weights = np.asarray(weights, dtype=np.float64)
    rows = np.repeat(np.arange(cost.shape[0]), np.diff(cost.indptr))

    def gain_of(j: int) -> float:
        part = _rows(cost, j)
        cells = cost.indices[part]
        return float((weights[cells] * np.maximum(current[cells] - cost.data[part], 0.0)).sum())

    def take(j: int) -> None:
        part = _rows(cost, j)
        cells = cost.indices[part]
        current[cells] = np.minimum(current[cells], cost.data[part])

    saved = weights[cost.indices] * np.maximum(current[cost.indices] - cost.data, 0.0)
    initial = np.bincount(rows, weights=saved, minlength=cost.shape[0])
    selected, gains = _lazy_greedy(initial, gain_of, take, _stop_rule(k, None))
    return Solution(selected, gains, float((weights * current).sum()), "greedy", np.nan, np.nan,
                    time.perf_counter() - start, "greedy")


def merge_cells(matrix: sp.csr_matrix, weights: np.ndarray, with_values: bool = False):
    """Merge cells (columns) reached by the same candidates, adding their weights.

    Parameters
    ----------
    matrix : scipy.sparse.csr_matrix, shape (n_candidates, n_cells)
    weights : numpy.ndarray
    with_values : bool
        Also require equal values (minutes), as p-median needs.

    Returns
    -------
    merged : scipy.sparse.csr_matrix, shape (n_candidates, n_groups)
    weights : numpy.ndarray
        Summed weight per group.
    group : numpy.ndarray of int64
        Group of each input cell.
    """
    by_cell = matrix.T.tocsr()
    by_cell.sort_indices()
    keys: dict[bytes, int] = {}
    group = np.empty(by_cell.shape[0], dtype=np.int64)
    for i in range(by_cell.shape[0]):
        part = _rows(by_cell, i)
        key = by_cell.indices[part].tobytes()
        if with_values:
            key += b"|" + by_cell.data[part].tobytes()
        group[i] = keys.setdefault(key, len(keys))
    first = np.full(len(keys), -1, dtype=np.int64)
    first[group[::-1]] = np.arange(len(group))[::-1]
    merged = matrix[:, first].tocsr()
    return merged, np.bincount(group, weights=weights, minlength=len(keys)), group
