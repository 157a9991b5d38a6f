"""Road networks other than OSM: line layers classed by Chinese road grade.

Natural-resources and transport bureaus deliver roads as Shapefiles or GeoPackages
of lines with a grade column (国道, 省道, 县道, 乡道, 村道, 城市道路) or a route code
(G105, S210, X001, Y002, C003). They become the same :class:`~geocover.io.osm.RoadSegments`
as an OSM extract, so every mode and search works on them unchanged.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np

from geocover.errors import InputError, Problem
from geocover.io.vectors import read_vector
from geocover.network.segments import RoadSegments, oneway_flags, segments_from_lines

#: Driving speed per road grade in km/h (names as in GB/T 917 and common Chinese road data).
GRADE_SPEEDS_KMH: dict[str, float] = {
    "expressway": 100.0,
    "national": 70.0,
    "provincial": 60.0,
    "county": 40.0,
    "township": 30.0,
    "village": 20.0,
    "urban": 30.0,
    "special": 30.0,
}

_GRADE_WORDS = (
    ("高速", "expressway"), ("国道", "national"), ("省道", "provincial"), ("县道", "county"),
    ("乡道", "township"), ("村道", "village"), ("城市", "urban"), ("街", "urban"), ("专用", "special"),
)
_CODE_LETTERS = {"G": "national", "S": "provincial", "X": "county", "Y": "township", "C": "village", "Z": "special"}


def road_grade(value: object) -> str | None:
    """Grade key of a Chinese grade name, route code (G105 → national) or English key; None if unknown."""
    text = str(value).strip() if value is not None else ""
    if not text or text.lower() == "nan":
        return None
    if text.lower() in GRADE_SPEEDS_KMH:
        return text.lower()
    for word, grade in _GRADE_WORDS:
        if word in text:
            return grade
    letter = text[0].upper()
    if letter in _CODE_LETTERS and (len(text) == 1 or text[1:].strip().isdigit()):
        return _CODE_LETTERS[letter]
    return None


def read_road_lines(
    path: str | Path,
    grade_column: str,
    oneway_column: str | None = None,
    layer: str | None = None,
    crs: str | None = None,
) -> RoadSegments:
    """Read a road line layer into straight segments, nodes joined where vertices coincide.

    Parameters
    ----------
    path : str or Path
        Shapefile, GeoPackage or any vector file of (multi)lines with a CRS.
    grade_column : str
        Column holding the grade (国道/省道/县道/乡道/村道/城市道路) or a route code (G105, X001).
    oneway_column : str, optional
        1/yes/是/单向: one way in drawing direction; -1/逆向: against it; anything else both ways.
    layer : str, optional
    crs : str, optional
        CRS of a layer without one (a Shapefile without ``.prj``), e.g. ``EPSG:4490``.

    Returns
    -------
    RoadSegments
        ``highway`` holds the grade key (see :data:`GRADE_SPEEDS_KMH`); node ids are 1-based
        numbers of the distinct vertices.

    Raises
    ------
    InputError
        Listing missing columns, a missing CRS and every row with an unknown grade.
    """
    file = str(path)
    frame = read_vector(path, layer, crs)
    problems = []
    for column in (c for c in (grade_column, oneway_column) if c):
        if column not in frame.columns:
            problems.append(Problem(file, "column not found", f"use one of {list(frame.columns)}", column=column))
    if problems:
        raise InputError(problems)
    grades = frame[grade_column].map(road_grade)
    problems = [
        Problem(file, f"unknown road grade {frame[grade_column].iat[i]!r}",
                "use 国道/省道/县道/乡道/村道/城市道路 or a route code like G105", row=i + 1, column=grade_column)
        for i in np.flatnonzero(grades.isna().to_numpy())
    ]
    if problems:
        raise InputError(problems)
    oneway = oneway_flags(frame[oneway_column].to_numpy(dtype=object)) if oneway_column else None
    return segments_from_lines(gpd.GeoSeries(frame.geometry, crs=frame.crs), grades.to_numpy(dtype=object),
                               oneway=oneway)
