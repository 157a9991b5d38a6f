"""Road layers at scale: :func:`geocover.network.combine.combine_roads` on an OSM-like lattice and a local layer.

The OSM source is the street lattice of ``scale.py`` (streets 150 m apart, about two segments per node).
The local layer has as many two-segment roads of each kind, drawn so the answer is known:

* village roads running north, starting 3 m south of a street (a line end within ``join_m``) and crossing
  the next street: two junctions each, 227 m each once the 3 m gap is closed;
* roads drawn 6 m beside a street over one block (150 m, two segments): duplicates, dropped.

The script prints the wall and CPU seconds, the peak resident memory and the report, and exits with status 1 when the
junctions, the kilometres or the duplicates differ from those counts.

Run from the repository root: ``python benchmarks/road_layers.py`` (10^6 OSM segments, 2x10^5 local ones,
about 15 s and 1.1 GB) or ``python benchmarks/road_layers.py --quick`` (2x10^5 and 4x10^4).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import pyproj
from _common import fail, peak_mib, reset_peak
from scale import CRS, SPACING_M, grid_segments

from geocover.network.combine import combine_roads
from geocover.network.segments import RoadSegments

GAP_M, BESIDE_M, NORTH_M = 3.0, 6.0, 230.0


def local_layer(osm_nodes: int, roads: int, seed: int = 1) -> RoadSegments:
    """``roads`` village roads joining the lattice and as many drawn beside its streets, two segments each."""
    rng = np.random.default_rng(seed)
    side = math.isqrt(osm_nodes - 1) + 1
    x = 400_000.0 + rng.integers(0, side - 1, roads) * SPACING_M + 20.0 + rng.random(roads) * 100.0
    y = 3_000_000.0 + rng.integers(0, side - 2, roads) * SPACING_M - GAP_M
    joining_x, joining_y = np.stack([x, x, x], 1), np.stack([y, y + 100.0, y + NORTH_M], 1)
    x = 400_000.0 + rng.integers(0, side - 1, roads) * SPACING_M
    y = 3_000_000.0 + rng.integers(0, side, roads) * SPACING_M + BESIDE_M
    beside_x, beside_y = np.stack([x, x + SPACING_M / 2, x + SPACING_M], 1), np.stack([y, y, y], 1)
    lon, lat = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(
        np.concatenate([joining_x, beside_x]).ravel(), np.concatenate([joining_y, beside_y]).ravel())
    node = np.arange(6 * roads).reshape(2 * roads, 3)
    u, v = node[:, :2].ravel(), node[:, 1:].ravel()
    return RoadSegments(
        node_id=np.arange(1, 6 * roads + 1), lon=np.asarray(lon), lat=np.asarray(lat), u=u, v=v,
        way_id=np.repeat(np.arange(1, 2 * roads + 1), 2), highway=np.full(len(u), "village", dtype=object),
        oneway=np.zeros(len(u), dtype=np.int8), maxspeed_kmh=np.full(len(u), np.nan),
        foot_forbidden=np.zeros(len(u), dtype=bool), motor_forbidden=np.zeros(len(u), dtype=bool),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2x10^5 OSM segments instead of 10^6")
    quick = parser.parse_args().quick
    osm_nodes, roads = (100_000, 10_000) if quick else (500_000, 50_000)
    osm, local = grid_segments(osm_nodes), local_layer(osm_nodes, roads)
    reset_peak()
    start, cpu_start = time.perf_counter(), time.process_time()
    combined, report = combine_roads({"OSM": osm, "local": local})
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    print(f"{len(osm.u):,} OSM and {len(local.u):,} local segments: {seconds:.2f} s ({cpu_seconds:.2f} s CPU), "
          f"peak RSS {peak_mib():,.0f} MiB, {len(combined.u):,} segments")
    print(report.notes()[0])
    expected_km = roads * (NORTH_M - GAP_M) / 1000.0
    if report.junctions != 2 * roads:
        fail(f"{report.junctions:,} junctions joined, expected {2 * roads:,}")
    if report.duplicate_segments["local"] != 2 * roads:
        fail(f"{report.duplicate_segments['local']:,} duplicates dropped, expected {2 * roads:,}")
    if not math.isclose(report.km["local"], expected_km, rel_tol=1e-6):
        fail(f"local roads {report.km['local']:,.3f} km, expected {expected_km:,.3f} km")


if __name__ == "__main__":
    main()
