"""Scenario configuration in YAML, validated on load.

Paths are relative to the config file. An unknown key or a value of the wrong
type is an :class:`~geocover.errors.InputError` naming the key and the file.

``paths`` holds the declared path types and the strict section base, ``sections`` each section's
model, ``scenario`` the whole scenario and :func:`load_config`.
"""

from geocover.config.paths import PACKAGE_PREFIX, InputPath, Minutes, OutputPath, Section, path_kind
from geocover.config.scenario import ScenarioConfig, load_config
from geocover.config.sections import (
    AmbulanceConfig,
    BatchConfig,
    CapacityConfig,
    FacilitiesConfig,
    FcaConfig,
    MapConfig,
    OffroadConfig,
    PlanChangesConfig,
    PopulationConfig,
    RoadsConfig,
    ServiceConfig,
    SitingConfig,
    StandardsConfig,
    StatisticsConfig,
    ZoneLayerConfig,
)

__all__ = [
    "AmbulanceConfig",
    "BatchConfig",
    "CapacityConfig",
    "FacilitiesConfig",
    "FcaConfig",
    "InputPath",
    "MapConfig",
    "Minutes",
    "OffroadConfig",
    "OutputPath",
    "PACKAGE_PREFIX",
    "PlanChangesConfig",
    "PopulationConfig",
    "RoadsConfig",
    "ScenarioConfig",
    "Section",
    "ServiceConfig",
    "SitingConfig",
    "StandardsConfig",
    "StatisticsConfig",
    "ZoneLayerConfig",
    "load_config",
    "path_kind",
]
