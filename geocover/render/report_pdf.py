"""``report.pdf``: ``report.html`` printed by WeasyPrint, so the HTML and the PDF report are one document.

WeasyPrint runs no JavaScript: the report's map is the print map (an inline PNG), its charts inline SVG;
the print CSS of :mod:`geocover.render.report` sets A4 pages (the cover upright, the rest landscape)
and page numbers. WeasyPrint needs Pango (Debian ``libpango-1.0-0``); where it cannot load, the
PDF is drawn with Matplotlib pages instead (:func:`matplotlib_pdf`: a cover with the key figures, the zones
most beyond the target and a small map; the map, tables, charts, sources)
and :func:`write_pdf` returns a note saying so.

Both PDFs carry no creation date and the same document identifier for the same report, so the same run
writes the same bytes.
"""

from __future__ import annotations

import hashlib
import html
import io
import textwrap
from pathlib import Path

import matplotlib
import matplotlib.image
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from geocover.pipeline import ScenarioResult
from geocover.render.charts import charts
from geocover.render.folium_map import CAPACITY_COLUMNS
from geocover.render.i18n import Lang, label
from geocover.render.i18n import title as map_title
from geocover.render.print_map import bold, cjk_rc, draw_static_map
from geocover.render.report_tables import audit_rows, cell_text, column_label, facility_rows
from geocover.render.summary import ISOLATE, POP_ISOLATE, audit_by_rule, key_figures, most_beyond, sites_table

#: Table rows per Matplotlib PDF page.
PDF_ROWS = 28
_PAGE_IN = (11.69, 8.27)
_TABLE_HEIGHT = 0.88  # of the page, below the title


def load_weasyprint() -> object:
    """The ``weasyprint`` module; raises ``ImportError`` or ``OSError`` when it (or Pango) cannot load."""
    import weasyprint

    return weasyprint


def write_pdf(page: str, path: str | Path, result: ScenarioResult, lang: Lang) -> str | None:
    """Print the report page ``page`` to ``path`` with WeasyPrint, else draw it with Matplotlib.

    Returns
    -------
    str or None
        None when WeasyPrint printed it; else a note (in ``lang``) that the Matplotlib PDF was written
        and why.
    """
    try:
        weasyprint = load_weasyprint()
    except (ImportError, OSError) as error:
        matplotlib_pdf(result, path, lang)
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return label("report_pdf_fallback", lang, error=reason)
    identifier = hashlib.sha256(page.encode("utf-8")).hexdigest()[:32].encode("ascii")
    document = _without_near_empty_tail(weasyprint, page, str(Path(path).parent))
    document.metadata.created = document.metadata.modified = None
    document.write_pdf(path, pdf_identifier=identifier)
    return None


#: A last page whose text and images span less than this share of its height is near empty: the body's print
#: fonts are then set smaller by :data:`TIGHTER_PRINT` steps until the tail joins the page before or fills more.
NEAR_EMPTY_SHARE = 0.3
#: Print font sizes (body, tables) of the body pages tried, in order, against a near-empty last page, px.
TIGHTER_PRINT = ((10.5, 8.6), (10, 8.2), (9.5, 7.8))


def _without_near_empty_tail(weasyprint: object, page: str, base_url: str) -> object:
    """The report laid out by WeasyPrint, with body fonts a step smaller where the last page is near empty
    (the step filling the last page most; the cover keeps its size)."""
    document = weasyprint.HTML(string=page, base_url=base_url).render()
    best = (tail_share(document), document)
    for body_px, table_px in TIGHTER_PRINT:
        if best[0] >= NEAR_EMPTY_SHARE:
            break
        css = weasyprint.CSS(string=f"@media print {{ .body {{ font-size: {body_px}px; }} "
                                    f".body table {{ font-size: {table_px}px; }} }}")
        document = weasyprint.HTML(string=page, base_url=base_url).render(stylesheets=[css])
        best = max(best, (tail_share(document), document), key=lambda pair: pair[0])
    return best[1]


