"""How the report's travel times were computed, in the reader's words: the two legs of a cell's time (the
walk to the road, band 2 of ``travel_time.tif``, and the trip on the roads), how far people walk, and the
input files with their dates.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from geocover.pipeline import ScenarioResult
from geocover.render.i18n import Lang, label, mode_name

#: A walk to the road longer than this, minutes, is counted in the report: it weighs in the cell's travel time.
LONG_WALK_MINUTES = 10.0


def walk_figures(result: ScenarioResult) -> tuple[float, float, float] | None:
    """The people's walk to their road: the median minutes (weighted by people), the people walking more than
    :data:`LONG_WALK_MINUTES` and their share of the people who reach a road, %; ``None`` when the run has no
    walk per cell (a batch run) or no one reaches a road."""
    access = result.access
    grid = access.grid
    snap = getattr(access, "cell_snap", None)
    if snap is None or len(snap) != int(grid.valid.sum()):
        return None
    walk_minutes = access.offroad_minutes[grid.valid]
    people = grid.population[grid.valid]
    reached = np.isfinite(walk_minutes) & (people > 0)
    walk_minutes, people = walk_minutes[reached], people[reached]
    if people.sum() <= 0:
        return None
    order = np.argsort(walk_minutes, kind="stable")
    cumulative = np.cumsum(people[order])
    median = float(walk_minutes[order][np.searchsorted(cumulative, cumulative[-1] / 2.0)])
    long_walk = float(people[walk_minutes > LONG_WALK_MINUTES].sum())
    return median, long_walk, 100.0 * long_walk / float(people.sum())


def method_lines(result: ScenarioResult, lang: Lang) -> list[str]:
    """The method in sentences: the two legs of a cell's travel time, then how far people walk to a road."""
    access = result.access
    lines = [label("report_method_legs", lang, kmh=f"{access.offroad_kmh:g}", limit_m=f"{access.limit_m:,.0f}",
                   mode=mode_name(result.config.mode, lang))]
    figures = walk_figures(result)
    if figures is not None:
        median, people, pct = figures
        lines.append(label("report_method_walk", lang, median=f"{median:.1f}", people=f"{people:,.0f}",
                           pct=f"{pct:.1f}", minutes=f"{LONG_WALK_MINUTES:g}"))
    return lines


def input_files(result: ScenarioResult, lang: Lang) -> str:
    """The input files, each with the date it was last changed (the data's date; the same inputs give the same
    report, so the report carries no date of its own)."""
    config = result.config
    files = [config.roads.path, config.facilities.path, config.population.path]
    files += [zone.path for zone in config.zones if zone.path is not None]
    return ("、" if lang == "zh" else ", ").join(
        Path(f).name if _file_date(Path(f)) is None
        else label("report_input_file", lang, name=Path(f).name, date=_file_date(Path(f))) for f in files)


def _file_date(path: Path) -> str | None:
    """``YYYY-MM-DD`` of the file's last change (UTC), ``None`` when it cannot be read."""
    try:
        return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).date().isoformat()
    except OSError:
        return None
