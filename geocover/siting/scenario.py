"""Siting as a scenario step: propose sites, analyse the scenario again with them, compare before and after.

The inputs are read and prepared once; the after run analyses them with the proposed sites added as facilities
(every zone analysis, no polygons), so its zone table and standards audit are computed exactly as the current
ones and the two can be read side by side.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import geopandas as gpd
import pandas as pd
from pydantic import ValidationError
from tqdm.auto import tqdm

from geocover.analysis.compare import side_by_side
from geocover.config import ScenarioConfig, SitingConfig
from geocover.errors import InputError, Problem
from geocover.io.facilities import OUTPUT_COLUMNS
from geocover.pipeline import PIPELINE_STEPS, ScenarioResult, run_scenario
from geocover.prepare import facilities_in_area
from geocover.prepared_inputs import PREPARE_STEPS, prepare_inputs
from geocover.render.i18n import Lang
from geocover.siting import SitingResult, site
from geocover.standards.scenario_audit import scenario_audit
from geocover.summaries import sentence, word

_AUDIT_KEYS = ["rule_id", "kind", "measure", "unit_level", "unit_id", "unit_name"]
_AUDIT_VALUES = ["value", "target", "status", "to_add"]


@dataclass
class SitingRun:
    """What :func:`site_scenario` returns.

    Attributes
    ----------
    current : ScenarioResult
        The scenario as it is, with ``sites`` set to the proposed sites (EPSG:4326) and ``table_with_sites``
        to the zone table with them.
    after : ScenarioResult
        The scenario with the proposed sites added as facilities of tier ``siting.tier``, on the same prepared
        inputs (no polygons: ``service_areas``, ``gaps``, ``catchments`` and ``isochrones`` are None).
    siting : SitingResult
        Proposed sites, the model and its before/after coverage on the cells.
    zones : pandas.DataFrame
        Zone tables side by side (``<column>_current``, ``<column>_after``, ``<column>_change``).
    audit : pandas.DataFrame or None
        Audit rows before and after (``value_before``, ``status_before``, … ``status_after``), when the
        config names standards.
    options : SitingConfig
        The siting options used (config merged with the overrides).
    """

    current: ScenarioResult
    after: ScenarioResult
    siting: SitingResult
    zones: pd.DataFrame
    audit: pd.DataFrame | None
    options: SitingConfig


_FLAGS = {"k": "--k", "target_share": "--target-share", "threshold_minutes": "--threshold", "method": "--method",
          "candidate_rule": "--candidates", "candidates": "--candidates-file", "model": "--model"}


def _option_problem(where: str, item: dict, overrides: dict) -> Problem:
    """One bad siting option: its key, and its command-line flag when the value came from there."""
    key = ".".join(str(part) for part in item["loc"])
    given = f" ({_FLAGS[key]})" if overrides.get(key) is not None and key in _FLAGS else ""
    message = str(item["msg"]).removeprefix("Value error, ")
    return Problem(where, f"key 'siting.{key}'{given}: {message} (got {item.get('input')!r})",
                   "fix the siting: section or the command-line option")


def siting_options(config: ScenarioConfig, **overrides) -> SitingConfig:
    """The config's ``siting:`` section (defaults when absent) with the non-None ``overrides`` applied.

    Raises
    ------
    InputError
        Naming every missing or unusable option (a model without its ``k``, a file rule without a file).
    """
    base = config.siting or SitingConfig()
    merged = base.model_dump() | {key: value for key, value in overrides.items() if value is not None}
    where = str(config.source or config.name)
    try:
        options = SitingConfig.model_validate(merged)
    except ValidationError as error:
        raise InputError([_option_problem(where, item, overrides) for item in error.errors()]) from None
    problems = []
    if options.model in ("mclp", "pmedian") and options.k is None:
        problems.append(Problem(where, f"key 'siting.k': model {options.model} needs k", "give --k N or siting.k"))
    if options.candidate_rule == "file" and options.candidates is None:
        problems.append(Problem(where, "key 'siting.candidates': candidate rule 'file' needs a point file",
                                "give --candidates-file PATH or siting.candidates"))
    if options.candidates is not None and not options.candidates.exists():
        problems.append(Problem(where, f"key 'siting.candidates': file not found: {options.candidates}",
                                "check the path (relative to the config file)"))
    if problems:
        raise InputError(problems)
    return options


def with_sites(facilities: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, tier: str) -> gpd.GeoDataFrame:
    """The facilities' input columns (computed ones dropped) plus one facility per proposed site
    (``facility_id`` ``site-<rank>``)."""
    current = facilities[[c for c in OUTPUT_COLUMNS if c in facilities] + ["geometry"]]
    added = gpd.GeoDataFrame(
        {"facility_id": [f"site-{rank}" for rank in sites["rank"]],
         "name": [f"proposed site {rank}" for rank in sites["rank"]],
         "tier": tier},
        geometry=sites.geometry.to_crs(facilities.crs).to_numpy(), crs=facilities.crs,
    )
    return gpd.GeoDataFrame(pd.concat([current, added], ignore_index=True), crs=facilities.crs)


def audit_before_after(before: pd.DataFrame | None, after: pd.DataFrame | None) -> pd.DataFrame | None:
    """Audit rows of the two runs joined on rule and unit: value, target, status and to_add of each."""
    if before is None or after is None:
        return None
    keys = [c for c in _AUDIT_KEYS if c in before and c in after]
    values = [c for c in _AUDIT_VALUES if c in before and c in after]
    merged = before[keys + values].merge(after[keys + values], on=keys, how="outer", suffixes=("_before", "_after"))
    merged["changed"] = merged["status_before"] != merged["status_after"]
    return merged


def site_scenario(config: ScenarioConfig, progress: bool = True, **overrides) -> SitingRun:
    """Run the scenario, propose sites with :func:`geocover.siting.site`, and analyse it again with them.

    The inputs are read and prepared once (:func:`~geocover.prepared_inputs.prepare_inputs`), for both runs.

    Parameters
    ----------
    config : ScenarioConfig
    progress : bool
        One progress bar over both runs.
    **overrides
        Keys of :class:`~geocover.config.SitingConfig` (None values are ignored).

    Returns
    -------
    SitingRun
    """
    options = siting_options(config, **overrides)
    with tqdm(total=PREPARE_STEPS + 2 * PIPELINE_STEPS, desc="geocover", disable=not progress, unit="step") as bar:
        inputs = prepare_inputs(config, step=lambda label: (bar.set_postfix_str(label), bar.update(1)))
        current = run_scenario(config, progress=bar, inputs=inputs)
        current.audit = scenario_audit(current)
        found = site(
            current, options.model, k=options.k, target_share=options.target_share,
            threshold_minutes=options.threshold_minutes, candidate_rule=options.candidate_rule,
            candidates=options.candidates, spacing_m=options.spacing_m, min_distance_m=options.min_distance_m,
            inside_zones=options.inside_zones, method=options.method, time_limit_s=options.time_limit_s,
            mip_gap=options.mip_gap, penalty_minutes=options.penalty_minutes, capacity=options.capacity,
            ambulance_metric=options.ambulance_metric, urban_limit=options.urban_limit,
            rural_limit=options.rural_limit,
        )
        current.sites = found.sites.to_crs("EPSG:4326")
        added, _ = facilities_in_area(with_sites(current.facilities, found.sites, options.tier), inputs.zones,
                                      inputs.study_area, str(config.facilities.path), inputs.unit is None)
        bar.set_postfix_str("sites proposed")
        after = run_scenario(config, progress=bar, inputs=replace(inputs, facilities=added), polygons=False)
    after.audit = scenario_audit(after)
    current.table_with_sites = after.table
    zones = side_by_side(current.table, after.table, "after")
    return SitingRun(current, after, found, zones, audit_before_after(current.audit, after.audit), options)


def summary_lines(run: SitingRun, lang: Lang = "en") -> list[str]:
    """A few sentences in ``lang``: model, solver status, sites, people covered before and after."""
    model = run.siting.model
    gap = "" if model.method == "greedy" else sentence("sites_gap", lang, gap=f"{model.gap:.2%}")
    lines = [sentence("sites", lang, model=word(model.name, lang), sites=len(run.siting.sites),
                      candidates=len(run.siting.candidates), method=word(model.method, lang),
                      status=word(model.status, lang), gap=gap, seconds=f"{model.seconds:.1f}"),
             sentence("sites_covered", lang, before=f"{model.population_before:,.0f}",
                      after=f"{model.population_after:,.0f}", total=f"{model.population_total:,.0f}",
                      share_before=f"{model.share_before:.1%}", share_after=f"{model.share_after:.1%}")]
    if getattr(model, "target_reached", True) is False:
        lines.append(sentence("sites_target", lang, target=f"{model.target_share:.0%}",
                              achievable=f"{model.achievable_share:.1%}",
                              beyond=f"{model.unreachable_population:,.0f}"))
    if run.audit is not None:
        fixed = run.audit[(run.audit["status_before"] == "fail") & (run.audit["status_after"] == "pass")]
        lines.append(sentence("sites_audit", lang, fixed=len(fixed)))
    return lines
