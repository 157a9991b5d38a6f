"""Read facility and statistics tables (CSV, XLSX) as analysts receive them.

Handles what comes out of Chinese statistics offices and health commissions: CSV in UTF-8,
UTF-8 with BOM, GBK or GB18030; XLSX with title rows above the header, merged (two-level)
header cells, 合计/小计/总计 total rows and footnotes, several sheets. Every row keeps its
1-based row number as shown by a spreadsheet program (the header of a plain CSV is row 1),
so error messages can point at it.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from pathlib import Path
from typing import Any

import pandas as pd

from geocover.errors import Problem, raise_if_any
from geocover.io.encodings import detect_encoding

__all__ = ["SOURCE_ROW", "TABLE_SUFFIXES", "read_table"]

#: Name of the column holding the 1-based row number in the source file or sheet.
SOURCE_ROW = "source_row"
#: File name endings read by :func:`read_table`.
TABLE_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")

_TOTAL_RE = re.compile(r"^(合计|小计|总计|总合计|全县合计|全市合计|total|subtotal)([:：(（].*)?$",
                       re.IGNORECASE)
_FOOTNOTE_RE = re.compile(r"^(注\d*|说明|备注|资料来源|数据来源|填表人|制表人|制表|审核人|负责人)[:：]")
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_THOUSANDS_RE = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_HEADER_SCAN_ROWS = 30


def _clean_text(value: str) -> str:
    text = unicodedata.normalize("NFKC", value).strip()
    text = re.sub(r"\s+", " ", text)
    return re.sub(r"(?<=[^\x00-\x7f]) | (?=[^\x00-\x7f])", "", text)


def _clean_cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().replace("\u3000", " ").strip()
        return text or None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and not _NUMBER_RE.match(value)


def _is_label_value(value: Any) -> bool:
    return isinstance(value, str) and bool(re.search(r"[:：]\s*\S", value))


def _find_header(grid: list[list[Any]]) -> int | None:
    """Index of the header row: the first well-filled, mostly text row near the top.

    Title rows (one cell, usually merged across the table) and "填报单位：…  日期：…" lines
    are skipped.
    """
    scan = grid[:_HEADER_SCAN_ROWS]
    counts = [sum(v is not None for v in row) for row in scan]
    widest = max(counts, default=0)
    if widest == 0:
        return None
    needed = max(2 if widest > 1 else 1, math.ceil(0.6 * widest))
    wide = [i for i, c in enumerate(counts) if c >= needed]
    for i in wide:
        cells = [v for v in scan[i] if v is not None]
        texts = sum(_is_text(v) for v in cells)
        if 2 * texts >= len(cells) and 2 * sum(_is_label_value(v) for v in cells) <= len(cells):
            return i
    return wide[0]


def _header_names(rows: list[list[Any]], width: int) -> list[str]:
    names = []
    for col in range(width):
        parts: list[str] = []
        for row in rows:
            value = row[col] if col < len(row) else None
            text = _clean_text(str(value)) if value is not None else ""
            if text and text not in parts:
                parts.append(text)
        names.append("_".join(parts) if parts else f"column_{col + 1}")
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return unique


def _is_total_or_note(row: list[Any]) -> bool:
    texts = [re.sub(r"\s", "", str(v)) for v in row if v is not None]
    if any(_TOTAL_RE.match(t) for t in texts[:3]):
        return True
    return len(texts) == 1 and bool(_FOOTNOTE_RE.match(texts[0]))


def _numeric(value: Any) -> float | int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return value
    text = str(value)
    if _THOUSANDS_RE.match(text):
        text = text.replace(",", "")
    if not _NUMBER_RE.match(text):
        return None
    number = float(text)
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() \
        else number


def _is_code(value: Any) -> bool:
    text = str(value)
    return text.isdigit() and (len(text) >= 9 or (len(text) > 1 and text.startswith("0")))


def _convert_column(values: pd.Series) -> pd.Series:
    """Numbers where every filled cell is a number; codes (leading 0, 9+ digits) as text.

    In a column mixing text and numbers (编号 101, A-3) the numbers become text too.
    """
    filled = values.dropna()
    if filled.empty:
        return values.astype(object)
    if all(_is_code(v) for v in filled):
        return values.map(lambda v: None if v is None else str(v)).astype(object)
    numbers = filled.map(_numeric)
    if numbers.notna().all() and not filled.map(_is_code).any():
        return pd.to_numeric(values.map(_numeric), errors="coerce")
    return values.map(lambda v: str(v) if isinstance(v, int | float) else v)


def _frame_from_grid(grid: list[list[Any]], header: int, depth: int) -> pd.DataFrame:
    """Data frame from cleaned cells; ``header`` is the 0-based index of the header row."""
    width = max((len(r) for r in grid), default=0)
    names = _header_names(grid[header:header + depth], width)
    records, kept_rows, dropped = [], [], []
    for index in range(header + depth, len(grid)):
        row = grid[index]
        if all(v is None for v in row):
            continue
        if _is_total_or_note(row):
            dropped.append(index + 1)
            continue
        records.append(list(row) + [None] * (width - len(row)))
        kept_rows.append(index + 1)
    frame = pd.DataFrame(records, columns=names, dtype=object)
    if len(frame):
        frame = frame.apply(_convert_column)
    frame.insert(0, SOURCE_ROW, pd.Series(kept_rows, dtype="int64"))
    frame.attrs["header_row"] = header + 1
    frame.attrs["dropped_total_rows"] = dropped
    return frame


def _header_or_raise(grid: list[list[Any]], file: str) -> int:
    header = _find_header(grid)
    if header is None:
        raise_if_any([Problem(file, "the table is empty: no header and no rows",
                              "check that this is the right file or sheet")])
    return header


def _read_csv(path: Path, file: str) -> pd.DataFrame:
    data = path.read_bytes()
    encoding = detect_encoding(data)
    if encoding is None:
        raise_if_any([Problem(file, "the text is neither UTF-8, GBK nor GB18030",
                              "open it in a spreadsheet program and save it as "
                              "'CSV UTF-8' or as .xlsx")])
    text = data.decode(encoding).lstrip("\ufeff")
    if not text.strip(" \t\r\n,;|"):
        raise_if_any([Problem(file, "the file is empty", "export the table again with its rows")])
    raise_if_any(_text_problems(data, encoding, text, file))
    sample = "\n".join(text.splitlines()[:50])
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    grid: list[list[Any]] = []
    try:
        grid += ([_clean_cell(cell) for cell in row] for row in reader)
    except csv.Error as error:
        where = len(grid) + 1
        what = (f"a quote (\") opened on line {where} is never closed, so the lines after it read as one cell"
                if "end of data" in str(error) else f"line {where} has text after a closing quote ({error})")
        raise_if_any([Problem(file, what, "close the quote or remove it, and save again", row=where)])
    frame = _frame_from_grid(grid, _header_or_raise(grid, file), 1)
    frame.attrs["encoding"] = encoding
    return frame


def _text_problems(data: bytes, encoding: str, text: str, file: str) -> list[Problem]:
    """NUL characters (a binary file, or UTF-16 without its BOM) and, in a GBK file, lines that are UTF-8: text
    pasted from two sources, whose UTF-8 lines would read as mojibake (乙卫生院 as 涔欏崼鐢熼櫌)."""
    if "\x00" in text:
        return [Problem(file, "it holds NUL characters: not a text table (UTF-16 without its BOM, or a binary file)",
                        "open it in a spreadsheet program and save it as 'CSV UTF-8' or as .xlsx")]
    if encoding not in ("gbk", "gb18030"):
        return []
    utf8 = [number for number, line in enumerate(data.splitlines(), start=1) if _chinese_utf8(line)]
    if not utf8:
        return []
    lines = f"line {utf8[0]} is" if len(utf8) == 1 else f"lines {', '.join(map(str, utf8[:20]))} are"
    return [Problem(file, f"{lines} UTF-8 while the rest is GBK: two encodings in one file",
                    "open it in a spreadsheet program and save it as 'CSV UTF-8' (check those rows)", row=utf8[0])]


def _chinese_utf8(line: bytes) -> bool:
    """Whether ``line`` is Chinese text in UTF-8 (a GBK line never decodes so: its pairs read as Latin letters
    at most)."""
    try:
        wide = [c for c in line.decode("utf-8") if ord(c) > 0x7F]
    except UnicodeDecodeError:
        return False
    return bool(wide) and sum("\u3400" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef" for c in wide) >= 0.8 * len(wide)


def _header_depth(ws: Any, grid: list[list[Any]], header: int) -> int:
    """Rows taken by the header: more than one when merged cells start in the header row."""
    depth = 1
    for rng in ws.merged_cells.ranges:
        if rng.min_row != header + 1:
            continue
        depth = max(depth, rng.max_row - rng.min_row + 1)
        below = grid[header + 1] if header + 1 < len(grid) else []
        under = [below[c - 1] if c - 1 < len(below) else None
                 for c in range(rng.min_col, rng.max_col + 1)]
        if rng.max_col > rng.min_col and all(_is_text(v) for v in under):
            depth = max(depth, 2)
    return depth


def _read_xlsx(path: Path, sheet: str | int | None, file: str) -> pd.DataFrame:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for broken files
        raise_if_any([Problem(file, f"cannot be opened as an Excel workbook ({exc})",
                              "save it again from Excel or WPS as .xlsx")])
    names = book.sheetnames
    if isinstance(sheet, int) and 0 <= sheet < len(names):
        sheet = names[sheet]
    elif sheet is None:
        sheet = names[0]
    if sheet not in names:
        raise_if_any([Problem(file, f"has no sheet {sheet!r}; its sheets are: "
                              + ", ".join(names), "pass sheet= one of these names")])
    ws = book[sheet]
    grid = [[_clean_cell(v) for v in row]
            for row in ws.iter_rows(min_row=1, max_row=ws.max_row, values_only=True)]
    header = _header_or_raise(grid, f"{file} [sheet '{sheet}']")
    depth = _header_depth(ws, grid, header)
    for rng in ws.merged_cells.ranges:
        if rng.min_row > header:
            value = grid[rng.min_row - 1][rng.min_col - 1]
            for r in range(rng.min_row, rng.max_row + 1):
                for c in range(rng.min_col, rng.max_col + 1):
                    grid[r - 1][c - 1] = value
    frame = _frame_from_grid(grid, header, depth)
    frame.attrs["sheet"] = sheet
    return frame


def read_table(path: str | Path, *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a CSV or XLSX table into a DataFrame with clean column names.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.csv`` (also ``.txt``/``.tsv``; comma, semicolon, tab or ``|`` separated) or
        ``.xlsx``/``.xlsm`` file.
    sheet : str or int, optional
        XLSX sheet name or 0-based position; the first sheet by default.

    Returns
    -------
    pandas.DataFrame
        One row per data row. Column names are the header cells with full-width characters
        folded (NFKC), line breaks and blanks next to Chinese characters removed, two-level
        merged headers joined with ``_`` (``坐标_经度``), blanks named ``column_<n>`` and
        duplicates suffixed ``_2``. Title rows above the header, empty rows, 合计/小计/总计
        rows and footnotes (注:, 填表人 …) are left out. A column whose filled cells are all
        numbers becomes numeric, except codes (leading zero or 9+ digits) which stay text;
        empty cells are missing. Column :data:`SOURCE_ROW` holds the 1-based row number as
        in the file or sheet. ``attrs`` holds ``header_row``, ``dropped_total_rows`` and
        ``encoding`` (CSV) or ``sheet`` (XLSX).

    Raises
    ------
    geocover.errors.InputError
        Missing or empty file, undecodable text, unknown sheet, unsupported format.
    """
    path = Path(path)
    file = str(path)
    if path.is_dir():
        raise_if_any([Problem(file, "is a folder, not a file", "give the .csv or .xlsx file inside it")])
    if not path.is_file():
        raise_if_any([Problem(file, "file not found", "check the path and the file name")])
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise_if_any([Problem(file, "old Excel 97-2003 (.xls) workbooks are not read",
                              "open it in Excel or WPS and save it as .xlsx")])
    if suffix not in TABLE_SUFFIXES:
        raise_if_any([Problem(file, f"'{suffix}' is not a table format",
                              "use a .csv or .xlsx file")])
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet, file)
    if sheet is not None:
        raise_if_any([Problem(file, "sheet= was given but a CSV file has no sheets",
                              "leave sheet out for CSV files")])
    return _read_csv(path, file)
