"""Batch runs: every unit of a scenario (each county of a province, or each zone of any level) as one
Dask task, merged into the outputs of one run. Exact at unit borders, resumable, deterministic.

The config's ``batch:`` section names the unit level (``batch: {unit_level: county, workers: 2}``);
``geocover batch CONFIG.yaml`` runs it on a local Dask cluster, or on a running scheduler
(``--scheduler tcp://host:8786``: its workers must read the input files at the same paths).

**What is exact.** Each unit runs with the halo of :func:`geocover.pipeline.run_scenario`: roads,
facilities and people within ``R`` = fastest speed x largest band (or the largest ambulance radius
and response) around it. Every figure up to the largest band ``N`` is then that of the whole-area
run: band counts and shares, facility counts, flags, ambulance radius and response counts, 2SFCA
(with a halo of twice its catchment). A cell more than N minutes from every facility is reported
as "more than N minutes": counted beyond the target, its minutes unknown; a zone's mean minutes are
then NaN, its median and p90 too unless those people cannot move them. Capacity allocation and
network-Voronoi zones need a global pass: computed by ``geocover run`` only. ``batch_exactness.csv``
says it column by column (see :mod:`geocover.batch.unit` for the reasons). Minutes are computed in
each unit's UTM zone; a unit in another zone than the whole area differs from the single run by the
projections' scale (below 0.1 %).

**Outputs.** Those of ``geocover run`` (the same zone-table columns and row order, one GeoPackage,
``map.html``, the report), drawn from the units' own cells: polygons and ``travel_time.tif`` cover the zones
only (``-2``: more than N minutes), and facility catchments count the people of the zones only. Besides:
``map_<level>_<unit>.html`` per unit (its cells and zones, its facilities and those nearest to its cells);
``batch_units.csv`` (status, seconds, worker memory, error per unit); ``batch_zones.csv`` (per zone: the unit
it came from, people more than N minutes away, and a lower bound of the mean minutes); ``batch_exactness.csv``
(what is exact, per column). The plan tables of ``geocover run`` (``emergency_chain.csv``,
``county_referral.csv``, ``villages.csv``, ``villages_by_township.csv``, when the inputs give them) are computed
once on the whole area, on one more task, and equal the single run's (see :mod:`geocover.batch.plan` for why
not per unit); the audit's village rules read them as in the single run.

**Inputs read once.** The driver parses a road PBF once before dispatching the units (with ``roads.extract``,
keeping the roads around all the zones as the file streams by) into one ``.npz``: in ``roads.cache_dir``, else
(and always with ``extract``) in ``<state>/roads``; a road line layer is read once into ``<state>/roads`` too.
Each unit loads the ``.npz`` and keeps the roads of its own study area. The facility layer and the zones are
read once too and sent to every worker. Before the units, the cells of the population raster around them are
snapped to the roads once, by bands of rows on the workers, into ``<state>/snaps`` (see
:mod:`geocover.batch.cell_snaps`): a unit takes its cells' snaps from there instead of snapping its halo (about
three quarters of its cells) again. A unit's facility table searches only from its own facilities, neighbours
and referrals no farther than the minutes it keeps (see :mod:`geocover.batch.unit`); the empty cells of its
halo are dropped (they count only through their people). On a running scheduler, the workers must read the
state folder at the same path; the local workers run without Dask's ``MALLOC_TRIM_THRESHOLD_`` (see
:func:`geocover.batch.tasks.local_cluster`), and workers started by hand run faster without it too
(``distributed.nanny.pre-spawn-environ``).

**Resumable.** A finished unit is recorded in the state folder (``<out>/.batch/`` or ``batch.state_dir``)
as one pickle, written to a temporary file and moved into place, with a fingerprint of the config and
of the input files (size, modification time). A rerun skips the recorded units unless ``force``; a
failed unit is reported with its error while the others go on. The merged outputs of the finished
units are still written, marked incomplete (``INCOMPLETE.txt``; no rows for the failed units' zones
nor for zones spanning units), and the run ends with the list of failed units.

**Deterministic.** Units are merged in the zone file's order and every table follows it, whatever
the number of workers or the order they finish in; GeoPackage timestamps are fixed.
"""

from __future__ import annotations

