"""Read health facilities from the files Chinese health planners have.

Tables (CSV/XLSX, see :mod:`geocover.io.spreadsheets`) with coordinates in columns, or vector layers
(GeoPackage, GeoJSON, Shapefile). Every problem of a file is collected and raised at once as
:class:`~geocover.errors.InputError`; ``lenient=True`` drops the bad rows instead.
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geocover.errors import InputError, Problem, raise_if_any
from geocover.io.coordinates import normalize_system
from geocover.io.facility_coordinates import coordinate_pairs, pairs_to_wgs84
from geocover.io.facility_labels import (
    TIERS,
    cell_text,
    classify_ownership,
    classify_tier,
    normalize_grade,
    split_words,
    township_code,
)
from geocover.io.spreadsheets import SOURCE_ROW, TABLE_SUFFIXES, read_table
from geocover.io.vectors import read_vector

__all__ = ["OUTPUT_COLUMNS", "TIERS", "VECTOR_SUFFIXES", "classify_ownership", "classify_tier",
           "normalize_grade", "read_facilities"]

#: Columns every facility layer starts with; the original attributes and geometry follow.
OUTPUT_COLUMNS = ("facility_id", "name", "tier", "grade", "ownership", "township_code", SOURCE_ROW)
#: File name endings read as vector layers.
VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".fgb")

_ALIASES = {role: split_words(words) for role, words in {
    "name": "name 机构名称 医疗机构名称 医疗卫生机构名称 单位名称 名称 机构 facility_name facility name:zh",
    "lon": "lon lng long longitude 经度 东经 gps经度 x x坐标 point_x",
    "lat": "lat latitude 纬度 北纬 gps纬度 y y坐标 point_y",
    "lonlat": "经纬度 经纬度坐标 坐标 gps坐标 lonlat lnglat lon_lat coordinates location",
    "address": "地址 详细地址 机构地址 单位地址 通讯地址 address addr addr:full",
    "category": "机构类别代码 机构分类代码 卫生机构类别代码 类别代码 分类代码 机构类别 机构分类 机构类型 "
                "category_code",
    "grade": "医院等级 机构等级 医院级别 等级 级别 grade",
    "ownership": "主办单位 举办单位 经济类型 所有制 所有制形式 登记注册类型 机构性质 性质 ownership "
                 "operator:type",
    "township": "乡镇代码 乡镇街道代码 所属乡镇代码 乡镇区划代码 统计用区划代码 行政区划代码 区划代码 "
                "township_code admin_code",
}.items()}
_OSM_TAGS = ("amenity", "healthcare")


def _find_column(columns: list[str], role: str) -> str | None:
    """First column whose name (or last ``_`` part, without a unit in brackets) is an alias."""
    keys = {c: re.sub(r"\(.*?\)", "", str(c)).strip().lower() for c in columns}
    for alias in _ALIASES[role]:
        for column, key in keys.items():
            if alias in (key, key.rsplit("_", 1)[-1]):
                return column
    return None


def _read_vector(path: Path, layer: str | None, file: str) -> tuple[pd.DataFrame, np.ndarray | None, Any]:
    """Attributes, an (n, 2) array of point coordinates (NaN without geometry) and the CRS."""
    gdf = read_vector(path, layer, require_crs=False, file=file)
    is_layer = isinstance(gdf, gpd.GeoDataFrame)  # not so for a table without geometry
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name) if is_layer else gdf)
    frame.insert(0, SOURCE_ROW, np.arange(1, len(frame) + 1, dtype="int64"))
    if not is_layer:
        return frame, None, None
    if gdf.crs is not None and len(gdf):
        gdf = gdf.to_crs(4326)
    usable = (gdf.geometry.notna() & ~gdf.geometry.is_empty).to_numpy()
    xy = np.full((len(gdf), 2), np.nan)
    if usable.any():
        points = gdf.geometry[usable].representative_point()
        xy[usable] = np.column_stack([points.x, points.y])
    return frame, xy, gdf.crs


def _coordinate_columns(columns: list[str], lon_column: str | None, lat_column: str | None,
                        xy_columns: tuple[str, str] | None, file: str, fatal: list[Problem]
                        ) -> tuple[str, ...]:
    """Coordinate columns: (x, y) or (one 'lon,lat' column,); () with a problem when unusable."""
    if xy_columns is not None or lon_column is not None:
        if xy_columns is not None:
            given, arguments = tuple(xy_columns), ("xy_columns", "xy_columns")
        else:
            given = (lon_column,) if lat_column is None else (lon_column, lat_column)
            arguments = ("lon_column", "lat_column")
        missing = [_missing(file, c, a, columns) for c, a in zip(given, arguments, strict=False)
                   if c not in columns]
        fatal.extend(missing)
        return () if missing else given
    if lat_column is not None:
        fatal.append(Problem(file, "lat_column is given without lon_column",
                             "give both, or lon_column alone for one 'lon,lat' column"))
        return ()
    lon, lat = _find_column(columns, "lon"), _find_column(columns, "lat")
    found = (lon, lat) if lon and lat else (_find_column(columns, "lonlat"),)
    if None in found:
        fatal.append(Problem(file, "no coordinate columns; columns found: " + ", ".join(columns),
                             "name them 经度/纬度 (lon/lat) or 经纬度, or pass lon_column= and "
                             "lat_column= (xy_columns= for projected X/Y)"))
        return ()
    return found


def _missing(file: str, column: str, argument: str, columns: list[str]) -> Problem:
    return Problem(file, f"no column '{column}' (given as {argument}); columns found: "
                   + ", ".join(columns), f"pass {argument} one of the columns found", column=column)


def _ids(frame: pd.DataFrame, id_col: str | None, file: str, problems: list[Problem]) -> list[str | None]:
    rows = frame[SOURCE_ROW].tolist()
    if id_col is None:
        return [str(r) for r in rows]
    ids = [cell_text(v) for v in frame[id_col]]
    first_row: dict[str, int] = {}
    for row, facility_id in zip(rows, ids, strict=True):
        if facility_id is None:
            problems.append(Problem(file, "the id is empty", "give every facility an id", row, id_col))
        elif facility_id in first_row:
            problems.append(Problem(file, f"id '{facility_id}' is also used in row "
                                    f"{first_row[facility_id]}", "give every facility its own id",
                                    row, id_col))
        else:
            first_row[facility_id] = row
    return ids


def _townships(frame: pd.DataFrame, column: str | None, file: str, problems: list[Problem]) -> list[str | None]:
    codes: list[str | None] = []
    for row, value in zip(frame[SOURCE_ROW].tolist(), frame[column] if column else
                          [None] * len(frame), strict=True):
        if isinstance(value, float) and abs(value) >= 1e8:  # 9+ plain digits stay text: this was 1.401E+11 or .0
            problems.append(Problem(file, f"the code is read as the number {value:.0f}: written in scientific "
                                    "notation (1.401E+11, where Excel drops the last digits) or with decimals",
                                    "format the column as text, check the 12 digits and save again", row, column))
            codes.append(None)
            continue
        try:
            codes.append(township_code(value))
        except ValueError as exc:
            problems.append(Problem(file, f"'{exc}' is not a 9- or 12-digit administrative code",
                                    "use the 统计用区划代码 of the township, or leave it empty",
                                    row, column))
            codes.append(None)
    return codes


def _tiers(frame: pd.DataFrame, sources: list[str], tier_map: dict[str, str]) -> tuple[list[str], Counter]:
    """Tier per row from the first source label recognised; unrecognised labels counted."""
    tiers, unknown = [], Counter()
    for i in range(len(frame)):
        tier, first = None, None
        for column in sources:
            label = cell_text(frame[column].iat[i])
            if label is not None:
                first = first or label
                tier = tier_map.get(label) or classify_tier(label)
                if tier:
                    break
        if tier is None and first is not None:
            unknown[first] += 1
        tiers.append(tier or "other")
    return tiers, unknown


def _skip_unlocated(frame: pd.DataFrame, empty: np.ndarray, address_col: str | None,
                    name_col: str | None, cols: tuple[str, ...], file: str, problems: list[Problem]
                    ) -> list[str]:
    """Rows without coordinates: listed when they have an address, problems otherwise."""
    skipped = []
    for i in np.flatnonzero(empty):
        row = int(frame[SOURCE_ROW].iat[i])
        address = cell_text(frame[address_col].iat[i]) if address_col else None
        if address:
            name = cell_text(frame[name_col].iat[i]) if name_col else None
            skipped.append(f"row {row}: {name or ''} ({address})")
        else:
            problems.append(Problem(file, "no coordinates and no address",
                                    "fill in the coordinates or remove the row", row, cols[0]))
    return skipped


def _load(path: Path, layer: str | None, sheet: str | int | None, system: str | None
          ) -> tuple[pd.DataFrame, np.ndarray | None, str, str | None]:
    """Attributes with source rows, geometry points or None, file label, effective system."""
    file = str(path)
    suffix = path.suffix.lower()
    if path.is_dir():
        raise_if_any([Problem(file, "is a folder, not a file", "give the file inside it (CSV, XLSX or a GIS layer)")])
    if not path.is_file():
        raise_if_any([Problem(file, "file not found", "check the path and the file name")])
    if suffix not in (*TABLE_SUFFIXES, *VECTOR_SUFFIXES, ".xls"):
        raise_if_any([Problem(file, f"'{suffix}' files are not read",
                              "use CSV, XLSX, GeoPackage, GeoJSON or Shapefile")])
    if suffix not in VECTOR_SUFFIXES:
        frame = read_table(path, sheet=sheet)
        label = f"{file} [sheet '{frame.attrs['sheet']}']" if "sheet" in frame.attrs else file
        return frame, None, label, system
    frame, geometry, crs = _read_vector(path, layer, file)
    if crs is not None and system is not None and system not in ("gcj02", "bd09"):
        system = "wgs84"  # the layer's own CRS was applied; only the Chinese shifts remain
    return frame, geometry, file, system


def _included(frame: pd.DataFrame, include: dict[str, list[str]], columns: list[str], file: str,
              fatal: list[Problem]) -> np.ndarray:
    """Per row: True when every ``include`` column holds one of its allowed values; problems for missing
    columns, for a filter keeping no row and for an allowed value no row holds but close to one found (a
    misspelling such as 'hospitl'), listing the values found. An allowed value no row holds and like none found
    (a tier this area lacks, in a template shared by several areas) is a warning."""
    keep = np.ones(len(frame), dtype=bool)
    for column, allowed in include.items():
        if column not in columns:
            fatal.append(_missing(file, column, "include", columns))
            continue
        values = frame[column].map(cell_text)
        keep &= values.isin({str(v) for v in allowed}).to_numpy()
        present = sorted({v for v in values if isinstance(v, str)})
        found = ", ".join(present[:30])
        for value in (str(v) for v in allowed if str(v) not in present):
            close = difflib.get_close_matches(value.casefold(), [v.casefold() for v in present], n=1, cutoff=0.75)
            if close:
                fatal.append(Problem(file, f"include= keeps no row with '{value}'; values in this column: {found}",
                                     f"did you mean '{present[[v.casefold() for v in present].index(close[0])]}'?",
                                     column=column))
            else:
                warnings.warn(f"{file}: column '{column}': include= value '{value}' holds no row (values in this "
                              f"column: {found})", UserWarning, stacklevel=3)
    if include and not keep.any() and not fatal:
        fatal.append(Problem(file, "include= keeps no row: no row holds the values of every column at once",
                             "check the include= values"))
    return keep


def _warn_left_out(file: str, unknown: Counter, skipped: list[str], problems: list[Problem]) -> None:
    """One warning each for the labels set to ``other``, the rows skipped and the rows dropped."""
    for count, what, items in (
        (len(unknown), "labels not recognised, set to tier 'other' (map them with tier_map)",
         [f"'{k}' ({n})" for k, n in unknown.most_common(30)]
         + [f"{len(unknown) - 30} more in attrs['unknown_tier_labels']"] * (len(unknown) > 30)),
        (len(skipped), "facilities have an address but no coordinates and were skipped "
         "(geocode them)", skipped),
        (len({p.row for p in problems}), "rows dropped (lenient)", [str(p) for p in problems]),
    ):
        if count:
            warnings.warn(f"{file}: {count} {what}: " + "; ".join(items), UserWarning, stacklevel=3)


def read_facilities(  # noqa: PLR0913 - one keyword per column option of the facilities: section
    path: str | Path,
    *,
    layer: str | None = None,
    sheet: str | int | None = None,
    name_column: str | None = None,
    lon_column: str | None = None,
    lat_column: str | None = None,
    xy_columns: tuple[str, str] | None = None,
    coord_system: str = "wgs84",
    tier_column: str | None = None,
    tier_map: dict[str, str] | None = None,
    include: dict[str, list[str]] | None = None,
    id_column: str | None = None,
    lenient: bool = False,
) -> gpd.GeoDataFrame:
    """Read health facilities as points in EPSG:4326.

    Parameters
    ----------
    path : str or pathlib.Path
        CSV/XLSX table, or GeoPackage, GeoJSON, Shapefile (a GBK DBF without ``.cpg`` is
        detected) or FlatGeobuf layer.
    layer, sheet : str, optional
        Layer of a GeoPackage; XLSX sheet name or 0-based position (default: the first).
    name_column, id_column : str, optional
        Facility name (found by name, e.g. 机构名称, when not given) and unique id (default:
        the source row number).
    lon_column, lat_column : str, optional
        Coordinate columns, found by name when not given (lon/lng/longitude/x/经度 and
        lat/latitude/y/纬度, or one 经纬度 column with ``"lon,lat"``); ``lon_column`` alone
        names such a ``"lon,lat"`` column. Vector layers use their geometry.
    xy_columns : tuple of str, optional
        Projected X/Y columns (metres). With a geographic ``coord_system``, CGCS2000 3-degree
        Gauss-Krüger values with the zone number prefixed to the easting are recognised, in
        either order (surveyors' X = northing, Y = easting).
    coord_system : str
        ``wgs84``, ``cgcs2000``, ``gcj02`` (Amap, Tencent), ``bd09`` (Baidu), ``gk3`` or
        ``EPSG:nnnn``; for a vector layer with a CRS only ``gcj02``/``bd09`` apply on top.
    tier_column, tier_map : optional
        Column whose labels give the tier, and label → tier overrides. By default labels come
        from the category code (B100 …), OSM amenity/healthcare and the name (…卫生院);
        labels not recognised become ``other`` with a warning listing them.
    include : dict, optional
        Column → allowed values; other rows are left out before any check.
    lenient : bool
        Drop rows with problems (listed in ``attrs["dropped"]``) instead of raising.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`OUTPUT_COLUMNS` (``facility_id`` str; ``tier`` in :data:`TIERS` or a
        ``tier_map`` value; ``grade`` such as 三甲; ``ownership`` government / other_public /
        private / None; ``township_code`` 12 digits or None; ``source_row`` 1-based row as in
        the file), then the original attributes (clashing names get ``_source``), geometry.
        ``attrs``: ``skipped`` (rows with an address but no coordinates), ``dropped``,
        ``unknown_tier_labels`` (label → count).

    Raises
    ------
    geocover.errors.InputError
        With every problem found: file, row, column, what is wrong and what to do.
    """
    fatal: list[Problem] = []
    frame, geometry, file, system = _load(Path(path), layer, sheet, _system(coord_system, str(path), fatal))
    columns = [str(c) for c in frame.columns if c != SOURCE_ROW]
    if frame.empty:
        raise_if_any([*fatal, Problem(file, "no facilities: the file has no data rows",
                                      "check that this is the right file, sheet or layer")])
    name_col = _given(name_column, "name_column", columns, file, fatal) if name_column else \
        _find_column(columns, "name")
    id_col = _given(id_column, "id_column", columns, file, fatal)
    tier_col = _given(tier_column, "tier_column", columns, file, fatal)
    keep = _included(frame, include or {}, columns, file, fatal)
    frame = frame[keep].reset_index(drop=True)
    problems: list[Problem] = []
    use_geometry = geometry is not None and (np.isfinite(geometry[keep]).any()
                                             or (xy_columns is None and lon_column is None))
    if use_geometry:
        cols: tuple[str, ...] = ("geometry",)
        xy, empty = geometry[keep], ~np.isfinite(geometry[keep]).all(axis=1)
    else:
        cols = _coordinate_columns(columns, lon_column, lat_column, xy_columns, file, fatal)
        xy, empty = _column_pairs(frame, cols, file, problems)
    skipped = _skip_unlocated(frame, empty, _find_column(columns, "address"), name_col, cols, file, problems)
    lonlat = np.full((len(frame), 2), np.nan)
    if cols and system is not None:
        lonlat = pairs_to_wgs84(xy, system, (cols[0], cols[-1]), frame[SOURCE_ROW].to_numpy(), file, problems)
    ids = _ids(frame, id_col, file, problems)
    townships = _townships(frame, _find_column(columns, "township"), file, problems)
    if fatal or (problems and not lenient) or any(p.row is None for p in problems):
        raise InputError(fatal + problems)
    sources = [tier_col] if tier_col else [c for c in (_find_column(columns, "category"),
                                                        *(t for t in _OSM_TAGS if t in columns), name_col) if c]
    tiers, unknown = _tiers(frame, sources, tier_map or {})
    _warn_left_out(file, unknown, skipped, problems)
    table = _output_table(frame, columns, name_col, ids, tiers, townships)
    result = _located(table, lonlat, problems, file)
    result.attrs.update(skipped=skipped, dropped=[str(p) for p in problems], unknown_tier_labels=dict(unknown))
    return result


def _system(coord_system: str, file: str, fatal: list[Problem]) -> str | None:
    """The canonical coordinate system, or None with a problem."""
    try:
        return normalize_system(coord_system)
    except ValueError as exc:
        fatal.append(Problem(file, f"coord_system: {exc}", "pass one of the names listed"))
        return None


def _given(column: str | None, argument: str, columns: list[str], file: str, fatal: list[Problem]) -> str | None:
    """A column named by an argument: itself, or None with a problem when the file has no such column."""
    if column is not None and column not in columns:
        fatal.append(_missing(file, column, argument, columns))
        return None
    return column


def _column_pairs(frame: pd.DataFrame, cols: tuple[str, ...], file: str, problems: list[Problem]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2) coordinates from the columns ``cols`` (NaN when none), and the rows whose columns are all empty."""
    if not cols:
        return np.full((len(frame), 2), np.nan), np.zeros(len(frame), bool)
    empty = frame[list(cols)].map(cell_text).isna().all(axis=1).to_numpy()
    return coordinate_pairs(frame, cols, file, problems), empty


def _output_table(frame: pd.DataFrame, columns: list[str], name_col: str | None, ids: list[str | None],
                  tiers: list[str], townships: list[str | None]) -> pd.DataFrame:
    """:data:`OUTPUT_COLUMNS`, then the file's own attributes (clashing names get ``_source``)."""
    def column(source: str | None, convert: Any) -> pd.Series:
        return pd.Series([convert(v) for v in frame[source]] if source else [None] * len(frame), dtype=object)

    out = pd.DataFrame({
        "facility_id": pd.Series(ids, dtype=object), "name": column(name_col, cell_text),
        "tier": pd.Series(tiers, dtype=object), "grade": column(_find_column(columns, "grade"), normalize_grade),
        "ownership": column(_find_column(columns, "ownership"), classify_ownership),
        "township_code": pd.Series(townships, dtype=object), SOURCE_ROW: frame[SOURCE_ROW].to_numpy(),
    })
    attributes = frame.drop(columns=[SOURCE_ROW] + (["name"] if name_col == "name" else []))
    attributes.columns = [f"{c}_source" if c in OUTPUT_COLUMNS else c for c in attributes.columns]
    return pd.concat([out, attributes], axis=1)


def _located(table: pd.DataFrame, lonlat: np.ndarray, problems: list[Problem], file: str) -> gpd.GeoDataFrame:
    """The rows with a location and no problem (those with one are dropped: lenient), as points in EPSG:4326."""
    located = np.isfinite(lonlat).all(axis=1) & ~np.isin(table[SOURCE_ROW].to_numpy(), [p.row for p in problems])
    if problems and not located.any():
        raise InputError([*problems, Problem(file, "every row is bad: --lenient would leave no facility",
                                             "fix the rows listed above")])
    return gpd.GeoDataFrame(table[located].reset_index(drop=True),
                            geometry=gpd.points_from_xy(*lonlat[located].T), crs="EPSG:4326")
