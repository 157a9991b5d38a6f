"""Scenario configuration in YAML, validated on load.

Paths are relative to the config file. An unknown key or a value of the wrong
type is an :class:`~geocover.errors.InputError` naming the key and the file.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import pyproj
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from geocover.errors import InputError, Problem
from geocover.io.encodings import detect_encoding

PACKAGE_PREFIX = "pkg:"
"""A path ``pkg:<package>/<file>`` names a file shipped inside an installed package."""


InputPath = Annotated[Path, "input"]
"""A file the run reads: resolved against the config's folder, checked up front, part of the batch fingerprint."""
OutputPath = Annotated[Path, "output"]
"""A folder the run writes: resolved against the config's folder only."""


def _path_kind(annotation: Any, metadata: list | None = None) -> str | None:
    """``"input"`` or ``"output"`` when ``annotation`` holds :data:`InputPath` or :data:`OutputPath`.

    Pydantic keeps a field's own ``Annotated`` extras apart: pass them as ``metadata``.
    """
    if annotation is Path and metadata:
        return next((item for item in metadata if item in ("input", "output")), None)
    if get_origin(annotation) is Annotated:
        args = get_args(annotation)
        return args[1] if args[0] is Path and args[1] in ("input", "output") else None
    return next(filter(None, map(_path_kind, get_args(annotation))), None)
Minutes = Annotated[float, Field(gt=0, allow_inf_nan=False)]
"""A travel time in minutes: positive and finite."""


def _check_bands(bands: list[float], target: float) -> list[float]:
    """The bands sorted; a band given twice or a target that is not a band is an error naming both keys."""
    twice = sorted({band for band in bands if bands.count(band) > 1})
    if twice:
        raise ValueError(f"bands_minutes gives {', '.join(f'{b:g}' for b in twice)} more than once")
    if target not in bands:
        raise ValueError(f"target_minutes {target:g} must be one of bands_minutes {[float(b) for b in bands]}")
    return sorted(bands)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def declared_paths(self, prefix: str = "") -> Iterator[tuple[str, str, Path]]:
        """Every path set in this config and its sections: ``(key, kind, path)``, kind ``input`` or ``output``."""
        for name, field in type(self).model_fields.items():
            value, key = getattr(self, name), f"{prefix}{name}"
            kind = _path_kind(field.annotation, field.metadata)
            items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else None
            if isinstance(value, _Strict):
                yield from value.declared_paths(f"{key}.")
            elif items is not None:
                for inner, item in items:
                    if isinstance(item, _Strict):
                        yield from item.declared_paths(f"{key}[{inner}].")
                    elif kind and isinstance(item, Path):
                        yield f"{key}.{inner}" if isinstance(value, dict) else f"{key}[{inner}]", kind, item
            elif kind and isinstance(value, Path):
                yield key, kind, value

    def map_paths(self, fix: Callable[[Path], Path]) -> None:
        """Replace every declared path ``p`` (in this config and its sections, in place) by ``fix(p)``."""
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            kind = _path_kind(field.annotation, field.metadata)
            inner = value.values() if isinstance(value, dict) else value if isinstance(value, list) else [value]
            for item in inner:
                if isinstance(item, _Strict):
                    item.map_paths(fix)
            if kind and isinstance(value, Path):
                setattr(self, name, fix(value))
            elif kind and isinstance(value, dict):
                setattr(self, name, {k: fix(v) if isinstance(v, Path) else v for k, v in value.items()})


class RoadsConfig(_Strict):
    """Road network source: an OSM file, or a line layer classed by road grade."""

    pbf: InputPath | None = Field(default=None, description="OSM PBF (or .osm XML) file")
    lines: InputPath | None = Field(default=None, description="road line layer (Shapefile, GeoPackage…)")
    layer: str | None = None
    crs: str | None = Field(default=None, description="CRS of a line layer without .prj, e.g. EPSG:4490")
    grade_column: str | None = Field(default=None, description="国道/省道/县道/乡道/村道/城市道路 or route code")
    oneway_column: str | None = None
    extract: bool = Field(
        default=False,
        description="stream the roads near the zones out of a large PBF first (margin: 150 km/h x largest band)",
    )
    speeds_kmh: dict[str, float] = Field(
        default_factory=dict, description="speed per OSM highway class or road grade (drive) or {'walk': kmh}"
    )
    use_maxspeed: bool = True
    speed_factor: float | None = Field(default=None, gt=0, description="multiplies every speed")
    respect_access: bool = Field(
        default=True, description="ways tagged access/foot (walk, bike) or access/vehicle/motor_vehicle (drive) "
        "= no or private are closed to those modes; false: only the road kind decides")
    cache_dir: OutputPath | None = Field(default=None, description="keep the parsed PBF here: parsed once, read fast")
    urban_factor: float = Field(default=1.0, gt=0, description="drive speed factor on roads in urban zones")
    rural_factor: float = Field(default=1.0, gt=0, description="drive speed factor on roads elsewhere")

    @model_validator(mode="after")
    def _one_source(self) -> RoadsConfig:
        if (self.pbf is None) == (self.lines is None):
            raise ValueError("give exactly one of 'pbf' or 'lines'")
        if self.lines is not None and self.grade_column is None:
            raise ValueError("'lines' needs 'grade_column'")
        return self

    @property
    def path(self) -> Path:
        """The road file, whichever kind."""
        return self.pbf if self.pbf is not None else self.lines


