"""Headline figures of the Comoros kit with the old 1 km snap cut-off and with off-road legs by default (#18).

Drive minutes from every populated cell of the population raster (full resolution) to the nearest
hospital, clinic or doctor of ``configs/comoros.yaml``, walking the off-road legs at 5 km/h:

* ``snap_max_m: 1000`` (the old definition, an opt-in cut-off now): cells and facilities farther than
  1 km from a drivable road are unreachable;
* the default: no snap cut-off, off-road legs up to ``offroad_max_m`` (5 km); a cell takes the best of
  the nearest dry point of every connected piece of road (an isolated fragment nearer than a connected
  road does not decide it), and no leg crosses water: the population raster's nodata (the sea) and the
  OSM lakes and riverbanks, as ``geocover run`` does;
* the default with ``offroad_max_m`` 100 km: the sea alone keeps the islands apart.

Prints the people within 15, 30 and 60 minutes and the unreachable, and the people whose off-road leg
is over 1 km. Run from the repository root: ``python benchmarks/offroad_comoros.py`` (a few seconds).
"""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import numpy as np
from _common import TIERS, comoros_or_exit, table

from geocover.io.osm import read_road_segments, read_water
from geocover.io.population import read_population
from geocover.io.water import with_water_shapes
from geocover.network.graph import build_network
from geocover.travel.cells import cell_accessibility, snap_cells


def main() -> None:
    folder = comoros_or_exit()
    network = build_network(read_road_segments(folder / "comores-latest.osm.pbf"), "drive", "EPSG:32738")
    facilities = gpd.read_file(folder / "health.gpkg")
    facilities = facilities[facilities["amenity"].isin(TIERS)].reset_index(drop=True)
    grid = read_population(folder / "population.tif")
    lakes = read_water(folder / "comores-latest.osm.pbf")
    grid = replace(grid, water=with_water_shapes(grid.water, lakes[lakes["kind"] == "area"]))
    people = grid.population
    cell_snap = snap_cells(network, grid)
    rows = []
    for label, snap_max_m, offroad_max_m in (("snap_max_m 1000 (old default)", 1000.0, 5000.0),
                                             ("default: off-road legs, 5 km", None, 5000.0),
                                             ("default, offroad_max_m 100 km", None, 100_000.0)):
        access = cell_accessibility(network, facilities, grid, snap_max_m, offroad_kmh=5.0, cell_snap=cell_snap,
                                    offroad_max_m=offroad_max_m)
        minutes = np.where(grid.valid, access.minutes, np.nan)
        with np.errstate(invalid="ignore"):
            within = [people[minutes <= band].sum() for band in (15, 30, 60)]
        offroad_m = grid.to_grid(access.cell_snap.offset_m, np.nan)
        with np.errstate(invalid="ignore"):
            far = people[offroad_m > 1000.0].sum()
        unreachable = people[grid.valid & ~np.isfinite(access.minutes)].sum()
        rows.append([label, *within, unreachable, far, int(access.facility_snap.snapped.sum())])
    print(f"Comoros: {people[grid.valid].sum():,.0f} people in {int(grid.valid.sum()):,} valid cells, "
          f"{len(facilities)} facilities")
    print(table(["definition", "within 15 min", "within 30 min", "within 60 min", "unreachable",
                 "off-road leg > 1 km", "facilities on a road"], rows))


if __name__ == "__main__":
    main()
