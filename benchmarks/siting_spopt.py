"""Siting against spopt on its San Francisco instance, and a scale run.

Part 1 solves spopt's San Francisco test instance (16 candidate stores, 205 census
tracts, network metres; read from the installed spopt package) with spopt (PuLP +
CBC, and PuLP + HiGHS) and with geocover's exact and greedy solvers: MCLP (p = 4,
5,000 m), LSCP (5,000 m) and p-median (p = 4), printing both objectives, whether
they are equal, and the time ratio (spopt / geocover, model building included,
median of ``--repeat`` runs); then the same for MCLP and LSCP on a synthetic
instance of 200 candidates and 4,000 cells. Part 2 builds a synthetic instance of 5,000
candidates and 200,000 populated cells (clustered settlements in a 100 km square,
coverage within 5 km) and prints the time to build the matrix and to solve it.

Run: ``python benchmarks/siting_spopt.py`` (needs spopt and pulp; ``--skip-spopt`` for part 2 only).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from geocover.siting.candidates import radius_matrix
from geocover.siting.models import MaximalCovering, PMedian, SetCovering


def timed(function, repeat: int):
    """Result of the last call and the median wall-clock seconds over ``repeat`` calls."""
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - start)
    return result, statistics.median(seconds)


def san_francisco() -> tuple[np.ndarray, np.ndarray]:
    """Cost (tracts × stores, metres) and tract population, as spopt's tests read them."""
    import spopt

    data = Path(spopt.__file__).parent / "tests" / "test_locate" / "data"
    distance = pd.read_csv(data / "SF_network_distance_candidateStore_16_censusTract_205_new.csv")
    cost = distance.pivot_table(values="distance", index="DestinationName", columns="name")
    demand = pd.read_csv(data / "SF_demand_205_centroid_uniform_weight.csv").sort_values("NAME")
    return cost.to_numpy(), demand["POP2000"].to_numpy(dtype=float)


def spopt_cases(cost: np.ndarray, weights: np.ndarray, radius: float, p: int, median: bool) -> dict:
    """Model name to (spopt solve given a PuLP solver, geocover solve given a method); cost is cells × sites."""
    from spopt.locate import LSCP, MCLP
    from spopt.locate import PMedian as SpoptPMedian

    cases = {
        f"MCLP p={p}": (
            lambda solver: MCLP.from_cost_matrix(cost, weights, radius, p).solve(solver),
            lambda method: MaximalCovering.from_cost_matrix(cost.T, weights, radius, k=p).solve(method),
        ),
        "LSCP": (
            lambda solver: LSCP.from_cost_matrix(cost, radius).solve(solver),
            lambda method: SetCovering.from_cost_matrix(cost.T, weights, radius, target_share=1.0).solve(method),
        ),
    }
    if median:
        limit = float(cost.max())
        cases[f"p-median p={p}"] = (
            lambda solver: SpoptPMedian.from_cost_matrix(cost, weights, p).solve(solver),
            lambda method: PMedian(cost.T, weights, p, limit, limit).solve(method),
        )
    return cases


def compare_spopt(title: str, cases: dict, repeat: int) -> None:
    import pulp

    solvers = {"CBC": lambda: pulp.PULP_CBC_CMD(msg=False), "HiGHS": lambda: pulp.HiGHS(msg=False)}
    print(f"{title}, median of {repeat} runs")
    print(f"{'model':<16}{'solver':<8}{'spopt objective':>18}{'geocover exact':>18}{'equal':>7}"
          f"{'spopt s':>10}{'geocover s':>12}{'ratio':>8}{'greedy/exact':>14}")
    for name, (theirs, ours) in cases.items():
        exact, ours_s = timed(lambda ours=ours: ours("exact"), repeat)
        greedy = ours("greedy")
        for label, make in solvers.items():
            model, theirs_s = timed(lambda theirs=theirs, make=make: theirs(make()), repeat)
            objective = pulp.value(model.problem.objective)
            equal = bool(np.isclose(objective, exact.objective, rtol=1e-9))
            quality = greedy.objective / exact.objective
            print(f"{name:<16}{label:<8}{objective:>18,.2f}{exact.objective:>18,.2f}{str(equal):>7}"
                  f"{theirs_s:>10.3f}{ours_s:>12.3f}{theirs_s / ours_s:>8.1f}{quality:>14.4f}")
    print("ratio: spopt seconds / geocover seconds, model building included; greedy/exact: objectives "
          "(p-median minimises, so above 1 is worse)\n")


