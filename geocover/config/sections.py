"""The sections of a scenario config: roads, facilities, population, zones, map, standards, …"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from geocover.config.paths import InputPath, Minutes, OutputPath, Section, check_bands
from geocover.io.road_lines import GRADE_SPEEDS_KMH
from geocover.network.combine import DUPLICATE_M, JOIN_M
from geocover.network.graph import CLOSED_KINDS, DRIVE_SPEEDS_KMH


class RoadLinesConfig(Section):
    """One road line layer of a ``roads.lines`` list: a vector file classed by road grade."""

    path: InputPath = Field(description="road line layer (Shapefile, GeoPackage…)")
    layer: str | None = None
    crs: str | None = Field(default=None, description="CRS of a layer without .prj, e.g. EPSG:4490")
    grade_column: str = Field(description="国道/省道/县道/乡道/村道/城市道路 or route code")
    oneway_column: str | None = None
    bridge_column: str | None = Field(default=None, description="是/否, 1/0, yes/no, Y/N or 桥梁: lines on a bridge "
                                      "(nothing is joined to them)")
    tunnel_column: str | None = Field(default=None, description="是/否, 1/0, yes/no, Y/N or 隧道: lines in a tunnel "
                                      "(nothing is joined to them)")
    layer_column: str | None = Field(default=None, description="whole numbers like OSM layer: lines of different "
                                     "layers are not joined")

    @property
    def structure_columns(self) -> dict[str, str | None]:
        """The bridge, tunnel and layer columns as keyword arguments of
        :func:`~geocover.io.road_lines.read_road_lines`."""
        return {"bridge_column": self.bridge_column, "tunnel_column": self.tunnel_column,
                "layer_column": self.layer_column}


RoadLines = Annotated[
    Annotated[InputPath, Tag("path")] | Annotated[list[RoadLinesConfig], Tag("layers")],
    Discriminator(lambda value: "layers" if isinstance(value, list) else "path"),
]
"""``roads.lines``: one layer's path (with ``roads.layer``, ``crs`` and columns) or a list of layers."""


SPEED_KEYS = frozenset({*DRIVE_SPEEDS_KMH, *GRADE_SPEEDS_KMH, "walk", "bike", "busway", "pedestrian", "footway", "path",
                        "cycleway", "bridleway", "steps", "corridor", "services", "rest_area", *CLOSED_KINDS["bike"]})
"""The keys of ``roads.speeds_kmh``: OSM ``highway`` kinds, road grades of line layers, ``walk`` and ``bike``."""


