"""Statistics per administrative unit (常住人口, beds, doctors…) keyed by code, for ratios and rescaling."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from geocover.errors import InputError, Problem
from geocover.io.spreadsheets import SOURCE_ROW, read_table

#: Column names recognised per field, compared without spaces, brackets and units.
ALIASES: dict[str, tuple[str, ...]] = {
    "zone_id": ("zone_id", "code", "区划代码", "行政区划代码", "统计用区划代码", "代码", "编码"),
    "name": ("name", "名称", "地区", "区域", "单位名称", "乡镇", "县区"),
    "year": ("year", "年份", "年度", "年"),
    "population": ("population", "常住人口", "年末常住人口", "户籍人口", "人口", "总人口"),
    "beds": ("beds", "床位数", "实有床位", "实有床位数", "编制床位", "医疗卫生机构床位", "床位"),
    "doctors": ("doctors", "执业(助理)医师", "执业助理医师", "执业医师", "医师"),
    "nurses": ("nurses", "注册护士", "护士"),
    "gps": ("gps", "全科医生", "全科医师"),
    "ambulances": ("ambulances", "救护车", "救护车数"),
    "infectious_beds": ("infectious_beds", "传染病床位", "传染病床"),
}
VALUE_FIELDS = ("population", "beds", "doctors", "nurses", "gps", "ambulances", "infectious_beds")


def _key(name: str) -> tuple[str, float]:
    """A column name without spaces and units, and the factor its unit implies (万 = 10,000)."""
    text = re.sub(r"\s", "", str(name)).lower()
    unit = re.search(r"[(（]([^)）]*)[)）]$", text)
    factor = 10_000.0 if unit and "万" in unit.group(1) else 1.0
    if unit:
        text = text[: unit.start()]
    return text, factor


def read_statistics(path: str | Path, sheet: str | int | None = None, year: int | None = None) -> pd.DataFrame:
    """Read a statistics table per unit, keyed by administrative code.

    Parameters
    ----------
    path : str or Path
        CSV (any Chinese encoding) or XLSX, see :func:`geocover.io.spreadsheets.read_table`.
    sheet : str or int, optional
    year : int, optional
        Keep this year; by default the latest year of each unit.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``zone_id`` (numeric codes of fewer than 12 digits padded with zeros), columns
        among ``name, year`` and :data:`VALUE_FIELDS`; values in persons or units
        (a header in 万人 is multiplied by 10,000).

    Raises
    ------
    InputError
        Naming a missing code column, non-numeric values (row and column) and duplicated codes.
    """
    file = str(path)
    table = read_table(path, sheet=sheet)
    found: dict[str, tuple[str, float]] = {}
    for column in table.columns:
        key, factor = _key(column)
        for field, aliases in ALIASES.items():
            if field not in found and key in {_key(a)[0] for a in aliases}:
                found[field] = (column, factor)
    if "zone_id" not in found:
        raise InputError([Problem(file, "no column of administrative codes", "name it 区划代码 or code",
                                  column=", ".join(map(str, table.columns)))])
    problems: list[Problem] = []
    codes = table[found["zone_id"][0]].astype(str).str.strip()
    digits = codes.str.fullmatch(r"\d{1,11}")
    out = pd.DataFrame({"zone_id": codes.where(~digits, codes.str.ljust(12, "0"))})
    for field in ("name", "year"):
        if field in found:
            out[field] = table[found[field][0]]
    for field in VALUE_FIELDS:
        if field not in found:
            continue
        column, factor = found[field]
        values = pd.to_numeric(table[column].astype(str).str.replace(",", "").str.strip(), errors="coerce")
        bad = values.isna() & table[column].notna() & (table[column].astype(str).str.strip() != "")
        problems += [Problem(file, f"{table[column].iat[i]!r} is not a number", "write a number or leave it empty",
                             row=int(table[SOURCE_ROW].iat[i]), column=str(column)) for i in np.flatnonzero(bad)]
        out[field] = values * factor
    if problems:
        raise InputError(problems)
    if year is not None and "year" in out:
        out = out[pd.to_numeric(out["year"], errors="coerce") == year]
    elif "year" in out:
        out = out.sort_values("year").drop_duplicates("zone_id", keep="last")
    duplicated = out["zone_id"].duplicated(keep=False)
    if duplicated.any():
        rows = table[SOURCE_ROW].reindex(out.index)
        raise InputError([Problem(file, f"code {code} appears more than once (rows "
                                  + ", ".join(str(r) for r in rows[out["zone_id"] == code]) + ")",
                                  "keep one row per unit (and year)", column=found["zone_id"][0])
                          for code in out.loc[duplicated, "zone_id"].unique()])
    return out.set_index("zone_id")
