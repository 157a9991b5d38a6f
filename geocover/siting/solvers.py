"""Greedy and exact (HiGHS) solvers for covering and p-median siting on sparse matrices.

Every solver works on a sparse candidate × cell matrix in CSR form: a stored
entry ``(j, i)`` means candidate ``j`` reaches cell ``i`` within the threshold
and its value is the minutes (or km) between them. Only the structure counts
for covering; explicit zeros are kept and mean "at the site". Weights are
people per cell.

The greedy solvers live in :mod:`geocover.siting.greedy` (and are re-exported here). The
exact solvers write the integer programme for HiGHS (``highspy``) after
merging cells that the same candidates reach (they enter the programme
identically) and report status, objective, best bound and relative gap.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp

from geocover.siting.greedy import TOLERANCE, Solution, greedy_cover, greedy_median, merge_cells

__all__ = ["PRESOLVE_MAX_ENTRIES", "TOLERANCE", "Solution", "exact_cover", "exact_median", "greedy_cover",
           "greedy_median", "merge_cells", "merge_open_cells"]

PRESOLVE_MAX_ENTRIES = 1_000_000
"""Above this many constraint entries HiGHS's presolve is switched off: on large covering models it runs for
minutes past the time limit (5,000 × 200,000 cells: 370 s of presolve under a 60 s limit)."""


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
