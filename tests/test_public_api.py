"""``import geocover as gc``: every curated name resolves to its home, lazily, without the OSM reader or Dask."""

from __future__ import annotations

import subprocess
import sys

import geocover as gc
from tests.conftest import ROOT


def test_every_public_name_is_its_modules_object():
    for name in gc.__all__:
        value = getattr(gc, name)
        assert getattr(value, "__name__", name) == name
        assert value.__module__ == gc._HOMES[name]
    assert set(gc.__all__) <= set(dir(gc))
    assert {"run_scenario", "load_config", "Network", "travel_time_matrix", "isochrones", "MaximalCovering",
            "read_facilities", "read_population", "zone_table", "gap_polygons", "load_network"} <= set(gc.__all__)


def _loaded_after(code: str) -> set[str]:
    """Top-level modules loaded by a fresh interpreter after ``import geocover as gc`` and ``code``."""
    listing = "print(' '.join({m.split('.')[0] for m in sys.modules}))"
    script = f"import sys\nimport geocover as gc\n{code}\n{listing}"
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""})
    return set(out.stdout.split())


def test_imports_stay_light():
    assert not {"osmium", "dask", "distributed", "folium", "highspy", "networkx"} & _loaded_after("")
    # Building a network, its travel times and isochrones: no OSM reader, no Dask.
    used = _loaded_after("gc.Network, gc.RoadSegments, gc.build_network, gc.travel_time_matrix, gc.isochrones")
    assert not {"osmium", "dask", "distributed"} & used
    assert not {"dask", "distributed"} & _loaded_after("gc.MaximalCovering, gc.run_scenario, gc.read_facilities")
