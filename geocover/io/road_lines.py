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

from geocover.errors import Problem, raise_if_any
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
        Listing every problem at once (see :func:`road_lines_problems`).
    """
    frame = read_vector(path, layer, crs, require_crs=False)
    raise_if_any(road_lines_problems(frame, str(path), grade_column, oneway_column))
    grades = frame[grade_column].map(road_grade)
    oneway = oneway_flags(frame[oneway_column].to_numpy(dtype=object)) if oneway_column else None
    return segments_from_lines(gpd.GeoSeries(frame.geometry, crs=frame.crs), grades.to_numpy(dtype=object),
                               oneway=oneway)


def road_lines_problems(
    frame: gpd.GeoDataFrame, file: str, grade_column: str, oneway_column: str | None = None
) -> list[Problem]:
    """Every problem of a road line layer read by :func:`~geocover.io.vectors.read_vector`: no CRS, missing
    columns, each row with an unknown grade and each row that is not a line (points, polygons, no geometry)."""
    problems = []
    if frame.crs is None:
        problems.append(Problem(file, "the layer has no CRS (no .prj)",
                                "copy its .prj beside it, or state it with crs: (e.g. crs: EPSG:4490) in the config"))
    for column in (c for c in (grade_column, oneway_column) if c):
        if column not in frame.columns:
            problems.append(Problem(file, "column not found", f"use one of {list(frame.columns)}", column=column))
    if grade_column in frame.columns:
        unknown = frame[grade_column].map(road_grade).isna().to_numpy()
        problems += [
            Problem(file, f"unknown road grade {frame[grade_column].iat[i]!r}",
                    "use 国道/省道/县道/乡道/村道/城市道路 or a route code like G105", row=i + 1, column=grade_column)
            for i in np.flatnonzero(unknown)
        ]
    kinds = frame.geometry.geom_type
    problems += [
        Problem(file, f"the geometry is {'missing' if kinds.iat[i] is None else 'a ' + kinds.iat[i]}, not a line",
                "keep only (multi)lines in a road layer", row=i + 1)
        for i in np.flatnonzero(~kinds.isin(["LineString", "MultiLineString"]).to_numpy())
    ]
    return problems
