"""Province batch: time and peak memory of ``geocover batch`` on a synthetic province, against one run.

The province is a square in UTM zone 49N (Shanxi) with, by default, 250,000 population cells of 100 m
(a GeoTIFF, 50 x 50 km), a street lattice of 25,000 OSM nodes written as a PBF (ways of 8 segments,
every 10th street primary, 60 km/h; the rest secondary to residential), 500 facilities at random
along the streets, and 16 counties (4 x 4) of 4 townships each, rolled up to 4 cities. The scenario drives to
the nearest facility in bands of 5, 10 and 15 minutes (halo: 60 km/h x 15 min = 15 km). The roads are
configured as for a national PBF, ``roads: {pbf: ..., extract: true}``: the single run streams the roads
around the zones out of the PBF and parses them; ``geocover batch`` does so once, in the driver (into
``<out>/.batch/roads``), and each unit loads the parsed roads and keeps those of its study area.

Measured, each in a fresh process: the single whole-area run (:data:`SINGLE`, the same outputs as
``geocover batch --no-report --offline``); the batch by county with 1 and 2 workers; the batch with 2 workers by
city, county and township, to show how time grows with the number of units. Peak memory is the
largest resident set of any process of the command (the driver or a worker, ``RUSAGE_CHILDREN``).
At the default size on 2 cores: single run 6.1 s; by county 21.2 s on 1 worker, 14.0 s on 2; by city
8.3 s; by township (64 units) 30.8 s. Figures of both sizes are in ``benchmarks/README.md``.

Run from the repository root: ``python benchmarks/province_batch.py`` (about 2 minutes on 2 cores).
The full province of the issue (3x10^6 road nodes, 40,000 facilities, 1,440 townships in 120 counties and
30 cities, 10^7 cells; building it takes about 20 s), without the single run (it would need the whole
province in one process): ``python benchmarks/province_batch.py --cells 10000000 --nodes 3000000
--facilities 40000 --counties 10 12 --townships 4 3 --levels county city --no-single`` (about 23 minutes:
county on 1 worker 692 s, on 2 workers 396 s, city on 2 workers 238 s; county on 2 workers 348 s after
later changes).
"""

from __future__ import annotations

import argparse
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import rasterio
from _common import table
from affine import Affine
from osmium.osm.mutable import Node, Way
from pyproj import Transformer
from shapely.geometry import box

CRS = "EPSG:32649"
ORIGIN = (500_000.0, 4_000_000.0)
CELL_M = 100.0
WAY_SEGMENTS = 8
CLASSES = np.array(["secondary", "tertiary", "unclassified", "residential"], dtype=object)


