"""The Comoros scenario end to end, every figure checked against an independent computation."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import rasterio
import shapely

from geocover.io.population import cell_centres
from geocover.network.graph import Network
from geocover.network.snapping import Snap, snap_points
from geocover.pipeline import run_scenario
from tests.conftest import ROOT
from tests.reference import reference_minutes

CONFIG = ROOT / "configs" / "comoros.yaml"


@pytest.fixture(scope="module")
def result(comoros_dir):
    return run_scenario(CONFIG, progress=False)


@pytest.fixture(scope="module")
def outputs(comoros_outputs):
    return comoros_outputs


def _cell_centres(grid):
    rows, cols = np.indices(grid.shape)
    return cell_centres(grid.transform, rows, cols)


def test_outputs_are_written_with_every_layer(outputs):
    assert (outputs / "coverage_by_zone.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    layers = {name for name, _ in pyogrio.list_layers(outputs / "results.gpkg")}
    assert {"facilities", "zones", "service_areas", "gaps", "network_nodes", "network_edges"} <= layers
    html = (outputs / "map.html").read_text(encoding="utf-8")
    for label in ("Within 15 min (drive)", "% of people within 15 min, by island", "Facilities",
                  "Gaps: people beyond 15 min"):
        assert label in html


def test_zone_totals_balance_and_equal_the_raster_inside_each_zone(result, comoros_dir):
    table = result.table
    assert list(table["zone_level"].unique()) == ["island", "commune"]
    assert len(table[table.zone_level == "island"]) == 3
    balance = table["pop_within_15"] + table["pop_beyond_15"] + table["pop_unreachable"]
    np.testing.assert_allclose(balance, table["population"], rtol=1e-9)
    # Brute force: sum the raster over every cell whose centre a zone polygon contains.
    with rasterio.open(comoros_dir / "population.tif") as src:
        data = src.read(1, masked=True).filled(0.0).astype(np.float64)
        rows, cols = np.indices(data.shape)
        x, y = cell_centres(src.transform, rows, cols)
    for zone in result.zones.itertuples():
        inside = shapely.contains_xy(zone.geometry, x, y)
        assert zone.population == pytest.approx(data[inside].sum(), rel=1e-9)


def test_cell_minutes_equal_networkx_with_the_cells_inserted(result):
    grid = result.access.grid
    cells = result.access.cell_snap
    minutes = result.access.minutes[grid.valid]
    rng = np.random.default_rng(7)
    reachable = np.flatnonzero(np.isfinite(minutes))
    sample = np.concatenate([rng.choice(reachable, 150, replace=False),
                             rng.choice(np.flatnonzero(~np.isfinite(minutes)), 20, replace=False)])
    points = Snap(cells.edge[sample], cells.fraction[sample], cells.offset_m[sample])
    expected = reference_minutes(result.network, result.access.facility_snap, points, "to",
                                 result.config.offroad_kmh)
    np.testing.assert_allclose(minutes[sample], expected, rtol=1e-9)


def test_islands_never_serve_each_other(result):
    islands = result.zones[result.zones.zone_level == "island"].reset_index(drop=True)
    facility_island = gpd.sjoin(result.facilities, islands[["zone_id", "geometry"]], predicate="within")
    island_of_facility = facility_island["zone_id"].reindex(range(len(result.facilities))).to_numpy()
    grid = result.access.grid
    labels = grid.labels(islands)
    served = result.access.facility >= 0
    cell_island = np.where(labels > 0, islands["zone_id"].to_numpy()[np.maximum(labels, 1) - 1], None)
    nearest_island = island_of_facility[result.access.facility[served & (labels > 0)]]
    assert served.sum() > 100_000
    assert (cell_island[served & (labels > 0)] == nearest_island).all()


def test_fifteen_minute_polygon_holds_only_points_within_fifteen_minutes(result):
    band = result.service_areas.set_index("band_minutes").loc[15.0, "geometry"]
    grid = result.access.grid
    rng = np.random.default_rng(11)
    west, south, east, north = band.bounds
    x = rng.uniform(west, east, 8000)
    y = rng.uniform(south, north, 8000)
    inside = shapely.contains_xy(band, x, y)
    x, y = x[inside][:200], y[inside][:200]
    network = result.network
    # One cell's tolerance: the diagonal of a ~90 m cell, walked off-road, and on the snap distance.
    cell_m = abs(grid.transform.a) * 111_000 * np.sqrt(2)
    tolerance = cell_m / (result.config.offroad_kmh * 1000 / 60)
    to_metric = gpd.GeoSeries(gpd.points_from_xy(x, y), crs="EPSG:4326").to_crs(network.crs)
    px, py = to_metric.x.to_numpy(), to_metric.y.to_numpy()
    # The off-road rule's candidates: the nearest point of every connected piece of road (NetworkX) holding a
    # facility; without water this is a lower bound of the cell's time, which must not exceed 15 minutes.
    graph = nx.Graph()
    graph.add_edges_from(zip(network.u.tolist(), network.v.tolist(), strict=True))
    piece = {node: k for k, nodes in enumerate(nx.connected_components(graph)) for node in nodes}
    segment_piece = np.array([piece[int(a)] for a in network.u])
    facility_snap = result.access.facility_snap
    times = np.full(len(px), np.inf)
    for c in np.unique(segment_piece[facility_snap.edge[facility_snap.snapped]]):
        kept = np.flatnonzero(segment_piece == c)
        sub = Network(x=network.x, y=network.y, u=network.u[kept], v=network.v[kept],
                      minutes_uv=network.minutes_uv[kept], minutes_vu=network.minutes_vu[kept], crs=network.crs)
        snap = snap_points(sub, px, py, result.config.offroad_max_m)
        snap = Snap(np.where(snap.snapped, kept[np.maximum(snap.edge, 0)], -1), snap.fraction, snap.offset_m)
        times = np.minimum(times, reference_minutes(network, facility_snap, snap, "to", result.config.offroad_kmh))
    assert len(times) >= 150
    assert (times <= 15.0 + tolerance).all()


def test_no_sea_cell_is_inside_any_service_area(result):
    grid = result.access.grid
    x, y = _cell_centres(grid)
    sea = ~grid.valid & (grid.population == 0)
    outer = result.service_areas.geometry.iloc[-1]
    assert sea.sum() > 100_000
    assert not shapely.contains_xy(outer, x[sea], y[sea]).any()


def test_travel_time_raster_holds_the_cell_minutes(result, outputs):
    with rasterio.open(outputs / "travel_time.tif") as src:
        written = src.read(1)
        assert src.nodata == -9999
    minutes = result.access.minutes
    valid = result.access.grid.valid
    reachable = valid & np.isfinite(minutes)
    np.testing.assert_allclose(written[reachable], minutes[reachable], rtol=1e-6)
    assert (written[valid & ~np.isfinite(minutes)] == -1).all()
    assert (written[~valid] == -9999).all()


def test_gap_population_equals_people_beyond_the_target(result, outputs):
    with rasterio.open(outputs / "travel_time.tif") as src:
        minutes = src.read(1)
    population = result.access.grid.population
    beyond = ((minutes > 15) | (minutes == -1)) & (minutes != -9999)
    gaps = gpd.read_file(outputs / "results.gpkg", layer="gaps")
    assert gaps["population"].sum() == pytest.approx(population[beyond].sum(), rel=1e-9)


def test_exported_network_lets_anyone_recompute_node_minutes(result, outputs):
    nodes = gpd.read_file(outputs / "results.gpkg", layer="network_nodes")
    edges = pd.DataFrame(gpd.read_file(outputs / "results.gpkg", layer="network_edges").drop(columns="geometry"))
    minutes = nodes.set_index("node_id")["minutes"]
    # Bellman's condition: no node is more than one arc slower than where the arc leads.
    via = edges["minutes"].to_numpy() + minutes.reindex(edges["v"]).to_numpy()
    at_tail = minutes.reindex(edges["u"]).to_numpy()
    ok = np.isfinite(via)
    assert (at_tail[ok] <= via[ok] + 1e-6).all()
    # ...and every node away from a facility's own segment is exactly one arc slower than its best neighbour.
    best = pd.Series(via, index=edges["u"]).groupby(level=0).min()
    snap = result.access.facility_snap
    touched = set(result.network.node_id[result.network.u[snap.edge[snap.snapped]]]) | set(
        result.network.node_id[result.network.v[snap.edge[snap.snapped]]]
    )
    check = [n for n in best.index if n not in touched and np.isfinite(minutes[n])]
    np.testing.assert_allclose(minutes[check].to_numpy(), best[check].to_numpy(), rtol=1e-9)
    assert len(edges) >= result.network.n_edges


def test_streamed_extract_gives_the_same_zone_table(result, tmp_path):
    config = tmp_path / "extract.yaml"
    text = CONFIG.read_text(encoding="utf-8").replace("../../shared", str(ROOT.parent / "shared"))
    config.write_text(text.replace("roads:\n", "roads:\n  extract: true\n"), encoding="utf-8")
    extracted = run_scenario(config, progress=False)
    pd.testing.assert_frame_equal(extracted.table, result.table)


def test_coverage_never_falls_as_a_band_grows_or_facilities_are_added(result):
    table = result.table
    for prefix in ("", "hospital_", "primary_walk_"):
        assert (table[f"{prefix}pop_within_15"] <= table[f"{prefix}pop_within_30"] + 1e-9).all()
        assert (table[f"{prefix}pop_within_30"] <= table[f"{prefix}pop_within_60"] + 1e-9).all()
    # Every facility (drive) covers at least what the hospitals alone (drive) cover.
    for band in (15, 30, 60):
        assert (table[f"pop_within_{band}"] >= table[f"hospital_pop_within_{band}"] - 1e-9).all()
    assert (table["pop_within_15"] > table["hospital_pop_within_15"]).any()


def test_service_columns_equal_a_scenario_of_those_facilities_alone(result, tmp_path):
    config = tmp_path / "hospitals.yaml"
    text = CONFIG.read_text(encoding="utf-8").replace("../../shared", str(ROOT.parent / "shared"))
    text = text.replace("amenity: [hospital, clinic, doctors]", "amenity: [hospital]")
    text = text.replace("target_minutes: 15\n", "target_minutes: 30\n")
    config.write_text(text, encoding="utf-8")
    alone = run_scenario(config, progress=False).table
    for band in (15, 30, 60):
        np.testing.assert_allclose(result.table[f"hospital_pop_within_{band}"], alone[f"pop_within_{band}"])
    np.testing.assert_allclose(result.table["hospital_pop_beyond_30"], alone["pop_beyond_30"])


def test_tier_minutes_are_never_below_the_minutes_to_any_facility(result):
    table = result.table
    for tier in ("hospital", "clinic", "doctors"):
        mean = table[f"minutes_mean_{tier}"]
        assert (mean >= table["mean_minutes"] - 1e-9)[mean.notna()].all()
    # Independent check of one figure: the hospitals' mean minutes on Mwali from the hospital service's cells.
    grid = result.access.grid
    minutes = result.services["hospital"].access.minutes
    islands = result.zones[result.zones.zone_level == "island"].reset_index(drop=True)
    labels = grid.labels(islands)
    row = islands.index[islands["zone_name"].str.contains("Mwali")][0]
    cells = (labels == row + 1) & np.isfinite(minutes)
    expected = (minutes[cells] * grid.population[cells]).sum() / grid.population[cells].sum()
    got = table.set_index("zone_id").loc[islands.loc[row, "zone_id"], "minutes_mean_hospital"]
    assert got == pytest.approx(expected)


def test_ambulance_radius_by_urban_and_rural_cells(result):
    table = result.table
    np.testing.assert_allclose(table["pop_urban"] + table["pop_rural"], table["population"], rtol=1e-9)
    assert table["pop_urban"].sum() > 0 and table["pop_rural"].sum() > 0
    for label, of in (("urban_5km", "pop_urban"), ("rural_10km", "pop_rural"), ("rural_20km", "pop_rural")):
        assert (table[f"pop_within_radius_{label}"] <= table[of] + 1e-6).all()
        assert (table[f"pop_within_radius_{label}_2plus"] <= table[f"pop_within_radius_{label}"] + 1e-6).all()
        # Along the roads is never shorter than the straight line.
        assert (table[f"pop_within_road_radius_{label}"] <= table[f"pop_within_radius_{label}"] + 1e-6).all()
    assert (table["pop_within_radius_rural_10km"] <= table["pop_within_radius_rural_20km"] + 1e-6).all()
    # Brute force on Mwali: geodesic distances from every urban cell centre to every hospital.
    grid = result.access.grid
    cells = result.ambulance
    x, y = grid.centres()
    hospitals = result.facilities[result.facilities["tier"] == "hospital"]
    geod = pyproj.Geod(ellps="WGS84")
    islands = result.zones[result.zones.zone_level == "island"].reset_index(drop=True)
    number = islands.index[islands["zone_name"].str.contains("Mwali")][0] + 1
    mine = (grid.labels(islands)[grid.valid] == number) & cells.urban
    nearest = np.full(mine.sum(), np.inf)
    for point in hospitals.geometry:
        _, _, metres = geod.inv(x[mine], y[mine], np.full(mine.sum(), point.x), np.full(mine.sum(), point.y))
        nearest = np.minimum(nearest, metres)
    people = grid.population[grid.valid][mine]
    surely_in = people[nearest <= 4990].sum()
    maybe_in = people[nearest <= 5010].sum()
    got = table.set_index("zone_id").loc[islands.loc[number - 1, "zone_id"], "pop_within_radius_urban_5km"]
    assert surely_in - 1e-6 <= got <= maybe_in + 1e-6


def test_facility_catchment_polygons_partition_each_band(result):
    catchments = result.catchments
    bands = result.service_areas.set_index("band_minutes")
    metric = catchments.estimate_utm_crs()
    for band, part in catchments.groupby("band_minutes"):
        assert part["population"].sum() == pytest.approx(bands.loc[band, "population"], rel=1e-9)
        area = part.to_crs(metric).area.sum()
        union = gpd.GeoSeries([bands.loc[band, "geometry"]], crs=4326).to_crs(metric).area.iloc[0]
        assert area == pytest.approx(union, rel=1e-6)  # no overlap, nothing missing
    assert set(catchments["facility_id"]) <= set(result.facilities["facility_id"].astype(str))


def test_parsed_roads_are_cached_and_give_the_same_table(result, tmp_path, monkeypatch):
    import time

    import geocover.prepare

    config = tmp_path / "cached.yaml"
    text = CONFIG.read_text(encoding="utf-8").replace("../../shared", str(ROOT.parent / "shared"))
    config.write_text(text.replace("roads:\n", f"roads:\n  cache_dir: {tmp_path / 'cache'}\n")
                      + "facility_table: false\n", encoding="utf-8")
    run_scenario(config, progress=False)
    (cached,) = (tmp_path / "cache").glob("*.segments.npz")
    started = time.perf_counter()
    geocover.prepare.load_segments(cached)
    print(f"segments loaded in {time.perf_counter() - started:.2f} s")

    def parse_again(path):
        raise AssertionError("the PBF was parsed again")

    monkeypatch.setattr(geocover.prepare, "read_road_segments", parse_again)
    again = run_scenario(config, progress=False)
    pd.testing.assert_frame_equal(again.table, result.table)


def test_a_tier_or_a_service_is_never_faster_than_every_facility(result):
    from geocover.analysis.services import offering
    from geocover.travel.cells import cell_accessibility

    valid = result.access.grid.valid
    every = result.access.minutes[valid]
    hospital = result.services["hospital"].access.minutes[valid]  # the hospital service: same drive network
    assert (hospital >= every - 1e-9).all() and (hospital > every + 1e-9).any()
    config = result.config
    for tier in ("hospital", "clinic", "doctors"):
        rows = offering(result.facilities, [tier])
        alone = cell_accessibility(result.network, result.facilities.iloc[rows], result.access.grid, config.snap_max_m,
                                   config.offroad_kmh, offroad_max_m=config.offroad_max_m)
        assert (alone.minutes[valid] >= every - 1e-9).all(), tier


def test_the_opt_in_one_km_definition_keeps_the_nearest_road(result):
    from geocover.travel.cells import cell_accessibility

    grid, config = result.access.grid, result.config
    old = cell_accessibility(result.network, result.facilities, grid, 1000.0, config.offroad_kmh)
    valid = grid.valid
    offset = old.cell_snap.offset_m
    assert np.isinf(old.minutes[valid][~(offset <= 1000.0)]).all()  # beyond 1 km of every road: unreachable
    assert (~(offset <= 1000.0)).sum() > 100
    new = result.access.minutes[valid]
    # The nearest road is a candidate of the default rule unless its leg crosses water: never slower then.
    slower = new > old.minutes[valid] + 1e-9
    assert slower.sum() < 0.01 * valid.sum()
    assert (np.isfinite(new) & ~np.isfinite(old.minutes[valid])).sum() > 100