class FacilitiesConfig(_Strict):
    """Facility layer and how to read it."""

    path: InputPath
    layer: str | None = None
    sheet: str | None = None
    name_column: str | None = None
    id_column: str | None = None
    lon_column: str | None = None
    lat_column: str | None = None
    coord_system: str = "wgs84"
    tier_column: str | None = None
    tier_map: dict[str, str] | None = None
    include: dict[str, list[str]] | None = None
    lenient: bool = Field(default=False, description="drop bad rows, list them and go on")


class PopulationConfig(_Strict):
    """Population: a raster, or point counts gridded by a stated rule; optionally rescaled and weighted."""

    raster: InputPath | None = Field(default=None, description="GeoTIFF of people per cell, any CRS")
    points: InputPath | None = Field(default=None, description="points with a count (village committees, compounds)")
    count_column: str | None = None
    cell_m: float = Field(default=100.0, gt=0, description="grid cell for point or zone-count populations, metres")
    aggregate: int = Field(default=1, ge=1, description="sum blocks of n x n raster cells into one (keeps totals)")
    rescale_level: str | None = Field(
        default=None, description="zone level whose official totals (statistics.population) the grid is scaled to"
    )
    weights: dict[str, InputPath] = Field(
        default_factory=dict, description="extra weights on the raster's grid, e.g. {age65: age65.tif}"
    )

    @model_validator(mode="after")
    def _one_source(self) -> PopulationConfig:
        if self.raster is not None and self.points is not None:
            raise ValueError("give one of 'raster' or 'points', not both")
        if self.raster is None and self.points is None and self.rescale_level is None:
            raise ValueError("give 'raster', 'points', or 'rescale_level' to spread official counts per zone")
        if self.points is not None and self.count_column is None:
            raise ValueError("'points' needs 'count_column'")
        if self.weights and self.raster is None:
            raise ValueError("'weights' are rasters on the grid of 'raster'")
        return self

    @property
    def path(self) -> Path | None:
        """The population file, whichever kind (None when counts per zone are spread)."""
        return self.raster if self.raster is not None else self.points


class StatisticsConfig(_Strict):
    """A statistics table per unit (常住人口, beds, doctors, nurses, GPs, ambulances), keyed by code."""

    path: InputPath
    sheet: str | None = None
    year: int | None = None


class ZoneLayerConfig(_Strict):
    """One level of reporting zones: OSM admin relations or a polygon file."""

    level: str = Field(description="name of the level, e.g. township, island")
    label: str | None = Field(default=None, description="name of the level on maps and reports, e.g. Island")
    label_zh: str | None = Field(default=None, description="the same in Chinese, e.g. 乡镇")
    osm_admin_level: int | None = None
    path: InputPath | None = None
    layer: str | None = None
    crs: str | None = Field(default=None, description="CRS of a zone file without .prj, e.g. EPSG:4490")
    id_column: str | None = Field(default=None, description="zone code, e.g. the 12-digit township code")
    name_column: str | None = None
    urban_rural_code_column: str | None = Field(default=None, description="urban-rural classification code 111-220")
    urban_rural_column: str | None = Field(default=None, description="labels urban/rural, 城镇/乡村")
    county_seat_column: str | None = None
    seats: InputPath | None = Field(default=None, description="seat points: zones derived by network Voronoi")
    parent_level: str | None = Field(default=None, description="with seats: the level they are clipped to")
    rollup: list[Literal["township", "county", "city", "province"]] = Field(
        default_factory=list, description="also report these levels, dissolved by the 12-digit code in id_column"
    )

    @model_validator(mode="after")
    def _one_source(self) -> ZoneLayerConfig:
        if sum(x is not None for x in (self.osm_admin_level, self.path, self.seats)) != 1:
            raise ValueError("give exactly one of 'osm_admin_level', 'path' or 'seats'")
        if self.seats is not None and self.parent_level is None:
            raise ValueError("'seats' needs 'parent_level': the zones the derived ones are clipped to")
        if self.rollup and self.id_column is None:
            raise ValueError("'rollup' needs 'id_column' holding 12-digit administrative codes")
        return self


