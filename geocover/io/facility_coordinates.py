"""The coordinates of facility rows: each row's pair of numbers from two columns or one 'lon,lat' column,
then WGS84 longitude and latitude, every impossible, swapped or placeholder value a problem naming its row."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from geocover.errors import Problem
from geocover.io.coordinates import gk3_to_wgs84, is_geographic, parse_degrees, projected_swapped, to_wgs84
from geocover.io.facility_labels import cell_text
from geocover.io.spreadsheets import SOURCE_ROW


def coordinate_pairs(frame: pd.DataFrame, cols: tuple[str, ...], file: str, problems: list[Problem]) -> np.ndarray:
    """(n, 2) floats from two columns or one 'lon,lat' column; NaN where empty or bad."""
    xy = np.full((len(frame), 2), np.nan)
    for i, row in enumerate(frame[SOURCE_ROW].to_numpy().tolist()):
        values = [frame[c].iat[i] for c in cols]
        columns = cols
        if len(cols) == 1:
            text = cell_text(values[0])
            if text is None:
                continue
            values = [p for p in re.split(r"[,，;；\s]+", text.strip("()[]（）【】 ")) if p]
            columns = cols * 2
            if len(values) != 2:
                problems.append(Problem(file, f"'{text}' is not a 'longitude,latitude' pair",
                                        "write both numbers separated by a comma, e.g. 116.397,39.909",
                                        row, cols[0]))
                continue
        parsed: list[float | None] = []
        for value, column in zip(values, columns, strict=True):
            try:
                parsed.append(parse_degrees(value))
            except ValueError:
                problems.append(Problem(file, f"'{cell_text(value)}' is not a number",
                                        "write decimal degrees (116.397), degrees-minutes-seconds "
                                        "or metres", row, column))
                parsed.append(np.nan)
        if (parsed[0] is None) != (parsed[1] is None):
            problems.append(Problem(file, "only one of the two coordinates is filled in",
                                    "fill in both or neither", row,
                                    columns[0] if parsed[0] is None else columns[1]))
            continue
        xy[i] = [np.nan if p is None else p for p in parsed]
    return xy


def pairs_to_wgs84(xy: np.ndarray, system: str, cols: tuple[str, str], rows: np.ndarray, file: str,
              problems: list[Problem]) -> np.ndarray:
    """WGS84 lon/lat per row; problems for impossible values. ``cols`` name x and y."""
    x, y = xy[:, 0], xy[:, 1]
    out = np.full_like(xy, np.nan)
    filled = np.isfinite(x) & np.isfinite(y)
    for i in np.flatnonzero(np.isinf(xy).any(axis=1)):
        problems.append(Problem(file, f"{x[i]}, {y[i]} is not a finite coordinate (too many digits?)",
                                "write the coordinates as numbers", int(rows[i]), cols[0]))
    if projected_swapped(x, y, system):
        problems.append(Problem(file, f"X and Y are swapped in every row: as written they lie outside the area "
                                f"of {system}, exchanged inside it (surveyors write X = northing first)",
                                f"pass lon_column='{cols[1]}', lat_column='{cols[0]}'", None,
                                f"{cols[0]}/{cols[1]}"))
        return out
    if not is_geographic(system):
        out[:, 0], out[:, 1] = to_wgs84(x, y, system)
        for i in np.flatnonzero(filled & ~np.isfinite(out[:, 0])):
            problems.append(Problem(file, f"{x[i]}, {y[i]} cannot be converted from {system}",
                                    "check the coordinate system and the columns", int(rows[i]),
                                    cols[0]))
        return out
    degrees = filled & (np.abs(x) <= 180) & (np.abs(y) <= 90)
    swapped = filled & ~degrees & (np.abs(x) <= 90) & (np.abs(y) <= 180)
    metres = filled & ~degrees & (np.abs(x) > 1000) & (np.abs(y) > 1000)
    both = cols[0] if cols[0] == cols[1] else f"{cols[0]}/{cols[1]}"
    if swapped.sum() > 1 and swapped.sum() == filled.sum():
        fix = ("write the longitude first" if cols[0] == cols[1]
               else f"pass lon_column='{cols[1]}', lat_column='{cols[0]}'")
        problems.append(Problem(file, "longitude and latitude are swapped in every row (latitudes up "
                                f"to {np.nanmax(np.abs(y)):.1f})", fix, None, both))
        return out
    handled = degrees.copy()
    if metres.any() and system in ("wgs84", "cgcs2000"):
        out[metres] = np.column_stack(gk3_to_wgs84(x[metres], y[metres]))
        handled |= metres
        for i in np.flatnonzero(metres & ~np.isfinite(out[:, 0])):
            problems.append(Problem(file, f"{x[i]:.0f}, {y[i]:.0f} look like metres but neither is a "
                                    "Gauss-Krüger easting with the zone number (25-45) in front",
                                    "pass coord_system='EPSG:nnnn' (e.g. EPSG:4549 for CGCS2000 "
                                    "3-degree GK CM 120E)", int(rows[i]), cols[0]))
    for i in np.flatnonzero(filled & ~handled):
        if swapped[i]:
            what, fix, col = (f"longitude {x[i]} and latitude {y[i]} are swapped",
                              "exchange the two values", both)
        elif metres[i]:
            what, fix, col = (f"{x[i]:.0f}, {y[i]:.0f} are metres, not {system} degrees",
                              "pass the coord_system of these values (an EPSG code)", cols[0])
        elif abs(y[i]) > 90:
            what, fix, col = f"latitude {y[i]} is outside -90..90", "correct the latitude", cols[1]
        else:
            what, fix, col = f"longitude {x[i]} is outside -180..180", "correct the longitude", cols[0]
        problems.append(Problem(file, what, fix, int(rows[i]), col))
    zero = degrees & (x == 0) & (y == 0)
    for i in np.flatnonzero(zero):
        problems.append(Problem(file, "0, 0 is a placeholder, not a location",
                                "fill in the real coordinates", int(rows[i]), cols[0]))
    ok = degrees & ~zero
    out[ok, 0], out[ok, 1] = to_wgs84(x[ok], y[ok], system)
    return out
