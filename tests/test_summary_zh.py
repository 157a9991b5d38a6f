"""``--lang zh``: the summary a command prints is in Chinese, every sentence ending with 。; errors stay as they are."""

from __future__ import annotations

import re

import openpyxl
import pytest

from geocover.cli import main
from geocover.render.i18n import LEVEL_NAMES
from geocover.summaries import SENTENCES
from tests.conftest import ROOT
from tests.test_zones import counties  # noqa: F401  (fixture)

DEMO = ROOT / "configs" / "demo.yaml"


def _printed(argv: list[str], capsys, names: tuple[str, ...]) -> list[str]:
    """The lines printed by ``geocover <argv>``; the files written and the names the user gave taken out."""
    assert main(argv) == 0
    out = capsys.readouterr().out
    lines = []
    for line in out.splitlines():
        if line.startswith("  已写出 "):
            continue
        for name in names:
            line = line.replace(name, "")
        lines.append(line)
    return lines


def _all_chinese(lines: list[str]) -> None:
    assert lines
    for line in lines:
        assert line.endswith("。"), line
        assert not line.endswith("。。"), line
        assert not re.search(r"[A-Za-z]{2,}", line), line  # no English word left


def _config(counties, extra: str) -> str:  # noqa: F811
    path = counties.parent / "zh.yaml"
    path.write_text(counties.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return str(path)


def test_run_summary_in_chinese(counties, tmp_path, capsys):  # noqa: F811
    config = _config(counties, "standards: {plan: linfen_14th_fyp_public_health}\n")
    argv = ["run", config, "--lang", "zh", "--quiet", "--offline", "--out", str(tmp_path / "zh")]
    lines = _printed(argv, capsys, ("counties",))
    _all_chinese(lines)
    assert lines[0] == "情景 ：驾车，时间分段 1, 2 分钟。"
    assert any(line.startswith("乡镇：4 个分区，400 人，") for line in lines)
    assert any(line.startswith("规划标准评估：达标 ") for line in lines)
    # the same run in English: the same figures, one line for one
    english = main(["run", config, "--quiet", "--offline", "--out", str(tmp_path / "en")])
    assert english == 0
    printed = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("  wrote ")]
    assert len(printed) == len(lines) and printed[-1].startswith("standards audit: ")
    figures = [re.findall(r"\d[\d,.]*", line) for line in printed]
    assert figures[3] == re.findall(r"\d[\d,.]*", lines[3])


def test_audit_and_compare_summaries_in_chinese(counties, tmp_path, capsys):  # noqa: F811
    config = _config(counties, "standards: {plan: linfen_14th_fyp_public_health}\n")
    _all_chinese(_printed(["audit", config, "--lang", "zh", "--quiet", "--out", str(tmp_path / "a")], capsys, ()))
    headers = [c.value for c in openpyxl.load_workbook(tmp_path / "a" / "audit.xlsx")["audit"][1]]
    assert all(re.search(r"[\u4e00-\u9fff]", str(h)) for h in headers), headers  # the workbook follows --lang too
    (counties.parent / "new.geojson").write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "新院"}, '
        '"geometry": {"type": "Point", "coordinates": [0.035, 0.005]}}]}', encoding="utf-8")
    config = _config(counties, "plan: {name: p2025, add: {path: new.geojson, name_column: name}}\n")
    lines = _printed(["compare", config, "--lang", "zh", "--quiet", "--out", str(tmp_path / "c")], capsys, ("p2025",))
    _all_chinese(lines)
    assert lines[0] == "规划 ：2 个医疗机构（现状 1 个）。"
    assert lines[1].startswith(f"{LEVEL_NAMES['township']['zh']}：2 分钟内可达 ")


def test_site_summary_in_chinese(tmp_path, capsys):
    argv = ["site", str(DEMO), "--k", "2", "--lang", "zh", "--quiet", "--offline", "--out", str(tmp_path)]
    lines = _printed(argv, capsys, ())
    _all_chinese(lines)
    assert lines[0].startswith("最大覆盖模型：从 ") and "选出 2 个新址" in lines[0]


def test_errors_stay_as_they_are(tmp_path, capsys):
    assert main(["run", str(tmp_path / "missing.yaml"), "--lang", "zh", "--quiet"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "missing.yaml" in captured.err


@pytest.mark.parametrize("key", sorted(SENTENCES))
def test_every_sentence_in_both_languages_and_chinese_ones_end_with_a_full_stop(key):
    assert set(SENTENCES[key]) == {"en", "zh"}
    fields = set(re.findall(r"{(\w+)}", SENTENCES[key]["en"]))
    assert fields == set(re.findall(r"{(\w+)}", SENTENCES[key]["zh"]))
    inner = key in ("audit_count", "sites_gap", "note", "wrote")  # parts of a sentence, or a note as given
    assert inner or SENTENCES[key]["zh"].endswith("。"), key