class MapConfig(_Strict):
    """Map options."""

    title: str | None = None
    title_zh: str | None = Field(default=None, description="the title of the Chinese map and report (--lang zh)")
    attribution: str = "Map data © OpenStreetMap contributors (ODbL)"
    tiles: Literal["OpenStreetMap", "tianditu", "amap", "none"] = "OpenStreetMap"
    tianditu_key: str | None = Field(default=None, description="a Tianditu user key, needed by tiles: tianditu")
    lang: Literal["en", "zh"] = "en"

    @model_validator(mode="after")
    def _tianditu_has_a_key(self) -> MapConfig:
        if self.tiles == "tianditu" and not self.tianditu_key:
            raise ValueError("tiles: tianditu needs map.tianditu_key, a user key from the Tianditu console")
        return self


class StandardsConfig(_Strict):
    """The plan whose standards the scenario is audited against, with the scenario's own changes."""

    plan: str | None = Field(default=None, description="a preset of configs/standards, e.g. leshan_shizhong_14th_fyp")
    path: InputPath | None = Field(default=None, description="a plan file of your own, in the same format")
    parent_plan: str | None = Field(default=None, description="the plan above it (a preset): plan_conflicts.csv")
    add: list[dict] = Field(default_factory=list, description="rules of the scenario's own (same keys as a plan)")
    override: dict[str, dict] = Field(default_factory=dict, description="rule id (or id.part) -> changed keys")
    levels: dict[str, str] = Field(
        default_factory=dict, description="zone level -> unit level of the plan (province, city, county, township…)"
    )

    @model_validator(mode="after")
    def _one_plan(self) -> StandardsConfig:
        if (self.plan is None) == (self.path is None):
            raise ValueError("give exactly one of 'plan' (a preset) or 'path' (a plan file)")
        return self


class AmbulanceConfig(_Strict):
    """Ambulance stations, the service radius per urban/rural cell, and response times."""

    tiers: list[str] = Field(default_factory=lambda: ["emergency_centre", "emergency_station"])
    urban_km: float = Field(default=5.0, gt=0)
    rural_km: list[float] = Field(default_factory=lambda: [10.0, 20.0], min_length=1)
    response_minutes: list[float] = Field(default_factory=lambda: [10.0, 15.0])
    dispatch_minutes: float = Field(default=1.0, ge=0, description="delay before the ambulance leaves")
    dispatch_column: str | None = Field(default=None, description="per-station delay in minutes")
    measure: Literal["straight", "road"] = Field(
        default="straight", description="which radius measure the standards audit reads"
    )


class PlanChangesConfig(_Strict):
    """A plan to compare with the current facilities: facilities added, closed or upgraded."""

    name: str = "plan"
    add: FacilitiesConfig | None = Field(default=None, description="new facilities, read like facilities:")
    close: list[str] = Field(default_factory=list, description="facility_id of facilities closed")
    upgrade: dict[str, str] = Field(default_factory=dict, description="facility_id -> new tier")


class CapacityConfig(_Strict):
    """Capacity-aware coverage as AccessMod's geographic coverage analysis (rules in geocover.analysis.capacity)."""

    column: str = Field(description="facility column of the people each can serve")
    limit_minutes: float = Field(gt=0)
    order: Literal["capacity_descending", "capacity_ascending"] = "capacity_descending"
    zone_minutes: float = Field(default=1.0, gt=0, description="time zones split evenly when partly absorbed")


class FcaConfig(_Strict):
    """Two-step floating catchment (2SFCA), or E2SFCA with band weights."""

    supply_column: str | None = Field(default=None, description="beds, doctors…; 1 per facility when omitted")
    max_minutes: float = Field(gt=0)
    weights: dict[float, float] = Field(default_factory=dict, description="band upper minutes -> weight (E2SFCA)")


