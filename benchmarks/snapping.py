"""Snapping: :func:`geocover.network.snapping.snap_points` against one GEOS nearest-neighbour query per point.

The peer is what ``snap_points`` did before: ``STRtree.query_nearest(points, max_distance,
all_matches=False)`` and the projection of each point on the segment found. Three synthetic networks
in metres, with points on a 100 m grid (population cell centres):

* ``dense``: a lattice of streets 182 m apart, 605 x 605 nodes (730,840 segments), 1100 x 1100 points;
* ``sparse``: 10 or 40 straight roads across a 100 km square, cut into 50 m segments, 1000 x 1000
  points, most of them farther than the snap distance;
* ``mixed``: the sparse 40 roads plus a 20 km lattice town in one corner.

Both answers must agree: the same offsets (to 1e-9 m) and the same segments except on ties, where
the peer picks an arbitrary one (the table counts those). Exits with status 1 otherwise. Times are
medians of the process's CPU time over interleaved repeats (every call runs on one thread,
``OMP_NUM_THREADS=1`` being set before the KD-tree loads, and CPU time is steadier than wall time on a
shared machine); memory is the peak resident set above the one before the call.

Run from the repository root: ``python benchmarks/snapping.py [--repeats 3]`` (about 3 minutes).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402

import numpy as np  # noqa: E402
import pyproj  # noqa: E402
import shapely  # noqa: E402
from _common import fail, median_seconds, table  # noqa: E402

from geocover.network.graph import Network  # noqa: E402
from geocover.network.snapping import Snap, snap_points  # noqa: E402

CRS = pyproj.CRS("EPSG:32633")


def _lattice(n: int, spacing: float, origin: float = 0.0) -> tuple[np.ndarray, ...]:
    """Nodes and segments of a square lattice of streets."""
    grid_x, grid_y = np.meshgrid(origin + np.arange(n) * spacing, origin + np.arange(n) * spacing)
    ids = np.arange(n * n).reshape(n, n)
    u = np.r_[ids[:, :-1].ravel(), ids[:-1, :].ravel()]
    v = np.r_[ids[:, 1:].ravel(), ids[1:, :].ravel()]
    return grid_x.ravel(), grid_y.ravel(), u, v


def _roads(count: int, size: float, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Nodes and segments of ``count`` random straight roads across a square, cut every ~50 m."""
    rng = np.random.default_rng(seed)
    xs, ys, us, vs, first = [], [], [], [], 0
    for _ in range(count):
        a, b = rng.uniform(0.0, size, 2), rng.uniform(0.0, size, 2)
        cuts = max(int(np.hypot(*(b - a)) / 50.0), 1)
        s = np.linspace(0.0, 1.0, cuts + 1)
        xs.append(a[0] + s * (b[0] - a[0]) + rng.normal(0.0, 5.0, cuts + 1))
        ys.append(a[1] + s * (b[1] - a[1]) + rng.normal(0.0, 5.0, cuts + 1))
        us.append(first + np.arange(cuts))
        vs.append(first + np.arange(1, cuts + 1))
        first += cuts + 1
    return tuple(np.concatenate(part) for part in (xs, ys, us, vs))


def _network(*parts: tuple[np.ndarray, ...]) -> Network:
    """One network from several node-and-segment sets."""
    xs, ys, us, vs, first = [], [], [], [], 0
    for x, y, u, v in parts:
        xs.append(x)
        ys.append(y)
        us.append(u + first)
        vs.append(v + first)
        first += len(x)
    u = np.concatenate(us)
    ones = np.ones(len(u))
    return Network(np.concatenate(xs), np.concatenate(ys), u, np.concatenate(vs), ones, ones, CRS)


def _points(per_side: int) -> tuple[np.ndarray, np.ndarray]:
    """Centres of a grid of 100 m cells."""
    grid_x, grid_y = np.meshgrid(np.arange(per_side) * 100.0 + 50.0, np.arange(per_side) * 100.0 + 50.0)
    return grid_x.ravel(), grid_y.ravel()


def _peer(network: Network, x: np.ndarray, y: np.ndarray, max_distance_m: float) -> Snap:
    """The former ``snap_points``: one GEOS nearest-neighbour query per point."""
    edge, fraction, offset = np.full(len(x), -1), np.zeros(len(x)), np.full(len(x), np.inf)
    (point, seg), distance = network.tree.query_nearest(
        shapely.points(x, y), max_distance=max_distance_m, return_distance=True, all_matches=False
    )
    ax, ay = network.x[network.u[seg]], network.y[network.u[seg]]
    dx, dy = network.x[network.v[seg]] - ax, network.y[network.v[seg]] - ay
    with np.errstate(invalid="ignore", divide="ignore"):
        t = ((x[point] - ax) * dx + (y[point] - ay) * dy) / (dx * dx + dy * dy)
    edge[point], fraction[point], offset[point] = seg, np.clip(np.nan_to_num(t, nan=0.0), 0.0, 1.0), distance
    return Snap(edge, fraction, offset)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sparse_points = _points(1000)
    cases = [
        ("dense", _network(_lattice(605, 182.0)), _points(1100), 500.0),
        ("sparse 10 roads", _network(_roads(10, 100_000.0)), sparse_points, 500.0),
        ("sparse 10 roads", _network(_roads(10, 100_000.0)), sparse_points, 1000.0),
        ("sparse 40 roads", _network(_roads(40, 100_000.0)), sparse_points, 500.0),
        ("mixed", _network(_roads(40, 100_000.0), _lattice(111, 182.0, 1000.0)), sparse_points, 500.0),
    ]
    rows = []
    for name, network, (x, y), max_distance_m in cases:
        network.tree  # noqa: B018 - build the index outside the timings
        timed = median_seconds(
            {
                "peer": lambda network=network, x=x, y=y, m=max_distance_m: _peer(network, x, y, m),
                "geocover": lambda network=network, x=x, y=y, m=max_distance_m: snap_points(network, x, y, m),
            },
            args.repeats,
        )
        ours, peer = timed["geocover"].result, timed["peer"].result
        if not np.array_equal(ours.snapped, peer.snapped):
            fail(f"{name}: snapped points differ")
        if not np.allclose(ours.offset_m[ours.snapped], peer.offset_m[peer.snapped], rtol=0.0, atol=1e-9):
            fail(f"{name}: offsets differ")
        ties = int(np.count_nonzero(ours.edge != peer.edge))
        per_point = {key: value.cpu_seconds / len(x) * 1e6 for key, value in timed.items()}
        rows.append([
            name, f"{network.n_edges:,}", f"{len(x):,}", f"{max_distance_m:g}", f"{ours.snapped.mean():.0%}",
            f"{per_point['peer']:.2f}", f"{per_point['geocover']:.2f}",
            f"{per_point['peer'] / per_point['geocover']:.1f}x", f"{ties:,}",
            f"{timed['peer'].extra_mib:.0f}", f"{timed['geocover'].extra_mib:.0f}",
        ])
        print(rows[-1], flush=True)
    print(table(
        ["network", "segments", "points", "max m", "snapped", "peer us/pt", "geocover us/pt", "speed-up",
         "other tie", "peer MiB", "geocover MiB"],
        rows,
    ))


if __name__ == "__main__":
    main()
