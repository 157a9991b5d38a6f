"""One local road layer joined to itself at scale: :func:`geocover.network.combine.join_layer` on a drawn lattice.

The layer is what a transport bureau's layer without topology looks like, drawn so the answer is known:

* ``n`` east-west and ``n`` north-south roads 150 m apart, each one line with a vertex every 50 m placed off
  every crossing: ``n**2`` at-grade crossings without a shared vertex, each split into one junction;
* village roads 60 m long ending 1 m short of an east-west road, 15 m from its nearest vertex: each joined
  at the foot, one junction.

The script prints the wall and CPU seconds, the peak resident memory and the counts, and exits with status 1
when the junctions, the segments or the kilometres differ from the known ones.

Run from the repository root: ``python benchmarks/road_layer_joins.py`` (about 10^6 segments) or
``python benchmarks/road_layer_joins.py --quick`` (about 10^5).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import pyproj
from _common import fail, peak_mib, reset_peak
from scale import CRS

from geocover.network.combine import join_layer
from geocover.network.segments import RoadSegments

SPACING_M, VERTEX_M, SHORT_M, VILLAGE_M = 150.0, 50.0, 1.0, 60.0


def drawn_layer(n: int, villages: int, seed: int = 1) -> tuple[RoadSegments, float]:
    """The lattice of ``2 n`` roads and ``villages`` village roads, no vertex shared; and its length in metres
    once joined (the village roads' 1 m gaps closed)."""
    rng = np.random.default_rng(seed)
    along = np.arange(-25.0, SPACING_M * n, VERTEX_M)  # vertices at 25 m + k 50 m: never on a crossing
    at = np.arange(n) * SPACING_M
    lines_x = [np.tile(along, (n, 1)), np.repeat(at[:, None], len(along), 1)]
    lines_y = [np.repeat(at[:, None], len(along), 1), np.tile(along, (n, 1))]
    pick = rng.choice((n - 1) * (n - 1), villages, replace=False)
    village_x = (pick % (n - 1)) * SPACING_M + 60.0  # 15 m from the vertex at 75 m
    village_y = (pick // (n - 1) + 1) * SPACING_M - SHORT_M
    x = np.concatenate([lines_x[0].ravel(), lines_x[1].ravel(), np.repeat(village_x, 2)]) + 400_000.0
    y = np.concatenate([lines_y[0].ravel(), lines_y[1].ravel(),
                        np.stack([village_y, village_y - VILLAGE_M + SHORT_M], 1).ravel()]) + 3_000_000.0
    sizes = np.r_[np.full(2 * n, len(along)), np.full(villages, 2)]
    starts = np.cumsum(sizes) - sizes
    u = np.concatenate([start + np.arange(size - 1) for start, size in zip(starts, sizes, strict=True)])
    way_id = np.repeat(np.arange(1, len(sizes) + 1), sizes - 1)
    lon, lat = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(x, y)
    segments = RoadSegments(
        node_id=np.arange(1, len(x) + 1), lon=np.asarray(lon), lat=np.asarray(lat), u=u, v=u + 1, way_id=way_id,
        highway=np.full(len(u), "village", dtype=object), oneway=np.zeros(len(u), dtype=np.int8),
        maxspeed_kmh=np.full(len(u), np.nan), foot_forbidden=np.zeros(len(u), dtype=bool),
        motor_forbidden=np.zeros(len(u), dtype=bool),
    )
    return segments, 2 * n * (along[-1] - along[0]) + villages * VILLAGE_M


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 10^5 segments instead of 10^6")
    n, villages = (130, 10_000) if parser.parse_args().quick else (400, 50_000)
    layer, length_m = drawn_layer(n, villages)
    reset_peak()
    start, cpu_start = time.perf_counter(), time.process_time()
    joined, junctions = join_layer(layer)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    print(f"{len(layer.u):,} segments of one layer: {seconds:.2f} s ({cpu_seconds:.2f} s CPU), peak RSS "
          f"{peak_mib():,.0f} MiB; {junctions:,} junctions, {len(joined.u):,} segments")
    to_metric = pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    x, y = to_metric.transform(joined.lon, joined.lat)
    joined_m = float(np.hypot(x[joined.v] - x[joined.u], y[joined.v] - y[joined.u]).sum())
    if junctions != n * n + villages:
        fail(f"{junctions:,} junctions, expected {n * n + villages:,}")
    if len(joined.u) != len(layer.u) + 2 * n * n + villages:
        fail(f"{len(joined.u):,} segments, expected {len(layer.u) + 2 * n * n + villages:,}")
    if not math.isclose(joined_m, length_m, rel_tol=1e-6):
        fail(f"{joined_m / 1000:,.3f} km joined, expected {length_m / 1000:,.3f} km")


if __name__ == "__main__":
    main()
