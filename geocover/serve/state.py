"""The planning workspace's state: the scenario loaded once, named scenarios of edits, saved on disk.

A scenario is a list of edits of the configured facility layer (add, remove, move, retier), applied
in order to the loaded run with :mod:`geocover.travel.edits`. The list is the state: it is written to
``<output folder>/workspace/scenarios.json`` after every change and replayed on start, so nothing is
lost when the browser tab closes or the server restarts. Each scenario also keeps, in memory, the
states before its edits, so that undo is immediate.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geocover.analysis.services import ServiceResult, service_columns
from geocover.analysis.zone_table import gap_flags, zone_table
from geocover.config import ScenarioConfig, SitingConfig, load_config
from geocover.errors import InputError, Problem, raise_if_any
from geocover.io.population import PopulationGrid
from geocover.io.zones import ZONE_COLUMNS
from geocover.network.snapping import Snap
from geocover.pipeline import ScenarioResult, run_scenario
from geocover.prepare import load_facilities
from geocover.schema import ZONE_KEYS
from geocover.travel.cells import Accessibility, snap_facilities
from geocover.travel.edits import add_facility, move_facility, remove_facility, retier_facility
from geocover.travel.nearest import NodeTimes

STATE_FILE = "scenarios.json"
BASELINE = "baseline"
UNDO_IN_MEMORY = 4
"""States kept in memory per scenario for an immediate undo (each holds the travel-time grids); an undo
further back replays the scenario's edits."""
_NAME = re.compile(r"^(?![. ])[\w\-. ]{1,64}$")


