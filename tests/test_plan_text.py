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


#: A number the plans set against population, as a share or as a ratio, in a line with whitespace removed.
STANDARD_NUMBER = re.compile(
    r"每(?:千|万|十万|10万|百万|100万)[^，。；,;]{0,30}?\d+(?:\.\d+)?"
    r"|\d+(?:\.\d+)?[%‰]"
    r"|\d+(?:\.\d+)?(?:人|张|名|个)?/\d*(?:千|万|10万|100万)人"
    r"|1:\d+(?:\.\d+)?"
)

#: A table cell holding a value: 7.50, ≥80, ＜7.23, 1:1.18, 100%, ——.
VALUE = re.compile(r"[≥≤＞＜><]?(?:\d+(?:\.\d+)?%?|1:\d+(?:\.\d+)?)|——")


def standard_numbers(lines: list[str]) -> list[tuple[int, str]]:
    """(line, words) of every ratio or share in the text, and the label of every numbered table row."""
    found = []
    for number, line in enumerate(lines, start=1):
        cells = [squashed(c) for c in line.strip().split("\t")]
        values = [i for i, c in enumerate(cells) if VALUE.fullmatch(c)]
        if len(cells) > 1 and values:
            found += [(number, cells[values[0] - 1])] if values[0] > 0 else []
        else:
            found += [(number, m.group(0)) for m in STANDARD_NUMBER.finditer(squashed(line))]
    return found


def unaccounted(name: str) -> list[str]:
    """Ratio sentences and table rows of the plan that no rule, not_evaluable or not_standards entry quotes."""
    plan = load_preset(name)
    lines = seed_lines(name)
    quotes = [squashed(e.quote_zh) for e in [*plan.rules, *plan.not_evaluable] if e.quote_zh]
    by_line: dict[int, list[str]] = {}
    for entry in plan.not_standards:
        by_line.setdefault(entry.line, []).append(squashed(entry.quote_zh))
    rows = {int(r.source.line) for r in plan.rules if r.source.line and r.source.line.isdigit()}
    return [f"line {number}: {words}" for number, words in standard_numbers(lines)
            if not any(words in q for q in quotes + by_line.get(number, []))
            and not (number in rows and "\t" in lines[number - 1])]


@pytest.mark.parametrize("name", list_presets())
def test_every_ratio_sentence_and_table_row_is_accounted_for(name: str) -> None:
    assert unaccounted(name) == []


@pytest.mark.parametrize("name", list_presets())
def test_numbers_that_set_no_standard_are_quoted_from_their_line(name: str) -> None:
    plan = load_preset(name)
    lines = seed_lines(name)
    for entry in plan.not_standards:
        assert squashed(entry.quote_zh) in squashed(lines[entry.line - 1]), f"line {entry.line}: {entry.quote_zh}"


def test_the_enumeration_finds_sentences_and_rows() -> None:
    found = standard_numbers(seed_lines("shanxi_2023_2025"))
    # A ratio sentence with spaces around its numbers, a Table 3 row and a Table 1 row.
    assert (296, "每10万人口精神科执业(助理)医师不低于3.5") in found
    assert (204, "太原市") in found and (104, "每千常住人口药师(士)数(人)") in found
    # A table heading row holds no value and is not an item.
    assert not [words for line, words in found if line == 88]