class RoadsConfig(Section):
    """Road network sources: an OSM file, line layers classed by road grade, or both (joined where they meet)."""

    pbf: InputPath | None = Field(default=None, description="OSM PBF (or .osm XML) file")
    lines: RoadLines | None = Field(
        default=None, description="road line layer (Shapefile, GeoPackage…), or a list of layers each with path, "
        "layer, crs, grade_column, oneway_column; with pbf, joined to the OSM roads")
    layer: str | None = None
    crs: str | None = Field(default=None, description="CRS of a line layer without .prj, e.g. EPSG:4490")
    grade_column: str | None = Field(default=None, description="国道/省道/县道/乡道/村道/城市道路 or route code")
    oneway_column: str | None = None
    join_m: float = Field(default=JOIN_M, ge=0, allow_inf_nan=False, description="with several road sources: line "
                          "ends and crossings this close (metres) to another source's road are joined to it")
    duplicate_m: float = Field(default=DUPLICATE_M, ge=0, allow_inf_nan=False, description="with several road "
                               "sources: a segment wholly this close (metres) to an earlier source's roads is dropped "
                               "as a duplicate (OSM kept); 0 keeps all")
    extract: bool = Field(
        default=False,
        description="stream the roads near the zones out of a large PBF first (margin: 150 km/h x largest band)",
    )
    speeds_kmh: dict[str, Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(
        default_factory=dict, description="speed per OSM highway class or road grade (drive) or {'walk': kmh}"
    )
    use_maxspeed: bool = True
    speed_factor: float | None = Field(default=None, gt=0, description="multiplies every speed")
    respect_access: bool = Field(
        default=True, description="ways tagged access/foot (walk, bike) or access/vehicle/motor_vehicle (drive) "
        "= no or private are closed to those modes; false: only the road kind decides")
    closed_kinds: dict[Literal["walk", "bike", "drive"], list[str]] = Field(
        default_factory=lambda: {mode: list(kinds) for mode, kinds in CLOSED_KINDS.items()},
        description="OSM highway kinds closed to each mode (ambulance: drive's); a mode not given keeps its "
        "default list; drive is also closed on kinds without a drive speed")
    cache_dir: OutputPath | None = Field(default=None, description="keep the parsed PBF here: parsed once, read fast")
    urban_factor: float = Field(default=1.0, gt=0, description="drive speed factor on roads in urban zones")
    rural_factor: float = Field(default=1.0, gt=0, description="drive speed factor on roads elsewhere")

    @model_validator(mode="after")
    def _sources(self) -> RoadsConfig:
        if self.pbf is None and not self.lines:
            raise ValueError("give 'pbf' or 'lines' (or both)")
        single = [key for key in ("layer", "crs", "grade_column", "oneway_column") if getattr(self, key) is not None]
        if isinstance(self.lines, list) and single:
            raise ValueError(f"with a list of 'lines', give {', '.join(map(repr, single))} in each layer")
        if isinstance(self.lines, Path) and self.grade_column is None:
            raise ValueError("'lines' needs 'grade_column'")
        return self

    @property
    def path(self) -> Path:
        """The main road file: the PBF, else the first line layer."""
        return self.pbf if self.pbf is not None else self.line_layers[0].path

    @property
    def line_layers(self) -> list[RoadLinesConfig]:
        """The line layers, a single ``lines`` path with its ``layer``, ``crs`` and columns as one."""
        if isinstance(self.lines, list):
            return self.lines
        if self.lines is None:
            return []
        return [RoadLinesConfig(path=self.lines, layer=self.layer, crs=self.crs, grade_column=self.grade_column,
                                oneway_column=self.oneway_column)]

    @model_validator(mode="after")
    def _known_speed_keys(self) -> RoadsConfig:
        unknown = sorted(set(self.speeds_kmh) - SPEED_KEYS)
        if unknown:
            raise ValueError(f"speeds_kmh: {', '.join(map(repr, unknown))} is no OSM highway kind, road grade or "
                             f"mode; use {', '.join(sorted(SPEED_KEYS))}")
        return self

    @model_validator(mode="after")
    def _default_closed_kinds(self) -> RoadsConfig:
        self.closed_kinds = {mode: list(self.closed_kinds.get(mode, kinds)) for mode, kinds in CLOSED_KINDS.items()}
        return self

    def closed_to(self, mode: str) -> list[str]:
        """The OSM ``highway`` kinds closed to ``mode`` (an ambulance: those closed to driving)."""
        return self.closed_kinds["drive" if mode == "ambulance" else mode]


class FacilitiesConfig(Section):
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


class PopulationConfig(Section):
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


class StatisticsConfig(Section):
    """A statistics table per unit (常住人口, beds, doctors, nurses, GPs, ambulances), keyed by code."""

    path: InputPath
    sheet: str | None = None
    year: int | None = None


class ZoneLayerConfig(Section):
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


class MapConfig(Section):
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


class StandardsConfig(Section):
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


class AmbulanceConfig(Section):
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


class PlanChangesConfig(Section):
    """A plan to compare with the current facilities: facilities added, closed or upgraded."""

    name: str = "plan"
    add: FacilitiesConfig | None = Field(default=None, description="new facilities, read like facilities:")
    close: list[str] = Field(default_factory=list, description="facility_id of facilities closed")
    upgrade: dict[str, str] = Field(default_factory=dict, description="facility_id -> new tier")


class CapacityConfig(Section):
    """Capacity-aware coverage as AccessMod's geographic coverage analysis (rules in geocover.analysis.capacity)."""

    column: str = Field(description="facility column of the people each can serve")
    limit_minutes: float = Field(gt=0)
    order: Literal["capacity_descending", "capacity_ascending"] = "capacity_descending"
    zone_minutes: float = Field(default=1.0, gt=0, description="time zones split evenly when partly absorbed")


class FcaConfig(Section):
    """Two-step floating catchment (2SFCA), or E2SFCA with band weights."""

    supply_column: str | None = Field(default=None, description="beds, doctors…; 1 per facility when omitted")
    max_minutes: float = Field(gt=0)
    weights: dict[float, float] = Field(default_factory=dict, description="band upper minutes -> weight (E2SFCA)")


class OffroadConfig(Section):
    """Walking on beyond the roads across the terrain (Tobler's hiking function on a DEM)."""

    dem: InputPath = Field(description="elevation raster in metres, any CRS")
    landcover_factor: InputPath | None = Field(default=None, description="raster of speed factors (1 open, 0 blocked)")
    max_minutes: float = Field(default=240.0, gt=0, description="walks longer than this stay unreachable")


class ServiceConfig(Section):
    """A service circle: the facilities of some tiers, reached by one mode, reported in bands."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="prefix of the service's zone-table columns")
    tiers: list[str] | None = Field(default=None, description="facility tiers offering it; all when omitted")
    mode: Literal["walk", "bike", "drive", "ambulance"] = "walk"
    bands_minutes: list[Minutes] = Field(min_length=1)
    target_minutes: Minutes
    label: str | None = Field(default=None, description="name of the service on maps and reports")
    label_zh: str | None = Field(default=None, description="the same in Chinese")
    min_grade: int | None = Field(default=None, ge=1, le=3, description="hospitals of grade 1-3 (一级-三级) or above")
    where: dict[str, list[str | int | float | bool]] = Field(
        default_factory=dict, description="facility column -> accepted values, e.g. {provides_tcm: [true]}")
    facility_names: list[str] = Field(default_factory=list, description="only the facilities of these names")
    facility_ids: list[str] = Field(default_factory=list, description="only the facilities of these facility_id")

    @model_validator(mode="after")
    def _target_is_a_band(self) -> ServiceConfig:
        self.bands_minutes = check_bands(self.bands_minutes, self.target_minutes)
        return self


class BatchConfig(Section):
    """Batch runs (``geocover batch``): one Dask task per zone of ``unit_level``, merged into one output."""

    unit_level: str = Field(description="zone level whose zones are the units, e.g. county")
    scheduler: str | None = Field(default=None, description="a Dask scheduler address; a local cluster when omitted")
    workers: int = Field(default=2, ge=1, description="worker processes of the local cluster")
    state_dir: OutputPath | None = Field(default=None, description="where finished units are recorded (<out>/.batch)")


class SitingConfig(Section):
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




class VillagesConfig(Section):
    """Administrative villages (行政村) for the village-level rules, from a list without polygons.

    Each village has a 12-digit code (统计用区划代码, read as text), its 常住人口 and optionally a point.
    A village without a village clinic is "served by itinerant care" (巡诊) rather than failing when it
    is small and remote as the plans exempt it (偏远、居住分散且常住人口少): at most
    ``remote_population_max`` residents and at least ``remote_minutes_min`` from the nearest facility
    of ``remote_tiers``.
    """

    path: InputPath = Field(description="CSV (UTF-8 or GBK) or XLSX list, or a point layer")
    sheet: str | None = None
    code_column: str | None = Field(default=None, description="12-digit village code; found by 村代码/统计用区划代码")
    name_column: str | None = Field(default=None, description="village name; found by 村名/村委会")
    population_column: str | None = Field(default=None, description="常住人口; found by the header")
    doctors_column: str | None = Field(default=None, description="village doctors (乡村医生); found by the header")
    lon_column: str | None = Field(default=None, description="longitude or x of the optional point")
    lat_column: str | None = Field(default=None, description="latitude or y of the optional point")
    coord_system: str = "wgs84"
    clinic_code_column: str = Field(
        default="village_code", description="facility column holding a village clinic's 12-digit village code")
    remote_population_max: float | None = Field(default=None, ge=0, description="常住人口少: at most this many")
    remote_minutes_min: float | None = Field(default=None, gt=0, description="偏远: at least this far (minutes)")
    remote_tiers: list[str] = Field(
        default_factory=lambda: ["village_clinic", "township_health_centre", "central_township_health_centre"],
        description="facilities whose travel minutes make a village remote")

    @model_validator(mode="after")
    def _both_thresholds(self) -> VillagesConfig:
        if (self.remote_population_max is None) != (self.remote_minutes_min is None):
            raise ValueError("the remoteness exemption needs both 'remote_population_max' and 'remote_minutes_min'")
        if (self.lon_column is None) != (self.lat_column is None):
            raise ValueError("give both 'lon_column' and 'lat_column', or neither")
        return self
