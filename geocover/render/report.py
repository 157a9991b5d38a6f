"""The scenario report: ``report.html`` (one self-contained file) and ``report.pdf``, one document.

Sections, the answer first: a cover with the key figures per zone level (and, after ``geocover site``, the
proposed sites with the people covered before and after them), the zones with most people beyond the target
and, where it fits on the printed A4 page, a small copy of the print map; the contents, linked (on screen);
the print map with its caption and the interactive ``map.html``; how the travel times were computed (the walk
to the road, band 2 of ``travel_time.tif``, and the trip on the roads, :mod:`geocover.render.methods`); the
planning-standards audit by rule; charts per zone level; the zone and facility tables; the
full audit (appendix) and the data sources with their licences; in English or Chinese. ``report.pdf`` is this
page printed by WeasyPrint (:mod:`geocover.render.report_pdf`) with its print CSS: A4, the cover upright, the
map, the charts (two abreast) and the wide tables on landscape pages, page numbers.
"""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

from geocover.analysis.totals import totals_lines
from geocover.errors import InputError
from geocover.pipeline import ScenarioResult
from geocover.render.charts import charts, png_uri, svg_text
from geocover.render.i18n import CSS_FONTS, Lang, attribution_text, label, mode_name, zone_level_label
from geocover.render.i18n import title as map_title
from geocover.render.methods import input_files, method_lines
from geocover.render.print_map import cjk_rc, draw_static_map
from geocover.render.report_pdf import write_pdf
from geocover.render.report_tables import audit_count, audit_section, facility_rows, html_table, zone_column_groups
from geocover.render.summary import (
    audit_by_rule,
    key_figures,
    most_beyond,
    sites_before_after,
    sites_effect,
    sites_table,
)
from geocover.standards.plans import load_plan, load_preset


def sources(result: ScenarioResult, lang: Lang) -> list[str]:
    """Data sources and licences, plain text, one per line."""
    return [attribution_text(result.config, lang), label("report_inputs", lang, files=input_files(result, lang)),
            "Noto Sans CJK (SIL Open Font License 1.1)", label("report_china", lang)]


#: Height of the small print map on the printed cover, mm: at most, and the least worth printing (the map takes
#: the page left below the cover's text, the cover holds it only when at least the least is left).
COVER_MAP_MM = 100
COVER_MAP_MIN_MM = 60
_COVER_PAGE_MM = 297 - 14 - 16
_HEADING_MM = 11

CSS = f"""
body {{ font-family: {CSS_FONTS}; margin: 2em auto; max-width: 1100px; color: #222; line-height: 1.45; }}
h1 {{ font-size: 1.6em; }} h2 {{ border-bottom: 1px solid #ccc; padding-bottom: 2px; margin-top: 1.6em; }}
.wide {{ overflow-x: auto; }} table {{ border-collapse: collapse; font-size: 12px; margin: .5em 0; }}
th, td {{ border: 1px solid #ccc; padding: 2px 6px; vertical-align: top; overflow-wrap: break-word; }}
th {{ background: #f2f2f2; text-align: left; min-width: 3em; }} th.num, td.num {{ text-align: right; }}
td.num {{ white-space: nowrap; font-variant-numeric: tabular-nums; }} td.text {{ max-width: 30em; }}
.notes {{ font-size: 12px; color: #444; }} .cover-map img {{ max-width: 640px; }} .effect {{ font-weight: bold; }}
.contents ol {{ columns: 2; margin: .3em 0; }} .contents {{ margin: 1.5em 0 0 0; }}
figure {{ margin: 1em 0; break-inside: avoid; }} figure img, figure svg {{ max-width: 100%; height: auto; }}
iframe {{ width: 100%; height: 600px; border: 1px solid #ccc; }} .caption {{ color: #555; font-size: .9em; }}
@page {{ size: A4; margin: 14mm 12mm 16mm 12mm;
  @bottom-center {{ content: counter(page) " / " counter(pages); font: 9px {CSS_FONTS}; color: #555; }} }}
@page landscape {{ size: A4 landscape; }}
@media print {{
  body {{ margin: 0; max-width: none; font-size: 11px; }} h1 {{ font-size: 22px; margin-top: 0; }}
  h2 {{ font-size: 15px; margin-top: 1em; }} h2, h3, figcaption {{ break-after: avoid; }}
  iframe, .screen-only {{ display: none; }} .wide {{ overflow: visible; }} table {{ font-size: 9px; }}
  .cover {{ font-size: 13px; }} .cover table {{ font-size: 11px; width: 100%; }} .cover h3 {{ margin-top: 1.4em; }}
  .cover-map {{ text-align: center; margin: .6em 0 0 0; }}
  .cover-map img {{ width: auto; max-width: 100%; }}
  .body {{ page: landscape; }} .map-page {{ break-after: page; }} .map-page h2 {{ margin-top: 0; }}
  .map-page img {{ width: auto; height: 158mm; max-width: 100%; }}
  thead {{ display: table-header-group; }} tr {{ break-inside: avoid; }} td.text {{ max-width: none; }}
  figure.chart {{ display: inline-block; width: 49%; vertical-align: top; margin: 0 0 1em 0; }}
  figure.chart svg {{ width: 100%; height: auto; max-height: 165mm; }}
}}
"""


