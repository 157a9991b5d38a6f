"""What the workspace derives from a scenario: key figures, the travel-time image, comparison, siting
suggestions and the export (facility layer in the input's columns, a config that reproduces it, a full run)."""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import yaml
from PIL import Image

from geocover.analysis.compare import side_by_side
from geocover.io.facilities import OUTPUT_COLUMNS, SOURCE_ROW
from geocover.serve.state import Workspace
from geocover.siting import site
from geocover.siting.scenario import siting_options
from geocover.standards.scenario_audit import scenario_audit, scenario_rules

#: RGBA of the travel-time bands, fastest first, then beyond the last band and unreachable.
BAND_COLOURS = [(26, 150, 65, 150), (166, 217, 106, 150), (253, 174, 97, 150), (215, 25, 28, 150)]
UNREACHABLE = (90, 90, 90, 150)


def key_figures(workspace: Workspace, table: pd.DataFrame) -> list[dict]:
    """Per zone level: people, people within the target (number and %), beyond it, unreachable."""
    target = f"{workspace.config.target_minutes:g}".replace(".", "_")
    rows = []
    for level, part in table.groupby("zone_level", sort=False):
        people = float(part["population"].sum())
        beyond, unreachable = float(part[f"pop_beyond_{target}"].sum()), float(part["pop_unreachable"].sum())
        within = people - beyond - unreachable
        rows.append({"zone_level": level, "population": people, "pop_within_target": within,
                     "pct_within_target": 100.0 * within / people if people else float("nan"),
                     "pop_beyond_target": beyond, "pop_unreachable": unreachable})
    return rows


def spatial_audit(workspace: Workspace, name: str, table: pd.DataFrame) -> pd.DataFrame | None:
    """The standards audit of scenario ``name`` (None without a ``standards:`` section)."""
    if workspace.config.standards is None:
        return None
    if workspace.rules is None:
        workspace.rules = scenario_rules(workspace.result)
    return scenario_audit(workspace.as_result(name, table), workspace.rules)


def surface_png(workspace: Workspace, name: str) -> bytes:
    """The travel-time surface of scenario ``name`` as a PNG, one pixel per cell, coloured by band."""
    access = workspace.get(name).access
    minutes = access.minutes
    bands = list(workspace.config.bands_minutes)
    rgba = np.zeros((*minutes.shape, 4), dtype=np.uint8)
    with np.errstate(invalid="ignore"):
        level = np.searchsorted(np.asarray(bands, dtype=float), minutes, side="left")
        colours = np.array(BAND_COLOURS[:len(bands)] + [BAND_COLOURS[-1]], dtype=np.uint8)
        reached = np.isfinite(minutes)
        rgba[reached] = colours[np.minimum(level[reached], len(bands))]
        rgba[np.isinf(minutes)] = UNREACHABLE
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def surface_bounds(workspace: Workspace) -> list[list[float]]:
    """``[[south, west], [north, east]]`` of the population grid in degrees (Leaflet's image bounds)."""
    grid = workspace.result.access.grid
    rows, cols = grid.shape
    corners_x, corners_y = grid.transform * (np.array([0, cols, 0, cols]), np.array([0, 0, rows, rows]))
    lon, lat = pyproj.Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True).transform(corners_x, corners_y)
    return [[float(np.min(lat)), float(np.min(lon))], [float(np.max(lat)), float(np.max(lon))]]


def compare_scenarios(workspace: Workspace, before: str, after: str) -> pd.DataFrame:
    """The zone tables of two scenarios side by side, as ``geocover compare`` writes them."""
    return side_by_side(workspace.zone_rows(before), workspace.zone_rows(after), after)


def suggest_sites(workspace: Workspace, name: str, k: int) -> gpd.GeoDataFrame:
    """The configured siting model's next ``k`` sites on scenario ``name`` as edited (EPSG:4326)."""
    options = siting_options(workspace.config, k=k)
    found = site(workspace.as_result(name), options.model, k=options.k, target_share=options.target_share,
                 threshold_minutes=options.threshold_minutes, candidate_rule=options.candidate_rule,
                 candidates=options.candidates, spacing_m=options.spacing_m, min_distance_m=options.min_distance_m,
                 inside_zones=options.inside_zones, method=options.method, time_limit_s=options.time_limit_s,
                 mip_gap=options.mip_gap, penalty_minutes=options.penalty_minutes, capacity=options.capacity,
                 ambulance_metric=options.ambulance_metric, urban_limit=options.urban_limit,
                 rural_limit=options.rural_limit)
    sites = found.sites.to_crs("EPSG:4326")
    sites.attrs["tier"] = options.tier
    return sites


def facility_layer(workspace: Workspace, name: str) -> gpd.GeoDataFrame:
    """Scenario ``name``'s facilities in the input layer's own columns (name, id and tier in the configured ones)."""
    facilities = workspace.get(name).facilities
    read = workspace.config.facilities
    source = [c for c in workspace.input_columns if c not in OUTPUT_COLUMNS]
    out = facilities[source].rename(columns={f"{c}_source": c for c in OUTPUT_COLUMNS})
    out = out.drop(columns=[c for c in out.columns if c == SOURCE_ROW])
    out[read.name_column or "name"] = facilities["name"].to_numpy()
    out[read.tier_column or "tier"] = facilities["tier"].to_numpy()
    out[read.id_column or "facility_id"] = facilities["facility_id"].astype(str).to_numpy()
    return gpd.GeoDataFrame(out, geometry=facilities.geometry.to_numpy(), crs="EPSG:4326")


def export(workspace: Workspace, name: str, out_dir: Path, run: bool = True) -> dict[str, Path]:
    """Write scenario ``name``'s facility layer (GeoPackage and XLSX), a config reproducing it and (``run``) the
    outputs of ``geocover run`` on that config, into ``out_dir``."""
    from geocover import api

    out_dir.mkdir(parents=True, exist_ok=True)
    layer = facility_layer(workspace, name)
    paths = {"facilities.gpkg": out_dir / "facilities.gpkg", "facilities.xlsx": out_dir / "facilities.xlsx",
             "config.yaml": out_dir / "config.yaml"}
    layer.to_file(paths["facilities.gpkg"], layer="facilities", driver="GPKG", engine="pyogrio")
    sheet = pd.DataFrame(layer.drop(columns="geometry"))
    sheet["lon"], sheet["lat"] = layer.geometry.x.to_numpy(), layer.geometry.y.to_numpy()
    sheet.to_excel(paths["facilities.xlsx"], index=False)
    config = workspace.config.model_dump(mode="json", exclude_none=True, exclude={"source"})
    config["name"] = f"{workspace.config.name}-{name}".replace(" ", "_")
    config["output_dir"] = str((out_dir / "outputs").resolve())
    read = workspace.config.facilities
    config["facilities"] = {"path": str(paths["facilities.gpkg"].resolve()), "layer": "facilities",
                            "name_column": read.name_column or "name", "tier_column": read.tier_column or "tier",
                            "id_column": read.id_column or "facility_id", "lenient": read.lenient}
    tiers = set(workspace.tiers) | set(layer[read.tier_column or "tier"].dropna().astype(str))
    config["facilities"]["tier_map"] = {tier: tier for tier in sorted(tiers)}  # the tiers as the planner set them
    paths["config.yaml"].write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    if run:
        outputs, _ = api.run(paths["config.yaml"], progress=False, offline=True)
        paths.update({f"outputs/{k}": v for k, v in outputs.items()})
    return paths
