"""Cells snapped once per batch (geocover.batch.cell_snaps) give each unit what its own snapping gives."""

from __future__ import annotations

import numpy as np
import pytest

from geocover.batch.cell_snaps import first_snaps, mark_complete, plan_cell_snaps, snap_rows
from geocover.config import load_config
from geocover.io.population import read_population
from geocover.io.zones import read_zones, study_area, zones_of_unit
from geocover.network.graph import build_network
from geocover.prepare import load_roads
from geocover.prepared_inputs import study_reach_m
from geocover.travel.cells import snap_cells
from tests.test_batch import build_counties


@pytest.fixture(scope="module")
def snapped(tmp_path_factory):
    """The synthetic province of test_batch, its cells snapped once in three bands."""
    folder = tmp_path_factory.mktemp("snaps")
    config = load_config(build_counties(folder))
    zones = read_zones(config.zones, None)
    segments = load_roads(config, zones)
    plans = plan_cell_snaps(config, zones[zones["zone_level"] == "county"], segments, folder / "snaps", workers=1)
    assert len(plans) == 1 and len(plans[0][1]) >= 2
    snaps, bands = plans[0]
    assert sum(snap_rows(snaps, rows, config, segments) for rows in bands) > 0
    mark_complete(snaps)
    return config, zones, segments, snaps


def _unit(config, zones, segments, unit_id, box_margin_deg):
    """A unit's drive network (its roads within ``box_margin_deg`` of the county) and grid, as a run builds them."""
    mine = zones_of_unit(zones, "county", unit_id)
    area = study_area(mine, study_reach_m(config, segments))
    west, south, east, north = mine.total_bounds
    part = segments.within((west - box_margin_deg, south - box_margin_deg, east + box_margin_deg,
                            north + box_margin_deg))
    roads = config.roads
    crs = mine.estimate_utm_crs()
    network = build_network(part, "drive", crs, roads.speeds_kmh, roads.use_maxspeed, roads.speed_factor)
    whole = build_network(segments, "drive", crs, roads.speeds_kmh, roads.use_maxspeed, roads.speed_factor)
    return network, whole, read_population(config.population.raster, area)


@pytest.mark.parametrize("unit_id", ["420101000000", "420105000000"])
def test_a_unit_gets_its_own_snap_wherever_the_whole_networks_nearest_road_is_one_of_its_roads(snapped, unit_id):
    config, zones, segments, snaps = snapped
    network, whole, grid = _unit(config, zones, segments, unit_id, 0.01)
    got = first_snaps([snaps], network, grid)
    assert got is not None and len(got) == int(grid.valid.sum())
    own, reference = snap_cells(network, grid, config.snap_max_m), snap_cells(whole, grid, config.snap_max_m)
    # Which cells' nearest road of the whole network is among the unit's roads: by the roads' end nodes.
    ends = {(a, b) for a, b in zip(network.node_id[network.u], network.node_id[network.v], strict=True)}
    edge = np.maximum(reference.edge, 0)
    among = reference.snapped & np.array([(a, b) in ends for a, b in zip(
        whole.node_id[whole.u[edge]], whole.node_id[whole.v[edge]], strict=True)])
    assert 0.2 * len(got) < among.sum() < len(got)  # the unit's roads reach part of the raster only
    np.testing.assert_array_equal(got.edge[among], own.edge[among])
    np.testing.assert_allclose(got.fraction[among], own.fraction[among], rtol=0, atol=1e-9)
    np.testing.assert_allclose(got.offset_m[among], own.offset_m[among], rtol=0, atol=1e-6)
    # The others are left unsnapped, though the unit's own search would snap some to a farther road.
    assert (got.edge[~among] == -1).all() and np.isinf(got.offset_m[~among]).all()
    assert own.snapped[~among].any()


def test_snaps_of_another_crs_or_lattice_are_not_given(snapped):
    from dataclasses import replace

    from affine import Affine

    config, zones, segments, snaps = snapped
    network, _, grid = _unit(config, zones, segments, "420101000000", 0.01)
    roads = config.roads
    other = build_network(segments, "drive", "EPSG:32650", roads.speeds_kmh, roads.use_maxspeed, roads.speed_factor)
    assert first_snaps([snaps], other, grid) is None
    shifted = replace(grid, transform=grid.transform @ Affine.translation(0.5, 0))
    assert first_snaps([snaps], network, shifted) is None
    walk = build_network(segments, "walk", network.crs)
    assert first_snaps([snaps], walk, grid) is None