class EditError(ValueError):
    """A request the workspace refuses, with every problem found; the state is unchanged."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class Scenario:
    """One named scenario: its edits and the state after them (and before each, for undo)."""

    name: str
    edits: list[dict] = field(default_factory=list)
    facilities: gpd.GeoDataFrame | None = None
    access: Accessibility | None = None
    services: dict[str, Accessibility] = field(default_factory=dict)
    history: list[tuple[gpd.GeoDataFrame, Accessibility, dict[str, Accessibility]]] = field(default_factory=list)


class Workspace:
    """The scenario of ``config`` loaded once (network, snaps, population) and the planner's named scenarios.

    Parameters
    ----------
    config : ScenarioConfig or path
    state_dir : path, optional
        Where the scenarios are saved; ``<output folder>/workspace`` when omitted.
    """

    def __init__(self, config: ScenarioConfig | str | Path, state_dir: str | Path | None = None) -> None:
        self.config = config if isinstance(config, ScenarioConfig) else load_config(config)
        if self.config.offroad is not None:
            raise InputError([Problem(str(self.config.source), "key 'offroad': the planning workspace does not yet "
                                      "walk on across the terrain after each edit",
                                      "serve a copy of the config without offroad:, or edit and use geocover run")])
        loaded = load_facilities(self.config)
        self.result: ScenarioResult = run_scenario(self.config, progress=False, facilities=loaded, polygons=False)
        self.input_columns = [c for c in loaded.columns if c != "geometry"]
        self.state_dir = Path(state_dir) if state_dir else self.config.output_folder() / "workspace"
        self.tiers = sorted(set(self.result.facilities["tier"].dropna().astype(str)) | set(_configured_tiers(
            self.config)))
        self.area = self.result.study_area.iloc[0]
        grid = _LabelledGrid(**{f.name: getattr(self.result.access.grid, f.name) for f in fields(PopulationGrid)})
        self.result.access = replace(self.result.access, grid=grid)
        for service in self.result.services.values():
            service.access = replace(service.access, grid=grid)
        self._services = {name: _per_row(service, self.result) for name, service in self.result.services.items()}
        self.zones = self.result.zones[ZONE_COLUMNS + ["geometry"]]
        self._next_id = 1
        self.lock = threading.RLock()  # one edit at a time, whichever thread the server answers on
        self.rules: list | None = None  # the plan's rules, read on the first audit
        self.scenarios: dict[str, Scenario] = {}
        saved = self._read_state()
        problems = []
        for name, edits in (saved or {BASELINE: []}).items():
            self.scenarios[name] = self._fresh(name)
            for number, edit in enumerate(edits, start=1):
                try:
                    self.apply(name, edit, save=False)
                except EditError as error:
                    problems += [Problem(str(self.state_dir / STATE_FILE), f"scenario {name!r}, edit {number}: {text}",
                                         "the inputs changed since it was saved: fix the edit or move the file away")
                                 for text in error.problems]
        raise_if_any(problems)
        if BASELINE not in self.scenarios:
            self.scenarios = {BASELINE: self._fresh(BASELINE), **self.scenarios}

    # scenarios
    def _fresh(self, name: str) -> Scenario:
        return Scenario(name, [], self.result.facilities[self.input_columns + ["geometry"]].copy(),
                        self.result.access, dict(self._services))

    def create(self, name: str, copy_of: str | None = None) -> Scenario:
        """A new scenario named ``name``: a copy of scenario ``copy_of`` (its edits), else of the loaded run."""
        with self.lock:
            return self._create(name, copy_of)

    def _create(self, name: str, copy_of: str | None) -> Scenario:
        problems = []
        if not isinstance(name, str) or not _NAME.match(name):
            problems.append(f"scenario name {name!r}: use 1 to 64 letters, digits, spaces, '-', '_' or '.', "
                            "not starting with '.' or a space")
        elif name in self.scenarios:
            problems.append(f"scenario {name!r} already exists: choose another name")
        if copy_of is not None and copy_of not in self.scenarios:
            problems.append(f"scenario {copy_of!r} (copy_of) does not exist: choose one of {list(self.scenarios)}")
        if problems:
            raise EditError(problems)
        self.scenarios[name] = scenario = self._fresh(name)
        for edit in self.scenarios[copy_of].edits if copy_of else []:
            self.apply(name, edit, save=False)
        self.save()
        return scenario

    def get(self, name: str) -> Scenario:
        """The scenario ``name``; :class:`EditError` when there is none."""
        if name not in self.scenarios:
            raise EditError([f"scenario {name!r} does not exist: choose one of {list(self.scenarios)}"])
        return self.scenarios[name]

    # edits
    def apply(self, name: str, edit: dict, save: bool = True) -> Scenario:
        """Apply one edit to scenario ``name``, after checking it whole.

        ``edit`` is ``{"op": "add", "lon", "lat", "tier", "name"?}``, ``{"op": "remove", "facility_id"}``,
        ``{"op": "move", "facility_id", "lon", "lat"}`` or ``{"op": "retier", "facility_id", "tier"}``
        (coordinates in degrees, EPSG:4326).

        Raises
        ------
        EditError
            Naming every problem of the edit; the scenario is unchanged.
        """
        with self.lock:
            return self._apply(name, edit, save)

    def _apply(self, name: str, edit: dict, save: bool) -> Scenario:
        scenario = self.get(name)
        edit, row = self._checked(scenario, edit)
        config, network = self.config, self.result.network
        facilities, access = scenario.facilities, scenario.access
        op = edit["op"]
        if op == "add":
            new_id = edit.get("facility_id") or self._new_id(scenario)
            added = gpd.GeoDataFrame({"facility_id": [new_id], "name": [edit.get("name") or new_id],
                                      "tier": [edit["tier"]]},
                                     geometry=[shapely.Point(edit["lon"], edit["lat"])], crs="EPSG:4326")
            edit = {**edit, "facility_id": new_id}
            facilities = gpd.GeoDataFrame(pd.concat([facilities, added], ignore_index=True), crs="EPSG:4326")
            access = add_facility(access, network, edit["lon"], edit["lat"], config.snap_limit_m, config.offroad_kmh,
                                  crs="EPSG:4326")
        elif op == "remove":
            facilities = facilities.drop(index=row).reset_index(drop=True)
            access = remove_facility(access, network, row, config.offroad_kmh)
        elif op == "move":
            facilities = facilities.copy()
            facilities.loc[row, "geometry"] = shapely.Point(edit["lon"], edit["lat"])
            access = move_facility(access, network, row, edit["lon"], edit["lat"], config.snap_limit_m,
                                   config.offroad_kmh, crs="EPSG:4326")
        else:
            facilities = facilities.copy()
            facilities.loc[row, "tier"] = edit["tier"]
        services = self._edit_services(scenario, edit, row)
        before = (scenario.facilities, scenario.access, scenario.services)
        scenario.history = [*scenario.history, before][-UNDO_IN_MEMORY:]
        scenario.facilities, scenario.access, scenario.services = facilities, access, services
        scenario.edits.append(edit)
        if save:
            self.save()
        return scenario

    def undo(self, name: str) -> Scenario:
        """Scenario ``name`` without its last edit."""
        with self.lock:
            return self._undo(name)

    def _undo(self, name: str) -> Scenario:
        scenario = self.get(name)
        if not scenario.edits:
            raise EditError([f"scenario {name!r} has no edit to undo"])
        edits = scenario.edits[:-1]
        if scenario.history:
            scenario.facilities, scenario.access, scenario.services = scenario.history.pop()
            scenario.edits = edits
        else:
            self.scenarios[name] = scenario = self._fresh(name)
            for edit in edits:
                self.apply(name, edit, save=False)
        self.save()
        return scenario

    def _edit_services(self, scenario: Scenario, edit: dict, row: int) -> dict[str, Accessibility]:
        """Each service's travel times after ``edit`` (a facility serves the services of its tier)."""
        config, op = self.config, edit["op"]
        services = {}
        for service in config.services:
            access, network = scenario.services[service.name], self.result.networks[service.mode]
            old_tier = scenario.facilities["tier"].iloc[row] if row >= 0 else None
            if op == "add":
                access = add_facility(access, network, edit["lon"], edit["lat"], config.snap_limit_m,
                                      config.offroad_kmh, crs="EPSG:4326", serving=_offers(edit["tier"], service.tiers))
            elif op == "remove":
                access = remove_facility(access, network, row, config.offroad_kmh)
            elif op == "move" and _offers(old_tier, service.tiers):
                access = move_facility(access, network, row, edit["lon"], edit["lat"], config.snap_limit_m,
                                       config.offroad_kmh, crs="EPSG:4326")
            elif op == "retier" and _offers(old_tier, service.tiers) != _offers(edit["tier"], service.tiers):
                point = scenario.facilities.geometry.iloc[row]
                access = retier_facility(access, network, row, _offers(edit["tier"], service.tiers), point.x, point.y,
                                         config.snap_limit_m, config.offroad_kmh, crs="EPSG:4326")
            services[service.name] = access
        return services

    def _new_id(self, scenario: Scenario) -> str:
        taken = set(scenario.facilities["facility_id"].astype(str))
        while f"new-{self._next_id}" in taken:
            self._next_id += 1
        return f"new-{self._next_id}"

    def _checked(self, scenario: Scenario, edit: object) -> tuple[dict, int]:
        """The edit with its numbers as floats, and the row of its facility (-1 for an add); or every problem."""
        if not isinstance(edit, dict):
            raise EditError(["the edit must be a JSON object with an 'op' key"])
        op = edit.get("op")
        if op not in ("add", "remove", "move", "retier"):
            raise EditError([f"key 'op': {op!r} is not one of add, remove, move, retier"])
        needed = {"add": ("lon", "lat", "tier"), "remove": ("facility_id",), "move": ("facility_id", "lon", "lat"),
                  "retier": ("facility_id", "tier")}[op]
        problems = [f"key '{key}': missing for op {op}" for key in needed if key not in edit]
        row = -1
        if "facility_id" in needed and "facility_id" in edit:
            rows = np.flatnonzero(scenario.facilities["facility_id"].astype(str).to_numpy() == str(edit["facility_id"]))
            if len(rows) == 0:
                problems.append(f"key 'facility_id': no facility {edit['facility_id']!r} in scenario "
                                f"{scenario.name!r}: pick one on the map")
            else:
                row = int(rows[0])
        if op == "add" and edit.get("facility_id") is not None and str(edit["facility_id"]) in set(
                scenario.facilities["facility_id"].astype(str)):
            problems.append(f"key 'facility_id': {edit['facility_id']!r} is taken: leave it out for a new id")
        if "tier" in needed and "tier" in edit and edit["tier"] not in self.tiers:
            problems.append(f"key 'tier': unknown tier {edit['tier']!r}: use one of {self.tiers}")
        if "name" in edit and not isinstance(edit["name"], str | None):
            problems.append("key 'name': must be text")
        clean = dict(edit)
        if "lon" in needed and "lon" in edit and "lat" in edit:
            try:
                clean["lon"], clean["lat"] = float(edit["lon"]), float(edit["lat"])
            except (TypeError, ValueError):
                problems.append(f"keys 'lon', 'lat': {edit['lon']!r}, {edit['lat']!r} are not numbers")
            else:
                if not (np.isfinite(clean["lon"]) and np.isfinite(clean["lat"])):
                    problems.append("keys 'lon', 'lat': must be finite numbers of degrees")
                elif not self.area.contains(shapely.Point(clean["lon"], clean["lat"])):
                    problems.append(f"point ({clean['lon']:.5f}, {clean['lat']:.5f}) lies outside the study area: "
                                    "place the facility inside it")
        if problems:
            raise EditError(problems)
        return clean, row

    # figures
    def zone_rows(self, name: str) -> pd.DataFrame:
        """The zone table of scenario ``name`` (people within each band, beyond the target, unreachable)."""
        scenario = self.get(name)
        config = self.config
        table = zone_table(scenario.access.grid, scenario.access.minutes, self.zones, config.bands_minutes,
                           config.target_minutes, scenario.facilities)
        table = pd.DataFrame(self.zones[ZONE_COLUMNS]).merge(table, on=ZONE_KEYS, how="left")
        table = pd.concat([table, gap_flags(table, config.target_minutes, config.target_percent)], axis=1)
        for service in config.services:
            live = ServiceResult(service, np.empty(0, dtype=np.int64), scenario.services[service.name], None)
            table = table.merge(service_columns(live, self.zones), on=ZONE_KEYS, how="left")
        return table

    def as_result(self, name: str, table: pd.DataFrame | None = None) -> ScenarioResult:
        """The loaded run with scenario ``name``'s facilities, travel times and zone table (its main columns)."""
        scenario = self.get(name)
        table = self.zone_rows(name) if table is None else table
        merged = self.result.table.copy()
        for column in table.columns:
            merged[column] = table[column].to_numpy()
        return replace(self.result, facilities=scenario.facilities, access=scenario.access, table=merged,
                       audit=None, sites=None)

    # disk
    def save(self) -> None:
        """Write every scenario's edits to the state file (atomically)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self.state_dir / STATE_FILE
        temporary = path.with_suffix(".tmp")
        data = {"config": str(self.config.source), "scenarios": {n: s.edits for n, s in self.scenarios.items()}}
        temporary.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        temporary.replace(path)

    def _read_state(self) -> dict[str, list[dict]] | None:
        path = self.state_dir / STATE_FILE
        if not path.is_file():
            return None
        try:
            scenarios = json.loads(path.read_text(encoding="utf-8"))["scenarios"]
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as error:
            raise InputError([Problem(str(path), f"not a saved workspace: {error}",
                                      "move the file away to start afresh")]) from None
        if not isinstance(scenarios, dict) or not all(isinstance(edits, list) for edits in scenarios.values()):
            raise InputError([Problem(str(path), "key 'scenarios': must map names to lists of edits",
                                      "move the file away to start afresh")])
        return scenarios


@dataclass
class _LabelledGrid(PopulationGrid):
    """The population grid with each zone layer rasterized once: the workspace's zones never change, and
    every edit's zone tables ask for the same labels."""

    _labels: dict = field(default_factory=dict, repr=False)

    def labels(self, zones: gpd.GeoDataFrame) -> np.ndarray:
        key = tuple(zip(zones["zone_level"], zones["zone_id"], strict=True))
        if key not in self._labels:
            self._labels[key] = super().labels(zones)
        return self._labels[key]


