"""Scale: time and peak memory of the engine on synthetic road grids of 10^4 to 3x10^6 nodes.

A square lattice of streets 150 m apart in UTM zone 50N, each street a random OSM class (a drive speed
of 25 to 60 km/h) and 3 % of them one-way, goes through :func:`geocover.network.graph.build_network`,
:func:`geocover.network.storage.save_network` and ``load_network``; then, for 10 to 40,000 facilities at random
positions along random segments up to 100 m off the road, :func:`geocover.travel.nearest.nearest_facility_nodes`
(one multi-source search) and the per-facility sparse matrix within 15 minutes,
:func:`geocover.travel.matrices.facility_node_matrix`. There is no peer: the goal is 3x10^6 nodes and 10,000
facilities' nearest-facility minutes in under 10 s and 4 GB. Each matrix is checked against the
nearest-facility minutes (its column minima) and, for a few facilities, against an unpruned SciPy search
of the whole network; the script exits with status 1 when they differ.

Each grid size runs in a fresh process. Memory is the process's peak resident set during the step
(Linux ``VmHWM``, reset before each step), everything it holds included: the network, its CSR and
the Python libraries; "RSS before" is what it held when the step began.

Run from the repository root: ``python benchmarks/scale.py`` (all sizes, about 5 minutes on 2 cores, 7 GB peak)
or ``python benchmarks/scale.py --quick`` (10^4 and 10^5 nodes, up to 1,000 facilities, seconds).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pyproj
import scipy.sparse as sp
from _common import fail, peak_mib, reset_peak, rss_mib, table
from scipy.sparse.csgraph import dijkstra

from geocover.io.osm import RoadSegments
from geocover.network.graph import WALK_SPEED_KMH, Network, build_network
from geocover.network.snapping import Snap
from geocover.network.storage import load_network, save_network
from geocover.travel.matrices import OFFSET_MINUTES, facility_node_matrix
from geocover.travel.nearest import NodeTimes, facility_graph, nearest_facility_nodes
from geocover.travel.search_blocks import search_groups

CRS = "EPSG:32650"
SPACING_M = 150.0
CLASSES = np.array(["primary", "secondary", "tertiary", "unclassified", "residential"], dtype=object)
CLASS_SHARE = [0.05, 0.10, 0.15, 0.20, 0.50]
SIZES, QUICK_SIZES = (10_000, 100_000, 1_000_000, 3_000_000), (10_000, 100_000)
FACILITIES, QUICK_FACILITIES = (10, 100, 1_000, 10_000, 40_000), (10, 100, 1_000)
LIMIT_MINUTES = 15.0
GOAL_NODES, GOAL_FACILITIES, GOAL_SECONDS, GOAL_MIB = 3_000_000, 10_000, 10.0, 4096.0


def grid_segments(n_nodes: int, seed: int = 0) -> RoadSegments:
    """A square street lattice of about ``n_nodes`` nodes as OSM-like road segments."""
    rng = np.random.default_rng(seed)
    side = math.isqrt(n_nodes - 1) + 1
    node = np.arange(side * side).reshape(side, side)
    u = np.concatenate([node[:, :-1].ravel(), node[:-1, :].ravel()])
    v = np.concatenate([node[:, 1:].ravel(), node[1:, :].ravel()])
    x = 400_000.0 + (node % side).ravel() * SPACING_M
    y = 3_000_000.0 + (node // side).ravel() * SPACING_M
    lon, lat = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(x, y)
    oneway = np.where(rng.random(len(u)) < 0.03, rng.choice(np.array([1, -1], dtype=np.int8), len(u)), 0)
    return RoadSegments(
        node_id=node.ravel().astype(np.int64), lon=np.asarray(lon), lat=np.asarray(lat), u=u, v=v,
        way_id=np.arange(len(u), dtype=np.int64), highway=rng.choice(CLASSES, len(u), p=CLASS_SHARE),
        oneway=oneway.astype(np.int8), maxspeed_kmh=np.full(len(u), np.nan),
        foot_forbidden=np.zeros(len(u), dtype=bool), motor_forbidden=np.zeros(len(u), dtype=bool),
    )


def random_facilities(network: Network, count: int, seed: int) -> Snap:
    """``count`` facilities along random segments, up to 100 m off the road."""
    rng = np.random.default_rng(seed)
    return Snap(rng.integers(0, network.n_edges, count), rng.random(count), rng.uniform(0.0, 100.0, count))


def measure(rows: list[dict], size: int, step: str, facilities: int | str, run: Callable[[], object],
            note: Callable[[object], str] = lambda _: "") -> object:
    """Run one step; record its wall seconds, the RSS before it and its peak RSS; print a progress line."""
    gc.collect()
    before = rss_mib()
    reset_peak()
    start = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - start
    peak = peak_mib()
    rows.append({"nodes": size, "step": step, "facilities": facilities, "seconds": seconds,
                 "rss_before": before, "peak": peak, "note": note(result)})
    print(f"  {size:>9,} {step:<17} {facilities!s:>6} {seconds:8.3f} s  peak RSS {peak:7.0f} MiB  {rows[-1]['note']}",
          file=sys.stderr, flush=True)
    return result


def check_matrix(network: Network, facilities: Snap, nodes: NodeTimes, matrix: sp.csr_matrix) -> str:
    """Check ``matrix`` against the nearest-facility minutes and, on four rows, an unpruned whole-network search."""
    best = np.full(network.n_nodes, np.inf)
    np.minimum.at(best, matrix.indices, matrix.data - OFFSET_MINUTES)
    within = nodes.minutes <= LIMIT_MINUTES
    if not np.array_equal(np.isfinite(best), within):
        fail(f"{int((np.isfinite(best) != within).sum())} nodes within {LIMIT_MINUTES:g} min differ in reach")
    worst = float(np.max(np.abs(best[within] - nodes.minutes[within]), initial=0.0))
    ok = np.flatnonzero(facilities.snapped)
    rows = ok[np.linspace(0, len(ok) - 1, min(4, len(ok))).astype(int)]
    graph = facility_graph(network, facilities, ok, "to", WALK_SPEED_KMH, None)
    whole = dijkstra(graph, directed=True, indices=network.n_nodes + np.searchsorted(ok, rows), limit=LIMIT_MINUTES)
    for row, dist in zip(rows, whole[:, :network.n_nodes], strict=True):
        cols = np.flatnonzero(dist <= LIMIT_MINUTES)
        if not np.array_equal(cols, matrix.indices[matrix.indptr[row]:matrix.indptr[row + 1]]):
            fail(f"facility {row}: the pruned search reaches other nodes than the unpruned one")
        worst = max(worst, float(np.max(np.abs(matrix[row].data - OFFSET_MINUTES - dist[cols]), initial=0.0)))
    if worst > 1e-9:
        fail(f"the matrix differs from the nearest-facility and unpruned minutes by up to {worst:.3g}")
    pruned = next(search_groups(network, facilities, ok, LIMIT_MINUTES))[0] is not None
    return f"{'pruned' if pruned else 'whole network'}, max abs diff {worst:.1g}"


def build(rows: list[dict], size: int) -> Network:
    """The drive network of the grid of about ``size`` nodes (its segments freed on return)."""
    segments = grid_segments(size)
    print(f"grid of {len(segments.node_id):,} nodes, {len(segments.u):,} segments", file=sys.stderr, flush=True)
    return measure(rows, size, "build_network", "", partial(build_network, segments, "drive", CRS))


def run_size(size: int, counts: tuple[int, ...]) -> list[dict]:
    """Every step on one grid of about ``size`` nodes, in this process."""
    rows: list[dict] = []
    built = build(rows, size)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "network.npz"
        measure(rows, size, "save_network", "", partial(save_network, built, path),
                lambda p: f"{p.stat().st_size / 2**20:.1f} MiB file")
        del built
        network = measure(rows, size, "load_network", "", partial(load_network, path))
    measure(rows, size, "CSR (reversed)", "", lambda: network.csr(reverse=True), lambda m: f"{m.nnz:,} arcs")
    for count in (c for c in counts if c <= size // 5):
        facilities = random_facilities(network, count, seed=count)
        nodes = measure(rows, size, "nearest facility", count,
                        lambda f=facilities: nearest_facility_nodes(network, f, "to"),
                        lambda t: f"median {np.median(t.minutes):.1f} min, max {np.max(t.minutes):.1f}")
        matrix = measure(rows, size, "matrix <= 15 min", count,
                         lambda f=facilities: facility_node_matrix(network, f, LIMIT_MINUTES, direction="to"),
                         lambda m: f"{m.nnz:,} pairs, {(m.data.nbytes + m.indices.nbytes) / 2**20:,.0f} MiB")
        rows[-1]["note"] += "; " + check_matrix(network, facilities, nodes, matrix)
        del matrix
    return rows


def print_growth(rows: list[dict]) -> None:
    """Seconds per grid size for every step, and the slope k of log(seconds) against log(nodes)."""
    sizes = sorted({row["nodes"] for row in rows})
    by_step: dict[tuple[str, str], dict[int, float]] = {}
    for row in rows:
        by_step.setdefault((row["step"], str(row["facilities"])), {})[row["nodes"]] = row["seconds"]
    lines = []
    for (step, facilities), seconds in by_step.items():
        have = sorted(seconds)
        k = np.polyfit(np.log(have), np.log([seconds[s] for s in have]), 1)[0] if len(have) > 1 else float("nan")
        lines.append([step, facilities, *[seconds.get(s, "") for s in sizes], k])
    print("\nHow time grows: seconds per grid size, and k in seconds ~ nodes^k (least-squares fit in log-log)")
    print(table(["step", "facilities", *[f"{s:,} nodes" for s in sizes], "k"], lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10^4 and 10^5 nodes, up to 1,000 facilities")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    counts = QUICK_FACILITIES if args.quick else FACILITIES
    if args.child:
        print(json.dumps(run_size(args.child, counts)))
        return
    rows: list[dict] = []
    for size in QUICK_SIZES if args.quick else SIZES:
        child = [sys.executable, __file__, "--child", str(size)] + (["--quick"] if args.quick else [])
        done = subprocess.run(child, stdout=subprocess.PIPE, text=True)
        if done.returncode:
            print(done.stdout)
            sys.exit(done.returncode)
        rows += json.loads(done.stdout.splitlines()[-1])
    print("\nmemory: peak RSS of the process during the step (network, CSR and libraries included)")
    print(table(["nodes", "step", "facilities", "seconds", "RSS before MiB", "peak RSS MiB", "note"],
                [[r["nodes"], r["step"], r["facilities"], r["seconds"], r["rss_before"], r["peak"], r["note"]]
                 for r in rows]))
    print_growth(rows)
    goal = [r for r in rows if r["nodes"] == GOAL_NODES and r["facilities"] == GOAL_FACILITIES
            and r["step"] == "nearest facility"]
    csr = [r["seconds"] for r in rows if r["nodes"] == GOAL_NODES and r["step"] == "CSR (reversed)"]
    for r in goal:
        met = r["seconds"] < GOAL_SECONDS and r["peak"] < GOAL_MIB
        print(f"\ngoal, {GOAL_NODES:,} nodes and {GOAL_FACILITIES:,} facilities: nearest-facility minutes in "
              f"{r['seconds']:.2f} s ({r['seconds'] + sum(csr):.2f} s with building the CSR), peak RSS "
              f"{r['peak']:,.0f} MiB: {'met' if met else 'NOT met'} (< {GOAL_SECONDS:g} s, < {GOAL_MIB:,.0f} MiB)")


if __name__ == "__main__":
    main()
