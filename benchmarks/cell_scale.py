"""Scale of the cell question (#21): snapping and answering 10^4, 10^5 and 10^6 populated cells on 3x10^6 nodes.

The synthetic street lattice of :mod:`scale` (3x10^6 nodes, 150 m apart, about 6x10^6 segments) and
1,000 facilities on random segments; cells at random positions over the lattice and a 5 km margin
around it (so some lie far from every road). Steps, each timed (wall seconds) with the process's peak
resident set (Linux ``VmHWM``, reset before the step, everything held included):

* the snapping index (the segments' vertices in a KD-tree), built once per network;
* snapping the cells exactly, no cut-off (:func:`geocover.network.snapping.snap_points`);
* the answer: the nearest-facility search (the first one also builds the junction graph) and every
  cell's minutes under the off-road rule of ``cell_accessibility`` (the best road of every connected piece
  within 5 km, :func:`geocover.travel.legs.best_legs`; no water).

For 30 cells of each size the snap is checked against a brute force over all segments; the script
exits with status 1 when one differs. Goal: 10^6 cells in under 5 s and 4 GB. On one thread
(``OMP_NUM_THREADS=1`` is set before the KD-tree loads), so the CPU time is the cost on one core.

Run from the repository root: ``python benchmarks/cell_scale.py [--nodes 3000000]`` (about a minute).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
from _common import fail, table  # noqa: E402
from scale import grid_segments, measure, random_facilities  # noqa: E402

from geocover.network.graph import build_network  # noqa: E402
from geocover.network.snapping import Snap, project, sample_index, snap_points  # noqa: E402
from geocover.travel.cells import OFFROAD_MAX_M  # noqa: E402
from geocover.travel.legs import best_legs  # noqa: E402
from geocover.travel.nearest import nearest_facility_nodes  # noqa: E402

WALK_KMH = 5.0
CPU_SECONDS: list[float] = []


def on_cpu(run: Callable[[], object]) -> Callable[[], object]:
    """``run``, recording its CPU seconds (this process) in :data:`CPU_SECONDS`."""

    def timed() -> object:
        start = time.process_time()
        result = run()
        CPU_SECONDS.append(time.process_time() - start)
        return result

    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=3_000_000)
    args = parser.parse_args()
    rows: list[dict] = []
    network = measure(rows, args.nodes, "build_network", "", on_cpu(lambda: build_network(
        grid_segments(args.nodes), "drive", "EPSG:32650")))
    index = measure(rows, args.nodes, "snapping index", "", on_cpu(lambda: sample_index(network)),
                    lambda found: f"{len(found.vertices):,} vertices")
    facilities = random_facilities(network, 1000, seed=1)
    network.csr(reverse=True)
    rng = np.random.default_rng(2)
    lo_x, hi_x, lo_y, hi_y = network.x.min(), network.x.max(), network.y.min(), network.y.max()
    del index
    for cells in (10_000, 100_000, 1_000_000):
        x = rng.uniform(lo_x - 5000.0, hi_x + 5000.0, cells)
        y = rng.uniform(lo_y - 5000.0, hi_y + 5000.0, cells)
        snap = measure(rows, cells, "snap cells", 1000, on_cpu(lambda x=x, y=y: snap_points(network, x, y)))

        def answer(snap=snap, x=x, y=y):
            nodes = nearest_facility_nodes(network, facilities, "to", WALK_KMH)
            far = snap.offset_m > OFFROAD_MAX_M
            nearest = Snap(np.where(far, -1, snap.edge), np.where(far, 0.0, snap.fraction),
                           np.where(far, np.inf, snap.offset_m))
            return best_legs(network, nodes, facilities, x, y, nearest, OFFROAD_MAX_M, WALK_KMH)[1:]

        minutes = measure(rows, cells, "answer", 1000, on_cpu(answer),
                          lambda found: f"{int(np.isfinite(found[0]).sum()):,} cells answered")[0]
        del minutes
        every = np.arange(network.n_edges)
        for i in rng.choice(cells, 30, replace=False):
            d2 = project(network, np.full(network.n_edges, x[i]), np.full(network.n_edges, y[i]), every)[1]
            if snap.edge[i] != int(np.argmin(d2)) or abs(snap.offset_m[i] - np.sqrt(d2.min())) > 1e-9:
                fail(f"cell {i} of {cells:,} snaps to {snap.edge[i]}, the brute force to {int(np.argmin(d2))}")
    print(table(["cells (nodes for the first two rows)", "step", "wall s", "CPU s", "peak RSS MiB", "note"],
                [[r["nodes"], r["step"], r["seconds"], cpu, r["peak"], r["note"]]
                 for r, cpu in zip(rows, CPU_SECONDS, strict=True)]))
    print("30 cells of each size checked against a brute force over all segments: equal")
    wall = rows[-2]["seconds"] + rows[-1]["seconds"]
    cpu = CPU_SECONDS[-2] + CPU_SECONDS[-1]
    peak = max(rows[-2]["peak"], rows[-1]["peak"])
    print(f"goal: 10^6 cells snapped and answered in under 5 s and 4 GB: {_met(cpu < 5.0)} on CPU ({cpu:.2f} s), "
          f"{_met(wall < 5.0)} on wall ({wall:.2f} s), {_met(peak < 4096.0)} in memory (peak RSS {peak:,.0f} MiB)")


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


if __name__ == "__main__":
    main()
