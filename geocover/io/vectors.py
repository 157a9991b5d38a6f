"""Open vector layers (Shapefile, GeoPackage, GeoJSON…) as Chinese offices export them.

A Shapefile's DBF written by Chinese GIS software is usually GBK with no ``.cpg`` beside it, which
GDAL reads as ISO-8859-1 (``城关镇`` comes out as ``³Ç¹ØÕò``). Its text is detected here; text that
decodes as none of UTF-8, GBK or GB18030, Big5 (Traditional Chinese) and a field name cut in the
middle of a character are errors naming the file, never mojibake.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj

from geocover.errors import Problem, raise_if_any
from geocover.io.encodings import detect_encoding, in_gb2312, looks_big5

__all__ = ["dbf_encoding", "dbf_problems", "read_vector", "vector_problems"]

_GB_ENCODINGS = ("utf-8", "gbk", "gb18030")
_COMMON_SHARE = 0.8
_DBF_SCAN_BYTES = 4_000_000
_SINGLE_BYTE = {codecs.lookup(name).name for name in ("latin-1", "cp1252", "iso8859-15", "cp437", "cp850")}


def _dbf_path(path: str | Path) -> Path | None:
    shp = Path(path)
    if shp.suffix.lower() not in (".shp", ".dbf"):
        return None
    return next((p for p in (shp.with_suffix(".dbf"), shp.with_suffix(".DBF")) if p.exists()), None)


def _has_cpg(path: str | Path) -> bool:
    return any(Path(path).with_suffix(s).exists() for s in (".cpg", ".CPG"))


def _dbf_parts(dbf: Path) -> tuple[list[bytes], bytes]:
    """Raw field names and the record bytes (first 4 MB) of a DBF file."""
    with dbf.open("rb") as handle:
        head = handle.read(32)
        if len(head) < 32:
            return [], b""
        header_len = int.from_bytes(head[8:10], "little")
        record_len = max(1, int.from_bytes(head[10:12], "little"))
        records = min(int.from_bytes(head[4:8], "little"), _DBF_SCAN_BYTES // record_len)
        descriptors = handle.read(max(0, header_len - 32))
        body = handle.read(records * record_len)
    names = []
    for start in range(0, len(descriptors) - 31, 32):
        if descriptors[start] == 0x0D:
            break
        names.append(descriptors[start:start + 11].split(b"\0", 1)[0])
    return names, body


def _detect(text: bytes) -> str | None:
    for encoding in _GB_ENCODINGS:
        try:
            decoded = text.decode(encoding)
        except UnicodeDecodeError:
            continue
        wide = [c for c in decoded if ord(c) > 0x7F]
        if encoding == "utf-8":
            return "UTF-8"
        if sum(in_gb2312(c) for c in wide) >= _COMMON_SHARE * len(wide) and not looks_big5(text):
            return encoding.upper()
    return None


def dbf_encoding(path: str | Path) -> str | None:
    """Encoding of a Shapefile's DBF: the one its ``.cpg`` names, else detected from its bytes.

    GDAL reads such a DBF as ISO-8859-1, which garbles GBK names written by Chinese GIS
    software; pass the result to pyogrio's ``encoding=``.

    Parameters
    ----------
    path : str or pathlib.Path
        The ``.shp`` (or ``.dbf``) file.

    Returns
    -------
    str or None
        ``"UTF-8"``, ``"GBK"`` or ``"GB18030"`` when the field names and values (first 4 MB)
        decode strictly as such, for GBK/GB18030 with at least 80 % of the non-ASCII
        characters among the common GB2312 ones (Latin-1 accents followed by a letter decode
        as rare GBK characters and are not taken for GBK) and not better read as Big5;
        the encoding a ``.cpg`` names (``936`` and ``ANSI 936`` as ``cp936``), ``None`` when the
        text is ASCII or nothing fits, leaving the choice to GDAL (see :func:`dbf_problems` for the
        text that must not be left to it).
    """
    dbf = _dbf_path(path)
    if dbf is None:
        return None
    if _has_cpg(path):
        return _python_codec(_cpg_text(path))
    names, body = _dbf_parts(dbf)
    text = b"".join(names) + body
    return None if text.isascii() else _detect(text)


def dbf_problems(path: str | Path, file: str | None = None) -> list[Problem]:
    """What makes a Shapefile's DBF text unreadable: Big5 text without a ``.cpg``, Chinese text that
    decodes as no Chinese encoding, a field name cut in the middle of a character.

    Parameters
    ----------
    path : str or pathlib.Path
        The ``.shp`` (or ``.dbf``) file; other formats have no problem here.
    file : str, optional
        How the file is named in the messages (``path`` when omitted).
    """
    dbf = _dbf_path(path)
    if dbf is None:
        return []
    file = file or str(path)
    names, body = _dbf_parts(dbf)
    encoding = None
    if _has_cpg(path):
        encoding = _cpg_text(path) or None
    problems = []
    if encoding is not None:
        problems += _cpg_problems(encoding, b"".join(names) + body, file)
        encoding = _python_codec(encoding)
    whole = [name for name in names if name.isascii()]
    for number, name in enumerate(names, start=1):
        if name.isascii():
            continue
        fits = [e for e in (encoding, *_GB_ENCODINGS) if e and _decodes(name, e)]
        cut = [e for e in (encoding, *_GB_ENCODINGS) if e and _decodes(name[:-1], e)]
        if not fits and cut:
            problems.append(Problem(
                file, f"field {number} has a name cut in the middle of a character "
                f"(DBF field names hold 10 bytes, 5 Chinese characters in GBK): {name[:-1].decode(cut[0])!r}…",
                "rename the field to at most 5 Chinese characters (or save as GeoPackage) and export again",
                column=name[:-1].decode(cut[0])))
        else:
            whole.append(name)
    if encoding is not None:
        return problems
    text = b"".join(whole) + body
    if text.isascii() or _detect(text) is not None:
        return problems
    if looks_big5(text):
        problems.append(Problem(file, "its text is Big5 (Traditional Chinese) and no .cpg file says so",
                                "put a file with the text BIG5 beside it as .cpg, or save it as UTF-8"))
    elif _damaged_chinese(text):
        problems.append(Problem(file, "its text decodes as neither UTF-8 nor GBK/GB18030 (damaged Chinese text)",
                                "export the layer again as UTF-8, or add a .cpg naming its encoding"))
    return problems


def _cpg_text(path: str | Path) -> str:
    """The text of the ``.cpg`` beside a Shapefile (it has one)."""
    cpg = next(p for p in (Path(path).with_suffix(".cpg"), Path(path).with_suffix(".CPG")) if p.exists())
    return cpg.read_text(encoding="ascii", errors="replace").strip()


def _python_codec(cpg: str) -> str | None:
    """The Python codec of a ``.cpg`` text as GIS software writes it (``GBK``, ``UTF-8``, ``936``,
    ``ANSI 936``, ``65001``); None when Python knows no such encoding."""
    name = cpg.strip().upper().removeprefix("ANSI").strip()
    name = {"65001": "utf-8"}.get(name, f"cp{name}" if name.isdigit() else name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _cpg_problems(cpg: str, text: bytes, file: str) -> list[Problem]:
    """A ``.cpg`` naming an unknown encoding, or one its DBF's text is not written in (GDAL would then read
    the text as ISO-8859-1 or fail)."""
    fix_cpg = "write GBK or UTF-8 (the encoding the attributes were saved in) in the .cpg file, or delete it"
    codec = _python_codec(cpg)
    if codec is None:
        return [Problem(file, f"its .cpg names the encoding {cpg!r}, which is not an encoding", fix_cpg)]
    if text.isascii():
        return []
    actual = _detect(text)
    said = f"its .cpg says {cpg} but the attribute text is not {cpg}"
    if _decodes(text, codec):  # any bytes decode as Latin-1: Chinese text read so is mojibake (城关镇 as ³Ç¹ØÕò)
        if codec not in _SINGLE_BYTE or actual not in ("GBK", "GB18030"):
            return []
        return [Problem(file, f"{said}: it is Chinese text ({actual})",
                        f"write {actual} in the .cpg file, or delete it")]
    if actual is not None:
        return [Problem(file, f"{said} (it reads as {actual})", f"write {actual} in the .cpg file, or delete it")]
    return [Problem(file, said, fix_cpg)]


def _damaged_chinese(text: bytes) -> bool:
    """Chinese (GB) text with a few bytes that do not decode, such as a value cut mid-character at the field width."""
    decoded = text.decode("gb18030", errors="replace")
    bad = decoded.count("\ufffd")
    wide = [c for c in decoded if ord(c) > 0x7F and c != "\ufffd"]
    return 0 < bad <= 0.2 * len(wide) and sum(in_gb2312(c) for c in wide) >= _COMMON_SHARE * len(wide)


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def vector_problems(path: str | Path, layer: str | None = None, file: str | None = None) -> list[Problem]:
    """Everything that stops a vector file being read: missing, not a GIS layer, no such layer, bad DBF text."""
    path = Path(path)
    file = file or str(path)
    if not path.exists():
        return [Problem(file, "file not found", "check the path (relative to the config file)")]
    if path.is_file() and path.stat().st_size == 0:
        return [Problem(file, "the file is empty", "copy or export it again")]
    if path.suffix.lower() in (".geojson", ".json") and path.is_file():
        with path.open("rb") as handle:
            head = handle.read(_DBF_SCAN_BYTES)
        try:  # the head may end inside a character
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        except UnicodeDecodeError:
            encoding = detect_encoding(head)
            found = encoding.upper() if encoding else "in no known encoding"
            return [Problem(file, f"a GeoJSON file must be UTF-8; this one is {found}",
                            "save it again as UTF-8 (QGIS: Export, Encoding UTF-8)")]
    try:
        listed = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio raises DataSourceError and GDAL errors of several kinds
        return [Problem(file, f"cannot be read as a GIS layer ({exc})",
                        "check that it opens in QGIS; a Shapefile needs its .shx and .dbf")]
    layers = [str(name) for name in listed[:, 0]]
    if layer is not None and layer not in layers:
        return [Problem(file, f"has no layer '{layer}'; its layers are: " + ", ".join(layers),
                        "set layer: (layer= in Python) to one of these names")]
    choices = _data_layers(listed)
    if layer is None and len(choices) > 1:
        return [Problem(file, f"has {len(choices)} layers and none is chosen: " + ", ".join(choices),
                        "set layer: (layer= in Python) to one of these names, or save the layer alone")]
    return dbf_problems(path, file)


def _data_layers(layers: np.ndarray) -> list[str]:
    """The layers one could mean: those with geometry (when any has), less QGIS's ``layer_styles`` table."""
    named = [(str(name), kind) for name, kind in layers if str(name) != "layer_styles"]
    spatial = [name for name, kind in named if kind is not None]
    return spatial or [name for name, _ in named]


