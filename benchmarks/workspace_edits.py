"""Planning workspace edits on the Comoros kit: seconds from a planner's click to the updated page data.

Loads ``configs/comoros.yaml`` once into a :class:`geocover.serve.state.Workspace` (the load is timed
too), then applies random edits through the app (FastAPI TestClient, so the JSON encoding is counted):
add a clinic at a random valid cell, close, move or retier a random facility. Each answer holds the
updated zone table, key figures and standards audit; the travel-time image is fetched after each edit
as the page does. The incremental travel times are checked against a full ``cell_accessibility``
after every edit (outside the timing); the script exits with status 1 when they differ, or when the
slowest edit takes a second or more.

Run from the repository root: ``python benchmarks/workspace_edits.py [--edits 40] [--seed 1]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import geopandas as gpd
import numpy as np
import shapely
from _common import ROOT, comoros_or_exit, fail, table
from fastapi.testclient import TestClient

from geocover.serve.app import create_app
from geocover.serve.state import Workspace
from geocover.travel.cells import cell_accessibility

BASE = "http://127.0.0.1:8765"


def random_edit(workspace: Workspace, rng: np.random.Generator) -> dict:
    """An add at a random valid cell centre, or a close, move or retier of a random facility."""
    facilities = workspace.get("baseline").facilities
    grid = workspace.result.access.grid
    rows, cols = np.nonzero(grid.valid)
    pick = rng.integers(len(rows))
    x, y = grid.transform * (cols[pick] + 0.5, rows[pick] + 0.5)
    point = gpd.GeoSeries([shapely.Point(x, y)], crs=grid.crs).to_crs(4326).iloc[0]
    kind = rng.choice(["add", "remove", "move", "retier"])
    facility = str(facilities["facility_id"].iloc[rng.integers(len(facilities))])
    if kind == "add" or len(facilities) < 5:
        return {"op": "add", "lon": point.x, "lat": point.y, "tier": "clinic"}
    if kind == "remove":
        return {"op": "remove", "facility_id": facility}
    if kind == "move":
        return {"op": "move", "facility_id": facility, "lon": point.x, "lat": point.y}
    return {"op": "retier", "facility_id": facility, "tier": str(rng.choice(workspace.tiers))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    comoros_or_exit()
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as state:
        start = time.perf_counter()
        workspace = Workspace(ROOT / "configs" / "comoros.yaml", state)
        load_s = time.perf_counter() - start
        client = TestClient(create_app(workspace), base_url=BASE)
        config, network = workspace.config, workspace.result.network
        seconds: dict[str, list[float]] = {}
        worst = 0.0
        for _ in range(args.edits):
            edit = random_edit(workspace, rng)
            start = time.perf_counter()
            answer = client.post("/api/scenarios/baseline/edits", json=edit, headers={"Origin": BASE})
            image = client.get("/api/scenarios/baseline/surface.png")
            elapsed = time.perf_counter() - start
            if answer.status_code != 200 or image.status_code != 200:
                fail(f"edit {edit} answered {answer.status_code}: {answer.text[:200]}")
            seconds.setdefault(edit["op"], []).append(elapsed)
            scenario = workspace.get("baseline")
            full = cell_accessibility(network, scenario.facilities, scenario.access.grid, config.snap_max_m,
                                      config.offroad_kmh, cell_snap=scenario.access.cell_snap)
            reached = np.isfinite(full.minutes)
            same_reach = np.array_equal(reached, np.isfinite(scenario.access.minutes))
            gap = float(np.abs(full.minutes[reached] - scenario.access.minutes[reached]).max(initial=0.0))
            worst = max(worst, gap)
            if gap > 1e-9 or not same_reach:
                fail(f"edit {edit}: minutes differ from a full recomputation by {gap}")
    rows = [[op, len(t), f"{statistics.median(t):.3f}", f"{max(t):.3f}"] for op, t in sorted(seconds.items())]
    print(f"Comoros workspace: {network.n_nodes:,} nodes, {int(workspace.result.access.grid.valid.sum()):,} cells, "
          f"loaded in {load_s:.1f} s; largest difference from a full recomputation {worst:.1e} min")
    print(table(["edit", "count", "median s", "max s"], rows))
    slowest = max(max(t) for t in seconds.values())
    if slowest >= 1.0:
        fail(f"the slowest edit took {slowest:.2f} s (one second at most)")


if __name__ == "__main__":
    main()
