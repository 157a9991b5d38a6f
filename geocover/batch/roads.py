"""A batch's roads, read once before the units (see :mod:`geocover.batch.driver`): a road PBF parsed once
into one ``.npz`` (the roads around all the zones with ``roads.extract``), or the road line layers read and
combined once; each unit loads the ``.npz`` and keeps the roads of its study area."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import geopandas as gpd

from geocover.config import ScenarioConfig
from geocover.io.osm import SEGMENTS_LAYOUT, save_segments
from geocover.prepare import extract_box, load_roads, roads_cache_file

ROADS_FOLDER = "roads"
"""Folder of the state folder keeping the parsed roads, unless ``roads.cache_dir`` is set (and no ``extract``)."""


def _fresh_folder(folder: Path) -> None:
    """``folder`` emptied (the roads parsed from earlier inputs are never read again) and created."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


def parse_roads_once(config: ScenarioConfig, zones: gpd.GeoDataFrame,
                     state_dir: Path) -> tuple[ScenarioConfig, Path | None]:
    """The unit config reading the roads that this process parsed once, instead of roads read in every unit.

    With ``roads.pbf``, the PBF is parsed here (unless already) into one ``.npz`` (see
    :func:`geocover.prepare.roads_cache_file`): in ``roads.cache_dir``, else in ``<state>/roads``. With
    ``roads.extract``, the roads around all the zones are kept as the PBF streams by, once, in
    ``<state>/roads/extract-<hash of the box>``. A line layer (``roads.lines``) is read here into
    ``<state>/roads/lines-<hash of the file and columns>.npz``, returned second (None for a PBF). Each unit
    then loads the ``.npz`` and keeps the roads of its study area, as a whole run keeps those of the whole area.
    Roads parsed from earlier inputs are removed from ``<state>/roads`` when these are parsed. The notes on
    combining the road sources are kept beside the ``.npz`` (see :func:`roads_notes`).
    """
    roads = config.roads
    parsed = _parsed_lines(config, state_dir)
    if parsed is not None:
        if not parsed.is_file():
            _fresh_folder(parsed.parent)
            notes: list[str] = []
            save_segments(load_roads(config, zones, notes), parsed)
            if notes:
                _notes_file(parsed).write_text("\n".join(notes), encoding="utf-8")
        return config, parsed
    if roads.pbf is None:
        return config, None
    folder = state_dir / ROADS_FOLDER if roads.cache_dir is None else Path(roads.cache_dir)
    if roads.extract:
        box = json.dumps(extract_box(config, zones))
        folder = state_dir / ROADS_FOLDER / f"extract-{hashlib.sha1(box.encode()).hexdigest()[:12]}"
    unit = config.model_copy(update={"roads": roads.model_copy(update={"extract": False,
                                                                       "cache_dir": folder.resolve()})})
    cached = roads_cache_file(unit)
    if not cached.is_file():
        if roads.cache_dir is None:
            _fresh_folder(state_dir / ROADS_FOLDER)
        if roads.extract:
            cached.parent.mkdir(parents=True, exist_ok=True)
            save_segments(load_roads(config, zones), cached)
        else:
            load_roads(unit, zones)
    return unit, None


def _parsed_lines(config: ScenarioConfig, state_dir: Path) -> Path | None:
    """The ``.npz`` of the line layers (and PBF) parsed and combined once, named after the files and keys;
    None without line layers."""
    roads = config.roads
    if roads.lines is None:
        return None
    files = [Path(path) for _, kind, path in roads.declared_paths() if kind == "input"]
    key = json.dumps([[str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns] for f in files] + [
        roads.model_dump_json(include={"lines", "layer", "crs", "grade_column", "oneway_column", "join_m",
                                       "duplicate_m", "extract"})])
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    return state_dir / ROADS_FOLDER / f"lines-{digest}.v{SEGMENTS_LAYOUT}.npz"


def _notes_file(parsed: Path) -> Path:
    """The text file beside parsed line layers with the notes on combining them, one a line (when any)."""
    return parsed.with_name(parsed.name + ".notes.txt")


def roads_notes(config: ScenarioConfig, state_dir: Path) -> list[str]:
    """The notes on combining the road sources (:meth:`geocover.network.combine.RoadsCombined.notes`) kept by
    :func:`parse_roads_once`, also when every unit is reused; none when not parsed or nothing to say."""
    parsed = _parsed_lines(config, state_dir)
    if parsed is None or not _notes_file(parsed).is_file():
        return []
    return _notes_file(parsed).read_text(encoding="utf-8").splitlines()
