"""report.pdf, read back: the cover holds the key figures, no page is near empty, wide tables lie on
landscape pages, Chinese is Chinese, reruns give the same bytes, and without WeasyPrint the fallback says so."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from geocover.pipeline import run_scenario
from geocover.render import report_pdf
from geocover.render.report import write_report
from geocover.standards.scenario_audit import scenario_audit
from tests.conftest import ROOT

pypdf = pytest.importorskip("pypdf")
pdfium = pytest.importorskip("pypdfium2")

A4_PT = (595.3, 841.9)
#: A page is near empty when its ink (any pixel darker than 230 of 255, page-number margin left out) spans
#: less than this share of the page's height.
NEAR_EMPTY_SHARE = 0.25
_FOOTER_SHARE = 16 / 297  # the bottom margin holding the page number, of an upright A4 page


def inked_share(page) -> float:
    """Share of the page height between its first and last row holding ink, page number left out."""
    pixels = np.asarray(page.render(scale=30 / 72).to_pil().convert("L"))
    footer = int(round(_FOOTER_SHARE * max(pixels.shape)))
    rows = np.nonzero((pixels[: pixels.shape[0] - footer] < 230).any(axis=1))[0]
    return 0.0 if len(rows) == 0 else (rows[-1] - rows[0] + 1) / pixels.shape[0]


@pytest.fixture(scope="module")
def demo():
    return run_scenario(ROOT / "configs" / "demo.yaml", progress=False)


@pytest.fixture(scope="module")
def reports(demo, tmp_path_factory):
    folder = tmp_path_factory.mktemp("pdf")
    return {lang: write_report(demo, folder / lang, lang)["report.pdf"] for lang in ("en", "zh")}


def test_the_cover_is_an_upright_a4_page_with_the_key_figures(demo, reports):
    reader = pypdf.PdfReader(reports["en"])
    cover = reader.pages[0]
    assert (float(cover.mediabox.width), float(cover.mediabox.height)) == pytest.approx(A4_PT, abs=0.5)
    text = cover.extract_text()
    table = demo.table[demo.table["zone_level"] == demo.table["zone_level"].iloc[0]]
    people, within = table["population"].sum(), table["pop_within_15"].sum()
    assert "Key figures" in text
    assert f"{people:,.0f}" in text and f"{100 * within / people:.1f}" in text
    assert f"{table['pop_beyond_15'].sum():,.0f}" in text and f"{table['pop_unreachable'].sum():,.0f}" in text
    assert text.rstrip().endswith(f"1 / {len(reader.pages)}")  # page numbers


def test_the_map_and_the_wide_tables_lie_on_landscape_pages(reports):
    pages = pypdf.PdfReader(reports["en"]).pages
    landscape = [float(p.mediabox.width) > float(p.mediabox.height) for p in pages]
    texts = [p.extract_text() for p in pages]
    assert not landscape[0] and all(landscape[1:])
    assert any("Coverage by zone" in t for t in texts[1:]) and "Map" in texts[1]
    for i, text in enumerate(texts):
        assert f"{i + 1} / {len(pages)}" in text


def test_no_page_is_near_empty(reports):
    for lang, path in reports.items():
        pdf = pdfium.PdfDocument(path)
        shares = [inked_share(pdf[i]) for i in range(len(pdf))]
        assert min(shares) >= NEAR_EMPTY_SHARE, (lang, [round(s, 2) for s in shares])


def test_near_empty_pages_are_caught(tmp_path):
    weasyprint = report_pdf.load_weasyprint()
    page = "<p>one line</p><p style='break-before: page'>" + "<br>".join(["a full page of lines"] * 60) + "</p>"
    weasyprint.HTML(string=page).write_pdf(tmp_path / "two.pdf")
    pdf = pdfium.PdfDocument(tmp_path / "two.pdf")
    assert inked_share(pdf[0]) < NEAR_EMPTY_SHARE <= inked_share(pdf[1])


def test_the_chinese_pdf_is_set_in_noto_sans_cjk(reports):
    reader = pypdf.PdfReader(reports["zh"])
    text = "".join(page.extract_text() for page in reader.pages)
    assert "主要指标" in reader.pages[0].extract_text()
    assert "各区域覆盖情况" in text and "数据来源与许可" in text
    fonts = {str(font["/BaseFont"]) for page in reader.pages
             for font in (page["/Resources"].get("/Font") or {}).values()}
    assert fonts and all("Noto-Sans-CJK-SC" in font for font in fonts), fonts


def test_without_weasyprint_the_matplotlib_pdf_is_written_and_the_run_says_so(demo, tmp_path, monkeypatch):
    def no_pango():
        raise OSError("cannot load library 'libpango-1.0-0': no such file")

    monkeypatch.setattr(report_pdf, "load_weasyprint", no_pango)
    result = dataclasses.replace(demo, notes=list(demo.notes))
    pdf = write_report(result, tmp_path, "en")["report.pdf"]
    reader = pypdf.PdfReader(pdf)
    assert "WeasyPrint" not in str(reader.metadata)
    assert "Key figures" in reader.pages[0].extract_text() or "Access to health" in reader.pages[0].extract_text()
    notes = [n for n in result.notes if "WeasyPrint could not load" in n]
    assert len(notes) == 1 and "libpango-1.0-0" in notes[0] and "report.pdf drawn with Matplotlib" in notes[0]
    assert not [n for n in demo.notes if "WeasyPrint" in n]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_matplotlib_pdf_has_no_near_empty_page_and_a_cover_with_the_map(demo, tmp_path, lang):
    path = tmp_path / "report.pdf"
    report_pdf.matplotlib_pdf(demo, path, lang)
    pdf = pdfium.PdfDocument(path)
    shares = [inked_share(pdf[i]) for i in range(len(pdf))]
    assert min(shares) >= NEAR_EMPTY_SHARE, [round(s, 2) for s in shares]
    cover = pypdf.PdfReader(path).pages[0]
    text = cover.extract_text()
    assert ("Key figures" if lang == "en" else "主要指标") in text
    assert f"{demo.table['population'].sum():,.0f}" in text  # the key figures and the zones most beyond
    assert ("most people beyond" if lang == "en" else "人口最多") in text
    assert len(cover.images) >= 1  # the small print map


def test_the_printed_cover_holds_a_small_map_when_it_fits(reports):
    for path in reports.values():
        reader = pypdf.PdfReader(path)
        assert len(reader.pages[0].images) == 1 and len(reader.pages[1].images) == 1  # the cover's and the map page's
        assert float(reader.pages[1].mediabox.width) > float(reader.pages[1].mediabox.height)  # no cover overflow


def test_a_full_cover_leaves_the_map_out():
    from geocover.render.report import _COVER_PAGE_MM, COVER_MAP_MIN_MM, _cover_mm

    assert _cover_mm(7, ["a" * 60, "b" * 260, "c" * 130, "d" * 90], "en") + COVER_MAP_MIN_MM <= _COVER_PAGE_MM
    assert _cover_mm(40, ["a" * 60] * 4, "en") + COVER_MAP_MIN_MM > _COVER_PAGE_MM


def test_chart_axes_of_people_carry_thousands_separators(demo):
    from geocover.render.charts import charts

    for title, figure, _ in charts(demo, "en"):
        if title.startswith("People by travel time"):
            assert figure.axes[0].xaxis.get_major_formatter()(12345.0, 0) == "12,345"


def test_without_weasyprint_the_site_summary_says_so(tmp_path, monkeypatch, capsys):
    from geocover.cli import main

    def no_pango():
        raise OSError("cannot load library 'libpango-1.0-0'")

    monkeypatch.setattr(report_pdf, "load_weasyprint", no_pango)
    assert main(["site", str(ROOT / "configs" / "demo.yaml"), "--k", "1", "--out", str(tmp_path), "--quiet",
                 "--offline"]) == 0
    printed = capsys.readouterr().out
    assert "note: report.pdf drawn with Matplotlib pages" in printed and "libpango-1.0-0" in printed
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")


def test_comoros_pdf_cover_and_pages(comoros_outputs):
    import pandas as pd

    zones = pd.read_csv(comoros_outputs / "coverage_by_zone.csv", encoding="utf-8-sig")
    reader = pypdf.PdfReader(comoros_outputs / "report.pdf")
    cover = reader.pages[0].extract_text()
    numbers = [float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*(?:\.\d)?", cover)]
    for _, level in zones.groupby("zone_level", sort=False):  # the CSV holds each zone in whole people
        people = level["population"].sum()
        assert any(abs(n - people) <= len(level) / 2 + 0.5 for n in numbers), people
        pct = 100 * level["pop_within_15"].sum() / people
        assert any(abs(n - pct) <= 0.051 for n in numbers), pct
    assert "checks met" in cover  # the standards audit in one line
    assert len(reader.pages[0].images) == 1  # the small print map fits on the cover
    pdf = pdfium.PdfDocument(comoros_outputs / "report.pdf")
    shares = [inked_share(pdf[i]) for i in range(len(pdf))]
    assert min(shares) >= NEAR_EMPTY_SHARE, [round(s, 2) for s in shares]


def coloured_share(page) -> float:
    """Share of the page's pixels in colour (the map's travel-time bands and facilities; the text and the
    tables are grey)."""
    pixels = np.asarray(page.render(scale=30 / 72).to_pil().convert("RGB")).astype(int)
    return float(((pixels.max(axis=2) - pixels.min(axis=2)) > 60).mean())


@pytest.fixture(scope="module")
def comoros_reports(tmp_path_factory):
    from tests.test_map_size import comoros_result

    folder = tmp_path_factory.mktemp("comoros_pdf")
    result = comoros_result()
    audited = dataclasses.replace(result, audit=scenario_audit(result), notes=list(result.notes))
    return {lang: write_report(audited, folder / lang, lang, map_file=None)["report.pdf"] for lang in ("en", "zh")}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_comoros_page_one_is_title_key_figures_and_map(comoros_reports, lang):
    reader = pypdf.PdfReader(comoros_reports[lang])
    texts = [page.extract_text() for page in reader.pages]
    words = {"en": ("Key figures", "most people beyond", "How the travel times were computed", "Map"),
             "zh": ("主要指标", "人口最多", "出行时间的计算方法", "地图")}[lang]
    assert words[0] in texts[0] and words[1] in texts[0] and words[2] not in texts[0]
    assert words[2] in texts[2] or words[2] in texts[1], "the method follows the map page"
    pdf = pdfium.PdfDocument(comoros_reports[lang])
    assert coloured_share(pdf[0]) > 0.002, "the small print map on page 1 (0 without it)"
    assert float(reader.pages[1].mediabox.width) > float(reader.pages[1].mediabox.height) and words[3] in texts[1]
    shares = [inked_share(pdf[i]) for i in range(len(pdf))]
    assert min(shares) >= NEAR_EMPTY_SHARE, [round(s, 2) for s in shares]  # the last page too
