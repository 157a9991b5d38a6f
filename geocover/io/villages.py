"""Read the administrative villages (行政村) list: 12-digit code, 常住人口, optional point and village doctors.

A table (CSV in UTF-8 or GBK, XLSX) or a point layer, with Chinese headers as statistics offices write
them (村名, 村代码 or 统计用区划代码, 常住人口, 乡村医生, 经度/纬度). Codes stay text (leading zeros and
all 12 digits). Every problem of the file is reported at once, naming its row and column.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geocover.config.sections import VillagesConfig
from geocover.errors import Problem, raise_if_any
from geocover.io.coordinates import parse_degrees, to_wgs84
from geocover.io.spreadsheets import SOURCE_ROW, TABLE_SUFFIXES, read_table
from geocover.io.vectors import read_vector

__all__ = ["VILLAGE_COLUMNS", "read_villages"]

#: Columns of the village table :func:`read_villages` returns.
VILLAGE_COLUMNS = ("village_code", "village_name", "township_code", "population", "doctors", "lon", "lat", SOURCE_ROW)

_HEADERS = {
    "code": ("村代码", "村级代码", "行政村代码", "村委会代码", "统计用区划代码", "区划代码", "village_code", "code"),
    "name": ("村名", "村名称", "行政村", "行政村名称", "村委会", "村委会名称", "名称", "village_name", "name"),
    "population": ("常住人口", "常住人口数", "常住人口(人)", "population"),
    "doctors": ("乡村医生", "乡村医生数", "村医", "村医数", "村医人数", "village_doctors", "doctors"),
    "lon": ("经度", "lon", "longitude", "x"),
    "lat": ("纬度", "lat", "latitude", "y"),
}
_KEYS = {"code": "code_column", "name": "name_column", "population": "population_column",
         "doctors": "doctors_column", "lon": "lon_column", "lat": "lat_column"}


def _column(frame: pd.DataFrame, config: VillagesConfig, role: str) -> str | None:
    given = getattr(config, _KEYS[role])
    if given is not None:
        return given if given in frame.columns else None
    lowered = {str(c).strip().lower(): c for c in frame.columns}
    return next((lowered[h.lower()] for h in _HEADERS[role] if h.lower() in lowered), None)


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        return float(str(value).replace(",", "").strip())
    except ValueError:
        return None


def read_villages(config: VillagesConfig) -> pd.DataFrame:
    """The village list as a table of :data:`VILLAGE_COLUMNS`.

    ``township_code`` is the village code's first 9 digits padded to 12; ``lon``/``lat`` are WGS84
    (NaN without a point); ``doctors`` is NaN without a doctors column.

    Raises
    ------
    InputError
        Every problem at once: a missing code or population column (with the headers found and the
        key to set), codes that are not 12 digits or repeat, populations that are blank, not a number
        or negative, points with one coordinate or an unreadable one.
    """
    path = Path(config.path)
    file = str(path)
    if path.suffix.lower() in TABLE_SUFFIXES:
        frame = read_table(path, sheet=config.sheet)
        points = None
    else:
        frame = read_vector(path, file=file)
        points = frame.geometry.to_crs("EPSG:4326") if "geometry" in frame.columns else None
        frame = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
        frame[SOURCE_ROW] = np.arange(1, len(frame) + 1)
    columns = {role: _column(frame, config, role) for role in _HEADERS}
    problems = []
    for role, needed in (("code", True), ("population", True)):
        given = getattr(config, _KEYS[role])
        if columns[role] is None and (needed or given is not None):
            found = ", ".join(str(c) for c in frame.columns if c != SOURCE_ROW)
            what = f"no column '{given}'" if given else f"no {role} column ({' / '.join(_HEADERS[role][:5])})"
            problems.append(Problem(file, f"{what}; columns found: {found}",
                                    f"name it with villages.{_KEYS[role]} in the config", column=given))
    for role in ("doctors", "lon", "lat"):
        if getattr(config, _KEYS[role]) is not None and columns[role] is None:
            problems.append(Problem(file, f"no column '{getattr(config, _KEYS[role])}'",
                                    f"fix villages.{_KEYS[role]}", column=getattr(config, _KEYS[role])))
    raise_if_any(problems)
    rows = frame[SOURCE_ROW].to_numpy()
    codes = [re.sub(r"\s", "", str(v)) if v is not None and not pd.isna(v) else "" for v in frame[columns["code"]]]
    seen: dict[str, int] = {}
    for row, code in zip(rows, codes, strict=True):
        if not re.fullmatch(r"\d{12}", code):
            problems.append(Problem(file, f"village code '{code}' is not 12 digits", "give the 12-digit 统计用区划代码 "
                                    "as text (format the column as text in Excel)", int(row), columns["code"]))
        elif code in seen:
            problems.append(Problem(file, f"village code {code} repeats row {seen[code]}", "keep one row per "
                                    "village", int(row), columns["code"]))
        else:
            seen[code] = int(row)
    population = [_number(v) for v in frame[columns["population"]]]
    problems += [Problem(file, f"常住人口 '{v}' is not a number of 0 or more", "give the village's residents",
                         int(row), columns["population"])
                 for row, v, n in zip(rows, frame[columns["population"]], population, strict=True)
                 if n is None or n < 0]
    doctors = [np.nan] * len(frame)
    if columns["doctors"] is not None:
        doctors = [_number(v) for v in frame[columns["doctors"]]]
        problems += [Problem(file, f"village doctors '{v}' is not a number", "give a count (0 when none)", int(row),
                             columns["doctors"]) for row, v, n in zip(rows, frame[columns["doctors"]], doctors,
                                                                     strict=True) if n is None and not pd.isna(v)]
        doctors = [np.nan if n is None else n for n in doctors]
    lon, lat = _points(frame, columns, points, config, file, problems)
    raise_if_any(problems)
    names = frame[columns["name"]] if columns["name"] is not None else pd.Series([None] * len(frame))
    return pd.DataFrame({
        "village_code": codes, "village_name": names.to_numpy(dtype=object),
        "township_code": [c[:9] + "000" for c in codes], "population": population, "doctors": doctors,
        "lon": lon, "lat": lat, SOURCE_ROW: rows,
    }, columns=list(VILLAGE_COLUMNS))


def _degrees(value: Any) -> float:
    """A coordinate cell as a number (NaN when blank or unreadable)."""
    try:
        degrees = parse_degrees(value)
    except ValueError:
        return np.nan
    return np.nan if degrees is None else degrees


def _points(frame: pd.DataFrame, columns: dict[str, str | None], points: Any, config: VillagesConfig, file: str,
            problems: list[Problem]) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat of each village (NaN where it has none); bad or half-given coordinates go to ``problems``."""
    n = len(frame)
    if points is not None:
        empty = points.is_empty | points.isna()
        return np.where(empty, np.nan, points.x.to_numpy()), np.where(empty, np.nan, points.y.to_numpy())
    if columns["lon"] is None or columns["lat"] is None:
        return np.full(n, np.nan), np.full(n, np.nan)
    xs = np.array([_degrees(v) for v in frame[columns["lon"]]])
    ys = np.array([_degrees(v) for v in frame[columns["lat"]]])
    for row, x, y, rx, ry in zip(frame[SOURCE_ROW], xs, ys, frame[columns["lon"]], frame[columns["lat"]], strict=True):
        blank_x, blank_y = pd.isna(rx) or str(rx).strip() == "", pd.isna(ry) or str(ry).strip() == ""
        if blank_x and blank_y:
            continue
        if np.isnan(x) or np.isnan(y):
            column = columns["lon"] if np.isnan(x) else columns["lat"]
            problems.append(Problem(file, f"coordinates '{rx}', '{ry}' cannot be read", "give both as decimal "
                                    "degrees, or leave both blank", int(row), column))
    located = np.isfinite(xs) & np.isfinite(ys)
    lon, lat = np.full(n, np.nan), np.full(n, np.nan)
    if located.any():
        lon[located], lat[located] = to_wgs84(xs[located], ys[located], config.coord_system)
    return lon, lat
