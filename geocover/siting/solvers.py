"""Greedy and exact (HiGHS) solvers for covering and p-median siting on sparse matrices.

Every solver works on a sparse candidate × cell matrix in CSR form: a stored
entry ``(j, i)`` means candidate ``j`` reaches cell ``i`` within the threshold
and its value is the minutes (or km) between them. Only the structure counts
for covering; explicit zeros are kept and mean "at the site". Weights are
people per cell.

The greedy solvers pick, one at a time, the candidate that adds the most to the
objective given the sites already picked, with lazy evaluation: a candidate's
last computed gain is an upper bound of its current gain (the objectives are
submodular), so only the candidate on top of the heap is re-evaluated. The
exact solvers write the integer programme for HiGHS (``highspy``) after
merging cells that the same candidates reach (they enter the programme
identically) and report status, objective, best bound and relative gap.
"""

from __future__ import annotations

import heapq
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

TOLERANCE = 1e-9
"""Relative tolerance on people when comparing gains and targets."""

PRESOLVE_MAX_ENTRIES = 1_000_000
"""Above this many constraint entries HiGHS's presolve is switched off: on large covering models it runs for
minutes past the time limit (5,000 × 200,000 cells: 370 s of presolve under a 60 s limit)."""


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


def _highs(cost: np.ndarray, matrix: sp.spmatrix, row_lower: np.ndarray, row_upper: np.ndarray, n_integer: int,
           maximize: bool, time_limit_s: float, mip_gap: float, start: np.ndarray) -> tuple:
    """Solve a MIP in HiGHS, every column in [0, 1] and the first ``n_integer`` integer (binary).

    ``start`` lists the binaries set to 1 in a starting solution. Returns ``(x, objective, bound,
    gap, status)``, ``x`` None when no feasible solution was found.
    """
    import highspy

    csc = sp.csc_matrix(matrix)
    n_row, n_col = csc.shape
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_col, n_row
    lp.col_cost_ = np.asarray(cost, dtype=np.float64)
    lp.col_lower_, lp.col_upper_ = np.zeros(n_col), np.ones(n_col)
    lp.row_lower_ = np.nan_to_num(np.asarray(row_lower, dtype=np.float64), neginf=-highspy.kHighsInf)
    lp.row_upper_ = np.nan_to_num(np.asarray(row_upper, dtype=np.float64), posinf=highspy.kHighsInf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n_col, n_row
    lp.a_matrix_.start_, lp.a_matrix_.index_ = csc.indptr.astype(np.int32), csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = csc.data.astype(np.float64)
    kinds = highspy.HighsVarType
    lp.integrality_ = [kinds.kInteger] * n_integer + [kinds.kContinuous] * (n_col - n_integer)
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    h = _silent_highs(highspy)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    if csc.nnz > PRESOLVE_MAX_ENTRIES:
        h.setOptionValue("presolve", "off")
    h.passModel(lp)
    values = np.zeros(n_integer)
    values[start] = 1.0
    h.setSolution(n_integer, np.arange(n_integer, dtype=np.int32), values)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    if info.primal_solution_status != highspy.kSolutionStatusFeasible:
        return None, np.nan, np.nan, np.nan, status
    x = np.asarray(h.getSolution().col_value)
    return x, float(info.objective_function_value), float(info.mip_dual_bound), float(info.mip_gap), status


_BANNER_LOCK = threading.Lock()
_banner_shown = False


def _silent_highs(highspy):
    """A ``Highs`` instance without its banner.

    HiGHS prints the banner from C++ when the process makes its first ``Highs`` (before any option,
    ``output_flag`` included, can be set), so only that first construction sends file descriptor 1 to
    /dev/null, under a lock, and restores it at once; later instances leave stdout alone.
    """
    global _banner_shown
    with _BANNER_LOCK:
        if _banner_shown:
            return highspy.Highs()
        with _stdout_to_devnull():
            highs = highspy.Highs()
        _banner_shown = True
        return highs


@contextmanager
def _stdout_to_devnull() -> Iterator[None]:
    """File descriptor 1 goes to /dev/null for the ``with`` block, then back where it was."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _assignment_rows(entries: sp.coo_matrix) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Rows over columns ``[x (candidates), z (one per entry)]``: ``sum_j z_jg <= 1`` per cell, ``z_jg <= x_j``."""
    (n_cand, m), nnz = entries.shape, entries.nnz
    z = n_cand + np.arange(nnz)
    per_cell = sp.csr_matrix((np.ones(nnz), (entries.col, z)), shape=(m, n_cand + nnz))
    opened = sp.csr_matrix((np.r_[np.ones(nnz), -np.ones(nnz)], (np.r_[z, z] - n_cand, np.r_[z, entries.row])),
                           shape=(nnz, n_cand + nnz))
    return per_cell, opened


def _no_solution(status: str) -> None:
    raise RuntimeError(f"HiGHS found no feasible solution ({status}): raise time_limit_s or use method='greedy'")


def merge_open_cells(coverage: sp.csr_matrix, residual: np.ndarray) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray,
                                                                              np.ndarray]:
    """The cells an exact covering model sees: those with people left that some candidate reaches,
    merged where the same candidates reach them. Returns ``(kept cells, merged matrix, weights, group)``
    (see :func:`merge_cells`)."""
    residual = np.asarray(residual, dtype=np.float64)
    keep = np.flatnonzero((residual > 0) & (np.diff(coverage.tocsc().indptr) > 0))
    return (keep, *merge_cells(coverage[:, keep].tocsr(), residual[keep]))


