"""The scenario report: ``report.html`` (one self-contained file) and ``report.pdf`` for print.

Sections, the answer first: key figures per zone level, the print map and the interactive
``map.html``, the zones with most people beyond the target, the planning-standards audit by
rule, charts per zone level (people by travel-time class, percent within the target), the zone
and facility tables, the full audit (appendix) and the data sources with their licences; in
English or Chinese. The PDF is drawn with Matplotlib (no browser needed): the map, the
charts, the tables page by page and the sources.
"""

from __future__ import annotations

import base64
import html
import io
import re
import textwrap
from pathlib import Path

import matplotlib
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from geocover.analysis.totals import totals_lines
from geocover.pipeline import ScenarioResult
from geocover.render.folium_map import CAPACITY_COLUMNS
from geocover.render.i18n import CSS_FONTS, LABELS, Lang, label, level_name, measure_text, mode_name, tier_name
from geocover.render.i18n import title as map_title
from geocover.render.print_map import cjk_rc, class_colours, class_labels, draw_static_map, percent_colour
from geocover.render.summary import audit_by_rule, key_figures, most_beyond, sites_before_after, sites_table
from geocover.schema import band_label, within_column

#: Most zones drawn in one chart; beyond it, those with the most people beyond the target.
MAX_CHART_ZONES = 40
#: Table rows per PDF page.
PDF_ROWS = 28
_PAGE = (11.69, 8.27)


def _target(result: ScenarioResult) -> tuple[float, str]:
    minutes = float(result.config.target_minutes)
    return minutes, band_label(minutes)


def column_label(column: str, lang: Lang) -> str:
    """Header of a zone-table column in ``lang`` (``pct_within_15`` → ``% within 15 min``)."""
    match = re.fullmatch(r"(pop_within|pct_within|pop_beyond)_(\d+(?:_\d+)?)", column)
    if match:
        return label(match.group(1), lang, minutes=match.group(2).replace("_", "."))
    if column in CAPACITY_COLUMNS:
        return label("capacity", lang)
    if column.startswith("facilities_"):
        return label("facilities_tier", lang, tier=tier_name(column.removeprefix("facilities_"), lang))
    try:
        return label(column, lang)
    except KeyError:
        return column


def cell_text(column: str, value: object, lang: Lang) -> str:
    """A table cell as shown: people and counts whole with thousands separators, percent and
    minutes to one decimal, yes/no, empty for missing; escaped."""
    if value is None or value is pd.NA or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return label("yes" if value else "no", lang)
    if isinstance(value, int | float | np.integer | np.floating):
        decimals = 1 if column.startswith("pct_") or column.endswith("_minutes") or column in ("value", "target") \
            else 0
        return f"{value:,.{decimals}f}"
    if column == "tier":
        return html.escape(tier_name(str(value), lang))
    if column == "zone_level":
        return html.escape(level_name(str(value), lang))
    return html.escape(str(value))


def zone_rows(result: ScenarioResult) -> pd.DataFrame:
    """The zone table as reported: every column of ``result.table``."""
    return result.table.copy()


def facility_rows(result: ScenarioResult) -> pd.DataFrame:
    """The facility table as reported: the columns that exist, without geometry."""
    columns = ["name", "tier", "grade", *CAPACITY_COLUMNS, "snapped", "snap_distance_m",
               "population_nearest", "population_within_target"]
    frame = result.facilities
    keep = [c for c in columns if c in frame.columns and (c in ("name", "tier") or frame[c].notna().any())]
    return pd.DataFrame(frame[keep])