def synthetic(n_candidates: int, n_cells: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clustered settlements in a 100 km square: cell centres, people per cell, candidate sites (metres)."""
    rng = np.random.default_rng(seed)
    towns = rng.uniform(0.0, 100_000.0, (400, 2))
    clustered = towns[rng.integers(0, 400, n_cells * 3 // 4)] + rng.normal(0.0, 2_000.0, (n_cells * 3 // 4, 2))
    scattered = rng.uniform(0.0, 100_000.0, (n_cells - len(clustered), 2))
    cells = np.clip(np.vstack([clustered, scattered]), 0.0, 100_000.0)
    people = rng.lognormal(2.0, 1.0, n_cells)
    sites = cells[rng.choice(n_cells, n_candidates, replace=False)]
    return cells, people, sites


def scale_run(n_candidates: int, n_cells: int, radius_m: float, time_limit_s: float, exact: bool) -> None:
    cells, people, sites = synthetic(n_candidates, n_cells)
    start = time.perf_counter()
    matrix = radius_matrix(sites, cells, radius_m)
    build = time.perf_counter() - start
    existing = np.zeros(n_cells, dtype=bool)
    existing[radius_matrix(sites[:40], cells, radius_m).indices] = True
    print(f"\nScale: {n_candidates:,} candidates x {n_cells:,} populated cells, {matrix.nnz:,} entries "
          f"within {radius_m / 1000:g} km; matrix built in {build:.2f} s; existing cover "
          f"{people[existing].sum() / people.sum():.1%}")
    print(f"{'run':<34}{'seconds':>10}{'objective':>16}{'share after':>13}{'status':>22}{'gap':>9}{'bound':>16}")
    runs = [(f"MCLP greedy k={k}", lambda k=k: MaximalCovering(matrix, people, k, existing), "greedy")
            for k in (10, 50, 200)]
    runs += [("LSCP greedy to 95%", lambda: SetCovering(matrix, people, 0.95, existing), "greedy"),
             ("MCLP greedy k=50 capacity 20,000", lambda: MaximalCovering(matrix, people, 50, existing, 20_000.0),
              "greedy"),
             ("p-median greedy k=50", lambda: PMedian(matrix / 1000.0, people, 50, radius_m / 1000.0,
                                                      2 * radius_m / 1000.0), "greedy")]
    if exact:
        runs += [(f"MCLP exact k={k}", lambda k=k: MaximalCovering(matrix, people, k, existing), "exact")
                 for k in (10, 50)]
    for name, build_model, method in runs:
        start = time.perf_counter()
        model = build_model().solve(method, time_limit_s=time_limit_s, mip_gap=1e-4)
        seconds = time.perf_counter() - start
        gap = "" if np.isnan(model.gap) else f"{model.gap:.2e}"
        bound = "" if np.isnan(model.bound) else f"{model.bound:,.1f}"
        if not getattr(model, "target_reached", True):
            name += f" (reachable {model.achievable_share:.1%})"
        print(f"{name:<34}{seconds:>10.2f}{model.objective:>16,.1f}{model.share_after:>13.4f}"
              f"{model.status:>22}{gap:>9}{bound:>16}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing (median)")
    parser.add_argument("--skip-spopt", action="store_true")
    parser.add_argument("--candidates", type=int, default=5_000)
    parser.add_argument("--cells", type=int, default=200_000)
    parser.add_argument("--radius-m", type=float, default=5_000.0)
    parser.add_argument("--time-limit", type=float, default=120.0, help="HiGHS time limit of the exact runs, s")
    parser.add_argument("--no-exact", action="store_true", help="greedy only in the scale run")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    if not args.skip_spopt:
        cost, weights = san_francisco()
        compare_spopt(f"San Francisco (spopt's test data): {cost.shape[1]} candidate stores, {cost.shape[0]} tracts, "
                      "5,000 m", spopt_cases(cost, weights, 5000.0, 4, median=True), args.repeat)
        cells, people, sites = synthetic(200, 4_000)
        cost = np.hypot(*(cells[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
        coverable = (cost <= 5000.0).any(axis=1)  # spopt's LSCP is infeasible with a cell no site reaches
        cost, people = cost[coverable], people[coverable]
        compare_spopt(f"Synthetic: 200 candidates, {len(people):,} cells some candidate reaches, 5,000 m",
                      spopt_cases(cost, people, 5000.0, 10, median=False), max(1, args.repeat // 5))
    scale_run(args.candidates, args.cells, args.radius_m, args.time_limit, not args.no_exact)


if __name__ == "__main__":
    main()
