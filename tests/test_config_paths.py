"""Config input paths declared once: resolution, the missing-file check and the batch fingerprint."""

import os
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from geocover import config as config_module
from geocover.batch.driver import fingerprint
from geocover.cli import main
from geocover.config import ScenarioConfig, load_config

DATA = Path(__file__).resolve().parents[1] / "data"


def _scenario(tmp_path: Path, **extra) -> Path:
    """A config in ``tmp_path`` reading the demo's files by paths relative to it, plus ``extra`` keys."""
    (tmp_path / "inputs").mkdir(exist_ok=True)
    for name, source in {"care.geojson": DATA / "facilities/helsinki_care.geojson",
                         "people.tif": DATA / "population/helsinki_population.tif",
                         "grid.geojson": DATA / "boundaries/helsinki_grid_500m.geojson"}.items():
        (tmp_path / "inputs" / name).write_bytes(source.read_bytes())
    data = {
        "name": "paths", "mode": "walk", "bands_minutes": [5, 15], "target_minutes": 15,
        "roads": {"pbf": str(DATA / "roads/helsinki.osm.pbf")},
        "facilities": {"path": "inputs/care.geojson", "id_column": "osm_id", "name_column": "name"},
        "population": {"raster": "inputs/people.tif"},
        "zones": [{"level": "grid_500m", "path": "inputs/grid.geojson", "id_column": "zone_id",
                   "name_column": "zone_name"}],
        **extra,
    }
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _path_fields(model: type[BaseModel]):
    """Every field of ``model`` and its sections whose type holds a Path: ``(model, name, field)``."""
    for name, field in model.model_fields.items():
        args = {field.annotation, *typing.get_args(field.annotation)}
        args |= {inner for arg in list(args) for inner in typing.get_args(arg)}
        for arg in args:
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                yield from _path_fields(arg)
        if Path in args or any(typing.get_origin(arg) is typing.Annotated and typing.get_args(arg)[0] is Path
                               for arg in args):
            yield model, name, field


def test_every_path_field_is_declared_input_or_output():
    undeclared = [f"{model.__name__}.{name}" for model, name, field in _path_fields(ScenarioConfig)
                  if config_module.path_kind(field.annotation, field.metadata) is None]
    assert undeclared == ["ScenarioConfig.source"]


def test_relative_paths_resolved_against_the_config(tmp_path):
    path = _scenario(tmp_path, offroad={"dem": "inputs/people.tif", "landcover_factor": "inputs/people.tif"},
                     standards={"path": "plans/mine.yaml"}, plan={"add": {"path": "new.csv"}},
                     batch={"unit_level": "grid_500m", "state_dir": "state"}, output_dir="out")
    config = load_config(path)
    declared = {key: value for key, _, value in config.declared_paths()}
    assert declared["offroad.landcover_factor"] == tmp_path / "inputs/people.tif"
    assert declared["standards.path"] == tmp_path / "plans/mine.yaml"
    assert declared["plan.add.path"] == tmp_path / "new.csv"
    assert declared["zones[0].path"] == tmp_path / "inputs/grid.geojson"
    assert config.batch.state_dir == tmp_path / "state" and config.output_dir == tmp_path / "out"
    assert config.roads.pbf == DATA / "roads/helsinki.osm.pbf" and config.roads.pbf.is_file()
    assert all(p.is_absolute() for _, _, p in config.declared_paths())
    kinds = {key: kind for key, kind, _ in config.declared_paths()}
    assert kinds["batch.state_dir"] == kinds["output_dir"] == "output" and kinds["offroad.dem"] == "input"


def test_missing_inputs_exit_2_up_front_all_at_once(tmp_path, capsys):
    """A missing land-cover raster, plan file and added-facilities file: exit 2 naming each key, before any work."""
    path = _scenario(tmp_path, offroad={"dem": "inputs/people.tif", "landcover_factor": "inputs/nowhere.tif"},
                     standards={"path": "plans/mine.yaml"}, plan={"name": "new", "add": {"path": "new.csv"}})
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet", "--offline"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for key, name in [("offroad.landcover_factor", "nowhere.tif"), ("standards.path", "mine.yaml"),
                      ("plan.add.path", "new.csv")]:
        assert f"{key}: file not found: {tmp_path / name if '/' not in name else name}" in err or (
            f"{key}: file not found" in err and name in err)
    assert "offroad.dem" not in err and not out.exists()


def test_batch_checks_inputs_up_front(tmp_path, capsys):
    path = _scenario(tmp_path, offroad={"dem": "inputs/gone.tif"}, batch={"unit_level": "grid_500m"})
    assert main(["batch", str(path), "--out", str(tmp_path / "out"), "--quiet", "--offline"]) == 2
    assert "offroad.dem: file not found" in capsys.readouterr().err


@pytest.mark.parametrize("key", ["dem", "landcover_factor"])
def test_fingerprint_follows_rasters_edited_in_place(tmp_path, key):
    """Batch resume must not reuse units after the DEM or land-cover raster changes under the same name."""
    raster = tmp_path / "inputs" / "raster.tif"
    path = _scenario(tmp_path, offroad={"dem": "inputs/people.tif", key: "inputs/raster.tif"})
    raster.write_bytes(b"one")
    before = fingerprint(load_config(path), "en", None)
    assert fingerprint(load_config(path), "en", None) == before
    raster.write_bytes(b"two")
    stat = raster.stat()
    os.utime(raster, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert fingerprint(load_config(path), "en", None) != before