def html_table(frame: pd.DataFrame, lang: Lang, target: float, css_class: str) -> str:
    """An escaped HTML table of ``frame`` with headers in ``lang``."""
    heads = {"population_within_target": label("catchment", lang, minutes=target)}
    header = "".join(f"<th>{html.escape(heads.get(c) or column_label(c, lang))}</th>" for c in frame.columns)
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
               for c in frame.columns]
    body = "".join(
        "<tr>" + "".join(f'<td class="{"num" if n else "text"}">{cell_text(c, v, lang)}</td>'
                         for c, v, n in zip(frame.columns, row, numeric, strict=True)) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return (f'<div class="wide"><table class="{css_class}"><thead><tr>{header}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


#: Columns of :func:`geocover.standards.audit` shown in the report, failures first.
AUDIT_COLUMNS = ("rule_id", "measure", "unit_level", "unit_name", "value", "target", "status", "to_add",
                 "to_add_unit", "missing", "note")
_STATUS_ORDER = {"fail": 0, "pass": 1, "not evaluable": 2, "not specified by this plan": 3}


def audit_rows(audit: pd.DataFrame, lang: Lang) -> pd.DataFrame:
    """The audit as reported: :data:`AUDIT_COLUMNS` that exist, failures first, statuses in ``lang``."""
    frame = pd.DataFrame(audit)
    frame = frame[[c for c in AUDIT_COLUMNS if c in frame.columns]]
    if "status" in frame.columns:
        order = frame["status"].map(_STATUS_ORDER).fillna(len(_STATUS_ORDER))
        frame = frame.iloc[np.argsort(order.to_numpy(), kind="stable")]
        frame = frame.assign(status=[label(f"status_{s}", lang) if f"status_{s}" in LABELS else s
                                     for s in frame["status"]])
    if "measure" in frame.columns:
        frame = frame.assign(measure=[measure_text(m, lang) for m in frame["measure"]])
    return frame


def audit_section(result: ScenarioResult, lang: Lang) -> str:
    """The standards audit: the hook for :func:`geocover.standards.audit`'s table in ``result.audit``.

    Counts the checks met (``status`` ``pass``), not met (``fail``) and the others, then lists
    them, failures first, each distinct note once as a numbered footnote. Without an audit the
    report says that this run had none.
    """
    audit = getattr(result, "audit", None)
    if audit is None:
        return f'<p class="no-audit">{html.escape(label("report_no_audit", lang))}</p>'
    status = pd.DataFrame(audit).get("status", pd.Series(dtype=object))
    met, not_met = int((status == "pass").sum()), int((status == "fail").sum())
    count = label("report_audit_count", lang, met=met, not_met=not_met, other=len(status) - met - not_met)
    rows = audit_rows(audit, lang)
    notes: list[str] = []
    if "note" in rows.columns:  # one footnote per distinct note: they repeat for every unit of a rule
        notes = list(dict.fromkeys(n for n in rows["note"] if isinstance(n, str) and n))
        rows = rows.assign(note=[f"[{notes.index(n) + 1}]" if n in notes else "" for n in rows["note"]])
    footnotes = "".join(f"<li>{html.escape(note)}</li>" for note in notes)
    return (f"<p>{html.escape(count)}</p>" + html_table(rows, lang, float(result.config.target_minutes), "audit")
            + (f'<ol class="notes">{footnotes}</ol>' if notes else ""))


def class_population(table: pd.DataFrame, bands: list[float]) -> np.ndarray:
    """People per zone (rows) in each travel-time class of :func:`class_colours` (columns).

    Within the first band, between consecutive bands, beyond the last band, unreachable.
    """
    within = [table[within_column(b)].to_numpy(float) for b in sorted(bands)]
    parts = [within[0]] + [b - a for a, b in zip(within, within[1:], strict=False)]
    beyond = table["population"].to_numpy(float) - within[-1] - table["pop_unreachable"].to_numpy(float)
    return np.column_stack(parts + [beyond, table["pop_unreachable"].to_numpy(float)])


def _chart_zones(table: pd.DataFrame, target_key: str) -> pd.DataFrame:
    if len(table) <= MAX_CHART_ZONES:
        return table
    return table.nlargest(MAX_CHART_ZONES, f"pop_beyond_{target_key}").sort_index()


def charts(result: ScenarioResult, lang: Lang) -> list[tuple[str, Figure, str]]:
    """Two charts per zone level: people by travel-time class and percent within the target.

    Returns
    -------
    list of (title, figure, caption)
    """
    target, key = _target(result)
    bands = sorted(result.config.bands_minutes)
    colours, names = class_colours(bands), class_labels(bands, lang)
    out = []
    for level, table in result.table.groupby("zone_level", sort=False):
        shown = _chart_zones(table, key)
        caption = "" if len(shown) == len(table) else label("chart_subset", lang, n=len(shown), minutes=target,
                                                              total=len(table))
        zones = [str(name) for name in shown["zone_name"]]
        height = 1.2 + 0.28 * len(shown)
        figure = Figure(figsize=(8.0, height))
        FigureCanvasAgg(figure)
        ax = figure.add_subplot()
        left = np.zeros(len(shown))
        for values, colour, name in zip(class_population(shown, bands).T, colours, names, strict=True):
            ax.barh(zones, values, left=left, color=colour, label=name, edgecolor="white", linewidth=0.3)
            left += values
        ax.invert_yaxis()
        ax.set_xlabel(label("chart_people", lang))
        ax.xaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
        ax.legend(ncols=len(names), loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=7, frameon=False)
        figure.tight_layout()
        out.append((label("chart_bands", lang, level=level_name(str(level), lang)), figure, caption))

        figure = Figure(figsize=(8.0, height))
        FigureCanvasAgg(figure)
        ax = figure.add_subplot()
        pct = shown[f"pct_within_{key}"].to_numpy(float)
        ax.barh(zones, np.nan_to_num(pct), color=[percent_colour(p) for p in pct], edgecolor="#333333", linewidth=0.3)
        ax.set_xlim(0, 100)
        ax.invert_yaxis()
        ax.set_xlabel(label("pct_within", lang, minutes=target))
        figure.tight_layout()
        out.append((label("chart_percent", lang, minutes=target, level=level_name(str(level), lang)), figure, caption))
    return out


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()[buffer.getvalue().index("<svg"):]


def _png_uri(figure: Figure, dpi: int = 130) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def sources(result: ScenarioResult, lang: Lang) -> list[str]:
    """Data sources and licences, plain text, one per line."""
    config = result.config
    files = [config.roads.path, config.facilities.path, config.population.path]
    files += [zone.path for zone in config.zones if zone.path is not None]
    names = ", ".join(Path(f).name for f in files)
    return [config.map.attribution, label("report_inputs", lang, files=names),
            "Noto Sans CJK (SIL Open Font License 1.1)", label("report_china", lang)]


_CSS = f"""
body {{ font-family: {CSS_FONTS}; margin: 2em auto; max-width: 1100px; color: #222; line-height: 1.45; }}
h1 {{ font-size: 1.6em; }} h2 {{ border-bottom: 1px solid #ccc; padding-bottom: 2px; margin-top: 1.6em; }}
.wide {{ overflow-x: auto; }} table {{ border-collapse: collapse; font-size: 12px; margin: .5em 0; }}
th, td {{ border: 1px solid #ccc; padding: 2px 6px; vertical-align: top; }}
th {{ background: #f2f2f2; text-align: left; min-width: 4em; }} td.num {{ text-align: right; white-space: nowrap; }}
td.text {{ text-align: left; max-width: 30em; }} .notes {{ font-size: 12px; color: #444; }}
figure {{ margin: 1em 0; }} figure img, figure svg {{ max-width: 100%; height: auto; }}
iframe {{ width: 100%; height: 600px; border: 1px solid #ccc; }} .caption {{ color: #555; font-size: .9em; }}
@media print {{ iframe {{ display: none; }} h2 {{ break-before: page; }} .wide {{ overflow: visible; }}
  table {{ font-size: 9px; }} td.text {{ max-width: none; word-break: break-word; }} }}
@page {{ size: A4 landscape; margin: 12mm; }}
"""


def report_html(result: ScenarioResult, lang: Lang = "en", map_file: str | None = "map.html") -> str:
    with matplotlib.rc_context(cjk_rc()):
        return _report_html(result, lang, map_file)


def _report_html(result: ScenarioResult, lang: Lang, map_file: str | None) -> str:
    """The report as one HTML page (charts as inline SVG, the print map as an inline PNG).

    Parameters
    ----------
    result : ScenarioResult
    lang : {"en", "zh"}
    map_file : str, optional
        File name of the interactive map beside the report, shown in an iframe and linked;
        ``None`` leaves it out.

    Returns
    -------
    str
    """
    config = result.config
    target, key = _target(result)
    title = map_title(config, lang)
    mode = mode_name(config.mode, lang)
    scenario = label("report_scenario", lang, name=config.name, mode=mode, target=target,
                     bands=", ".join(f"{b:g}" for b in sorted(config.bands_minutes)))
    figure, _ = draw_static_map(result, lang)
    top = most_beyond(result, lang)
    parts = [f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}">\n<head><meta charset="utf-8">',
             f"<title>{html.escape(label('report_title', lang, title=title))}</title><style>{_CSS}</style></head>",
             f"<body>\n<h1>{html.escape(label('report_title', lang, title=title))}</h1>",
             f"<p>{html.escape(scenario)}</p>",
             f'<h3 id="key-figures">{html.escape(label("report_key_figures", lang))}</h3>',
             html_table(key_figures(result, lang), lang, target, "key-figures"),
             "".join(f'<p class="totals">{html.escape(line)}</p>' for line in totals_lines(result, lang)),
             _sites_section(result, lang, target),
             f'<h2 id="map">{html.escape(label("report_map", lang))}</h2>',
             f'<figure><img alt="map" src="{_png_uri(figure)}"></figure>']
    if map_file is not None:
        link = html.escape(map_file, quote=True)
        parts.append(f'<p><a href="{link}">{html.escape(label("report_map_link", lang))}</a></p>'
                     f'<iframe src="{link}" title="map"></iframe>')
    parts += [f'<h2 id="most-beyond">{html.escape(label("report_most_beyond", lang, n=len(top), minutes=target))}'
              "</h2>", html_table(top, lang, target, "most-beyond")]
    audit = getattr(result, "audit", None)
    parts.append(f'<h2 id="audit">{html.escape(label("report_audit_by_rule", lang))}</h2>')
    parts.append(html_table(audit_by_rule(audit, lang), lang, target, "audit-by-rule") if audit is not None
                 else f'<p class="no-audit">{html.escape(label("report_no_audit", lang))}</p>')
    parts.append(f'<h2 id="charts">{html.escape(label("report_charts", lang))}</h2>')
    for chart_title, chart, caption in charts(result, lang):
        parts.append(f"<figure><figcaption>{html.escape(chart_title)}</figcaption>{_svg(chart)}"
                     f'<p class="caption">{html.escape(caption)}</p></figure>')
    parts += [f'<h2 id="zones">{html.escape(label("report_zones", lang))}</h2>',
              html_table(zone_rows(result), lang, target, "zones"),
              f'<h2 id="facilities">{html.escape(label("report_facilities", lang))}</h2>',
              html_table(facility_rows(result), lang, target, "facilities"),
              *([f'<h2 id="appendix">{html.escape(label("report_appendix", lang))}</h2>',
                 audit_section(result, lang)] if audit is not None else []),
              f'<h2 id="sources">{html.escape(label("report_sources", lang))}</h2>',
              "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in sources(result, lang)) + "</ul>",
              "</body>\n</html>\n"]
    return "\n".join(parts)


def _sites_section(result: ScenarioResult, lang: Lang, target: float) -> str:
    """The proposed sites (``geocover site``) with the people covered before and after them; empty without."""
    sites = getattr(result, "sites", None)
    if sites is None or len(sites) == 0:
        return ""
    before, after = sites_before_after(sites)
    effect = label("report_sites_effect", lang, n=len(sites), before=f"{before:,.0f}", after=f"{after:,.0f}")
    return (f'<h3 id="sites">{html.escape(label("report_sites", lang))}</h3><p>{html.escape(effect)}</p>'
            + html_table(sites_table(sites), lang, target, "sites"))


def _text_page(title: str, lines: list[str]) -> Figure:
    figure = Figure(figsize=_PAGE)
    FigureCanvasAgg(figure)
    figure.text(0.05, 0.92, title, fontsize=14, weight="bold")
    for i, line in enumerate(lines):
        figure.text(0.05, 0.85 - 0.05 * i, line, fontsize=10, wrap=True)
    return figure


def _pdf_columns(frame: pd.DataFrame, kind: str, key: str) -> pd.DataFrame:
    """The columns a printed page holds (the HTML report and the CSV have them all)."""
    wanted = {
        "zones": ["zone_level", "zone_name", "population", f"pop_within_{key}", f"pct_within_{key}",
                  f"pop_beyond_{key}", "pop_unreachable", "mean_minutes", "p90_minutes", "facilities"],
        "facilities": ["name", "tier", "grade", *CAPACITY_COLUMNS, "snapped", "population_within_target"],
        "audit": ["rule_id", "unit_level", "unit_name", "value", "target", "status", "to_add", "note"],
    }[kind]
    return frame[[c for c in wanted if c in frame.columns]]


def _table_pages(frame: pd.DataFrame, title: str, lang: Lang, target: float) -> list[Figure]:
    """Pages of a printed table: :data:`PDF_ROWS` rows each, long text wrapped to two lines."""
    heads = {"population_within_target": label("catchment", lang, minutes=target)}
    header = ["\n".join(textwrap.wrap(heads.get(c) or column_label(c, lang), 16)) for c in frame.columns]
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
               for c in frame.columns]
    pages = []
    for start in range(0, max(len(frame), 1), PDF_ROWS):
        chunk = frame.iloc[start:start + PDF_ROWS]
        cells = [["\n".join(textwrap.wrap(html.unescape(cell_text(c, v, lang)), 36, max_lines=2, placeholder="…"))
                  for c, v in zip(frame.columns, row, strict=True)] for row in chunk.itertuples(index=False)]
        figure = Figure(figsize=_PAGE)
        FigureCanvasAgg(figure)
        page = f" ({label('report_page', lang, page=start // PDF_ROWS + 1)})" if len(frame) > PDF_ROWS else ""
        figure.text(0.03, 0.95, title + page, fontsize=12, weight="bold")
        ax = figure.add_axes((0.03, 0.03, 0.94, 0.88))
        ax.set_axis_off()
        if cells:
            table = ax.table(cellText=cells, colLabels=header, loc="upper center", cellLoc="left")
            table.auto_set_font_size(False)
            table.set_fontsize(7)
            table.auto_set_column_width(list(range(len(header))))
            for (row, column), cell in table.get_celld().items():
                cell.set_height(0.045 if row == 0 else 0.03)
                if row > 0 and numeric[column]:
                    cell._loc = "right"  # numbers right-aligned (Matplotlib places the text by _loc)
        pages.append(figure)
    return pages


