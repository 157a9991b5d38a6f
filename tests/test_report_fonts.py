"""No "findfont: Failed to find font weight bold" on a run: Noto Sans CJK ships a regular face only, so
Matplotlib is never asked for a weight the family lacks."""

from __future__ import annotations

import logging

import matplotlib
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from geocover.pipeline import run_scenario
from geocover.render import print_map, report_pdf
from geocover.render.print_map import bold, cjk_family, cjk_rc, draw_static_map
from tests.conftest import ROOT


def _findfont_records(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "findfont" in r.getMessage()]


def _draw(**text) -> None:
    figure = Figure()
    FigureCanvasAgg(figure)
    figure.text(0.1, 0.5, "标题 Title", **text)
    figure.canvas.draw()


def test_asking_for_a_missing_bold_face_is_caught(caplog):
    if cjk_family() != "Noto Sans CJK SC":
        pytest.skip("the check needs the regular-only Noto Sans CJK SC")
    with caplog.at_level(logging.WARNING, logger="matplotlib.font_manager"), matplotlib.rc_context(cjk_rc()):
        matplotlib.font_manager.fontManager._findfont_cached.cache_clear()
        _draw(weight="bold")
    assert _findfont_records(caplog)


def test_bold_is_the_weight_only_where_the_family_has_a_bold_face(monkeypatch):
    monkeypatch.setattr(print_map, "cjk_family", lambda: "DejaVu Sans")  # DejaVu Sans has a bold face
    assert bold() == {"weight": "bold"}
    monkeypatch.setattr(print_map, "cjk_family", lambda: "No Such Family")
    assert bold() == {}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_print_map_and_the_matplotlib_pdf_print_no_findfont_warning(lang, caplog, tmp_path, monkeypatch):
    result = run_scenario(ROOT / "configs" / "demo.yaml", progress=False)
    matplotlib.font_manager.fontManager._findfont_cached.cache_clear()
    with caplog.at_level(logging.WARNING, logger="matplotlib.font_manager"):
        with matplotlib.rc_context(cjk_rc()):
            draw_static_map(result, lang)[0].canvas.draw()
            _draw(**bold())
        report_pdf.matplotlib_pdf(result, tmp_path / "report.pdf", lang)
    assert _findfont_records(caplog) == []
