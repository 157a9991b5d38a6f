"""gc.isochrones: per facility and cut-off, the roads reached (by NetworkX) buffered and unioned."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from geocover.network.snapping import Snap
from geocover.travel.cells import snap_facilities
from geocover.travel.isochrones import isochrones
from tests.reference import reference_minutes
from tests.synthetic import CRS, street_grid


def _node_points(network) -> Snap:
    """Every node as a point at one end of one of its segments, on the road."""
    edge = np.full(network.n_nodes, -1, dtype=np.int64)
    fraction = np.zeros(network.n_nodes)
    edge[network.v], fraction[network.v] = np.arange(network.n_edges), 1.0
    edge[network.u], fraction[network.u] = np.arange(network.n_edges), 0.0
    return Snap(edge, fraction, np.where(edge >= 0, 0.0, np.inf))


def _expected(network, snap: Snap, f: int, band: float, buffer_m: float) -> shapely.Geometry:
    """The union of the buffers of the segments both of whose ends NetworkX reaches within ``band``
    (residents travelling to the facility), and of the facility's legs to its segment's reached ends."""
    alone = np.arange(len(snap)) == f
    one = Snap(np.where(alone, snap.edge, -1), snap.fraction, snap.offset_m)
    reached = reference_minutes(network, one, _node_points(network), direction="to") <= band
    xy = np.column_stack([network.x, network.y])
    passable = np.isfinite(network.minutes_uv) | np.isfinite(network.minutes_vu)
    lines = [shapely.LineString([xy[a], xy[b]]) for a, b, ok in zip(network.u, network.v, passable, strict=True)
             if ok and reached[a] and reached[b]]
    e, t = snap.edge[f], snap.fraction[f]
    at = xy[network.u[e]] + t * (xy[network.v[e]] - xy[network.u[e]])
    lines += [shapely.LineString([at, xy[end]]) for end in (network.u[e], network.v[e]) if reached[end]]
    return shapely.union_all([line.buffer(buffer_m) for line in lines])


def test_isochrones_equal_the_buffered_roads_networkx_reaches():
    network = street_grid(seed=8)
    rng = np.random.default_rng(8)
    facilities = gpd.GeoDataFrame({"name": ["a", "b", "far"]}, index=[10, 20, 30], crs=CRS,
                                  geometry=gpd.points_from_xy([*rng.uniform(200, 1600, 2), 9e5],
                                                              [*rng.uniform(200, 1600, 2), 9e5]))
    got = isochrones(network, facilities.to_crs("EPSG:4326"), minutes=[4, 2], snap_max_m=150.0, buffer_m=20.0)
    assert got.crs == network.crs and len(got) == 6
    assert got["facility"].tolist() == [10, 10, 20, 20, 30, 30] and got["minutes"].tolist() == [2, 4] * 3
    snap = snap_facilities(network, facilities, 150.0)
    for row in got.itertuples():
        f = [10, 20, 30].index(row.facility)
        if f == 2:
            assert row.geometry.is_empty  # beyond the snap distance: reaches nothing
            continue
        expected = _expected(network, snap, f, row.minutes, 20.0)
        assert expected.area > 0
        assert row.geometry.symmetric_difference(expected).area <= 1e-4 * expected.area
    small, large = got.geometry.iloc[0], got.geometry.iloc[1]
    assert small.area < large.area and small.difference(large).area <= 1e-6 * small.area
