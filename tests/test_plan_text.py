"""The plan files against the plan texts themselves (../shared/seeds), not against the extractions."""

from __future__ import annotations

import re

import pytest

from geocover.standards import list_presets, load_preset
from tests.conftest import need_shared


def squashed(text: str) -> str:
    """The text with whitespace removed (line breaks and the spaces around numbers in the seeds)."""
    return re.sub(r"\s+", "", text)


def seed_lines(name: str) -> list[str]:
    return need_shared(f"seeds/{load_preset(name).plan.seed_file}").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("name", list_presets())
def test_every_quote_is_the_plans_own_words(name: str) -> None:
    plan = load_preset(name)
    seed = squashed("\n".join(seed_lines(name)))
    entries = [*plan.rules, *plan.not_evaluable]
    wrong = [f"{e.id}{'.' + e.part if e.part else ''}: {e.quote_zh}" for e in entries
             if e.quote_zh and squashed(e.quote_zh) not in seed]
    assert wrong == []


@pytest.mark.parametrize("name", list_presets())
def test_table_rules_quote_the_row_with_its_number(name: str) -> None:
    plan = load_preset(name)
    lines = seed_lines(name)
    rows = [r for r in plan.rules
            if r.source.line and r.source.line.isdigit() and "\t" in lines[int(r.source.line) - 1]]
    for rule in rows:
        row = squashed(lines[int(rule.source.line) - 1])
        quote = squashed(rule.quote_zh)
        # The quote starts inside the row it cites and carries the row's numbers (the target at least).
        assert quote[:6] in row, f"{rule.uid} quotes another line than {rule.source.line}"
        numbers = re.findall(r"\d+(?:\.\d+)?", rule.quote_zh)
        target = getattr(rule.params, "target", None) or getattr(rule.params, "target_pct", None)
        if target is not None and rule.params.__class__.__name__ == "RatioParams":
            assert any(float(n) == pytest.approx(target) for n in numbers), f"{rule.uid}: {rule.quote_zh}"
        assert numbers, f"{rule.uid}: {rule.quote_zh}"
