"""Scenario configuration in YAML, validated on load.

Paths are relative to the config file. An unknown key or a value of the wrong
type is an :class:`~geocover.errors.InputError` naming the key and the file.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Literal

import pyproj
from pydantic import Field, ValidationError, model_validator

from geocover.config.paths import PACKAGE_PREFIX, InputPath, Minutes, OutputPath, Section, check_bands
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
    VillagesConfig,
    ZoneLayerConfig,
)
from geocover.errors import InputError, Problem
from geocover.io.yaml_file import read_yaml


class ScenarioConfig(Section):
    """A whole scenario: inputs, travel mode, bands and outputs."""

    name: str
    mode: Literal["walk", "bike", "drive", "ambulance"] = "walk"
    bands_minutes: list[Minutes] = Field(default_factory=lambda: [5.0, 10.0, 15.0], min_length=1)
    target_minutes: Minutes = Field(default=15.0, description="required in a config file (see load_config)")
    target_percent: float = Field(default=100.0, ge=0, le=100, description="share to reach within the target")
    snap_max_m: float | None = Field(
        default=None, gt=0, description="opt-in cut-off: cells and facilities farther from every road are unreachable"
    )
    offroad_max_m: float = Field(
        default=5000.0, gt=0, description="longest off-road leg (no leg across the sea between islands), metres"
    )
    offroad_report_m: float | None = Field(
        default=None, gt=0, description="adds pop_offroad_over_<m> per zone: people whose off-road leg is longer"
    )
    offroad_kmh: float = Field(default=5.0, gt=0)
    roads: RoadsConfig
    facilities: FacilitiesConfig
    population: PopulationConfig
    zones: list[ZoneLayerConfig] = Field(min_length=1)
    services: list[ServiceConfig] = Field(default_factory=list, description="service circles per tier")
    tier_minutes: bool = Field(default=False, description="minutes to the nearest facility of each tier, per zone")
    facility_table: bool = Field(
        default=True, description="catchments per band, nearest same-tier neighbour, referral time per facility"
    )
    isochrones: bool = Field(
        default=False, description="per-facility network isochrones at bands_minutes: layer isochrones of results.gpkg"
    )
    statistics: StatisticsConfig | None = None
    standards: StandardsConfig | None = None
    ambulance: AmbulanceConfig | None = None
    plan: PlanChangesConfig | None = None
    capacity: CapacityConfig | None = None
    offroad: OffroadConfig | None = None
    fca: FcaConfig | None = None
    batch: BatchConfig | None = None
    siting: SitingConfig | None = None
    villages: VillagesConfig | None = None
    builtup_raster: InputPath | None = Field(default=None, description="built-up share in percent, for urban/rural")
    urban_builtup_percent: float = Field(default=30.0, ge=0, le=100)
    map: MapConfig = Field(default_factory=MapConfig)
    output_dir: OutputPath | None = None
    output_crs: str | None = Field(
        default=None, description="also write results_<epsg>.gpkg in this CRS: EPSG:4490 (CGCS2000), gk3, EPSG:nnnn"
    )
    source: Path | None = Field(default=None, exclude=True)

    @property
    def snap_limit_m(self) -> float:
        """Longest off-road leg, metres: ``offroad_max_m``, or the opt-in ``snap_max_m`` when shorter."""
        return min(self.offroad_max_m, self.snap_max_m or float("inf"))

    @model_validator(mode="after")
    def _known_output_crs(self) -> ScenarioConfig:
        if self.output_crs is not None and self.output_crs.lower() != "gk3":
            try:
                pyproj.CRS.from_user_input(self.output_crs)
            except pyproj.exceptions.CRSError:
                raise ValueError(f"output_crs {self.output_crs!r} is not a CRS: use EPSG:4490, gk3 or EPSG:nnnn"
                                 ) from None
        return self

    @model_validator(mode="after")
    def _seat_parents_exist(self) -> ScenarioConfig:
        levels = {z.level for z in self.zones if z.seats is None}
        for zone in self.zones:
            if zone.seats is not None and zone.parent_level not in levels:
                raise ValueError(f"parent_level {zone.parent_level!r} of level {zone.level!r} is not a polygon level")
        return self

    @model_validator(mode="after")
    def _service_names_unique(self) -> ScenarioConfig:
        names = [service.name for service in self.services]
        if len(set(names)) != len(names):
            raise ValueError(f"service names must be unique, got {names}")
        return self

    @property
    def main_service(self) -> ServiceConfig:
        """The scenario's main analysis as a service over every facility."""
        return ServiceConfig(name="all", mode=self.mode, bands_minutes=self.bands_minutes,
                             target_minutes=self.target_minutes)

    def output_folder(self, out: str | Path | None = None) -> Path:
        """The output folder: ``out``, else ``output_dir``, else ``maps/<name>``."""
        return Path(out) if out else (self.output_dir or Path("maps") / self.name)

    def reach_minutes(self) -> dict[str, float]:
        """The longest travel time any analysis searches, per travel mode, minutes.

        Bands of every service (in its mode), capacity cut-off and twice the 2SFCA catchment (a cell's
        facilities and their own catchments; both in the scenario's mode), ambulance response (in
        ``ambulance``); the study area reaches this far beyond the zones.
        """
        reach: dict[str, float] = {}
        for service in (self.main_service, *self.services):
            reach[service.mode] = max(reach.get(service.mode, 0.0), max(service.bands_minutes))
        own = [self.capacity.limit_minutes] if self.capacity is not None else []
        own += [2.0 * self.fca.max_minutes] if self.fca is not None else []
        reach[self.mode] = max([reach[self.mode], *own])
        if self.ambulance is not None:
            reach["ambulance"] = max([reach.get("ambulance", 0.0), *self.ambulance.response_minutes])
        return reach

    @model_validator(mode="after")
    def _rescale_needs_statistics(self) -> ScenarioConfig:
        if self.population.rescale_level is not None:
            if self.statistics is None:
                raise ValueError("population.rescale_level needs a statistics table")
            if self.population.rescale_level not in {z.level for z in self.zones}:
                raise ValueError(f"population.rescale_level {self.population.rescale_level!r} is not a zone level")
        return self

    @model_validator(mode="after")
    def _osm_zones_need_a_pbf(self) -> ScenarioConfig:
        if self.roads.pbf is None and any(z.osm_admin_level is not None for z in self.zones):
            raise ValueError("zones with 'osm_admin_level' need roads.pbf; give a zone file with 'path'")
        return self

    @model_validator(mode="after")
    def _target_is_a_band(self) -> ScenarioConfig:
        self.bands_minutes = check_bands(self.bands_minutes, self.target_minutes)
        return self

    def missing_files(self) -> list[Problem]:
        """One problem per input file (every :data:`InputPath` set) that does not exist, all at once."""
        where = str(self.source or self.name)
        return [
            Problem(where, f"{key}: file not found: {path}", "write / instead of \\ between folders" if "\\" in
                    str(path) else "check the path (relative to the config file)")
            for key, kind, path in self.declared_paths()
            if kind == "input" and not path.exists()
        ]

    def input_files(self) -> list[Path]:
        """Every input file the run reads (each :data:`InputPath` set), in declaration order."""
        return [path for _, kind, path in self.declared_paths() if kind == "input"]

    def resolve_paths(self, base: Path) -> ScenarioConfig:
        """Make every relative path absolute against ``base`` (the config file's folder)."""
        def fix(path: Path) -> Path:
            if path.is_absolute():
                return path
            if str(path).startswith(PACKAGE_PREFIX):
                package, _, inner = str(path).removeprefix(PACKAGE_PREFIX).partition("/")
                return Path(str(importlib.resources.files(package).joinpath(inner)))
            return (base / path).resolve()

        self.map_paths(fix)
        return self