import resource
import shutil
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geocover.analysis.plan_tables import plan_tables_wanted
from geocover.batch.cell_snaps import SNAPS_FOLDER, plan_cell_snaps
from geocover.batch.merge import exactness, merge_cells, merge_facilities, merge_tables, merged_result
from geocover.batch.plan import PLAN_STATE, PlanTables
from geocover.batch.roads import parse_roads_once, roads_notes
from geocover.batch.state import STATE_FOLDER, fingerprint, load_state, save_state, state_name
from geocover.batch.tasks import Workers, check_worker_access, compute_units
from geocover.batch.unit import UnitResult, unit_config
from geocover.config import ScenarioConfig
from geocover.io.osm import load_segments
from geocover.io.villages import read_villages
from geocover.io.zones import read_zones
from geocover.output_folder import staged_outputs
from geocover.prepare import load_facilities, load_roads, load_statistics
from geocover.render.assets import render
from geocover.render.folium_map import coverage_map
from geocover.render.tables import write_workbook
from geocover.render.writers import workbook_sheets, write_outputs
from geocover.schema import within_column
from geocover.standards.scenario_audit import scenario_audit


@dataclass
class BatchReport:
    """The outcome of :func:`run_batch`.

    Attributes
    ----------
    outputs : dict
        Output name to path.
    summary : str
    failed : dict
        Unit id to its error, for the units that failed.
    units : pandas.DataFrame
        Per unit: ``unit_id, unit_name, status`` (computed, reused, failed), ``seconds``,
        ``worker_peak_mb``, ``error``.
    seconds : float
        Wall time of the whole batch, s.
    driver_peak_mb : float
        Peak resident memory of the calling process, MB.
    """

    outputs: dict[str, Path]
    summary: str
    failed: dict[str, str]
    units: pd.DataFrame
    seconds: float
    driver_peak_mb: float


def unowned_facilities(facilities: gpd.GeoDataFrame, unit_zones: gpd.GeoDataFrame) -> list[str]:
    """Ids of the facilities that lie inside no unit (their row comes from the first unit that has them)."""
    tree = shapely.STRtree(unit_zones.geometry.to_numpy())
    points = facilities.geometry.to_crs("EPSG:4326").to_numpy()
    inside = np.zeros(len(facilities), dtype=bool)
    inside[tree.query(points, predicate="within")[0]] = True
    return facilities["facility_id"].astype(str)[~inside].tolist()


def _summary(config: ScenarioConfig, level: str, units: pd.DataFrame, table: pd.DataFrame | None,
             info: pd.DataFrame | None, notes: list[str], seconds: float) -> str:
    counts = units["status"].value_counts()
    lines = [f"batch {config.name}: {len(units)} units of level {level} ({counts.get('computed', 0)} computed, "
             f"{counts.get('reused', 0)} reused, {counts.get('failed', 0)} failed) in {seconds:.1f} s"]
    if table is not None:
        more = info.columns[-2]
        people = info.loc[info["zone_level"] == level, more].sum()
        lines.append(f"people {more.removeprefix('pop_').replace('_', ' ')}: {people:,.0f} (batch_zones.csv)")
        target = within_column(config.target_minutes)
        for zone_level, rows in table.groupby("zone_level", sort=False):
            total = rows["population"].sum()
            share = 100 * rows[target].sum() / total if total else np.nan
            lines.append(f"{zone_level}: {len(rows)} zones, {total:,.0f} people, {share:.1f}% within "
                         f"{config.target_minutes:g} min")
    lines += [f"note: {note}" for note in notes]
    for row in units[units["status"] == "failed"].itertuples():
        lines.append(f"FAILED {row.unit_id} ({row.unit_name}): {row.error.splitlines()[0]}")
    return "\n".join(lines)


@dataclass
class _Batch:
    """One batch run as it goes: its units, state folder, finished and failed units, notes and plan tables."""

    config: ScenarioConfig
    task_config: ScenarioConfig
    zones: gpd.GeoDataFrame
    unit_zones: gpd.GeoDataFrame
    folder: Path
    state_dir: Path
    lang: str | None
    tiles: str | None
    stamp: str
    names: dict[str, str]
    done: dict[str, UnitResult]
    failed: dict[str, str]
    notes: list[str]
    plan: PlanTables | None

    @property
    def level(self) -> str:
        return self.config.batch.unit_level

    @property
    def ids(self) -> list[str]:
        return list(self.names)


def _open_batch(config: ScenarioConfig, out: str | Path | None, force: bool, lang: str | None,
                offline: bool) -> _Batch:
    """The batch's units (zones of the unit level, in the zone file's order) and the records of a former run
    with the same fingerprint (none with ``force``)."""
    zones = read_zones(config.zones, config.roads.pbf, config.builtup_raster, config.urban_builtup_percent)
    unit_zones = zones[zones["zone_level"] == config.batch.unit_level].reset_index(drop=True)
    folder = config.output_folder(out)
    state_dir = config.batch.state_dir or folder / STATE_FOLDER
    state_dir.mkdir(parents=True, exist_ok=True)
    lang = lang or config.map.lang
    tiles = "none" if offline else None
    task_config, notes = unit_config(config)
    stamp = fingerprint(config, lang, tiles)
    names = dict(zip(unit_zones["zone_id"].astype(str), unit_zones["zone_name"].astype(str), strict=True))
    done: dict[str, UnitResult] = {}
    plan = None
    if not force:
        done = {uid: r for uid in names if (r := load_state(state_dir / state_name(uid), stamp)) is not None}
        plan = load_state(state_dir / PLAN_STATE, stamp)
    return _Batch(config, task_config, zones, unit_zones, folder, state_dir, lang, tiles, stamp, names, done, {},
                  notes, plan)


