"""geocover: who can reach care, and where to build next.

``import geocover as gc`` gives the notebook API, GeoDataFrames in and out (see "Python API" in the README):

- scenarios: :func:`run_scenario`, :func:`prepare_inputs` (:class:`PreparedInputs`), :func:`load_config`,
  :func:`demo_config`;
- readers: :func:`read_facilities`, :func:`read_zones`, :func:`read_road_segments` (OSM),
  :func:`read_road_lines` (road grades), :func:`read_population`, :func:`population_from_points`,
  :func:`read_statistics`;
- networks: :class:`RoadSegments` (``RoadSegments.from_gdf``), :func:`build_network`, :class:`Network`
  (``from_gdfs``, ``to_gdfs``, ``from_networkx``, ``to_networkx``, ``save``), :func:`load_network`,
  :func:`snap_points`;
- travel times: :func:`cell_accessibility`, :func:`travel_time_matrix`, :func:`isochrones`;
- analysis: :func:`zone_table`, :func:`service_areas`, :func:`gap_polygons`, :func:`catchment_polygons`;
- siting models: :class:`MaximalCovering`, :class:`SetCovering`, :class:`PMedian`, :class:`AmbulanceStations`.

Each name is imported from its module on first use, so ``import geocover`` stays light and building a
network never loads the OSM reader (pyosmium) or Dask.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("geocover")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

_HOMES: dict[str, str] = {
    "run_scenario": "geocover.pipeline",
    "ScenarioResult": "geocover.pipeline",
    "load_config": "geocover.config.scenario",
    "ScenarioConfig": "geocover.config.scenario",
    "prepare_inputs": "geocover.prepared_inputs",
    "PreparedInputs": "geocover.prepared_inputs",
    "demo_config": "geocover.api",
    "read_facilities": "geocover.io.facilities",
    "read_zones": "geocover.io.zones",
    "read_road_segments": "geocover.io.osm",
    "read_road_lines": "geocover.io.road_lines",
    "read_population": "geocover.io.population",
    "population_from_points": "geocover.io.population",
    "PopulationGrid": "geocover.io.population",
    "read_statistics": "geocover.io.statistics",
    "RoadSegments": "geocover.network.segments",
    "build_network": "geocover.network.graph",
    "Network": "geocover.network.graph",
    "load_network": "geocover.network.storage",
    "snap_points": "geocover.network.snapping",
    "cell_accessibility": "geocover.travel.cells",
    "Accessibility": "geocover.travel.cells",
    "travel_time_matrix": "geocover.travel.od_matrix",
    "TravelTimeMatrix": "geocover.travel.od_matrix",
    "isochrones": "geocover.travel.isochrones",
    "zone_table": "geocover.analysis.zone_table",
    "service_areas": "geocover.analysis.polygons",
    "gap_polygons": "geocover.analysis.polygons",
    "catchment_polygons": "geocover.analysis.polygons",
    "MaximalCovering": "geocover.siting.models",
    "SetCovering": "geocover.siting.models",
    "PMedian": "geocover.siting.models",
    "AmbulanceStations": "geocover.siting.models",
}
"""Public name to the module that defines it."""

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'geocover' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

