"""The workspace's one HTML page: ``workspace.html`` with Leaflet inlined from its registry package
(as the maps do, :mod:`geocover.render.assets`) and the interface texts in English or Chinese."""

from __future__ import annotations

import html
import importlib.resources
import json

from geocover.render.assets import _leaflet_css, _leaflet_file
from geocover.render.i18n import CSS_FONTS, Lang, label

#: Texts of the workspace's controls; the table headers come from :mod:`geocover.render.i18n`.
TEXTS: dict[str, dict[str, str]] = {
    "title": {"en": "Planning workspace", "zh": "规划工作台"},
    "scenario": {"en": "Scenario", "zh": "方案"},
    "new_scenario": {"en": "New scenario (copy)", "zh": "新建方案（复制）"},
    "undo": {"en": "Undo", "zh": "撤销"},
    "add": {"en": "Add a facility: click the map", "zh": "新增机构：点击地图"},
    "adding": {"en": "Click the map where it goes…", "zh": "请在地图上点击位置…"},
    "close": {"en": "Close this facility", "zh": "关闭该机构"},
    "set_tier": {"en": "Change tier", "zh": "更改类别"},
    "key_figures": {"en": "Key figures", "zh": "主要指标"},
    "within_target": {"en": "Within target", "zh": "达标人口"},
    "audit": {"en": "Standards (spatial rules): failing", "zh": "规划标准（空间条目）：未达标"},
    "suggest": {"en": "Suggest next sites", "zh": "推荐新增选址"},
    "accept": {"en": "Accept", "zh": "采纳"},
    "drop": {"en": "Drop", "zh": "放弃"},
    "compare": {"en": "Compare with", "zh": "对比方案"},
    "export": {"en": "Export (layer, config, full run)", "zh": "导出（图层、配置、完整结果）"},
    "exported": {"en": "Exported", "zh": "已导出"},
    "working": {"en": "Working…", "zh": "计算中…"},
    "drag_hint": {"en": "Drag a facility to move it; click it to close it or change its tier.",
                  "zh": "拖动机构可移动；点击机构可关闭或更改类别。"},
    "language": {"en": "中文", "zh": "English"},
}


def page_html(lang: Lang, scenario_name: str) -> str:
    """The workspace page in ``lang`` for the loaded scenario ``scenario_name``."""
    texts = {key: value[lang] for key, value in TEXTS.items()}
    headers = {
        "zone_level": label("zone_level", lang), "zone_name": label("zone_name", lang),
        "population": label("population", lang), "pop_within": label("pop_within", lang, minutes="{m}"),
        "pop_beyond": label("pop_beyond", lang, minutes="{m}"), "pop_unreachable": label("pop_unreachable", lang),
        "facilities": label("facilities", lang),
    }
    template = importlib.resources.files("geocover.serve").joinpath("workspace.html").read_text(encoding="utf-8")
    replacements = {
        "{{LANG}}": "zh-CN" if lang == "zh" else "en",
        "{{TITLE}}": html.escape(f"{texts['title']}: {scenario_name}"),
        "{{FONTS}}": CSS_FONTS,
        "{{LEAFLET_CSS}}": _leaflet_css(),
        "{{LEAFLET_JS}}": _leaflet_file("leaflet.js").read_text(encoding="utf-8"),
        "{{TEXTS}}": json.dumps(texts, ensure_ascii=False),
        "{{HEADERS}}": json.dumps(headers, ensure_ascii=False),
        "{{OTHER_LANG}}": "en" if lang == "zh" else "zh",
        "{{CURRENT_LANG}}": lang,
    }
    for key, value in replacements.items():
        template = template.replace(key, value.replace("</script", "<\\/script"))
    return template