def report_html(result: ScenarioResult, lang: Lang = "en", map_file: str | None = "map.html") -> str:
    """The report as one HTML page (charts as inline SVG, the print map as an inline PNG).

    Parameters
    ----------
    result : ScenarioResult
    lang : {"en", "zh"}
    map_file : str, optional
        File name of the interactive map beside the report, shown in an iframe and linked (on
        screen only); ``None`` leaves it out.

    Returns
    -------
    str
    """
    with matplotlib.rc_context(cjk_rc()):
        map_uri = png_uri(draw_static_map(result, lang)[0])
        map_mm = cover_map_mm(result, lang)
        return "\n".join(_head(result, lang, map_mm) + _cover(result, lang, map_uri if map_mm else None)
                         + ['<div class="body">']
                         + _map(result, lang, map_file, map_uri) + _body(result, lang)
                         + ["</div>\n</body>\n</html>\n"])


def _h(level: int, anchor: str, text: str) -> str:
    return f'<h{level} id="{anchor}">{html.escape(text)}</h{level}>'


def _head(result: ScenarioResult, lang: Lang, map_mm: float | None) -> list[str]:
    title = html.escape(label("report_title", lang, title=map_title(result.config, lang)))
    cover_map = f"@media print {{ .cover-map img {{ height: {map_mm - 5:.0f}mm; }} }}" if map_mm else ""
    return [f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}">\n<head><meta charset="utf-8">',
            f"<title>{title}</title><style>{CSS}{cover_map}</style></head>", f"<body>\n<h1>{title}</h1>"]


def cover_lines(result: ScenarioResult, lang: Lang) -> list[str]:
    """The cover's sentences: the scenario, the population totals and the standards audit in one line."""
    config = result.config
    bands = ", ".join(f"{b:g}" for b in sorted(config.bands_minutes))
    scenario = label("report_scenario", lang, name=config.name, mode=mode_name(config.mode, lang),
                     target=float(config.target_minutes), bands=bands)
    first_level = zone_level_label(config, str(result.table["zone_level"].iloc[0]), lang)
    totals = [line[:1].upper() + line[1:] for line in totals_lines(result, lang, first_level)]
    return [scenario, *totals, *filter(None, [_audit_line(result, lang)])]


def cover_map_mm(result: ScenarioResult, lang: Lang) -> float | None:
    """Height of the small print map on the printed cover, mm: the page left below the cover's text (estimated
    by :func:`_cover_mm`), at most :data:`COVER_MAP_MM`; ``None`` (no map on the cover) when less than
    :data:`COVER_MAP_MIN_MM` is left."""
    scenario, *lines = cover_lines(result, lang)
    sites = getattr(result, "sites", None)
    rows = len(key_figures(result, lang)) + len(most_beyond(result, lang)) + (
        0 if sites is None else 2 * len(sites) + 6)
    left_mm = _COVER_PAGE_MM - _cover_mm(rows, [scenario, *lines], lang) - _HEADING_MM
    return min(left_mm, COVER_MAP_MM) if left_mm >= COVER_MAP_MIN_MM else None


