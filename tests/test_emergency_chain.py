"""The rural emergency chain (#15): township health centre → central one and county emergency centre."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from geocover.analysis.emergency_chain import emergency_chain
from geocover.network.graph import Network
from geocover.travel.cells import snap_facilities
from tests.reference import reference_minutes
from tests.synthetic import CRS, street_grid


def _layer(rows: list[tuple[str, str, float, float, str]]) -> gpd.GeoDataFrame:
    ids, tiers, x, y, codes = zip(*rows, strict=True)
    return gpd.GeoDataFrame({"facility_id": ids, "name": [f"名{i}" for i in ids], "tier": tiers,
                             "township_code": codes}, geometry=[Point(a, b) for a, b in zip(x, y, strict=True)],
                            crs=CRS)


def test_chain_minutes_equal_networkx_on_a_street_grid():
    network = street_grid(seed=7, n_side=8, spacing=300.0, gap_share=0.1, oneway_share=0.2)
    rng = np.random.default_rng(3)
    tiers = ["township_health_centre"] * 12 + ["central_township_health_centre"] * 3 + ["emergency_centre"] * 2
    xy = rng.uniform(0, 2100, (len(tiers), 2))
    layer = _layer([(f"f{i}", t, x, y, "") for i, (t, (x, y)) in enumerate(zip(tiers, xy, strict=True))])
    chain = emergency_chain(network, layer, snap_max_m=500.0, offroad_kmh=5.0).set_index("facility_id")
    thc = layer[layer["tier"] == "township_health_centre"]
    for tier, column in (("central_township_health_centre", "minutes_to_central_thc"),
                         ("emergency_centre", "minutes_to_emergency_centre")):
        targets = layer[layer["tier"] == tier]
        expected = reference_minutes(network, snap_facilities(network, targets, 500.0),
                                     snap_facilities(network, thc, 500.0), "to", 5.0)
        assert chain.loc[thc["facility_id"], column].to_numpy() == pytest.approx(expected)
    assert np.isfinite(chain["minutes_to_central_thc"]).all()
    central = chain[chain["tier"] == "central_township_health_centre"]
    assert (central["minutes_to_central_thc"] == 0).all() and (central["central_thc_id"] == central.index).all()
    assert (chain["emergency_centre_scope"] == "nearest").all()


def test_the_county_emergency_centre_is_the_own_countys_not_the_nearest():
    # One two-way road 0-10 km at 60 km/h (1 min per km): nodes every km.
    x = np.arange(11) * 1000.0
    network = Network(x=x, y=np.zeros(11), u=np.arange(10), v=np.arange(1, 11), minutes_uv=np.ones(10),
                      minutes_vu=np.ones(10), crs=CRS, mode="drive")
    layer = _layer([
        ("t1", "township_health_centre", 4000, 0, "130102001000"),    # county 130102, at km 4
        ("t2", "township_health_centre", 9000, 0, "130103002000"),    # county 130103, at km 9
        ("c1", "central_township_health_centre", 3000, 0, "130102002000"),
        ("e1", "emergency_centre", 0, 0, "130102000000"),              # 130102's centre, 4 km from t1
        ("e2", "emergency_centre", 6000, 0, "130103000000"),           # 130103's centre, 2 km from t1
    ])
    chain = emergency_chain(network, layer, snap_max_m=100.0).set_index("facility_id")
    assert chain.loc["t1", "minutes_to_emergency_centre"] == pytest.approx(4.0)
    assert chain.loc["t1", "emergency_centre_id"] == "e1"
    assert chain.loc["t2", "minutes_to_emergency_centre"] == pytest.approx(3.0)
    assert chain.loc["t2", "emergency_centre_name"] == "名e2"
    assert chain.loc["t1", "minutes_to_central_thc"] == pytest.approx(1.0)
    assert chain.loc["t2", "minutes_to_central_thc"] == pytest.approx(6.0)
    assert (chain["emergency_centre_scope"] == "same county").all()
    assert chain.loc["c1", "county_code"] == "130102"
    # No central centre and no emergency centre: nothing to report.
    assert emergency_chain(network, layer[layer["tier"] == "township_health_centre"], 100.0) is None
