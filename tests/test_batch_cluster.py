"""Batch on an external Dask cluster: a scheduler and two workers started by the Dask CLI, each worker in its
own working folder and environment; the tables equal the local run's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from geocover import api
from geocover.errors import InputError
from tests.test_batch import build_counties

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("coverage_by_zone.csv", "coverage_by_facility.csv", "batch_zones.csv")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """``dask scheduler`` and two ``dask worker`` processes; yields the scheduler's address."""
    if shutil.which("dask") is None:
        pytest.skip("the dask command is not installed")
    folder = tmp_path_factory.mktemp("cluster")
    scheduler_file = folder / "scheduler.json"
    processes = [subprocess.Popen(["dask", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                   "--scheduler-file", str(scheduler_file)], cwd=folder,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for name in ("a", "b"):
            work = folder / f"worker_{name}"
            work.mkdir()
            env = {"PATH": os.environ["PATH"], "HOME": str(work), "PYTHONPATH": str(ROOT),
                   "OMP_NUM_THREADS": "1", "LANG": "C.UTF-8"}
            processes.append(subprocess.Popen(
                ["dask", "worker", "--scheduler-file", str(scheduler_file), "--nworkers", "1", "--nthreads", "1",
                 "--no-dashboard", "--local-directory", str(work), "--name", f"worker-{name}"],
                cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from dask.distributed import Client

        deadline = time.time() + 120
        while not scheduler_file.is_file() and time.time() < deadline:
            time.sleep(0.5)
        address = json.loads(scheduler_file.read_text())["address"]
        with Client(address) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            process.wait(timeout=60)


def _table(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype={"zone_id": str, "facility_id": str, "unit_id": str,
                                                          "parent_id": str})


def test_external_cluster_gives_the_local_tables(tmp_path, cluster):
    province = build_counties(tmp_path)
    local, remote = tmp_path / "local", tmp_path / "remote"
    _, _, failed = api.batch(province, out=local, workers=2, progress=False, offline=True, processes=False,
                             report=False)
    assert not failed
    _, summary, failed = api.batch(province, out=remote, scheduler=cluster, progress=False, offline=True,
                                   report=False)
    assert not failed, failed
    assert "6 computed" in summary
    for name in TABLES:
        pd.testing.assert_frame_equal(_table(remote / name), _table(local / name))


def test_workers_that_cannot_read_an_input_are_named(cluster, tmp_path):
    from dask.distributed import Client

    from geocover.batch.tasks import check_worker_access

    missing = tmp_path / "on_my_laptop_only.tif"
    state = tmp_path / "state"
    state.mkdir()
    with Client(cluster) as client:
        workers = list(client.scheduler_info()["workers"])
        with pytest.raises(InputError) as raised:
            check_worker_access(client, [ROOT / "README.md", missing], state, "scenario.yaml")
    text = str(raised.value)
    assert len(workers) == 2 and all(f"worker {w} cannot read {missing}" in text for w in workers)
    assert "README.md" not in text and "cannot write" not in text