def _cover(result: ScenarioResult, lang: Lang, map_uri: str | None) -> list[str]:
    """Page 1: scenario, key figures, population totals, the audit in one line, proposed sites, the zones most
    beyond and, when ``map_uri`` is given, a small copy of the print map (how the travel times are computed
    follows the map page)."""
    target = float(result.config.target_minutes)
    top = most_beyond(result, lang)
    scenario, *lines = cover_lines(result, lang)
    cover_map = f'<figure class="cover-map"><img alt="map" src="{map_uri}"></figure>' if map_uri else ""
    return ['<section class="cover">', f"<p>{html.escape(scenario)}</p>",
            _h(3, "key-figures", label("report_key_figures", lang)),
            html_table(key_figures(result, lang), lang, target, "key-figures"),
            "".join(f'<p class="totals">{html.escape(line)}</p>' for line in lines),
            _sites_section(result, lang, target),
            _h(3, "most-beyond", label("report_most_beyond", lang, n=len(top), minutes=target)),
            html_table(top, lang, target, "most-beyond"),
            cover_map, "</section>", _contents(result, lang)]


def _cover_mm(table_rows: int, lines: list[str], lang: Lang) -> float:
    """A generous estimate of the printed cover's height without its map, mm: title, headings, table rows
    (two header rows each) and the sentences wrapped at the page width."""
    per_line = 50 if lang == "zh" else 95
    text_lines = sum(-(-len(line) // per_line) for line in lines)
    return 25 + 3 * _HEADING_MM + 5 * (table_rows + 2 * 2) + 5 * text_lines + 3 * len(lines)


def _map(result: ScenarioResult, lang: Lang, map_file: str | None, map_uri: str) -> list[str]:
    parts = ['<section class="map-page">', _h(2, "map", label("report_map", lang)),
             f'<figure><img alt="map" src="{map_uri}">'
             f'<figcaption class="caption">{html.escape(_map_caption(result, lang))}</figcaption></figure>']
    if map_file is not None:
        link = html.escape(map_file, quote=True)
        parts.append(f'<p class="screen-only"><a href="{link}">{html.escape(label("report_map_link", lang))}</a></p>'
                     f'<iframe src="{link}" title="map"></iframe>')
    return parts + ["</section>"]


def _map_caption(result: ScenarioResult, lang: Lang) -> str:
    return label("report_map_caption", lang, mode=mode_name(result.config.mode, lang),
                 minutes=float(result.config.target_minutes))


def _contents(result: ScenarioResult, lang: Lang) -> str:
    """The sections of the report, linked (on screen only: the PDF has page numbers)."""
    keys = [("map", "report_map"), ("method", "report_method"), ("audit", "report_audit_by_rule"),
            ("charts", "report_charts"), ("zones", "report_zones"), ("facilities", "report_facilities"),
            *([("appendix", "report_appendix")] if getattr(result, "audit", None) is not None else []),
            ("sources", "report_sources")]
    links = "".join(f'<li><a href="#{anchor}">{html.escape(label(key, lang))}</a></li>' for anchor, key in keys)
    return (f'<nav class="contents screen-only"><strong>{html.escape(label("report_contents", lang))}</strong>'
            f"<ol>{links}</ol></nav>")


def _body(result: ScenarioResult, lang: Lang) -> list[str]:
    """How the travel times were computed, audit by rule, charts, zone and facility tables, appendix, sources."""
    target = float(result.config.target_minutes)
    audit = getattr(result, "audit", None)
    parts = [_h(2, "method", label("report_method", lang)),
             "".join(f'<p class="method">{html.escape(line)}</p>' for line in method_lines(result, lang)),
             _h(2, "audit", label("report_audit_by_rule", lang))]
    parts.append(html_table(audit_by_rule(audit, lang), lang, target, "audit-by-rule") if audit is not None
                 else f'<p class="no-audit">{html.escape(label("report_no_audit", lang))}</p>')
    parts.append(_h(2, "charts", label("report_charts", lang)))
    for i, (chart_title, chart, caption) in enumerate(charts(result, lang)):
        parts.append(f'<figure class="chart"><figcaption>{html.escape(chart_title)}</figcaption>'
                     f'{svg_text(chart, f"chart{i + 1}")}'
                     f'<p class="caption">{html.escape(caption)}</p></figure>')
    parts.append(_h(2, "zones", label("report_zones", lang)))
    parts += [html_table(result.table[group], lang, target, "zones" if i == 0 else f"zones-{i + 1}", result.config)
              for i, group in enumerate(zone_column_groups(result))]
    parts += [_h(2, "facilities", label("report_facilities", lang)),
              html_table(facility_rows(result, lang), lang, target, "facilities")]
    if audit is not None:
        parts += [_h(2, "appendix", label("report_appendix", lang)), audit_section(result, lang)]
    return parts + [_h(2, "sources", label("report_sources", lang)),
                    "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in sources(result, lang)) + "</ul>"]


def _audit_line(result: ScenarioResult, lang: Lang) -> str:
    """The standards audit in one line (checks met, not met, other); empty without an audit."""
    audit = getattr(result, "audit", None)
    if audit is None:
        return ""
    plan = plan_title(result, lang)
    plan = (f"（《{plan}》）" if lang == "zh" else f" of the {plan}") if plan else ""
    return label("report_audit_line", lang, plan=plan, count=audit_count(audit, lang))


def plan_title(result: ScenarioResult, lang: Lang) -> str:
    """The title of the plan the scenario is audited against, in ``lang`` (the plan file's ``title_zh`` or
    ``title_en``); the preset's name when the plan cannot be read, empty without a plan."""
    standards = getattr(result.config, "standards", None)
    if standards is None:
        return ""
    try:
        plan = load_preset(standards.plan) if standards.plan else load_plan(standards.path)
    except (InputError, OSError, TypeError):
        return str(standards.plan or "")
    return plan.plan.title_zh if lang == "zh" else plan.plan.title_en


def _sites_section(result: ScenarioResult, lang: Lang, target: float) -> str:
    """The proposed sites (``geocover site``) with the people covered before and after them; empty without."""
    sites = getattr(result, "sites", None)
    if sites is None or len(sites) == 0:
        return ""
    before, after = sites_before_after(sites)
    effect = label("report_sites_effect", lang, n=len(sites), before=f"{before:,.0f}", after=f"{after:,.0f}")
    by_level = sites_effect(result, lang)
    return (_h(3, "sites", label("report_sites", lang))
            + ("" if by_level is None else html_table(by_level, lang, target, "sites-effect"))
            + f'<p class="effect">{html.escape(effect)}</p>' + html_table(sites_table(sites), lang, target, "sites"))


def write_report(result: ScenarioResult, out_dir: str | Path, lang: Lang = "en",
                 map_file: str | None = "map.html") -> dict[str, Path]:
    """Write ``report.html`` and ``report.pdf`` into ``out_dir``.

    ``report.pdf`` is ``report.html`` printed by WeasyPrint; where WeasyPrint cannot load (no Pango),
    it is drawn with Matplotlib instead and a note saying so goes into ``result.notes`` (the run
    summary prints it).

    Parameters
    ----------
    result : ScenarioResult
    out_dir : str or Path
        Created if needed.
    lang : {"en", "zh"}
    map_file : str, optional
        The interactive map's file name beside the report (linked from the HTML).

    Returns
    -------
    dict
        ``{"report.html": path, "report.pdf": path}``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, pdf_path = out_dir / "report.html", out_dir / "report.pdf"
    page = report_html(result, lang, map_file)
    html_path.write_text(page, encoding="utf-8")
    note = write_pdf(page, pdf_path, result, lang)
    if note is not None and isinstance(getattr(result, "notes", None), list) and note not in result.notes:
        result.notes.append(note)
    return {"report.html": html_path, "report.pdf": pdf_path}

