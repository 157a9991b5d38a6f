"""Side effects scoped: the GPKG date option and the HiGHS banner's stdout redirect are undone at once."""

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pyogrio
import pytest

from geocover.render import writers
from geocover.render.writers import gdal_config


def test_gdal_config_restores_unset_and_previous_values():
    assert pyogrio.get_gdal_config_option("OGR_CURRENT_DATE") is None
    with gdal_config(OGR_CURRENT_DATE="2000-01-01T00:00:00Z"):
        assert pyogrio.get_gdal_config_option("OGR_CURRENT_DATE") == "2000-01-01T00:00:00Z"
    assert pyogrio.get_gdal_config_option("OGR_CURRENT_DATE") is None
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "1999-12-31T00:00:00Z"})
    try:
        with pytest.raises(ValueError), gdal_config(OGR_CURRENT_DATE="2000-01-01T00:00:00Z"):
            raise ValueError
        assert pyogrio.get_gdal_config_option("OGR_CURRENT_DATE") == "1999-12-31T00:00:00Z"
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})


def test_writers_set_the_gpkg_date_only_inside_the_block():
    text = Path(writers.__file__).read_text(encoding="utf-8")
    assert text.count("set_gdal_config_options") == 2  # inside gdal_config only
    assert "with gdal_config(OGR_CURRENT_DATE=FIXED_GPKG_DATE):" in text


_CHILD = """
import os, sys
from geocover.siting.solvers import _silent_highs
import highspy
before = os.fstat(1)
print("before", flush=True)
_silent_highs(highspy)
after = os.fstat(1)
print("same fd 1:", (before.st_dev, before.st_ino) == (after.st_dev, after.st_ino), flush=True)
os.dup2 = None  # a second instance must not touch file descriptor 1
_silent_highs(highspy)
os.write(1, b"after\\n")
"""


def test_highs_banner_hidden_and_stdout_restored():
    """In a fresh process (the banner prints once per process): no banner, fd 1 back, later output kept."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["before", "same fd 1: True", "after"]
    assert "HiGHS" not in done.stdout + done.stderr


def test_travel_time_raster_codes_cells_beyond_the_batch_limit(tmp_path):
    """One write codes -1 unreachable, -2 beyond the limit (batch sentinels 1e9, 2e9 included), nodata outside."""
    import numpy as np
    import pyproj
    import rasterio
    from affine import Affine

    from geocover.io.population import PopulationGrid

    grid = PopulationGrid(np.ones((1, 5)), np.array([[True, True, True, True, False]]),
                          Affine(100.0, 0.0, 500_000.0, 0.0, -100.0, 0.0), pyproj.CRS("EPSG:32638"))
    access = SimpleNamespace(grid=grid, minutes=np.array([[3.0, np.inf, 1e9, 2e9, np.nan]]), cell_snap=None)
    result = SimpleNamespace(access=access, config=SimpleNamespace(mode="walk"))
    writers.write_travel_time(result, tmp_path / "batch.tif", more_than_minutes=30.0)
    writers.write_travel_time(result, tmp_path / "run.tif")
    with rasterio.open(tmp_path / "batch.tif") as batch, rasterio.open(tmp_path / "run.tif") as run:
        assert batch.read(1).tolist() == [[3.0, -1.0, -2.0, -2.0, -9999.0]]
        assert batch.tags()["more_than"] == "-2.0" and "more_than" not in run.tags()
        assert run.read(1).tolist() == [[3.0, -1.0, 1e9, 2e9, -9999.0]]
