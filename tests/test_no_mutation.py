"""No function changes its caller's objects: ``walk_off_road`` and ``api.run``."""

import copy

import numpy as np
import pyproj
import pytest
import rasterio
from affine import Affine

from geocover import api
from geocover.analysis.access import walk_off_road
from geocover.config import OffroadConfig, load_config
from geocover.io.population import PopulationGrid
from geocover.travel.cells import Accessibility
from geocover.travel.offroad import tobler_kmh

UTM = pyproj.CRS("EPSG:32638")
TRANSFORM = Affine(100.0, 0.0, 500_000.0, 0.0, -100.0, 1_000_100.0)


def test_walk_off_road_returns_a_new_access(tmp_path):
    """Three flat cells 100 m apart, the first on the road network at 2 min: walking adds 100 m per cell."""
    dem = tmp_path / "dem.tif"
    with rasterio.open(dem, "w", driver="GTiff", width=3, height=1, count=1, dtype="float32", crs=UTM,
                       transform=TRANSFORM) as file:
        file.write(np.zeros((1, 1, 3), dtype="float32"))
    grid = PopulationGrid(np.ones((1, 3)), np.ones((1, 3), dtype=bool), TRANSFORM, UTM)
    access = Accessibility(grid, np.array([[2.0, np.inf, np.inf]]), np.array([[0, -1, -1]]), None, None, None)
    before = copy.deepcopy((access.minutes, access.facility))
    walked = walk_off_road(access, OffroadConfig(dem=dem), UTM)
    assert walked is not access
    np.testing.assert_array_equal(access.minutes, before[0])
    np.testing.assert_array_equal(access.facility, before[1])
    step = 0.1 / float(tobler_kmh(np.array([0.0]))[0]) * 60
    np.testing.assert_allclose(walked.minutes, [[2.0, 2.0 + step, 2.0 + 2 * step]])
    np.testing.assert_array_equal(walked.facility, [[0, 0, 0]])


def test_run_lenient_leaves_the_config_alone(monkeypatch):
    config = load_config(api.demo_config())
    seen = {}

    def fake_run(given, progress=True):
        seen["config"] = given
        raise RuntimeError("stop")

    monkeypatch.setattr(api, "run_scenario", fake_run)
    with pytest.raises(RuntimeError, match="stop"):
        api.run(config, lenient=True, progress=False)
    assert seen["config"].facilities.lenient is True
    assert config.facilities.lenient is False
