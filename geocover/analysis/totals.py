"""Why a run shows several population totals: the raster's, the study area's, the zones' and the gaps'.

The population raster may reach beyond the study area (the zones and the margin around them within which
travel is computed); people in that margin but outside every zone count for travel times and gaps, in no
zone's row; the gaps hold everyone beyond the target anywhere in the study area.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import rasterio

from geocover.pipeline import ScenarioResult


@dataclass(frozen=True)
class PopulationTotals:
    """People counted at each scope of a run.

    Attributes
    ----------
    raster : float or None
        The whole population raster (None when the population is not a raster).
    study_area : float
        The valid cells of the study area.
    zones : float
        Inside the zones of ``level`` (the first zone level).
    level : str
    gaps : float or None
        In the gap polygons: beyond the target or unreachable anywhere in the study area (None when not traced).
    gaps_in_zones : float
        Beyond the target or unreachable inside the zones of ``level`` (``pop_beyond_*`` + ``pop_unreachable``).
    """

    raster: float | None
    study_area: float
    zones: float
    level: str
    gaps: float | None
    gaps_in_zones: float


@lru_cache(maxsize=8)
def raster_total(path: Path) -> float:
    """People in the whole raster at ``path`` (nodata and negative cells left out)."""
    with rasterio.open(path) as source:
        values = source.read(1, masked=True).astype(np.float64).filled(0.0)
    return float(values[np.isfinite(values) & (values > 0)].sum())


def population_totals(result: ScenarioResult) -> PopulationTotals:
    """The population totals of ``result`` (see :class:`PopulationTotals`)."""
    config = result.config
    grid = result.access.grid
    people = np.nan_to_num(grid.population[grid.valid])
    level = str(result.table["zone_level"].iloc[0])
    first = result.table[result.table["zone_level"] == level]
    target = f"{config.target_minutes:g}".replace(".", "_")
    raster = config.population.raster
    return PopulationTotals(
        raster=raster_total(Path(raster)) if raster is not None and config.population.rescale_level is None else None,
        study_area=float(people.sum()),
        zones=float(first["population"].sum()),
        level=level,
        gaps=None if result.gaps is None else float(result.gaps["population"].sum()),
        gaps_in_zones=float(first[f"pop_beyond_{target}"].sum() + first["pop_unreachable"].sum()),
    )


def totals_lines(result: ScenarioResult, lang: str = "en", level_label: str | None = None) -> list[str]:
    """Sentences explaining the population totals of ``result``, in ``lang`` ("en" or "zh"), each ending with a
    full stop (``.`` or ``。``); the first zone level named ``level_label`` when given (the report's ``岛`` for
    ``island``)."""
    totals = population_totals(result)
    if level_label is not None:
        totals = replace(totals, level=level_label)
    target = f"{result.config.target_minutes:g}"
    zh = lang == "zh"
    outside = totals.study_area - totals.zones
    lines = []
    if totals.raster is not None and totals.raster - totals.study_area >= 0.5:
        beyond = totals.raster - totals.study_area
        lines.append(f"人口栅格共 {totals.raster:,.0f} 人，其中 {beyond:,.0f} 人在研究区之外，未参与分析。" if zh else
                     f"population raster: {totals.raster:,.0f} people, {beyond:,.0f} of them outside the study area "
                     "(not analysed).")
    lines.append(
        f"研究区（各分区及其周边的出行计算范围）共 {totals.study_area:,.0f} 人，其中 {totals.zones:,.0f} 人在"
        f"{totals.level}分区内；另有 {outside:,.0f} 人不在任何{totals.level}分区内（报告范围以外），"
        "只参与出行时间与服务缺口计算，不计入任何分区的行。"
        if zh else
        "population: study area (the zones and the margin around them where travel is computed): "
        f"{totals.study_area:,.0f} people, {totals.zones:,.0f} inside the {totals.level} zones; "
        f"the other {outside:,.0f} live outside every {totals.level} zone (beyond the reporting area): "
        "they count for travel times and gaps, in no zone's row.")
    if totals.gaps is not None:
        lines.append(
            f"服务缺口 {len(result.gaps)} 片，共 {totals.gaps:,.0f} 人（研究区内超过 {target} 分钟或无法到达），"
            f"其中 {totals.gaps_in_zones:,.0f} 人在{totals.level}分区内。"
            if zh else
            f"gaps: {len(result.gaps)} areas, {totals.gaps:,.0f} people beyond {target} min or unreachable anywhere "
            "in the study area, "
            f"{totals.gaps_in_zones:,.0f} of them inside the {totals.level} zones.")
    return lines
