"""The Dask side of a batch run: the local cluster, the cells snapped once by bands of rows, the unit tasks."""

from __future__ import annotations

import logging
import os
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
from tqdm.auto import tqdm

from geocover.batch.cell_snaps import CellSnaps, mark_complete, snap_rows
from geocover.batch.plan import PlanTables, whole_area_plan_tables
from geocover.batch.unit import UnitResult, run_unit
from geocover.config import ScenarioConfig
from geocover.errors import Problem, raise_if_any
from geocover.io.osm import load_segments
from geocover.prepare import load_roads


def local_cluster(workers: int, processes: bool = True):
    """A Dask ``LocalCluster`` of ``workers`` single-threaded workers, without the glibc trim setting.

    Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` in its workers to hand memory back to the system
    sooner; setting it also freezes glibc's mmap threshold at 128 kB, so that every array of a unit run
    is mapped afresh and its pages faulted in again (measured: one county unit 4.6 s -> 5.7 s, five times
    the page faults). Units free their memory when they end, so the workers here run without it.
    """
    import dask
    from dask.distributed import LocalCluster

    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes, dashboard_address=None,
                            silence_logs=logging.CRITICAL)


def _snap_task(snaps: CellSnaps, rows: tuple[int, int], config: ScenarioConfig, zones: gpd.GeoDataFrame,
               roads_file: Path | None) -> int:
    """:func:`geocover.batch.cell_snaps.snap_rows` on the roads a unit reads."""
    return snap_rows(snaps, rows, config, load_segments(roads_file) if roads_file else load_roads(config, zones))


def snap_cells_once(client, plans: list[tuple[CellSnaps, list[tuple[int, int]]]], config: ScenarioConfig, zones,
                roads_file: Path | None, progress: bool) -> list[CellSnaps]:
    """Snap the planned bands on the workers; the regions completed (a failed band leaves its units to snap
    their cells themselves)."""
    from dask.distributed import as_completed

    futures = {client.submit(_snap_task, snaps, rows, config, zones, roads_file, pure=False): k
               for k, (snaps, bands) in enumerate(plans) for rows in bands}
    failed = set()
    for future in tqdm(as_completed(futures), total=len(futures), desc="snapping cells", disable=not progress):
        if future.status != "finished":
            failed.add(futures[future])
        future.release()
    for k, (snaps, bands) in enumerate(plans):
        if bands and k not in failed:
            mark_complete(snaps)
    return [snaps for snaps, _ in plans if snaps.complete]


class Workers:
    """The Dask client of a batch; its local cluster starts in the background while the driver reads the inputs."""

    def __init__(self, workers: int, scheduler: str | None, processes: bool) -> None:
        self.local = scheduler is None
        self._pool = ThreadPoolExecutor(1)
        self._started = self._pool.submit(self._start, workers, scheduler, processes)

    @staticmethod
    def _start(workers: int, scheduler: str | None, processes: bool):
        from dask.distributed import Client

        cluster = None if scheduler else local_cluster(workers, processes)
        return cluster, Client(scheduler or cluster)

    @property
    def client(self):
        """The connected ``dask.distributed.Client``."""
        return self._started.result()[1]

    def close(self) -> None:
        cluster, client = self._started.result()
        client.close()
        if cluster is not None:
            cluster.close()
        self._pool.shutdown()


def _out_of_reach(readable: list[str], writable: list[str]) -> list[str]:
    """On a worker: the paths of ``readable`` it cannot read and of ``writable`` it cannot write."""
    return ([path for path in readable if not os.access(path, os.R_OK)]
            + [path for path in writable if not os.access(path, os.W_OK | os.X_OK)])


def check_worker_access(client, inputs: list[Path], state_dir: Path, where: str) -> None:
    """Raise :class:`~geocover.errors.InputError` naming every path and worker when a worker of ``client``
    cannot read an input file or write the state folder (the inputs and the state must be on storage that
    every worker mounts at the same path)."""
    found = client.run(_out_of_reach, [str(path) for path in inputs], [str(state_dir)])
    raise_if_any([
        Problem(where, f"worker {worker} cannot {'write' if path == str(state_dir) else 'read'} {path}",
                "put the inputs and the state folder (batch.state_dir) on storage every worker mounts at the "
                "same path")
        for worker, paths in sorted(found.items()) for path in paths
    ])


def compute_units(  # noqa: PLR0913 - the pieces of one batch run, passed once from run_batch
    client, jobs: list[tuple[str, str]], config: ScenarioConfig, level: str, lang: str | None,
    tiles: str | None, facilities: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, roads_file: Path | None,
    unowned: list[str], plans: list[tuple[CellSnaps, list[tuple[int, int]]]], progress: bool,
    done: dict[str, UnitResult], failed: dict[str, str], save, plan_tables: bool = False) -> PlanTables | None:
    """Snap the cells of ``plans``, then run ``jobs`` (unit id, name) on Dask, ``facilities`` and ``zones``
    sent once to every worker; fill ``done`` and ``failed`` as they finish. With ``plan_tables``, the plan
    tables of the whole area are computed meanwhile on one more task (:mod:`geocover.batch.plan`) and returned;
    its error, if any, is raised once the units are done."""
    from dask.distributed import as_completed

    shared, shared_zones = client.scatter([facilities, zones], broadcast=True)
    snaps = snap_cells_once(client, plans, config, shared_zones, roads_file, progress)
    plan = client.submit(whole_area_plan_tables, config, shared, shared_zones, roads_file, snaps,
                         pure=False) if plan_tables else None
    futures = {client.submit(run_unit, config, level, unit_id, name, lang, tiles, facilities=shared,
                             unowned=unowned, zones=shared_zones, roads_file=roads_file, snaps=snaps,
                             pure=False): unit_id
               for unit_id, name in jobs}
    for future in tqdm(as_completed(futures), total=len(futures), desc="units", disable=not progress):
        unit_id = futures[future]
        try:
            result = future.result()
        except Exception as error:  # noqa: BLE001 - a unit's failure of any kind is reported, the others go on
            failed[unit_id] = "".join(traceback.format_exception_only(error)).strip()
            failed[unit_id] += "\n" + "".join(traceback.format_exception(error))
        else:
            save(unit_id, result)
            done[unit_id] = result
        future.release()
    return None if plan is None else plan.result()