def build_province(folder: Path, cells: int, nodes: int, facilities: int, counties: tuple[int, int],
                   townships: tuple[int, int], seed: int = 0) -> Path:
    """Write the synthetic province's files into ``folder`` and return its scenario config."""
    rng = np.random.default_rng(seed)
    side = math.isqrt(cells)
    size_m = side * CELL_M
    to_wgs = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)

    per_side = math.isqrt(nodes)
    spacing = size_m / (per_side - 1)
    line = np.arange(per_side) * spacing
    x, y = np.meshgrid(ORIGIN[0] + line, ORIGIN[1] + line)
    lon, lat = to_wgs.transform(x.ravel(), y.ravel())
    ids = np.arange(1, per_side * per_side + 1).reshape(per_side, per_side)
    writer = osmium.SimpleWriter(str(folder / "roads.osm.pbf"), overwrite=True)
    for node_id, a, b in zip(ids.ravel().tolist(), lon.tolist(), lat.tolist(), strict=True):
        writer.add_node(Node(id=node_id, location=(a, b)))
    way_id = 1
    for along in (ids, ids.T):
        for k, street in enumerate(along):
            highway = "primary" if k % 10 == 0 else CLASSES[rng.integers(len(CLASSES))]
            for start in range(0, per_side - 1, WAY_SEGMENTS):
                refs = street[start:start + WAY_SEGMENTS + 1].tolist()
                writer.add_way(Way(id=way_id, nodes=refs, tags={"highway": str(highway)}))
                way_id += 1
    writer.close()

    horizontal = rng.random(facilities) < 0.5
    street = ORIGIN[1] + rng.integers(per_side, size=facilities) * spacing
    along = ORIGIN[0] + rng.random(facilities) * size_m
    offset = rng.uniform(-100.0, 100.0, facilities)
    fx = np.where(horizontal, along, street - ORIGIN[1] + ORIGIN[0] + offset)
    fy = np.where(horizontal, street + offset, along - ORIGIN[0] + ORIGIN[1])
    tiers = rng.choice(["卫生院", "村卫生室", "社区卫生服务中心", "医院"], size=facilities, p=[0.2, 0.6, 0.1, 0.1])
    gpd.GeoDataFrame({"name": [f"{i}号{t}" for i, t in enumerate(tiers)]},
                     geometry=gpd.points_from_xy(fx, fy), crs=CRS).to_file(folder / "facilities.gpkg")

    cx, cy = counties
    tx, ty = townships
    width, height = size_m / cx, size_m / cy
    cities_x = math.ceil(cx / 2)
    codes, names, shapes = [], [], []
    for j in range(cy):
        for i in range(cx):
            city = (j // 2) * cities_x + i // 2 + 1
            county = (j % 2) * 2 + i % 2 + 1
            for b in range(ty):
                for a in range(tx):
                    town = b * tx + a + 1
                    codes.append(f"14{city:02d}{county:02d}{town:03d}000")
                    names.append(f"{city}市{county}县{town}{'镇' if town > 1 else '城关镇'}")
                    left, bottom = ORIGIN[0] + i * width + a * width / tx, ORIGIN[1] + j * height + b * height / ty
                    shapes.append(box(left, bottom, left + width / tx, bottom + height / ty))
    gpd.GeoDataFrame({"code": codes, "name": names}, geometry=shapes, crs=CRS).to_file(folder / "townships.gpkg")

    profile = {"driver": "GTiff", "height": side, "width": side, "count": 1, "dtype": "float32", "crs": CRS,
               "transform": Affine(CELL_M, 0, ORIGIN[0], 0, -CELL_M, ORIGIN[1] + size_m), "nodata": -1.0,
               "tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "deflate"}
    with rasterio.open(folder / "people.tif", "w", **profile) as dst:
        for _, window in dst.block_windows(1):
            block = rng.lognormal(1.0, 1.2, (window.height, window.width)).astype(np.float32)
            dst.write(np.where(rng.random(block.shape) < 0.3, 0.0, block).astype(np.float32), 1, window=window)

    config = folder / "province.yaml"
    config.write_text(
        "name: province\nmode: drive\nbands_minutes: [5, 10, 15]\ntarget_minutes: 15\nsnap_max_m: 1000\n"
        "roads: {pbf: roads.osm.pbf, extract: true}\nfacilities: {path: facilities.gpkg, name_column: name}\n"
        "population: {raster: people.tif}\n"
        "zones: [{level: township, path: townships.gpkg, id_column: code, name_column: name,"
        " rollup: [county, city]}]\n"
        "batch: {unit_level: county}\n",
        encoding="utf-8",
    )
    return config


SINGLE = ("import sys; from geocover.render.folium_map import coverage_map; from geocover.render.assets import render; "
          "from geocover.render.writers import write_outputs; from geocover.pipeline import run_scenario; "
          "r = run_scenario(sys.argv[1], progress=False); "
          "write_outputs(r, sys.argv[2], map_html=render(coverage_map(r, tiles='none')))")
"""The single run with the outputs of ``geocover batch --no-report --offline``: tables, GeoPackage, raster, map."""


def measure(command: list[str]) -> tuple[float, float]:
    """Wall time (s) of ``python <command>`` in a fresh process, and the peak RSS (MB) of its processes."""
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", probe, sys.executable, *command], check=True, capture_output=True,
                          text=True)
    return time.perf_counter() - start, int(done.stdout.split()[-1]) / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=250_000, help="population cells of 100 m")
    parser.add_argument("--nodes", type=int, default=25_000, help="road nodes (a square lattice)")
    parser.add_argument("--facilities", type=int, default=500)
    parser.add_argument("--counties", type=int, nargs=2, default=(4, 4), metavar=("X", "Y"))
    parser.add_argument("--townships", type=int, nargs=2, default=(2, 2), metavar=("X", "Y"),
                        help="townships per county")
    parser.add_argument("--levels", nargs="+", default=["city", "county", "township"],
                        help="unit levels of the 2-worker batches (time against the number of units)")
    parser.add_argument("--no-single", action="store_true", help="skip the single whole-area run")
    parser.add_argument("--no-serial", action="store_true", help="skip the 1-worker batch by county")
    parser.add_argument("--folder", type=Path, default=Path("maps/bench_province"))
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    config = build_province(args.folder, args.cells, args.nodes, args.facilities, tuple(args.counties),
                            tuple(args.townships))
    n_counties = args.counties[0] * args.counties[1]
    units = {"city": math.ceil(args.counties[0] / 2) * math.ceil(args.counties[1] / 2), "county": n_counties,
             "township": n_counties * args.townships[0] * args.townships[1]}
    print(f"province built in {time.perf_counter() - start:.0f} s: {args.cells:,} cells, {args.nodes:,} road nodes, "
          f"{args.facilities:,} facilities, {units['township']:,} townships in {n_counties} counties")
    rows = []
    if not args.no_single:
        seconds, peak = measure(["-c", SINGLE, str(config), str(args.folder / "single")])
        rows.append(["single run", 1, 1, seconds, peak, ""])
    runs = [("county", 1)] * (not args.no_serial) + [(level, 2) for level in args.levels]
    for level, workers in runs:
        text = config.read_text(encoding="utf-8").replace("unit_level: county", f"unit_level: {level}")
        variant = args.folder / f"province_{level}.yaml"
        variant.write_text(text, encoding="utf-8")
        out = args.folder / f"batch_{level}_{workers}"
        seconds, peak = measure(["-m", "geocover.cli", "batch", str(variant), "--out", str(out), "--quiet",
                                 "--offline", "--no-report", "--force", "--workers", str(workers)])
        unit_table = pd.read_csv(out / "batch_units.csv", encoding="utf-8-sig")
        rows.append([f"batch by {level}", units[level], workers, seconds, peak,
                     f"{unit_table['seconds'].median():.1f} / {unit_table['seconds'].max():.1f}"])
    print(table(["run", "units", "workers", "seconds", "peak MB", "unit s (median / max)"], rows))
    print(f"this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB peak")


if __name__ == "__main__":
    main()