def write_report(result: ScenarioResult, out_dir: str | Path, lang: Lang = "en",
                 map_file: str | None = "map.html") -> dict[str, Path]:
    """Write ``report.html`` and ``report.pdf`` into ``out_dir``.

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
    target, key = _target(result)
    html_path, pdf_path = out_dir / "report.html", out_dir / "report.pdf"
    html_path.write_text(report_html(result, lang, map_file), encoding="utf-8")
    audit = getattr(result, "audit", None)
    audit_lines = [label("report_no_audit", lang)] if audit is None else []
    metadata = {"Creator": None, "Producer": None, "CreationDate": None}
    with matplotlib.rc_context(cjk_rc()), PdfPages(pdf_path, metadata=metadata) as pdf:
        pages = _table_pages(key_figures(result, lang), label("report_title", lang, title=map_title(result.config,
                                                                                                     lang)),
                             lang, target)
        pages.append(draw_static_map(result, lang)[0])
        sites = getattr(result, "sites", None)
        if sites is not None and len(sites):
            pages += _table_pages(sites_table(sites), label("report_sites", lang), lang, target)
        pages += _table_pages(most_beyond(result, lang), label("report_most_beyond", lang, n=5, minutes=target),
                              lang, target)
        if audit is not None:
            pages += _table_pages(audit_by_rule(audit, lang), label("report_audit_by_rule", lang), lang, target)
        pages += [figure for _, figure, _ in charts(result, lang)]
        pages += _table_pages(_pdf_columns(zone_rows(result), "zones", key), label("report_zones", lang), lang, target)
        pages += _table_pages(_pdf_columns(facility_rows(result), "facilities", key), label("report_facilities", lang),
                              lang, target)
        if audit is not None:
            pages += _table_pages(_pdf_columns(audit_rows(audit, lang), "audit", key), label("report_appendix", lang),
                                  lang, target)
        pages.append(_text_page(label("report_sources", lang), audit_lines + sources(result, lang)))
        for page in pages:
            pdf.savefig(page)
    return {"report.html": html_path, "report.pdf": pdf_path}