def _compute_missing(batch: _Batch, workers: int | None, scheduler: str | None, processes: bool, progress: bool,
                   stack: ExitStack) -> Workers | None:
    """Run the units not recorded, and the plan tables unless recorded, on Dask (a cluster closed with
    ``stack``); record them in the state folder. The cluster, None when everything was recorded."""
    config, state_dir = batch.config, batch.state_dir
    jobs = [(uid, name) for uid, name in batch.names.items() if uid not in batch.done]
    if not jobs and batch.plan is not None:
        return None
    if batch.plan is None and config.villages is not None:
        read_villages(config.villages)  # every problem of the village list now, before the units run
    cluster = Workers(workers or config.batch.workers, scheduler or config.batch.scheduler, processes)
    stack.callback(cluster.close)
    if not cluster.local:
        check_worker_access(cluster.client, config.input_files(), state_dir, str(config.source or config.name))
    task_config, roads_file = parse_roads_once(batch.task_config, batch.zones, state_dir)
    facilities = load_facilities(task_config)
    task_zones = read_zones(task_config.zones, config.roads.pbf, config.builtup_raster, config.urban_builtup_percent)
    plan_wanted = batch.plan is None and plan_tables_wanted(task_config, facilities, task_zones)
    for stale in (state_dir / SNAPS_FOLDER).glob("*"):
        if stale.name != batch.stamp[:16]:
            shutil.rmtree(stale)
    plans = plan_cell_snaps(task_config, batch.unit_zones,
                            load_segments(roads_file) if roads_file else load_roads(task_config, batch.zones),
                            state_dir / SNAPS_FOLDER / batch.stamp[:16], workers or config.batch.workers)
    plan = compute_units(cluster.client, jobs, task_config, batch.level, batch.lang, batch.tiles, facilities,
                         task_zones, roads_file, unowned_facilities(facilities, batch.unit_zones), plans, progress,
                         batch.done, batch.failed,
                         lambda uid, result: save_state(state_dir / state_name(uid), batch.stamp, result),
                         plan_tables=plan_wanted)
    if batch.plan is None:
        batch.plan = plan or PlanTables({}, [])
        (state_dir / PLAN_STATE).parent.mkdir(exist_ok=True)
        save_state(state_dir / PLAN_STATE, batch.stamp, batch.plan)
    return cluster


def _units_frame(batch: _Batch, reused: set[str]) -> pd.DataFrame:
    """Per unit: ``unit_id, unit_name, status`` (reused, failed, computed), ``seconds``, ``worker_peak_mb``,
    ``zones`` and the first line of its ``error``."""
    ids, done, failed = batch.ids, batch.done, batch.failed
    return pd.DataFrame({
        "unit_id": ids, "unit_name": [batch.names[uid] for uid in ids],
        "status": ["reused" if uid in reused else "failed" if uid in failed else "computed" for uid in ids],
        "seconds": [done[uid].seconds if uid in done else np.nan for uid in ids],
        "worker_peak_mb": [done[uid].peak_mb if uid in done else np.nan for uid in ids],
        "zones": [len(done[uid].table) if uid in done else 0 for uid in ids],
        "error": [failed.get(uid, "").split("\n")[0] for uid in ids],
    })


def _all_notes(batch: _Batch, finished: list[UnitResult]) -> list[str]:
    """The batch's notes, then those on the roads, of the finished units and of the plan tables, each once."""
    plan_notes = batch.plan.notes if batch.plan is not None else []
    return list(dict.fromkeys([*batch.notes, *roads_notes(batch.config, batch.state_dir),
                               *(n for unit in finished for n in unit.notes), *plan_notes]))