def exact_cover(
    coverage: sp.csr_matrix,
    residual: np.ndarray,
    k: int | None = None,
    need: float | None = None,
    capacity: np.ndarray | None = None,
    time_limit_s: float = 60.0,
    mip_gap: float = 0.0,
    open_cells: tuple | None = None,
) -> Solution:
    """Maximal covering (``k``) or fewest sites reaching ``need`` people, as a MIP for HiGHS.

    The greedy solution is given to HiGHS as a starting incumbent, so a run stopped by the time
    limit is never worse than greedy.

    Parameters
    ----------
    coverage : scipy.sparse.csr_matrix, shape (n_candidates, n_cells)
    residual : numpy.ndarray
        People per cell not yet covered.
    k : int, optional
        At most ``k`` sites; maximise people covered.
    need : float, optional
        Cover at least ``need`` people; minimise the number of sites. Exactly one of ``k``, ``need``.
    capacity : numpy.ndarray, optional
        People each site can serve; a cell may be split between sites.
    time_limit_s : float
        HiGHS time limit, seconds.
    mip_gap : float
        Relative optimality gap at which HiGHS stops (0: proven optimal).
    open_cells : tuple, optional
        :func:`merge_open_cells` of ``coverage`` and ``residual``, when already computed.

    Returns
    -------
    Solution
        ``objective`` is people covered (``k``) or the number of sites (``need``); ``bound`` and ``gap``
        HiGHS's. Chosen sites are ranked greedily by the people each adds (uncapacitated) or by the
        people each serves (capacitated); ``assigned`` holds people covered per cell.
    """
    clock = time.perf_counter()
    n_cand = coverage.shape[0]
    residual = np.asarray(residual, dtype=np.float64)
    keep, merged, weight, group = open_cells if open_cells is not None else merge_open_cells(coverage, residual)
    merged = merged.copy()
    merged.data = np.ones(merged.nnz)
    m = merged.shape[1]
    greedy = greedy_cover(coverage, residual, k, need, capacity)
    if capacity is None:
                # columns: x (candidates), y (share of each merged cell covered); y_g <= sum_j a_jg x_j
        a = sp.hstack([-merged.T, sp.identity(m)], format="csr")
        lower, upper = np.full(m, -np.inf), np.zeros(m)
        people = np.r_[np.zeros(n_cand), weight]
    else:
        capacity = np.asarray(capacity, dtype=np.float64)
        # columns: x, z (share of merged cell g served by candidate j, one per entry)
        entries = merged.tocoo()
        nnz = entries.nnz
        per_cell, opened = _assignment_rows(entries)
        served = sp.csr_matrix(
            (np.r_[weight[entries.col], -capacity],
             (np.r_[entries.row, np.arange(n_cand)], np.r_[n_cand + np.arange(nnz), np.arange(n_cand)])),
            shape=(n_cand, n_cand + nnz),
        )
        a = sp.vstack([per_cell, served, opened], format="csr")
        lower = np.full(m + n_cand + nnz, -np.inf)
        upper = np.r_[np.ones(m), np.zeros(n_cand + nnz)]
        people = np.r_[np.zeros(n_cand), weight[entries.col]]
    n_col = a.shape[1]
    count = np.r_[np.ones(n_cand), np.zeros(n_col - n_cand)]
    if k is not None:
        rows = sp.vstack([a, sp.csr_matrix(count)], format="csr")
        lower, upper, objective = np.r_[lower, -np.inf], np.r_[upper, k], people
    else:
        rows = sp.vstack([a, sp.csr_matrix(people)], format="csr")
        lower, upper, objective = np.r_[lower, need * (1.0 - TOLERANCE)], np.r_[upper, np.inf], count
    x, value, bound, gap, status = _highs(objective, rows, lower, upper, n_cand, k is not None, time_limit_s,
                                          mip_gap, greedy.selected)
    if x is None:
        _no_solution(status)
    chosen = np.flatnonzero(x[:n_cand] > 0.5)
    if capacity is None:
        ranked = greedy_cover(coverage[chosen].tocsr(), residual, k=len(chosen))
        selected, gains = chosen[ranked.selected], ranked.gains
        assigned = np.zeros(len(residual))
        reached = np.diff(coverage[chosen].tocsc().indptr) > 0
        assigned[reached] = residual[reached]
    else:
        per_site = np.bincount(entries.row, weights=people[n_cand:] * x[n_cand:], minlength=n_cand)[chosen]
        order = np.lexsort((chosen, -per_site))
        useful = per_site[order] > 0
        selected, gains = chosen[order][useful], per_site[order][useful]
        share = np.bincount(entries.col, weights=x[n_cand:], minlength=m)
        assigned = np.zeros(len(residual))
        assigned[keep] = np.minimum(share[group], 1.0) * residual[keep]
    return Solution(selected, gains, value, status, gap, bound, time.perf_counter() - clock, "exact", assigned)


