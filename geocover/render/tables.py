"""Tables as a county analyst opens them in Excel: whole people, short decimals, codes kept as text, and the
same bytes for the same run.

Rules (:func:`for_spreadsheets`), by column name: people (a ``pop`` or ``population`` word in the name:
``population``, ``pop_within_15``, ``hospital_pop_unreachable``; ``catchment_*``) are rounded to whole
numbers; percentages (``pct_*``, ``*_pct_*``, ``*percent*``), minutes (``*minutes*``) and metres/kilometres
(``*_m``, ``*_km``) to one decimal; ``lon``/``lat`` keep seven; other decimals keep six significant digits, also
the decimals of a column mixing them with whole numbers, text or blanks (the audit's ``value``).
Codes (``*_id``, ``*code*``) are text: integral numbers lose their ``.0``. In ``.xlsx`` the code columns are
text-typed cells (Excel keeps the 12 digits of a township code); a ``.csv`` holds them as plain digits, which
Excel's double-click opening turns into numbers (``5.21123E+11``): import it through Data > From Text/CSV
with the column set to Text, or use the ``.xlsx``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

FIXED_WORKBOOK_DATE = dt.datetime(2000, 1, 1)
"""Creation time written into every workbook (``docProps/core.xml``), so the same run writes the same file."""
_KEEP_AS_IS = {"lon", "lat"}


def is_people(name: str) -> bool:
    """Whether column ``name`` counts people (rounded to whole numbers)."""
    words = name.split("_")
    if "pct" in words or "percent" in name or "share" in name:
        return False
    return "pop" in words or "population" in words or name.startswith("catchment_")


def is_code(name: str) -> bool:
    """Whether column ``name`` holds identifiers or codes (kept as text)."""
    return name.endswith("_id") or name == "id" or "code" in name


def _decimals(name: str) -> int | None:
    """Decimals kept in float column ``name``; None for six significant digits."""
    if "pct" in name.split("_") or "percent" in name or "minutes" in name or name.endswith(("_m", "_km")):
        return 1
    return None


def _as_text(column: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(column):
        values = column.to_numpy(dtype=float)
        integral = np.isfinite(values) & (values == np.round(values))
        if integral[np.isfinite(values)].all():
            column = column.astype("Int64")
    return column.astype("string").astype(object).where(column.notna(), None)


def for_spreadsheets(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` rounded and typed for CSV and Excel (rules in the module docstring)."""
    out = table.copy()
    for name in out.columns:
        column = out[name]
        if not isinstance(name, str):
            continue
        if is_code(name):
            out[name] = _as_text(column)
        elif column.dtype == object and name not in _KEEP_AS_IS:
            out[name] = pd.Series([_round_float(value, name) for value in column], index=column.index, dtype=object)
        elif not pd.api.types.is_float_dtype(column) or name in _KEEP_AS_IS:
            continue
        elif is_people(name):
            out[name] = column.round(0).astype("Int64")
        elif (decimals := _decimals(name)) is not None:
            out[name] = column.round(decimals)
        else:
            out[name] = column.map(lambda value: float(f"{value:.6g}") if np.isfinite(value) else value)
    return out


def _round_float(value: object, name: str) -> object:
    """A float cell of a mixed column (the audit's ``value``: counts, shares, blanks) rounded as a float column
    ``name`` is; other cells as they are."""
    if not isinstance(value, float | np.floating) or not np.isfinite(value):
        return value
    decimals = _decimals(name)
    return float(round(value, decimals)) if decimals is not None else float(f"{value:.6g}")


def write_csv(table: pd.DataFrame, path: str | Path) -> Path:
    """Write ``table`` (:func:`for_spreadsheets`) as UTF-8 CSV with a byte-order mark, which Excel opens."""
    for_spreadsheets(table).to_csv(path, index=False, encoding="utf-8-sig")
    return Path(path)


def write_workbook(sheets: dict[str, pd.DataFrame], path: str | Path, lang: str = "en",
                   config: object | None = None) -> Path:
    """Write ``sheets`` (name to table, :func:`for_spreadsheets`) into the Excel workbook ``path``.

    Code columns are text-typed (number format ``@``); the creation time is :data:`FIXED_WORKBOOK_DATE`, so two
    identical runs write byte-identical workbooks. With ``lang="zh"`` each header reads in Chinese with the
    column's key after it (``15分钟内人口（pop_within_15）``), the key the CSV files and the GeoPackage use;
    ``config`` names the services.
    """
    with pd.ExcelWriter(path, engine="xlsxwriter") as book:
        book.book.set_properties({"created": FIXED_WORKBOOK_DATE})
        text = book.book.add_format({"num_format": "@"})
        for name, table in sheets.items():
            table = for_spreadsheets(table)
            table.to_excel(book, sheet_name=name, index=False, header=headers(table.columns, lang, config))
            for index, column in enumerate(table.columns):
                if isinstance(column, str) and is_code(column):
                    book.sheets[name].set_column(index, index, 14, text)
    return Path(path)


def headers(columns: pd.Index, lang: str = "en", config: object | None = None) -> list[str]:
    """Header of each column in a workbook: the key in English; in Chinese the column's label and the key in
    brackets (the key alone where it has no label)."""
    if lang != "zh":
        return [str(column) for column in columns]
    from geocover.render.report_tables import column_label  # the report's labels; they import the pipeline

    out = []
    for column in map(str, columns):
        text = column_label(column, "zh", config)
        out.append(column if text == column else f"{text}（{column}）")
    return out
