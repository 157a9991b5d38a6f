"""Statistics per administrative unit (常住人口, beds, doctors…) keyed by code, for ratios and rescaling."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from geocover.errors import InputError, Problem
from geocover.io.spreadsheets import SOURCE_ROW, read_table

#: Resident (常住), unspecified and registered (户籍) population headers, in order of preference.
POPULATION_ALIASES: dict[str, tuple[str, ...]] = {
    "常住人口": ("population", "resident_population", "常住人口", "年末常住人口", "常住人口总数"),
    "人口": ("人口", "总人口", "年末总人口"),
    "户籍人口": ("registered_population", "户籍人口", "年末户籍人口", "户籍总人口"),
}
#: Column names recognised per field, compared after NFKC, without spaces, a trailing unit such as
#: (人) or (万人), and a trailing 数; the first alias present wins whatever the column order.
ALIASES: dict[str, tuple[str, ...]] = {
    "zone_id": ("zone_id", "code", "区划代码", "行政区划代码", "统计用区划代码", "代码", "编码"),
    "name": ("name", "名称", "地区", "区域", "单位名称", "乡镇", "县区"),
    "year": ("year", "年份", "年度", "年"),
    "beds": ("beds", "床位", "实有床位", "医疗卫生机构床位", "编制床位"),
    "doctors": ("doctors", "执业(助理)医师", "执业助理医师", "执业医师", "医师"),
    "nurses": ("nurses", "注册护士", "护士"),
    "gps": ("gps", "全科医生", "全科医师"),
    "ambulances": ("ambulances", "救护车"),
    "infectious_beds": ("infectious_beds", "传染病床位", "传染病床", "传染科床位"),
    "public_health_staff": ("public_health_staff", "公共卫生人员", "专业公共卫生机构人员", "专业公共卫生人员"),
    "pharmacists": ("pharmacists", "药师(士)", "药师", "药师士", "药剂人员"),
    "psychiatric_beds": ("psychiatric_beds", "精神科床位", "精神科实有床位", "精神病床位"),
    "public_tcm_beds": ("public_tcm_beds", "公立中医医院床位", "公立中医院床位", "公立中医类医院床位"),
    "tcm_doctors": ("tcm_doctors", "中医类别执业(助理)医师", "中医执业(助理)医师", "中医类别执业医师", "中医类别医师"),
    "childcare_places": ("childcare_places", "托位", "婴幼儿托位", "3岁以下婴幼儿托位", "普惠托位"),
    "family_doctors": ("family_doctors", "家庭医生"),
    "psychiatrists": ("psychiatrists", "精神科执业(助理)医师", "精神科执业医师", "精神科医师"),
    "health_inspectors": ("health_inspectors", "卫生监督员", "卫生监督人员"),
    "health_education_staff": ("health_education_staff", "健康教育专业人员", "健康教育人员", "健康教育专业机构人员"),
    "village_doctors": ("village_doctors", "乡村医生", "村医"),
    "tertiary_general_hospitals": ("tertiary_general_hospitals", "市办三级综合医院", "三级综合医院",
                                   "三级综合性医院"),
    "beds_city_public": ("beds_city_public", "市办以上公立医院床位", "市办及以上公立医院床位"),
    "beds_county_grassroots": ("beds_county_grassroots", "县办公立医院及基层医疗卫生机构床位",
                               "县办公立医院及基层医疗机构床位"),
    "beds_other_public": ("beds_other_public", "其他公立医院床位"),
    "cdc_staff": ("cdc_staff", "疾病预防控制机构人员", "疾控机构人员", "疾病预防控制中心人员"),
    "rehabilitation_doctors": ("rehabilitation_doctors", "康复医师", "康复医学科医师"),
    "rehabilitation_therapists": ("rehabilitation_therapists", "康复治疗师", "康复治疗人员"),
}
VALUE_FIELDS = ("population", "registered_population", *(f for f in ALIASES if f not in ("zone_id", "name", "year")))
_UNIT = re.compile(r"\((万?人|万|名|张|个|所|辆|家|床|位|人次)\)$")


def _label(name: object) -> tuple[str, float]:
    """A header in NFKC without spaces and trailing unit, and the factor its unit implies (万 = 10,000)."""
    text = re.sub(r"\s", "", unicodedata.normalize("NFKC", str(name)))
    unit = _UNIT.search(text)
    if unit:
        text = text[: unit.start()]
    return text, 10_000.0 if unit and "万" in unit.group(1) else 1.0


def _key(name: object) -> tuple[str, float]:
    """The comparison key of a header (lower case, without a trailing 数) and its unit factor."""
    text, factor = _label(name)
    text = text.lower()
    return (text[:-1] if len(text) > 1 and text.endswith("数") else text), factor


def _pick(keys: dict[str, tuple[object, float]], aliases: tuple[str, ...]) -> tuple[object, float] | None:
    """The column matching the earliest of ``aliases``."""
    return next((keys[k] for k in (_key(a)[0] for a in aliases) if k in keys), None)


def _numbers(table: pd.DataFrame, column: object) -> tuple[pd.Series, np.ndarray]:
    """A column as numbers (thousands separators allowed) and the positions of non-empty non-numbers."""
    text = table[column].astype(str).str.replace(",", "").str.strip()
    values = pd.to_numeric(text, errors="coerce")
    bad = values.isna() & table[column].notna() & ~text.isin(["", "nan", "-", "—"])
    return values, np.flatnonzero(bad)


def read_statistics(path: str | Path, sheet: str | int | None = None, year: int | None = None) -> pd.DataFrame:  # noqa: C901, E501 - one check per header rule
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
        among ``name, year`` and :data:`VALUE_FIELDS` (yearbook headers in :data:`ALIASES`), in
        persons or units (a header in 万人 is multiplied by 10,000); ``population`` is 常住人口
        when the table has it, else 人口, else 户籍人口, and ``population_base`` names which.
        Any other column whose every value is a number is kept under its header (without a
        trailing unit), so a custom rule can name it as its numerator.

    Raises
    ------
    InputError
        Naming a missing code column, non-numeric values (row and column) and duplicated codes.
    """
    file = str(path)
    table = read_table(path, sheet=sheet)
    keys: dict[str, tuple[object, float]] = {}
    for column in table.columns:
        if column != SOURCE_ROW:
            keys.setdefault(_key(column)[0], (column, _key(column)[1]))
    found = {field: hit for field, aliases in ALIASES.items() if (hit := _pick(keys, aliases)) is not None}
    bases = {base: hit for base, aliases in POPULATION_ALIASES.items() if (hit := _pick(keys, aliases)) is not None}
    if bases:
        base = next(iter(bases))
        found["population"] = bases[base]
        if "户籍人口" in bases and base != "户籍人口":
            found["registered_population"] = bases["户籍人口"]
    if "zone_id" not in found:
        raise InputError([Problem(file, "no column of administrative codes; columns found: "
                                  + ", ".join(str(c) for c in table.columns if c != SOURCE_ROW),
                                  "name it 区划代码 or code")])
    problems = _code_problems(table, found["zone_id"][0], file)
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
        values, bad = _numbers(table, column)
        problems += [Problem(file, f"{table[column].iat[i]!r} is not a number", "write a number or leave it empty",
                             row=int(table[SOURCE_ROW].iat[i]), column=str(column)) for i in bad]
        out[field] = values * factor
    if bases:
        out["population_base"] = next(iter(bases))
    used = {column for column, _ in found.values()} | {column for column, _ in bases.values()} | {SOURCE_ROW}
    for column in table.columns:
        name, factor = _label(column)
        if column in used or name in out.columns:
            continue
        values, bad = _numbers(table, column)
        if len(bad) == 0 and values.notna().any():
            out[name] = values * factor
    if problems:
        raise InputError(problems)
    if year is not None and "year" in out:
        years = pd.to_numeric(out["year"], errors="coerce")
        if not (years == year).any():
            raise InputError([Problem(file, f"no rows of year {year}; years found: "
                                      + ", ".join(f"{y:g}" for y in sorted(years.dropna().unique())),
                                      "set statistics.year to one of them", column=found["year"][0])])
        out = out[years == year]
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


def _code_problems(table: pd.DataFrame, column: str, file: str) -> list[Problem]:
    """Rows without a code, and codes read as large numbers (1.401E+11 in a CSV saved by Excel, where the
    last digits are lost; plain digits stay text)."""
    problems = []
    for row, value in zip(table[SOURCE_ROW], table[column], strict=True):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            problems.append(Problem(file, "the row has no code", "fill in its 区划代码 or delete the row",
                                    row=int(row), column=str(column)))
        elif isinstance(value, float) and abs(value) >= 1e8:
            problems.append(Problem(file, f"the code is read as the number {value:.0f}: written in scientific "
                                    "notation (1.401E+11, where Excel drops the last digits) or with decimals",
                                    "format the column as text, check the 12 digits and save again",
                                    row=int(row), column=str(column)))
    return problems
