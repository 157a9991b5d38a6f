"""Off-road legs by default (#18): every cell near a road that reaches a facility gets a time, its walk reported."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from affine import Affine

from geocover.io.population import PopulationGrid
from geocover.network.graph import Network
from geocover.network.snapping import Snap, project
from geocover.travel.cells import cell_accessibility
from geocover.travel.nearest import nearest_facility_nodes, point_minutes

CRS = pyproj.CRS("EPSG:32633")
X0, Y0 = 500_000.0, 4_000_000.0
WALK_KMH = 5.0
ROAD_KMH = 30.0


def _network(points: list[tuple[float, float]], segments: list[tuple[int, int]]) -> Network:
    x, y = X0 + np.array([p[0] for p in points]), Y0 + np.array([p[1] for p in points])
    u, v = np.array([s[0] for s in segments]), np.array([s[1] for s in segments])
    minutes = np.hypot(x[v] - x[u], y[v] - y[u]) / (ROAD_KMH * 1000.0 / 60.0)
    return Network(x=x, y=y, u=u, v=v, minutes_uv=minutes, minutes_vu=minutes.copy(), crs=CRS)


def _grid(centres: list[tuple[float, float]]) -> PopulationGrid:
    """A one-column grid whose cell centres are the given points (metres from X0, Y0)."""
    shape = (len(centres), 1)
    grid = PopulationGrid(np.ones(shape), np.ones(shape, dtype=bool), Affine(1.0, 0, 0, 0, -1.0, 0), CRS)
    grid.centres = lambda: (X0 + np.array([c[0] for c in centres]), Y0 + np.array([c[1] for c in centres]))
    return grid


def _facilities(points: list[tuple[float, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in points], crs=CRS)


def _brute_minutes(network: Network, facilities: Snap, px: float, py: float) -> float:
    """Best total minutes over every segment: the walk to it (exact projection) plus the network time from there."""
    nodes = nearest_facility_nodes(network, facilities, "to", WALK_KMH)
    seg = np.arange(network.n_edges)
    t, d2 = project(network, np.full(len(seg), X0 + px), np.full(len(seg), Y0 + py), seg)
    snap = Snap(seg, t, np.sqrt(d2))
    return float(point_minutes(network, nodes, snap, facilities, WALK_KMH)[0].min())


# A connected road along y = 0 (x 0..2000 m) with the facility at its east end; an isolated track
# 200 m long at y = 500 m; a second island 40 km east with its own road and facility.
POINTS = [(0, 0), (500, 0), (1000, 0), (1500, 0), (2000, 0), (900, 500), (1100, 500),
          (40_000, 0), (41_000, 0)]
SEGMENTS = [(0, 1), (1, 2), (2, 3), (3, 4), (5, 6), (7, 8)]


def test_a_cell_beside_an_isolated_track_takes_the_connected_road():
    network = _network(POINTS, SEGMENTS)
    facilities = _facilities([(2000, 0), (41_000, 0)])
    access = cell_accessibility(network, facilities, _grid([(1000, 400)]), offroad_kmh=WALK_KMH)
    walk, drive = 400.0 / (WALK_KMH * 1000 / 60), 1000.0 / (ROAD_KMH * 1000 / 60)
    np.testing.assert_allclose(access.minutes[0, 0], walk + drive, rtol=1e-12)
    brute = _brute_minutes(network, access.facility_snap, 1000.0, 400.0)
    np.testing.assert_allclose(access.minutes[0, 0], brute, rtol=1e-12)
    assert access.facility[0, 0] == 0
    assert access.cell_snap.edge[0] in (1, 2)  # the connected road, not the track (segment 4)
    np.testing.assert_allclose(access.offroad_minutes[0, 0], walk, rtol=1e-12)


def test_a_facility_far_from_the_road_serves_with_its_off_road_leg_and_islands_stay_apart():
    network = _network(POINTS, SEGMENTS)
    facilities = _facilities([(2000, -1500)])  # 1.5 km south of the road's east end, on the first island
    cells = [(0, 100), (41_000, 50), (1000, 480), (10_000, 0)]
    access = cell_accessibility(network, facilities, _grid(cells), offroad_kmh=WALK_KMH)
    speed = WALK_KMH * 1000 / 60
    expected_first = 100 / speed + 2000 / (ROAD_KMH * 1000 / 60) + 1500 / speed
    np.testing.assert_allclose(access.minutes[0, 0], expected_first, rtol=1e-12)
    np.testing.assert_allclose(access.facility_offroad_minutes, [1500 / speed], rtol=1e-12)
    # The second island's road reaches no facility of the first, and the sea is wider than offroad_max_m.
    assert np.isinf(access.minutes[1, 0]) and access.facility[1, 0] == -1
    np.testing.assert_allclose(access.minutes[2, 0], _brute_minutes(network, access.facility_snap, 1000, 480))
    # 8 km from every road: beyond the default 5 km off-road leg; a larger offroad_max_m gives it a time.
    assert np.isinf(access.minutes[3, 0])
    wider = cell_accessibility(network, facilities, _grid(cells), offroad_kmh=WALK_KMH, offroad_max_m=20_000)
    np.testing.assert_allclose(wider.minutes[3, 0], _brute_minutes(network, wider.facility_snap, 10_000, 0))
    assert np.isinf(wider.minutes[1, 0])  # 39 km of sea: still apart


def test_snap_max_m_is_an_opt_in_cut_off_that_reproduces_the_old_definition():
    network = _network(POINTS, SEGMENTS)
    facilities = _facilities([(2000, 0), (2000, -1500)])
    cells = [(0, 100), (1000, 400), (1500, 900)]
    access = cell_accessibility(network, facilities, _grid(cells), 300.0, offroad_kmh=WALK_KMH)
    assert np.isfinite(access.minutes[0, 0])
    assert np.isinf(access.minutes[1:, 0]).all()  # nearest road 400 m away; 900 m
    assert access.facility_snap.snapped.tolist() == [True, False]
    fragment = cell_accessibility(network, facilities, _grid([(1000, 400)]), 1000.0, offroad_kmh=WALK_KMH)
    assert np.isinf(fragment.minutes[0, 0])  # the old definition: the nearest road only, here the track
    default = cell_accessibility(network, facilities, _grid(cells), offroad_kmh=WALK_KMH)
    assert np.isfinite(default.minutes).all()


def test_zone_table_counts_people_farther_off_road_than_the_threshold():
    from geocover.analysis.zone_table import zone_table

    grid = PopulationGrid(np.array([[1.0, 2.0, 4.0, 8.0]]), np.ones((1, 4), dtype=bool),
                          Affine(100.0, 0, X0, 0, -100.0, Y0), CRS)
    zones = gpd.GeoDataFrame({"zone_level": ["county", "county"], "zone_id": ["a", "b"], "zone_name": ["A", "B"]},
                             geometry=[shapely.box(X0, Y0 - 100, X0 + 200, Y0), shapely.box(X0 + 200, Y0 - 100,
                                                                                            X0 + 400, Y0)], crs=CRS)
    offroad_m = np.array([[500.0, 1500.0, 1000.0, np.inf]])  # exactly 1000 m is not "over"
    minutes = np.array([[10.0, 20.0, 30.0, np.inf]])
    table = zone_table(grid, minutes, zones, [15.0], 15.0, offroad_m=offroad_m, offroad_report_m=1000.0)
    assert table["pop_offroad_over_1000"].tolist() == [2.0, 8.0]
    assert "pop_offroad_over_1000" not in zone_table(grid, minutes, zones, [15.0], 15.0).columns


def test_a_scenario_reports_the_off_road_legs_per_zone_and_per_facility():
    from pathlib import Path

    from geocover.config import load_config
    from geocover.pipeline import run_scenario

    config = load_config(Path(__file__).resolve().parents[1] / "configs" / "demo.yaml")
    config.snap_max_m, config.offroad_report_m = None, 50.0
    result = run_scenario(config, progress=False, polygons=False)
    access, grid = result.access, result.access.grid
    speed = config.offroad_kmh * 1000.0 / 60.0
    np.testing.assert_allclose(result.facilities["offroad_minutes"], result.facilities["snap_distance_m"] / speed)
    far = grid.valid & (access.offroad_minutes * speed > 50.0)
    assert 0 < grid.population[far].sum() < grid.population[grid.valid].sum()
    for level, zones in result.zones.groupby("zone_level", sort=False):
        labels = grid.labels(zones)
        expected = [grid.population[far & (labels == k)].sum() for k in range(1, len(zones) + 1)]
        got = result.table.set_index(["zone_level", "zone_id"]).loc[level, "pop_offroad_over_50"]
        np.testing.assert_allclose(got.loc[zones["zone_id"]].to_numpy(), expected)


def test_a_scenario_takes_the_connected_road_for_a_cell_beside_an_isolated_track(monkeypatch):
    from geocover import pipeline
    from geocover.analysis import access

    seen = {}
    real = access.cell_accessibility

    def spy(*args, **kwargs):
        seen["snap_max_m"], seen["offroad_max_m"] = args[3], kwargs.get("offroad_max_m")
        return real(*args, **kwargs)

    from pathlib import Path

    from geocover.config import load_config

    monkeypatch.setattr(access, "cell_accessibility", spy)
    config = load_config(Path(__file__).resolve().parents[1] / "configs" / "demo.yaml")
    config.snap_max_m, config.offroad_max_m = None, 3000.0
    pipeline.run_scenario(config, progress=False, polygons=False)
    assert seen == {"snap_max_m": None, "offroad_max_m": 3000.0}  # the detour rule is on in a scenario run


def test_travel_time_tif_band_two_holds_the_off_road_minutes(tmp_path):
    """#18: the cell output reports the off-road part separately: band 2 of travel_time.tif is the walk to the
    cell's road (offset / walking speed), never more than the whole time of band 1 where a facility is reached."""
    from pathlib import Path

    import rasterio

    from geocover.config import load_config
    from geocover.pipeline import run_scenario
    from geocover.render.writers import write_travel_time

    config = load_config(Path(__file__).resolve().parents[1] / "configs" / "demo.yaml")
    result = run_scenario(config, progress=False, polygons=False)
    write_travel_time(result, tmp_path / "travel_time.tif")
    with rasterio.open(tmp_path / "travel_time.tif") as tif:
        assert tif.count == 2 and "off-road" in tif.descriptions[1]
        total, walk = tif.read(1), tif.read(2)
    grid, snap = result.access.grid, result.access.cell_snap
    speed = config.offroad_kmh * 1000.0 / 60.0
    expected = np.where(snap.snapped, snap.offset_m / speed, -1.0)
    np.testing.assert_allclose(walk[grid.valid], expected, rtol=1e-6, atol=1e-5)
    assert np.all(walk[~grid.valid] == -9999)
    reached = grid.valid & (total >= 0)
    assert reached.any() and np.all(walk[reached] <= total[reached] + 1e-4)
