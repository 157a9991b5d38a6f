"""Road networks other than OSM: line layers classed by Chinese road grade.

Natural-resources and transport bureaus deliver roads as Shapefiles or GeoPackages
of lines with a grade column (国道, 省道, 县道, 乡道, 村道, 城市道路) or a route code
(G105, S210, X001, Y002, C003). They become the same :class:`~geocover.io.osm.RoadSegments`
as an OSM extract, so every mode and search works on them unchanged.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

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


YES_WORDS = frozenset({"是", "有", "1", "yes", "y", "true", "t"})
"""Values of a bridge or tunnel column meaning the line is one (compared lower-cased, ``1.0`` as ``1``)."""
NO_WORDS = frozenset({"否", "无", "0", "no", "n", "false", "f", "", "nan", "none"})
"""Values of a bridge or tunnel column meaning it is not (an empty cell too)."""
STRUCTURE_WORDS = {"bridge": ("桥", "桥梁"), "tunnel": ("隧道",)}
"""Words naming the structure itself: in a bridge column 桥梁 means a bridge and 隧道 not, and the other way
round, so one column of kinds (构造物: 桥梁/隧道/空) may serve as both."""


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
    *,
    bridge_column: str | None = None,
    tunnel_column: str | None = None,
    layer_column: str | None = None,
) -> RoadSegments:
    """Read a road line layer into straight segments, nodes joined where vertices coincide exactly.

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
    bridge_column, tunnel_column : str, optional
        Columns marking lines on a bridge or in a tunnel (是/否, 1/0, yes/no, Y/N, true/false, empty for
        no; 桥梁 or 隧道 name the structure, see :data:`STRUCTURE_WORDS`): other roads are not joined to them.
    layer_column : str, optional
        Column of whole numbers like OSM ``layer`` (empty for 0): lines of different layers are not joined.

    Returns
    -------
    RoadSegments
        ``highway`` holds the grade key (see :data:`GRADE_SPEEDS_KMH`); ``bridge``, ``tunnel`` and ``layer``
        from their columns (False, 0 without); node ids are 1-based numbers of the distinct vertices.

    Raises
    ------
    InputError
        Listing every problem at once (see :func:`road_lines_problems`).
    """
    frame = read_vector(path, layer, crs, require_crs=False)
    columns = {"bridge": bridge_column, "tunnel": tunnel_column, "layer": layer_column}
    raise_if_any(road_lines_problems(frame, str(path), grade_column, oneway_column, **_keys(columns)))
    grades = frame[grade_column].map(road_grade)
    oneway = oneway_flags(frame[oneway_column].to_numpy(dtype=object)) if oneway_column else None
    segments = segments_from_lines(gpd.GeoSeries(frame.geometry, crs=frame.crs), grades.to_numpy(dtype=object),
                                   oneway=oneway)
    per_line = {name: _structure(frame[column], name)[0] if name != "layer" else _layers(frame[column])[0]
                for name, column in columns.items() if column}
    return replace(segments, **{name: values[segments.way_id - 1] for name, values in per_line.items()})


def _keys(columns: dict[str, str | None]) -> dict[str, str | None]:
    """``{"bridge": c}`` as the keyword arguments ``{"bridge_column": c}``."""
    return {f"{name}_column": column for name, column in columns.items()}


def _text(values: pd.Series) -> np.ndarray:
    """Cell values as stripped lower-case text, a whole number written as a float (``1.0``) as ``1``."""
    return np.array([("" if pd.isna(v) else str(int(v)) if isinstance(v, float) and float(v).is_integer()
                      else str(v)).strip().lower() for v in values], dtype=object)


def _structure(values: pd.Series, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Whether each line is a ``kind`` (bridge or tunnel) by its column, and which values are not understood."""
    text = _text(values)
    mine = list(STRUCTURE_WORDS[kind])
    others = [word for other, words in STRUCTURE_WORDS.items() if other != kind for word in words]
    yes = np.isin(text, [*YES_WORDS, *mine])
    return yes, ~yes & ~np.isin(text, [*NO_WORDS, *others])


def _layers(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The whole-number layer of each line (0 where empty), and which values are not whole numbers -5 to 5."""
    text = _text(values)
    known = np.array([t == "" or (t.lstrip("+-").isdigit() and abs(int(t)) <= 5) for t in text], dtype=bool)
    return np.array([int(t) if k and t else 0 for t, k in zip(text, known, strict=True)], dtype=np.int8), ~known


def road_lines_problems(
    frame: gpd.GeoDataFrame, file: str, grade_column: str, oneway_column: str | None = None, *,
    bridge_column: str | None = None, tunnel_column: str | None = None, layer_column: str | None = None,
) -> list[Problem]:
    """Every problem of a road line layer read by :func:`~geocover.io.vectors.read_vector`: no CRS, missing
    columns, each row with an unknown grade, a bridge, tunnel or layer value not understood, and each row that
    is not a line (points, polygons, no geometry)."""
    problems = []
    if frame.crs is None:
        problems.append(Problem(file, "the layer has no CRS (no .prj)",
                                "copy its .prj beside it, or state it with crs: (e.g. crs: EPSG:4490) in the config"))
    structures = {"bridge": bridge_column, "tunnel": tunnel_column}
    for column in (c for c in (grade_column, oneway_column, *structures.values(), layer_column) if c):
        if column not in frame.columns:
            problems.append(Problem(file, "column not found", f"use one of {list(frame.columns)}", column=column))
    if grade_column in frame.columns:
        unknown = frame[grade_column].map(road_grade).isna().to_numpy()
        problems += [
            Problem(file, f"unknown road grade {frame[grade_column].iat[i]!r}",
                    "use 国道/省道/县道/乡道/村道/城市道路 or a route code like G105", row=i + 1, column=grade_column)
            for i in np.flatnonzero(unknown)
        ]
    for kind, column in ((kind, column) for kind, column in structures.items() if column in frame.columns):
        words = "/".join(STRUCTURE_WORDS[kind])
        problems += [
            Problem(file, f"{kind} value {frame[column].iat[i]!r} not understood",
                    f"use 是/否, 1/0, yes/no, Y/N or {words} (empty for no)", row=i + 1, column=column)
            for i in np.flatnonzero(_structure(frame[column], kind)[1])
        ]
    if layer_column in frame.columns:
        problems += [
            Problem(file, f"layer value {frame[layer_column].iat[i]!r} not understood",
                    "use a whole number from -5 to 5 like OSM layer (empty for 0)", row=i + 1, column=layer_column)
            for i in np.flatnonzero(_layers(frame[layer_column])[1])
        ]
    kinds = frame.geometry.geom_type
    problems += [
        Problem(file, f"the geometry is {'missing' if kinds.iat[i] is None else 'a ' + kinds.iat[i]}, not a line",
                "keep only (multi)lines in a road layer", row=i + 1)
        for i in np.flatnonzero(~kinds.isin(["LineString", "MultiLineString"]).to_numpy())
    ]
    return problems
