"""Urban or rural, per zone, and how it was decided.

In this order, the first that applies:

1. the official urban-rural classification code (城乡分类代码, 111–220: first digit
   1 urban, 2 rural) from ``urban_rural_code_column``;
2. a column of labels (``urban``/``rural``, 城镇/乡村, 城市/农村) from ``urban_rural_column``;
3. derived: a street (name ending in 街道 or 街道办事处) is urban; a county seat (城关镇,
   or ``county_seat_column`` true) is urban; a town (镇), or a zone whose name is not
   Chinese (no 乡/镇/村 to read), whose built-up share is at least ``urban_builtup_percent``
   is urban; anything else is rural.

The decision is reported per zone in ``urban_rural_source``.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import rasterio
import rasterio.mask
import rasterio.transform

from geocover.errors import InputError, Problem
from geocover.io.population import PopulationGrid

URBAN_LABELS = {"urban", "城镇", "城市", "城区", "市区", "u", "1"}
RURAL_LABELS = {"rural", "乡村", "农村", "r", "2"}


def builtup_percent(zones: gpd.GeoDataFrame, raster: str) -> np.ndarray:
    """Mean built-up share (percent) of each zone from a built-up raster (e.g. Copernicus ``BuiltUp``).

    Cells are taken by ``all_touched=True`` so that small zones on a coarse raster still get a value.
    """
    with rasterio.open(raster) as src:
        shares = []
        for geometry in zones.to_crs(src.crs).geometry:
            data, _ = rasterio.mask.mask(src, [geometry], crop=True, all_touched=True, filled=False)
            values = data.compressed()
            shares.append(float(values.mean()) if values.size else np.nan)
    return np.array(shares)


def builtup_at(raster: str | Path, grid: PopulationGrid) -> np.ndarray:
    """Built-up percent at the centre of every valid cell of ``grid`` (the pixel holding it; 0 outside)."""
    with rasterio.open(raster) as src:
        x, y = pyproj.Transformer.from_crs(grid.crs, src.crs, always_xy=True).transform(*grid.centres())
        rows, cols = rasterio.transform.rowcol(src.transform, x, y)
        rows, cols = np.asarray(rows), np.asarray(cols)
        data = src.read(1, masked=True).filled(0.0)
    inside = (rows >= 0) & (rows < data.shape[0]) & (cols >= 0) & (cols < data.shape[1])
    share = np.zeros(len(rows))
    share[inside] = data[rows[inside], cols[inside]]
    return share


def classify_urban_rural(
    zones: gpd.GeoDataFrame,
    file: str,
    urban_rural_code_column: str | None = None,
    urban_rural_column: str | None = None,
    county_seat_column: str | None = None,
    builtup: np.ndarray | None = None,
    urban_builtup_percent: float = 30.0,
) -> pd.DataFrame:
    """Urban or rural for each zone, with the rule that decided it.

    Parameters
    ----------
    zones : geopandas.GeoDataFrame
        With ``zone_name`` and the named columns.
    file : str
        Where the zones came from, for error messages.
    urban_rural_code_column, urban_rural_column, county_seat_column : str, optional
    builtup : numpy.ndarray, optional
        Built-up percent per zone (see :func:`builtup_percent`).
    urban_builtup_percent : float
        A town at or above this built-up share is urban.

    Returns
    -------
    pandas.DataFrame
        ``urban_rural`` ("urban"/"rural"), ``urban_rural_source`` and ``is_county_seat``, indexed like ``zones``.
    """
    problems = [
        Problem(file, "column not found", f"use one of {list(zones.columns)}", column=column)
        for column in (urban_rural_code_column, urban_rural_column, county_seat_column)
        if column is not None and column not in zones.columns
    ]
    if problems:
        raise InputError(problems)
    names = zones["zone_name"].fillna("").astype(str)
    seat = names.str.contains("城关")
    if county_seat_column is not None:
        seat |= zones[county_seat_column].astype(str).str.strip().str.lower().isin({"1", "true", "yes", "是"})
    decided = pd.Series([None] * len(zones), index=zones.index, dtype=object)
    source = pd.Series([None] * len(zones), index=zones.index, dtype=object)

    def decide(mask: pd.Series, value: pd.Series | str, why: pd.Series | str) -> None:
        todo = mask & decided.isna()
        decided[todo] = value[todo] if isinstance(value, pd.Series) else value
        source[todo] = why[todo] if isinstance(why, pd.Series) else why

    if urban_rural_code_column is not None:
        code = pd.to_numeric(zones[urban_rural_code_column], errors="coerce")
        valid = code.between(111, 229)
        label = pd.Series(np.where(code < 200, "urban", "rural"), index=zones.index)
        decide(valid, label, "code " + code.fillna(0).astype(int).astype(str))
    if urban_rural_column is not None:
        text = zones[urban_rural_column].astype(str).str.strip().str.lower()
        decide(text.isin(URBAN_LABELS), "urban", f"column {urban_rural_column}")
        decide(text.isin(RURAL_LABELS), "rural", f"column {urban_rural_column}")
    decide(names.str.endswith("街道") | names.str.endswith("街道办事处"), "urban", "street (街道)")
    decide(seat, "urban", "county seat")
    if builtup is not None:
        share = pd.Series(builtup, index=zones.index)
        chinese = names.str.contains(r"[\u4e00-\u9fff]")
        town = (names.str.endswith("镇") | ~chinese) & (share >= urban_builtup_percent)
        kind = pd.Series(np.where(chinese, "town (镇)", "zone"), index=zones.index)
        why = kind + ", built-up " + share.round(1).astype(str) + f"% >= {urban_builtup_percent:g}%"
        decide(town, "urban", why)
    decide(pd.Series(True, index=zones.index), "rural", "default: rural")
    return pd.DataFrame({"urban_rural": decided, "urban_rural_source": source, "is_county_seat": seat.to_numpy()})