def load_config(path: str | Path) -> ScenarioConfig:
    """Load and validate a scenario YAML file.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    ScenarioConfig
        With every path made absolute relative to the file's folder.

    Raises
    ------
    InputError
        Naming every bad key and the file.
    """
    path = Path(path)
    data, problems = read_yaml(path, "config file")
    if not isinstance(data, dict):
        raise InputError([Problem(str(path), "the file must hold a mapping of keys", "see configs/")])
    if "target_minutes" not in data:
        problems.append(Problem(str(path), "key 'target_minutes': required key is missing",
                                "add it: the minutes a person should reach care within, one of bands_minutes"))
    try:
        config = ScenarioConfig.model_validate(data)
    except ValidationError as error:
        problems += [
            Problem(
                str(path),
                (f"key '{'.'.join(str(part) for part in item['loc'])}': " if item["loc"] else "") + _message(item),
                _FIXES.get(item["type"], "fix the value"),
            )
            for item in error.errors()
        ]
    if problems:
        raise InputError(problems + _missing_raw_files(data, path)) from None
    config.source = path.resolve()
    return config.resolve_paths(path.resolve().parent)


def _missing_raw_files(data: dict, path: Path) -> list[Problem]:
    """Input files named in a config that failed validation and do not exist, so one report lists them too."""
    def get(section: object, key: str) -> object:
        return section.get(key) if isinstance(section, dict) else None

    keys = [(f"{section}.{key}", get(data.get(section), key)) for section, key in (
        ("roads", "pbf"), ("roads", "lines"), ("facilities", "path"), ("population", "raster"),
        ("population", "points"), ("statistics", "path"))]
    zones = data.get("zones") if isinstance(data.get("zones"), list) else []
    keys += [(f"zones[{i}].path", get(zone, "path")) for i, zone in enumerate(zones)]
    return [
        Problem(str(path), f"{key}: file not found: {value}", "check the path (relative to the config file)")
        for key, value in keys
        if isinstance(value, str) and not value.startswith(PACKAGE_PREFIX) and not (path.parent / value).exists()
    ]


_FIXES = {
    "extra_forbidden": "remove or rename the key",
    "missing": "add the key (configs/demo.yaml shows every key)",
}


def _message(item: dict) -> str:
    if item["type"] == "extra_forbidden":
        return "unknown key"
    if item["type"] == "missing":
        return "required key is missing"
    if item["type"] == "value_error":  # a rule across keys: its message names them; the input is a whole section
        return str(item["msg"]).removeprefix("Value error, ")
    return f"{item['msg']} (got {item.get('input')!r})"
