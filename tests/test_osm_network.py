"""OSM reading and network building on a hand-written OSM file."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

import geocover.io.osm
from geocover.io.osm import parse_maxspeed, read_admin_boundaries, read_road_segments
from geocover.network.graph import AMBULANCE_FACTOR, BIKE_SPEED_KMH, DRIVE_SPEEDS_KMH, build_network

# Nodes on the equator every 0.001 degree of longitude (about 111.3 m apart).
OSM_XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
  {nodes}
  <way id="100"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="primary"/></way>
  <way id="101"><nd ref="3"/><nd ref="4"/>
    <tag k="highway" v="residential"/><tag k="oneway" v="yes"/><tag k="maxspeed" v="30 mph"/></way>
  <way id="102"><nd ref="4"/><nd ref="5"/>
    <tag k="highway" v="residential"/><tag k="oneway" v="-1"/></way>
  <way id="103"><nd ref="5"/><nd ref="6"/><tag k="highway" v="footway"/></way>
  <way id="104"><nd ref="6"/><nd ref="7"/><tag k="highway" v="motorway"/></way>
  <way id="105"><nd ref="7"/><nd ref="8"/>
    <tag k="highway" v="service"/><tag k="access" v="private"/></way>
  <way id="106"><nd ref="8"/><nd ref="9"/><tag k="building" v="yes"/></way>
</osm>
"""


@pytest.fixture()
def osm_file(tmp_path):
    nodes = "\n  ".join(
        f'<node id="{i}" version="1" lat="0.0" lon="{(i - 1) * 0.001:.3f}"/>' for i in range(1, 10)
    )
    path = tmp_path / "hand.osm"
    path.write_text(OSM_XML.format(nodes=nodes), encoding="utf-8")
    return path


def test_parse_maxspeed():
    assert parse_maxspeed("50") == 50
    assert parse_maxspeed("30 mph") == pytest.approx(48.28032)
    assert parse_maxspeed("60;80") == 60
    assert np.isnan(parse_maxspeed("signals"))
    assert np.isnan(parse_maxspeed(None))


def test_segments_carry_way_tags(osm_file):
    segments = read_road_segments(osm_file)
    # 2 + 1 + 1 + 1 + 1 + 1 segments from the seven highway ways' node pairs; the building is not a road.
    assert len(segments.u) == 7
    assert set(segments.way_id) == {100, 101, 102, 103, 104, 105}
    oneway = dict(zip(segments.way_id, segments.oneway, strict=True))
    assert oneway[101] == 1 and oneway[102] == -1 and oneway[104] == 1 and oneway[100] == 0
    assert segments.motor_forbidden[segments.way_id == 105].all()


def test_drive_and_walk_networks(osm_file):
    segments = read_road_segments(osm_file)
    drive = build_network(segments, "drive", "EPSG:32631")
    walk = build_network(segments, "walk", "EPSG:32631")
    step_m = 111.319  # 0.001 degree of longitude on the equator, to 0.01%
    by_pair = {(int(drive.node_id[a]), int(drive.node_id[b])): (f, r) for a, b, f, r in
               zip(drive.u, drive.v, drive.minutes_uv, drive.minutes_vu, strict=True)}
    # Primary both ways at 60 km/h.
    f, r = by_pair[(1, 2)]
    assert f == pytest.approx(step_m / (DRIVE_SPEEDS_KMH["primary"] * 1000 / 60), rel=1e-3) and r == f
    # oneway=yes along 3->4, at its maxspeed of 30 mph.
    f, r = by_pair[(3, 4)]
    assert f == pytest.approx(step_m / (48.28032 * 1000 / 60), rel=1e-3) and np.isinf(r)
    # oneway=-1: only 5->4.
    f, r = by_pair[(4, 5)]
    assert np.isinf(f) and np.isfinite(r)
    # No footway or private service road for cars; the motorway is one-way.
    assert (5, 6) not in by_pair and (7, 8) not in by_pair
    assert np.isinf(by_pair[(6, 7)][1])
    # Walking: everything but the motorway, both ways at 5 km/h; the private road is closed on foot too.
    walk_pairs = {(int(walk.node_id[a]), int(walk.node_id[b])) for a, b in zip(walk.u, walk.v, strict=True)}
    assert walk_pairs == {(1, 2), (2, 3), (3, 4), (4, 5), (5, 6)}
    assert np.allclose(walk.minutes_uv, walk.minutes_vu)
    assert walk.minutes_uv[0] == pytest.approx(step_m / (5000 / 60), rel=1e-3)