def read_vector(
    path: str | Path, layer: str | None = None, crs: str | None = None, require_crs: bool = True,
    file: str | None = None,
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read a vector layer with its text decoded as written.

    Parameters
    ----------
    path : str or pathlib.Path
    layer : str, optional
    crs : str, optional
        CRS of a layer that carries none (a Shapefile without ``.prj``), e.g. ``EPSG:4490``; a layer
        whose own CRS differs from it is an error.
    require_crs : bool
        A layer with geometry and no CRS (and no ``crs``) is an error.
    file : str, optional
        How the file is named in the messages.

    Raises
    ------
    InputError
        Naming the file, with every problem found.
    """
    file = file or str(path)
    raise_if_any(vector_problems(path, layer, file))
    try:
        frame = pyogrio.read_dataframe(path, layer=layer, encoding=dbf_encoding(path))
    except Exception as exc:  # GDAL errors of several kinds on damaged files
        raise_if_any([Problem(file, f"cannot be read ({exc})", "check that it opens in QGIS, or export it again")])
    if not isinstance(frame, gpd.GeoDataFrame):
        return frame
    problems = []
    if crs is not None:
        try:
            stated = pyproj.CRS.from_user_input(crs)
        except pyproj.exceptions.CRSError:
            stated = None
            problems.append(Problem(file, f"crs {crs!r} is not a CRS", "use EPSG:4490, EPSG:4547 or EPSG:4326"))
        if stated is not None and frame.crs is None:
            frame = frame.set_crs(stated)
        elif stated is not None and not stated.equals(frame.crs):
            problems.append(Problem(file, f"its .prj says {frame.crs.to_string()} but crs: says {crs}",
                                    "remove crs: (the .prj is used) or fix the .prj"))
    elif require_crs and frame.crs is None:
        problems.append(Problem(file, "the layer has no CRS (no .prj)",
                                "copy its .prj beside it, or state it with crs: (e.g. crs: EPSG:4490) in the config"))
    raise_if_any(problems)
    return frame
