"""Off-road legs never cross water (#18): a lake, the sea between islands, what the inputs say about water."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from affine import Affine

from geocover.io.population import PopulationGrid, aggregate, read_population
from geocover.io.water import WaterMask, with_water_shapes
from geocover.network.graph import Network
from geocover.travel.cells import cell_accessibility

CRS = pyproj.CRS("EPSG:32633")
X0, Y0 = 500_000.0, 4_000_000.0
CELL_M = 100.0
WALK_KMH = 5.0
SPEED = WALK_KMH * 1000.0 / 60.0
ROAD_KMH = 30.0


def _grid(cells: list[tuple[int, int]], water: np.ndarray | None) -> PopulationGrid:
    """A 40 x 40 grid of 100 m cells, top-left corner at (X0, Y0 + 4000); only ``cells`` (row, col) valid."""
    transform = Affine(CELL_M, 0.0, X0, 0.0, -CELL_M, Y0 + 4000.0)
    valid = np.zeros((40, 40), dtype=bool)
    valid[tuple(np.array(cells).T)] = True
    mask = None if water is None else WaterMask(water, transform, CRS)
    return PopulationGrid(np.ones((40, 40)), valid, transform, CRS, water=mask)


def _roads(points: list[tuple[float, float]], segments: list[tuple[int, int]]) -> Network:
    x, y = X0 + np.array([p[0] for p in points]), Y0 + np.array([p[1] for p in points])
    u, v = np.array([s[0] for s in segments]), np.array([s[1] for s in segments])
    minutes = np.hypot(x[v] - x[u], y[v] - y[u]) / (ROAD_KMH * 1000.0 / 60.0)
    return Network(x=x, y=y, u=u, v=v, minutes_uv=minutes, minutes_vu=minutes.copy(), crs=CRS)


def _points(points: list[tuple[float, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in points], crs=CRS)


def _lake() -> np.ndarray:
    """Water in rows 26..28 (y 1100..1400 m) and columns 10..29 (x 1000..3000 m)."""
    water = np.zeros((40, 40), dtype=bool)
    water[26:29, 10:30] = True
    return water


# Road A along y = 1450 m north of the lake, road B along y = 450 m south of it; each with a facility at
# its west end. The cell centre is at (2050, 950), just south of the lake: 500 m from A across the water, 500 m
# from B. A is shorter to drive: the cell would take A if water did not count.
ROAD_POINTS = [(0, 1450), (4000, 1450), (0, 450), (4000, 450)]
CELL = (30, 20)  # row 30: y from 1000 to 900 m; col 20: x from 2000 to 2100 m


def test_a_lake_between_a_cell_and_the_nearest_road_forces_the_road_on_the_other_side():
    network = _roads(ROAD_POINTS + [(2050, 1450)], [(0, 4), (4, 1), (2, 3)])
    facilities = _points([(1650, 1450), (0, 450)])
    dry = cell_accessibility(network, facilities, _grid([CELL], None), offroad_kmh=WALK_KMH)
    np.testing.assert_allclose(dry.minutes[CELL], 500 / SPEED + 400 / (ROAD_KMH * 1000 / 60), rtol=1e-12)
    assert dry.facility[CELL] == 0
    wet = cell_accessibility(network, facilities, _grid([CELL], _lake()), offroad_kmh=WALK_KMH)
    np.testing.assert_allclose(wet.minutes[CELL], 500 / SPEED + 2050 / (ROAD_KMH * 1000 / 60), rtol=1e-12)
    assert wet.facility[CELL] == 1 and wet.cell_snap.edge[0] == 2
    # The leg chosen does not cross the lake; the one not taken does (shapely, on the lake's polygon).
    lake = shapely.box(X0 + 1000, Y0 + 1100, X0 + 3000, Y0 + 1400)
    assert not shapely.LineString([(X0 + 2050, Y0 + 950), (X0 + 2050, Y0 + 450)]).intersects(lake)
    assert shapely.LineString([(X0 + 2050, Y0 + 950), (X0 + 2050, Y0 + 1450)]).intersects(lake)
    # Only a lake: a cell beside it with no road on its own side is unreachable with a short reach.
    short = cell_accessibility(_roads(ROAD_POINTS[:2], [(0, 1)]), facilities.iloc[[0]], _grid([CELL], _lake()),
                               offroad_kmh=WALK_KMH)
    assert np.isinf(short.minutes[CELL]) and short.cell_snap.edge[0] == -1


def test_a_facility_beside_a_lake_joins_the_road_on_its_own_side():
    """A facility 450 m from road A across the lake and 550 m from road B on its own side walks to B (#18: no
    off-road leg crosses water, facilities' included); without the lake it joins A."""
    network = _roads(ROAD_POINTS, [(0, 1), (2, 3)])
    facilities = _points([(2050, 1000)])
    cell = (36, 5)  # x 500-600 m, y 300-400 m: beside road B
    dry = cell_accessibility(network, facilities, _grid([cell], None), offroad_kmh=WALK_KMH)
    assert dry.facility_snap.edge[0] == 0 and dry.facility_snap.offset_m[0] == pytest.approx(450.0)
    wet = cell_accessibility(network, facilities, _grid([cell], _lake()), offroad_kmh=WALK_KMH)
    assert wet.facility_snap.edge[0] == 1 and wet.facility_snap.offset_m[0] == pytest.approx(550.0)
    road = ROAD_KMH * 1000.0 / 60.0
    np.testing.assert_allclose(wet.minutes[cell], 550 / SPEED + (2050 - 550) / road + 100 / SPEED, rtol=1e-9)
    lake = shapely.box(X0 + 1000, Y0 + 1100, X0 + 3000, Y0 + 1400)
    assert shapely.LineString([(X0 + 2050, Y0 + 1000), (X0 + 2050, Y0 + 1450)]).intersects(lake)
    assert not shapely.LineString([(X0 + 2050, Y0 + 1000), (X0 + 2050, Y0 + 450)]).intersects(lake)


def test_the_old_definition_ignores_water():
    network = _roads(ROAD_POINTS, [(0, 1), (2, 3)])
    facilities = _points([(0, 1450), (0, 450)])
    old = cell_accessibility(network, facilities, _grid([CELL], _lake()), 1000.0, offroad_kmh=WALK_KMH)
    assert old.cell_snap.edge[0] == 0  # the nearest road, across the lake (ties go to the lower segment)


def test_a_leg_is_blocked_by_water_cells_it_crosses_and_not_by_those_beside_it():
    mask = WaterMask(_lake(), Affine(CELL_M, 0.0, X0, 0.0, -CELL_M, Y0 + 4000.0), CRS)
    lake = shapely.box(X0 + 1000, Y0 + 1100, X0 + 3000, Y0 + 1400)
    rng = np.random.default_rng(7)
    x0, y0 = X0 + rng.uniform(0, 4000, 2000), Y0 + rng.uniform(0, 4000, 2000)
    x1, y1 = X0 + rng.uniform(0, 4000, 2000), Y0 + rng.uniform(0, 4000, 2000)
    blocked = mask.blocked(x0, y0, x1, y1, CRS)
    legs = shapely.linestrings(np.stack([np.column_stack([x0, x1]), np.column_stack([y0, y1])], axis=-1))
    # Never blocked: legs that stay a cell away from the lake; always: legs crossing its core, a cell from the ends.
    away = shapely.distance(legs, lake) > CELL_M
    starts, ends = shapely.points(x0, y0), shapely.points(x1, y1)
    inner = shapely.intersection(legs, lake.buffer(-CELL_M / 2))
    core = ~shapely.is_empty(inner) & (shapely.distance(inner, starts) > 2 * CELL_M) & \
        (shapely.distance(inner, ends) > 2 * CELL_M)
    assert away.sum() > 500 and core.sum() > 200
    assert not blocked[away].any()
    assert blocked[core].all()


def test_osm_water_shapes_mark_their_cells():
    transform = Affine(CELL_M, 0.0, X0, 0.0, -CELL_M, Y0 + 4000.0)
    mask = WaterMask(np.zeros((40, 40), dtype=bool), transform, CRS)
    shapes = gpd.GeoDataFrame({"kind": ["area", "coastline"]}, geometry=[
        shapely.box(X0 + 1000, Y0 + 1100, X0 + 3000, Y0 + 1400),
        shapely.LineString([(X0 + 50, Y0 + 3950), (X0 + 50, Y0 + 2050)])], crs=CRS).to_crs(4326)
    water = with_water_shapes(mask, shapes).water
    assert water[26:29, 10:30].all() and water[:, 0][1:20].all()
    assert water.sum() < 60 + 25  # the lake's 60 cells and the coast's column, with rounding at the ends
    assert not mask.water.any()  # the mask given is left as it was


@pytest.fixture(scope="module")
def comoros(comoros_dir):
    from geocover.io.osm import read_road_segments, read_water
    from geocover.network.graph import build_network

    network = build_network(read_road_segments(comoros_dir / "comores-latest.osm.pbf"), "drive", "EPSG:32738")
    grid = aggregate(read_population(comoros_dir / "population.tif"), 5)
    shapes = read_water(comoros_dir / "comores-latest.osm.pbf")
    shapes = shapes[shapes["kind"] == "area"]  # the raster's nodata tells the sea (as geocover.prepare does)
    islands = gpd.read_file(comoros_dir / "comores-latest.osm.pbf", layer="multipolygons", engine="pyogrio",
                            where="admin_level = '4' AND boundary = 'administrative'")
    facilities = gpd.read_file(comoros_dir / "health.gpkg")
    facilities = facilities[facilities["amenity"].isin(["hospital", "clinic", "doctors"])].reset_index(drop=True)
    return network, grid, with_water_shapes(grid.water, shapes), islands.reset_index(drop=True), facilities


def _island_of(points: gpd.GeoSeries, islands: gpd.GeoDataFrame) -> np.ndarray:
    joined = gpd.sjoin(gpd.GeoDataFrame(geometry=points.to_crs(4326)), islands[["geometry"]], predicate="within")
    joined = joined[~joined.index.duplicated()]
    return joined["index_right"].reindex(range(len(points))).fillna(-1).to_numpy(dtype=np.int64)


def test_comoros_islands_stay_apart_with_a_100_km_off_road_reach(comoros):
    network, grid, water, islands, facilities = comoros
    assert len(islands) == 3
    facility_island = _island_of(facilities.geometry, islands)
    x, y = grid.centres()
    cell_island = _island_of(gpd.GeoSeries(shapely.points(x, y), crs=grid.crs), islands)
    for mask, tiers in ((grid.water, [["hospital", "clinic", "doctors"], ["doctors"]]), (water, [["hospital"]])):
        wet = PopulationGrid(grid.population, grid.valid, grid.transform, grid.crs, water=mask)
        for tier in tiers:  # the raster's nodata alone, then with the OSM lakes
            rows = np.flatnonzero(facilities["amenity"].isin(tier))
            access = cell_accessibility(network, facilities.iloc[rows], wet, offroad_kmh=5.0, offroad_max_m=100_000)
            served = access.facility[grid.valid]
            ok = (served >= 0) & (cell_island >= 0)
            assert ok.sum() > 1000
            assert (facility_island[rows][served[ok]] == cell_island[ok]).all(), tier
    # Without water, a 100 km reach lets some cells of an island with no such facility cross the sea.
    doctors = np.flatnonzero(facilities["amenity"] == "doctors")
    dry = PopulationGrid(grid.population, grid.valid, grid.transform, grid.crs)
    crossing = cell_accessibility(network, facilities.iloc[doctors], dry, offroad_kmh=5.0, offroad_max_m=100_000)
    served = crossing.facility[grid.valid]
    ok = (served >= 0) & (cell_island >= 0)
    assert (facility_island[doctors][served[ok]] != cell_island[ok]).any()


def test_a_land_cover_factor_raster_blocks_legs_where_its_factor_is_zero(tmp_path):
    """Land cover tells water too (#18): the cells of ``offroad.landcover_factor`` with factor 0 join the water
    mask, read onto the grid from a finer raster; the lake drawn that way acts as the lake of the first test."""
    import rasterio

    factor = np.ones((80, 80), dtype=np.float32)  # 50 m pixels over the same 4 km square
    factor[52:58, 20:60] = 0.0  # y 1400..1100 m, x 1000..3000 m: the lake
    factor[0:4, 0:4] = 0.5  # forest: slower, not blocked
    with rasterio.open(tmp_path / "factor.tif", "w", driver="GTiff", height=80, width=80, count=1, dtype="float32",
                       crs=CRS.to_wkt(), transform=Affine(50.0, 0.0, X0, 0.0, -50.0, Y0 + 4000.0)) as dst:
        dst.write(factor, 1)
    from geocover.io.water import with_blocked_cells

    transform = Affine(CELL_M, 0.0, X0, 0.0, -CELL_M, Y0 + 4000.0)
    mask = with_blocked_cells(WaterMask(np.zeros((40, 40), dtype=bool), transform, CRS), tmp_path / "factor.tif")
    np.testing.assert_array_equal(mask.water, _lake())
    network = _roads(ROAD_POINTS + [(2050, 1450)], [(0, 4), (4, 1), (2, 3)])
    grid = PopulationGrid(np.ones((40, 40)), _grid([CELL], None).valid, transform, CRS, water=mask)
    wet = cell_accessibility(network, _points([(1650, 1450), (0, 450)]), grid, offroad_kmh=WALK_KMH)
    np.testing.assert_allclose(wet.minutes[CELL], 500 / SPEED + 2050 / (ROAD_KMH * 1000 / 60), rtol=1e-12)