def tail_share(document: object) -> float:
    """Share of the last page's height between its first and last line of text or image (page number left
    out); 1 for a one-page document."""
    from weasyprint.formatting_structure import boxes

    if len(document.pages) < 2:
        return 1.0
    last = document.pages[-1]
    tops, bottoms = [], []
    for child in last._page_box.children:
        if isinstance(child, boxes.MarginBox):
            continue
        for box in child.descendants():
            if isinstance(box, (boxes.TextBox, boxes.ReplacedBox)):
                tops.append(box.position_y)
                bottoms.append(box.position_y + box.margin_height())
    return (max(bottoms) - min(tops)) / last.height if tops else 0.0


def _text_page(title: str, lines: list[str]) -> Figure:
    figure = Figure(figsize=_PAGE_IN)
    FigureCanvasAgg(figure)
    figure.text(0.05, 0.92, title, fontsize=14, **bold())
    for i, line in enumerate(lines):
        figure.text(0.05, 0.85 - 0.05 * i, "\n".join(textwrap.wrap(line, 150)), fontsize=10, va="top")
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


#: Matplotlib draws no bidi isolates (:data:`geocover.render.summary.ISOLATE`): they are left out of its tables.
_NO_ISOLATES = str.maketrans("", "", ISOLATE + POP_ISOLATE)


def _table_cells(frame: pd.DataFrame, lang: Lang, target: float) -> tuple[list[str], list[bool], list[list[str]]]:
    """Headers, which columns are numeric, and the cells of a printed table; long text wrapped, never cut."""
    heads = {"population_within_target": label("catchment", lang, minutes=target)}
    header = ["\n".join(textwrap.wrap(heads.get(c) or column_label(c, lang), 16)) for c in frame.columns]
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
               for c in frame.columns]
    rows = [["\n".join(textwrap.wrap(html.unescape(cell_text(c, v, lang)).translate(_NO_ISOLATES), 40))
             for c, v in zip(frame.columns, row, strict=True)] for row in frame.itertuples(index=False)]
    return header, numeric, rows