def _offers(tier: str | None, tiers: list[str] | None) -> bool:
    return tiers is None or tier in tiers


def _per_row(service: ServiceResult, result: ScenarioResult) -> Accessibility:
    """A service's travel times with one facility snap per row of the facility table, the rows that do
    not offer it unsnapped (the form :mod:`geocover.travel.edits` updates)."""
    network = result.networks[service.config.mode]
    snap = snap_facilities(network, result.facilities, result.config.snap_limit_m,
                           service.access.grid if service.access.cell_nearest is not None else None)
    offers = np.zeros(len(result.facilities), dtype=bool)
    offers[service.facility_rows] = True
    snap = Snap(np.where(offers, snap.edge, -1), snap.fraction, np.where(offers, snap.offset_m, np.inf))
    access = service.access
    rows = service.facility_rows
    nearest = np.where(access.nodes.facility >= 0, rows[np.maximum(access.nodes.facility, 0)] if len(rows) else -1, -1)
    return replace(access, facility_snap=snap, nodes=NodeTimes(access.nodes.minutes, nearest, access.nodes.direction))


def _configured_tiers(config: ScenarioConfig) -> list[str]:
    """Tiers the config names (services, ambulance, the siting model's new sites), which a planner may add even
    where none exists yet."""
    tiers = [tier for service in config.services for tier in service.tiers] + [(config.siting or SitingConfig()).tier]
    if config.ambulance is not None:
        tiers += list(config.ambulance.tiers)
    return tiers