class OffroadConfig(_Strict):
    """Walking on beyond the roads across the terrain (Tobler's hiking function on a DEM)."""

    dem: InputPath = Field(description="elevation raster in metres, any CRS")
    landcover_factor: InputPath | None = Field(default=None, description="raster of speed factors (1 open, 0 blocked)")
    max_minutes: float = Field(default=240.0, gt=0, description="walks longer than this stay unreachable")


class ServiceConfig(_Strict):
    """A service circle: the facilities of some tiers, reached by one mode, reported in bands."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="prefix of the service's zone-table columns")
    tiers: list[str] | None = Field(default=None, description="facility tiers offering it; all when omitted")
    mode: Literal["walk", "bike", "drive", "ambulance"] = "walk"
    bands_minutes: list[Minutes] = Field(min_length=1)
    target_minutes: Minutes
    label: str | None = Field(default=None, description="name of the service on maps and reports")
    label_zh: str | None = Field(default=None, description="the same in Chinese")

    @model_validator(mode="after")
    def _target_is_a_band(self) -> ServiceConfig:
        self.bands_minutes = _check_bands(self.bands_minutes, self.target_minutes)
        return self


class BatchConfig(_Strict):
    """Batch runs (``geocover batch``): one Dask task per zone of ``unit_level``, merged into one output."""

    unit_level: str = Field(description="zone level whose zones are the units, e.g. county")
    scheduler: str | None = Field(default=None, description="a Dask scheduler address; a local cluster when omitted")
    workers: int = Field(default=2, ge=1, description="worker processes of the local cluster")
    state_dir: OutputPath | None = Field(default=None, description="where finished units are recorded (<out>/.batch)")


class SitingConfig(_Strict):
    """Proposed new sites (``geocover site``); the command-line options override these keys."""

    model: Literal["mclp", "lscp", "pmedian", "ambulance"] = Field(
        default="mclp", description="maximal covering, set covering to a share, p-median, ambulance stations")
    k: int | None = Field(default=None, ge=1, description="number of new sites (mclp, pmedian, ambulance)")
    target_share: float | None = Field(default=None, gt=0, le=1, description="share of people to cover (lscp)")
    threshold_minutes: float | None = Field(default=None, gt=0, description="cover within; target_minutes if omitted")
    candidate_rule: Literal["cells", "gap_cells", "nodes", "midpoints", "seats", "file"] = "gap_cells"
    candidates: InputPath | None = Field(default=None, description="point file of candidates (rule file or seats)")
    spacing_m: float | None = Field(default=1000.0, gt=0, description="one cell/node candidate per square, metres")
    min_distance_m: float = Field(default=0.0, ge=0, description="no candidate closer to an existing facility")
    inside_zones: bool = True
    method: Literal["auto", "exact", "greedy"] = "auto"
    time_limit_s: float = Field(default=60.0, gt=0)
    mip_gap: float = Field(default=0.0, ge=0, lt=1)
    penalty_minutes: float | None = Field(default=None, gt=0, description="p-median: minutes beyond the threshold")
    capacity: float | None = Field(default=None, gt=0, description="people each new site can serve")
    ambulance_metric: Literal["straight", "road", "minutes"] = "straight"
    urban_limit: float = Field(default=5.0, gt=0, description="ambulance: urban limit, km (or minutes)")
    rural_limit: float = Field(default=10.0, gt=0, description="ambulance: rural limit, km (or minutes)")
    tier: str = Field(default="proposed", description="tier of the new sites in the after run")


class ScenarioConfig(_Strict):
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
        self.bands_minutes = _check_bands(self.bands_minutes, self.target_minutes)
        return self

    def missing_files(self) -> list[Problem]:
        """One problem per input file (every :data:`InputPath` set) that does not exist, all at once."""
        where = str(self.source or self.name)
        return [
            Problem(where, f"{key}: file not found: {path}", "check the path (relative to the config file)")
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
    if not path.is_file():
        raise InputError([Problem(str(path), "config file not found", "check the path")])
    raw = path.read_bytes()
    encoding = detect_encoding(raw)
    if encoding is None:
        raise InputError([Problem(str(path), "the text is neither UTF-8 nor GBK/GB18030",
                                  "save the config as UTF-8 (in Notepad: Save as, Encoding UTF-8)")])
    try:
        data = yaml.safe_load(raw.decode(encoding))
    except yaml.YAMLError as error:
        raise InputError([Problem(str(path), f"not valid YAML: {error}", "fix the syntax")]) from None
    if not isinstance(data, dict):
        raise InputError([Problem(str(path), "the file must hold a mapping of keys", "see configs/")])
    problems = []
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