def exact_median(
    cost: sp.csr_matrix,
    weights: np.ndarray,
    base: np.ndarray,
    k: int,
    time_limit_s: float = 60.0,
    mip_gap: float = 0.0,
) -> Solution:
    """p-median on a cut-off matrix as a MIP for HiGHS: at most ``k`` new sites, least person-minutes.

    Each cell keeps its ``base`` minutes (existing facility within the cut-off, else the penalty)
    unless an open site is faster; only such entries enter the programme.

    Parameters
    ----------
    cost : scipy.sparse.csr_matrix, shape (n_candidates, n_cells)
        Minutes within the cut-off.
    weights : numpy.ndarray
        People per cell.
    base : numpy.ndarray
        Minutes per cell without new sites.
    k : int
    time_limit_s, mip_gap
        As in :func:`exact_cover`.

    Returns
    -------
    Solution
        ``objective`` and ``bound`` in person-minutes; chosen sites ranked greedily by the
        person-minutes each saves.
    """
    clock = time.perf_counter()
    n_cand = cost.shape[0]
    weights = np.asarray(weights, dtype=np.float64)
    base = np.asarray(base, dtype=np.float64)
    entries = cost.tocoo()
    useful = (entries.data < base[entries.col]) & (weights[entries.col] > 0)
    faster = sp.csr_matrix(
        (entries.data[useful], (entries.row[useful], entries.col[useful])), shape=cost.shape
    )
    cells = np.flatnonzero(np.diff(faster.tocsc().indptr) > 0)
    # Cells with the same candidates at the same minutes and the same base merge.
    stacked = sp.vstack([faster[:, cells], sp.csr_matrix(base[cells] + 1.0)], format="csr")
    merged, weight, _ = merge_cells(stacked, weights[cells], with_values=True)
    base_g = merged[n_cand].toarray().ravel() - 1.0
    merged = merged[:n_cand].tocoo()
    m, nnz = merged.shape[1], merged.nnz
    per_cell, opened = _assignment_rows(merged)
    count = sp.csr_matrix(np.r_[np.ones(n_cand), np.zeros(nnz)])
    rows = sp.vstack([per_cell, opened, count], format="csr")
    lower = np.full(m + nnz + 1, -np.inf)
    upper = np.r_[np.ones(m), np.zeros(nnz), k]
    objective = np.r_[np.zeros(n_cand), weight[merged.col] * (merged.data - base_g[merged.col])]
    constant = float((weights * base).sum())
    greedy = greedy_median(cost, weights, base, k)
    x, value, bound, gap, status = _highs(objective, rows, lower, upper, n_cand, False, time_limit_s, mip_gap,
                                          greedy.selected)
    if x is None:
        _no_solution(status)
    chosen = np.flatnonzero(x[:n_cand] > 0.5)
    ranked = greedy_median(cost[chosen].tocsr(), weights, base, len(chosen))
    return Solution(chosen[ranked.selected], ranked.gains, value + constant, status, gap, bound + constant,
                    time.perf_counter() - clock, "exact")
