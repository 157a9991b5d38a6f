"""Each command's one-pass check: its config, every input and its own extra inputs, all problems at once.

:func:`geocover.prepare.check_inputs` checks what every run reads; the commands read more: ``audit`` its plan
(and the plan above it), ``compare`` the plan's changes, ``site`` its options and candidate file, ``batch``
its units and state folder. Each ``*_problems`` function lists them all, computing nothing, so that
:mod:`geocover.api` refuses before any computation, naming every file, row, column or key and what to do.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

from geocover.batch.state import STATE_FOLDER
from geocover.config import ScenarioConfig
from geocover.errors import InputError, Problem
from geocover.io.facilities import read_facilities
from geocover.io.vectors import vector_problems
from geocover.io.zones import lie_within, read_zones
from geocover.prepare import check_inputs, load_facilities
from geocover.standards.plans import list_presets, load_preset, resolve_rules
from geocover.standards.scenario_audit import scenario_plan
from geocover.standards.schema import UNIT_LEVELS

T = TypeVar("T")

def collect(problems: list[Problem], action: Callable[[], T]) -> T | None:
    """``action()``, or None with the problems of its :class:`~geocover.errors.InputError` added to ``problems``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return action()
    except InputError as error:
        problems += error.problems
        return None


def standards_problems(config: ScenarioConfig, parent_plan: str | None = None) -> list[Problem]:
    """The plan of ``standards:`` (a preset or a plan file), its scenario rules and the plan above it."""
    problems: list[Problem] = []
    standards = config.standards
    if standards is not None and (standards.path is None or Path(standards.path).exists()):
        plan = collect(problems, lambda: scenario_plan(standards))
        if plan is not None:
            collect(problems, lambda: resolve_rules(plan, standards.add, standards.override, where=_where(config)))
    if standards is not None:
        levels = {level for zone in config.zones for level in (zone.level, *zone.rollup)}
        problems += [Problem(_where(config), f"key 'standards.levels.{zone_level}': no zone level {zone_level!r}",
                             f"use one of {', '.join(sorted(levels))}") for zone_level in standards.levels
                     if zone_level not in levels]
        problems += [Problem(_where(config), f"key 'standards.levels.{zone_level}': {unit!r} is no level of a plan",
                             f"use one of {', '.join(UNIT_LEVELS)}") for zone_level, unit in standards.levels.items()
                     if unit not in UNIT_LEVELS]
    parent = parent_plan or (standards.parent_plan if standards is not None else None)
    if parent:
        collect(problems, lambda: load_preset(parent))
    return problems


def audit_problems(config: ScenarioConfig, parent_plan: str | None = None) -> list[Problem]:
    """Everything that stops ``geocover audit``: the inputs, a missing ``standards:`` section, the plan and the
    plan above it (``parent_plan`` or ``standards.parent_plan``)."""
    problems = check_inputs(config)
    if config.standards is None:
        problems.append(Problem(_where(config), "key 'standards': no plan to audit against",
                                f"add standards: {{plan: ...}} with one of {', '.join(list_presets())}"))
    return problems + standards_problems(config, parent_plan)


def compare_problems(config: ScenarioConfig) -> list[Problem]:
    """Everything that stops ``geocover compare``: the inputs, a missing ``plan:`` section, the rows of the
    plan's added facilities and every closed or upgraded id that is not a facility of the layer."""
    problems = check_inputs(config)
    where, plan = _where(config), config.plan
    if plan is None:
        return [*problems, Problem(where, "key 'plan': nothing to compare",
                                   "add plan: {name: ..., add: {path: ...}, close: [...], upgrade: {...}}")]
    if plan.add is not None and Path(plan.add.path).exists():
        collect(problems, lambda: read_facilities(plan.add.path, **plan.add.model_dump(exclude={"path"})))
    facilities_file = str(config.facilities.path)
    if Path(facilities_file).exists() and not any(p.file == facilities_file for p in problems):
        current = collect([], lambda: load_facilities(config))
        ids = set() if current is None else set(current["facility_id"].astype(str))
        problems += [Problem(where, f"key 'plan.{key}': no facility with id {facility_id!r} in {facilities_file}",
                             "use facility_id values of the facility layer")
                     for key, chosen in (("close", plan.close), ("upgrade", list(plan.upgrade)))
                     for facility_id in chosen if current is not None and str(facility_id) not in ids]
    return problems


