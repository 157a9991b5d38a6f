"""Plan files are parsed once while unchanged on disk: the same Plan again, a changed file read again."""

from __future__ import annotations

import os

import pytest

import geocover.standards.plans as plans
from geocover.errors import InputError
from geocover.standards import load_plan, load_preset
from geocover.standards.scenario_audit import scenario_plan

PRESET = "leshan_shizhong_14th_fyp"


@pytest.fixture
def reads(monkeypatch):
    """Counts the YAML reads of plan files."""
    count = {"n": 0}
    original = plans.read_yaml

    def counted(*args, **kwargs):
        count["n"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(plans, "read_yaml", counted)
    plans._parsed_plan.cache_clear()
    return count


def test_a_preset_is_read_once(reads):
    first = load_preset(PRESET)
    assert load_preset(PRESET) is first
    assert load_plan(plans.presets_dir() / f"{PRESET}.yaml") is first
    assert reads["n"] == 1


def test_a_changed_file_is_read_again(tmp_path, reads):
    path = tmp_path / "plan.yaml"
    text = (plans.presets_dir() / f"{PRESET}.yaml").read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    first = load_plan(path)
    assert load_plan(path) is first and reads["n"] == 1
    renamed = text.replace(f"id: {first.plan.id}", "id: edited", 1)
    assert renamed != text
    path.write_text(renamed, encoding="utf-8")
    second = load_plan(path)
    assert reads["n"] == 2 and second.plan.id == "edited" and first.plan.id != "edited"
    stat = path.stat()  # same size, newer modification time: read again
    path.write_text(renamed.replace("id: edited", "id: edite2", 1), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert load_plan(path).plan.id == "edite2" and reads["n"] == 3


def test_errors_are_not_cached(tmp_path, reads):
    path = tmp_path / "plan.yaml"
    path.write_text("- not a mapping\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(InputError, match="plan.yaml"):
            load_plan(path)
    assert reads["n"] == 2
    with pytest.raises(InputError):
        load_plan(tmp_path / "missing.yaml")


def test_the_scenario_plan_of_every_edit_is_the_cached_one(reads):
    from geocover.config.sections import StandardsConfig

    standards = StandardsConfig(plan=PRESET)
    assert scenario_plan(standards) is scenario_plan(standards)
    assert reads["n"] == 1