def test_within_keeps_segments_touching_the_bounds(osm_file):
    segments = read_road_segments(osm_file).within((-0.0005, -1.0, 0.0015, 1.0))
    assert set(zip(segments.u, segments.v, strict=True)) == {(0, 1), (1, 2)}


def test_comoros_islands_and_communes(comoros_dir):
    pbf = comoros_dir / "comores-latest.osm.pbf"
    islands = read_admin_boundaries(pbf, 4)
    assert len(islands) == 3
    assert any("Mwali" in name for name in islands["zone_name"])
    communes = read_admin_boundaries(pbf, 8)
    # Only relations: the closed ways that repeat some communes are not zones of their own.
    assert len(communes) == 6 and communes["zone_id"].is_unique


def test_bike_and_ambulance_modes(osm_file):
    segments = read_road_segments(osm_file)
    drive = build_network(segments, "drive", "EPSG:32631")
    ambulance = build_network(segments, "ambulance", "EPSG:32631")
    bike = build_network(segments, "bike", "EPSG:32631")
    # The ambulance uses the roads a car uses, AMBULANCE_FACTOR times faster, one-way rules kept.
    np.testing.assert_array_equal(ambulance.u, drive.u)
    np.testing.assert_allclose(ambulance.minutes_uv, drive.minutes_uv / AMBULANCE_FACTOR)
    np.testing.assert_allclose(ambulance.minutes_vu, drive.minutes_vu / AMBULANCE_FACTOR)
    # The bike takes the footway, not the motorway nor the private road, and keeps one-way streets.
    pairs = {(int(bike.node_id[a]), int(bike.node_id[b])): (f, r) for a, b, f, r in
             zip(bike.u, bike.v, bike.minutes_uv, bike.minutes_vu, strict=True)}
    assert set(pairs) == {(1, 2), (2, 3), (3, 4), (4, 5), (5, 6)}
    assert np.isinf(pairs[(3, 4)][1]) and np.isinf(pairs[(4, 5)][0])
    assert pairs[(5, 6)][0] == pytest.approx(111.319 / (BIKE_SPEED_KMH * 1000 / 60), rel=1e-3)


@pytest.mark.parametrize("mode", ["walk", "bike", "drive", "ambulance"])
@pytest.mark.parametrize("direction", ["to", "from"])
def test_every_mode_and_direction_equals_networkx(osm_file, mode, direction):
    from geocover.network.snapping import snap_points
    from geocover.travel.nearest import nearest_facility_nodes, point_minutes
    from tests.reference import reference_minutes

    network = build_network(read_road_segments(osm_file), mode, "EPSG:32631")
    rng = np.random.default_rng(3)
    x0, x1 = network.x.min(), network.x.max()
    y0 = network.y.mean()
    facilities = snap_points(network, np.array([x0 + 150.0, x1 - 120.0]), np.array([y0 + 10, y0 - 10]), 100.0)
    points = snap_points(network, rng.uniform(x0, x1, 60), y0 + rng.uniform(-30, 30, 60), 100.0)
    nodes = nearest_facility_nodes(network, facilities, direction)
    minutes, _ = point_minutes(network, nodes, points, facilities)
    np.testing.assert_allclose(minutes, reference_minutes(network, facilities, points, direction), rtol=1e-9)
    assert np.isfinite(minutes).sum() > 10


