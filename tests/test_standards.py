"""Plan presets: they load, match the extractions word for word, and reject bad files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from geocover.errors import InputError
from geocover.standards import list_presets, load_plan, load_preset, presets_dir, resolve_rules

ROOT = Path(__file__).resolve().parents[1]
PRESETS = [
    "leshan_shizhong_14th_fyp",
    "linfen_14th_fyp_public_health",
    "shanxi_13th_fyp",
    "shanxi_2023_2025",
    "taiyuan_14th_fyp",
]
# An id'd row of an extraction: a table row "| T1 |", "| **T1** |", "| P5 (baseline) |", or a heading "**S1: …".
ROW_ID = re.compile(r"^\|\s*\**([A-Z]{1,2}\d+[a-z]?)\**(?:\s*\([^)]*\))?\s*\||^\*\*([A-Z]{1,2}\d+[a-z]?):", re.M)
CHINESE_QUOTE = re.compile(r"「[^」]*[\u4e00-\u9fff][^」]*」|“[^”]*[\u4e00-\u9fff][^”]*”|^>.*[\u4e00-\u9fff]", re.M)


def extraction_ids(text: str) -> set[str]:
    return {a or b for a, b in ROW_ID.findall(text)}


def row_text(text: str, row_id: str) -> str:
    """The table row or heading block of ``row_id``."""
    match = re.search(rf"^\|\s*\**{re.escape(row_id)}\**(?:\s*\([^)]*\))?\s*\|.*$", text, re.M)
    if match:
        return match.group(0)
    block = re.search(rf"^\*\*{re.escape(row_id)}:.*?(?=^\*\*[A-Z]{{1,2}}\d+[a-z]?:|^#)", text, re.M | re.S)
    return block.group(0) if block else ""


def normalise(text: str) -> str:
    text = re.sub(r"[\s“”\"'「」]", "", text)
    for wide, narrow in ("，,", "（(", "）)", "；;", "：:", "—-"):
        text = text.replace(wide, narrow)
    return text


@pytest.fixture(scope="module", params=PRESETS)
def plan(request: pytest.FixtureRequest):
    return load_preset(request.param)


def test_presets_are_listed_from_the_source_tree() -> None:
    assert presets_dir() == ROOT / "configs" / "standards"
    assert list_presets() == PRESETS


def test_every_preset_loads(plan) -> None:
    assert plan.plan.id in PRESETS
    assert plan.rules and plan.not_evaluable
    assert all(rule.source.plan == plan.plan.id for rule in plan.rules)
    assert all(rule.quote_zh and rule.text_en for rule in plan.rules)


def test_ids_are_those_of_the_extraction(plan, standards_dir: Path) -> None:
    # Quotes are checked against the plan text itself in tests/test_plan_text.py.
    text = (standards_dir / plan.plan.extraction_file).read_text(encoding="utf-8")
    entries = [*plan.rules, *plan.not_evaluable]
    for entry in entries:
        assert entry.id in text, f"{plan.plan.id}: id {entry.id} is not in the extraction"
        assert all(c in extraction_ids(text) for c in entry.covers), entry.covers


def test_every_extraction_row_is_a_rule_or_not_evaluable(plan, standards_dir: Path) -> None:
    text = (standards_dir / plan.plan.extraction_file).read_text(encoding="utf-8")
    ids = extraction_ids(text)
    assert len(ids) >= 17
    assert ids - plan.extraction_ids() == set()
    for entry in plan.not_evaluable:
        if entry.quote_zh is None:
            # Only rows with no Chinese original may go without a quote.
            assert not CHINESE_QUOTE.search(row_text(text, entry.id)), entry.id


def test_source_lines_point_at_the_quote(plan, shared_dir: Path) -> None:
    seed = (shared_dir / "seeds" / plan.plan.seed_file).read_text(encoding="utf-8").splitlines()
    for rule in plan.rules:
        line = int(rule.source.line)
        # Extractions mark omissions with …; a table row's quote may be its table title above.
        parts = [normalise(p) for p in re.split(r"…+", rule.quote_zh) if len(normalise(p)) >= 4]
        window = normalise("".join(seed[max(0, line - 16):line + 1]))
        assert any(part[:12] in window for part in parts), f"{plan.plan.id} {rule.uid}: line {line}"


def test_shanxi_2023_tables_are_encoded_row_by_row(standards_dir: Path) -> None:
    plan = load_preset("shanxi_2023_2025")
    text = (standards_dir / plan.plan.extraction_file).read_text(encoding="utf-8")
    table1 = text[text.index("### 3.1 Table 1"):text.index("Table note")]
    indicators = [cells[2].strip() for line in table1.splitlines() if line.startswith("| ")
                  for cells in [line.split("|")] if re.search(r"[\u4e00-\u9fff]", cells[2])]
    assert len(indicators) == 26
    quoted = {e.quote_zh for e in [*plan.rules, *plan.not_evaluable] if e.id == "Table 1"}
    # Each row is quoted from its label on, with its numbers.
    assert [i for i in indicators if not any(q.startswith(i) for q in quoted)] == []
    # Table 3, 2025 guideline beds per 1,000, copied by hand from the extraction.
    expected = {"太原市": 11.00, "大同市": 7.50, "朔州市": 7.50, "忻州市": 6.50, "吕梁市": 5.00, "晋中市": 6.78,
                "阳泉市": 7.00, "长治市": 7.50, "晋城市": 7.00, "临汾市": 6.50, "运城市": 7.30}
    table3 = {r.scope.units[0]: r.params.target for r in plan.rules if r.id == "Table 3"}
    assert table3 == expected
    assert plan.rule("Table 1.beds").params.target == 7.5 and plan.rule("Table 1.beds").approximately


def test_plans_without_a_standard_say_so() -> None:
    taiyuan = load_preset("taiyuan_14th_fyp")
    assert taiyuan.rule_for("travel_time") is None
    assert taiyuan.rule_for("radius") is None
    assert taiyuan.rule_for("ratio_per_population", numerator="ambulances") is None
    shanxi = load_preset("shanxi_2023_2025")
    assert shanxi.rule_for("radius", area="urban").params.km == 5
    assert shanxi.rule_for("radius", area="rural").params.km_max == 20
    assert shanxi.rule_for("ratio_per_population", numerator="ambulances").params.per == 30000
    leshan = load_preset("leshan_shizhong_14th_fyp")
    assert leshan.rule("S2").params.target_pct == 100 and leshan.rule("S2").params.minutes == 15
    assert leshan.rule_for("radius") is None


def test_conflicting_targets_are_kept_and_flagged() -> None:
    taiyuan = load_preset("taiyuan_14th_fyp")
    assert taiyuan.conflicts() == [("T8.gps_indicator_table", "T8.gps_section_3")]
    assert taiyuan.rule("T8.gps_indicator_table").params.target == 3.4
    assert taiyuan.rule("T8.gps_section_3").params.target == 2.2


def _plan_file(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load((presets_dir() / "taiyuan_14th_fyp.yaml").read_text(encoding="utf-8"))
    edit(data, {(r["id"], r.get("part")): r for r in data["rules"]})
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_unknown_key_names_the_key_and_the_file(tmp_path: Path) -> None:
    path = _plan_file(tmp_path, lambda d, rules: rules["S8", None]["params"].update(colour="red"))
    with pytest.raises(InputError) as caught:
        load_plan(path)
    message = str(caught.value)
    index = [r.uid for r in load_preset("taiyuan_14th_fyp").rules].index("S8")
    assert str(path) in message
    assert f"rules.{index}.share_with_attribute.params.colour" in message and "(rule S8)" in message
    assert "unknown key" in message


def test_every_bad_key_is_reported_at_once(tmp_path: Path) -> None:
    def edit(data: dict, rules: dict) -> None:
        data["plan"]["titel"] = "typo"
        rules["S1", "township"]["direction"] = "range"
        data["not_evaluable"][0]["why"] = "typo"

    with pytest.raises(InputError) as caught:
        load_plan(_plan_file(tmp_path, edit))
    problems = [str(p) for p in caught.value.problems]
    assert any("plan.titel" in p for p in problems)
    assert any("(rule S1)" in p and "range" in p for p in problems)
    assert any("not_evaluable.0.why" in p for p in problems)


def test_one_sided_conflict_and_missing_quote_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="must be listed on both rules"):
        load_plan(_plan_file(tmp_path, lambda d, rules: rules["T14", None].update(conflicts_with=["T7"])))
    with pytest.raises(InputError, match="quote_zh is required"):
        load_plan(_plan_file(tmp_path, lambda d, rules: rules["T7", None].pop("quote_zh")))


def test_unknown_preset_lists_the_presets() -> None:
    with pytest.raises(InputError, match="shanxi_2023_2025"):
        load_preset("shanxi")


def test_scenario_overrides_and_adds_rules() -> None:
    taiyuan = load_preset("taiyuan_14th_fyp")
    added = {
        "id": "local-15min", "kind": "travel_time", "text_en": "Scenario: 15-minute circle set by the district.",
        "source": {"plan": "district memo 2024"}, "params": {"minutes": 15, "target_pct": 95},
    }
    rules = resolve_rules(taiyuan, add=[added], override={"T7": {"scope": {"unit_levels": ["county"]}}})
    by_uid = {r.uid: r for r in rules}
    assert by_uid["T7"].scope.unit_levels == ["county"]
    assert by_uid["T7"].params.target == 7.23 and by_uid["T7"].origin == "override"
    assert by_uid["local-15min"].origin == "scenario"
    assert len(rules) == len(taiyuan.rules) + 1


def test_scenario_errors_are_all_reported() -> None:
    taiyuan = load_preset("taiyuan_14th_fyp")
    bad_add = {"id": "T7", "kind": "travel_time", "text_en": "clash", "params": {"minutes": 15}}
    with pytest.raises(InputError) as caught:
        resolve_rules(taiyuan, add=[bad_add, {"id": "x", "kind": "radius", "text_en": "no area",
                                              "params": {"km": 5}}],
                      override={"T99": {"note": "x"}, "T14": {"params": {"per": 7}}}, where="taiyuan.yaml")
    messages = " | ".join(str(p) for p in caught.value.problems)
    assert "standards.override.T99" in messages
    assert "standards.override.T14.ratio_per_population.params.per" in messages
    assert "rule T7 already exists" in messages
    assert "standards.add.1" in messages and "scope.area" in messages
    assert messages.count("taiyuan.yaml") == 4


def test_ambulances_needed_follow_the_audited_plan() -> None:
    from geocover.standards.plans import people_per_ambulance

    # Shanxi 1 per 30,000; Linfen 0.30 per 10,000 = 1 per 33,333; Taiyuan and Leshan set no fleet ratio.
    assert people_per_ambulance("shanxi_2023_2025") == 30_000
    assert people_per_ambulance("linfen_14th_fyp_public_health") == pytest.approx(10_000 / 0.30)
    assert people_per_ambulance("taiyuan_14th_fyp") is None and people_per_ambulance("leshan_shizhong_14th_fyp") is None