def site_problems(config: ScenarioConfig, **options) -> list[Problem]:
    """Everything that stops ``geocover site``: the inputs, the siting options (the ``siting:`` section with
    the command's ``options``), the candidate file (a point layer with a CRS) and the plan, with standards."""
    from geocover.siting.scenario import siting_options

    problems = check_inputs(config)
    configured = config.siting.candidates if config.siting is not None else None
    own: list[Problem] = []
    chosen = collect(own, lambda: siting_options(config, **options))
    listed = configured is not None and not Path(configured).exists() and options.get("candidates") is None
    problems += [p for p in own if not (listed and "file not found" in p.message)]  # check_inputs named it
    candidates = chosen.candidates if chosen is not None else (options.get("candidates") or configured)
    if candidates is not None and Path(candidates).exists():
        found = vector_problems(candidates) if candidates != configured else []
        problems += found
        if not found and not any(p.file == str(candidates) for p in problems):
            problems += _point_problems(Path(candidates))
    return problems + standards_problems(config)


def batch_problems(config: ScenarioConfig, out: str | Path | None = None, workers: int | None = None
                   ) -> list[Problem]:
    """Everything that stops ``geocover batch``: the inputs, the ``batch:`` section and what a unit run cannot
    do (aggregated cells, isochrones), the unit level (and a rescale level straddling its units), the state
    folder (``batch.state_dir`` or ``<out>/.batch``), which must be a folder that can be written, and the
    ``workers`` of the command line (at least 1)."""
    problems = check_inputs(config)
    where = _where(config)
    if workers is not None and workers < 1:
        problems.append(Problem(where, f"--workers {workers}: a cluster needs at least 1 worker",
                                "give --workers 1 or more (or leave it out: batch.workers)"))
    if config.batch is None:
        return [*problems, Problem(where, "key 'batch': no batch section", "add batch: {unit_level: county}")]
    if config.population.aggregate > 1:
        problems.append(Problem(where, "key 'population.aggregate': each unit would sum other blocks of cells",
                                "aggregate the raster beforehand (gdalwarp -r sum) or use geocover run"))
    if config.isochrones:
        problems.append(Problem(where, "key 'isochrones': batch units do not draw per-facility isochrones",
                                "remove isochrones: true, or use geocover run"))
    level = config.batch.unit_level
    levels = list(dict.fromkeys(level for zone in config.zones if zone.seats is None
                                for level in (zone.level, *zone.rollup)))
    if level not in levels:
        problems.append(Problem(where, f"key 'batch.unit_level': no zones of level {level!r}",
                                f"use one of {levels}"))
    elif config.population.rescale_level is not None and not problems:
        zones = collect(problems, lambda: read_zones(config.zones, config.roads.pbf, config.builtup_raster,
                                                     config.urban_builtup_percent))
        problems += rescale_problems(config, zones) if zones is not None else []
    state_dir = config.batch.state_dir or config.output_folder(out) / STATE_FOLDER
    problems += _writable_folder_problems(Path(state_dir), "batch.state_dir")
    return problems


def rescale_problems(config: ScenarioConfig, zones: gpd.GeoDataFrame) -> list[Problem]:
    """A ``population.rescale_level`` whose zones do not each lie inside one unit (a unit run rescales only the
    zones inside it), as a problem; none otherwise."""
    level = config.population.rescale_level
    if level is None:
        return []
    rescaled = zones[zones["zone_level"] == level].geometry.to_numpy()
    units = zones[zones["zone_level"] == config.batch.unit_level].geometry.to_numpy()
    tree = shapely.STRtree(units)
    inside = [any(lie_within(np.array([shape]), units[k])[0] for k in tree.query(shape)) for shape in rescaled]
    if all(inside):
        return []
    return [Problem(str(config.source or config.name), f"key 'population.rescale_level': zones of level {level!r} "
                    f"straddle the units of level {config.batch.unit_level!r}",
                    "rescale by the unit level or a level inside it, or use geocover run")]


def _where(config: ScenarioConfig) -> str:
    return str(config.source or config.name)


def _point_problems(path: Path) -> list[Problem]:
    """A candidate layer must hold points and carry a CRS."""
    info = pyogrio.read_info(path)
    problems = []
    if info.get("crs") is None:
        problems.append(Problem(str(path), "the candidate layer has no CRS",
                                "save it with one (a .prj for a Shapefile)"))
    if info.get("geometry_type") not in ("Point", "Point Z", "Point M", "Point ZM"):
        problems.append(Problem(str(path), f"candidates must be points, not {info.get('geometry_type')}",
                                "give a point layer (one point per candidate site)"))
    return problems


def _writable_folder_problems(folder: Path, key: str) -> list[Problem]:
    """A folder that is or can be made, and written: the nearest existing ancestor must be a writable folder."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return [Problem(str(folder), f"key '{key}': {existing} is a file, not a folder",
                        "move the file away or set another folder")]
    if not os.access(existing, os.W_OK | os.X_OK):
        return [Problem(str(folder), f"key '{key}': the folder {existing} cannot be written",
                        "give write permission or set another folder")]
    return []
