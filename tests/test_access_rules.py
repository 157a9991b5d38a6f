"""``roads.respect_access``: access/foot/vehicle tags close ways by default; off, only the road kind decides."""

import numpy as np
import pytest

from geocover.config import RoadsConfig, ScenarioConfig
from geocover.io.osm import read_road_segments
from geocover.network.graph import DRIVE_SPEEDS_KMH, WALK_SPEED_KMH, build_network
from geocover.prepare import with_access_rules

# Nodes on the equator every 0.001 degree (about 111.3 m): a private service road, a footway closed to
# pedestrians, a track closed to vehicles, and a platform (closed to walking by its kind, whatever the tags).
OSM_XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
  {nodes}
  <way id="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="service"/><tag k="access" v="private"/></way>
  <way id="2"><nd ref="2"/><nd ref="3"/><tag k="highway" v="footway"/><tag k="foot" v="no"/></way>
  <way id="3"><nd ref="3"/><nd ref="4"/><tag k="highway" v="track"/><tag k="motor_vehicle" v="no"/></way>
  <way id="4"><nd ref="4"/><nd ref="5"/><tag k="highway" v="platform"/></way>
</osm>
"""


@pytest.fixture()
def segments(tmp_path):
    nodes = "\n  ".join(f'<node id="{i}" version="1" lat="0.0" lon="{(i - 1) * 0.001:.3f}"/>' for i in range(1, 6))
    path = tmp_path / "access.osm"
    path.write_text(OSM_XML.format(nodes=nodes), encoding="utf-8")
    return read_road_segments(path)


def _config(respect: bool) -> ScenarioConfig:
    return ScenarioConfig.model_construct(roads=RoadsConfig(pbf="x.osm", respect_access=respect))


def _open_minutes(segments, mode) -> list[float]:
    """Minutes of every open direction of the network of ``mode``, sorted."""
    network = build_network(segments, mode, "EPSG:32631", use_maxspeed=False)
    both = np.concatenate([network.minutes_uv, network.minutes_vu])
    return sorted(both[np.isfinite(both)].round(3).tolist())


@pytest.mark.parametrize("respect", [True, False])
def test_walk_and_drive_by_hand(segments, respect):
    """0.001 degree on the equator is 111.32 m: at 5 km/h 1.336 min, at 15 km/h (service, track) 0.445 min."""
    opened = with_access_rules(segments, _config(respect))
    walk_min = round(0.11132 / WALK_SPEED_KMH * 60, 3)
    drive_min = round(0.11132 / DRIVE_SPEEDS_KMH["service"] * 60, 3)
    assert DRIVE_SPEEDS_KMH["service"] == DRIVE_SPEEDS_KMH["track"]
    # the platform (way 4) never opens: it is closed to walking by its kind, and has no drive speed
    walk_open, drive_open = (1, 0) if respect else (3, 2)  # open ways, both directions each
    assert _open_minutes(opened, "walk") == pytest.approx([walk_min] * 2 * walk_open, abs=0.002)
    assert _open_minutes(opened, "drive") == pytest.approx([drive_min] * 2 * drive_open, abs=0.002)
    assert segments.foot_forbidden[segments.way_id == 2].all()  # the caller's segments unchanged


def test_default_respects_access():
    assert RoadsConfig(pbf="x.osm").respect_access is True
