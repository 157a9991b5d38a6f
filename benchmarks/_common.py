"""Shared set-up of the benchmarks: the Comoros kit, timing, tables, peak memory, failing checks."""

from __future__ import annotations

import contextlib
import re
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import networkx as nx
import numpy as np
import scipy.sparse as sp

from geocover.io.osm import read_road_segments
from geocover.network.graph import Network, build_network
from geocover.network.snapping import Snap
from geocover.travel.cells import snap_facilities

ROOT = Path(__file__).resolve().parents[1]
COMOROS = ROOT.parent / "shared" / "data" / "comoros"
TIERS = ("hospital", "clinic", "doctors")


def comoros_or_exit() -> Path:
    """The Comoros kit folder; exit cleanly with a message when it is missing."""
    if not (COMOROS / "comores-latest.osm.pbf").exists() or not (COMOROS / "health.gpkg").exists():
        print(f"skipped: {COMOROS} is missing (the ../shared kit that sits beside the checkout in CI)")
        sys.exit(0)
    return COMOROS


def comoros_drive() -> tuple[Network, Snap]:
    """The Comoros drive network (EPSG:32738) and its hospitals, clinics and doctors snapped within 1 km."""
    folder = comoros_or_exit()
    network = build_network(read_road_segments(folder / "comores-latest.osm.pbf"), "drive", "EPSG:32738")
    facilities = gpd.read_file(folder / "health.gpkg")
    facilities = facilities[facilities["amenity"].isin(TIERS)]
    return network, snap_facilities(network, facilities, 1000.0)


class Timed(NamedTuple):
    """Median wall and CPU seconds of a call, its last result, and its largest peak RSS above the RSS before it."""

    seconds: float
    cpu_seconds: float
    result: object
    extra_mib: float


def median_seconds(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, Timed]:
    """Median wall and CPU time in seconds of each named call, its last result and its peak memory.

    The calls are interleaved, one round of every call per repeat, so that load from other
    processes falls on all of them alike; the CPU time (of this process) is what the call costs
    when the machine is shared, as every call here runs on one thread. Memory is the peak resident
    set during the call above the resident set before it (see :func:`reset_peak`), the largest over
    the rounds.
    """
    times: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    extra: dict[str, float] = dict.fromkeys(runs, 0.0)
    results: dict[str, object] = {}
    for _ in range(repeats):
        for name, run in runs.items():
            results.pop(name, None)
            before = rss_mib()
            reset_peak()
            start, start_cpu = time.perf_counter(), time.process_time()
            results[name] = run()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
            extra[name] = max(extra[name], peak_mib() - before)
    return {
        name: Timed(statistics.median(times[name]), statistics.median(cpu[name]), results[name], extra[name])
        for name in runs
    }


def networkx_graph(graph: sp.csr_matrix, network: Network, multi: bool = False) -> nx.DiGraph:
    """The arcs of a CSR search graph as a NetworkX graph, weight ``time`` in minutes.

    Nodes carry ``x`` and ``y`` in metres; virtual facility nodes (beyond ``network.n_nodes``)
    get none here. ``multi=True`` gives a ``MultiDiGraph``, as OSMnx builds.
    """
    coo = graph.tocoo()
    result = nx.MultiDiGraph() if multi else nx.DiGraph()
    result.add_nodes_from(range(graph.shape[0]))
    nx.set_node_attributes(result, dict(enumerate(network.x.tolist())), "x")
    nx.set_node_attributes(result, dict(enumerate(network.y.tolist())), "y")
    result.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True), "time")
    return result


def _status_mib(field: str) -> float | None:
    """A ``VmRSS``/``VmHWM`` line of ``/proc/self/status`` in MiB, None off Linux."""
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) / 1024.0 if found else None


def rss_mib() -> float:
    """The process's resident set now, MiB."""
    return _status_mib("VmRSS") or peak_mib()


def reset_peak() -> None:
    """Reset the kernel's record of the peak resident set (Linux ``clear_refs``); a no-op elsewhere."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_mib() -> float:
    """Peak resident set since the last :func:`reset_peak` (or since the start: ``ru_maxrss``), MiB.

    Unlike ``tracemalloc`` this counts every allocation, SciPy's and GEOS's C and C++ heaps included.
    """
    return _status_mib("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def fail(message: str) -> None:
    """Print why the answers disagree and exit with status 1."""
    print(f"FAILED: {message}", flush=True)
    sys.exit(1)


def table(header: list[str], rows: list[list[object]]) -> str:
    """A plain text table, columns aligned."""
    cells = [header] + [[_cell(value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, int | np.integer):
        return f"{value:,}"
    return str(value)
