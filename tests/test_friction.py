"""Off-road walking on a friction surface: Tobler by hand, NetworkX on the same cell graph, Comoros."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pyproj
import pytest
from affine import Affine

from geocover.io.population import PopulationGrid
from geocover.pipeline import run_scenario
from geocover.travel.offroad import cell_graph, tobler_kmh, walk_on
from tests.conftest import ROOT

UTM = pyproj.CRS("EPSG:32633")


def _grid(rows: int = 3, cols: int = 3) -> PopulationGrid:
    return PopulationGrid(np.ones((rows, cols)), np.ones((rows, cols), dtype=bool),
                          Affine(100.0, 0, 500_000.0, 0, -100.0, 1_000_300.0), UTM)


def test_tobler_speeds():
    assert tobler_kmh(np.array([-0.05]))[0] == pytest.approx(6.0)  # the fastest: a gentle descent
    assert tobler_kmh(np.array([0.0]))[0] == pytest.approx(6 * np.exp(-0.175))  # 5.04 km/h on the flat
    assert tobler_kmh(np.array([0.1]))[0] < tobler_kmh(np.array([-0.1]))[0]  # uphill slower


def test_flat_grid_by_hand():
    graph = cell_graph(_grid(), np.zeros(9), UTM)
    seed = np.full(9, np.inf)
    seed[0] = 2.0  # the top-left cell is reached by road in 2 minutes
    minutes, origin = walk_on(graph, seed)
    flat = 6 * np.exp(-0.175) * 1000 / 60  # metres a minute
    assert minutes[1] == pytest.approx(2 + 100 / flat)
    assert minutes[4] == pytest.approx(2 + 100 * np.sqrt(2) / flat)
    assert minutes[8] == pytest.approx(2 + 200 * np.sqrt(2) / flat)
    assert (origin == 0).all()


def test_slopes_equal_networkx_on_the_same_graph():
    rng = np.random.default_rng(5)
    grid = _grid(6, 7)
    elevation = rng.uniform(0, 40, 42)
    graph = cell_graph(grid, elevation, UTM)
    seed = np.full(42, np.inf)
    seed[[3, 40]] = [0.0, 5.0]
    minutes, _ = walk_on(graph, seed)
    reference = nx.DiGraph()
    coo = graph.tocoo()
    reference.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True))
    reference.add_weighted_edges_from([("s", 3, 0.0), ("s", 40, 5.0)])
    expected = nx.single_source_dijkstra_path_length(reference, "s")
    np.testing.assert_allclose(minutes, [expected[i] for i in range(42)])
    # Up is slower than down: from cell 0 to 1 and back differ when their elevations do.
    assert graph[0, 1] != graph[1, 0]


def test_comoros_walk_reaches_the_cells_far_from_roads(comoros_dir, tmp_path):
    config = tmp_path / "offroad.yaml"
    text = (ROOT / "configs" / "comoros.yaml").read_text(encoding="utf-8").replace("../../shared",
                                                                                    str(ROOT.parent / "shared"))
    text += "snap_max_m: 1000\n"  # the old definition: many people beyond 1 km of a road for the walk to reach
    config.write_text(text + f"offroad: {{dem: {comoros_dir / 'elevation.tif'}, max_minutes: 240}}\n"
                      "facility_table: false\n", encoding="utf-8")
    walked = run_scenario(config, progress=False)
    config.write_text(text + "facility_table: false\n", encoding="utf-8")
    roads_only = run_scenario(config, progress=False)
    before, after = roads_only.access.minutes, walked.access.minutes
    valid = walked.access.grid.valid
    # Never slower, and most of the people no road reached now have a time.
    assert (after[valid] <= before[valid] + 1e-9).all()
    lost_before = roads_only.table["pop_unreachable"].sum()
    lost_after = walked.table["pop_unreachable"].sum()
    assert lost_after < 0.2 * lost_before
    # A walked cell's facility is one that serves its island's road network.
    assert (walked.access.facility[valid & np.isfinite(after)] >= 0).all()