def _draw_table(figure: Figure, header: list[str], numeric: list[bool], cells: list[list[str]],
                box: tuple[float, float, float], fontsize: float = 7) -> float:
    """Draw a table from the top of ``box`` (left, top, width; page fractions) down; returns its bottom."""
    heights = [_row_height(header, fontsize)] + [_row_height(row, fontsize) for row in cells]
    left, top, width = box
    ax = figure.add_axes((left, top - sum(heights), width, sum(heights)))
    ax.set_axis_off()
    table = ax.table(cellText=cells, colLabels=header, loc="upper left", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(fontsize)
    table.auto_set_column_width(list(range(len(header))))
    for (row, column), cell in table.get_celld().items():
        cell.set_height(heights[row] / sum(heights))
        if row > 0 and numeric[column]:
            cell._loc = "right"  # numbers right-aligned (Matplotlib places the text by _loc)
    return top - sum(heights)


def _table_pages(frame: pd.DataFrame, title: str, lang: Lang, target: float) -> list[Figure]:
    """Pages of a printed table: as many rows as fit (at most :data:`PDF_ROWS`), headers and long text
    wrapped, never cut."""
    header, numeric, rows = _table_cells(frame, lang, target)
    chunks, chunk, used = [], [], _row_height(header)
    for row in rows:
        if chunk and (len(chunk) == PDF_ROWS or used + _row_height(row) > _TABLE_HEIGHT):
            chunks.append(chunk)
            chunk, used = [], _row_height(header)
        chunk.append(row)
        used += _row_height(row)
    chunks.append(chunk)
    pages = []
    for number, cells in enumerate(chunks, start=1):
        figure = Figure(figsize=_PAGE_IN)
        FigureCanvasAgg(figure)
        page = f" ({label('report_page', lang, page=number)})" if len(chunks) > 1 else ""
        figure.text(0.03, 0.95, title + page, fontsize=12, **bold())
        if cells:
            _draw_table(figure, header, numeric, cells, (0.03, 0.91, 0.94))
        pages.append(figure)
    return pages


def _cover_page(result: ScenarioResult, lang: Lang, map_figure: Figure) -> Figure:
    """Page 1: title, scenario, key figures, population totals, the audit in one line and the zones most
    beyond the target on the left; a small copy of the print map on the right."""
    from geocover.render.report import cover_lines

    target = float(result.config.target_minutes)
    figure = Figure(figsize=_PAGE_IN)
    FigureCanvasAgg(figure)
    heading = label("report_title", lang, title=map_title(result.config, lang))
    figure.text(0.03, 0.95, "\n".join(textwrap.wrap(heading, 90)), fontsize=14, va="top", **bold())
    scenario, *lines = cover_lines(result, lang)
    figure.text(0.03, 0.88, scenario, fontsize=9, va="top")
    top = 0.82
    figure.text(0.03, top, label("report_key_figures", lang), fontsize=10, va="bottom", **bold())
    top = _draw_table(figure, *_table_cells(key_figures(result, lang), lang, target), (0.03, top - 0.01, 0.55),
                      fontsize=8)
    width = 55 if lang == "zh" else 105
    for line in lines:
        text = "\n".join(textwrap.wrap(line, width))
        figure.text(0.03, top - 0.02, text, fontsize=8, va="top")
        top -= 0.02 + 0.022 * (text.count("\n") + 1)
    top = max(top - 0.04, 0.05)
    top_zones = most_beyond(result, lang)
    figure.text(0.03, top, label("report_most_beyond", lang, n=len(top_zones), minutes=target), fontsize=10,
                va="bottom", **bold())
    _draw_table(figure, *_table_cells(top_zones, lang, target), (0.03, top - 0.01, 0.55), fontsize=8)
    ax = figure.add_axes((0.60, 0.05, 0.38, 0.80))
    ax.set_axis_off()
    buffer = io.BytesIO()
    map_figure.savefig(buffer, format="png", dpi=110)
    buffer.seek(0)
    ax.imshow(matplotlib.image.imread(buffer), interpolation="antialiased")
    return figure


def _row_height(cells: list[str], fontsize: float = 7) -> float:
    """Height of a table row (page fraction) holding ``cells``' lines at ``fontsize`` points."""
    return (0.016 * max((cell.count("\n") + 1 for cell in cells), default=1) + 0.009) * fontsize / 6


def matplotlib_pdf(result: ScenarioResult, path: str | Path, lang: Lang) -> None:
    """The report drawn as Matplotlib pages (no WeasyPrint): key figures, map, sites, zones most beyond,
    audit by rule, charts, the main zone columns, facilities, the audit and the sources."""
    from geocover.render.report import sources

    target = float(result.config.target_minutes)
    key = f"{target:g}".replace(".", "_")
    audit = getattr(result, "audit", None)
    metadata = {"Creator": None, "Producer": None, "CreationDate": None}
    with matplotlib.rc_context(cjk_rc()), PdfPages(path, metadata=metadata) as pdf:
        map_figure = draw_static_map(result, lang)[0]
        pages = [_cover_page(result, lang, map_figure), map_figure]
        sites = getattr(result, "sites", None)
        if sites is not None and len(sites):
            pages += _table_pages(sites_table(sites), label("report_sites", lang), lang, target)
        if audit is not None:
            pages += _table_pages(audit_by_rule(audit, lang), label("report_audit_by_rule", lang), lang, target)
        pages += [figure for _, figure, _ in charts(result, lang)]
        pages += _table_pages(_pdf_columns(result.table, "zones", key), label("report_zones", lang), lang, target)
        pages += _table_pages(_pdf_columns(facility_rows(result, lang), "facilities", key),
                              label("report_facilities", lang), lang, target)
        if audit is not None:
            pages += _table_pages(_pdf_columns(audit_rows(audit, lang), "audit", key), label("report_appendix", lang),
                                  lang, target)
        no_audit = [label("report_no_audit", lang)] if audit is None else []
        pages.append(_text_page(label("report_sources", lang), no_audit + sources(result, lang)))
        for page in pages:
            pdf.savefig(page)
