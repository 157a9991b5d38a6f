"""``roads.closed_kinds``: the OSM road kinds closed to each mode, today's lists by default, set per mode."""

import numpy as np
import pydantic
import pytest

from geocover import api
from geocover.config import RoadsConfig, ScenarioConfig, load_config
from geocover.network.graph import CLOSED_KINDS, WALK_SPEED_KMH, build_network
from geocover.prepare import with_access_rules
from geocover.prepared_inputs import prepare_inputs
from tests.test_access_rules import _open_minutes, segments  # noqa: F401 - the hand-made ways and their fixture

WALK_MIN = 0.11132 / WALK_SPEED_KMH * 60  # 0.001 degree on the equator, walked


def _roads(**closed) -> RoadsConfig:
    return RoadsConfig(pbf="x.osm", respect_access=False, closed_kinds=closed)


def _open_ways(segments, roads: RoadsConfig, mode: str) -> int:  # noqa: F811 - the fixture's segments
    network = build_network(segments, mode, "EPSG:32631", use_maxspeed=False, closed_kinds=roads.closed_to(mode))
    return int(np.isfinite(network.minutes_uv).sum())


def test_the_defaults_are_todays_lists():
    roads = RoadsConfig(pbf="x.osm")
    assert roads.closed_kinds == {"walk": list(CLOSED_KINDS["walk"]), "bike": list(CLOSED_KINDS["walk"]) + ["steps"],
                                  "drive": []}
    assert {"construction", "proposed", "platform"} <= set(roads.closed_to("walk"))
    assert roads.closed_to("ambulance") == roads.closed_to("drive") == []


def test_a_platform_opens_to_walking_when_taken_off_the_list(segments):  # noqa: F811
    """Tags ignored (respect_access false): service, footway and track are walkable; the platform only when
    it is no longer a closed kind; cycling keeps its own list, so the platform stays closed to bikes."""
    opened = with_access_rules(segments, ScenarioConfig.model_construct(roads=_roads()))
    default = _roads()
    walk = _roads(walk=[kind for kind in CLOSED_KINDS["walk"] if kind != "platform"])
    assert _open_ways(opened, default, "walk") == 3
    assert _open_ways(opened, walk, "walk") == 4
    assert _open_ways(opened, walk, "bike") == _open_ways(opened, default, "bike") == 3
    network = build_network(opened, "walk", "EPSG:32631", closed_kinds=walk.closed_to("walk"))
    assert network.minutes_uv == pytest.approx([WALK_MIN] * 4, abs=0.002)
    assert _open_minutes(opened, "walk") == pytest.approx([WALK_MIN] * 6, abs=0.002)  # the module default: 3 ways


def test_a_kind_added_to_drive_closes_it_to_driving_and_ambulances(segments):  # noqa: F811
    opened = with_access_rules(segments, ScenarioConfig.model_construct(roads=_roads()))
    assert _open_ways(opened, _roads(), "drive") == 2  # service and track; footway and platform have no speed
    closed = _roads(drive=["track"])
    assert _open_ways(opened, closed, "drive") == _open_ways(opened, closed, "ambulance") == 1
    assert _open_ways(opened, closed, "walk") == 3


def test_an_unknown_mode_is_a_config_error():
    with pytest.raises(pydantic.ValidationError, match="closed_kinds"):
        RoadsConfig(pbf="x.osm", closed_kinds={"boat": ["ferry"]})


def test_a_run_builds_its_networks_without_the_closed_kinds():
    """The demo with footways and paths closed to walking: no node of the run's walk network lies only on
    ways of those kinds, while the default network uses such nodes (the test can fail)."""
    demo = load_config(api.demo_config())
    shut = ["footway", "path", "pedestrian", "steps", "cycleway"]
    roads = demo.roads.model_validate({**demo.roads.model_dump(), "closed_kinds": {"walk": shut}})
    inputs = prepare_inputs(demo.model_copy(update={"roads": roads}))
    default = prepare_inputs(demo)
    read = inputs.segments
    open_way = ~np.isin(read.highway.astype(str), shut) & ~read.foot_forbidden
    open_nodes = set(read.node_id[np.concatenate([read.u[open_way], read.v[open_way]])].tolist())
    assert set(inputs.networks["walk"].node_id.tolist()) <= open_nodes
    assert not set(default.networks["walk"].node_id.tolist()) <= open_nodes
    assert inputs.networks["walk"].n_edges < default.networks["walk"].n_edges