def _write_merged(batch: _Batch, finished: list[UnitResult], units: pd.DataFrame, report: bool,
                  executor) -> tuple[pd.DataFrame | None, pd.DataFrame | None, dict[str, Path]]:
    """Merge the finished units and write the outputs of one run into the batch's folder, all or none, the
    plan tables with them (:mod:`geocover.batch.plan`); the merged zone table, the per-zone batch information
    and the output paths. ``executor`` (a local Dask client) writes ``coverage.xlsx`` meanwhile."""
    config, folder, failed, notes = batch.config, batch.folder, batch.failed, batch.notes
    table = info = None
    outputs: dict[str, Path] = {}
    with staged_outputs(folder, scenario=config.name) as stage:
        if finished:
            numbers = [batch.ids.index(unit.unit_id) + 1 for unit in finished]
            facilities = merge_facilities(finished)
            cells = merge_cells(finished, numbers, batch.unit_zones, facilities)
            statistics = load_statistics(config)
            table, info = merge_tables(finished, batch.zones, batch.level, None if failed else cells, config,
                                       facilities, statistics)
            workbook = None if executor is None else executor.submit(
                write_workbook, workbook_sheets(table, facilities), stage / "coverage.xlsx", pure=False)
            result = merged_result(config, finished, table, batch.zones, cells, facilities, statistics, notes)
            result.tables = dict(batch.plan.tables) if batch.plan is not None else {}
            result.audit = scenario_audit(result)
            html = render(coverage_map(result, lang=batch.lang, tiles=batch.tiles))
            limit = finished[0].limits[""]
            outputs = {name: folder / name for name in write_outputs(result, stage, map_html=html,
                                                                          lang=batch.lang if report else None,
                                                                          workbook=workbook, more_than_minutes=limit)}
            for unit in (u for u in finished if u.map_html is not None):
                name = f"map_{batch.level}_{state_name(unit.unit_id).removesuffix('.pkl')}.html"
                (stage / name).write_text(unit.map_html, encoding="utf-8")
                outputs[name] = folder / name
            info.to_csv(stage / "batch_zones.csv", index=False, encoding="utf-8-sig")
            exactness(table, result.facilities, config, limit, max(u.halo_m for u in finished), notes).to_csv(
                stage / "batch_exactness.csv", index=False, encoding="utf-8-sig")
            outputs |= {name: folder / name for name in ("batch_zones.csv", "batch_exactness.csv")}
        units.to_csv(stage / "batch_units.csv", index=False, encoding="utf-8-sig")
        outputs["batch_units.csv"] = folder / "batch_units.csv"
        if failed:
            text = "INCOMPLETE: these units failed; the outputs hold the other units only (no zones spanning units)\n"
            text += "\n\n".join(f"{uid} ({batch.names[uid]}):\n{error}" for uid, error in failed.items())
            (stage / "INCOMPLETE.txt").write_text(text, encoding="utf-8")
            outputs["INCOMPLETE.txt"] = folder / "INCOMPLETE.txt"
    return table, info, outputs


def run_batch(
    config: ScenarioConfig,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    force: bool = False,
    progress: bool = True,
    lang: str | None = None,
    offline: bool = False,
    processes: bool = True,
    report: bool = True,
) -> BatchReport:
    """Run every unit of ``config.batch.unit_level`` on Dask and write the merged outputs.

    Parameters
    ----------
    config : ScenarioConfig
        With a ``batch:`` section, checked (:func:`geocover.checks.batch_problems`).
    out : path, optional
        Output folder; ``config.output_dir`` or ``maps/<name>`` when omitted.
    workers : int, optional
        Workers of the local cluster; ``batch.workers`` when omitted.
    scheduler : str, optional
        Address of a running Dask scheduler; ``batch.scheduler``, else a local cluster.
    force : bool
        Rerun the units already recorded.
    progress : bool
    lang : {"en", "zh"}, optional
        Language of the maps and report; ``map.lang`` when omitted.
    offline : bool
        Maps without base-map tiles.
    processes : bool
        Local workers as processes (threads of this process when False, for tests).
    report : bool
        Write the print map and the report (``map.png``/``.pdf``, ``report.html``/``.pdf``).

    Returns
    -------
    BatchReport
    """
    start = time.perf_counter()
    batch = _open_batch(config, out, force, lang, offline)
    reused = set(batch.done)
    with ExitStack() as stack:
        cluster = _compute_missing(batch, workers, scheduler, processes, progress, stack)
        units = _units_frame(batch, reused)
        finished = [batch.done[uid] for uid in batch.ids if uid in batch.done]
        batch.notes = _all_notes(batch, finished)
        executor = cluster.client if cluster is not None and cluster.local else None
        table, info, outputs = _write_merged(batch, finished, units, report, executor)
    if not batch.failed:
        (batch.folder / "INCOMPLETE.txt").unlink(missing_ok=True)
    seconds = time.perf_counter() - start
    return BatchReport(
        outputs=outputs, summary=_summary(config, batch.level, units, table, info, batch.notes, seconds),
        failed={uid: batch.failed[uid] for uid in batch.ids if uid in batch.failed}, units=units, seconds=seconds,
        driver_peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    )