# Ways around the box (0, 0, 1, 1) degrees; node 99 is referenced but missing from the file.
_BOX = (0.0, 0.0, 1.0, 1.0)
_BOX_NODES = {
    1: (0.5, 0.5), 2: (1.5, 0.5), 3: (2.0, 0.5),  # inside, then east of the box
    4: (3.0, 3.0), 5: (4.0, 4.0), 6: (2.0, 3.0),  # far outside
    7: (1.0, 0.2), 8: (2.0, 0.2),  # 7 exactly on the east edge
    9: (0.2, 0.2), 10: (0.3, 0.3), 11: (0.4, 0.2), 12: (0.8, 0.8),
}
_BOX_WAYS = {
    # way id: (nodes, tags)
    10: ([1, 2, 3], {"highway": "primary"}),  # crosses the edge: kept with its two outside nodes
    11: ([4, 5], {"highway": "motorway_link"}),  # wholly outside: dropped
    12: ([3, 6, 4], {"highway": "track"}),  # shares node 3 with way 10 but has no node inside: dropped
    13: ([7, 8], {"highway": "residential", "oneway": "yes"}),  # a node on the edge: kept
    14: ([9, 99, 10], {"highway": "service", "access": "private"}),  # missing node 99 skipped, 9-10 joined
    15: ([11], {"highway": "footway"}),  # one node: kept, no segment
    16: ([10, 11, 12, 1], {"highway": "unclassified", "maxspeed": "30 mph"}),
    17: ([9, 12], {"building": "yes"}),  # not a road
}


@pytest.fixture()
def box_pbf(tmp_path):
    import osmium
    from osmium.osm.mutable import Node, Way

    path = tmp_path / "box.osm.pbf"
    with osmium.SimpleWriter(str(path)) as writer:
        for node_id, location in _BOX_NODES.items():
            writer.add_node(Node(id=node_id, location=location))
        for way_id, (nodes, tags) in _BOX_WAYS.items():
            writer.add_way(Way(id=way_id, nodes=nodes, tags=tags))
    return path


def _pairs(segments):
    return [(int(segments.node_id[a]), int(segments.node_id[b]), int(w))
            for a, b, w in zip(segments.u, segments.v, segments.way_id, strict=True)]


def _assert_same(a, b):
    for field in fields(a):
        left, right = getattr(a, field.name), getattr(b, field.name)
        assert left.dtype == right.dtype, field.name
        np.testing.assert_array_equal(left, right, err_msg=field.name)


def test_bounded_read_keeps_whole_ways_with_a_node_in_the_box(box_pbf):
    segments = read_road_segments(box_pbf, _BOX)
    assert _pairs(segments) == [(1, 2, 10), (2, 3, 10), (7, 8, 13), (9, 10, 14),
                                (10, 11, 16), (11, 12, 16), (12, 1, 16)]
    # Nodes of the kept ways, the lone node of way 15 included; 4, 5, 6 and the missing 99 are not.
    assert segments.node_id.tolist() == [1, 2, 3, 7, 8, 9, 10, 11, 12]
    lonlat = dict(zip(segments.node_id, zip(segments.lon, segments.lat, strict=True), strict=True))
    assert all(lonlat[node] == _BOX_NODES[node] for node in segments.node_id)
    tags = {int(w): (h, o, m, f) for w, h, o, m, f in zip(segments.way_id, segments.highway, segments.oneway,
                                                          segments.maxspeed_kmh, segments.foot_forbidden, strict=True)}
    assert tags[13][:2] == ("residential", 1) and tags[14][3] and not tags[10][3]
    assert tags[16][2] == pytest.approx(48.28032) and np.isnan(tags[10][2])
    # Without a box, the same reader keeps every road: the motorway link and the track too.
    everything = read_road_segments(box_pbf)
    assert set(everything.way_id) == {10, 11, 12, 13, 14, 16}
    _assert_same(read_road_segments(box_pbf, (-10.0, -10.0, 10.0, 10.0)), everything)
    assert len(read_road_segments(box_pbf, (5.0, 5.0, 6.0, 6.0)).node_id) == 0


@pytest.mark.parametrize("flush_refs", [1, 2, 3, 5])
def test_bounded_read_does_not_depend_on_the_batches(box_pbf, monkeypatch, flush_refs):
    whole = read_road_segments(box_pbf, _BOX)
    monkeypatch.setattr(geocover.io.osm, "_FLUSH_REFS", flush_refs)
    _assert_same(read_road_segments(box_pbf, _BOX), whole)
