"""The commands as Python functions: :func:`run`, :func:`audit`, :func:`compare`, :func:`batch`, :func:`site`
and :func:`validate` each run a scenario config and write its outputs, as ``geocover <command>`` does.

For notebooks, ``import geocover as gc`` gives the building blocks, GeoDataFrames in and out
(see :mod:`geocover`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from tqdm.auto import tqdm

import geocover
from geocover.analysis.compare import compare as compare_plan
from geocover.analysis.services import service_rows
from geocover.analysis.totals import totals_lines
from geocover.checks import audit_problems, batch_problems, compare_problems, site_problems, standards_problems
from geocover.config import ScenarioConfig, load_config
from geocover.errors import InputError, Problem, raise_if_any
from geocover.io.population import read_population
from geocover.io.road_lines import read_road_lines
from geocover.io.villages import read_villages
from geocover.io.zones import read_zones, study_area
from geocover.output_folder import staged_outputs
from geocover.pipeline import PIPELINE_STEPS, ScenarioResult, run_scenario
from geocover.prepare import check_inputs, load_facilities
from geocover.render.assets import render
from geocover.render.folium_map import coverage_map
from geocover.render.i18n import mode_name
from geocover.render.tables import write_csv, write_workbook
from geocover.render.writers import OUTPUT_STEPS, write_outputs
from geocover.schema import band_label
from geocover.siting.scenario import site_scenario, summary_lines
from geocover.standards import FAIL, NOT_EVALUABLE, NOT_SPECIFIED, PASS, load_preset, write_audit
from geocover.standards.conflicts import plan_conflicts
from geocover.standards.scenario_audit import scenario_audit, scenario_plan
from geocover.summaries import audit_counts, level_text, sentence


def project_file(relative: str) -> Path:
    """A file shipped with geocover (``configs/…``, ``data/…``), installed or in a source tree."""
    package = Path(geocover.__file__).parent
    for root in (package / "_bundled", package.parent):
        candidate = root / relative
        if candidate.exists():
            return candidate
    raise InputError([Problem(relative, "not found in the installed package or the source tree",
                              "reinstall geocover (pip install .)")])


def demo_config() -> Path:
    """Path of the embedded demo scenario (central Helsinki, walking)."""
    return project_file("configs/demo.yaml")


def run(
    config: ScenarioConfig | str | Path,
    out: str | Path | None = None,
    export_network: bool = False,
    progress: bool = True,
    lenient: bool = False,
    lang: str | None = None,
    offline: bool = False,
) -> tuple[dict[str, Path], str]:
    """Run a scenario and write its outputs.

    Parameters
    ----------
    config : ScenarioConfig or path
    out : path, optional
        Output folder; ``config.output_dir`` or ``maps/<name>`` when omitted.
    export_network : bool
        Add the network layers to ``results.gpkg``.
    progress : bool
    lenient : bool
        Drop bad facility rows, list them and go on, instead of stopping.
    lang : {"en", "zh"}, optional
        Language of the map and report; ``map.lang`` of the config when omitted.
    offline : bool
        No base-map tiles (a plain background), for maps read without a network.

    Returns
    -------
    outputs : dict
        Output name to path.
    summary : str
        A few lines on what was computed, in ``lang``.
    """
    if not isinstance(config, ScenarioConfig):
        config = load_config(config)
    if lenient and not config.facilities.lenient:
        config = config.model_copy(update={"facilities": config.facilities.model_copy(update={"lenient": True})})
    raise_if_any(check_inputs(config) + standards_problems(config))
    bar = tqdm(total=PIPELINE_STEPS + 2 + len(OUTPUT_STEPS), desc="geocover", disable=not progress, unit="step")
    with bar, staged_outputs(config.output_folder(out), scenario=config.name):
        result = run_scenario(config, progress=bar)
        result = replace(result, audit=scenario_audit(result))
        bar.set_postfix_str("standards audited")
        bar.update(1)
        outputs = _write_all(result, out, lang, offline, export_network=export_network, steps=bar)
    return outputs, summarize(result, lang or config.map.lang)


def audit(
    config: ScenarioConfig | str | Path, out: str | Path | None = None, progress: bool = True,
    parent_plan: str | None = None, lang: str | None = None,
) -> tuple[dict[str, Path], str]:
    """Run a scenario and write only its standards audit (``audit.csv``, ``audit.xlsx``).

    With ``parent_plan`` (or ``standards.parent_plan``), the plan is also compared with the plan
    above it: ``plan_conflicts.csv`` and a sheet of ``audit.xlsx``, and each unit's rows carry the
    parent plan's target and verdict beside the plan's own.

    Returns
    -------
    outputs : dict
    summary : str
        Counts of rules passed, failed, not evaluable and not specified, in ``lang`` (``map.lang`` when None).
    """
    if not isinstance(config, ScenarioConfig):
        config = load_config(config)
    raise_if_any(audit_problems(config, parent_plan))
    parent = parent_plan or config.standards.parent_plan
    conflicts = plan_conflicts(scenario_plan(config.standards), load_preset(parent)) if parent else None
    folder = config.output_folder(out)
    names = ["audit.csv", "audit.xlsx"] + (["plan_conflicts.csv"] if conflicts is not None else [])
    with staged_outputs(folder, scenario=config.name, keep_previous=True) as stage:
        result = run_scenario(config, progress=progress)
        result = replace(result, audit=scenario_audit(result, parent_plan=parent))
        write_audit(result.audit, stage / "audit.csv", stage / "audit.xlsx", conflicts=conflicts,
                    lang=lang or config.map.lang)
    return {name: folder / name for name in names}, _audit_summary(result.audit, lang or config.map.lang)


def compare(
    config: ScenarioConfig | str | Path, out: str | Path | None = None, progress: bool = True,
    lang: str | None = None,
) -> tuple[dict[str, Path], str]:
    """Run the scenario and its ``plan:`` and write the zone tables side by side (``comparison.csv``/``.xlsx``).

    Returns
    -------
    outputs : dict
    summary : str
        People within the target, before and after, per zone level, in ``lang`` (``map.lang`` when None).
    """
    if not isinstance(config, ScenarioConfig):
        config = load_config(config)
    raise_if_any(compare_problems(config))
    folder = config.output_folder(out)
    with staged_outputs(folder, scenario=config.name, keep_previous=True) as stage:
        current, planned, comparison = compare_plan(config, progress=progress)
        write_csv(comparison, stage / "comparison.csv")
        write_workbook({"comparison": comparison}, stage / "comparison.xlsx")
    target, lang = band_label(config.target_minutes), lang or config.map.lang
    lines = [sentence("plan", lang, plan=config.plan.name, planned=len(planned.facilities),
                      current=len(current.facilities))]
    for level, rows in comparison.groupby("zone_level", sort=False):
        before = rows[f"pop_within_{target}_current"].sum()
        after = rows[f"pop_within_{target}_{config.plan.name}"].sum()
        lines.append(sentence("plan_level", lang, level=level_text(config, level, lang),
                              minutes=f"{config.target_minutes:g}", before=f"{before:,.0f}", after=f"{after:,.0f}",
                              change=f"{after - before:+,.0f}"))
    return {name: folder / name for name in ("comparison.csv", "comparison.xlsx")}, "\n".join(lines)


def batch(
    config: ScenarioConfig | str | Path,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    force: bool = False,
    progress: bool = True,
    lang: str | None = None,
    offline: bool = False,
    processes: bool = True,
    report: bool = True,
) -> tuple[dict[str, Path], str, dict[str, str]]:
    """Run the scenario unit by unit on Dask (``batch:`` section) and write the merged outputs.

    See :func:`geocover.batch.driver.run_batch` for the parameters and what is exact.

    Returns
    -------
    outputs : dict
    summary : str
        Units computed, reused and failed; people per zone level; notes.
    failed : dict
        Unit id to its error; empty when every unit finished.
    """
    from geocover.batch.driver import run_batch

    if not isinstance(config, ScenarioConfig):
        config = load_config(config)
    raise_if_any(batch_problems(config, out, workers))
    with staged_outputs(config.output_folder(out), scenario=config.name):
        outcome = run_batch(config, out=out, workers=workers, scheduler=scheduler, force=force, progress=progress,
                            lang=lang, offline=offline, processes=processes, report=report)
    return outcome.outputs, outcome.summary, outcome.failed


def site(
    config: ScenarioConfig | str | Path,
    out: str | Path | None = None,
    progress: bool = True,
    lang: str | None = None,
    offline: bool = False,
    **options,
) -> tuple[dict[str, Path], str]:
    """Propose new sites, then write the scenario's outputs with them and the before/after tables.

    Parameters
    ----------
    config : ScenarioConfig or path
    out : path, optional
    progress : bool
    lang : {"en", "zh"}, optional
    offline : bool
    **options
        Keys of the ``siting:`` section (model, k, target_share, threshold_minutes, candidate_rule,
        candidates, ...) overriding the config; None values are ignored.

    Returns
    -------
    outputs : dict
        The outputs of :func:`run` (``results.gpkg`` gains a ``proposed_sites`` layer, ``map.html`` shows
        them) and ``proposed_sites.csv``/``.xlsx``, ``zones_before_after.csv`` and, with standards,
        ``audit_before_after.csv``.
    summary : str
        In ``lang`` (``map.lang`` when None).
    """
    if not isinstance(config, ScenarioConfig):
        config = load_config(config)
    raise_if_any(site_problems(config, **options))
    with staged_outputs(config.output_folder(out), scenario=config.name):
        run = site_scenario(config, progress=progress, **options)
        result = run.current
        sites = pd.DataFrame(result.sites.drop(columns="geometry"))
        tables: dict = {"proposed_sites.csv": sites, "zones_before_after.csv": run.zones}
        sheets = {"sites": sites, "coverage": run.siting.totals, "zones": run.zones}
        if run.audit is not None:
            tables["audit_before_after.csv"] = run.audit
            sheets["audit"] = run.audit
        tables["proposed_sites.xlsx"] = sheets
        noted = len(result.notes)
        with tqdm(total=1 + len(OUTPUT_STEPS), desc="outputs", disable=not progress, unit="step") as bar:
            outputs = _write_all(result, out, lang, offline, tables=tables, steps=bar)
    lang = lang or config.map.lang
    notes = [sentence("note", lang, note=note) for note in result.notes[noted:]]
    return outputs, "\n".join(summary_lines(run, lang) + notes)


def _write_all(result: ScenarioResult, out: str | Path | None, lang: str | None, offline: bool,
               **options) -> dict[str, Path]:
    """Every output of a run, the map and report in ``lang`` (``map.lang`` when None)."""
    lang = lang or result.config.map.lang
    html = render(coverage_map(result, lang=lang, tiles="none" if offline else None))
    if options.get("steps") is not None:
        options["steps"].set_postfix_str("map drawn")
        options["steps"].update(1)
    return write_outputs(result, result.config.output_folder(out), map_html=html, lang=lang, **options)


def _audit_summary(table: pd.DataFrame, lang: str = "en") -> str:
    counts = table["status"].value_counts()
    return audit_counts({status: counts.get(status, 0) for status in (PASS, FAIL, NOT_EVALUABLE, NOT_SPECIFIED)}, lang)


def summarize(result: ScenarioResult, lang: str = "en") -> str:
    """Plain-text summary of a scenario result in ``lang`` (``"en"`` or ``"zh"``), one sentence a line, the run's
    notes after them."""
    config = result.config
    target = f"{config.target_minutes:g}".replace(".", "_")
    facilities = result.facilities
    unsnapped = int((~facilities["snapped"]).sum())
    lines = [
        sentence("scenario", lang, name=config.name, mode=mode_name(config.mode, lang),
                 bands=", ".join(f"{b:g}" for b in config.bands_minutes)),
        sentence("network", lang, nodes=f"{result.network.n_nodes:,}", segments=f"{result.network.n_edges:,}"),
        sentence("facilities", lang, count=len(facilities), unsnapped=unsnapped, limit_m=f"{config.snap_limit_m:g}"),
    ]
    for level, table in result.table.groupby("zone_level", sort=False):
        total = table["population"].sum()
        within = table[f"pop_within_{target}"].sum()
        share = 100 * within / total if total else np.nan
        lines.append(sentence("level", lang, level=level_text(config, level, lang),
                              zones=len(table), people=f"{total:,.0f}", share=f"{share:.1f}",
                              minutes=f"{config.target_minutes:g}", lost=f"{table['pop_unreachable'].sum():,.0f}"))
    first = str(result.table["zone_level"].iloc[0])
    lines += totals_lines(result, lang, level_text(config, first, lang) if lang == "zh" else None)
    if result.audit is not None:
        lines.append(_audit_summary(result.audit, lang))
    lines += [sentence("note", lang, note=note) for note in result.notes]
    return "\n".join(lines)


def _population_summary(config: ScenarioConfig, zones: gpd.GeoDataFrame | None) -> str:
    population = config.population
    if population.raster is not None:
        grid = read_population(population.raster, None if zones is None else study_area(zones, 0.0))
        return (f"population: {grid.shape[1]} x {grid.shape[0]} cells over the zones, {grid.crs.to_string()}, "
                f"total {grid.population[grid.valid].sum():,.0f} in the zones")
    if population.points is None:
        level, cell = population.rescale_level, population.cell_m
        return f"population: official counts of each {level} spread over {cell:g} m cells"
    points = pyogrio.read_dataframe(population.points, columns=[population.count_column], read_geometry=False)
    return f"population: {len(points)} points, total {points[population.count_column].sum():,.0f}"


def _roads_summary(config: ScenarioConfig) -> str:
    roads = config.roads
    parts = [] if roads.pbf is None else [f"{roads.pbf} ({Path(roads.pbf).stat().st_size / 1e6:.1f} MB, every block "
                                           "present)"]
    for lines in roads.line_layers:
        segments = read_road_lines(lines.path, lines.grade_column, lines.oneway_column, lines.layer, lines.crs,
                                   **lines.structure_columns)
        parts.append(f"{lines.path} ({len(segments.u):,} segments)")
    return "roads: " + "; ".join(parts)


def validate(config: ScenarioConfig | str | Path) -> str:
    """Read every input a run reads and summarise it, computing nothing.

    Returns
    -------
    str
        One line per layer. Raises :class:`~geocover.errors.InputError` listing every problem of every
        file at once (see :func:`~geocover.prepare.check_inputs`).
    """
    if not isinstance(config, ScenarioConfig):
        config = load_config(config)
    problems = check_inputs(config) + standards_problems(config)
    raise_if_any(problems)
    lines = [f"scenario {config.name} ({config.source})"]
    zones = None
    try:
        zones = read_zones(config.zones, config.roads.pbf, config.builtup_raster, config.urban_builtup_percent)
    except InputError as error:
        problems += error.problems
    else:
        counts = zones.groupby("zone_level", sort=False).size()
        lines.append("zones: " + ", ".join(f"{level} {n}" for level, n in counts.items())
                     + f" ({zones.attrs.get('repaired', 0)} repaired)")
    facilities = load_facilities(config)
    tiers = facilities["tier"].value_counts()
    lines.append(f"facilities: {len(facilities)} (" + ", ".join(f"{t} {n}" for t, n in tiers.items()) + ")")
    for service in config.services:
        try:
            lines.append(f"service {service.name}: {len(service_rows(service, facilities))} facilities")
        except InputError as error:
            problems += error.problems
    if config.villages is not None:
        try:
            villages = read_villages(config.villages)
            lines.append(f"villages: {len(villages)} ({int(villages['lon'].notna().sum())} with a point), "
                         f"{villages['population'].sum():,.0f} residents")
        except InputError as error:
            problems += error.problems
    for loader in (lambda: _population_summary(config, zones), lambda: _roads_summary(config)):
        try:
            lines.append(loader())
        except InputError as error:
            problems += error.problems
    raise_if_any(problems)
    return "\n".join(lines)
